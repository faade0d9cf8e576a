"""JaaS (8x8.vc) tokens, links and commands, held to 8x8's "The Jitsi JSON Web Token (JWT)"."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.config import token_signer
from bot.jitsi import FEATURES, JAAS_FEATURES, Person, Role, resolve_features
from bot.jitsi.commands import jitsi_check_main, jitsi_config_main
from tests.jitsi.jaas_helpers import (
    APP_ID,
    KEY_ID,
    decode_jaas,
    jaas_settings,
    private_key,
    write_private_key,
)

ROOT = Path(__file__).resolve().parent.parent.parent
NOW = datetime(2026, 12, 1, 9, 50, tzinfo=UTC)
END = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
ROOM = "weekly-sync-k3x9qa"
LINK = re.compile(
    r"https://8x8\.vc/(vpaas-magic-cookie-[0-9a-f]+)/([a-z0-9-]+)\?jwt=([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)"
)


@pytest.fixture(autouse=True)
def _no_jaas_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("JAAS_"):
            monkeypatch.delenv(name)


def _link(
    tmp_path: Path,
    role: Role,
    *,
    email: str | None = "alice@example.com",
    meeting_defaults: dict[str, bool] | None = None,
    personal: dict[str, bool] | None = None,
) -> str:
    signer = token_signer(jaas_settings(tmp_path))
    return signer.personal_link(
        person=Person(user_id="tg-42", name="Alice", email=email),
        room=ROOM,
        role=role,
        features=resolve_features(role, meeting_defaults, personal),
        issued_at=NOW,
        expires_at=END + timedelta(minutes=60),
    )


def _token(link: str) -> str:
    match = LINK.fullmatch(link)
    assert match is not None, link
    return match.group(3)


def _claims(link: str) -> dict[str, Any]:
    return decode_jaas(_token(link))


def _times() -> dict[str, int]:
    issued = int(NOW.timestamp())
    return {"iat": issued, "nbf": issued - 60, "exp": int(END.timestamp()) + 3600}


# Tokens -----------------------------------------------------------------------------------------


def test_header_is_rs256_with_the_api_keys_kid(tmp_path: Path) -> None:
    header = jwt.get_unverified_header(_token(_link(tmp_path, Role.OWNER)))
    assert header == {"alg": "RS256", "typ": "JWT", "kid": KEY_ID}


def test_owner_token_is_a_moderator_with_every_jaas_feature(tmp_path: Path) -> None:
    assert _claims(_link(tmp_path, Role.OWNER)) == {
        "iss": "chat",
        "aud": "jitsi",
        "sub": APP_ID,
        "room": ROOM,
        **_times(),
        "context": {
            "user": {
                "id": "tg-42",
                "name": "Alice",
                "email": "alice@example.com",
                "moderator": "true",
            },
            "features": dict.fromkeys(JAAS_FEATURES, "true"),
        },
    }


def test_member_token_is_no_moderator_and_has_no_features(tmp_path: Path) -> None:
    # JaaS grants features to moderators only: a member's token carries none.
    assert _claims(_link(tmp_path, Role.MEMBER)) == {
        "iss": "chat",
        "aud": "jitsi",
        "sub": APP_ID,
        "room": ROOM,
        **_times(),
        "context": {
            "user": {
                "id": "tg-42",
                "name": "Alice",
                "email": "alice@example.com",
                "moderator": "false",
            }
        },
    }


def test_a_member_granted_recording_still_gets_no_features(tmp_path: Path) -> None:
    claims = _claims(_link(tmp_path, Role.MEMBER, personal={"recording": True}))
    assert "features" not in claims["context"]


def test_owner_features_follow_the_meeting_and_the_person_as_strings(tmp_path: Path) -> None:
    link = _link(
        tmp_path,
        Role.OWNER,
        meeting_defaults={"recording": False, "screen-sharing": False},
        personal={"livestreaming": False, "transcription": True},
    )
    features = _claims(link)["context"]["features"]
    assert list(features) == list(JAAS_FEATURES)
    assert features["recording"] == "false"
    assert features["livestreaming"] == "false"
    assert features["transcription"] == "true"
    assert features["outbound-call"] == "true"
    assert "screen-sharing" not in features  # not a key JaaS knows


def test_feature_keys_are_the_ones_8x8_documents() -> None:
    assert JAAS_FEATURES == (
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
    assert set(JAAS_FEATURES) <= set(FEATURES)  # every one can be set per meeting and person


def test_no_email_means_no_email_claim(tmp_path: Path) -> None:
    user = _claims(_link(tmp_path, Role.MEMBER, email=None))["context"]["user"]
    assert user == {"id": "tg-42", "name": "Alice", "moderator": "false"}


def test_link_is_8x8_app_id_room_and_token(tmp_path: Path) -> None:
    match = LINK.fullmatch(_link(tmp_path, Role.OWNER))
    assert match is not None
    assert match.group(1) == APP_ID
    assert match.group(2) == ROOM


def test_another_key_cannot_verify_the_token(tmp_path: Path) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            _token(_link(tmp_path, Role.OWNER)),
            stranger.public_key(),
            algorithms=["RS256"],
            audience="jitsi",
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )


def test_room_names_jitsi_would_not_match_are_refused(tmp_path: Path) -> None:
    signer = token_signer(jaas_settings(tmp_path))
    with pytest.raises(ValueError, match="room names"):
        signer.claims(
            person=Person(user_id="tg-42", name="Alice"),
            room="Weekly Sync",
            role=Role.OWNER,
            features=resolve_features(Role.OWNER),
            issued_at=NOW,
            expires_at=END,
        )


@pytest.mark.parametrize(
    "key_format",
    [serialization.PrivateFormat.TraditionalOpenSSL, serialization.PrivateFormat.OpenSSH],
    ids=["pkcs1", "openssh"],
)
def test_keys_from_ssh_keygen_sign_too(tmp_path: Path, key_format: Any) -> None:
    # 8x8's guide makes the key with ssh-keygen -m PEM (PKCS#1); without -m PEM it is OpenSSH.
    key_file = write_private_key(tmp_path / "jaasauth.key", key_format)
    signer = token_signer(jaas_settings(tmp_path, jaas_private_key_file=key_file))
    link = signer.personal_link(
        person=Person(user_id="tg-42", name="Alice"),
        room=ROOM,
        role=Role.OWNER,
        features=resolve_features(Role.OWNER),
        issued_at=NOW,
        expires_at=END,
    )
    assert _claims(link)["context"]["user"]["moderator"] == "true"


# Commands ---------------------------------------------------------------------------------------


def test_jitsi_config_prints_the_console_steps_and_the_public_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert jitsi_config_main(jaas_settings(tmp_path), []) == 0
    out = capsys.readouterr().out
    public_key = (
        private_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    assert public_key.strip() in out
    assert "https://jaas.8x8.vc/#/apikeys" in out
    assert f"     {KEY_ID}\n" in out and f"     {APP_ID}\n" in out
    assert f"openssl rsa -in {tmp_path / 'jaas-private.pem'} -pubout" in out
    assert "PRIVATE KEY" not in out
    for server_only in ("VirtualHost", "jicofo", "prosody", "authError.html", "app_secret"):
        assert server_only not in out


def test_jitsi_check_has_nothing_to_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert jitsi_check_main(jaas_settings(tmp_path), []) == 0
    assert capsys.readouterr().out == (
        "JITSI_PROVIDER is jaas: 8x8 runs the Jitsi servers, so there are no server files to "
        "check.\n"
    )


def test_token_command_prints_a_jaas_link(tmp_path: Path) -> None:
    key_file = write_private_key(tmp_path / "jaas-private.pem")
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("JITSI_", "JAAS_", "TELEGRAM_"))
    }
    environment.update(
        JITSI_PROVIDER="jaas",
        JAAS_APP_ID=APP_ID,
        JAAS_KEY_ID=KEY_ID,
        JAAS_PRIVATE_KEY_FILE=str(key_file),
        PYTHONPATH=str(ROOT),
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "token", "--room", "weekly-sync", "--name", "Alice",
         "--email", "a@example.com", "--role", "owner", "--duration", "45",
         "--feature", "recording=off"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [link] = result.stdout.splitlines()
    assert link.startswith(f"https://8x8.vc/{APP_ID}/weekly-sync?jwt=")
    claims = _claims(link)
    assert claims["room"] == "weekly-sync"
    assert claims["context"]["user"] == {
        "id": "cli-alice",
        "name": "Alice",
        "email": "a@example.com",
        "moderator": "true",
    }
    assert claims["context"]["features"]["recording"] == "false"
    assert claims["context"]["features"]["livestreaming"] == "true"
    assert claims["exp"] - claims["iat"] == pytest.approx((45 + 60) * 60, abs=5)
