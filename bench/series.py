"""/skip and /move on a daily series that started 300 days ago: time and SQL statements.

The database (a SQLite file, as the bot uses by default) holds one daily series whose first
sitting was 300 days ago, with its organizer and five members, and a history of skipped and
moved sittings (every 10th day skipped, every 15th moved by an hour). What is timed is the
domain work each handler runs in its worker thread, each step in its own transaction as the
handler does:

  * preview: meeting_to_change, pick_sitting (the next sitting, or the one on a date) and, for
    /move, parse_start of the new time;
  * confirm: find_meeting and change_occurrence (which plans the next links and owes everyone a
    notice).

Each round starts from a fresh copy of the seeded file; statements are counted with a
SQLAlchemy ``before_cursor_execute`` listener. The best and the median round are printed.

    .venv/bin/python -m bench.series [--days 300] [--rounds 15]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine

from bot import timeparse
from bot.domain import access, lookup, participation, people, scheduling, series
from bot.domain.scheduling import Draft
from bot.domain.values import Actor, Rules
from storage.db import make_engine, session_scope, upgrade_database

NOW = datetime(2027, 6, 1, 6, 0, tzinfo=UTC)
ORGANIZER = 1
RULES = Rules(
    remind_before=timedelta(minutes=10),
    join_early=timedelta(minutes=15),
    token_grace=timedelta(minutes=60),
    default_zone="UTC",
)
GOAL_SECONDS = 0.050
T = TypeVar("T")


@dataclass
class StatementCount:
    """How many SQL statements ran while counting."""

    statements: int = 0


@contextmanager
def count_statements(engine: Engine) -> Iterator[StatementCount]:
    """Count the SQL statements the engine runs inside the block."""
    count = StatementCount()

    def listener(*_args: Any) -> None:
        count.statements += 1

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield count
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def seed_old_daily_series(
    engine: Engine, *, now: datetime = NOW, days: int = 300, members: int = 5
) -> str:
    """A daily 09:00 UTC series whose first sitting was `days` ago, with a history of skipped
    and moved sittings; returns its code."""
    first = (now - timedelta(days=days)).replace(hour=9, minute=0)
    member_ids = [ORGANIZER + 1 + number for number in range(members)]
    with session_scope(engine) as session:
        for user_id in (ORGANIZER, *member_ids):
            people.remember_user(
                session,
                user_id=user_id,
                username=f"person{user_id}",
                display_name=f"Person {user_id}",
                telegram_language="en",
                started=True,
            )
        draft = Draft(
            title="Daily standup",
            starts_at=first,
            ends_at=first + timedelta(minutes=15),
            zone="UTC",
            rrule="FREQ=DAILY",
        )
        past = first - timedelta(days=1)
        meeting = scheduling.create_meeting(
            session, draft=draft, organizer_id=ORGANIZER, chat_id=None, rules=RULES, now=past
        )
        participation.invite(
            session,
            meeting=meeting,
            actor=Actor(ORGANIZER),
            user_ids=member_ids,
            usernames=[],
            now=past,
        )
        code = meeting.code
    # The history is written as it happened: each change the day before its sitting.
    for day in range(1, days):
        if day % 10 and day % 15:
            continue
        sitting = first + timedelta(days=day)
        with session_scope(engine) as session:
            series.change_occurrence(
                session,
                meeting=lookup.find_meeting(session, code),
                actor=Actor(ORGANIZER),
                original_start=sitting,
                new_start=None if day % 10 == 0 else sitting + timedelta(hours=1),
                now=sitting - timedelta(days=1),
            )
    return code


def preview(engine: Engine, code: str, *, date_text: str, new_time: str | None) -> datetime:
    """What the /skip or /move handler runs before showing Confirm."""
    with session_scope(engine) as session:
        meeting = access.meeting_to_change(session, code=code, actor=Actor(ORGANIZER), now=NOW)
        sitting = series.pick_sitting(
            session, meeting=meeting, date_text=date_text, zone="UTC", now=NOW
        )
        if new_time is not None:
            scheduling.parse_start(new_time, zone="UTC", languages=["en"], now=NOW)
        return sitting


def confirm(engine: Engine, code: str, *, sitting: datetime, new_start: datetime | None) -> None:
    """What the Confirm button runs."""
    with session_scope(engine) as session:
        series.change_occurrence(
            session,
            meeting=lookup.find_meeting(session, code),
            actor=Actor(ORGANIZER),
            original_start=sitting,
            new_start=new_start,
            now=NOW,
        )


@dataclass(frozen=True)
class Round:
    """One measured step."""

    step: str
    seconds: float
    statements: int


def skip_then_move(engine: Engine, code: str) -> list[Round]:
    """Skip the next sitting, then move the one of the day after by two hours, step by step."""
    tomorrow = (NOW + timedelta(days=1)).date().isoformat()
    rounds: list[Round] = []

    def measured(step: str, function: Callable[[], T]) -> T:
        with count_statements(engine) as count:
            start = time.perf_counter()
            result = function()
            seconds = time.perf_counter() - start
        rounds.append(Round(step, seconds, count.statements))
        return result

    skipped = measured("/skip preview", lambda: preview(engine, code, date_text="", new_time=None))
    measured("/skip confirm", lambda: confirm(engine, code, sitting=skipped, new_start=None))
    moved = measured(
        "/move preview",
        lambda: preview(engine, code, date_text=tomorrow, new_time=f"{tomorrow} 11:00"),
    )
    later = moved + timedelta(hours=2)
    measured("/move confirm", lambda: confirm(engine, code, sitting=moved, new_start=later))
    return rounds


def main() -> None:
    """Seed once, then run skip and move on fresh copies and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--days", type=int, default=300, help="age of the series in days")
    parser.add_argument("--rounds", type=int, default=15, help="rounds per step (best kept)")
    args = parser.parse_args()
    timeparse.warm_up(("en",))
    folder = Path(tempfile.mkdtemp(prefix="bench-series-"))
    results: dict[str, list[Round]] = {}
    try:
        seeded = folder / "seeded.db"
        seed_engine = make_engine(f"sqlite:///{seeded}")
        upgrade_database(seed_engine)
        code = seed_old_daily_series(seed_engine, days=args.days)
        seed_engine.dispose()
        for number in range(args.rounds):
            copy = folder / f"round{number}.db"
            shutil.copy(seeded, copy)
            engine = make_engine(f"sqlite:///{copy}")
            with session_scope(engine) as session:
                lookup.find_meeting(session, code)  # the connection is open before timing
            for measured in skip_then_move(engine, code):
                results.setdefault(measured.step, []).append(measured)
            engine.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print(f"/skip and /move on a daily series that started {args.days} days ago")
    print(f"{'step':<16}{'best ms':>10}{'median ms':>12}{'statements':>12}")
    totals = {"skip": 0.0, "move": 0.0}
    for name, rounds in results.items():
        best = min(r.seconds for r in rounds)
        median = statistics.median(r.seconds for r in rounds)
        statements = rounds[0].statements
        totals["skip" if "skip" in name else "move"] += median
        print(f"{name:<16}{best * 1000:>10.1f}{median * 1000:>12.1f}{statements:>12}")
    for command, seconds in totals.items():
        verdict = "ok" if seconds < GOAL_SECONDS else "OVER"
        print(
            f"/{command} preview + confirm, median: {seconds * 1000:.1f} ms "
            f"(goal under {GOAL_SECONDS * 1000:.0f} ms: {verdict})"
        )


if __name__ == "__main__":
    main()
