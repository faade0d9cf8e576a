"""Links bound to the Telegram account (LINK_BINDING=telegram): PUBLIC_URL/j/<handle>/tg.

The private message carries a Mini App button to this page. The page hands Telegram's signed
init data back to the server in a form post; the server checks the signature with the bot token
(bot.web.initdata, signed at most an hour ago) and mints only for the account the link was sent
to. Anyone else holding the link, a forged signature or a stale one gets a page saying why.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable
from datetime import timedelta

from aiohttp import web

from bot.domain import links, people
from bot.domain.links import Opened, Opening
from bot.i18n import _, current_language, pick_language, use_language
from bot.services import Services
from bot.web import initdata, pages
from storage.db import session_scope

log = logging.getLogger(__name__)

# How long Telegram's signature on the init data is taken as proof of who opened the page:
# a copy of the init data (from a screen share, a proxy log) is useless after that.
BOUND_MAX_AGE = timedelta(hours=1)
FORM_FIELD = "init_data"

# Reads the init data as the Mini App's app.js does (Telegram's script, if the client injected
# it, else the fragment Telegram opens the page with), keeps it for this tab (the way back from
# Jitsi's pages lands here without a fragment), and posts it. Nothing is sent in a URL.
_SCRIPT = """(function () {
  "use strict";
  var tg = window.Telegram && window.Telegram.WebApp;
  var hash = new URLSearchParams(location.hash.slice(1));
  var initData = (tg && tg.initData) || hash.get("tgWebAppData") || "";
  try {
    if (initData) sessionStorage.setItem("botInitData", initData);
    else initData = sessionStorage.getItem("botInitData") || "";
  } catch (e) { /* storage off: the fragment is all there is */ }
  var form = document.getElementById("open");
  form.elements.init_data.value = initData;
  form.submit();
})();"""
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()

_PAGE = """<!DOCTYPE html>
<html lang="{language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<style>
body {{ font: 17px/1.5 system-ui, sans-serif; max-width: 34em; margin: 12vh auto;
        padding: 0 1.2em; color: #1f2328; background: #fff; }}
</style>
</head>
<body>
<main>
<p>{opening}</p>
<noscript><p>{no_script}</p></noscript>
<form id="open" method="post" action=""><input type="hidden" name="{field}"></form>
</main>
<script>{script}</script>
</body>
</html>
"""

BOUND_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    # The form posts here; its answer redirects to the Jitsi server (https). Telegram's web
    # client shows Mini Apps in a frame.
    "Content-Security-Policy": (
        f"default-src 'none'; script-src 'sha256-{_SCRIPT_HASH}'; style-src 'unsafe-inline'; "
        "base-uri 'none'; form-action 'self' https:; "
        "frame-ancestors https://web.telegram.org https://*.telegram.org"
    ),
}

ShowPage = Callable[[pages.Page, str], web.Response]
JoinRedirect = Callable[[str, str], web.Response]
ReaderLanguage = Callable[[web.Request], str]


class BoundLinks:
    """GET and POST PUBLIC_URL/j/<handle>/tg: the Mini App page of a bound link."""

    def __init__(
        self,
        services: Services,
        *,
        show: ShowPage,
        join: JoinRedirect,
        reader_language: ReaderLanguage,
    ) -> None:
        self._services = services
        self._show = show
        self._join = join
        self._reader_language = reader_language

    def add_routes(self, app: web.Application, prefix: str) -> None:
        """The page, and the post that opens the meeting."""
        path = prefix + links.CLICK_PATH + "{handle}" + links.BOUND_SUFFIX
        app.router.add_get(path, self._page)
        app.router.add_post(path, self._open)

    async def _page(self, request: web.Request) -> web.Response:
        """The page that posts the init data back (mints nothing by itself)."""
        with use_language(self._reader_language(request)):
            body = _PAGE.format(
                language=current_language(),
                title=_("Personal meeting link"),
                opening=_("Opening the meeting…"),
                no_script=_("Turn on JavaScript to open the meeting."),
                field=FORM_FIELD,
                script=_SCRIPT,
            )
        return web.Response(
            text=body, content_type="text/html", charset="utf-8", headers=BOUND_HEADERS
        )

    async def _open(self, request: web.Request) -> web.StreamResponse:
        """Init data checked: the Jitsi link for the link's own person, or a page saying why."""
        services = self._services
        fallback = self._reader_language(request)
        handle = request.match_info["handle"]
        try:
            form = await request.post()
            now = services.clock()
            opener = initdata.verify(
                str(form.get(FORM_FIELD, "")).strip(),
                bot_token=services.settings.require_bot_token(),
                now=now,
                max_age=BOUND_MAX_AGE,
            )
            if opener is None:
                return self._show(pages.unverified_page(), fallback)
            opener_language = pick_language(None, opener.language_code, fallback)
            with session_scope(services.engine) as session:
                opening = links.open_click_link(
                    session,
                    handle=handle,
                    signer=services.signer,
                    rules=services.rules,
                    now=now,
                    opener_id=opener.id,
                )
                if opening.outcome is Opened.READY:
                    assert opening.link is not None
                    return self._join(opening.link, handle)
                language = self._language(opening, opener_language)
                with use_language(language):
                    zone = people.user_zone(opening.user, services.rules)
                    return self._show(pages.opening_page(opening, zone, now), language)
        except Exception as error:
            # The log names the kind of error, never the handle or the init data.
            log.error("opening a bound link failed: %s", type(error).__name__)
            return self._show(pages.failure_page(), fallback)

    @staticmethod
    def _language(opening: Opening, opener_language: str) -> str:
        """The link's person reads in their own language; a stranger in Telegram's."""
        user = opening.user
        if opening.outcome is Opened.NOT_YOURS or user is None:
            return opener_language
        return pick_language(user.language, user.telegram_language, opener_language)
