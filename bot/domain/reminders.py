"""Early reminders at several moments before each sitting: the moments owners and people choose,
and the reminder rows planned from them.

Who gets which: nobody who said no for this meeting (or Can't); otherwise the meeting's own
moments, or, for a meeting without its own, the person's default. A moment at or after the
personal link's own (meeting.remind_before_minutes) is the link message itself, so it is not
planned twice. Early reminders never carry a link: the delivery sweep sends the rows planned
here (bot/delivery/sending.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from babel.units import format_unit
from sqlalchemy import and_, update
from sqlmodel import Session, col, select

from bot import timeparse
from bot.domain.access import may_manage, require_active, require_manager
from bot.domain.audit import record_change
from bot.domain.lookup import find_participant, meeting_id, normalize_code
from bot.domain.sittings import load_sittings
from bot.domain.values import Actor
from bot.errors import InvalidInput, NotFound
from bot.i18n import _, current_language, pgettext
from storage.models import (
    DeliveryStatus,
    Meeting,
    MeetingStatus,
    Participant,
    Reminder,
    User,
)

MAX_MOMENTS = 5
LONGEST = timedelta(days=30)
# The sweep plans series at most this often, and each time the sittings up to this margin
# beyond the earliest moment: a sitting's rows exist before its first reminder is due.
REPLAN_EVERY = timedelta(minutes=10)
PLAN_MARGIN = timedelta(hours=1)

_IN_FLIGHT = (DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value)
# Moments are separated by blanks, semicolons, or commas after a unit ("1d,10m"); a comma
# between digits is a decimal one ("1,5h").
_SEPARATOR = re.compile(r"[\s;]+|(?<=[^\W\d_]),")


class Word(StrEnum):
    """What may stand instead of moments."""

    OFF = "off"
    ON = "on"
    DEFAULT = "default"


def _words() -> dict[str, Word]:
    """The words a reader may type: English always, and their own language's."""
    local = {
        Word.OFF: pgettext("reminders", "off"),
        Word.ON: pgettext("reminders", "on"),
        Word.DEFAULT: pgettext("reminders", "default"),
    }
    words = {word.value: word for word in Word}
    words.update({text.casefold(): word for word, text in local.items()})
    return words


def usage() -> str:
    """How /reminders is written."""
    return _(
        "Write it as: /reminders 1d 1h 10m (your default), /reminders off, "
        "/reminders CODE 1d 10m (owners), /reminders CODE off or /reminders CODE default."
    )


def read_choice(text: str) -> list[int] | Word:
    """Moments (minutes before the start, latest first) or one of the words, from typed text."""
    parts = [part for part in _SEPARATOR.split(text.strip()) if part]
    if not parts:
        raise InvalidInput(_("The reminder times are missing.") + "\n" + usage())
    if len(parts) == 1 and parts[0].casefold() in _words():
        return _words()[parts[0].casefold()]
    return parse_moments(parts)


def is_remind_part(part: str) -> bool:
    """Whether a part of /schedule's one line is "remind 1d,10m"."""
    word = part.split(maxsplit=1)[0].casefold() if part.strip() else ""
    return word in {"remind", pgettext("reminders", "remind").casefold()}


def remind_part_moments(part: str) -> list[int]:
    """The moments of /schedule's "| remind 1d,10m" ([] for "| remind off")."""
    how = _("Write them as: | remind 1d,10m (or | remind off).")
    words = part.split(maxsplit=1)
    if len(words) < 2:
        raise InvalidInput(_("The reminder times are missing.") + "\n" + how)
    choice = read_choice(words[1])
    if choice is Word.OFF:
        return []
    if isinstance(choice, Word):
        raise InvalidInput(how)
    return choice


