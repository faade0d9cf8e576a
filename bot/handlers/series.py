"""Calendar files and series: the .ics button, /skip and /move for one sitting of a series."""

from __future__ import annotations

import asyncio
import html
from datetime import datetime

from telegram import Update

from bot.buttons import CalendarFile, ConfirmSittingChange, DropSittingChange
from bot.domain import access, drafts, lookup, scheduling, series
from bot.domain.drafts import SittingChange
from bot.domain.people import user_zone
from bot.domain.values import Actor
from bot.errors import InvalidInput, NotAllowed
from bot.handlers.arguments import required
from bot.handlers.common import (
    BotContext,
    actor_for_meeting,
    command_args,
    guarded,
    not_for_you,
    pressed,
    refuse,
    reply,
)
from bot.handlers.messenger import TelegramMessenger
from bot.i18n import _, current_language, format_when
from bot.messaging import Button, SendError, start_link
from bot.render import ics_for
from bot.services import Services
from storage.db import session_scope
from storage.models import User


@guarded
async def ics_button(update: Update, context: BotContext) -> None:
    """Send the meeting's .ics privately to a participant who asks."""
    query = update.callback_query
    tg_user = update.effective_user
    assert query is not None and tg_user is not None
    services = context.services
    button = pressed(update, CalendarFile)
    if button is None:
        raise NotAllowed(not_for_you())
    with session_scope(services.engine) as session:
        meeting = lookup.find_meeting(session, button.code)
        allowed = access.participant_role(
            session, meeting, tg_user.id
        ) is not None or access.is_bot_admin(session, tg_user.id, services.rules)
        if not allowed:
            raise NotAllowed(not_for_you())
        data = ics_for(
            session,
            meeting,
            context.bot.username,
            mail_host=services.settings.jitsi_host,
            now=services.clock(),
        )
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
    """Read a /skip or /move, check the rights, and ask for Confirm before changing anything."""
    tg_user = update.effective_user
    chat = update.effective_chat
    assert tg_user is not None and chat is not None
    code, _sep, rest = command_args(update).partition(" ")
    usage = (
        _("Write /move CODE new time, or /move CODE date | new time.")
        if move
        else _("Write /skip CODE to skip the next sitting, or /skip CODE date.")
    )
    if not code:
        await refuse(update, usage)
        return
    if move:
        new_time = rest.partition("|")[2] if "|" in rest else rest
        required(new_time, _("The new time is missing."), usage)
    services = context.services
    now = services.clock()
    actor = await actor_for_meeting(update, context, code)
    # "/move CODE date | new time" names the sitting; "/move CODE new time" moves the next one.
    which, _sep, new_text = rest.rpartition("|") if move else (rest, "", "")
    # The series is expanded in a worker thread, with its own session: a long series must not
    # hold up other people's updates (nothing Telegram is awaited inside the transaction).
    title, code, original, new_start, zone = await asyncio.to_thread(
        _read_sitting_change,
        services,
        user_id=tg_user.id,
        code=code,
        actor=actor,
        which=which.strip(),
        new_text=new_text.strip() if move else None,
        languages=list(dict.fromkeys([current_language(), "en"])),
        usage=usage,
        now=now,
    )
    # Kept in the database, like a /schedule preview: its Confirm outlives a restart.
    with session_scope(services.engine) as session:
        change_id = drafts.save(
            session,
            value=SittingChange(code=code, original=original, new_start=new_start, zone=zone),
            user_id=tg_user.id,
            chat_id=chat.id,
            now=now,
        )
    await reply(
        update,
        _("Please check:")
        + f"\n<b>{html.escape(title)}</b>\n"
        + html.escape(_describe_change(original, new_start, zone)),
        [
            [
                Button(_("Confirm"), data=ConfirmSittingChange(change_id).encode()),
                Button(_("Cancel"), data=DropSittingChange(change_id).encode()),
            ]
        ],
    )


def _read_sitting_change(
    services: Services,
    *,
    user_id: int,
    code: str,
    actor: Actor,
    which: str,
    new_text: str | None,
    languages: list[str],
    usage: str,
    now: datetime,
) -> tuple[str, str, datetime, datetime | None, str]:
    """The sitting a /skip or /move names and its new start (title, code, sitting, new, zone)."""
    with session_scope(services.engine) as session:
        meeting = access.meeting_to_change(session, code=code, actor=actor, now=now)
        zone = user_zone(session.get(User, user_id), services.rules)
        original = series.pick_sitting(
            session, meeting=meeting, date_text=which, zone=zone, now=now
        )
        new_start = None
        if new_text is not None:
            new_start, rrule = scheduling.parse_start(
                new_text, zone=zone, languages=languages, now=now
            )
            if rrule is not None:
                raise InvalidInput(usage)
        return meeting.title, meeting.code, original, new_start, zone


def _save_sitting_change(
    services: Services, *, draft_id: str | None, actor: Actor, now: datetime
) -> tuple[str, SittingChange]:
    """Take the preview and skip or move its sitting, in one transaction (in a worker thread,
    with its own session); returns the title and the change."""
    with session_scope(services.engine) as session:
        change = drafts.take(
            session, kind=SittingChange, draft_id=draft_id, user_id=actor.user_id, now=now
        ).value
        meeting = lookup.find_meeting(session, change.code)
        series.change_occurrence(
            session,
            meeting=meeting,
            actor=actor,
            original_start=change.original,
            new_start=change.new_start,
            now=now,
        )
        return meeting.title, change


def _describe_change(original: datetime, new_start: datetime | None, zone: str) -> str:
    if new_start is None:
        return _("Skipped the sitting of {when}.").format(when=format_when(original, zone))
    return _("Moved the sitting of {old} to {new}.").format(
        old=format_when(original, zone), new=format_when(new_start, zone)
    )


def _change_id(update: Update, kind: type[ConfirmSittingChange | DropSittingChange]) -> str | None:
    button = pressed(update, kind)
    return button.draft_id if button is not None else None


@guarded
async def confirm_sitting_change(update: Update, context: BotContext) -> None:
    """Confirm under a /skip or /move preview (rights are checked again here)."""
    query = update.callback_query
    tg_user = update.effective_user
    assert query is not None and tg_user is not None
    services = context.services
    now = services.clock()
    draft_id = _change_id(update, ConfirmSittingChange)
    with session_scope(services.engine) as session:
        code = drafts.peek(
            session, kind=SittingChange, draft_id=draft_id, user_id=tg_user.id, now=now
        ).value.code
    actor = await actor_for_meeting(update, context, code)
    title, change = await asyncio.to_thread(
        _save_sitting_change, services, draft_id=draft_id, actor=actor, now=now
    )
    await query.answer(_("Saved."))
    await query.edit_message_text(
        f"<b>{html.escape(title)}</b>\n"
        + html.escape(_describe_change(change.original, change.new_start, change.zone)),
        parse_mode="HTML",
    )


@guarded
async def drop_sitting_change(update: Update, context: BotContext) -> None:
    """Cancel under a /skip or /move preview."""
    query = update.callback_query
    tg_user = update.effective_user
    assert query is not None and tg_user is not None
    with session_scope(context.services.engine) as session:
        drafts.discard(
            session,
            kind=SittingChange,
            draft_id=_change_id(update, DropSittingChange),
            user_id=tg_user.id,
        )
    await query.answer(_("Cancelled."))
    await query.edit_message_text(_("Cancelled. Nothing was saved."))
