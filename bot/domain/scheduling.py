"""Planning a meeting: title, time, draft, creation, finding it, changing or cancelling it."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from bot import timeparse
from bot.delivery.planning import cancel_pending, plan_deliveries
from bot.domain.access import require_active, require_manager
from bot.domain.audit import record_change
from bot.domain.lookup import meeting_id
from bot.domain.notices import NoticeKind, queue_notices
from bot.domain.values import Actor, Rules
from bot.errors import InvalidInput
from bot.i18n import _
from bot.jitsi import Role, make_room_name
from storage.models import Meeting, MeetingStatus, Participant

TITLE_MAX = 200


CODE_LENGTH = 6


# No 0/O, 1/I/L: codes are read aloud and typed from phones.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class Draft:
    """A meeting as understood, before the organizer confirms it."""

    title: str
    starts_at: datetime
    ends_at: datetime
    zone: str
    rrule: str | None = None
    # `| remind 1d,10m`: the meeting's own early reminders, minutes before (None: people's own).
    reminder_minutes: tuple[int, ...] | None = None
    # `| max 20`: at most this many members get a seat (bot.domain.rsvp); None: no limit.
    capacity: int | None = None


def new_code(session: Session) -> str:
    """A short, unguessable, unused meeting code."""
    while True:
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if session.exec(select(Meeting.id).where(Meeting.code == code)).first() is None:
            return code


def unused_room_name(session: Session, title: str) -> str:
    """A room name from the title that no other meeting uses."""
    while True:
        room = make_room_name(title)
        if session.exec(select(Meeting.id).where(Meeting.room == room)).first() is None:
            return room


def check_title(title: str) -> str:
    """A usable meeting title, or InvalidInput saying what to send."""
    cleaned = " ".join(title.split())
    if not cleaned:
        raise InvalidInput(_("The title is empty. Send a short title, e.g. “Weekly sync”."))
    if len(cleaned) > TITLE_MAX:
        raise InvalidInput(
            _("The title is too long ({length} characters). Keep it under {limit}.").format(
                length=len(cleaned), limit=TITLE_MAX
            )
        )
    return cleaned


def parse_start(
    text: str, *, zone: str, languages: Sequence[str], now: datetime
) -> tuple[datetime, str | None]:
    """The start (UTC) and, for a series, its RRULE, from what the organizer typed."""
    try:
        recurrence = timeparse.parse_recurrence(text, zone=zone, languages=languages, now=now)
        if recurrence is not None:
            return recurrence.first_start, recurrence.rrule
        return timeparse.parse_when(text, zone=zone, languages=languages, now=now), None
    except timeparse.TimeParseError as error:
        raise InvalidInput(time_error_message(error.reason, text)) from None


def parse_length(text: str) -> timedelta:
    """A meeting duration, or InvalidInput saying what to send."""
    try:
        return timeparse.parse_duration(text)
    except timeparse.TimeParseError as error:
        raise InvalidInput(time_error_message(error.reason, text)) from None


def time_error_message(reason: str, text: str) -> str:
    messages = {
        "in_the_past": _(
            "That time is in the past. Send a time in the future, e.g. “tomorrow 15:00”."
        ),
        "too_far": _("That is more than a year ahead. Send a date within the next 12 months."),
        "no_time": _("Please add a time of day, e.g. “{text} 15:00”.").format(text=text[:60]),
        "duration_zero": _("A meeting needs some time. Send a duration such as 45m or 1h30."),
        "duration_too_long": _("A meeting can last at most 24 hours. Send a shorter duration."),
        "bad_duration": _("I can't read that duration. Send e.g. 45m, 90 min, 1h30 or 2h."),
        "bad_recurrence": _(
            "I can't read that repeat rule. Try “every monday 10:00”, “daily 9:00” or "
            "“every 2 weeks on tuesday 18:00 until 2027-06-30”."
        ),
    }
    return messages.get(
        reason,
        _(
            "I can't read “{text}” as a date. Try “tomorrow 15:00”, “next monday 10:00” or "
            "“2026-12-01 10:00”."
        ).format(text=text[:60]),
    )


def make_draft(
    *,
    title: str,
    when: str,
    duration: str | None,
    zone: str,
    languages: Sequence[str],
    now: datetime,
) -> Draft:
    """Read a /schedule request into a Draft, refusing anything unusable."""
    clean_title = check_title(title)
    start, rrule = parse_start(when, zone=zone, languages=languages, now=now)
    length = parse_length(duration) if duration and duration.strip() else timedelta(minutes=60)
    return Draft(
        title=clean_title, starts_at=start, ends_at=start + length, zone=zone, rrule=rrule
    )


def create_meeting(
    session: Session,
    *,
    draft: Draft,
    organizer_id: int,
    chat_id: int | None,
    rules: Rules,
    now: datetime,
) -> Meeting:
    """Save a confirmed meeting with its organizer as owner, and plan the reminders."""
    if draft.starts_at <= now and draft.rrule is None:
        raise InvalidInput(_("That time has passed meanwhile. Send a new time with /schedule."))
    meeting = Meeting(
        code=new_code(session),
        title=draft.title,
        room=unused_room_name(session, draft.title),
        starts_at=draft.starts_at,
        ends_at=draft.ends_at,
        zone=draft.zone,
        rrule=draft.rrule,
        chat_id=chat_id,
        organizer_id=organizer_id,
        remind_before_minutes=int(rules.remind_before.total_seconds() // 60),
        reminder_minutes=None if draft.reminder_minutes is None else list(draft.reminder_minutes),
        capacity=draft.capacity,
        created_at=now,
    )
    session.add(meeting)
    session.flush()
    session.add(
        Participant(
            meeting_id=meeting_id(meeting),
            user_id=organizer_id,
            role=Role.OWNER,
            joined_at=now,
            # Whoever plans a meeting is going (they can say otherwise like anyone).
            rsvp="going",
        )
    )
    record_change(session, meeting, organizer_id, "schedule", None, draft.title, now)
    session.flush()
    plan_deliveries(session, meeting=meeting, now=now)
    return meeting


def cancel_meeting(session: Session, *, meeting: Meeting, actor: Actor, now: datetime) -> None:
    """Cancel a meeting: every pending link stops."""
    require_manager(session, meeting, actor)
    require_active(meeting, now)
    meeting.status = MeetingStatus.CANCELLED
    if meeting.rrule is not None:
        # Calendars keep the sittings before this moment (bot/calendar.py ends the rule here).
        meeting.series_until = now
    meeting.version += 1
    meeting.ics_sequence += 1
    session.add(meeting)
    cancel_pending(session, meeting, now=now)
    record_change(session, meeting, actor.user_id, "cancel", None, "", now)
    queue_notices(
        session, meeting=meeting, kind=NoticeKind.CANCELLED, now=now, skip_user_id=actor.user_id
    )


def reschedule(
    session: Session, *, meeting: Meeting, actor: Actor, draft: Draft, now: datetime
) -> None:
    """Move a meeting (roles and invites stay); old reminders go, new ones are planned."""
    require_manager(session, meeting, actor)
    require_active(meeting, now)
    old = meeting.starts_at
    meeting.starts_at = draft.starts_at
    meeting.ends_at = draft.ends_at
    if draft.rrule is not None:
        meeting.rrule = draft.rrule
    meeting.zone = draft.zone
    meeting.version += 1
    meeting.ics_sequence += 1
    meeting.summary_occurrence = None
    session.add(meeting)
    cancel_pending(session, meeting, now=now)
    record_change(
        session,
        meeting,
        actor.user_id,
        "reschedule",
        None,
        f"{old.isoformat()} -> {draft.starts_at.isoformat()}",
        now,
    )
    session.flush()
    plan_deliveries(session, meeting=meeting, now=now)
    queue_notices(
        session, meeting=meeting, kind=NoticeKind.RESCHEDULED, now=now, skip_user_id=actor.user_id
    )
