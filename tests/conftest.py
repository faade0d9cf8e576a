"""Shared fixtures: the sandbox Bot API server and the real bot polling it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.sandbox import RateLimits, Sandbox
from bot.sandbox.harness import BotHarness
from tests.helpers import make_settings, reset_database

BOT_TOKEN = "123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz"
BOT_USERNAME = "meetings_test_bot"
# Saturday 28 November 2026, 10:00 UTC: every test lives at the same moment.
START_TIME = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)

__all__ = ["BOT_TOKEN", "BOT_USERNAME", "START_TIME", "BotHarness"]


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
async def bot(sandbox: Sandbox, clock: ManualClock, tmp_path: Path) -> AsyncIterator[BotHarness]:
    """The real bot, polling the sandbox, with a fresh database file."""
    overrides = {}
    if url := os.environ.get("TEST_DATABASE_URL"):
        # The end-to-end tests on another database, emptied first (e.g. PostgreSQL).
        reset_database(url)
        overrides["database_url"] = url
    harness = BotHarness(sandbox, clock, tmp_path / "meetings.db", make_settings, **overrides)
    await harness.start()
    yield harness
    await harness.stop()
