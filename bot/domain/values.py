"""Plain values the domain passes around: the rules it runs by, who acts, one sitting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Rules:
    """The settings the domain needs, as plain values."""

    remind_before: timedelta
    join_early: timedelta
    token_grace: timedelta
    default_zone: str
    admin_ids: frozenset[int] = frozenset()
    # PUBLIC_URL: set, messages carry click-time links (PUBLIC_URL/j/<handle>) that mint a
    # token when opened; None, they carry the token link itself.
    public_url: str | None = None
    # The key /j/ handles are derived with (never shown, not even in a repr).
    link_key: bytes = field(default=b"", repr=False)
    # LINK_BINDING=telegram: a link opens only for its Telegram account, through a Mini App
    # button (private chats only), never as a plain URL in the text.
    bind_links: bool = False


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
