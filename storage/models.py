"""The tables. Every datetime is UTC-aware (see storage.types.UTCDateTime)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def utc_now() -> datetime:
    """Default for created-at columns (domain code passes its own clock instead)."""
    return datetime.now(UTC)


def _utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class MeetingStatus(StrEnum):
    """Whether a meeting is still on."""

    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class DeliveryStatus(StrEnum):
    """Where one personal link is on its way to one person."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    UNREACHABLE = "unreachable"
    FAILED = "failed"
    CANCELLED = "cancelled"


class User(SQLModel, table=True):
    """Someone the bot has seen in Telegram."""

    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    username: str | None = Field(default=None, index=True)
    display_name: str
    language: str | None = None
    telegram_language: str | None = None
    timezone: str | None = None
    email: str | None = None
    reachable: bool = False
    blocked: bool = False
    is_admin: bool = False
    # Minutes before a sitting for early reminders of meetings without their own (None: none).
    reminder_minutes: list[int] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False)
    )


class ChatSettings(SQLModel, table=True):
    """Per-group preferences (the language group messages use)."""

    __tablename__ = "chat_settings"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    title: str | None = None
    language: str | None = None


class Meeting(SQLModel, table=True):
    """A scheduled meeting (or a series of them, when `rrule` is set)."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True)
    title: str
    room: str
    starts_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    ends_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    zone: str
    rrule: str | None = None
    # When a cancelled series was ended: sittings before it took place and stay in calendars.
    series_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, index=True))
    announcement_message_id: int | None = None
    # No longer written: the group note's message is in LinkSummary. Kept because dropping a
    # column rebuilds the table on SQLite, which foreign keys forbid once meetings exist.
    link_message_id: int | None = None
    # The sitting whose links started going out (a link planned later is a late one).
    summary_occurrence: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    ics_sequence: int = 0
    organizer_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: MeetingStatus = Field(default=MeetingStatus.SCHEDULED, index=True)
    remind_before_minutes: int
    # Minutes before each sitting for early reminders: None, each person's own default;
    # [], none for anyone.
    reminder_minutes: list[int] | None = Field(default=None, sa_column=Column(JSON))
    feature_defaults: dict[str, bool] = Field(default_factory=dict, sa_column=Column(JSON))
    # Jitsi's lobby in this meeting's room (told to Jitsi by the reservation API; /lobby).
    lobby: bool = False
    # At most this many members (owners aside) get a seat; the others wait in line. None: no limit.
    capacity: int | None = None
    version: int = 1
    created_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False)
    )


class OccurrenceChange(SQLModel, table=True):
    """One occurrence of a series that was skipped (new_start None) or moved."""

    __tablename__ = "occurrence_change"
    __table_args__ = (UniqueConstraint("meeting_id", "original_start"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    original_start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    new_start: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class Participant(SQLModel, table=True):
    """A person in a meeting, or an @username waiting to start the bot."""

    __table_args__ = (
        UniqueConstraint("meeting_id", "user_id"),
        UniqueConstraint("meeting_id", "pending_username"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    user_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, index=True, nullable=True)
    )
    pending_username: str | None = Field(default=None, index=True)
    role: str = "member"
    features: dict[str, bool] = Field(default_factory=dict, sa_column=Column(JSON))
    invited_by: int | None = Field(default=None, sa_column=Column(BigInteger))
    # This person said no early reminders for this meeting (the link still comes).
    reminders_off: bool = False
    # Going, Maybe or Can't (bot.domain.rsvp.Answer values); None: not answered yet.
    rsvp: str | None = None
    # On the waitlist when set: the place in line (lower first); None holds a seat.
    waitlist_ticket: int | None = None
    joined_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False)
    )


class Delivery(SQLModel, table=True):
    """One personal link for one person and one occurrence: the durable to-do of the sender."""

    __table_args__ = (UniqueConstraint("meeting_id", "user_id", "occurrence_start"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    occurrence_start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    status: DeliveryStatus = Field(default=DeliveryStatus.PENDING, index=True)
    reason: str = "reminder"
    attempts: int = 0
    message_id: int | None = None
    error: str | None = None
    updated_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False)
    )


class Notice(SQLModel, table=True):
    """A message about a change (invited, moved, cancelled...) owed to one person.

    Written in the same transaction as the change, so a crash cannot keep the change and lose
    the news of it; the delivery sweep sends it.
    """

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str
    # The one sitting a skip or move was about (its start before the change), and its new start.
    occurrence_start: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    new_start: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # A DeliveryStatus value, stored as text (a second enum type of the same name would
    # collide on PostgreSQL).
    status: str = Field(default=DeliveryStatus.PENDING.value, index=True)
    attempts: int = 0
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    error: str | None = None
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class LinkSummaryKind(StrEnum):
    """Who a sitting's link summary is for."""

    ORGANIZER = "organizer"  # "8 of 10 have their links; these can't be reached ..."
    GROUP = "group"  # the group's note with the "Get my link" button, edited as links go out


