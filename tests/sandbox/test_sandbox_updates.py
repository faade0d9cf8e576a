"""Updates made by test-side actions reach the bot through getUpdates, as Telegram sends them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import telegram
from telegram import MessageEntity

from bot.sandbox import Sandbox


async def test_entities_use_utf16_offsets(sandbox: Sandbox, bot: telegram.Bot) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    bob = sandbox.create_user("Bob")  # no username: only a text_mention can name him
    group = sandbox.create_group("Team 🎉", members=[alice, bob])
    text = "/invite@meetings_test_bot 😀 @alice and 👍🏽 Bob see https://meet.example/x"
    sent = sandbox.send_text(alice, text, group, text_mentions=[(bob, "Bob")])
    [update] = await bot.get_updates()
    message = update.message
    assert message is not None and message.text == text
    assert message.message_id == sent.message_id and message.chat.title == "Team 🎉"
    parsed = message.parse_entities()
    assert [(e.type, value) for e, value in parsed.items()] == [
        (MessageEntity.BOT_COMMAND, "/invite@meetings_test_bot"),
        (MessageEntity.MENTION, "@alice"),
        (MessageEntity.TEXT_MENTION, "Bob"),
        (MessageEntity.URL, "https://meet.example/x"),
    ]
    mention = message.entities[1]
    assert (mention.offset, mention.length) == (29, 6)  # the emoji before it is 2 UTF-16 units
    text_mention = message.entities[2]
    assert text_mention.user is not None and text_mention.user.id == bob.id


async def test_offset_confirms_and_limit(sandbox: Sandbox, bot: telegram.Bot) -> None:
    alice = sandbox.create_user("Alice")
    for number in range(5):
        sandbox.send_text(alice, f"message {number}")
    first = await bot.get_updates(limit=2)
    assert [u.message.text for u in first if u.message] == ["message 0", "message 1"]
    assert sandbox.updates_pending() == 5  # nothing confirmed yet
    rest = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == [f"message {n}" for n in (2, 3, 4)]
    assert sandbox.updates_pending() == 3
    assert await bot.get_updates(offset=rest[-1].update_id + 1) == ()
    assert sandbox.updates_pending() == 0


async def _parked(sandbox: Sandbox, poll: asyncio.Task[Any]) -> None:
    """Wait until a long poll has reached the sandbox, then check that it stays there."""
    await sandbox.wait_for(
        lambda: sandbox.requests_in_flight(long_polls=True), message="the long poll to arrive"
    )
    await asyncio.sleep(0.1)
    assert not poll.done() and sandbox.requests_in_flight(long_polls=True) == 1


async def test_long_poll_returns_when_an_update_arrives(
    sandbox: Sandbox, bot: telegram.Bot
) -> None:
    alice = sandbox.create_user("Alice")
    # A poll that the sandbox answered only at its timeout would fail the guard, not pass late.
    poll = asyncio.create_task(bot.get_updates(timeout=60, read_timeout=70))
    await _parked(sandbox, poll)
    sandbox.send_text(alice, "hello")
    [update] = await asyncio.wait_for(poll, timeout=10)
    assert update.message is not None and update.message.text == "hello"


async def test_long_poll_without_updates_answers_empty_at_its_timeout(
    sandbox: Sandbox, bot: telegram.Bot
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=1))
    await _parked(sandbox, poll)
    assert await asyncio.wait_for(poll, timeout=10) == ()
    assert sandbox.requests_in_flight(long_polls=True) == 0


async def test_newer_poll_terminates_older(sandbox: Sandbox, raw: Any) -> None:
    older = asyncio.create_task(raw.call("getUpdates", timeout=5))
    await _parked(sandbox, older)
    assert await raw.call("getUpdates") == (200, {"ok": True, "result": []})
    status, body = await older
    assert status == 409 and body["description"].startswith("Conflict: terminated by other")


async def test_allowed_updates_filter(sandbox: Sandbox, bot: telegram.Bot) -> None:
    alice = sandbox.create_user("Alice")
    sandbox.send_text(alice, "/start")
    sandbox.block_bot(alice)
    updates = await bot.get_updates(allowed_updates=["my_chat_member"])
    assert [u.my_chat_member is not None for u in updates] == [True]


async def test_button_presses(sandbox: Sandbox, bot: telegram.Bot, raw: Any) -> None:
    alice = sandbox.create_user("Alice")
    sandbox.send_text(alice, "/start")
    markup = telegram.InlineKeyboardMarkup(
        [[telegram.InlineKeyboardButton("Yes", callback_data="rsvp:yes")]]
    )
    sent = await bot.send_message(alice.id, "Coming?", reply_markup=markup)
    [message] = sandbox.inbox(alice)
    with pytest.raises(ValueError, match="no button"):
        sandbox.press_button(alice, message, "No")
    pressed = sandbox.press_button(alice, message, data="rsvp:yes")
    forged = sandbox.press_forged(alice, message, "rsvp:admin")
    updates = await bot.get_updates(offset=-2)
    queries = [u.callback_query for u in updates if u.callback_query]
    assert [(q.id, q.data) for q in queries] == [(pressed, "rsvp:yes"), (forged, "rsvp:admin")]
    assert queries[0].chat_instance == queries[1].chat_instance
    assert isinstance(queries[0].message, telegram.Message)
    assert queries[0].message.message_id == sent.message_id

    assert sandbox.callback_answer(pressed) is None
    await queries[0].answer("Saved", show_alert=True)
    await queries[1].answer(url="https://t.me/meetings_test_bot?start=x")
    first, second = sandbox.callback_answer(pressed), sandbox.callback_answer(forged)
    assert first is not None and (first.text, first.show_alert) == ("Saved", True)
    assert second is not None and second.url == "https://t.me/meetings_test_bot?start=x"
    status, body = await raw.call("answerCallbackQuery", callback_query_id=pressed)
    assert status == 400 and "query is too old" in body["description"]


async def test_privacy_mode_in_groups(sandbox: Sandbox, bot: telegram.Bot) -> None:
    alice = sandbox.create_user("Alice")
    bob = sandbox.create_user("Bob")
    group = sandbox.create_group("Team", members=[alice, bob])
    await bot.send_message(group.id, "Meeting at 10")
    announcement = sandbox.chat_messages(group)[0]
    hidden = sandbox.send_text(alice, "just chatting", group)
    sandbox.send_text(alice, "/other@another_bot", group)
    sandbox.send_text(alice, "/join", group)
    sandbox.send_text(bob, "hey @meetings_test_bot", group)
    sandbox.send_text(bob, "me too", group, reply_to=announcement)
    texts = [u.message.text for u in await bot.get_updates() if u.message]
    assert texts == ["/join", "hey @meetings_test_bot", "me too"]
    assert not hidden.delivered
    assert len(sandbox.history(group)) == 6  # the history keeps what the bot could not see

    reply = (await bot.get_updates(offset=-1))[0].message
    assert reply is not None and reply.reply_to_message is not None
    assert reply.reply_to_message.text == "Meeting at 10"
    stranger = sandbox.create_user("Eve")
    with pytest.raises(ValueError, match="not a member"):
        sandbox.send_text(stranger, "/join", group)


async def test_block_and_unblock_emit_my_chat_member(sandbox: Sandbox, bot: telegram.Bot) -> None:
    alice = sandbox.create_user("Alice")
    sandbox.send_text(alice, "/start")
    assert sandbox.has_started(alice)
    sandbox.block_bot(alice)
    sandbox.send_text(alice, "/start")  # writing again unblocks, as Telegram's Restart does
    updates = await bot.get_updates()
    changes = [u.my_chat_member for u in updates if u.my_chat_member]
    assert [(c.old_chat_member.status, c.new_chat_member.status) for c in changes] == [
        ("member", "kicked"),
        ("kicked", "member"),
    ]
    assert changes[0].chat.id == alice.id and changes[0].from_user.id == alice.id
    assert changes[0].new_chat_member.user.id == bot.id
    assert updates[-1].message is not None and updates[-1].message.text == "/start"


async def test_wait_helpers(sandbox: Sandbox, bot: telegram.Bot) -> None:
    alice = sandbox.create_user("Alice")
    sandbox.send_text(alice, "/start")

    async def later() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(alice.id, "Welcome, Alice")

    task = asyncio.create_task(later())
    message = await sandbox.wait_for_message(alice, "Welcome", timeout=10)
    await task
    assert message.text == "Welcome, Alice"
    with pytest.raises(AssertionError, match="containing 'Goodbye'") as failure:
        await sandbox.wait_for_message(alice, "Goodbye", timeout=0.1)
    assert "sendMessage -> 200" in str(failure.value)  # recent calls help debugging
    with pytest.raises(AssertionError, match="newer"):
        await sandbox.wait_for(lambda: False, timeout=0.05, message="newer")


async def test_wall_clock_sets_message_dates(bot: telegram.Bot) -> None:
    async with Sandbox(bot_token=bot.token, wall_clock=lambda: 1_900_000_000.7) as fake_time:
        alice = fake_time.create_user("Alice")
        fake_time.send_text(alice, "/start")
        async with telegram.Bot(bot.token, base_url=fake_time.base_url) as other:
            [update] = await other.get_updates()
    assert update.message is not None and update.message.date.timestamp() == 1_900_000_000
