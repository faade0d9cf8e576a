"""Storage: migrations, SQLite pragmas, UTC-aware datetimes across zones and DST."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, text
from sqlmodel import Session

from storage.db import make_engine, session_scope, upgrade_database
from storage.models import Meeting


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path}/nested/dir/meetings.db")
    upgrade_database(engine)
    yield engine
    engine.dispose()


def test_migrations_create_every_table_and_the_folder(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert (tmp_path / "nested" / "dir" / "meetings.db").exists()
    tables = set(inspect(engine).get_table_names())
    assert {"user", "meeting", "participant", "delivery", "audit_event"} <= tables
    upgrade_database(engine)  # a second run is a no-op


def test_sqlite_pragmas(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000


def _meeting(start: datetime, end: datetime) -> Meeting:
    return Meeting(
        code="ABC234",
        title="t",
        room="t-abc",
        starts_at=start,
        ends_at=end,
        zone="Europe/Berlin",
        organizer_id=1,
        remind_before_minutes=10,
    )


@pytest.mark.parametrize(
    "start",
    [
        datetime(2027, 3, 28, 1, 30, tzinfo=ZoneInfo("Europe/Berlin")),  # before the DST jump
        datetime(2027, 3, 28, 3, 30, tzinfo=ZoneInfo("Europe/Berlin")),  # after it
        datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=ZoneInfo("America/New_York")),  # repeated hour
        datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo")),
    ],
)
def test_datetimes_come_back_utc_aware_and_equal(engine, start: datetime) -> None:  # type: ignore[no-untyped-def]
    end = start.astimezone(UTC).replace(hour=(start.astimezone(UTC).hour + 1) % 24)
    with session_scope(engine) as session:
        session.add(_meeting(start, end))
    with Session(engine) as session:
        stored = session.get(Meeting, 1)
        assert stored is not None
        assert stored.starts_at.tzinfo is UTC
        # Compare instants: Python never calls an ambiguous (fold=1) time equal across zones.
        assert stored.starts_at.timestamp() == start.timestamp()
        assert stored.starts_at.utcoffset() is not None


def test_naive_datetimes_are_refused(engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Exception, match="naive"), session_scope(engine) as session:
        session.add(_meeting(datetime(2026, 12, 1, 9), datetime(2026, 12, 1, 10)))
        session.flush()


def test_db_upgrade_command(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "JITSI_BASE_URL": "https://meet.example.com",
        "JITSI_APP_ID": "meetbot",
        "JITSI_APP_SECRET": "secret",
        "DATABASE_URL": f"sqlite:///{tmp_path}/cli/meetings.db",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    engine = make_engine(f"sqlite:///{tmp_path}/cli/meetings.db")
    assert "delivery" in inspect(engine).get_table_names()
    engine.dispose()
