"""Jitsi's reservation API, end to end: requests shaped as Prosody's mod_reservations sends them
(form-encoded POST /conference with name, start_time as yyyy-MM-dd'T'HH:mm:ss.SSSZ and
mail_owner; GET and DELETE /conference/<id>; its User-Agent and reservations_api_headers)
against the real bot's own web server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.config import SettingsError, load_settings
from bot.sandbox import Sandbox, User
from storage.models import Meeting
from tests.conftest import BotHarness

TOKEN = "reservations-secret-0123456789abcdef"
# The headers Prosody's net.http sends with mod_reservations' own (reservations_api_headers).
PROSODY = {
    "User-Agent": "Prosody (0.12.4; posix)",
    "Authorization": f"Bearer {TOKEN}",
}
# 10:00 UTC now (tests/conftest.py); the meeting runs 12:00-13:00: its room may open from 11:45
# (JOIN_EARLY_MINUTES 15) until 14:00 (TOKEN_GRACE_MINUTES 60).
START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def web_settings() -> dict[str, Any]:
    """The settings this file's bot runs with besides PUBLIC_URL."""
    return {"reservations_token": TOKEN}


@pytest.fixture
def bot(web_bot: BotHarness) -> BotHarness:
    """The real bot with PUBLIC_URL and RESERVATIONS_TOKEN: it serves Jitsi's APIs."""
    return web_bot


