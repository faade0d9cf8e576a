"""Records of the sandbox world (users, chats, messages) and their Bot API JSON form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
Buttons = list[list[tuple[str, str]]]

# Membership statuses as getChatMember reports them.
CREATOR = "creator"
ADMINISTRATOR = "administrator"
MEMBER = "member"
LEFT = "left"
KICKED = "kicked"
ADMIN_STATUSES = (CREATOR, ADMINISTRATOR)


@dataclass(eq=False)
class User:
    """A Telegram user (or the bot itself)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    started: bool = False  # the user has written to the bot in private
    blocked: bool = False  # the user has blocked the bot
    seen: bool = False  # the bot has received an update naming this user

    @property
    def full_name(self) -> str:
        """First and last name, as clients show it."""
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name

    def to_json(self) -> JSON:
        """The User object of the Bot API."""
        data: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code and not self.is_bot:
            data["language_code"] = self.language_code
        return data


@dataclass(frozen=True)
class Document:
    """A file sent with sendDocument."""

    filename: str
    data: bytes
    mime_type: str
    file_id: str
    file_unique_id: str

    def to_json(self) -> JSON:
        """The Document object of the Bot API."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.filename,
            "mime_type": self.mime_type,
            "file_size": len(self.data),
        }


@dataclass(eq=False)
class Chat:
    """A private chat with the bot, a group or a supergroup."""

    id: int
    type: str  # "private", "group" or "supergroup"
    title: str | None = None
    user: User | None = None  # the person in a private chat
    username: str | None = None
    members: dict[int, str] = field(default_factory=dict)  # user id -> status
    messages: dict[int, Message] = field(default_factory=dict)  # current, not deleted
    edits: list[Edit] = field(default_factory=list)
    last_message_id: int = 0

    @property
    def is_private(self) -> bool:
        """Whether this is the private chat of a user with the bot."""
        return self.type == "private"

    def next_message_id(self) -> int:
        """Allocate the next message id; ids only grow within a chat."""
        self.last_message_id += 1
        return self.last_message_id

    def status_of(self, user_id: int) -> str:
        """Membership status of a user in this group."""
        return self.members.get(user_id, LEFT)

    def __repr__(self) -> str:
        name = self.title or (self.user.full_name if self.user else "")
        return f"Chat(id={self.id}, type={self.type!r}, name={name!r})"

    def to_json(self) -> JSON:
        """The Chat object of the Bot API."""
        data: JSON = {"id": self.id, "type": self.type}
        if self.user is not None:
            data.update(
                {k: v for k, v in self.user.to_json().items() if k in _PRIVATE_CHAT_FIELDS}
            )
        if self.title is not None:
            data["title"] = self.title
        if self.username is not None:
            data["username"] = self.username
        return data


_PRIVATE_CHAT_FIELDS = ("first_name", "last_name", "username")


@dataclass(eq=False)
class Message:
    """A message in a chat, in its current state."""

    message_id: int
    chat: Chat
    sender: User
    date: int
    text: str  # plain text (or caption), tags stripped
    html: str  # the text exactly as sent, markup included
    entities: list[JSON] = field(default_factory=list)
    parse_mode: str | None = None
    reply_markup: JSON | None = None  # only inline keyboards are part of a message
    reply_to: Message | None = None
    document: Document | None = None
    edit_date: int | None = None
    delivered: bool = True  # False for group chatter the bot cannot see (privacy mode)

    @property
    def from_bot(self) -> bool:
        """Whether the bot sent this message."""
        return self.sender.is_bot

    @property
    def buttons(self) -> Buttons:
        """Inline keyboard as rows of (text, callback_data or url)."""
        return buttons_of(self.reply_markup)

    def to_json(self, *, with_reply: bool = True) -> JSON:
        """The Message object of the Bot API."""
        data: JSON = {
            "message_id": self.message_id,
            "date": self.date,
            "chat": self.chat.to_json(),
            "from": self.sender.to_json(),
        }
        text_key, entities_key = (
            ("caption", "caption_entities")
            if self.document
            else (
                "text",
                "entities",
            )
        )
        if self.document is not None:
            data["document"] = self.document.to_json()
        if self.text or not self.document:
            data[text_key] = self.text
        if self.entities:
            data[entities_key] = self.entities
        if self.reply_markup is not None:
            data["reply_markup"] = self.reply_markup
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if with_reply and self.reply_to is not None:
            # Telegram nests only one level of replies.
            data["reply_to_message"] = self.reply_to.to_json(with_reply=False)
        return data

    def __repr__(self) -> str:
        return (
            f"Message(chat={self.chat.id}, id={self.message_id}, from={self.sender.first_name!r}, "
            f"text={self.text[:60]!r}, buttons={self.buttons})"
        )


@dataclass(frozen=True)
class Edit:
    """One edit of a bot message, for tests that check what changed."""

    message_id: int
    date: int
    method: str
    old_text: str
    new_text: str
    old_buttons: Buttons
    new_buttons: Buttons


@dataclass(frozen=True)
class CallbackAnswer:
    """What the bot answered to a callback query."""

    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int


@dataclass(eq=False)
class CallbackQuery:
    """A button press sent to the bot."""

    id: str
    user: User
    message: Message
    data: str
    answer: CallbackAnswer | None = None


@dataclass(frozen=True)
class ApiCall:
    """One request the bot made; status 0 means the connection was dropped."""

    method: str
    params: JSON
    status: int
    fault: str | None = None


def buttons_of(markup: JSON | None) -> Buttons:
    """Rows of (text, callback_data or url) of an inline keyboard."""
    if not markup:
        return []
    rows: Buttons = []
    for row in markup.get("inline_keyboard", []):
        rows.append([(button.get("text", ""), button_value(button)) for button in row])
    return rows


def button_value(button: JSON) -> str:
    """The payload of an inline button: its callback_data, url or other action value."""
    for key in ("callback_data", "url", "switch_inline_query", "switch_inline_query_current_chat"):
        if key in button:
            return str(button[key])
    return ""


def chat_member_json(user: User, status: str) -> JSON:
    """The ChatMember object of the Bot API for a status."""
    data: JSON = {"status": status, "user": user.to_json()}
    if status == CREATOR:
        data["is_anonymous"] = False
    elif status == ADMINISTRATOR:
        data.update(
            can_be_edited=False,
            is_anonymous=False,
            can_manage_chat=True,
            can_delete_messages=True,
            can_manage_video_chats=True,
            can_restrict_members=True,
            can_promote_members=False,
            can_change_info=True,
            can_invite_users=True,
            can_post_stories=False,
            can_edit_stories=False,
            can_delete_stories=False,
            can_pin_messages=True,
            can_manage_topics=False,
        )
    elif status == KICKED:
        data["until_date"] = 0
    return data


@dataclass
class Webhook:
    """The webhook set with setWebhook; an empty url means getUpdates is used."""

    url: str = ""
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None
    delivered: int = 0  # updates the webhook accepted
