"""The web server in the bot's process: click-time links, and Telegram's webhook when on.

It runs behind the user's reverse proxy under PUBLIC_URL's path. A handle in a /j/ path is a
bearer secret: the access log masks it, and nothing here logs a path, a handle or a token.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from bot.config import SUPPORTED_LANGUAGES
from bot.domain import links, people
from bot.domain.links import Opened, Opening
from bot.i18n import normalize_language, pick_language, use_language
from bot.services import Services
from bot.web import pages
from bot.web.bound import BoundLinks
from bot.web.events import EventSyncApi
from bot.web.miniapp import MiniApp
from bot.web.previews import is_preview_fetch
from bot.web.reservations import ReservationApi
from storage.db import session_scope
from storage.models import Meeting

log = logging.getLogger(__name__)
access_log = logging.getLogger("bot.web.access")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Where the Jitsi pages jitsi-config prints find the handle again (a fragment never reaches a
# server): the key of a JSON string, which Jitsi's own fragment reader skips over.
FRAGMENT_KEY = "botlink"
# Every page and redirect: not kept in caches, no Referer to the next site, nothing loaded.
_PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
}
_PAGE_HEADERS = {
    **_PRIVATE_HEADERS,
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
}

UpdateFeed = Callable[[dict[str, Any]], Awaitable[None]]
# /j/<handle>?after=...: where Jitsi's pages (jitsi-config's body.html, authError.html) send
# people back to.
AFTER_PAGES: dict[str, Callable[[Meeting], pages.Page]] = {
    "left": pages.left_page,
    "error": pages.refused_twice_page,
}


@dataclass(frozen=True)
class Webhook:
    """Telegram's updates arrive at this URL (checked against the secret token, if any)."""

    url: str
    secret_token: str | None = None

    @property
    def path(self) -> str:
        """The path the web server takes the updates on."""
        return urlsplit(self.url).path or "/"


def masked_path(path: str) -> str:
    """A request path fit for a log: whatever follows /j/ is a secret."""
    head, found, _handle = path.partition(links.CLICK_PATH)
    return head + links.CLICK_PATH + "…" if found else path


