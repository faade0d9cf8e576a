"""Start-up with 10,000 upcoming meetings: time to a ready bot, and peak memory.

The database gets 10,000 upcoming meetings (one every ~4 minutes over the next 30 days, the first
an hour away so no link is due yet), each with its organizer (owner), two members, their three
planned delivery rows and the audit rows the domain writes; a share of them can be weekly
series (--series-share). Rows are bulk-inserted in the shape of storage/models.py.

Each measurement runs in a fresh child process, so that the seeding doesn't count and
ru_maxrss starts clean: the sandbox is started and everything imported, then the clock runs from
build_application() through initialize, post_init, polling start and the first delivery sweep
completing (what run_polling does before the bot is ready). Memory comes from a separate child
with tracemalloc on (it slows Python down, so its time isn't used):
  * tracemalloc peak: Python-heap peak during start-up, above what was allocated before it;
  * ru_maxrss delta: growth of the process's resident-set high-water mark during start-up
    (includes C extensions such as SQLite and the interpreter's own arenas).

    .venv/bin/python -m bench.startup [--meetings 10000] [--series-share 0.2] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlmodel import SQLModel

from bench._common import BOT_TOKEN, BOT_USERNAME, make_settings
from bot import timeparse
from bot.clock import ManualClock
from bot.jitsi import Role
from bot.sandbox import RateLimits, Sandbox
from bot.sandbox.harness import BotHarness
from storage.db import make_engine, upgrade_database
from storage.models import DeliveryStatus, MeetingStatus

START = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
GOAL_SECONDS = 3.0
GOAL_MB = 200.0
USERS = 3000
PHASES = ("build_application", "initialize", "post_init", "start", "first_sweep")
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def _code(number: int) -> str:
    """A distinct six-character meeting code per number (the bot's alphabet)."""
    chars = []
    for _ in range(6):
        number, digit = divmod(number, len(_CODE_ALPHABET))
        chars.append(_CODE_ALPHABET[digit])
    return "".join(reversed(chars))


def seed(database: Path, meetings: int, series_share: float) -> dict[str, int]:
    """Fill a fresh database; returns row counts."""
    engine = make_engine(f"sqlite:///{database}")
    upgrade_database(engine)
    tables = SQLModel.metadata.tables
    now = START
    weekly = timeparse.parse_recurrence(
        "every monday 10:00", zone="UTC", languages=["en"], now=now
    )
    assert weekly is not None
    series_every = round(1 / series_share) if series_share > 0 else 0
    users = [
        {
            "id": 10_000_001 + n,
            "username": f"user{n:05d}",
            "display_name": f"User {n}",
            "telegram_language": "en",
            "reachable": True,
            "blocked": False,
            "is_admin": False,
            "created_at": now,
        }
        for n in range(USERS)
    ]
    meeting_rows: list[dict[str, Any]] = []
    participants: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    audits: list[dict[str, Any]] = []
    spacing = timedelta(days=30) / meetings
    for number in range(meetings):
        meeting_id = number + 1
        series = series_every > 0 and number % series_every == 0
        starts = now + timedelta(hours=1) + number * spacing
        starts = starts.replace(second=0, microsecond=0)
        if series:
            # A weekly series whose first sitting is this start (same weekday and time).
            rrule = weekly.rrule.replace(
                "BYDAY=MO",
                "BYDAY=" + "MOTUWETHFRSASU"[starts.weekday() * 2 : starts.weekday() * 2 + 2],
            )
        else:
            rrule = None
        organizer = users[number % USERS]["id"]
        members = [users[(number * 7 + k) % USERS]["id"] for k in (1, 2)]
        members = [m for m in dict.fromkeys(members) if m != organizer]
        meeting_rows.append(
            {
                "id": meeting_id,
                "code": _code(number),
                "title": f"Meeting {number}",
                "room": f"meeting-{number}-bench",
                "starts_at": starts,
                "ends_at": starts + timedelta(minutes=60),
                "zone": "UTC",
                "rrule": rrule,
                "series_until": None,
                "chat_id": -1_002_000_000_000 - (number % 50) if number % 2 else None,
                "organizer_id": organizer,
                "status": MeetingStatus.SCHEDULED,
                "remind_before_minutes": 10,
                "feature_defaults": {},
                "version": 1,
                "ics_sequence": 0,
                "created_at": now,
            }
        )
        audits.append(
            {
                "meeting_id": meeting_id,
                "actor_id": organizer,
                "action": "schedule",
                "detail": f"Meeting {number}",
                "at": now,
            }
        )
        for user_id, role in [(organizer, Role.OWNER), *((m, Role.MEMBER) for m in members)]:
            participants.append(
                {
                    "meeting_id": meeting_id,
                    "user_id": user_id,
                    "role": role.value,
                    "features": {},
                    "invited_by": None if role is Role.OWNER else organizer,
                    "joined_at": now,
                }
            )
            deliveries.append(
                {
                    "meeting_id": meeting_id,
                    "user_id": user_id,
                    "occurrence_start": starts,
                    "due_at": starts - timedelta(minutes=10),
                    "status": DeliveryStatus.PENDING,
                    "reason": "reminder",
                    "attempts": 0,
                    "updated_at": now,
                }
            )
            if role is Role.MEMBER:
                audits.append(
                    {
                        "meeting_id": meeting_id,
                        "actor_id": organizer,
                        "action": "join",
                        "target_user_id": user_id,
                        "detail": "member",
                        "at": now,
                    }
                )
    with engine.begin() as connection:
        for name, rows in (
            ("user", users),
            ("meeting", meeting_rows),
            ("participant", participants),
            ("delivery", deliveries),
            ("audit_event", audits),
        ):
            connection.execute(insert(tables[name]), rows)
    engine.dispose()
    return {
        "users": len(users),
        "meetings": len(meeting_rows),
        "series": sum(1 for row in meeting_rows if row["rrule"]),
        "participants": len(participants),
        "deliveries": len(deliveries),
    }


# --- the child: one start-up, measured ---------------------------------------------------


class _StartupHarness(BotHarness):
    """Notes when the first delivery sweep (the job run_repeating starts at once) completes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.first_sweep = asyncio.Event()
        self.sweep_report: Any = None

    def after_post_init(self) -> None:
        delivery = self.services.delivery
        assert delivery is not None
        original = delivery.sweep

        async def sweep() -> Any:
            report = await original()
            if not self.first_sweep.is_set():
                self.marks["first_sweep"] = time.perf_counter()
                self.sweep_report = report
                self.first_sweep.set()
            return report

        delivery.sweep = sweep  # type: ignore[method-assign]


def _maxrss_mb() -> float:
    """ru_maxrss in MB (KiB on Linux). Linux carries it over from the parent across exec."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _hwm_mb() -> float:
    """This process image's resident high-water mark (VmHWM), in MB; ru_maxrss if unknown."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return _maxrss_mb()


async def _measure(database: Path, mode: str, profile: str | None) -> dict[str, Any]:
    sandbox = Sandbox(BOT_TOKEN, BOT_USERNAME, limits=RateLimits())
    await sandbox.start()
    harness = _StartupHarness(
        sandbox, ManualClock(START), database, make_settings, sweep_interval=60.0
    )
    _ = harness.settings  # settings are read before the clock starts, as in `bot run`
    result: dict[str, Any] = {}
    profiler = cProfile.Profile() if profile else None
    rss_before = _maxrss_mb()
    hwm_before = _hwm_mb()
    if mode == "memory":
        tracemalloc.start()
        traced_before = tracemalloc.get_traced_memory()[0]
    if profiler is not None:
        profiler.enable()
    try:
        await harness.start()
        # post_init queues a one-off sweep that runs as soon as the scheduler starts.
        await asyncio.wait_for(harness.first_sweep.wait(), timeout=60)
    finally:
        if profiler is not None:
            profiler.disable()
        if mode == "memory":
            result["traced_peak_mb"] = (tracemalloc.get_traced_memory()[1] - traced_before) / 2**20
            tracemalloc.stop()
        result["rss_delta_mb"] = _maxrss_mb() - rss_before
        result["hwm_before_mb"] = hwm_before
        result["hwm_delta_mb"] = _hwm_mb() - hwm_before
        result["hwm_peak_mb"] = _hwm_mb()
        marks = harness.marks
        previous = marks["begin"]
        for phase in PHASES:
            if phase in marks:
                result[phase] = marks[phase] - previous
                previous = marks[phase]
        result["total"] = previous - marks["begin"]
        report = harness.sweep_report
        result["sweep_sent"] = getattr(report, "sent", None)
        await harness.stop()
        await sandbox.stop()
    if profiler is not None and profile:
        profiler.dump_stats(profile)
    return result


def _child(args: argparse.Namespace) -> None:
    result = asyncio.run(_measure(Path(args.child), args.mode, args.profile))
    print("RESULT " + json.dumps(result))


def _run_child(template: Path, workdir: Path, mode: str, profile: str | None) -> dict[str, Any]:
    """One start-up in a fresh process, on a fresh copy of the seeded database."""
    database = workdir / f"run-{time.monotonic_ns()}.db"
    shutil.copyfile(template, database)
    command = [sys.executable, "-m", "bench.startup", "--child", str(database), "--mode", mode]
    if profile:
        command += ["--profile", profile]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    database.unlink(missing_ok=True)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            parsed: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
            return parsed
    raise RuntimeError(f"the measuring process failed:\n{done.stdout}\n{done.stderr}")


def _scenario(
    workdir: Path, meetings: int, share: float, runs: int, profile: str | None
) -> dict[str, Any]:
    """Seed one database, then time `runs` start-ups and one with tracemalloc."""
    template = workdir / f"seeded-{share:g}.db"
    began = time.perf_counter()
    counts = seed(template, meetings, share)
    seconds = time.perf_counter() - began
    timed = [_run_child(template, workdir, "time", None) for _ in range(runs)]
    memory = _run_child(template, workdir, "memory", None)
    if profile:
        _run_child(template, workdir, "time", profile)
    size_mb = template.stat().st_size / 2**20
    template.unlink()
    best = min(timed, key=lambda run: run["total"])
    return {
        "counts": counts,
        "seeded": seconds,
        "size_mb": size_mb,
        "best": best,
        "median": statistics.median(run["total"] for run in timed),
        "memory": memory,
    }


def main() -> None:
    """Seed each scenario, then time start-ups and measure memory in child processes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--meetings", type=int, default=10_000)
    parser.add_argument(
        "--series-share",
        type=float,
        nargs="+",
        default=[0.0, 0.2, 1.0],
        help="shares of weekly series, one scenario each (default: 0 0.2 1)",
    )
    parser.add_argument("--runs", type=int, default=2, help="timed start-ups (best is kept)")
    parser.add_argument(
        "--profile", metavar="FILE", help="also cProfile one start-up of the last scenario"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="time", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return

    shares: list[float] = args.series_share
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        for index, share in enumerate(shares):
            last = index == len(shares) - 1
            results.append(
                _scenario(
                    Path(tmp), args.meetings, share, args.runs, args.profile if last else None
                )
            )

    counts = results[0]["counts"]
    print(
        f"Start-up with {counts['meetings']:,} upcoming meetings, {counts['participants']:,} "
        f"participants, {counts['deliveries']:,} planned deliveries, {counts['users']:,} users "
        f"(SQLite ~{results[0]['size_mb']:.0f} MB, bulk-seeded, not counted)"
    )
    print(
        f"time: build_application() -> initialize -> post_init -> polling/start -> first sweep "
        f"done, best of {args.runs} fresh processes; memory: one more process, tracemalloc on"
    )
    columns = [f"{r['counts']['series']:,} series" for r in results]
    width = max(12, *(len(c) for c in columns))

    def row(name: str, values: list[str]) -> None:
        print(f"{name:<40}" + "".join(f"{v:>{width + 2}}" for v in values))

    row("weekly series among the meetings", columns)
    for phase in PHASES:
        row(f"  {phase} (s)", [f"{r['best'].get(phase, float('nan')):.3f}" for r in results])
    row("total to ready bot (s), best", [f"{r['best']['total']:.2f}" for r in results])
    row("total to ready bot (s), median", [f"{r['median']:.2f}" for r in results])
    row(
        f"  goal < {GOAL_SECONDS:g} s",
        ["OK" if r["best"]["total"] < GOAL_SECONDS else "MISSED" for r in results],
    )
    row(
        "tracemalloc peak, Python heap (MB)",
        [f"{r['memory']['traced_peak_mb']:.1f}" for r in results],
    )
    row(
        "RSS high-water growth, VmHWM (MB)",
        [f"{r['best']['hwm_delta_mb']:.1f}" for r in results],
    )
    row(
        "raw ru_maxrss delta (MB, see note)", [f"{r['best']['rss_delta_mb']:.1f}" for r in results]
    )
    row("whole process peak RSS (MB)", [f"{r['best']['hwm_peak_mb']:.0f}" for r in results])
    row(
        f"  goal < {GOAL_MB:g} MB (growth)",
        [
            "OK"
            if max(r["memory"]["traced_peak_mb"], r["best"]["hwm_delta_mb"]) < GOAL_MB
            else "MISSED"
            for r in results
        ],
    )
    row("links sent by the first sweep", [str(r["best"]["sweep_sent"]) for r in results])
    print(
        f"notes: whole-process RSS includes the in-process sandbox and "
        f"{results[0]['best']['hwm_before_mb']:.0f} MB of imports. Linux carries ru_maxrss "
        f"over from the (seeding) parent across exec, which hides the growth; VmHWM is the same "
        f"high-water mark for this process image."
    )


if __name__ == "__main__":
    main()
