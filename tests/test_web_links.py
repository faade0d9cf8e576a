"""Click-time links (PUBLIC_URL/j/<handle>), end to end: the real bot's own web server, opened
over real HTTP, minting a token for the person as they are at that moment."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiohttp
import pytest
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.config import SettingsError, load_settings
from bot.logs import RedactingFilter
from bot.sandbox import Sandbox, User
from bot.web.previews import PREVIEW_AGENTS
from storage.models import LinkHandle, Meeting
from tests.conftest import BotHarness
from tests.helpers import decode_token, make_settings

# 10:00 UTC now (tests/conftest.py); the meeting runs 12:00-13:00, its window opens at 11:45.
START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
GRACE = timedelta(minutes=60)


@pytest.fixture
def bot(web_bot: BotHarness) -> BotHarness:
    """The real bot with PUBLIC_URL set: its web server listens on a free port."""
    return web_bot


@dataclass
class Team:
    """Alice (owner) planned a meeting and invited Bob (member)."""

    alice: User
    bob: User
    code: str


@pytest.fixture
async def team(bot: BotHarness, sandbox: Sandbox) -> Team:
    alice = sandbox.create_user("Alice", username="alice")
    bob = sandbox.create_user("Bob", username="bob")
    for person in (alice, bob):
        await bot.say(person, "/start")
    preview = await bot.say(alice, "/schedule Team sync | 2026-11-28 12:00 | 60m")
    await bot.tap(alice, preview, "Confirm")
    with Session(bot.services.engine) as session:
        code = session.exec(select(Meeting)).one().code
    await bot.say(alice, f"/invite {code} @bob")
    return Team(alice, bob, code)


def _click_links(sandbox: Sandbox, user: User, port: int) -> list[str]:
    pattern = re.compile(rf"http://127\.0\.0\.1:{port}/bot/j/([A-Za-z0-9_-]+)")
    return [found for message in sandbox.inbox(user) for found in pattern.findall(message.text)]


async def _handle_from_reminder(bot: BotHarness, team: Team, port: int) -> str:
    """Bob's handle, from the reminder at 11:50."""
    await bot.reminders(timedelta(minutes=110))
    [handle] = _click_links(bot.sandbox, team.bob, port)
    return handle


def _handle_row(bot: BotHarness, user: User) -> LinkHandle:
    with Session(bot.services.engine) as session:
        return session.exec(select(LinkHandle).where(LinkHandle.user_id == user.id)).one()


async def _open(
    http: aiohttp.ClientSession, port: int, handle: str, **headers: str
) -> aiohttp.ClientResponse:
    async with http.get(
        f"http://127.0.0.1:{port}/bot/j/{handle}", allow_redirects=False, headers=headers
    ) as response:
        await response.read()
        return response


async def _claims_after_open(
    http: aiohttp.ClientSession, port: int, handle: str
) -> tuple[dict[str, Any], str]:
    """Open the link like a browser; the token's claims and the room it leads to."""
    response = await _open(http, port, handle)
    assert response.status == 303
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.hostname) == ("https", "meet.example.com")
    # The fragment is for the Jitsi pages jitsi-config prints: the way back to this handle.
    assert unquote(location.fragment) == f'botlink="{handle}"'
    [token] = parse_qs(location.query)["jwt"]
    return decode_token(token), location.path.strip("/")


# --- the link in the message ---------------------------------------------------------------