def parse_moments(parts: Iterable[str]) -> list[int]:
    """Minutes before the start for each typed moment ("1d", "2h", "10m"), latest first."""
    minutes: set[int] = set()
    for part in parts:
        try:
            length = timeparse.parse_duration(part, longest=LONGEST)
        except timeparse.TimeParseError as error:
            if error.reason == "duration_too_long":
                raise InvalidInput(
                    _("A reminder can come at most {days} days before the start.").format(
                        days=LONGEST.days
                    )
                ) from None
            if error.reason == "duration_zero":
                raise InvalidInput(
                    _("A reminder must come at least 1 minute before the start.")
                ) from None
            raise InvalidInput(
                _(
                    "I can't read “{text}” as a time before the start. Write e.g. 1d, 2h or 10m."
                ).format(text=part[:20])
                + "\n"
                + usage()
            ) from None
        minutes.add(int(length.total_seconds() // 60))
    if len(minutes) > MAX_MOMENTS:
        raise InvalidInput(
            _("At most {count} reminders, e.g. /reminders 1d 1h 10m.").format(count=MAX_MOMENTS)
        )
    return sorted(minutes, reverse=True)


def describe_moment(minutes: int) -> str:
    """An exact amount of time in words ("1 day 2 hours 10 minutes"), in the reader's language."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    language = current_language()
    parts = [
        format_unit(value, unit, length="long", locale=language)
        for value, unit in ((days, "duration-day"), (hours, "duration-hour"))
        if value
    ]
    if mins or not parts:
        parts.append(format_unit(mins, "duration-minute", length="long", locale=language))
    return " ".join(parts)


def describe_moments(minutes: Iterable[int]) -> str:
    """Several moments in words, latest first ("1 day · 10 minutes")."""
    return " · ".join(describe_moment(value) for value in sorted(minutes, reverse=True))


def meeting_named(session: Session, word: str) -> Meeting | None:
    """The meeting whose code this word is, if any (a code may look like a duration)."""
    return session.exec(select(Meeting).where(Meeting.code == normalize_code(word))).first()


# --- who gets which ---------------------------------------------------------------------------


def moments_for(meeting: Meeting, user: User | None, participant: Participant) -> list[int]:
    """The early reminders (minutes before each sitting) this person gets for this meeting."""
    if user is None or participant.reminders_off:
        return []
    # Can't, or waiting for a seat: no reminders (bot.domain.rsvp).
    if participant.rsvp == "cant" or participant.waitlist_ticket is not None:
        return []
    chosen = meeting.reminder_minutes
    if chosen is None:
        chosen = user.reminder_minutes or []
    return sorted(
        {value for value in chosen if value > meeting.remind_before_minutes}, reverse=True
    )


def plan_reminders(
    session: Session, *, meeting: Meeting, now: datetime, user_ids: Iterable[int] | None = None
) -> int:
    """Bring the reminder rows of a meeting's coming sittings in line with who wants which.

    Adds the rows now wanted (a moment already past is skipped, never sent late), calls off
    the pending ones no longer wanted (a person left, said no, a sitting moved, the moments
    changed) and revives called-off ones wanted again; a row that went out stays as it is,
    so none goes out twice. Returns how many rows were added or revived.
    """
    wanted_ids = set(user_ids) if user_ids is not None else None
    query = (
        select(Participant, User)
        .join(User, col(User.id) == col(Participant.user_id))
        .where(Participant.meeting_id == meeting.id)
    )
    if wanted_ids is not None:
        query = query.where(col(Participant.user_id).in_(list(wanted_ids)))
    moments = {
        user.id: moments_for(meeting, user, participant)
        for participant, user in session.exec(query).all()
    }
    existing_query = select(Reminder).where(
        Reminder.meeting_id == meeting.id, col(Reminder.occurrence_start) > now
    )
    if wanted_ids is not None:
        existing_query = existing_query.where(col(Reminder.user_id).in_(list(wanted_ids)))
    existing = session.exec(existing_query).all()
    longest = max((value for values in moments.values() for value in values), default=0)
    horizon = now + timedelta(minutes=longest) + PLAN_MARGIN
    horizon = max([horizon, *(row.occurrence_start for row in existing)])
    starts: list[datetime] = []
    if meeting.status is MeetingStatus.SCHEDULED and (longest or existing):
        for occurrence in load_sittings(session, meeting).upcoming(now):
            # A single meeting's one sitting is planned at once; a series' within reach, and
            # the sweep plans the next ones as they come within reach.
            if meeting.rrule is not None and occurrence.start > horizon:
                break
            if occurrence.start > now:
                starts.append(occurrence.start)
    upcoming = set(starts)
    changed = 0
    seen = set()
    for row in existing:
        key = (row.user_id, row.occurrence_start, row.minutes_before)
        seen.add(key)
        still_wanted = row.occurrence_start in upcoming and row.minutes_before in moments.get(
            row.user_id, []
        )
        if not still_wanted and row.status in _IN_FLIGHT:
            row.status = DeliveryStatus.CANCELLED.value
        elif still_wanted and row.status == DeliveryStatus.CANCELLED.value and row.due_at >= now:
            row.status, row.attempts, row.error = DeliveryStatus.PENDING.value, 0, None
            changed += 1
        else:
            continue
        row.updated_at = now
        session.add(row)
    for start in starts:
        for user_id, values in moments.items():
            for value in values:
                due = start - timedelta(minutes=value)
                if due < now or (user_id, start, value) in seen:
                    continue
                session.add(
                    Reminder(
                        meeting_id=meeting_id(meeting),
                        user_id=user_id,
                        occurrence_start=start,
                        minutes_before=value,
                        due_at=due,
                        updated_at=now,
                    )
                )
                changed += 1
    session.flush()
    return changed


def cancel_reminders(
    session: Session,
    *,
    meeting: Meeting,
    now: datetime,
    user_ids: Iterable[int] | None = None,
    occurrence_start: datetime | None = None,
) -> None:
    """Call off pending reminders (of some people, of one sitting) in one statement; a plan
    that follows revives those still wanted."""
    query = update(Reminder).where(
        col(Reminder.meeting_id) == meeting.id, col(Reminder.status).in_(_IN_FLIGHT)
    )
    if user_ids is not None:
        query = query.where(col(Reminder.user_id).in_(list(user_ids)))
    if occurrence_start is not None:
        query = query.where(col(Reminder.occurrence_start) == occurrence_start)
    session.execute(query.values(status=DeliveryStatus.CANCELLED.value, updated_at=now))


def plan_series_reminders(session: Session, *, now: datetime) -> int:
    """Plan the reminders of every series' sittings coming within reach (the sweep's part)."""
    is_running_series = and_(
        col(Meeting.status) == MeetingStatus.SCHEDULED, col(Meeting.rrule).is_not(None)
    )
    # Most series want no early reminders at all: find, in three light queries, those that
    # might (a setting of their own, a participant's personal default, rows already planned),
    # and plan only those, rather than each of thousands one by one.
    own = session.exec(select(Meeting.id, Meeting.reminder_minutes).where(is_running_series)).all()
    wanted = {meeting_id for meeting_id, minutes in own if minutes}
    defaults = session.exec(
        select(Participant.meeting_id, User.reminder_minutes)
        .join(User, col(User.id) == col(Participant.user_id))
        .join(Meeting, col(Meeting.id) == col(Participant.meeting_id))
        .where(is_running_series, col(User.reminder_minutes).is_not(None))
    ).all()
    wanted |= {meeting_id for meeting_id, minutes in defaults if minutes}
    wanted |= set(
        session.exec(
            select(Reminder.meeting_id)
            .join(Meeting, col(Meeting.id) == col(Reminder.meeting_id))
            .where(is_running_series, col(Reminder.occurrence_start) > now)
            .distinct()
        ).all()
    )
    if not wanted:
        return 0
    series = session.exec(
        select(Meeting).where(col(Meeting.id).in_(sorted(wanted))).order_by(col(Meeting.id))
    ).all()
    return sum(plan_reminders(session, meeting=meeting, now=now) for meeting in series)


def still_wanted(
    session: Session,
    *,
    row: Reminder,
    meeting: Meeting,
    user: User,
    participant: Participant,
    now: datetime,
) -> bool:
    """Whether a claimed reminder should still go out now (checked again at sending time)."""
    if meeting.status is MeetingStatus.CANCELLED:
        return False
    if row.minutes_before not in moments_for(meeting, user, participant):
        return False
    return load_sittings(session, meeting).is_upcoming(row.occurrence_start, now)


# --- choosing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingReminders:
    """What a person reads about a meeting's reminders."""

    meeting: Meeting
    own: list[int] | None  # the meeting's moments (None: everyone's default)
    mine: list[int]  # what this person gets
    opted_out: bool
    participant: bool


def set_default(
    session: Session, *, user_id: int, minutes: list[int] | None, now: datetime
) -> None:
    """A person's default moments (None: none), re-planned for every meeting they are in."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("Send /start first, then try again."))
    user.reminder_minutes = minutes or None
    session.add(user)
    session.flush()
    meetings = session.exec(
        select(Meeting)
        .join(Participant, col(Participant.meeting_id) == col(Meeting.id))
        .where(Participant.user_id == user_id, Meeting.status == MeetingStatus.SCHEDULED)
    ).all()
    for meeting in meetings:
        plan_reminders(session, meeting=meeting, now=now, user_ids=[user_id])


def set_for_meeting(
    session: Session, *, meeting: Meeting, actor: Actor, minutes: list[int] | None, now: datetime
) -> None:
    """A meeting's own moments ([]: none for anyone; None: everyone's default); owners only."""
    require_manager(session, meeting, actor)
    require_active(meeting, now)
    meeting.reminder_minutes = minutes
    session.add(meeting)
    detail = "default" if minutes is None else ",".join(str(value) for value in minutes) or "off"
    record_change(session, meeting, actor.user_id, "reminders", None, detail, now)
    session.flush()
    plan_reminders(session, meeting=meeting, now=now)


def set_opted_out(
    session: Session, *, meeting: Meeting, user_id: int, off: bool, now: datetime
) -> None:
    """One person's early reminders for one meeting off (or on again)."""
    require_active(meeting, now)
    participant = find_participant(session, meeting_id(meeting), user_id)
    if participant is None:
        raise NotFound(_("You are not in meeting {code}.").format(code=meeting.code))
    participant.reminders_off = off
    session.add(participant)
    record_change(
        session, meeting, user_id, "reminders_off" if off else "reminders_on", user_id, "", now
    )
    session.flush()
    plan_reminders(session, meeting=meeting, now=now, user_ids=[user_id])


