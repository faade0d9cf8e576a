"""The pitfalls that break token meetings, found in a Jitsi server's config files."""

from __future__ import annotations

import hmac
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import Settings
from bot.jitsi.readers.configjs import read_web_hosts
from bot.jitsi.readers.hocon import HoconConfig, HoconReader, hocon_bool
from bot.jitsi.readers.lua import ProsodyConfig, ProsodyReader, Section, Setting, Table
from bot.jitsi.readers.properties import read_properties
from bot.jitsi.readers.source import Entry, FilesRead
from bot.jitsi.server_settings import (
    RESERVATIONS_PLACEHOLDER,
    SECRET_PLACEHOLDER,
    events_prefix,
    reservations_prefix,
    xmpp_domain,
)

# Modules that give owners their role from the token (Jitsi's own, jitsi-contrib's old copy, and
# the third-party module that reads the top-level "moderator" claim).
_AFFILIATION_MODULES = ("token_affiliation", "token_affiliation_legacy", "token_moderation")

# VirtualHosts of a Jitsi install that are never the one users log in to with a token.
_SERVICE_HOST_PREFIXES = ("auth.", "guest.", "recorder.", "hidden.", "focus.", "jigasi.", "jibri.")


@dataclass(frozen=True)
class Finding:
    """One problem in a Jitsi config file: where it is, what users see, and how to fix it."""

    file: Path
    line: int | None
    problem: str
    effect: str
    fix: str
    severity: str = "error"

    @property
    def location(self) -> str:
        """`file:line`, or only the file when the problem is a setting that is missing."""
        return f"{self.file}:{self.line}" if self.line else f"{self.file} (missing setting)"


@dataclass
class CheckReport(FilesRead):
    """Everything check_server_config found, plus the files it read and could not read."""

    findings: list[Finding] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when clean, 1 when there are findings, 2 when a file could not be read."""
        if self.unreadable:
            return 2
        return 1 if self.findings else 0

    def add(
        self,
        file: Path,
        line: int | None,
        problem: str,
        effect: str,
        fix: str,
        severity: str = "error",
    ) -> None:
        """Record one finding."""
        self.findings.append(Finding(file, line, problem, effect, fix, severity))


@dataclass
class _Jicofo:
    """Jicofo's settings: jicofo.conf paths (dotted) and sip-communicator.properties keys."""

    hocon: HoconConfig = field(default_factory=HoconConfig)
    properties: dict[str, Entry] = field(default_factory=dict)
    hocon_files: list[Path] = field(default_factory=list)
    properties_files: list[Path] = field(default_factory=list)


@dataclass
class _ProsodyFacts:
    """What the Jicofo and web checks need to know from the Prosody check."""

    host: Section | None = None
    affiliation_on_muc: bool = False
    domain_reported: bool = False


def check_server_config(
    settings: Settings,
    *,
    prosody: Sequence[Path],
    jicofo: Sequence[Path],
    web_config: Path | None,
) -> CheckReport:
    """Read the Jitsi config files; report every pitfall and mismatch with the bot's settings."""
    report = CheckReport()
    facts = _ProsodyFacts()
    if prosody:
        reader = ProsodyReader(report)
        for path in prosody:
            reader.read(path)
        facts = _check_prosody(settings, reader.config, Path(prosody[0]), report)
    if jicofo:
        hocon = HoconReader(report)
        config = _Jicofo(hocon=hocon.config)
        for path in jicofo:
            if path.suffix == ".properties":
                config.properties_files.append(path)
                config.properties.update(read_properties(path, report))
            else:
                config.hocon_files.append(path)
                hocon.read(path)
        _check_jicofo(settings, config, facts, report)
    if web_config is not None:
        hosts = read_web_hosts(web_config, report)
        if hosts is not None:
            _check_web(settings, hosts, facts, report)
    return report


def _pick_host(config: ProsodyConfig, domain: str) -> Section | None:
    """The VirtualHost users log in to: the bot's domain, else the token one, else the first."""
    hosts = config.virtual_hosts()
    for host in hosts:
        if host.name.lower() == domain.lower():
            return host
    for host in hosts:
        setting = config.option(host, "authentication")
        if setting is not None and setting.value == "token":
            return host
    for host in hosts:
        if not host.name.lower().startswith(_SERVICE_HOST_PREFIXES) and host.name != "localhost":
            return host
    return None


