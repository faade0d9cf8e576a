"""`python -m bot demo`: the whole product, offline, as a readable chat transcript.

The real bot runs against bot/sandbox with a temporary database and a clock the demo moves
forward, so a meeting's reminder time arrives in seconds. No Telegram token, no network,
no Jitsi server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import socket
import sys
import tempfile
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.clock import ManualClock
from bot.config import Settings
from bot.sandbox import Chat, Message, RateLimits, Sandbox, User
from bot.sandbox.harness import BotHarness

DEMO_TOKEN = "100000:DEMO-TOKEN-not-a-real-telegram-token"
DEMO_BOT = "jitsi_meetings_demo_bot"
DEMO_JITSI = "https://meet.example.com"
DEMO_APP_ID = "meetbot"
DEMO_JAAS_APP_ID = "vpaas-magic-cookie-0000demo0000"
WIDTH = 92
FAST_CLOCK = 60  # demo seconds per real second in --interactive


class Transcript:
    """Prints the story: who said what where, and what the bot answered."""

    def __init__(self, out: Any = None) -> None:
        self.out = out or sys.stdout

    def heading(self, text: str) -> None:
        """A new scene."""
        print(f"\n━━ {text} " + "━" * max(0, WIDTH - len(text) - 4), file=self.out)

    def note(self, text: str) -> None:
        """A narrator's line."""
        print(textwrap.fill(f"   ({text})", WIDTH), file=self.out)

    def says(self, who: str, where: str, text: str) -> None:
        """A person writes."""
        print(f"\n👤 {who} in {where}: {text}", file=self.out)

    def taps(self, who: str, button: str) -> None:
        """A person presses a button."""
        print(f"👆 {who} taps “{button}”", file=self.out)

    def bot(self, message: Message, where: str = "", edited: bool = False) -> None:
        """The bot's message, with its buttons."""
        label = "🤖 bot" + (f" → {where}" if where else "") + (" (edited)" if edited else "")
        print(label + ":", file=self.out)
        for line in message.text.splitlines() or [""]:
            shown = line if len(line) <= WIDTH - 6 else line[: WIDTH - 9] + "…"
            print(f"     {shown}", file=self.out)
        for row in message.buttons:
            print("     " + "  ".join(f"[{text}]" for text, _value in row), file=self.out)


@dataclass(frozen=True)
class DemoJitsi:
    """The Jitsi side of the demo: its settings, and how to check the tokens it gets."""

    settings: dict[str, Any]
    verify_key: Any
    algorithm: str
    audience: str


def self_hosted_jitsi() -> DemoJitsi:
    """A self-hosted server that does not exist, with a fresh HS256 secret."""
    secret = secrets.token_urlsafe(32)
    values = {
        "jitsi_base_url": DEMO_JITSI,
        "jitsi_app_id": DEMO_APP_ID,
        "jitsi_app_secret": secret,
    }
    return DemoJitsi(values, secret, "HS256", DEMO_APP_ID)


