"""Planning personal links: one delivery row per person and sitting (and, with them, the early
reminders: bot.domain.reminders)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from bot.domain.lookup import meeting_id
from bot.domain.reminders import cancel_reminders, plan_reminders
from bot.domain.sittings import occurrence_after
from bot.domain.values import Occurrence
from storage.models import Delivery, DeliveryStatus, Meeting, MeetingStatus, Participant


def plan_deliveries(
    session: Session, *, meeting: Meeting, now: datetime, user_ids: Iterable[int] | None = None
) -> int:
    """Make sure everyone in the next sitting has a delivery row; returns how many were added.

    Rows due in the past (a late invite, a reminder missed while down) are due now.
    """
    occurrence = occurrence_after(session, meeting, now)
    if occurrence is None:
        return 0
    due_at = occurrence.start - timedelta(minutes=meeting.remind_before_minutes)
    wanted = set(user_ids) if user_ids is not None else None
    people = session.exec(
        select(Participant.user_id).where(
            Participant.meeting_id == meeting.id,
            col(Participant.user_id).is_not(None),
            *gets_the_link(),
        )
    ).all()
    existing = set(
        session.exec(
            select(Delivery.user_id).where(
                Delivery.meeting_id == meeting.id,
                Delivery.occurrence_start == occurrence.start,
            )
        ).all()
    )
    added = 0
    for user_id in people:
        if (
            user_id is None
            or user_id in existing
            or (wanted is not None and user_id not in wanted)
        ):
            continue
        late = due_at < now
        session.add(
            Delivery(
                meeting_id=meeting_id(meeting),
                user_id=user_id,
                occurrence_start=occurrence.start,
                due_at=now if late else due_at,
                reason="late" if late and meeting.summary_occurrence else "reminder",
                updated_at=now,
            )
        )
        added += 1
    session.flush()
    # Whatever changed the links (a new time, someone joined) changes the early reminders too.
    plan_reminders(session, meeting=meeting, now=now, user_ids=wanted)
    return added


def gets_the_link() -> list[Any]:
    """The conditions of a participant row whose person gets links and reminders: not those
    who said Can't, nor those waiting on the waitlist (bot.domain.rsvp)."""
    return [
        or_(col(Participant.rsvp).is_(None), col(Participant.rsvp) != "cant"),
        col(Participant.waitlist_ticket).is_(None),
    ]


def next_delivery(
    session: Session, meeting: Meeting, user_id: int, now: datetime
) -> tuple[Occurrence | None, Delivery | None]:
    """The next sitting and this person's delivery row for it (either may be missing)."""
    occurrence = occurrence_after(session, meeting, now)
    if occurrence is None:
        return None, None
    row = session.exec(
        select(Delivery).where(
            Delivery.meeting_id == meeting.id,
            Delivery.user_id == user_id,
            Delivery.occurrence_start == occurrence.start,
        )
    ).first()
    return occurrence, row


def resend_link(
    session: Session, *, meeting: Meeting, user_id: int, reason: str, now: datetime
) -> bool:
    """Queue a fresh link for someone whose link already went out (new rights, new room)."""
    _occurrence, row = next_delivery(session, meeting, user_id, now)
    if row is None or row.status not in {DeliveryStatus.SENT, DeliveryStatus.SENDING}:
        return False
    row.status = DeliveryStatus.PENDING
    row.reason = reason
    row.due_at = now
    row.attempts = 0
    row.updated_at = now
    session.add(row)
    return True


def cancel_pending(
    session: Session,
    meeting: Meeting,
    *,
    now: datetime,
    user_ids: Iterable[int] | None = None,
    occurrence_start: datetime | None = None,
) -> None:
    query = select(Delivery).where(
        Delivery.meeting_id == meeting.id,
        col(Delivery.status).in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
    )
    if user_ids is not None:
        query = query.where(col(Delivery.user_id).in_(list(user_ids)))
    if occurrence_start is not None:
        query = query.where(Delivery.occurrence_start == occurrence_start)
    for row in session.exec(query).all():
        row.status = DeliveryStatus.CANCELLED
        row.updated_at = now
        session.add(row)
    cancel_reminders(
        session, meeting=meeting, now=now, user_ids=user_ids, occurrence_start=occurrence_start
    )


def requeue_unreachable(session: Session, *, user_id: int, now: datetime) -> int:
    """Someone came back (started or unblocked the bot): their missed links go out now."""
    rows = session.exec(
        select(Delivery).where(
            Delivery.user_id == user_id,
            col(Delivery.status).in_([DeliveryStatus.UNREACHABLE, DeliveryStatus.FAILED]),
        )
    ).all()
    count = 0
    for row in rows:
        meeting = session.get(Meeting, row.meeting_id)
        if meeting is None or meeting.status is MeetingStatus.CANCELLED:
            continue
        if row.occurrence_start + (meeting.ends_at - meeting.starts_at) <= now:
            continue
        row.status = DeliveryStatus.PENDING
        row.reason = "late"
        row.due_at = now
        row.updated_at = now
        session.add(row)
        count += 1
    return count


def mark_link_handed_over(
    session: Session, *, meeting: Meeting, user_id: int, now: datetime
) -> None:
    """A link went out directly (/link, a deep link): the reminder for this sitting is done."""
    occurrence, row = next_delivery(session, meeting, user_id, now)
    if occurrence is None:
        return
    if row is None:
        row = Delivery(
            meeting_id=meeting_id(meeting),
            user_id=user_id,
            occurrence_start=occurrence.start,
            due_at=now,
        )
    if row.status is DeliveryStatus.SENDING:
        return
    # Before the reminder time the reminder still goes out as planned; after it, this was it.
    if row.status is DeliveryStatus.PENDING and row.due_at > now:
        return
    row.status = DeliveryStatus.SENT
    row.reason = "direct"
    row.updated_at = now
    session.add(row)


def link_statuses(
    session: Session, *, meeting: Meeting, now: datetime
) -> dict[int, DeliveryStatus]:
    """Per person, where the link of the next sitting stands."""
    occurrence = occurrence_after(session, meeting, now)
    if occurrence is None:
        return {}
    rows = session.exec(
        select(Delivery).where(
            Delivery.meeting_id == meeting.id, Delivery.occurrence_start == occurrence.start
        )
    ).all()
    return {row.user_id: row.status for row in rows}
