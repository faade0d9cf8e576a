"""Tokens for 8x8's Jitsi as a Service (JaaS): its claims, its key and its links."""

# Every rule here comes from 8x8's developer guide, "The Jitsi JSON Web Token (JWT)" and
# "API keys" (developer.8x8.com/jaas/docs/api-keys-jwt, jaas-console-api-keys); JITSI.md has a
# summary. JaaS runs the servers, so unlike tokens.py nothing here can be configured away.

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from bot.jitsi.tokens import NBF_BACKDATE, LinkSigner, Person, Role, is_valid_room_name

JAAS_BASE_URL = "https://8x8.vc"
JAAS_ISSUER = "chat"  # hard-coded by JaaS
JAAS_AUDIENCE = "jitsi"  # hard-coded by JaaS
JAAS_ALGORITHM = "RS256"
APP_ID_PREFIX = "vpaas-magic-cookie-"
APP_ID_PATTERN = re.compile(re.escape(APP_ID_PREFIX) + r"[0-9A-Za-z]+")

# The feature keys JaaS documents (the last two only matter where advanced branding makes chat
# and polls need a permission). Once `features` is present the web client denies every key left
# out, so owners get all of them, each "true" or "false".
JAAS_FEATURES: tuple[str, ...] = (
    "livestreaming",
    "recording",
    "transcription",
    "sip-inbound-call",
    "sip-outbound-call",
    "inbound-call",
    "outbound-call",
    "file-upload",
    "list-visitors",
    "send-groupchat",
    "create-polls",
)


def _flag(value: bool) -> str:
    """JaaS reads its flags as the strings "true" and "false"."""
    return "true" if value else "false"


def load_private_key(path: Path) -> RSAPrivateKey:
    """The RSA private key in a PEM or OpenSSH file, or a ValueError saying what is wrong."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"expected a readable PEM file, {path} does not exist") from None
    except OSError as error:
        raise ValueError(f"expected a readable PEM file, {path}: {error.strerror}") from None
    encrypted = f"{path} is protected by a passphrase: expected an unencrypted key"
    key: object
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise ValueError(encrypted) from None
    except (ValueError, UnsupportedAlgorithm):
        # `ssh-keygen` without `-m PEM` writes the OpenSSH format; accept that too.
        try:
            key = serialization.load_ssh_private_key(data, password=None)
        except TypeError:
            raise ValueError(encrypted) from None
        except (ValueError, UnsupportedAlgorithm):
            if b"PUBLIC KEY" in data or data.lstrip().startswith(b"ssh-rsa "):
                raise ValueError(
                    f"{path} holds a public key: expected the private key "
                    "(the public one is what the JaaS console keeps)"
                ) from None
            raise ValueError(
                f"expected an RSA private key in PEM format, {path} is not one"
            ) from None
    if not isinstance(key, RSAPrivateKey):
        raise ValueError(f"{path} is not an RSA key: JaaS tokens are signed RS256")
    return key


@dataclass(frozen=True)
class JaasSigner(LinkSigner):
    """Signs tokens for one JaaS AppID with one of its API keys."""

    app_id: str
    key_id: str
    private_key: RSAPrivateKey

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
        """The token payload, exactly in the shape of 8x8's guide."""
        if not is_valid_room_name(room):
            raise ValueError("room names must match [a-z0-9-], at most 64 characters")
        is_owner = role is Role.OWNER
        user = {"id": person.user_id, "name": person.name}
        if person.email:
            user["email"] = person.email
        user["moderator"] = _flag(is_owner)
        context: dict[str, Any] = {"user": user}
        # JaaS grants features to moderators only: a member's would be ignored, and a features
        # object with every key "false" would only switch off what the client allows by default.
        if is_owner:
            context["features"] = {
                name: _flag(bool(features.get(name, False))) for name in JAAS_FEATURES
            }
        issued = int(issued_at.timestamp())
        return {
            "iss": JAAS_ISSUER,
            "aud": JAAS_AUDIENCE,
            "sub": self.app_id,
            "room": room,
            "iat": issued,
            "nbf": issued - int(NBF_BACKDATE.total_seconds()),
            "exp": int(expires_at.timestamp()),
            "context": context,
        }

    def sign(self, claims: Mapping[str, Any]) -> str:
        """Encode the claims RS256 with the API key's kid in the header."""
        headers = {"typ": "JWT", "kid": self.key_id}
        return jwt.encode(
            dict(claims), self.private_key, algorithm=JAAS_ALGORITHM, headers=headers
        )

    def link(self, room: str, token: str) -> str:
        """The personal meeting link: 8x8.vc, the AppID, the room, the token."""
        return f"{JAAS_BASE_URL}/{self.app_id}/{room}?jwt={token}"
