"""Links bound to the Telegram account (LINK_BINDING=telegram), end to end: the DM carries a Mini
App button; its page posts Telegram's signed init data, and the bot's own web server mints only
for the account the link was sent to. Also: people who said Can't or wait for a seat are
refused at their click-time link, bound or not."""

from __future__ import annotations

import logging
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote, urlencode, urlsplit

import aiohttp
import pytest
from sqlmodel import Session, select

from bot.config import SettingsError, load_settings
from bot.sandbox import Message, Sandbox, User
from storage.models import LinkHandle, Meeting
from tests.conftest import BotHarness
from tests.helpers import decode_token

GOING, CANT = "✅ Going", "❌ Can't"
JOIN = "🎥 Join the meeting"
# 10:00 UTC now (tests/conftest.py); the meeting runs 12:00-13:00, its window opens at 11:45.
START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def binding() -> str:
    """LINK_BINDING for this test (parametrized where both ways matter)."""
    return "telegram"


@pytest.fixture
def web_settings(binding: str) -> dict[str, Any]:
    """The settings this file's bot runs with besides PUBLIC_URL."""
    return {"link_binding": binding}


@pytest.fixture
def bot(web_bot: BotHarness) -> BotHarness:
    """The real bot with PUBLIC_URL set: its web server listens on a free port."""
    return web_bot


@dataclass
class Team:
    """Alice (owner) planned a meeting and invited Bob (member); Carol is not in it."""

    alice: User
    bob: User
    carol: User
    code: str


@pytest.fixture
async def team(bot: BotHarness, sandbox: Sandbox) -> Team:
    alice = sandbox.create_user("Alice", username="alice")
    bob = sandbox.create_user("Bob", username="bob")
    carol = sandbox.create_user("Carol", username="carol", language_code="de")
    for person in (alice, bob, carol):
        await bot.say(person, "/start")
    preview = await bot.say(alice, "/schedule Team sync | 2026-11-28 12:00 | 60m")
    await bot.tap(alice, preview, "Confirm")
    with Session(bot.services.engine) as session:
        code = session.exec(select(Meeting)).one().code
    await bot.say(alice, f"/invite {code} @bob")
    return Team(alice, bob, carol, code)


def _web_app_url(message: Message) -> str:
    """The Mini App button's URL under a message (and it must be the only way in)."""
    found = [
        (button["text"], button["web_app"]["url"])
        for row in (message.reply_markup or {}).get("inline_keyboard", [])
        for button in row
        if "web_app" in button
    ]
    [(text, url)] = found
    assert text == JOIN
    return str(url)


def _init_data(
    bot: BotHarness, user: User, *, age: timedelta = timedelta(0), **options: Any
) -> str:
    signed_at = int((bot.clock() - age).timestamp())
    return bot.sandbox.web_app_init_data(user, auth_date=signed_at, **options)


async def _post(
    http: aiohttp.ClientSession, url: str, init_data: str
) -> tuple[aiohttp.ClientResponse, str]:
    """What the page's form sends; the answer, not followed."""
    async with http.post(url, data={"init_data": init_data}, allow_redirects=False) as response:
        return response, await response.text()


def _role_after(response: aiohttp.ClientResponse) -> str:
    """The role in the token of the Jitsi link a post redirected to."""
    assert response.status == 303
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.hostname) == ("https", "meet.example.com")
    [token] = parse_qs(location.query)["jwt"]
    return str(decode_token(token)["context"]["user"]["affiliation"])


async def _bound_link_from_reminder(bot: BotHarness, team: Team, port: int) -> tuple[str, Message]:
    """Bob's Mini App URL, from the link message at 11:50."""
    await bot.reminders(timedelta(minutes=110))
    message = bot.sandbox.inbox(team.bob)[-1]
    url = _web_app_url(message)
    assert re.fullmatch(rf"http://127\.0\.0\.1:{port}/bot/j/[A-Za-z0-9_-]{{32}}/tg", url)
    return url, message


