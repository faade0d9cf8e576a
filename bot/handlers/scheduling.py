"""/schedule (one line or a short dialog), its Confirm / Change / Cancel buttons, /reschedule."""

from __future__ import annotations

import html
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from telegram import Update

from bot import timeparse
from bot.buttons import (
    ChangePreview,
    ConfirmPreview,
    DropPreview,
    Duration,
    Join,
    LeaveDialog,
    decode,
)
from bot.domain import access, deep_links, lookup, scheduling
from bot.domain.people import user_zone
from bot.domain.scheduling import Draft
from bot.handlers.arguments import required
from bot.handlers.common import (
    BotContext,
    actor_for,
    actor_for_meeting,
    command_args,
    guarded,
    is_private,
    keyboard_markup,
    pressed,
    refuse,
    reply,
)
from bot.i18n import _, current_language, format_span
from bot.messaging import Button, start_link
from bot.render import calendar_buttons, render_meeting_card
from storage.db import session_scope
from storage.models import User

DURATION_CHOICES = (30, 45, 60, 90)
DEFAULT_DURATION = timedelta(minutes=60)


@dataclass
class PendingDraft:
    """A meeting waiting for its organizer's Confirm (kept in memory, never in the database)."""

    draft: Draft
    chat_id: int
    reschedule_code: str | None = None


@dataclass
class Dialog:
    """Where a bare /schedule stands: which answer comes next."""

    step: str
    chat_id: int
    title: str = ""
    when: str = ""


def _drafts(context: BotContext) -> dict[str, PendingDraft]:
    user_data: dict[Any, Any] = context.user_data if context.user_data is not None else {}
    drafts: dict[str, PendingDraft] = user_data.setdefault("drafts", {})
    return drafts


def _reader(context: BotContext, user_id: int) -> tuple[str, list[str]]:
    """The writer's zone and the languages their dates are read in."""
    services = context.services
    with session_scope(services.engine) as session:
        zone = user_zone(session.get(User, user_id), services.rules)
    return zone, list(dict.fromkeys([current_language(), "en"]))


def _preview(pending: PendingDraft, draft_id: str) -> tuple[str, list[list[Button]]]:
    draft = pending.draft
    lines = [
        _("Please check:"),
        f"<b>{html.escape(draft.title)}</b>",
        "🕒 " + html.escape(format_span(draft.starts_at, draft.ends_at, draft.zone)),
    ]
    if draft.rrule:
        lines.append(
            "🔁 "
            + html.escape(
                timeparse.describe_recurrence(
                    draft.rrule, locale=current_language(), zone=draft.zone
                )
            )
        )
    if pending.reschedule_code:
        lines.insert(0, _("New time for {code}:").format(code=pending.reschedule_code))
    keyboard = [
        [
            Button(_("Confirm"), data=ConfirmPreview(draft_id).encode()),
            Button(_("Change"), data=ChangePreview(draft_id).encode()),
            Button(_("Cancel"), data=DropPreview(draft_id).encode()),
        ]
    ]
    return "\n".join(lines), keyboard


async def _show_preview(update: Update, context: BotContext, pending: PendingDraft) -> None:
    draft_id = secrets.token_urlsafe(6)
    _drafts(context)[draft_id] = pending
    text, keyboard = _preview(pending, draft_id)
    await reply(update, text, keyboard)


@guarded
async def schedule(update: Update, context: BotContext) -> None:
    """Plan a meeting: `Title | when | duration`, or a dialog when sent bare."""
    tg_user = update.effective_user
    chat = update.effective_chat
    assert tg_user is not None and chat is not None
    text = command_args(update)
    if not text:
        _set_dialog(context, Dialog(step="title", chat_id=chat.id))
        await _ask(
            update, _("What is the meeting called? (Reply to this message; /cancel stops.)")
        )
        return
    parts = [part.strip() for part in text.split("|")]
    usage = _("Write it as: /schedule Title | tomorrow 15:00 | 45m (or just /schedule).")
    if len(parts) < 2 or len(parts) > 3:
        await refuse(update, usage)
        return
    # An empty part is named: "I can't read “” as a date" would not say what is missing.
    # (An empty title is named by the domain's own title check.)
    when = required(parts[1], _("The date and time are missing."), usage)
    duration = required(parts[2], _("The duration is missing."), usage) if len(parts) > 2 else None
    zone, languages = _reader(context, tg_user.id)
    draft = scheduling.make_draft(
        title=parts[0],
        when=when,
        duration=duration,
        zone=zone,
        languages=languages,
        now=context.services.clock(),
    )
    await _show_preview(update, context, PendingDraft(draft=draft, chat_id=chat.id))


