"""Fan-out: 1,000 personal links for one meeting against Telegram's limits scaled up 10x.

The real bot (python-telegram-bot Application built by build_application with
rate_limit_scale=10) talks over HTTP to the sandbox, which enforces RateLimits(scale=10):
300 messages/s overall (burst 30), 10/s per private chat. The 1,000 people are put straight
into the database with the domain functions (remember_user, create_meeting, invite) and into
the sandbox as users who started the bot, with the same Telegram ids. Then the clock jumps to
the reminder time and the delivery sweep is driven directly until no row is pending.

    .venv/bin/python -m bench.fanout [--participants 1000] [--scale 10] [--concurrency N]
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
import tempfile
import time
import types
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from bench._common import BOT_TOKEN, BOT_USERNAME, make_settings
from bot import meetings
from bot.app import TELEGRAM_GLOBAL_RATE
from bot.clock import ManualClock
from bot.delivery import DeliveryService
from bot.meetings import Actor, Draft
from bot.sandbox import RateLimits, Sandbox
from bot.sandbox.harness import BotHarness
from bot.sandbox.models import User as SandboxUser
from storage.db import session_scope
from storage.models import Delivery, DeliveryStatus, Notice

START = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
MEETING_START = START + timedelta(hours=2)
GOAL_SHARE = 0.9
LINK = re.compile(r"\?jwt=[A-Za-z0-9_\-.]+")


class _LogCounter(logging.Handler):
    """Counts warnings and errors by logger instead of printing 1,000 tracebacks."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[f"{record.levelname} {record.name}: {record.getMessage()[:60]}"] += 1


def _seed(
    harness: BotHarness, sandbox: Sandbox, count: int
) -> tuple[list[SandboxUser], int, float]:
    """Sandbox users who started the bot, the same people in the database, one meeting."""
    people = []
    for number in range(count):
        user = sandbox.create_user(f"Person{number:04d}", username=f"person{number:04d}")
        user.started = True  # what a private /start does in world.send_text
        user.seen = True
        people.append(user)
    began = time.perf_counter()
    clock = harness.clock
    with session_scope(harness.services.engine) as session:
        for user in people:
            meetings.remember_user(
                session,
                user_id=user.id,
                username=user.username,
                display_name=user.full_name,
                telegram_language=user.language_code,
                started=True,
            )
        organizer = people[0].id
        meeting = meetings.create_meeting(
            session,
            draft=Draft(
                title="All hands",
                starts_at=MEETING_START,
                ends_at=MEETING_START + timedelta(hours=1),
                zone="UTC",
            ),
            organizer_id=organizer,
            chat_id=None,
            rules=harness.services.rules,
            now=clock(),
        )
        result = meetings.invite(
            session,
            meeting=meeting,
            actor=Actor(user_id=organizer),
            user_ids=[user.id for user in people[1:]],
            usernames=[],
            now=clock(),
        )
        assert len(result.added) == count - 1
        assert meeting.id is not None
        meeting_id = meeting.id
        # The invitations went out days ago in this story: only the links are measured.
        session.execute(update(Notice).values(status=DeliveryStatus.SENT.value))
    return people, meeting_id, time.perf_counter() - began


def _time_db_steps(delivery: DeliveryService) -> dict[str, float]:
    """Wrap the service's synchronous database steps to add up the seconds spent in them.

    They run on the event loop without awaiting, so their wall time is their own cost.
    """
    spent: dict[str, float] = defaultdict(float)
    for name in ("_claim_due", "_prepare", "_record"):
        original = getattr(delivery, name)

        def timed(*args: Any, _original: Any = original, _name: str = name, **kw: Any) -> Any:
            began = time.perf_counter()
            try:
                return _original(*args, **kw)
            finally:
                spent[_name] += time.perf_counter() - began

        setattr(delivery, name, timed)
    return spent


def _describe_limiter(limiter: Any) -> str:
    """The bot's rate limiter: class, overall rate and burst (aiolimiter's max_rate)."""
    base = getattr(limiter, "_base_limiter", None)
    if base is None:
        return type(limiter).__name__
    rate = base.max_rate / base.time_period
    return (
        f"{type(limiter).__name__} overall {rate:g}/s, burst {base.max_rate:g} "
        f"(AsyncLimiter({base.max_rate:g}, {base.time_period:g} s))"
    )


def _in_flight(harness: BotHarness) -> int:
    with Session(harness.services.engine) as session:
        return session.exec(
            select(func.count())
            .select_from(Delivery)
            .where(col(Delivery.status).in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]))
        ).one()