class LinkSummary(SQLModel, table=True):
    """The organizer's summary or the group's note about one sitting's links.

    Planned with the sitting's first claimed link and sent once none is in flight; claimed,
    retried and recovered like a Delivery, so the rescue path of people who never started the
    bot is as durable as the links. The group note is posted once, then edited in place.
    """

    __tablename__ = "link_summary"
    __table_args__ = (UniqueConstraint("meeting_id", "occurrence_start", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    occurrence_start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # A LinkSummaryKind and a DeliveryStatus value, stored as text like Notice.status.
    kind: str
    status: str = Field(default=DeliveryStatus.PENDING.value, index=True)
    attempts: int = 0
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    # Where the message went and, for the group note, which message to edit.
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    message_id: int | None = None
    # A fingerprint of the text and buttons last shown: an edit that changes nothing is skipped.
    shown: str | None = None
    # Bumped whenever the note should be brought up to date, also while it is being sent.
    revision: int = 0
    error: str | None = None
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Reminder(SQLModel, table=True):
    """One early reminder (never a link) owed to one person before one sitting.

    Planned for each sitting ahead by `bot.domain.reminders`, claimed, retried and recovered by
    the delivery sweep like a Delivery; one row per moment, so none goes out twice.
    """

    __table_args__ = (
        UniqueConstraint("meeting_id", "user_id", "occurrence_start", "minutes_before"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    occurrence_start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    minutes_before: int
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    # A DeliveryStatus value, stored as text like Notice.status.
    status: str = Field(default=DeliveryStatus.PENDING.value, index=True)
    attempts: int = 0
    message_id: int | None = None
    error: str | None = None
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Announcement(SQLModel, table=True):
    """A meeting's message in its group, showing the RSVP counts.

    A change to what it shows bumps `revision` and sets `owed`; the edit job
    (bot.handlers.rsvp) brings the message up to date at most once every few seconds, so
    many answers make one edit, and skips an edit that would show what `shown` says is shown.
    """

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True, unique=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    message_id: int
    # Who planned it, as the first line names them (kept so every edit shows the same).
    organizer_name: str
    revision: int = 0
    owed: bool = Field(default=False, index=True)
    # A fingerprint of the text and buttons last shown: an edit that changes nothing is skipped.
    shown: str | None = None


class RoomSitting(SQLModel, table=True):
    """One sitting's room as Jitsi opened it (bot.domain.rooms): the reservation the bot granted
    (its id is the conflict_id Jitsi asks about again) and what the bot owes about it."""

    __tablename__ = "room_sitting"
    __table_args__ = (UniqueConstraint("meeting_id", "occurrence_start"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    occurrence_start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # The room's name as Jitsi sent it, and the creator and start_time it sent (returned as
    # they came: Prosody parses start_time back and adds the duration to it).
    room: str
    mail_owner: str = ""
    start_time: str = ""
    # True from a granted POST until Jitsi's DELETE (the room was destroyed).
    reserved: bool = False
    reserved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    released_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # When an owner was first in the room (None: no owner yet).
    owner_arrived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # The "people are waiting" message and the attendance report are planned once per sitting.
    rescue_planned: bool = False
    report_planned: bool = False


class RoomPresence(SQLModel, table=True):
    """One connection of one person to a sitting's room, from Jitsi's event-sync posts."""

    __tablename__ = "room_presence"
    __table_args__ = (UniqueConstraint("room_sitting_id", "occupant_jid", "joined_at"),)

    id: int | None = Field(default=None, primary_key=True)
    room_sitting_id: int = Field(foreign_key="room_sitting.id", index=True)
    # The XMPP full JID of the connection and when it joined: a retried post finds its row
    # again by them (a move into a breakout room and back is a new row).
    occupant_jid: str
    # The token's context.user.id ("tg-<Telegram id>" for the bot's people; "" without one).
    person_id: str = ""
    # The bot's person that id names (None: a token the bot did not write).
    user_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    owner: bool = False
    joined_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    left_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class DeepLink(SQLModel, table=True):
    """A short random t.me start payload mapped to what it does."""

    __tablename__ = "deep_link"

    token: str = Field(primary_key=True)
    kind: str
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    created_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False)
    )


class LinkHandle(SQLModel, table=True):
    """One person's click-time link to one meeting (PUBLIC_URL/j/<handle>).

    The handle is never stored: it is derived from the server's key and `nonce` when a
    message needs it, and found by its SHA-256 when opened. A new nonce revokes it.
    """

    __tablename__ = "link_handle"
    __table_args__ = (UniqueConstraint("meeting_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    # The participant row it was made for: a person removed and invited again gets a new one.
    participant_id: int | None = None
    nonce: str
    handle_hash: str = Field(index=True, unique=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # When it first and last minted a token (shown in /participants).
    first_opened_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_opened_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class PendingAction(SQLModel, table=True):
    """A preview or question waiting for its button (a draft), kept for a day.

    In the database rather than in memory so that a button still works after a restart or
    when another process takes the press; `bot.domain.drafts` reads, takes and purges them.
    """

    __tablename__ = "pending_action"

    # Short and random: it travels in the buttons' callback data (bot.buttons).
    id: str = Field(primary_key=True)
    kind: str
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    # Plain values only (text, numbers, ISO dates in UTC): what the preview showed.
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class AuditEvent(SQLModel, table=True):
    """Who changed what role, time or feature, and when."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id", index=True)
    actor_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    action: str
    target_user_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    detail: str = ""
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # A poll's votes: kept with the poll, and given to the meeting the poll becomes.
    poll_id: int | None = Field(default=None, index=True)


class Heartbeat(SQLModel, table=True):
    """A running bot process: when it started and when it last finished a delivery sweep.

    `python -m bot healthcheck` reads it; a starting process reads it to tell whether links
    left `sending` belong to another process that is still running.
    """

    host: str = Field(primary_key=True)
    pid: int = Field(primary_key=True)
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    swept_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class PollStatus(StrEnum):
    """Where a poll for finding a time is."""

    OPEN = "open"  # taking votes
    CLOSED = "closed"  # its deadline passed: no more votes, still to be scheduled
    DECIDED = "decided"  # a slot was scheduled as a meeting


class Poll(SQLModel, table=True):
    """A group's poll for finding a time: a title, a duration and up to ten slots.

    The group message is edited from the rows (votes bump `revision`; the message shows
    `shown_revision`), so no vote is lost to the edit budget and a restart catches up.
    """

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    message_id: int | None = None
    organizer_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    title: str
    # The writer's zone: the slots were read in it and the group message shows it.
    zone: str
    minutes: int
    closes_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    # Whether the writer gave the deadline (else it is the last slot's start).
    deadline_given: bool = False
    # A PollStatus value, stored as text like Notice.status.
    status: str = Field(default=PollStatus.OPEN.value, index=True)
    # The t.me start payload that shows the slots in a person's own zone.
    start_token: str = Field(index=True, unique=True)
    winner: int | None = None
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id")
    revision: int = 0
    shown_revision: int = 0
    # A fingerprint of the text and buttons last shown: an edit that changes nothing is skipped.
    shown: str | None = None
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class PollSlot(SQLModel, table=True):
    """One time a poll offers (numbered from 1, as the buttons and messages show it)."""

    __tablename__ = "poll_slot"
    __table_args__ = (UniqueConstraint("poll_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    poll_id: int = Field(foreign_key="poll.id", index=True)
    position: int
    starts_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class PollVote(SQLModel, table=True):
    """One person's vote for one slot (a person may vote for several)."""

    __tablename__ = "poll_vote"
    __table_args__ = (UniqueConstraint("poll_id", "position", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    poll_id: int = Field(foreign_key="poll.id", index=True)
    position: int
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    voted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
