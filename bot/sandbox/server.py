"""The sandbox HTTP server: a fake Bot API that python-telegram-bot talks to unchanged."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from aiohttp.web_request import FileField

from bot.sandbox.api import ApiError, BotApi, Handler, Params, Upload, bad_request, normalize
from bot.sandbox.limits import (
    DROP_AFTER,
    DROP_BEFORE,
    ERROR_500,
    ERROR_502,
    Faults,
    RateLimiter,
    RateLimits,
)
from bot.sandbox.models import JSON, ApiCall, Chat, Message, User
from bot.sandbox.webui import add_web_routes
from bot.sandbox.world import World

T = TypeVar("T")

_ERRORS = {
    ERROR_500: ApiError(500, "Internal Server Error"),
    ERROR_502: ApiError(502, "Bad Gateway"),
}


@dataclass
class Stats:
    """Counters tests can assert on."""

    rate_limited: int = 0  # 429s answered
    rate_limited_by_chat: dict[int, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)  # injected fault kind -> count
    webhook_deliveries: int = 0
    webhook_failures: int = 0


class Sandbox(World):
    """A local fake Telegram: the world, the Bot API over HTTP and helpers for tests."""

    def __init__(
        self,
        bot_token: str = "123456:TEST",
        bot_username: str = "sandbox_bot",
        *,
        bot_name: str = "Sandbox Bot",
        limits: RateLimits | None = None,
        faults: Faults | None = None,
        privacy_mode: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_retry_delay: float = 0.1,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            bot_token,
            bot_username,
            bot_name=bot_name,
            privacy_mode=privacy_mode,
            wall_clock=wall_clock,
        )
        self.faults = faults or Faults()
        self._limiter = RateLimiter(limits or RateLimits())
        self.api = BotApi(self, self._limiter)
        self.calls: list[ApiCall] = []
        self.host = host
        self.port = port
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_failures = 0
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._delivery: asyncio.Task[None] | None = None
        self._in_flight: Counter[str] = Counter()  # Bot API requests being answered, by method

    # -- settings --------------------------------------------------------------------------

    @property
    def limits(self) -> RateLimits:
        """The flood limits in force; assign a new RateLimits or change fields at any time."""
        return self._limiter.limits

    @limits.setter
    def limits(self, limits: RateLimits) -> None:
        self._limiter.limits = limits

    @property
    def stats(self) -> Stats:
        """429s answered, faults injected and webhook delivery counts."""
        return Stats(
            rate_limited=self._limiter.rejected,
            rate_limited_by_chat=dict(self._limiter.rejected_by_chat),
            faults=dict(self.faults.injected),
            webhook_deliveries=self.webhook.delivered,
            webhook_failures=self.webhook_failures,
        )

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Serve on host:port (port 0 picks a free one) and start webhook delivery."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        add_web_routes(app, self)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        # No access log: request paths contain the bot token.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.closing = False
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self._delivery = asyncio.create_task(self._deliver_webhook_updates())

    async def stop(self) -> None:
        """Stop serving; waiting long polls return at once."""
        self.closing = True
        self.notify()
        if self._delivery is not None:
            self._delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivery
            self._delivery = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """Root URL of the server (the web page is here)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What ApplicationBuilder().base_url() wants; PTB appends the token."""
        return f"{self.url}/bot"

    # -- the Bot API over HTTP -------------------------------------------------------------

    async def _not_found(self, request: web.Request) -> web.Response:
        """Anything that is not a method URL."""
        return _answer(ApiError(404, "Not Found").to_json(), 404)

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        """One Bot API request: token, method, parameters, faults, then the method itself."""
        name = request.match_info["method"]
        if request.match_info["token"] != self.bot_token:
            self._log(name, {}, 401)
            return _answer(ApiError(401, "Unauthorized").to_json(), 401)
        found = self.api.lookup(name)
        if found is None:
            self._log(name, {}, 404)
            return _answer(ApiError(404, "Not Found").to_json(), 404)
        method, handler = found
        self._in_flight[method] += 1
        try:
            return await self._answer_call(request, method, handler)
        finally:
            self._in_flight[method] -= 1

    async def _answer_call(
        self, request: web.Request, method: str, handler: Handler
    ) -> web.StreamResponse:
        """Parameters, faults, then the method itself."""
        try:
            params = await _read_params(request)
        except ApiError as error:
            self._log(method, {}, error.code)
            return _answer(error.to_json(), error.code)
        fault, delay = self.faults.draw(method)
        if delay:
            await asyncio.sleep(delay)
        if fault == DROP_BEFORE:
            self._log(method, params, 0, fault)
            return _drop(request)
        if fault in _ERRORS:
            failure = _ERRORS[fault]
            self._log(method, params, failure.code, fault)
            return _answer(failure.to_json(), failure.code)
        try:
            body: JSON = {"ok": True, "result": await handler(params)}
            status = 200
        except ApiError as error:
            body, status = error.to_json(), error.code
        if fault == DROP_AFTER:
            self._log(method, params, 0, fault)
            return _drop(request)
        self._log(method, params, status)
        return _answer(body, status)

    def _log(
        self, method: str, params: Params | JSON, status: int, fault: str | None = None
    ) -> None:
        """Record a call; the token never appears in the log."""
        values = params.values if isinstance(params, Params) else params
        logged: JSON = dict(values)
        if isinstance(params, Params):
            for name, upload in params.files.items():
                logged[name] = f"<upload {upload.filename!r}, {len(upload.data)} bytes>"
        self.calls.append(ApiCall(method, _redact(logged, self.bot_token), status, fault))

    def requests_in_flight(self, *, long_polls: bool = False) -> int:
        """Bot API requests being answered now; a waiting getUpdates counts only if asked."""
        return sum(
            count
            for method, count in self._in_flight.items()
            if long_polls or method != "getUpdates"
        )

    def calls_to(self, method: str) -> list[ApiCall]:
        """Recorded calls of one method (case-insensitive)."""
        return [call for call in self.calls if call.method.lower() == method.lower()]

    # -- webhook delivery ------------------------------------------------------------------

    async def _deliver_webhook_updates(self) -> None:
        """POST pending updates one by one to the webhook, retrying failures with backoff."""
        backoff = self.webhook_retry_delay
        while not self.closing:
            hook = self.webhook
            batch = self.deliverable(1) if hook.url else []
            if not batch:
                await self.wait_changed(1.0)
                continue
            update = batch[0]
            error = await self._post_update(hook.url, hook.secret_token, update)
            if error is None:
                hook.delivered += 1
                self.confirm(update["update_id"])
                backoff = self.webhook_retry_delay
                continue
            self.webhook_failures += 1
            hook.last_error_date = self.now()
            hook.last_error_message = error
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    async def _post_update(self, url: str, secret: str | None, update: JSON) -> str | None:
        """Send one update; the error message on failure, None on success."""
        assert self._client is not None
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        try:
            async with self._client.post(url, json=update, headers=headers) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return None
                return f"Wrong response from the webhook: {response.status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError) as error:
            return f"Connection failed: {error.__class__.__name__}"

    # -- waiting ---------------------------------------------------------------------------

    async def wait_for(
        self, predicate: Callable[[], T | None], timeout: float = 5.0, message: str | None = None
    ) -> T:
        """Poll predicate every 20 ms until it returns something truthy, and return that."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if loop.time() >= deadline:
                what = message or getattr(predicate, "__qualname__", repr(predicate))
                raise AssertionError(
                    f"timed out after {timeout} s waiting for {what}\n{self.describe()}"
                )
            await asyncio.sleep(0.02)

    async def wait_for_message(
        self,
        target: User | Chat,
        contains: str | None = None,
        timeout: float = 5.0,
        *,
        after: Message | int | None = None,
    ) -> Message:
        """The newest bot message to a user or chat containing a text, newer than after (id)."""
        newer_than = after if isinstance(after, int) else 0 if after is None else after.message_id

        def newest() -> Message | None:
            for message in reversed(self.messages_of(target)):
                if message.message_id > newer_than and (
                    contains is None or contains in message.text
                ):
                    return message
            return None

        who = target.first_name if isinstance(target, User) else target.title
        return await self.wait_for(
            newest, timeout, f"a bot message to {who} containing {contains!r}"
        )

    def describe(self) -> str:
        """A short picture of recent activity, for assertion messages."""
        lines = ["recent calls:"]
        lines += [
            f"  {call.method} -> {call.status}{' (' + call.fault + ')' if call.fault else ''}"
            f" {_short(call.params)}"
            for call in self.calls[-10:]
        ]
        lines.append(f"pending updates: {self.updates_pending()}")
        for chat in self.chats.values():
            messages = self.chat_messages(chat)[-3:]
            if messages:
                lines.append(
                    f"chat {chat.id} ({chat.title or (chat.user and chat.user.first_name)}):"
                )
                lines += [f"  #{m.message_id}: {m.text[:100]!r} {m.buttons}" for m in messages]
        return "\n".join(lines)


