"""`python -m bot run` as a real process against the sandbox: answers, logs no secret, stops cleanly."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import pytest

from bot.sandbox import Sandbox
from tests.conftest import BOT_TOKEN
from tests.helpers import SECRET, free_port

ROOT = Path(__file__).resolve().parent.parent


def _environment(sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("JITSI_", "TELEGRAM_"))}
    return {
        **keep,
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_API_BASE_URL": sandbox.base_url,
        "JITSI_BASE_URL": "https://meet.example.com",
        "JITSI_APP_ID": "meetbot",
        "JITSI_APP_SECRET": SECRET,
        "DATABASE_URL": f"sqlite:///{tmp_path}/run.db",
        "LOG_LEVEL": "DEBUG",
    }


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_run_answers_and_never_logs_secrets(
    sandbox: Sandbox, tmp_path: Path, mode: str
) -> None:
    extra: list[str] = []
    if mode == "webhook":
        port = free_port()
        extra = [
            "--webhook-url", f"http://127.0.0.1:{port}/hook", "--port", str(port),
            "--secret-token", "webhook-secret",
        ]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", *extra,
        cwd=tmp_path, env=_environment(sandbox, tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        alice = sandbox.create_user("Alice", username="alice")
        await sandbox.wait_for(lambda: sandbox.calls_to("setMyCommands"), timeout=30)
        if mode == "webhook":
            await sandbox.wait_for(lambda: sandbox.webhook.url, timeout=30)
        sandbox.send_text(alice, "/start")
        reply = await sandbox.wait_for_message(alice, contains="Hello, Alice!", timeout=30)
        assert "/schedule" in reply.text
        # A meeting in ten minutes: the join window is open, so /link hands out a token link,
        # which python-telegram-bot logs at DEBUG as part of the request.
        sandbox.send_text(alice, "/schedule Sync | in 10 minutes | 30m")
        preview = await sandbox.wait_for_message(alice, contains="Please check", timeout=30)
        sandbox.press_button(alice, preview, "Confirm")
        saved = await sandbox.wait_for_message(alice, contains="You are the owner", timeout=30)
        code = saved.text.split("· ")[1].split()[0]
        sandbox.send_text(alice, f"/link {code}")
        await sandbox.wait_for_message(alice, contains="jwt=", timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        _stdout, stderr_bytes = await asyncio.wait_for(process.communicate(), timeout=30)
    stderr = stderr_bytes.decode()
    assert process.returncode == 0, stderr[-2000:]
    assert "DEBUG" in stderr  # the log was written at the level asked for
    assert BOT_TOKEN not in stderr and BOT_TOKEN.split(":")[1] not in stderr
    assert SECRET not in stderr
    assert "jwt=[redacted]" in stderr  # the link was logged at DEBUG, masked
    assert re.search(r"jwt=(?!\[redacted\])", stderr) is None
    assert "eyJ" not in stderr
    assert (tmp_path / "run.db").exists()
