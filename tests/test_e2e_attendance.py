"""Attendance and the no-host rescue, end to end: Jitsi's event-sync component posts room and
occupant events (JSON as mod_event_sync_component builds it, with its api_headers) to the real
bot's web server; owners get the report after the sitting, /attendance shows it again with a
CSV, and a room with members but no owner brings the owners their links."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.sandbox import Sandbox, User
from storage.models import Meeting
from tests.conftest import BotHarness

TOKEN = "event-sync-secret-0123456789abcdef"
# The headers mod_event_sync_component sends: its own, and api_headers from the config.
PROSODY = {
    "User-Agent": "Prosody (0.12.4; posix)",
    "Content-Type": "application/json",
    "Authorization": f"Bearer {TOKEN}",
}
# 10:00 UTC now; the meeting runs 12:00-13:00, its window 11:45-14:00.
START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def web_settings() -> dict[str, Any]:
    """The settings this file's bot runs with besides PUBLIC_URL."""
    return {"reservations_token": TOKEN}


@pytest.fixture
def bot(web_bot: BotHarness) -> BotHarness:
    """The real bot with PUBLIC_URL set: its web server listens on a free port."""
    return web_bot


@dataclass
class Team:
    """Alice (owner) planned Team sync; Bob, Carol and Dave are members."""

    alice: User
    bob: User
    carol: User
    dave: User
    meeting: Meeting


@pytest.fixture
async def team(bot: BotHarness, sandbox: Sandbox) -> Team:
    people = [
        sandbox.create_user(name, username=name.lower())
        for name in ("Alice", "Bob", "Carol", "Dave")
    ]
    for person in people:
        await bot.say(person, "/start")
    alice = people[0]
    preview = await bot.say(alice, "/schedule Team sync | 2026-11-28 12:00 | 60m")
    await bot.tap(alice, preview, "Confirm")
    with Session(bot.services.engine) as session:
        meeting = session.exec(select(Meeting)).one()
    await bot.say(alice, f"/invite {meeting.code} @bob @carol @dave")
    return Team(*people, meeting)


class EventSync:
    """Prosody's mod_event_sync_component, posting for one room."""

    def __init__(self, http: aiohttp.ClientSession, port: int, room: str) -> None:
        self.http = http
        self.prefix = f"http://127.0.0.1:{port}/bot/jitsi"
        self.room = room
        self.occupants: dict[str, dict[str, Any]] = {}
        self.active: set[str] = set()
        self.created_at = 0

    def _extra(self) -> dict[str, Any]:
        # handle_main_room_created's event_sync_extra_payload
        return {
            "is_breakout": False,
            "room_jid": f"{self.room}@conference.meet.example.com",
            "room_name": self.room,
        }

    async def _post(self, path: str, payload: dict[str, Any]) -> int:
        async with self.http.post(
            f"{self.prefix}/events/{path}", json=payload, headers=PROSODY
        ) as response:
            await response.read()
            return response.status

    async def created(self, at: datetime) -> int:
        self.created_at = int(at.timestamp())
        return await self._post(
            "room/created",
            {"event_name": "muc-room-created", "created_at": self.created_at, **self._extra()},
        )

    async def joined(self, user: User, at: datetime, resource: str = "a1") -> int:
        jid = f"{user.first_name.lower()}-{resource}@meet.example.com/{resource}"
        occupant = {
            "occupant_jid": jid,
            "joined_at": int(at.timestamp()),
            # From the token's context.user; the name is what the person shows, never used.
            "name": f"{user.first_name} (display name)",
            "id": f"tg-{user.id}",
            "email": f"{user.first_name.lower()}@example.com",
        }
        self.occupants[jid] = occupant
        self.active.add(jid)
        return await self._post(
            "occupant/joined",
            {
                "event_name": "muc-occupant-joined",
                "occupant": occupant,
                "active_occupants_count": len(self.active),
                **self._extra(),
            },
        )

    async def left(self, user: User, at: datetime, resource: str = "a1") -> int:
        jid = f"{user.first_name.lower()}-{resource}@meet.example.com/{resource}"
        self.occupants[jid]["left_at"] = int(at.timestamp())
        self.active.discard(jid)
        return await self._post(
            "occupant/left",
            {
                "event_name": "muc-occupant-left",
                "occupant": self.occupants[jid],
                "active_occupants_count": len(self.active),
                **self._extra(),
            },
        )

    async def destroyed(self, at: datetime) -> int:
        return await self._post(
            "room/destroyed",
            {
                "event_name": "muc-room-destroyed",
                "created_at": self.created_at,
                "destroyed_at": int(at.timestamp()),
                "all_occupants": list(self.occupants.values()),
                **self._extra(),
            },
        )


