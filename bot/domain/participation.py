"""Who is in a meeting: inviting, joining, leaving, listing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from bot.delivery.planning import cancel_pending, plan_deliveries
from bot.domain import rsvp
from bot.domain.access import require_active, require_manager
from bot.domain.audit import record_change
from bot.domain.links import withdraw_click_link
from bot.domain.lookup import USERNAME, find_participant, find_user_by_username, meeting_id
from bot.domain.notices import NoticeKind, queue_notices
from bot.domain.people import display
from bot.domain.sittings import occurrence_after
from bot.domain.values import Actor, Occurrence
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.i18n import _
from bot.jitsi import Role
from storage.models import Meeting, MeetingStatus, Participant, User


@dataclass
class InviteResult:
    """What an invite did, person by person."""

    added: list[User] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)

    @property
    def unreachable(self) -> list[str]:
        """Names of invited people the bot cannot message yet."""
        names = [display(user) for user in self.added if not user.reachable]
        return names + [f"@{name}" for name in self.pending]


def invite(
    session: Session,
    *,
    meeting: Meeting,
    actor: Actor,
    user_ids: Iterable[int],
    usernames: Iterable[str],
    now: datetime,
) -> InviteResult:
    """Add known people at once and keep unknown @usernames pending."""
    require_manager(session, meeting, actor)
    require_active(meeting, now)
    result = InviteResult()
    for user_id in dict.fromkeys(user_ids):
        user = session.get(User, user_id)
        if user is None:
            continue
        if find_participant(session, meeting_id(meeting), user_id) is not None:
            result.already.append(display(user))
            continue
        add_participant(session, meeting, user_id, Role.MEMBER, actor.user_id, now)
        result.added.append(user)
    for raw_name in dict.fromkeys(name.lstrip("@").lower() for name in usernames):
        if not USERNAME.match(raw_name):
            continue
        user = find_user_by_username(session, raw_name)
        if user is not None:
            if find_participant(session, meeting_id(meeting), user.id) is not None:
                result.already.append(display(user))
                continue
            add_participant(session, meeting, user.id, Role.MEMBER, actor.user_id, now)
            result.added.append(user)
            continue
        exists = session.exec(
            select(Participant).where(
                Participant.meeting_id == meeting.id, Participant.pending_username == raw_name
            )
        ).first()
        if exists is None:
            session.add(
                Participant(
                    meeting_id=meeting_id(meeting),
                    pending_username=raw_name,
                    role=Role.MEMBER,
                    invited_by=actor.user_id,
                    joined_at=now,
                )
            )
        result.pending.append(raw_name)
    session.flush()
    queue_notices(
        session,
        meeting=meeting,
        kind=NoticeKind.INVITED,
        now=now,
        user_ids=[user.id for user in result.added],
    )
    return result


def add_participant(
    session: Session,
    meeting: Meeting,
    user_id: int,
    role: Role,
    invited_by: int | None,
    now: datetime,
    answer: rsvp.Answer | None = None,
) -> Participant:
    row = Participant(
        meeting_id=meeting_id(meeting),
        user_id=user_id,
        role=role,
        invited_by=invited_by,
        joined_at=now,
        rsvp=answer.value if answer is not None else None,
    )
    session.add(row)
    session.flush()
    record_change(session, meeting, invited_by or user_id, "join", user_id, role.value, now)
    # A full meeting puts a newcomer on its waitlist: no link until a seat is free.
    rsvp.take_seat(session, meeting, row, now)
    rsvp.owe_announcement_edit(session, meeting)
    plan_deliveries(session, meeting=meeting, now=now, user_ids=[user_id])
    return row


def join(
    session: Session,
    *,
    meeting: Meeting,
    user_id: int,
    now: datetime,
    answer: rsvp.Answer = rsvp.Answer.GOING,
) -> bool:
    """Join a meeting as a member (joining says Going); False when already in it."""
    require_active(meeting, now)
    if find_participant(session, meeting_id(meeting), user_id) is not None:
        return False
    add_participant(session, meeting, user_id, Role.MEMBER, None, now, answer)
    return True


def leave(session: Session, *, meeting: Meeting, user_id: int, now: datetime) -> None:
    """Leave a meeting; the last owner must hand over first."""
    row = find_participant(session, meeting_id(meeting), user_id)
    if row is None:
        raise NotFound(_("You are not in meeting {code}.").format(code=meeting.code))
    if row.role == Role.OWNER and owner_count(session, meeting) <= 1:
        raise InvalidInput(
            _(
                "You are the only owner of {code}. Cancel it, or make someone else owner first."
            ).format(code=meeting.code)
        )
    session.delete(row)
    cancel_pending(session, meeting, user_ids=[user_id], now=now)
    withdraw_click_link(session, meeting=meeting, user_id=user_id)
    record_change(session, meeting, user_id, "leave", user_id, "", now)
    # The seat it frees goes to the first on the waitlist.
    rsvp.seat_freed(session, meeting, now)


def owner_count(session: Session, meeting: Meeting) -> int:
    return session.exec(
        select(func.count())
        .select_from(Participant)
        .where(
            Participant.meeting_id == meeting.id,
            Participant.role == Role.OWNER,
            col(Participant.user_id).is_not(None),
        )
    ).one()


def upcoming_for(
    session: Session, *, user_id: int, now: datetime
) -> list[tuple[Meeting, Role, Occurrence]]:
    """A person's meetings that are not over, soonest first, with their role."""
    rows = session.exec(
        select(Meeting, Participant.role)
        .join(Participant, col(Participant.meeting_id) == col(Meeting.id))
        .where(
            Participant.user_id == user_id,
            Meeting.status == MeetingStatus.SCHEDULED,
            or_(col(Meeting.ends_at) > now, col(Meeting.rrule).is_not(None)),
        )
    ).all()
    result = []
    for meeting, role in rows:
        occurrence = occurrence_after(session, meeting, now)
        if occurrence is not None:
            result.append((meeting, Role(role), occurrence))
    result.sort(key=lambda item: item[2].start)
    return result


def invite_candidates(
    session: Session, *, user_id: int, chat_id: int, private: bool, now: datetime
) -> list[Meeting]:
    """Meetings an /invite without a code may mean: the inviter's upcoming ones in this chat,
    or, in the private chat with the bot, any they own."""
    owned = [
        meeting
        for meeting, role, _occurrence in upcoming_for(session, user_id=user_id, now=now)
        if role is Role.OWNER
    ]
    here = [meeting for meeting in owned if meeting.chat_id == chat_id]
    return owned if private and not here else here


def answer(
    session: Session,
    *,
    meeting: Meeting,
    user_id: int,
    answer: rsvp.Answer,
    now: datetime,
    may_join: bool,
) -> rsvp.Outcome:
    """Going, Maybe or Can't from a participant; from anyone else (`may_join`: the group's
    own message) the answer makes them one, Can't included, so it is counted."""
    require_active(meeting, now)
    row = find_participant(session, meeting_id(meeting), user_id)
    if row is None:
        if not may_join:
            raise NotAllowed(
                _("You are not in meeting {code}. Ask an owner to /invite you.").format(
                    code=meeting.code
                )
            )
        row = add_participant(session, meeting, user_id, Role.MEMBER, None, now, answer)
        record_change(session, meeting, user_id, "rsvp", user_id, answer.value, now)
        place = rsvp.waitlist_place(session, meeting, row)
        return rsvp.Outcome(answer, joined=True, waitlist_place=place)
    return rsvp.respond(session, meeting=meeting, row=row, answer=answer, now=now)
