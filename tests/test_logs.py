"""Logs never show the bot token, the Jitsi secret or a token link, at any level."""

from __future__ import annotations

import io
import logging

import pytest

from bot.logs import configure_logging

BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SECRET = "jitsi-shared-secret-value"
LINK = "https://meet.example.com/room-abc?jwt=eyJhbGciOiJIUzI1NiJ9.eyJyb29tIjoiciJ9.c2lnbmF0dXJl"


@pytest.mark.parametrize("level", ["DEBUG", "INFO", "WARNING"])
def test_secrets_never_reach_the_log(level: str) -> None:
    configure_logging(level, [BOT_TOKEN, SECRET])
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    try:
        logging.getLogger("httpx").warning(
            "HTTP Request: POST https://api.telegram.org/bot%s/sendMessage", BOT_TOKEN
        )
        logging.getLogger("bot").warning("secret %s link %s", SECRET, LINK)
        try:
            raise RuntimeError(f"failed with {LINK}")
        except RuntimeError:
            logging.getLogger("bot").exception("oops")
        logging.getLogger("httpx").info("GET https://api.telegram.org/bot%s/getMe", BOT_TOKEN)
    finally:
        logging.getLogger().handlers.clear()
    output = stream.getvalue()
    assert "sendMessage" in output and "oops" in output
    assert BOT_TOKEN not in output
    assert SECRET not in output
    assert "eyJ" not in output
    assert "getMe" not in output  # httpx stays at WARNING
