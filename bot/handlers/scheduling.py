"""/schedule (one line or a short dialog), its Confirm / Change / Cancel buttons, /reschedule.

The dialog runs in python-telegram-bot's ConversationHandler (wired in bot/app.py), one per
person and chat; the answers so far live in memory with it. Previews live in the database
(bot.domain.drafts), so their buttons still work after a restart.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace
from typing import Any

from telegram import Message, Update
from telegram.ext import ConversationHandler, filters

from bot import timeparse
from bot.buttons import ChangePreview, ConfirmPreview, DropPreview, Duration, LeaveDialog
from bot.domain import access, deep_links, drafts, lookup, polls, reminders, rsvp, scheduling
from bot.domain.drafts import MeetingPreview
from bot.domain.people import user_zone
from bot.domain.values import Actor
from bot.errors import DomainError
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
from bot.handlers.rsvp import announce
from bot.i18n import _, current_language, format_span, ngettext
from bot.messaging import Button, start_link
from bot.render import calendar_buttons, render_meeting_card
from storage.db import session_scope
from storage.models import User

DURATION_CHOICES = (30, 45, 60, 90)
# The dialog's steps (ConversationHandler states): which answer comes next.
TITLE, WHEN, DURATION = range(3)
END = ConversationHandler.END
# A dialog nobody answers ends by itself: its answers are dropped and the person is told.
DIALOG_TIMEOUT = 10 * 60.0


class _BareCommand(filters.MessageFilter):
    """A command with nothing after it ("/schedule", "/cancel@bot")."""

    def filter(self, message: Message) -> bool:
        return len((message.text or "").split(maxsplit=1)) == 1


BARE_COMMAND = _BareCommand(name="bare command")


@dataclass
class DialogAnswers:
    """What a /schedule dialog was told so far."""

    title: str = ""
    when: str = ""


def _dialogs(context: BotContext) -> dict[int, DialogAnswers]:
    """The person's open dialogs by chat (one person may run one in each chat)."""
    user_data: dict[Any, Any] = context.user_data if context.user_data is not None else {}
    dialogs: dict[int, DialogAnswers] = user_data.setdefault("dialogs", {})
    return dialogs


def _chat_id(update: Update) -> int:
    chat = update.effective_chat
    assert chat is not None
    return chat.id


def _reader(context: BotContext, user_id: int) -> tuple[str, list[str]]:
    """The writer's zone and the languages their dates are read in."""
    services = context.services
    with session_scope(services.engine) as session:
        zone = user_zone(session.get(User, user_id), services.rules)
    return zone, list(dict.fromkeys([current_language(), "en"]))


def _when_question() -> str:
    return _("When? For example “tomorrow 15:00”, “next monday 10:00” or “2026-12-01 10:00”.")


# --- previews ------------------------------------------------------------------------------


def _preview(preview: MeetingPreview, draft_id: str) -> tuple[str, list[list[Button]]]:
    draft = preview.draft
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
    if draft.reminder_minutes:
        lines.append(
            "⏰ "
            + _("Reminders: {moments} before the start").format(
                moments=reminders.describe_moments(draft.reminder_minutes)
            )
        )
    elif draft.reminder_minutes is not None:
        lines.append("⏰ " + _("No early reminders: only the personal link"))
    if draft.capacity is not None:
        lines.append(
            "🎟 "
            + ngettext(
                "At most {count} person (owners aside), then a waitlist",
                "At most {count} people (owners aside), then a waitlist",
                draft.capacity,
            ).format(count=draft.capacity)
        )
    if preview.reschedule_code:
        lines.insert(0, _("New time for {code}:").format(code=preview.reschedule_code))
    keyboard = [
        [
            Button(_("Confirm"), data=ConfirmPreview(draft_id).encode()),
            Button(_("Change"), data=ChangePreview(draft_id).encode()),
            Button(_("Cancel"), data=DropPreview(draft_id).encode()),
        ]
    ]
    return "\n".join(lines), keyboard


def preview_message(preview: MeetingPreview, draft_id: str) -> tuple[str, list[list[Button]]]:
    """A saved preview's text and Confirm / Change / Cancel buttons (also for a poll's slot)."""
    return _preview(preview, draft_id)


