"""Everything a handler needs, built once in build_application and passed along (no globals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.delivery.sending import DeliveryService
from bot.domain.values import Rules
from bot.jitsi import LinkSigner


@dataclass
class Services:
    """The bot's long-lived parts."""

    settings: Settings
    engine: Engine
    rules: Rules
    signer: LinkSigner
    clock: Callable[[], datetime]
    delivery: DeliveryService | None = None
