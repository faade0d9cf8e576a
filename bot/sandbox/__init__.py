"""A local fake Telegram Bot API server for end-to-end tests and the offline demo."""

from bot.sandbox.limits import SENDING_METHODS, Faults, RateLimits
from bot.sandbox.models import (
    ApiCall,
    CallbackAnswer,
    CallbackQuery,
    Chat,
    Document,
    Edit,
    Message,
    User,
)
from bot.sandbox.server import Sandbox, Stats

__all__ = [
    "SENDING_METHODS",
    "ApiCall",
    "CallbackAnswer",
    "CallbackQuery",
    "Chat",
    "Document",
    "Edit",
    "Faults",
    "Message",
    "RateLimits",
    "Sandbox",
    "Stats",
    "User",
]
