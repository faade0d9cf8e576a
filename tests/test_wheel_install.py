"""Installed from its wheel, read-only, started from an empty folder: a German user reads German."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
# What the build reads; copied so that building writes nothing into the checkout.
SOURCES = ["pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "babel.cfg", "bot", "storage"]

# Runs in the installed package only: the real bot against the sandbox, one German /help.
SCRIPT = """
import asyncio, json, sys
from datetime import UTC, datetime
from pathlib import Path

import bot, storage
from bot.clock import ManualClock
from bot.config import Settings
from bot.sandbox import RateLimits, Sandbox
from bot.sandbox.harness import BotHarness


def settings(**values):
    return Settings(
        _env_file=None,
        jitsi_base_url="https://meet.example.com",
        jitsi_app_id="meetbot",
        jitsi_app_secret="wheel-test-secret-that-is-long-enough",
        **values,
    )


async def main():
    sandbox = Sandbox("123456:WHEEL-TEST-TOKEN", "wheel_test_bot", limits=RateLimits.unlimited())
    await sandbox.start()
    clock = ManualClock(datetime(2026, 11, 28, 10, 0, tzinfo=UTC))
    harness = BotHarness(sandbox, clock, Path(sys.argv[1]), settings)
    await harness.start()
    try:
        klaus = sandbox.create_user("Klaus", username="klaus", language_code="de")
        reply = await harness.say(klaus, "/help")
    finally:
        await harness.stop()
        await sandbox.stop()
    print(json.dumps({"bot": bot.__file__, "storage": storage.__file__, "help": reply.text}))


asyncio.run(main())
"""


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under `folder` with its size and modification time."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
    }


@pytest.fixture
def read_only_install(tmp_path: Path) -> Iterator[Path]:
    """The wheel built from these sources, installed into a folder nobody may write to."""
    source = tmp_path / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo")
    for name in SOURCES:
        original = PROJECT / name
        if original.is_dir():
            shutil.copytree(original, source / name, ignore=ignore)
        else:
            shutil.copy2(original, source / name)
    wheels = tmp_path / "wheels"
    pip = (sys.executable, "-m", "pip")
    # No build isolation: setuptools and Babel come from this environment, nothing downloads.
    _run(
        *pip,
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        wheels,
        source,
        cwd=tmp_path,
    )
    (wheel,) = wheels.glob("jitsi_meeting_bot-*.whl")
    install = tmp_path / "install"
    _run(*pip, "install", "--no-deps", "-q", "--target", install, wheel, cwd=tmp_path)
    for path in [install, *install.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    yield install
    for path in [install, *install.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def test_a_german_user_reads_german_from_a_read_only_wheel_install(
    read_only_install: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    before = _snapshot(read_only_install)
    assert any(name.endswith("de/LC_MESSAGES/messages.mo") for name in before)
    env = {
        **os.environ,
        # The dependencies come from this environment, the bot only from the wheel.
        "PYTHONPATH": str(read_only_install),
        # Python's own bytecode cache is not ours to test (a read-only install skips it).
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    database = tmp_path / "data" / "meetings.db"
    database.parent.mkdir()
    output = _run(sys.executable, "-c", SCRIPT, database, cwd=empty, env=env)
    result = json.loads(output.strip().splitlines()[-1])
    assert Path(result["bot"]).is_relative_to(read_only_install)
    assert Path(result["storage"]).is_relative_to(read_only_install)
    assert "Ich plane Jitsi-Meetings" in result["help"]
    assert "/meetings: deine anstehenden Meetings" in result["help"]
    # Root ignores the read-only bits, so check that nothing was written all the same.
    assert _snapshot(read_only_install) == before
    assert list(empty.iterdir()) == []