def _component(config: ProsodyConfig, host: Section, option: str, *names: str) -> Section | None:
    """The component a host option names (main_muc, breakout_rooms_muc), else a usual name."""
    setting = config.option(host, option)
    candidates = [setting.value] if setting is not None and isinstance(setting.value, str) else []
    candidates += [f"{name}.{host.name}" for name in names]
    for candidate in candidates:
        section = config.sections.get(candidate.lower())
        if section is not None and section.kind == "Component":
            return section
    return None


def _check_prosody(
    settings: Settings, config: ProsodyConfig, first_file: Path, report: CheckReport
) -> _ProsodyFacts:
    """The VirtualHost, the conference MUC and the breakout MUC."""
    facts = _ProsodyFacts()
    domain = xmpp_domain(settings)
    host = _pick_host(config, domain)
    facts.host = host
    if host is None:
        if report.checked:
            report.add(
                first_file,
                None,
                f'no VirtualHost found in the Prosody files read (expected "{domain}")',
                "nothing can be checked, and Jitsi cannot verify the bot's tokens without it",
                "pass the file with the Jitsi VirtualHost (Debian: /etc/prosody/conf.d/"
                f"{domain}.cfg.lua) with --prosody",
            )
        return facts
    _check_host_auth(settings, config, host, report)
    _check_host_signing(settings, config, host, report)
    facts.domain_reported = _check_host_domain(settings, config, host, report)
    muc = _component(config, host, "main_muc", "conference", "muc")
    if muc is None:
        report.add(
            host.file,
            host.line,
            f'no conference MUC component for VirtualHost "{host.name}" in the files read',
            "whether the token decides rooms and roles (token_verification, token_affiliation) "
            "cannot be checked",
            f'pass the file that declares Component "conference.{host.name}" "muc" with --prosody',
            severity="warning",
        )
    else:
        facts.affiliation_on_muc = _check_muc(config, muc, report)
    breakout = _component(config, host, "breakout_rooms_muc", "breakout")
    if breakout is not None:
        _check_breakout(config, breakout, report)
    if settings.manages_rooms:
        _check_rooms(settings, config, host, muc, report)
    return facts


