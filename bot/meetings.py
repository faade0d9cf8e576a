"""The meeting domain: who may do what, and what changes when they do.

Plain values and a session in, plain results out; refusals are DomainErrors whose text is
already in the reader's language (the handlers set it). No Telegram here.
"""

from __future__ import annotations

import itertools
import re
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from bot import timeparse
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.i18n import _
from bot.jitsi import FEATURES, Person, Role, TokenSigner, make_room_name, resolve_features
from bot.jitsi import telegram_person_id as jitsi_user_id
from storage.models import (
    AuditEvent,
    ChatSettings,
    DeepLink,
    Delivery,
    DeliveryStatus,
    Meeting,
    MeetingStatus,
    Notice,
    OccurrenceChange,
    Participant,
    User,
)

Clock = Callable[[], datetime]

TITLE_MAX = 200
CODE_LENGTH = 6
# No 0/O, 1/I/L: codes are read aloud and typed from phones.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_USERNAME = re.compile(r"^@?([A-Za-z][A-Za-z0-9_]{2,31})$")
_EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True)
class Rules:
    """The settings the domain needs, as plain values."""

    remind_before: timedelta
    join_early: timedelta
    token_grace: timedelta
    default_zone: str
    admin_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Actor:
    """Who is acting, with the rights the caller has already looked up."""

    user_id: int
    is_bot_admin: bool = False
    # Telegram administrator of this group chat (checked with getChatMember just now).
    admin_of_chat: int | None = None


@dataclass(frozen=True)
class Occurrence:
    """One sitting of a meeting: when it starts and ends."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Draft:
    """A meeting as understood, before the organizer confirms it."""

    title: str
    starts_at: datetime
    ends_at: datetime
    zone: str
    rrule: str | None = None


@dataclass
class InviteResult:
    """What an invite did, person by person."""

    added: list[User] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)

    @property
    def unreachable(self) -> list[str]:
        """Names of invited people the bot cannot message yet."""
        names = [display(user) for user in self.added if not user.reachable]
        return names + [f"@{name}" for name in self.pending]


# --- small helpers -------------------------------------------------------------------------


def display(user: User) -> str:
    """How a person is named to others."""
    return user.display_name or (f"@{user.username}" if user.username else str(user.id))


def new_code(session: Session) -> str:
    """A short, unguessable, unused meeting code."""
    while True:
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if session.exec(select(Meeting.id).where(Meeting.code == code)).first() is None:
            return code


def unused_room_name(session: Session, title: str) -> str:
    """A room name from the title that no other meeting uses."""
    while True:
        room = make_room_name(title)
        if session.exec(select(Meeting.id).where(Meeting.room == room)).first() is None:
            return room


def normalize_code(text: str) -> str:
    """Meeting codes are typed in any case; they are stored upper-case."""
    return text.strip().upper()


def user_zone(user: User | None, rules: Rules) -> str:
    """The zone a person reads times in."""
    return (user.timezone if user else None) or rules.default_zone


# --- people --------------------------------------------------------------------------------


def remember_user(
    session: Session,
    *,
    user_id: int,
    username: str | None,
    display_name: str,
    telegram_language: str | None,
    started: bool = False,
) -> User:
    """Record (or refresh) someone the bot has seen; `started` means we can message them."""
    user = session.get(User, user_id)
    if user is None:
        user = User(id=user_id, display_name=display_name[:128])
    user.display_name = display_name[:128] or user.display_name
    user.username = username.lower() if username else None
    user.telegram_language = telegram_language
    if started:
        user.reachable = True
        user.blocked = False
    session.add(user)
    session.flush()
    return user


def claim_pending_invites(session: Session, *, user: User, now: datetime) -> list[Meeting]:
    """Turn invites by @username into participation, once that person is known."""
    if not user.username:
        return []
    rows = session.exec(
        select(Participant).where(Participant.pending_username == user.username)
    ).all()
    meetings = []
    for pending in rows:
        meeting = session.get(Meeting, pending.meeting_id)
        existing = _participant(session, pending.meeting_id, user.id)
        if existing is not None or meeting is None:
            session.delete(pending)
            continue
        pending.user_id = user.id
        pending.pending_username = None
        session.add(pending)
        session.flush()
        if meeting.status is MeetingStatus.SCHEDULED:
            meetings.append(meeting)
    return meetings


def set_reachable(session: Session, *, user_id: int, reachable: bool, blocked: bool) -> None:
    """Record whether the bot can message this person (they blocked it, or came back)."""
    user = session.get(User, user_id)
    if user is None:
        return
    user.reachable = reachable
    user.blocked = blocked
    session.add(user)


def set_timezone(session: Session, *, user_id: int, query: str) -> str:
    """Set a person's zone from an IANA name or a city; returns the zone."""
    try:
        zone = timeparse.find_zone(query)
    except timeparse.TimeParseError:
        suggestions = timeparse.suggest_zones(query)
        hint = ", ".join(suggestions) if suggestions else "Europe/Berlin, America/New_York"
        raise InvalidInput(
            _("I don't know the time zone “{query}”. Try one of: {suggestions}.").format(
                query=query[:64], suggestions=hint
            )
        ) from None
    user = _require_user(session, user_id)
    user.timezone = zone
    session.add(user)
    return zone