def jaas_jitsi(workdir: Path) -> DemoJitsi:
    """A JaaS AppID that does not exist, with a throwaway RSA key as its API key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = workdir / "jaas-demo-key.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    values = {
        "jitsi_provider": "jaas",
        "jaas_app_id": DEMO_JAAS_APP_ID,
        "jaas_key_id": f"{DEMO_JAAS_APP_ID}/demo01",
        "jaas_private_key_file": key_file,
    }
    return DemoJitsi(values, key.public_key(), "RS256", "jitsi")


def _demo_settings(jitsi: DemoJitsi, database: Path) -> Any:
    def factory(**values: Any) -> Settings:
        values.setdefault("database_url", f"sqlite:///{database}")
        return Settings(
            _env_file=None,
            default_timezone="Europe/Berlin",
            **jitsi.settings,
            **values,
        )

    return factory


def describe_token(link: str, jitsi: DemoJitsi, zone: Any) -> str:
    """Role, room and validity of the token inside a personal link."""
    token = link.split("jwt=", 1)[1]
    claims = jwt.decode(
        token,
        jitsi.verify_key,
        algorithms=[jitsi.algorithm],
        audience=jitsi.audience,
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    user = claims["context"]["user"]
    # Self-hosted tokens name the affiliation; JaaS ones only say "moderator": "true".
    role = user.get("affiliation") or ("owner" if user["moderator"] == "true" else "member")
    valid_from = datetime.fromtimestamp(claims["nbf"], UTC).astimezone(zone)
    valid_until = datetime.fromtimestamp(claims["exp"], UTC).astimezone(zone)
    features = claims["context"].get("features", {})
    enabled = [name for name, on in features.items() if on in (True, "true")]
    return (
        f"token: {user['name']} is {role} (moderator={user['moderator']}) "
        f"in room {claims['room']}, valid {valid_from:%a %H:%M} – {valid_until:%a %H:%M}; "
        f"{len(enabled)} features on"
    )


def _link_in(message: Message) -> str | None:
    for word in message.text.split():
        if "?jwt=" in word:
            return word
    return None


async def play(
    out: Any = None, *, interactive: bool = False, jaas: bool = False
) -> dict[str, Any]:
    """Run the story; returns what happened (for the test and the interactive mode)."""
    show = Transcript(out)
    workdir = Path(tempfile.mkdtemp(prefix="jitsi-bot-demo-"))
    jitsi = jaas_jitsi(workdir) if jaas else self_hosted_jitsi()
    # Telegram's flood limits, ten times faster, so the demo stays short.
    sandbox = Sandbox(DEMO_TOKEN, DEMO_BOT, limits=RateLimits(scale=10))
    await sandbox.start()
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    clock = ManualClock(start)
    bot = BotHarness(
        sandbox, clock, workdir / "meetings.db", _demo_settings(jitsi, workdir / "meetings.db")
    )
    await bot.start()
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    result: dict[str, Any] = {"links": {}, "summary": "", "late_link": None}
    try:
        people = {
            name: sandbox.create_user(name, username=name.lower(), language_code="en")
            for name in ("Alice", "Bob", "Carol", "Dan", "Erin")
        }
        team = sandbox.create_group(
            "Team", members=list(people.values()), admins=[people["Alice"]]
        )
        show.heading("Everyone but Erin has started the bot once")
        for name in ("Alice", "Bob", "Carol", "Dan"):
            await bot.say(people[name], "/start")
        await bot.say(people["Alice"], "/timezone Europe/Berlin")
        show.note(f"the demo clock reads {start.astimezone(berlin):%A %H:%M} in Berlin")
        if jaas:
            show.note(
                "the meetings run on JaaS (8x8.vc) under a made-up AppID and a throwaway key, "
                "so the links show real JaaS tokens but open no real meeting"
            )

        show.heading("Alice plans a meeting in the Team group")
        command = "/schedule Team sync | tomorrow 15:00 | 45m"
        show.says("Alice", "Team", command)
        preview = await bot.say(people["Alice"], command, team)
        show.bot(preview, "Team")
        show.taps("Alice", "Confirm")
        await bot.tap(people["Alice"], preview, "Confirm")
        announcement = sandbox.current(preview)
        show.bot(announcement, "Team", edited=True)
        code = announcement.text.split("· ")[1].split()[0]

        show.heading("Alice invites Bob by replying to him, and @erin, who never started the bot")
        bob_says = sandbox.send_text(people["Bob"], "Count me in!", team)
        show.says("Bob", "Team", bob_says.text)
        show.says("Alice", "Team", "/invite   (as a reply to Bob)")
        reply = await bot.say(people["Alice"], "/invite", team, reply_to=bob_says)
        show.bot(reply, "Team")
        show.says("Alice", "Team", f"/invite {code} @erin")
        reply = await bot.say(people["Alice"], f"/invite {code} @erin", team)
        show.bot(reply, "Team")
        invitation = await sandbox.wait_for_message(people["Bob"], contains="invited")
        show.bot(invitation, "Bob, privately")

        show.heading("Carol and Dan join with the group's button")
        for name in ("Carol", "Dan"):
            show.taps(name, "✅ Going")
            answer = await bot.tap(people[name], announcement, "✅ Going")
            show.note(f"the bot answers {name}'s tap: “{answer.text}”")

        reminder_at = datetime.combine(
            (start.astimezone(berlin) + timedelta(days=1)).date(),
            datetime.min.time().replace(hour=14, minute=50),
            berlin,
        )
        show.heading(f"The clock jumps to reminder time: {reminder_at:%A %H:%M} (Berlin)")
        clock.set(reminder_at)
        await bot.reminders()
        for name in ("Alice", "Bob", "Carol", "Dan"):
            message = next(m for m in reversed(sandbox.inbox(people[name])) if _link_in(m))
            show.bot(message, f"{name}, privately")
            link = _link_in(message)
            assert link is not None
            result["links"][name] = link
            show.note(describe_token(link, jitsi, berlin))
        summary = await sandbox.wait_for_message(people["Alice"], contains="have their links")
        show.bot(summary, "Alice, privately")
        result["summary"] = summary.text
        note = next(m for m in sandbox.chat_messages(team) if "Get my link" in str(m.buttons))
        show.bot(note, "Team")

        show.heading("Erin taps “Get my link” in the group, starts the bot, gets her link")
        url = sandbox.button_url(note, "Get my link")
        show.note(f"the button opens {url}")
        payload = url.split("start=")[1]
        show.says("Erin", "her private chat", f"/start {payload}")
        welcome = await bot.say(people["Erin"], f"/start {payload}", expect="jwt=")
        show.bot(welcome, "Erin, privately")
        link = _link_in(welcome)
        assert link is not None
        result["late_link"] = link
        show.note(describe_token(link, jitsi, berlin))
        await bot.reminders()
        show.bot(sandbox.current(note), "Team", edited=True)
        print(
            "\nEvery link above is personal: one token per person, owner or member, valid from "
            "the moment it was sent until the end plus the grace period. None was posted in "
            "the group.",
            file=show.out,
        )
        if interactive:
            await _open_mini_app(bot, people, clock)
            await _stay_interactive(sandbox, people, team, clock)
    finally:
        await bot.stop()
        await sandbox.stop()
    return result


async def play_click_time(out: Any = None) -> dict[str, Any]:
    """The click-time story (PUBLIC_URL set): a link opened, a demotion, the same link opened
    again. Returns the role each open's token carried."""
    from aiohttp import ClientSession

    show = Transcript(out)
    workdir = Path(tempfile.mkdtemp(prefix="jitsi-bot-demo-"))
    jitsi = self_hosted_jitsi()
    sandbox = Sandbox(DEMO_TOKEN, DEMO_BOT, limits=RateLimits(scale=10))
    await sandbox.start()
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    clock = ManualClock(start)
    port = _free_port()
    public_url = f"http://127.0.0.1:{port}/bot"
    bot = BotHarness(
        sandbox,
        clock,
        workdir / "meetings.db",
        _demo_settings(jitsi, workdir / "meetings.db"),
        public_url=public_url,
        web_listen=f"127.0.0.1:{port}",
    )
    await bot.start()
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    result: dict[str, Any] = {"roles": []}
    try:
        alice = sandbox.create_user("Alice", username="alice", language_code="en")
        bob = sandbox.create_user("Bob", username="bob", language_code="en")
        for person in (alice, bob):
            await bot.say(person, "/start")
        await bot.say(alice, "/timezone Europe/Berlin")
        show.heading(f"With PUBLIC_URL={public_url}, links are minted when they are opened")
        preview = await bot.say(alice, "/schedule Design review | tomorrow 15:00 | 45m")
        await bot.tap(alice, preview, "Confirm")
        code = sandbox.current(preview).text.split("· ")[1].split()[0]
        for command in (f"/invite {code} @bob", f"/promote {code} @bob"):
            show.says("Alice", "her private chat", command)
            show.bot(await bot.say(alice, command), "Alice")

        reminder_at = datetime.combine(
            (start.astimezone(berlin) + timedelta(days=1)).date(),
            datetime.min.time().replace(hour=14, minute=50),
            berlin,
        )
        show.heading(f"The clock jumps to reminder time: {reminder_at:%A %H:%M} (Berlin)")
        clock.set(reminder_at)
        await bot.reminders()
        message = next(m for m in reversed(sandbox.inbox(bob)) if public_url in m.text)
        show.bot(message, "Bob, privately")
        link = next(word for word in message.text.split() if word.startswith(public_url))
        show.note("the message carries no token: the link is the bot's, and mints one when opened")

        async with ClientSession() as http:

            async def open_link(when: str) -> None:
                async with http.get(link, allow_redirects=False) as response:
                    jitsi_link = response.headers["Location"]
                show.note(f"Bob opens {when}: the bot redirects him to the room")
                show.note(describe_token(jitsi_link.split("#")[0], jitsi, berlin))
                result["roles"].append(_role_in(jitsi_link, jitsi))

            await open_link("his link")
            show.says("Alice", "her private chat", f"/demote {code} @bob")
            show.bot(await bot.say(alice, f"/demote {code} @bob"), "Alice")
            await bot.reminders()
            show.bot(sandbox.inbox(bob)[-1], "Bob, privately")
            clock.advance(timedelta(minutes=2))
            await open_link("the same link again")
        print(
            "\nThe same link gave an owner's token, then a member's: a demotion (or a removal) "
            "takes effect at the next open, with nothing to resend or revoke.",
            file=show.out,
        )
    finally:
        await bot.stop()
        await sandbox.stop()
    return result


