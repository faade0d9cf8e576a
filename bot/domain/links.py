"""Personal links: the join window, minting a link, asking for one, and click-time links.

With PUBLIC_URL set, messages carry PUBLIC_URL/j/<handle> instead of a token link: the token is
minted when the link is opened, for the person's role and features at that moment, so a
promotion, a demotion or a removal takes effect at the next open. A handle is derived from the
server's key and a random nonce (so a message can name it again at any time) and stored only
as its SHA-256; a new nonce revokes it at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.delivery.planning import resend_link
from bot.domain.access import require_active, require_manager
from bot.domain.audit import record_change
from bot.domain.lookup import find_participant, meeting_id
from bot.domain.people import display
from bot.domain.rsvp import Answer, waitlist_place
from bot.domain.sittings import occurrence_after
from bot.domain.values import Actor, Occurrence, Rules
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.i18n import _
from bot.jitsi import LinkSigner, Person, Role, resolve_features
from bot.jitsi import telegram_person_id as jitsi_user_id
from storage.models import LinkHandle, Meeting, MeetingStatus, Participant, User

# The path of a click-time link under PUBLIC_URL.
CLICK_PATH = "/j/"
# With LINK_BINDING=telegram, the Mini App page of a click-time link: PUBLIC_URL/j/<handle>/tg.
BOUND_SUFFIX = "/tg"
# 24 bytes of HMAC-SHA256: 192 bits, 32 URL-safe characters.
HANDLE_BYTES = 24
HANDLE_PATTERN = re.compile(r"[A-Za-z0-9_-]{32}")


@dataclass(frozen=True)
class LinkWindow:
    """When a person may ask for their link."""

    opens: datetime
    closes: datetime


def link_window(occurrence: Occurrence, rules: Rules) -> LinkWindow:
    """JOIN_EARLY_MINUTES before the start until the end."""
    return LinkWindow(occurrence.start - rules.join_early, occurrence.end)


def personal_link(
    session: Session,
    *,
    signer: LinkSigner,
    meeting: Meeting,
    participant: Participant,
    user: User,
    occurrence: Occurrence,
    rules: Rules,
    now: datetime,
) -> str:
    """The link a message carries: the click-time link with PUBLIC_URL, else a token link."""
    if rules.public_url is not None:
        return click_link(session, meeting=meeting, participant=participant, rules=rules, now=now)
    return token_link(
        signer=signer,
        meeting=meeting,
        participant=participant,
        user=user,
        occurrence=occurrence,
        rules=rules,
        now=now,
    )


def token_link(
    *,
    signer: LinkSigner,
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
    # Why no link comes at all: a place on the waitlist, or the person said Can't.
    waitlist_place: int | None = None
    declined: bool = False


def request_link(
    session: Session,
    *,
    signer: LinkSigner,
    meeting: Meeting,
    user_id: int,
    rules: Rules,
    now: datetime,
) -> LinkRequest:
    """The person's link when the join window is open; otherwise when it opens.

    A click-time link is handed out at any time: before the window it shows when it opens.
    """
    require_active(meeting, now)
    row = find_participant(session, meeting_id(meeting), user_id)
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
    if row.rsvp == Answer.CANT or row.waitlist_ticket is not None:
        place = waitlist_place(session, meeting, row)
        return LinkRequest(
            meeting, occurrence, Role(row.role), None, window.opens, place, place is None
        )
    link = None
    if window.opens <= now or rules.public_url is not None:
        link = personal_link(
            session,
            signer=signer,
            meeting=meeting,
            participant=row,
            user=user,
            occurrence=occurrence,
            rules=rules,
            now=now,
        )
    return LinkRequest(meeting, occurrence, Role(row.role), link, window.opens)


# --- click-time links ------------------------------------------------------------------------


def handle_digest(handle: str) -> str:
    """What the database keeps of a handle: its SHA-256, hex."""
    return hashlib.sha256(handle.encode()).hexdigest()


def _derive_handle(key: bytes, row: LinkHandle) -> str:
    message = f"{row.meeting_id}:{row.user_id}:{row.nonce}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:HANDLE_BYTES]
    return base64.urlsafe_b64encode(digest).decode()


def click_link(
    session: Session, *, meeting: Meeting, participant: Participant, rules: Rules, now: datetime
) -> str:
    """PUBLIC_URL/j/<handle> for this person and meeting: made on first use, the same after."""
    assert rules.public_url is not None and participant.user_id is not None
    row = _handle_row(session, meeting_id(meeting), participant.user_id)
    if row is None:
        row = _new_handle_row(session, meeting, participant, rules.link_key, now)
    elif row.participant_id != participant.id:
        # Removed and invited again: copies of the old link stay refused.
        row.participant_id = participant.id
        row.nonce = secrets.token_hex(16)
    handle = _derive_handle(rules.link_key, row)
    if row.handle_hash != handle_digest(handle):
        row.handle_hash = handle_digest(handle)  # a new nonce, or a new key
        session.add(row)
    return rules.public_url + CLICK_PATH + handle


def _handle_row(session: Session, meeting: int, user_id: int) -> LinkHandle | None:
    return session.exec(
        select(LinkHandle).where(LinkHandle.meeting_id == meeting, LinkHandle.user_id == user_id)
    ).first()


def _new_handle_row(
    session: Session, meeting: Meeting, participant: Participant, key: bytes, now: datetime
) -> LinkHandle:
    """A new handle row; if another transaction made one meanwhile, that one."""
    assert participant.user_id is not None
    row = LinkHandle(
        meeting_id=meeting_id(meeting),
        user_id=participant.user_id,
        participant_id=participant.id,
        nonce=secrets.token_hex(16),
        handle_hash="",
        created_at=now,
    )
    row.handle_hash = handle_digest(_derive_handle(key, row))
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = _handle_row(session, meeting_id(meeting), participant.user_id)
        assert existing is not None
        return existing
    return row


def withdraw_click_link(session: Session, *, meeting: Meeting, user_id: int) -> None:
    """The person left: their link refuses from now on, and an invitation gets a new one."""
    row = _handle_row(session, meeting_id(meeting), user_id)
    if row is not None:
        row.participant_id = None
        session.add(row)


def renew_click_link(session: Session, *, meeting: Meeting, user_id: int) -> bool:
    """Revoke a person's click-time link at once (the next message carries a new one)."""
    row = _handle_row(session, meeting_id(meeting), user_id)
    if row is None:
        return False
    row.nonce = secrets.token_hex(16)
    row.handle_hash = "revoked-" + row.nonce
    session.add(row)
    return True


