"""Finding a time: a group's poll over a few slots, votes, closing, and the slot that wins.

`/poll Title | mon 10:00; tue 15:00 | 45m | until friday` offers the slots (read in the
writer's zone and languages, as /schedule reads a time); people vote for every slot that suits
them and take a vote back by voting again. Voting ends at the deadline (or at the last slot's
start). The organizer schedules one slot as a meeting; everyone who voted for it is invited.

Votes are in the audit history with the poll (`AuditEvent.poll_id`); when the poll becomes a
meeting they are given to it, so /history of that meeting shows how its time was found.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from bot import timeparse
from bot.domain import participation
from bot.domain.access import is_bot_admin
from bot.domain.audit import record_change
from bot.domain.participation import InviteResult
from bot.domain.scheduling import Draft, check_title, parse_length, parse_start, time_error_message
from bot.domain.values import Actor, Rules
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.i18n import _
from storage.models import AuditEvent, Meeting, Poll, PollSlot, PollStatus, PollVote

MAX_SLOTS = 10
SLOT_SEPARATOR = ";"
DEFAULT_LENGTH = timedelta(minutes=60)
# t.me start payloads allow [A-Za-z0-9_-]; the prefix tells a poll's from a meeting's.
START_PREFIX = "poll_"
# "| until friday" in the writer's language (the words the repeat rules' "until" also takes).
_DEADLINE = re.compile(
    r"(?:until|till|by|bis(?:\s+(?:zum|zur))?|до|hasta|jusqu['’]?\s*(?:à|au)|avant)\s+(?P<when>.+)",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class PollRequest:
    """A /poll as understood: what the group will be asked."""

    title: str
    slots: tuple[datetime, ...]  # UTC, soonest first
    length: timedelta
    zone: str
    closes_at: datetime
    deadline_given: bool


@dataclass(frozen=True)
class SlotTally:
    """One slot with its votes."""

    position: int
    starts_at: datetime
    votes: int


def usage() -> str:
    """How to write a /poll."""
    return _("Write it as: /poll Title | mon 10:00; tue 15:00; wed 9:00 | 45m (| until friday).")


def read_request(text: str, *, zone: str, languages: Sequence[str], now: datetime) -> PollRequest:
    """Read what follows /poll, refusing anything unusable with one message that says why."""
    parts = [part.strip() for part in text.split("|")]
    if len(parts) < 2 or len(parts) > 4:
        raise InvalidInput(usage())
    title = check_title(parts[0])
    slots = _read_slots(parts[1], zone=zone, languages=languages, now=now)
    length: timedelta | None = None
    deadline: datetime | None = None
    for extra in parts[2:]:
        match = _DEADLINE.fullmatch(extra)
        if match is not None and deadline is None:
            deadline = _read_deadline(match["when"], zone=zone, languages=languages, now=now)
        elif match is None and length is None and extra:
            length = parse_length(extra)
        else:
            raise InvalidInput(usage())
    if deadline is not None and deadline > slots[-1]:
        raise InvalidInput(
            _("The deadline is after the last time on offer. Pick an earlier deadline.")
        )
    return PollRequest(
        title=title,
        slots=slots,
        length=length or DEFAULT_LENGTH,
        zone=zone,
        closes_at=deadline or slots[-1],
        deadline_given=deadline is not None,
    )


def _read_slots(
    text: str, *, zone: str, languages: Sequence[str], now: datetime
) -> tuple[datetime, ...]:
    """The slots, each a single time in the future; the message names the slot that fails."""
    pieces = [piece.strip() for piece in text.split(SLOT_SEPARATOR)]
    pieces = [piece for piece in pieces if piece]
    if not pieces:
        raise InvalidInput(_("Name at least one time, separated by “;”.") + "\n" + usage())
    if len(pieces) > MAX_SLOTS:
        raise InvalidInput(
            _("A poll offers at most {limit} times; this one has {count}.").format(
                limit=MAX_SLOTS, count=len(pieces)
            )
        )
    slots: list[datetime] = []
    for number, piece in enumerate(pieces, 1):
        try:
            start, rrule = parse_start(piece, zone=zone, languages=languages, now=now)
        except InvalidInput as error:
            raise InvalidInput(_slot_problem(number, piece, str(error))) from None
        if rrule is not None:
            raise InvalidInput(
                _slot_problem(number, piece, _("A poll offers single times, not a series."))
            )
        if start in slots:
            raise InvalidInput(
                _("Time {number} is the same as time {earlier}.").format(
                    number=number, earlier=slots.index(start) + 1
                )
            )
        slots.append(start)
    return tuple(sorted(slots))


def _slot_problem(number: int, text: str, problem: str) -> str:
    return _("Time {number} (“{text}”):").format(number=number, text=text[:60]) + " " + problem


def _read_deadline(text: str, *, zone: str, languages: Sequence[str], now: datetime) -> datetime:
    """A deadline: a time, or a day (which then ends at its midnight in the writer's zone)."""
    try:
        return timeparse.parse_when(text, zone=zone, languages=languages, now=now)
    except timeparse.TimeParseError as error:
        if error.reason != "no_time":
            raise InvalidInput(
                _("The deadline: {problem}").format(problem=time_error_message(error.reason, text))
            ) from None
    try:
        day = timeparse.parse_day(text, zone=zone, now=now, languages=languages)
    except timeparse.TimeParseError as error:
        raise InvalidInput(
            _("The deadline: {problem}").format(problem=time_error_message(error.reason, text))
        ) from None
    tz = ZoneInfo(zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    if end <= now:
        raise InvalidInput(
            _("The deadline: {problem}").format(problem=time_error_message("in_the_past", text))
        )
    return end.astimezone(now.tzinfo)


# --- the poll and its votes ----------------------------------------------------------------


def create_poll(
    session: Session, *, request: PollRequest, organizer_id: int, chat_id: int, now: datetime
) -> Poll:
    """Save a poll for a group; its message is attached once it is posted."""
    if chat_id >= 0:
        raise InvalidInput(_("Send /poll in a group: the group votes on the times."))
    poll = Poll(
        chat_id=chat_id,
        organizer_id=organizer_id,
        title=request.title,
        zone=request.zone,
        minutes=int(request.length.total_seconds() // 60),
        closes_at=request.closes_at,
        deadline_given=request.deadline_given,
        start_token=secrets.token_urlsafe(9),
        created_at=now,
    )
    session.add(poll)
    session.flush()
    assert poll.id is not None
    for position, start in enumerate(request.slots, 1):
        session.add(PollSlot(poll_id=poll.id, position=position, starts_at=start))
    record_change(session, None, organizer_id, "poll", None, request.title, now, poll_id=poll.id)
    session.flush()
    return poll


def attach_message(session: Session, *, poll: Poll, message_id: int, shown: str) -> None:
    """Remember the group message that shows the poll, and what it shows."""
    poll.message_id = message_id
    poll.shown = shown
    poll.shown_revision = poll.revision
    session.add(poll)


def find_poll(session: Session, poll_id: int) -> Poll:
    """The poll with this id, or NotFound."""
    poll = session.get(Poll, poll_id)
    if poll is None:
        raise NotFound(_("This poll no longer exists."))
    return poll


def find_by_start_token(session: Session, payload: str) -> Poll | None:
    """The poll a t.me start payload names, if it names one."""
    if not payload.startswith(START_PREFIX):
        return None
    token = payload.removeprefix(START_PREFIX)
    return session.exec(select(Poll).where(Poll.start_token == token)).first()


def start_payload(poll: Poll) -> str:
    """The t.me start payload that shows this poll's times in the reader's zone."""
    return START_PREFIX + poll.start_token


def slots(session: Session, poll: Poll) -> list[PollSlot]:
    """The poll's slots, in order."""
    return list(
        session.exec(
            select(PollSlot).where(PollSlot.poll_id == poll.id).order_by(col(PollSlot.position))
        ).all()
    )


def tallies(session: Session, poll: Poll) -> list[SlotTally]:
    """Each slot with its number of votes, in order."""
    counts = dict(
        session.exec(
            select(PollVote.position, func.count())
            .where(PollVote.poll_id == poll.id)
            .group_by(col(PollVote.position))
        ).all()
    )
    return [
        SlotTally(slot.position, slot.starts_at, int(counts.get(slot.position, 0)))
        for slot in slots(session, poll)
    ]


def my_votes(session: Session, poll: Poll, user_id: int) -> set[int]:
    """The slots a person voted for."""
    return set(
        session.exec(
            select(PollVote.position).where(
                PollVote.poll_id == poll.id, PollVote.user_id == user_id
            )
        ).all()
    )


def voters(session: Session, poll: Poll, position: int) -> list[int]:
    """Who voted for a slot, first vote first."""
    return list(
        session.exec(
            select(PollVote.user_id)
            .where(PollVote.poll_id == poll.id, PollVote.position == position)
            .order_by(col(PollVote.voted_at), col(PollVote.id))
        ).all()
    )


def is_open(poll: Poll, now: datetime) -> bool:
    """Whether the poll still takes votes (its deadline may have passed before the sweep)."""
    return poll.status == PollStatus.OPEN.value and poll.closes_at > now


def _slot(session: Session, poll: Poll, position: int) -> PollSlot:
    slot = session.exec(
        select(PollSlot).where(PollSlot.poll_id == poll.id, PollSlot.position == position)
    ).first()
    if slot is None:
        raise NotFound(_("This button is no longer valid."))
    return slot


def toggle_vote(
    session: Session, *, poll: Poll, position: int, user_id: int, now: datetime
) -> bool:
    """Vote for a slot, or take the vote back; True when the person now votes for it."""
    if not is_open(poll, now):
        raise InvalidInput(_("Voting on this poll has closed."))
    slot = _slot(session, poll, position)
    taken_back = session.execute(
        delete(PollVote)
        .where(
            col(PollVote.poll_id) == poll.id,
            col(PollVote.position) == position,
            col(PollVote.user_id) == user_id,
        )
        .returning(col(PollVote.id))
    ).first()
    if taken_back is None:
        session.add(
            PollVote(poll_id=slot.poll_id, position=position, user_id=user_id, voted_at=now)
        )
    _changed(session, poll)
    record_change(
        session,
        None,
        user_id,
        "unvote" if taken_back else "vote",
        None,
        f"{position}: {slot.starts_at.isoformat()}",
        now,
        poll_id=poll.id,
    )
    session.flush()
    return taken_back is None


def _changed(session: Session, poll: Poll) -> None:
    """The poll's message needs an edit: bumped in SQL, so concurrent votes never lose one."""
    session.execute(
        update(Poll).where(col(Poll.id) == poll.id).values(revision=col(Poll.revision) + 1)
    )


def close_due(session: Session, *, now: datetime) -> list[int]:
    """Close the open polls whose deadline has passed; returns their ids."""
    due = list(
        session.exec(
            select(Poll).where(Poll.status == PollStatus.OPEN.value, col(Poll.closes_at) <= now)
        ).all()
    )
    for poll in due:
        poll.status = PollStatus.CLOSED.value
        session.add(poll)
        _changed(session, poll)
        record_change(session, None, poll.organizer_id, "close", None, "", now, poll_id=poll.id)
    session.flush()
    return [poll.id for poll in due if poll.id is not None]


# --- scheduling the winner -----------------------------------------------------------------


def may_organize(session: Session, poll: Poll, actor: Actor, rules: Rules | None = None) -> bool:
    """The poll's author, the bot's admins and the group's administrators."""
    if actor.is_bot_admin or is_bot_admin(session, actor.user_id, rules):
        return True
    return actor.user_id == poll.organizer_id or actor.admin_of_chat == poll.chat_id


def require_organizer(
    session: Session, poll: Poll, actor: Actor, rules: Rules | None = None
) -> None:
    """NotAllowed unless the actor may schedule the poll's winner."""
    if not may_organize(session, poll, actor, rules):
        raise NotAllowed(
            _(
                "Only the poll's author, the group's administrators and the bot's admins can "
                "schedule it."
            )
        )


def _require_undecided(poll: Poll) -> None:
    if poll.status == PollStatus.DECIDED.value:
        raise InvalidInput(_("This poll was already scheduled."))


def schedulable_slots(
    session: Session, *, poll: Poll, actor: Actor, rules: Rules, now: datetime
) -> list[SlotTally]:
    """The slots the organizer may still schedule (those not yet begun), with their votes."""
    require_organizer(session, poll, actor, rules)
    _require_undecided(poll)
    ahead = [tally for tally in tallies(session, poll) if tally.starts_at > now]
    if not ahead:
        raise InvalidInput(_("Every time in this poll has passed. Start a new /poll."))
    return ahead


def draft_for_slot(
    session: Session, *, poll: Poll, position: int, actor: Actor, rules: Rules, now: datetime
) -> Draft:
    """The meeting a slot would be, for the usual preview (organizers only)."""
    require_organizer(session, poll, actor, rules)
    _require_undecided(poll)
    slot = _slot(session, poll, position)
    if slot.starts_at <= now:
        raise InvalidInput(_("That time has passed. Pick another one."))
    return Draft(
        title=poll.title,
        starts_at=slot.starts_at,
        ends_at=slot.starts_at + timedelta(minutes=poll.minutes),
        zone=poll.zone,
    )


def decide(
    session: Session,
    *,
    poll_id: int,
    position: int,
    meeting: Meeting,
    actor: Actor,
    rules: Rules,
    now: datetime,
) -> InviteResult:
    """The slot became `meeting`: invite its voters, close the poll, give it its history."""
    poll = find_poll(session, poll_id)
    require_organizer(session, poll, actor, rules)
    _require_undecided(poll)
    slot = _slot(session, poll, position)
    poll.status = PollStatus.DECIDED.value
    poll.winner = position
    poll.meeting_id = meeting.id
    session.add(poll)
    _changed(session, poll)
    result = participation.invite(
        session,
        meeting=meeting,
        actor=actor,
        user_ids=voters(session, poll, position),
        usernames=(),
        now=now,
    )
    record_change(
        session,
        meeting,
        actor.user_id,
        "poll_scheduled",
        None,
        f"{position}: {slot.starts_at.isoformat()}",
        now,
        poll_id=poll.id,
    )
    session.flush()
    # The votes that found the time belong to the meeting's history from now on.
    session.execute(
        update(AuditEvent)
        .where(col(AuditEvent.poll_id) == poll.id, col(AuditEvent.meeting_id).is_(None))
        .values(meeting_id=meeting.id)
    )
    return result


# --- the group message ---------------------------------------------------------------------


def stale_messages(session: Session) -> list[Poll]:
    """Polls whose group message shows less than what happened since."""
    return list(
        session.exec(
            select(Poll).where(
                col(Poll.message_id).is_not(None), col(Poll.revision) != col(Poll.shown_revision)
            )
        ).all()
    )


def mark_shown(session: Session, *, poll_id: int, revision: int, shown: str | None) -> None:
    """The message now shows `revision` (as `shown`); later changes keep it stale."""
    values: dict[str, object] = {"shown_revision": revision}
    if shown is not None:
        values["shown"] = shown
    session.execute(update(Poll).where(col(Poll.id) == poll_id).values(**values))
