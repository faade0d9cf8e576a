"""Who may change a meeting: its owners, the bot's admins, the group's admins; nobody else."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from bot.domain import access, participation, scheduling
from bot.domain.scheduling import Draft
from bot.domain.values import Actor
from bot.errors import NotAllowed
from storage.models import MeetingStatus
from tests.domain.helpers import GROUP, GROUP_ADMIN, MEMBER, NOW, OWNER, STRANGER, make_meeting


def test_who_may_manage(session: Session) -> None:
    meeting = make_meeting(session)
    assert access.may_manage(session, meeting, Actor(OWNER))
    assert access.may_manage(session, meeting, Actor(900, is_bot_admin=True))
    assert access.may_manage(session, meeting, Actor(GROUP_ADMIN, admin_of_chat=GROUP))
    assert not access.may_manage(session, meeting, Actor(GROUP_ADMIN, admin_of_chat=-5))
    assert not access.may_manage(session, meeting, Actor(MEMBER))
    assert not access.may_manage(session, meeting, Actor(STRANGER))
    private = make_meeting(session, chat_id=None)
    assert not access.may_manage(session, private, Actor(GROUP_ADMIN, admin_of_chat=GROUP))


def test_members_cannot_invite_cancel_or_reschedule(session: Session) -> None:
    meeting = make_meeting(session)
    with pytest.raises(NotAllowed):
        participation.invite(
            session,
            meeting=meeting,
            actor=Actor(MEMBER),
            user_ids=[STRANGER],
            usernames=[],
            now=NOW,
        )
    with pytest.raises(NotAllowed):
        scheduling.cancel_meeting(session, meeting=meeting, actor=Actor(MEMBER), now=NOW)
    draft = Draft("Sync", NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1), "UTC")
    with pytest.raises(NotAllowed):
        scheduling.reschedule(
            session, meeting=meeting, actor=Actor(STRANGER), draft=draft, now=NOW
        )
    assert meeting.status is MeetingStatus.SCHEDULED
