"""Answers, seats and the waitlist: who gets the link, in which order people move up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.delivery.planning import plan_deliveries
from bot.domain import participation, people, rsvp
from bot.domain.lookup import find_participant
from bot.domain.reminders import plan_reminders
from bot.domain.values import Actor
from bot.errors import InvalidInput, NotAllowed
from storage.models import (
    Announcement,
    Delivery,
    DeliveryStatus,
    Meeting,
    Notice,
    Participant,
    Reminder,
)
from tests.domain.helpers import MEMBER, NOW, OWNER, STRANGER, make_meeting

GOING, MAYBE, CANT = rsvp.Answer.GOING, rsvp.Answer.MAYBE, rsvp.Answer.CANT


def _person(session: Session, user_id: int) -> None:
    people.remember_user(
        session, user_id=user_id, username=f"p{user_id}", display_name=f"P{user_id}",
        telegram_language="en", started=True,
    )  # fmt: skip


def _links(session: Session, user_id: int) -> list[DeliveryStatus]:
    rows = session.exec(select(Delivery).where(Delivery.user_id == user_id)).all()
    return [row.status for row in rows]


def _answer(session: Session, meeting: Meeting, user_id: int, answer: rsvp.Answer) -> rsvp.Outcome:
    """An answer from the group's message (a newcomer joins with it)."""
    return participation.answer(
        session, meeting=meeting, user_id=user_id, answer=answer, now=NOW, may_join=True
    )


def test_cant_cancels_the_link_and_going_plans_it_again(session: Session) -> None:
    meeting = make_meeting(session)
    assert _links(session, MEMBER) == [DeliveryStatus.PENDING]
    assert _answer(session, meeting, MEMBER, CANT) == rsvp.Outcome(CANT)
    assert _links(session, MEMBER) == [DeliveryStatus.CANCELLED]
    # Can't from the group's message joins without a link; later plans skip them too.
    assert _answer(session, meeting, STRANGER, CANT) == rsvp.Outcome(CANT, joined=True)
    assert plan_deliveries(session, meeting=meeting, now=NOW + timedelta(minutes=1)) == 0
    assert _links(session, STRANGER) == []
    assert _answer(session, meeting, MEMBER, MAYBE).waitlist_place is None
    assert _links(session, MEMBER) == [DeliveryStatus.PENDING]


def test_owners_never_count_and_the_line_moves_up_in_order(session: Session) -> None:
    meeting = make_meeting(session)  # the owner and one invited member (no answer yet)
    for user_id in (10, 11, 12):
        _person(session, user_id)
    rsvp.set_capacity(session, meeting=meeting, actor=Actor(OWNER), capacity=2, now=NOW)
    assert _answer(session, meeting, 10, GOING).waitlist_place is None  # seat 2 of 2
    assert _answer(session, meeting, 11, MAYBE) == rsvp.Outcome(MAYBE, True, 1)
    assert _answer(session, meeting, 12, GOING) == rsvp.Outcome(GOING, True, 2)
    assert _links(session, 11) == _links(session, 12) == []
    # The member who never answered holds a seat; leaving gives it to the first in line.
    participation.leave(session, meeting=meeting, user_id=MEMBER, now=NOW)
    assert _links(session, 11) == [DeliveryStatus.PENDING]
    moved = session.exec(select(Notice).where(Notice.kind == "seat")).all()
    assert [notice.user_id for notice in moved] == [11]
    row = find_participant(session, meeting.id or 0, 12)
    assert row is not None and rsvp.waitlist_place(session, meeting, row) == 1
    # Can't from someone waiting only leaves the line; the owner's Can't frees no seat.
    assert _answer(session, meeting, OWNER, CANT) == rsvp.Outcome(CANT)
    assert rsvp.waitlist_place(session, meeting, row) == 1
    counts = rsvp.counts(session, meeting)
    assert (counts.going, counts.maybe, counts.cant, counts.waiting) == (
        ["P10"],
        ["P11"],
        ["Olga"],
        ["P12"],
    )
    assert counts.free_seats == 0