async def _show_preview(update: Update, context: BotContext, preview: MeetingPreview) -> None:
    """Keep the preview in the database and show it with Confirm / Change / Cancel."""
    tg_user = update.effective_user
    assert tg_user is not None
    services = context.services
    with session_scope(services.engine) as session:
        draft_id = drafts.save(
            session,
            value=preview,
            user_id=tg_user.id,
            chat_id=_chat_id(update),
            now=services.clock(),
        )
    text, keyboard = _preview(preview, draft_id)
    await reply(update, text, keyboard)


@guarded
async def schedule(update: Update, context: BotContext) -> None:
    """Plan a meeting in one line: `Title | when | duration` (a bare /schedule is the dialog)."""
    tg_user = update.effective_user
    assert tg_user is not None
    text = command_args(update)
    parts = [part.strip() for part in text.split("|")]
    usage = _("Write it as: /schedule Title | tomorrow 15:00 | 45m (or just /schedule).")
    # "| remind 1d,10m" may follow the time or the duration.
    remind = [part for part in parts[2:] if reminders.is_remind_part(part)]
    parts = [part for part in parts if part not in remind]
    # "| max 20" too.
    seats = [part for part in parts[2:] if rsvp.is_capacity_part(part)]
    parts = [part for part in parts if part not in seats]
    if len(parts) < 2 or len(parts) > 3 or len(remind) > 1 or len(seats) > 1:
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
    if remind:
        draft = replace(draft, reminder_minutes=tuple(reminders.remind_part_moments(remind[0])))
    if seats:
        draft = replace(draft, capacity=rsvp.capacity_option(seats[0]))
    await _show_preview(update, context, MeetingPreview(draft))


# --- the dialog ----------------------------------------------------------------------------
# Each step returns the next state; a refusal (guarded) returns None, which keeps the step.


async def _ask(update: Update, question: str) -> None:
    """A dialog question: a Cancel button in private, a reply field in groups (privacy mode)."""
    if is_private(update):
        await reply(update, question, [[Button(_("Cancel"), data=LeaveDialog().encode())]])
    else:
        await reply(update, question, ask=True)


@guarded
async def start_dialog(update: Update, context: BotContext) -> int:
    """A bare /schedule: ask for the title (a dialog already open starts over)."""
    _dialogs(context)[_chat_id(update)] = DialogAnswers()
    await _ask(update, _("What is the meeting called? (Reply to this message; /cancel stops.)"))
    return TITLE


@guarded
async def answer_title(update: Update, context: BotContext) -> int:
    """The title; then ask when."""
    message = update.effective_message
    assert message is not None
    title = scheduling.check_title(message.text or "")
    _dialogs(context).setdefault(_chat_id(update), DialogAnswers()).title = title
    await _ask(update, _when_question())
    return WHEN


@guarded
async def answer_when(update: Update, context: BotContext) -> int:
    """The time; then ask how long."""
    message = update.effective_message
    tg_user = update.effective_user
    assert message is not None and tg_user is not None
    text = (message.text or "").strip()
    zone, languages = _reader(context, tg_user.id)
    scheduling.parse_start(text, zone=zone, languages=languages, now=context.services.clock())
    _dialogs(context).setdefault(_chat_id(update), DialogAnswers()).when = text
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
    return DURATION


@guarded
async def answer_duration(update: Update, context: BotContext) -> int:
    """A typed duration: the preview."""
    message = update.effective_message
    assert message is not None
    await _finish_dialog(update, context, (message.text or "").strip())
    return END


@guarded
async def duration_button(update: Update, context: BotContext) -> int | None:
    """A duration button: the preview."""
    query = update.callback_query
    assert query is not None
    button = pressed(update, Duration)
    if button is None or button.minutes not in DURATION_CHOICES:
        await query.answer(_("This question is closed. Start again with /schedule."))
        return None
    # Answered after the preview: a refusal (the time has passed meanwhile) is the answer.
    await _finish_dialog(update, context, f"{button.minutes}m")
    await query.answer()
    return END


