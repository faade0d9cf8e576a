"""Shared fixtures: the sandbox Bot API server, the real bot polling it, and its database.

Tests that use a database (through `database_url`, `bot` or a domain `session`) are marked
`database`: `TEST_DATABASE_URL=postgresql+psycopg://... pytest -m database` runs them on that
database (emptied before each test) instead of a SQLite file; `.ci/postgres` provides one.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.clock import ManualClock
from bot.sandbox import RateLimits, Sandbox
from bot.sandbox.harness import BotHarness
from tests.helpers import free_port, make_settings, reset_database

BOT_TOKEN = "123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz"
BOT_USERNAME = "meetings_test_bot"
# Saturday 28 November 2026, 10:00 UTC: every test lives at the same moment.
START_TIME = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)

__all__ = ["BOT_TOKEN", "BOT_USERNAME", "START_TIME", "BotHarness"]


# Fixtures that hand a test a database: TEST_DATABASE_URL's when it is set.
DATABASE_FIXTURES = frozenset({"database_url", "session"})


def pytest_configure(config: pytest.Config) -> None:
    """Register the `database` marker; in CI, refuse a database pass without a database."""
    config.addinivalue_line(
        "markers", "database: uses a database; runs on TEST_DATABASE_URL's when it is set"
    )
    url = os.environ.get("TEST_DATABASE_URL", "")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and url.startswith("postgresql"):
        # pytest -n: each worker empties and migrates a database of its own.
        os.environ["TEST_DATABASE_URL"] = _database_of_worker(url, worker)
    if _in_ci() and "database" in (config.option.markexpr or ""):
        url = os.environ.get("TEST_DATABASE_URL", "")
        if not url.startswith("postgresql"):
            raise pytest.UsageError(
                "CI: the database pass (-m database) needs TEST_DATABASE_URL=postgresql+psycopg"
                "://...; run it through .ci/postgres"
            )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that gets a database from a fixture."""
    for item in items:
        if DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.database)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """In CI a skipped test fails: nothing may pass unseen because something is missing."""
    report = yield
    if _in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run everything: {report.longrepr}"
    return report


def _database_of_worker(url: str, worker: str) -> str:
    """The URL of a database beside `url`'s, named after the worker, created when missing."""
    from sqlalchemy import create_engine, make_url, text

    base = make_url(url)
    name = f"{base.database}_{worker}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).first()
        if found is None:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A fresh, empty database: TEST_DATABASE_URL's, emptied, or else a new SQLite file."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        reset_database(url)
        return url
    return f"sqlite:///{tmp_path}/meetings.db"


@pytest.fixture
def clock() -> ManualClock:
    """The clock the bot reads."""
    return ManualClock(START_TIME)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A running sandbox Bot API server without flood limits."""
    server = Sandbox(BOT_TOKEN, BOT_USERNAME, limits=RateLimits.unlimited())
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def bot(
    sandbox: Sandbox, clock: ManualClock, tmp_path: Path, database_url: str
) -> AsyncIterator[BotHarness]:
    """The real bot, polling the sandbox, with a fresh database."""
    harness = BotHarness(
        sandbox, clock, tmp_path / "meetings.db", make_settings, database_url=database_url
    )
    await harness.start()
    yield harness
    await harness.stop()


@pytest.fixture
def port() -> int:
    """Where the bot's web server listens in this test."""
    return free_port()


@pytest.fixture
def web_settings() -> dict[str, Any]:
    """Settings the web bot runs with besides PUBLIC_URL (a test file overrides this)."""
    return {}


@pytest.fixture
async def web_bot(
    sandbox: Sandbox,
    clock: ManualClock,
    tmp_path: Path,
    database_url: str,
    port: int,
    web_settings: dict[str, Any],
) -> AsyncIterator[BotHarness]:
    """The real bot with PUBLIC_URL set: its web server listens on a free port."""
    harness = BotHarness(
        sandbox,
        clock,
        tmp_path / "meetings.db",
        make_settings,
        database_url=database_url,
        public_url=f"http://127.0.0.1:{port}/bot/",
        web_listen=f"127.0.0.1:{port}",
        **web_settings,
    )
    await harness.start()
    yield harness
    await harness.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client for the bot's web server."""
    async with aiohttp.ClientSession() as session:
        yield session
