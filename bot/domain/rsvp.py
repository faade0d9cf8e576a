"""Going / Maybe / Can't, seats and the waitlist, and the group message that shows the counts.

Who gets the link: everyone in a meeting except those who said Can't and those waiting on the
waitlist. With a capacity, every member who gets the link holds a seat (Going, Maybe, or not
answered yet); owners never count. A member who would take a seat when none is free goes on
the waitlist, in order; a seat that frees up (Can't, leaving, a larger capacity) goes to the
first in line, who is told and gets their link (at once when the join window is open).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, or_, update
from sqlmodel import Session, col, select

from bot.delivery.planning import cancel_pending, plan_deliveries
from bot.domain.access import require_active, require_manager
from bot.domain.audit import record_change
from bot.domain.lookup import meeting_id, participants
from bot.domain.notices import NoticeKind, queue_notices
from bot.domain.people import display
from bot.domain.values import Actor
from bot.errors import InvalidInput
from bot.i18n import _
from bot.jitsi import Role
from storage.models import Announcement, Delivery, DeliveryStatus, Meeting, Participant, User

# More seats than any Jitsi room holds: a bigger number is a typo.
CAPACITY_LIMIT = 10_000


class Answer(StrEnum):
    """What someone answered to a meeting."""

    GOING = "going"
    MAYBE = "maybe"
    CANT = "cant"


@dataclass(frozen=True)
class Outcome:
    """Where an answer left its person."""

    answer: Answer
    joined: bool = False  # the answer made them a participant
    waitlist_place: int | None = None  # 1 for the first in line; None: not waiting


@dataclass(frozen=True)
class Counts:
    """The names behind each answer, for the group message and its Who button."""

    going: list[str] = field(default_factory=list)
    maybe: list[str] = field(default_factory=list)
    cant: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # in order
    capacity: int | None = None
    seats_taken: int = 0

    @property
    def free_seats(self) -> int | None:
        """Seats left (never below 0), None without a capacity."""
        if self.capacity is None:
            return None
        return max(0, self.capacity - self.seats_taken)


# --- reading ---------------------------------------------------------------------------------


def read_capacity(text: str) -> int | None:
    """A capacity as typed after `max` or /capacity CODE: a whole number, "off" is None."""
    word = text.strip().casefold()
    if word in {"off", _("off").casefold()}:
        return None
    if not word.isascii() or not word.isdigit() or len(word) > len(str(CAPACITY_LIMIT)):
        raise InvalidInput(
            _(
                "I can't read “{text}” as a number of seats. "
                "Send a whole number from 1 to {limit}, or off."
            ).format(text=text.strip()[:20], limit=CAPACITY_LIMIT)
        )
    seats = int(word)
    if not 1 <= seats <= CAPACITY_LIMIT:
        raise InvalidInput(
            _("A meeting can have from 1 to {limit} seats (owners aside).").format(
                limit=CAPACITY_LIMIT
            )
        )
    return seats


def is_capacity_part(part: str) -> bool:
    """Whether a /schedule part is about seats: “max 20”."""
    word = part.strip().split(maxsplit=1)[0] if part.strip() else ""
    return word.casefold() in {"max", _("max").casefold()}


def capacity_option(part: str) -> int:
    """The seats a /schedule part like “max 20” asks for."""
    _word, _space, rest = part.strip().partition(" ")
    seats = read_capacity(rest)
    if seats is None:
        raise InvalidInput(_("Write “max 20” for at most 20 people, or leave it out."))
    return seats


def _seat_holders(meeting: Meeting) -> list[Any]:
    """The conditions of a member row that holds a seat."""
    return [
        Participant.meeting_id == meeting.id,
        Participant.role == Role.MEMBER.value,
        col(Participant.user_id).is_not(None),
        col(Participant.waitlist_ticket).is_(None),
        or_(col(Participant.rsvp).is_(None), col(Participant.rsvp) != Answer.CANT.value),
    ]


def seats_taken(session: Session, meeting: Meeting, *, besides: int | None = None) -> int:
    """Members holding a seat (all but the participant row `besides`)."""
    query = select(func.count()).select_from(Participant).where(*_seat_holders(meeting))
    if besides is not None:
        query = query.where(Participant.id != besides)
    return session.exec(query).one()


def waitlist(session: Session, meeting: Meeting) -> list[Participant]:
    """The people waiting for a seat, first in line first."""
    return list(
        session.exec(
            select(Participant)
            .where(
                Participant.meeting_id == meeting.id, col(Participant.waitlist_ticket).is_not(None)
            )
            .order_by(col(Participant.waitlist_ticket), col(Participant.id))
        ).all()
    )


def waitlist_place(session: Session, meeting: Meeting, row: Participant) -> int | None:
    """1 for the first in line; None when `row` holds a seat or does not want one."""
    if row.waitlist_ticket is None:
        return None
    ahead = session.exec(
        select(func.count())
        .select_from(Participant)
        .where(
            Participant.meeting_id == meeting.id,
            col(Participant.waitlist_ticket).is_not(None),
            or_(
                col(Participant.waitlist_ticket) < row.waitlist_ticket,
                (col(Participant.waitlist_ticket) == row.waitlist_ticket)
                & (col(Participant.id) < (row.id or 0)),
            ),
        )
    ).one()
    return ahead + 1


def counts(session: Session, meeting: Meeting) -> Counts:
    """Everyone's answer by name, the waitlist in order, and the seats taken."""
    found = Counts(capacity=meeting.capacity, seats_taken=seats_taken(session, meeting))
    for row, user in participants(session, meeting):
        if user is None:
            continue
        name = display(user)
        if row.waitlist_ticket is not None:
            continue
        if row.rsvp == Answer.GOING:
            found.going.append(name)
        elif row.rsvp == Answer.MAYBE:
            found.maybe.append(name)
        elif row.rsvp == Answer.CANT:
            found.cant.append(name)
    for row in waitlist(session, meeting):
        user = session.get(User, row.user_id) if row.user_id is not None else None
        if user is not None:
            found.waiting.append(display(user))
    return found


