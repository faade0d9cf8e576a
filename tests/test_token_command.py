"""`python -m bot token` as a subprocess: one link on stdout, or one line on stderr and exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from tests.helpers import SECRET

ROOT = Path(__file__).resolve().parent.parent
ENV = {
    "JITSI_BASE_URL": "https://meet.example.com",
    "JITSI_APP_ID": "meetbot",
    "JITSI_APP_SECRET": SECRET,
    "PYTHONPATH": str(ROOT),
}


def _run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JITSI_", "TELEGRAM_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", "token", *args],
        cwd=tmp_path,
        env={**env, **ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_prints_one_owner_link(tmp_path: Path) -> None:
    result = _run(
        "--room", "weekly-sync", "--name", "Alice", "--email", "a@example.com",
        "--role", "owner", "--duration", "45", "--feature", "recording=off",
        tmp_path=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("https://meet.example.com/weekly-sync?jwt=")
    claims = jwt.decode(
        lines[0].split("jwt=")[1], SECRET, algorithms=["HS256"], audience="meetbot"
    )
    assert claims["context"]["user"]["affiliation"] == "owner"
    assert claims["context"]["user"]["email"] == "a@example.com"
    assert claims["context"]["features"]["recording"] is False
    assert claims["context"]["features"]["livestreaming"] is True
    assert claims["exp"] - claims["iat"] == pytest.approx((45 + 60) * 60, abs=5)


def test_member_link_with_start(tmp_path: Path) -> None:
    result = _run(
        "--room", "r1", "--name", "Bob", "--start", "2030-01-01T10:00:00+01:00",
        tmp_path=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().split("jwt=")[1]
    claims = jwt.decode(
        token, SECRET, algorithms=["HS256"], audience="meetbot", options={"verify_nbf": False}
    )
    assert claims["context"]["user"]["affiliation"] == "member"
    assert claims["context"]["user"]["moderator"] is False


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--room", "Bad Room", "--name", "A"], "--room"),
        (["--room", "r", "--name", "A", "--role", "king"], "--role"),
        (["--room", "r", "--name", "A", "--start", "tomorrow"], "--start"),
        (["--room", "r", "--name", "A", "--start", "2030-01-01T10:00"], "time zone"),
        (["--room", "r", "--name", "A", "--duration", "0"], "--duration"),
        (["--room", "r", "--name", "A", "--feature", "teleport=on"], "--feature"),
        (["--name", "A"], "--room"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    result = _run(*args, tmp_path=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
