"""The click-time pages in a real headless Chromium (Debian's, run from its command line):
the pages themselves, and the way back from Jitsi's error page to a fresh token.

A stand-in Jitsi host serves a room page with jitsi-config's body.html and its authError.html;
the bot's JITSI_BASE_URL points at it, so a link opened in the browser really goes there.
Screenshots of each page state are left in the test's folder (CHROMIUM_SHOTS=<dir> keeps
copies) to be looked at.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.jitsi.server_settings import render_server_config
from bot.sandbox import Sandbox, User
from storage.models import LinkHandle, Meeting
from tests.conftest import BotHarness
from tests.helpers import free_port, make_settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")

# The flags a root session on this machine needs, and none that reach out to the network.
_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


async def _browse(
    url: str, profile: Path, *, screenshot: Path | None = None, wait_ms: int = 3000
) -> str:
    """Load `url` in Chromium (scripts, redirects and timers run for `wait_ms` of virtual
    time); the DOM it ends with. The bot answers meanwhile: it runs on this event loop."""
    assert CHROMIUM is not None
    args = [*_FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={wait_ms}"]
    if screenshot is not None:
        args += ["--window-size=720,520", f"--screenshot={screenshot}"]
    else:
        args += ["--dump-dom"]
    process = await asyncio.create_subprocess_exec(
        CHROMIUM,
        *args,
        url,
        cwd=profile,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, f"chromium exited with {process.returncode}"
    if screenshot is not None:
        assert screenshot.stat().st_size > 2000, "an empty screenshot"
        if shots := os.environ.get("CHROMIUM_SHOTS"):
            shutil.copy(screenshot, Path(shots) / screenshot.name)
    return stdout.decode()


class FakeJitsi:
    """A stand-in Jitsi web server: rooms (with body.html) and static/authError.html."""

    def __init__(self, body: str, auth_error: str) -> None:
        self.body = body
        self.auth_error = auth_error
        self.rooms_opened: list[str] = []  # the query string of each room load (the jwt)
        self.port = free_port()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/static/authError.html", self._auth_error)
        app.router.add_get("/{room}", self._room)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _room(self, request: web.Request) -> web.Response:
        if request.match_info["room"] == "favicon.ico":
            raise web.HTTPNotFound()
        self.rooms_opened.append(request.query_string)
        # What the room page shows to the test: what body.html kept, and the address left.
        report = (
            "<script>document.addEventListener('DOMContentLoaded', function () {"
            "document.getElementById('kept').textContent = "
            "localStorage.getItem('meetingbot.link.' + location.pathname.slice(1)) + ' ' + "
            "location.hash;});</script>"
        )
        page = f"<!DOCTYPE html><html><body><p id='kept'></p>{self.body}{report}</body></html>"
        return web.Response(text=page, content_type="text/html")

    async def _auth_error(self, request: web.Request) -> web.Response:
        return web.Response(text=self.auth_error, content_type="text/html")


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
async def jitsi(port: int) -> AsyncIterator[FakeJitsi]:
    settings = make_settings(
        public_url=f"http://127.0.0.1:{port}/bot", jitsi_base_url="http://127.0.0.1:1"
    )
    blocks = render_server_config(settings, bot_username="MeetPlannerBot")
    auth_error = blocks.split("===== /usr/share/jitsi-meet/static/authError.html =====\n")[1]
    body = blocks.split("===== /usr/share/jitsi-meet/body.html =====\n")[1]
    server = FakeJitsi(body.split("\n=====")[0], auth_error.split("\n=====")[0])
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def bot(
    sandbox: Sandbox,
    clock: ManualClock,
    tmp_path: Path,
    database_url: str,
    port: int,
    jitsi: FakeJitsi,
) -> AsyncIterator[BotHarness]:
    harness = BotHarness(
        sandbox,
        clock,
        tmp_path / "meetings.db",
        make_settings,
        database_url=database_url,
        public_url=f"http://127.0.0.1:{port}/bot",
        web_listen=f"127.0.0.1:{port}",
        jitsi_base_url=f"http://127.0.0.1:{jitsi.port}",
    )
    await harness.start()
    yield harness
    await harness.stop()


async def _bobs_link(bot: BotHarness, sandbox: Sandbox, port: int) -> tuple[str, User]:
    """Alice plans a meeting at 12:00 and invites Bob (Berlin, German); Bob's link."""
    alice = sandbox.create_user("Alice", username="alice")
    bob = sandbox.create_user("Bob", username="bob")
    for person in (alice, bob):
        await bot.say(person, "/start")
    await bot.say(bob, "/timezone Europe/Berlin")
    await bot.say(bob, "/language de")
    preview = await bot.say(alice, "/schedule Team sync | 2026-11-28 12:00 | 60m")
    await bot.tap(alice, preview, "Confirm")
    with Session(bot.services.engine) as session:
        code = session.exec(select(Meeting)).one().code
    await bot.say(alice, f"/invite {code} @bob")
    reply = await bot.say(bob, f"/link {code}")
    prefix = f"http://127.0.0.1:{port}/bot/j/"
    [link] = [word for word in reply.text.split() if word.startswith(prefix)]
    return link, bob


