"""The Mini App's API over real HTTP against the real bot and the sandbox: signed init data on
every request, the same rules and messages as the commands, and the same announcements."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlmodel import Session, select

from bot.sandbox import Chat, Sandbox, User
from storage.models import Meeting
from tests.conftest import BotHarness
from tests.helpers import decode_token

ENDPOINTS = [
    ("GET", "me", None),
    ("GET", "meetings", None),
    ("GET", "people", None),
    ("POST", "preview", {"title": "x", "date": "2026-11-28", "time": "12:00"}),
    ("POST", "meetings", {"title": "x", "date": "2026-11-28", "time": "12:00"}),
    ("GET", "meetings/{code}", None),
    ("POST", "meetings/{code}/role", {"user_id": 1, "owner": True}),
    ("POST", "meetings/{code}/cancel", {}),
    ("POST", "meetings/{code}/reschedule", {"date": "2026-11-29", "time": "12:00"}),
    ("POST", "settings", {"zone": "Europe/Berlin"}),
    ("POST", "meetings/{code}/features", {"changes": {"recording": True}}),
    ("POST", "meetings/{code}/skip", {"sitting": "2026-12-05"}),
    ("POST", "meetings/{code}/move", {"sitting": "", "date": "2026-12-06", "time": "10:00"}),
    ("POST", "meetings/{code}/rotate", {}),
    ("GET", "meetings/{code}/history", None),
    ("POST", "meetings/{code}/capacity", {"seats": "2"}),
    ("POST", "meetings/{code}/reminders", {"moments": "1d"}),
    ("GET", "meetings/{code}/attendance", None),
]
# The owner's tools: refused to a member (403) before anything is read or changed.
OWNER_ONLY = [
    (method, path, body) for method, path, body in ENDPOINTS if path.startswith("meetings/{code}")
]


@pytest.fixture
def bot(web_bot: BotHarness) -> BotHarness:
    """The real bot with PUBLIC_URL: its web server serves the Mini App."""
    return web_bot


@dataclass
class App:
    """Calls the Mini App's API as the page does, with a user's signed init data."""

    bot: BotHarness
    http: aiohttp.ClientSession
    port: int

    def init_data(self, user: User, **options: Any) -> str:
        auth_date = int(self.bot.clock().timestamp())
        return self.bot.sandbox.web_app_init_data(user, auth_date=auth_date, **options)

    async def call(
        self,
        user: User | None,
        method: str,
        path: str,
        body: Any = None,
        *,
        init_data: str | None = None,
        **options: Any,
    ) -> tuple[int, dict[str, Any]]:
        data = init_data if init_data is not None else self.init_data(user, **options)  # type: ignore[arg-type]
        async with self.http.request(
            method,
            f"http://127.0.0.1:{self.port}/bot/app/api/{path}",
            headers={"Authorization": f"tma {data}"},
            json=body,
        ) as response:
            result = await response.json()
        await self.bot.settle()
        return response.status, result


@pytest.fixture
async def app(bot: BotHarness, port: int) -> AsyncIterator[App]:
    async with aiohttp.ClientSession() as http:
        yield App(bot, http, port)


@dataclass
class Team:
    """Alice and Bob in a group; both started the bot."""

    alice: User
    bob: User
    group: Chat


@pytest.fixture
async def team(bot: BotHarness, sandbox: Sandbox) -> Team:
    alice = sandbox.create_user("Alice", username="alice")
    bob = sandbox.create_user("Bob", username="bob")
    for person in (alice, bob):
        await bot.say(person, "/start")
    group = sandbox.create_group("Team", members=[alice, bob])
    return Team(alice, bob, group)


def _code(bot: BotHarness) -> str:
    with Session(bot.services.engine) as session:
        return session.exec(select(Meeting)).one().code


async def _planned_with_bob(app: App, team: Team) -> str:
    """Alice plans a meeting at 12:00 in private and invites Bob (via a first shared one)."""
    await app.bot.say(team.alice, "/schedule First | 2026-11-29 09:00 | 30m")
    await app.bot.tap(team.alice, app.bot.newest(team.alice), "Confirm")
    first = _code(app.bot)
    await app.bot.say(team.alice, f"/invite {first} @bob")
    status, people = await app.call(team.alice, "GET", "people")
    assert status == 200
    assert [person["name"] for person in people["people"]] == ["Bob"]
    status, created = await app.call(
        team.alice,
        "POST",
        "meetings",
        {
            "title": "Team sync",
            "date": "2026-11-28",
            "time": "12:00",
            "duration": "60",
            "invite": [team.bob.id],
        },
    )
    assert status == 200, created
    return str(created["code"])


async def test_the_menu_button_opens_the_app_after_start(
    bot: BotHarness, sandbox: Sandbox, port: int
) -> None:
    carol = sandbox.create_user("Carol")
    await bot.say(carol, "/start")
    button = sandbox.menu_button(carol)
    assert button["type"] == "web_app"
    assert button["web_app"]["url"] == f"http://127.0.0.1:{port}/bot/app/"


async def test_app_is_in_the_command_menu(bot: BotHarness, sandbox: Sandbox) -> None:
    carol = sandbox.create_user("Carol")
    assert ("app", "Meetings and settings in the app") in sandbox.visible_commands(carol)


async def test_app_command_in_private_and_in_a_group(
    bot: BotHarness, team: Team, port: int
) -> None:
    reply = await bot.say(team.alice, "/app")
    [[button]] = reply.reply_markup["inline_keyboard"]  # type: ignore[index]
    assert button["web_app"]["url"] == f"http://127.0.0.1:{port}/bot/app/"
    reply = await bot.say(team.alice, "/app", chat=team.group)
    [[button]] = reply.reply_markup["inline_keyboard"]  # type: ignore[index]
    # Never a web_app button in a group: a t.me direct link with the group in startapp.
    assert "web_app" not in button
    assert button["url"] == f"https://t.me/{bot.sandbox.bot.username}?startapp=g{team.group.id}"


async def test_meetings_shows_open_in_app_in_private(bot: BotHarness, team: Team) -> None:
    await bot.say(team.alice, "/schedule Sync | 2026-11-28 12:00 | 30m")
    await bot.tap(team.alice, bot.newest(team.alice), "Confirm")
    reply = await bot.say(team.alice, "/meetings")
    rows = reply.reply_markup["inline_keyboard"]  # type: ignore[index]
    assert rows[-1][0]["text"] == "Open in app" and "web_app" in rows[-1][0]


async def test_forged_stale_or_missing_init_data_is_refused_on_every_call(
    app: App, team: Team, bot: BotHarness
) -> None:
    await bot.say(team.alice, "/schedule Sync | 2026-11-28 12:00 | 30m")
    await bot.tap(team.alice, bot.newest(team.alice), "Confirm")
    code = _code(bot)
    good = app.init_data(team.alice)
    forged = bot.sandbox.web_app_init_data(
        team.alice, auth_date=int(bot.clock().timestamp()), bot_token="123456:ANOTHER"
    )
    tampered = good.replace("Alice", "Mallory")
    stale = bot.sandbox.web_app_init_data(
        team.alice, auth_date=int((bot.clock() - timedelta(hours=25)).timestamp())
    )
    for method, path, body in ENDPOINTS:
        for data in (forged, tampered, stale, ""):
            status, answer = await app.call(
                None, method, path.format(code=code), body, init_data=data
            )
            assert status == 401, (method, path)
            assert "opened from Telegram" in answer["error"]
    # Nothing happened: the meeting stands, nobody was asked to do anything.
    with Session(bot.services.engine) as session:
        assert [m.title for m in session.exec(select(Meeting)).all()] == ["Sync"]
    status, _me = await app.call(team.alice, "GET", "me")
    assert status == 200


async def test_schedule_in_a_group_announces_there_and_links_go_out(
    app: App, team: Team, bot: BotHarness, sandbox: Sandbox
) -> None:
    start_param = f"g{team.group.id}"
    status, preview = await app.call(
        team.alice,
        "POST",
        "preview",
        {"title": "Weekly", "date": "2026-11-28", "time": "12:00", "repeat": "weekly"},
        start_param=start_param,
    )
    assert status == 200
    assert preview["repeat"] == "every Saturday"
    status, created = await app.call(
        team.alice,
        "POST",
        "meetings",
        {"title": "Weekly", "date": "2026-11-28", "time": "12:00", "duration": "45"},
        start_param=start_param,
    )
    assert status == 200, created
    [announcement] = sandbox.chat_messages(team.group)
    assert "New meeting, planned by Alice" in announcement.text
    assert "Weekly" in announcement.text
    # Bob answers Going under the group's message, as with /schedule, and his link comes.
    await bot.tap(team.bob, announcement, "✅ Going")
    status, listing = await app.call(team.bob, "GET", "meetings", start_param=start_param)
    assert status == 200 and listing["meetings"][0]["title"] == "Weekly"
    await bot.reminders(timedelta(minutes=110))
    pattern = rf"http://127\.0\.0\.1:{app.port}/bot/j/"
    assert any(re.search(pattern, message.text) for message in sandbox.inbox(team.bob))


async def test_bad_input_gets_the_commands_messages_in_the_users_language(
    app: App, team: Team, bot: BotHarness
) -> None:
    status, answer = await app.call(
        team.alice, "POST", "meetings", {"title": "Old", "date": "2026-11-27", "time": "12:00"}
    )
    assert status == 400
    assert answer["error"].startswith("That time is in the past.")
    await bot.say(team.alice, "/language de")
    status, answer = await app.call(
        team.alice, "POST", "meetings", {"title": " ", "date": "2026-11-29", "time": "12:00"}
    )
    assert status == 400
    assert "Titel" in answer["error"]


async def test_owner_view_is_refused_to_a_member(app: App, team: Team) -> None:
    code = await _planned_with_bob(app, team)
    status, answer = await app.call(team.bob, "GET", f"meetings/{code}")
    assert status == 403
    assert answer["error"]
    status, answer = await app.call(
        team.bob, "POST", f"meetings/{code}/role", {"user_id": team.bob.id, "owner": True}
    )
    assert status == 403
    status, answer = await app.call(team.bob, "POST", f"meetings/{code}/cancel", {})
    assert status == 403
    status, view = await app.call(team.alice, "GET", f"meetings/{code}")
    assert status == 200
    assert {(p["name"], p["owner"]) for p in view["participants"]} == {
        ("Alice", True),
        ("Bob", False),
    }


async def test_a_promotion_changes_the_next_link(
    app: App, team: Team, bot: BotHarness, port: int
) -> None:
    code = await _planned_with_bob(app, team)
    status, _answer = await app.call(
        team.alice, "POST", f"meetings/{code}/role", {"user_id": team.bob.id, "owner": True}
    )
    assert status == 200
    await bot.reminders(timedelta(minutes=110))
    status, listing = await app.call(team.bob, "GET", "meetings")
    [sync] = [m for m in listing["meetings"] if m["code"] == code]
    assert sync["role"] == "owner" and sync["join"]
    async with app.http.get(sync["join"], allow_redirects=False) as response:
        location = response.headers["Location"]
    token = re.search(r"jwt=([^&#]+)", location)
    assert token is not None
    assert decode_token(token.group(1))["context"]["user"]["moderator"] in (True, "true")


async def test_settings_and_cancel_go_through_the_domain(
    app: App, team: Team, bot: BotHarness, sandbox: Sandbox
) -> None:
    status, answer = await app.call(team.bob, "POST", "settings", {"zone": "Atlantis"})
    assert status == 400 and "Atlantis" in answer["error"]
    status, _answer = await app.call(
        team.bob, "POST", "settings", {"zone": "Berlin", "language": "de", "email": ""}
    )
    assert status == 200
    status, me = await app.call(team.bob, "GET", "me")
    assert (me["zone"], me["language"]) == ("Europe/Berlin", "de")
    # The page's labels come in the chosen language (or in English until translated).
    assert me["texts"]["settings"]
    code = await _planned_with_bob(app, team)
    status, answer = await app.call(team.alice, "POST", f"meetings/{code}/cancel", {})
    assert status == 200
    assert answer["message"] == f"Meeting {code} is cancelled."
    with Session(bot.services.engine) as session:
        assert session.exec(select(Meeting).where(Meeting.code == code)).one().status == (
            "cancelled"
        )


async def _series_with_bob(app: App, team: Team) -> str:
    """Alice plans a weekly meeting (Saturdays 12:00) in the app and invites Bob."""
    await app.bot.say(team.alice, "/schedule First | 2026-11-29 09:00 | 30m")
    await app.bot.tap(team.alice, app.bot.newest(team.alice), "Confirm")
    await app.bot.say(team.alice, f"/invite {_code(app.bot)} @bob")
    status, created = await app.call(
        team.alice,
        "POST",
        "meetings",
        {
            "title": "Weekly",
            "date": "2026-11-28",
            "time": "12:00",
            "duration": "60",
            "repeat": "weekly",
            "invite": [team.bob.id],
        },
    )
    assert status == 200, created
    return str(created["code"])


async def test_every_owner_tool_is_refused_to_a_member(app: App, team: Team) -> None:
    code = await _series_with_bob(app, team)
    for method, path, body in OWNER_ONLY:
        status, answer = await app.call(team.bob, method, path.format(code=code), body)
        assert status == 403, (method, path, answer)
        assert "owner" in answer["error"].lower()
    # Nothing changed: no seat limit, no reminders of its own, the same room, no history of it.
    status, view = await app.call(team.alice, "GET", f"meetings/{code}")
    assert view["capacity"] is None and view["reminders"] == ""
    assert [s["date"] for s in view["sittings"]][:3] == ["2026-11-28", "2026-12-05", "2026-12-12"]


async def test_skip_and_move_a_sitting_tell_the_participants(
    app: App, team: Team, bot: BotHarness, sandbox: Sandbox
) -> None:
    code = await _series_with_bob(app, team)
    status, answer = await app.call(
        team.alice, "POST", f"meetings/{code}/skip", {"sitting": "2026-12-05"}
    )
    assert status == 200, answer
    assert answer["message"].startswith("Skipped the sitting of")
    notice = sandbox.inbox(team.bob)[-1]
    assert "One sitting skipped" in notice.text and "Weekly" in notice.text
    # Under the notice in Bob's private chat: the way into the app.
    [open_app] = [
        button
        for row in notice.reply_markup["inline_keyboard"]  # type: ignore[index]
        for button in row
        if "web_app" in button
    ]
    assert open_app["text"] == "Open in app"
    assert open_app["web_app"]["url"] == f"http://127.0.0.1:{app.port}/bot/app/"
    status, answer = await app.call(
        team.alice,
        "POST",
        f"meetings/{code}/move",
        {"sitting": "2026-12-12", "date": "2026-12-13", "time": "15:00"},
    )
    assert status == 200, answer
    assert answer["message"].startswith("Moved the sitting of")
    told = sandbox.inbox(team.bob)[-1].text
    assert "One sitting moved" in told
    status, view = await app.call(team.alice, "GET", f"meetings/{code}")
    dates = [sitting["date"] for sitting in view["sittings"]]
    assert "2026-12-05" not in dates and "2026-12-12" not in dates and "2026-12-13" in dates
    # A day without a sitting: /skip's own message.
    status, answer = await app.call(
        team.alice, "POST", f"meetings/{code}/skip", {"sitting": "2026-12-06"}
    )
    assert status == 400
    assert answer["error"] == (
        f"{code} has no upcoming sitting at that time. /meetings shows the next ones."
    )


async def test_features_rotate_and_the_history(
    app: App, team: Team, bot: BotHarness, sandbox: Sandbox
) -> None:
    code = await _planned_with_bob(app, team)
    status, answer = await app.call(
        team.alice, "POST", f"meetings/{code}/features", {"changes": {"recording": True}}
    )
    assert status == 200, answer
    assert answer["message"].startswith(f"Features for everyone in {code}: recording=on.")
    status, view = await app.call(team.alice, "GET", f"meetings/{code}")
    assert {f["name"]: f["on"] for f in view["features"]}["recording"] is True
    status, answer = await app.call(
        team.alice, "POST", f"meetings/{code}/features", {"changes": {"teleport": True}}
    )
    assert status == 400
    assert answer["error"].startswith("Unknown feature “teleport”.")
    await bot.reminders(timedelta(minutes=110))  # Bob's link went out: rotating replaces it
    before = len(sandbox.inbox(team.bob))
    status, answer = await app.call(team.alice, "POST", f"meetings/{code}/rotate", {})
    assert status == 200
    assert answer["message"].startswith(f"{code} has a new room.")
    assert len(sandbox.inbox(team.bob)) > before
    status, history = await app.call(team.alice, "GET", f"meetings/{code}/history")
    assert status == 200
    texts = [event["text"] for event in history["events"]]
    assert texts[0] == "Alice rotate"
    assert "Alice features recording=on" in texts


async def test_capacity_and_reminders_as_the_commands_set_them(
    app: App, team: Team, bot: BotHarness
) -> None:
    code = await _planned_with_bob(app, team)
    status, answer = await app.call(
        team.alice, "POST", f"meetings/{code}/capacity", {"seats": "1"}
    )
    assert status == 200, answer
    assert answer["message"].startswith(f"{code}: 1 seat (owners aside). Taken: 1.")
    status, answer = await app.call(
        team.alice, "POST", f"meetings/{code}/capacity", {"seats": "lots"}
    )
    assert status == 400
    assert answer["error"].startswith("I can't read “lots” as a number of seats.")
    status, answer = await app.call(team.alice, "POST", f"meetings/{code}/capacity", {"seats": ""})
    assert answer["message"] == f"{code} has no seat limit now."
    status, answer = await app.call(
        team.alice, "POST", f"meetings/{code}/reminders", {"moments": "1d 10m"}
    )
    assert status == 200, answer
    assert answer["message"] == (
        f"Reminders for {code}: 1 day · 10 minutes before each start, for everyone in it."
    )
    status, view = await app.call(team.alice, "GET", f"meetings/{code}")
    assert view["reminders"] == "1d 10m"
    status, answer = await app.call(
        team.alice, "POST", f"meetings/{code}/reminders", {"moments": "soon"}
    )
    assert status == 400
    assert answer["error"].startswith("I can't read “soon” as a time before the start.")
    # The form's seats and reminders are read as /schedule reads | max and | remind.
    status, created = await app.call(
        team.alice,
        "POST",
        "meetings",
        {
            "title": "Small",
            "date": "2026-11-30",
            "time": "10:00",
            "capacity": "5",
            "reminders": "1h",
        },
    )
    assert status == 200, created
    with Session(bot.services.engine) as session:
        small = session.exec(select(Meeting).where(Meeting.code == created["code"])).one()
        assert (small.capacity, small.reminder_minutes) == (5, [60])
    status, answer = await app.call(
        team.alice,
        "POST",
        "meetings",
        {"title": "Huge", "date": "2026-11-30", "time": "10:00", "capacity": "0"},
    )
    assert status == 400 and "from 1 to" in answer["error"]


async def test_attendance_before_anyone_came(app: App, team: Team) -> None:
    code = await _planned_with_bob(app, team)
    status, answer = await app.call(team.alice, "GET", f"meetings/{code}/attendance")
    assert status == 404
    assert answer["error"] == (
        f"Nobody has been in the room of {code} yet, so there is no attendance."
    )


async def test_my_reminder_default_and_languages_by_name(app: App, team: Team) -> None:
    status, me = await app.call(team.bob, "GET", "me")
    assert {"code": "de", "name": "Deutsch"} in me["languages"]
    assert me["reminders"] == ""
    status, answer = await app.call(team.bob, "POST", "settings", {"reminders": "1h 10m"})
    assert status == 200, answer
    status, me = await app.call(team.bob, "GET", "me")
    assert me["reminders"] == "1h 10m"
    status, answer = await app.call(team.bob, "POST", "settings", {"reminders": "later"})
    assert status == 400
    assert answer["error"].startswith("I can't read “later” as a time before the start.")
    await app.bot.say(team.bob, "/language de")
    status, answer = await app.call(team.bob, "POST", "settings", {"reminders": "später"})
    assert status == 400 and "später" in answer["error"]
    assert not answer["error"].startswith("I can't read")
