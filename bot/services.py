"""Everything a handler needs, built once in build_application and passed along (no globals)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.delivery import DeliveryService
from bot.jitsi import TokenSigner
from bot.meetings import Rules


@dataclass
class Services:
    """The bot's long-lived parts."""

    settings: Settings
    engine: Engine
    rules: Rules
    signer: TokenSigner
    clock: Callable[[], datetime]
    delivery: DeliveryService | None = None
    # Set by whoever schedules sweeps; handlers call it after a change that may be due now.
    wake_delivery: Callable[[], None] = field(default=lambda: None)
    background: set[asyncio.Task[None]] = field(default_factory=set)
