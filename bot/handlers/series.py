"""Calendar files and series: the .ics button, /skip and /move for one sitting of a series."""

from __future__ import annotations

import asyncio
import html
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import Update

from bot.buttons import CalendarFile, ConfirmSittingChange, DropSittingChange, decode
from bot.domain import access, lookup, scheduling, series
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


@dataclass(frozen=True)
class PendingSittingChange:
    """A skip or move waiting for the owner's Confirm (in memory, like a /schedule preview)."""

    code: str
    original: datetime
    new_start: datetime | None
    zone: str


def _pending_changes(context: BotContext) -> dict[str, PendingSittingChange]:
    user_data: dict[Any, Any] = context.user_data if context.user_data is not None else {}
    pending: dict[str, PendingSittingChange] = user_data.setdefault("sitting_changes", {})
    return pending


async def _change_sitting(update: Update, context: BotContext, *, move: bool) -> None:
    """Read a /skip or /move, check the rights, and ask for Confirm before changing anything."""
    tg_user = update.effective_user
    assert tg_user is not None
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
    change_id = secrets.token_urlsafe(6)
    _pending_changes(context)[change_id] = PendingSittingChange(code, original, new_start, zone)
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
    services: Services, pending: PendingSittingChange, actor: Actor, now: datetime
) -> str:
    """Skip or move the sitting (in a worker thread, with its own session); returns the title."""
    with session_scope(services.engine) as session:
        meeting = lookup.find_meeting(session, pending.code)
        series.change_occurrence(
            session,
            meeting=meeting,
            actor=actor,
            original_start=pending.original,
            new_start=pending.new_start,
            now=now,
        )
        return meeting.title


def _describe_change(original: datetime, new_start: datetime | None, zone: str) -> str:
    if new_start is None:
        return _("Skipped the sitting of {when}.").format(when=format_when(original, zone))
    return _("Moved the sitting of {old} to {new}.").format(
        old=format_when(original, zone), new=format_when(new_start, zone)
    )


@guarded
async def sitting_change_button(update: Update, context: BotContext) -> None:
    """Confirm or Cancel under a /skip or /move preview (rights are checked again here)."""
    query = update.callback_query
    assert query is not None
    button = decode(query.data)
    if not isinstance(button, ConfirmSittingChange | DropSittingChange):
        button = None
    pending = _pending_changes(context).pop(button.draft_id, None) if button else None
    if pending is None:
        await query.answer(
            _("This preview is not yours or has expired. Send /schedule again."), show_alert=True
        )
        return
    if isinstance(button, DropSittingChange):
        await query.answer(_("Cancelled."))
        await query.edit_message_text(_("Cancelled. Nothing was saved."))
        return
    services = context.services
    now = services.clock()
    actor = await actor_for_meeting(update, context, pending.code)
    title = await asyncio.to_thread(_save_sitting_change, services, pending, actor, now)
    await query.answer(_("Saved."))
    await query.edit_message_text(
        f"<b>{html.escape(title)}</b>\n"
        + html.escape(_describe_change(pending.original, pending.new_start, pending.zone)),
        parse_mode="HTML",
    )
