"""A person's settings: a zone found by city, an e-mail address checked or turned off."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from bot.domain import people
from bot.errors import InvalidInput
from storage.models import User
from tests.domain.helpers import MEMBER


def test_settings_of_a_person(session: Session) -> None:
    assert people.set_timezone(session, user_id=MEMBER, query="berlin") == "Europe/Berlin"
    with pytest.raises(InvalidInput, match="Try one of"):
        people.set_timezone(session, user_id=MEMBER, query="Atlantis")
    assert people.set_email(session, user_id=MEMBER, text="max@example.com") == "max@example.com"
    with pytest.raises(InvalidInput):
        people.set_email(session, user_id=MEMBER, text="max@")
    assert people.set_email(session, user_id=MEMBER, text="off") is None
    user = session.get(User, MEMBER)
    assert user is not None and user.timezone == "Europe/Berlin" and user.email is None
