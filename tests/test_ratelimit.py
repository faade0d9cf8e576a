"""The bot's rate limiter: paced for strict sliding windows, replies before bulk traffic."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import AsyncIterator

import pytest
from telegram.error import RetryAfter
from telegram.ext import ExtBot

from bot.handlers.ratelimit import (
    CATCH_UP,
    Cost,
    Lane,
    PacedRateLimiter,
    SendSchedule,
    Ticket,
    cost_of,
    sustained_rate,
)
from bot.sandbox import RateLimits, Sandbox
from bot.sandbox.limits import RateLimiter
from bot.sandbox.models import User
from tests.conftest import BOT_TOKEN


def private(chat: int, kind: str = "regular") -> Cost:
    """A message to a private chat."""
    return Cost(global_kind=kind, chat=chat, private=True)


def run(
    schedule: SendSchedule, start: float = 0.0, until: float = 1e9, jitter: float = 0.0
) -> tuple[list[tuple[float, Ticket]], RateLimiter]:
    """Drive the schedule on a fake clock until its queue is empty (or `until`).

    Every release reaches a server enforcing Telegram's strict windows after up to `jitter`
    seconds; returns the releases and that server's limiter (which counts its 429s).
    """
    rng = random.Random(1)
    now = start
    released: list[tuple[float, Ticket]] = []
    while now <= until:
        tickets, next_time = schedule.release(now)
        released += [(now, ticket) for ticket in tickets]
        if next_time is None:
            break
        now = next_time
    server = RateLimiter(RateLimits())
    arrivals = sorted(
        ((at + rng.uniform(0, jitter), ticket) for at, ticket in released), key=lambda a: a[0]
    )
    for at, ticket in arrivals:
        cost = ticket.cost
        server.check(at, int(cost.chat), cost.private, global_kind=cost.global_kind)
    return released, server


def test_a_fan_out_fits_the_strict_window_at_over_95_percent_of_the_rate() -> None:
    schedule = SendSchedule()
    for chat in range(1, 1001):
        schedule.add(private(chat), Lane.BULK)
    released, server = run(schedule, start=100.0, jitter=0.03)
    assert server.rejected == 0
    took = released[-1][0] - released[0][0]
    assert 1000 / took >= 0.95 * 30
    # Spread out: never more than CATCH_UP sends in the same instant, never 30 in 0.7 s.
    times = [at for at, _ in released]
    assert max(times.count(t) for t in set(times)) <= CATCH_UP
    assert all(times[n + 29] - times[n] >= 0.7 for n in range(len(times) - 29))


def test_one_message_a_second_per_private_chat_and_twenty_a_minute_per_group() -> None:
    schedule = SendSchedule()
    for _ in range(3):
        schedule.add(private(7), Lane.REPLY)
    group = Cost(global_kind="regular", chat=-100, private=False)
    group_edit = Cost(global_kind=None, chat=-100, private=False)
    for _ in range(15):
        schedule.add(group, Lane.BULK)
        schedule.add(group_edit, Lane.BULK)
    released, server = run(schedule, jitter=0.03)
    assert server.rejected == 0
    to_seven = [at for at, ticket in released if ticket.cost.chat == 7]
    assert [round(b - a, 2) for a, b in itertools.pairwise(to_seven)] == [1.04, 1.04]
    to_group = [at for at, ticket in released if ticket.cost.chat == -100]
    assert to_group[19] < 1 and to_group[20] >= 60  # 20 at once, the rest a minute later


def test_replies_go_before_bulk_first_come_first_served() -> None:
    schedule = SendSchedule()
    bulk = [schedule.add(private(chat), Lane.BULK) for chat in range(1, 61)]
    released, _ = run(schedule, until=0.5)  # the fan-out is under way
    replies = [schedule.add(private(chat), Lane.REPLY) for chat in (1001, 1002)]
    more, _server = run(schedule, start=0.5)
    order = [ticket for _, ticket in more]
    assert order[:2] == replies
    assert order[2:] == bulk[len(released) :]
    # The first reply went at the next slot, within one spacing of 1.04 s / 30.
    assert more[0][0] - 0.5 <= 1.04 / 30


def test_a_chat_cooling_down_does_not_hold_up_the_queue() -> None:
    schedule = SendSchedule()
    schedule.add(private(5), Lane.BULK)
    assert [t.cost.chat for t in schedule.release(10.0)[0]] == [5]
    # A reply to chat 5 must wait a second; bulk to other chats goes meanwhile.
    reply = schedule.add(private(5), Lane.REPLY)
    others = [schedule.add(private(chat), Lane.BULK) for chat in range(6, 16)]
    released, _server = run(schedule, start=10.0)
    assert [ticket for _, ticket in released[:10]] == others
    assert released[-1] == (pytest.approx(11.04), reply)


def test_after_a_429_the_queue_resumes_at_the_paced_rate() -> None:
    schedule = SendSchedule()
    for chat in range(1, 101):
        schedule.add(private(chat), Lane.BULK)
    schedule.pause(now=0.0, seconds=3)
    released, _ = run(schedule)
    times = [at for at, _ in released]
    assert times[0] >= 3.0
    assert sum(1 for at in times if at < times[0] + 0.1) <= CATCH_UP + 2  # no thundering herd


def test_paid_broadcast_paces_at_a_thousand_a_second() -> None:
    schedule = SendSchedule()
    for chat in range(1, 2001):
        schedule.add(private(chat, "paid"), Lane.BULK)
    released, server = run(schedule, jitter=0.02)
    assert server.rejected == 0
    assert released[-1][0] < 2.2  # 2,000 in about two windows of 1.04 s


def test_only_messages_are_paced() -> None:
    assert cost_of("sendMessage", {"chat_id": 5, "text": "x"}) == private(5)
    assert cost_of("sendDocument", {"chat_id": "5", "allow_paid_broadcast": True}) == private(
        5, "paid"
    )
    assert cost_of("editMessageText", {"chat_id": -100}) == Cost(None, -100, False)
    for endpoint, data in [
        ("editMessageText", {"chat_id": 5}),  # edits in private chats are not messages
        ("answerCallbackQuery", {"callback_query_id": "1"}),
        ("getChatMember", {"chat_id": -100, "user_id": 5}),
        ("getChat", {"chat_id": -100}),
        ("setMyCommands", {"commands": []}),
        ("sendChatAction", {"chat_id": 5, "action": "typing"}),
        ("deleteMessage", {"chat_id": -100, "message_id": 1}),
    ]:
        assert cost_of(endpoint, data) is None, endpoint


# --- the limiter in python-telegram-bot, against the sandbox at Telegram's real limits ---


@pytest.fixture
async def paced_bot(sandbox: Sandbox) -> AsyncIterator[ExtBot[Lane]]:
    """A PTB bot with our limiter, talking to a sandbox that enforces strict windows."""
    sandbox.limits = RateLimits()
    async with ExtBot(
        BOT_TOKEN, base_url=sandbox.base_url, rate_limiter=PacedRateLimiter()
    ) as bot:
        yield bot


def started(sandbox: Sandbox, count: int) -> list[User]:
    """Users who have started the bot."""
    users = [sandbox.create_user(f"User {n}") for n in range(count)]
    for user in users:
        user.started = user.seen = True
    return users


async def test_a_reply_overtakes_a_fan_out_without_any_429(
    sandbox: Sandbox, paced_bot: ExtBot[Lane]
) -> None:
    people = started(sandbox, 45)
    [asker] = started(sandbox, 1)
    fan_out = [
        asyncio.create_task(paced_bot.send_message(p.id, "link", rate_limit_args=Lane.BULK))
        for p in people
    ]
    await asyncio.sleep(0.3)
    sent_before = len(sandbox.calls_to("sendMessage"))
    await paced_bot.send_message(asker.id, "help")
    second = time.perf_counter()
    await paced_bot.send_message(asker.id, "help again")  # one a second in a private chat
    assert time.perf_counter() - second >= 1.0
    await asyncio.gather(*fan_out)
    assert sandbox.stats.rate_limited == 0
    assert all(len(sandbox.inbox(p)) == 1 for p in people)
    # The reply took the next free slot, ahead of the ~35 links still queued.
    chats = [call.params["chat_id"] for call in sandbox.calls_to("sendMessage")]
    assert sent_before >= 5 and chats.index(asker.id) <= sent_before + 1


async def test_a_429_pauses_and_a_reply_is_sent_again_but_bulk_hears_of_it(
    sandbox: Sandbox, paced_bot: ExtBot[Lane], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    alice, bob = started(sandbox, 2)
    # Another process sent to Alice a moment ago: our limiter cannot know; Telegram says 429.
    sandbox.api.limiter.check(time.monotonic(), alice.id, True, global_kind="regular")
    began = time.perf_counter()
    await paced_bot.send_message(alice.id, "reply")
    assert time.perf_counter() - began >= 1.0  # waited out retry_after, then sent again
    assert [m.text for m in sandbox.inbox(alice)] == ["reply"]
    sandbox.api.limiter.check(time.monotonic(), bob.id, True, global_kind="regular")
    with pytest.raises(RetryAfter):
        await paced_bot.send_message(bob.id, "link", rate_limit_args=Lane.BULK)
    assert sandbox.inbox(bob) == [] and sandbox.stats.rate_limited == 2


def test_the_sustained_rate_is_what_a_long_fan_out_gets() -> None:
    schedule = SendSchedule()
    for chat in range(1, 301):
        schedule.add(private(chat), Lane.BULK)
    released, _server = run(schedule)
    rate = 300 / released[-1][0]
    assert sustained_rate() == pytest.approx(30 / 1.04)
    assert rate == pytest.approx(sustained_rate(), rel=0.03)
    assert sustained_rate(paid=True, scale=2) == pytest.approx(1000 / 0.54)