def _role_in(link: str, jitsi: DemoJitsi) -> str:
    token = link.split("#")[0].split("jwt=", 1)[1]
    claims = jwt.decode(
        token,
        jitsi.verify_key,
        algorithms=[jitsi.algorithm],
        audience=jitsi.audience,
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    return str(claims["context"]["user"]["affiliation"])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _open_mini_app(bot: BotHarness, people: dict[str, User], clock: ManualClock) -> None:
    """Serve the Mini App on a free local port and print each person's way in, signed as
    Telegram signs it (valid for a day of demo time)."""
    from aiohttp import web

    from bot.handlers.miniapp import TelegramSide
    from bot.web.miniapp import APP_PATH, MiniApp

    assert bot.application is not None
    site = web.Application()
    MiniApp(bot.services, TelegramSide(bot.application)).add_routes(site, "")
    runner = web.AppRunner(site, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    print("\nThe Mini App, opened as each person (paste into a browser):", flush=True)
    for name, user in people.items():
        data = bot.sandbox.web_app_init_data(user, auth_date=int(clock().timestamp()))
        url = bot.sandbox.web_app_url(f"http://127.0.0.1:{port}{APP_PATH}", data)
        print(f"  {name}: {url}", flush=True)


async def _stay_interactive(
    sandbox: Sandbox, people: dict[str, User], team: Chat, clock: ManualClock
) -> None:
    print(
        f"\nThe sandbox and the bot keep running. Open {sandbox.url}/ to write as any of "
        f"{', '.join(people)} (private chats and the “{team.title}” group) and tap buttons. "
        f"The demo clock runs {FAST_CLOCK}x faster than real time, so reminders come soon. "
        "Ctrl-C stops.",
        flush=True,
    )
    with contextlib.suppress(asyncio.CancelledError):
        while True:
            await asyncio.sleep(1)
            clock.advance(timedelta(seconds=FAST_CLOCK))


def demo_main(argv: Sequence[str]) -> int:
    """Entry point for `python -m bot demo [--interactive]`."""
    parser = argparse.ArgumentParser(prog="python -m bot demo", description=__doc__)
    parser.add_argument(
        "--interactive", action="store_true", help="keep the sandbox and the bot running"
    )
    parser.add_argument(
        "--jaas", action="store_true", help="run the meetings on JaaS (8x8.vc) instead"
    )
    parser.add_argument(
        "--click-time",
        action="store_true",
        help="with PUBLIC_URL: links minted when opened (open, demote, open again)",
    )
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        if args.click_time:
            asyncio.run(play_click_time())
        else:
            asyncio.run(play(interactive=args.interactive, jaas=args.jaas))
    return 0