def _handle_row(bot: BotHarness, user: User) -> LinkHandle:
    with Session(bot.services.engine) as session:
        return session.exec(select(LinkHandle).where(LinkHandle.user_id == user.id)).one()


# --- settings ----------------------------------------------------------------------------------


def test_link_binding_needs_public_url_and_a_known_value() -> None:
    base = {
        "jitsi_base_url": "https://meet.example.com",
        "jitsi_app_id": "meetbot",
        "jitsi_app_secret": "s" * 32,
        "_env_file": None,
    }
    with pytest.raises(SettingsError, match=r"^LINK_BINDING is telegram but PUBLIC_URL"):
        load_settings(**base, link_binding="telegram")
    with pytest.raises(SettingsError, match=r"^LINK_BINDING: expected off or telegram$"):
        load_settings(**base, link_binding="yes", public_url="https://bot.example.com")
    assert not load_settings(**base).binds_links
    bound = load_settings(**base, link_binding="Telegram", public_url="https://bot.example.com")
    assert bound.binds_links


# --- the message -------------------------------------------------------------------------------


async def test_the_dm_carries_a_mini_app_button_and_no_link_in_its_text(
    bot: BotHarness, team: Team, port: int
) -> None:
    url, message = await _bound_link_from_reminder(bot, team, port)
    handle = url.split("/j/")[1].removesuffix("/tg")
    assert handle not in message.text and "http" not in message.text and "jwt" not in message.text
    assert "Join with the button below: it opens the meeting only for you." in message.text
    # /link in private: the same button, no URL in the text.
    reply = await bot.say(team.bob, f"/link {team.code}")
    assert _web_app_url(reply) == url and handle not in reply.text
    # /link in a group: the button goes to the private chat, never into the group.
    group = bot.sandbox.create_group("Team", members=[team.alice, team.bob])
    await bot.say(team.bob, f"/link {team.code}", group)
    assert all(
        "web_app" not in str(message.reply_markup) and handle not in message.text
        for message in bot.sandbox.chat_messages(group)
    )
    assert _web_app_url(bot.sandbox.inbox(team.bob)[-1]) == url


# --- opening -----------------------------------------------------------------------------------


async def test_the_right_account_gets_a_token_for_its_role_at_that_moment(
    bot: BotHarness, team: Team, http: aiohttp.ClientSession, port: int
) -> None:
    url, _message = await _bound_link_from_reminder(bot, team, port)
    # The page itself mints nothing: it posts the init data back.
    async with http.get(url) as response:
        page = await response.text()
        assert response.status == 200 and 'name="init_data"' in page and "jwt" not in page
        assert "script-src 'sha256-" in response.headers["Content-Security-Policy"]
    assert _handle_row(bot, team.bob).first_opened_at is None

    response, _page = await _post(http, url, _init_data(bot, team.bob))
    assert _role_after(response) == "member"
    handle = url.split("/j/")[1].removesuffix("/tg")
    assert unquote(urlsplit(response.headers["Location"]).fragment) == f'botlink="{handle}"'
    await bot.say(team.alice, f"/promote {team.code} @bob")
    response, _page = await _post(http, url, _init_data(bot, team.bob))
    assert _role_after(response) == "owner"
    await bot.say(team.alice, f"/demote {team.code} @bob")
    # Init data Telegram signed 59 minutes ago still counts.
    response, _page = await _post(http, url, _init_data(bot, team.bob, age=timedelta(minutes=59)))
    assert _role_after(response) == "member"
    assert _handle_row(bot, team.bob).last_opened_at == bot.clock()


async def test_the_plain_link_without_telegram_mints_nothing(
    bot: BotHarness, team: Team, http: aiohttp.ClientSession, port: int
) -> None:
    url, _message = await _bound_link_from_reminder(bot, team, port)
    plain = url.removesuffix("/tg")
    async with http.get(plain, allow_redirects=False) as response:
        assert response.status == 303
        assert response.headers["Location"] == urlsplit(url).path
    response, page = await _post(http, url, "")
    assert response.status == 403 and "Open this link in Telegram" in page
    assert _handle_row(bot, team.bob).first_opened_at is None


