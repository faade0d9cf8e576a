"""What the benchmarks share: settings and a bot harness that times its start-up phases."""

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
    return Settings(_env_file=None, **values)


class TimedHarness(BotHarness):
    """BotHarness whose start() notes perf_counter() after each step in `marks`.

    Same steps and order as BotHarness.start (build_application with the harness's clock,
    sweep_interval and rate_limit_scale; initialize; post_init; updater; start), plus a hook,
    after_post_init(), for when the delivery service exists but nothing polls yet.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.marks: dict[str, float] = {}

    async def start(self, *, webhook_port: int | None = None, secret_token: str = "") -> None:
        """Build and start the bot, polling the sandbox (or, with a port, by webhook)."""
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
        self.after_post_init()
        if webhook_port is None:
            await self.application.updater.start_polling(poll_interval=0.0, timeout=1)
        else:
            await self.application.updater.start_webhook(
                listen="127.0.0.1",
                port=webhook_port,
                url_path="telegram",
                webhook_url=f"http://127.0.0.1:{webhook_port}/telegram",
                secret_token=secret_token or None,
            )
        await self.application.start()
        self.marks["start"] = time.perf_counter()

    def after_post_init(self) -> None:
        """Called between post_init and the updater (the delivery service exists from here)."""
