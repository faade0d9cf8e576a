"""Reading config files as Jitsi does: Include, HOCON include and nesting, comments, quotes."""

from __future__ import annotations

from pathlib import Path

from bot.jitsi.checks import format_report
from tests.jitsi.helpers import (
    DEBIAN_PROSODY,
    DEBIAN_VHOST,
    FIXTURES,
    SECRET,
    check,
    only,
)


def test_a_file_both_listed_and_included_is_read_once() -> None:
    report = check(prosody=[*DEBIAN_PROSODY, DEBIAN_VHOST])
    assert report.exit_code == 0
    assert report.checked.count(DEBIAN_VHOST) == 1


# File formats: Include, HOCON, comments, quotes ----------------------------------------------


def test_prosody_include_glob_relative_paths_and_scope() -> None:
    includes = FIXTURES / "includes"
    report = check(prosody=[includes / "prosody.cfg.lua"], jicofo=[], web=None)
    # authentication = "token" after the Include still belongs to the VirtualHost, the
    # component file is found relative to the including file, and the dotfile and the
    # .dpkg-old file (with allow_empty_token = true) are not read.
    assert report.findings == []
    assert report.exit_code == 0
    assert includes / "components" / "conference.cfg.lua" in report.checked
    assert not any(path.name.startswith(".") for path in report.checked)
    assert not any(path.name.endswith(".dpkg-old") for path in report.checked)


def test_prosody_include_of_a_missing_file_is_unreadable() -> None:
    includes = FIXTURES / "includes"
    report = check(prosody=[includes / "broken-include.cfg.lua"], jicofo=[], web=None)
    assert report.exit_code == 2
    assert [path for path, _ in report.unreadable] == [includes / "conf.avail" / "gone.cfg.lua"]
    assert "Could not read" in format_report(report)


def test_hocon_nesting_dotted_keys_quoted_keys_and_includes() -> None:
    hocon = FIXTURES / "hocon"
    report = check(jicofo=[hocon / "jicofo.conf"])
    assert report.unreadable == []  # include "jicofo.d/not-there.conf" is optional
    found = {(finding.file.name, finding.line) for finding in report.findings}
    assert found == {("auth.conf", 3), ("conference.conf", 3)}
    problems = " ".join(finding.problem for finding in report.findings)
    assert "JWT authentication is on" in problems
    assert "enable-auto-owner = true" in problems


def test_hocon_root_braces_and_relative_dotted_include_are_clean() -> None:
    report = check(jicofo=[FIXTURES / "hocon" / "clean.conf"])
    assert report.exit_code == 0


def test_hocon_required_include_that_is_missing_is_unreadable() -> None:
    report = check(jicofo=[FIXTURES / "hocon" / "required-missing.conf"])
    assert report.exit_code == 2
    assert report.unreadable[0][0].name == "renamed.conf"


def test_comments_and_both_quote_styles(tmp_path: Path) -> None:
    # Every commented-out line comes after the real one, so reading it would override it.
    cfg = tmp_path / "meet.example.com.cfg.lua"
    cfg.write_text(
        "VirtualHost 'meet.example.com' -- the Jitsi host\n"
        "    authentication = 'token'\n"
        "    app_id = 'meetbot'\n"
        f"    app_secret = '{SECRET}'\n"
        "    allow_empty_token = false; -- allow_empty_token = true\n"
        "    --[==[ an old attempt, with ]] inside:\n"
        "    allow_empty_token = true\n"
        '    authentication = "anonymous" -- ]]\n'
        "    ]==]\n"
        '    -- app_id = "someone-else"\n'
        "Component 'conference.meet.example.com' 'muc'\n"
        "    modules_enabled = { 'token_verification', \"token_affiliation\";"
        ' --[[ "muc_allowners"; ]]\n'
        '        -- "muc_wait_for_host";\n'
        "    }\n"
        '    --[[ modules_enabled = { "muc_allowners" } ]]\n'
    )
    props = tmp_path / "sip-communicator.properties"
    props.write_text(
        "org.jitsi.jicofo.DISABLE_AUTO_OWNER   true\n"
        "# org.jitsi.jicofo.auth.URL=EXT_JWT:meet.example.com\n"
        "   ! org.jitsi.jicofo.DISABLE_AUTO_OWNER=false\n"
    )
    conf = tmp_path / "jicofo.conf"
    conf.write_text(
        "jicofo {\n"
        '  "conference" { "enable-auto-owner" = false }\n'
        "  # authentication { enabled = true, type = JWT }\n"
        '  // "conference" { "enable-auto-owner" = true }\n'
        "}\n"
    )
    assert check(prosody=[cfg], jicofo=[conf, props]).exit_code == 0
    # and the same lines, uncommented, are found
    cfg.write_text(cfg.read_text().replace("--[==[", "").replace("]==]", ""))
    problems = " ".join(f.problem for f in check(prosody=[cfg], jicofo=[]).findings)
    assert "allow_empty_token = true" in problems
    assert 'authentication = "anonymous"' in problems


def test_expressions_are_not_judged(tmp_path: Path) -> None:
    cfg = tmp_path / "meet.example.com.cfg.lua"
    cfg.write_text(
        DEBIAN_VHOST.read_text()
        .replace(f'"{SECRET}"', 'os.getenv("JITSI_APP_SECRET")')
        .replace("app_id = 'meetbot'", 'app_id = "meet" .. "bot"')
    )
    assert check(prosody=[cfg]).exit_code == 0


def test_properties_continuation_line_is_read(tmp_path: Path) -> None:
    props = tmp_path / "sip-communicator.properties"
    props.write_text(
        "org.jitsi.jicofo.DISABLE_AUTO_OWNER=true\n"
        "org.jitsi.jicofo.auth.URL=EXT_JWT:\\\n"
        "    meet.example.com\n"
    )
    finding = only(check(jicofo=[props]))
    assert (finding.file, finding.line) == (props, 2)