def set_email(session: Session, *, user_id: int, text: str) -> str | None:
    """Set (or with 'off', remove) the e-mail that goes into a person's tokens."""
    user = _require_user(session, user_id)
    value = text.strip()
    if value.lower() in {"off", "none", "-", "remove", "delete"}:
        user.email = None
    elif _EMAIL.match(value) and len(value) <= 254:
        user.email = value
    else:
        raise InvalidInput(
            _("That is not an e-mail address. Send /email name@example.com, or /email off.")
        )
    session.add(user)
    return user.email


def set_user_language(session: Session, *, user_id: int, language: str) -> None:
    """Store a person's language choice."""
    user = _require_user(session, user_id)
    user.language = language
    session.add(user)


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


def _require_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("Send /start first, then try again."))
    return user


def find_user_by_username(session: Session, username: str) -> User | None:
    """A known user by @username (case-insensitive); None for anything no username can be."""
    if not _USERNAME.match(username):
        return None
    name = username.lstrip("@").lower()
    return session.exec(select(User).where(User.username == name)).first()


# --- scheduling ----------------------------------------------------------------------------


def check_title(title: str) -> str:
    """A usable meeting title, or InvalidInput saying what to send."""
    cleaned = " ".join(title.split())
    if not cleaned:
        raise InvalidInput(_("The title is empty. Send a short title, e.g. “Weekly sync”."))
    if len(cleaned) > TITLE_MAX:
        raise InvalidInput(
            _("The title is too long ({length} characters). Keep it under {limit}.").format(
                length=len(cleaned), limit=TITLE_MAX
            )
        )
    return cleaned


def parse_start(
    text: str, *, zone: str, languages: Sequence[str], now: datetime
) -> tuple[datetime, str | None]:
    """The start (UTC) and, for a series, its RRULE, from what the organizer typed."""
    try:
        recurrence = timeparse.parse_recurrence(text, zone=zone, languages=languages, now=now)
        if recurrence is not None:
            return recurrence.first_start, recurrence.rrule
        return timeparse.parse_when(text, zone=zone, languages=languages, now=now), None
    except timeparse.TimeParseError as error:
        raise InvalidInput(_time_error_message(error.reason, text)) from None


def parse_length(text: str) -> timedelta:
    """A meeting duration, or InvalidInput saying what to send."""
    try:
        return timeparse.parse_duration(text)
    except timeparse.TimeParseError as error:
        raise InvalidInput(_time_error_message(error.reason, text)) from None


def _time_error_message(reason: str, text: str) -> str:
    messages = {
        "in_the_past": _(
            "That time is in the past. Send a time in the future, e.g. “tomorrow 15:00”."
        ),
        "too_far": _("That is more than a year ahead. Send a date within the next 12 months."),
        "no_time": _("Please add a time of day, e.g. “{text} 15:00”.").format(text=text[:60]),
        "duration_zero": _("A meeting needs some time. Send a duration such as 45m or 1h30."),
        "duration_too_long": _("A meeting can last at most 24 hours. Send a shorter duration."),
        "bad_duration": _("I can't read that duration. Send e.g. 45m, 90 min, 1h30 or 2h."),
        "bad_recurrence": _(
            "I can't read that repeat rule. Try “every monday 10:00”, “daily 9:00” or "
            "“every 2 weeks on tuesday 18:00 until 2027-06-30”."
        ),
    }
    return messages.get(
        reason,
        _(
            "I can't read “{text}” as a date. Try “tomorrow 15:00”, “next monday 10:00” or "
            "“2026-12-01 10:00”."
        ).format(text=text[:60]),
    )


def make_draft(
    *,
    title: str,
    when: str,
    duration: str | None,
    zone: str,
    languages: Sequence[str],
    now: datetime,
) -> Draft:
    """Read a /schedule request into a Draft, refusing anything unusable."""
    clean_title = check_title(title)
    start, rrule = parse_start(when, zone=zone, languages=languages, now=now)
    length = parse_length(duration) if duration and duration.strip() else timedelta(minutes=60)
    return Draft(
        title=clean_title, starts_at=start, ends_at=start + length, zone=zone, rrule=rrule
    )


