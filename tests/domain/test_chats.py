"""Group chats: meetings, language and admins follow a group that became a supergroup."""

from __future__ import annotations

from sqlmodel import Session

from bot.domain import access, chats
from bot.domain.values import Actor
from tests.domain.helpers import GROUP, GROUP_ADMIN, make_meeting


def test_meetings_follow_a_group_upgraded_to_a_supergroup(session: Session) -> None:
    meeting = make_meeting(session)
    chats.set_chat_language(session, chat_id=GROUP, title="Team", language="de")
    assert chats.move_chat(session, old_chat_id=GROUP, new_chat_id=-1009999) == 1
    assert meeting.chat_id == -1009999
    assert chats.chat_language(session, chat_id=-1009999) == "de"
    assert access.may_manage(session, meeting, Actor(GROUP_ADMIN, admin_of_chat=-1009999))
