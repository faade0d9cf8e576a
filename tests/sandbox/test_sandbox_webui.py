"""The web page's JSON endpoints and the command-line entry point."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
import telegram

from bot.sandbox import Sandbox
from bot.sandbox.__main__ import parse_args


@pytest.fixture
async def web(sandbox: Sandbox) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP session rooted at the sandbox."""
    async with aiohttp.ClientSession(base_url=sandbox.url) as session:
        yield session


async def test_page_and_actions(
    sandbox: Sandbox, bot: telegram.Bot, web: aiohttp.ClientSession
) -> None:
    async with web.get("/") as page:
        assert page.status == 200 and "<script>" in await page.text()
    async with web.post("/_sandbox/users", json={"first_name": "Alice", "username": "al"}) as r:
        alice = await r.json()
    async with web.post("/_sandbox/send", json={"user_id": alice["id"], "text": "/start"}) as r:
        assert r.status == 200
    [update] = await bot.get_updates()
    assert update.message is not None and update.message.text == "/start"
    markup = telegram.InlineKeyboardMarkup(
        [[telegram.InlineKeyboardButton("Yes", callback_data="yes")]]
    )
    sent = await bot.send_message(alice["id"], "Coming?", reply_markup=markup)
    await bot.send_document(alice["id"], b"data", filename="a.txt")

    async with web.get("/_sandbox/state") as r:
        state = await r.json()
    [chat] = state["chats"]
    assert [m["text"] for m in chat["messages"]] == ["/start", "Coming?", ""]
    assert chat["messages"][1]["buttons"] == [
        [{"text": "Yes", "value": "yes", "kind": "callback"}]
    ]
    async with web.get(chat["messages"][2]["document"]["url"]) as r:
        assert await r.read() == b"data"

    press = {"user_id": alice["id"], "chat_id": alice["id"], "message_id": sent.message_id}
    async with web.post("/_sandbox/press", json={**press, "data": "yes"}) as r:
        query_id = (await r.json())["callback_query_id"]
    async with web.post("/_sandbox/press", json={**press, "data": "forged"}) as r:
        assert r.status == 400 and "no button" in (await r.json())["error"]
    updates = await bot.get_updates(offset=update.update_id + 1)
    assert updates[0].callback_query is not None and updates[0].callback_query.id == query_id

    async with web.post("/_sandbox/block", json={"user_id": alice["id"], "blocked": True}) as r:
        assert (await r.json())["blocked"] is True
    async with web.post("/_sandbox/send", json={"user_id": 1, "text": "x"}) as r:
        assert r.status == 400


def test_command_line_options() -> None:
    args = parse_args(["--port", "0", "--token", "1:X", "--username", "demo_bot"])
    assert (args.host, args.port, args.token, args.username) == ("127.0.0.1", 0, "1:X", "demo_bot")
