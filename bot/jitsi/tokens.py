"""Tokens for Jitsi: room names, token claims, signing and personal links."""

# Every rule here comes from ../shared/JITSI.md (how Prosody's token modules and the web client
# read our tokens). No Telegram and no database: plain values in, plain values out.

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

import jwt

ROOM_NAME_MAX = 64
ROOM_SUFFIX_LENGTH = 6
# Lowercase letters and digits only: the suffix must survive Jitsi's lowercasing unchanged.
_SUFFIX_ALPHABET = "abcdefghijkmnopqrstuvwxyz23456789"
_FALLBACK_ROOM_STEM = "meeting"
# Jitsi has no clock leeway: an nbf even a second in the future locks the user out, so we
# backdate nbf by this much to absorb clock skew between us and the Prosody host.
NBF_BACKDATE = timedelta(seconds=60)


class Role(StrEnum):
    """A participant's rights in the Jitsi room."""

    OWNER = "owner"
    MEMBER = "member"


# Every feature Jitsi knows (JITSI.md). Once `context.features` is present, a feature left out is
# denied, so tokens always carry this whole set, each true or false.
FEATURES: tuple[str, ...] = (
    "recording",
    "livestreaming",
    "transcription",
    "outbound-call",
    "sip-outbound-call",
    "inbound-call",
    "sip-inbound-call",
    "screen-sharing",
    "file-upload",
    "create-polls",
    "send-groupchat",
    "flip",
    "lobby",
    "moderation",
    "live-translation",
    "list-visitors",
    "branding",
    "calendar",
    "room",
)

# What members get unless a meeting or a person says otherwise: the everyday tools of a
# participant, nothing that records, broadcasts, dials out or moderates.
_MEMBER_DEFAULTS = frozenset(
    {"screen-sharing", "file-upload", "create-polls", "send-groupchat", "flip", "calendar"}
)


def default_features(role: Role) -> dict[str, bool]:
    """The feature set a role gets before any meeting default or personal override."""
    if role is Role.OWNER:
        return dict.fromkeys(FEATURES, True)
    return {name: name in _MEMBER_DEFAULTS for name in FEATURES}


def resolve_features(
    role: Role,
    meeting_defaults: Mapping[str, bool] | None = None,
    personal: Mapping[str, bool] | None = None,
) -> dict[str, bool]:
    """The full feature set for one person: role defaults, then the meeting's, then their own."""
    features = default_features(role)
    for overrides in (meeting_defaults or {}, personal or {}):
        for name, enabled in overrides.items():
            if name in features:
                features[name] = bool(enabled)
    return features


def _slug(title: str) -> str:
    # NFKD splits accents off Latin letters ("Café" -> "Cafe"); scripts with no ASCII
    # decomposition (Cyrillic, emoji) drop out and the caller falls back to a neutral stem.
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def make_room_name(title: str, *, suffix: str | None = None) -> str:
    """A Jitsi room name from a meeting title: [a-z0-9-], at most 64 chars, random suffix."""
    suffix = suffix or "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(ROOM_SUFFIX_LENGTH))
    stem = _slug(title)
    if len(re.sub(r"[^a-z]", "", stem)) < 2:
        stem = _FALLBACK_ROOM_STEM
    stem = stem[: ROOM_NAME_MAX - len(suffix) - 1].rstrip("-")
    return f"{stem}-{suffix}"


ROOM_NAME_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def is_valid_room_name(room: str) -> bool:
    """True when Jitsi will match this room name exactly (lowercase ASCII, digits, dashes)."""
    return 0 < len(room) <= ROOM_NAME_MAX and bool(ROOM_NAME_PATTERN.match(room))


@dataclass(frozen=True)
class Person:
    """Who a token is for; every value ends up in the presence other participants see."""

    user_id: str
    name: str
    email: str | None = None


class LinkSigner(Protocol):
    """What the domain and delivery need from a Jitsi provider (self-hosted or JaaS); a provider
    subclasses it for the one way a personal link is made."""

    def claims(
        self,
        *,
        person: Person,
        room: str,
        role: Role,
        features: Mapping[str, bool],
        issued_at: datetime,
        expires_at: datetime,
    ) -> dict[str, Any]:
        """The token payload for one person in one room."""
        ...

    def sign(self, claims: Mapping[str, Any]) -> str:
        """The signed token for these claims."""
        ...

    def link(self, room: str, token: str) -> str:
        """The meeting link that carries this token."""
        ...

    def personal_link(
        self,
        *,
        person: Person,
        room: str,
        role: Role,
        features: Mapping[str, bool],
        issued_at: datetime,
        expires_at: datetime,
    ) -> str:
        """Claims, signature and link in one step: what a participant receives."""
        claims = self.claims(
            person=person,
            room=room,
            role=role,
            features=features,
            issued_at=issued_at,
            expires_at=expires_at,
        )
        return self.link(room, self.sign(claims))


@dataclass(frozen=True)
class TokenSigner(LinkSigner):
    """Signs tokens for one self-hosted Jitsi deployment (the bot's settings, in plain values)."""

    base_url: str
    app_id: str
    audience: str
    subject: str
    algorithm: str
    key: str
    key_id: str | None = None

    def claims(
        self,
        *,
        person: Person,
        room: str,
        role: Role,
        features: Mapping[str, bool],
        issued_at: datetime,
        expires_at: datetime,
    ) -> dict[str, Any]:
        """The token payload, exactly in the shape of JITSI.md."""
        if not is_valid_room_name(room):
            raise ValueError("room names must match [a-z0-9-], at most 64 characters")
        is_owner = role is Role.OWNER
        user: dict[str, str | bool] = {
            "id": person.user_id,
            "name": person.name,
            "affiliation": role.value,
            "moderator": is_owner,
        }
        if person.email:
            user["email"] = person.email
        full_features = {name: bool(features.get(name, False)) for name in FEATURES}
        issued = int(issued_at.timestamp())
        return {
            "iss": self.app_id,
            "aud": self.audience,
            "sub": self.subject,
            "room": room,
            "iat": issued,
            "nbf": issued - int(NBF_BACKDATE.total_seconds()),
            "exp": int(expires_at.timestamp()),
            "moderator": is_owner,
            "context": {"user": user, "features": full_features},
        }

    def sign(self, claims: Mapping[str, Any]) -> str:
        """Encode the claims with this deployment's algorithm and key."""
        headers: dict[str, Any] = {"typ": "JWT"}
        if self.key_id and self.algorithm.startswith("RS"):
            headers["kid"] = self.key_id
        return jwt.encode(dict(claims), self.key, algorithm=self.algorithm, headers=headers)

    def link(self, room: str, token: str) -> str:
        """The personal meeting link: base URL, room, token."""
        return f"{self.base_url}/{room}?jwt={token}"


def telegram_person_id(telegram_user_id: int) -> str:
    """The stable context.user.id of a Telegram user."""
    return f"tg-{telegram_user_id}"
