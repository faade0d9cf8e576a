"""Webhook mode: the sandbox POSTs updates with the secret header, the bot answers."""

from __future__ import annotations

from pathlib import Path

from bot.clock import ManualClock
from bot.sandbox import Sandbox
from bot.sandbox.harness import BotHarness
from tests.helpers import free_port, make_settings


async def test_start_by_webhook(sandbox: Sandbox, clock: ManualClock, tmp_path: Path) -> None:
    harness = BotHarness(sandbox, clock, tmp_path / "meetings.db", make_settings)
    await harness.start(webhook_port=free_port(), secret_token="s3cret-token")
    try:
        assert sandbox.webhook.url.endswith("/telegram")
        assert sandbox.webhook.secret_token == "s3cret-token"
        alice = sandbox.create_user("Alice", username="alice")
        reply = await harness.say(alice, "/start")
        assert "Hello, Alice!" in reply.text
        assert sandbox.stats.webhook_deliveries >= 1
        assert sandbox.calls_to("getUpdates") == []
    finally:
        await harness.stop()
