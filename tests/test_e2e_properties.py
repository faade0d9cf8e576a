"""Property-based: arbitrary text to every command through the real bot. No crash, one reply,
nothing changed on refusal.

Hypothesis drives synchronous tests, so the sandbox and the bot run on an event loop in a
background thread and each example waits for its round trip.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.sandbox import RateLimits, Sandbox
from bot.sandbox.harness import BotHarness
from storage.models import AuditEvent, Delivery, Meeting, Participant
from tests.conftest import BOT_TOKEN, BOT_USERNAME, START_TIME
from tests.helpers import make_settings

T = TypeVar("T")
COMMANDS = [
    "schedule", "reschedule", "invite", "link", "cancel", "timezone", "email", "role",
    "features", "participants", "history", "rotate", "admin", "skip", "move", "start",
]  # fmt: skip


class ThreadedBot:
    """The bot and the sandbox on their own loop, driven from synchronous test code."""

    def __init__(self, database: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.sandbox = Sandbox(BOT_TOKEN, BOT_USERNAME, limits=RateLimits.unlimited())
        self.run(self.sandbox.start())
        self.bot = BotHarness(self.sandbox, ManualClock(START_TIME), database, make_settings)
        self.run(self.bot.start())

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the bot's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def close(self) -> None:
        """Stop the bot, the sandbox and the loop."""
        self.run(self.bot.stop())
        self.run(self.sandbox.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def threaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedBot]:
    world = ThreadedBot(tmp_path_factory.mktemp("properties") / "meetings.db")
    yield world
    world.close()


def _counts(world: ThreadedBot) -> tuple[int, ...]:
    with Session(world.bot.services.engine) as session:
        return tuple(
            session.exec(select(func.count()).select_from(table)).one()
            for table in (Meeting, Participant, Delivery, AuditEvent)
        )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(command=st.sampled_from(COMMANDS), argument=st.text(max_size=300))
def test_any_text_to_any_command(threaded: ThreadedBot, command: str, argument: str) -> None:
    sandbox = threaded.sandbox
    stranger = sandbox.user_by_username("prop_user") or sandbox.create_user(
        "Prop", username="prop_user"
    )
    text = f"/{command} {argument}"
    before = _counts(threaded)
    sent_before = len(sandbox.inbox(stranger))
    reply = threaded.run(threaded.bot.say(stranger, text))
    assert 0 < len(reply.text) <= 4096
    threaded.run(threaded.bot.settle())
    assert len(sandbox.inbox(stranger)) == sent_before + 1
    # A stranger owns no meeting, and /schedule saves nothing before Confirm.
    assert _counts(threaded) == before
