"""The history of who changed what."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.domain.access import require_manager
from bot.domain.values import Actor
from storage.models import AuditEvent, Meeting


def record_change(
    session: Session,
    meeting: Meeting | None,
    actor_id: int,
    action: str,
    target_user_id: int | None,
    detail: str,
    now: datetime,
    *,
    poll_id: int | None = None,
) -> None:
    session.add(
        AuditEvent(
            meeting_id=meeting.id if meeting else None,
            actor_id=actor_id,
            action=action,
            target_user_id=target_user_id,
            detail=detail[:500],
            at=now,
            poll_id=poll_id,
        )
    )


def history(
    session: Session, *, meeting: Meeting, actor: Actor, limit: int = 20
) -> list[AuditEvent]:
    """The latest changes to a meeting, newest first (owners and admins only)."""
    require_manager(session, meeting, actor)
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.meeting_id == meeting.id)
            .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
            .limit(limit)
        ).all()
    )
