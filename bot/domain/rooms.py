"""The rooms Jitsi opens for the bot's meetings.

Jitsi's reservation module asks before it creates a room: a room opens only for a scheduled
meeting (or a series sitting) whose window is open, JOIN_EARLY_MINUTES before the start until
TOKEN_GRACE_MINUTES after the end, and Jitsi closes it when the window ends. Jitsi's event-sync
component then reports who joins and leaves; people are matched to participants by the id the
bot writes into their token (context.user.id), never by the name they show.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.domain.lookup import meeting_id
from bot.domain.sittings import load_sittings
from bot.domain.values import Occurrence, Rules
from bot.i18n import _, format_when
from bot.jitsi import Role
from storage.models import (
    DeliveryStatus,
    Meeting,
    MeetingStatus,
    Notice,
    Participant,
    RoomPresence,
    RoomSitting,
    User,
)


class RoomNoticeKind:
    """The notices about a room (Notice.kind), rendered by bot.domain.attendance."""

    NO_HOST = "no-host"  # members wait in the room and no owner came
    ATTENDANCE = "attendance"  # the report after the sitting


ROOM_NOTICE_KINDS = frozenset({RoomNoticeKind.NO_HOST, RoomNoticeKind.ATTENDANCE})

# "[tenant]room": the name Jitsi sends for a room under a tenant (muc_domain_mapper).
_TENANT_PREFIX = re.compile(r"^\[[^\]]*\]")
# The ids the bot writes into tokens (bot.jitsi.tokens.telegram_person_id).
_PERSON_ID = re.compile(r"tg-(\d{1,20})")


def room_node(name: str) -> str:
    """The room's own name, lower-case, without a "[tenant]" prefix."""
    return _TENANT_PREFIX.sub("", name.strip()).lower()


def user_of(person_id: str) -> int | None:
    """The Telegram id in a context.user.id the bot wrote, else None."""
    match = _PERSON_ID.fullmatch(person_id)
    return int(match.group(1)) if match else None


def find_room_meeting(session: Session, name: str) -> Meeting | None:
    """The meeting whose room this is (a scheduled one before a cancelled one)."""
    node = room_node(name)
    if not node:
        return None
    rows = session.exec(select(Meeting).where(func.lower(Meeting.room) == node)).all()
    rows = sorted(rows, key=lambda row: (row.status is MeetingStatus.CANCELLED, -(row.id or 0)))
    return rows[0] if rows else None


def sitting_at(
    session: Session, meeting: Meeting, rules: Rules, at: datetime
) -> tuple[Occurrence | None, Occurrence | None]:
    """The sitting whose window is open at `at`; else None and the next sitting (or None)."""
    for occurrence in itertools.islice(
        load_sittings(session, meeting).upcoming(at - rules.token_grace), 3
    ):
        if at < occurrence.start - rules.join_early:
            return None, occurrence
        if at < occurrence.end + rules.token_grace:
            return occurrence, None
    return None, None


def parse_jitsi_time(text: str) -> datetime | None:
    """A date as Jitsi's modules write it (yyyy-MM-dd'T'HH:mm:ss.SSSX, UTC), else None."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)


def jitsi_time(moment: datetime) -> str:
    """A date the way Jitsi's reservation module writes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# --- reservations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    """The room may open: the reservation Jitsi keeps until `duration` seconds after start."""

    id: int
    name: str
    mail_owner: str
    start_time: str
    duration: int
    max_occupants: int
    lobby: bool

    def as_json(self) -> dict[str, Any]:
        """The body of Jitsi's 200 answer."""
        return {
            "id": self.id,
            "name": self.name,
            "mail_owner": self.mail_owner,
            "start_time": self.start_time,
            "duration": self.duration,
            "max_occupants": self.max_occupants,
            "lobby": self.lobby,
        }


@dataclass(frozen=True)
class Refusal:
    """The room may not open (or no such reservation): a status and a message people read."""

    status: int
    message: str


@dataclass(frozen=True)
class Taken:
    """The sitting's room is already reserved: Jitsi asks for it by this id (409)."""

    conflict_id: int


