"""The bot's web side (with PUBLIC_URL): click-time links /j/<handle>, and Telegram's webhook."""

from bot.web.server import Webhook, WebServer

__all__ = ["WebServer", "Webhook"]
