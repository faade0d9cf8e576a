"""The demo tells its whole story, offline."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import jwt

from bot.demo import play, play_click_time

ROOT = Path(__file__).resolve().parent.parent


def _role(link: str) -> str:
    claims = jwt.decode(link.split("jwt=")[1], options={"verify_signature": False})
    return str(claims["context"]["user"]["affiliation"])


async def test_demo_story_happens() -> None:
    out = io.StringIO()
    result = await play(out)
    transcript = out.getvalue()
    assert {name: _role(link) for name, link in result["links"].items()} == {
        "Alice": "owner",
        "Bob": "member",
        "Carol": "member",
        "Dan": "member",
    }
    assert "@erin" in result["summary"] and "4 of 5" in result["summary"]
    assert result["late_link"] is not None and _role(result["late_link"]) == "member"
    assert "5 of 5" in transcript
    assert "is owner (moderator=True)" in transcript


def test_demo_command_runs_as_a_newcomer_would(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Erin taps" in result.stdout and "jwt=" in result.stdout


async def test_click_time_demo_opens_one_link_before_and_after_a_demotion() -> None:
    out = io.StringIO()
    result = await play_click_time(out)
    transcript = out.getvalue()
    assert result["roles"] == ["owner", "member"]
    assert "Bob opens his link" in transcript and "Bob opens the same link again" in transcript
    assert "is owner (moderator=True)" in transcript
    assert "is member (moderator=False)" in transcript
    # The messages carry the bot's /j/ link, never a token.
    assert "jwt=" not in transcript