async def run(
    participants: int, scale: float, concurrency: int | None, profile: str | None = None
) -> None:
    """Seed, jump to the reminder time, sweep until done, print the table."""
    counter = _LogCounter()
    logging.getLogger().addHandler(counter)
    logging.getLogger().setLevel(logging.WARNING)
    allowed = TELEGRAM_GLOBAL_RATE * scale
    clock = ManualClock(START)
    sandbox = Sandbox(BOT_TOKEN, BOT_USERNAME, limits=RateLimits(scale=scale))
    await sandbox.start()
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        harness = BotHarness(
            sandbox,
            clock,
            Path(tmp) / "meetings.db",
            make_settings,
            # Only the start-up sweep runs by itself; the benchmark drives the rest.
            sweep_interval=3600.0,
            rate_limit_scale=scale,
        )
        await harness.start()
        try:
            people, meeting_id, seed_seconds = _seed(harness, sandbox, participants)
            delivery = harness.services.delivery
            assert delivery is not None
            if concurrency is not None:
                delivery._concurrency = concurrency
            timers = _time_db_steps(delivery)
            await asyncio.sleep(0.3)  # let the start-up sweep (nothing due) finish
            calls_before = len(sandbox.calls)
            limited_before = sandbox.stats.rate_limited

            clock.set(MEETING_START - harness.services.rules.remind_before)
            profiler = cProfile.Profile() if profile is not None else None
            if profiler is not None:
                profiler.enable()
            began = time.perf_counter()
            sweeps = retried = 0
            while True:
                report = await delivery.sweep()
                sweeps += 1
                retried += report.retried
                if _in_flight(harness) == 0:
                    break
                # Rows put back after a 429 or error: wait for them in real and bot time.
                wait = 0.05
                if report.next_due is not None:
                    wait = max(wait, (report.next_due - clock()).total_seconds())
                await asyncio.sleep(wait)
                clock.advance(timedelta(seconds=wait))
                if time.perf_counter() - began > 90:
                    print("gave up after 90 s with rows still pending")
                    break
            wall = time.perf_counter() - began
            if profiler is not None and profile is not None:
                profiler.disable()
                profiler.dump_stats(profile)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)

            calls = sandbox.calls[calls_before:]
            sends = [c for c in calls if c.method == "sendMessage"]
            with Session(harness.services.engine) as session:
                states = Counter(
                    row.status.value
                    for row in session.exec(
                        select(Delivery).where(Delivery.meeting_id == meeting_id)
                    ).all()
                )
                sent_rows = {
                    row.user_id
                    for row in session.exec(
                        select(Delivery).where(
                            Delivery.meeting_id == meeting_id,
                            Delivery.status == DeliveryStatus.SENT,
                        )
                    ).all()
                }
            link_counts = {
                user.id: sum(len(LINK.findall(m.text)) for m in sandbox.inbox(user))
                for user in people
            }
            lost = sum(
                1 for user in people if user.id not in sent_rows or link_counts[user.id] == 0
            )
            duplicates = sum(1 for n in link_counts.values() if n > 1)
            links = sum(link_counts.values())
            limiter = _describe_limiter(harness.application.bot.rate_limiter)
        finally:
            await harness.stop()
            await sandbox.stop()
            logging.getLogger().removeHandler(counter)

    rate = links / wall
    share = rate / allowed
    ok_send = [c for c in sends if c.status == 200]
    print(
        f"Fan-out of {participants:,} personal links, one meeting; sandbox enforces Telegram's "
        f"limits x{scale:g}: {allowed:g} msg/s overall (burst {TELEGRAM_GLOBAL_RATE}), "
        f"{scale:g}/s per private chat"
    )
    print(
        f"bot: build_application(rate_limit_scale={scale:g}) -> {limiter}; "
        f"DeliveryService concurrency={delivery._concurrency}; "
        f"sniffio for httpcore: {sniffio_state()}"
    )
    print(f"(seeding the database took {seed_seconds:.1f} s, not counted)")
    rows = [
        ("wall time, reminder time -> nothing pending", f"{wall:.2f} s"),
        ("sweeps run", f"{sweeps}"),
        (
            "per link: DB steps (claim+prepare+record)",
            f"{sum(timers.values()) / max(links, 1) * 1e3:.2f} ms  ("
            + ", ".join(f"{k.strip('_')} {v / max(links, 1) * 1e3:.2f}" for k, v in timers.items())
            + ")",
        ),
        (
            "per link: rest (PTB+httpx, sandbox, loop)",
            f"{(wall - sum(timers.values())) / max(links, 1) * 1e3:.2f} ms",
        ),
        ("links delivered (jwt messages in sandbox)", f"{links:,}"),
        ("achieved link rate", f"{rate:,.0f} msg/s"),
        (f"share of allowed {allowed:g}/s (goal >= {GOAL_SHARE})", f"{share:.2f}"),
        ("sendMessage calls / answered 200", f"{len(sends):,} / {len(ok_send):,}"),
        ("429s received (sandbox.stats)", f"{sandbox.stats.rate_limited - limited_before:,}"),
        ("rows put back for retry (sweep reports)", f"{retried:,}"),
        ("links lost (goal 0)", f"{lost}"),
        ("duplicates: users with >1 link (goal 0)", f"{duplicates}"),
        ("delivery rows by status", ", ".join(f"{k}={v}" for k, v in sorted(states.items()))),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    verdict = "OK" if share >= GOAL_SHARE and lost == 0 and duplicates == 0 else "GOAL MISSED"
    print(f"verdict: {verdict}")
    for line, n in counter.counts.most_common(5):
        print(f"log x{n}: {line}")


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


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--scale", type=float, default=10.0)
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
    asyncio.run(run(args.participants, args.scale, args.concurrency, args.profile))


if __name__ == "__main__":
    main()