@pytest.fixture
def room(http: aiohttp.ClientSession, port: int, team: Team) -> EventSync:
    return EventSync(http, port, team.meeting.room)


def _at(hour: int, minute: int) -> datetime:
    return datetime(2026, 11, 28, hour, minute, tzinfo=UTC)


async def _open_link(bot: BotHarness, http: aiohttp.ClientSession, port: int, user: User) -> None:
    """The person opens their click-time link (the reminder at 11:50 carries it)."""
    pattern = re.compile(rf"http://127\.0\.0\.1:{port}/bot/j/[A-Za-z0-9_-]+")
    [link] = {found for m in bot.sandbox.inbox(user) for found in pattern.findall(m.text)}
    async with http.get(link, allow_redirects=False) as response:
        assert response.status == 303


async def test_owners_get_the_attendance_report_after_the_sitting(
    bot: BotHarness,
    sandbox: Sandbox,
    clock: ManualClock,
    http: aiohttp.ClientSession,
    port: int,
    team: Team,
    room: EventSync,
) -> None:
    await bot.reminders(_at(11, 50) - clock())  # the links go out
    await _open_link(bot, http, port, team.bob)
    await _open_link(bot, http, port, team.carol)  # Carol opens hers but never comes
    assert await room.created(_at(11, 55)) == 200
    assert await room.joined(team.bob, _at(11, 55)) == 200
    assert await room.joined(team.alice, _at(12, 1)) == 200
    # Bob's second device overlaps the first: counted once.
    assert await room.joined(team.bob, _at(12, 10), resource="b2") == 200
    assert await room.left(team.bob, _at(12, 30), resource="b2") == 200
    assert await room.left(team.bob, _at(12, 40)) == 200
    # Prosody retries a post it got no answer to: the same event twice changes nothing.
    assert await room.left(team.bob, _at(12, 40)) == 200
    assert await room.left(team.alice, _at(13, 0)) == 200
    clock.set(_at(13, 1))
    assert await room.destroyed(_at(13, 1)) == 200
    await bot.reminders()
    report = await sandbox.wait_for_message(team.alice, contains="Attendance")
    text = report.text
    assert "Attendance: Team sync" in text
    assert "2 people came:" in text
    assert "Bob: 11:55\u202fAM–12:40\u202fPM (45 minutes)" in text
    assert "Alice: 12:01\u202fPM–1:00\u202fPM (59 minutes)" in text
    assert "Opened their link but did not come:\n• Carol" in text
    assert "Never opened their link:\n• Dave" in text
    # Only owners get it, once.
    await bot.reminders(timedelta(hours=2))
    assert not any("Attendance" in m.text for m in sandbox.inbox(team.bob))
    assert sum("Attendance" in m.text for m in sandbox.inbox(team.alice)) == 1

    again = await bot.say(team.alice, f"/attendance {team.meeting.code}")
    assert "Bob: 11:55\u202fAM–12:40\u202fPM (45 minutes)" in again.text
    refused = await bot.say(team.bob, f"/attendance {team.meeting.code}")
    assert "Only the meeting's owners" in refused.text
    await bot.say(team.alice, f"/attendance {team.meeting.code} csv")
    document = await sandbox.wait_for(
        lambda: next((m for m in sandbox.inbox(team.alice) if m.document), None)
    )
    assert document.document is not None
    rows = list(csv.reader(io.StringIO(document.document.data.decode("utf-8-sig"))))
    assert rows[0] == ["name", "status", "first joined", "last left", "minutes in the room"]
    assert ["Bob", "came", "2026-11-28T11:55+00:00", "2026-11-28T12:40+00:00", "45"] in rows
    assert ["Carol", "opened the link, did not come", "", "", "0"] in rows
    assert ["Dave", "never opened the link", "", "", "0"] in rows