def create_meeting(
    session: Session,
    *,
    draft: Draft,
    organizer_id: int,
    chat_id: int | None,
    rules: Rules,
    now: datetime,
) -> Meeting:
    """Save a confirmed meeting with its organizer as owner, and plan the reminders."""
    if draft.starts_at <= now and draft.rrule is None:
        raise InvalidInput(_("That time has passed meanwhile. Send a new time with /schedule."))
    meeting = Meeting(
        code=new_code(session),
        title=draft.title,
        room=unused_room_name(session, draft.title),
        starts_at=draft.starts_at,
        ends_at=draft.ends_at,
        zone=draft.zone,
        rrule=draft.rrule,
        chat_id=chat_id,
        organizer_id=organizer_id,
        remind_before_minutes=int(rules.remind_before.total_seconds() // 60),
        created_at=now,
    )
    session.add(meeting)
    session.flush()
    session.add(
        Participant(meeting_id=_id(meeting), user_id=organizer_id, role=Role.OWNER, joined_at=now)
    )
    _audit(session, meeting, organizer_id, "schedule", None, draft.title, now)
    session.flush()
    plan_deliveries(session, meeting=meeting, now=now)
    return meeting


def _id(meeting: Meeting) -> int:
    assert meeting.id is not None
    return meeting.id


def find_meeting(session: Session, code: str) -> Meeting:
    """A meeting by its code, or NotFound."""
    meeting = session.exec(select(Meeting).where(Meeting.code == normalize_code(code))).first()
    if meeting is None:
        raise NotFound(
            _("There is no meeting with the code {code}. /meetings lists yours.").format(
                code=normalize_code(code)[:16]
            )
        )
    return meeting


def _participant(session: Session, meeting_id: int, user_id: int) -> Participant | None:
    return session.exec(
        select(Participant).where(
            Participant.meeting_id == meeting_id, Participant.user_id == user_id
        )
    ).first()


def participant_role(session: Session, meeting: Meeting, user_id: int) -> Role | None:
    """The person's role in the meeting, or None."""
    row = _participant(session, _id(meeting), user_id)
    return Role(row.role) if row else None


def may_manage(session: Session, meeting: Meeting, actor: Actor) -> bool:
    """Owners, bot admins and (for a group's meetings) that group's administrators."""
    if actor.is_bot_admin or is_bot_admin(session, actor.user_id):
        return True
    if meeting.chat_id is not None and actor.admin_of_chat == meeting.chat_id:
        return True
    return participant_role(session, meeting, actor.user_id) is Role.OWNER


def require_manager(session: Session, meeting: Meeting, actor: Actor) -> None:
    """NotAllowed unless the actor may change this meeting."""
    if not may_manage(session, meeting, actor):
        raise NotAllowed(
            _(
                "Only the meeting's owners, the bot's admins and (for a group's meetings) "
                "the group's administrators can do that for {code}."
            ).format(code=meeting.code)
        )


def meeting_to_change(session: Session, *, code: str, actor: Actor, now: datetime) -> Meeting:
    """The meeting with this code, if the actor may change it and it is still on."""
    meeting = find_meeting(session, code)
    require_manager(session, meeting, actor)
    require_active(meeting, now)
    return meeting


def require_active(meeting: Meeting, now: datetime) -> None:
    """InvalidInput when the meeting is cancelled or over."""
    if meeting.status is MeetingStatus.CANCELLED:
        raise InvalidInput(_("Meeting {code} was cancelled.").format(code=meeting.code))
    if meeting.rrule is None and meeting.ends_at <= now:
        raise InvalidInput(_("Meeting {code} is already over.").format(code=meeting.code))


def is_bot_admin(session: Session, user_id: int, rules: Rules | None = None) -> bool:
    """Admins from the settings, or added with /admin add."""
    if rules is not None and user_id in rules.admin_ids:
        return True
    user = session.get(User, user_id)
    return bool(user and user.is_admin)


# --- occurrences ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Sittings:
    """A meeting's sittings, its skipped and moved ones included, loaded with one query."""

    meeting: Meeting
    changes: list[OccurrenceChange]

    @property
    def moved(self) -> dict[datetime, datetime]:
        """Moved sittings: the rule's original start -> the new start."""
        return {c.original_start: c.new_start for c in self.changes if c.new_start is not None}

    @property
    def skipped(self) -> list[datetime]:
        """The rule's original starts of skipped sittings."""
        return [c.original_start for c in self.changes if c.new_start is None]

    def upcoming(self, now: datetime) -> Iterator[Occurrence]:
        """The sitting running now, then the ones to come (nothing once cancelled or over)."""
        meeting = self.meeting
        length = meeting.ends_at - meeting.starts_at
        if meeting.status is MeetingStatus.CANCELLED:
            return iter(())
        if meeting.rrule is None:
            single = Occurrence(meeting.starts_at, meeting.ends_at)
            return iter([single] if meeting.ends_at > now else [])
        starts = timeparse.SeriesSittings(
            meeting.rrule,
            first_start=meeting.starts_at,
            zone=meeting.zone,
            skipped=self.skipped,
            moved=self.moved,
        ).after(now - length)
        return (Occurrence(start, start + length) for start in starts)

    def next(self, now: datetime) -> Occurrence | None:
        """The sitting that is running now or comes next."""
        return next(self.upcoming(now), None)

    def is_upcoming(self, start: datetime, now: datetime) -> bool:
        """True when a sitting that is running or still to come starts at `start`."""
        for occurrence in self.upcoming(now):
            if occurrence.start >= start:
                return occurrence.start == start
        return False

    def change_at(self, start: datetime) -> OccurrenceChange | None:
        """The change that moved a sitting to `start`, if one did."""
        return next((c for c in self.changes if c.new_start == start), None)


def load_sittings(session: Session, meeting: Meeting) -> Sittings:
    """A meeting's sittings with its changes (no query for a single or cancelled meeting)."""
    if meeting.rrule is None or meeting.status is MeetingStatus.CANCELLED:
        return Sittings(meeting, [])
    changes = session.exec(
        select(OccurrenceChange).where(OccurrenceChange.meeting_id == meeting.id)
    ).all()
    return Sittings(meeting, list(changes))


def occurrence_after(session: Session, meeting: Meeting, now: datetime) -> Occurrence | None:
    """The sitting that is running now or comes next (None once a meeting is over)."""
    return load_sittings(session, meeting).next(now)


def upcoming_occurrences(
    session: Session, meeting: Meeting, now: datetime, limit: int
) -> list[Occurrence]:
    """The next few sittings of a meeting (one for a single meeting)."""
    return list(itertools.islice(load_sittings(session, meeting).upcoming(now), limit))


# --- participation -------------------------------------------------------------------------


def invite(
    session: Session,
    *,
    meeting: Meeting,
    actor: Actor,
    user_ids: Iterable[int],
    usernames: Iterable[str],
    now: datetime,
) -> InviteResult:
    """Add known people at once and keep unknown @usernames pending."""
    require_manager(session, meeting, actor)
    require_active(meeting, now)
    result = InviteResult()
    for user_id in dict.fromkeys(user_ids):
        user = session.get(User, user_id)
        if user is None:
            continue
        if _participant(session, _id(meeting), user_id) is not None:
            result.already.append(display(user))
            continue
        _add_participant(session, meeting, user_id, Role.MEMBER, actor.user_id, now)
        result.added.append(user)
    for raw_name in dict.fromkeys(name.lstrip("@").lower() for name in usernames):
        if not _USERNAME.match(raw_name):
            continue
        user = find_user_by_username(session, raw_name)
        if user is not None:
            if _participant(session, _id(meeting), user.id) is not None:
                result.already.append(display(user))
                continue
            _add_participant(session, meeting, user.id, Role.MEMBER, actor.user_id, now)
            result.added.append(user)
            continue
        exists = session.exec(
            select(Participant).where(
                Participant.meeting_id == meeting.id, Participant.pending_username == raw_name
            )
        ).first()
        if exists is None:
            session.add(
                Participant(
                    meeting_id=_id(meeting),
                    pending_username=raw_name,
                    role=Role.MEMBER,
                    invited_by=actor.user_id,
                    joined_at=now,
                )
            )
        result.pending.append(raw_name)
    session.flush()
    queue_notices(
        session,
        meeting=meeting,
        kind=NoticeKind.INVITED,
        now=now,
        user_ids=[user.id for user in result.added],
    )
    return result


def _add_participant(
    session: Session,
    meeting: Meeting,
    user_id: int,
    role: Role,
    invited_by: int | None,
    now: datetime,
) -> Participant:
    row = Participant(
        meeting_id=_id(meeting), user_id=user_id, role=role, invited_by=invited_by, joined_at=now
    )
    session.add(row)
    session.flush()
    _audit(session, meeting, invited_by or user_id, "join", user_id, role.value, now)
    plan_deliveries(session, meeting=meeting, now=now, user_ids=[user_id])
    return row


def join(session: Session, *, meeting: Meeting, user_id: int, now: datetime) -> bool:
    """Join a meeting as a member; False when already in it."""
    require_active(meeting, now)
    if _participant(session, _id(meeting), user_id) is not None:
        return False
    _add_participant(session, meeting, user_id, Role.MEMBER, None, now)
    return True


def leave(session: Session, *, meeting: Meeting, user_id: int, now: datetime) -> None:
    """Leave a meeting; the last owner must hand over first."""
    row = _participant(session, _id(meeting), user_id)
    if row is None:
        raise NotFound(_("You are not in meeting {code}.").format(code=meeting.code))
    if row.role == Role.OWNER and _owner_count(session, meeting) <= 1:
        raise InvalidInput(
            _(
                "You are the only owner of {code}. Cancel it, or make someone else owner first."
            ).format(code=meeting.code)
        )
    session.delete(row)
    _cancel_pending(session, meeting, user_ids=[user_id], now=now)
    _audit(session, meeting, user_id, "leave", user_id, "", now)


def _owner_count(session: Session, meeting: Meeting) -> int:
    return session.exec(
        select(func.count())
        .select_from(Participant)
        .where(
            Participant.meeting_id == meeting.id,
            Participant.role == Role.OWNER,
            col(Participant.user_id).is_not(None),
        )
    ).one()


def participants(session: Session, meeting: Meeting) -> list[tuple[Participant, User | None]]:
    """Everyone in a meeting, owners first, with their user record (None while pending)."""
    rows = session.exec(
        select(Participant, User)
        .join(User, col(User.id) == col(Participant.user_id), isouter=True)
        .where(Participant.meeting_id == meeting.id)
        .order_by(col(Participant.role).desc(), col(Participant.id))
    ).all()
    # "owner" sorts after "member" in text order; desc puts owners first.
    return [(participant, user) for participant, user in rows]


def upcoming_for(
    session: Session, *, user_id: int, now: datetime
) -> list[tuple[Meeting, Role, Occurrence]]:
    """A person's meetings that are not over, soonest first, with their role."""
    rows = session.exec(
        select(Meeting, Participant.role)
        .join(Participant, col(Participant.meeting_id) == col(Meeting.id))
        .where(
            Participant.user_id == user_id,
            Meeting.status == MeetingStatus.SCHEDULED,
            or_(col(Meeting.ends_at) > now, col(Meeting.rrule).is_not(None)),
        )
    ).all()
    result = []
    for meeting, role in rows:
        occurrence = occurrence_after(session, meeting, now)
        if occurrence is not None:
            result.append((meeting, Role(role), occurrence))
    result.sort(key=lambda item: item[2].start)
    return result


def invite_candidates(
    session: Session, *, user_id: int, chat_id: int, private: bool, now: datetime
) -> list[Meeting]:
    """Meetings an /invite without a code may mean: the inviter's upcoming ones in this chat,
    or, in the private chat with the bot, any they own."""
    owned = [
        meeting
        for meeting, role, _occurrence in upcoming_for(session, user_id=user_id, now=now)
        if role is Role.OWNER
    ]
    here = [meeting for meeting in owned if meeting.chat_id == chat_id]
    return owned if private and not here else here


# --- changing a meeting --------------------------------------------------------------------


def cancel_meeting(session: Session, *, meeting: Meeting, actor: Actor, now: datetime) -> None:
    """Cancel a meeting: every pending link stops."""
    require_manager(session, meeting, actor)
    require_active(meeting, now)
    meeting.status = MeetingStatus.CANCELLED
    if meeting.rrule is not None:
        # Calendars keep the sittings before this moment (bot/calendar.py ends the rule here).
        meeting.series_until = now
    meeting.version += 1
    meeting.ics_sequence += 1
    session.add(meeting)
    _cancel_pending(session, meeting, now=now)
    _audit(session, meeting, actor.user_id, "cancel", None, "", now)
    queue_notices(
        session, meeting=meeting, kind=NoticeKind.CANCELLED, now=now, skip_user_id=actor.user_id
    )


def reschedule(
    session: Session, *, meeting: Meeting, actor: Actor, draft: Draft, now: datetime
) -> None:
    """Move a meeting (roles and invites stay); old reminders go, new ones are planned."""
    require_manager(session, meeting, actor)
    require_active(meeting, now)
    old = meeting.starts_at
    meeting.starts_at = draft.starts_at
    meeting.ends_at = draft.ends_at
    if draft.rrule is not None:
        meeting.rrule = draft.rrule
    meeting.zone = draft.zone
    meeting.version += 1
    meeting.ics_sequence += 1
    meeting.summary_occurrence = None
    session.add(meeting)
    _cancel_pending(session, meeting, now=now)
    _audit(
        session,
        meeting,
        actor.user_id,
        "reschedule",
        None,
        f"{old.isoformat()} -> {draft.starts_at.isoformat()}",
        now,
    )
    session.flush()
    plan_deliveries(session, meeting=meeting, now=now)
    queue_notices(
        session, meeting=meeting, kind=NoticeKind.RESCHEDULED, now=now, skip_user_id=actor.user_id
    )


def change_occurrence(
    session: Session,
    *,
    meeting: Meeting,
    actor: Actor,
    original_start: datetime,
    new_start: datetime | None,
    now: datetime,
) -> None:
    """Skip (new_start None) or move one sitting of a series."""
    require_manager(session, meeting, actor)
    require_active(meeting, now)
    if meeting.rrule is None:
        raise InvalidInput(_("{code} is not a series; use /reschedule.").format(code=meeting.code))
    sittings = load_sittings(session, meeting)
    if not sittings.is_upcoming(original_start, now):
        raise InvalidInput(
            _(
                "{code} has no upcoming sitting at that time. /meetings shows the next ones."
            ).format(code=meeting.code)
        )
    # A sitting moved before keeps its change row: calendars know it by the rule's original
    # start (RECURRENCE-ID), and a second row would leave it at its first new time as well.
    change = sittings.change_at(original_start) or OccurrenceChange(
        meeting_id=_id(meeting), original_start=original_start
    )
    change.new_start = new_start
    session.add(change)
    meeting.ics_sequence += 1
    meeting.version += 1
    session.add(meeting)
    _cancel_pending(session, meeting, now=now, occurrence_start=original_start)
    action = "skip" if new_start is None else "move"
    detail = original_start.isoformat() + (f" -> {new_start.isoformat()}" if new_start else "")
    _audit(session, meeting, actor.user_id, action, None, detail, now)
    session.flush()
    plan_deliveries(session, meeting=meeting, now=now)
    kind = NoticeKind.SKIPPED if new_start is None else NoticeKind.MOVED
    queue_notices(
        session,
        meeting=meeting,
        kind=kind,
        now=now,
        skip_user_id=actor.user_id,
        occurrence_start=original_start,
        new_start=new_start,
    )


def end_series(session: Session, *, meeting: Meeting, actor: Actor, now: datetime) -> None:
    """End a series after the sitting that is running now (or cancel it if none ran)."""
    require_manager(session, meeting, actor)
    require_active(meeting, now)
    if meeting.rrule is None:
        raise InvalidInput(_("{code} is not a series; use /cancel.").format(code=meeting.code))
    cancel_meeting(session, meeting=meeting, actor=actor, now=now)


# --- links ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkWindow:
    """When a person may ask for their link."""

    opens: datetime
    closes: datetime


def link_window(occurrence: Occurrence, rules: Rules) -> LinkWindow:
    """JOIN_EARLY_MINUTES before the start until the end."""
    return LinkWindow(occurrence.start - rules.join_early, occurrence.end)


def personal_link(
    *,
    signer: TokenSigner,
    meeting: Meeting,
    participant: Participant,
    user: User,
    occurrence: Occurrence,
    rules: Rules,
    now: datetime,
) -> str:
    """The person's own Jitsi link for this sitting, valid from now until end + grace."""
    role = Role(participant.role)
    return signer.personal_link(
        person=Person(user_id=jitsi_user_id(user.id), name=display(user), email=user.email),
        room=meeting.room,
        role=role,
        features=resolve_features(role, meeting.feature_defaults, participant.features),
        issued_at=now,
        expires_at=occurrence.end + rules.token_grace,
    )


@dataclass(frozen=True)
class LinkRequest:
    """A link ready to hand over, or when it will be."""

    meeting: Meeting
    occurrence: Occurrence
    role: Role
    link: str | None
    opens: datetime


def request_link(
    session: Session,
    *,
    signer: TokenSigner,
    meeting: Meeting,
    user_id: int,
    rules: Rules,
    now: datetime,
) -> LinkRequest:
    """The person's link when the join window is open; otherwise when it opens."""
    require_active(meeting, now)
    row = _participant(session, _id(meeting), user_id)
    user = session.get(User, user_id)
    if row is None or user is None:
        raise NotAllowed(
            _("You are not in meeting {code}. Ask an owner to /invite you.").format(
                code=meeting.code
            )
        )
    occurrence = occurrence_after(session, meeting, now)
    if occurrence is None:
        raise InvalidInput(_("Meeting {code} is already over.").format(code=meeting.code))
    window = link_window(occurrence, rules)
    link = None
    if window.opens <= now:
        link = personal_link(
            signer=signer,
            meeting=meeting,
            participant=row,
            user=user,
            occurrence=occurrence,
            rules=rules,
            now=now,
        )
    return LinkRequest(meeting, occurrence, Role(row.role), link, window.opens)


# --- deep links ----------------------------------------------------------------------------


def deep_link(session: Session, *, meeting: Meeting, kind: str, now: datetime) -> str:
    """The start payload for `kind` ('join' or 'link') of a meeting, made once and reused."""
    existing = session.exec(
        select(DeepLink).where(DeepLink.meeting_id == meeting.id, DeepLink.kind == kind)
    ).first()
    if existing is not None:
        return existing.token
    token = secrets.token_urlsafe(12)
    session.add(DeepLink(token=token, kind=kind, meeting_id=_id(meeting), created_at=now))
    session.flush()
    return token


def resolve_deep_link(session: Session, payload: str) -> tuple[str, Meeting]:
    """What a start payload stands for, or NotFound."""
    row = session.get(DeepLink, payload[:64]) if payload else None
    meeting = session.get(Meeting, row.meeting_id) if row else None
    if row is None or meeting is None:
        raise NotFound(_("That link is not valid (any more). Ask the organizer for a new one."))
    return row.kind, meeting


def accept_deep_link(
    session: Session, *, payload: str, user_id: int, now: datetime
) -> tuple[Meeting, bool]:
    """Follow a start payload: invite links and a group meeting's "Get my link" add the person
    as a member; returns the meeting and whether they just joined."""
    kind, meeting = resolve_deep_link(session, payload)
    require_active(meeting, now)
    if participant_role(session, meeting, user_id) is not None:
        return meeting, False
    if kind == "link" and meeting.chat_id is None:
        # A private meeting's link payload only serves people already in it.
        raise NotAllowed(
            _("You are not in meeting {code}. Ask an owner to /invite you.").format(
                code=meeting.code
            )
        )
    return meeting, join(session, meeting=meeting, user_id=user_id, now=now)


# --- deliveries ----------------------------------------------------------------------------


def plan_deliveries(
    session: Session, *, meeting: Meeting, now: datetime, user_ids: Iterable[int] | None = None
) -> int:
    """Make sure everyone in the next sitting has a delivery row; returns how many were added.

    Rows due in the past (a late invite, a reminder missed while down) are due now.
    """
    occurrence = occurrence_after(session, meeting, now)
    if occurrence is None:
        return 0
    due_at = occurrence.start - timedelta(minutes=meeting.remind_before_minutes)
    wanted = set(user_ids) if user_ids is not None else None
    people = session.exec(
        select(Participant.user_id).where(
            Participant.meeting_id == meeting.id, col(Participant.user_id).is_not(None)
        )
    ).all()
    existing = set(
        session.exec(
            select(Delivery.user_id).where(
                Delivery.meeting_id == meeting.id,
                Delivery.occurrence_start == occurrence.start,
            )
        ).all()
    )
    added = 0
    for user_id in people:
        if (
            user_id is None
            or user_id in existing
            or (wanted is not None and user_id not in wanted)
        ):
            continue
        late = due_at < now
        session.add(
            Delivery(
                meeting_id=_id(meeting),
                user_id=user_id,
                occurrence_start=occurrence.start,
                due_at=now if late else due_at,
                reason="late" if late and meeting.summary_occurrence else "reminder",
                updated_at=now,
            )
        )
        added += 1
    session.flush()
    return added


def _next_delivery(
    session: Session, meeting: Meeting, user_id: int, now: datetime
) -> tuple[Occurrence | None, Delivery | None]:
    """The next sitting and this person's delivery row for it (either may be missing)."""
    occurrence = occurrence_after(session, meeting, now)
    if occurrence is None:
        return None, None
    row = session.exec(
        select(Delivery).where(
            Delivery.meeting_id == meeting.id,
            Delivery.user_id == user_id,
            Delivery.occurrence_start == occurrence.start,
        )
    ).first()
    return occurrence, row


def resend_link(
    session: Session, *, meeting: Meeting, user_id: int, reason: str, now: datetime
) -> bool:
    """Queue a fresh link for someone whose link already went out (new rights, new room)."""
    _occurrence, row = _next_delivery(session, meeting, user_id, now)
    if row is None or row.status not in {DeliveryStatus.SENT, DeliveryStatus.SENDING}:
        return False
    row.status = DeliveryStatus.PENDING
    row.reason = reason
    row.due_at = now
    row.attempts = 0
    row.updated_at = now
    session.add(row)
    return True


def _cancel_pending(
    session: Session,
    meeting: Meeting,
    *,
    now: datetime,
    user_ids: Iterable[int] | None = None,
    occurrence_start: datetime | None = None,
) -> None:
    query = select(Delivery).where(
        Delivery.meeting_id == meeting.id,
        col(Delivery.status).in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
    )
    if user_ids is not None:
        query = query.where(col(Delivery.user_id).in_(list(user_ids)))
    if occurrence_start is not None:
        query = query.where(Delivery.occurrence_start == occurrence_start)
    for row in session.exec(query).all():
        row.status = DeliveryStatus.CANCELLED
        row.updated_at = now
        session.add(row)


# --- notices ------------------------------------------------------------------------------


class NoticeKind:
    """What a notice tells its reader."""

    INVITED = "invited"
    JOINED = "joined"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    MOVED = "moved"


def queue_notices(
    session: Session,
    *,
    meeting: Meeting,
    kind: str,
    now: datetime,
    user_ids: Iterable[int] | None = None,
    skip_user_id: int | None = None,
    occurrence_start: datetime | None = None,
    new_start: datetime | None = None,
) -> int:
    """Owe people a message about a change, in the change's own transaction.

    A skip or move names its sitting (`occurrence_start`, and `new_start` for a move).
    """
    if user_ids is None:
        user_ids = [
            row.user_id for row, _user in participants(session, meeting) if row.user_id is not None
        ]
    count = 0
    for user_id in dict.fromkeys(user_ids):
        if user_id == skip_user_id:
            continue
        session.add(
            Notice(
                meeting_id=_id(meeting),
                user_id=user_id,
                kind=kind,
                occurrence_start=occurrence_start,
                new_start=new_start,
                due_at=now,
                created_at=now,
            )
        )
        count += 1
    return count


# --- audit ---------------------------------------------------------------------------------


def _audit(
    session: Session,
    meeting: Meeting | None,
    actor_id: int,
    action: str,
    target_user_id: int | None,
    detail: str,
    now: datetime,
) -> None:
    session.add(
        AuditEvent(
            meeting_id=meeting.id if meeting else None,
            actor_id=actor_id,
            action=action,
            target_user_id=target_user_id,
            detail=detail[:500],
            at=now,
        )
    )


def history(
    session: Session, *, meeting: Meeting, actor: Actor, limit: int = 20
) -> list[AuditEvent]:
    """The latest changes to a meeting, newest first (owners and admins only)."""
    require_manager(session, meeting, actor)
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.meeting_id == meeting.id)
            .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
            .limit(limit)
        ).all()
    )