# --- seats -----------------------------------------------------------------------------------


def take_seat(session: Session, meeting: Meeting, row: Participant, now: datetime) -> int | None:
    """Seat someone who wants the link, or put them on the waitlist when no seat is free.

    Returns their place on the waitlist, None when they hold a seat (owners always do).
    """
    if row.rsvp == Answer.CANT or row.waitlist_ticket is not None:
        return waitlist_place(session, meeting, row)
    if (
        row.role == Role.OWNER
        or meeting.capacity is None
        or seats_taken(session, meeting, besides=row.id) < meeting.capacity
    ):
        return None
    last = session.exec(
        select(func.max(Participant.waitlist_ticket)).where(Participant.meeting_id == meeting.id)
    ).one()
    row.waitlist_ticket = (last or 0) + 1
    session.add(row)
    session.flush()
    place = waitlist_place(session, meeting, row)
    assert row.user_id is not None
    record_change(session, meeting, row.user_id, "waitlist", row.user_id, f"#{place}", now)
    return place


def fill_seats(session: Session, meeting: Meeting, now: datetime) -> list[int]:
    """Give free seats to the first in line; returns who moved up.

    Each is told, and gets their link like anyone else: at once when the join window is open.
    """
    session.flush()
    line = waitlist(session, meeting)
    free = (
        len(line) if meeting.capacity is None else meeting.capacity - seats_taken(session, meeting)
    )
    moved: list[int] = []
    for row in line[: max(0, free)]:
        assert row.user_id is not None
        row.waitlist_ticket = None
        session.add(row)
        session.flush()
        record_change(session, meeting, row.user_id, "waitlist_up", row.user_id, "", now)
        _give_link(session, meeting, row.user_id, now)
        moved.append(row.user_id)
    queue_notices(session, meeting=meeting, kind=NoticeKind.SEAT, now=now, user_ids=moved)
    return moved


def _give_link(session: Session, meeting: Meeting, user_id: int, now: datetime) -> None:
    """Plan the person's link again (a row cancelled by an earlier Can't is planned afresh)."""
    length = meeting.ends_at - meeting.starts_at
    session.execute(
        delete(Delivery).where(
            col(Delivery.meeting_id) == meeting.id,
            col(Delivery.user_id) == user_id,
            col(Delivery.status) == DeliveryStatus.CANCELLED,
            col(Delivery.occurrence_start) > now - length,
        )
    )
    plan_deliveries(session, meeting=meeting, now=now, user_ids=[user_id])


# --- answering -------------------------------------------------------------------------------


