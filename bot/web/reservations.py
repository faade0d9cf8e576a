"""Jitsi's reservation API, served under PUBLIC_URL/jitsi/reservations (with RESERVATIONS_TOKEN).

The other end of Prosody's mod_reservations (a port of Jicofo's reservation system): before
it creates a room it POSTs <prefix>/conference with the form fields name, start_time and
mail_owner; 200 (JSON id, name, mail_owner, start_time, duration, max_occupants, lobby) lets
the room open until start_time + duration; any other status but 409 refuses it, and Jitsi shows
the JSON `message`; 409 with `conflict_id` makes it GET <prefix>/conference/<id>; it sends
DELETE <prefix>/conference/<id> when the room is destroyed. 5xx answers are retried, so a
refusal is never a 5xx. Every call carries reservations_api_headers: Authorization: Bearer.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.domain import rooms
from bot.i18n import use_language
from bot.services import Services
from storage.db import session_scope

log = logging.getLogger(__name__)

# Under PUBLIC_URL's path: the reservation module's prefix, and the event-sync api_prefix.
JITSI_PATH = "/jitsi"
RESERVATIONS_PATH = JITSI_PATH + "/reservations"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def authorized(services: Services, request: web.Request) -> bool:
    """True when the request carries Authorization: Bearer RESERVATIONS_TOKEN."""
    token = services.settings.reservations_token
    if token is None:
        return False
    expected = ("Bearer " + token.get_secret_value()).encode()
    return hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected)


def answer(status: int, body: dict[str, Any]) -> web.Response:
    """A JSON answer, never cached."""
    return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})


def guarded(services: Services, handler: Handler) -> Handler:
    """401 without the shared secret; a JSON 500 (which Jitsi retries) if something breaks."""

    async def run(request: web.Request) -> web.StreamResponse:
        if not authorized(services, request):
            return answer(401, {"message": "missing or wrong Authorization header"})
        try:
            return await handler(request)
        except Exception as error:
            log.error("Jitsi API call failed: %s", type(error).__name__, exc_info=error)
            return answer(500, {"message": "the bot could not answer; try again"})

    return run


class ReservationApi:
    """POST /conference, GET and DELETE /conference/<id>."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def add_routes(self, app: web.Application, prefix: str) -> None:
        """The three routes under `prefix` (PUBLIC_URL's path + /jitsi/reservations)."""
        services = self._services
        base = prefix + RESERVATIONS_PATH + "/conference"
        app.router.add_post(base, guarded(services, self.create))
        app.router.add_get(base + "/{id}", guarded(services, self.read))
        app.router.add_delete(base + "/{id}", guarded(services, self.delete))

    async def create(self, request: web.Request) -> web.Response:
        """May this room open now? (form fields name, start_time, mail_owner)"""
        services = self._services
        form = await request.post()
        fields = {key: str(form.get(key, "")) for key in ("name", "start_time", "mail_owner")}
        with (
            use_language(services.settings.default_language),
            session_scope(services.engine) as session,
        ):
            outcome = rooms.reserve(
                session,
                name=fields["name"],
                start_time=fields["start_time"],
                mail_owner=fields["mail_owner"],
                rules=services.rules,
                now=services.clock(),
                extra_seats=services.settings.room_extra_seats,
            )
        if isinstance(outcome, rooms.Taken):
            return answer(
                409,
                {"conflict_id": outcome.conflict_id, "message": "the room is already reserved"},
            )
        return self._answer(outcome)

    async def read(self, request: web.Request) -> web.Response:
        """The reservation Jitsi was told about in a 409, as it stands now."""
        services = self._services
        reservation_id = _id(request)
        if reservation_id is None:
            return answer(404, {"message": "no such reservation"})
        with (
            use_language(services.settings.default_language),
            session_scope(services.engine) as session,
        ):
            outcome = rooms.reservation(
                session,
                reservation_id=reservation_id,
                rules=services.rules,
                now=services.clock(),
                extra_seats=services.settings.room_extra_seats,
            )
        return self._answer(outcome)

    async def delete(self, request: web.Request) -> web.Response:
        """The room was destroyed: its reservation ends."""
        services = self._services
        reservation_id = _id(request)
        with session_scope(services.engine) as session:
            released = reservation_id is not None and rooms.release(
                session, reservation_id=reservation_id, rules=services.rules, now=services.clock()
            )
        if not released:
            return answer(404, {"message": "no such reservation"})
        return answer(200, {})

    @staticmethod
    def _answer(outcome: rooms.Grant | rooms.Refusal) -> web.Response:
        if isinstance(outcome, rooms.Refusal):
            return answer(outcome.status, {"message": outcome.message})
        return answer(200, outcome.as_json())


def _id(request: web.Request) -> int | None:
    text = request.match_info["id"]
    return int(text) if text.isdigit() and len(text) < 18 else None
