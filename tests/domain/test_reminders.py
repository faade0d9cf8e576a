"""Reminder moments: reading them, who gets which, and planning rows that never go out twice."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from bot.domain import participation, reminders
from bot.domain.reminders import Word
from bot.domain.values import Actor
from bot.errors import InvalidInput, NotAllowed
from storage.models import DeliveryStatus, Reminder, User
from tests.domain.helpers import MEMBER, NOW, OWNER, make_meeting


def _rows(session: Session) -> list[tuple[int, int, str]]:
    return sorted(
        (row.user_id, row.minutes_before, row.status)
        for row in session.exec(select(Reminder)).all()
    )


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("1d 1h 10m", [1440, 60, 10]),
        ("1d,10m", [1440, 10]),
        ("10m, 1d; 10m", [1440, 10]),
        ("1h30", [90]),
        ("1,5h", [90]),
        ("30d", [43200]),
    ],
)
def test_moments_are_read_like_schedule_durations(text: str, minutes: list[int]) -> None:
    assert reminders.read_choice(text) == minutes


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0m", "at least 1 minute"),
        ("31d", "at most 30 days"),
        ("1m 2m 3m 4m 5m 6m", "At most 5 reminders"),
        ("soon", "I can't read “soon”"),
        ("", "missing"),
    ],
)
def test_bad_moments_are_refused_with_one_message(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        reminders.read_choice(text)


def test_words_stand_for_themselves() -> None:
    assert reminders.read_choice("OFF") is Word.OFF
    assert reminders.read_choice("default") is Word.DEFAULT
    assert reminders.remind_part_moments("remind off") == []
    assert reminders.is_remind_part("Remind 1d") and not reminders.is_remind_part("45m")


def test_the_meeting_wins_over_the_default_and_the_link_moment_is_not_doubled(
    session: Session,
) -> None:
    meeting = make_meeting(session, hours=30)
    reminders.set_default(session, user_id=MEMBER, minutes=[120], now=NOW)
    assert _rows(session) == [(MEMBER, 120, "pending")]
    # 10 minutes is the personal link's own moment: the link message is that reminder.
    reminders.set_for_meeting(
        session, meeting=meeting, actor=Actor(OWNER), minutes=[1440, 10], now=NOW
    )
    assert _rows(session) == [
        (OWNER, 1440, "pending"),
        (MEMBER, 120, "cancelled"),
        (MEMBER, 1440, "pending"),
    ]
    # Back to everyone's default: the member's row comes back, not a second one.
    reminders.set_for_meeting(session, meeting=meeting, actor=Actor(OWNER), minutes=None, now=NOW)
    assert _rows(session) == [
        (OWNER, 1440, "cancelled"),
        (MEMBER, 120, "pending"),
        (MEMBER, 1440, "cancelled"),
    ]


def test_a_sent_reminder_is_never_planned_again_and_a_passed_one_never_planned(
    session: Session,
) -> None:
    meeting = make_meeting(session, hours=2)
    reminders.set_for_meeting(
        session, meeting=meeting, actor=Actor(OWNER), minutes=[1440, 60], now=NOW
    )
    # A day before a meeting two hours ahead has passed: only the hour is planned.
    assert _rows(session) == [(OWNER, 60, "pending"), (MEMBER, 60, "pending")]
    for row in session.exec(select(Reminder)).all():
        row.status = DeliveryStatus.SENT.value
        session.add(row)
    for _ in range(2):
        assert reminders.plan_reminders(session, meeting=meeting, now=NOW) == 0
    assert _rows(session) == [(OWNER, 60, "sent"), (MEMBER, 60, "sent")]


def test_only_owners_set_a_meetings_reminders_and_anyone_in_it_can_say_no(
    session: Session,
) -> None:
    meeting = make_meeting(session, hours=3)
    with pytest.raises(NotAllowed):
        reminders.choose_for_meeting(
            session, meeting=meeting, actor=Actor(MEMBER), choice=[60], now=NOW
        )
    reminders.set_for_meeting(session, meeting=meeting, actor=Actor(OWNER), minutes=[60], now=NOW)
    changed_meeting = reminders.choose_for_meeting(
        session, meeting=meeting, actor=Actor(MEMBER), choice=Word.OFF, now=NOW
    )
    assert changed_meeting is False
    assert _rows(session) == [(OWNER, 60, "pending"), (MEMBER, 60, "cancelled")]
    # Leaving calls off the rest.
    reminders.choose_for_meeting(
        session, meeting=meeting, actor=Actor(MEMBER), choice=Word.ON, now=NOW
    )
    participation.leave(session, meeting=meeting, user_id=MEMBER, now=NOW)
    assert _rows(session) == [(OWNER, 60, "pending"), (MEMBER, 60, "cancelled")]


def test_moments_read_in_words(session: Session) -> None:
    assert reminders.describe_moments([10, 1440 + 120]) == "1 day 2 hours · 10 minutes"
    user = session.get(User, MEMBER)
    assert user is not None and user.reminder_minutes is None


def test_series_without_reminders_cost_the_sweep_no_query_each(session: Session) -> None:
    """Thousands of series that want no early reminders are found to want none in a few
    statements, not two each (a start-up with 10,000 series took seven seconds that way)."""
    for _number in range(30):
        meeting = make_meeting(session)
        meeting.rrule = "FREQ=WEEKLY"
        session.add(meeting)
    wanted = make_meeting(session, hours=2.5)
    wanted.rrule, wanted.reminder_minutes = "FREQ=WEEKLY", [120]
    session.add(wanted)
    session.flush()
    statements: list[str] = []
    engine = session.get_bind()
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    try:
        assert reminders.plan_series_reminders(session, now=NOW) == 2  # owner and member
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert len(statements) < 12
    assert {row.meeting_id for row in session.exec(select(Reminder)).all()} == {wanted.id}
