"""Helpers every handler shares: the typed context, the reader's language, replies."""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import wraps
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from telegram import (
    Chat,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    WebAppInfo,
)
from telegram import User as TelegramUser
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, CallbackContext, ExtBot

from bot.buttons import ButtonData
from bot.domain import access, chats, lookup, people
from bot.domain.values import Actor
from bot.errors import DomainError
from bot.i18n import _, pick_language, use_language
from bot.messaging import Button, Keyboard
from bot.services import Services
from storage.db import session_scope
from storage.models import User

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 4096


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """CallbackContext with typed access to the bot's services."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def services(self) -> Services:
        """The services built by build_application."""
        services = self.application.bot_data["services"]
        assert isinstance(services, Services)
        return services


# A handler returns None, or (in a ConversationHandler) the dialog's next state.
Handler = Callable[[Update, BotContext], Awaitable[Any]]
H = TypeVar("H", bound=Handler)
# Any callback PTB runs for an update; the error handler gets `object` (maybe None) for it.
AnyHandler = TypeVar("AnyHandler", bound=Callable[[Any, BotContext], Awaitable[None]])
Pressed = TypeVar("Pressed", bound=ButtonData)


def keyboard_markup(keyboard: Keyboard) -> InlineKeyboardMarkup | None:
    """Our plain buttons as Telegram's inline keyboard."""
    rows = [[_inline_button(button) for button in row] for row in keyboard if row]
    return InlineKeyboardMarkup(rows) if rows else None


def _inline_button(button: Button) -> InlineKeyboardButton:
    if button.web_app:
        return InlineKeyboardButton(button.text, web_app=WebAppInfo(button.web_app))
    if button.url:
        return InlineKeyboardButton(button.text, url=button.url)
    return InlineKeyboardButton(button.text, callback_data=button.data)


def clip(text: str) -> str:
    """Keep a message within Telegram's 4096 characters."""
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


async def reply(
    update: Update,
    text: str,
    keyboard: Keyboard = (),
    *,
    quote: bool = False,
    ask: bool = False,
) -> Message | None:
    """Answer in the chat the update came from; long texts go out in pages, buttons on the last.

    `ask` opens a reply to this message on the sender's phone (ForceReply), so that in groups,
    where privacy mode hides plain messages from the bot, the answer still reaches it.
    """
    chat = update.effective_chat
    if chat is None:
        return None
    bot = update.get_bot()
    reply_to = update.effective_message.message_id if quote and update.effective_message else None
    pages = split_pages(text)
    last_markup: InlineKeyboardMarkup | ForceReply | None = keyboard_markup(keyboard)
    if ask:
        last_markup = ForceReply(selective=True)
        reply_to = update.effective_message.message_id if update.effective_message else None
    message = None
    for number, page in enumerate(pages, 1):
        message = await bot.send_message(
            chat.id,
            page,
            parse_mode=ParseMode.HTML,
            reply_markup=last_markup if number == len(pages) else None,
            reply_to_message_id=reply_to,
            disable_web_page_preview=True,
        )
    return message