async def test_reminder_carries_the_click_link_and_each_open_mints_the_role_of_the_moment(
    bot: BotHarness, team: Team, http: aiohttp.ClientSession, port: int
) -> None:
    handle = await _handle_from_reminder(bot, team, port)
    reminder = bot.sandbox.inbox(team.bob)[-1]
    assert "jwt" not in reminder.text and "starts in 10 minutes" in reminder.text
    assert len(handle) >= 22  # at least 128 bits, URL-safe base64

    claims, room = await _claims_after_open(http, port, handle)
    with Session(bot.services.engine) as session:
        meeting = session.exec(select(Meeting)).one()
    assert room == meeting.room == claims["room"]
    assert claims["context"]["user"]["affiliation"] == "member"
    assert claims["context"]["user"]["id"] == f"tg-{team.bob.id}"
    now = int(bot.clock().timestamp())
    assert claims["nbf"] == now - 60
    assert claims["exp"] == int((END + GRACE).timestamp())

    # A promotion takes effect at the next open of the same link, a demotion too.
    await bot.say(team.alice, f"/promote {team.code} @bob")
    bot.clock.advance(timedelta(minutes=3))
    claims, _room = await _claims_after_open(http, port, handle)
    assert claims["context"]["user"]["affiliation"] == "owner"
    assert claims["moderator"] is True
    assert claims["nbf"] == int(bot.clock().timestamp()) - 60
    await bot.say(team.alice, f"/demote {team.code} @bob")
    claims, _room = await _claims_after_open(http, port, handle)
    assert claims["context"]["user"]["affiliation"] == "member"
    # A feature change too.
    await bot.say(team.alice, f"/features {team.code} @bob recording=on")
    claims, _room = await _claims_after_open(http, port, handle)
    assert claims["context"]["features"]["recording"] is True
    # The messages about those changes carry the same link, never a token.
    assert set(_click_links(bot.sandbox, team.bob, port)) == {handle}
    assert not any("jwt" in message.text for message in bot.sandbox.inbox(team.bob))


async def test_rotate_keeps_the_link_and_it_leads_to_the_new_room(
    bot: BotHarness, team: Team, http: aiohttp.ClientSession, port: int
) -> None:
    handle = await _handle_from_reminder(bot, team, port)
    _claims, old_room = await _claims_after_open(http, port, handle)
    await bot.say(team.alice, f"/rotate {team.code}")
    claims, new_room = await _claims_after_open(http, port, handle)
    assert new_room != old_room and claims["room"] == new_room
    notice = bot.sandbox.inbox(team.bob)[-1]
    assert "new room" in notice.text and handle in notice.text and "jwt" not in notice.text


async def test_rotate_with_a_name_replaces_only_that_persons_link(
    bot: BotHarness, team: Team, http: aiohttp.ClientSession, port: int
) -> None:
    handle = await _handle_from_reminder(bot, team, port)
    [alice_handle] = _click_links(bot.sandbox, team.alice, port)
    refused = await bot.say(team.bob, f"/rotate {team.code} @alice")
    assert "Only the meeting's owners" in refused.text
    reply = await bot.say(team.alice, f"/rotate {team.code} @bob")
    assert "Bob's link to" in reply.text and "no longer works" in reply.text
    # The old link is gone at once (a forwarded copy with it); Bob has the new one already.
    assert (await _open(http, port, handle)).status == 404
    message = bot.sandbox.inbox(team.bob)[-1]
    assert "was replaced" in message.text and "jwt" not in message.text
    [new_handle] = _click_links(bot.sandbox, team.bob, port)[-1:]
    assert new_handle != handle
    claims, _room = await _claims_after_open(http, port, new_handle)
    assert claims["context"]["user"]["id"] == f"tg-{team.bob.id}"
    # Nobody else's link changed, nor the room.
    await _claims_after_open(http, port, alice_handle)
    history = await bot.say(team.alice, f"/history {team.code}")
    assert "new-link Bob" in history.text


async def test_link_command_hands_out_the_click_link(
    bot: BotHarness, team: Team, http: aiohttp.ClientSession, port: int
) -> None:
    reply = await bot.say(team.bob, f"/link {team.code}")
    [handle] = _click_links(bot.sandbox, team.bob, port)
    assert "jwt" not in reply.text
    # The same link as the reminder's: one per meeting and person.
    assert await _handle_from_reminder_or_same(bot, team, port) == handle


async def _handle_from_reminder_or_same(bot: BotHarness, team: Team, port: int) -> str:
    await bot.reminders(timedelta(minutes=110))
    handles = set(_click_links(bot.sandbox, team.bob, port))
    assert len(handles) == 1
    return handles.pop()