def reserve(
    session: Session,
    *,
    name: str,
    start_time: str,
    mail_owner: str,
    rules: Rules,
    now: datetime,
    extra_seats: int,
) -> Grant | Refusal | Taken:
    """Jitsi asks to create room `name`: granted only in a planned sitting's window."""
    started = parse_jitsi_time(start_time)
    if started is None or not name.strip():
        return Refusal(400, "expected the form fields name, start_time (yyyy-MM-ddTHH:mm:ss.SSSZ)")
    meeting = find_room_meeting(session, name)
    refusal = _closed(session, meeting, rules, now)
    if refusal is not None:
        return refusal
    assert meeting is not None
    occurrence, _next = sitting_at(session, meeting, rules, now)
    assert occurrence is not None
    sitting = sitting_row(session, meeting, occurrence)
    if sitting.reserved:
        assert sitting.id is not None
        return Taken(sitting.id)
    sitting.reserved = True
    sitting.reserved_at = now
    sitting.released_at = None
    sitting.room = name
    sitting.mail_owner = mail_owner
    sitting.start_time = start_time
    session.add(sitting)
    plan_report(session, meeting, sitting, occurrence, rules)
    return _grant(session, meeting, sitting, occurrence, started, rules, extra_seats)


def reservation(
    session: Session, *, reservation_id: int, rules: Rules, now: datetime, extra_seats: int
) -> Grant | Refusal:
    """Jitsi asks again about a reservation (after a 409): as granted, while still allowed."""
    sitting = session.get(RoomSitting, reservation_id)
    if sitting is None or not sitting.reserved:
        return Refusal(404, _("There is no such reservation."))
    meeting = session.get(Meeting, sitting.meeting_id)
    refusal = _closed(session, meeting, rules, now)
    if refusal is not None:
        return refusal
    assert meeting is not None
    occurrence, _next = sitting_at(session, meeting, rules, now)
    if occurrence is None or occurrence.start != sitting.occurrence_start:
        return Refusal(403, _("{title} has ended.").format(title=meeting.title))
    started = parse_jitsi_time(sitting.start_time) or now
    return _grant(session, meeting, sitting, occurrence, started, rules, extra_seats)


def release(session: Session, *, reservation_id: int, rules: Rules, now: datetime) -> bool:
    """Jitsi destroyed the room: the reservation ends (False: no such reservation)."""
    sitting = session.get(RoomSitting, reservation_id)
    if sitting is None or not sitting.reserved:
        return False
    sitting.reserved = False
    sitting.released_at = now
    session.add(sitting)
    return True


def _closed(
    session: Session, meeting: Meeting | None, rules: Rules, now: datetime
) -> Refusal | None:
    """Why this meeting's room may not be open now, or None when it may."""
    if meeting is None:
        return Refusal(404, _("This room is not a meeting planned with the bot."))
    if meeting.status is MeetingStatus.CANCELLED:
        return Refusal(403, _("{title} was cancelled.").format(title=meeting.title))
    occurrence, coming = sitting_at(session, meeting, rules, now)
    if occurrence is not None:
        return None
    if coming is None:
        return Refusal(403, _("{title} has ended.").format(title=meeting.title))
    opens = coming.start - rules.join_early
    return Refusal(
        403,
        _("{title} has not started yet. The room opens {time}.").format(
            title=meeting.title, time=format_when(opens, meeting.zone)
        ),
    )


def _grant(
    session: Session,
    meeting: Meeting,
    sitting: RoomSitting,
    occurrence: Occurrence,
    started: datetime,
    rules: Rules,
    extra_seats: int,
) -> Grant:
    session.flush()
    assert sitting.id is not None
    closes = occurrence.end + rules.token_grace
    seats = session.exec(
        select(func.count()).select_from(Participant).where(Participant.meeting_id == meeting.id)
    ).one()
    return Grant(
        id=sitting.id,
        name=sitting.room,
        mail_owner=sitting.mail_owner,
        start_time=sitting.start_time,
        # Jitsi destroys the room at start_time + duration: the window's end.
        duration=max(1, math.ceil((closes - started).total_seconds())),
        max_occupants=int(seats) + extra_seats,
        lobby=meeting.lobby,
    )