# --- roles and features (issue: roles, features and admins) --------------------------------


def set_role(
    session: Session,
    *,
    meeting: Meeting,
    actor: Actor,
    target_user_id: int,
    role: Role,
    now: datetime,
) -> bool:
    """Make someone owner or member; True when the role changed."""
    require_manager(session, meeting, actor)
    require_active(meeting, now)
    row = _participant(session, _id(meeting), target_user_id)
    if row is None:
        raise NotFound(
            _("That person is not in meeting {code}. /invite them first.").format(
                code=meeting.code
            )
        )
    if row.role == role:
        return False
    if row.role == Role.OWNER and role is Role.MEMBER and _owner_count(session, meeting) <= 1:
        raise InvalidInput(
            _("{code} needs at least one owner. Promote someone else first.").format(
                code=meeting.code
            )
        )
    old = row.role
    row.role = role
    session.add(row)
    _audit(session, meeting, actor.user_id, "role", target_user_id, f"{old} -> {role.value}", now)
    resend_link(session, meeting=meeting, user_id=target_user_id, reason="updated", now=now)
    return True


def parse_feature_changes(items: Sequence[str]) -> dict[str, bool]:
    """`recording=on screen-sharing=off ...` into a mapping, or InvalidInput naming the choices."""
    on_words = {"on", "true", "yes", "1", "an", "ein", "вкл", "oui", "sí", "si"}
    off_words = {"off", "false", "no", "0", "aus", "выкл", "non"}
    changes: dict[str, bool] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip().lower().replace("_", "-")
        value = value.strip().lower()
        if not sep or name not in FEATURES:
            raise InvalidInput(
                _(
                    "Unknown feature “{name}”. Valid names: {names}. Write e.g. recording=on."
                ).format(name=name[:40], names=", ".join(FEATURES))
            )
        if value in on_words:
            changes[name] = True
        elif value in off_words:
            changes[name] = False
        else:
            raise InvalidInput(_("Write {name}=on or {name}=off.").format(name=name))
    if not changes:
        raise InvalidInput(_("Name at least one feature, e.g. recording=on screen-sharing=off."))
    return changes


