"""A bot on JaaS (8x8.vc), end to end: the reminder's personal links are JaaS links and tokens."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.demo import play
from bot.jitsi import JAAS_FEATURES
from bot.sandbox import Sandbox, User
from storage.models import Meeting
from tests.conftest import BotHarness
from tests.helpers import make_settings
from tests.jitsi.jaas_helpers import APP_ID, decode_jaas, jaas_values, write_private_key

LINK = re.compile(rf"https://8x8\.vc/{APP_ID}/([a-z0-9-]+)\?jwt=([A-Za-z0-9_\-\.]+)")


@pytest.fixture
async def bot(sandbox: Sandbox, clock: ManualClock, tmp_path: Path) -> AsyncIterator[BotHarness]:
    """The real bot with JITSI_PROVIDER=jaas and an API key in tmp_path."""
    key_file = write_private_key(tmp_path / "jaas-private.pem")
    harness = BotHarness(
        sandbox,
        clock,
        tmp_path / "meetings.db",
        make_settings,
        **jaas_values(key_file),
    )
    await harness.start()
    yield harness
    await harness.stop()


def _links(sandbox: Sandbox, user: User) -> list[tuple[str, str]]:
    """(room, token) of every JaaS link the user received."""
    return [found for message in sandbox.inbox(user) for found in LINK.findall(message.text)]


async def test_reminder_links_are_jaas_tokens_for_the_right_person_and_role(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    people = {
        name.lower(): sandbox.create_user(name, username=name.lower())
        for name in ("Alice", "Bob", "Carol")
    }
    for user in people.values():
        await bot.say(user, "/start")
    preview = await bot.say(people["alice"], "/schedule Team sync | 2026-11-28 12:00 | 60m")
    await bot.tap(people["alice"], preview, "Confirm")
    with Session(bot.services_engine()) as session:
        meeting = session.exec(select(Meeting)).one()
    await bot.say(people["alice"], f"/invite {meeting.code} @bob @carol")
    await bot.say(people["alice"], f"/promote {meeting.code} @bob")
    # 10:00 now, meeting at 12:00, reminder at 11:50.
    await bot.reminders(timedelta(minutes=110))
    sent_at = int(bot.clock().timestamp())
    for name, moderator in (("alice", "true"), ("bob", "true"), ("carol", "false")):
        [(room, token)] = _links(sandbox, people[name])
        assert room == meeting.room
        assert jwt.get_unverified_header(token) == {
            "alg": "RS256",
            "typ": "JWT",
            "kid": f"{APP_ID}/4f4910",
        }
        claims = decode_jaas(token)
        assert claims["sub"] == APP_ID
        assert claims["room"] == meeting.room
        assert claims["nbf"] <= sent_at <= claims["exp"]
        assert claims["exp"] == int((meeting.ends_at + timedelta(minutes=60)).timestamp())
        user = people[name]
        assert claims["context"]["user"] == {
            "id": f"tg-{user.id}",
            "name": user.first_name,
            "moderator": moderator,
        }
        if moderator == "true":
            assert claims["context"]["features"] == dict.fromkeys(JAAS_FEATURES, "true")
        else:
            assert "features" not in claims["context"]


async def test_demo_plays_on_jaas() -> None:
    out = io.StringIO()
    result = await play(out, jaas=True)
    roles = {
        name: jwt.decode(link.split("jwt=")[1], options={"verify_signature": False})["context"][
            "user"
        ]["moderator"]
        for name, link in result["links"].items()
    }
    assert roles == {"Alice": "true", "Bob": "false", "Carol": "false", "Dan": "false"}
    assert all(link.startswith("https://8x8.vc/") for link in result["links"].values())
    assert "Alice is owner (moderator=true)" in out.getvalue()
