"""Drafts: previews and questions waiting for their button, kept in the database for a day.

A /schedule or /reschedule preview, a /skip or /move preview and the meeting an /invite
without a code asks for are saved with a short random id that travels in the buttons' data.
So a button still works after a restart or on another process, a draft is used at most once
(`take` deletes it in the transaction that acts on it), and what nobody answered is purged.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from sqlalchemy import delete
from sqlmodel import Session, col, select

from bot.domain.scheduling import Draft
from bot.errors import NotFound
from bot.i18n import _
from storage.models import PendingAction

LIFETIME = timedelta(hours=24)
# token_urlsafe(6): 8 characters, 48 random bits; short enough for any button's 64 bytes.
ID_BYTES = 6


class DraftKind(StrEnum):
    """What a draft waits for."""

    MEETING = "meeting"
    SITTING_CHANGE = "sitting_change"
    INVITE = "invite"


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _read_when(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True)
class MeetingPreview:
    """A /schedule preview, or a /reschedule one when `reschedule_code` names the meeting.

    A poll's slot carries the poll and slot: Confirm then invites the slot's voters.
    """

    KIND: ClassVar[DraftKind] = DraftKind.MEETING
    draft: Draft
    reschedule_code: str | None = None
    poll_id: int | None = None
    poll_slot: int | None = None

    def to_payload(self) -> dict[str, Any]:
        """Plain values for the payload column."""
        draft = self.draft
        return {
            "title": draft.title,
            "starts_at": _when(draft.starts_at),
            "ends_at": _when(draft.ends_at),
            "zone": draft.zone,
            "rrule": draft.rrule,
            "reminder_minutes": None
            if draft.reminder_minutes is None
            else list(draft.reminder_minutes),
            "capacity": draft.capacity,
            "reschedule_code": self.reschedule_code,
            "poll_id": self.poll_id,
            "poll_slot": self.poll_slot,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Self:
        """The preview the payload column holds."""
        starts_at, ends_at = _read_when(payload["starts_at"]), _read_when(payload["ends_at"])
        assert starts_at is not None and ends_at is not None
        draft = Draft(
            title=payload["title"],
            starts_at=starts_at,
            ends_at=ends_at,
            zone=payload["zone"],
            rrule=payload.get("rrule"),
            reminder_minutes=None
            if payload.get("reminder_minutes") is None
            else tuple(payload["reminder_minutes"]),
            capacity=payload.get("capacity"),
        )
        return cls(
            draft=draft,
            reschedule_code=payload.get("reschedule_code"),
            poll_id=payload.get("poll_id"),
            poll_slot=payload.get("poll_slot"),
        )

    @staticmethod
    def gone() -> str:
        """The refusal for a preview that is not the presser's, used, or never existed."""
        return _("This preview is not yours or has expired. Send /schedule again.")

    @staticmethod
    def expired() -> str:
        """The refusal for a preview older than LIFETIME."""
        return _("This preview has expired. Send the command again.")


