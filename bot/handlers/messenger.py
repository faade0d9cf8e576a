"""The Messenger interface on python-telegram-bot: Telegram's errors become ours."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.handlers.common import clip, keyboard_markup
from bot.handlers.ratelimit import Lane
from bot.messaging import Keyboard, Rejected, RetryLater, TemporaryFailure, Unreachable


class TelegramMessenger:
    """Sends through a python-telegram-bot Bot."""

    def __init__(self, bot: ExtBot[Any]) -> None:
        self._bot = bot

    @property
    def bot_username(self) -> str:
        """The bot's @username (known after initialize)."""
        return self._bot.username

    async def send(
        self,
        chat_id: int,
        text: str,
        keyboard: Keyboard = (),
        *,
        broadcast: bool = False,
        bulk: bool = False,
    ) -> int:
        """Send an HTML message; returns its id."""
        async with _translate_errors():
            message = await self._bot.send_message(
                chat_id,
                clip(text),
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard_markup(keyboard),
                disable_web_page_preview=True,
                allow_paid_broadcast=broadcast or None,
                # Bulk waits behind replies to people in the rate limiter's queue.
                rate_limit_args=Lane.BULK if bulk else None,
            )
        return message.message_id

    async def edit(
        self, chat_id: int, message_id: int, text: str, keyboard: Keyboard = ()
    ) -> None:
        """Replace a message's text and buttons."""
        try:
            async with _translate_errors():
                await self._bot.edit_message_text(
                    clip(text),
                    chat_id=chat_id,
                    message_id=message_id,
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard_markup(keyboard),
                    disable_web_page_preview=True,
                )
        except Rejected as error:
            if "not modified" not in str(error):
                raise

    async def send_file(self, chat_id: int, filename: str, data: bytes, caption: str) -> int:
        """Send a document; returns its id."""
        async with _translate_errors():
            message = await self._bot.send_document(
                chat_id, document=data, filename=filename, caption=clip(caption)[:1024]
            )
        return message.message_id


@asynccontextmanager
async def _translate_errors() -> AsyncIterator[None]:
    try:
        yield
    except RetryAfter as error:
        retry_after = error.retry_after
        seconds = retry_after if isinstance(retry_after, int | float) else retry_after.seconds
        raise RetryLater(float(seconds)) from None
    except Forbidden as error:
        raise Unreachable(error.message, blocked="blocked" in error.message.lower()) from None
    except BadRequest as error:
        if "chat not found" in error.message.lower():
            raise Unreachable(error.message) from None
        raise Rejected(error.message) from None
    except NetworkError as error:
        # TimedOut is a NetworkError: the message may have arrived; a resend risks a duplicate.
        raise TemporaryFailure(str(error)) from None
    except TelegramError as error:
        raise TemporaryFailure(str(error)) from None
