"""Planning ahead: when each pending link must leave so that, at the rate Telegram allows,
every one goes out by its due time (earliest deadline first across meetings)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

# What the sender sustains when nobody says: 95 % of Telegram's 30 messages a second.
DEFAULT_SEND_RATE = 0.95 * 30
# How far ahead the sweep plans: a fan-out of up to an hour's worth of links starts in time.
LOOK_AHEAD = timedelta(hours=1)
# A link is released this share of its queueing lead, plus a little, before its latest start:
# other traffic (notices, replies, retries) shares the rate.
LEAD_SLACK = 0.1
RELEASE_SLACK = timedelta(seconds=2)
# Once one link is released, those released within the next few seconds join its batch: one
# claim (and one sweep) per link would cost more than the sending.
BATCH_WINDOW = timedelta(seconds=5)


def release_times(dues: Sequence[datetime], rate: float) -> list[datetime]:
    """When to release each pending link (due times, earliest first) so that, sent one after
    another at `rate` a second, every one goes out by its due time.

    Walking back from the last deadline, each link's latest start is its due time or one
    send before the next link's latest start, whichever is earlier; it is released a share of
    that lead, plus a little, before it. A link with nothing queued behind it is released
    just before its due time.
    """
    gap = timedelta(seconds=1 / rate)
    releases: list[datetime] = [dues[0]] * len(dues) if dues else []
    latest_start: datetime | None = None
    for index in range(len(dues) - 1, -1, -1):
        due = dues[index]
        latest_start = due if latest_start is None else min(due, latest_start - gap)
        releases[index] = latest_start - (due - latest_start) * LEAD_SLACK - RELEASE_SLACK
    return releases


def released_count(releases: Sequence[datetime], now: datetime) -> int:
    """How many links (earliest due first) go now: every one up to the last that is released,
    since an earlier deadline never waits behind a later one."""
    for index in range(len(releases) - 1, -1, -1):
        if releases[index] <= now:
            return index + 1
    return 0
