"""The Jitsi side: token links, and the server config jitsi-config prints and jitsi-check reads."""

from bot.jitsi.tokens import (
    FEATURES,
    NBF_BACKDATE,
    ROOM_NAME_MAX,
    ROOM_NAME_PATTERN,
    ROOM_SUFFIX_LENGTH,
    Person,
    Role,
    TokenSigner,
    default_features,
    is_valid_room_name,
    make_room_name,
    resolve_features,
    telegram_person_id,
)

__all__ = [
    "FEATURES",
    "NBF_BACKDATE",
    "ROOM_NAME_MAX",
    "ROOM_NAME_PATTERN",
    "ROOM_SUFFIX_LENGTH",
    "Person",
    "Role",
    "TokenSigner",
    "default_features",
    "is_valid_room_name",
    "make_room_name",
    "resolve_features",
    "telegram_person_id",
]
