"""Tests for bot.jitsi_setup: the rendered server settings and the Jitsi config checker."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from bot import jitsi_setup
from bot.config import Settings
from bot.jitsi_setup import (
    SECRET_PLACEHOLDER,
    CheckReport,
    Finding,
    check_server_config,
    default_paths,
    format_report,
    jitsi_check_main,
    jitsi_config_main,
    render_server_config,
)

FIXTURES = Path(__file__).parent / "fixtures" / "jitsi"
DEBIAN = FIXTURES / "debian"
SEED = FIXTURES / "seed"
SECRET = "Zq8Xr2Lm5Vt9Wb3Nc7Hd"

DEBIAN_PROSODY = [DEBIAN / "prosody" / "prosody.cfg.lua"]
DEBIAN_VHOST = DEBIAN / "prosody" / "conf.d" / "meet.example.com.cfg.lua"
DEBIAN_CONF = DEBIAN / "jicofo" / "jicofo.conf"
DEBIAN_PROPS = DEBIAN / "jicofo" / "sip-communicator.properties"
DEBIAN_WEB = DEBIAN / "meet" / "meet.example.com-config.js"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings must come from the test only, not from the developer's shell."""
    for name in list(os.environ):
        if name.upper().startswith(("JITSI_", "TELEGRAM_")):
            monkeypatch.delenv(name)


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


def sections(rendered: str) -> dict[str, str]:
    """The rendered output split into its `===== title =====` blocks."""
    parts = re.split(r"^===== (.+?) =====$", rendered, flags=re.MULTILINE)
    pairs = zip(parts[1::2], parts[2::2], strict=True)
    return {title: body.strip("\n") + "\n" for title, body in pairs}


# The correct setup -----------------------------------------------------------------------------


def test_correct_debian_setup_is_clean() -> None:
    report = check()
    assert report.findings == []
    assert report.unreadable == []
    assert report.exit_code == 0
    # prosody.cfg.lua's Include "conf.d/*.cfg.lua" brought in the Jitsi host
    assert DEBIAN_VHOST in report.checked
    assert "no problems found in 5 files" in format_report(report)


def test_a_file_both_listed_and_included_is_read_once() -> None:
    report = check(prosody=[*DEBIAN_PROSODY, DEBIAN_VHOST])
    assert report.exit_code == 0
    assert report.checked.count(DEBIAN_VHOST) == 1


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


# One pitfall at a time -----------------------------------------------------------------------


class Variant(NamedTuple):
    """A correct Debian file with a small change: each old text replaced by new, then append."""

    base: Path
    replace: dict[str, str]
    append: str = ""


WAIT_FOR_HOST = {'"token_owner_party";\n': '"token_owner_party";\n        "muc_wait_for_host";\n'}

