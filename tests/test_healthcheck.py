"""`python -m bot healthcheck`: 0 while the bot sweeps, 1 with one line saying why otherwise."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.__main__ import main
from bot.sandbox import Sandbox
from storage.db import make_engine, session_scope, upgrade_database
from storage.models import Heartbeat
from tests.test_two_processes import _environment

HOST = socket.gethostname()


async def _healthcheck(env: dict[str, str], cwd: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "healthcheck",
        cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_healthy_while_the_bot_runs_and_unhealthy_once_its_sweeps_stop(
    sandbox: Sandbox, database_url: str, tmp_path: Path
) -> None:
    env = _environment(sandbox, database_url)
    bot = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run",
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await sandbox.wait_for(lambda: sandbox.calls_to("setMyCommands"), timeout=30)
        # The start-up sweep comes right after the menus.
        for _ in range(100):
            code, output = await _healthcheck(env, tmp_path)
            if code == 0:
                break
            assert output == f"unhealthy: no bot on {HOST} has finished a delivery sweep yet\n"
        assert code == 0, output
        assert output.startswith(f"healthy: the last delivery sweep on {HOST} was ")
        assert output.count("\n") == 1
    finally:
        bot.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(bot.communicate(), timeout=30)
    assert bot.returncode == 0, stderr.decode()[-2000:]

    # Three minutes without a sweep: the bot hangs or is gone.
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        session.execute(
            update(Heartbeat).values(swept_at=datetime.now(UTC) - timedelta(minutes=3))
        )
    engine.dispose()
    code, output = await _healthcheck(env, tmp_path)
    assert code == 1
    assert re.fullmatch(
        f"unhealthy: the last delivery sweep on {re.escape(HOST)} was 18\\d s ago"
        r" \(more than 120 s\)\n",
        output,
    ), output


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    for name, value in {
        "JITSI_BASE_URL": "https://meet.example.com",
        "JITSI_APP_ID": "meetbot",
        "JITSI_APP_SECRET": "test-secret-that-is-long-enough-for-hs256",
    }.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_a_database_no_bot_has_swept_is_unhealthy(
    settings_env: pytest.MonkeyPatch, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings_env.setenv("DATABASE_URL", database_url)
    engine = make_engine(database_url)
    upgrade_database(engine)
    engine.dispose()
    assert main(["healthcheck"]) == 1
    assert capsys.readouterr().err == (
        f"unhealthy: no bot on {HOST} has finished a delivery sweep yet\n"
    )


def test_a_database_that_does_not_answer_is_unhealthy(
    settings_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is no database, just a file in its place" * 100)
    settings_env.setenv("DATABASE_URL", f"sqlite:///{broken}")
    assert main(["healthcheck"]) == 1
    assert capsys.readouterr().err == (
        "unhealthy: the database does not answer: file is not a database\n"
    )


def test_a_missing_database_file_is_unhealthy_and_not_created(
    settings_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings_env.setenv("DATABASE_URL", "sqlite:///data/meetings.db")
    assert main(["healthcheck"]) == 1
    assert capsys.readouterr().err == "unhealthy: there is no database file at data/meetings.db\n"
    assert not (tmp_path / "data").exists()


def test_a_bad_setting_is_unhealthy_with_its_line(
    settings_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings_env.delenv("JITSI_APP_ID")
    assert main(["healthcheck"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("unhealthy: JITSI_APP_ID") and error.count("\n") == 1
