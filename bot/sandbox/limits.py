"""Telegram-like flood limits and injectable faults (errors, dropped connections, slowness)."""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field

# Methods that post or change messages: the ones Telegram rate-limits and the ones that fail
# in interesting ways, so faults hit them and leave getUpdates alone.
SENDING_METHODS = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "editMessageText",
        "editMessageReplyMarkup",
        "deleteMessage",
        "answerCallbackQuery",
    }
)


@dataclass
class RateLimits:
    """Allowed message rates; scale multiplies every rate (bursts stay), as if time ran faster."""

    global_per_second: float = 30.0
    paid_per_second: float = 1000.0  # with allow_paid_broadcast
    private_per_second: float = 1.0
    private_burst: int = 3
    group_per_minute: float = 20.0
    group_burst: int = 20
    scale: float = 1.0
    enabled: bool = True

    @classmethod
    def unlimited(cls) -> RateLimits:
        """No flood limits at all, for ordinary tests."""
        return cls(enabled=False)


@dataclass
class _Bucket:
    """A token bucket; rate and capacity come from the current RateLimits on every use."""

    tokens: float
    updated: float

    def refill(self, now: float, rate: float, capacity: float) -> None:
        """Add the tokens earned since the last use."""
        self.tokens = min(capacity, self.tokens + (now - self.updated) * rate)
        self.updated = now

    def wait(self, rate: float) -> float:
        """Seconds until one token is available (0 when one is there now)."""
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / rate


@dataclass
class RateLimiter:
    """Applies RateLimits to sending calls: global buckets and one bucket per chat."""

    limits: RateLimits
    rejected: int = 0  # 429s answered
    rejected_by_chat: Counter[int] = field(default_factory=Counter)
    # Chat buckets are keyed by chat id, global ones by "regular" or "paid".
    _buckets: dict[int | str, _Bucket] = field(default_factory=dict)

    def check(
        self, now: float, chat_id: int, private: bool, *, global_kind: str | None
    ) -> int | None:
        """Take a token from every bucket that applies; retry_after seconds if one is empty."""
        if not self.limits.enabled:
            return None
        wanted: list[tuple[int | str, float, float]] = [(chat_id, *self._chat_rate(private))]
        # Edits pass global_kind=None: they count against their chat only.
        if global_kind is not None:
            wanted.append((global_kind, *self._global_rate(global_kind)))
        buckets = []
        for key, rate, capacity in wanted:
            bucket = self._buckets.setdefault(key, _Bucket(tokens=capacity, updated=now))
            bucket.refill(now, rate, capacity)
            buckets.append((bucket, rate))
        wait = max(bucket.wait(rate) for bucket, rate in buckets)
        if wait > 0:
            self.rejected += 1
            self.rejected_by_chat[chat_id] += 1
            # Telegram answers whole seconds and never 0.
            return max(1, math.ceil(wait))
        for bucket, _ in buckets:
            bucket.tokens -= 1
        return None

    def _chat_rate(self, private: bool) -> tuple[float, float]:
        """Tokens per second and capacity of a chat's bucket."""
        limits = self.limits
        if private:
            return limits.private_per_second * limits.scale, float(limits.private_burst)
        return limits.group_per_minute / 60 * limits.scale, float(limits.group_burst)

    def _global_rate(self, kind: str) -> tuple[float, float]:
        """Tokens per second and capacity (one second's worth) of a global bucket."""
        limits = self.limits
        per_second = limits.paid_per_second if kind == "paid" else limits.global_per_second
        return per_second * limits.scale, per_second


# Fault kinds, in the order one random draw is mapped onto them.
DROP_BEFORE = "drop_before_processing"
ERROR_500 = "error_500"
ERROR_502 = "error_502"
DROP_AFTER = "drop_after_processing"


@dataclass
class Faults:
    """Shares of calls that fail; change the fields at any time, draws use a seeded Random."""

    error_rate: float = 0.0  # answered 500 Internal Server Error, nothing done
    bad_gateway_rate: float = 0.0  # answered 502 Bad Gateway, nothing done
    drop_before_processing_rate: float = 0.0  # connection closed, nothing done
    drop_after_processing_rate: float = 0.0  # done, but the client sees a dropped connection
    delay: float = 0.0  # seconds added before answering
    delay_rate: float = 1.0  # share of calls that get the delay
    methods: frozenset[str] | None = SENDING_METHODS  # None: every method
    seed: int = 0
    rng: random.Random = field(init=False, repr=False)
    injected: Counter[str] = field(default_factory=Counter, init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def applies_to(self, method: str) -> bool:
        """Whether faults may hit this (canonical) method name."""
        return self.methods is None or method.lower() in {m.lower() for m in self.methods}

    def draw(self, method: str) -> tuple[str | None, float]:
        """The fault for one call (None for a clean answer) and the delay to add."""
        if not self.applies_to(method):
            return None, 0.0
        delay = self.delay if self.delay > 0 and self.rng.random() < self.delay_rate else 0.0
        roll = self.rng.random()
        for kind, share in (
            (DROP_BEFORE, self.drop_before_processing_rate),
            (ERROR_500, self.error_rate),
            (ERROR_502, self.bad_gateway_rate),
            (DROP_AFTER, self.drop_after_processing_rate),
        ):
            if roll < share:
                self.injected[kind] += 1
                return kind, delay
            roll -= share
        return None, delay
