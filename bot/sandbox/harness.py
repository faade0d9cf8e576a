"""The real bot (its python-telegram-bot Application) running against the sandbox.

Shared by the end-to-end tests and the demo: start, stop and restart the bot on one database
file, and act as people do (say something, tap a button) and wait until the bot has settled.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
    JobSubmissionEvent,
)
from telegram.ext import Application

from bot.app import build_application
from bot.clock import ManualClock
from bot.config import Settings
from bot.sandbox.models import CallbackAnswer, Chat, Message, User
from bot.sandbox.server import Sandbox
from bot.services import Services
from bot.web import Webhook
from storage.db import make_engine

# How often settle() looks again; a step of the bot takes a few milliseconds.
_SETTLE_POLL = 0.002
# The bot's rate-limit scale against a sandbox without limits: as if time ran this much faster.
_UNLIMITED_SCALE = 1000.0


class NotSettled(AssertionError):
    """The bot was still busy when the harness stopped waiting for it."""


@dataclass(frozen=True)
class Activity:
    """What the bot and the sandbox have in hand at one moment; all zero is settled."""

    updates_pending: int = 0  # at the sandbox, not yet confirmed by the bot's getUpdates
    updates_queued: int = 0  # fetched, waiting in the Application's update queue
    updates_in_hand: int = 0  # inside Application.process_update (the blocking handlers)
    handler_tasks: int = 0  # Application.create_task tasks (non-blocking handlers)
    jobs_due: int = 0  # time has come, not started yet (e.g. the sweep a handler woke)
    jobs_running: int = 0  # e.g. a delivery sweep
    requests_in_flight: int = 0  # Bot API requests the sandbox is answering, long polls aside

    @property
    def settled(self) -> bool:
        """Nothing anywhere: the bot will do nothing more until something happens."""
        return not any(asdict(self).values())

    def __str__(self) -> str:
        busy = [
            f"{name.replace('_', ' ')}: {count}" for name, count in asdict(self).items() if count
        ]
        return ", ".join(busy) or "nothing"


class ObservedApplication(Application[Any, Any, Any, Any, Any, Any]):
    """The bot's Application, counting the updates, tasks and jobs it has in hand."""

    __slots__ = ("handler_tasks", "jobs_running", "updates_in_hand")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.updates_in_hand = 0
        self.handler_tasks: set[asyncio.Task[Any]] = set()
        self.jobs_running = 0
        assert self.job_queue is not None
        self.job_queue.scheduler.add_listener(
            self._count_job_runs,
            EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED,
        )

    async def process_update(self, update: object) -> None:
        """Process one update (its blocking handlers run inside), counted while it runs."""
        self.updates_in_hand += 1
        try:
            await super().process_update(update)
        finally:
            self.updates_in_hand -= 1

    def create_task(
        self,
        coroutine: Any,
        update: object | None = None,
        *,
        name: str | None = None,
    ) -> asyncio.Task[Any]:
        """Start a task (a non-blocking handler, say), counted until it ends."""
        task = super().create_task(coroutine, update, name=name)
        self.handler_tasks.add(task)
        task.add_done_callback(self.handler_tasks.discard)
        return task

    def _count_job_runs(self, event: JobEvent) -> None:
        # One submission carries one or more run times; each ends in exactly one event.
        if isinstance(event, JobSubmissionEvent) and event.code == EVENT_JOB_SUBMITTED:
            self.jobs_running += len(event.scheduled_run_times)
        else:
            self.jobs_running -= 1

    def jobs_due(self) -> int:
        """Jobs whose time has come that the scheduler has not started yet."""
        assert self.job_queue is not None
        now = datetime.now(UTC)
        return sum(1 for job in self.job_queue.jobs() if job.next_t and job.next_t <= now)


