"""A small web page for playing with the sandbox by hand, and the JSON endpoints behind it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.sandbox.models import JSON, Chat, Message, User, button_value

if TYPE_CHECKING:
    from bot.sandbox.server import Sandbox


def add_web_routes(app: web.Application, sandbox: Sandbox) -> None:
    """Serve the page at / and its endpoints under /_sandbox/."""
    routes = _Routes(sandbox)
    app.router.add_get("/", routes.page)
    app.router.add_get("/_sandbox/state", routes.state)
    app.router.add_post("/_sandbox/users", routes.create_user)
    app.router.add_post("/_sandbox/groups", routes.create_group)
    app.router.add_post("/_sandbox/send", routes.send)
    app.router.add_post("/_sandbox/press", routes.press)
    app.router.add_post("/_sandbox/block", routes.block)
    app.router.add_get("/_sandbox/document/{chat_id}/{message_id}", routes.document)


class _Routes:
    """Request handlers bound to one sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    async def page(self, request: web.Request) -> web.Response:
        """The HTML page."""
        return web.Response(text=PAGE, content_type="text/html")

    async def state(self, request: web.Request) -> web.Response:
        """Users, chats with their messages, and the bot's answers to button presses."""
        sandbox = self.sandbox
        answers = [
            {
                "user_id": query.user.id,
                "chat_id": query.message.chat.id,
                "text": query.answer.text,
                "show_alert": query.answer.show_alert,
                "url": query.answer.url,
            }
            for query in list(sandbox.callback_queries.values())[-20:]
            if query.answer is not None
        ]
        return web.json_response(
            {
                "bot": sandbox.bot.to_json(),
                "users": [_user_json(user) for user in sandbox.users.values()],
                "chats": [_chat_json(chat) for chat in sandbox.chats.values()],
                "callback_answers": answers,
                "pending_updates": sandbox.updates_pending(),
                "webhook": sandbox.webhook.url,
                "calls": len(sandbox.calls),
            }
        )

    async def create_user(self, request: web.Request) -> web.Response:
        """POST {first_name, username?, last_name?, language_code?}."""
        body = await _body(request)
        first_name = str(body.get("first_name") or "").strip()
        if not first_name:
            raise _bad("first_name is required")
        try:
            user = self.sandbox.create_user(
                first_name,
                username=body.get("username") or None,
                language_code=body.get("language_code") or "en",
                last_name=body.get("last_name") or None,
            )
        except ValueError as error:
            raise _bad(str(error)) from None
        return web.json_response(_user_json(user))

    async def create_group(self, request: web.Request) -> web.Response:
        """POST {title, member_ids, admin_ids, supergroup?}."""
        body = await _body(request)
        members = [self._user(user_id) for user_id in body.get("member_ids", [])]
        admins = [self._user(user_id) for user_id in body.get("admin_ids", [])]
        chat = self.sandbox.create_group(
            str(body.get("title") or "Group"),
            members=members,
            admins=admins,
            supergroup=bool(body.get("supergroup", True)),
        )
        return web.json_response(_chat_json(chat))

    async def send(self, request: web.Request) -> web.Response:
        """POST {user_id, chat_id?, text}: the user sends a text."""
        body = await _body(request)
        user = self._user(body.get("user_id"))
        chat = self._chat(body.get("chat_id")) if body.get("chat_id") else None
        try:
            message = self.sandbox.send_text(user, str(body.get("text") or ""), chat)
        except ValueError as error:
            raise _bad(str(error)) from None
        return web.json_response(_message_json(message))

    async def press(self, request: web.Request) -> web.Response:
        """POST {user_id, chat_id, message_id, data}: the user presses a button."""
        body = await _body(request)
        user = self._user(body.get("user_id"))
        chat = self._chat(body.get("chat_id"))
        message = chat.messages.get(int(body.get("message_id") or 0))
        if message is None:
            raise _bad("no such message")
        try:
            query_id = self.sandbox.press_button(user, message, data=str(body.get("data")))
        except ValueError as error:
            raise _bad(str(error)) from None
        return web.json_response({"callback_query_id": query_id})

    async def block(self, request: web.Request) -> web.Response:
        """POST {user_id, blocked}: the user blocks or unblocks the bot."""
        body = await _body(request)
        user = self._user(body.get("user_id"))
        if body.get("blocked", True):
            self.sandbox.block_bot(user)
        else:
            self.sandbox.unblock_bot(user)
        return web.json_response(_user_json(user))

    async def document(self, request: web.Request) -> web.Response:
        """The bytes of a document the bot sent, as a download."""
        chat = self._chat(request.match_info["chat_id"])
        message = chat.messages.get(_int(request.match_info["message_id"]))
        if message is None or message.document is None:
            raise web.HTTPNotFound()
        document = message.document
        filename = document.filename.replace('"', "")
        return web.Response(
            body=document.data,
            content_type=document.mime_type,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    def _user(self, user_id: Any) -> User:
        """A user by id from a request body."""
        user = self.sandbox.users.get(_int(user_id))
        if user is None:
            raise _bad(f"no user {user_id}")
        return user

    def _chat(self, chat_id: Any) -> Chat:
        """A chat by id from a request body."""
        chat = self.sandbox.chats.get(_int(chat_id))
        if chat is None:
            raise _bad(f"no chat {chat_id}")
        return chat


async def _body(request: web.Request) -> JSON:
    """The JSON object of a request."""
    try:
        body = await request.json()
    except ValueError:
        raise _bad("body must be JSON") from None
    if not isinstance(body, dict):
        raise _bad("body must be a JSON object")
    return body


def _int(value: Any) -> int:
    """An id from a request body; nonsense becomes 0, which matches nothing."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _bad(reason: str) -> web.HTTPBadRequest:
    """A 400 with a JSON reason."""
    return web.HTTPBadRequest(text=json.dumps({"error": reason}), content_type="application/json")


def _user_json(user: User) -> JSON:
    """A user for the page."""
    return {**user.to_json(), "started": user.started, "blocked": user.blocked}


def _chat_json(chat: Chat) -> JSON:
    """A chat and its messages for the page."""
    return {
        **chat.to_json(),
        "members": {str(user_id): status for user_id, status in chat.members.items()},
        "messages": [
            _message_json(message)
            for message in sorted(chat.messages.values(), key=lambda message: message.message_id)
        ],
    }


def _message_json(message: Message) -> JSON:
    """A message for the page: plain text, sender, buttons and any document."""
    data: JSON = {
        "message_id": message.message_id,
        "chat_id": message.chat.id,
        "from": message.sender.to_json(),
        "text": message.text,
        "html": message.html,
        "edited": message.edit_date is not None,
        "delivered": message.delivered,
        "buttons": [
            [
                {
                    "text": button.get("text", ""),
                    "value": button_value(button),
                    "kind": _kind(button),
                }
                for button in row
            ]
            for row in (message.reply_markup or {}).get("inline_keyboard", [])
        ],
    }
    if message.document is not None:
        data["document"] = {
            "filename": message.document.filename,
            "size": len(message.document.data),
            "url": f"/_sandbox/document/{message.chat.id}/{message.message_id}",
        }
    return data


def _kind(button: JSON) -> str:
    """Whether an inline button is a callback or a url button."""
    return "callback" if "callback_data" in button else "url" if "url" in button else "other"


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Telegram sandbox</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; display: flex; height: 100vh; }
  #side { width: 260px; flex: none; border-right: 1px solid #ccc; padding: 8px; overflow: auto; }
  #main { flex: 1; min-width: 0; display: flex; flex-direction: column; }
  #messages { flex: 1; overflow: auto; padding: 8px; background: #eef3f7; }
  .chat { cursor: pointer; padding: 4px; border-radius: 4px; }
  .chat.active { background: #d0e4f5; }
  .msg { background: white; border-radius: 8px; padding: 6px 10px; margin: 6px 0;
         max-width: 70%; white-space: pre-wrap; overflow-wrap: anywhere; }
  .msg.user { margin-left: auto; background: #dcf8c6; }
  .msg.hidden { opacity: .5; }
  .meta { font-size: 11px; color: #777; }
  .row { display: flex; gap: 4px; margin-top: 4px; }
  .row button { flex: 1; }
  #composer { display: flex; gap: 4px; padding: 8px; border-top: 1px solid #ccc; }
  #text { flex: 1; }
  #toast { position: fixed; right: 12px; bottom: 60px; background: #333; color: white;
           padding: 8px 12px; border-radius: 6px; display: none; }
  h3 { margin: 8px 0 4px; font-size: 14px; }
</style>
</head>
<body>
<div id="side">
  <h3>Bot</h3><div id="bot"></div>
  <h3>Users</h3><div id="users"></div>
  <form id="newuser"><input id="newname" placeholder="first name" size="10">
    <input id="newusername" placeholder="username" size="8"><button>Add</button></form>
  <h3>Chats</h3><div id="chats"></div>
</div>
<div id="main">
  <div id="messages"></div>
  <form id="composer">
    <select id="sender"></select>
    <input id="text" placeholder="Message (e.g. /start)" autocomplete="off">
    <button>Send</button>
  </form>
</div>
<div id="toast"></div>
<script>
let state = null, chatId = null, seenAnswers = null;

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function chatName(chat) {
  return chat.title || [chat.first_name, chat.last_name].filter(Boolean).join(" ");
}

async function post(path, body) {
  const response = await fetch(path, {method: "POST", body: JSON.stringify(body),
                                      headers: {"Content-Type": "application/json"}});
  if (!response.ok) toast((await response.json()).error || response.statusText);
  await refresh();
}

function toast(text) {
  const node = document.getElementById("toast");
  node.textContent = text;
  node.style.display = "block";
  setTimeout(() => { node.style.display = "none"; }, 3000);
}

function render() {
  document.getElementById("bot").textContent =
    "@" + state.bot.username + " - pending updates: " + state.pending_updates;
  const users = document.getElementById("users");
  users.replaceChildren(...state.users.map(u => {
    const line = el("div", u.first_name + (u.username ? " @" + u.username : "") +
                           (u.blocked ? " (blocked)" : u.started ? "" : " (not started)"));
    const toggle = el("button", u.blocked ? "unblock" : "block");
    toggle.onclick = () => post("/_sandbox/block", {user_id: u.id, blocked: !u.blocked});
    line.append(" ", toggle);
    return line;
  }));
  const chats = document.getElementById("chats");
  chats.replaceChildren(...state.chats.map(c => {
    const cls = "chat" + (c.id === chatId ? " active" : "");
    const line = el("div", chatName(c) + " (" + c.type + ")", cls);
    line.onclick = () => { chatId = c.id; render(); };
    return line;
  }));
  const chat = state.chats.find(c => c.id === chatId);
  const sender = document.getElementById("sender");
  const inside = ["creator", "administrator", "member"];
  const candidates = !chat ? []
    : chat.type === "private" ? state.users.filter(u => u.id === chat.id)
    : state.users.filter(u => inside.includes(chat.members[u.id]));
  const selected = sender.value;
  sender.replaceChildren(...candidates.map(u => {
    const option = el("option", u.first_name);
    option.value = u.id;
    return option;
  }));
  if (candidates.some(u => String(u.id) === selected)) sender.value = selected;
  const box = document.getElementById("messages");
  const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
  box.replaceChildren(...(chat ? chat.messages : []).map(m => renderMessage(chat, m)));
  if (atBottom) box.scrollTop = box.scrollHeight;
  const answers = state.callback_answers.filter(a => a.text);
  // Only answers that arrive while the page is open pop up.
  if (seenAnswers !== null && answers.length > seenAnswers) toast(answers.at(-1).text);
  seenAnswers = answers.length;
}

function renderMessage(chat, m) {
  const cls = "msg" + (m.from.is_bot ? "" : " user") + (m.delivered ? "" : " hidden");
  const node = el("div", undefined, cls);
  const meta = m.from.first_name + " #" + m.message_id + (m.edited ? " (edited)" : "");
  node.append(el("div", meta, "meta"));
  if (m.document) {
    const link = el("a", "📎 " + m.document.filename + " (" + m.document.size + " bytes)");
    link.href = m.document.url;
    node.append(link, el("br"));
  }
  node.append(el("span", m.text));
  for (const row of m.buttons) {
    const line = el("div", undefined, "row");
    for (const b of row) {
      const button = el("button", b.text + (b.kind === "url" ? " ↗" : ""));
      button.onclick = () => b.kind === "url" ? window.open(b.value)
        : post("/_sandbox/press", {user_id: Number(document.getElementById("sender").value),
                                   chat_id: chat.id, message_id: m.message_id, data: b.value});
      line.append(button);
    }
    node.append(line);
  }
  return node;
}

async function refresh() {
  state = await (await fetch("/_sandbox/state")).json();
  if (chatId === null && state.chats.length) chatId = state.chats[0].id;
  render();
}

document.getElementById("composer").onsubmit = event => {
  event.preventDefault();
  const input = document.getElementById("text");
  const chat = state.chats.find(c => c.id === chatId);
  if (!chat || !input.value) return;
  post("/_sandbox/send", {user_id: Number(document.getElementById("sender").value),
                          chat_id: chat.id, text: input.value});
  input.value = "";
};
document.getElementById("newuser").onsubmit = event => {
  event.preventDefault();
  post("/_sandbox/users", {first_name: document.getElementById("newname").value,
                           username: document.getElementById("newusername").value});
};
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
"""
