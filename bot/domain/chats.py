"""Group chats: their language, and following a group that became a supergroup."""

from __future__ import annotations

from sqlmodel import Session, select

from storage.models import ChatSettings, Meeting


def set_chat_language(session: Session, *, chat_id: int, title: str | None, language: str) -> None:
    """Store the language a group's messages use."""
    settings = session.get(ChatSettings, chat_id) or ChatSettings(chat_id=chat_id)
    settings.title = title
    settings.language = language
    session.add(settings)


def move_chat(session: Session, *, old_chat_id: int, new_chat_id: int) -> int:
    """A group was upgraded to a supergroup: point its meetings and settings at the new id."""
    moved = session.exec(select(Meeting).where(Meeting.chat_id == old_chat_id)).all()
    for meeting in moved:
        # Messages stay behind in the old chat; the next group note is posted fresh.
        meeting.chat_id = new_chat_id
        session.add(meeting)
    settings = session.get(ChatSettings, old_chat_id)
    if settings is not None and session.get(ChatSettings, new_chat_id) is None:
        session.add(
            ChatSettings(chat_id=new_chat_id, title=settings.title, language=settings.language)
        )
    return len(moved)


def chat_language(session: Session, *, chat_id: int) -> str | None:
    """The language a group chose, if any."""
    settings = session.get(ChatSettings, chat_id)
    return settings.language if settings else None