# --- before, after, cancelled, refused, unknown -------------------------------------------


async def test_before_the_window_a_waiting_page_in_the_persons_zone_and_language(
    bot: BotHarness, team: Team, http: aiohttp.ClientSession, port: int
) -> None:
    await bot.say(team.bob, "/timezone Europe/Berlin")
    await bot.say(team.bob, "/language de")
    await bot.say(team.bob, f"/link {team.code}")
    [handle] = _click_links(bot.sandbox, team.bob, port)

    response = await _open(http, port, handle)
    page = await response.text()
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "Location" not in response.headers
    assert '<html lang="de">' in page
    # 12:00 UTC is 13:00 in Berlin; the room opens 15 minutes before, at 11:45 UTC.
    assert "Samstag, 28. November 2026, 13:00" in page
    assert "12:45" in page
    # It loads the same address again when the window opens (6,300 s from 10:00), and the
    # server mints then: the page itself holds no token and no link.
    assert '<meta http-equiv="refresh" content="3600">' in page  # at most an hour at a time
    assert "jwt" not in page and handle not in page and "<script" not in page
    bot.clock.set(datetime(2026, 11, 28, 11, 30, tzinfo=UTC))
    page = await (await _open(http, port, handle)).text()
    assert '<meta http-equiv="refresh" content="900">' in page
    assert _handle_row(bot, team.bob).first_opened_at is None  # nothing minted yet

    bot.clock.set(datetime(2026, 11, 28, 11, 45, tzinfo=UTC))
    claims, _room = await _claims_after_open(http, port, handle)
    assert claims["context"]["user"]["affiliation"] == "member"


async def test_after_the_end_the_ended_page(
    bot: BotHarness, team: Team, http: aiohttp.ClientSession, port: int
) -> None:
    handle = await _handle_from_reminder(bot, team, port)
    bot.clock.set(END + timedelta(seconds=1))
    response = await _open(http, port, handle)
    page = await response.text()
    assert response.status == 410
    assert "This meeting has ended." in page and "jwt" not in page


async def test_cancelled_meeting_the_cancelled_page(
    bot: BotHarness, team: Team, http: aiohttp.ClientSession, port: int
) -> None:
    handle = await _handle_from_reminder(bot, team, port)
    await bot.say(team.alice, f"/cancel {team.code}")
    response = await _open(http, port, handle)
    page = await response.text()
    assert response.status == 410
    assert "This meeting was cancelled." in page and "jwt" not in page


async def test_a_person_who_left_is_refused_and_a_new_invitation_gives_a_new_link(
    bot: BotHarness, team: Team, http: aiohttp.ClientSession, port: int
) -> None:
    handle = await _handle_from_reminder(bot, team, port)
    await _claims_after_open(http, port, handle)
    listing = await bot.say(team.bob, "/meetings")
    await bot.tap(team.bob, listing, "Leave")
    response = await _open(http, port, handle)
    page = await response.text()
    assert response.status == 403
    assert "no longer lets anyone into this meeting" in page and "jwt" not in page

    # Invited again: the old link (and every forwarded copy of it) stays refused.
    await bot.say(team.alice, f"/invite {team.code} @bob")
    assert (await _open(http, port, handle)).status == 403
    await bot.say(team.bob, f"/link {team.code}")
    new_handle = _click_links(bot.sandbox, team.bob, port)[-1]
    assert new_handle != handle
    claims, _room = await _claims_after_open(http, port, new_handle)
    assert claims["context"]["user"]["affiliation"] == "member"
    assert (await _open(http, port, handle)).status == 404  # replaced


async def test_unknown_and_malformed_handles_are_not_found(
    bot: BotHarness, http: aiohttp.ClientSession, port: int
) -> None:
    for handle in ("A" * 32, "nope", "a%20b", "x" * 500):
        response = await _open(http, port, handle)
        assert response.status == 404, handle
        assert "not valid" in await response.text()