# Each pitfall is a Debian file from the correct setup with one or two lines changed.
VARIANTS = {
    "allow-empty-token.cfg.lua": Variant(
        DEBIAN_VHOST,
        {"allow_empty_token = false -- was: allow_empty_token = true": "allow_empty_token = true"},
    ),
    "auth-not-token.cfg.lua": Variant(
        DEBIAN_VHOST,
        {'authentication = "token"\n': 'authentication = "jitsi-anonymous" -- do not delete me\n'},
    ),
    "breakout-token-verification.cfg.lua": Variant(
        DEBIAN_VHOST,
        {
            '-- "token_verification"; -- not here: it breaks breakout rooms': '"token_verification";'
        },
    ),
    "no-token-affiliation.cfg.lua": Variant(DEBIAN_VHOST, {"        'token_affiliation';\n": ""}),
    "no-token-verification.cfg.lua": Variant(
        DEBIAN_VHOST, {'        "token_verification";\n': ""}
    ),
    "muc-allowners.cfg.lua": Variant(DEBIAN_VHOST, {'--"muc_allowners";': '"muc_allowners";'}),
    "wait-for-host.cfg.lua": Variant(DEBIAN_VHOST, WAIT_FOR_HOST),
    "wait-for-host-disabled-owners.cfg.lua": Variant(
        DEBIAN_VHOST,
        {
            **WAIT_FOR_HOST,
            "party_check_timeout = 60\n": (
                "party_check_timeout = 60\n    wait_for_host_disable_auto_owners = true\n"
            ),
        },
    ),
    "jicofo-ext-jwt.properties": Variant(
        DEBIAN_PROPS,
        {
            "# Token meetings: no authentication in Jicofo itself.\n": (
                "# Secure domain guide, step 3\norg.jitsi.jicofo.auth.URL=EXT_JWT:meet.example.com\n"
            )
        },
    ),
    "jicofo-disable-auto-owner-false.properties": Variant(
        DEBIAN_PROPS,
        {
            "org.jitsi.jicofo.DISABLE_AUTO_OWNER = true": "org.jitsi.jicofo.DISABLE_AUTO_OWNER: false"
        },
    ),
    "jicofo-no-disable-auto-owner.properties": Variant(
        DEBIAN_PROPS,
        {
            "org.jitsi.jicofo.DISABLE_AUTO_OWNER = true": "#org.jitsi.jicofo.DISABLE_AUTO_OWNER=true"
        },
    ),
    "jicofo-auth-nested.conf": Variant(
        DEBIAN_CONF,
        {
            "# removed: Prosody's token authentication decides who gets in and who is owner": (
                "authentication { enabled = true, type = JWT }"
            )
        },
    ),
    "jicofo-auth-xmpp.conf": Variant(
        DEBIAN_CONF,
        {
            "  # removed: Prosody's token authentication decides who gets in and who is owner\n": (
                "  authentication: {\n"
                "    enabled: true\n"
                "    type: XMPP\n"
                "    login-url: meet.example.com\n"
                "  }\n"
            )
        },
    ),
    "jicofo-auth-dotted.conf": Variant(
        DEBIAN_CONF,
        {},
        append=(
            "\n// added after reading the token guide\n"
            "jicofo.authentication.enabled = true\n"
            'jicofo.authentication.type = "JWT"\n'
            'jicofo.authentication.login-url = "meet.example.com"\n'
        ),
    ),
    "jicofo-auth-disabled.conf": Variant(
        DEBIAN_CONF,
        {},
        append=(
            "\n# kept for later, harmless while enabled is false\n"
            "jicofo.authentication.type = JWT\n"
            "jicofo.authentication.enabled = false\n"
        ),
    ),
    "jicofo-auto-owner-nested.conf": Variant(
        DEBIAN_CONF, {"enable-auto-owner = false": "enable-auto-owner = true"}
    ),
    "jicofo-auto-owner-dotted.conf": Variant(
        DEBIAN_CONF,
        {"    enable-auto-owner = false\n": ""},
        append="\njicofo.conference.enable-auto-owner = true\n",
    ),
    "jicofo-auto-owner-unset.conf": Variant(DEBIAN_CONF, {"    enable-auto-owner = false\n": ""}),
    "config-anonymousdomain.js": Variant(
        DEBIAN_WEB,
        {"// anonymousdomain: 'guest.example.com',": 'anonymousdomain: "guest.meet.example.com",'},
    ),
}


def pitfall(tmp_path: Path, name: str) -> Path:
    """Write the variant called name (see VARIANTS) to tmp_path and return its path."""
    base, replace, append = VARIANTS[name]
    text = base.read_text()
    for old, new in replace.items():
        assert text.count(old) == 1, f"{old!r} should be in {base} exactly once"
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text + append)
    return path


PROSODY_PITFALLS = [
    ("allow-empty-token.cfg.lua", "allow_empty_token = true", None, "allow_empty_token = true"),
    ("auth-not-token.cfg.lua", 'authentication = "jitsi-anonymous"', None, 'not "token"'),
    (
        "breakout-token-verification.cfg.lua",
        '"token_verification";',
        'Component "breakout.',
        "breakout-rooms",
    ),
    (
        "no-token-affiliation.cfg.lua",
        "modules_enabled",
        'Component "conference.',
        '"token_affiliation" is not in',
    ),
    (
        "no-token-verification.cfg.lua",
        "modules_enabled",
        'Component "conference.',
        '"token_verification" is not in',
    ),
    ("muc-allowners.cfg.lua", '"muc_allowners";', None, "muc_allowners"),
    ("wait-for-host.cfg.lua", '"muc_wait_for_host";', None, "wait_for_host_disable_auto_owners"),
]


