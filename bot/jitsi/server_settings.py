"""What jitsi-config prints: the server settings this bot needs, or the JaaS console steps."""

from __future__ import annotations

import hashlib
import json
import re
import string
import textwrap
from functools import cache
from importlib import resources
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization

from bot.config import Settings
from bot.jitsi.jaas import load_private_key

SECRET_PLACEHOLDER = "<your JITSI_APP_SECRET>"
RESERVATIONS_PLACEHOLDER = "<your RESERVATIONS_TOKEN>"
# Where Jitsi's modules reach the bot, under PUBLIC_URL (bot.web.reservations, bot.web.events).
RESERVATIONS_PATH = "/jitsi/reservations"
EVENTS_PATH = "/jitsi"
BOT_USERNAME_PLACEHOLDER = "<your_bot_username>"
SECTION_MARK = "====="

# Telegram usernames: 5-32 characters, letters, digits and underscores, starting with a letter.
_BOT_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")

# A placeholder alone on its line stands for optional lines: an empty value drops the line.
_OPTIONAL_LINE = re.compile(r"^\$\{(\w+)\}\n", re.MULTILINE)


@cache
def _template_text(name: str) -> str:
    """The text of bot/jitsi/templates/<name>, shipped with the package."""
    return resources.files("bot.jitsi").joinpath("templates", name).read_text(encoding="utf-8")


# Values go in as they are: the callers quote them for the file's language (Lua strings), and
# the bot link that the HTML and JavaScript receive is a t.me address checked by _bot_link.
def _render(name: str, **values: str) -> str:
    """A template with its ${placeholders} filled in, without its final newline."""
    text = _OPTIONAL_LINE.sub(
        lambda match: "" if values[match.group(1)] == "" else match.group(),
        _template_text(name),
    )
    return string.Template(text).substitute(values).removesuffix("\n")


def xmpp_domain(settings: Settings) -> str:
    """The XMPP domain the bot assumes: JITSI_DOMAIN, else the web host."""
    return settings.jitsi_domain or settings.jitsi_host


def _lua_string(value: str) -> str:
    """A double-quoted Lua string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _bot_link(bot_username: str | None) -> str:
    """https://t.me/<bot>, with a placeholder when the username is not known."""
    if bot_username is None:
        return f"https://t.me/{BOT_USERNAME_PLACEHOLDER}"
    name = bot_username.strip().removeprefix("@")
    if not _BOT_USERNAME.fullmatch(name):
        raise ValueError(
            f"bot username {bot_username!r}: expected 5-32 letters, digits or underscores"
        )
    return f"https://t.me/{name}"


