"""jitsi-config prints, and jitsi-check checks, the lines that let the bot manage the rooms:
mod_reservations with the bot's prefix and Authorization header, presence_identity, the wait
for the host with token_affiliation, and jitsi-contrib's event-sync component."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.jitsi.checks import check_server_config, format_report
from bot.jitsi.server_settings import render_server_config
from tests.jitsi.helpers import check, make_settings
from tests.jitsi.test_server_settings import sections, write_rendered

TOKEN = "Rk7vQ2mX9pL4sT8wZ3nB"


def rooms_settings(token: str = TOKEN) -> Settings:
    return make_settings(public_url="https://meet.example.com/bot", reservations_token=token)


def test_printed_lines_name_the_bots_api_and_hide_the_token_unless_asked() -> None:
    settings = rooms_settings()
    text = render_server_config(settings, bot_username="MeetPlannerBot")
    prosody = sections(text)["/etc/prosody/conf.d/meet.example.com.cfg.lua"]
    assert TOKEN not in text
    assert 'modules_enabled = { "reservations"; "presence_identity"; }' in prosody
    assert 'reservations_api_prefix = "https://meet.example.com/bot/jitsi/reservations"' in prosody
    assert (
        'reservations_api_headers = { ["Authorization"] = "Bearer <your RESERVATIONS_TOKEN>"; }'
        in prosody
    )
    assert "reservations_enable_max_occupants = true" in prosody
    assert "reservations_enable_lobby_support = true" in prosody
    assert '"muc_wait_for_host";' in prosody
    assert "wait_for_host_disable_auto_owners = true" in prosody
    assert 'Component "esync.meet.example.com" "event_sync_component"' in prosody
    assert 'api_prefix = "https://meet.example.com/bot/jitsi"' in prosody
    shown = render_server_config(settings, bot_username=None, reveal_secret=True)
    assert shown.count(f'"Bearer {TOKEN}"') == 2


def test_without_the_token_nothing_about_rooms_is_printed() -> None:
    text = render_server_config(make_settings(), bot_username=None)
    assert "reservations" not in text and "event_sync" not in text


def test_round_trip_with_the_token_passes_the_check(tmp_path: Path) -> None:
    settings = rooms_settings()
    rendered = render_server_config(settings, bot_username=None, reveal_secret=True)
    prosody, jicofo = write_rendered(rendered, tmp_path)
    report = check_server_config(settings, prosody=prosody, jicofo=jicofo, web_config=None)
    assert report.findings == [], format_report(report)


def test_a_server_without_the_lines_is_told_what_the_bot_misses() -> None:
    report = check(rooms_settings())
    problems = [finding.problem for finding in report.findings]
    assert (
        '"reservations" is not in the modules_enabled of VirtualHost "meet.example.com"'
        in problems
    )
    assert (
        '"presence_identity" is not in the modules_enabled of VirtualHost "meet.example.com"'
        in problems
    )
    assert 'no Component with "event_sync_component" in the files read' in problems
    assert any('"muc_wait_for_host" is not in' in problem for problem in problems)
    effects = " ".join(finding.effect for finding in report.findings)
    assert "rooms open at any time" in effects
    assert "no attendance reports" in effects


def test_a_wrong_token_or_prefix_is_found_and_never_printed(tmp_path: Path) -> None:
    settings = rooms_settings()
    other = rooms_settings("Another-Secret-0123456789")
    rendered = render_server_config(other, bot_username=None, reveal_secret=True)
    rendered = rendered.replace("/bot/jitsi/reservations", "/old/reservations")
    prosody, jicofo = write_rendered(rendered, tmp_path)
    report = check_server_config(settings, prosody=prosody, jicofo=jicofo, web_config=None)
    problems = [finding.problem for finding in report.findings]
    assert len(problems) == 3, format_report(report)
    assert any("reservations_api_prefix" in problem and "/old/" in problem for problem in problems)
    assert sum("RESERVATIONS_TOKEN (values not shown)" in problem for problem in problems) == 2
    output = format_report(report)
    assert TOKEN not in output and "Another-Secret" not in output
