"""Recurring meetings end to end: a reminder and a link per sitting, skip, move, restart, .ics."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import icalendar
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
    stranger = sandbox.create_user("Stranger", username="stranger")
    answer = await bot.tap(stranger, invitation, data=f"ic:{meeting.code}")
    assert "not for you" in (answer.text or "")
    assert alice is not None
