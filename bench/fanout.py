"""Fan-out: personal links against the sandbox enforcing Telegram's real limits, strictly.

The real bot (python-telegram-bot Application built by build_application) talks over HTTP to
the sandbox, which enforces RateLimits() at scale 1 as strict sliding windows: at most 30
messages in any second across chats, 1 a second to a private chat. People are put straight
into the database with the domain functions and into the sandbox as users who started the
bot. Then the bot's clock is set to the reminder time and the delivery sweep is driven
directly until no row is pending. The bot's clock runs with real time (idle spells are skipped),
so a link that goes out late is measured late.

Default: one meeting of 30, one of 200 and one of 1,000 people (about a minute).
--scenario same-minute: 5,000 links due in the same minute, 100 meetings x 50 people all
starting at 10:00 (a school's timetable), about four minutes: how many links arrive after
their due time.

    .venv/bin/python -m bench.fanout [--participants N] [--scale 1] [--concurrency N]
    .venv/bin/python -m bench.fanout --scenario same-minute
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib.util
import logging
import pstats
import re
import sys
import time
import types
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from bench._common import (
    TELEGRAM_RATE,
    Arrivals,
    RunningClock,
    running_bot,
    seed_meeting,
    started_users,
)
from bot.delivery.sending import DeliveryService
from bot.sandbox.harness import BotHarness
from bot.sandbox.models import User as SandboxUser
from storage.models import Delivery, DeliveryStatus

START = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
MEETING_START = START + timedelta(hours=2)
GOAL_SHARE = 0.95
SIZES = (30, 200, 1000)
SAME_MINUTE_MEETINGS = 100
SAME_MINUTE_PEOPLE = 50
# The bot sweeps every minute (and when the sweep says something falls due sooner).
SWEEP_EVERY = timedelta(minutes=1)
# A wait longer than this between sweeps is an idle spell, skipped on the bot's clock; a
# shorter one (a row put back for a few seconds) is waited out for real.
SKIP_IDLE_OVER = timedelta(seconds=5)
LINK = re.compile(r"\?jwt=[A-Za-z0-9_\-.]+")


class _LogCounter(logging.Handler):
    """Counts warnings and errors by logger instead of printing 1,000 tracebacks."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[f"{record.levelname} {record.name}: {record.getMessage()[:60]}"] += 1


def _time_db_steps(delivery: DeliveryService) -> dict[str, float]:
    """Wrap the service's synchronous database steps to add up the seconds spent in them.

    They run on the event loop without awaiting, so their wall time is their own cost.
    """
    spent: dict[str, float] = defaultdict(float)
    for name in ("_claim_due", "_prepare", "_record"):
        original = getattr(delivery, name, None)
        if original is None:
            continue

        def timed(*args: Any, _original: Any = original, _name: str = name, **kw: Any) -> Any:
            began = time.perf_counter()
            try:
                return _original(*args, **kw)
            finally:
                spent[_name] += time.perf_counter() - began

        setattr(delivery, name, timed)
    return spent


def _in_flight(harness: BotHarness, meeting_ids: set[int]) -> int:
    with Session(harness.services.engine) as session:
        return session.exec(
            select(func.count())
            .select_from(Delivery)
            .where(
                col(Delivery.meeting_id).in_(meeting_ids),
                col(Delivery.status).in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
            )
        ).one()


async def sweep_until_done(
    harness: BotHarness, clock: RunningClock, meeting_ids: set[int], give_up_after: float
) -> tuple[int, int]:
    """Run sweeps as the bot would until these meetings' links are out; (sweeps, retried)."""
    delivery = harness.services.delivery
    assert delivery is not None
    began = time.perf_counter()
    sweeps = retried = 0
    while True:
        report = await delivery.sweep()
        sweeps += 1
        retried += report.retried
        if _in_flight(harness, meeting_ids) == 0:
            return sweeps, retried
        wait = SWEEP_EVERY
        if report.next_due is not None:
            wait = min(wait, report.next_due - clock())
        if wait > SKIP_IDLE_OVER:
            clock.advance(wait)  # nothing is sent until then: skip it
        else:
            await asyncio.sleep(max(wait.total_seconds(), 0.02))
        if time.perf_counter() - began > give_up_after:
            print(f"gave up after {give_up_after:.0f} s with rows still pending")
            return sweeps, retried


@dataclass
class Outcome:
    """What the people received."""

    links: int
    lost: int
    duplicates: int
    first_link: dict[int, Any]  # user id -> arrival of their first link message


