"""Going / Maybe / Can't, capacity and the waitlist, end to end through the sandbox."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.handlers.rsvp import EDIT_GAP, EDIT_JOB
from bot.sandbox import Chat, Message, RateLimits, Sandbox, User
from storage.models import Announcement, AuditEvent, Participant
from tests.conftest import BotHarness
from tests.helpers import make_settings

GOING, MAYBE, CANT, WHO = "✅ Going", "🤔 Maybe", "❌ Can't", "👥 Who"


async def _people(bot: BotHarness, sandbox: Sandbox, *names: str) -> list[User]:
    """People who have started the bot."""
    users = [sandbox.create_user(name, username=name.lower()) for name in names]
    for user in users:
        await bot.say(user, "/start")
    return users


def _code(text: str) -> str:
    found = re.search(r"\b([A-HJ-NP-Z2-9]{6})\b", text)
    assert found, text
    return found.group(1)


async def _announce(bot: BotHarness, owner: User, group: Chat, command: str) -> Message:
    """The group's message about a meeting planned with `command` and confirmed."""
    preview = await bot.say(owner, command, group)
    await bot.tap(owner, preview, "Confirm")
    return bot.sandbox.current(preview)


async def caught_up(bot: BotHarness) -> None:
    """Wait until the group messages show every answer (their edits are batched)."""
    application = bot.application
    for _ in range(1000):
        await bot.settle()
        if not application.job_queue.get_jobs_by_name(EDIT_JOB):
            with Session(bot.services.engine) as session:
                if not session.exec(select(Announcement).where(Announcement.owed)).all():
                    return
        await asyncio.sleep(0.01)
    raise AssertionError("the group messages never caught up")


def _counts(message: Message) -> str:
    """The line of counts on a group message."""
    return next(line for line in message.text.splitlines() if line.startswith("✅"))


def _answers(bot: BotHarness) -> dict[int | None, tuple[str | None, int | None]]:
    with Session(bot.services.engine) as session:
        rows = session.exec(select(Participant)).all()
        return {row.user_id: (row.rsvp, row.waitlist_ticket) for row in rows}


def _links(sandbox: Sandbox, user: User) -> list[Message]:
    return [message for message in sandbox.inbox(user) if "jwt=" in message.text]