def set_features(
    session: Session,
    *,
    meeting: Meeting,
    actor: Actor,
    changes: dict[str, bool],
    target_user_id: int | None,
    now: datetime,
) -> list[int]:
    """Change a meeting's feature defaults, or one person's; returns whose links are resent."""
    require_manager(session, meeting, actor)
    require_active(meeting, now)
    detail = " ".join(f"{name}={'on' if value else 'off'}" for name, value in changes.items())
    if target_user_id is None:
        meeting.feature_defaults = {**meeting.feature_defaults, **changes}
        session.add(meeting)
        affected = [
            row.user_id for row, _user in participants(session, meeting) if row.user_id is not None
        ]
    else:
        row = _participant(session, _id(meeting), target_user_id)
        if row is None:
            raise NotFound(
                _("That person is not in meeting {code}. /invite them first.").format(
                    code=meeting.code
                )
            )
        row.features = {**row.features, **changes}
        session.add(row)
        affected = [target_user_id]
    _audit(session, meeting, actor.user_id, "features", target_user_id, detail, now)
    return [
        user_id
        for user_id in affected
        if resend_link(session, meeting=meeting, user_id=user_id, reason="updated", now=now)
    ]


def rotate_room(session: Session, *, meeting: Meeting, actor: Actor, now: datetime) -> int:
    """A new room name, so old links lead to an empty room; fresh links to all who had one."""
    require_manager(session, meeting, actor)
    require_active(meeting, now)
    meeting.room = unused_room_name(session, meeting.title)
    meeting.version += 1
    session.add(meeting)
    _audit(session, meeting, actor.user_id, "rotate", None, "", now)
    resent = 0
    for row, _user in participants(session, meeting):
        if row.user_id is not None and resend_link(
            session, meeting=meeting, user_id=row.user_id, reason="rotated", now=now
        ):
            resent += 1
    return resent


