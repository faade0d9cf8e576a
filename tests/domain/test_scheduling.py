"""Planning a meeting: creating it with its reminders, drafts from what people type, cancelling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from bot.domain import access, participation, scheduling
from bot.domain.values import Actor
from bot.errors import DomainError, InvalidInput
from bot.jitsi import Role
from storage.models import Delivery, DeliveryStatus
from tests.domain.helpers import MEMBER, NOW, OWNER, STRANGER, make_meeting


def test_create_makes_organizer_owner_and_plans_reminders(session: Session) -> None:
    meeting = make_meeting(session)
    assert access.participant_role(session, meeting, OWNER) is Role.OWNER
    assert access.participant_role(session, meeting, MEMBER) is Role.MEMBER
    rows = session.exec(select(Delivery)).all()
    assert {row.user_id for row in rows} == {OWNER, MEMBER}
    assert all(row.due_at == meeting.starts_at - timedelta(minutes=10) for row in rows)
    assert len(meeting.code) == 6 and meeting.code.isalnum()


def test_cancel_stops_pending_deliveries(session: Session) -> None:
    meeting = make_meeting(session)
    scheduling.cancel_meeting(session, meeting=meeting, actor=Actor(OWNER), now=NOW)
    statuses = {row.status for row in session.exec(select(Delivery)).all()}
    assert statuses == {DeliveryStatus.CANCELLED}
    with pytest.raises(InvalidInput, match="cancelled"):
        participation.join(session, meeting=meeting, user_id=STRANGER, now=NOW)


@settings(max_examples=150, deadline=None)
@given(title=st.text(max_size=300), when=st.text(max_size=80), duration=st.text(max_size=20))
def test_drafts_refuse_anything_odd_with_a_domain_error(
    title: str, when: str, duration: str
) -> None:
    try:
        draft = scheduling.make_draft(
            title=title,
            when=when,
            duration=duration,
            zone="Europe/Berlin",
            languages=["en"],
            now=NOW,
        )
    except DomainError as error:
        assert str(error)
        return
    assert 0 < len(draft.title) <= 200
    assert NOW <= draft.starts_at < draft.ends_at <= draft.starts_at + timedelta(hours=24)