def _outcome(
    harness: BotHarness, arrivals: Arrivals, people: Sequence[SandboxUser], meeting_ids: set[int]
) -> Outcome:
    """Links received per person, against the database's sent rows."""
    with Session(harness.services.engine) as session:
        sent_rows = set(
            session.exec(
                select(Delivery.user_id).where(
                    col(Delivery.meeting_id).in_(meeting_ids),
                    Delivery.status == DeliveryStatus.SENT,
                )
            ).all()
        )
    links = lost = duplicates = 0
    first_link: dict[int, Any] = {}
    for user in people:
        received = [(at, text) for at, text in arrivals.messages[user.id] if LINK.search(text)]
        links += len(received)
        if user.id not in sent_rows or not received:
            lost += 1
        else:
            first_link[user.id] = received[0][0]
        duplicates += len(received) > 1
    return Outcome(links, lost, duplicates, first_link)


@dataclass
class FanOut:
    """One fan-out's figures."""

    participants: int
    wall: float  # reminder time -> nothing pending
    sending: float  # reminder time -> the last link arrived
    rejected: int
    retried: int
    sweeps: int
    outcome: Outcome
    db_seconds: float

    @property
    def share(self) -> float:
        """Links per second while sending, as a share of Telegram's 30 a second."""
        return self.outcome.links / self.sending / TELEGRAM_RATE if self.sending else 0.0


async def fan_out(
    participants: int, scale: float, concurrency: int | None, profile: str | None = None
) -> FanOut:
    """One meeting of `participants` people: seed, jump to the reminder time, sweep until done."""
    clock = RunningClock(START)
    async with running_bot(clock, scale) as (sandbox, harness):
        people = started_users(sandbox, participants)
        meeting_id = seed_meeting(
            harness.services.engine,
            harness.services.rules,
            people=people,
            title="All hands",
            starts_at=MEETING_START,
            now=clock(),
        )
        arrivals = Arrivals(sandbox)
        delivery = harness.services.delivery
        assert delivery is not None
        if concurrency is not None:
            delivery._concurrency = concurrency
        timers = _time_db_steps(delivery)
        await asyncio.sleep(0.3)  # let the start-up sweep (nothing due) finish
        limited_before = sandbox.stats.rate_limited

        clock.set(MEETING_START - harness.services.rules.remind_before)
        profiler = cProfile.Profile() if profile is not None else None
        if profiler is not None:
            profiler.enable()
        began = time.perf_counter()
        sweeps, retried = await sweep_until_done(harness, clock, {meeting_id}, give_up_after=600)
        wall = time.perf_counter() - began
        if profiler is not None and profile is not None:
            profiler.disable()
            profiler.dump_stats(profile)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        outcome = _outcome(harness, arrivals, people, {meeting_id})
        last = max(outcome.first_link.values(), default=began)
        return FanOut(
            participants=participants,
            wall=wall,
            sending=last - began,
            rejected=sandbox.stats.rate_limited - limited_before,
            retried=retried,
            sweeps=sweeps,
            outcome=outcome,
            db_seconds=sum(timers.values()),
        )


