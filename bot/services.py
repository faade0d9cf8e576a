"""Everything a handler needs, built once in build_application and passed along (no globals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.delivery.sending import DeliveryService
from bot.domain.values import Rules
from bot.jitsi import TokenSigner
from storage.models import DeliveryStatus, Notice


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

    def pending_notices(self) -> bool:
        """True while notices about changes wait to be sent (tests and the demo wait for them)."""
        with Session(self.engine) as session:
            return (
                session.exec(
                    select(Notice.id).where(
                        col(Notice.status).in_(
                            [DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value]
                        )
                    )
                ).first()
                is not None
            )
