"""Personal links: none before the join window opens, and none for someone not in the meeting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from bot.domain import links
from bot.errors import NotAllowed
from tests.domain.helpers import MEMBER, NOW, RULES, STRANGER, make_meeting


def test_link_window(session: Session) -> None:
    from bot.config import token_signer
    from tests.helpers import make_settings

    signer = token_signer(make_settings())
    meeting = make_meeting(session)
    early = links.request_link(
        session, signer=signer, meeting=meeting, user_id=MEMBER, rules=RULES, now=NOW
    )
    assert early.link is None and early.opens == meeting.starts_at - timedelta(minutes=15)
    ready = links.request_link(
        session, signer=signer, meeting=meeting, user_id=MEMBER, rules=RULES, now=early.opens
    )
    assert ready.link is not None and "?jwt=" in ready.link
    with pytest.raises(NotAllowed):
        links.request_link(
            session, signer=signer, meeting=meeting, user_id=STRANGER, rules=RULES, now=early.opens
        )
