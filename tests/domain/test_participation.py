"""Who is in a meeting: invites that wait for a username, and a late join that is due at once."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from bot.domain import access, participation, people
from bot.domain.values import Actor
from bot.jitsi import Role
from storage.models import Delivery
from tests.domain.helpers import NOW, OWNER, STRANGER, make_meeting


def test_unknown_username_waits_until_that_person_starts(session: Session) -> None:
    meeting = make_meeting(session)
    result = participation.invite(
        session, meeting=meeting, actor=Actor(OWNER), user_ids=[], usernames=["newbie"], now=NOW
    )
    assert result.pending == ["newbie"] and result.unreachable == ["@newbie"]
    newbie = people.remember_user(
        session, user_id=77, username="Newbie", display_name="N", telegram_language=None,
        started=True,
    )  # fmt: skip
    assert [m.id for m in people.claim_pending_invites(session, user=newbie, now=NOW)] == [
        meeting.id
    ]
    assert access.participant_role(session, meeting, 77) is Role.MEMBER


def test_late_invite_is_due_now(session: Session) -> None:
    meeting = make_meeting(session, hours=0.1)  # starts in 6 minutes: reminder time has passed
    later = NOW + timedelta(minutes=5)
    participation.join(session, meeting=meeting, user_id=STRANGER, now=later)
    row = session.exec(select(Delivery).where(Delivery.user_id == STRANGER)).one()
    assert row.due_at == later
