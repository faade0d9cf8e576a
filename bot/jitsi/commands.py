"""The jitsi-config and jitsi-check commands: their arguments, output and exit codes."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from bot.config import JitsiProvider, Settings
from bot.jitsi.checks import check_server_config, format_report
from bot.jitsi.server_settings import render_jaas_config, render_server_config


def default_paths(root: Path = Path("/")) -> tuple[list[Path], list[Path], Path | None]:
    """The Debian package locations that exist: Prosody files, Jicofo files, config.js."""
    prosody: list[Path] = []
    main = root / "etc/prosody/prosody.cfg.lua"
    if main.is_file():
        prosody.append(main)  # first, so that its Include of conf.d keeps the order Prosody uses
    prosody.extend(sorted((root / "etc/prosody/conf.d").glob("*.cfg.lua")))
    jicofo_dir = root / "etc/jitsi/jicofo"
    jicofo = [
        path
        for path in (jicofo_dir / "jicofo.conf", jicofo_dir / "sip-communicator.properties")
        if path.is_file()
    ]
    web = sorted((root / "etc/jitsi/meet").glob("*-config.js"))
    return prosody, jicofo, web[0] if web else None


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace | int:
    """Parsed arguments, or the exit code argparse wanted (--help, a usage error)."""
    try:
        return parser.parse_args(list(argv))
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 2


def jitsi_config_main(settings: Settings, argv: Sequence[str]) -> int:
    """`python -m bot jitsi-config`: print the server settings for this bot."""
    parser = argparse.ArgumentParser(
        prog="python -m bot jitsi-config",
        description="Print the Prosody, Jicofo and web-page settings this bot needs "
        "(with JITSI_PROVIDER=jaas: the JaaS console steps and the public key).",
    )
    parser.add_argument("--bot-username", metavar="NAME", help="the bot's Telegram username")
    parser.add_argument(
        "--reveal-secret",
        action="store_true",
        help="print JITSI_APP_SECRET in the app_secret line instead of a placeholder",
    )
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args
    if settings.jitsi_provider is JitsiProvider.JAAS:
        print(render_jaas_config(settings), end="")
        return 0
    try:
        text = render_server_config(
            settings, bot_username=args.bot_username, reveal_secret=args.reveal_secret
        )
    except ValueError as error:
        parser.print_usage()
        print(f"{parser.prog}: error: {error}")
        return 2
    print(text, end="")
    return 0


def jitsi_check_main(settings: Settings, argv: Sequence[str]) -> int:
    """`python -m bot jitsi-check`: check the server's config files against the bot's settings."""
    parser = argparse.ArgumentParser(
        prog="python -m bot jitsi-check",
        description="Check Prosody, Jicofo and config.js files for the pitfalls that break "
        "token meetings, and for mismatches with this bot's settings. Without file options, "
        "the Debian locations are read.",
        epilog="Exit codes: 0 nothing found, 1 problems found, 2 a file could not be read.",
    )
    parser.add_argument("--prosody", metavar="FILE", type=Path, action="append", default=[])
    parser.add_argument("--jicofo", metavar="FILE", type=Path, action="append", default=[])
    parser.add_argument("--web-config", metavar="FILE", type=Path)
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args
    if settings.jitsi_provider is JitsiProvider.JAAS:
        print(
            "JITSI_PROVIDER is jaas: 8x8 runs the Jitsi servers, so there are no server "
            "files to check."
        )
        return 0
    prosody: list[Path] = args.prosody
    jicofo: list[Path] = args.jicofo
    web: Path | None = args.web_config
    if not (prosody or jicofo or web):
        prosody, jicofo, web = default_paths()
        if not (prosody or jicofo or web):
            print(
                "No Jitsi config files at the Debian locations (/etc/prosody, /etc/jitsi). "
                "Pass them with --prosody, --jicofo and --web-config."
            )
            return 2
    report = check_server_config(settings, prosody=prosody, jicofo=jicofo, web_config=web)
    print(format_report(report), end="")
    return report.exit_code
