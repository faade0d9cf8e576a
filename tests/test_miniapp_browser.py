"""The Mini App in a real headless Chromium (Debian's, driven by Playwright's Python package;
no browser is downloaded) against the real bot and the sandbox, which opens the page as
Telegram does: signed init data and theme parameters in the URL fragment.

Screenshots of each screen, light and dark, at 360 px, go to MINIAPP_SHOTS (default: the
test's folder), never into the repository.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlmodel import Session, select

from bot.sandbox import Chat, Sandbox, User
from storage.models import Meeting
from tests.conftest import BotHarness
from tests.helpers import decode_token

playwright_api = pytest.importorskip("playwright.async_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")

# Telegram's own default palettes (Telegram Web, day and night).
LIGHT = {
    "bg_color": "#ffffff",
    "text_color": "#000000",
    "hint_color": "#707579",
    "link_color": "#3390ec",
    "button_color": "#3390ec",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#f4f4f5",
}
DARK = {
    "bg_color": "#212121",
    "text_color": "#ffffff",
    "hint_color": "#aaaaaa",
    "link_color": "#8774e1",
    "button_color": "#8774e1",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#0f0f0f",
}
_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def bot(web_bot: BotHarness) -> BotHarness:
    """The real bot with PUBLIC_URL set: its web server listens on a free port."""
    return web_bot


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=_FLAGS)
        yield chromium
        await chromium.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("MINIAPP_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Phone:
    """One person's Telegram client showing the Mini App, 360 px wide."""

    def __init__(self, bot: BotHarness, browser: Any, port: int, shots: Path) -> None:
        self.bot, self.browser, self.port, self.shots = bot, browser, port, shots

    async def open(
        self,
        user: User,
        *,
        theme: dict[str, str] = LIGHT,
        start_param: str | None = None,
        init_data: str | None = None,
    ) -> Any:
        data = init_data or self.bot.sandbox.web_app_init_data(
            user, auth_date=int(self.bot.clock().timestamp()), start_param=start_param
        )
        url = self.bot.sandbox.web_app_url(f"http://127.0.0.1:{self.port}/bot/app/", data, theme)
        context = await self.browser.new_context(viewport={"width": 360, "height": 720})
        page = await context.new_page()
        page.set_default_timeout(10_000)
        await page.goto(url)
        await page.wait_for_selector("body[data-ready='1']")
        return page

    async def shot(self, page: Any, name: str) -> None:
        path = self.shots / f"miniapp-{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 2000


@pytest.fixture
def phone(bot: BotHarness, browser: Any, port: int, shots: Path) -> Phone:
    return Phone(bot, browser, port, shots)


async def _team(bot: BotHarness, sandbox: Sandbox) -> tuple[User, User, Chat]:
    alice = sandbox.create_user("Alice", username="alice")
    bob = sandbox.create_user("Bob", username="bob")
    for person in (alice, bob):
        await bot.say(person, "/start")
    return alice, bob, sandbox.create_group("Team", members=[alice, bob])


async def _fill_form(page: Any, title: str, *, repeat: str = "") -> None:
    await page.click("#tab-new")
    await page.fill("#title", title)
    await page.fill("#date", "2026-11-28")
    await page.fill("#time", "12:00")
    await page.select_option("#duration", "45")
    await page.select_option("#repeat", repeat)


@pytest.mark.parametrize("theme", [LIGHT, DARK], ids=["light", "dark"])
async def test_schedule_through_the_form_announces_in_the_group_and_links_go_out(
    bot: BotHarness, sandbox: Sandbox, phone: Phone, theme: dict[str, str], port: int
) -> None:
    alice, bob, group = await _team(bot, sandbox)
    name = "light" if theme is LIGHT else "dark"
    page = await phone.open(alice, theme=theme, start_param=f"g{group.id}")
    # The theme's colours are the page's colours.
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == ("rgb(255, 255, 255)" if theme is LIGHT else "rgb(33, 33, 33)")
    await phone.shot(page, f"group-empty-{name}")
    await _fill_form(page, "Weekly sync", repeat="weekly")
    await page.wait_for_selector("#preview:has-text('every Saturday')")
    assert "every Saturday" in await page.inner_text("#preview")
    await phone.shot(page, f"new-{name}")
    await page.click("button[type=submit]")
    await page.wait_for_selector("article.card:has-text('Weekly sync')")
    await bot.settle()
    await phone.shot(page, f"group-list-{name}")
    [announcement] = sandbox.chat_messages(group)
    assert "New meeting, planned by Alice" in announcement.text
    assert "Weekly sync" in announcement.text and "every Saturday" in announcement.text
    # Bob is going; inside the join window his link comes, and the app shows Join.
    await bot.tap(bob, announcement, "✅ Going")
    await bot.reminders(timedelta(minutes=110))
    assert any(f"127.0.0.1:{port}/bot/j/" in message.text for message in sandbox.inbox(bob))
    bobs = await phone.open(bob, theme=theme)
    join = await bobs.get_attribute("article.card a.primary", "href")
    assert join is not None and f"127.0.0.1:{port}/bot/j/" in join
    await phone.shot(bobs, f"list-join-{name}")


