"""What the benchmarks share: their settings."""

from __future__ import annotations

from typing import Any

from bot.config import Settings

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