def replace_click_link(
    session: Session,
    *,
    meeting: Meeting,
    actor: Actor,
    target_user_id: int,
    rules: Rules,
    now: datetime,
) -> bool:
    """A new click-time link for one person (theirs was forwarded, say): the old one stops
    working at once. True when a message with the new one goes out to them now."""
    require_manager(session, meeting, actor)
    require_active(meeting, now)
    if rules.public_url is None:
        raise InvalidInput(
            _(
                "One person's link can only be replaced when the bot runs with PUBLIC_URL. "
                "/rotate {code} gives everyone a new room."
            ).format(code=meeting.code)
        )
    if find_participant(session, meeting_id(meeting), target_user_id) is None:
        raise NotFound(
            _("That person is not in meeting {code}. /invite them first.").format(
                code=meeting.code
            )
        )
    renew_click_link(session, meeting=meeting, user_id=target_user_id)
    record_change(session, meeting, actor.user_id, "new-link", target_user_id, "", now)
    return resend_link(
        session, meeting=meeting, user_id=target_user_id, reason="relinked", now=now
    )


class Opened(StrEnum):
    """What opening a click-time link came to."""

    UNKNOWN = "unknown"  # no such handle (never made, or revoked)
    REFUSED = "refused"  # the person is no longer in the meeting
    NOT_YOURS = "not-yours"  # bound links: opened by another Telegram account
    DECLINED = "declined"  # the person said Can't
    WAITLISTED = "waitlisted"  # the meeting is full and the person waits for a seat
    CANCELLED = "cancelled"
    ENDED = "ended"
    WAITING = "waiting"  # before the join window
    READY = "ready"  # a fresh token link


