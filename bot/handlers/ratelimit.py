"""Paces messages under Telegram's flood limits, read as strict sliding windows; replies first.

Telegram allows about 30 messages a second across chats (1,000 with allow_paid_broadcast), one
a second to a private chat and 20 a minute to a group (edits included), and does not say how it
counts. We plan for the strictest reading, a sliding window: at most N sends in *any* window, so
a burst after an idle spell counts like any other. A request is released only when it fits
windows a little longer than Telegram's (the margin covers jitter between our release and the
request's arrival at the server), and the global sends are spread evenly over the window, so a
window never fills in one burst at its edge.

Waiting requests sit in a priority queue: replies to people (anything a handler sends, the
default) go before bulk traffic (links and notices from the delivery sweep, marked with
`rate_limit_args=Lane.BULK`), first come first served within a lane. A request whose chat is
still cooling down does not hold up the others.

A 429 pauses every request for its retry_after; afterwards the queue drains at the paced rate,
not all at once. A bulk request's RetryAfter reaches the caller (the delivery sweep writes the
new due time in the database, which survives a restart); a reply is tried again after the pause
a bounded number of times, since nothing else would resend it.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from enum import IntEnum
from typing import Any

from telegram._utils.types import JSONDict
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

GLOBAL_PER_SECOND = 30
PAID_PER_SECOND = 1000
GROUP_PER_MINUTE = 20
PRIVATE_INTERVAL = 1.0  # seconds between two messages to one private chat
# Seconds added to every window: a release and the request's arrival at Telegram are a few
# milliseconds apart, more on a busy event loop or network. 40 ms keeps 0.96 of the rate.
MARGIN = 0.04
# Global sends that may go back to back after a pause in traffic (then one per slot): enough to
# make up for a late timer or the event loop busy preparing the next batch of links (up to a
# quarter second), far from a window's worth.
CATCH_UP = 8
REPLY_RETRIES = 2
# Methods that are not messages: edits outside groups, callback answers, chat actions and every
# look-up (getChat, getChatMember, getMe, setMyCommands ...) go straight through.
_NOT_MESSAGES = frozenset({"sendChatAction"})
_ALSO_MESSAGES = frozenset({"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"})
_GROUP_EDITS = frozenset({"stopPoll", "stopMessageLiveLocation"})


class Lane(IntEnum):
    """Which waiting requests go first (lower first)."""

    REPLY = 0  # someone is waiting for an answer: anything a handler sends
    BULK = 1  # links and notices from the delivery sweep


def sustained_rate(*, paid: bool = False, scale: float = 1.0, margin: float = MARGIN) -> float:
    """Messages a second the limiter keeps up across chats in a long fan-out."""
    limit = PAID_PER_SECOND if paid else GLOBAL_PER_SECOND
    return limit / (1.0 / scale + margin)


@dataclass(frozen=True)
class Cost:
    """What one request counts against: a global window (None for edits) and its chat."""

    global_kind: str | None  # "regular" or "paid" (allow_paid_broadcast)
    chat: int | str
    private: bool


def cost_of(endpoint: str, data: dict[str, Any]) -> Cost | None:
    """The windows a request counts in, or None when Telegram does not limit it."""
    chat_id = data.get("chat_id")
    if chat_id is None:
        return None
    chat: int | str = chat_id
    with contextlib.suppress(ValueError, TypeError):
        chat = int(chat_id)
    # Private chats have positive ids; groups negative ones, channels may be "@name".
    private = isinstance(chat, int) and chat > 0
    sends = (
        endpoint.startswith("send") and endpoint not in _NOT_MESSAGES
    ) or endpoint in _ALSO_MESSAGES
    if sends:
        kind = "paid" if data.get("allow_paid_broadcast") else "regular"
        return Cost(global_kind=kind, chat=chat, private=private)
    if (endpoint.startswith("editMessage") or endpoint in _GROUP_EDITS) and not private:
        return Cost(global_kind=None, chat=chat, private=False)
    return None


@dataclass(eq=False)
class Ticket:
    """A request waiting for its turn."""

    cost: Cost
    lane: Lane
    seq: int
    payload: Any = None

    @property
    def order(self) -> tuple[int, int]:
        """Priority, then arrival."""
        return (self.lane, self.seq)


@dataclass
class _Global:
    """One global window: recent send times and the even spacing of sends (GCRA)."""

    limit: int
    window: float
    times: deque[float] = field(init=False)
    next_slot: float = -math.inf  # the theoretical time of the next send

    def __post_init__(self) -> None:
        self.times = deque(maxlen=self.limit)

    @property
    def spacing(self) -> float:
        """Seconds between two sends at the full rate."""
        return self.window / self.limit

    def ready_at(self) -> float:
        """When the next send fits both the window and the spacing."""
        fits = self.times[0] + self.window if len(self.times) == self.limit else -math.inf
        return max(fits, self.next_slot - (CATCH_UP - 1) * self.spacing)

    def take(self, now: float) -> None:
        """Count a send made now."""
        self.times.append(now)
        self.next_slot = max(self.next_slot, now) + self.spacing


class SendSchedule:
    """The pacing decisions alone, on a clock passed in: which waiting tickets go now."""

    def __init__(self, *, scale: float = 1.0, margin: float = MARGIN) -> None:
        self._globals = {
            "regular": _Global(GLOBAL_PER_SECOND, 1.0 / scale + margin),
            "paid": _Global(PAID_PER_SECOND, 1.0 / scale + margin),
        }
        self._private_interval = PRIVATE_INTERVAL / scale + margin
        self._group_window = 60.0 / scale + margin
        self._margin = margin
        self._private_last: dict[int | str, float] = {}
        self._group_times: dict[int | str, deque[float]] = {}
        self._paused_until = -math.inf
        self._queue: list[Ticket] = []
        self._numbers = itertools.count()
        self._taken = 0

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, cost: Cost, lane: Lane, payload: Any = None, seq: int | None = None) -> Ticket:
        """Queue a request (a retried one keeps its old place with its old seq)."""
        ticket = Ticket(cost, lane, next(self._numbers) if seq is None else seq, payload)
        bisect.insort(self._queue, ticket, key=lambda t: t.order)
        return ticket

    def discard(self, ticket: Ticket) -> None:
        """Forget a ticket nobody waits for any more."""
        with contextlib.suppress(ValueError):
            self._queue.remove(ticket)

    def pause(self, now: float, seconds: float) -> None:
        """Release nothing for `seconds` (Telegram answered 429)."""
        self._paused_until = max(self._paused_until, now + seconds + self._margin)

    def release(self, now: float) -> tuple[list[Ticket], float | None]:
        """Tickets that may go now (counted as sent now), and when to look again."""
        released: list[Ticket] = []
        while True:
            soonest = math.inf
            for ticket in self._queue:
                ready = self.ready_at(ticket.cost)
                if ready <= now + 1e-6:  # timers may fire a hair early
                    self._queue.remove(ticket)
                    self._take(ticket.cost, now)
                    released.append(ticket)
                    break
                soonest = min(soonest, ready)
            else:
                return released, (soonest if self._queue else None)

    def ready_at(self, cost: Cost) -> float:
        """The earliest time a request with this cost fits every window."""
        ready = self._paused_until
        if cost.global_kind is not None:
            ready = max(ready, self._globals[cost.global_kind].ready_at())
        if cost.private:
            last = self._private_last.get(cost.chat)
            if last is not None:
                ready = max(ready, last + self._private_interval)
        else:
            times = self._group_times.get(cost.chat)
            if times is not None and len(times) == GROUP_PER_MINUTE:
                ready = max(ready, times[0] + self._group_window)
        return ready

    def _take(self, cost: Cost, now: float) -> None:
        if cost.global_kind is not None:
            self._globals[cost.global_kind].take(now)
        if cost.private:
            self._private_last[cost.chat] = now
        else:
            self._group_times.setdefault(cost.chat, deque(maxlen=GROUP_PER_MINUTE)).append(now)
        self._taken += 1
        if self._taken % 1024 == 0:
            self._forget_idle_chats(now)

    def _forget_idle_chats(self, now: float) -> None:
        """Drop chats whose windows are empty, so memory follows recent traffic only."""
        self._private_last = {
            chat: last
            for chat, last in self._private_last.items()
            if last + self._private_interval > now
        }
        self._group_times = {
            chat: times
            for chat, times in self._group_times.items()
            if times[-1] + self._group_window > now
        }


def _seconds(error: RetryAfter) -> float:
    """retry_after in seconds, whether PTB gives an int or a timedelta."""
    retry_after: Any = error.retry_after
    if isinstance(retry_after, timedelta):
        return retry_after.total_seconds()
    return float(retry_after)


class PacedRateLimiter(BaseRateLimiter[Lane]):
    """Releases each message when it fits Telegram's windows, replies before bulk traffic."""

    def __init__(
        self,
        *,
        scale: float = 1.0,
        margin: float = MARGIN,
        reply_retries: int = REPLY_RETRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._schedule = SendSchedule(scale=scale, margin=margin)
        self._reply_retries = reply_retries
        self._clock = clock
        self._timer: asyncio.TimerHandle | None = None

    @property
    def waiting(self) -> int:
        """Requests queued for their turn."""
        return len(self._schedule)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Stop the wake-up timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Lane | None,
    ) -> bool | JSONDict | list[JSONDict]:
        """Wait for the request's turn, then make it; replies retry after a 429."""
        cost = cost_of(endpoint, data)
        if cost is None:
            return await callback(*args, **kwargs)
        lane = Lane(rate_limit_args) if rate_limit_args is not None else Lane.REPLY
        retries = self._reply_retries if lane is Lane.REPLY else 0
        seq: int | None = None
        attempt = 0
        while True:
            seq = await self._turn(cost, lane, seq)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                seconds = _seconds(error)
                self._schedule.pause(self._clock(), seconds)
                self._wake()
                if attempt >= retries:
                    raise
                attempt += 1
                log.warning("%s to %s hit a 429; retrying in %g s", endpoint, cost.chat, seconds)

    async def _turn(self, cost: Cost, lane: Lane, seq: int | None) -> int:
        """Wait until the schedule releases this request; returns its place in the queue."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        ticket = self._schedule.add(cost, lane, future, seq)
        self._wake()
        try:
            await future
        except asyncio.CancelledError:
            self._schedule.discard(ticket)
            raise
        return ticket.seq

    def _wake(self) -> None:
        """Release what fits now and set a timer for the next request that will fit."""
        now = self._clock()
        released, next_time = self._schedule.release(now)
        for ticket in released:
            future: asyncio.Future[None] = ticket.payload
            if not future.done():
                future.set_result(None)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if next_time is not None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(max(0.0, next_time - now), self._wake)