def sitting_row(session: Session, meeting: Meeting, occurrence: Occurrence) -> RoomSitting:
    """The sitting's room row, made on first use (another transaction's, if it won the race)."""
    query = select(RoomSitting).where(
        RoomSitting.meeting_id == meeting_id(meeting),
        RoomSitting.occurrence_start == occurrence.start,
    )
    row = session.exec(query).first()
    if row is not None:
        return row
    row = RoomSitting(
        meeting_id=meeting_id(meeting), occurrence_start=occurrence.start, room=meeting.room
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return session.exec(query).one()
    return row


# --- what the room owes its owners ----------------------------------------------------------


def _owners(session: Session, meeting: Meeting) -> list[int]:
    rows = session.exec(
        select(Participant.user_id).where(
            Participant.meeting_id == meeting.id,
            Participant.role == Role.OWNER.value,
            col(Participant.user_id).is_not(None),
        )
    ).all()
    return [user_id for user_id in rows if user_id is not None]


def _claim_flag(session: Session, sitting: RoomSitting, flag: str) -> bool:
    """Set a once-per-sitting flag; True for the one transaction that set it."""
    column = getattr(RoomSitting, flag)
    result = session.execute(
        update(RoomSitting)
        .where(col(RoomSitting.id) == sitting.id, column.is_(False))
        .values({flag: True})
    )
    session.refresh(sitting)
    return bool(getattr(result, "rowcount", 0) == 1)


def _owe(
    session: Session, meeting: Meeting, sitting: RoomSitting, kind: str, due: datetime
) -> None:
    for user_id in _owners(session, meeting):
        session.add(
            Notice(
                meeting_id=meeting_id(meeting),
                user_id=user_id,
                kind=kind,
                occurrence_start=sitting.occurrence_start,
                due_at=due,
                created_at=due,
            )
        )


def plan_report(
    session: Session, meeting: Meeting, sitting: RoomSitting, occurrence: Occurrence, rules: Rules
) -> None:
    """The owners' attendance report, due when the sitting's window ends (once per sitting)."""
    session.flush()
    if _claim_flag(session, sitting, "report_planned"):
        _owe(
            session,
            meeting,
            sitting,
            RoomNoticeKind.ATTENDANCE,
            occurrence.end + rules.token_grace,
        )


def report_now(session: Session, meeting: Meeting, sitting: RoomSitting, now: datetime) -> None:
    """The room closed after the meeting's end: the report need not wait for the window's end."""
    session.execute(
        update(Notice)
        .where(
            col(Notice.meeting_id) == meeting.id,
            col(Notice.kind) == RoomNoticeKind.ATTENDANCE,
            col(Notice.occurrence_start) == sitting.occurrence_start,
            col(Notice.status) == DeliveryStatus.PENDING.value,
            col(Notice.due_at) > now,
        )
        .values(due_at=now)
    )


# --- occupants --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Occupant:
    """One connection as event-sync reports it."""

    jid: str
    person_id: str
    joined_at: datetime
    left_at: datetime | None = None


def occupant_from(data: Any, fallback: datetime) -> Occupant | None:
    """The occupant in an event-sync payload (None when it has no JID)."""
    if not isinstance(data, dict) or not isinstance(data.get("occupant_jid"), str):
        return None
    person = data.get("id")
    return Occupant(
        jid=data["occupant_jid"][:300],
        person_id=person[:100] if isinstance(person, str) else "",
        joined_at=epoch(data.get("joined_at")) or fallback,
        left_at=epoch(data.get("left_at")),
    )


def epoch(value: Any) -> datetime | None:
    """Seconds since 1970 (as Prosody's os.time() gives them) as a UTC datetime, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def no_host_delay(minutes: int) -> timedelta | None:
    """NO_HOST_MINUTES as a delay after the start; 0 turns the message off."""
    return timedelta(minutes=minutes) if minutes > 0 else None


@dataclass(frozen=True)
class RoomContext:
    """The meeting, its sitting and the sitting's row an event belongs to."""

    meeting: Meeting
    occurrence: Occurrence
    sitting: RoomSitting


def room_context(
    session: Session, *, room_name: str, at: datetime, rules: Rules
) -> RoomContext | None:
    """The sitting a room event at `at` belongs to (None: not a room of a planned sitting)."""
    meeting = find_room_meeting(session, room_name)
    if meeting is None or meeting.status is MeetingStatus.CANCELLED:
        return None
    occurrence, _next = sitting_at(session, meeting, rules, at)
    if occurrence is None:
        return None
    sitting = sitting_row(session, meeting, occurrence)
    plan_report(session, meeting, sitting, occurrence, rules)
    return RoomContext(meeting, occurrence, sitting)


def occupant_joined(
    session: Session, room: RoomContext, occupant: Occupant, no_host: timedelta | None
) -> None:
    """Someone came in: recorded; an owner's arrival noted; no owner yet, the owners are owed
    a "people are waiting" message at start + NO_HOST_MINUTES (once per sitting)."""
    presence = _presence(session, room, occupant)
    if presence is None:
        return
    sitting = room.sitting
    if presence.owner:
        if sitting.owner_arrived_at is None or presence.joined_at < sitting.owner_arrived_at:
            sitting.owner_arrived_at = presence.joined_at
            session.add(sitting)
        return
    if no_host is None or sitting.owner_arrived_at is not None:
        return
    if _claim_flag(session, sitting, "rescue_planned"):
        due = max(occupant.joined_at, room.occurrence.start + no_host)
        _owe(session, room.meeting, sitting, RoomNoticeKind.NO_HOST, due)


def occupant_left(session: Session, room: RoomContext, occupant: Occupant, at: datetime) -> None:
    """Someone left: their connection's time in the room ends."""
    presence = _presence(session, room, occupant)
    if presence is not None and presence.left_at is None:
        presence.left_at = occupant.left_at or at
        session.add(presence)


def room_destroyed(
    session: Session, room: RoomContext, occupants: list[Occupant], at: datetime
) -> None:
    """The room closed: every connection it saw is recorded with its end; after the meeting's
    end the owners' report is due now."""
    for occupant in occupants:
        occupant_left(session, room, occupant, at)
    for presence in session.exec(
        select(RoomPresence).where(
            RoomPresence.room_sitting_id == room.sitting.id, col(RoomPresence.left_at).is_(None)
        )
    ).all():
        presence.left_at = at
        session.add(presence)
    if at >= room.occurrence.end:
        report_now(session, room.meeting, room.sitting, at)


def _presence(session: Session, room: RoomContext, occupant: Occupant) -> RoomPresence | None:
    """The connection's row, made on first sight (a retried post finds it again)."""
    session.flush()
    assert room.sitting.id is not None
    query = select(RoomPresence).where(
        RoomPresence.room_sitting_id == room.sitting.id,
        RoomPresence.occupant_jid == occupant.jid,
        RoomPresence.joined_at == occupant.joined_at,
    )
    row = session.exec(query).first()
    if row is not None:
        return row
    user_id = user_of(occupant.person_id)
    if user_id is not None and session.get(User, user_id) is None:
        user_id = None
    owner = False
    if user_id is not None:
        role = session.exec(
            select(Participant.role).where(
                Participant.meeting_id == room.meeting.id, Participant.user_id == user_id
            )
        ).first()
        owner = role == Role.OWNER.value
    row = RoomPresence(
        room_sitting_id=room.sitting.id,
        occupant_jid=occupant.jid,
        person_id=occupant.person_id,
        user_id=user_id,
        owner=owner,
        joined_at=occupant.joined_at,
        left_at=occupant.left_at,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return session.exec(query).first()
    return row


def people_waiting(session: Session, sitting: RoomSitting) -> int:
    """How many people other than owners are in the room now (each person once)."""
    rows = session.exec(
        select(RoomPresence.person_id, RoomPresence.occupant_jid).where(
            RoomPresence.room_sitting_id == sitting.id,
            col(RoomPresence.left_at).is_(None),
            col(RoomPresence.owner).is_(False),
        )
    ).all()
    return len({person or jid for person, jid in rows})


def sitting_of(session: Session, meeting: Meeting, start: datetime) -> RoomSitting | None:
    """The room row of the meeting's sitting that starts at `start`."""
    return session.exec(
        select(RoomSitting).where(
            RoomSitting.meeting_id == meeting.id, RoomSitting.occurrence_start == start
        )
    ).first()


def set_lobby(session: Session, meeting: Meeting, on: bool) -> None:
    """Jitsi's lobby in this meeting's room from the next time the room opens."""
    meeting.lobby = on
    session.add(meeting)
