"""Settings: every knob of the bot, read from the environment (and a .env file), validated."""

from __future__ import annotations

import hashlib
import hmac
import re
import zoneinfo
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.jitsi import JaasSigner, LinkSigner, TokenSigner
from bot.jitsi.jaas import APP_ID_PATTERN, APP_ID_PREFIX, load_private_key

SUPPORTED_LANGUAGES = ("en", "de", "ru", "uk", "es", "fr")
LINK_BINDINGS = ("off", "telegram")


class SettingsError(Exception):
    """A setting is missing or wrong; the message is one line naming the variable."""


class JitsiProvider(StrEnum):
    """Where the meetings run: the community's own Jitsi server, or 8x8's JaaS."""

    SELF_HOSTED = "self-hosted"
    JAAS = "jaas"


class Settings(BaseSettings):
    """Every setting of the bot; names match the environment variables (case-insensitive)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    database_url: str = "sqlite:///data/meetings.db"
    jitsi_provider: JitsiProvider = JitsiProvider.SELF_HOSTED
    # Required for self-hosted (checked in _provider_settings); JaaS has neither.
    jitsi_base_url: str = ""
    jitsi_app_id: str = ""
    jitsi_app_secret: SecretStr | None = None
    jitsi_private_key_file: Path | None = None
    jitsi_key_id: str | None = None
    jitsi_audience: str | None = None
    jitsi_domain: str | None = None
    jaas_app_id: str | None = None
    jaas_key_id: str | None = None
    jaas_private_key_file: Path | None = None
    remind_before_minutes: int = Field(default=10, ge=0)
    join_early_minutes: int = Field(default=15, ge=0)
    token_grace_minutes: int = Field(default=60, ge=0)
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    default_timezone: str = "UTC"
    default_language: str = "en"
    log_level: str = "INFO"
    allow_paid_broadcast: bool = False
    public_url: str | None = None
    web_listen: str = "127.0.0.1:8080"
    # The shared secret Jitsi's reservation and event-sync modules send (Authorization: Bearer);
    # set, the bot serves both APIs under PUBLIC_URL/jitsi/ (bot.web.reservations, .events).
    reservations_token: SecretStr | None = None
    # Owners get "people are waiting" when no owner is in the room this long after the start.
    no_host_minutes: int = Field(default=5, ge=0)
    # Seats beyond the participants that a room allows (max_occupants), for a second device.
    room_extra_seats: int = Field(default=2, ge=0)
    # "telegram": a link opens only for the Telegram account it was sent to (a Mini App button
    # whose signed init data the bot checks); "off": whoever holds the link gets in.
    link_binding: str = "off"

    @field_validator("telegram_api_base_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        _require_http_url(value)
        return value

    @field_validator("jitsi_provider", mode="before")
    @classmethod
    def _provider(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower()
            if value not in {provider.value for provider in JitsiProvider}:
                raise ValueError("expected self-hosted or jaas")
        return value

    @field_validator("jitsi_base_url")
    @classmethod
    def _jitsi_url(cls, value: str) -> str:
        if not value:
            return value  # unset: only self-hosted needs it (_check_self_hosted)
        parts = _require_http_url(value)
        if parts.query or parts.fragment:
            raise ValueError("expected https://host or https://host/<tenant>, without ? or #")
        if parts.path.strip("/").count("/") > 0:
            raise ValueError("expected at most one path part, the tenant: https://host/<tenant>")
        return value.rstrip("/")

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = _require_http_url(value.strip())
        if parts.query or parts.fragment or value.strip().endswith(("?", "#")):
            raise ValueError(
                "expected the bot's own address without ? or #, e.g. https://meet.example.com/bot"
            )
        return value.strip().rstrip("/")

    @field_validator("link_binding")
    @classmethod
    def _link_binding(cls, value: str) -> str:
        binding = value.strip().lower() or "off"
        if binding not in LINK_BINDINGS:
            raise ValueError("expected off or telegram")
        return binding

    @field_validator("web_listen")
    @classmethod
    def _web_listen(cls, value: str) -> str:
        listen_address(value)
        return value.strip()

    @field_validator("jitsi_app_id")
    @classmethod
    def _app_id(cls, value: str) -> str:
        if value and not value.strip():
            raise ValueError("expected a non-empty app id (Prosody app_id)")
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admin_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            items = [item for item in value.replace(";", ",").replace(" ", ",").split(",") if item]
            try:
                return frozenset(int(item) for item in items)
            except ValueError:
                raise ValueError(
                    "expected Telegram user ids (whole numbers) separated by commas"
                ) from None
        return value

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone such as Europe/Berlin or UTC") from None
        return value

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str) -> str:
        code = value.lower().split("-")[0].split("_")[0]
        if code not in SUPPORTED_LANGUAGES:
            raise ValueError("expected one of " + ", ".join(SUPPORTED_LANGUAGES))
        return code

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("expected DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("reservations_token")
    @classmethod
    def _reservations_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        token = value.get_secret_value().strip()
        if len(token) < 16 or not re.fullmatch(r"[A-Za-z0-9._~+/=-]+", token):
            raise ValueError(
                "expected a random secret of at least 16 letters, digits or -._~+/= "
                "(e.g. the output of: openssl rand -hex 24)"
            )
        return SecretStr(token)

    @model_validator(mode="after")
    def _provider_settings(self) -> Settings:
        if self.jitsi_provider is JitsiProvider.JAAS:
            self._check_jaas()
        else:
            self._check_self_hosted()
        return self

    @model_validator(mode="after")
    def _rooms_need_web(self) -> Settings:
        if self.reservations_token is not None and self.public_url is None:
            raise ValueError(
                "RESERVATIONS_TOKEN is set but PUBLIC_URL is missing: expected PUBLIC_URL too "
                "(Jitsi calls the bot's web side there)"
            )
        return self

    @model_validator(mode="after")
    def _binding_needs_web(self) -> Settings:
        if self.link_binding != "off" and self.public_url is None:
            raise ValueError(
                "LINK_BINDING is telegram but PUBLIC_URL is missing: expected PUBLIC_URL too "
                "(the Mini App page that checks who opened a link is served there)"
            )
        return self

    def _check_jaas(self) -> None:
        if self.jitsi_app_secret is not None and self.jitsi_app_secret.get_secret_value():
            raise ValueError(
                "JITSI_APP_SECRET is set but JITSI_PROVIDER is jaas: expected no secret "
                "(JaaS tokens are signed with JAAS_PRIVATE_KEY_FILE)"
            )
        if not self.jaas_app_id:
            raise ValueError(
                f"JAAS_APP_ID is missing: expected the AppID from the JaaS console, "
                f"{APP_ID_PREFIX}..."
            )
        if not APP_ID_PATTERN.fullmatch(self.jaas_app_id):
            raise ValueError(
                f"JAAS_APP_ID: expected the AppID from the JaaS console, {APP_ID_PREFIX} "
                "followed by letters and digits"
            )
        if not self.jaas_key_id:
            raise ValueError(
                "JAAS_KEY_ID is missing: expected the Key ID (kid) of your API key on the JaaS "
                f"console's API keys page, {self.jaas_app_id}/..."
            )
        key_name = self.jaas_key_id.removeprefix(self.jaas_app_id + "/")
        if key_name == self.jaas_key_id or not key_name or "/" in key_name:
            raise ValueError(
                f"JAAS_KEY_ID: expected {self.jaas_app_id}/<key>, the kid of an API key of "
                f"JAAS_APP_ID; {self.jaas_key_id} is not"
            )
        if self.jaas_private_key_file is None:
            raise ValueError(
                "JAAS_PRIVATE_KEY_FILE is missing: expected the PEM file with the private key "
                "of the API key JAAS_KEY_ID"
            )
        try:
            load_private_key(self.jaas_private_key_file)
        except ValueError as error:
            raise ValueError(f"JAAS_PRIVATE_KEY_FILE: {error}") from None

    def _check_self_hosted(self) -> None:
        for name in ("jaas_app_id", "jaas_key_id", "jaas_private_key_file"):
            if getattr(self, name) is not None:
                raise ValueError(
                    f"{name.upper()} is set but JITSI_PROVIDER is self-hosted: expected "
                    "JITSI_PROVIDER=jaas, or no JAAS_ settings"
                )
        for name in ("jitsi_base_url", "jitsi_app_id"):
            if not getattr(self, name):
                raise ValueError(f"{name.upper()} is missing: {_expectation(name)}")
        has_secret = self.jitsi_app_secret is not None and self.jitsi_app_secret.get_secret_value()
        if has_secret and self.jitsi_private_key_file:
            raise ValueError(
                "JITSI_APP_SECRET and JITSI_PRIVATE_KEY_FILE are both set: "
                "expected exactly one (HS256 secret or RS256 key)"
            )
        if not has_secret and not self.jitsi_private_key_file:
            raise ValueError(
                "JITSI_APP_SECRET or JITSI_PRIVATE_KEY_FILE is missing: "
                "expected the Prosody app_secret (HS256) or an RSA private key file (RS256)"
            )
        if self.jitsi_private_key_file:
            if not self.jitsi_private_key_file.is_file():
                raise ValueError(
                    f"JITSI_PRIVATE_KEY_FILE: expected a readable PEM file, "
                    f"{self.jitsi_private_key_file} does not exist"
                )
            if not self.jitsi_key_id:
                raise ValueError(
                    "JITSI_KEY_ID is missing: expected the key id that the server's "
                    "asap_key_server knows the public key by"
                )

    # Derived values ------------------------------------------------------------------------

    @property
    def jitsi_host(self) -> str:
        """The host name of the Jitsi web server."""
        return urlsplit(self.jitsi_base_url).hostname or ""

    @property
    def jitsi_tenant(self) -> str | None:
        """The tenant part of JITSI_BASE_URL, if any."""
        return urlsplit(self.jitsi_base_url).path.strip("/") or None

    @property
    def token_subject(self) -> str:
        """The token's `sub`: the tenant when the URL has one, else the XMPP domain."""
        return self.jitsi_tenant or self.jitsi_domain or self.jitsi_host

    @property
    def token_audience(self) -> str:
        """The token's `aud`: JITSI_AUDIENCE, defaulting to the app id."""
        return self.jitsi_audience or self.jitsi_app_id

    @property
    def signing_algorithm(self) -> str:
        """HS256 with a shared secret, RS256 with a private key file (always, with JaaS)."""
        if self.jitsi_provider is JitsiProvider.JAAS or self.jitsi_private_key_file:
            return "RS256"
        return "HS256"

    @property
    def web_address(self) -> tuple[str, int]:
        """Where the web server listens: WEB_LISTEN as host and port."""
        return listen_address(self.web_listen)

    @property
    def manages_rooms(self) -> bool:
        """True when the bot serves Jitsi's reservation and event-sync APIs."""
        token = self.reservations_token
        return self.public_url is not None and token is not None and bool(token.get_secret_value())

    @property
    def binds_links(self) -> bool:
        """True when a link opens only for the Telegram account it was sent to."""
        return self.link_binding == "telegram"

    @property
    def web_path(self) -> str:
        """The path PUBLIC_URL puts the web side under ("" for a host of its own)."""
        return urlsplit(self.public_url or "").path.rstrip("/")

    def link_handle_key(self) -> bytes:
        """The key /j/ handles are derived with, from the Jitsi signing key.

        Whoever holds the signing key can enter every room anyway, so the handles add no new
        secret to keep; changing the key changes every handle (links already sent then 404).
        """
        return hmac.new(
            self.signing_key().encode(), b"meeting-bot /j/ link handles", hashlib.sha256
        ).digest()

    def signing_key(self) -> str:
        """The secret or PEM private key that tokens are signed with."""
        if self.jitsi_provider is JitsiProvider.JAAS:
            assert self.jaas_private_key_file is not None
            return self.jaas_private_key_file.read_text()
        if self.jitsi_private_key_file:
            return self.jitsi_private_key_file.read_text()
        assert self.jitsi_app_secret is not None
        return self.jitsi_app_secret.get_secret_value()

    def require_bot_token(self) -> str:
        """The bot token, or a SettingsError when it is missing (needed by `run` only)."""
        if self.telegram_bot_token is None or not self.telegram_bot_token.get_secret_value():
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN is missing: expected the token from @BotFather"
            )
        return self.telegram_bot_token.get_secret_value()


