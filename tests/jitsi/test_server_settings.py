"""What jitsi-config prints: each block, the secret only when asked, a config the check passes."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest

from bot.jitsi.checks import check_server_config, format_report
from bot.jitsi.server_settings import SECRET_PLACEHOLDER, render_server_config
from tests.jitsi.helpers import (
    SECRET,
    line_of,
    make_settings,
    only,
    rs256_settings,
)


def sections(rendered: str) -> dict[str, str]:
    """The rendered output split into its `===== title =====` blocks."""
    parts = re.split(r"^===== (.+?) =====$", rendered, flags=re.MULTILINE)
    pairs = zip(parts[1::2], parts[2::2], strict=True)
    return {title: body.strip("\n") + "\n" for title, body in pairs}


# Rendering --------------------------------------------------------------------------------------


def test_render_hides_the_secret_unless_asked() -> None:
    settings = make_settings()
    hidden = render_server_config(settings, bot_username="MeetPlannerBot")
    assert SECRET not in hidden
    assert f'app_secret = "{SECRET_PLACEHOLDER}"' in hidden
    shown = render_server_config(settings, bot_username="MeetPlannerBot", reveal_secret=True)
    assert shown.count(SECRET) == 1
    assert f'    app_secret = "{SECRET}"' in shown.splitlines()


def test_render_contents() -> None:
    text = render_server_config(make_settings(), bot_username="@MeetPlannerBot")
    blocks = sections(text)
    prosody = blocks["/etc/prosody/conf.d/meet.example.com.cfg.lua"]
    assert 'authentication = "token"' in prosody
    assert 'asap_accepted_issuers = { "meetbot" }' in prosody
    assert 'asap_accepted_audiences = { "meetbot" }' in prosody
    assert '-- "token_owner_party";' in prosody
    assert "-- party_check_timeout = 60" in prosody
    assert "breakout" in prosody and "nothing token-related" in prosody
    assert "enable-auto-owner = false" in blocks["/etc/jitsi/jicofo/jicofo.conf"]
    props = blocks["/etc/jitsi/jicofo/sip-communicator.properties"]
    assert "org.jitsi.jicofo.DISABLE_AUTO_OWNER=true" in props.splitlines()
    assert all(line.startswith("#") for line in props.splitlines() if "auth.URL" in line)
    for page in ("static/authError.html", "body.html"):
        assert "https://t.me/MeetPlannerBot" in blocks[f"/usr/share/jitsi-meet/{page}"]
    assert "conference.kicked" in blocks["/usr/share/jitsi-meet/body.html"]
    assert "JITSI_DOMAIN=meet.jitsi" in blocks["docker-jitsi-meet .env"]
    assert "meet.jitsi" in blocks["notes"]


def test_render_without_bot_username_uses_a_placeholder() -> None:
    text = render_server_config(make_settings(), bot_username=None)
    assert "https://t.me/<your_bot_username>" in text
    assert "--bot-username" in text


def test_render_rejects_a_bad_bot_username() -> None:
    with pytest.raises(ValueError, match="bot username"):
        render_server_config(make_settings(), bot_username="not a name")


def test_render_explains_the_tenant() -> None:
    text = render_server_config(
        make_settings(jitsi_base_url="https://meet.example.com/team"), bot_username=None
    )
    assert 'sub = "team"' in text
    assert 'muc_mapper_domain_base = "meet.example.com"' in text


def test_render_rs256_has_no_secret_and_names_the_key_file(tmp_path: Path) -> None:
    text = render_server_config(rs256_settings(tmp_path), bot_username=None, reveal_secret=True)
    assert "app_secret" not in sections(text)["/etc/prosody/conf.d/meet.example.com.cfg.lua"]
    assert 'signature_algorithm = "RS256"' in text
    # Prosody fetches <asap_key_server>/<sha256 hex of the key id>.pem
    assert hashlib.sha256(b"meetbot-2026").hexdigest() + ".pem" in text
    assert "jitsi-key.pem" in text


def write_rendered(rendered: str, directory: Path) -> tuple[list[Path], list[Path]]:
    """Write the rendered Prosody and Jicofo blocks to files, as an admin would."""
    blocks = sections(rendered)
    prosody_title = next(title for title in blocks if title.startswith("/etc/prosody/"))
    prosody = directory / Path(prosody_title).name
    prosody.write_text(blocks[prosody_title])
    conf = directory / "jicofo.conf"
    conf.write_text(blocks["/etc/jitsi/jicofo/jicofo.conf"])
    props = directory / "sip-communicator.properties"
    props.write_text(blocks["/etc/jitsi/jicofo/sip-communicator.properties"])
    return [prosody], [conf, props]


ROUND_TRIPS = [
    {},
    {"jitsi_base_url": "https://meet.example.com/team"},
    {"jitsi_base_url": "https://meet.example.com", "jitsi_domain": "meet.jitsi"},
    {"jitsi_audience": "jitsi", "jitsi_app_id": "Meet-Bot"},
]


@pytest.mark.parametrize("overrides", ROUND_TRIPS)
def test_round_trip_rendered_config_passes_the_check(
    tmp_path: Path, overrides: dict[str, Any]
) -> None:
    settings = make_settings(**overrides)
    rendered = render_server_config(settings, bot_username="MeetPlannerBot", reveal_secret=True)
    prosody, jicofo = write_rendered(rendered, tmp_path)
    report = check_server_config(settings, prosody=prosody, jicofo=jicofo, web_config=None)
    assert report.findings == [], format_report(report)
    assert report.exit_code == 0


def test_round_trip_rs256(tmp_path: Path) -> None:
    settings = rs256_settings(tmp_path)
    prosody, jicofo = write_rendered(render_server_config(settings, bot_username=None), tmp_path)
    report = check_server_config(settings, prosody=prosody, jicofo=jicofo, web_config=None)
    assert report.exit_code == 0, format_report(report)


def test_round_trip_without_the_secret_flags_only_the_placeholder(tmp_path: Path) -> None:
    settings = make_settings()
    prosody, jicofo = write_rendered(render_server_config(settings, bot_username=None), tmp_path)
    report = check_server_config(settings, prosody=prosody, jicofo=jicofo, web_config=None)
    finding = only(report)
    assert "placeholder" in finding.problem
    assert finding.line == line_of(prosody[0], "app_secret")
    assert SECRET not in format_report(report)
