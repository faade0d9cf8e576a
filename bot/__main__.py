"""Command line: run | demo | token | jitsi-config | jitsi-check | db | healthcheck."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot.config import Settings, SettingsError, load_settings, token_signer
from bot.jitsi import FEATURES, Person, Role, is_valid_room_name, resolve_features

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad arguments as one line on stderr and exits 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: {message}\n")


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(message, file=sys.stderr)
    return code


def _settings() -> Settings:
    return load_settings()


def token_command(argv: Sequence[str]) -> int:
    """Print one personal Jitsi link, like the hand-written jwt.php scripts do."""
    parser = _Parser(prog="python -m bot token", description=token_command.__doc__)
    parser.add_argument("--room", required=True, help="room name: [a-z0-9-], at most 64")
    parser.add_argument("--name", required=True, help="display name in the meeting")
    parser.add_argument("--email", help="e-mail for the avatar (others can see it)")
    parser.add_argument("--role", choices=[role.value for role in Role], default="member")
    parser.add_argument("--start", help="meeting start, ISO 8601 with a zone (default: now)")
    parser.add_argument("--duration", type=int, default=60, help="minutes (default 60)")
    parser.add_argument("--user-id", default=None, help="context.user.id (default: from name)")
    parser.add_argument(
        "--feature",
        action="append",
        default=[],
        metavar="NAME=on|off",
        help="override one feature; repeatable",
    )
    args = parser.parse_args(argv)
    if not is_valid_room_name(args.room):
        return _fail("--room: expected lowercase letters, digits and dashes, at most 64")
    if not args.name.strip():
        return _fail("--name: expected a non-empty display name")
    if not 0 < args.duration <= 24 * 60:
        return _fail("--duration: expected minutes between 1 and 1440")
    now = datetime.now(UTC)
    start = now
    if args.start:
        try:
            start = datetime.fromisoformat(args.start)
        except ValueError:
            return _fail("--start: expected ISO 8601, e.g. 2026-12-01T10:00:00+01:00")
        if start.tzinfo is None:
            return _fail("--start: expected a time zone offset, e.g. 2026-12-01T10:00:00+01:00")
    overrides: dict[str, bool] = {}
    for item in args.feature:
        name, _sep, value = item.partition("=")
        if name not in FEATURES or value not in {"on", "off"}:
            return _fail(f"--feature: expected NAME=on|off with NAME one of {', '.join(FEATURES)}")
        overrides[name] = value == "on"
    try:
        settings = _settings()
    except SettingsError as error:
        return _fail(str(error))
    end = start + timedelta(minutes=args.duration)
    if end <= now:
        return _fail("--start: this meeting is already over; a token for it would not work")
    role = Role(args.role)
    signer = token_signer(settings)
    user_id = args.user_id or "cli-" + "".join(ch for ch in args.name.lower() if ch.isalnum())
    link = signer.personal_link(
        person=Person(user_id=user_id, name=args.name.strip(), email=args.email),
        room=args.room,
        role=role,
        features=resolve_features(role, None, overrides),
        issued_at=now,
        expires_at=end + timedelta(minutes=settings.token_grace_minutes),
    )
    print(link)
    return 0


def run_command(argv: Sequence[str]) -> int:
    """Run the bot: long polling, or a webhook behind a reverse proxy."""
    parser = _Parser(prog="python -m bot run", description=run_command.__doc__)
    parser.add_argument("--webhook-url", help="public HTTPS URL Telegram posts updates to")
    parser.add_argument(
        "--listen", default="127.0.0.1", help="address to listen on (without PUBLIC_URL)"
    )
    parser.add_argument(
        "--port", type=int, default=8443, help="port to listen on (without PUBLIC_URL)"
    )
    parser.add_argument("--secret-token", help="X-Telegram-Bot-Api-Secret-Token to require")
    args = parser.parse_args(argv)
    try:
        settings = _settings()
        settings.require_bot_token()
    except SettingsError as error:
        return _fail(str(error), 1)
    from bot.app import build_application
    from bot.logs import configure_logging

    configure_logging(settings.log_level, _secrets_of(settings))
    if args.webhook_url and settings.public_url:
        # One web server for both: click-time links and Telegram's updates, on WEB_LISTEN.
        from bot.app import run_with_own_webhook
        from bot.web import Webhook

        webhook = Webhook(url=args.webhook_url, secret_token=args.secret_token)
        run_with_own_webhook(build_application(settings, webhook=webhook))
        return 0
    application = build_application(settings)
    if args.webhook_url:
        from urllib.parse import urlsplit

        application.run_webhook(
            listen=args.listen,
            port=args.port,
            url_path=urlsplit(args.webhook_url).path.lstrip("/"),
            webhook_url=args.webhook_url,
            secret_token=args.secret_token,
        )
    else:
        application.run_polling()
    return 0


def _secrets_of(settings: Settings) -> list[str]:
    secrets = []
    if settings.telegram_bot_token is not None:
        secrets.append(settings.telegram_bot_token.get_secret_value())
    if settings.jitsi_app_secret is not None:
        secrets.append(settings.jitsi_app_secret.get_secret_value())
    return secrets


def db_command(argv: Sequence[str]) -> int:
    """Database maintenance: `db upgrade` applies the migrations, `db copy` moves the data."""
    parser = _Parser(prog="python -m bot db")
    actions = parser.add_subparsers(dest="action", required=True, parser_class=_Parser)
    actions.add_parser("upgrade", help="apply the migrations to DATABASE_URL's database")
    copy = actions.add_parser(
        "copy", help="copy every row into an empty database (stop the bot first)"
    )
    copy.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="URL",
        help="e.g. sqlite:///data/meetings.db",
    )
    copy.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="URL",
        help="e.g. postgresql+psycopg://bot:secret@db/meetings",
    )
    args = parser.parse_args(argv)
    if args.action == "copy":
        return _copy_database(args.source, args.target)
    try:
        settings = _settings()
    except SettingsError as error:
        return _fail(str(error), 1)
    from storage.db import make_engine, upgrade_database

    upgrade_database(make_engine(settings.database_url))
    print("database is up to date")
    return 0


def _copy_database(source: str, target: str) -> int:
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from storage.copy import CopyRefused, copy_database

    try:
        copied = copy_database(source, target)
    except CopyRefused as refusal:
        return _fail(f"db copy: {refusal}", 1)
    except (ArgumentError, SQLAlchemyError, ImportError) as error:
        # A bad URL, a server that does not answer, a driver not installed: its first line.
        return _fail(f"db copy: {str(error).splitlines()[0]}", 1)
    for table in copied:
        print(f"{table.name}: {table.target_rows} rows")
    print(f"copied {sum(t.target_rows for t in copied)} rows; row counts match in every table")
    return 0


def healthcheck_command(argv: Sequence[str]) -> int:
    """Exit 0 when the database answers and this host's bot swept lately, else 1 and why."""
    parser = _Parser(prog="python -m bot healthcheck", description=healthcheck_command.__doc__)
    parser.add_argument(
        "--max-age", type=int, default=120, metavar="SECONDS",
        help="the longest time since the last delivery sweep that is healthy (default 120)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        settings = _settings()
    except SettingsError as error:
        return _fail(f"unhealthy: {error}", 1)
    from storage.heartbeat import check_health

    healthy, reason = check_health(settings.database_url, timedelta(seconds=args.max_age))
    if not healthy:
        return _fail(f"unhealthy: {reason}", 1)
    print(f"healthy: {reason}")
    return 0


def jitsi_config_command(argv: Sequence[str]) -> int:
    """Print the Prosody and Jicofo settings that match this bot."""
    try:
        settings = _settings()
    except SettingsError as error:
        return _fail(str(error), 1)
    from bot.jitsi.commands import jitsi_config_main

    return jitsi_config_main(settings, argv)


def jitsi_check_command(argv: Sequence[str]) -> int:
    """Check a Jitsi server's config files for the known pitfalls."""
    try:
        settings = _settings()
    except SettingsError as error:
        # 1 means "findings" for this command; a setting it cannot compare against is 2.
        return _fail(str(error), 2)
    from bot.jitsi.commands import jitsi_check_main

    return jitsi_check_main(settings, argv)


def demo_command(argv: Sequence[str]) -> int:
    """Play the whole product offline against the sandbox."""
    from bot.demo import demo_main

    return demo_main(argv)


COMMANDS = {
    "run": run_command,
    "demo": demo_command,
    "token": token_command,
    "jitsi-config": jitsi_config_command,
    "jitsi-check": jitsi_check_command,
    "db": db_command,
    "healthcheck": healthcheck_command,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to a subcommand."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"} or args[0] not in COMMANDS:
        print("usage: python -m bot {" + "|".join(COMMANDS) + "} [options]", file=sys.stderr)
        return 0 if args and args[0] in {"-h", "--help"} else EXIT_USAGE
    return COMMANDS[args[0]](args[1:])


if __name__ == "__main__":
    sys.exit(main())