def _check_host_auth(
    settings: Settings, config: ProsodyConfig, host: Section, report: CheckReport
) -> None:
    """authentication, allow_empty_token, app_id/issuers and audiences of the VirtualHost."""
    # A value of None is an expression (os.getenv(...) and the like): unknown, so not judged.
    auth = config.option(host, "authentication")
    if auth is None or (auth.value is not None and auth.value != "token"):
        shown = f'"{auth.value}"' if auth is not None and isinstance(auth.value, str) else "unset"
        report.add(
            auth.file if auth is not None else host.file,
            auth.line if auth is not None else host.line,
            f'VirtualHost "{host.name}" has authentication = {shown}, not "token"',
            "Jitsi ignores the bot's links: people join without a token (or get a password "
            "prompt), and nobody gets the role the bot gave them",
            f'set authentication = "token" in VirtualHost "{host.name}" (Debian: install '
            "jitsi-meet-tokens; Docker: ENABLE_AUTH=1, AUTH_TYPE=jwt), restart prosody",
        )
    empty = config.option(host, "allow_empty_token")
    if empty is not None and empty.is_true():
        report.add(
            empty.file,
            empty.line,
            "allow_empty_token = true",
            "anyone who opens https://<server>/<room> without a token gets in; personal links "
            "protect nothing",
            "set allow_empty_token = false (Docker: JWT_ALLOW_EMPTY=0), restart prosody",
        )
    issuer = settings.jitsi_app_id
    app_id = config.option(host, "app_id")
    issuers = config.option(host, "asap_accepted_issuers")
    if app_id is None or app_id.value == "" or isinstance(app_id.value, bool | float | Table):
        report.add(
            app_id.file if app_id is not None else host.file,
            app_id.line if app_id is not None else host.line,
            f'VirtualHost "{host.name}" has no app_id',
            "Prosody's token module does not start: every login with a token fails",
            f'add app_id = "{issuer}" to VirtualHost "{host.name}"',
        )
    elif issuers is None and isinstance(app_id.value, str) and app_id.value != issuer:
        report.add(
            app_id.file,
            app_id.line,
            f'app_id = "{app_id.value}", but the bot signs its tokens as iss = "{issuer}" '
            "(JITSI_APP_ID)",
            "Prosody accepts only iss equal to app_id: every link fails with 'Invalid issuer'",
            f'set JITSI_APP_ID={app_id.value} in the bot\'s environment, or app_id = "{issuer}" '
            "in Prosody",
        )
    if issuers is not None and issuers.value is not None and issuer not in issuers.strings():
        report.add(
            issuers.file,
            issuers.line,
            f'asap_accepted_issuers does not list the bot\'s iss "{issuer}" (JITSI_APP_ID)',
            "every link from the bot fails with 'Invalid issuer'",
            f'add "{issuer}" to asap_accepted_issuers (Docker: JWT_ACCEPTED_ISSUERS)',
        )
    audiences = config.option(host, "asap_accepted_audiences")
    audience = settings.token_audience
    if audiences is not None and audiences.value is not None:
        accepted = audiences.strings()
        if "*" not in accepted and audience not in accepted:
            listed = ", ".join(f'"{value}"' for value in accepted) or "nothing"
            report.add(
                audiences.file,
                audiences.line,
                f'asap_accepted_audiences accepts {listed}, not the bot\'s aud "{audience}"',
                "every link from the bot fails with 'Invalid audience'",
                f'add "{audience}" to asap_accepted_audiences (Docker: JWT_ACCEPTED_AUDIENCES), '
                f"or set JITSI_AUDIENCE to one of {listed} for the bot",
            )


def _check_host_signing(
    settings: Settings, config: ProsodyConfig, host: Section, report: CheckReport
) -> None:
    """The signing algorithm and, for HS256, the shared secret itself (never printed)."""
    secret = config.option(host, "app_secret")
    key_server = config.option(host, "asap_key_server")
    algorithm = config.option(host, "signature_algorithm")
    declared = algorithm.value.upper() if algorithm and isinstance(algorithm.value, str) else None
    bot = settings.signing_algorithm
    if bot.startswith("HS"):
        if key_server is not None:
            report.add(
                key_server.file,
                key_server.line,
                "asap_key_server is set: Prosody expects RS256 tokens and fetches their public "
                f"key, but the bot signs {bot} with JITSI_APP_SECRET",
                "every link fails: the token has no key id and its signature does not verify",
                "remove asap_key_server (and signature_algorithm) from Prosody, or give the bot "
                "JITSI_PRIVATE_KEY_FILE and JITSI_KEY_ID instead of JITSI_APP_SECRET",
            )
            return
        if secret is None:
            report.add(
                host.file,
                host.line,
                f'VirtualHost "{host.name}" has neither app_secret nor asap_key_server',
                "Prosody's token module does not start: every login with a token fails",
                "add the app_secret line that `python -m bot jitsi-config --reveal-secret` prints",
            )
            return
        if declared is not None and declared != bot:
            fix = f'remove signature_algorithm (HS256 is the default) or set it to "{bot}"'
            _algorithm_mismatch(host, algorithm, declared, bot, fix, report)
            return
        _compare_secret(settings, secret, report)
        return
    if key_server is None:
        report.add(
            secret.file if secret is not None else host.file,
            secret.line if secret is not None else host.line,
            f"the bot signs {bot} with JITSI_PRIVATE_KEY_FILE, but Prosody has no "
            "asap_key_server and verifies with app_secret (HS256)",
            "every link fails the signature check",
            "set asap_key_server to where the public key is published and "
            f'signature_algorithm = "{bot}" (see `python -m bot jitsi-config`), or give the bot '
            "JITSI_APP_SECRET instead",
        )
    elif declared is not None and declared != bot:
        _algorithm_mismatch(
            host, algorithm, declared, bot, f'set signature_algorithm = "{bot}"', report
        )