async def test_the_pages_and_the_way_back_from_jitsis_error_page(
    bot: BotHarness, sandbox: Sandbox, jitsi: FakeJitsi, port: int, tmp_path: Path
) -> None:
    profile = tmp_path / "chromium"
    profile.mkdir()
    link, bob = await _bobs_link(bot, sandbox, port)
    handle = link.rsplit("/", 1)[1]

    # 10:00: the waiting page, in German and Bob's zone, no token anywhere in it.
    dom = await _browse(link, profile)
    assert "Samstag, 28. November 2026, 13:00" in dom and "jwt" not in dom
    await _browse(link, profile, screenshot=tmp_path / "1-waiting.png")
    assert jitsi.rooms_opened == []

    # 11:45: the window is open; the browser lands in the room with a fresh token, and the
    # room's body.html keeps the handle and takes it out of the address bar.
    bot.clock.set(datetime(2026, 11, 28, 11, 45, tzinfo=UTC))
    dom = await _browse(link, profile)
    assert f'<p id="kept">{handle} </p>' in dom
    assert len(jitsi.rooms_opened) == 1 and jitsi.rooms_opened[0].startswith("jwt=")

    # Jitsi refuses a token: its error page goes back to the link, which mints a fresh one.
    bot.clock.advance(timedelta(minutes=5))
    dom = await _browse(
        f"http://127.0.0.1:{jitsi.port}/static/authError.html", profile, wait_ms=5000
    )
    assert len(jitsi.rooms_opened) == 2 and jitsi.rooms_opened[1] != jitsi.rooms_opened[0]
    with Session(bot.services.engine) as session:
        row = session.exec(select(LinkHandle).where(LinkHandle.user_id == bob.id)).one()
    assert row.last_opened_at == bot.clock()
    await _browse(
        f"http://127.0.0.1:{jitsi.port}/static/authError.html",
        profile,
        screenshot=tmp_path / "2-auth-error.png",
        wait_ms=500,
    )

    # The page after a hang-up, then the ended and the unknown link's pages: none opens the
    # room again.
    dom = await _browse(f"{link}?after=left", profile, screenshot=tmp_path / "3-left.png")
    bot.clock.set(datetime(2026, 11, 28, 13, 1, tzinfo=UTC))
    dom = await _browse(link, profile)
    assert "Team sync" in dom and "jwt" not in dom
    await _browse(link, profile, screenshot=tmp_path / "4-ended.png")
    await _browse(f"{link[:-4]}AAAA", profile, screenshot=tmp_path / "5-unknown.png")
    assert len(jitsi.rooms_opened) == 2


async def test_the_waiting_page_takes_the_browser_into_the_room_when_the_window_opens(
    bot: BotHarness,
    sandbox: Sandbox,
    jitsi: FakeJitsi,
    port: int,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.web.access")
    profile = tmp_path / "chromium"
    profile.mkdir()
    link, _bob = await _bobs_link(bot, sandbox, port)
    bot.clock.set(datetime(2026, 11, 28, 11, 44, 58, tzinfo=UTC))  # 2 s before the window
    browsing = asyncio.create_task(_browse(link, profile, wait_ms=20000))

    def waiting_page_served() -> bool:
        return any(" 200 " in record.getMessage() for record in caplog.records)

    await sandbox.wait_for(waiting_page_served, timeout=30, message="the waiting page")
    assert jitsi.rooms_opened == []
    bot.clock.advance(timedelta(seconds=2))  # the page reloads itself after 2 s
    dom = await browsing
    assert len(jitsi.rooms_opened) == 1 and jitsi.rooms_opened[0].startswith("jwt=")
    assert 'id="kept"' in dom
