"""jitsi-config with PUBLIC_URL: the nginx block for the bot's web side, and error and hang-up
pages that lead back to the person's own click-time link (their scripts run in Node.js here,
against stand-ins for the few browser objects they touch)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.jitsi.server_settings import render_server_config
from tests.jitsi.helpers import make_settings
from tests.jitsi.test_server_settings import sections

PUBLIC_URL = "https://meet.example.com/bot"
LINKS = PUBLIC_URL + "/j/"
HANDLE = "hjB6xuvWk1sc8IoAq0zZweKOObI3NkGc"
NGINX = "/etc/nginx/sites-available/meet.example.com.conf"
AUTH_ERROR = "/usr/share/jitsi-meet/static/authError.html"
BODY = "/usr/share/jitsi-meet/body.html"


def _blocks(**overrides: Any) -> dict[str, str]:
    settings = make_settings(**{"public_url": PUBLIC_URL, **overrides})
    return sections(render_server_config(settings, bot_username="MeetPlannerBot"))


def test_the_nginx_block_passes_the_public_path_to_web_listen() -> None:
    nginx = _blocks()[NGINX]
    assert "location ^~ /bot/ {" in nginx
    assert "    proxy_pass http://127.0.0.1:8080;" in nginx.splitlines()
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in nginx
    assert "access_log off;" in nginx  # the handles are bearer secrets
    assert f"--webhook-url {PUBLIC_URL}/telegram" in nginx
    # Every address and IPv6: the proxy reaches the bot on the loopback address.
    assert "proxy_pass http://127.0.0.1:9000;" in _blocks(web_listen="0.0.0.0:9000")[NGINX]
    assert "proxy_pass http://[::1]:9000;" in _blocks(web_listen="[::]:9000")[NGINX]
    # A host of its own: the whole server is the bot's.
    own = make_settings(public_url="https://bot.example.com")
    nginx = sections(render_server_config(own, bot_username="MeetPlannerBot"))[
        "/etc/nginx/sites-available/bot.example.com.conf"
    ]
    assert "location ^~ / {" in nginx
    assert "PUBLIC_URL is https://meet.example.com/bot" in _blocks()["notes"]


def test_without_public_url_no_nginx_block_and_the_pages_lead_to_the_bot() -> None:
    blocks = sections(render_server_config(make_settings(), bot_username="MeetPlannerBot"))
    assert not any(title.startswith("/etc/nginx") for title in blocks)
    assert "/j/" not in blocks[AUTH_ERROR] + blocks[BODY]
    assert "https://t.me/MeetPlannerBot" in blocks[AUTH_ERROR]


def test_the_pages_name_the_links_address_as_script_strings() -> None:
    blocks = _blocks()
    for page in (blocks[AUTH_ERROR], blocks[BODY]):
        assert f'var LINKS = "{LINKS}";' in page
        assert 'var BOT = "https://t.me/MeetPlannerBot";' in page
    # Without scripts, the error page still leads somewhere: the bot.
    assert (
        '<noscript><meta http-equiv="refresh" content="5; URL=https://t.me/MeetPlannerBot"'
        in (blocks[AUTH_ERROR])
    )
    # A PUBLIC_URL cannot close the script element it is written into.
    odd = _blocks(public_url="https://meet.example.com/a</script>b")
    assert "</script>b" not in odd[BODY] and "\\u003c/script\\u003eb/j/" in odd[BODY]


# --- the scripts, run -------------------------------------------------------------------------

# Stand-ins for what the scripts touch: storage, location, history, timers, Jitsi's APP.
_BROWSER = r"""
const fs = require("fs");
const [code, given] = [fs.readFileSync(process.argv[2], "utf8"), JSON.parse(process.argv[3])];
function storage(items) {
  return { items, getItem: (k) => (k in items ? items[k] : null),
           setItem: (k, v) => { items[k] = String(v); } };
}
const listeners = {};
const timers = [];
const result = { replacedUrl: null, href: null, replacedBy: null };
global.window = global;
global.localStorage = storage(given.local || {});
global.sessionStorage = storage(given.session || {});
global.location = {
  pathname: given.pathname || "/weekly-sync-k3x9qa", search: given.search || "",
  hash: given.hash || "",
  set href(url) { result.href = url; }, get href() { return result.href; },
  replace(url) { result.replacedBy = url; },
};
global.history = { state: null, replaceState(_s, _t, url) { result.replacedUrl = url; } };
global.document = { getElementById: () => ({ href: "" }) };
global.setTimeout = (fn) => { timers.push(fn); };
if (given.app) {
  global.APP = {
    store: { getState: () => ({ "features/base/connection": given.error ? { error: {} } : {} }) },
    conference: { _room: { on: (name, fn) => { listeners[name] = fn; } } },
  };
}
eval(code);
timers.splice(0).forEach((fn) => fn());
if (given.fire) { listeners[given.fire](); }
result.local = global.localStorage.items;
result.session = global.sessionStorage.items;
console.log(JSON.stringify(result));
"""


def _run(page: str, tmp_path: Path, **given: Any) -> dict[str, Any]:
    """Run the page's script with the given browser state; what it did."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    [script] = re.findall(r"<script>(.*?)</script>", page, flags=re.DOTALL)
    (tmp_path / "page.js").write_text(script)
    (tmp_path / "browser.js").write_text(_BROWSER)
    done = subprocess.run(
        [node, str(tmp_path / "browser.js"), str(tmp_path / "page.js"), json.dumps(given)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_body_keeps_the_link_from_the_fragment_and_takes_it_out_of_the_address_bar(
    tmp_path: Path,
) -> None:
    body = _blocks()[BODY]
    fragment = "config.prejoinConfig.enabled=false&botlink=%22" + HANDLE + "%22"
    done = _run(body, tmp_path, hash="#" + fragment, search="?jwt=eyJ.x.y", app=True)
    assert done["local"] == {
        "meetingbot.link": HANDLE,
        "meetingbot.link.weekly-sync-k3x9qa": HANDLE,
    }
    # Jitsi's own fragment settings stay; the link goes.
    assert done["replacedUrl"] == (
        "/weekly-sync-k3x9qa?jwt=eyJ.x.y#config.prejoinConfig.enabled=false"
    )
    # Nothing but a well-formed handle is kept.
    forged = _run(body, tmp_path, hash="#botlink=%22javascript:alert(1)%22", app=True)
    assert forged["local"] == {}


def test_body_after_a_hang_up_goes_to_the_links_page_and_after_an_error_to_the_link(
    tmp_path: Path,
) -> None:
    body = _blocks()[BODY]
    kept = {"meetingbot.link.weekly-sync-k3x9qa": HANDLE}
    left = _run(body, tmp_path, local=kept, app=True, fire="conference.left")
    assert left["href"] == LINKS + HANDLE + "?after=left"
    kicked = _run(body, tmp_path, local=kept, app=True, fire="conference.kicked")
    assert kicked["href"] == LINKS + HANDLE + "?after=left"
    # A failed connection: back to the link, which mints a fresh token ...
    failed = _run(body, tmp_path, local=kept, app=True, error=True)
    assert failed["href"] == LINKS + HANDLE
    # ... but not round in circles: the second time within a minute, the link's page.
    again = _run(body, tmp_path, local=kept, session=failed["session"], app=True, error=True)
    assert again["href"] == LINKS + HANDLE + "?after=error"
    # Another room's link is not this room's: back to the bot.
    other = {"meetingbot.link.another-room": HANDLE}
    assert _run(body, tmp_path, local=other, app=True, fire="conference.left")["href"] == (
        "https://t.me/MeetPlannerBot"
    )


def test_auth_error_goes_back_to_the_link_or_else_to_the_bot(tmp_path: Path) -> None:
    page = _blocks()[AUTH_ERROR]
    done = _run(page, tmp_path, local={"meetingbot.link": HANDLE})
    assert done["replacedBy"] == LINKS + HANDLE
    again = _run(page, tmp_path, local={"meetingbot.link": HANDLE}, session=done["session"])
    assert again["replacedBy"] == LINKS + HANDLE + "?after=error"
    assert _run(page, tmp_path)["replacedBy"] == "https://t.me/MeetPlannerBot"
