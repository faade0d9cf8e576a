"""Messages owed to people about a change, written with the change."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session

from bot.domain.lookup import meeting_id, participants
from storage.models import Meeting, Notice


class NoticeKind:
    """What a notice tells its reader."""

    INVITED = "invited"
    JOINED = "joined"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    MOVED = "moved"
    # The waitlist: a member waits for a seat, or one became free for them.
    WAITLISTED = "waitlisted"
    SEAT = "seat"


def queue_notices(
    session: Session,
    *,
    meeting: Meeting,
    kind: str,
    now: datetime,
    user_ids: Iterable[int] | None = None,
    skip_user_id: int | None = None,
    occurrence_start: datetime | None = None,
    new_start: datetime | None = None,
) -> int:
    """Owe people a message about a change, in the change's own transaction.

    A skip or move names its sitting (`occurrence_start`, and `new_start` for a move).
    """
    if user_ids is None:
        user_ids = [
            row.user_id for row, _user in participants(session, meeting) if row.user_id is not None
        ]
    count = 0
    for user_id in dict.fromkeys(user_ids):
        if user_id == skip_user_id:
            continue
        session.add(
            Notice(
                meeting_id=meeting_id(meeting),
                user_id=user_id,
                kind=kind,
                occurrence_start=occurrence_start,
                new_start=new_start,
                due_at=now,
                created_at=now,
            )
        )
        count += 1
    return count