async def _read_params(request: web.Request) -> Params:
    """Parameters from the query string and a JSON, urlencoded or multipart body."""
    values: JSON = dict(request.query)
    files: dict[str, Upload] = {}
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON encoded request body") from None
        if not isinstance(body, dict):
            raise bad_request("can't parse JSON encoded request body")
        values.update(body)
    elif request.can_read_body:
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, FileField):
                files[name] = Upload(value.filename, value.content_type, value.file.read())
            else:
                values[name] = value if isinstance(value, str) else bytes(value).decode()
    return Params(normalize(values), files)


def _answer(body: JSON, status: int) -> web.Response:
    """A JSON answer."""
    return web.json_response(body, status=status)


def _drop(request: web.Request) -> web.Response:
    """Close the connection without answering; the client sees a disconnect."""
    if request.transport is not None:
        request.transport.close()
    return web.Response()


def _redact(value: Any, token: str) -> Any:
    """Replace the bot token anywhere inside logged parameters."""
    if isinstance(value, str):
        return value.replace(token, "<token>")
    if isinstance(value, dict):
        return {key: _redact(item, token) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item, token) for item in value]
    return value


def _short(params: JSON) -> str:
    """Parameters in one short line."""
    text = json.dumps(params, ensure_ascii=False, default=str)
    return text if len(text) <= 160 else text[:157] + "..."
