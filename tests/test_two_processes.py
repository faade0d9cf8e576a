"""Two real `python -m bot run` processes on one database, as in a rolling deploy: every link,
notice, summary and answer goes out exactly once, and the second poller's 409 is a log line, not
a crash."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update
from sqlmodel import Session, select

from bench._common import seed_meeting, started_users
from bot.app import rules_from
from bot.sandbox import Sandbox
from storage.db import make_engine, upgrade_database
from storage.models import DeliveryStatus, Meeting, Notice
from tests.conftest import BOT_TOKEN
from tests.helpers import SECRET, make_settings

ROOT = Path(__file__).resolve().parent.parent
PEOPLE = 200
CONFLICT_LINE = "another process is polling Telegram with this bot's token"


def _environment(sandbox: Sandbox, database_url: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("JITSI_", "TELEGRAM_"))}
    return {
        **keep,
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_API_BASE_URL": sandbox.base_url,
        "JITSI_BASE_URL": "https://meet.example.com",
        "JITSI_APP_ID": "meetbot",
        "JITSI_APP_SECRET": SECRET,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "INFO",
    }


async def _start(sandbox: Sandbox, database_url: str, log: Path) -> asyncio.subprocess.Process:
    with log.open("w") as stderr:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run",
            cwd=log.parent, env=_environment(sandbox, database_url),
            stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip


async def test_two_processes_send_each_link_once_and_both_keep_polling(
    sandbox: Sandbox, database_url: str, tmp_path: Path
) -> None:
    # 200 people in a group's meeting whose reminders fell due a moment ago: `run` reads the
    # system clock, so the meeting is placed around now.
    people = started_users(sandbox, PEOPLE)
    group = sandbox.create_group("Team", members=people)
    engine = make_engine(database_url)
    upgrade_database(engine)
    now = datetime.now(UTC)
    settings = make_settings()
    meeting_id = seed_meeting(
        engine,
        rules_from(settings),
        people=people,
        title="All hands",
        starts_at=now + timedelta(minutes=settings.remind_before_minutes, seconds=-5),
        now=now - timedelta(days=1),
    )
    with Session(engine) as session:
        meeting = session.exec(select(Meeting).where(Meeting.id == meeting_id)).one()
        meeting.chat_id = group.id
        session.add(meeting)
        # The invitations are still owed too: 199 notices go out beside the 200 links.
        session.execute(update(Notice).values(status=DeliveryStatus.PENDING.value))
        session.commit()
    engine.dispose()

    def links_sent() -> int:
        return sum(
            1
            for call in sandbox.calls_to("sendMessage")
            if "jwt=" in str(call.params.get("text", "")) and call.status == 200
        )

    def invitations_sent() -> int:
        return sum(
            1
            for call in sandbox.calls_to("sendMessage")
            if "You are invited" in str(call.params.get("text", "")) and call.status == 200
        )

    first = await _start(sandbox, database_url, tmp_path / "first.log")
    second = None

    async def wait_until(condition: Callable[[], bool]) -> None:
        def met() -> bool:
            for name, process in (("first", first), ("second", second)):
                if process is not None and process.returncode is not None:
                    raise AssertionError(f"{name} died: {_read(tmp_path / f'{name}.log')[-3000:]}")
            return condition()

        await sandbox.wait_for(met, timeout=60)

    try:
        # The second process starts while the first is in the middle of the fan-out.
        await wait_until(lambda: links_sent() >= 20)
        assert links_sent() < PEOPLE, "the fan-out ended before the second process started"
        second = await _start(sandbox, database_url, tmp_path / "second.log")
        await wait_until(lambda: links_sent() >= PEOPLE)
        await wait_until(lambda: invitations_sent() >= PEOPLE - 1)
        organizer = people[0]
        await sandbox.wait_for_message(organizer, contains="have their links", timeout=30)
        # Both poll now; an answer still comes exactly once.
        await wait_until(
            lambda: CONFLICT_LINE in _read(tmp_path / "first.log") + _read(tmp_path / "second.log")
        )
        asker = people[1]
        sandbox.send_text(asker, "/meetings")
        await sandbox.wait_for_message(asker, contains="All hands", timeout=30)
        # Both processes are past their start-up (the second polls); a moment more for a
        # duplicate to show up, had either claimed something twice.
        await asyncio.sleep(1)
        assert first.returncode is None and second.returncode is None, "a process died"
    finally:
        for process in (first, second):
            if process is not None and process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in (first, second):
            if process is not None:
                await asyncio.wait_for(process.wait(), timeout=30)

    logs = {name: _read(tmp_path / f"{name}.log") for name in ("first", "second")}
    assert first.returncode == 0, logs["first"][-3000:]
    assert second is not None and second.returncode == 0, logs["second"][-3000:]
    links = Counter(
        call.params["chat_id"]
        for call in sandbox.calls_to("sendMessage")
        if "jwt=" in str(call.params.get("text", "")) and call.status == 200
    )
    assert sum(links.values()) == PEOPLE  # 0 lost
    assert set(links.values()) == {1}, [c for c, n in links.items() if n > 1]  # 0 twice
    assert {int(chat) for chat in links} == {person.id for person in people}
    summaries = [m for m in sandbox.inbox(organizer) if "have their links" in m.text]
    assert len(summaries) == 1
    assert f"{PEOPLE} of {PEOPLE} have their links" in summaries[0].text
    notes = [m for m in sandbox.chat_messages(group) if "personal links went out" in m.text]
    assert len(notes) == 1
    assert f"({PEOPLE} of {PEOPLE})" in sandbox.current(notes[0]).text
    invitations = Counter(
        call.params["chat_id"]
        for call in sandbox.calls_to("sendMessage")
        if "You are invited" in str(call.params.get("text", "")) and call.status == 200
    )
    assert sum(invitations.values()) == PEOPLE - 1 and set(invitations.values()) == {1}
    answers = [m for m in sandbox.inbox(asker) if "All hands" in m.text and "jwt=" not in m.text]
    answers = [m for m in answers if "You are invited" not in m.text]
    assert len(answers) == 1
    assert CONFLICT_LINE in logs["first"] + logs["second"]
    for log in logs.values():
        assert "Traceback" not in log, log[-3000:]


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""
