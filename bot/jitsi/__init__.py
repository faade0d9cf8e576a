"""The Jitsi side: token links (self-hosted or JaaS) and the jitsi-config/jitsi-check commands."""

from bot.jitsi.jaas import JAAS_FEATURES, JaasSigner
from bot.jitsi.tokens import (
    FEATURES,
    NBF_BACKDATE,
    ROOM_NAME_MAX,
    ROOM_NAME_PATTERN,
    ROOM_SUFFIX_LENGTH,
    LinkSigner,
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
    "JAAS_FEATURES",
    "NBF_BACKDATE",
    "ROOM_NAME_MAX",
    "ROOM_NAME_PATTERN",
    "ROOM_SUFFIX_LENGTH",
    "JaasSigner",
    "LinkSigner",
    "Person",
    "Role",
    "TokenSigner",
    "default_features",
    "is_valid_room_name",
    "make_room_name",
    "resolve_features",
    "telegram_person_id",
]