def _script_string(value: str) -> str:
    """A JavaScript string literal that is safe inside an HTML <script> element."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e")


def _web_pages(settings: Settings, bot_link: str) -> tuple[str, str]:
    """authError.html and body.html: back to the person's click-time link with PUBLIC_URL,
    else back to the bot."""
    if settings.public_url is None:
        return (
            _render("web/authError.html", bot_link=bot_link),
            _render("web/body.html", bot_link=bot_link),
        )
    links = settings.public_url + "/j/"
    values = {
        "links_js": _script_string(links),
        "bot_link": bot_link,
        "bot_js": _script_string(bot_link),
    }
    return _render("web/authError-click.html", **values), _render("web/body-click.html", **values)


def nginx_block(settings: Settings) -> str:
    """The reverse proxy's location block for the bot's web side (PUBLIC_URL)."""
    assert settings.public_url is not None
    host, port = settings.web_address
    # A server listening on every address is reached on the loopback one.
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    upstream = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return _render(
        "nginx/bot-location.conf",
        public_url=settings.public_url,
        host=urlsplit(settings.public_url).hostname or "",
        location=settings.web_path + "/",
        upstream=upstream,
    )


def _section(title: str, body: str) -> str:
    """One block of the output, headed by the file it belongs in."""
    return f"{SECTION_MARK} {title} {SECTION_MARK}\n{body.strip()}\n"


def _prosody_block(settings: Settings, reveal_secret: bool) -> str:
    """The VirtualHost and MUC lines for this bot."""
    domain = xmpp_domain(settings)
    if settings.signing_algorithm.startswith("HS"):
        secret = settings.jitsi_app_secret.get_secret_value() if settings.jitsi_app_secret else ""
        signing = (
            _render("prosody/app-secret.cfg.lua", secret=_lua_string(secret))
            if reveal_secret
            else _render(
                "prosody/app-secret-placeholder.cfg.lua",
                placeholder=_lua_string(SECRET_PLACEHOLDER),
            )
        )
    else:
        key_id = settings.jitsi_key_id or ""
        signing = _render(
            "prosody/asap-key-server.cfg.lua",
            key_id=_lua_string(key_id),
            digest=hashlib.sha256(key_id.encode()).hexdigest(),
            key_file=str(settings.jitsi_private_key_file),
            algorithm=_lua_string(settings.signing_algorithm),
        )
    tenant_mapping = tenant_module = ""
    if settings.jitsi_tenant:
        # The blank line after it separates the global section from the VirtualHost.
        tenant_mapping = (
            _render(
                "prosody/tenant-mapping.cfg.lua",
                host=settings.jitsi_host,
                tenant=settings.jitsi_tenant,
                domain=_lua_string(domain),
            )
            + "\n"
        )
        tenant_module = _render("prosody/tenant-module.cfg.lua")
    rooms = _rooms_blocks(settings, domain, reveal_secret)
    return _render(
        "prosody/virtualhost.cfg.lua",
        **rooms,
        tenant_mapping=tenant_mapping,
        domain=_lua_string(domain),
        app_id=_lua_string(settings.jitsi_app_id),
        signing=signing,
        audience=_lua_string(settings.token_audience),
        conference_domain=_lua_string("conference." + domain),
        tenant_module=tenant_module,
        breakout_domain=_lua_string("breakout." + domain),
    )


def reservations_prefix(settings: Settings) -> str:
    """reservations_api_prefix: the bot's reservation API."""
    return (settings.public_url or "") + RESERVATIONS_PATH


def events_prefix(settings: Settings) -> str:
    """event_sync's api_prefix: it appends /events/room/created and the like."""
    return (settings.public_url or "") + EVENTS_PATH


def _rooms_blocks(settings: Settings, domain: str, reveal_secret: bool) -> dict[str, str]:
    """With RESERVATIONS_TOKEN: reservations, presence_identity, wait for host, event sync."""
    if not settings.manages_rooms:
        return {
            "rooms_host": "",
            "rooms_muc": "",
            "rooms_muc_settings": "",
            "rooms_component": "",
        }
    assert settings.reservations_token is not None
    token = settings.reservations_token.get_secret_value() if reveal_secret else None
    bearer = _lua_string("Bearer " + (token or RESERVATIONS_PLACEHOLDER))
    conference = _lua_string("conference." + domain)
    return {
        "rooms_host": _render(
            "prosody/rooms-host.cfg.lua",
            conference_domain=conference,
            reservations_prefix=_lua_string(reservations_prefix(settings)),
            bearer=bearer,
        ),
        "rooms_muc": _render("prosody/rooms-muc.cfg.lua"),
        "rooms_muc_settings": "    wait_for_host_disable_auto_owners = true  -- roles come from "
        "the token only",
        "rooms_component": _render(
            "prosody/rooms-component.cfg.lua",
            event_domain=_lua_string("esync." + domain),
            conference_domain=conference,
            breakout_domain=_lua_string("breakout." + domain),
            events_prefix=_lua_string(events_prefix(settings)),
            bearer=bearer,
        ),
    }


def _docker_block(settings: Settings) -> str:
    """The docker-jitsi-meet .env equivalents (the secret always as a placeholder)."""
    signing = (
        _render("docker/app-secret.env", placeholder=SECRET_PLACEHOLDER)
        if settings.signing_algorithm.startswith("HS")
        else _render("docker/key-server.env")
    )
    return _render(
        "docker/jitsi-meet.env",
        app_id=settings.jitsi_app_id,
        signing=signing,
        audience=settings.token_audience,
    )