async def _ask(update: Update, question: str) -> None:
    """A dialog question: a Cancel button in private, a reply field in groups (privacy mode)."""
    if is_private(update):
        await reply(update, question, [[Button(_("Cancel"), data=LeaveDialog().encode())]])
    else:
        await reply(update, question, ask=True)


def _set_dialog(context: BotContext, dialog: Dialog | None) -> None:
    if context.user_data is None:
        return
    if dialog is None:
        context.user_data.pop("dialog", None)
    else:
        context.user_data["dialog"] = dialog


def _dialog(context: BotContext) -> Dialog | None:
    dialog = context.user_data.get("dialog") if context.user_data is not None else None
    return dialog if isinstance(dialog, Dialog) else None


@guarded
async def dialog_answer(update: Update, context: BotContext) -> None:
    """The next answer in a /schedule dialog (title, time, duration)."""
    dialog = _dialog(context)
    chat = update.effective_chat
    tg_user = update.effective_user
    message = update.effective_message
    if dialog is None or chat is None or tg_user is None or message is None:
        if is_private(update):
            await reply(update, _("Send /help to see what I can do."))
        return
    if dialog.chat_id != chat.id:
        return
    text = (message.text or "").strip()
    zone, languages = _reader(context, tg_user.id)
    now = context.services.clock()
    if dialog.step == "title":
        dialog.title = scheduling.check_title(text)
        dialog.step = "when"
        await _ask(
            update,
            _("When? For example “tomorrow 15:00”, “next monday 10:00” or “2026-12-01 10:00”."),
        )
        return
    if dialog.step == "when":
        scheduling.parse_start(text, zone=zone, languages=languages, now=now)
        dialog.when = text
        dialog.step = "duration"
        await reply(
            update,
            _("How long? Tap a button or write e.g. 1h30."),
            [
                [
                    Button(f"{minutes} min", data=Duration(minutes).encode())
                    for minutes in DURATION_CHOICES
                ],
                [Button(_("Cancel"), data=LeaveDialog().encode())],
            ],
        )
        return
    await _finish_dialog(update, context, dialog, text)


async def _finish_dialog(
    update: Update, context: BotContext, dialog: Dialog, duration: str
) -> None:
    tg_user = update.effective_user
    assert tg_user is not None
    zone, languages = _reader(context, tg_user.id)
    draft = scheduling.make_draft(
        title=dialog.title,
        when=dialog.when,
        duration=duration,
        zone=zone,
        languages=languages,
        now=context.services.clock(),
    )
    _set_dialog(context, None)
    await _show_preview(update, context, PendingDraft(draft=draft, chat_id=dialog.chat_id))


@guarded
async def duration_button(update: Update, context: BotContext) -> None:
    """A duration button in the dialog."""
    query = update.callback_query
    assert query is not None
    dialog = _dialog(context)
    button = pressed(update, Duration)
    if (
        dialog is None
        or dialog.step != "duration"
        or button is None
        or button.minutes not in DURATION_CHOICES
    ):
        await query.answer(_("This question is closed. Start again with /schedule."))
        return
    # Answered after the preview: a refusal (the time has passed meanwhile) is the answer.
    await _finish_dialog(update, context, dialog, f"{button.minutes}m")
    await query.answer()


@guarded
async def leave_dialog(update: Update, context: BotContext) -> None:
    """The dialog's Cancel button."""
    query = update.callback_query
    assert query is not None
    if pressed(update, LeaveDialog) is None:
        await query.answer(_("This button is no longer valid."))
        return
    _set_dialog(context, None)
    await query.answer(_("Cancelled."))
    if query.message is not None:
        await query.edit_message_reply_markup(None)
    await reply(update, _("Cancelled. Nothing was saved."))


async def cancel_dialog(update: Update, context: BotContext) -> bool:
    """A bare /cancel: leave the dialog; False when there was none."""
    if _dialog(context) is None:
        return False
    _set_dialog(context, None)
    await reply(update, _("Cancelled. Nothing was saved."))
    return True


@guarded
async def draft_button(update: Update, context: BotContext) -> None:
    """Confirm, Change or Cancel under a preview."""
    query = update.callback_query
    assert query is not None
    button = decode(query.data)
    if not isinstance(button, ConfirmPreview | ChangePreview | DropPreview):
        button = None
    pending = _drafts(context).get(button.draft_id) if button is not None else None
    if button is None or pending is None:
        # Drafts live in the pressing user's own data: anyone else's press lands here too.
        await query.answer(
            _("This preview is not yours or has expired. Send /schedule again."), show_alert=True
        )
        return
    draft_id = button.draft_id
    if isinstance(button, DropPreview):
        _drafts(context).pop(draft_id, None)
        await query.answer(_("Cancelled."))
        await query.edit_message_text(_("Cancelled. Nothing was saved."))
        return
    if isinstance(button, ChangePreview):
        _drafts(context).pop(draft_id, None)
        await query.answer()
        if pending.reschedule_code:
            await query.edit_message_text(
                _("Send the new time: /reschedule {code} next friday 10:00").format(
                    code=pending.reschedule_code
                )
            )
            return
        chat = update.effective_chat
        assert chat is not None
        _set_dialog(context, Dialog(step="when", chat_id=chat.id, title=pending.draft.title))
        await query.edit_message_text(
            _("When? For example “tomorrow 15:00”, “next monday 10:00” or “2026-12-01 10:00”.")
        )
        return
    _drafts(context).pop(draft_id, None)
    if pending.reschedule_code:
        await _confirm_reschedule(update, context, pending)
    else:
        await _confirm_schedule(update, context, pending)


