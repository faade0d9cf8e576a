"""Who may see or change a meeting."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.domain.lookup import find_meeting, find_participant, meeting_id
from bot.domain.values import Actor, Rules
from bot.errors import InvalidInput, NotAllowed
from bot.i18n import _
from bot.jitsi import Role
from storage.models import Meeting, MeetingStatus, User


def participant_role(session: Session, meeting: Meeting, user_id: int) -> Role | None:
    """The person's role in the meeting, or None."""
    row = find_participant(session, meeting_id(meeting), user_id)
    return Role(row.role) if row else None


def may_manage(session: Session, meeting: Meeting, actor: Actor) -> bool:
    """Owners, bot admins and (for a group's meetings) that group's administrators."""
    if actor.is_bot_admin or is_bot_admin(session, actor.user_id):
        return True
    if meeting.chat_id is not None and actor.admin_of_chat == meeting.chat_id:
        return True
    return participant_role(session, meeting, actor.user_id) is Role.OWNER


def require_manager(session: Session, meeting: Meeting, actor: Actor) -> None:
    """NotAllowed unless the actor may change this meeting."""
    if not may_manage(session, meeting, actor):
        raise NotAllowed(
            _(
                "Only the meeting's owners, the bot's admins and (for a group's meetings) "
                "the group's administrators can do that for {code}."
            ).format(code=meeting.code)
        )


def meeting_to_change(session: Session, *, code: str, actor: Actor, now: datetime) -> Meeting:
    """The meeting with this code, if the actor may change it and it is still on."""
    meeting = find_meeting(session, code)
    require_manager(session, meeting, actor)
    require_active(meeting, now)
    return meeting


def require_active(meeting: Meeting, now: datetime) -> None:
    """InvalidInput when the meeting is cancelled or over."""
    if meeting.status is MeetingStatus.CANCELLED:
        raise InvalidInput(_("Meeting {code} was cancelled.").format(code=meeting.code))
    if meeting.rrule is None and meeting.ends_at <= now:
        raise InvalidInput(_("Meeting {code} is already over.").format(code=meeting.code))


def is_bot_admin(session: Session, user_id: int, rules: Rules | None = None) -> bool:
    """Admins from the settings, or added with /admin add."""
    if rules is not None and user_id in rules.admin_ids:
        return True
    user = session.get(User, user_id)
    return bool(user and user.is_admin)
