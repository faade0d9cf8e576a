"""/attendance CODE [csv] and /lobby CODE on|off: the rooms' side of a meeting, for its owners."""

from __future__ import annotations

from telegram import Update

from bot.domain import access, attendance, rooms
from bot.domain.people import user_zone
from bot.handlers.common import (
    BotContext,
    actor_for_meeting,
    command_args,
    guarded,
    is_private,
    refuse,
    reply,
)
from bot.handlers.messenger import TelegramMessenger
from bot.i18n import _
from bot.messaging import SendError, start_link
from storage.db import session_scope
from storage.models import User


@guarded
async def attendance_command(update: Update, context: BotContext) -> None:
    """Who came to the latest sitting; with `csv`, the table as a file, always privately."""
    words = command_args(update).split()
    if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() != "csv"):
        await refuse(update, _("Write /attendance CODE, or /attendance CODE csv for a table."))
        return
    tg_user = update.effective_user
    assert tg_user is not None
    actor = await actor_for_meeting(update, context, words[0])
    services = context.services
    with session_scope(services.engine) as session:
        report = attendance.attendance_for(
            session, code=words[0], actor=actor, rules=services.rules, now=services.clock()
        )
        zone = user_zone(session.get(User, tg_user.id), services.rules)
    text = attendance.render_report(report, zone)
    messenger = TelegramMessenger(context.bot)
    try:
        if len(words) == 2:
            data = attendance.render_csv(report, zone)
            caption = _("Attendance: {title}").format(title=report.meeting.title)
            await messenger.send_file(tg_user.id, attendance.csv_filename(report), data, caption)
        elif not is_private(update):
            # Who came and who did not is for the owners, not for the whole group.
            await messenger.send(tg_user.id, text, [])
        else:
            await reply(update, text)
            return
    except SendError:
        await refuse(
            update,
            _("Start me in a private chat first: {link}").format(
                link=start_link(context.bot.username, "help")
            ),
        )
        return
    if not is_private(update) or len(words) == 2:
        await reply(update, _("I sent it to you in a private chat."))


@guarded
async def lobby(update: Update, context: BotContext) -> None:
    """`/lobby CODE on|off`: Jitsi's lobby in the meeting's room, from its next opening."""
    words = command_args(update).split()
    if len(words) != 2 or words[1].lower() not in {"on", "off"}:
        await refuse(update, _("Write /lobby CODE on or /lobby CODE off."))
        return
    actor = await actor_for_meeting(update, context, words[0])
    services = context.services
    on = words[1].lower() == "on"
    with session_scope(services.engine) as session:
        meeting = access.meeting_to_change(
            session, code=words[0], actor=actor, now=services.clock()
        )
        rooms.set_lobby(session, meeting, on)
        code = meeting.code
    if on:
        text = _(
            "The lobby is on for {code}: people wait there until an owner lets them in. "
            "It applies from the next time the room opens."
        )
    else:
        text = _("The lobby is off for {code}. It applies from the next time the room opens.")
    await reply(update, text.format(code=code))
