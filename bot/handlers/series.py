"""Calendar files and series: the .ics button, /skip and /move for one sitting of a series."""

from __future__ import annotations

import html

from telegram import Update

from bot import meetings
from bot.errors import InvalidInput, NotAllowed
from bot.handlers.common import (
    BotContext,
    actor_for_meeting,
    command_args,
    guarded,
    not_for_you,
    refuse,
    reply,
)
from bot.handlers.messenger import TelegramMessenger
from bot.handlers.notify import notify_participants
from bot.handlers.render import ics_for
from bot.i18n import _, current_language, format_when
from bot.meetings import user_zone
from bot.messaging import SendError, start_link
from storage.db import session_scope
from storage.models import User


@guarded
async def ics_button(update: Update, context: BotContext) -> None:
    """Send the meeting's .ics privately to a participant who asks."""
    query = update.callback_query
    tg_user = update.effective_user
    assert query is not None and query.data is not None and tg_user is not None
    services = context.services
    code = query.data.removeprefix("ic:")
    with session_scope(services.engine) as session:
        meeting = meetings.find_meeting(session, code)
        allowed = meetings.participant_role(
            session, meeting, tg_user.id
        ) is not None or meetings.is_bot_admin(session, tg_user.id, services.rules)
        if not allowed:
            raise NotAllowed(not_for_you())
        data = ics_for(session, meeting, context.bot.username)
        filename = f"{meeting.code.lower()}.ics"
        caption = meeting.title
    try:
        await TelegramMessenger(context.bot).send_file(tg_user.id, filename, data, caption)
    except SendError:
        await query.answer(
            _("Start me in a private chat first: {link}").format(
                link=start_link(context.bot.username, "help")
            ),
            show_alert=True,
        )
        return
    await query.answer(_("I sent you the calendar file."))


@guarded
async def skip(update: Update, context: BotContext) -> None:
    """`/skip CODE [date]`: skip the next sitting of a series (or the one on that date)."""
    await _change_sitting(update, context, move=False)


@guarded
async def move(update: Update, context: BotContext) -> None:
    """`/move CODE new time` or `/move CODE date | new time`: move one sitting of a series."""
    await _change_sitting(update, context, move=True)


async def _change_sitting(update: Update, context: BotContext, *, move: bool) -> None:
    tg_user = update.effective_user
    assert tg_user is not None
    code, _sep, rest = command_args(update).partition(" ")
    usage = (
        _("Write /move CODE new time, or /move CODE date | new time.")
        if move
        else _("Write /skip CODE to skip the next sitting, or /skip CODE date.")
    )
    if not code or (move and not rest.strip()):
        await refuse(update, usage)
        return
    services = context.services
    now = services.clock()
    actor = await actor_for_meeting(update, context, code)
    with session_scope(services.engine) as session:
        meeting = meetings.find_meeting(session, code)
        zone = user_zone(session.get(User, tg_user.id), services.rules)
        languages = list(dict.fromkeys([current_language(), "en"]))
        which, _sep, new_text = rest.partition("|") if "|" in rest else ("", "", rest)
        if not move:
            which, new_text = rest, ""
        original = meetings.pick_sitting(
            session, meeting=meeting, date_text=which.strip(), zone=zone, now=now
        )
        new_start = None
        if move:
            new_start, rrule = meetings.parse_start(
                new_text.strip(), zone=zone, languages=languages, now=now
            )
            if rrule is not None:
                raise InvalidInput(usage)
        meetings.change_occurrence(
            session,
            meeting=meeting,
            actor=actor,
            original_start=original,
            new_start=new_start,
            now=now,
        )
        meeting_id = meeting.id
        title = meeting.title
    services.wake_delivery()
    if new_start is None:
        text = _("Skipped the sitting of {when}.").format(when=format_when(original, zone))
    else:
        text = _("Moved the sitting of {old} to {new}.").format(
            old=format_when(original, zone), new=format_when(new_start, zone)
        )
    await reply(update, f"<b>{html.escape(title)}</b>\n" + html.escape(text))
    assert meeting_id is not None
    notify_participants(
        context,
        meeting_id,
        lambda card: (
            (_("❌ One sitting skipped:") if new_start is None else _("📅 One sitting moved:"))
            + "\n"
            + card
        ),
        skip_user_id=actor.user_id,
    )