@pytest.mark.parametrize(("name", "marker", "after", "problem"), PROSODY_PITFALLS)
def test_each_prosody_pitfall_is_found_at_its_line(
    tmp_path: Path, name: str, marker: str, after: str | None, problem: str
) -> None:
    path = pitfall(tmp_path, name)
    report = check(prosody=[path])
    finding = only(report)
    assert finding.file == path
    assert finding.line == line_of(path, marker, after)
    assert problem in finding.problem
    assert finding.effect and finding.fix
    assert report.exit_code == 1


def test_wait_for_host_with_auto_owners_disabled_is_clean(tmp_path: Path) -> None:
    path = pitfall(tmp_path, "wait-for-host-disabled-owners.cfg.lua")
    assert check(prosody=[path]).exit_code == 0


# (pitfall variant, the correct files read with it, marker of the culprit line, problem)
JICOFO_PITFALLS = [
    (
        "jicofo-ext-jwt.properties",
        [DEBIAN_CONF],
        "org.jitsi.jicofo.auth.URL=EXT_JWT",
        "JWT authentication is on",
    ),
    (
        "jicofo-auth-nested.conf",
        [DEBIAN_PROPS],
        "authentication { enabled = true, type = JWT }",
        "JWT authentication is on",
    ),
    (
        "jicofo-auth-dotted.conf",
        [DEBIAN_PROPS],
        'jicofo.authentication.type = "JWT"',
        "JWT authentication is on",
    ),
    ("jicofo-auth-xmpp.conf", [DEBIAN_PROPS], "type: XMPP", "XMPP authentication is on"),
    (
        "jicofo-disable-auto-owner-false.properties",
        [DEBIAN_CONF],
        "org.jitsi.jicofo.DISABLE_AUTO_OWNER: false",
        "DISABLE_AUTO_OWNER=false",
    ),
    ("jicofo-auto-owner-nested.conf", [], "enable-auto-owner = true", "enable-auto-owner = true"),
    (
        "jicofo-auto-owner-dotted.conf",
        [],
        "jicofo.conference.enable-auto-owner = true",
        "enable-auto-owner = true",
    ),
    ("jicofo-auto-owner-unset.conf", [], "  conference {", "not set to false"),
]


@pytest.mark.parametrize(("name", "correct", "marker", "problem"), JICOFO_PITFALLS)
def test_each_jicofo_pitfall_is_found_at_its_line(
    tmp_path: Path, name: str, correct: list[Path], marker: str, problem: str
) -> None:
    path = pitfall(tmp_path, name)
    finding = only(check(jicofo=[path, *correct]))
    assert finding.file == path
    assert finding.line == line_of(path, marker)
    assert problem in finding.problem
    assert "moderator" in finding.effect


def test_missing_disable_auto_owner_property_is_reported_on_that_file(tmp_path: Path) -> None:
    props = pitfall(tmp_path, "jicofo-no-disable-auto-owner.properties")
    finding = only(check(jicofo=[pitfall(tmp_path, "jicofo-auto-owner-unset.conf"), props]))
    assert finding.file == props
    assert finding.line is None  # a missing line has no number
    assert "DISABLE_AUTO_OWNER=true is missing" in finding.problem
    assert finding.location == f"{props} (missing setting)"


def test_missing_property_is_fine_when_jicofo_conf_disables_auto_owner(tmp_path: Path) -> None:
    props = pitfall(tmp_path, "jicofo-no-disable-auto-owner.properties")
    assert check(jicofo=[DEBIAN_CONF, props]).exit_code == 0