async def _confirm_schedule(update: Update, context: BotContext, pending: PendingDraft) -> None:
    query = update.callback_query
    tg_user = update.effective_user
    assert query is not None and tg_user is not None
    services = context.services
    now = services.clock()
    in_group = pending.chat_id < 0
    with session_scope(services.engine) as session:
        meeting = scheduling.create_meeting(
            session,
            draft=pending.draft,
            organizer_id=tg_user.id,
            chat_id=pending.chat_id if in_group else None,
            rules=services.rules,
            now=now,
        )
        join_payload = deep_links.deep_link(session, meeting=meeting, kind="join", now=now)
        link_payload = deep_links.deep_link(session, meeting=meeting, kind="link", now=now)
        card = render_meeting_card(meeting, session, pending.draft.zone, now)
        code = meeting.code
    await query.answer(_("Saved."))
    bot_name = context.bot.username
    if in_group:
        text = (
            _("📅 New meeting, planned by {name}:").format(name=html.escape(tg_user.full_name))
            + "\n"
            + card
            + "\n"
            + _("Tap “Join” to take part; personal links come privately before the start.")
        )
        keyboard = [
            [
                Button(_("Join"), data=Join(code).encode()),
                Button(_("My link"), url=start_link(bot_name, link_payload)),
            ]
        ]
        await query.edit_message_text(
            text, parse_mode="HTML", reply_markup=keyboard_markup(keyboard)
        )
        return
    text = (
        _("Saved. You are the owner.")
        + "\n"
        + card
        + "\n\n"
        + _("Invite people with /invite {code} @name, or forward this link: {link}").format(
            code=code, link=start_link(bot_name, join_payload)
        )
    )
    await query.edit_message_text(
        text,
        parse_mode="HTML",
        disable_web_page_preview=True,
        reply_markup=keyboard_markup([calendar_buttons(meeting, bot_name)]),
    )


@guarded
async def reschedule(update: Update, context: BotContext) -> None:
    """`/reschedule CODE new time [| duration]`: owners and admins only, confirmed first."""
    tg_user = update.effective_user
    chat = update.effective_chat
    assert tg_user is not None and chat is not None
    code, _sep, rest = command_args(update).partition(" ")
    usage = _("Write it as: /reschedule CODE next friday 10:00 (| 45m).")
    if not code:
        await refuse(update, usage)
        return
    when, bar, duration = rest.partition("|")
    when = required(when, _("The new time is missing."), usage)
    if bar:
        duration = required(duration, _("The duration is missing."), usage)
    services = context.services
    now = services.clock()
    actor = await actor_for_meeting(update, context, code)
    with session_scope(services.engine) as session:
        meeting = access.meeting_to_change(session, code=code, actor=actor, now=now)
    zone, languages = _reader(context, tg_user.id)
    draft = scheduling.make_draft(
        title=meeting.title,
        when=when,
        duration=duration or None,
        zone=zone,
        languages=languages,
        now=now,
    )
    if not duration.strip():
        draft = replace(draft, ends_at=draft.starts_at + (meeting.ends_at - meeting.starts_at))
    await _show_preview(
        update, context, PendingDraft(draft=draft, chat_id=chat.id, reschedule_code=meeting.code)
    )


async def _confirm_reschedule(update: Update, context: BotContext, pending: PendingDraft) -> None:
    query = update.callback_query
    assert query is not None and pending.reschedule_code is not None
    services = context.services
    now = services.clock()
    with session_scope(services.engine) as session:
        meeting = lookup.find_meeting(session, pending.reschedule_code)
    # Rights are checked again at Confirm: they may have changed since the preview.
    actor = await actor_for(update, context, meeting.chat_id)
    with session_scope(services.engine) as session:
        meeting = lookup.find_meeting(session, pending.reschedule_code)
        scheduling.reschedule(session, meeting=meeting, actor=actor, draft=pending.draft, now=now)
        card = render_meeting_card(meeting, session, pending.draft.zone, now)
    await query.answer(_("Saved."))
    await query.edit_message_text(_("Moved:") + "\n" + card, parse_mode="HTML")