def _algorithm_mismatch(
    host: Section,
    algorithm: Setting | None,
    declared: str,
    bot: str,
    fix: str,
    report: CheckReport,
) -> None:
    """Prosody's signature_algorithm is not the one the bot signs with."""
    report.add(
        algorithm.file if algorithm else host.file,
        algorithm.line if algorithm else host.line,
        f'signature_algorithm = "{declared}", but the bot signs {bot}',
        "every link fails the signature check",
        fix,
    )


def _compare_secret(settings: Settings, secret: Setting, report: CheckReport) -> None:
    """app_secret against JITSI_APP_SECRET, in constant time; neither value is ever printed."""
    if not isinstance(secret.value, str) or settings.jitsi_app_secret is None:
        return  # an expression such as os.getenv(...): nothing to compare here
    if secret.value == SECRET_PLACEHOLDER:
        report.add(
            secret.file,
            secret.line,
            f'app_secret is still the placeholder "{SECRET_PLACEHOLDER}"',
            "every link fails the signature check",
            "put the value of JITSI_APP_SECRET there, or print the line with "
            "`python -m bot jitsi-config --reveal-secret`",
        )
        return
    expected = settings.jitsi_app_secret.get_secret_value().encode()
    if not hmac.compare_digest(secret.value.encode(), expected):
        report.add(
            secret.file,
            secret.line,
            "app_secret differs from the bot's JITSI_APP_SECRET (values not shown)",
            "every link fails the signature check: users land on the auth error page",
            "make them the same: `python -m bot jitsi-config --reveal-secret` prints the line "
            "Prosody needs; restart prosody",
        )


def _check_host_domain(
    settings: Settings, config: ProsodyConfig, host: Section, report: CheckReport
) -> bool:
    """The token's sub against the domain Prosody verifies it with; True if a finding was made."""
    verification = config.option(host, "enable_domain_verification")
    if verification is not None and verification.value is False:
        return False  # sub is not compared at all
    base = config.option(host, "muc_mapper_domain_base")
    base_name = base.value if base is not None and isinstance(base.value, str) else None
    if settings.jitsi_tenant:
        if base_name is None:
            report.add(
                host.file,
                host.line,
                f'JITSI_BASE_URL has a tenant ("{settings.jitsi_tenant}") but no '
                "muc_mapper_domain_base is set",
                "with domain verification Prosody refuses every join under "
                f"https://{settings.jitsi_host}/{settings.jitsi_tenant}/",
                f'add muc_mapper_domain_base = "{host.name}" at the top (global section) and '
                '"muc_domain_mapper" to the conference MUC\'s modules_enabled',
            )
            return True
        return False
    subject = settings.token_subject.lower()
    if host.name.lower() != subject:
        report.add(
            host.file,
            host.line,
            f'the XMPP domain is "{host.name}", but the bot\'s tokens carry sub = '
            f'"{settings.token_subject}"',
            "with domain verification every join is refused: users land on the auth error page",
            f"set JITSI_DOMAIN={host.name} for the bot"
            + (
                " (a Docker install: its XMPP domain is meet.jitsi, not the web host)"
                if host.name.lower() == "meet.jitsi"
                else ""
            ),
        )
        return True
    if base is not None and base_name is not None and base_name.lower() != subject:
        report.add(
            base.file,
            base.line,
            f'muc_mapper_domain_base = "{base_name}", but the bot\'s tokens carry sub = '
            f'"{settings.token_subject}"',
            "with domain verification every join is refused: users land on the auth error page",
            f'set muc_mapper_domain_base = "{host.name}" (the VirtualHost), or JITSI_DOMAIN='
            f"{base_name} for the bot",
        )
        return True
    return False


