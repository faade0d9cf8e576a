"""Planning personal links: a link that could not be delivered is queued again when it can."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.delivery import planning
from storage.models import Delivery, DeliveryStatus
from tests.domain.helpers import MEMBER, NOW, make_meeting


def test_requeue_after_unblock(session: Session) -> None:
    meeting = make_meeting(session)
    row = session.exec(select(Delivery).where(Delivery.user_id == MEMBER)).one()
    row.status = DeliveryStatus.UNREACHABLE
    session.add(row)
    assert planning.requeue_unreachable(session, user_id=MEMBER, now=NOW) == 1
    assert row.status is DeliveryStatus.PENDING and row.due_at == NOW
    assert meeting.id is not None