async def test_a_forwarded_link_opened_by_someone_else_is_refused(
    bot: BotHarness, team: Team, http: aiohttp.ClientSession, port: int
) -> None:
    url, _message = await _bound_link_from_reminder(bot, team, port)
    # Carol (German Telegram) opens Bob's button: signed by Telegram, but for her. She reads
    # the refusal in her Telegram's language, and learns nothing about the meeting.
    response, page = await _post(http, url, _init_data(bot, team.carol))
    assert response.status == 403 and 'lang="de"' in page
    assert "Bob" in page and "Team sync" not in page and "jwt" not in page
    # Alice, the organizer herself, is no exception: the link is Bob's.
    response, page = await _post(http, url, _init_data(bot, team.alice))
    assert response.status == 403
    assert "This link belongs to Bob; ask the organizer to invite you." in page
    assert _handle_row(bot, team.bob).first_opened_at is None


async def test_tampered_forged_and_stale_init_data_are_refused(
    bot: BotHarness, team: Team, http: aiohttp.ClientSession, port: int
) -> None:
    url, _message = await _bound_link_from_reminder(bot, team, port)
    # Carol's init data with Bob's id written into it: the signature no longer matches.
    fields = dict(parse_qsl(_init_data(bot, team.carol)))
    fields["user"] = fields["user"].replace(str(team.carol.id), str(team.bob.id))
    tampered = urlencode(fields)
    forged = _init_data(bot, team.bob, bot_token="654321:NOT-THE-BOTS-TOKEN")
    stale = _init_data(bot, team.bob, age=timedelta(minutes=61))
    for init_data in (tampered, forged, stale):
        response, page = await _post(http, url, init_data)
        assert response.status == 403 and "Open this link in Telegram" in page
        assert "Location" not in response.headers
    assert _handle_row(bot, team.bob).first_opened_at is None


async def test_no_handle_token_or_init_data_in_the_log(
    bot: BotHarness,
    team: Team,
    http: aiohttp.ClientSession,
    port: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url, _message = await _bound_link_from_reminder(bot, team, port)
    init_data = _init_data(bot, team.bob)
    response, _page = await _post(http, url, init_data)
    token = parse_qs(urlsplit(response.headers["Location"]).query)["jwt"][0]
    handle = url.split("/j/")[1].removesuffix("/tg")
    web = "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.name.startswith(("bot.web", "aiohttp"))
    )
    assert "POST /bot/j/… 303" in web
    signature = dict(parse_qsl(init_data))["hash"]
    assert handle not in web and token not in web and signature not in web


# --- Can't and the waitlist ----------------------------------------------------------------------


@pytest.mark.parametrize("binding", ["off", "telegram"])
async def test_who_said_cant_is_refused_at_the_link(
    bot: BotHarness, team: Team, http: aiohttp.ClientSession, port: int, binding: str
) -> None:
    # Bob asks for his link early (a click-time link is handed out at any time).
    reply = await bot.say(team.bob, f"/link {team.code}")
    if binding == "telegram":
        url = _web_app_url(reply)
    else:
        [url] = re.findall(rf"http://127\.0\.0\.1:{port}/bot/j/[A-Za-z0-9_-]{{32}}", reply.text)
    invitation = next(m for m in bot.sandbox.inbox(team.bob) if "You are invited" in m.text)
    await bot.tap(team.bob, invitation, CANT)
    bot.clock.set(START - timedelta(minutes=5))
    if binding == "telegram":
        response, page = await _post(http, url, _init_data(bot, team.bob))
    else:
        async with http.get(url, allow_redirects=False) as response:
            page = await response.text()
    assert response.status == 403 and "Location" not in response.headers
    assert "You said you can't come, so this link does not open the meeting." in unescape(page)
    assert _handle_row(bot, team.bob).first_opened_at is None


