"""Short t.me start payloads mapped to what they do."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlmodel import Session, select

from bot.domain.access import participant_role, require_active
from bot.domain.lookup import meeting_id
from bot.domain.participation import join
from bot.errors import NotAllowed, NotFound
from bot.i18n import _
from storage.models import DeepLink, Meeting


def deep_link(session: Session, *, meeting: Meeting, kind: str, now: datetime) -> str:
    """The start payload for `kind` ('join' or 'link') of a meeting, made once and reused."""
    existing = session.exec(
        select(DeepLink).where(DeepLink.meeting_id == meeting.id, DeepLink.kind == kind)
    ).first()
    if existing is not None:
        return existing.token
    token = secrets.token_urlsafe(12)
    session.add(DeepLink(token=token, kind=kind, meeting_id=meeting_id(meeting), created_at=now))
    session.flush()
    return token


def resolve_deep_link(session: Session, payload: str) -> tuple[str, Meeting]:
    """What a start payload stands for, or NotFound."""
    row = session.get(DeepLink, payload[:64]) if payload else None
    meeting = session.get(Meeting, row.meeting_id) if row else None
    if row is None or meeting is None:
        raise NotFound(_("That link is not valid (any more). Ask the organizer for a new one."))
    return row.kind, meeting


def accept_deep_link(
    session: Session, *, payload: str, user_id: int, now: datetime
) -> tuple[Meeting, bool]:
    """Follow a start payload: invite links and a group meeting's "Get my link" add the person
    as a member; returns the meeting and whether they just joined."""
    kind, meeting = resolve_deep_link(session, payload)
    require_active(meeting, now)
    if participant_role(session, meeting, user_id) is not None:
        return meeting, False
    if kind == "link" and meeting.chat_id is None:
        # A private meeting's link payload only serves people already in it.
        raise NotAllowed(
            _("You are not in meeting {code}. Ask an owner to /invite you.").format(
                code=meeting.code
            )
        )
    return meeting, join(session, meeting=meeting, user_id=user_id, now=now)