class MaskedAccessLogger(AbstractAccessLogger):
    """One line per request, without the handle of a /j/ path or any query string."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        """Method, masked path, status and time taken."""
        path = masked_path(request.path)
        self.logger.info("%s %s %s %.0fms", request.method, path, response.status, time * 1000)


class WebServer:
    """Serves click-time links under PUBLIC_URL's path (and the webhook, when given)."""

    def __init__(
        self,
        services: Services,
        *,
        webhook: Webhook | None = None,
        feed_update: UpdateFeed | None = None,
        mini_app: MiniApp | None = None,
    ) -> None:
        self._services = services
        self._mini_app = mini_app
        self._webhook = webhook
        self._feed_update = feed_update
        self._runner: web.AppRunner | None = None
        self.port = 0

    def make_app(self) -> web.Application:
        """The aiohttp application with its routes."""
        app = web.Application()
        prefix = self._services.settings.web_path
        app.router.add_get(prefix + links.CLICK_PATH + "{handle}", self._open_link)
        if self._services.rules.bind_links:
            BoundLinks(
                self._services,
                show=self._page,
                join=lambda link, handle: _redirect(link + _fragment(handle)),
                reader_language=self._reader_language,
            ).add_routes(app, prefix)
        if self._services.settings.manages_rooms:
            # Jitsi's reservation and event-sync modules (RESERVATIONS_TOKEN).
            ReservationApi(self._services).add_routes(app, prefix)
            EventSyncApi(self._services).add_routes(app, prefix)
        if self._webhook is not None:
            app.router.add_post(self._webhook.path, self._take_update)
        if self._mini_app is not None:
            self._mini_app.add_routes(app, prefix)
        return app

    async def start(self) -> None:
        """Listen on WEB_LISTEN."""
        host, port = self._services.settings.web_address
        self._runner = web.AppRunner(
            self.make_app(),
            access_log_class=MaskedAccessLogger,
            access_log=access_log,
            shutdown_timeout=2.0,
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.port = self._runner.addresses[0][1]
        log.info("web side listening on %s:%d", host, self.port)

    async def stop(self) -> None:
        """Stop listening; requests in progress get a moment to finish."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- /j/<handle> -----------------------------------------------------------------------

    async def _open_link(self, request: web.Request) -> web.StreamResponse:
        """A fresh token link for the handle's person as they are now, or a page saying why not."""
        services = self._services
        fallback = self._reader_language(request)
        if is_preview_fetch(request.method, request.headers.get("User-Agent", "")):
            return self._page(pages.preview_page(), fallback)
        handle = request.match_info["handle"]
        after = request.query.get("after")
        if after in AFTER_PAGES:
            return self._page_after(handle, after, fallback)
        if services.rules.bind_links and links.HANDLE_PATTERN.fullmatch(handle):
            # Only the Mini App page, with Telegram's word on who opened it, mints.
            bound = services.settings.web_path + links.CLICK_PATH + handle + links.BOUND_SUFFIX
            return _redirect(bound)
        try:
            now = services.clock()
            with session_scope(services.engine) as session:
                opening = links.open_click_link(
                    session, handle=handle, signer=services.signer, rules=services.rules, now=now
                )
                if opening.outcome is Opened.READY:
                    assert opening.link is not None
                    return _redirect(opening.link + _fragment(handle))
                language = fallback
                if opening.user is not None:
                    user = opening.user
                    language = pick_language(user.language, user.telegram_language, fallback)
                with use_language(language):
                    return self._page(self._page_for(opening), language)
        except Exception as error:
            # One page for every failure; the log names the kind of error, never the path.
            log.error("opening a click-time link failed: %s", type(error).__name__)
            return self._page(pages.failure_page(), fallback)

    def _page_after(self, handle: str, after: str, fallback: str) -> web.Response:
        """Back from Jitsi (a hang-up, a kick, an error twice): a page with a link to join
        again; nothing is minted before that link is followed."""
        with session_scope(self._services.engine) as session:
            found = links.click_link_owner(session, handle=handle)
        if found is None:
            return self._page(pages.unknown_page(), fallback)
        meeting, user = found
        language = fallback
        if user is not None:
            language = pick_language(user.language, user.telegram_language, fallback)
        with use_language(language):
            return self._page(AFTER_PAGES[after](meeting), language)

    def _page_for(self, opening: Opening) -> pages.Page:
        zone = people.user_zone(opening.user, self._services.rules)
        return pages.opening_page(opening, zone, self._services.clock())

    def _reader_language(self, request: web.Request) -> str:
        """The browser's first supported language, else the bot's default."""
        default = self._services.settings.default_language
        for part in request.headers.get("Accept-Language", "").split(","):
            code = normalize_language(part.split(";")[0].strip())
            if code in SUPPORTED_LANGUAGES:
                return code
        return default

    @staticmethod
    def _page(page: pages.Page, language: str) -> web.Response:
        with use_language(language):
            body = pages.render(page)
        return web.Response(
            status=page.status,
            text=body,
            content_type="text/html",
            charset="utf-8",
            headers=_PAGE_HEADERS,
        )

    # --- Telegram's webhook ----------------------------------------------------------------

    async def _take_update(self, request: web.Request) -> web.Response:
        """An update from Telegram, if it carries the secret token: into the bot's queue."""
        webhook = self._webhook
        assert webhook is not None and self._feed_update is not None
        if webhook.secret_token is not None and not hmac.compare_digest(
            request.headers.get(SECRET_HEADER, "").encode(), webhook.secret_token.encode()
        ):
            return web.Response(status=403)
        try:
            data = await request.json()
        except ValueError:
            return web.Response(status=400)
        if not isinstance(data, dict):
            return web.Response(status=400)
        await self._feed_update(data)
        return web.Response(status=200)


def _fragment(handle: str) -> str:
    """#botlink="<handle>" for the Jitsi pages jitsi-config prints (never sent to a server)."""
    return f"#{FRAGMENT_KEY}=" + quote(json.dumps(handle), safe="")


def _redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, **_PRIVATE_HEADERS})