def _check_muc(config: ProsodyConfig, muc: Section, report: CheckReport) -> bool:
    """The conference MUC's modules; True when a module sets roles from the token."""
    modules = config.modules(muc)
    if modules is not None and modules.value is None:
        return True  # an expression: the module list is unknown, and so are the roles
    names = modules.strings() if modules is not None else []
    where = (modules.file, modules.line) if modules is not None else (muc.file, muc.line)
    if "token_verification" not in names:
        report.add(
            *where,
            f'"token_verification" is not in the modules_enabled of Component "{muc.name}"',
            "the token's room is never compared with the room joined: a link for one meeting "
            "opens every meeting",
            f'add "token_verification"; to modules_enabled of Component "{muc.name}"',
        )
    has_affiliation = any(name in names for name in _AFFILIATION_MODULES)
    if not has_affiliation:
        report.add(
            *where,
            f'"token_affiliation" is not in the modules_enabled of Component "{muc.name}"',
            "owners from the bot don't become owners (they can't mute, kick or end the "
            "meeting); if Jicofo's auto-owner is on, whoever joins first is owner instead",
            f'add "token_affiliation"; to modules_enabled of Component "{muc.name}" '
            "(Docker: XMPP_MUC_MODULES=token_affiliation)",
        )
    if "muc_allowners" in names:
        report.add(
            modules.file if modules else muc.file,
            modules.item_line("muc_allowners") if modules else muc.line,
            f'"muc_allowners" is enabled on Component "{muc.name}"',
            "every participant becomes an owner (moderator): members can mute and kick everyone",
            f'remove "muc_allowners" from modules_enabled of Component "{muc.name}"',
        )
    if "muc_wait_for_host" in names:
        option = muc.settings.get("wait_for_host_disable_auto_owners") or (
            config.global_section.settings.get("wait_for_host_disable_auto_owners")
        )
        if option is None or (option.value is not None and not option.is_true()):
            report.add(
                modules.file if modules else muc.file,
                modules.item_line("muc_wait_for_host") if modules else muc.line,
                f'"muc_wait_for_host" is enabled on Component "{muc.name}" without '
                "wait_for_host_disable_auto_owners = true",
                "the module makes everyone who joins with a token an owner: members become "
                "moderators",
                f'add wait_for_host_disable_auto_owners = true to Component "{muc.name}" '
                "(Docker: WAIT_FOR_HOST_DISABLE_AUTO_OWNERS=1)",
            )
    return has_affiliation


def _check_rooms(
    settings: Settings,
    config: ProsodyConfig,
    host: Section,
    muc: Section | None,
    report: CheckReport,
) -> None:
    """With RESERVATIONS_TOKEN: reservations and presence_identity on the VirtualHost, the
    wait for the host on the conference MUC, and the event-sync component."""
    modules = config.modules(host)
    if modules is not None and modules.value is None:
        return  # an expression: unknown
    names = modules.strings() if modules is not None else []
    where = (modules.file, modules.line) if modules is not None else (host.file, host.line)
    if "reservations" not in names:
        report.add(
            *where,
            f'"reservations" is not in the modules_enabled of VirtualHost "{host.name}"',
            "Jitsi never asks the bot: rooms open at any time, also rooms no meeting planned, "
            "and stay open after the meeting",
            f'add "reservations"; to modules_enabled of VirtualHost "{host.name}" with the '
            "reservations_ lines `python -m bot jitsi-config` prints",
        )
    else:
        _check_api_lines(
            settings,
            config,
            host,
            ("reservations_api_prefix", reservations_prefix(settings)),
            "reservations_api_headers",
            "every room is refused (or, unreachable, Jitsi retries and then refuses)",
            report,
        )
    if "presence_identity" not in names:
        report.add(
            *where,
            f'"presence_identity" is not in the modules_enabled of VirtualHost "{host.name}"',
            "a modified client can show itself as someone else to the others in the room",
            f'add "presence_identity"; to modules_enabled of VirtualHost "{host.name}"',
        )
    sync = next(
        (
            section
            for section in config.sections.values()
            if section.kind == "Component" and section.module == "event_sync_component"
        ),
        None,
    )
    if sync is None:
        report.add(
            host.file,
            None,
            'no Component with "event_sync_component" in the files read',
            "the bot never learns who came: no attendance reports, no message to the owners "
            "when members wait without one",
            'add the Component "esync.<domain>" "event_sync_component" block that '
            "`python -m bot jitsi-config` prints (the module is jitsi-contrib's event_sync)",
            severity="warning",
        )
    else:
        _check_api_lines(
            settings,
            config,
            sync,
            ("api_prefix", events_prefix(settings)),
            "api_headers",
            "the bot refuses every event: no attendance reports, no message when no owner comes",
            report,
        )
    muc_modules = config.modules(muc) if muc is not None else None
    if (
        muc is not None
        and muc_modules is not None
        and muc_modules.value is not None
        and "muc_wait_for_host" not in muc_modules.strings()
    ):
        report.add(
            muc_modules.file,
            muc_modules.line,
            f'"muc_wait_for_host" is not in the modules_enabled of Component "{muc.name}"',
            "people without a token are not held in the lobby until a host is in",
            f'add "muc_wait_for_host"; to Component "{muc.name}" with '
            "wait_for_host_disable_auto_owners = true",
            severity="warning",
        )


