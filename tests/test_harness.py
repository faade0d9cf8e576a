"""The harness waits for exactly as long as the bot is busy, and says so when it never settles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.sandbox import Faults, Sandbox
from bot.sandbox.harness import BotHarness, NotSettled
from tests.helpers import make_settings


@pytest.fixture
async def quiet_bot(
    sandbox: Sandbox, clock: ManualClock, tmp_path: Path, database_url: str
) -> AsyncIterator[BotHarness]:
    """The bot with no periodic sweep falling due while a test looks."""
    harness = BotHarness(
        sandbox,
        clock,
        tmp_path / "meetings.db",
        make_settings,
        sweep_interval=3600.0,
        database_url=database_url,
    )
    await harness.start()
    yield harness
    await harness.stop()


async def test_a_link_sent_by_the_sweep_a_tap_woke_is_there_when_the_tap_returns(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    carol = sandbox.create_user("Carol", username="carol")
    group = sandbox.create_group("Team", members=[alice, carol], admins=[alice])
    for person in (alice, carol):
        await bot.say(person, "/start")
    # 10:00 now: the meeting's join window is already open.
    preview = await bot.say(alice, "/schedule Team sync | 2026-11-28 10:05 | 30m", group)
    await bot.tap(alice, preview, "Confirm")
    # Telegram is slow to take messages: the link goes out well after the tap is answered.
    sandbox.faults = Faults(delay=0.3, methods=frozenset({"sendMessage"}))
    await bot.tap(carol, preview, "✅ Going")
    assert any("jwt=" in message.text for message in sandbox.inbox(carol))


async def test_a_step_returns_once_the_bot_has_finished_with_it(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    sandbox.faults = Faults(delay=0.5, methods=frozenset({"sendMessage"}))
    await bot.say_silently(alice, "/start")
    assert "Hello, Alice!" in bot.newest(alice).text


async def test_a_bot_that_never_settles_is_reported_with_what_it_was_doing(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    sandbox.faults = Faults(delay=1.0, methods=frozenset({"sendMessage"}))
    sandbox.send_text(alice, "/start")
    with pytest.raises(NotSettled) as failure:
        await bot.settle(timeout=0.3)
    report = str(failure.value)
    assert "updates in hand: 1" in report and "requests in flight: 1" in report
    await bot.settle()
    assert "Hello, Alice!" in bot.newest(alice).text


async def test_settle_returns_at_once_when_the_bot_is_idle(
    quiet_bot: BotHarness, sandbox: Sandbox
) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    await quiet_bot.say(alice, "/start")
    # It completes without handing control back to the event loop: no sleep of any length.
    step = quiet_bot.settle()
    with pytest.raises(StopIteration):
        step.send(None)
