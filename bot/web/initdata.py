"""Telegram's signed Mini App init data, checked on the server as Telegram documents it.

secret_key = HMAC_SHA256(key="WebAppData", msg=bot_token); the hash is
hex(HMAC_SHA256(key=secret_key, msg=data_check_string)), where data_check_string is every field
but `hash`, sorted by key, as `key=value` joined by newlines.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

# A page left open longer than this must be reopened from Telegram (which signs afresh).
MAX_AGE = timedelta(hours=24)
# The clocks of Telegram and this server may differ a little.
CLOCK_SKEW = timedelta(minutes=5)
MAX_LENGTH = 4096


@dataclass(frozen=True)
class WebAppUser:
    """Who opened the Mini App, as Telegram signed it."""

    id: int
    first_name: str
    last_name: str | None
    username: str | None
    language_code: str | None
    # t.me/<bot>?startapp=<start_param>: where the app was opened from.
    start_param: str | None

    @property
    def full_name(self) -> str:
        """First and last name, as Telegram shows them."""
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


def _secret_key(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def data_check_string(fields: dict[str, str]) -> str:
    """Every field but the hash, sorted, as key=value lines."""
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def verify(
    init_data: str, *, bot_token: str, now: datetime, max_age: timedelta = MAX_AGE
) -> WebAppUser | None:
    """The user the init data was signed for; None when forged, malformed or signed longer
    than `max_age` ago."""
    if not init_data or len(init_data) > MAX_LENGTH:
        return None
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        return None  # a repeated key: which one did Telegram sign?
    given = fields.get("hash", "")
    expected = hmac.new(
        _secret_key(bot_token), data_check_string(fields).encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return None
    try:
        signed_at = datetime.fromtimestamp(int(fields["auth_date"]), UTC)
        user = json.loads(fields["user"])
        user_id = int(user["id"])
        first_name = str(user.get("first_name") or "")
    except (KeyError, ValueError, TypeError, OverflowError, OSError):
        return None
    if not now - max_age <= signed_at <= now + CLOCK_SKEW:
        return None
    return WebAppUser(
        id=user_id,
        first_name=first_name,
        last_name=_text(user.get("last_name")),
        username=_text(user.get("username")),
        language_code=_text(user.get("language_code")),
        start_param=fields.get("start_param") or None,
    )


def _text(value: object) -> str | None:
    return str(value) if isinstance(value, str) and value else None
