"""The Bot API methods: validate parameters as Telegram does and act on the world."""

from __future__ import annotations

import json
import mimetypes
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.limits import RateLimiter
from bot.sandbox.models import (
    ADMIN_STATUSES,
    JSON,
    KICKED,
    LEFT,
    MEMBER,
    CallbackAnswer,
    Chat,
    Document,
    Edit,
    Message,
    buttons_of,
    chat_member_json,
)
from bot.sandbox.text import ParseError, parse_text
from bot.sandbox.world import World, scope_key

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_UPLOAD = 50 * 1024 * 1024

# Parameters that carry objects; in form data PTB sends them JSON-encoded.
JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
        "allowed_updates",
        "commands",
        "scope",
    }
)

# Scalar parameters with a known type; form data sends them as strings.
INT_FIELDS = frozenset(
    {
        "chat_id",
        "message_id",
        "user_id",
        "offset",
        "limit",
        "timeout",
        "reply_to_message_id",
        "cache_time",
        "max_connections",
        "message_thread_id",
    }
)
BOOL_FIELDS = frozenset(
    {
        "show_alert",
        "disable_notification",
        "protect_content",
        "allow_paid_broadcast",
        "disable_web_page_preview",
        "drop_pending_updates",
        "allow_sending_without_reply",
    }
)

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
POLL_TERMINATED = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)
TEXT_BUTTON = (
    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
)
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description and optional retry_after."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> JSON:
        """The error body exactly as Telegram sends it."""
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    """A 400 error with Telegram's "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {reason}")


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Params:
    """Request parameters; form values arrive as strings, so accessors coerce per field."""

    values: JSON
    files: dict[str, Upload] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        """Whether the parameter was sent (and is not null)."""
        return self.values.get(name) is not None

    def text(self, name: str, default: str | None = None) -> str | None:
        """A string parameter."""
        value = self.values.get(name)
        return default if value is None else str(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        """An integer parameter; a malformed one is a 400."""
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise bad_request(f"invalid {name} specified")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        """A boolean parameter (JSON true or the strings "true"/"1")."""
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def obj(self, name: str) -> Any:
        """A JSON object or array parameter (decoded if it came as a string)."""
        value = self.values.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return value


def normalize(values: JSON) -> JSON:
    """Decode form-data strings: JSON objects, integers and booleans of known fields."""
    typed = dict(values)
    for name, value in values.items():
        if not isinstance(value, str):
            continue
        if name in JSON_FIELDS:
            # PTB sends objects in form data as JSON strings.
            try:
                typed[name] = json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON object") from None
        elif name in INT_FIELDS and re.fullmatch(r"-?\d+", value.strip()):
            typed[name] = int(value)
        elif name in BOOL_FIELDS and value.strip().lower() in ("true", "false"):
            typed[name] = value.strip().lower() == "true"
    return typed


Handler = Callable[[Params], Awaitable[Any]]


class BotApi:
    """Implements the supported methods; each handler returns the result or raises ApiError."""

    def __init__(
        self, world: World, limiter: RateLimiter, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.world = world
        self.limiter = limiter
        self.clock = clock
        self._poll_generation = 0
        self._file_numbers = 0
        handlers: dict[str, Handler] = {
            "getMe": self.get_me,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "sendMessage": self.send_message,
            "sendDocument": self.send_document,
            "sendChatAction": self.send_chat_action,
            "editMessageText": self.edit_message_text,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "answerCallbackQuery": self.answer_callback_query,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "getChat": self.get_chat,
            "getChatMember": self.get_chat_member,
            "getChatAdministrators": self.get_chat_administrators,
            "setChatMenuButton": self.set_chat_menu_button,
            "getChatMenuButton": self.get_chat_menu_button,
            "close": self.close,
            "logOut": self.log_out,
        }
        # Telegram matches method names case-insensitively.
        self.methods = {name.lower(): (name, handler) for name, handler in handlers.items()}

    def lookup(self, method: str) -> tuple[str, Handler] | None:
        """Canonical name and handler of a method, or None when it does not exist."""
        return self.methods.get(method.lower())

    # -- shared checks ---------------------------------------------------------------------

    def _chat(self, params: Params, name: str = "chat_id") -> Chat:
        """The chat a call names; unknown ids and never-contacted users are "chat not found"."""
        raw = params.text(name)
        if raw is None or raw == "":
            raise bad_request(f"{name} is empty")
        chat = None
        if raw.startswith("@"):
            chat = next(
                (c for c in self.world.chats.values() if c.username == raw[1:]),
                None,
            )
        elif re.fullmatch(r"-?\d+", raw):
            chat = self.world.chats.get(int(raw))
        if chat is None or (chat.is_private and chat.user is not None and not chat.user.seen):
            raise bad_request("chat not found")
        return chat

    def _writable_chat(self, params: Params) -> Chat:
        """A chat the bot may post in: 403s for blocked or never-started users, kicked bots."""
        chat = self._chat_for_sending(params)
        if chat.is_private:
            user = chat.user
            assert user is not None
            if user.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if not user.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        else:
            status = chat.status_of(self.world.bot.id)
            if status == KICKED:
                raise ApiError(403, f"Forbidden: bot was kicked from the {chat.type} chat")
            if status == LEFT:
                raise ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
        return chat

    def _chat_for_sending(self, params: Params) -> Chat:
        """Like _chat, but a known user who never wrote is a 403, not "chat not found"."""
        raw = params.text("chat_id")
        if raw is not None and re.fullmatch(r"\d+", raw):
            chat = self.world.chats.get(int(raw))
            if chat is not None and chat.is_private:
                return chat
        return self._chat(params)

    def _rate_limit(self, chat: Chat, global_kind: str | None) -> None:
        """Raise 429 when a flood limit is exceeded."""
        retry_after = self.limiter.check(
            self.clock(), chat.id, chat.is_private, global_kind=global_kind
        )
        if retry_after is not None:
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)

    def _text_and_entities(
        self, params: Params, name: str, entities_name: str, max_length: int, what: str
    ) -> tuple[str, str, list[JSON], str | None]:
        """Raw text, plain text, entities and parse_mode of a text or caption parameter."""
        raw = params.text(name, "") or ""
        parse_mode = params.text("parse_mode")
        try:
            plain, entities = parse_text(raw, parse_mode)
        except ParseError as error:
            raise bad_request(f"can't parse entities: {error}") from None
        if params.has(entities_name):
            entities = list(params.obj(entities_name) or [])
        entities = [self._resolve_mention(entity) for entity in entities]
        if len(plain) > max_length:
            raise bad_request(f"{what} is too long")
        return raw, plain, entities, parse_mode

    def _resolve_mention(self, entity: JSON) -> JSON:
        """Give an HTML tg://user?id= mention the full user, as Telegram does for known users."""
        if entity.get("type") != "text_mention" or "user_id" not in entity:
            return entity
        user = self.world.users.get(entity["user_id"])
        rest = {k: v for k, v in entity.items() if k != "user_id"}
        if user is None:
            return {**rest, "type": "text_link", "url": f"tg://user?id={entity['user_id']}"}
        return {**rest, "user": user.to_json()}

    def _inline_markup(self, params: Params) -> JSON | None:
        """Validated reply_markup; only an inline keyboard is kept on the message."""
        markup = params.obj("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return None  # reply keyboards and keyboard removal live in the client, not here
        rows = markup["inline_keyboard"]
        if rows == []:
            return None
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array'
            )
        for row in rows:
            for button in row:
                self._check_button(button)
        return {"inline_keyboard": rows}

    @staticmethod
    def _check_button(button: Any) -> None:
        """Telegram's checks on one inline button."""
        if not isinstance(button, dict) or not button.get("text"):
            raise bad_request(TEXT_BUTTON)
        if "callback_data" in button:
            data = str(button["callback_data"])
            if not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                raise bad_request("BUTTON_DATA_INVALID")
        elif "url" in button:
            if not re.match(r"(https?|tg)://\S+$", str(button["url"])):
                raise bad_request(f"inline keyboard button URL '{button['url']}' is invalid")
        elif not any(
            key in button
            for key in (
                "switch_inline_query",
                "switch_inline_query_current_chat",
                "login_url",
                "web_app",
                "copy_text",
                "pay",
                "callback_game",
            )
        ):
            raise bad_request(TEXT_BUTTON)

    def _reply_target(self, params: Params, chat: Chat) -> Message | None:
        """The message a new one replies to (reply_parameters or reply_to_message_id)."""
        reply = params.obj("reply_parameters") or {}
        message_id = reply.get("message_id") or params.integer("reply_to_message_id")
        if not message_id:
            return None
        target = chat.messages.get(int(message_id))
        allow_missing = reply.get("allow_sending_without_reply") or params.flag(
            "allow_sending_without_reply"
        )
        if target is None and not allow_missing:
            raise bad_request("message to be replied not found")
        return target

    def _post(self, chat: Chat, **fields: Any) -> Message:
        """Store a new bot message in a chat."""
        message = Message(
            message_id=chat.next_message_id(),
            chat=chat,
            sender=self.world.bot,
            date=self.world.now(),
            **fields,
        )
        chat.messages[message.message_id] = message
        self.world.notify()
        return message

    def _editable_message(self, params: Params) -> tuple[Chat, Message]:
        """The bot message an edit names; errors as Telegram words them."""
        if params.has("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._chat(params)
        message_id = params.integer("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        message = chat.messages.get(message_id)
        if message is None:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return chat, message

    # -- methods ---------------------------------------------------------------------------

    async def get_me(self, params: Params) -> JSON:
        """getMe."""
        return {
            **self.world.bot.to_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.world.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def get_updates(self, params: Params) -> list[JSON]:
        """getUpdates with offset confirmation and long polling."""
        world = self.world
        if world.webhook.url:
            raise ApiError(409, WEBHOOK_ACTIVE)
        # A newer request ends an older one still waiting, as Telegram does.
        self._poll_generation += 1
        generation = self._poll_generation
        world.notify()
        offset = params.integer("offset")
        limit = min(max(params.integer("limit", 100) or 100, 1), 100)
        timeout = max(params.integer("timeout", 0) or 0, 0)
        if params.has("allowed_updates"):
            world.allowed_updates = list(params.obj("allowed_updates") or []) or None
        if offset:
            world.confirm_below(offset)
        deadline = time.monotonic() + timeout
        while True:
            updates = world.deliverable(limit)
            remaining = deadline - time.monotonic()
            if updates or remaining <= 0 or world.closing or world.webhook.url:
                return updates
            await world.wait_changed(remaining)
            if generation != self._poll_generation:
                raise ApiError(409, POLL_TERMINATED)

    async def set_webhook(self, params: Params) -> bool:
        """setWebhook; an empty url removes the webhook."""
        world = self.world
        url = params.text("url", "") or ""
        if url and not re.match(r"https?://[^/\s]+", url):
            raise bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        secret = params.text("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        if params.flag("drop_pending_updates"):
            world.drop_pending()
        if params.has("allowed_updates"):
            world.allowed_updates = list(params.obj("allowed_updates") or []) or None
        hook = world.webhook
        if url != hook.url:
            hook.last_error_date = hook.last_error_message = None
        hook.url = url
        hook.secret_token = secret
        hook.max_connections = params.integer("max_connections", 40) or 40
        hook.ip_address = params.text("ip_address")
        world.notify()
        return True

    async def delete_webhook(self, params: Params) -> bool:
        """deleteWebhook."""
        if params.flag("drop_pending_updates"):
            self.world.drop_pending()
        self.world.webhook.url = ""
        self.world.webhook.secret_token = None
        self.world.notify()
        return True

    async def get_webhook_info(self, params: Params) -> JSON:
        """getWebhookInfo."""
        hook = self.world.webhook
        info: JSON = {
            "url": hook.url,
            "has_custom_certificate": False,
            "pending_update_count": self.world.updates_pending(),
        }
        if hook.url:
            info["max_connections"] = hook.max_connections
            if hook.ip_address:
                info["ip_address"] = hook.ip_address
            if self.world.allowed_updates:
                info["allowed_updates"] = self.world.allowed_updates
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
        return info

    async def send_message(self, params: Params) -> JSON:
        """sendMessage."""
        chat = self._writable_chat(params)
        raw, plain, entities, parse_mode = self._text_and_entities(
            params, "text", "entities", MAX_TEXT, "message"
        )
        if not plain.strip():
            raise bad_request("message text is empty")
        markup = self._inline_markup(params)
        reply = self._reply_target(params, chat)
        self._rate_limit(chat, "paid" if params.flag("allow_paid_broadcast") else "regular")
        message = self._post(
            chat,
            text=plain,
            html=raw,
            entities=entities,
            parse_mode=parse_mode,
            reply_markup=markup,
            reply_to=reply,
        )
        return message.to_json()

    async def send_document(self, params: Params) -> JSON:
        """sendDocument with a multipart upload or a file_id sent before."""
        chat = self._writable_chat(params)
        document = self._document(params)
        raw, plain, entities, parse_mode = self._text_and_entities(
            params, "caption", "caption_entities", MAX_CAPTION, "message caption"
        )
        markup = self._inline_markup(params)
        reply = self._reply_target(params, chat)
        self._rate_limit(chat, "paid" if params.flag("allow_paid_broadcast") else "regular")
        message = self._post(
            chat,
            text=plain,
            html=raw,
            entities=entities,
            parse_mode=parse_mode,
            reply_markup=markup,
            reply_to=reply,
            document=document,
        )
        return message.to_json()

    def _document(self, params: Params) -> Document:
        """The document of a sendDocument call: an uploaded part or a known file_id."""
        upload = params.files.get("document")
        value = params.text("document")
        if upload is None and value and value.startswith("attach://"):
            upload = params.files.get(value.removeprefix("attach://"))
        if upload is not None:
            if len(upload.data) > MAX_UPLOAD:
                raise ApiError(413, "Request Entity Too Large")
            if not upload.data:
                raise bad_request("file must be non-empty")
            self._file_numbers += 1
            mime = upload.content_type
            if mime in ("", "application/octet-stream"):
                mime = mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
            document = Document(
                filename=upload.filename,
                data=upload.data,
                mime_type=mime,
                file_id=f"BQACAgIAAxkDAAI{self._file_numbers:08d}",
                file_unique_id=f"AgAD{self._file_numbers:06d}",
            )
            self.world.documents[document.file_id] = document
            return document
        if not value:
            raise bad_request("there is no document in the request")
        if value in self.world.documents:
            return self.world.documents[value]
        raise bad_request("wrong file identifier/HTTP URL specified")

    async def send_chat_action(self, params: Params) -> bool:
        """sendChatAction (typing...): accepted and forgotten."""
        self._writable_chat(params)
        return True

    async def edit_message_text(self, params: Params) -> JSON:
        """editMessageText; leaving out reply_markup removes the keyboard, as in Telegram."""
        chat, message = self._editable_message(params)
        if message.document is not None:
            raise bad_request("there is no text in the message to edit")
        raw, plain, entities, parse_mode = self._text_and_entities(
            params, "text", "entities", MAX_TEXT, "message"
        )
        if not plain.strip():
            raise bad_request("message text is empty")
        markup = self._inline_markup(params)
        if (plain, entities, markup) == (message.text, message.entities, message.reply_markup):
            raise bad_request(NOT_MODIFIED)
        self._rate_limit(chat, None)
        self._record_edit(chat, message, "editMessageText", plain, markup)
        message.text, message.html, message.entities = plain, raw, entities
        message.parse_mode = parse_mode
        message.reply_markup = markup
        return message.to_json()

    async def edit_message_reply_markup(self, params: Params) -> JSON:
        """editMessageReplyMarkup."""
        chat, message = self._editable_message(params)
        markup = self._inline_markup(params)
        if markup == message.reply_markup:
            raise bad_request(NOT_MODIFIED)
        self._rate_limit(chat, None)
        self._record_edit(chat, message, "editMessageReplyMarkup", message.text, markup)
        message.reply_markup = markup
        return message.to_json()

    def _record_edit(
        self, chat: Chat, message: Message, method: str, text: str, markup: JSON | None
    ) -> None:
        """Keep the edit history and stamp the message as edited."""
        now = self.world.now()
        chat.edits.append(
            Edit(
                message_id=message.message_id,
                date=now,
                method=method,
                old_text=message.text,
                new_text=text,
                old_buttons=message.buttons,
                new_buttons=buttons_of(markup),
            )
        )
        message.edit_date = now
        self.world.notify()

    async def delete_message(self, params: Params) -> bool:
        """deleteMessage: the bot's own messages, or anyone's in private or as a group admin."""
        chat = self._chat(params)
        message_id = params.integer("message_id")
        message = None if message_id is None else chat.messages.get(message_id)
        if message is None:
            raise bad_request("message to delete not found")
        bot_is_admin = chat.status_of(self.world.bot.id) in ADMIN_STATUSES
        if not (message.from_bot or chat.is_private or bot_is_admin):
            raise bad_request("message can't be deleted")
        del chat.messages[message.message_id]
        self.world.notify()
        return True

    async def answer_callback_query(self, params: Params) -> bool:
        """answerCallbackQuery; a query can be answered once."""
        query_id = params.text("callback_query_id") or ""
        query = self.world.callback_queries.get(query_id)
        if query is None or query.answer is not None:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = params.text("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answer = CallbackAnswer(
            text=text,
            show_alert=params.flag("show_alert"),
            url=params.text("url"),
            cache_time=params.integer("cache_time", 0) or 0,
        )
        self.world.notify()
        return True

    def _command_key(self, params: Params) -> tuple[str, str]:
        """Storage key of a command list: scope and language_code."""
        scope = params.obj("scope")
        if scope is not None and not isinstance(scope, dict):
            raise bad_request("can't parse BotCommandScope JSON object")
        if scope and "chat_id" in scope:
            self._chat(Params({"chat_id": scope["chat_id"]}))
        language = params.text("language_code", "") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise bad_request("invalid language code specified")
        return scope_key(scope), language

    async def set_my_commands(self, params: Params) -> bool:
        """setMyCommands for a scope and language."""
        commands = params.obj("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        cleaned = []
        for item in commands:
            name = str(item.get("command", "")) if isinstance(item, dict) else ""
            description = str(item.get("description", "")) if isinstance(item, dict) else ""
            if not _COMMAND_NAME.fullmatch(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        key = self._command_key(params)
        if cleaned:
            self.world.commands[key] = cleaned
        else:
            self.world.commands.pop(key, None)
        self.world.notify()
        return True

    async def get_my_commands(self, params: Params) -> list[JSON]:
        """getMyCommands for exactly this scope and language."""
        return list(self.world.commands.get(self._command_key(params), []))

    async def delete_my_commands(self, params: Params) -> bool:
        """deleteMyCommands."""
        self.world.commands.pop(self._command_key(params), None)
        self.world.notify()
        return True

    async def get_chat(self, params: Params) -> JSON:
        """getChat, answered as ChatFullInfo."""
        chat = self._chat(params)
        return {
            **chat.to_json(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def get_chat_member(self, params: Params) -> JSON:
        """getChatMember: creator, administrator, member, left or kicked."""
        chat = self._chat(params)
        user_id = params.integer("user_id")
        world = self.world
        user = world.bot if user_id == world.bot.id else world.users.get(user_id or 0)
        if user is None:
            raise bad_request("user not found")
        if not chat.is_private:
            return chat_member_json(user, chat.status_of(user.id))
        if user is chat.user:
            return chat_member_json(user, MEMBER)
        if user is world.bot:
            # In a private chat the bot is "kicked" while the user blocks it.
            blocked = chat.user is not None and chat.user.blocked
            return chat_member_json(user, KICKED if blocked else MEMBER)
        raise bad_request("user not found")

    async def get_chat_administrators(self, params: Params) -> list[JSON]:
        """getChatAdministrators: the creator and administrators, the bot included."""
        chat = self._chat(params)
        if chat.is_private:
            raise bad_request("there are no administrators in the private chat")
        world = self.world
        admins = []
        for user_id, status in chat.members.items():
            if status in ADMIN_STATUSES:
                user = world.bot if user_id == world.bot.id else world.users[user_id]
                admins.append(chat_member_json(user, status))
        return admins

    async def set_chat_menu_button(self, params: Params) -> bool:
        """setChatMenuButton for one private chat (no chat_id: the default for all)."""
        chat_id = 0
        if params.has("chat_id"):
            chat = self._chat(params)
            if not chat.is_private:
                raise bad_request("method is available only for private chats")
            chat_id = chat.id
        button = params.obj("menu_button") or {"type": "default"}
        kinds = {"default", "commands", "web_app"}
        if not isinstance(button, dict) or button.get("type") not in kinds:
            raise bad_request("can't parse menu button JSON object")
        if button["type"] == "web_app":
            web_app = button.get("web_app")
            url = str(web_app.get("url", "")) if isinstance(web_app, dict) else ""
            if not button.get("text") or not url.startswith(("https://", "http://")):
                raise bad_request("BUTTON_URL_INVALID")
        self.world.menu_buttons[chat_id] = button
        self.world.notify()
        return True

    async def get_chat_menu_button(self, params: Params) -> JSON:
        """getChatMenuButton: the chat's own button, else the default."""
        chat_id = self._chat(params).id if params.has("chat_id") else 0
        buttons = self.world.menu_buttons
        return buttons.get(chat_id) or buttons.get(0) or {"type": "commands"}

    async def close(self, params: Params) -> bool:
        """close: nothing to close in the sandbox."""
        return True

    async def log_out(self, params: Params) -> bool:
        """logOut: nothing to log out of in the sandbox."""
        return True