def _require_http_url(value: str) -> Any:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("expected an http:// or https:// URL with a host")
    return parts


_LISTEN = re.compile(
    r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9.-]+)):(?P<port>\d{1,5})$"
)


def listen_address(value: str) -> tuple[str, int]:
    """host:port (an IPv6 host in brackets) as a pair, or ValueError saying what is expected."""
    match = _LISTEN.match(value.strip())
    port = int(match.group("port")) if match else 0
    if match is None or not 0 < port < 65536:
        raise ValueError(
            "expected host:port with a port from 1 to 65535, e.g. 127.0.0.1:8080 or [::1]:8080"
        )
    return match.group("v6") or match.group("host"), port


def load_settings(**overrides: Any) -> Settings:
    """Read the settings; raise SettingsError with one line naming the first bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error)) from None


def describe_validation_error(error: ValidationError) -> str:
    """Turn pydantic's report into one line: the variable and what it expects."""
    first = error.errors()[0]
    location = [str(part) for part in first.get("loc", ()) if part != "__root__"]
    message = str(first.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if first.get("type") == "missing":
        return f"{location[0].upper()} is missing: {_expectation(location[0])}"
    if first.get("type") == "greater_than_equal":
        return f"{location[0].upper()}: expected a whole number of minutes, 0 or more"
    if first.get("type") in {"int_parsing", "int_from_float"}:
        return f"{location[0].upper()}: expected a whole number"
    if not location:
        return message
    return f"{location[0].upper()}: {message}"


_EXPECTATIONS = {
    "jitsi_base_url": "expected your Jitsi server's URL, e.g. https://meet.example.com",
    "jitsi_app_id": "expected the Prosody app_id that tokens are issued for",
}


def _expectation(field: str) -> str:
    return _EXPECTATIONS.get(field, "expected a value")


def token_signer(settings: Settings) -> LinkSigner:
    """The token signer of the provider these settings choose."""
    if settings.jitsi_provider is JitsiProvider.JAAS:
        assert settings.jaas_app_id and settings.jaas_key_id and settings.jaas_private_key_file
        return JaasSigner(
            app_id=settings.jaas_app_id,
            key_id=settings.jaas_key_id,
            private_key=load_private_key(settings.jaas_private_key_file),
        )
    return TokenSigner(
        base_url=settings.jitsi_base_url,
        app_id=settings.jitsi_app_id,
        audience=settings.token_audience,
        subject=settings.token_subject,
        algorithm=settings.signing_algorithm,
        key=settings.signing_key(),
        key_id=settings.jitsi_key_id,
    )
