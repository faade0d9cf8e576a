"""What the benchmarks share: their settings, a clock that runs, people and meetings to seed,
and the moments messages reach the sandbox."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from bot.clock import ManualClock
from bot.config import Settings
from bot.domain import participation, scheduling
from bot.domain.people import remember_user
from bot.domain.scheduling import Draft
from bot.domain.values import Actor, Rules
from bot.sandbox import RateLimits, Sandbox
from bot.sandbox.harness import BotHarness
from bot.sandbox.models import User as SandboxUser
from storage.db import session_scope
from storage.models import DeliveryStatus, Notice

BOT_TOKEN = "123456:BENCH-TOKEN-abcdefghijklmnopqrstuvwxyz"
BOT_USERNAME = "meetings_bench_bot"
SECRET = "bench-secret-that-is-long-enough-for-hs256"
TELEGRAM_RATE = 30  # messages a second across chats, Telegram's limit without paid broadcasts


def make_settings(**overrides: Any) -> Settings:
    """Settings for a benchmark: a Jitsi server that does not exist, never the environment's."""
    values: dict[str, Any] = {
        "jitsi_base_url": "https://meet.example.com",
        "jitsi_app_id": "meetbot",
        "jitsi_app_secret": SECRET,
        "telegram_bot_token": BOT_TOKEN,
        "database_url": "sqlite:///:memory:",
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


class RunningClock(ManualClock):
    """Bot time that runs with real time from the moment it is set; jumps skip idle spells.

    A fan-out that takes three real minutes then takes three minutes of bot time too, so a
    link sent late is measured late.
    """

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self._set_at = time.perf_counter()

    def __call__(self) -> datetime:
        """The set moment plus the real time since."""
        return super().__call__() + timedelta(seconds=time.perf_counter() - self._set_at)

    def set(self, moment: datetime) -> None:
        """Jump to `moment`; time runs on from there."""
        super().set(moment)
        self._set_at = time.perf_counter()

    def advance(self, delta: timedelta) -> datetime:
        """Jump forward by `delta`."""
        self.set(self() + delta)
        return self()


class Arrivals:
    """What the sandbox accepted by sendMessage (answered 200), by chat: (moment, text) pairs.

    The moments come from `clock`: perf_counter by default, or the bot's running clock.
    """

    def __init__(self, sandbox: Sandbox, clock: Callable[[], Any] = time.perf_counter) -> None:
        self.messages: dict[int, list[tuple[Any, str]]] = defaultdict(list)
        self._clock = clock
        self._arrived = asyncio.Event()
        name, handler = sandbox.api.methods["sendmessage"]

        async def recorded(params: Any) -> Any:
            result = await handler(params)
            self.messages[result["chat"]["id"]].append((self._clock(), result.get("text", "")))
            self._arrived.set()
            return result

        sandbox.api.methods["sendmessage"] = (name, recorded)

    async def wait_for(self, chat_id: int, count: int, timeout: float = 30.0) -> Any:
        """The moment the chat's `count`-th message arrived (waiting for it if need be)."""
        async with asyncio.timeout(timeout):
            while len(self.messages[chat_id]) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.messages[chat_id][count - 1][0]


@asynccontextmanager
async def running_bot(
    clock: ManualClock, scale: float = 1.0
) -> AsyncIterator[tuple[Sandbox, BotHarness]]:
    """The sandbox enforcing Telegram's limits (times `scale`) and the real bot polling it.

    Only the start-up sweep runs by itself; the benchmark drives the rest.
    """
    sandbox = Sandbox(BOT_TOKEN, BOT_USERNAME, limits=RateLimits(scale=scale))
    await sandbox.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            harness = BotHarness(
                sandbox,
                clock,
                Path(tmp) / "meetings.db",
                make_settings,
                sweep_interval=3600.0,
                rate_limit_scale=scale,
            )
            await harness.start()
            try:
                yield sandbox, harness
            finally:
                await harness.stop()
    finally:
        await sandbox.stop()


def started_users(sandbox: Sandbox, count: int, prefix: str = "Person") -> list[SandboxUser]:
    """Sandbox users who started the bot (what a private /start does), without the updates."""
    created = []
    for number in range(count):
        user = sandbox.create_user(
            f"{prefix}{number:05d}", username=f"{prefix.lower()}{number:05d}"
        )
        user.started = True
        user.seen = True
        created.append(user)
    return created


def seed_meeting(
    engine: Any,
    rules: Rules,
    *,
    people: Sequence[SandboxUser],
    title: str,
    starts_at: datetime,
    now: datetime,
) -> int:
    """People in the database and one meeting of theirs (the first organizes); returns its id.

    The invitations went out days ago in these stories: only the links are measured.
    """
    with session_scope(engine) as session:
        for user in people:
            remember_user(
                session,
                user_id=user.id,
                username=user.username,
                display_name=user.full_name,
                telegram_language=user.language_code,
                started=True,
            )
        organizer = people[0].id
        meeting = scheduling.create_meeting(
            session,
            draft=Draft(
                title=title,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=1),
                zone="UTC",
            ),
            organizer_id=organizer,
            chat_id=None,
            rules=rules,
            now=now,
        )
        if len(people) > 1:
            result = participation.invite(
                session,
                meeting=meeting,
                actor=Actor(user_id=organizer),
                user_ids=[user.id for user in people[1:]],
                usernames=[],
                now=now,
            )
            assert len(result.added) == len(people) - 1
        assert meeting.id is not None
        meeting_id = meeting.id
        session.execute(update(Notice).values(status=DeliveryStatus.SENT.value))
    return meeting_id
