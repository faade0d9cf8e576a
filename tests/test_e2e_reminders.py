"""Reminders at several moments end to end: per meeting, a personal default, one person's "off",
a series across a daylight-saving change, a crash between claim and send, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.sandbox import Message, Sandbox, User
from storage.db import session_scope
from storage.models import DeliveryStatus, Meeting, Reminder
from storage.models import User as UserRow
from tests.conftest import BotHarness


def _reminders(sandbox: Sandbox, user: User) -> list[Message]:
    """The early reminders a person got (the messages that say a meeting starts, no link)."""
    return [m for m in sandbox.inbox(user) if m.text.startswith("⏰")]


def _links(sandbox: Sandbox, user: User) -> list[Message]:
    return [m for m in sandbox.inbox(user) if "jwt=" in m.text]


def _meeting(bot: BotHarness) -> Meeting:
    with Session(bot.services_engine()) as session:
        return session.exec(select(Meeting).order_by(Meeting.id.desc())).first()  # type: ignore[union-attr]


async def _people(bot: BotHarness, sandbox: Sandbox) -> tuple[User, User]:
    """Alice in Berlin, Bob in New York, both started the bot."""
    alice = sandbox.create_user("Alice", username="alice")
    bob = sandbox.create_user("Bob", username="bob")
    for user, zone in ((alice, "Europe/Berlin"), (bob, "America/New_York")):
        await bot.say(user, "/start")
        await bot.say(user, f"/timezone {zone}")
    return alice, bob


async def _schedule(bot: BotHarness, alice: User, line: str, *invitees: User) -> Meeting:
    preview = await bot.say(alice, f"/schedule {line}")
    await bot.tap(alice, preview, "Confirm")
    meeting = _meeting(bot)
    if invitees:
        names = " ".join(f"@{user.username}" for user in invitees)
        await bot.say(alice, f"/invite {meeting.code} {names}")
    return meeting


async def test_meeting_reminders_at_two_moments_come_on_time_in_the_readers_zone(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice, bob = await _people(bot, sandbox)
    # 15:00 in Berlin is 14:00 UTC and 09:00 in New York; now is Saturday 10:00 UTC.
    preview = await bot.say(alice, "/schedule Review | 2026-11-30 15:00 | 45m | remind 1d, 1h")
    assert "Reminders: 1 day · 1 hour before the start" in preview.text
    await bot.tap(alice, preview, "Confirm")
    meeting = _meeting(bot)
    await bot.say(alice, f"/invite {meeting.code} @bob")
    start = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)

    bot.clock.set(start - timedelta(days=1, minutes=1))
    await bot.reminders()
    assert _reminders(sandbox, alice) == [] and _reminders(sandbox, bob) == []
    await bot.reminders(timedelta(minutes=1))
    [first] = _reminders(sandbox, bob)
    assert "“Review” starts in 1 day." in first.text
    assert "9:00\u202fAM" in first.text and "America/New_York" in first.text
    assert "jwt=" not in first.text and "http" not in first.text
    assert "Google" in str(first.buttons)  # the calendar row
    [alice_first] = _reminders(sandbox, alice)
    assert "3:00\u202fPM" in alice_first.text and "Europe/Berlin" in alice_first.text

    bot.clock.set(start - timedelta(hours=1))
    await bot.reminders()
    assert "starts in 1 hour." in _reminders(sandbox, bob)[-1].text
    assert _links(sandbox, bob) == []
    # The link comes in its own message 10 minutes before; nothing goes out twice.
    bot.clock.set(start - timedelta(minutes=10))
    await bot.reminders()
    await bot.reminders(timedelta(minutes=1))
    await bot.restart()
    await bot.reminders()
    for user in (alice, bob):
        assert len(_reminders(sandbox, user)) == 2
        assert len(_links(sandbox, user)) == 1


async def test_a_personal_default_applies_to_meetings_without_their_own(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice, bob = await _people(bot, sandbox)
    answer = await bot.say(bob, "/reminders 2h")
    assert "Your default reminders: 2 hours before the start" in answer.text
    assert "2 hours" in (await bot.say(bob, "/reminders")).text
    plain = await _schedule(bot, alice, "Plain | 2026-11-29 12:00 | 30m", bob)
    own = await _schedule(bot, alice, "Own | 2026-11-29 16:00 | 30m | remind 30m", bob)
    plain_start = datetime(2026, 11, 29, 11, 0, tzinfo=UTC)  # 12:00 in Berlin
    bot.clock.set(plain_start - timedelta(hours=2))
    await bot.reminders()
    [reminder] = _reminders(sandbox, bob)
    assert "“Plain” starts in 2 hours." in reminder.text and plain.code in reminder.text
    assert _reminders(sandbox, alice) == []  # Alice has no default
    # "Own" has its own moment: 30 minutes for both, not Bob's 2 hours.
    own_start = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
    bot.clock.set(own_start - timedelta(hours=2))
    await bot.reminders()
    assert len(_reminders(sandbox, bob)) == 1
    bot.clock.set(own_start - timedelta(minutes=30))
    await bot.reminders()
    assert "“Own” starts in 30 minutes." in _reminders(sandbox, bob)[-1].text
    assert "“Own” starts in 30 minutes." in _reminders(sandbox, alice)[-1].text
    assert own.code in _reminders(sandbox, alice)[-1].text
    # Turning the default off calls off what it planned.
    await bot.say(bob, "/reminders off")
    with Session(bot.services_engine()) as session:
        bob_row = session.get(UserRow, bob.id)
        assert bob_row is not None and bob_row.reminder_minutes is None


async def test_one_person_turns_off_the_reminders_of_one_meeting(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice, bob = await _people(bot, sandbox)
    meeting = await _schedule(bot, alice, "Sync | 2026-11-29 12:00 | 30m | remind 1h", bob)
    answer = await bot.say(bob, f"/reminders {meeting.code} off")
    assert "You get no early reminders for" in answer.text
    shown = await bot.say(bob, f"/reminders {meeting.code}")
    assert "turned yours off" in shown.text and "1 hour" in shown.text
    bot.clock.set(datetime(2026, 11, 29, 10, 0, tzinfo=UTC))  # an hour before 12:00 Berlin
    await bot.reminders()
    assert _reminders(sandbox, bob) == []
    assert len(_reminders(sandbox, alice)) == 1
    bot.clock.set(datetime(2026, 11, 29, 10, 50, tzinfo=UTC))
    await bot.reminders()
    assert len(_links(sandbox, bob)) == 1  # the link still comes


async def test_a_series_keeps_its_moments_across_daylight_saving(
    bot: BotHarness, sandbox: Sandbox, clock: ManualClock
) -> None:
    clock.set(datetime(2027, 3, 17, 10, 0, tzinfo=UTC))
    alice, bob = await _people(bot, sandbox)
    await _schedule(bot, alice, "Weekly | every sunday 10:00 | 45m | remind 1d,1h,10m", bob)
    sittings = [
        datetime(2027, 3, 21, 9, 0, tzinfo=UTC),  # 10:00 CET
        datetime(2027, 3, 28, 8, 0, tzinfo=UTC),  # 10:00 CEST, the day of the change
        datetime(2027, 4, 4, 8, 0, tzinfo=UTC),
    ]
    for number, start in enumerate(sittings, 1):
        for moment, words in ((timedelta(days=1), "1 day"), (timedelta(hours=1), "1 hour")):
            clock.set(start - moment - timedelta(minutes=1))
            await bot.reminders()
            before = len(_reminders(sandbox, alice))
            clock.set(start - moment)
            await bot.reminders()
            reminders = _reminders(sandbox, alice)
            assert len(reminders) == before + 1, (start, words)
            assert f"starts in {words}." in reminders[-1].text
            assert "10:00\u202fAM" in reminders[-1].text  # Alice's local time, both sides
        # The 10-minute moment is the link's own: it comes once, with the link.
        clock.set(start - timedelta(minutes=10))
        await bot.reminders()
        assert len(_links(sandbox, bob)) == number
        assert len(_reminders(sandbox, bob)) == 2 * number
        if number == 1:
            await bot.restart()


async def test_a_crash_between_claim_and_send_loses_no_reminder(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice, bob = await _people(bot, sandbox)
    await _schedule(bot, alice, "Sync | 2026-11-29 12:00 | 30m | remind 1h", bob)
    await bot.stop()
    bot.clock.set(datetime(2026, 11, 29, 10, 0, tzinfo=UTC))
    # What a crash leaves: the reminders claimed ("sending"), never sent.
    with session_scope(bot.services_engine()) as session:
        rows = session.exec(select(Reminder)).all()
        assert len(rows) == 2
        for row in rows:
            row.status = DeliveryStatus.SENDING.value
            row.updated_at = bot.clock()
    await bot.start()
    await sandbox.wait_for(lambda: len(_reminders(sandbox, bob)) == 1, timeout=10)
    await bot.reminders(timedelta(minutes=1))
    assert len(_reminders(sandbox, bob)) == 1 and len(_reminders(sandbox, alice)) == 1


async def test_a_new_time_replans_and_a_passed_moment_is_skipped(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice, bob = await _people(bot, sandbox)
    # Half an hour ahead with a one-day reminder: that one is skipped, not sent late.
    soon = await _schedule(bot, alice, "Soon | 11:30 | 30m | remind 1d, 20m", bob)
    await bot.reminders()
    assert _reminders(sandbox, bob) == []
    await bot.reminders(timedelta(minutes=10))  # 10:10 UTC, 11:10 Berlin: 20 minutes ahead
    assert ["starts in 20 minutes." in m.text for m in _reminders(sandbox, bob)] == [True]
    assert soon.code in _reminders(sandbox, bob)[0].text
    # Moved: the reminder planned for the old time never comes; the new one does.
    later = await _schedule(bot, alice, "Later | 2026-11-29 12:00 | 30m | remind 1h", bob)
    preview = await bot.say(alice, f"/reschedule {later.code} 2026-11-29 14:00")
    await bot.tap(alice, preview, "Confirm")
    bot.clock.set(datetime(2026, 11, 29, 10, 0, tzinfo=UTC))
    await bot.reminders()
    assert len(_reminders(sandbox, bob)) == 1
    bot.clock.set(datetime(2026, 11, 29, 12, 0, tzinfo=UTC))
    await bot.reminders()
    assert "“Later” starts in 1 hour." in _reminders(sandbox, bob)[-1].text
    assert "8:00\u202fAM" in _reminders(sandbox, bob)[-1].text  # 14:00 in Berlin, New York time


async def test_bad_input_is_refused_with_one_message_and_changes_nothing(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice, bob = await _people(bot, sandbox)
    meeting = await _schedule(bot, alice, "Sync | 2026-11-29 12:00 | 30m | remind 1h", bob)
    code = meeting.code
    cases = {
        f"/reminders {code} 0m": "at least 1 minute",
        f"/reminders {code} 31d": "at most 30 days",
        f"/reminders {code} 1d 2d 3d 4d 5d 6d": "At most 5 reminders",
        f"/reminders {code} soon": "I can't read “soon”",
        "/reminders ZZZZZZ 1h": "no meeting with the code ZZZZZZ",
        "/reminders later": "I can't read “later”",
    }
    for text, expected in cases.items():
        answer = await bot.say(alice, text)
        assert expected in answer.text, text
    # A member may turn their own off, not set the meeting's.
    answer = await bot.say(bob, f"/reminders {code} 5m")
    assert "Only the meeting's owners" in answer.text
    answer = await bot.say(alice, "/schedule X | tomorrow 10:00 | remind 40d")
    assert "at most 30 days" in answer.text
    with Session(bot.services_engine()) as session:
        assert session.exec(select(Meeting)).all()[0].reminder_minutes == [60]
        assert len(session.exec(select(Meeting)).all()) == 1
    # The owner's own setting goes through and says so.
    answer = await bot.say(alice, f"/reminders {code} 2h 30m")
    assert "Reminders for" in answer.text and "2 hours · 30 minutes" in answer.text