def set_admin(
    session: Session,
    *,
    actor: Actor,
    rules: Rules,
    target_user_id: int,
    admin: bool,
    now: datetime,
) -> None:
    """Add or remove a bot admin (admins from the settings stay)."""
    if not is_bot_admin(session, actor.user_id, rules):
        raise NotAllowed(_("Only the bot's admins can change admins."))
    if not admin and target_user_id in rules.admin_ids:
        raise InvalidInput(
            _("That admin comes from the ADMIN_IDS setting and can only be removed there.")
        )
    user = _require_known(session, target_user_id)
    user.is_admin = admin
    session.add(user)
    _audit(
        session,
        None,
        actor.user_id,
        "admin-add" if admin else "admin-remove",
        target_user_id,
        "",
        now,
    )


def list_admins(session: Session, *, rules: Rules) -> list[tuple[int, User | None, bool]]:
    """Every admin: id, user record if known, and whether they come from the settings."""
    from_db = session.exec(select(User).where(User.is_admin == True)).all()  # noqa: E712
    result: list[tuple[int, User | None, bool]] = [
        (admin_id, session.get(User, admin_id), True) for admin_id in sorted(rules.admin_ids)
    ]
    result += [(user.id, user, False) for user in from_db if user.id not in rules.admin_ids]
    return result