async def test_back_from_jitsi_the_links_page_offers_to_join_again_and_mints_nothing(
    bot: BotHarness, team: Team, http: aiohttp.ClientSession, port: int
) -> None:
    handle = await _handle_from_reminder(bot, team, port)
    for after, says in (
        ("left", "You are no longer in the call."),
        ("error", "did not accept your link, twice in a row"),
    ):
        response = await _open(http, port, f"{handle}?after={after}")
        page = await response.text()
        assert response.status == 200 and "Location" not in response.headers
        assert says in page and "Team sync" in page
        # The way in again: this same address without the query, which mints then.
        assert '<a href="?">' in page and handle not in page and "jwt" not in page
    assert _handle_row(bot, team.bob).first_opened_at is None
    assert (await _open(http, port, f"{'C' * 32}?after=left")).status == 404


# --- robots, HEAD, logs, storage ------------------------------------------------------------


async def test_head_and_preview_robots_mint_nothing(
    bot: BotHarness, team: Team, http: aiohttp.ClientSession, port: int
) -> None:
    handle = await _handle_from_reminder(bot, team, port)
    url = f"http://127.0.0.1:{port}/bot/j/{handle}"
    async with http.head(url, allow_redirects=False) as response:
        assert response.status == 200 and "Location" not in response.headers
    agents = [
        "TelegramBot (like TwitterBot)",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        "facebookexternalhit/1.1",
        "WhatsApp/2.23.20.0",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    ]
    assert all(any(name.lower() in agent.lower() for name in PREVIEW_AGENTS) for agent in agents)
    for agent in agents:
        response = await _open(http, port, handle, **{"User-Agent": agent})
        page = await response.text()
        assert response.status == 200 and "Location" not in response.headers, agent
        assert "Personal meeting link" in page and "Team sync" not in page and "jwt" not in page
    assert _handle_row(bot, team.bob).first_opened_at is None


async def test_no_handle_or_token_in_the_log_and_only_hashes_stored(
    bot: BotHarness,
    team: Team,
    http: aiohttp.ClientSession,
    port: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    handle = await _handle_from_reminder(bot, team, port)
    response = await _open(http, port, handle)
    token = parse_qs(urlsplit(response.headers["Location"]).query)["jwt"][0]
    await _open(http, port, "B" * 32)
    # The web side's own lines (the access log among them) hold neither, as they are.
    web = "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.name.startswith(("bot.web", "aiohttp"))
    )
    assert "GET /bot/j/… 303" in web and "GET /bot/j/… 404" in web
    assert handle not in web and token not in web and "B" * 32 not in web
    # Everything logged, as the bot's log handler writes it (python-telegram-bot's debug lines
    # repeat the messages it sends, links included).
    redacting = RedactingFilter([])
    everything = "\n".join(redacting.redact(record.getMessage()) for record in caplog.records)
    assert "/bot/j/[redacted]" in everything
    assert handle not in everything and token not in everything

    row = _handle_row(bot, team.bob)
    assert row.handle_hash == hashlib.sha256(handle.encode()).hexdigest()
    assert handle not in repr(row.model_dump())
    assert row.first_opened_at == row.last_opened_at == bot.clock()


async def test_participants_shows_who_opened_their_link(
    bot: BotHarness, team: Team, http: aiohttp.ClientSession, port: int
) -> None:
    handle = await _handle_from_reminder(bot, team, port)
    reply = await bot.say(team.alice, f"/participants {team.code}")
    bob_line = next(line for line in reply.text.splitlines() if "Bob" in line)
    assert "opened" not in bob_line
    await _claims_after_open(http, port, handle)  # 11:50
    bot.clock.advance(timedelta(minutes=20))
    await _claims_after_open(http, port, handle)  # 12:10
    reply = await bot.say(team.alice, f"/participants {team.code}")
    bob_line = next(line for line in reply.text.splitlines() if "Bob" in line)
    assert "opened 11:50\u202fAM, last 12:10\u202fPM" in bob_line


# --- webhook on the same server -------------------------------------------------------------


