"""Drafts in the database: saved for a day, taken once, only by their owner, purged when old."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.domain import drafts
from bot.domain.drafts import MeetingPreview, PendingInvite, SittingChange
from bot.domain.scheduling import Draft
from bot.errors import NotFound
from storage.models import PendingAction
from tests.domain.helpers import GROUP, NOW, OWNER, STRANGER

START = NOW + timedelta(days=1)
PREVIEW = MeetingPreview(
    Draft(
        title="Board",
        starts_at=START,
        ends_at=START + timedelta(minutes=45),
        zone="Europe/Berlin",
        rrule="FREQ=WEEKLY;BYDAY=MO",
    ),
    reschedule_code="K7PQ2M",
)
VALUES = [
    PREVIEW,
    MeetingPreview(Draft("Sync", START, START + timedelta(hours=1), "UTC")),
    SittingChange(code="K7PQ2M", original=START, new_start=START + timedelta(hours=2), zone="UTC"),
    SittingChange(code="K7PQ2M", original=START, new_start=None, zone="UTC"),
    PendingInvite(user_ids=(2, 3), usernames=("mia",)),
]


def _rows(session: Session) -> int:
    return len(session.exec(select(PendingAction)).all())


@pytest.mark.parametrize("value", VALUES)
def test_a_draft_reads_back_as_it_was_saved(
    session: Session, value: MeetingPreview | SittingChange | PendingInvite
) -> None:
    draft_id = drafts.save(session, value=value, user_id=OWNER, chat_id=GROUP, now=NOW)
    session.commit()
    session.expunge_all()  # read from the database, not from the session's memory
    kind = type(value)
    saved = drafts.peek(session, kind=kind, draft_id=draft_id, user_id=OWNER, now=NOW)
    assert saved.value == value and saved.chat_id == GROUP
    taken = drafts.take(session, kind=kind, draft_id=draft_id, user_id=OWNER, now=NOW)
    assert taken == saved
    assert _rows(session) == 0


def test_a_draft_is_taken_once(session: Session) -> None:
    draft_id = drafts.save(session, value=PREVIEW, user_id=OWNER, chat_id=GROUP, now=NOW)
    drafts.take(session, kind=MeetingPreview, draft_id=draft_id, user_id=OWNER, now=NOW)
    with pytest.raises(NotFound, match="not yours or has expired"):
        drafts.take(session, kind=MeetingPreview, draft_id=draft_id, user_id=OWNER, now=NOW)


def test_only_its_owner_reaches_a_draft(session: Session) -> None:
    draft_id = drafts.save(session, value=PREVIEW, user_id=OWNER, chat_id=GROUP, now=NOW)
    pick_id = drafts.save(session, value=VALUES[-1], user_id=OWNER, chat_id=GROUP, now=NOW)
    for reach in (drafts.peek, drafts.take):
        with pytest.raises(NotFound, match="not yours"):
            reach(session, kind=MeetingPreview, draft_id=draft_id, user_id=STRANGER, now=NOW)
        with pytest.raises(NotFound, match="not for you"):
            reach(session, kind=PendingInvite, draft_id=pick_id, user_id=STRANGER, now=NOW)
        # Another kind's id, or none at all (forged data), reaches nothing either.
        with pytest.raises(NotFound):
            reach(session, kind=SittingChange, draft_id=draft_id, user_id=OWNER, now=NOW)
        with pytest.raises(NotFound):
            reach(session, kind=MeetingPreview, draft_id=None, user_id=OWNER, now=NOW)
    with pytest.raises(NotFound):
        drafts.discard(session, kind=MeetingPreview, draft_id=draft_id, user_id=STRANGER)
    assert _rows(session) == 2


def test_an_expired_draft_is_refused_as_expired(session: Session) -> None:
    draft_id = drafts.save(session, value=PREVIEW, user_id=OWNER, chat_id=GROUP, now=NOW)
    pick_id = drafts.save(session, value=VALUES[-1], user_id=OWNER, chat_id=GROUP, now=NOW)
    almost = NOW + drafts.LIFETIME - timedelta(seconds=1)
    drafts.peek(session, kind=MeetingPreview, draft_id=draft_id, user_id=OWNER, now=almost)
    later = NOW + drafts.LIFETIME
    for reach in (drafts.peek, drafts.take):
        with pytest.raises(NotFound, match="This preview has expired"):
            reach(session, kind=MeetingPreview, draft_id=draft_id, user_id=OWNER, now=later)
        with pytest.raises(NotFound, match="This question has expired"):
            reach(session, kind=PendingInvite, draft_id=pick_id, user_id=OWNER, now=later)


def test_purge_drops_only_expired_drafts(session: Session) -> None:
    old = drafts.save(session, value=PREVIEW, user_id=OWNER, chat_id=GROUP, now=NOW)
    fresh_at = NOW + timedelta(hours=12)
    fresh = drafts.save(session, value=PREVIEW, user_id=OWNER, chat_id=GROUP, now=fresh_at)
    assert drafts.purge_expired(session, now=NOW + timedelta(hours=23)) == 0
    assert drafts.purge_expired(session, now=NOW + drafts.LIFETIME) == 1
    assert [row.id for row in session.exec(select(PendingAction)).all()] == [fresh]
    assert old != fresh


def test_discard_drops_the_owners_draft(session: Session) -> None:
    draft_id = drafts.save(session, value=PREVIEW, user_id=OWNER, chat_id=GROUP, now=NOW)
    drafts.discard(session, kind=MeetingPreview, draft_id=draft_id, user_id=OWNER)
    assert _rows(session) == 0
    with pytest.raises(NotFound):
        drafts.discard(session, kind=MeetingPreview, draft_id=draft_id, user_id=OWNER)


def test_a_refusal_after_take_leaves_the_draft(session: Session) -> None:
    draft_id = drafts.save(session, value=PREVIEW, user_id=OWNER, chat_id=GROUP, now=NOW)
    session.commit()
    drafts.take(session, kind=MeetingPreview, draft_id=draft_id, user_id=OWNER, now=NOW)
    session.rollback()  # what session_scope does when the domain refuses after the take
    drafts.peek(session, kind=MeetingPreview, draft_id=draft_id, user_id=OWNER, now=NOW)


def test_two_connections_taking_at_once_get_it_once(session: Session) -> None:
    draft_id = drafts.save(session, value=PREVIEW, user_id=OWNER, chat_id=GROUP, now=NOW)
    session.commit()
    engine = session.get_bind()
    outcomes: list[str] = []
    with Session(engine) as first:
        # The first press has taken the draft and is still saving the meeting ...
        drafts.take(first, kind=MeetingPreview, draft_id=draft_id, user_id=OWNER, now=NOW)

        def second_press() -> None:
            with Session(engine) as second:
                try:
                    drafts.take(
                        second, kind=MeetingPreview, draft_id=draft_id, user_id=OWNER, now=NOW
                    )
                    outcomes.append("taken")
                except NotFound:
                    outcomes.append("gone")
                second.commit()

        # ... when the second press (another connection, as another process would) arrives.
        thread = threading.Thread(target=second_press)
        thread.start()
        thread.join(timeout=0.3)
        assert thread.is_alive()  # it waits for the first transaction
        first.commit()
    thread.join(timeout=5)
    assert outcomes == ["gone"]
