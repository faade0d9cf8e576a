"""Series: sittings come from one pass over the rule; /skip and /move cost a few statements."""

from __future__ import annotations

import itertools
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench.series import NOW, seed_old_daily_series, skip_then_move
from bot.domain import lookup, sittings
from bot.timeparse import SeriesSittings
from storage.db import make_engine, upgrade_database
from tests.helpers import reset_database

# Each test makes its database with _engine: TEST_DATABASE_URL's in the database pass.
pytestmark = pytest.mark.database


def _engine(path: Path) -> Engine:
    # TEST_DATABASE_URL runs this on another database (e.g. an empty PostgreSQL one).
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{path}"
    if not url.startswith("sqlite"):
        reset_database(url)
    engine = make_engine(url)
    upgrade_database(engine)
    return engine


def _next_sittings(engine: Engine, code: str, count: int) -> list[datetime]:
    with Session(engine) as session:
        meeting = lookup.find_meeting(session, code)
        upcoming = sittings.upcoming_occurrences(session, meeting, NOW, limit=count)
        return [sitting.start for sitting in upcoming]


def test_skip_and_move_cost_the_same_few_statements_however_old_the_series(
    tmp_path: Path,
) -> None:
    counts = {}
    for days in (30, 300):
        engine = _engine(tmp_path / f"series-{days}.db")
        code = seed_old_daily_series(engine, days=days, members=1)
        today, tomorrow, after = _next_sittings(engine, code, 3)
        counts[days] = [step.statements for step in skip_then_move(engine, code)]
        # What the members see: today's sitting gone, tomorrow's two hours later.
        assert _next_sittings(engine, code, 2) == [tomorrow + timedelta(hours=2), after]
        assert today == datetime(2027, 6, 1, 9, 0, tzinfo=UTC)
        engine.dispose()
    # No statement per sitting: a series ten times older costs exactly the same.
    assert counts[300] == counts[30]
    assert all(count < 20 for count in counts[300]), counts[300]


def test_a_skipped_sitting_in_the_dst_gap_stays_skipped() -> None:
    # 02:30 in Berlin does not exist on 2027-03-28; the rule's sitting that night is the
    # instant dateutil gives it, and skipping it must leave it out (an interzone == of aware
    # datetimes in a gap is never true, which is why changes are matched as UTC instants).
    first = datetime(2027, 3, 26, 1, 30, tzinfo=UTC)
    rule = SeriesSittings("FREQ=DAILY;COUNT=4", first_start=first, zone="Europe/Berlin")
    night_of_change = list(rule)[2]
    assert night_of_change == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    moved_to = datetime(2027, 3, 27, 6, 0, tzinfo=UTC)
    changed = SeriesSittings(
        "FREQ=DAILY;COUNT=4",
        first_start=first,
        zone="Europe/Berlin",
        skipped=[night_of_change],
        moved={first: moved_to},
    )
    assert list(changed) == [
        datetime(2027, 3, 27, 1, 30, tzinfo=UTC),
        moved_to,
        datetime(2027, 3, 29, 0, 30, tzinfo=UTC),
    ]


def test_an_endless_rule_is_expanded_lazily() -> None:
    first = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    sittings = SeriesSittings("FREQ=DAILY", first_start=first, zone="UTC")
    later = list(itertools.islice(sittings.after(first + timedelta(days=999)), 2))
    assert later == [first + timedelta(days=1000), first + timedelta(days=1001)]