def test_the_property_file_wins_over_jicofo_conf(tmp_path: Path) -> None:
    # Jicofo reads DISABLE_AUTO_OWNER before jicofo.conf: enable-auto-owner = true is overridden.
    conf = pitfall(tmp_path, "jicofo-auto-owner-nested.conf")
    assert check(jicofo=[conf, DEBIAN_PROPS]).exit_code == 0


def test_jicofo_authentication_type_without_enabled_is_harmless(tmp_path: Path) -> None:
    conf = pitfall(tmp_path, "jicofo-auth-disabled.conf")
    assert check(jicofo=[conf, DEBIAN_PROPS]).exit_code == 0


def test_guest_domain_in_config_js_is_a_warning(tmp_path: Path) -> None:
    path = pitfall(tmp_path, "config-anonymousdomain.js")
    finding = only(check(web=path))
    assert finding.severity == "warning"
    assert finding.file == path
    assert finding.line == line_of(path, "anonymousdomain:")
    assert "without a personal link" in finding.effect


# The forum thread ------------------------------------------------------------------------------


def seed_settings() -> Settings:
    return make_settings(
        jitsi_base_url="https://jitsi.my-domain.tld",
        jitsi_app_id="jitsi",
        jitsi_app_secret="Hx4tM9qW2bLz7Kc",
    )


def test_seed_thread_ext_jwt_with_token_affiliation_makes_every_member_owner() -> None:
    props = SEED / "sip-communicator.properties"
    report = check(
        seed_settings(),
        prosody=[SEED / "jitsi.my-domain.tld.cfg.lua"],
        jicofo=[props],
        web=SEED / "jitsi.my-domain.tld-config.js",
    )
    finding = only(report)
    assert (finding.file, finding.line) == (props, 2)
    assert "EXT_JWT" in finding.problem
    assert "token_affiliation" in finding.effect
    assert "every member becomes an owner" in finding.effect
    assert "delete the org.jitsi.jicofo.auth.URL line" in finding.fix
    assert report.exit_code == 1


def test_seed_thread_fixed_as_the_forum_advised_is_clean(tmp_path: Path) -> None:
    props = tmp_path / "sip-communicator.properties"
    original = (SEED / "sip-communicator.properties").read_text().splitlines(keepends=True)
    props.write_text("".join(line for line in original if "auth.URL" not in line))
    report = check(
        seed_settings(),
        prosody=[SEED / "jitsi.my-domain.tld.cfg.lua"],
        jicofo=[props],
        web=SEED / "jitsi.my-domain.tld-config.js",
    )
    assert report.exit_code == 0


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


# Mismatches with the bot's settings -----------------------------------------------------------


def test_issuer_missing_from_accepted_issuers() -> None:
    finding = only(check(make_settings(jitsi_app_id="otherbot", jitsi_audience="meetbot")))
    assert finding.file == DEBIAN_VHOST
    assert finding.line == line_of(DEBIAN_VHOST, "asap_accepted_issuers")
    assert '"otherbot"' in finding.problem
    assert "Invalid issuer" in finding.effect


def test_app_id_differs_from_iss_when_issuers_are_not_pinned() -> None:
    cfg = SEED / "jitsi.my-domain.tld.cfg.lua"
    report = check(
        seed_settings().model_copy(update={"jitsi_app_id": "meetbot"}),
        prosody=[cfg],
        jicofo=[],
        web=None,
    )
    finding = only(report)
    assert (finding.file, finding.line) == (cfg, line_of(cfg, 'app_id = "jitsi"'))
    assert "JITSI_APP_ID=jitsi" in finding.fix


def test_audience_pinned_to_something_else() -> None:
    finding = only(check(make_settings(jitsi_audience="https://meet.example.com")))
    assert finding.line == line_of(DEBIAN_VHOST, "asap_accepted_audiences")
    assert "Invalid audience" in finding.effect


def test_domain_mismatch_points_at_the_virtualhost() -> None:
    finding = only(check(make_settings(jitsi_base_url="https://video.example.org")))
    assert (finding.file, finding.line) == (DEBIAN_VHOST, line_of(DEBIAN_VHOST, "VirtualHost"))
    assert 'sub = "video.example.org"' in finding.problem
    assert "JITSI_DOMAIN=meet.example.com" in finding.fix