async def test_a_switch_promotes_and_the_next_link_changes(
    bot: BotHarness, sandbox: Sandbox, phone: Phone
) -> None:
    alice, bob, _group = await _team(bot, sandbox)
    await bot.say(alice, "/schedule Kickoff | 2026-12-01 09:00 | 30m")
    await bot.tap(alice, bot.newest(alice), "Confirm")
    with Session(bot.services.engine) as session:
        kickoff = session.exec(select(Meeting)).one().code
    await bot.say(alice, f"/invite {kickoff} @bob")
    page = await phone.open(alice)
    # Bob is someone Alice has met: she ticks him in the form.
    await _fill_form(page, "Team sync")
    await page.check("#invite-list input[type=checkbox]")
    await page.click("button[type=submit]")
    await page.wait_for_selector("article.card:has-text('Team sync')")
    await bot.settle()
    assert "Team sync" in sandbox.inbox(bob)[-1].text
    for theme, name in ((LIGHT, "light"), (DARK, "dark")):
        shown = await phone.open(alice, theme=theme)
        await phone.shot(shown, f"list-{name}")
        await shown.click("article.card:has-text('Team sync') button")
        await shown.wait_for_selector("#participants")
        await phone.shot(shown, f"manage-{name}")
        await shown.click("#tab-settings")
        await shown.wait_for_selector("#settings-form")
        await phone.shot(shown, f"settings-{name}")
    await page.click("article.card:has-text('Team sync') button")
    switch = page.locator("#participants li:has-text('Bob') input[role=switch]")
    assert not await switch.is_checked()
    await switch.focus()
    await page.keyboard.press("Space")  # keyboard-usable
    await page.wait_for_selector("#status:has-text('Saved.')")
    assert await switch.is_checked()
    await bot.reminders(timedelta(minutes=110))
    links = re.findall(r"http://127\.0\.0\.1:\d+/bot/j/\S+", sandbox.inbox(bob)[-1].text)
    assert links
    async with (
        aiohttp.ClientSession() as http,
        http.get(links[-1], allow_redirects=False) as response,
    ):
        location = response.headers["Location"]
    token = re.search(r"jwt=([^&#]+)", location)
    assert token is not None
    assert decode_token(token.group(1))["context"]["user"]["moderator"] in (True, "true")


async def test_a_member_opening_the_owner_view_is_refused(
    bot: BotHarness, sandbox: Sandbox, phone: Phone
) -> None:
    alice, bob, _group = await _team(bot, sandbox)
    await bot.say(alice, "/schedule Board | 2026-11-28 12:00 | 30m")
    await bot.tap(alice, bot.newest(alice), "Confirm")
    with Session(bot.services.engine) as session:
        code = session.exec(select(Meeting)).one().code
    await bot.say(alice, f"/invite {code} @bob")
    for theme, name in ((LIGHT, "light"), (DARK, "dark")):
        page = await phone.open(bob, theme=theme)
        assert await page.locator("article.card button").count() == 0  # no Manage for him
        await page.evaluate(f"window.miniApp.show('meeting', '{code}')")
        refusal = await page.wait_for_selector("#refusal")
        assert "owner" in (await refusal.inner_text()).lower()
        assert await page.locator("#participants").count() == 0
        await phone.shot(page, f"refused-{name}")


async def test_forged_init_data_is_refused_in_the_browser(
    bot: BotHarness, sandbox: Sandbox, phone: Phone
) -> None:
    mallory = sandbox.create_user("Mallory")
    forged = sandbox.web_app_init_data(
        mallory, auth_date=int(bot.clock().timestamp()), bot_token="1:FORGED"
    )
    page = await phone.open(mallory, init_data=forged)
    refusal = await page.wait_for_selector("#refusal")
    assert "opened from Telegram" in await refusal.inner_text()
    assert await page.locator("#tabs").is_hidden()
    await phone.shot(page, "forged-light")


async def test_an_owner_skips_a_sitting_and_the_participants_are_told(
    bot: BotHarness, sandbox: Sandbox, phone: Phone
) -> None:
    alice, bob, _group = await _team(bot, sandbox)
    await bot.say(alice, "/schedule Weekly | every saturday 12:00 | 60m")
    await bot.tap(alice, bot.newest(alice), "Confirm")
    with Session(bot.services.engine) as session:
        code = session.exec(select(Meeting)).one().code
    await bot.say(alice, f"/invite {code} @bob")
    await bot.settle()
    for theme, name in ((LIGHT, "light"), (DARK, "dark")):
        shown = await phone.open(alice, theme=theme)
        await shown.click(f"article.card[data-code='{code}'] button")
        await shown.wait_for_selector("#sittings")
        await phone.shot(shown, f"owner-tools-{name}")
    page = await phone.open(alice)
    page.on("dialog", lambda dialog: dialog.accept())  # "Skip this sitting for everyone?"
    await page.click(f"article.card[data-code='{code}'] button")
    sitting = page.locator("#sittings li[data-date='2026-12-05']")
    await sitting.locator("button").click()
    await page.wait_for_selector("#status:has-text('Skipped the sitting of')")
    assert await page.locator("#sittings li[data-date='2026-12-05']").count() == 0
    await bot.settle()
    told = sandbox.inbox(bob)[-1].text
    assert "One sitting skipped" in told and "Weekly" in told
    # The history shows it, and a member's switch for recording is one tap away.
    await page.click("#show-history")
    await page.wait_for_selector("#history li:has-text('skip')")
    recording = page.locator("#feature-recording")
    assert not await recording.is_checked()
    await recording.focus()
    await page.keyboard.press("Space")
    await page.wait_for_selector("#status:has-text('recording=on')")
    await phone.shot(page, "owner-skipped-light")
