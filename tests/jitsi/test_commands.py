"""The jitsi-config and jitsi-check commands: output and exit codes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.jitsi import commands
from bot.jitsi.checks import check_server_config
from bot.jitsi.commands import default_paths, jitsi_check_main, jitsi_config_main
from tests.jitsi.helpers import (
    DEBIAN,
    DEBIAN_CONF,
    DEBIAN_PROPS,
    DEBIAN_PROSODY,
    DEBIAN_WEB,
    SECRET,
    SEED,
    make_settings,
    seed_settings,
)


def test_default_paths_follow_the_debian_layout(tmp_path: Path) -> None:
    assert default_paths(tmp_path) == ([], [], None)
    shutil.copytree(DEBIAN / "prosody", tmp_path / "etc" / "prosody")
    shutil.copytree(DEBIAN / "jicofo", tmp_path / "etc" / "jitsi" / "jicofo")
    shutil.copytree(DEBIAN / "meet", tmp_path / "etc" / "jitsi" / "meet")
    prosody, jicofo, web = default_paths(tmp_path)
    etc = tmp_path / "etc"
    assert prosody == [
        etc / "prosody" / "prosody.cfg.lua",
        etc / "prosody" / "conf.d" / "meet.example.com.cfg.lua",
    ]
    assert jicofo == [
        etc / "jitsi" / "jicofo" / "jicofo.conf",
        etc / "jitsi" / "jicofo" / "sip-communicator.properties",
    ]
    assert web == etc / "jitsi" / "meet" / "meet.example.com-config.js"
    report = check_server_config(make_settings(), prosody=prosody, jicofo=jicofo, web_config=web)
    assert report.exit_code == 0


# Command line ---------------------------------------------------------------------------------


def test_config_command_prints_the_blocks(capsys: pytest.CaptureFixture[str]) -> None:
    assert jitsi_config_main(make_settings(), ["--bot-username", "MeetPlannerBot"]) == 0
    out = capsys.readouterr().out
    assert "https://t.me/MeetPlannerBot" in out
    assert SECRET not in out
    assert jitsi_config_main(make_settings(), ["--reveal-secret"]) == 0
    assert SECRET in capsys.readouterr().out


def test_config_command_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert jitsi_config_main(make_settings(), ["--bot-username", "no way"]) == 2
    assert "bot username" in capsys.readouterr().out
    assert jitsi_config_main(make_settings(), ["--unknown"]) == 2
    assert jitsi_config_main(make_settings(), ["--help"]) == 0
    assert "--reveal-secret" in capsys.readouterr().out


def test_check_command_exit_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    files = ["--prosody", str(DEBIAN_PROSODY[0]), "--jicofo", str(DEBIAN_CONF)]
    files += ["--jicofo", str(DEBIAN_PROPS), "--web-config", str(DEBIAN_WEB)]
    assert jitsi_check_main(make_settings(), files) == 0
    assert "no problems found" in capsys.readouterr().out

    seed = ["--prosody", str(SEED / "jitsi.my-domain.tld.cfg.lua")]
    seed += ["--jicofo", str(SEED / "sip-communicator.properties")]
    assert jitsi_check_main(seed_settings(), seed) == 1
    out = capsys.readouterr().out
    assert "sip-communicator.properties:2" in out
    assert "EXT_JWT" in out

    assert jitsi_check_main(make_settings(), ["--jicofo", str(tmp_path / "nope.conf")]) == 2
    assert "Could not read" in capsys.readouterr().out
    assert jitsi_check_main(make_settings(), ["--bogus"]) == 2


def test_check_command_without_files_reads_the_default_paths(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(commands, "default_paths", lambda: ([], [], None))
    assert jitsi_check_main(make_settings(), []) == 2
    assert "--prosody" in capsys.readouterr().out
    debian = (DEBIAN_PROSODY, [DEBIAN_CONF, DEBIAN_PROPS], DEBIAN_WEB)
    monkeypatch.setattr(commands, "default_paths", lambda: debian)
    assert jitsi_check_main(make_settings(), []) == 0
