"""The smallest end-to-end checks: /start, /help, settings commands."""

from __future__ import annotations

from bot.sandbox import Sandbox
from tests.conftest import BotHarness


async def test_start_greets_and_registers(bot: BotHarness, sandbox: Sandbox) -> None:
    alice = sandbox.create_user("Alice", username="alice", language_code="en")
    reply = await bot.say(alice, "/start")
    assert "Hello, Alice!" in reply.text
    assert "/schedule" in reply.text
    menu = [command for command, _description in sandbox.visible_commands(alice)]
    assert "schedule" in menu and "invite" in menu


async def test_timezone_and_email(bot: BotHarness, sandbox: Sandbox) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    await bot.say(alice, "/start")
    assert "Europe/Berlin" in (await bot.say(alice, "/timezone Europe/Berlin")).text
    unknown = await bot.say(alice, "/timezone Atlantis")
    assert "Atlantis" in unknown.text
    assert "Europe/Berlin" in (await bot.say(alice, "/timezone")).text
    assert "a@example.com" in (await bot.say(alice, "/email a@example.com")).text
    assert "not an e-mail" in (await bot.say(alice, "/email nope")).text
    assert "removed" in (await bot.say(alice, "/email off")).text


def test_long_texts_are_paged_at_line_ends() -> None:
    from bot.handlers.common import split_pages

    text = "\n".join(f"• participant number {n}" for n in range(600))
    pages = split_pages(text)
    assert len(pages) > 1
    assert all(0 < len(page) <= 4096 for page in pages)
    assert "\n".join(pages) == text
