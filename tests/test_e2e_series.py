"""Recurring meetings end to end: a reminder and a link per sitting, skip, move, restart, .ics."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import icalendar
import recurring_ical_events
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.sandbox import Sandbox, User
from storage.models import Meeting
from tests.conftest import BotHarness
from tests.helpers import decode_token

LINK = re.compile(r"\?jwt=([A-Za-z0-9_\-\.]+)")


def _tokens(sandbox: Sandbox, user: User) -> list[dict[str, object]]:
    return [
        decode_token(token)
        for message in sandbox.inbox(user)
        for token in LINK.findall(message.text)
    ]


async def _weekly_series(bot: BotHarness, sandbox: Sandbox) -> tuple[User, User, Meeting]:
    # Wednesday 2027-03-17 10:00 UTC: the series crosses Berlin's DST change on 2027-03-28.
    bot.clock.set(datetime(2027, 3, 17, 10, 0, tzinfo=UTC))
    alice = sandbox.create_user("Alice", username="alice")
    bob = sandbox.create_user("Bob", username="bob")
    await bot.say(alice, "/start")
    await bot.say(bob, "/start")
    await bot.say(alice, "/timezone Europe/Berlin")
    preview = await bot.say(alice, "/schedule Weekly sync | every monday 10:00 | 45m")
    assert "every Monday" in preview.text or "Monday" in preview.text
    await bot.tap(alice, preview, "Confirm")
    with Session(bot.services.engine) as session:
        meeting = session.exec(select(Meeting)).one()
    await bot.say(alice, f"/invite {meeting.code} @bob")
    return alice, bob, meeting


async def test_each_sitting_gets_its_own_links_across_dst(
    bot: BotHarness, sandbox: Sandbox, clock: ManualClock
) -> None:
    _alice, bob, meeting = await _weekly_series(bot, sandbox)
    assert meeting.rrule is not None and "BYDAY=MO" in meeting.rrule
    sittings = [
        datetime(2027, 3, 22, 9, 0, tzinfo=UTC),  # 10:00 CET
        datetime(2027, 3, 29, 8, 0, tzinfo=UTC),  # 10:00 CEST, after the change
    ]
    for number, start in enumerate(sittings, 1):
        clock.set(start - timedelta(minutes=10))
        await bot.reminders()
        tokens = _tokens(sandbox, bob)
        assert len(tokens) == number
        # The link is for this sitting only: it expires an hour after this sitting ends.
        assert tokens[-1]["exp"] == int((start + timedelta(minutes=45 + 60)).timestamp())
        if number == 1:
            await bot.restart()  # a restart between sittings loses nothing


async def test_skip_and_move_one_sitting(
    bot: BotHarness, sandbox: Sandbox, clock: ManualClock
) -> None:
    alice, bob, meeting = await _weekly_series(bot, sandbox)
    preview = await bot.say(alice, f"/skip {meeting.code}")
    assert "Please check" in preview.text and "March 22" in preview.text
    await bot.tap(alice, preview, "Confirm")
    assert "Skipped" in sandbox.current(preview).text
    await sandbox.wait_for_message(bob, contains="skipped")
    preview = await bot.say(alice, f"/move {meeting.code} 2027-03-29 | 2027-03-30 11:00")
    assert "March 29" in preview.text and "March 30" in preview.text
    # Nothing changes before Confirm, and nobody else can confirm it.
    answer = await bot.tap(bob, preview, "Confirm")
    assert "not yours" in (answer.text or "")
    await bot.tap(alice, preview, "Confirm")
    assert "Moved" in sandbox.current(preview).text
    refused = await bot.say(bob, f"/skip {meeting.code}")
    assert "Only the meeting's owners" in refused.text
    clock.set(datetime(2027, 3, 22, 8, 50, tzinfo=UTC))
    await bot.reminders()
    assert _tokens(sandbox, bob) == []  # the skipped Monday sends nothing
    clock.set(datetime(2027, 3, 29, 7, 50, tzinfo=UTC))
    await bot.reminders()
    assert _tokens(sandbox, bob) == []  # moved away from this Monday
    clock.set(datetime(2027, 3, 30, 8, 50, tzinfo=UTC))  # 10:50 CEST, ten before 11:00
    await bot.reminders()
    [token] = _tokens(sandbox, bob)
    assert token["exp"] == int(datetime(2027, 3, 30, 10, 45, tzinfo=UTC).timestamp())


async def test_calendar_file_from_the_button(bot: BotHarness, sandbox: Sandbox) -> None:
    alice, bob, meeting = await _weekly_series(bot, sandbox)
    invitation = await sandbox.wait_for_message(bob, contains="You are invited")
    assert "Google" in str(invitation.buttons) and "Outlook" in str(invitation.buttons)
    await bot.tap(bob, invitation, "📅 .ics")
    document = await sandbox.wait_for(
        lambda: next((m for m in sandbox.inbox(bob) if m.document), None)
    )
    assert document.document is not None
    calendar = icalendar.Calendar.from_ical(document.document.data)
    [event] = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Weekly sync"
    assert "FREQ=WEEKLY" in event["RRULE"].to_ical().decode()
    assert b"jwt" not in document.document.data
    # RFC 5546 wants an ORGANIZER on a REQUEST; without an /email a no-reply one is named.
    assert str(event["ORGANIZER"]) == "mailto:noreply@meet.example.com"
    assert event["ORGANIZER"].params["CN"] == "Alice"
    assert event["DTSTAMP"].dt == bot.clock()
    await bot.say(alice, "/email alice@example.com")
    bot.clock.advance(timedelta(hours=1))
    await bot.tap(bob, invitation, "📅 .ics")
    newer = await sandbox.wait_for(
        lambda: next((m for m in sandbox.inbox(bob) if m.document and m is not document), None)
    )
    assert newer.document is not None
    [event] = icalendar.Calendar.from_ical(newer.document.data).walk("VEVENT")
    assert str(event["ORGANIZER"]) == "mailto:alice@example.com"
    assert event["DTSTAMP"].dt == bot.clock()
    stranger = sandbox.create_user("Stranger", username="stranger")
    answer = await bot.tap(stranger, invitation, data=f"ic:{meeting.code}")
    assert "not for you" in (answer.text or "")
    assert alice is not None


async def _berlin_series_seen_from_new_york(
    bot: BotHarness, sandbox: Sandbox
) -> tuple[User, User, User, Meeting]:
    """Alice's Monday 10:00 Berlin series from March 1, 2027; Bob reads in New York, Carla in
    German."""
    bot.clock.set(datetime(2027, 2, 25, 12, 0, tzinfo=UTC))  # a Thursday
    alice = sandbox.create_user("Alice", username="alice")
    bob = sandbox.create_user("Bob", username="bob")
    carla = sandbox.create_user("Carla", username="carla", language_code="de")
    for person in (alice, bob, carla):
        await bot.say(person, "/start")
    await bot.say(alice, "/timezone Europe/Berlin")
    await bot.say(bob, "/timezone America/New_York")
    await bot.say(carla, "/timezone Europe/Berlin")
    preview = await bot.say(alice, "/schedule Weekly sync | every monday 10:00 | 45m")
    await bot.tap(alice, preview, "Confirm")
    with Session(bot.services.engine) as session:
        meeting = session.exec(select(Meeting)).one()
    await bot.say(alice, f"/invite {meeting.code} @bob @carla")
    return alice, bob, carla, meeting


async def test_skip_and_move_notices_name_their_sitting_in_the_readers_zone(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice, bob, carla, meeting = await _berlin_series_seen_from_new_york(bot, sandbox)
    preview = await bot.say(alice, f"/skip {meeting.code} 2027-04-05")
    await bot.tap(alice, preview, "Confirm")
    skipped = await sandbox.wait_for_message(bob, contains="skipped")
    # 10:00 in Berlin (summer time) is 4:00 in New York, and not the series' next sitting.
    assert "Monday, April 5, 2027, 4:00\u202fAM–4:45\u202fAM (America/New_York)" in skipped.text
    assert "March 1" not in skipped.text
    german = sandbox.messages_of(carla)[-1]
    assert "Montag, 5. April 2027, 10:00–10:45 (Europe/Berlin)" in german.text
    preview = await bot.say(alice, f"/move {meeting.code} 2027-04-12 | 2027-04-13 11:00")
    await bot.tap(alice, preview, "Confirm")
    moved = await sandbox.wait_for_message(bob, contains="moved")
    assert (
        "Was: Monday, April 12, 2027, 4:00\u202fAM–4:45\u202fAM (America/New_York)" in moved.text
    )
    assert (
        "Now: Tuesday, April 13, 2027, 5:00\u202fAM–5:45\u202fAM (America/New_York)" in moved.text
    )
    german = sandbox.messages_of(carla)[-1]
    assert "Montag, 12. April 2027, 10:00–10:45" in german.text
    assert "Dienstag, 13. April 2027, 11:00–11:45" in german.text


async def test_move_a_moved_sitting_again_and_then_skip_it(
    bot: BotHarness, sandbox: Sandbox, clock: ManualClock
) -> None:
    alice, bob, _carla, meeting = await _berlin_series_seen_from_new_york(bot, sandbox)
    for command in (
        f"/move {meeting.code} 2027-03-01 | 2027-03-02 11:00",
        f"/move {meeting.code} 2027-03-02 | 2027-03-03 12:00",
    ):
        preview = await bot.say(alice, command)
        await bot.tap(alice, preview, "Confirm")
    moved = await sandbox.wait_for_message(bob, contains="Wednesday, March 3")
    assert "Was: Tuesday, March 2" in moved.text
    # Only the newest time holds: nothing on Tuesday, the link comes before Wednesday's.
    clock.set(datetime(2027, 3, 2, 10, 0, tzinfo=UTC))
    await bot.reminders()
    assert _tokens(sandbox, bob) == []
    preview = await bot.say(alice, f"/skip {meeting.code}")
    assert "Wednesday, March 3" in preview.text
    await bot.tap(alice, preview, "Confirm")
    clock.set(datetime(2027, 3, 3, 10, 55, tzinfo=UTC))
    await bot.reminders()
    assert _tokens(sandbox, bob) == []  # skipped: no link on Wednesday either
    listing = await bot.say(bob, "/meetings")
    assert "March 8" in listing.text


async def test_cancelling_part_way_keeps_past_sittings_in_calendars(
    bot: BotHarness, sandbox: Sandbox, clock: ManualClock
) -> None:
    alice, bob, _carla, meeting = await _berlin_series_seen_from_new_york(bot, sandbox)
    clock.set(datetime(2027, 3, 9, 12, 0, tzinfo=UTC))  # after the sittings of March 1 and 8
    await bot.say(alice, f"/cancel {meeting.code}")
    notice = await sandbox.wait_for_message(bob, contains="Cancelled")
    # Google and Outlook links would add the cancelled series again: only the file is offered.
    assert [text for row in notice.buttons for text, _value in row] == ["📅 .ics"]
    await bot.tap(bob, notice, "📅 .ics")
    document = await sandbox.wait_for(
        lambda: next((m for m in sandbox.inbox(bob) if m.document), None)
    )
    assert document.document is not None
    calendar = icalendar.Calendar.from_ical(document.document.data)
    assert str(calendar["METHOD"]) == "REQUEST"
    sittings = recurring_ical_events.of(calendar).between(
        datetime(2027, 1, 1), datetime(2028, 1, 1)
    )
    assert sorted(event["DTSTART"].dt.astimezone(UTC) for event in sittings) == [
        datetime(2027, 3, 1, 9, 0, tzinfo=UTC),
        datetime(2027, 3, 8, 9, 0, tzinfo=UTC),
    ]


async def test_reminder_carries_the_calendar_row(
    bot: BotHarness, sandbox: Sandbox, clock: ManualClock
) -> None:
    _alice, bob, _carla, meeting = await _berlin_series_seen_from_new_york(bot, sandbox)
    clock.set(datetime(2027, 3, 1, 8, 50, tzinfo=UTC))
    await bot.reminders()
    reminder = await sandbox.wait_for_message(bob, contains="personal link")
    [row] = reminder.buttons
    assert [text for text, _value in row] == ["📅 .ics", "Google", "Outlook"]
    await bot.tap(bob, reminder, "📅 .ics")
    document = await sandbox.wait_for(
        lambda: next((m for m in sandbox.inbox(bob) if m.document), None)
    )
    assert document.document is not None and meeting.code.lower() in document.document.filename
