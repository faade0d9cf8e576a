"""With a webhook set, updates are POSTed to it with the secret header; failures are retried."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import telegram
from aiohttp import web
from telegram import Update
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

from bot.sandbox import Sandbox


class Receiver:
    """A webhook endpoint that records requests and fails the first few on purpose."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received: list[tuple[dict[str, Any], str | None]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        """Record the update; answer 500 while failures remain."""
        if self.failures:
            self.failures -= 1
            return web.Response(status=500)
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        self.received.append((await request.json(), secret))
        return web.Response(text="ok")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A running webhook receiver whose first two deliveries fail."""
    hook = Receiver(failures=2)
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    yield hook
    await runner.cleanup()


async def test_updates_are_posted_with_the_secret(
    sandbox: Sandbox, bot: telegram.Bot, receiver: Receiver
) -> None:
    sandbox.webhook_retry_delay = 0.02
    alice = sandbox.create_user("Alice")
    sandbox.send_text(alice, "before the webhook")
    assert await bot.set_webhook(receiver.url, secret_token="s3cret-token_1")
    sandbox.send_text(alice, "after the webhook")
    await sandbox.wait_for(lambda: len(receiver.received) == 2)
    assert [update["message"]["text"] for update, _ in receiver.received] == [
        "before the webhook",
        "after the webhook",
    ]
    assert {secret for _, secret in receiver.received} == {"s3cret-token_1"}
    assert all(Update.de_json(update, bot) for update, _ in receiver.received)
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    assert sandbox.stats.webhook_failures == 2 and sandbox.stats.webhook_deliveries == 2


async def test_unreachable_webhook_keeps_updates_pending(
    sandbox: Sandbox, bot: telegram.Bot
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    await bot.set_webhook(f"http://127.0.0.1:{port}/nobody")
    sandbox.send_text(sandbox.create_user("Alice"), "hello")
    await sandbox.wait_for(lambda: sandbox.webhook.last_error_message)
    assert sandbox.updates_pending() == 1
    assert (await bot.get_webhook_info()).last_error_message.startswith("Connection failed")
    await bot.delete_webhook()
    [update] = await bot.get_updates()
    assert update.message is not None and update.message.text == "hello"


async def test_ptb_application_in_webhook_mode(sandbox: Sandbox) -> None:
    """PTB's own webhook server registers itself, checks the secret and handles updates."""

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("Hello via webhook")

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    application = ApplicationBuilder().token(sandbox.bot_token).base_url(sandbox.base_url).build()
    application.add_handler(CommandHandler("start", start))
    alice = sandbox.create_user("Alice")
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="hook",
            webhook_url=f"http://127.0.0.1:{port}/hook",
            secret_token="webhook-secret",
        )
        assert sandbox.webhook.secret_token == "webhook-secret"
        sandbox.send_text(alice, "/start")
        await sandbox.wait_for_message(alice, "Hello via webhook")
        await application.updater.stop()
        await application.stop()
