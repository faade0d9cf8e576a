"""What the benchmarks share: settings, a bot harness with a rate-limit scale, phase timing."""

from __future__ import annotations

import time
from typing import Any

from bot.app import build_application
from bot.config import Settings
from bot.sandbox.harness import BotHarness

BOT_TOKEN = "123456:BENCH-TOKEN-abcdefghijklmnopqrstuvwxyz"
BOT_USERNAME = "meetings_bench_bot"
SECRET = "bench-secret-that-is-long-enough-for-hs256"


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
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class ScaledHarness(BotHarness):
    """BotHarness that also passes rate_limit_scale to build_application and times the phases.

    BotHarness.start() passes only clock and sweep_interval; everything else equals it.
    `marks` gets perf_counter() after each step of start-up.
    """

    def __init__(self, *args: Any, rate_limit_scale: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rate_limit_scale = rate_limit_scale
        self.marks: dict[str, float] = {}

    async def start(self) -> None:
        """Build and start the bot, polling the sandbox (the order run_polling uses)."""
        settings = self.settings
        self.marks["begin"] = time.perf_counter()
        self.application = build_application(
            settings,
            clock=self.clock,
            sweep_interval=self.sweep_interval,
            rate_limit_scale=self.rate_limit_scale,
        )
        self.marks["build_application"] = time.perf_counter()
        await self.application.initialize()
        self.marks["initialize"] = time.perf_counter()
        await self.application.post_init(self.application)
        self.marks["post_init"] = time.perf_counter()
        await self.application.updater.start_polling(poll_interval=0.0, timeout=1)
        await self.application.start()
        self.marks["start"] = time.perf_counter()