def respond(
    session: Session, *, meeting: Meeting, row: Participant, answer: Answer, now: datetime
) -> Outcome:
    """A participant answers (or changes their answer) until the meeting is over.

    Can't gives up the seat or the place in line and stops the link and reminders; Going or
    Maybe after a Can't takes a seat again, or a place at the end of the line.
    """
    require_active(meeting, now)
    assert row.user_id is not None
    previous = row.rsvp
    row.rsvp = answer.value
    session.add(row)
    record_change(session, meeting, row.user_id, "rsvp", row.user_id, answer.value, now)
    owe_announcement_edit(session, meeting)
    if answer is Answer.CANT:
        was_seated = previous != Answer.CANT and row.waitlist_ticket is None
        row.waitlist_ticket = None
        session.add(row)
        cancel_pending(session, meeting, user_ids=[row.user_id], now=now)
        if was_seated:
            fill_seats(session, meeting, now)
        return Outcome(answer)
    if previous == Answer.CANT:
        place = take_seat(session, meeting, row, now)
        if place is None:
            _give_link(session, meeting, row.user_id, now)
        return Outcome(answer, waitlist_place=place)
    return Outcome(answer, waitlist_place=waitlist_place(session, meeting, row))


def seat_freed(session: Session, meeting: Meeting, now: datetime) -> list[int]:
    """Someone left: the first in line may move up, and the group message shows it."""
    owe_announcement_edit(session, meeting)
    return fill_seats(session, meeting, now)


@dataclass(frozen=True)
class CapacityChange:
    """What a new capacity did."""

    capacity: int | None
    seats_taken: int
    moved_up: list[str]
    waiting: int


def set_capacity(
    session: Session, *, meeting: Meeting, actor: Actor, capacity: int | None, now: datetime
) -> CapacityChange:
    """Change the number of seats (None: no limit); nobody who holds a seat loses it."""
    require_manager(session, meeting, actor)
    require_active(meeting, now)
    meeting.capacity = capacity
    session.add(meeting)
    record_change(
        session,
        meeting,
        actor.user_id,
        "capacity",
        None,
        "off" if capacity is None else str(capacity),
        now,
    )
    owe_announcement_edit(session, meeting)
    moved = fill_seats(session, meeting, now)
    names = [display(user) for user_id in moved if (user := session.get(User, user_id))]
    return CapacityChange(
        capacity, seats_taken(session, meeting), names, len(waitlist(session, meeting))
    )


# --- the group message -----------------------------------------------------------------------


def announce(
    session: Session,
    *,
    meeting: Meeting,
    chat_id: int,
    message_id: int,
    organizer_name: str,
    shown: str,
) -> None:
    """Remember the group message that shows a meeting's answers (`shown`: the fingerprint of
    what it shows now, so that no edit repeats it)."""
    session.add(
        Announcement(
            meeting_id=meeting_id(meeting),
            chat_id=chat_id,
            message_id=message_id,
            organizer_name=organizer_name,
            shown=shown,
        )
    )


def owe_announcement_edit(session: Session, meeting: Meeting) -> None:
    """The meeting's group message should be brought up to date (the edit job batches it)."""
    session.execute(
        update(Announcement)
        .where(col(Announcement.meeting_id) == meeting.id)
        .values(revision=col(Announcement.revision) + 1, owed=True)
    )


def owed_announcements(session: Session) -> list[tuple[Announcement, Meeting]]:
    """The group messages to bring up to date, with their meetings."""
    return list(
        session.exec(
            select(Announcement, Meeting)
            .join(Meeting, col(Meeting.id) == col(Announcement.meeting_id))
            .where(col(Announcement.owed).is_(True))
            .order_by(col(Announcement.id))
        ).all()
    )


def announcement_shown(
    session: Session, *, announcement_id: int, revision: int, shown: str
) -> None:
    """The message shows `revision` (`shown` is its fingerprint).

    A change made meanwhile bumped the revision: the message stays owed.
    """
    session.execute(
        update(Announcement)
        .where(col(Announcement.id) == announcement_id)
        .values(shown=shown, owed=col(Announcement.revision) != revision)
    )


def forget_announcement(session: Session, *, announcement_id: int) -> None:
    """The message was deleted or can no longer be edited: stop trying."""
    session.execute(
        update(Announcement).where(col(Announcement.id) == announcement_id).values(owed=False)
    )
