"""The checker finds each pitfall and mismatch in a Jitsi server's config files, at its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import pytest

from bot.jitsi.checks import format_report
from tests.jitsi.helpers import (
    DEBIAN_CONF,
    DEBIAN_PROPS,
    DEBIAN_VHOST,
    DEBIAN_WEB,
    FIXTURES,
    SECRET,
    SEED,
    check,
    line_of,
    make_settings,
    only,
    rs256_settings,
    seed_settings,
)

# The correct setup -----------------------------------------------------------------------------


def test_correct_debian_setup_is_clean() -> None:
    report = check()
    assert report.findings == []
    assert report.unreadable == []
    assert report.exit_code == 0
    # prosody.cfg.lua's Include "conf.d/*.cfg.lua" brought in the Jitsi host
    assert DEBIAN_VHOST in report.checked
    assert "no problems found in 5 files" in format_report(report)


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
