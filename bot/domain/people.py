"""People the bot has met: who they are, their zone, language and e-mail, reachability."""

from __future__ import annotations

import re
from datetime import datetime

from sqlmodel import Session, col, select

from bot import timeparse
from bot.domain.lookup import find_participant, require_user
from bot.domain.values import Rules
from bot.errors import InvalidInput
from bot.i18n import _
from storage.models import Meeting, MeetingStatus, Participant, User

_EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def display(user: User) -> str:
    """How a person is named to others."""
    return user.display_name or (f"@{user.username}" if user.username else str(user.id))


def user_zone(user: User | None, rules: Rules) -> str:
    """The zone a person reads times in."""
    return (user.timezone if user else None) or rules.default_zone


def remember_user(
    session: Session,
    *,
    user_id: int,
    username: str | None,
    display_name: str,
    telegram_language: str | None,
    started: bool = False,
) -> User:
    """Record (or refresh) someone the bot has seen; `started` means we can message them."""
    user = session.get(User, user_id)
    if user is None:
        user = User(id=user_id, display_name=display_name[:128])
    user.display_name = display_name[:128] or user.display_name
    user.username = username.lower() if username else None
    user.telegram_language = telegram_language
    if started:
        user.reachable = True
        user.blocked = False
    session.add(user)
    session.flush()
    return user


def claim_pending_invites(session: Session, *, user: User, now: datetime) -> list[Meeting]:
    """Turn invites by @username into participation, once that person is known."""
    if not user.username:
        return []
    rows = session.exec(
        select(Participant).where(Participant.pending_username == user.username)
    ).all()
    meetings = []
    for pending in rows:
        meeting = session.get(Meeting, pending.meeting_id)
        existing = find_participant(session, pending.meeting_id, user.id)
        if existing is not None or meeting is None:
            session.delete(pending)
            continue
        pending.user_id = user.id
        pending.pending_username = None
        session.add(pending)
        session.flush()
        if meeting.status is MeetingStatus.SCHEDULED:
            meetings.append(meeting)
    return meetings


def set_reachable(session: Session, *, user_id: int, reachable: bool, blocked: bool) -> None:
    """Record whether the bot can message this person (they blocked it, or came back)."""
    user = session.get(User, user_id)
    if user is None:
        return
    user.reachable = reachable
    user.blocked = blocked
    session.add(user)


def set_timezone(session: Session, *, user_id: int, query: str) -> str:
    """Set a person's zone from an IANA name or a city; returns the zone."""
    try:
        zone = timeparse.find_zone(query)
    except timeparse.TimeParseError:
        suggestions = timeparse.suggest_zones(query)
        hint = ", ".join(suggestions) if suggestions else "Europe/Berlin, America/New_York"
        raise InvalidInput(
            _("I don't know the time zone “{query}”. Try one of: {suggestions}.").format(
                query=query[:64], suggestions=hint
            )
        ) from None
    user = require_user(session, user_id)
    user.timezone = zone
    session.add(user)
    return zone


def set_email(session: Session, *, user_id: int, text: str) -> str | None:
    """Set (or with 'off', remove) the e-mail that goes into a person's tokens."""
    user = require_user(session, user_id)
    value = text.strip()
    if value.lower() in {"off", "none", "-", "remove", "delete"}:
        user.email = None
    elif _EMAIL.match(value) and len(value) <= 254:
        user.email = value
    else:
        raise InvalidInput(
            _("That is not an e-mail address. Send /email name@example.com, or /email off.")
        )
    session.add(user)
    return user.email


def set_user_language(session: Session, *, user_id: int, language: str) -> None:
    """Store a person's language choice."""
    user = require_user(session, user_id)
    user.language = language
    session.add(user)


def people_met(session: Session, *, user_id: int, limit: int = 200) -> list[User]:
    """Everyone who shares a meeting with this person (an invite list to pick from), by name."""
    mine = select(Participant.meeting_id).where(Participant.user_id == user_id)
    # DISTINCT over ids, not whole rows: PostgreSQL can't compare the JSON columns of a user.
    met = (
        select(Participant.user_id)
        .where(col(Participant.meeting_id).in_(mine), col(Participant.user_id) != user_id)
        .distinct()
    )
    rows = session.exec(select(User).where(col(User.id).in_(met))).all()
    return sorted(rows, key=lambda user: display(user).lower())[:limit]
