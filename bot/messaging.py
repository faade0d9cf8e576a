"""What the domain needs from a chat service, without naming Telegram.

bot/handlers/messenger.py implements it on python-telegram-bot; the delivery code and
the handlers only see this interface and these errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Button:
    """An inline button: a URL to open, callback data to send back, or a Mini App to open
    (`web_app`, its URL: private chats only)."""

    text: str
    url: str | None = None
    data: str | None = None
    web_app: str | None = None


Keyboard = Sequence[Sequence[Button]]


class SendError(Exception):
    """A message could not be sent."""


class Unreachable(SendError):
    """The person never started the bot, blocked it, or the chat is gone."""

    def __init__(self, reason: str, *, blocked: bool = False) -> None:
        super().__init__(reason)
        self.blocked = blocked


class RetryLater(SendError):
    """Flood control: try again after `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class TemporaryFailure(SendError):
    """A server error or network trouble; the message may or may not have arrived."""


class Rejected(SendError):
    """The chat service refused this message for good (a bug on our side, not a hiccup)."""


class Messenger(Protocol):
    """Sends and edits messages; raises the errors above."""

    @property
    def bot_username(self) -> str:
        """The bot's @username, for t.me links."""
        ...

    async def send(
        self,
        chat_id: int,
        text: str,
        keyboard: Keyboard = (),
        *,
        broadcast: bool = False,
        bulk: bool = False,
    ) -> int:
        """Send an HTML message; returns its message id.

        broadcast: a paid broadcast (Telegram's allow_paid_broadcast, faster, charged).
        bulk: not an answer to someone waiting (the delivery sweep's links and notices), so it
        may wait behind replies to people.
        """
        ...

    async def edit(
        self, chat_id: int, message_id: int, text: str, keyboard: Keyboard = ()
    ) -> None:
        """Replace a message's text and buttons (unchanged content is not an error)."""
        ...

    async def send_file(self, chat_id: int, filename: str, data: bytes, caption: str) -> int:
        """Send a document; returns its message id."""
        ...


def start_link(bot_username: str, payload: str) -> str:
    """A t.me deep link that opens the bot with /start <payload>."""
    return f"https://t.me/{bot_username}?start={payload}"
