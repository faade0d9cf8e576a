"""Telegram's flood limits apply to messages, not to look-ups."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram._utils.types import JSONDict
from telegram.ext import AIORateLimiter

# Reading a chat costs nothing against the 20-messages-a-minute group limit; counting
# getChatMember there (as AIORateLimiter does for any chat_id) would slow admin checks.
UNLIMITED_METHODS = frozenset({"getChat", "getChatMember", "getChatAdministrators", "getMe"})


class MessageRateLimiter(AIORateLimiter):
    """AIORateLimiter for sending methods only; look-ups go straight through."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        """Pace sending methods; call look-ups at once."""
        if endpoint in UNLIMITED_METHODS:
            return await callback(*args, **kwargs)
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )
