"""Finding meetings, people and participants by what users type or by id."""

from __future__ import annotations

import re

from sqlmodel import Session, col, select

from bot.errors import NotFound
from bot.i18n import _
from storage.models import Meeting, Participant, User

USERNAME = re.compile(r"^@?([A-Za-z][A-Za-z0-9_]{2,31})$")


def normalize_code(text: str) -> str:
    """Meeting codes are typed in any case; they are stored upper-case."""
    return text.strip().upper()


def require_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("Send /start first, then try again."))
    return user


def find_user_by_username(session: Session, username: str) -> User | None:
    """A known user by @username (case-insensitive); None for anything no username can be."""
    if not USERNAME.match(username):
        return None
    name = username.lstrip("@").lower()
    return session.exec(select(User).where(User.username == name)).first()


def meeting_id(meeting: Meeting) -> int:
    assert meeting.id is not None
    return meeting.id


def find_meeting(session: Session, code: str) -> Meeting:
    """A meeting by its code, or NotFound."""
    meeting = session.exec(select(Meeting).where(Meeting.code == normalize_code(code))).first()
    if meeting is None:
        raise NotFound(
            _("There is no meeting with the code {code}. /meetings lists yours.").format(
                code=normalize_code(code)[:16]
            )
        )
    return meeting


def find_participant(session: Session, meeting_id: int, user_id: int) -> Participant | None:
    return session.exec(
        select(Participant).where(
            Participant.meeting_id == meeting_id, Participant.user_id == user_id
        )
    ).first()


def participants(session: Session, meeting: Meeting) -> list[tuple[Participant, User | None]]:
    """Everyone in a meeting, owners first, with their user record (None while pending)."""
    rows = session.exec(
        select(Participant, User)
        .join(User, col(User.id) == col(Participant.user_id), isouter=True)
        .where(Participant.meeting_id == meeting.id)
        .order_by(col(Participant.role).desc(), col(Participant.id))
    ).all()
    # "owner" sorts after "member" in text order; desc puts owners first.
    return [(participant, user) for participant, user in rows]


def require_known(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("I don't know that person yet: they need to write to me once."))
    return user
