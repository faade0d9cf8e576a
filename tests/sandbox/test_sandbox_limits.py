"""Flood limits are strict sliding windows answering 429 with retry_after; faults hit the configured share."""

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
from bot.sandbox.limits import RateLimiter


def started_users(sandbox: Sandbox, count: int) -> list[Any]:
    """Users who have all started the bot."""
    users = [sandbox.create_user(f"User {n}") for n in range(count)]
    for user in users:
        sandbox.send_text(user, "/start")
    return users


def window_limiter(**limits: Any) -> RateLimiter:
    """The sandbox's flood limiter alone, driven with explicit times."""
    return RateLimiter(RateLimits(**limits))


def test_a_burst_after_an_idle_spell_still_counts() -> None:
    limiter = window_limiter()
    # Idle for a minute (a token bucket would be full), then 30 sends in half a second.
    times = [60 + n / 60 for n in range(30)]
    assert [
        limiter.check(t, 1000 + n, True, global_kind="regular") for n, t in enumerate(times)
    ] == [None] * 30
    # The 31st within the same second is refused, even just before the first one leaves it.
    assert limiter.check(60.999, 2000, True, global_kind="regular") == 1
    assert limiter.check(61.0, 2001, True, global_kind="regular") is None
    # Sending evenly just under 30 a second never trips the window.
    steady = window_limiter()
    assert all(
        steady.check(n * 0.035, 1000 + n, True, global_kind="regular") is None for n in range(300)
    )


def test_one_message_a_second_to_a_private_chat_without_burst() -> None:
    limiter = window_limiter()
    assert limiter.check(10.0, 1, True, global_kind="regular") is None
    assert limiter.check(10.5, 1, True, global_kind="regular") == 1  # no burst of three
    assert limiter.check(10.99, 1, True, global_kind="regular") == 1
    assert limiter.check(10.5, 2, True, global_kind="regular") is None  # other chats are free
    assert limiter.check(11.0, 1, True, global_kind="regular") is None
    # Edits and button answers are not messages sent to the chat.
    assert limiter.check(11.1, 1, True, global_kind=None) is None
    assert limiter.rejected_by_chat == {1: 2}


def test_twenty_a_minute_in_a_group_edits_included() -> None:
    limiter = window_limiter()
    group = -100
    for n in range(10):
        assert limiter.check(100.0 + n, group, False, global_kind="regular") is None
        assert limiter.check(100.5 + n, group, False, global_kind=None) is None  # an edit
    # 20 in the last minute: the next has to wait until the first is a minute old.
    assert limiter.check(159.0, group, False, global_kind=None) == 1
    assert limiter.check(130.0, group, False, global_kind="regular") == 30
    assert limiter.check(160.0, group, False, global_kind="regular") is None
    # Edits do not count against the 30 a second across chats.
    assert all(limiter.check(200.0, n, True, global_kind="regular") is None for n in range(30))


def test_scale_shortens_every_window() -> None:
    limiter = window_limiter(scale=10)
    assert limiter.check(5.0, 1, True, global_kind="regular") is None
    assert limiter.check(5.05, 1, True, global_kind="regular") == 1  # whole seconds, never 0
    assert limiter.check(5.1, 1, True, global_kind="regular") is None
    assert all(limiter.check(6.0, n, True, global_kind="regular") is None for n in range(2, 32))
    assert limiter.check(6.09, 99, True, global_kind="regular") == 1
    assert limiter.check(6.1, 99, True, global_kind="regular") is None


async def test_private_chat_flood_then_recovery(sandbox: Sandbox, raw: Any) -> None:
    sandbox.limits = RateLimits(scale=10)  # one message per 0.1 s to a chat
    [alice] = started_users(sandbox, 1)
    assert (await raw.call("sendMessage", chat_id=alice.id, text="x"))[0] == 200
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


async def test_group_limit_retry_after_is_when_the_window_frees(
    sandbox: Sandbox, raw: Any
) -> None:
    sandbox.limits = RateLimits()  # 20 in any minute
    group = sandbox.create_group("Team")
    for _ in range(20):
        assert (await raw.call("sendMessage", chat_id=group.id, text="x"))[0] == 200
    status, body = await raw.call("sendMessage", chat_id=group.id, text="x")
    assert status == 429 and body["parameters"]["retry_after"] == 60
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
    sandbox.faults = Faults(delay=1.0)
    started = time.monotonic()
    send = asyncio.create_task(raw.call("sendMessage", chat_id=alice.id, text="x"))
    await sandbox.wait_for(sandbox.requests_in_flight, message="the send to arrive")
    # Only sending methods are slowed: a look-up made meanwhile is answered before the send.
    assert (await raw.call("getMe"))[0] == 200
    assert not send.done()
    assert (await send)[0] == 200
    assert time.monotonic() - started >= 1.0