def _check_api_lines(
    settings: Settings,
    config: ProsodyConfig,
    section: Section,
    prefix: tuple[str, str],
    headers_option: str,
    effect: str,
    report: CheckReport,
) -> None:
    """A module's API prefix and its Authorization header against the bot's (never printed)."""
    option, expected = prefix
    setting = config.option(section, option)
    if setting is None or (
        isinstance(setting.value, str) and setting.value.rstrip("/") != expected
    ):
        shown = (
            f'"{setting.value}"'
            if setting is not None and isinstance(setting.value, str)
            else "unset"
        )
        report.add(
            setting.file if setting is not None else section.file,
            setting.line if setting is not None else section.line,
            f'{option} is {shown} in "{section.name}", not the bot\'s "{expected}"',
            effect,
            f'set {option} = "{expected}" (PUBLIC_URL, then the path the bot serves)',
        )
    headers = section.settings.get(headers_option)
    assert settings.reservations_token is not None
    token = settings.reservations_token.get_secret_value()
    bearer = _bearer_of(headers) if headers is not None else None
    if (
        bearer is None
        or bearer == RESERVATIONS_PLACEHOLDER
        or not hmac.compare_digest(bearer.encode(), token.encode())
    ):
        if headers is None:
            problem = f'{headers_option} is missing in "{section.name}"'
        elif bearer == RESERVATIONS_PLACEHOLDER:
            problem = f'{headers_option} still has the placeholder "{RESERVATIONS_PLACEHOLDER}"'
        else:
            problem = (
                f'{headers_option} in "{section.name}" has no Authorization: Bearer with the '
                "bot's RESERVATIONS_TOKEN (values not shown)"
            )
        report.add(
            headers.file if headers is not None else section.file,
            headers.line if headers is not None else section.line,
            problem,
            "the bot answers every call with 401: " + effect,
            f'set {headers_option} = {{ ["Authorization"] = "Bearer <RESERVATIONS_TOKEN>"; }} '
            "(`python -m bot jitsi-config --reveal-secret` prints it)",
        )


_BEARER = re.compile(
    r"""\[\s*["']Authorization["']\s*\]\s*=\s*["']Bearer ([^"']*)["']""", re.IGNORECASE
)


def _bearer_of(setting: Setting) -> str | None:
    """The token in a headers table's ["Authorization"] = "Bearer ..." (the Lua reader keeps
    no keyed fields, so it is read from the file text from the setting's line to its "}")."""
    try:
        lines = setting.file.read_text(encoding="utf-8").splitlines()[setting.line - 1 :]
    except OSError:
        return None
    text = ""
    for line in lines:
        text += line + "\n"
        if "}" in line:
            break
    match = _BEARER.search(text)
    return match.group(1) if match else None


def _check_breakout(config: ProsodyConfig, breakout: Section, report: CheckReport) -> None:
    """Token modules on the breakout-rooms MUC break breakout rooms."""
    modules = config.modules(breakout)
    if modules is None or modules.value is None:
        return
    names = modules.strings()
    if "token_verification" in names:
        report.add(
            modules.file,
            modules.item_line("token_verification"),
            f'"token_verification" is enabled on the breakout-rooms Component "{breakout.name}"',
            "the tokens name the main room, so moving people into breakout rooms fails",
            f'remove "token_verification" from Component "{breakout.name}" (keep it on the '
            "conference MUC only)",
        )
    if "token_owner_party" in names:
        report.add(
            modules.file,
            modules.item_line("token_owner_party"),
            f'"token_owner_party" is enabled on the breakout-rooms Component "{breakout.name}"',
            "members are refused or removed from breakout rooms that have no owner in them",
            f'remove "token_owner_party" from Component "{breakout.name}"',
        )


