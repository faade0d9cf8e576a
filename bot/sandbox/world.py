"""The sandbox's world: users, chats and pending updates, plus the actions tests perform."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from bot.sandbox.models import (
    ADMIN_STATUSES,
    ADMINISTRATOR,
    CREATOR,
    JSON,
    KICKED,
    LEFT,
    MEMBER,
    CallbackAnswer,
    CallbackQuery,
    Chat,
    Document,
    Edit,
    Message,
    User,
    Webhook,
    chat_member_json,
)
from bot.sandbox.text import detect_entities

# Update types Telegram sends when allowed_updates is empty or never set.
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_BASIC_GROUP_BASE = 4_000_000_000
_SUPERGROUP_BASE = 1_002_000_000_000


class World:
    """State of the fake Telegram and the test-side actions that change it."""

    def __init__(
        self,
        bot_token: str = "123456:TEST",
        bot_username: str = "sandbox_bot",
        *,
        bot_name: str = "Sandbox Bot",
        privacy_mode: bool = True,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        prefix = bot_token.split(":", 1)[0]
        self.bot_token = bot_token
        self.bot = User(
            id=int(prefix) if prefix.isdigit() else 1,
            first_name=bot_name,
            username=bot_username,
            is_bot=True,
        )
        self.privacy_mode = privacy_mode
        # Unix seconds for message dates; tests with a fake clock can pass their own.
        self.wall_clock = wall_clock
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.callback_queries: dict[str, CallbackQuery] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        # setChatMenuButton: per private chat id (0: the default for every chat).
        self.menu_buttons: dict[int, JSON] = {}
        self.documents: dict[str, Document] = {}
        self.webhook = Webhook()
        self.allowed_updates: list[str] | None = None
        self.update_log: list[JSON] = []  # every update ever queued, for debugging
        self.closing = False
        self._pending: list[JSON] = []
        self._update_ids = itertools.count(1)
        self._user_ids = itertools.count(10_000_001)
        self._group_numbers = itertools.count(1)
        self._query_ids = itertools.count(1_000_000_000_001)
        self._changed = asyncio.Event()

    # -- time and change notification ------------------------------------------------------

    def now(self) -> int:
        """Current time as Telegram sends it: integer Unix seconds."""
        return int(self.wall_clock())

    def notify(self) -> None:
        """Wake everyone waiting for a change (long polls, webhook delivery)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_changed(self, timeout: float) -> None:
        """Wait until notify() is called or timeout seconds pass."""
        event = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    # -- Mini Apps -------------------------------------------------------------------------

    def web_app_init_data(
        self,
        user: User,
        *,
        auth_date: int | None = None,
        start_param: str | None = None,
        bot_token: str | None = None,
    ) -> str:
        """The init data Telegram gives a Mini App opened by `user`, signed with the bot's token
        (or `bot_token`, to forge it) as Telegram documents it."""
        fields = {
            "query_id": f"AAH{user.id}",
            "user": json.dumps(user.to_json(), separators=(",", ":"), ensure_ascii=False),
            "auth_date": str(self.now() if auth_date is None else auth_date),
            "signature": "sandbox",
        }
        if start_param is not None:
            fields["chat_type"] = "group"
            fields["start_param"] = start_param
        check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
        secret = hmac.new(b"WebAppData", (bot_token or self.bot_token).encode(), hashlib.sha256)
        fields["hash"] = hmac.new(secret.digest(), check.encode(), hashlib.sha256).hexdigest()
        return urlencode(fields, quote_via=quote)

    def web_app_url(self, url: str, init_data: str, theme: dict[str, str] | None = None) -> str:
        """`url` opened as Telegram opens a Mini App: init data, version, platform and theme
        in the fragment."""
        fragment = {
            "tgWebAppData": init_data,
            "tgWebAppVersion": "8.0",
            "tgWebAppPlatform": "web",
            "tgWebAppThemeParams": json.dumps(theme or {}, separators=(",", ":")),
        }
        return url.split("#")[0] + "#" + urlencode(fragment, quote_via=quote)

    def menu_button(self, user: User) -> JSON:
        """The menu button the user's private chat with the bot shows."""
        own = self.menu_buttons.get(user.id)
        return own or self.menu_buttons.get(0) or {"type": "commands"}

    # -- people and chats ------------------------------------------------------------------

    def create_user(
        self,
        first_name: str,
        username: str | None = None,
        language_code: str | None = "en",
        last_name: str | None = None,
    ) -> User:
        """Add a person with an automatic id; their private chat has the same id."""
        if username and self.user_by_username(username) is not None:
            raise ValueError(f"username @{username} is taken")
        user = User(
            id=next(self._user_ids),
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        self.users[user.id] = user
        self.chats[user.id] = Chat(id=user.id, type="private", user=user)
        self.notify()
        return user

    def user_by_username(self, username: str) -> User | None:
        """The user with this @username (case-insensitive), if any."""
        wanted = username.lstrip("@").lower()
        for user in self.users.values():
            if user.username and user.username.lower() == wanted:
                return user
        return None

    def create_group(
        self,
        title: str,
        members: Iterable[User] = (),
        admins: Iterable[User] = (),
        *,
        creator: User | None = None,
        supergroup: bool = True,
        bot_admin: bool = False,
        username: str | None = None,
    ) -> Chat:
        """Add a group with the bot in it; admins and the creator are members too."""
        number = next(self._group_numbers)
        chat_id = -(_SUPERGROUP_BASE + number) if supergroup else -(_BASIC_GROUP_BASE + number)
        chat = Chat(
            id=chat_id,
            type="supergroup" if supergroup else "group",
            title=title,
            username=username,
        )
        chat.members[self.bot.id] = ADMINISTRATOR if bot_admin else MEMBER
        for user in members:
            chat.members[user.id] = MEMBER
        for user in admins:
            chat.members[user.id] = ADMINISTRATOR
        if creator is not None:
            chat.members[creator.id] = CREATOR
        self.chats[chat.id] = chat
        self.notify()
        return chat

    def add_member(self, group: Chat, user: User, admin: bool = False) -> None:
        """Put a user into a group (or promote/demote one already there)."""
        self._group(group).members[user.id] = ADMINISTRATOR if admin else MEMBER
        self.notify()

    def remove_member(self, group: Chat, user: User) -> None:
        """The user leaves the group."""
        self._group(group).members[user.id] = LEFT
        self.notify()

    def private_chat(self, user: User) -> Chat:
        """The private chat of a user with the bot."""
        return self.chats[user.id]

    def has_started(self, user: User) -> bool:
        """Whether the user ever wrote to the bot in private."""
        return self.users[user.id].started

    def block_bot(self, user: User) -> None:
        """The user blocks the bot; the bot gets a my_chat_member update."""
        if not user.blocked:
            user.blocked = True
            self._queue_private_status(user, MEMBER, KICKED)

    def unblock_bot(self, user: User) -> None:
        """The user unblocks the bot; the bot gets a my_chat_member update."""
        if user.blocked:
            user.blocked = False
            self._queue_private_status(user, KICKED, MEMBER)

    def _queue_private_status(self, user: User, old: str, new: str) -> None:
        """Queue the my_chat_member update of a block or unblock."""
        user.seen = True
        self.queue_update(
            "my_chat_member",
            {
                "chat": self.private_chat(user).to_json(),
                "from": user.to_json(),
                "date": self.now(),
                "old_chat_member": chat_member_json(self.bot, old),
                "new_chat_member": chat_member_json(self.bot, new),
            },
        )

    def _group(self, chat: Chat) -> Chat:
        """The stored group for a chat record; private chats are refused."""
        stored = self.chats[chat.id]
        if stored.is_private:
            raise ValueError(f"chat {chat.id} is a private chat, not a group")
        return stored

    # -- what users do ---------------------------------------------------------------------

    def send_text(
        self,
        user: User,
        text: str,
        chat: Chat | None = None,
        *,
        reply_to: Message | None = None,
        text_mentions: Sequence[tuple[User, str]] = (),
    ) -> Message:
        """The user sends a text (in private to the bot when chat is None), entities automatic."""
        target = self.private_chat(user) if chat is None else self.chats[chat.id]
        if target.is_private:
            if target.user is not user:
                raise ValueError(f"{user.first_name} cannot write in {target.id}'s private chat")
            # Writing to a bot you blocked unblocks it first, as the Restart button does.
            self.unblock_bot(user)
            user.started = True
        elif target.status_of(user.id) not in (*ADMIN_STATUSES, MEMBER):
            raise ValueError(f"{user.first_name} is not a member of {target.title!r}")
        reply = None if reply_to is None else target.messages.get(reply_to.message_id)
        if reply_to is not None and reply is None:
            raise ValueError(f"message {reply_to.message_id} is not in chat {target.id}")
        mentions = [(mentioned.to_json(), substring) for mentioned, substring in text_mentions]
        message = Message(
            message_id=target.next_message_id(),
            chat=target,
            sender=user,
            date=self.now(),
            text=text,
            html=text,
            entities=detect_entities(text, mentions),
            reply_to=reply,
        )
        message.delivered = self._bot_sees(message)
        target.messages[message.message_id] = message
        if message.delivered:
            user.seen = True
            for mentioned, _ in text_mentions:
                mentioned.seen = True
            self.queue_update("message", message.to_json())
        else:
            self.notify()
        return message

    def _bot_sees(self, message: Message) -> bool:
        """Privacy mode: in groups the bot only sees commands, replies to it and mentions."""
        chat = message.chat
        if (
            chat.is_private
            or not self.privacy_mode
            or chat.status_of(self.bot.id) in ADMIN_STATUSES
        ):
            return True
        if message.reply_to is not None and message.reply_to.from_bot:
            return True
        bot_name = f"@{self.bot.username}".lower()
        for entity in message.entities:
            start, end = _python_span(message.text, entity)
            piece = message.text[start:end].lower()
            if entity["type"] == "bot_command" and entity["offset"] == 0:
                return "@" not in piece or piece.endswith(bot_name)
            if entity["type"] == "mention" and piece == bot_name:
                return True
            if entity["type"] == "text_mention" and entity["user"]["id"] == self.bot.id:
                return True
        return False

    def press_button(
        self, user: User, message: Message, text: str | None = None, data: str | None = None
    ) -> str:
        """The user presses the inline button with this text (or callback_data); returns its id."""
        current = self.current(message)
        for row in (current.reply_markup or {}).get("inline_keyboard", []):
            for button in row:
                if (text is not None and button.get("text") == text) or (
                    text is None and data is not None and button.get("callback_data") == data
                ):
                    if "callback_data" not in button:
                        raise ValueError(f"button {button.get('text')!r} has no callback_data")
                    return self._queue_callback(user, current, button["callback_data"])
        raise ValueError(f"no button {text or data!r} on {current!r}")

    def press_forged(self, user: User, message: Message, data: str) -> str:
        """A modified client sends any callback data for a bot message; returns the query id."""
        return self._queue_callback(user, self.current(message), data)

    def _queue_callback(self, user: User, message: Message, data: str) -> str:
        """Queue the callback_query update of a button press."""
        query = CallbackQuery(id=str(next(self._query_ids)), user=user, message=message, data=data)
        self.callback_queries[query.id] = query
        user.seen = True
        self.queue_update(
            "callback_query",
            {
                "id": query.id,
                "from": user.to_json(),
                "message": message.to_json(),
                # Stable per chat, as Telegram's is.
                "chat_instance": str(abs(message.chat.id) * 7919 % 2**62),
                "data": data,
            },
        )
        return query.id

    def callback_answer(self, query_id: str) -> CallbackAnswer | None:
        """What answerCallbackQuery recorded for a press, or None if not answered (yet)."""
        return self.callback_queries[query_id].answer

    def button_url(self, message: Message, text: str) -> str:
        """The url of the url button with this text on a bot message."""
        for row in (self.current(message).reply_markup or {}).get("inline_keyboard", []):
            for button in row:
                if button.get("text") == text and "url" in button:
                    return str(button["url"])
        raise ValueError(f"no url button {text!r} on {self.current(message)!r}")

    # -- reading ---------------------------------------------------------------------------

    def current(self, message: Message) -> Message:
        """The current state of a message; ValueError when it was deleted."""
        found = self.chats[message.chat.id].messages.get(message.message_id)
        if found is None:
            raise ValueError(f"message {message.message_id} in chat {message.chat.id} is deleted")
        return found

    def inbox(self, user: User) -> list[Message]:
        """The bot's messages in the user's private chat, current state, oldest first."""
        return self.chat_messages(self.private_chat(user))

    def chat_messages(self, chat: Chat) -> list[Message]:
        """The bot's messages in a chat, current state (deleted ones gone), oldest first."""
        return [message for message in self.history(chat) if message.from_bot]

    def history(self, chat: Chat) -> list[Message]:
        """Every message still in a chat, from the bot and from people, oldest first."""
        messages = self.chats[chat.id].messages
        return [messages[key] for key in sorted(messages)]

    def edits(self, chat: Chat) -> list[Edit]:
        """Every edit the bot made in a chat, in order."""
        return list(self.chats[chat.id].edits)

    def messages_of(self, target: User | Chat) -> list[Message]:
        """Bot messages in a user's private chat or in a chat."""
        return self.inbox(target) if isinstance(target, User) else self.chat_messages(target)

    def commands_for(
        self, scope: JSON | None = None, language_code: str = ""
    ) -> list[tuple[str, str]]:
        """Commands stored with setMyCommands for exactly this scope and language."""
        stored = self.commands.get((scope_key(scope), language_code), [])
        return [(item["command"], item["description"]) for item in stored]

    def visible_commands(self, user: User, chat: Chat | None = None) -> list[tuple[str, str]]:
        """The command list a user sees in a chat, resolved the way Telegram documents it."""
        target = self.private_chat(user) if chat is None else self.chats[chat.id]
        scopes: list[JSON] = []
        if target.is_private:
            scopes += [{"type": "chat", "chat_id": target.id}, {"type": "all_private_chats"}]
        else:
            admin = target.status_of(user.id) in ADMIN_STATUSES
            member = {"type": "chat_member", "chat_id": target.id, "user_id": user.id}
            scopes.append(member)
            if admin:
                scopes.append({"type": "chat_administrators", "chat_id": target.id})
            scopes.append({"type": "chat", "chat_id": target.id})
            if admin:
                scopes.append({"type": "all_chat_administrators"})
            scopes.append({"type": "all_group_chats"})
        scopes.append({"type": "default"})
        for scope in scopes:
            for language in (user.language_code or "", ""):
                key = (scope_key(scope), language)
                if key in self.commands:
                    return self.commands_for(scope, language)
        return []

    # -- the update queue ------------------------------------------------------------------

    def queue_update(self, kind: str, payload: JSON) -> int:
        """Append an update for the bot and wake whoever waits for it."""
        update: JSON = {"update_id": next(self._update_ids), kind: payload}
        self._pending.append(update)
        self.update_log.append(update)
        self.notify()
        return int(update["update_id"])

    def updates_pending(self) -> int:
        """Updates the bot has not confirmed yet."""
        return len(self._pending)

    def confirm_below(self, offset: int) -> None:
        """getUpdates offset semantics: forget updates below offset (or keep the last -offset)."""
        if offset < 0:
            self._pending = self._pending[offset:]
        else:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]

    def confirm(self, update_id: int) -> None:
        """Forget one update (a webhook accepted it)."""
        self._pending = [u for u in self._pending if u["update_id"] != update_id]
        self.notify()

    def drop_pending(self) -> None:
        """Forget every pending update (drop_pending_updates)."""
        self._pending.clear()
        self.notify()

    def deliverable(self, limit: int) -> list[JSON]:
        """The next updates for the bot; types outside allowed_updates are dropped on the way."""
        allowed = set(self.allowed_updates or ())
        kept = []
        for update in self._pending:
            kind = next(key for key in update if key != "update_id")
            if (kind in allowed) if allowed else (kind not in DEFAULT_EXCLUDED_UPDATES):
                kept.append(update)
        self._pending = kept
        return kept[:limit]


def scope_key(scope: JSON | None) -> str:
    """A canonical string for a BotCommandScope (None = default)."""
    scope = dict(scope or {"type": "default"})
    for key in ("chat_id", "user_id"):
        if key in scope and isinstance(scope[key], str) and scope[key].lstrip("-").isdigit():
            scope[key] = int(scope[key])
    return json.dumps(scope, sort_keys=True)


def _python_span(text: str, entity: dict[str, Any]) -> tuple[int, int]:
    """Python slice bounds of an entity given in UTF-16 units."""
    encoded = text.encode("utf-16-le")
    start = len(encoded[: entity["offset"] * 2].decode("utf-16-le"))
    end = start + len(
        encoded[entity["offset"] * 2 : (entity["offset"] + entity["length"]) * 2].decode(
            "utf-16-le"
        )
    )
    return start, end
