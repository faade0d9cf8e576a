"""Planning ahead: when each pending link is released so that all go out by their due times."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from bot.delivery.pacing import release_times, released_count

RATE = 0.95 * 30  # messages a second
TEN = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def _send(dues: list[datetime], rate: float, start: datetime) -> list[datetime]:
    """When each link goes out if a sender, from `start`, sends one every 1/rate seconds, in
    due order, each once it or a later one is released (what released_count lets through)."""
    releases = release_times(dues, rate)
    ready = list(itertools.accumulate(reversed(releases), min))[::-1]
    gap = timedelta(seconds=1 / rate)
    sent: list[datetime] = []
    now = start
    for moment in ready:
        now = max(now, moment)
        sent.append(now)
        now += gap
    return sent


def test_five_thousand_due_at_once_start_about_five_thousand_sends_early() -> None:
    dues = [TEN] * 5000
    releases = release_times(dues, RATE)
    lead = (TEN - releases[0]).total_seconds()
    needed = 4999 / RATE  # about 175 s
    assert needed < lead < needed * 1.1 + 5
    # The last one waits until just before its time, not a minute early.
    assert TEN - timedelta(seconds=5) < releases[-1] < TEN
    sent = _send(dues, RATE, start=TEN - timedelta(hours=1))
    assert max(sent) <= TEN
    assert min(sent) >= TEN - timedelta(seconds=needed * 1.1 + 5)


def test_nothing_is_released_long_before_it_is_needed() -> None:
    dues = [TEN] * 5000
    assert released_count(release_times(dues, RATE), TEN - timedelta(minutes=4)) == 0
    # Once the first goes, the rest follow in due order at the pace of the sender.
    assert released_count(release_times(dues, RATE), TEN - timedelta(minutes=3)) > 0
    assert released_count(release_times(dues, RATE), TEN) == 5000


def test_two_clusters_the_later_one_pushes_the_earlier_one_forward() -> None:
    # 3,000 at 10:00 and 3,000 at 10:01: the second needs 105 s, so it overlaps the first,
    # which starts early enough for both.
    dues = [TEN] * 3000 + [TEN + timedelta(minutes=1)] * 3000
    releases = release_times(dues, RATE)
    lead = (TEN + timedelta(minutes=1) - releases[0]).total_seconds()
    assert 5999 / RATE < lead < 5999 / RATE * 1.1 + 5
    sent = _send(dues, RATE, start=TEN - timedelta(hours=1))
    assert max(sent[:3000]) <= TEN
    assert max(sent[3000:]) <= TEN + timedelta(minutes=1)
    # Earliest deadline first: no link of 10:01 goes before one of 10:00.
    assert max(sent[:3000]) < min(sent[3000:])


def test_a_small_meeting_goes_at_its_due_time() -> None:
    # One person at 10:30, nothing else near it.
    [release] = release_times([TEN + timedelta(minutes=30)], RATE)
    assert timedelta(0) < TEN + timedelta(minutes=30) - release <= timedelta(seconds=2)
    # A big fan-out at 10:00 does not pull it forward.
    dues = [TEN] * 2000 + [TEN + timedelta(minutes=30)]
    releases = release_times(dues, RATE)
    assert releases[-1] == release
    assert released_count(releases, TEN + timedelta(minutes=29)) == 2000


def test_an_earlier_deadline_never_waits_behind_a_released_later_one() -> None:
    # A lone link at 10:00 and a fan-out at 10:02 that must start before 10:00: the lone one
    # is released with it even though its own release time has not come.
    dues = [TEN, *([TEN + timedelta(minutes=2)] * 6000)]
    releases = release_times(dues, RATE)
    moment = releases[1]
    assert released_count(releases, moment) >= 2
    assert released_count([], TEN) == 0 and release_times([], RATE) == []


def test_paid_broadcast_rate_needs_little_lead() -> None:
    releases = release_times([TEN] * 5000, 0.95 * 1000)
    assert TEN - releases[0] < timedelta(seconds=10)