def print_fan_outs(results: list[FanOut], scale: float, concurrency: int | None) -> bool:
    """The table of one-meeting fan-outs; True when every goal is met."""
    allowed = TELEGRAM_RATE * scale
    print(
        f"Fan-out of personal links, one meeting; the sandbox enforces Telegram's limits as "
        f"strict sliding windows, x{scale:g}: at most {allowed:g} messages in any second, "
        f"1 a second to a private chat"
    )
    print(
        f"bot: build_application(rate_limit_scale={scale:g}) -> PacedRateLimiter; "
        f"DeliveryService concurrency={concurrency or 'default'}; sniffio: {sniffio_state()}"
    )
    header = (
        "links",
        "wall s",
        "sending s",
        "msg/s",
        f"share of {allowed:g}/s",
        "429s",
        "retried",
        "lost",
        "dupes",
        "DB ms/link",
    )
    rows = [header]
    for r in results:
        links = r.outcome.links
        rows.append(
            (
                f"{r.participants:,}",
                f"{r.wall:.2f}",
                f"{r.sending:.2f}",
                f"{links / r.sending if r.sending else 0:.1f}",
                f"{r.share / scale:.3f}",
                f"{r.rejected}",
                f"{r.retried}",
                f"{r.outcome.lost}",
                f"{r.outcome.duplicates}",
                f"{r.db_seconds / max(links, 1) * 1e3:.2f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
    print(
        "sending s: reminder time -> the last link arrived; share: links per second while "
        f"sending / {allowed:g} (goal >= {GOAL_SHARE}); wall s adds the organizer's summary"
    )
    ok = all(
        r.rejected == 0
        and r.outcome.lost == 0
        and r.outcome.duplicates == 0
        and r.share / scale >= GOAL_SHARE
        for r in results
    )
    print(f"verdict: {'OK' if ok else 'GOAL MISSED'} (0 429s, >= {GOAL_SHARE}, 0 lost, 0 dupes)")
    return ok


async def same_minute(scale: float) -> None:
    """5,000 links due at the same moment (100 meetings x 50 people at 10:00); how many late."""
    clock = RunningClock(START)
    meetings_count, size = SAME_MINUTE_MEETINGS, SAME_MINUTE_PEOPLE
    async with running_bot(clock, scale) as (sandbox, harness):
        seeding = time.perf_counter()
        people = started_users(sandbox, meetings_count * size)
        meeting_ids = {
            seed_meeting(
                harness.services.engine,
                harness.services.rules,
                people=people[n * size : (n + 1) * size],
                title=f"Class {n + 1}",
                starts_at=MEETING_START,
                now=clock(),
            )
            for n in range(meetings_count)
        }
        seeding = time.perf_counter() - seeding
        arrivals = Arrivals(sandbox, clock)
        await asyncio.sleep(0.3)  # let the start-up sweep finish
        limited_before = sandbox.stats.rate_limited
        due = MEETING_START - harness.services.rules.remind_before
        # Start well before the due time: a sweep that plans ahead may begin sending early.
        lead = timedelta(minutes=15)
        clock.set(due - lead)
        began = time.perf_counter()
        sweeps, retried = await sweep_until_done(harness, clock, meeting_ids, give_up_after=900)
        wall = time.perf_counter() - began
        outcome = _outcome(harness, arrivals, people, meeting_ids)
        rejected = sandbox.stats.rate_limited - limited_before

    offsets = sorted((at - due).total_seconds() for at in outcome.first_link.values()) or [0.0]
    late = [offset for offset in offsets if offset > 0]
    needed = len(people) / (TELEGRAM_RATE * scale)
    print(
        f"{meetings_count} meetings x {size} people = {len(people):,} links due at "
        f"{due:%H:%M} (meetings at {MEETING_START:%H:%M}); sandbox: strict windows x{scale:g}"
    )
    print(f"(seeding took {seeding:.1f} s, not counted; the bot's clock runs with real time)")
    rows = [
        ("wall time of the sweeps (idle spells skipped)", f"{wall:.1f} s"),
        ("sweeps run", f"{sweeps}"),
        ("time the allowed rate needs for them all", f"{needed:.0f} s"),
        ("links delivered", f"{outcome.links:,}"),
        (
            "first link arrived, relative to the due time",
            f"{offsets[0]:+.1f} s" if offsets else "-",
        ),
        (
            "last link arrived, relative to the due time",
            f"{offsets[-1]:+.1f} s" if offsets else "-",
        ),
        ("links that arrived after their due time (goal 0)", f"{len(late):,}"),
        ("429s received", f"{rejected}"),
        ("rows put back for retry", f"{retried}"),
        ("links lost (goal 0)", f"{outcome.lost}"),
        ("duplicates (goal 0)", f"{outcome.duplicates}"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    ok = not late and rejected == 0 and outcome.lost == 0 and outcome.duplicates == 0
    print(f"verdict: {'OK' if ok else 'GOAL MISSED'}")


def _fake_sniffio() -> None:
    """httpcore imports sniffio for every lock and event it makes; without it, that import
    fails and searches sys.path each time. A stand-in module shows what installing it saves."""
    module = types.ModuleType("sniffio")
    module.current_async_library = lambda: "asyncio"  # type: ignore[attr-defined]
    sys.modules["sniffio"] = module


def sniffio_state() -> str:
    """Whether httpcore finds sniffio (missing: a failed import per lock and event)."""
    if "sniffio" in sys.modules and not hasattr(sys.modules["sniffio"], "__file__"):
        return "faked (--fake-sniffio)"
    return "installed" if importlib.util.find_spec("sniffio") else "MISSING"


async def run(args: argparse.Namespace) -> None:
    """Run the chosen scenario and print its figures."""
    counter = _LogCounter()
    logging.getLogger().addHandler(counter)
    logging.getLogger().setLevel(logging.WARNING)
    try:
        if args.scenario == "same-minute":
            await same_minute(args.scale)
        else:
            sizes = [args.participants] if args.participants else list(SIZES)
            results = [
                await fan_out(size, args.scale, args.concurrency, args.profile) for size in sizes
            ]
            print_fan_outs(results, args.scale, args.concurrency)
    finally:
        logging.getLogger().removeHandler(counter)
    for line, n in counter.counts.most_common(5):
        print(f"log x{n}: {line}")


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--scenario",
        choices=["sizes", "same-minute"],
        default="sizes",
        help="sizes: one meeting of 30, 200, 1,000 (default); same-minute: 5,000 due at once",
    )
    parser.add_argument("--participants", type=int, default=None, help="one size only")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="Telegram's limits times this (default 1)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=None, help="override DeliveryService's semaphore"
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="cProfile the fan-out, write the stats to FILE"
    )
    parser.add_argument(
        "--fake-sniffio",
        action="store_true",
        help="pretend sniffio is installed (what adding the sniffio dependency would do)",
    )
    args = parser.parse_args()
    if args.fake_sniffio:
        _fake_sniffio()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
