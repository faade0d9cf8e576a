"""The Mini App on Telegram's side: where it opens (menu button, /app, "Open in app"), and what
its API needs from Telegram (rights checked now, the group's message about a new meeting)."""

from __future__ import annotations

from typing import Any

from telegram import MenuButtonWebApp, Update, WebAppInfo
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import TelegramError
from telegram.ext import Application

from bot.domain import access, chats, deep_links, rsvp
from bot.domain.values import Actor
from bot.handlers.common import (
    BotContext,
    guarded,
    is_private,
    keyboard_markup,
    reader_language,
    reply,
)
from bot.handlers.rsvp import announce
from bot.i18n import _, use_language
from bot.messaging import Button, start_link
from bot.render import app_url, render_announcement
from bot.services import Services
from bot.web.miniapp import group_start_param
from storage.db import session_scope
from storage.models import Meeting

_MEMBER_STATUSES = {
    ChatMemberStatus.OWNER,
    ChatMemberStatus.ADMINISTRATOR,
    ChatMemberStatus.MEMBER,
    ChatMemberStatus.RESTRICTED,
}


def open_in_app_button(services: Services) -> Button | None:
    """ "Open in app" for a private chat (None without PUBLIC_URL)."""
    public_url = services.settings.public_url
    if public_url is None:
        return None
    return Button(_("Open in app"), web_app=app_url(public_url))


def group_app_link(bot_username: str, chat_id: int) -> str:
    """The t.me direct link that opens the Mini App on a group's meetings (a web_app button
    does not work in groups)."""
    return f"https://t.me/{bot_username}?startapp={group_start_param(chat_id)}"


@guarded
async def app_command(update: Update, context: BotContext) -> None:
    """/app: the Mini App, as a button in private, as a t.me link in a group."""
    services = context.services
    chat = update.effective_chat
    assert chat is not None
    if services.settings.public_url is None:
        await reply(
            update, _("The app needs the bot's web address (PUBLIC_URL), which is not set.")
        )
        return
    if is_private(update):
        button = open_in_app_button(services)
        assert button is not None
        await reply(
            update, _("Your meetings, a calendar to plan new ones, your settings:"), [[button]]
        )
        return
    link = group_app_link(context.bot.username, chat.id)
    await reply(
        update,
        _("This group's meetings in the app:"),
        [[Button(_("Open in app"), url=link)]],
    )


async def set_menu_button(update: Update, context: BotContext) -> None:
    """On /start in private: the chat's menu button opens the Mini App (with PUBLIC_URL)."""
    public_url = context.services.settings.public_url
    chat = update.effective_chat
    if public_url is None or chat is None or not is_private(update):
        return
    services = context.services
    with session_scope(services.engine) as session:
        language = reader_language(services, session, update)
    with use_language(language):
        button = MenuButtonWebApp(_("Meetings"), WebAppInfo(app_url(public_url)))
    try:
        await context.bot.set_chat_menu_button(chat_id=chat.id, menu_button=button)
    except TelegramError:
        return  # the commands menu stays; nothing the person has to know


class TelegramSide:
    """The Mini App API's way to Telegram: through the running application's bot."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        self._application = application

    @property
    def _services(self) -> Services:
        services = self._application.bot_data["services"]
        assert isinstance(services, Services)
        return services

    @property
    def bot_username(self) -> str:
        """The bot's @username."""
        return str(self._application.bot.username)

    async def actor(self, user_id: int, chat_id: int | None) -> Actor:
        """Who acts, with bot-admin rights and Telegram admin rights in the group checked now."""
        services = self._services
        with session_scope(services.engine) as session:
            admin = access.is_bot_admin(session, user_id, services.rules)
        admin_of = None
        if chat_id is not None and chat_id < 0:
            status = await self._status(chat_id, user_id)
            if status in {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}:
                admin_of = chat_id
        return Actor(user_id=user_id, is_bot_admin=admin, admin_of_chat=admin_of)

    async def is_member(self, chat_id: int, user_id: int) -> bool:
        """Whether the person is in the group now."""
        return await self._status(chat_id, user_id) in _MEMBER_STATUSES

    async def _status(self, chat_id: int, user_id: int) -> str | None:
        try:
            member = await self._application.bot.get_chat_member(chat_id, user_id)
        except TelegramError:
            return None
        return str(member.status)

    async def announce(self, *, meeting_id: int, chat_id: int, organizer_name: str) -> None:
        """The group's message about a new meeting, as the /schedule Confirm posts it."""
        services = self._services
        bot = self._application.bot
        now = services.clock()
        with session_scope(services.engine) as session:
            language = chats.chat_language(session, chat_id=chat_id)
            meeting = session.get(Meeting, meeting_id)
            assert meeting is not None
            payload = deep_links.deep_link(session, meeting=meeting, kind="link", now=now)
            my_link = start_link(bot.username, payload)
            with use_language(language or services.settings.default_language):
                text, keyboard = render_announcement(
                    meeting,
                    session,
                    organizer_name=organizer_name,
                    counts=rsvp.counts(session, meeting),
                    my_link=my_link,
                )
        message = await bot.send_message(
            chat_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard_markup(keyboard)
        )
        with session_scope(services.engine) as session:
            meeting = session.get(Meeting, meeting_id)
            assert meeting is not None
            # Remembered for the later edits, with what it shows, as /schedule's Confirm does.
            with use_language(language or services.settings.default_language):
                announce(
                    session,
                    meeting=meeting,
                    chat_id=chat_id,
                    message_id=message.message_id,
                    organizer_name=organizer_name,
                    my_link=my_link,
                )
