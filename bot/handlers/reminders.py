"""/reminders: early reminders at several moments, per meeting (owners) and as a personal
default (in private); a person's own "off" for one meeting."""

from __future__ import annotations

from telegram import Update

from bot.domain import lookup, reminders, scheduling
from bot.domain.reminders import MeetingReminders, Word
from bot.errors import InvalidInput
from bot.handlers.common import (
    BotContext,
    actor_for_meeting,
    command_args,
    guarded,
    is_private,
    reply,
)
from bot.i18n import _
from storage.db import session_scope
from storage.models import Meeting, User


def _link_line(meeting: Meeting) -> str:
    return _("The personal link itself comes {left} before the start.").format(
        left=reminders.describe_moment(meeting.remind_before_minutes)
    )


def _default_text(minutes: list[int] | None) -> str:
    if not minutes:
        return _(
            "You have no default reminders: for meetings without their own, only your "
            "personal link comes. Set some with /reminders 1d 1h 10m."
        )
    return (
        _(
            "Your default reminders: {moments} before the start, for meetings without their own."
        ).format(moments=reminders.describe_moments(minutes))
        + "\n"
        + _("/reminders off turns them off.")
    )


def _meeting_text(shown: MeetingReminders) -> str:
    meeting = shown.meeting
    if shown.own is None:
        head = _("{code} has no reminders of its own: everyone gets their default.")
    elif not shown.own:
        head = _("{code} has no early reminders: only the personal links.")
    else:
        head = _("Reminders for {code}: {moments} before each start, for everyone in it.")
    lines = [
        head.format(code=meeting.code, moments=reminders.describe_moments(shown.own or [])),
    ]
    if shown.participant:
        if shown.opted_out:
            lines.append(
                _("You turned yours off; /reminders {code} on turns them back on.").format(
                    code=meeting.code
                )
            )
        elif shown.mine:
            lines.append(
                _("You get them {moments} before the start.").format(
                    moments=reminders.describe_moments(shown.mine)
                )
            )
        else:
            lines.append(_("You get no early reminders for it."))
    lines.append(_link_line(meeting))
    return "\n".join(lines)


@guarded
async def reminders_command(update: Update, context: BotContext) -> None:
    """`/reminders [CODE] [1d 1h 10m | off | on | default]`."""
    tg_user = update.effective_user
    assert tg_user is not None
    services = context.services
    now = services.clock()
    words = command_args(update).split(maxsplit=1)
    with session_scope(services.engine) as session:
        meeting = reminders.meeting_named(session, words[0]) if words else None
        code = meeting.code if meeting is not None else None
    if code is None:
        await _personal_default(update, context, " ".join(words))
        return
    actor = await actor_for_meeting(update, context, code)
    rest = words[1] if len(words) > 1 else ""
    with session_scope(services.engine) as session:
        meeting = reminders.meeting_named(session, code)
        assert meeting is not None
        if rest.strip():
            choice = reminders.read_choice(rest)
            for_meeting = reminders.choose_for_meeting(
                session, meeting=meeting, actor=actor, choice=choice, now=now
            )
            text = _changed_text(meeting, choice, for_meeting)
        shown = reminders.meeting_reminders(session, meeting=meeting, actor=actor)
        if not rest.strip():
            text = _meeting_text(shown)
    await reply(update, text)


def _changed_text(meeting: Meeting, choice: list[int] | Word, for_meeting: bool) -> str:
    code = meeting.code
    if not for_meeting and choice is Word.OFF:
        return _(
            "You get no early reminders for {code}; your personal link still comes. "
            "/reminders {code} on turns them back on."
        ).format(code=code)
    if not for_meeting:
        return _("Your early reminders for {code} are on again.").format(code=code)
    if choice is Word.OFF:
        head = _("{code} has no early reminders now: only the personal links.")
    elif choice is Word.DEFAULT:
        head = _("{code} has no reminders of its own now: everyone gets their default.")
    else:
        head = _("Reminders for {code}: {moments} before each start, for everyone in it.")
    moments = reminders.describe_moments(choice if isinstance(choice, list) else [])
    return head.format(code=code, moments=moments) + "\n" + _link_line(meeting)


async def _personal_default(update: Update, context: BotContext, text: str) -> None:
    """`/reminders`, `/reminders 1h 10m`, `/reminders off`: the person's default."""
    tg_user = update.effective_user
    assert tg_user is not None
    services = context.services
    if text.strip() and not is_private(update):
        raise InvalidInput(
            _("Set your own reminders in a private chat with me: /reminders 1h 10m.")
        )
    try:
        choice = reminders.read_choice(text) if text.strip() else None
    except InvalidInput:
        first = text.split()[0]
        if len(first) == scheduling.CODE_LENGTH and first.isalnum():
            # Most likely a mistyped meeting code: say that rather than "not a time".
            with session_scope(services.engine) as session:
                lookup.find_meeting(session, first)
        raise
    if choice in (Word.ON, Word.DEFAULT):
        raise InvalidInput(reminders.usage())
    with session_scope(services.engine) as session:
        if choice is not None:
            minutes = choice if isinstance(choice, list) else None
            reminders.set_default(
                session, user_id=tg_user.id, minutes=minutes, now=services.clock()
            )
        user = session.get(User, tg_user.id)
        current = user.reminder_minutes if user is not None else None
    await reply(update, _default_text(current))