async def test_webhook_updates_arrive_at_the_same_web_server(
    sandbox: Sandbox, clock: ManualClock, tmp_path: Path, port: int
) -> None:
    harness = BotHarness(
        sandbox,
        clock,
        tmp_path / "meetings.db",
        make_settings,
        public_url=f"http://127.0.0.1:{port}/bot",
        web_listen=f"127.0.0.1:{port}",
    )
    await harness.start(own_webhook=True, secret_token="s3cret-token")
    try:
        assert sandbox.webhook.url == f"http://127.0.0.1:{port}/bot/telegram"
        alice = sandbox.create_user("Alice", username="alice")
        reply = await harness.say(alice, "/start")
        assert "Hello, Alice!" in reply.text
        assert sandbox.stats.webhook_deliveries >= 1
        assert sandbox.calls_to("getUpdates") == []
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{port}/bot/telegram"
            forged = {"update_id": 999, "message": {}}
            async with http.post(url, json=forged) as response:
                assert response.status == 403
            headers = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
            async with http.post(url, json=forged, headers=headers) as response:
                assert response.status == 403
    finally:
        await harness.stop()


# --- settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"PUBLIC_URL": "meet.example.com/bot"}, "PUBLIC_URL: expected an http:// or https://"),
        ({"PUBLIC_URL": "ftp://meet.example.com/bot"}, "PUBLIC_URL: expected an http:// or "),
        ({"PUBLIC_URL": "https://meet.example.com/bot?x=1"}, "PUBLIC_URL: expected the bot's"),
        ({"PUBLIC_URL": "https://meet.example.com/bot#top"}, "PUBLIC_URL: expected the bot's"),
        ({"WEB_LISTEN": "8080"}, "WEB_LISTEN: expected host:port"),
        ({"WEB_LISTEN": "127.0.0.1:0"}, "WEB_LISTEN: expected host:port"),
        ({"WEB_LISTEN": "127.0.0.1:70000"}, "WEB_LISTEN: expected host:port"),
        ({"WEB_LISTEN": "local host:80"}, "WEB_LISTEN: expected host:port"),
    ],
)
def test_bad_web_settings_give_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, values: dict[str, str], expected: str
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("JITSI_BASE_URL", "https://meet.example.com")
    monkeypatch.setenv("JITSI_APP_ID", "meetbot")
    monkeypatch.setenv("JITSI_APP_SECRET", "s" * 32)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith(expected) and "\n" not in message


def test_web_settings_normalized() -> None:
    settings = make_settings(public_url="https://meet.example.com/bot/", web_listen="[::1]:9000")
    assert settings.public_url == "https://meet.example.com/bot"
    assert settings.web_path == "/bot"
    assert settings.web_address == ("::1", 9000)
    assert make_settings().public_url is None
    assert make_settings(public_url="https://bot.example.com").web_path == ""


async def test_without_public_url_one_persons_link_cannot_be_replaced(
    sandbox: Sandbox, clock: ManualClock, tmp_path: Path
) -> None:
    harness = BotHarness(sandbox, clock, tmp_path / "meetings.db", make_settings)
    await harness.start()
    try:
        alice = sandbox.create_user("Alice", username="alice")
        bob = sandbox.create_user("Bob", username="bob")
        for person in (alice, bob):
            await harness.say(person, "/start")
        preview = await harness.say(alice, "/schedule Team sync | 2026-11-28 12:00 | 60m")
        await harness.tap(alice, preview, "Confirm")
        with Session(harness.services.engine) as session:
            code = session.exec(select(Meeting)).one().code
        await harness.say(alice, f"/invite {code} @bob")
        reply = await harness.say(alice, f"/rotate {code} @bob")
        assert "only be replaced when the bot runs with PUBLIC_URL" in reply.text
        # Messages keep carrying token links, as before.
        link = await harness.say(bob, f"/link {code}")
        assert "will be ready from" in link.text and "/j/" not in link.text
    finally:
        await harness.stop()
