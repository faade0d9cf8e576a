"""Telegram-like flood limits and injectable faults (errors, dropped connections, slowness)."""

from __future__ import annotations

import math
import random
from collections import Counter, deque
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
    """Telegram's flood limits as strict sliding windows: at most N sends in any window.

    Telegram does not publish its algorithm; a strict window is the pessimistic reading, so a
    burst after an idle spell still counts. `scale` shortens every window (rates times scale),
    as if time ran faster.
    """

    global_per_second: int = 30  # sendMessage, sendDocument ... across all chats
    paid_per_second: int = 1000  # the same with allow_paid_broadcast
    private_per_second: int = 1  # to one private chat
    group_per_minute: int = 20  # to one group, edits included
    scale: float = 1.0
    enabled: bool = True

    @classmethod
    def unlimited(cls) -> RateLimits:
        """No flood limits at all, for ordinary tests."""
        return cls(enabled=False)


@dataclass
class _Window:
    """The times of the sends counted in one sliding window (a global one or a chat's)."""

    times: deque[float] = field(default_factory=deque)

    def wait(self, now: float, limit: int, seconds: float) -> float:
        """Seconds until one more send fits (0 when it fits now); forgets expired sends."""
        while self.times and self.times[0] <= now - seconds:
            self.times.popleft()
        if len(self.times) < limit:
            return 0.0
        return self.times[len(self.times) - limit] + seconds - now


@dataclass
class RateLimiter:
    """Applies RateLimits to sending calls: a global window and one window per chat.

    What counts, as in Telegram: a new message (sendMessage, sendDocument) counts in the global
    window of its kind ("regular", or "paid" with allow_paid_broadcast) and in its chat's window;
    an edit counts only in a group's window (20 a minute, edits included); edits in private
    chats and answerCallbackQuery are not messages sent and are not limited.
    """

    limits: RateLimits
    rejected: int = 0  # 429s answered
    rejected_by_chat: Counter[int] = field(default_factory=Counter)
    # Chat windows are keyed by chat id, global ones by "regular" or "paid".
    _windows: dict[int | str, _Window] = field(default_factory=dict)

    def check(
        self, now: float, chat_id: int, private: bool, *, global_kind: str | None
    ) -> int | None:
        """Count a send in every window that applies; retry_after seconds if one is full."""
        if not self.limits.enabled:
            return None
        wanted: list[tuple[int | str, int, float]] = []
        # Edits pass global_kind=None: they count against a group's budget only.
        if global_kind is not None:
            wanted.append((global_kind, *self._global_window(global_kind)))
            wanted.append((chat_id, *self._chat_window(private)))
        elif not private:
            wanted.append((chat_id, *self._chat_window(private)))
        if not wanted:
            return None
        windows = [(self._windows.setdefault(key, _Window()), n, s) for key, n, s in wanted]
        wait = max(window.wait(now, limit, seconds) for window, limit, seconds in windows)
        if wait > 0:
            self.rejected += 1
            self.rejected_by_chat[chat_id] += 1
            # Telegram answers whole seconds and never 0.
            return max(1, math.ceil(wait))
        for window, _, _ in windows:
            window.times.append(now)
        return None

    def _chat_window(self, private: bool) -> tuple[int, float]:
        """How many sends a chat's window holds, and its length in seconds."""
        limits = self.limits
        if private:
            return limits.private_per_second, 1.0 / limits.scale
        return limits.group_per_minute, 60.0 / limits.scale

    def _global_window(self, kind: str) -> tuple[int, float]:
        """How many sends a global window holds, and its length in seconds."""
        limits = self.limits
        per_second = limits.paid_per_second if kind == "paid" else limits.global_per_second
        return per_second, 1.0 / limits.scale


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
