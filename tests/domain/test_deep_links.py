"""Deep links: random, reused for the same meeting and purpose, and a guess finds nothing."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from bot.domain import deep_links
from bot.errors import NotFound
from tests.domain.helpers import NOW, make_meeting


def test_deep_links_are_random_and_reused(session: Session) -> None:
    meeting = make_meeting(session)
    token = deep_links.deep_link(session, meeting=meeting, kind="join", now=NOW)
    assert token == deep_links.deep_link(session, meeting=meeting, kind="join", now=NOW)
    assert len(token) >= 16 and token != str(meeting.id) and meeting.code not in token
    assert deep_links.resolve_deep_link(session, token) == ("join", meeting)
    with pytest.raises(NotFound):
        deep_links.resolve_deep_link(session, "guess")