@dataclass(frozen=True)
class SittingChange:
    """A /skip (new_start None) or /move preview for one sitting of a series."""

    KIND: ClassVar[DraftKind] = DraftKind.SITTING_CHANGE
    code: str
    original: datetime
    new_start: datetime | None
    zone: str

    def to_payload(self) -> dict[str, Any]:
        """Plain values for the payload column."""
        return {
            "code": self.code,
            "original": _when(self.original),
            "new_start": _when(self.new_start),
            "zone": self.zone,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Self:
        """The preview the payload column holds."""
        original = _read_when(payload["original"])
        assert original is not None
        return cls(
            code=payload["code"],
            original=original,
            new_start=_read_when(payload.get("new_start")),
            zone=payload["zone"],
        )

    @staticmethod
    def gone() -> str:
        """The refusal for a preview that is not the presser's, used, or never existed."""
        return MeetingPreview.gone()

    @staticmethod
    def expired() -> str:
        """The refusal for a preview older than LIFETIME."""
        return MeetingPreview.expired()


@dataclass(frozen=True)
class PendingInvite:
    """The people an /invite without a code named, waiting for its meeting to be picked."""

    KIND: ClassVar[DraftKind] = DraftKind.INVITE
    user_ids: tuple[int, ...]
    usernames: tuple[str, ...]

    def to_payload(self) -> dict[str, Any]:
        """Plain values for the payload column."""
        return {"user_ids": list(self.user_ids), "usernames": list(self.usernames)}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Self:
        """The invite the payload column holds."""
        return cls(
            user_ids=tuple(int(user_id) for user_id in payload.get("user_ids", [])),
            usernames=tuple(str(name) for name in payload.get("usernames", [])),
        )

    @staticmethod
    def gone() -> str:
        """The refusal for a question that is not the presser's, answered, or never asked."""
        return _("This button is not for you.")

    @staticmethod
    def expired() -> str:
        """The refusal for a question older than LIFETIME."""
        return _("This question has expired. Send /invite again.")


class DraftValue(Protocol):
    """What a draft holds: one of the classes above."""

    KIND: ClassVar[DraftKind]

    def to_payload(self) -> dict[str, Any]: ...


V = TypeVar("V", MeetingPreview, SittingChange, PendingInvite)


@dataclass(frozen=True)
class Saved(Generic[V]):
    """A draft read back: what it holds and the chat it was made in."""

    value: V
    chat_id: int


def save(session: Session, *, value: DraftValue, user_id: int, chat_id: int, now: datetime) -> str:
    """Keep a draft for LIFETIME; returns its id for the buttons."""
    draft_id = secrets.token_urlsafe(ID_BYTES)
    session.add(
        PendingAction(
            id=draft_id,
            kind=value.KIND.value,
            user_id=user_id,
            chat_id=chat_id,
            payload=value.to_payload(),
            created_at=now,
            expires_at=now + LIFETIME,
        )
    )
    session.flush()
    return draft_id


def _mine(kind: type[V], draft_id: str | None, user_id: int) -> Any:
    """The condition for the presser's own draft of this kind (nobody else's, never)."""
    return (
        (col(PendingAction.id) == (draft_id or ""))
        & (col(PendingAction.kind) == kind.KIND.value)
        & (col(PendingAction.user_id) == user_id)
    )


def _read(kind: type[V], row: Any, now: datetime) -> Saved[V]:
    if row is None:
        raise NotFound(kind.gone())
    if row.expires_at <= now:
        raise NotFound(kind.expired())
    return Saved(value=kind.from_payload(row.payload), chat_id=row.chat_id)


def peek(
    session: Session, *, kind: type[V], draft_id: str | None, user_id: int, now: datetime
) -> Saved[V]:
    """The presser's own draft, left in place; NotFound when gone, someone else's or expired."""
    row = session.exec(select(PendingAction).where(_mine(kind, draft_id, user_id))).first()
    return _read(kind, row, now)


def take(
    session: Session, *, kind: type[V], draft_id: str | None, user_id: int, now: datetime
) -> Saved[V]:
    """Delete the presser's own draft and return it, in one statement, so that only one of two
    presses (also in two processes) gets it; NotFound like `peek`.

    Call it in the transaction that acts on the draft: a refusal later in that transaction
    rolls the delete back and leaves the draft for another try.
    """
    row = session.execute(
        delete(PendingAction)
        .where(_mine(kind, draft_id, user_id))
        .returning(
            col(PendingAction.payload),
            col(PendingAction.chat_id),
            col(PendingAction.expires_at),
        )
    ).first()
    return _read(kind, row, now)


def discard(session: Session, *, kind: type[V], draft_id: str | None, user_id: int) -> None:
    """Drop the presser's own draft, expired or not; NotFound when there is none."""
    deleted = session.execute(
        delete(PendingAction)
        .where(_mine(kind, draft_id, user_id))
        .returning(col(PendingAction.id))
    ).first()
    if deleted is None:
        raise NotFound(kind.gone())


def purge_expired(session: Session, *, now: datetime) -> int:
    """Delete the drafts nobody answered within LIFETIME; returns how many."""
    purged = session.execute(
        delete(PendingAction)
        .where(col(PendingAction.expires_at) <= now)
        .returning(col(PendingAction.id))
    ).all()
    return len(purged)
