"""Fixtures for the sandbox's own tests: a running sandbox, a PTB Bot and a raw HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import telegram

from bot.sandbox import RateLimits, Sandbox

TOKEN = "123456:TEST"


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A running sandbox without flood limits."""
    async with Sandbox(
        bot_token=TOKEN, bot_username="meetings_test_bot", limits=RateLimits.unlimited()
    ) as running:
        yield running


@pytest.fixture
async def bot(sandbox: Sandbox) -> AsyncIterator[telegram.Bot]:
    """A python-telegram-bot Bot pointed at the sandbox."""
    async with telegram.Bot(TOKEN, base_url=sandbox.base_url) as ptb_bot:
        yield ptb_bot


class RawApi:
    """Calls the sandbox over plain HTTP and returns (status, JSON body)."""

    def __init__(self, session: aiohttp.ClientSession, sandbox: Sandbox) -> None:
        self.session = session
        self.sandbox = sandbox

    async def call(
        self, method: str, token: str = TOKEN, **params: Any
    ) -> tuple[int, dict[str, Any]]:
        """POST params as JSON."""
        url = f"{self.sandbox.base_url}{token}/{method}"
        async with self.session.post(url, json=params) as response:
            return response.status, await response.json()

    async def form(self, method: str, data: Any) -> tuple[int, dict[str, Any]]:
        """POST params as urlencoded or multipart form data."""
        async with self.session.post(f"{self.sandbox.base_url}{TOKEN}/{method}", data=data) as r:
            return r.status, await r.json()


@pytest.fixture
async def raw(sandbox: Sandbox) -> AsyncIterator[RawApi]:
    """A raw HTTP client for the sandbox."""
    async with aiohttp.ClientSession() as session:
        yield RawApi(session, sandbox)
