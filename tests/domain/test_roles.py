"""Roles and features: the last owner stays, feature changes are read strictly."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from bot.domain import access, participation, roles
from bot.domain.values import Actor
from bot.errors import InvalidInput
from bot.jitsi import Role
from tests.domain.helpers import MEMBER, NOW, OWNER, make_meeting


def test_last_owner_cannot_leave_or_be_demoted(session: Session) -> None:
    meeting = make_meeting(session)
    with pytest.raises(InvalidInput, match="only owner"):
        participation.leave(session, meeting=meeting, user_id=OWNER, now=NOW)
    with pytest.raises(InvalidInput, match="Promote someone else"):
        roles.set_role(
            session, meeting=meeting, actor=Actor(OWNER), target_user_id=OWNER,
            role=Role.MEMBER, now=NOW,
        )  # fmt: skip
    roles.set_role(
        session, meeting=meeting, actor=Actor(OWNER), target_user_id=MEMBER,
        role=Role.OWNER, now=NOW,
    )  # fmt: skip
    participation.leave(session, meeting=meeting, user_id=OWNER, now=NOW)
    assert access.participant_role(session, meeting, OWNER) is None


def test_feature_changes() -> None:
    assert roles.parse_feature_changes(["recording=on", "Screen_Sharing=off"]) == {
        "recording": True,
        "screen-sharing": False,
    }
    with pytest.raises(InvalidInput, match="livestreaming"):
        roles.parse_feature_changes(["teleport=on"])
    with pytest.raises(InvalidInput):
        roles.parse_feature_changes(["recording=maybe"])
    with pytest.raises(InvalidInput):
        roles.parse_feature_changes([])
