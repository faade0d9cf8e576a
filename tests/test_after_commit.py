"""The outbox's doorbell: a commit that owes someone a message wakes the sender by itself."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import ManualClock
from bot.sandbox import Sandbox
from bot.sandbox.harness import BotHarness
from storage.db import call_after_commit, make_engine, session_scope, upgrade_database
from storage.models import Delivery, DeliveryStatus, Meeting, User
from tests.helpers import make_settings

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path}/meetings.db")
    upgrade_database(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def rings(engine: Engine) -> Iterator[list[int]]:
    """Thread ids of every call of the hook watching the delivery table."""
    calls: list[int] = []
    remove = call_after_commit(engine, {"delivery"}, lambda: calls.append(threading.get_ident()))
    yield calls
    remove()


def _meeting_with_a_person(engine: Engine) -> int:
    with session_scope(engine) as session:
        session.add(User(id=1, display_name="Alice"))
        meeting = Meeting(
            code="ABC123",
            title="Sync",
            room="sync",
            starts_at=NOW + timedelta(hours=1),
            ends_at=NOW + timedelta(hours=2),
            zone="UTC",
            organizer_id=1,
            remind_before_minutes=10,
        )
        session.add(meeting)
        session.flush()
        assert meeting.id is not None
        return meeting.id


def _delivery(meeting_id: int) -> Delivery:
    return Delivery(
        meeting_id=meeting_id,
        user_id=1,
        occurrence_start=NOW + timedelta(hours=1),
        due_at=NOW + timedelta(minutes=50),
        updated_at=NOW,
    )


def test_a_commit_that_adds_a_watched_row_rings_once(engine: Engine, rings: list[int]) -> None:
    meeting_id = _meeting_with_a_person(engine)
    assert rings == []  # users and meetings are not watched
    with session_scope(engine) as session:
        session.add(_delivery(meeting_id))
    assert rings == [threading.get_ident()]


def test_an_update_statement_rings_too(engine: Engine, rings: list[int]) -> None:
    meeting_id = _meeting_with_a_person(engine)
    with session_scope(engine, wakes=False) as session:
        session.add(_delivery(meeting_id))
    assert rings == []
    with session_scope(engine) as session:
        session.execute(
            update(Delivery)
            .where(col(Delivery.meeting_id) == meeting_id)
            .values(status=DeliveryStatus.PENDING)
        )
    assert len(rings) == 1


def test_a_rollback_or_a_quiet_session_rings_nothing(engine: Engine, rings: list[int]) -> None:
    meeting_id = _meeting_with_a_person(engine)
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        session.add(_delivery(meeting_id))
        session.flush()
        raise RuntimeError("the change fails after the row was written")
    assert rings == []
    with session_scope(engine, wakes=False) as session:
        session.add(_delivery(meeting_id))
    assert rings == []


def test_a_commit_in_a_worker_thread_rings_in_that_thread(
    engine: Engine, rings: list[int]
) -> None:
    meeting_id = _meeting_with_a_person(engine)

    def write() -> None:
        with session_scope(engine) as session:
            session.add(_delivery(meeting_id))

    worker = threading.Thread(target=write)
    worker.start()
    worker.join()
    assert len(rings) == 1 and rings[0] != threading.get_ident()


def test_the_hook_watches_only_its_own_engine_and_can_be_removed(
    engine: Engine, tmp_path: Path
) -> None:
    other = make_engine(f"sqlite:///{tmp_path}/other.db")
    upgrade_database(other)
    calls: list[str] = []
    remove = call_after_commit(other, {"delivery"}, lambda: calls.append("other"))
    meeting_id = _meeting_with_a_person(engine)
    with session_scope(engine) as session:
        session.add(_delivery(meeting_id))
    assert calls == []
    remove()
    remove()  # twice is harmless
    other.dispose()


async def test_no_handler_wakes_the_sender_by_hand(
    sandbox: Sandbox, clock: ManualClock, tmp_path: Path
) -> None:
    """With no periodic sweep for an hour, a late invitee still gets their link at once."""
    harness = BotHarness(
        sandbox, clock, tmp_path / "meetings.db", make_settings, sweep_interval=3600.0
    )
    await harness.start()
    try:
        alice = sandbox.create_user("Alice", username="alice")
        carol = sandbox.create_user("Carol", username="carol")
        for person in (alice, carol):
            await harness.say(person, "/start")
        # The clock says 10:00; the meeting starts at 10:05, so its links are due now.
        preview = await harness.say(alice, "/schedule Sync | 2026-11-28 10:05 | 30m")
        await harness.tap(alice, preview, "Confirm")
        assert any("jwt=" in message.text for message in sandbox.inbox(alice))
        with Session(harness.services.engine) as session:
            code = session.exec(select(Meeting.code)).one()
        await harness.say(alice, f"/invite {code} @carol")
        links = [message for message in sandbox.inbox(carol) if "jwt=" in message.text]
        assert len(links) == 1
    finally:
        await harness.stop()