# --- in a real browser -------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
async def test_the_bound_page_in_chromium_opens_the_meeting_only_for_its_person(
    bot: BotHarness, team: Team, port: int, tmp_path: Path
) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    shots = Path(os.environ.get("BINDING_SHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    url, _message = await _bound_link_from_reminder(bot, team, port)
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=_FLAGS)
        try:
            context = await browser.new_context(viewport={"width": 360, "height": 640})
            # The Jitsi server of the tests does not exist: the browser lands on a stand-in.
            jitsi: list[str] = []

            async def stand_in(route: Any) -> None:
                jitsi.append(route.request.url)
                await route.fulfill(content_type="text/html", body="<h1>Jitsi</h1>")

            await context.route("https://meet.example.com/**", stand_in)
            page = await context.new_page()
            page.set_default_timeout(10_000)
            # Bob taps the button: Telegram opens the page with his signed init data.
            await page.goto(bot.sandbox.web_app_url(url, _init_data(bot, team.bob)))
            await page.wait_for_url("https://meet.example.com/**")
            [token] = parse_qs(urlsplit(jitsi[0]).query)["jwt"]
            assert decode_token(token)["context"]["user"]["affiliation"] == "member"
            assert await page.text_content("h1") == "Jitsi"

            # Carol got the button forwarded and taps it: her own init data.
            page = await context.new_page()
            await page.goto(bot.sandbox.web_app_url(url, _init_data(bot, team.carol)))
            await page.wait_for_selector("h1")
            body = await page.text_content("body") or ""
            assert "Bob" in body and "Team sync" not in body
            await page.screenshot(path=str(shots / "bound-not-yours.png"), full_page=True)

            # Opened outside Telegram: no init data, no meeting.
            page = await context.new_page()
            await page.goto(url)
            await page.wait_for_selector("h1")
            assert await page.text_content("h1") == "Open this link in Telegram"
            await page.screenshot(path=str(shots / "bound-outside-telegram.png"), full_page=True)
            assert len(jitsi) == 1
        finally:
            await browser.close()


@pytest.mark.parametrize("binding", ["off"])
async def test_who_waits_for_a_seat_is_told_their_place_at_the_link(
    bot: BotHarness, team: Team, http: aiohttp.ClientSession, port: int, binding: str
) -> None:
    # One seat: Bob had it (and his link), let it go, and Carol took it meanwhile.
    await bot.say(team.alice, f"/capacity {team.code} 1")
    reply = await bot.say(team.bob, f"/link {team.code}")
    [url] = re.findall(rf"http://127\.0\.0\.1:{port}/bot/j/[A-Za-z0-9_-]{{32}}", reply.text)
    invitation = next(m for m in bot.sandbox.inbox(team.bob) if "You are invited" in m.text)
    await bot.tap(team.bob, invitation, CANT)
    await bot.say(team.alice, f"/invite {team.code} @carol")
    await bot.tap(team.bob, invitation, GOING)
    bot.clock.set(START - timedelta(minutes=5))
    async with http.get(url, allow_redirects=False) as response:
        page = unescape(await response.text())
    assert response.status == 403 and "Location" not in response.headers
    assert "The meeting is full: you are number 1 on the waitlist." in page


async def test_the_mini_app_join_stays_in_telegram_with_the_init_data(
    bot: BotHarness, team: Team, http: aiohttp.ClientSession, port: int
) -> None:
    """The app's Join is a bound link: it opens in place, carrying the app's own init data."""
    await bot.reminders(timedelta(minutes=110))
    init_data = _init_data(bot, team.bob)
    async with http.get(
        f"http://127.0.0.1:{port}/bot/app/api/meetings",
        headers={"Authorization": f"tma {init_data}"},
    ) as response:
        assert response.status == 200
        [card] = (await response.json())["meetings"]
    assert card["join_in_place"] is True
    # What the page does: the plain link leads to the bound page, which mints for Bob only.
    async with http.get(card["join"], allow_redirects=False) as response:
        assert response.status == 303
        bound = f"http://127.0.0.1:{port}{response.headers['Location']}"
    response, _page = await _post(http, bound, init_data)
    assert _role_after(response) == "member"
