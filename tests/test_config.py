"""Each bad setting gives one line naming the variable; `run` exits with it, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from bot.config import Settings, SettingsError, load_settings, token_signer
from bot.jitsi import Person, Role, resolve_features

ROOT = Path(__file__).resolve().parent.parent
GOOD = {
    "JITSI_BASE_URL": "https://meet.example.com",
    "JITSI_APP_ID": "meetbot",
    "JITSI_APP_SECRET": "s3cret-value",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(
            ("JITSI_", "JAAS_", "TELEGRAM_", "ADMIN_", "DEFAULT_", "REMIND_", "TOKEN_")
        ):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


def _load(monkeypatch: pytest.MonkeyPatch, **values: str) -> object:
    for name, value in {**GOOD, **values}.items():
        if value == "<unset>":
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return load_settings()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"JITSI_APP_SECRET": "<unset>"}, "JITSI_APP_SECRET or JITSI_PRIVATE_KEY_FILE is missing"),
        ({"JITSI_PRIVATE_KEY_FILE": "key.pem"}, "JITSI_APP_SECRET and JITSI_PRIVATE_KEY_FILE"),
        ({"JITSI_BASE_URL": "meet.example.com"}, "JITSI_BASE_URL: expected an http"),
        ({"JITSI_BASE_URL": "https://meet.example.com/a/b"}, "JITSI_BASE_URL: expected at most"),
        ({"JITSI_BASE_URL": "<unset>"}, "JITSI_BASE_URL is missing"),
        ({"JITSI_APP_ID": "<unset>"}, "JITSI_APP_ID is missing"),
        ({"DEFAULT_TIMEZONE": "Mars/Olympus"}, "DEFAULT_TIMEZONE: expected an IANA time zone"),
        ({"REMIND_BEFORE_MINUTES": "-5"}, "REMIND_BEFORE_MINUTES: expected a whole number"),
        ({"TOKEN_GRACE_MINUTES": "ten"}, "TOKEN_GRACE_MINUTES: expected a whole number"),
        ({"ADMIN_IDS": "12,abc"}, "ADMIN_IDS: expected Telegram user ids"),
        ({"DEFAULT_LANGUAGE": "xx"}, "DEFAULT_LANGUAGE: expected one of"),
        ({"TELEGRAM_API_BASE_URL": "ftp://x"}, "TELEGRAM_API_BASE_URL: expected an http"),
    ],
)
def test_each_bad_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, values: dict[str, str], expected: str
) -> None:
    if "JITSI_PRIVATE_KEY_FILE" in values:
        Path("key.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    with pytest.raises(SettingsError) as error:
        _load(monkeypatch, **values)
    message = str(error.value)
    assert expected in message
    assert "\n" not in message


JAAS_APP = "vpaas-magic-cookie-1fc542a3e4414a44b2611668195e2bfe"
GOOD_JAAS = {
    "JITSI_BASE_URL": "<unset>",
    "JITSI_APP_ID": "<unset>",
    "JITSI_APP_SECRET": "<unset>",
    "JITSI_PROVIDER": "jaas",
    "JAAS_APP_ID": JAAS_APP,
    "JAAS_KEY_ID": f"{JAAS_APP}/4f4910",
    "JAAS_PRIVATE_KEY_FILE": "jaas.pem",
}


def _pem(key: Any, password: bytes | None = None) -> bytes:
    encryption: Any = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
    )


def _key_files() -> None:
    """The key files the JaaS cases point at, in the test's working directory."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    Path("jaas.pem").write_bytes(_pem(key))
    Path("locked.pem").write_bytes(_pem(key, b"passphrase"))
    Path("public.pem").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    Path("ec.pem").write_bytes(_pem(ec.generate_private_key(ec.SECP256R1())))
    Path("garbage.pem").write_text("not a key at all\n")
    Path("a-directory").mkdir()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"JITSI_PROVIDER": "8x8"}, "JITSI_PROVIDER: expected self-hosted or jaas"),
        ({"JAAS_APP_ID": "<unset>"}, "JAAS_APP_ID is missing: expected the AppID"),
        ({"JAAS_APP_ID": "my-app"}, "JAAS_APP_ID: expected the AppID from the JaaS console"),
        ({"JAAS_KEY_ID": "<unset>"}, "JAAS_KEY_ID is missing: expected the Key ID (kid)"),
        ({"JAAS_KEY_ID": "4f4910"}, f"JAAS_KEY_ID: expected {JAAS_APP}/<key>"),
        ({"JAAS_KEY_ID": "vpaas-magic-cookie-other/4f4910"}, f"JAAS_KEY_ID: expected {JAAS_APP}/"),
        ({"JAAS_KEY_ID": f"{JAAS_APP}/"}, f"JAAS_KEY_ID: expected {JAAS_APP}/<key>"),
        ({"JAAS_PRIVATE_KEY_FILE": "<unset>"}, "JAAS_PRIVATE_KEY_FILE is missing"),
        ({"JAAS_PRIVATE_KEY_FILE": "gone.pem"}, "JAAS_PRIVATE_KEY_FILE: expected a readable PEM "
         "file, gone.pem does not exist"),
        ({"JAAS_PRIVATE_KEY_FILE": "a-directory"}, "JAAS_PRIVATE_KEY_FILE: expected a readable "
         "PEM file, a-directory: Is a directory"),
        ({"JAAS_PRIVATE_KEY_FILE": "public.pem"}, "JAAS_PRIVATE_KEY_FILE: public.pem holds a "
         "public key"),
        ({"JAAS_PRIVATE_KEY_FILE": "ec.pem"}, "JAAS_PRIVATE_KEY_FILE: ec.pem is not an RSA key"),
        ({"JAAS_PRIVATE_KEY_FILE": "garbage.pem"}, "JAAS_PRIVATE_KEY_FILE: expected an RSA "
         "private key in PEM format"),
        ({"JAAS_PRIVATE_KEY_FILE": "locked.pem"}, "JAAS_PRIVATE_KEY_FILE: locked.pem is "
         "protected by a passphrase"),
        ({"JITSI_APP_SECRET": "s3cret"}, "JITSI_APP_SECRET is set but JITSI_PROVIDER is jaas"),
        ({"JITSI_PROVIDER": "<unset>"}, "JAAS_APP_ID is set but JITSI_PROVIDER is self-hosted"),
    ],
)  # fmt: skip
def test_each_bad_jaas_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, values: dict[str, str], expected: str
) -> None:
    _key_files()
    with pytest.raises(SettingsError) as error:
        _load(monkeypatch, **{**GOOD_JAAS, **values})
    message = str(error.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_jaas_needs_no_jitsi_server_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    _key_files()
    settings = _load(monkeypatch, **{**GOOD_JAAS, "JITSI_PROVIDER": "JaaS"})
    assert isinstance(settings, Settings)
    assert settings.jitsi_provider == "jaas"
    link = token_signer(settings).personal_link(
        person=Person(user_id="tg-1", name="Alice"),
        room="weekly-sync",
        role=Role.MEMBER,
        features=resolve_features(Role.MEMBER),
        issued_at=datetime(2026, 12, 1, 9, 50, tzinfo=UTC),
        expires_at=datetime(2026, 12, 1, 11, 0, tzinfo=UTC),
    )
    assert link.startswith(f"https://8x8.vc/{JAAS_APP}/weekly-sync?jwt=")


def test_good_settings_and_derived_values(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _load(monkeypatch, ADMIN_IDS="1, 2,3", DEFAULT_LANGUAGE="de-AT")
    assert settings.admin_ids == frozenset({1, 2, 3})  # type: ignore[attr-defined]
    assert settings.default_language == "de"  # type: ignore[attr-defined]
    assert settings.token_audience == "meetbot"  # type: ignore[attr-defined]
    assert settings.token_subject == "meet.example.com"  # type: ignore[attr-defined]


def test_run_without_bot_token_exits_with_one_line(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TELEGRAM_")}
    env.update(GOOD)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert (
        result.stderr.strip()
        == "TELEGRAM_BOT_TOKEN is missing: expected the token from @BotFather"
    )
    assert "Traceback" not in result.stderr


def test_run_with_a_wrong_jaas_kid_exits_with_one_line(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JITSI_", "JAAS_", "TELEGRAM_"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN="1:x",
        JITSI_PROVIDER="jaas",
        JAAS_APP_ID=JAAS_APP,
        JAAS_KEY_ID="vpaas-magic-cookie-other/4f4910",
        JAAS_PRIVATE_KEY_FILE="jaas.pem",
        PYTHONPATH=str(ROOT),
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr == (
        f"JAAS_KEY_ID: expected {JAAS_APP}/<key>, the kid of an API key of JAAS_APP_ID; "
        "vpaas-magic-cookie-other/4f4910 is not\n"
    )


def test_run_with_bad_setting_exits_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, **GOOD, "TELEGRAM_BOT_TOKEN": "1:x", "DEFAULT_TIMEZONE": "Nowhere/City"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith("DEFAULT_TIMEZONE: expected an IANA time zone")
    assert len(result.stderr.strip().splitlines()) == 1
