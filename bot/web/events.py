"""jitsi-contrib's event-sync API, served under PUBLIC_URL/jitsi (with RESERVATIONS_TOKEN).

mod_event_sync_component POSTs JSON to <api_prefix>/events/room/created, /room/destroyed,
/occupant/joined and /occupant/left, with api_headers (Authorization: Bearer, the same secret
as the reservation module's). Each occupant carries occupant_jid, joined_at (and left_at) in
seconds since 1970, and the token's context.user id, name and email; the bot matches people by
the id only. Breakout rooms report the main room's room_name, so time in them counts. Any
answer but 5xx ends Prosody's retries, so events the bot can't place get a 200 too.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.domain import rooms
from bot.services import Services
from bot.web.reservations import JITSI_PATH, answer, guarded
from storage.db import session_scope

EVENT_PATHS = ("room/created", "room/destroyed", "occupant/joined", "occupant/left")


class EventSyncApi:
    """The four event paths of mod_event_sync_component."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def add_routes(self, app: web.Application, prefix: str) -> None:
        """POST <prefix>/jitsi/events/<kind>/<what>."""
        for path in EVENT_PATHS:
            app.router.add_post(
                f"{prefix}{JITSI_PATH}/events/{path}", guarded(self._services, self._take(path))
            )

    def _take(self, path: str) -> Any:
        async def take(request: web.Request) -> web.Response:
            try:
                payload = await request.json()
            except ValueError:
                return answer(400, {"message": "expected a JSON body"})
            if not isinstance(payload, dict):
                return answer(400, {"message": "expected a JSON object"})
            self._record(path, payload)
            return answer(200, {})

        return take

    def _record(self, path: str, payload: dict[str, Any]) -> None:
        services = self._services
        now = services.clock()
        name = payload.get("room_name")
        if not isinstance(name, str):
            return
        occupant = rooms.occupant_from(payload.get("occupant"), now)
        # The sitting is the one the room or the connection began in: a room Jitsi closes at
        # the window's end reports that a little after it.
        began = rooms.epoch(payload.get("created_at")) or now
        if occupant is not None:
            began = occupant.joined_at
        at = now
        if path == "occupant/left" and occupant is not None:
            at = occupant.left_at or now
        elif path == "room/destroyed":
            at = rooms.epoch(payload.get("destroyed_at")) or now
        no_host = rooms.no_host_delay(services.settings.no_host_minutes)
        with session_scope(services.engine) as session:
            room = rooms.room_context(session, room_name=name, at=began, rules=services.rules)
            if room is None:
                return
            if path == "occupant/joined" and occupant is not None:
                rooms.occupant_joined(session, room, occupant, no_host)
            elif path == "occupant/left" and occupant is not None:
                rooms.occupant_left(session, room, occupant, at)
            elif path == "room/destroyed":
                seen = payload.get("all_occupants")
                occupants = [
                    found
                    for item in (seen if isinstance(seen, list) else [])
                    if (found := rooms.occupant_from(item, at)) is not None
                ]
                rooms.room_destroyed(session, room, occupants, at)