def _require_known(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("I don't know that person yet: they need to write to me once."))
    return user


def requeue_unreachable(session: Session, *, user_id: int, now: datetime) -> int:
    """Someone came back (started or unblocked the bot): their missed links go out now."""
    rows = session.exec(
        select(Delivery).where(
            Delivery.user_id == user_id,
            col(Delivery.status).in_([DeliveryStatus.UNREACHABLE, DeliveryStatus.FAILED]),
        )
    ).all()
    count = 0
    for row in rows:
        meeting = session.get(Meeting, row.meeting_id)
        if meeting is None or meeting.status is MeetingStatus.CANCELLED:
            continue
        if row.occurrence_start + (meeting.ends_at - meeting.starts_at) <= now:
            continue
        row.status = DeliveryStatus.PENDING
        row.reason = "late"
        row.due_at = now
        row.updated_at = now
        session.add(row)
        count += 1
    return count


def mark_link_handed_over(
    session: Session, *, meeting: Meeting, user_id: int, now: datetime
) -> None:
    """A link went out directly (/link, a deep link): the reminder for this sitting is done."""
    occurrence, row = _next_delivery(session, meeting, user_id, now)
    if occurrence is None:
        return
    if row is None:
        row = Delivery(
            meeting_id=_id(meeting),
            user_id=user_id,
            occurrence_start=occurrence.start,
            due_at=now,
        )
    if row.status is DeliveryStatus.SENDING:
        return
    # Before the reminder time the reminder still goes out as planned; after it, this was it.
    if row.status is DeliveryStatus.PENDING and row.due_at > now:
        return
    row.status = DeliveryStatus.SENT
    row.reason = "direct"
    row.updated_at = now
    session.add(row)