async def _finish_dialog(update: Update, context: BotContext, duration: str) -> None:
    tg_user = update.effective_user
    assert tg_user is not None
    answers = _dialogs(context).get(_chat_id(update), DialogAnswers())
    zone, languages = _reader(context, tg_user.id)
    draft = scheduling.make_draft(
        title=answers.title,
        when=answers.when,
        duration=duration,
        zone=zone,
        languages=languages,
        now=context.services.clock(),
    )
    _dialogs(context).pop(_chat_id(update), None)
    await _show_preview(update, context, MeetingPreview(draft))


@guarded
async def leave_dialog(update: Update, context: BotContext) -> int | None:
    """The dialog's Cancel button."""
    query = update.callback_query
    assert query is not None
    if pressed(update, LeaveDialog) is None:
        await query.answer(_("This question is closed. Start again with /schedule."))
        return None
    _dialogs(context).pop(_chat_id(update), None)
    await query.answer(_("Cancelled."))
    if query.message is not None:
        await query.edit_message_reply_markup(None)
    await reply(update, _("Cancelled. Nothing was saved."))
    return END


@guarded
async def cancel_dialog(update: Update, context: BotContext) -> int:
    """A bare /cancel in a dialog: leave it."""
    _dialogs(context).pop(_chat_id(update), None)
    await reply(update, _("Cancelled. Nothing was saved."))
    return END


@guarded
async def dialog_timed_out(update: Update, context: BotContext) -> None:
    """Nobody answered the dialog for DIALOG_TIMEOUT: drop it and say so."""
    if _dialogs(context).pop(_chat_id(update), None) is None:
        return  # ended otherwise meanwhile
    await reply(
        update,
        _("The /schedule dialog timed out; nothing was saved. Send /schedule to start again."),
    )


@guarded
async def question_closed(update: Update, context: BotContext) -> None:
    """A dialog's button when no dialog is open (it ended, timed out, or the bot restarted)."""
    query = update.callback_query
    assert query is not None
    await query.answer(_("This question is closed. Start again with /schedule."))


@guarded
async def stray_text(update: Update, context: BotContext) -> None:
    """A plain message outside any dialog: point to /help (in private; groups stay quiet)."""
    if is_private(update):
        await reply(update, _("Send /help to see what I can do."))


# --- the preview's buttons -----------------------------------------------------------------


def _draft_id(
    update: Update, kind: type[ConfirmPreview | ChangePreview | DropPreview]
) -> str | None:
    button = pressed(update, kind)
    return button.draft_id if button is not None else None


@guarded
async def change_preview(update: Update, context: BotContext) -> int:
    """Change under a preview: a /schedule one goes back to the dialog's time question."""
    query = update.callback_query
    tg_user = update.effective_user
    assert query is not None and tg_user is not None
    services = context.services
    try:
        with session_scope(services.engine) as session:
            saved = drafts.take(
                session,
                kind=MeetingPreview,
                draft_id=_draft_id(update, ChangePreview),
                user_id=tg_user.id,
                now=services.clock(),
            )
    except DomainError as error:
        # Refused here rather than by guarded: this press opens no dialog (END), and one left
        # open would later time out at a person who never started it.
        await refuse(update, str(error))
        return END
    await query.answer()
    preview = saved.value
    if preview.reschedule_code:
        await query.edit_message_text(
            _("Send the new time: /reschedule {code} next friday 10:00").format(
                code=preview.reschedule_code
            )
        )
        return END
    _dialogs(context)[_chat_id(update)] = DialogAnswers(title=preview.draft.title)
    await query.edit_message_text(_when_question())
    return WHEN


@guarded
async def drop_preview(update: Update, context: BotContext) -> None:
    """Cancel under a preview."""
    query = update.callback_query
    tg_user = update.effective_user
    assert query is not None and tg_user is not None
    with session_scope(context.services.engine) as session:
        drafts.discard(
            session,
            kind=MeetingPreview,
            draft_id=_draft_id(update, DropPreview),
            user_id=tg_user.id,
        )
    await query.answer(_("Cancelled."))
    await query.edit_message_text(_("Cancelled. Nothing was saved."))