def java_date(moment: datetime) -> str:
    """mod_reservations' to_java_date_string of os.time()."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + ".000Z"


class Jitsi:
    """Prosody's side of the reservation API."""

    def __init__(self, http: aiohttp.ClientSession, port: int, clock: ManualClock) -> None:
        self.http = http
        self.prefix = f"http://127.0.0.1:{port}/bot/jitsi/reservations"
        self.clock = clock

    async def create(
        self, room: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """POST /conference as http.formencode(request_data) with the module's headers."""
        body = urlencode(
            {
                "name": room,
                "start_time": java_date(self.clock()),
                "mail_owner": "f5a1c6e2-93b4-4d1e-b0a7-3c2f1e9d8b7a@meet.example.com",
            }
        )
        async with self.http.post(
            self.prefix + "/conference",
            data=body,
            headers={
                **(PROSODY if headers is None else headers),
                "Content-Type": "application/x-www-form-urlencoded",
            },
        ) as response:
            return response.status, await response.json()

    async def read(self, conflict_id: object) -> tuple[int, dict[str, Any]]:
        async with self.http.get(
            f"{self.prefix}/conference/{conflict_id}", headers=PROSODY
        ) as response:
            return response.status, await response.json()

    async def delete(self, conflict_id: object) -> int:
        async with self.http.delete(
            f"{self.prefix}/conference/{conflict_id}", headers=PROSODY
        ) as response:
            await response.read()
            return response.status


@pytest.fixture
def jitsi(http: aiohttp.ClientSession, port: int, clock: ManualClock) -> Jitsi:
    return Jitsi(http, port, clock)


async def _meeting(bot: BotHarness, sandbox: Sandbox, when: str = "2026-11-28 12:00") -> Meeting:
    alice = sandbox.create_user("Alice", username="alice")
    bob = sandbox.create_user("Bob", username="bob")
    for person in (alice, bob):
        await bot.say(person, "/start")
    preview = await bot.say(alice, f"/schedule Team sync | {when} | 60m")
    await bot.tap(alice, preview, "Confirm")
    with Session(bot.services.engine) as session:
        meeting = session.exec(select(Meeting)).one()
    await bot.say(alice, f"/invite {meeting.code} @bob")
    return meeting


def _person(sandbox: Sandbox, name: str) -> User:
    return next(user for user in sandbox.users.values() if user.first_name == name)


async def test_room_opens_only_in_its_window_and_closes_at_its_end(
    bot: BotHarness, sandbox: Sandbox, jitsi: Jitsi, clock: ManualClock
) -> None:
    meeting = await _meeting(bot, sandbox)
    # 10:00, two hours early: refused with a message people can read.
    status, body = await jitsi.create(meeting.room)
    assert status == 403
    assert "Team sync has not started yet. The room opens" in body["message"]
    assert "11:45" in body["message"]
    clock.set(datetime(2026, 11, 28, 11, 50, tzinfo=UTC))
    status, body = await jitsi.create(meeting.room)
    assert status == 200
    assert body["name"] == meeting.room
    assert body["start_time"] == "2026-11-28T11:50:00.000Z"
    assert body["mail_owner"].endswith("@meet.example.com")
    # Jitsi destroys the room at start_time + duration: 14:00, the window's end.
    assert body["duration"] == int(timedelta(hours=2, minutes=10).total_seconds())
    # Alice and Bob, and two seats more (ROOM_EXTRA_SEATS).
    assert body["max_occupants"] == 4
    assert body["lobby"] is False
    assert isinstance(body["id"], int)
    assert await jitsi.delete(body["id"]) == 200
    # After the window: refused.
    clock.set(datetime(2026, 11, 28, 14, 0, 1, tzinfo=UTC))
    status, body = await jitsi.create(meeting.room)
    assert (status, body["message"]) == (403, "Team sync has ended.")


async def test_the_room_name_under_a_tenant_and_in_capitals_is_the_same_room(
    bot: BotHarness, sandbox: Sandbox, jitsi: Jitsi, clock: ManualClock
) -> None:
    meeting = await _meeting(bot, sandbox)
    clock.set(datetime(2026, 11, 28, 11, 50, tzinfo=UTC))
    status, body = await jitsi.create(f"[team]{meeting.room.upper()}")
    assert status == 200
    # mod_reservations compares the name it sent with the one returned, lower-cased.
    assert body["name"].lower() == f"[team]{meeting.room}"


async def test_unknown_room_and_missing_secret_are_refused(
    bot: BotHarness, sandbox: Sandbox, jitsi: Jitsi, clock: ManualClock
) -> None:
    meeting = await _meeting(bot, sandbox)
    clock.set(datetime(2026, 11, 28, 11, 50, tzinfo=UTC))
    status, body = await jitsi.create("somebodys-own-room")
    assert status == 404
    assert body["message"] == "This room is not a meeting planned with the bot."
    for headers in (
        {"User-Agent": PROSODY["User-Agent"]},
        {**PROSODY, "Authorization": "Bearer not-the-secret"},
        {**PROSODY, "Authorization": TOKEN},
    ):
        status, body = await jitsi.create(meeting.room, headers)
        assert status == 401
    async with jitsi.http.get(f"{jitsi.prefix}/conference/1") as response:
        assert response.status == 401
    async with jitsi.http.delete(f"{jitsi.prefix}/conference/1") as response:
        assert response.status == 401


async def test_conflict_then_read_then_delete_then_open_again(
    bot: BotHarness, sandbox: Sandbox, jitsi: Jitsi, clock: ManualClock
) -> None:
    meeting = await _meeting(bot, sandbox)
    clock.set(datetime(2026, 11, 28, 11, 50, tzinfo=UTC))
    status, granted = await jitsi.create(meeting.room)
    assert status == 200
    # Prosody restarted and forgot its reservation: the second POST gets 409 and the id.
    clock.advance(timedelta(minutes=20))
    status, body = await jitsi.create(meeting.room)
    assert status == 409
    assert body["conflict_id"] == granted["id"]
    status, again = await jitsi.read(body["conflict_id"])
    assert status == 200
    assert again == granted  # the same reservation: start_time + duration still 14:00
    assert await jitsi.delete(granted["id"]) == 200
    assert await jitsi.delete(granted["id"]) == 404
    status, body = await jitsi.read(granted["id"])
    assert status == 404
    # The room was destroyed (everyone left) and is opened again inside the window.
    status, reopened = await jitsi.create(meeting.room)
    assert status == 200
    assert reopened["duration"] == int(timedelta(hours=1, minutes=50).total_seconds())


async def test_cancelled_meeting_refuses_its_room_and_its_reservation(
    bot: BotHarness, sandbox: Sandbox, jitsi: Jitsi, clock: ManualClock
) -> None:
    meeting = await _meeting(bot, sandbox)
    clock.set(datetime(2026, 11, 28, 11, 50, tzinfo=UTC))
    status, granted = await jitsi.create(meeting.room)
    assert status == 200
    await bot.say(_person(sandbox, "Alice"), f"/cancel {meeting.code}")
    status, body = await jitsi.create(meeting.room)
    assert (status, body["message"]) == (403, "Team sync was cancelled.")
    status, body = await jitsi.read(granted["id"])
    assert (status, body["message"]) == (403, "Team sync was cancelled.")


async def test_a_series_sitting_opens_in_its_own_window_only(
    bot: BotHarness, sandbox: Sandbox, jitsi: Jitsi, clock: ManualClock
) -> None:
    # Every Monday 09:00 UTC for an hour; the first sitting is on November 30.
    meeting = await _meeting(bot, sandbox, "every monday 09:00")
    clock.set(datetime(2026, 11, 30, 8, 44, tzinfo=UTC))
    status, body = await jitsi.create(meeting.room)
    assert status == 403
    assert "November 30, 2026, 8:45" in body["message"]
    clock.set(datetime(2026, 12, 7, 8, 50, tzinfo=UTC))  # the second sitting's window
    status, body = await jitsi.create(meeting.room)
    assert status == 200
    assert body["duration"] == int(timedelta(hours=2, minutes=10).total_seconds())
    clock.set(datetime(2026, 12, 8, 9, 0, tzinfo=UTC))  # Tuesday: between two sittings
    assert (await jitsi.create(meeting.room))[0] == 403


async def test_lobby_follows_the_meetings_setting(
    bot: BotHarness, sandbox: Sandbox, jitsi: Jitsi, clock: ManualClock
) -> None:
    meeting = await _meeting(bot, sandbox)
    reply = await bot.say(_person(sandbox, "Alice"), f"/lobby {meeting.code} on")
    assert "The lobby is on" in reply.text
    bob = _person(sandbox, "Bob")
    refused = await bot.say(bob, f"/lobby {meeting.code} off")
    assert "Only the meeting's owners" in refused.text
    clock.set(datetime(2026, 11, 28, 11, 50, tzinfo=UTC))
    status, body = await jitsi.create(meeting.room)
    assert (status, body["lobby"]) == (200, True)


def test_the_secret_needs_public_url_and_some_length() -> None:
    with pytest.raises(SettingsError, match="RESERVATIONS_TOKEN is set but PUBLIC_URL"):
        load_settings(
            _env_file=None,
            jitsi_base_url="https://meet.example.com",
            jitsi_app_id="meetbot",
            jitsi_app_secret="x" * 32,
            reservations_token=TOKEN,
        )
    with pytest.raises(SettingsError, match="RESERVATIONS_TOKEN: expected a random secret"):
        load_settings(
            _env_file=None,
            jitsi_base_url="https://meet.example.com",
            jitsi_app_id="meetbot",
            jitsi_app_secret="x" * 32,
            public_url="https://meet.example.com/bot",
            reservations_token="short",
        )
