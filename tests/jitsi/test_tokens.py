"""Every claim rule of JITSI.md, checked by decoding the tokens with PyJWT."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st

from bot.config import token_signer
from bot.jitsi import (
    FEATURES,
    ROOM_NAME_MAX,
    Person,
    Role,
    default_features,
    is_valid_room_name,
    make_room_name,
    resolve_features,
)
from tests.helpers import decode_token, make_settings

NOW = datetime(2026, 12, 1, 9, 50, tzinfo=UTC)
END = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)


def _link(settings_overrides: dict[str, object] | None = None, **kwargs: object) -> str:
    signer = token_signer(make_settings(**(settings_overrides or {})))
    role = kwargs.pop("role", Role.MEMBER)
    assert isinstance(role, Role)
    return signer.personal_link(
        person=Person(user_id="tg-42", name="Alice", email=kwargs.pop("email", None)),  # type: ignore[arg-type]
        room="weekly-sync-k3x9qa",
        role=role,
        features=resolve_features(role),
        issued_at=NOW,
        expires_at=END + timedelta(minutes=60),
    )


def _token(link: str) -> str:
    return link.split("?jwt=", 1)[1]


def _decode(link: str, audience: str = "meetbot") -> dict[str, Any]:
    return decode_token(_token(link), audience)


def test_header_is_hs256_jwt() -> None:
    header = jwt.get_unverified_header(_token(_link()))
    assert header == {"alg": "HS256", "typ": "JWT"}


def test_owner_claims() -> None:
    claims = _decode(_link(role=Role.OWNER))
    user = claims["context"]["user"]  # type: ignore[index]
    assert user["affiliation"] == "owner"
    assert user["moderator"] is True
    assert claims["moderator"] is True
    assert all(claims["context"]["features"][name] is True for name in FEATURES)  # type: ignore[index]


def test_member_claims() -> None:
    claims = _decode(_link(role=Role.MEMBER))
    user = claims["context"]["user"]  # type: ignore[index]
    assert user["affiliation"] == "member"
    assert user["moderator"] is False
    assert claims["moderator"] is False
    features = claims["context"]["features"]  # type: ignore[index]
    assert set(features) == set(FEATURES)
    assert features["screen-sharing"] is True
    assert features["recording"] is False
    assert features["livestreaming"] is False


def test_standard_claims_and_times() -> None:
    claims = _decode(_link())
    assert claims["iss"] == "meetbot"
    assert claims["aud"] == "meetbot"
    assert claims["sub"] == "meet.example.com"
    assert claims["room"] == "weekly-sync-k3x9qa"
    assert claims["iat"] == int(NOW.timestamp())
    # nbf: never later than issue, backdated by at most 60 s (Jitsi has no leeway).
    assert int(NOW.timestamp()) - 60 <= claims["nbf"] <= int(NOW.timestamp())  # type: ignore[operator]
    assert claims["exp"] == int((END + timedelta(minutes=60)).timestamp())
    for name in ("iat", "nbf", "exp"):
        assert type(claims[name]) is int


def test_user_values_are_strings_or_booleans_and_missing_email_is_left_out() -> None:
    user = _decode(_link())["context"]["user"]  # type: ignore[index]
    assert "email" not in user
    assert all(isinstance(value, str | bool) for value in user.values())
    with_email = _decode(_link(email="a@example.com"))["context"]["user"]  # type: ignore[index]
    assert with_email["email"] == "a@example.com"


def test_audience_and_domain_settings() -> None:
    claims = _decode(
        _link({"jitsi_audience": "jitsi", "jitsi_domain": "meet.jitsi"}), audience="jitsi"
    )
    assert claims["aud"] == "jitsi"
    assert claims["sub"] == "meet.jitsi"


def test_tenant_becomes_sub_and_is_in_the_link() -> None:
    link = _link({"jitsi_base_url": "https://meet.example.com/acme", "jitsi_domain": "x.y"})
    assert link.startswith("https://meet.example.com/acme/weekly-sync-k3x9qa?jwt=")
    assert _decode(link)["sub"] == "acme"


def test_rs256_with_kid(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "jitsi.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    link = _link(
        {"jitsi_app_secret": None, "jitsi_private_key_file": key_file, "jitsi_key_id": "bot/1"}
    )
    token = _token(link)
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT", "kid": "bot/1"}
    claims = jwt.decode(
        token,
        key.public_key(),
        algorithms=["RS256"],
        audience="meetbot",
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    assert claims["room"] == "weekly-sync-k3x9qa"


def test_feature_layers() -> None:
    features = resolve_features(Role.MEMBER, {"recording": True}, {"screen-sharing": False})
    assert features["recording"] is True
    assert features["screen-sharing"] is False
    assert default_features(Role.OWNER)["livestreaming"] is True


@pytest.mark.parametrize(
    "title",
    [
        "Weekly sync",
        "🎉🎉🎉",
        "Планёрка отдела",
        "x" * 500,
        "!!!???...",
        "",
        "Café Zürich — Q&A",
        "ÄÖÜ ÉÈ",
    ],
)
def test_room_names_are_always_valid(title: str) -> None:
    room = make_room_name(title)
    assert is_valid_room_name(room)
    assert len(room) <= ROOM_NAME_MAX
    assert room == room.lower()


def test_readable_room_names() -> None:
    assert make_room_name("Weekly sync", suffix="abc123") == "weekly-sync-abc123"
    assert make_room_name("Café Zürich", suffix="abc123") == "cafe-zurich-abc123"
    assert make_room_name("Планёрка", suffix="abc123") == "meeting-abc123"


def test_room_names_are_unique() -> None:
    rooms = {make_room_name("Weekly sync") for _ in range(500)}
    assert len(rooms) == 500


@given(st.text(max_size=600))
def test_any_title_gives_a_valid_room(title: str) -> None:
    room = make_room_name(title)
    assert is_valid_room_name(room)
    assert set(room) <= set(string.ascii_lowercase + string.digits + "-")


def test_refuses_invalid_room() -> None:
    signer = token_signer(make_settings())
    with pytest.raises(ValueError, match="room"):
        signer.claims(
            person=Person("tg-1", "A"),
            room="Not Valid",
            role=Role.MEMBER,
            features={},
            issued_at=NOW,
            expires_at=END,
        )
