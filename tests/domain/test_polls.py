"""The rules of polls: reading /poll, votes as toggles, deadlines, who schedules, the winner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.domain import polls, scheduling
from bot.domain.polls import PollRequest
from bot.domain.values import Actor
from bot.errors import InvalidInput, NotAllowed, NotFound
from storage.models import AuditEvent, Participant, PollStatus
from tests.domain.helpers import GROUP, GROUP_ADMIN, MEMBER, NOW, OWNER, RULES, STRANGER

BERLIN = "Europe/Berlin"


def read(text: str, zone: str = BERLIN) -> PollRequest:
    return polls.read_request(text, zone=zone, languages=["en"], now=NOW)


def test_slots_are_read_in_the_writers_zone_soonest_first() -> None:
    request = read("Sync | wed 9:00; mon 10:00; tue 15:00 | 45m")
    assert request.slots == (
        datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
        datetime(2026, 12, 1, 14, 0, tzinfo=UTC),
        datetime(2026, 12, 2, 8, 0, tzinfo=UTC),
    )
    assert request.length == timedelta(minutes=45) and request.zone == BERLIN
    # Without a deadline, voting ends when the last slot begins.
    assert request.closes_at == request.slots[-1] and not request.deadline_given
    assert read("Sync | mon 10:00", zone="Asia/Tokyo").slots == (
        datetime(2026, 11, 30, 1, 0, tzinfo=UTC),
    )


def test_a_deadline_day_ends_at_midnight_in_the_writers_zone() -> None:
    request = read("Sync | mon 10:00; wed 9:00 | until sunday | 30m")
    assert request.closes_at == datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
    assert request.deadline_given and request.length == timedelta(minutes=30)
    assert read("Sync | wed 9:00 | bis Montag 12:00").closes_at == datetime(
        2026, 11, 30, 11, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("deadline", "language"),
    [
        ("hasta el viernes", "es"),
        ("до пятницы", "ru"),
        ("до п'ятниці", "uk"),
        ("bis Freitag", "de"),
    ],
)
def test_a_deadline_day_reads_as_people_write_it(deadline: str, language: str) -> None:
    """Articles and the genitive after "until" are how people write a day in these languages."""
    request = polls.read_request(
        f"Sync | 2026-12-07 10:00 | {deadline}", zone=BERLIN, languages=[language, "en"], now=NOW
    )
    # Friday 4 December ends at midnight in Berlin.
    assert request.closes_at == datetime(2026, 12, 4, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Sync", "Write it as: /poll"),
        ("Sync | mon 10:00 | 45m | 30m", "Write it as: /poll"),
        ("Sync | mon 10:00 | until sunday | until monday", "Write it as: /poll"),
        ("Sync | ;", "Name at least one time"),
        ("Sync | mon 10:00; nonsense", "Time 2 (“nonsense”): I can't read"),
        ("Sync | yesterday 10:00", "Time 1 (“yesterday 10:00”): That time is in the past."),
        ("Sync | " + "; ".join(f"2026-12-{d:02d} 10:00" for d in range(1, 12)), "at most 10"),
        ("Sync | mon 10:00; mon 10:00", "Time 2 is the same as time 1."),
        ("Sync | daily 9:00", "not a series"),
        ("Sync | mon 10:00 | until december 24", "The deadline is after the last time"),
    ],
)
def test_bad_requests_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as error:
        read(text)
    assert message in str(error.value)


def test_votes_are_toggles_and_in_the_audit(session: Session) -> None:
    poll = polls.create_poll(
        session, request=read("Sync | mon 10:00; tue 15:00"), organizer_id=OWNER,
        chat_id=GROUP, now=NOW,
    )  # fmt: skip
    assert polls.toggle_vote(session, poll=poll, position=1, user_id=MEMBER, now=NOW)
    assert polls.toggle_vote(session, poll=poll, position=2, user_id=MEMBER, now=NOW)
    assert polls.toggle_vote(session, poll=poll, position=2, user_id=STRANGER, now=NOW)
    assert not polls.toggle_vote(session, poll=poll, position=1, user_id=MEMBER, now=NOW)
    assert [tally.votes for tally in polls.tallies(session, poll)] == [0, 2]
    assert polls.my_votes(session, poll, MEMBER) == {2}
    session.refresh(poll)
    assert poll.revision == 4 and poll.shown_revision == 0
    actions = session.exec(
        select(AuditEvent.action).where(AuditEvent.poll_id == poll.id).order_by(AuditEvent.id)
    ).all()
    assert actions == ["poll", "vote", "vote", "vote", "unvote"]
    with pytest.raises(NotFound):  # no slot 3: a forged button
        polls.toggle_vote(session, poll=poll, position=3, user_id=MEMBER, now=NOW)


def test_voting_ends_at_the_deadline_even_before_the_sweep(session: Session) -> None:
    poll = polls.create_poll(
        session, request=read("Sync | mon 10:00; tue 15:00 | until sunday"),
        organizer_id=OWNER, chat_id=GROUP, now=NOW,
    )  # fmt: skip
    later = poll.closes_at
    with pytest.raises(InvalidInput, match="closed"):
        polls.toggle_vote(session, poll=poll, position=1, user_id=MEMBER, now=later)
    assert polls.close_due(session, now=later - timedelta(seconds=1)) == []
    assert polls.close_due(session, now=later) == [poll.id]
    assert poll.status == PollStatus.CLOSED.value
    assert polls.close_due(session, now=later) == []


def test_only_organizers_schedule_and_the_voters_of_the_slot_are_invited(
    session: Session,
) -> None:
    poll = polls.create_poll(
        session, request=read("Sync | mon 10:00; tue 15:00"), organizer_id=MEMBER,
        chat_id=GROUP, now=NOW,
    )  # fmt: skip
    assert poll.id is not None
    for user_id, position in ((STRANGER, 2), (OWNER, 1), (GROUP_ADMIN, 2)):
        polls.toggle_vote(session, poll=poll, position=position, user_id=user_id, now=NOW)
    with pytest.raises(NotAllowed):
        polls.draft_for_slot(
            session, poll=poll, position=2, actor=Actor(STRANGER), rules=RULES, now=NOW
        )
    # The group's administrators and the bot's admins may, as the author may.
    admin = Actor(GROUP_ADMIN, admin_of_chat=GROUP)
    assert polls.may_organize(session, poll, Actor(900), RULES)
    draft = polls.draft_for_slot(session, poll=poll, position=2, actor=admin, rules=RULES, now=NOW)
    assert draft.starts_at == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    assert draft.ends_at - draft.starts_at == timedelta(hours=1)
    meeting = scheduling.create_meeting(
        session, draft=draft, organizer_id=GROUP_ADMIN, chat_id=GROUP, rules=RULES, now=NOW
    )
    result = polls.decide(
        session, poll_id=poll.id, position=2, meeting=meeting, actor=admin, rules=RULES, now=NOW
    )
    assert [user.id for user in result.added] == [STRANGER]
    members = session.exec(
        select(Participant.user_id).where(Participant.meeting_id == meeting.id)
    ).all()
    assert set(members) == {GROUP_ADMIN, STRANGER}  # Olga voted for Monday only
    assert poll.status == PollStatus.DECIDED.value and poll.winner == 2
    # The poll's history is the meeting's now.
    assert set(
        session.exec(select(AuditEvent.meeting_id).where(AuditEvent.poll_id == poll.id)).all()
    ) == {meeting.id}
    with pytest.raises(InvalidInput, match="already scheduled"):
        polls.draft_for_slot(session, poll=poll, position=1, actor=admin, rules=RULES, now=NOW)
    with pytest.raises(InvalidInput, match="closed"):
        polls.toggle_vote(session, poll=poll, position=1, user_id=MEMBER, now=NOW)


def test_a_slot_that_has_begun_cannot_be_scheduled(session: Session) -> None:
    poll = polls.create_poll(
        session, request=read("Sync | mon 10:00; tue 15:00 | until sunday"),
        organizer_id=OWNER, chat_id=GROUP, now=NOW,
    )  # fmt: skip
    monday_noon = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="passed"):
        polls.draft_for_slot(
            session, poll=poll, position=1, actor=Actor(OWNER), rules=RULES, now=monday_noon
        )
    ahead = polls.schedulable_slots(
        session, poll=poll, actor=Actor(OWNER), rules=RULES, now=monday_noon
    )
    assert [tally.position for tally in ahead] == [2]
