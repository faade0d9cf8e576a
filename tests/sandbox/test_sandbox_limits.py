"""Flood limits answer 429 with retry_after and recover; faults hit the configured share."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import Counter
from typing import Any

import aiohttp
import pytest
import telegram
from telegram.error import NetworkError, RetryAfter

from bot.sandbox import Faults, RateLimits, Sandbox


def started_users(sandbox: Sandbox, count: int) -> list[Any]:
    """Users who have all started the bot."""
    users = [sandbox.create_user(f"User {n}") for n in range(count)]
    for user in users:
        sandbox.send_text(user, "/start")
    return users


async def test_private_chat_flood_then_recovery(sandbox: Sandbox, raw: Any) -> None:
    sandbox.limits = RateLimits(scale=10)  # 10 messages/s per chat, burst of 3
    [alice] = started_users(sandbox, 1)
    statuses = [(await raw.call("sendMessage", chat_id=alice.id, text="x"))[0] for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert await raw.call("sendMessage", chat_id=alice.id, text="x") == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        },
    )
    await asyncio.sleep(0.15)
    assert (await raw.call("sendMessage", chat_id=alice.id, text="x"))[0] == 200
    assert sandbox.stats.rate_limited == 1


async def test_group_limit_retry_after_comes_from_the_bucket(sandbox: Sandbox, raw: Any) -> None:
    sandbox.limits = RateLimits()  # 20 per minute: one token every 3 s once the burst is used
    group = sandbox.create_group("Team")
    for _ in range(20):
        assert (await raw.call("sendMessage", chat_id=group.id, text="x"))[0] == 200
    status, body = await raw.call("sendMessage", chat_id=group.id, text="x")
    assert status == 429 and body["parameters"]["retry_after"] == 3
    message_id = sandbox.chat_messages(group)[0].message_id
    edit = {"chat_id": group.id, "message_id": message_id, "text": "edited"}
    assert (await raw.call("editMessageText", **edit))[0] == 429  # edits count too


async def test_global_limit_and_paid_broadcast(sandbox: Sandbox, raw: Any) -> None:
    users = started_users(sandbox, 40)
    sandbox.limits = RateLimits()
    statuses = Counter([(await raw.call("sendMessage", chat_id=u.id, text="x"))[0] for u in users])
    assert statuses == {200: 30, 429: 10}
    paid = [
        (await raw.call("sendMessage", chat_id=u.id, text="x", allow_paid_broadcast=True))[0]
        for u in users[30:]
    ]
    assert paid == [200] * 10
    assert sandbox.stats.rate_limited == 10


async def test_ptb_sees_retry_after(
    sandbox: Sandbox, bot: telegram.Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without PTB_TIMEDELTA, PTB 22 warns (PTBDeprecationWarning) whenever it builds RetryAfter.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    sandbox.limits = RateLimits()
    [alice] = started_users(sandbox, 1)
    for _ in range(3):
        await bot.send_message(alice.id, "x")
    with pytest.raises(RetryAfter) as error:
        await bot.send_message(alice.id, "x")
    assert error.value.retry_after == dt.timedelta(seconds=1)
    sandbox.limits = RateLimits.unlimited()
    await bot.send_message(alice.id, "x")


async def test_error_faults_hit_roughly_the_configured_share(sandbox: Sandbox, raw: Any) -> None:
    [alice] = started_users(sandbox, 1)
    sandbox.faults = Faults(error_rate=0.2, bad_gateway_rate=0.1, seed=7)
    statuses = Counter(
        [(await raw.call("sendMessage", chat_id=alice.id, text="x"))[0] for _ in range(300)]
    )
    assert 40 <= statuses[500] <= 80 and 15 <= statuses[502] <= 45
    assert statuses[200] == len(sandbox.inbox(alice))
    assert (await raw.call("getUpdates"))[0] == 200  # not a sending method
    sandbox.faults.error_rate = 1.0
    assert await raw.call("sendMessage", chat_id=alice.id, text="x") == (
        500,
        {"ok": False, "error_code": 500, "description": "Internal Server Error"},
    )
    assert sandbox.stats.faults["error_500"] >= 41


async def test_dropped_connections(sandbox: Sandbox, raw: Any, bot: telegram.Bot) -> None:
    [alice] = started_users(sandbox, 1)
    sandbox.faults.drop_before_processing_rate = 1.0
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await raw.call("sendMessage", chat_id=alice.id, text="lost")
    assert sandbox.inbox(alice) == []

    sandbox.faults.drop_before_processing_rate = 0.0
    sandbox.faults.drop_after_processing_rate = 1.0
    with pytest.raises(NetworkError):
        await bot.send_message(alice.id, "delivered anyway")
    assert [m.text for m in sandbox.inbox(alice)] == ["delivered anyway"]
    assert [(c.status, c.fault) for c in sandbox.calls_to("sendMessage")] == [
        (0, "drop_before_processing"),
        (0, "drop_after_processing"),
    ]

    sandbox.faults = Faults(drop_after_processing_rate=0.25, seed=3)
    outcomes = Counter()
    for _ in range(200):
        try:
            await raw.call("sendMessage", chat_id=alice.id, text="x")
            outcomes["ok"] += 1
        except aiohttp.ClientError:
            outcomes["dropped"] += 1
    assert 30 <= outcomes["dropped"] <= 70
    assert len(sandbox.inbox(alice)) == 1 + 200  # every call was processed


async def test_slow_answers(sandbox: Sandbox, raw: Any) -> None:
    [alice] = started_users(sandbox, 1)
    sandbox.faults = Faults(delay=0.2)
    started = time.monotonic()
    assert (await raw.call("sendMessage", chat_id=alice.id, text="x"))[0] == 200
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    await raw.call("getMe")
    assert time.monotonic() - started < 0.2