class BotHarness:
    """The real bot (python-telegram-bot Application) polling the sandbox, and test helpers."""

    def __init__(
        self,
        sandbox: Sandbox,
        clock: ManualClock,
        database: Path,
        settings_factory: Any,
        *,
        sweep_interval: float = 3600.0,
        rate_limit_scale: float | None = None,
        **overrides: Any,
    ) -> None:
        self.sandbox = sandbox
        self.clock = clock
        self.database = database
        self.settings_factory = settings_factory
        self.sweep_interval = sweep_interval
        if rate_limit_scale is None:
            # Pace for the limits the sandbox enforces (as they are now); none: pace hardly.
            limits = sandbox.limits
            rate_limit_scale = limits.scale if limits.enabled else _UNLIMITED_SCALE
        self.rate_limit_scale: float = rate_limit_scale
        self.overrides = overrides
        self.application: Any = None  # an ObservedApplication while the bot runs
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
        assert self.application is not None, "the bot is not running"
        services = self.application.bot_data["services"]
        assert isinstance(services, Services)
        return services

    def services_engine(self) -> Any:
        """The database engine, also while the bot is stopped."""
        if self.application is not None:
            return self.services.engine
        return make_engine(self.settings.database_url)

    async def start(
        self, *, webhook_port: int | None = None, secret_token: str = "", own_webhook: bool = False
    ) -> None:
        """Build and start the bot, polling the sandbox (or, with a port, by webhook; with
        `own_webhook`, by webhook to the bot's own web server at PUBLIC_URL/telegram).

        `marks` records time.perf_counter() after each step, for the start-up benchmark.
        """
        self.marks["begin"] = time.perf_counter()
        application = build_application(
            self.settings,
            clock=self.clock,
            sweep_interval=self.sweep_interval,
            rate_limit_scale=self.rate_limit_scale,
            application_class=ObservedApplication,
            webhook=Webhook(f"{self.settings.public_url}/telegram", secret_token or None)
            if own_webhook
            else None,
        )
        assert isinstance(application, ObservedApplication)
        self.application = application
        self.marks["build_application"] = time.perf_counter()
        # The order run_polling and run_webhook use: initialize, post_init, updater, start.
        await application.initialize()
        self.marks["initialize"] = time.perf_counter()
        assert application.post_init is not None
        await application.post_init(application)
        self.marks["post_init"] = time.perf_counter()
        self.after_post_init()
        assert application.updater is not None
        if own_webhook:
            pass  # post_init started the web server and set the webhook
        elif webhook_port is None:
            await application.updater.start_polling(poll_interval=0.0, timeout=1)
        else:
            await application.updater.start_webhook(
                listen="127.0.0.1",
                port=webhook_port,
                url_path="telegram",
                webhook_url=f"http://127.0.0.1:{webhook_port}/telegram",
                secret_token=secret_token or None,
            )
        await application.start()
        self.marks["start"] = time.perf_counter()

    def after_post_init(self) -> None:
        """A hook between post_init and polling: the delivery service exists, nothing polls."""

    async def stop(self) -> None:
        """Stop the bot as a normal shutdown would."""
        application = self.application
        if application is None:
            return
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
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
        """`user` writes `text`; once the bot has settled, its newest answer in that chat."""
        target: User | Chat = chat if chat is not None else user
        before = self._newest_id(target)
        self.sandbox.send_text(user, text, chat, reply_to=reply_to, text_mentions=text_mentions)
        await self.settle(timeout)
        # Present at once when the bot answered while handling the update; otherwise the
        # answer comes from something later (a job due in the future), so wait and settle again.
        message = await self.sandbox.wait_for_message(
            target, contains=expect, timeout=timeout, after=before
        )
        await self.settle(timeout)
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
        await self.settle()
        answer = await self.sandbox.wait_for(
            lambda: self.sandbox.callback_answer(query_id),
            timeout=10.0,
            message=f"an answer to the button press {query_id}",
        )
        await self.settle()
        return answer

    def activity(self) -> Activity:
        """What is still going on: updates, handlers, jobs and Bot API requests."""
        sandbox = self.sandbox
        application: ObservedApplication | None = self.application
        if application is None or not application.running:
            return Activity(
                updates_pending=sandbox.updates_pending(),
                requests_in_flight=sandbox.requests_in_flight(),
            )
        return Activity(
            updates_pending=sandbox.updates_pending(),
            updates_queued=application.update_queue.qsize(),
            updates_in_hand=application.updates_in_hand,
            handler_tasks=len(application.handler_tasks),
            jobs_due=application.jobs_due(),
            jobs_running=application.jobs_running,
            requests_in_flight=sandbox.requests_in_flight(),
        )

    async def settle(self, timeout: float = 10.0) -> None:
        """Return as soon as the bot is idle (see Activity); NotSettled after timeout seconds.

        Idle means: no update pending at the sandbox, queued or being handled, no handler task,
        no job due or running (the delivery sweep a handler woke) and no Bot API request in
        flight at the sandbox.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (activity := self.activity()).settled:
            if loop.time() >= deadline:
                raise NotSettled(
                    f"waited {timeout} s for the bot to settle; still busy: {activity}\n"
                    f"{self.sandbox.describe()}"
                )
            await asyncio.sleep(_SETTLE_POLL)

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
