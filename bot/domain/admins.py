"""The bot's own admins."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from bot.domain.access import is_bot_admin
from bot.domain.audit import record_change
from bot.domain.lookup import require_known
from bot.domain.values import Actor, Rules
from bot.errors import InvalidInput, NotAllowed
from bot.i18n import _
from storage.models import User


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
    user = require_known(session, target_user_id)
    user.is_admin = admin
    session.add(user)
    record_change(
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