def test_a_smaller_capacity_takes_no_seat_away(session: Session) -> None:
    meeting = make_meeting(session)
    _answer(session, meeting, STRANGER, GOING)
    change = rsvp.set_capacity(session, meeting=meeting, actor=Actor(OWNER), capacity=1, now=NOW)
    assert (change.seats_taken, change.waiting) == (2, 0)
    assert rsvp.counts(session, meeting).free_seats == 0
    with pytest.raises(NotAllowed):
        rsvp.set_capacity(session, meeting=meeting, actor=Actor(MEMBER), capacity=5, now=NOW)


def test_answers_mark_the_group_message_owed(session: Session) -> None:
    meeting = make_meeting(session)
    rsvp.announce(
        session, meeting=meeting, chat_id=-5, message_id=7, organizer_name="Olga", shown="a"
    )
    session.flush()
    _answer(session, meeting, STRANGER, MAYBE)
    row = session.exec(select(Announcement)).one()
    session.refresh(row)
    assert row.owed and row.revision >= 1
    rsvp.announcement_shown(session, announcement_id=row.id or 0, revision=row.revision, shown="x")
    session.refresh(row)
    assert not row.owed
    rsvp.announcement_shown(session, announcement_id=row.id or 0, revision=-1, shown="y")
    session.refresh(row)
    assert row.owed  # changed again while the edit was on its way


def test_only_the_group_message_lets_newcomers_answer(session: Session) -> None:
    meeting = make_meeting(session)
    with pytest.raises(NotAllowed):
        participation.answer(
            session, meeting=meeting, user_id=STRANGER, answer=GOING, now=NOW, may_join=False
        )
    assert session.exec(select(Participant).where(Participant.user_id == STRANGER)).all() == []


@pytest.mark.parametrize(
    ("text", "seats"), [("20", 20), ("off", None), ("OFF", None), (" 1 ", 1), ("10000", 10000)]
)
def test_capacity_is_read_strictly(text: str, seats: int | None) -> None:
    assert rsvp.read_capacity(text) == seats


@pytest.mark.parametrize("text", ["0", "10001", "-3", "2.5", "twenty", "٣", "", "1e3"])
def test_bad_capacities_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        rsvp.read_capacity(text)


def test_max_part_of_schedule() -> None:
    assert rsvp.is_capacity_part("max 20") and rsvp.is_capacity_part("MAX  3")
    assert not rsvp.is_capacity_part("45m") and not rsvp.is_capacity_part("maximal")
    assert rsvp.capacity_option("max 20") == 20
    with pytest.raises(InvalidInput):
        rsvp.capacity_option("max off")


def test_cant_and_the_waitlist_get_no_early_reminders(session: Session) -> None:
    meeting = make_meeting(session)  # starts in two hours
    meeting.reminder_minutes = [60]
    session.add(meeting)
    plan_reminders(session, meeting=meeting, now=NOW)
    _answer(session, meeting, MEMBER, CANT)
    # A plan of the whole meeting (a new time, the sweep's next round) leaves them out.
    plan_reminders(session, meeting=meeting, now=NOW)
    rows = session.exec(select(Reminder).where(Reminder.user_id == MEMBER)).all()
    assert [row.status for row in rows] == [DeliveryStatus.CANCELLED.value]
    rsvp.set_capacity(session, meeting=meeting, actor=Actor(OWNER), capacity=1, now=NOW)
    _answer(session, meeting, STRANGER, GOING)
    _answer(session, meeting, MEMBER, GOING)  # the one seat is taken: the waitlist
    plan_reminders(session, meeting=meeting, now=NOW)
    rows = session.exec(select(Reminder).where(Reminder.user_id == MEMBER)).all()
    assert [row.status for row in rows] == [DeliveryStatus.CANCELLED.value]
    assert len(session.exec(select(Reminder).where(Reminder.user_id == STRANGER)).all()) == 1
