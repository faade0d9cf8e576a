"""The real bot (its python-telegram-bot Application) running against the sandbox.

Shared by the end-to-end tests and the demo: start, stop and restart the bot on one database
file, and act as people do (say something, tap a button) and wait until the bot has answered.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.app import build_application
from bot.clock import ManualClock
from bot.config import Settings
from bot.sandbox.models import CallbackAnswer, Chat, Message, User
from bot.sandbox.server import Sandbox
from bot.services import Services
from storage.db import make_engine


class BotHarness:
    """The real bot (python-telegram-bot Application) polling the sandbox, and test helpers."""

    def __init__(
        self,
        sandbox: Sandbox,
        clock: ManualClock,
        database: Path,
        settings_factory: Any,
        *,
        sweep_interval: float = 0.2,
        rate_limit_scale: float = 1.0,
        **overrides: Any,
    ) -> None:
        self.sandbox = sandbox
        self.clock = clock
        self.database = database
        self.settings_factory = settings_factory
        self.sweep_interval = sweep_interval
        self.rate_limit_scale = rate_limit_scale
        self.overrides = overrides
        self.application: Any = None
        self.marks: dict[str, float] = {}

    @property
    def settings(self) -> Settings:
        """The bot's settings, pointed at the sandbox and this test's database file."""
        values = {"database_url": f"sqlite:///{self.database}", **self.overrides}
        settings: Settings = self.settings_factory(
            telegram_bot_token=self.sandbox.bot_token,
            telegram_api_base_url=self.sandbox.base_url,
            **values,
        )
        return settings

    @property
    def services(self) -> Services:
        """The running bot's services."""
        services = self.application.bot_data["services"]
        assert isinstance(services, Services)
        return services

    def services_engine(self) -> Any:
        """The database engine, also while the bot is stopped."""
        if self.application is not None:
            return self.services.engine
        return make_engine(self.settings.database_url)

    async def start(self, *, webhook_port: int | None = None, secret_token: str = "") -> None:
        """Build and start the bot, polling the sandbox (or, with a port, by webhook).

        `marks` records time.perf_counter() after each step, for the start-up benchmark.
        """
        self.marks["begin"] = time.perf_counter()
        self.application = build_application(
            self.settings,
            clock=self.clock,
            sweep_interval=self.sweep_interval,
            rate_limit_scale=self.rate_limit_scale,
        )
        self.marks["build_application"] = time.perf_counter()
        # The order run_polling and run_webhook use: initialize, post_init, updater, start.
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
        """A hook between post_init and polling: the delivery service exists, nothing polls."""

    async def stop(self) -> None:
        """Stop the bot as a normal shutdown would."""
        if self.application is None:
            return
        if self.application.updater.running:
            await self.application.updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()
        await self.application.post_shutdown(self.application)
        self.application = None

    async def restart(self) -> None:
        """Stop and start again with the same database."""
        await self.stop()
        await self.start()

    # --- what people do --------------------------------------------------------------------

    async def say(
        self,
        user: User,
        text: str,
        chat: Chat | None = None,
        *,
        reply_to: Message | None = None,
        text_mentions: Any = (),
        expect: str | None = None,
        timeout: float = 10.0,
    ) -> Message:
        """`user` writes `text`; returns the bot's newest answer in that chat."""
        target: User | Chat = chat if chat is not None else user
        before = self._newest_id(target)
        self.sandbox.send_text(user, text, chat, reply_to=reply_to, text_mentions=text_mentions)
        message = await self.sandbox.wait_for_message(
            target,
            contains=expect,
            timeout=timeout,
            after=_Marker(before),  # type: ignore[arg-type]
        )
        await self.settle()
        return self.sandbox.current(message)

    async def say_silently(self, user: User, text: str, chat: Chat | None = None) -> None:
        """`user` writes `text`, and the bot has processed it (whether it answered or not)."""
        self.sandbox.send_text(user, text, chat)
        await self.settle()

    async def tap(
        self, user: User, message: Message, text: str | None = None, *, data: str | None = None
    ) -> CallbackAnswer:
        """`user` presses a button (by text, or forged callback data); returns the bot's answer."""
        if data is not None and text is None:
            query_id = self.sandbox.press_forged(user, message, data)
        else:
            query_id = self.sandbox.press_button(user, message, text=text)
        answer = await self.sandbox.wait_for(
            lambda: self.sandbox.callback_answer(query_id), timeout=10.0
        )
        await self.settle()
        return answer

    async def settle(self) -> None:
        """Wait until the bot has taken every update and sent what they queued."""
        await self.sandbox.wait_for(lambda: self.sandbox.updates_pending() == 0, timeout=10.0)
        # Processing runs after the update is confirmed; give handlers and notices a moment.
        for _round in range(100):
            app = self.application
            busy = app is not None and (
                app.update_queue.qsize() > 0 or self.services.pending_notices()
            )
            if not busy:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.15)

    async def reminders(self, advance: timedelta | None = None) -> None:
        """Move the clock, then run a delivery sweep to completion."""
        if advance is not None:
            self.clock.advance(advance)
        delivery = self.services.delivery
        assert delivery is not None
        await delivery.sweep()
        await self.settle()

    def newest(self, target: User | Chat) -> Message:
        """The bot's newest message to a user or chat."""
        return self.sandbox.messages_of(target)[-1]

    def _newest_id(self, target: User | Chat) -> int:
        messages = self.sandbox.messages_of(target)
        return messages[-1].message_id if messages else 0


class _Marker:
    """Stands in for "the newest message before this action" in wait_for_message."""

    def __init__(self, message_id: int) -> None:
        self.message_id = message_id
