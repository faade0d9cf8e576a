"""Private messages about a meeting to its participants, each in their own language and zone."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from sqlmodel import Session

from bot import meetings
from bot.handlers.common import BotContext
from bot.handlers.messenger import TelegramMessenger
from bot.handlers.render import calendar_buttons, render_meeting_card
from bot.i18n import pick_language, use_language
from bot.jitsi import Role
from bot.messaging import Button, SendError
from bot.services import Services
from storage.models import Meeting

log = logging.getLogger(__name__)

Render = Callable[[str], str]
KeyboardFor = Callable[[Meeting], list[list[Button]]]


def notify_participants(
    context: BotContext,
    meeting_id: int,
    render: Render,
    *,
    skip_user_id: int | None = None,
    only_user_ids: Iterable[int] | None = None,
    keyboard: KeyboardFor | None = None,
) -> None:
    """Tell participants about a change, in the background (the reply must not wait)."""
    services = context.services
    messenger = TelegramMessenger(context.bot)
    task = asyncio.create_task(
        _notify(services, messenger, meeting_id, render, skip_user_id, only_user_ids, keyboard)
    )
    services.background.add(task)
    task.add_done_callback(services.background.discard)


async def _notify(
    services: Services,
    messenger: TelegramMessenger,
    meeting_id: int,
    render: Render,
    skip_user_id: int | None,
    only_user_ids: Iterable[int] | None,
    keyboard: KeyboardFor | None,
) -> None:
    wanted = set(only_user_ids) if only_user_ids is not None else None
    now = services.clock()
    outgoing: list[tuple[int, str, list[list[Button]]]] = []
    with Session(services.engine) as session:
        meeting = session.get(Meeting, meeting_id)
        if meeting is None:
            return
        for participant, user in meetings.participants(session, meeting):
            if user is None or not user.reachable or user.id == skip_user_id:
                continue
            if wanted is not None and user.id not in wanted:
                continue
            language = pick_language(
                user.language, user.telegram_language, services.settings.default_language
            )
            zone = meetings.user_zone(user, services.rules)
            with use_language(language):
                card = render_meeting_card(meeting, session, zone, now, Role(participant.role))
                rows = keyboard(meeting) if keyboard else []
                rows = [*rows, calendar_buttons(meeting, messenger.bot_username)]
                outgoing.append((user.id, render(card), rows))
    for user_id, text, buttons in outgoing:
        try:
            await messenger.send(user_id, text, buttons)
        except SendError as error:
            log.info("notice about meeting %s not delivered: %s", meeting_id, error)
