"""Logging that never shows the bot token, the Jitsi secret, a token link or a click-time
link's handle."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_JWT_IN_URL = re.compile(r"([?#&]jwt=)[A-Za-z0-9_\-\.]+")
_BARE_JWT = re.compile(r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+")
_BOT_TOKEN = re.compile(r"\b\d{5,}:[A-Za-z0-9_\-]{20,}\b")
# A click-time link's handle (PUBLIC_URL/j/<handle>) is a bearer secret like a token.
_CLICK_HANDLE = re.compile(r"(/j/)[A-Za-z0-9_\-]{16,}")


class RedactingFilter(logging.Filter):
    """Masks secrets in every record that passes through a handler."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [secret for secret in secrets if secret and len(secret) >= 4]

    def redact(self, text: str) -> str:
        """The text with every known secret and token-looking string masked."""
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        text = _JWT_IN_URL.sub(r"\1[redacted]", text)
        text = _BARE_JWT.sub("[redacted-jwt]", text)
        text = _CLICK_HANDLE.sub(r"\1[redacted]", text)
        return _BOT_TOKEN.sub("[redacted-bot-token]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, masked, so formatters never see the raw arguments."""
        message = record.getMessage()
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info:
            formatter = logging.Formatter()
            record.exc_text = self.redact(formatter.formatException(record.exc_info))
            record.exc_info = None
        return True


def configure_logging(level: str, secrets: Iterable[str]) -> None:
    """Log at `level` to stderr with secrets masked; keep httpx (which logs URLs) at WARNING."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and the URL holds the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
