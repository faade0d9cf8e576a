"""Personal links: the join window, minting a link, asking for one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.domain.access import require_active
from bot.domain.lookup import find_participant, meeting_id
from bot.domain.people import display
from bot.domain.sittings import occurrence_after
from bot.domain.values import Occurrence, Rules
from bot.errors import InvalidInput, NotAllowed
from bot.i18n import _
from bot.jitsi import LinkSigner, Person, Role, resolve_features
from bot.jitsi import telegram_person_id as jitsi_user_id
from storage.models import Meeting, Participant, User


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


def request_link(
    session: Session,
    *,
    signer: LinkSigner,
    meeting: Meeting,
    user_id: int,
    rules: Rules,
    now: datetime,
) -> LinkRequest:
    """The person's link when the join window is open; otherwise when it opens."""
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