async def test_the_report_is_in_the_owners_language(
    bot: BotHarness, sandbox: Sandbox, clock: ManualClock, team: Team, room: EventSync
) -> None:
    await bot.say(team.alice, "/language de")
    await room.created(_at(11, 55))
    await room.joined(team.bob, _at(11, 55))
    await room.left(team.bob, _at(12, 40))
    # Nobody destroys the room: the report comes when the window ends (14:00).
    await bot.reminders(_at(13, 59) - clock())
    assert not any("28. November" in m.text for m in sandbox.inbox(team.alice))
    await bot.reminders(timedelta(minutes=1))
    report = await sandbox.wait_for_message(team.alice, contains="28. November 2026")
    assert "Samstag" in report.text  # the sitting's date in German
    assert "11:55–12:40" in report.text


async def test_no_host_brings_the_owners_their_link_once(
    bot: BotHarness,
    sandbox: Sandbox,
    clock: ManualClock,
    port: int,
    team: Team,
    room: EventSync,
) -> None:
    await room.created(_at(11, 58))
    await room.joined(team.bob, _at(11, 58))
    await room.joined(team.carol, _at(12, 2))
    clock.set(_at(12, 4))
    await bot.reminders()
    assert not any("waiting" in m.text for m in sandbox.inbox(team.alice))
    # NO_HOST_MINUTES (5) after the start, no owner has come.
    await bot.reminders(timedelta(minutes=1))
    rescue = await sandbox.wait_for_message(team.alice, contains="waiting")
    assert "2 people are waiting in Team sync, and no owner is there yet." in rescue.text
    # Alice's own click-time link, which lets her in as owner.
    assert re.search(rf'href="http://127\.0\.0\.1:{port}/bot/j/[A-Za-z0-9_-]{{32}}"', rescue.html)
    await room.joined(team.dave, _at(12, 6))
    await bot.reminders(timedelta(minutes=10))
    assert sum("waiting" in m.text for m in sandbox.inbox(team.alice)) == 1
    assert not any("waiting" in m.text for m in sandbox.inbox(team.bob))


async def test_no_message_when_the_owner_comes_in_time(
    bot: BotHarness, sandbox: Sandbox, clock: ManualClock, team: Team, room: EventSync
) -> None:
    await room.created(_at(11, 58))
    await room.joined(team.bob, _at(11, 58))
    await room.joined(team.alice, _at(12, 3))
    await bot.reminders(_at(12, 10) - clock())
    assert not any("waiting" in m.text for m in sandbox.inbox(team.alice))


async def test_events_need_the_secret_and_only_count_the_tokens_id(
    bot: BotHarness,
    sandbox: Sandbox,
    clock: ManualClock,
    http: aiohttp.ClientSession,
    port: int,
    team: Team,
    room: EventSync,
) -> None:
    async with http.post(
        f"http://127.0.0.1:{port}/bot/jitsi/events/occupant/joined",
        json={"room_name": team.meeting.room},
        headers={**PROSODY, "Authorization": "Bearer wrong"},
    ) as response:
        assert response.status == 401
    # Someone whose token the bot did not write, showing Dave's name: not Dave.
    stranger = sandbox.create_user("Mallory", username="mallory")
    await room.created(_at(11, 58))
    await room.joined(stranger, _at(11, 58))
    room.occupants["mallory-a1@meet.example.com/a1"]["name"] = "Dave"
    await room.left(stranger, _at(12, 30))
    await room.destroyed(_at(13, 5))
    clock.set(_at(13, 5))
    await bot.reminders()
    report = await sandbox.wait_for_message(team.alice, contains="Attendance")
    assert "0 people came:" in report.text
    assert "Never opened their link:" in report.text and "• Dave" in report.text
    assert "1 more connection without a link from the bot." in report.text