@guarded
async def confirm_preview(update: Update, context: BotContext) -> None:
    """Confirm under a preview: save the meeting, or move it for a /reschedule."""
    tg_user = update.effective_user
    assert tg_user is not None
    services = context.services
    draft_id = _draft_id(update, ConfirmPreview)
    with session_scope(services.engine) as session:
        saved = drafts.peek(
            session,
            kind=MeetingPreview,
            draft_id=draft_id,
            user_id=tg_user.id,
            now=services.clock(),
        )
    if saved.value.reschedule_code:
        await _confirm_reschedule(update, context, draft_id, saved.value.reschedule_code)
    elif saved.value.poll_id is not None:
        # A poll's slot: the right to schedule the poll is checked again at Confirm.
        actor = await actor_for(update, context, saved.chat_id)
        await _confirm_schedule(update, context, draft_id, poll_actor=actor)
    else:
        await _confirm_schedule(update, context, draft_id)


async def _confirm_schedule(
    update: Update, context: BotContext, draft_id: str | None, *, poll_actor: Actor | None = None
) -> None:
    query = update.callback_query
    tg_user = update.effective_user
    assert query is not None and tg_user is not None
    services = context.services
    now = services.clock()
    with session_scope(services.engine) as session:
        # Taken in the transaction that saves the meeting: a second press finds nothing.
        saved = drafts.take(
            session, kind=MeetingPreview, draft_id=draft_id, user_id=tg_user.id, now=now
        )
        draft = saved.value.draft
        in_group = saved.chat_id < 0
        meeting = scheduling.create_meeting(
            session,
            draft=draft,
            organizer_id=tg_user.id,
            chat_id=saved.chat_id if in_group else None,
            rules=services.rules,
            now=now,
        )
        if saved.value.poll_id is not None and saved.value.poll_slot is not None:
            # The slot's voters are invited; the poll's message names the winner.
            assert poll_actor is not None
            polls.decide(
                session,
                poll_id=saved.value.poll_id,
                position=saved.value.poll_slot,
                meeting=meeting,
                actor=poll_actor,
                rules=services.rules,
                now=now,
            )
        join_payload = deep_links.deep_link(session, meeting=meeting, kind="join", now=now)
        link_payload = deep_links.deep_link(session, meeting=meeting, kind="link", now=now)
        card = render_meeting_card(meeting, session, draft.zone, now)
        code = meeting.code
        if in_group and query.message is not None:
            # The preview becomes the group's message about the meeting, with live counts.
            text, keyboard = announce(
                session,
                meeting=meeting,
                chat_id=saved.chat_id,
                message_id=query.message.message_id,
                organizer_name=tg_user.full_name,
                my_link=start_link(context.bot.username, link_payload),
            )
    await query.answer(_("Saved."))
    bot_name = context.bot.username
    if in_group:
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


# --- /reschedule ---------------------------------------------------------------------------


@guarded
async def reschedule(update: Update, context: BotContext) -> None:
    """`/reschedule CODE new time [| duration]`: owners and admins only, confirmed first."""
    tg_user = update.effective_user
    assert tg_user is not None
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
    await _show_preview(update, context, MeetingPreview(draft, reschedule_code=meeting.code))


async def _confirm_reschedule(
    update: Update, context: BotContext, draft_id: str | None, code: str
) -> None:
    query = update.callback_query
    tg_user = update.effective_user
    assert query is not None and tg_user is not None
    services = context.services
    now = services.clock()
    # Rights are checked again at Confirm: they may have changed since the preview.
    actor = await actor_for_meeting(update, context, code)
    with session_scope(services.engine) as session:
        saved = drafts.take(
            session, kind=MeetingPreview, draft_id=draft_id, user_id=tg_user.id, now=now
        )
        meeting = lookup.find_meeting(session, code)
        draft = saved.value.draft
        scheduling.reschedule(session, meeting=meeting, actor=actor, draft=draft, now=now)
        card = render_meeting_card(meeting, session, draft.zone, now)
    await query.answer(_("Saved."))
    await query.edit_message_text(_("Moved:") + "\n" + card, parse_mode="HTML")