@dataclass(frozen=True)
class Opening:
    """The outcome of opening a click-time link, with what its page shows."""

    outcome: Opened
    user: User | None = None
    meeting: Meeting | None = None
    occurrence: Occurrence | None = None
    opens: datetime | None = None
    link: str | None = None  # the Jitsi link with a fresh token, READY only
    waitlist_place: int | None = None  # WAITLISTED only


def bound_link(click_url: str) -> str:
    """The Mini App page of a click-time link (LINK_BINDING=telegram)."""
    return click_url + BOUND_SUFFIX


def open_click_link(
    session: Session,
    *,
    handle: str,
    signer: LinkSigner,
    rules: Rules,
    now: datetime,
    opener_id: int | None = None,
) -> Opening:
    """Someone opened PUBLIC_URL/j/<handle>: a fresh token for who they are now, or why not.

    `opener_id`: the Telegram account that opened it, as Telegram signed it (bound links);
    anyone else's account gets NOT_YOURS, and learns nothing more about the meeting.
    """
    if not HANDLE_PATTERN.fullmatch(handle):
        return Opening(Opened.UNKNOWN)
    row = session.exec(
        select(LinkHandle).where(LinkHandle.handle_hash == handle_digest(handle))
    ).first()
    meeting = session.get(Meeting, row.meeting_id) if row is not None else None
    if row is None or meeting is None:
        return Opening(Opened.UNKNOWN)
    user = session.get(User, row.user_id)
    if opener_id is not None and opener_id != row.user_id:
        return Opening(Opened.NOT_YOURS, user, meeting)
    if meeting.status is MeetingStatus.CANCELLED:
        return Opening(Opened.CANCELLED, user, meeting)
    participant = find_participant(session, meeting_id(meeting), row.user_id)
    if user is None or participant is None or row.participant_id != participant.id:
        return Opening(Opened.REFUSED, user, meeting)
    # As request_link: who said Can't, or waits for a seat, gets no way in.
    if participant.rsvp == Answer.CANT or participant.waitlist_ticket is not None:
        place = waitlist_place(session, meeting, participant)
        if place is None:
            return Opening(Opened.DECLINED, user, meeting)
        return Opening(Opened.WAITLISTED, user, meeting, waitlist_place=place)
    occurrence = occurrence_after(session, meeting, now)
    if occurrence is None:
        return Opening(Opened.ENDED, user, meeting)
    window = link_window(occurrence, rules)
    if now < window.opens:
        return Opening(Opened.WAITING, user, meeting, occurrence, window.opens)
    link = token_link(
        signer=signer,
        meeting=meeting,
        participant=participant,
        user=user,
        occurrence=occurrence,
        rules=rules,
        now=now,
    )
    row.first_opened_at = row.first_opened_at or now
    row.last_opened_at = now
    session.add(row)
    return Opening(Opened.READY, user, meeting, occurrence, window.opens, link)


def click_link_owner(session: Session, *, handle: str) -> tuple[Meeting, User | None] | None:
    """The meeting and person a handle belongs to, minting nothing (None: no such handle)."""
    if not HANDLE_PATTERN.fullmatch(handle):
        return None
    row = session.exec(
        select(LinkHandle).where(LinkHandle.handle_hash == handle_digest(handle))
    ).first()
    meeting = session.get(Meeting, row.meeting_id) if row is not None else None
    if row is None or meeting is None:
        return None
    return meeting, session.get(User, row.user_id)


@dataclass(frozen=True)
class LinkOpens:
    """When a person's click-time link first and last let them in."""

    first: datetime
    last: datetime


def link_opens(session: Session, meeting: Meeting) -> dict[int, LinkOpens]:
    """Per person, when their click-time link to this meeting was first and last opened."""
    rows = session.exec(
        select(LinkHandle).where(
            LinkHandle.meeting_id == meeting_id(meeting),
            col(LinkHandle.first_opened_at).is_not(None),
        )
    ).all()
    return {
        row.user_id: LinkOpens(row.first_opened_at, row.last_opened_at or row.first_opened_at)
        for row in rows
        if row.first_opened_at is not None
    }
