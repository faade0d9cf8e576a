"""Two processes that migrate one database at the same moment: both succeed, it migrates once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import text

from storage.db import alembic_config, make_engine

ROOT = Path(__file__).resolve().parent.parent

# `python -m bot db upgrade`, held at a gate after the imports so that both processes reach
# the migration within a millisecond of each other instead of a start-up apart.
GATED_UPGRADE = """
import sys, time
from pathlib import Path
from bot.__main__ import main
import storage.db, storage.migrations
gate = Path(sys.argv[1])
while not gate.exists():
    time.sleep(0.001)
sys.exit(main(["db", "upgrade"]))
"""


def _environment(database_url: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("JITSI_", "TELEGRAM_"))}
    return {
        **keep,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "JITSI_BASE_URL": "https://meet.example.com",
        "JITSI_APP_ID": "meetbot",
        "JITSI_APP_SECRET": "test-secret-that-is-long-enough-for-hs256",
    }


def test_two_upgrades_at_once_both_succeed_and_migrate_once(
    database_url: str, tmp_path: Path
) -> None:
    gate = tmp_path / "go"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", GATED_UPGRADE, str(gate)],
            cwd=tmp_path,
            env=_environment(database_url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    time.sleep(3)  # the imports, a second or two on a busy machine
    gate.touch()
    results = [process.communicate(timeout=60) for process in processes]

    for process, (stdout, stderr) in zip(processes, results, strict=True):
        assert process.returncode == 0, stderr[-3000:]
        assert stdout.strip() == "database is up to date"
    engine = make_engine(database_url)
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        # The tables are there and usable: one row in, one row counted.
        connection.execute(
            text("INSERT INTO chat_settings (chat_id, title) VALUES (-1, 'after the race')")
        )
        assert connection.execute(text("SELECT count(*) FROM chat_settings")).scalar() == 1
    engine.dispose()
    assert versions == [(head,)]