def choose_for_meeting(
    session: Session, *, meeting: Meeting, actor: Actor, choice: list[int] | Word, now: datetime
) -> bool:
    """Apply `/reminders CODE ...`; True when it changed the meeting, False when only the
    person's own reminders.

    Owners (and whoever may manage the meeting) set the meeting's moments; for anyone else
    "off" and "on" are their own say for this meeting.
    """
    if may_manage(session, meeting, actor) and choice is not Word.ON:
        if choice is Word.OFF:
            set_for_meeting(session, meeting=meeting, actor=actor, minutes=[], now=now)
        elif choice is Word.DEFAULT:
            set_for_meeting(session, meeting=meeting, actor=actor, minutes=None, now=now)
        else:
            set_for_meeting(session, meeting=meeting, actor=actor, minutes=choice, now=now)
        return True
    if choice in (Word.OFF, Word.ON):
        set_opted_out(
            session, meeting=meeting, user_id=actor.user_id, off=choice is Word.OFF, now=now
        )
        return False
    require_manager(session, meeting, actor)  # refuses, saying who may
    return False


def meeting_reminders(session: Session, *, meeting: Meeting, actor: Actor) -> MeetingReminders:
    """A meeting's moments and this person's own, for /reminders CODE (its people only)."""
    participant = find_participant(session, meeting_id(meeting), actor.user_id)
    if participant is None and not may_manage(session, meeting, actor):
        raise NotFound(_("You are not in meeting {code}.").format(code=meeting.code))
    user = session.get(User, actor.user_id)
    mine = moments_for(meeting, user, participant) if participant is not None else []
    return MeetingReminders(
        meeting=meeting,
        own=meeting.reminder_minutes,
        mine=mine,
        opted_out=bool(participant and participant.reminders_off),
        participant=participant is not None,
    )
