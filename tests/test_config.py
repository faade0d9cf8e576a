"""Each bad setting gives one line naming the variable; `run` exits with it, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent
GOOD = {
    "JITSI_BASE_URL": "https://meet.example.com",
    "JITSI_APP_ID": "meetbot",
    "JITSI_APP_SECRET": "s3cret-value",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("JITSI_", "TELEGRAM_", "ADMIN_", "DEFAULT_", "REMIND_", "TOKEN_")):
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
