"""`python -m bot db copy`: a SQLite database with every kind of row, copied into an empty one
(PostgreSQL in the database pass, SQLite otherwise), and the bot carries on there."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from alembic import command
from sqlalchemy import func, select
from sqlmodel import Session, SQLModel
from sqlmodel import select as select_rows

from bot.__main__ import main
from bot.clock import ManualClock
from bot.domain import rooms
from bot.sandbox import Sandbox, User
from storage.db import alembic_config, make_engine, session_scope
from storage.models import Meeting
from tests.conftest import BotHarness
from tests.helpers import free_port, make_settings
from tests.test_e2e_delivery import _team_meeting
from tests.test_e2e_polls import vote

RETRO = "Retro"


async def _every_kind_of_row(bot: BotHarness, sandbox: Sandbox) -> None:
    """A group meeting whose links went out (deliveries, notices, summaries, the group note's
    deep link, a promotion in the audit), a weekly series with a skipped sitting, a group
    language, a meeting tomorrow whose links and reminders are still to come, and a poll with
    a vote."""
    people, group, _meeting = await _team_meeting(bot, sandbox)
    alice = people["alice"]
    await bot.say(alice, "/language en", group)
    preview = await bot.say(alice, "/schedule Weekly | every monday 10:00 | 45m")
    await bot.tap(alice, preview, "Confirm")
    weekly = _meeting_called(bot, "Weekly")
    preview = await bot.say(alice, f"/skip {weekly.code}")
    await bot.tap(alice, preview, "Confirm")
    await bot.reminders(timedelta(minutes=110))  # the group meeting's links, at 11:50
    _bob_in_the_room(bot, _meeting, people["bob"].id)
    preview = await bot.say(alice, f"/schedule {RETRO} | 2026-11-29 12:00 | 30m")
    await bot.tap(alice, preview, "Confirm")
    await bot.say(alice, f"/invite {_meeting_called(bot, RETRO).code} @bob")
    # Reminders a day ahead (the retro is tomorrow noon, so one is still to come for each).
    await bot.say(alice, f"/reminders {_meeting_called(bot, RETRO).code} 1d")
    await bot.say(alice, "/schedule Maybe later | 2026-12-10 12:00 | 30m")  # left unconfirmed
    board = await bot.say(alice, "/poll Next retro | 2026-12-07 10:00; 2026-12-08 10:00", group)
    await vote(bot, people["bob"], board, 1)


def _bob_in_the_room(bot: BotHarness, meeting: Meeting, bob_id: int) -> None:
    """The group meeting's room opened and Bob came in, as Jitsi's event-sync reports it."""
    now = bot.clock()
    with session_scope(bot.services.engine) as session:
        room = rooms.room_context(
            session, room_name=meeting.room, at=now, rules=bot.services.rules
        )
        assert room is not None
        rooms.occupant_joined(
            session, room, rooms.Occupant("bob@meet.example.com/a1", f"tg-{bob_id}", now), None
        )


def _meeting_called(bot: BotHarness, title: str) -> Meeting:
    with Session(bot.services_engine()) as session:
        return session.exec(select_rows(Meeting).where(Meeting.title == title)).one()


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as connection:
        counts = {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in SQLModel.metadata.sorted_tables
        }
    engine.dispose()
    return counts


def _harness(
    sandbox: Sandbox, clock: ManualClock, tmp_path: Path, database_url: str
) -> tuple[BotHarness, int]:
    """The real bot with PUBLIC_URL set (click-time links: link handles are rows too)."""
    port = free_port()
    harness = BotHarness(
        sandbox,
        clock,
        tmp_path / "unused.db",
        make_settings,
        database_url=database_url,
        public_url=f"http://127.0.0.1:{port}/bot/",
        web_listen=f"127.0.0.1:{port}",
    )
    return harness, port


def _reminders(sandbox: Sandbox, user: User, title: str) -> list[str]:
    """The handles of the link reminders `user` got for meetings called `title`."""
    return [
        handle
        for message in sandbox.inbox(user)
        if f"“{title}” starts in" in message.text
        for handle in re.findall(r"/bot/j/([A-Za-z0-9_-]+)", message.text)
    ]


async def test_copy_holds_every_row_and_the_bot_runs_on_it(
    sandbox: Sandbox,
    clock: ManualClock,
    tmp_path: Path,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source_url = f"sqlite:///{tmp_path}/source.db"
    before, _port = _harness(sandbox, clock, tmp_path, source_url)
    await before.start()
    try:
        await _every_kind_of_row(before, sandbox)
    finally:
        await before.stop()
    source = _counts(source_url)
    empty = [name for name, count in source.items() if not count]
    assert not empty, f"no rows in {empty}: add a step to _every_kind_of_row that makes some"

    assert main(["db", "copy", "--from", source_url, "--to", database_url]) == 0
    printed = capsys.readouterr().out
    assert "row counts match in every table" in printed
    assert f"delivery: {source['delivery']} rows" in printed
    assert _counts(database_url) == source

    # The bot on the copy: it knows the meetings, sends tomorrow's links, makes new rows, and
    # a link sent before the move still opens.
    after, port = _harness(sandbox, clock, tmp_path, database_url)
    await after.start()
    try:
        people = {user.username: user for user in sandbox.users.values()}
        alice, bob = people["alice"], people["bob"]
        listed = await after.say(alice, "/meetings")
        assert RETRO in listed.text and "Weekly" in listed.text
        [old_handle] = _reminders(sandbox, bob, "Team sync")
        assert _reminders(sandbox, bob, RETRO) == []
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"http://127.0.0.1:{port}/bot/j/{old_handle}", allow_redirects=False
            ) as opened,
        ):
            assert opened.status == 303
            assert "jwt=" in opened.headers["Location"]
        clock.set(_meeting_called(after, RETRO).starts_at - timedelta(minutes=10))
        await after.reminders()
        assert len(_reminders(sandbox, bob, RETRO)) == 1
        # New rows get fresh ids after the copied ones (PostgreSQL's sequences were moved on).
        preview = await after.say(alice, "/schedule After the move | 2026-12-05 12:00 | 30m")
        await after.tap(alice, preview, "Confirm")
        assert "You are the owner" in sandbox.current(preview).text
        await after.say(alice, f"/invite {_meeting_called(after, 'After the move').code} @bob")
        assert "After the move" in (await after.say(bob, "/meetings")).text
    finally:
        await after.stop()

    # A second copy into the now busy database is refused with one line, and changes nothing.
    counts = _counts(database_url)
    assert main(["db", "copy", "--from", source_url, "--to", database_url]) == 1
    refusal = capsys.readouterr().err.strip()
    assert refusal.startswith("db copy: the target database already holds data (in ")
    assert "\n" not in refusal
    assert _counts(database_url) == counts


def test_a_source_behind_the_newest_migration_is_refused(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source_url = f"sqlite:///{tmp_path}/old.db"
    engine = make_engine(source_url)
    command.upgrade(alembic_config(engine), "0004")
    engine.dispose()
    assert main(["db", "copy", "--from", source_url, "--to", database_url]) == 1
    refusal = capsys.readouterr().err.strip()
    assert refusal.startswith("db copy: the source database is at migration 0004, not the newest")
    assert "python -m bot db upgrade" in refusal


def test_a_missing_source_file_is_refused_without_making_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.db"
    target = f"sqlite:///{tmp_path}/target.db"
    assert main(["db", "copy", "--from", f"sqlite:///{missing}", "--to", target]) == 1
    assert capsys.readouterr().err.strip() == f"db copy: there is no database file at {missing}"
    assert not missing.exists()