def split_pages(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Cut a long text at line ends into messages Telegram accepts (one line never splits tags)."""
    pages: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            pages.append(current)
        current = clip(line)
    pages.append(current)
    return pages


def remember(session: Session, tg_user: TelegramUser, *, started: bool = False) -> User:
    """Record the Telegram user behind an update."""
    return people.remember_user(
        session,
        user_id=tg_user.id,
        username=tg_user.username,
        display_name=tg_user.full_name,
        telegram_language=tg_user.language_code,
        started=started,
    )


def reader_language(services: Services, session: Session, update: object) -> str:
    """The language of whoever reads the reply (a group's choice in groups), else the default."""
    default = services.settings.default_language
    if not isinstance(update, Update):
        return default
    chat = update.effective_chat
    if chat is not None and chat.type != Chat.PRIVATE:
        return chats.chat_language(session, chat_id=chat.id) or default
    tg_user = update.effective_user
    user = session.get(User, tg_user.id) if tg_user else None
    return pick_language(
        user.language if user else None,
        tg_user.language_code if tg_user else None,
        default,
    )


def in_reader_language(handler: AnyHandler) -> AnyHandler:
    """Run a handler (also the error handler) in its reader's language, reset afterwards.

    PTB runs updates one after another in one task: a language set and never reset would
    answer the next person in the previous person's language.
    """

    @wraps(handler)
    async def wrapper(update: object, context: BotContext) -> None:
        services = context.services
        try:
            with Session(services.engine) as session:
                language = reader_language(services, session, update)
        except SQLAlchemyError:
            # The error handler must still run when the database is what failed.
            language = services.settings.default_language
        with use_language(language):
            await handler(update, context)

    return wrapper  # type: ignore[return-value]


def guarded(handler: H) -> H:
    """Register the user, answer in the reader's language, and turn refusals into replies.

    The handler's result is passed on; a refusal returns None, which keeps a dialog's step.
    """

    @wraps(handler)
    async def wrapper(update: Update, context: BotContext) -> Any:
        services = context.services
        tg_user = update.effective_user
        with session_scope(services.engine) as session:
            if tg_user is not None and not tg_user.is_bot:
                is_private = update.effective_chat is not None and (
                    update.effective_chat.type == Chat.PRIVATE
                )
                remember(session, tg_user, started=is_private and update.message is not None)
            language = reader_language(services, session, update)
        with use_language(language):
            try:
                return await handler(update, context)
            except DomainError as error:
                await refuse(update, str(error))
                return None

    return wrapper  # type: ignore[return-value]


async def refuse(update: Update, text: str) -> None:
    """A refusal: as a toast for a button press, as a reply otherwise."""
    if update.callback_query is not None:
        await update.callback_query.answer(text[:200], show_alert=True)
    else:
        await reply(update, html.escape(text))


async def actor_for(update: Update, context: BotContext, chat_id: int | None) -> Actor:
    """Who is acting, with bot-admin rights and Telegram admin rights in `chat_id` checked now."""
    tg_user = update.effective_user
    assert tg_user is not None
    services = context.services
    with Session(services.engine) as session:
        admin = access.is_bot_admin(session, tg_user.id, services.rules)
    admin_of = None
    if chat_id is not None and chat_id < 0:
        try:
            member = await context.bot.get_chat_member(chat_id, tg_user.id)
        except TelegramError:
            member = None
        if member is not None and member.status in {
            ChatMemberStatus.ADMINISTRATOR,
            ChatMemberStatus.OWNER,
        }:
            admin_of = chat_id
    return Actor(user_id=tg_user.id, is_bot_admin=admin, admin_of_chat=admin_of)


async def actor_for_meeting(update: Update, context: BotContext, code: str) -> Actor:
    """Who is acting on the meeting with this code (NotFound when there is none)."""
    with session_scope(context.services.engine) as session:
        chat_id = lookup.find_meeting(session, code).chat_id
    return await actor_for(update, context, chat_id)


def command_args(update: Update) -> str:
    """The text after the command (and after /cmd@botname)."""
    message = update.effective_message
    text = (message.text or message.caption or "") if message else ""
    if not text.startswith("/"):
        return text.strip()
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def is_private(update: Update) -> bool:
    """True in the private chat with the bot."""
    return update.effective_chat is not None and update.effective_chat.type == Chat.PRIVATE


def buttons(*rows: Sequence[Button]) -> list[list[Button]]:
    """A keyboard from rows of buttons, dropping empty rows."""
    return [list(row) for row in rows if row]


def not_for_you() -> str:
    """The polite refusal for a button someone else owns."""
    return _("This button is not for you.")


def pressed(update: Update, kind: type[Pressed]) -> Pressed | None:
    """The pressed button's data read as `kind`; None when it is forged or outdated."""
    query = update.callback_query
    return kind.decode(query.data) if query is not None else None
