"""Roles and Jitsi features of participants, and a new room."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from bot.delivery.planning import resend_link
from bot.domain.access import require_active, require_manager
from bot.domain.audit import record_change
from bot.domain.lookup import find_participant, meeting_id, participants
from bot.domain.participation import owner_count
from bot.domain.scheduling import unused_room_name
from bot.domain.values import Actor
from bot.errors import InvalidInput, NotFound
from bot.i18n import _
from bot.jitsi import FEATURES, Role
from storage.models import Meeting


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
    row = find_participant(session, meeting_id(meeting), target_user_id)
    if row is None:
        raise NotFound(
            _("That person is not in meeting {code}. /invite them first.").format(
                code=meeting.code
            )
        )
    if row.role == role:
        return False
    if row.role == Role.OWNER and role is Role.MEMBER and owner_count(session, meeting) <= 1:
        raise InvalidInput(
            _("{code} needs at least one owner. Promote someone else first.").format(
                code=meeting.code
            )
        )
    old = row.role
    row.role = role
    session.add(row)
    record_change(
        session, meeting, actor.user_id, "role", target_user_id, f"{old} -> {role.value}", now
    )
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
        row = find_participant(session, meeting_id(meeting), target_user_id)
        if row is None:
            raise NotFound(
                _("That person is not in meeting {code}. /invite them first.").format(
                    code=meeting.code
                )
            )
        row.features = {**row.features, **changes}
        session.add(row)
        affected = [target_user_id]
    record_change(session, meeting, actor.user_id, "features", target_user_id, detail, now)
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
    record_change(session, meeting, actor.user_id, "rotate", None, "", now)
    resent = 0
    for row, _user in participants(session, meeting):
        if row.user_id is not None and resend_link(
            session, meeting=meeting, user_id=row.user_id, reason="rotated", now=now
        ):
            resent += 1
    return resent