def _check_jicofo(
    settings: Settings, config: _Jicofo, facts: _ProsodyFacts, report: CheckReport
) -> None:
    """Jicofo's own authentication and auto-owner, with its precedence: properties win."""
    files = config.hocon_files + config.properties_files
    read = [path for path in files if path in report.checked]
    if not read:
        return
    domain = (facts.host.name if facts.host else xmpp_domain(settings)).lower()
    everyone = (
        "Jicofo makes everyone who logs in with a token a moderator, overriding "
        "token_affiliation on the MUC: every member becomes an owner"
        if facts.affiliation_on_muc
        else "Jicofo makes everyone who logs in with a token a moderator (owner): members can "
        "mute, kick and end the meeting"
    )
    legacy = config.properties.get("org.jitsi.jicofo.auth.URL")
    if legacy is not None:
        kind = legacy.value.split(":", 1)[0].upper() if ":" in legacy.value else ""
        login = legacy.value.split(":", 1)[1] if ":" in legacy.value else ""
        if kind == "EXT_JWT" or (kind == "XMPP" and login.strip().lower() == domain):
            report.add(
                legacy.file,
                legacy.line,
                f"Jicofo's own {'JWT' if kind == 'EXT_JWT' else 'XMPP'} authentication is on "
                f"(org.jitsi.jicofo.auth.URL={kind}:...)",
                everyone,
                "delete the org.jitsi.jicofo.auth.URL line and restart jicofo; Prosody's token "
                "authentication is all the bot needs",
            )
    else:
        enabled = config.hocon.get("jicofo.authentication.enabled")
        kind_entry = config.hocon.get("jicofo.authentication.type")
        login_entry = config.hocon.get("jicofo.authentication.login-url")
        kind = kind_entry.value.strip().upper() if kind_entry else "NONE"
        login = login_entry.value.strip().lower() if login_entry else ""
        if (
            enabled is not None
            and hocon_bool(enabled.value)
            and (kind == "JWT" or (kind == "XMPP" and login in ("", domain)))
        ):
            shown = kind_entry if kind_entry is not None else enabled
            report.add(
                shown.file,
                shown.line,
                f"Jicofo's own {kind} authentication is on (jicofo.authentication: "
                f"enabled = true, type = {kind})",
                everyone,
                "remove the authentication block from jicofo.conf (or set enabled = false; "
                "Docker: JICOFO_ENABLE_AUTH=0) and restart jicofo",
            )
    # A missing setting is only a finding when every Jicofo file could be read.
    _check_auto_owner(config, report, complete=len(read) == len(files))


def _check_auto_owner(config: _Jicofo, report: CheckReport, complete: bool) -> None:
    """enable-auto-owner: the legacy property wins over jicofo.conf, whose default is on."""
    effect = (
        "Jicofo makes the first participant an owner, and the next one whenever the owner "
        "leaves: members become moderators"
    )
    legacy = config.properties.get("org.jitsi.jicofo.DISABLE_AUTO_OWNER")
    if legacy is not None:
        if legacy.value.strip().lower() != "true":
            report.add(
                legacy.file,
                legacy.line,
                f"org.jitsi.jicofo.DISABLE_AUTO_OWNER={legacy.value}",
                effect,
                "set org.jitsi.jicofo.DISABLE_AUTO_OWNER=true and restart jicofo",
            )
        return
    modern = config.hocon.get("jicofo.conference.enable-auto-owner")
    if modern is not None:
        if hocon_bool(modern.value) is True:
            report.add(
                modern.file,
                modern.line,
                f"jicofo.conference.enable-auto-owner = {modern.value}",
                effect,
                "set enable-auto-owner = false in jicofo { conference { } } (Docker: "
                "ENABLE_AUTO_OWNER=0) and restart jicofo",
            )
        return
    # Neither file disables it, and Jicofo's built-in default is on.
    if not complete:
        return
    if config.properties_files:
        report.add(
            config.properties_files[0],
            None,
            "org.jitsi.jicofo.DISABLE_AUTO_OWNER=true is missing (and jicofo.conf does not set "
            "enable-auto-owner = false)",
            effect,
            "add org.jitsi.jicofo.DISABLE_AUTO_OWNER=true (or enable-auto-owner = false in "
            "jicofo.conf) and restart jicofo",
        )
    elif config.hocon_files:
        anchor = config.hocon.objects.get(("jicofo", "conference")) or config.hocon.objects.get(
            ("jicofo",)
        )
        report.add(
            anchor.file if anchor else config.hocon_files[0],
            anchor.line if anchor else None,
            "jicofo.conference.enable-auto-owner is not set to false (Jicofo's default is true)",
            effect,
            "add enable-auto-owner = false inside jicofo { conference { } } (Docker: "
            "ENABLE_AUTO_OWNER=0) and restart jicofo",
        )


