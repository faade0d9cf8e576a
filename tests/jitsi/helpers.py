"""Settings, fixture files and shortcuts that the Jitsi server-config tests share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.jitsi.checks import CheckReport, Finding, check_server_config, format_report

FIXTURES = Path(__file__).parent.parent / "fixtures" / "jitsi"
DEBIAN = FIXTURES / "debian"
SEED = FIXTURES / "seed"
SECRET = "Zq8Xr2Lm5Vt9Wb3Nc7Hd"

DEBIAN_PROSODY = [DEBIAN / "prosody" / "prosody.cfg.lua"]
DEBIAN_VHOST = DEBIAN / "prosody" / "conf.d" / "meet.example.com.cfg.lua"
DEBIAN_CONF = DEBIAN / "jicofo" / "jicofo.conf"
DEBIAN_PROPS = DEBIAN / "jicofo" / "sip-communicator.properties"
DEBIAN_WEB = DEBIAN / "meet" / "meet.example.com-config.js"


def make_settings(**overrides: Any) -> Settings:
    """Settings for the Debian fixtures, with overrides."""
    values: dict[str, Any] = {
        "jitsi_base_url": "https://meet.example.com",
        "jitsi_app_id": "meetbot",
        "jitsi_app_secret": SECRET,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def rs256_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings that sign RS256 (the key file only has to exist for Settings)."""
    key = tmp_path / "jitsi-key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nnot a real key\n-----END PRIVATE KEY-----\n")
    values: dict[str, Any] = {
        "jitsi_base_url": "https://meet.example.com",
        "jitsi_app_id": "meetbot",
        "jitsi_private_key_file": key,
        "jitsi_key_id": "meetbot-2026",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def check(
    settings: Settings | None = None,
    *,
    prosody: list[Path] | None = None,
    jicofo: list[Path] | None = None,
    web: Path | None = DEBIAN_WEB,
) -> CheckReport:
    """Check with the correct Debian files except where a test swaps one in."""
    return check_server_config(
        settings or make_settings(),
        prosody=DEBIAN_PROSODY if prosody is None else prosody,
        jicofo=[DEBIAN_CONF, DEBIAN_PROPS] if jicofo is None else jicofo,
        web_config=web,
    )


def line_of(path: Path, text: str, after: str | None = None) -> int:
    """The number of the first line that starts with text (after the line starting with after).

    Starting with, so that commented-out copies of a setting are never the ones matched.
    """
    lines = [line.strip() for line in path.read_text().splitlines()]
    start = 0
    if after is not None:
        start = next(n for n, line in enumerate(lines) if line.startswith(after)) + 1
    return next(n + 1 for n in range(start, len(lines)) if lines[n].startswith(text.strip()))


def only(report: CheckReport) -> Finding:
    """The single finding of a report."""
    assert report.unreadable == []
    assert len(report.findings) == 1, format_report(report)
    return report.findings[0]


def seed_settings() -> Settings:
    """Settings of the forum thread's server (the seed fixtures)."""
    return make_settings(
        jitsi_base_url="https://jitsi.my-domain.tld",
        jitsi_app_id="jitsi",
        jitsi_app_secret="Hx4tM9qW2bLz7Kc",
    )
