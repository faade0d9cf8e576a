"""A JaaS account for tests: an AppID, an API key's kid and its RSA key pair."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.config import Settings
from tests.helpers import make_settings

APP_ID = "vpaas-magic-cookie-1fc542a3e4414a44b2611668195e2bfe"
KEY_ID = f"{APP_ID}/4f4910"


@cache
def private_key() -> rsa.RSAPrivateKey:
    """The API key's private half (one per test run: RSA keys take a moment to make)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write_private_key(path: Path, key_format: Any = serialization.PrivateFormat.PKCS8) -> Path:
    """The private key as an unencrypted file, PEM (PKCS#8, PKCS#1) or OpenSSH."""
    path.write_bytes(
        private_key().private_bytes(
            serialization.Encoding.PEM, key_format, serialization.NoEncryption()
        )
    )
    return path


def jaas_values(key_file: Path) -> dict[str, Any]:
    """The settings of a JaaS bot (no JITSI_APP_SECRET: JaaS has none)."""
    return {
        "jitsi_provider": "jaas",
        "jitsi_app_secret": None,
        "jaas_app_id": APP_ID,
        "jaas_key_id": KEY_ID,
        "jaas_private_key_file": key_file,
    }


def jaas_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Test settings for a JaaS bot, with its key in tmp_path."""
    key_file = write_private_key(tmp_path / "jaas-private.pem")
    return make_settings(**{**jaas_values(key_file), **overrides})


def decode_jaas(token: str) -> dict[str, Any]:
    """A JaaS token's claims, checked with the public key and JaaS's aud and iss (not the times)."""
    claims: dict[str, Any] = jwt.decode(
        token,
        private_key().public_key(),
        algorithms=["RS256"],
        audience="jitsi",
        issuer="chat",
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    return claims
