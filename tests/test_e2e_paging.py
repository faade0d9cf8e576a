"""Paging through /meetings: a page button edits the list only when the page shown changes."""

from __future__ import annotations

from bot.sandbox import Sandbox
from bot.sandbox.models import Edit, Message
from tests.conftest import BotHarness


def _edits_of(sandbox: Sandbox, message: Message) -> list[Edit]:
    return [edit for edit in sandbox.edits(message.chat) if edit.message_id == message.message_id]


async def test_pressing_the_page_already_shown_edits_nothing(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    await bot.say(alice, "/start")
    for day in range(1, 7):  # six meetings: two pages of five
        preview = await bot.say(alice, f"/schedule Sync {day} | 2026-12-0{day} 15:00 | 30m")
        await bot.tap(alice, preview, "Confirm")
    listing = await bot.say(alice, "/meetings")
    assert "Sync 1" in listing.text and "Sync 6" not in listing.text

    await bot.tap(alice, listing, "1/2")  # the page on screen
    assert _edits_of(sandbox, listing) == []
    await bot.tap(alice, listing, "▶")
    turned = sandbox.current(listing)
    assert "Sync 6" in turned.text and "Sync 1" not in turned.text
    await bot.tap(alice, listing, "2/2")
    await bot.tap(alice, listing, "◀")
    assert "Sync 1" in sandbox.current(listing).text
    assert len(_edits_of(sandbox, listing)) == 2
    # Telegram was never asked for an edit that changes nothing (it answers 400).
    assert [call for call in sandbox.calls_to("editMessageText") if call.status != 200] == []
