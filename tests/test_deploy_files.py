"""The deployment files: the Dockerfile's build script makes a working install, the compose file
passes the bot only settings it knows (mapped from docker-jitsi-meet's .env), and the systemd
unit runs the bot hardened. No container engine runs here: what it would run is run instead."""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"

# docker-jitsi-meet's .env as its env.example and jitsi-config's advice leave it.
JITSI_DOT_ENV = {
    "CONFIG": "~/.jitsi-meet-cfg",
    "HTTP_PORT": "8000",
    "HTTPS_PORT": "8443",
    "TZ": "Europe/Berlin",
    "PUBLIC_URL": "https://meet.example.com",
    "ENABLE_AUTH": "1",
    "AUTH_TYPE": "jwt",
    "JWT_APP_ID": "meetbot",
    "JWT_APP_SECRET": "a-secret-shared-with-prosody-long-enough",
    # Jitsi's own, which must not reach the bot.
    "DEFAULT_LANGUAGE": "pt-BR",
    "LOG_LEVEL": "debug",
}


# --- Dockerfile -----------------------------------------------------------------------------


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, arguments = line.partition(" ")
            pairs.append((instruction.upper(), arguments.strip()))
    return pairs


def _stages(instructions: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction, arguments in instructions:
        if instruction == "FROM":
            stages.append([])
        stages[-1].append((instruction, arguments))
    return stages


def test_the_image_runs_the_bot_as_a_user_with_the_healthcheck() -> None:
    build, final = _stages(_instructions(ROOT / "Dockerfile"))
    assert build[0][1].startswith("python:3.11-slim")
    assert final[0] == ("FROM", "python:3.11-slim")
    runs = [arguments for instruction, arguments in build if instruction == "RUN"]
    assert runs == ["PIP_NO_CACHE_DIR=1 sh /src/deploy/install.sh /src /opt/venv"]
    settings = dict(final)
    assert settings["USER"] not in {"root", "0"}
    assert "useradd" in settings["RUN"] and settings["USER"] in settings["RUN"]
    assert json.loads(settings["CMD"]) == ["python", "-m", "bot", "run"]
    options, command = settings["HEALTHCHECK"].split(" CMD ")
    assert json.loads(command) == ["python", "-m", "bot", "healthcheck"]
    assert "--interval=60s" in options.split()


def _copied(build: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(source in the context, destination) of each COPY of the build stage."""
    pairs = []
    for instruction, arguments in build:
        if instruction == "COPY":
            *sources, destination = shlex.split(arguments)
            for source in sources:
                target = (
                    destination + Path(source).name if destination.endswith("/") else destination
                )
                pairs.append((source, target))
    return pairs


def test_what_the_image_copies_exists_and_is_not_ignored() -> None:
    build, _final = _stages(_instructions(ROOT / "Dockerfile"))
    ignored = [
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for source, _destination in _copied(build):
        assert (ROOT / source).exists(), source
        assert not any(Path(source).match(pattern) for pattern in ignored), source
    # The secrets and local state stay out of the build context.
    assert {".env", ".git", ".venv", "data"} <= set(ignored)


def test_the_build_script_makes_a_working_install_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    # The build stage's context, as the Dockerfile copies it, then its one RUN step.
    build, _final = _stages(_instructions(ROOT / "Dockerfile"))
    source = tmp_path / "src"
    for original, destination in _copied(build):
        target = source / destination.removeprefix("/src/")
        if (ROOT / original).is_dir():
            shutil.copytree(
                ROOT / original, target, ignore=shutil.ignore_patterns("__pycache__", "*.mo")
            )
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / original, target)
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PATH"] = os.pathsep.join(
        part for part in env.get("PATH", "").split(os.pathsep) if ".venv" not in part
    )
    built = subprocess.run(
        ["sh", str(source / "deploy" / "install.sh"), str(source), str(venv)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr

    # The installed bot, from an empty folder: it migrates, and its healthcheck answers.
    work = tmp_path / "work"
    work.mkdir()
    env.update(
        DATABASE_URL=f"sqlite:///{work}/data/meetings.db",
        JITSI_BASE_URL="https://meet.example.com",
        JITSI_APP_ID="meetbot",
        JITSI_APP_SECRET="a-secret-shared-with-prosody-long-enough",
    )
    python = str(venv / "bin" / "python")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [python, *args], cwd=work, env=env, capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip

    located = run("-c", "import bot; print(bot.__file__)")
    assert Path(located.stdout.strip()).is_relative_to(venv), located.stderr
    upgraded = run("-m", "bot", "db", "upgrade")
    assert (upgraded.returncode, upgraded.stdout) == (0, "database is up to date\n"), upgraded
    health = run("-m", "bot", "healthcheck")
    assert health.returncode == 1
    assert health.stderr == (
        f"unhealthy: no bot on {socket.gethostname()} has finished a delivery sweep yet\n"
    )


# --- docker-compose.yml ---------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return loaded


def _interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?error} substitution."""

    def substitute(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
        present = variables.get(name, "")
        if operator == ":?" and not present:
            raise LookupError(argument)
        if operator == ":-" and not present:
            return argument
        return present

    return re.sub(r"\$\{([A-Z0-9_]+)(?:(:-|:\?)([^}]*))?\}", substitute, value)


def _bot_env_example() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in (DEPLOY / "bot.env.example").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    return {name: value for name, value in pairs}


def test_every_variable_the_compose_file_passes_is_a_setting_of_the_bot() -> None:
    environment = _compose()["services"]["bot"]["environment"]
    known = {name.upper() for name in Settings.model_fields}
    assert set(environment) <= known, set(environment) - known


def test_docker_jitsi_meet_variables_become_the_bots_settings() -> None:
    compose = _compose()
    environment = compose["services"]["bot"]["environment"]
    variables = {**JITSI_DOT_ENV, **_bot_env_example()}
    passed = {name: _interpolate(str(value), variables) for name, value in environment.items()}
    assert passed["JITSI_BASE_URL"] == "https://meet.example.com"  # PUBLIC_URL
    assert passed["JITSI_APP_ID"] == "meetbot"  # JWT_APP_ID
    assert passed["JITSI_APP_SECRET"] == JITSI_DOT_ENV["JWT_APP_SECRET"]  # JWT_APP_SECRET
    assert passed["JITSI_DOMAIN"] == "meet.jitsi"  # docker-jitsi-meet's XMPP domain
    assert passed["DEFAULT_TIMEZONE"] == "Europe/Berlin"  # TZ
    # Jitsi's own DEFAULT_LANGUAGE and LOG_LEVEL stay Jitsi's.
    assert passed["DEFAULT_LANGUAGE"] == "en" and passed["LOG_LEVEL"] == "INFO"
    assert passed["DATABASE_URL"].startswith("postgresql+psycopg://meetbot:")
    assert passed["DATABASE_URL"].endswith("@db/meetbot")
    # What the container gets is settings the bot starts with.
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in passed.items()})  # type: ignore[call-arg]
    assert settings.require_bot_token() == "123456:ABC..."
    assert settings.admin_ids == frozenset({11111111})
    # A docker-jitsi-meet .env without JWT authentication is named, not started with.
    without_jwt = {k: v for k, v in variables.items() if k != "JWT_APP_ID"}
    with pytest.raises(LookupError, match="JWT_APP_ID missing"):
        _interpolate(environment["JITSI_APP_ID"], without_jwt)


def test_the_bot_joins_docker_jitsi_meets_network_beside_its_postgresql() -> None:
    compose = _compose()
    bot, db = compose["services"]["bot"], compose["services"]["db"]
    assert "meet.jitsi" in bot["networks"]
    network = compose["networks"]["meet.jitsi"]
    assert network["external"] is True
    assert _interpolate(network["name"], {}) == "docker-jitsi-meet_meet.jitsi"
    assert _interpolate(network["name"], {"JITSI_NETWORK": "jitsi_meet.jitsi"}) == (
        "jitsi_meet.jitsi"
    )
    assert db["image"].startswith("postgres:")
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert (DEPLOY / bot["build"]["context"] / bot["build"]["dockerfile"]).resolve() == (
        ROOT / "Dockerfile"
    )


# --- systemd --------------------------------------------------------------------------------


def test_the_systemd_unit_runs_the_bot_hardened() -> None:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(DEPLOY / "jitsi-meeting-bot.service")
    service = unit["Service"]
    python, *arguments = service["ExecStart"].split()
    assert python.endswith("/.venv/bin/python") and arguments == ["-m", "bot", "run"]
    assert service["User"] not in {"root", "0"}
    for option, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "Restart": "on-failure",
    }.items():
        assert service[option] == value, option
    # The one writable place is where the default DATABASE_URL (sqlite:///data/...) puts the
    # database, relative to the working directory, and its lock file beside it.
    default_database = Settings.model_fields["database_url"].default
    folder = Path(default_database.removeprefix("sqlite:///")).parent
    assert service["ReadWritePaths"].split() == [f"{service['WorkingDirectory']}/{folder}"]
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_the_readme_points_at_the_deployment_files() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in ("deploy/jitsi-meeting-bot.service", "deploy/docker-compose.yml", "db copy"):
        assert name in readme, name