def _notes_block(settings: Settings, bot_username: str | None, reveal_secret: bool) -> str:
    """What to do with the blocks above, and the values they were made for."""
    domain = xmpp_domain(settings)
    source = "JITSI_DOMAIN" if settings.jitsi_domain else f"the host of {settings.jitsi_base_url}"
    notes = [
        f'XMPP domain: "{domain}" (from {source}). If your Prosody VirtualHost has another name, '
        "set JITSI_DOMAIN to it; Docker installs use meet.jitsi.",
        f'Tokens: iss = "{settings.jitsi_app_id}", aud = "{settings.token_audience}", '
        f'sub = "{settings.token_subject}", signed {settings.signing_algorithm}.',
    ]
    if settings.jitsi_tenant:
        notes.append(
            f'JITSI_BASE_URL has a tenant, so sub = "{settings.jitsi_tenant}" (the tenant, not '
            f"the domain), and links are https://{settings.jitsi_host}/{settings.jitsi_tenant}/"
            "<room>."
        )
    if settings.manages_rooms and not reveal_secret:
        notes.append(
            f'The Authorization headers show "Bearer {RESERVATIONS_PLACEHOLDER}": put '
            "RESERVATIONS_TOKEN there, or run again with --reveal-secret. Prosody reaches the "
            f"bot at {reservations_prefix(settings)} and {events_prefix(settings)}/events/...; "
            "an address inside your network works too, if it serves the same paths."
        )
    if settings.signing_algorithm.startswith("HS") and not reveal_secret:
        notes.append(
            f'app_secret shows "{SECRET_PLACEHOLDER}": paste JITSI_APP_SECRET there, or run again '
            "with --reveal-secret."
        )
    if bot_username is None:
        notes.append(
            "The HTML links show a placeholder: run again with --bot-username <your bot's name>."
        )
    if settings.public_url is not None:
        notes.append(
            f"PUBLIC_URL is {settings.public_url}: the error and hang-up pages send people back "
            "to their own click-time link (kept in the browser, never on a server), and the nginx "
            f"block passes {settings.web_path or '/'}... to the bot's web server on "
            f"{settings.web_listen}. Docker installs put it in the web container's "
            "nginx custom-meet.conf (in ~/.jitsi-meet-cfg/web/nginx/) with the bot's address as "
            "the container sees it."
        )
    notes += [
        "Debian paths are shown; Docker keeps the same files under ~/.jitsi-meet-cfg/ (prosody, "
        "jicofo, web) and the HTML in the web container's /usr/share/jitsi-meet/.",
        "Then: systemctl restart prosody jicofo jitsi-videobridge2, and check the result with "
        "python -m bot jitsi-check (exit 0 = nothing found).",
    ]
    return "\n".join(textwrap.fill(note, width=95, subsequent_indent="  ") for note in notes)


def render_server_config(
    settings: Settings, *, bot_username: str | None, reveal_secret: bool = False
) -> str:
    """The Prosody, Jicofo and web-page settings this bot needs, one block per file."""
    link = _bot_link(bot_username)
    domain = xmpp_domain(settings)
    auth_error_page, body_page = _web_pages(settings, link)
    blocks = [
        _section(f"/etc/prosody/conf.d/{domain}.cfg.lua", _prosody_block(settings, reveal_secret)),
        _section("/etc/jitsi/jicofo/jicofo.conf", _render("jicofo/jicofo.conf")),
        _section(
            "/etc/jitsi/jicofo/sip-communicator.properties",
            _render("jicofo/sip-communicator.properties"),
        ),
        _section("/usr/share/jitsi-meet/static/authError.html", auth_error_page),
        _section("/usr/share/jitsi-meet/body.html", body_page),
        _section("docker-jitsi-meet .env", _docker_block(settings)),
    ]
    if settings.public_url is not None:
        host = urlsplit(settings.public_url).hostname
        blocks.append(_section(f"/etc/nginx/sites-available/{host}.conf", nginx_block(settings)))
    blocks.append(_section("notes", _notes_block(settings, bot_username, reveal_secret)))
    return "\n".join(blocks)


def render_jaas_config(settings: Settings) -> str:
    """What JaaS needs instead of server files: the console steps and the bot's public key."""
    assert settings.jaas_app_id and settings.jaas_key_id and settings.jaas_private_key_file
    values = {
        "app_id": settings.jaas_app_id,
        "key_id": settings.jaas_key_id,
        "key_file": str(settings.jaas_private_key_file),
    }
    public_key = (
        load_private_key(settings.jaas_private_key_file)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    blocks = [
        _section("JaaS console, API keys page", _render("jaas/console.txt", **values)),
        _section("public key for the JaaS console (from JAAS_PRIVATE_KEY_FILE)", public_key),
        _section("notes", _render("jaas/notes.txt", **values)),
    ]
    return "\n".join(blocks)