def link_statuses(
    session: Session, *, meeting: Meeting, now: datetime
) -> dict[int, DeliveryStatus]:
    """Per person, where the link of the next sitting stands."""
    occurrence = occurrence_after(session, meeting, now)
    if occurrence is None:
        return {}
    rows = session.exec(
        select(Delivery).where(
            Delivery.meeting_id == meeting.id, Delivery.occurrence_start == occurrence.start
        )
    ).all()
    return {row.user_id: row.status for row in rows}


def occurrence_changes(
    session: Session, *, meeting: Meeting
) -> tuple[dict[datetime, datetime], list[datetime]]:
    """A series' moved sittings (original -> new start) and skipped ones."""
    sittings = load_sittings(session, meeting)
    return sittings.moved, sittings.skipped


# How far ahead /skip and /move look for the sitting on a date typed.
SITTING_HORIZON = timedelta(days=400)


def pick_sitting(
    session: Session, *, meeting: Meeting, date_text: str, zone: str, now: datetime
) -> datetime:
    """The start of the series' next sitting, or of the one on the date typed (e.g. 2026-12-14)."""
    if meeting.rrule is None:
        raise InvalidInput(_("{code} is not a series; use /reschedule.").format(code=meeting.code))
    upcoming = load_sittings(session, meeting).upcoming(now)
    first = next(upcoming, None)
    if first is None:
        raise InvalidInput(_("Meeting {code} is already over.").format(code=meeting.code))
    if not date_text:
        return first.start
    try:
        day = timeparse.parse_day(date_text, zone=zone, now=now)
    except timeparse.TimeParseError:
        day = None
    if day is not None:
        tz = ZoneInfo(zone)
        for sitting in itertools.chain([first], upcoming):
            sitting_day = sitting.start.astimezone(tz).date()
            if sitting_day == day:
                return sitting.start
            if sitting_day > day or sitting.start > now + SITTING_HORIZON:
                break
    raise InvalidInput(
        _("{code} has no upcoming sitting at that time. /meetings shows the next ones.").format(
            code=meeting.code
        )
    )
