"""Finding a time with /poll, end to end: votes and tallies, everyone's own zone, the organizer
schedules the winner (its voters invited, nobody else), deadlines, bad input, forged buttons,
and the group's edit budget under a burst of votes."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.handlers.polls import CLOSE_JOB, REFRESH_JOB
from bot.sandbox import RateLimits, Sandbox
from bot.sandbox.harness import BotHarness
from bot.sandbox.models import Chat, Message, User
from storage.models import Meeting, Participant, Poll
from tests.helpers import make_settings

POLL = "/poll Team sync | mon 10:00; tue 15:00; wed 9:00 | 45m"


def plain(text: str) -> str:
    """Babel writes "10:00\u202fAM"; the tests write ordinary spaces."""
    return text.replace("\u202f", " ")


async def caught_up(bot: BotHarness) -> None:
    """Wait until the poll messages show every vote (their edits are batched, so they may lag
    behind a tap by a fraction of a second)."""
    application = bot.application
    for _ in range(500):
        await bot.settle()
        if not application.job_queue.get_jobs_by_name(REFRESH_JOB):
            with Session(bot.services.engine) as session:
                polls = session.exec(select(Poll)).all()
            if all(poll.revision == poll.shown_revision for poll in polls):
                return
        await asyncio.sleep(0.01)
    raise AssertionError("the poll messages never caught up")


def slot_button(message: Message, number: int) -> str:
    """The text of the button for slot `number` (on the poll or the organizer's question)."""
    for row in message.buttons:
        for text, data in row:
            if data.startswith(("pl:", "pw:")) and data.endswith(f":{number}"):
                return text
    raise AssertionError(f"no button for slot {number} on {message!r}")


async def vote(bot: BotHarness, user: User, board: Message, number: int) -> str:
    """`user` taps slot `number`; the bot's toast."""
    answer = await bot.tap(user, board, slot_button(bot.sandbox.current(board), number))
    return answer.text or ""


def board_lines(sandbox: Sandbox, board: Message) -> list[str]:
    """The poll message's slot lines."""
    text = plain(sandbox.current(board).text)
    return [line for line in text.splitlines() if line[:2] in {"1.", "2.", "3."}]


async def people_in_zones(bot: BotHarness, sandbox: Sandbox) -> tuple[list[User], Chat]:
    """Alice (Berlin, writes the poll), Bob (New York), Carol (Tokyo), Erin (Berlin) have
    started the bot; Dave never did; Gus is the group's administrator."""
    alice = sandbox.create_user("Alice", username="alice")
    bob = sandbox.create_user("Bob", username="bob")
    carol = sandbox.create_user("Carol", username="carol")
    dave = sandbox.create_user("Dave", username="dave")
    erin = sandbox.create_user("Erin", username="erin")
    gus = sandbox.create_user("Gus", username="gus")
    group = sandbox.create_group(
        "Team", members=[alice, bob, carol, dave, erin, gus], admins=[gus]
    )
    for user, zone in (
        (alice, "Europe/Berlin"),
        (bob, "America/New_York"),
        (carol, "Asia/Tokyo"),
        (erin, "Europe/Berlin"),
        (gus, "Europe/Berlin"),
    ):
        await bot.say(user, "/start")
        await bot.say(user, f"/timezone {zone}")
    return [alice, bob, carol, dave, erin, gus], group


async def test_a_poll_across_three_zones_schedules_the_winner_and_invites_its_voters(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    (alice, bob, carol, dave, erin, _gus), group = await people_in_zones(bot, sandbox)
    board = await bot.say(alice, POLL, group)
    # Saturday 28 November 2026: the slots are read in Alice's zone, Berlin.
    assert "Team sync" in board.text and "45 minutes" in board.text
    assert "Europe/Berlin" in board.text
    assert board_lines(sandbox, board) == [
        "1. Monday, November 30, 2026, 10:00 AM–10:45 AM — 0 votes",
        "2. Tuesday, December 1, 2026, 3:00 PM–3:45 PM — 0 votes",
        "3. Wednesday, December 2, 2026, 9:00 AM–9:45 AM — 0 votes",
    ]
    assert [text for text, _data in board.buttons[-1]] == ["🕒 My time zone", "📅 Schedule…"]
    first_slot = board.buttons[0][0][1]

    assert "counts" in await vote(bot, alice, board, 2)
    assert "counts" in await vote(bot, bob, board, 1)
    assert "counts" in await vote(bot, bob, board, 2)
    assert "counts" in await vote(bot, carol, board, 2)
    assert "counts" in await vote(bot, dave, board, 2)  # never started the bot: votes all the same
    assert "counts" in await vote(bot, erin, board, 1)
    assert "counts" in await vote(bot, erin, board, 3)
    # A vote is a toggle: Bob takes his first one back.
    assert "taken back" in await vote(bot, bob, board, 1)
    await caught_up(bot)
    assert board_lines(sandbox, board) == [
        "1. Monday, November 30, 2026, 10:00 AM–10:45 AM — 1 vote",
        "2. Tuesday, December 1, 2026, 3:00 PM–3:45 PM — 4 votes",
        "3. Wednesday, December 2, 2026, 9:00 AM–9:45 AM — 1 vote",
    ]
    assert [plain(text) for text, _data in sandbox.current(board).buttons[1]] == [
        "Tue, Dec 1 3:00 PM · 4"
    ]

    # Everyone sees the times in their own zone, privately; the group message stays as it is.
    before = len(sandbox.chat_messages(group))
    for user, zone, first in (
        (bob, "America/New_York", "1. Monday, November 30, 2026, 4:00 AM–4:45 AM — 1 vote"),
        (carol, "Asia/Tokyo", "1. Monday, November 30, 2026, 6:00 PM–6:45 PM — 1 vote"),
        (alice, "Europe/Berlin", "1. Monday, November 30, 2026, 10:00 AM–10:45 AM — 1 vote"),
    ):
        answer = await bot.tap(user, board, "🕒 My time zone")
        assert answer.text == "I sent you the times privately."
        private = plain(bot.newest(user).text)
        assert f"The times in your zone ({zone}):" in private and first in private
    assert "2. Tuesday, December 1, 2026, 9:00 AM–9:45 AM — 4 votes ✓" in plain(
        bot.newest(bob).text
    )
    assert "2. Tuesday, December 1, 2026, 11:00 PM–11:45 PM — 4 votes ✓" in plain(
        bot.newest(carol).text
    )
    # Dave never started the bot: the button opens it, and /start shows him the times.
    answer = await bot.tap(dave, board, "🕒 My time zone")
    assert answer.url is not None and "?start=poll_" in answer.url
    welcome = await bot.say(dave, "/start " + answer.url.split("start=")[1])
    assert "The times in your zone (UTC):" in welcome.text
    assert "1. Monday, November 30, 2026, 9:00 AM–9:45 AM — 1 vote" in plain(welcome.text)
    assert len(sandbox.chat_messages(group)) == before

    # Only the organizer (the author, the group's admins, the bot's admins) schedules.
    refusal = await bot.tap(bob, board, "📅 Schedule…")
    assert refusal.show_alert and "Only the poll's author" in (refusal.text or "")
    assert len(sandbox.chat_messages(group)) == before
    await bot.tap(alice, board, "📅 Schedule…")
    question = bot.newest(group)
    assert question.text == "Which time should I schedule for “Team sync”?"
    assert plain(slot_button(question, 2)) == "2. Tue, Dec 1 3:00 PM · 4 votes"
    # Someone else taps the organizer's question: refused, nothing changes.
    refusal = await bot.tap(bob, question, slot_button(question, 2))
    assert refusal.show_alert and "Only the poll's author" in (refusal.text or "")
    await bot.tap(alice, question, slot_button(question, 2))
    preview = sandbox.current(question)
    assert preview.text.startswith("Please check:")
    assert "Tuesday, December 1, 2026, 3:00 PM–3:45 PM (Europe/Berlin)" in plain(preview.text)
    refusal = await bot.tap(bob, preview, "Confirm")  # the preview is Alice's
    assert refusal.show_alert
    await bot.tap(alice, preview, "Confirm")
    announcement = sandbox.current(preview)
    assert "New meeting" in announcement.text

    with Session(bot.services.engine) as session:
        meeting = session.exec(select(Meeting)).one()
        roles = {
            row.user_id: row.role
            for row in session.exec(
                select(Participant).where(Participant.meeting_id == meeting.id)
            ).all()
        }
    # Everyone who voted for Tuesday, and nobody else (Erin voted for Monday and Wednesday).
    assert roles == {alice.id: "owner", bob.id: "member", carol.id: "member", dave.id: "member"}
    assert meeting.chat_id == group.id and meeting.title == "Team sync"
    assert meeting.ends_at - meeting.starts_at == timedelta(minutes=45)
    await bot.reminders()  # the invitations go out
    assert "You are invited" in plain(bot.newest(bob).text)
    assert "You are invited" in plain(bot.newest(carol).text)
    assert not any("You are invited" in message.text for message in sandbox.inbox(erin))

    # The poll message names the winner, and its buttons are gone.
    await caught_up(bot)
    final = sandbox.current(board)
    assert (
        "✅ Scheduled: time 2, Tuesday, December 1, 2026, 3:00 PM (Europe/Berlin)"
        in plain(final.text)
        and meeting.code in final.text
    )
    assert "Everyone who voted for it is invited." in final.text
    assert final.buttons == []
    # An old client still shows the buttons: a vote now is refused, clearly.
    late = await bot.tap(erin, board, data=first_slot)
    assert late.show_alert and late.text == "Voting on this poll has closed."

    # The votes are in the meeting's history.
    history = await bot.say(alice, f"/history {meeting.code}")
    assert "Bob vote 1:" in history.text and "Bob unvote 1:" in history.text
    assert "Dave vote 2:" in history.text and "Alice poll_scheduled 2:" in history.text


async def test_the_groups_administrator_may_schedule_and_forged_buttons_are_refused(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    (alice, bob, _carol, _dave, _erin, gus), group = await people_in_zones(bot, sandbox)
    board = await bot.say(alice, POLL, group)
    other = sandbox.create_group("Elsewhere", members=[bob], admins=[bob])
    elsewhere = await bot.say(bob, "/poll Lunch | mon 12:00", other)
    with Session(bot.services.engine) as session:
        poll_id = session.exec(select(Poll).where(Poll.chat_id == group.id)).one().id
    for data in (
        f"pl:{poll_id}:4",  # no such slot
        f"pl:{poll_id}:0",
        "pl:99999:1",  # no such poll
        f"pl:{poll_id}:x",
        f"pl:{poll_id}",
        f"pz:{poll_id}:1",
        f"ps:{poll_id}0",
    ):
        answer = await bot.tap(bob, board, data=data)
        assert answer.show_alert, data
    # A poll's buttons pressed on a message of another group: not for that group.
    for data in (f"pl:{poll_id}:1", f"pz:{poll_id}", f"ps:{poll_id}", f"pw:{poll_id}:1"):
        answer = await bot.tap(bob, elsewhere, data=data)
        assert answer.show_alert and answer.text == "This button is not for you.", data
    # The slot pick needs the right to schedule, on every press.
    answer = await bot.tap(bob, board, data=f"pw:{poll_id}:1")
    assert answer.show_alert and "Only the poll's author" in (answer.text or "")
    await caught_up(bot)
    assert all("0 votes" in line for line in board_lines(sandbox, board))
    with Session(bot.services.engine) as session:
        assert session.exec(select(Meeting)).all() == []

    # The group's administrator may schedule Alice's poll.
    await bot.tap(gus, board, "📅 Schedule…")
    question = bot.newest(group)
    await bot.tap(gus, question, slot_button(question, 3))
    await bot.tap(gus, sandbox.current(question), "Confirm")
    assert "New meeting" in sandbox.current(question).text
    # Scheduled once: the poll's Schedule button is gone, a forged one is refused.
    answer = await bot.tap(alice, board, data=f"ps:{poll_id}")
    assert answer.show_alert and answer.text == "This poll was already scheduled."


async def test_a_deadline_closes_the_poll(
    bot: BotHarness, sandbox: Sandbox, clock: ManualClock
) -> None:
    (alice, bob, carol, *_rest), group = await people_in_zones(bot, sandbox)
    board = await bot.say(alice, "/poll Retro | mon 10:00; tue 15:00 | until sunday", group)
    # Sunday in Berlin ends at 23:00 UTC.
    assert "Voting closes Monday, November 30, 2026, 12:00 AM." in plain(board.text)
    await vote(bot, bob, board, 1)
    clock.advance(timedelta(hours=36))  # Sunday 22:00 UTC: still open
    await bot.application.job_queue.get_jobs_by_name(CLOSE_JOB)[0].run(bot.application)
    await caught_up(bot)
    assert "Voting closes" in sandbox.current(board).text
    clock.advance(timedelta(hours=1, minutes=1))
    # A vote after the deadline is refused at once, before the closing round comes.
    late = await bot.tap(carol, board, slot_button(sandbox.current(board), 1))
    assert late.show_alert and late.text == "Voting on this poll has closed."
    await bot.application.job_queue.get_jobs_by_name(CLOSE_JOB)[0].run(bot.application)
    await caught_up(bot)
    closed = sandbox.current(board)
    assert "🔒 Voting has closed." in closed.text and "Voting closes" not in closed.text
    assert board_lines(sandbox, board)[0].endswith("— 1 vote")
    # The vote buttons are gone; the organizer may still schedule what the votes found.
    assert [[text for text, _data in row] for row in closed.buttons] == [
        ["🕒 My time zone", "📅 Schedule…"]
    ]
    await bot.tap(alice, closed, "📅 Schedule…")
    question = bot.newest(group)
    await bot.tap(alice, question, slot_button(question, 1))
    await bot.tap(alice, sandbox.current(question), "Confirm")
    with Session(bot.services.engine) as session:
        meeting = session.exec(select(Meeting)).one()
        invited = session.exec(
            select(Participant.user_id).where(Participant.meeting_id == meeting.id)
        ).all()
    assert set(invited) == {alice.id, bob.id}


async def test_bad_poll_input_gets_one_clear_message_each(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    (alice, *_rest), group = await people_in_zones(bot, sandbox)
    eleven = "; ".join(f"2026-12-{day:02d} 10:00" for day in range(1, 12))
    cases = {
        "/poll Team sync": "Write it as: /poll Title | mon 10:00; tue 15:00; wed 9:00 | 45m",
        "/poll Team sync | ; ;": "Name at least one time, separated by “;”.",
        "/poll Team sync | mon 10:00; blorp 15:00": "Time 2 (“blorp 15:00”): I can't read",
        "/poll Team sync | mon 10:00; 2026-11-27 10:00": (
            "Time 2 (“2026-11-27 10:00”): That time is in the past."
        ),
        f"/poll Team sync | {eleven}": "A poll offers at most 10 times; this one has 11.",
        "/poll Team sync | mon 10:00; monday 10:00": "Time 2 is the same as time 1.",
        "/poll Team sync | every monday 10:00": "A poll offers single times, not a series.",
        "/poll Team sync | mon 10:00 | 45 parsecs": "I can't read that duration.",
        "/poll Team sync | mon 10:00 | until friday": "The deadline is after the last time",
        "/poll Team sync | mon 10:00 | until yesterday": "The deadline: That time is in the past.",
        "/poll | mon 10:00": "The title is empty.",
    }
    for command, expected in cases.items():
        before = len(sandbox.chat_messages(group))
        answer = await bot.say(alice, command, group)
        assert expected in answer.text, command
        assert len(sandbox.chat_messages(group)) == before + 1, command
    private = await bot.say(alice, "/poll Team sync | mon 10:00")
    assert private.text == "Send /poll in a group: the group votes on the times."
    with Session(bot.services.engine) as session:
        assert session.exec(select(Poll)).all() == []


async def test_fifty_votes_in_a_minute_cost_a_handful_of_edits(
    sandbox: Sandbox, clock: ManualClock, tmp_path: Path, database_url: str
) -> None:
    # Telegram's limits, 20 times faster: a group takes 20 messages and edits in 3 seconds.
    scale = 20
    sandbox.limits = RateLimits(scale=scale)
    bot = BotHarness(
        sandbox, clock, tmp_path / "meetings.db", make_settings, database_url=database_url
    )
    await bot.start()
    try:
        organizer = sandbox.create_user("Olga", username="olga")
        voters = [sandbox.create_user(f"Voter {n}") for n in range(25)]
        group = sandbox.create_group("Crowd", members=[organizer, *voters])
        board = await bot.say(organizer, "/poll Town hall | mon 10:00; tue 15:00 | 30m", group)
        # The buttons' texts change with the tallies; their data stays.
        slots = [board.buttons[0][0][1], board.buttons[1][0][1]]
        minute = 60 / scale
        began = time.monotonic()
        # 50 taps spread over a (scaled) minute: 25 votes for Monday, 20 for Tuesday, and 5 of
        # those taken back.
        taps = [(voter, slots[0]) for voter in voters]
        taps += [(voter, slots[1]) for voter in voters[:20]]
        taps += [(voter, slots[1]) for voter in voters[:5]]
        assert len(taps) == 50
        for number, (voter, slot) in enumerate(taps):
            sandbox.press_button(voter, board, data=slot)
            await asyncio.sleep(
                max(0.0, began + minute * (number + 1) / len(taps) - time.monotonic())
            )
        await caught_up(bot)
        elapsed = time.monotonic() - began
        edits = [edit for edit in sandbox.edits(group) if edit.message_id == board.message_id]
        # At most one edit every EDIT_GAP (12 s, scaled) after the first: a handful, and never
        # one that changes nothing.
        assert 2 <= len(edits) <= 1 + elapsed / (12 / scale) + 1
        assert len(edits) <= 7
        assert all(
            (edit.old_text, edit.old_buttons) != (edit.new_text, edit.new_buttons)
            for edit in edits
        )
        assert sandbox.stats.rate_limited == 0
        # Every tap counted.
        assert board_lines(sandbox, board) == [
            "1. Monday, November 30, 2026, 10:00 AM–10:30 AM — 25 votes",
            "2. Tuesday, December 1, 2026, 3:00 PM–3:30 PM — 15 votes",
        ]
    finally:
        await bot.stop()