async def test_answers_from_the_group_message_show_as_live_counts_and_names(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice, bob, carol = await _people(bot, sandbox, "Alice", "Bob", "Carol")
    dan = sandbox.create_user("Dan", username="dan")  # never started the bot
    group = sandbox.create_group("Team", members=[alice, bob, carol, dan], admins=[alice])
    board = await _announce(bot, alice, group, "/schedule Team sync | tomorrow 15:00 | 30m")
    assert _counts(board) == "✅ 1 going · 🤔 0 maybe · ❌ 0 can't"
    # An invitation changes no count: the message is not edited (Telegram would answer 400).
    edits = len(sandbox.calls_to("editMessageText"))  # the preview became the message
    await bot.say(alice, f"/invite {_code(board.text)} @carol", group)
    await caught_up(bot)
    assert len(sandbox.calls_to("editMessageText")) == edits

    # Bob was not in it: Going makes him a participant, told privately with the details.
    answer = await bot.tap(bob, board, GOING)
    assert answer.text == "You joined. Your personal link comes privately before the start."
    joined = await sandbox.wait_for_message(bob, contains="You joined")
    assert [text for text, _data in joined.buttons[0]] == [GOING, MAYBE, CANT]
    answer = await bot.tap(carol, board, MAYBE)
    assert "maybe" in (answer.text or "")
    # Dan never started the bot: Going takes him there, and /start finishes the join.
    answer = await bot.tap(dan, board, GOING)
    assert answer.url is not None and answer.url.startswith("https://t.me/meetings_test_bot?")
    welcome = await bot.say(dan, f"/start {answer.url.split('start=')[1]}")
    assert "You joined" in welcome.text
    await caught_up(bot)
    assert _counts(sandbox.current(board)) == "✅ 3 going · 🤔 1 maybe · ❌ 0 can't"

    # Changing one's mind is always possible; the message follows.
    await bot.tap(bob, board, CANT)
    await caught_up(bot)
    assert _counts(sandbox.current(board)) == "✅ 2 going · 🤔 1 maybe · ❌ 1 can't"
    who = await bot.tap(carol, board, WHO)
    assert who.show_alert
    assert who.text == "✅ Going: Alice, Dan\n🤔 Maybe: Carol\n❌ Can't: Bob"
    # No edit ever repeats what the message shows, and nothing was posted in the group for it.
    assert all(
        (edit.old_text, edit.old_buttons) != (edit.new_text, edit.new_buttons)
        for edit in sandbox.edits(group)
    )
    assert [call for call in sandbox.calls_to("editMessageText") if call.status != 200] == []
    assert len(sandbox.chat_messages(group)) == 2  # the message and the reply to /invite
    with Session(bot.services.engine) as session:
        actions = [row.action for row in session.exec(select(AuditEvent)).all()]
    assert actions.count("rsvp") >= 2


async def test_who_with_many_names_goes_privately(bot: BotHarness, sandbox: Sandbox) -> None:
    [alice] = await _people(bot, sandbox, "Alice")
    crowd = [sandbox.create_user(f"Somebody With A Long Name {n}") for n in range(12)]
    group = sandbox.create_group("Crowd", members=[alice, *crowd], admins=[alice])
    board = await _announce(bot, alice, group, "/schedule Town hall | tomorrow 15:00")
    for person in crowd:
        await bot.tap(person, board, CANT)  # counted without starting the bot
    who = await bot.tap(alice, board, WHO)
    assert who.text == "The list is long: I sent it to you privately."
    assert "Somebody With A Long Name 11" in bot.newest(alice).text
    # Someone the bot can't write to gets what fits in the alert.
    stranger = crowd[0]
    who = await bot.tap(stranger, board, WHO)
    assert who.show_alert and who.text is not None and len(who.text) <= 200
    assert who.text.endswith("…")


async def test_an_invitation_carries_the_answers_and_cant_means_no_link_nor_reminder(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice, bob, carol = await _people(bot, sandbox, "Alice", "Bob", "Carol")
    preview = await bot.say(alice, "/schedule Review | 2026-11-28 11:00 | 30m | remind 30m")
    await bot.tap(alice, preview, "Confirm")
    code = _code(sandbox.current(preview).text)
    await bot.say(alice, f"/invite {code} @bob @carol")
    invitations = {}
    for person in (bob, carol):
        invitations[person.id] = await sandbox.wait_for_message(person, contains="You are invited")
        assert [text for text, _data in invitations[person.id].buttons[0]] == [
            GOING,
            MAYBE,
            CANT,
        ]
    participants = await bot.say(alice, f"/participants {code}")
    assert "Bob — member, no answer yet" in participants.text

    answer = await bot.tap(bob, invitations[bob.id], CANT)
    assert answer.text == (
        "Noted: you can't come. No link and no reminders; you can change your mind."
    )
    await bot.tap(carol, invitations[carol.id], MAYBE)
    participants = await bot.say(alice, f"/participants {code}")
    assert "Alice — owner, going" in participants.text
    assert "Bob — member, can't come" in participants.text
    assert "Carol — member, maybe" in participants.text
    # /link tells Bob why none comes.
    reply = await bot.say(bob, f"/link {code}")
    assert "You said you can't come, so no link comes." in reply.text

    # 10:30, the early reminder: Carol (maybe) gets it, Bob (can't) doesn't.
    await bot.reminders(timedelta(minutes=30))
    assert [m.text.startswith("⏰") for m in sandbox.inbox(carol)].count(True) == 1
    assert not any(m.text.startswith("⏰") for m in sandbox.inbox(bob))
    # Reminder time (10:50): Carol gets her link, Bob none.
    await bot.reminders(timedelta(minutes=20))
    assert len(_links(sandbox, carol)) == 1
    assert _links(sandbox, bob) == []
    # Bob changes his mind before the end: his link comes at once.
    await bot.tap(bob, invitations[bob.id], GOING)
    await bot.settle()
    assert len(_links(sandbox, bob)) == 1


async def test_forged_presses_are_refused_and_change_nothing(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice, bob, mallory = await _people(bot, sandbox, "Alice", "Bob", "Mallory")
    group = sandbox.create_group("Team", members=[alice, bob], admins=[alice])
    elsewhere = sandbox.create_group("Elsewhere", members=[mallory], admins=[mallory])
    board = await _announce(bot, alice, group, "/schedule Team sync | tomorrow 15:00 | 30m")
    code = _code(board.text)
    other = await bot.say(mallory, "/help", elsewhere)
    before = _answers(bot)
    # From another group, from a private chat without an invitation, and malformed data.
    answer = await bot.tap(mallory, other, data=f"rv:g:{code}")
    assert answer.text == "This button is not for you." and answer.show_alert
    mine = await bot.say(mallory, "/help")
    answer = await bot.tap(mallory, mine, data=f"rv:g:{code}")
    assert answer.text == f"You are not in meeting {code}. Ask an owner to /invite you."
    answer = await bot.tap(mallory, mine, data=f"rv:w:{code}")
    assert answer.text == "This button is not for you."
    answer = await bot.tap(bob, board, data=f"rv:x:{code}")
    assert answer.text == "This button is not for you."
    answer = await bot.tap(bob, board, data="rv:g:NOSUCH")
    assert answer.text is not None and "There is no meeting with the code NOSUCH" in answer.text
    assert _answers(bot) == before
    # A cancelled meeting takes no more answers.
    await bot.say(alice, f"/cancel {code}")
    answer = await bot.tap(bob, board, GOING)
    assert answer.text == f"Meeting {code} was cancelled."
    assert _answers(bot) == before


async def test_max_in_schedule_puts_the_third_on_the_waitlist_and_moves_them_up_with_a_link(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice, bob, carol, dan = await _people(bot, sandbox, "Alice", "Bob", "Carol", "Dan")
    group = sandbox.create_group("Team", members=[alice, bob, carol, dan], admins=[alice])
    preview = await bot.say(alice, "/schedule Standup | 2026-11-28 10:30 | 30m | max 2", group)
    assert "At most 2 people (owners aside), then a waitlist" in preview.text
    await bot.tap(alice, preview, "Confirm")
    board = sandbox.current(preview)
    code = _code(board.text)
    assert "🎟 2 of 2 seats free" in board.text
    await bot.tap(bob, board, GOING)
    await bot.tap(carol, board, MAYBE)
    answer = await bot.tap(dan, board, GOING)  # the owner Alice does not count
    assert answer.show_alert and answer.text == (
        "The meeting is full: you are number 1 on the waitlist. I'll tell you when a seat is free."
    )
    await sandbox.wait_for_message(dan, contains="you are on its waitlist")
    await caught_up(bot)
    assert "🎟 0 of 2 seats free · ⏳ 1 on the waitlist" in sandbox.current(board).text
    participants = await bot.say(alice, f"/participants {code}")
    assert "Dan — member, on the waitlist (number 1)" in participants.text

    # 10:20, reminder time: the two with a seat get their links, Dan none.
    await bot.reminders(timedelta(minutes=20))
    assert len(_links(sandbox, bob)) == len(_links(sandbox, carol)) == 1
    assert _links(sandbox, dan) == []
    assert "you are number 1 on the waitlist" in (await bot.say(dan, f"/link {code}")).text

    # 10:22, the join window is open: Bob can't come, Dan moves up and gets his link at once.
    bot.clock.advance(timedelta(minutes=2))
    await bot.tap(bob, board, CANT)
    told = await sandbox.wait_for_message(dan, contains="A seat is free for you")
    assert code in told.text
    await sandbox.wait_for(lambda: _links(sandbox, dan) or None, message="Dan's link")
    assert _answers(bot)[dan.id] == ("going", None)
    history = await bot.say(alice, f"/history {code}")
    assert "Dan waitlist Dan #1" in history.text and "Dan waitlist_up Dan" in history.text
    await caught_up(bot)
    assert "🎟 0 of 2 seats free" in sandbox.current(board).text
    assert "waitlist" not in sandbox.current(board).text


async def test_capacity_command_for_owners_with_clear_refusals(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice, bob, carol, dan = await _people(bot, sandbox, "Alice", "Bob", "Carol", "Dan")
    group = sandbox.create_group("Team", members=[alice, bob, carol, dan], admins=[alice])
    board = await _announce(bot, alice, group, "/schedule Team sync | tomorrow 15:00 | 30m")
    code = _code(board.text)
    await bot.tap(bob, board, GOING)

    reply = await bot.say(alice, f"/capacity {code} 1")
    assert reply.text == f"{code}: 1 seat (owners aside). Taken: 1. On the waitlist: 0."
    await bot.tap(carol, board, GOING)
    await bot.tap(dan, board, MAYBE)
    assert _answers(bot)[carol.id] == ("going", 1) and _answers(bot)[dan.id] == ("maybe", 2)

    # Bad input: one clear message each, nothing changed.
    refusals = {
        f"/capacity {code}": "Write /capacity CODE 20 (at most 20 people, owners aside) or "
        "/capacity CODE off.",
        f"/capacity {code} lots": "I can't read “lots” as a number of seats. Send a whole number "
        "from 1 to 10000, or off.",
        f"/capacity {code} 0": "A meeting can have from 1 to 10000 seats (owners aside).",
        f"/capacity {code} ３": "I can't read “３” as a number of seats.",
        "/capacity NOSUCH 5": "There is no meeting with the code NOSUCH.",
    }
    for command, expected in refusals.items():
        before = len(sandbox.inbox(alice))
        reply = await bot.say(alice, command)
        assert reply.text.startswith(expected), command
        assert len(sandbox.inbox(alice)) == before + 1, command
    refused = await bot.say(bob, f"/capacity {code} 5")
    assert "Only the meeting's owners" in refused.text
    reply = await bot.say(alice, "/schedule Team sync | tomorrow 15:00 | max many", group)
    assert "I can't read “many” as a number of seats." in reply.text
    assert _answers(bot)[carol.id] == ("going", 1)

    # A larger capacity, then none: the line moves up in order, each told.
    reply = await bot.say(alice, f"/capacity {code} 2")
    assert "Moved up from the waitlist: Carol." in reply.text
    await sandbox.wait_for_message(carol, contains="A seat is free for you")
    reply = await bot.say(alice, f"/capacity {code} off")
    assert reply.text == f"{code} has no seat limit now.\nMoved up from the waitlist: Dan."
    await caught_up(bot)
    assert "seats" not in sandbox.current(board).text
    history = await bot.say(alice, f"/history {code}")
    assert "Alice capacity off" in history.text and "Alice capacity 1" in history.text


async def test_fifty_answers_in_a_minute_stay_within_the_group_edit_budget(
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
        alice = sandbox.create_user("Alice", username="alice")
        crowd = [sandbox.create_user(f"Member {n}") for n in range(25)]
        group = sandbox.create_group("Crowd", members=[alice, *crowd], admins=[alice])
        board = await _announce(bot, alice, group, "/schedule Town hall | tomorrow 15:00")
        minute = 60 / scale
        # 50 taps over a (scaled) minute: 25 say Can't (counted without starting the bot),
        # then 15 of them Maybe and 10 Can't again.
        taps = [(person, CANT) for person in crowd]
        taps += [(person, MAYBE) for person in crowd[:15]]
        taps += [(person, CANT) for person in crowd[15:]]
        assert len(taps) == 50
        began = time.monotonic()
        for number, (person, label) in enumerate(taps):
            sandbox.press_button(person, board, text=label)
            await asyncio.sleep(
                max(0.0, began + minute * (number + 1) / len(taps) - time.monotonic())
            )
        await caught_up(bot)
        elapsed = time.monotonic() - began
        edits = [edit for edit in sandbox.edits(group) if edit.message_id == board.message_id]
        # At most one edit every EDIT_GAP (6 s, scaled) after the first: a handful.
        assert 2 <= len(edits) <= 2 + elapsed / (EDIT_GAP / scale)
        assert len(edits) <= 13
        assert all(
            (edit.old_text, edit.old_buttons) != (edit.new_text, edit.new_buttons)
            for edit in edits
        )
        assert sandbox.stats.rate_limited == 0
        assert all(call.status == 200 for call in sandbox.calls_to("editMessageText"))
        # Every tap counted.
        assert _counts(sandbox.current(board)) == "✅ 1 going · 🤔 15 maybe · ❌ 10 can't"
    finally:
        await bot.stop()