def _check_web(
    settings: Settings, hosts: dict[str, Entry], facts: _ProsodyFacts, report: CheckReport
) -> None:
    """config.js: the XMPP domain the client logs in to, and guest access."""
    domain = hosts.get("domain")
    if (
        domain is not None
        and not settings.jitsi_tenant
        and not facts.domain_reported
        and domain.value.lower() != settings.token_subject.lower()
    ):
        report.add(
            domain.file,
            domain.line,
            f'hosts.domain is "{domain.value}", but the bot\'s tokens carry sub = '
            f'"{settings.token_subject}"',
            "with domain verification every join is refused: users land on the auth error page",
            f"set JITSI_DOMAIN={domain.value} for the bot (Docker installs use meet.jitsi)"
            if domain.value.lower() != "meet.jitsi"
            else "set JITSI_DOMAIN=meet.jitsi for the bot (a Docker install: its XMPP domain is "
            "meet.jitsi, not the web host)",
        )
    guest = hosts.get("anonymousdomain")
    if guest is not None and guest.value:
        report.add(
            guest.file,
            guest.line,
            f'hosts.anonymousdomain is set ("{guest.value}"): guests can log in without a token',
            "people without a personal link join as guests once a meeting is running",
            "remove anonymousdomain from config.js (and the guest VirtualHost; Docker: "
            "ENABLE_GUESTS=0) unless you want open guest access",
            severity="warning",
        )


def format_report(report: CheckReport) -> str:
    """The report as text for a terminal: each finding with location, effect and fix."""
    lines: list[str] = []
    errors = sum(1 for finding in report.findings if finding.severity == "error")
    warnings = len(report.findings) - errors
    files = len(report.checked)
    if report.findings:
        counts = f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
        lines.append(
            f"Jitsi config check: {len(report.findings)} problem"
            f"{'s' * (len(report.findings) != 1)} ({counts}) in {files} file"
            f"{'s' * (files != 1)} read."
        )
    elif report.unreadable:
        lines.append(
            f"Jitsi config check: {len(report.unreadable)} file"
            f"{'s' * (len(report.unreadable) != 1)} could not be read; nothing wrong in the "
            f"{files} read."
        )
    elif report.checked:
        lines.append(f"Jitsi config check: no problems found in {files} file{'s' * (files != 1)}.")
    else:
        lines.append("Jitsi config check: no files were read.")
    wrap = textwrap.TextWrapper(width=99, subsequent_indent=" " * 12)
    for number, finding in enumerate(report.findings, start=1):
        lines.append("")
        lines.append(f"{number}. {finding.location}  [{finding.severity}]")
        lines.append(wrap.fill(f"   Problem: {finding.problem}"))
        lines.append(wrap.fill(f"   Effect:  {finding.effect}"))
        lines.append(wrap.fill(f"   Fix:     {finding.fix}"))
    if report.unreadable:
        lines.append("")
        lines.append("Could not read:")
        lines.extend(f"   {path}: {reason}" for path, reason in report.unreadable)
    if report.checked:
        lines.append("")
        lines.append("Files read:")
        lines.extend(f"   {path}" for path in report.checked)
    return "\n".join(lines) + "\n"