def test_tenant_url_uses_the_tenant_as_sub_and_is_clean() -> None:
    assert check(make_settings(jitsi_base_url="https://meet.example.com/team")).exit_code == 0


def test_docker_install_needs_jitsi_domain_meet_jitsi() -> None:
    docker = FIXTURES / "docker"
    files: dict[str, Any] = {
        "prosody": [docker / "prosody" / "jitsi-meet.cfg.lua"],
        "jicofo": [docker / "jicofo" / "jicofo.conf"],
        "web": docker / "web" / "config.js",
    }
    report = check(**files)
    domain = [finding for finding in report.findings if "XMPP domain" in finding.problem]
    assert len(domain) == 1
    assert "JITSI_DOMAIN=meet.jitsi" in domain[0].fix
    # Docker's jicofo.conf with ENABLE_AUTH=1, AUTH_TYPE=jwt: JWT auth on, auto-owner default.
    conf = docker / "jicofo" / "jicofo.conf"
    jicofo = {(f.file, f.line) for f in report.findings if f.file == conf}
    assert jicofo == {(conf, line_of(conf, "type = JWT")), (conf, line_of(conf, "conference {"))}
    fixed = check(make_settings(jitsi_domain="meet.jitsi"), **files)
    assert {finding.file for finding in fixed.findings} == {conf}


def test_web_config_domain_is_checked_when_prosody_is_not_given() -> None:
    web = FIXTURES / "docker" / "web" / "config.js"
    finding = only(check(prosody=[], jicofo=[], web=web))
    assert (finding.file, finding.line) == (web, line_of(web, "config.hosts.domain"))
    assert "JITSI_DOMAIN=meet.jitsi" in finding.fix


def test_rs256_bot_against_an_hs256_server(tmp_path: Path) -> None:
    finding = only(check(rs256_settings(tmp_path)))
    assert finding.line == line_of(DEBIAN_VHOST, "app_secret")
    assert "asap_key_server" in finding.problem


def test_hs256_bot_against_an_rs256_server(tmp_path: Path) -> None:
    cfg = tmp_path / "meet.example.com.cfg.lua"
    cfg.write_text(
        DEBIAN_VHOST.read_text().replace(
            f'    app_secret = "{SECRET}"\n',
            '    asap_key_server = "https://keys.example.com/jitsi/"\n',
        )
    )
    finding = only(check(prosody=[cfg]))
    assert finding.line == line_of(cfg, "asap_key_server")
    assert "RS256" in finding.problem


def test_secret_mismatch_is_reported_without_either_value() -> None:
    report = check(make_settings(jitsi_app_secret="another-secret-value"))
    finding = only(report)
    assert finding.line == line_of(DEBIAN_VHOST, "app_secret")
    text = format_report(report)
    assert SECRET not in text
    assert "another-secret-value" not in text


# Unreadable files -------------------------------------------------------------------------------


def test_missing_file_and_directory_are_unreadable(tmp_path: Path) -> None:
    missing = tmp_path / "jicofo.conf"
    report = check(jicofo=[missing, DEBIAN_PROPS], web=tmp_path)
    assert report.exit_code == 2
    assert {path for path, _ in report.unreadable} == {missing, tmp_path}
    assert report.findings == []
    text = format_report(report)
    assert "2 files could not be read" in text
    assert str(missing) in text


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
    monkeypatch.setattr(jitsi_setup, "default_paths", lambda: ([], [], None))
    assert jitsi_check_main(make_settings(), []) == 2
    assert "--prosody" in capsys.readouterr().out
    debian = (DEBIAN_PROSODY, [DEBIAN_CONF, DEBIAN_PROPS], DEBIAN_WEB)
    monkeypatch.setattr(jitsi_setup, "default_paths", lambda: debian)
    assert jitsi_check_main(make_settings(), []) == 0
