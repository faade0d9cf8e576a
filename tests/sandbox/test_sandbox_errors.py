"""Errors come back in Telegram's exact JSON shape, over plain HTTP."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from bot.sandbox import Sandbox


def bad(description: str) -> dict[str, Any]:
    """A 400 body."""
    return {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}


async def test_wrong_token_is_401(raw: Any) -> None:
    assert await raw.call("getMe", token="999:WRONG") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )


async def test_unknown_method_is_404_and_names_are_case_insensitive(raw: Any) -> None:
    assert await raw.call("fooBar") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    status, body = await raw.call("GETME")
    assert status == 200 and body["ok"] and body["result"]["username"] == "meetings_test_bot"


async def test_chat_not_found(raw: Any) -> None:
    assert await raw.call("sendMessage", chat_id=42, text="hi") == (400, bad("chat not found"))
    assert await raw.call("getChat", chat_id=-1001) == (400, bad("chat not found"))


async def test_text_checks(sandbox: Sandbox, raw: Any) -> None:
    alice = sandbox.create_user("Alice")
    sandbox.send_text(alice, "/start")
    assert await raw.call("sendMessage", chat_id=alice.id, text="") == (
        400,
        bad("message text is empty"),
    )
    assert await raw.call("sendMessage", chat_id=alice.id, text="x" * 4097) == (
        400,
        bad("message is too long"),
    )
    assert (await raw.call("sendMessage", chat_id=alice.id, text="x" * 4096))[0] == 200
    status, body = await raw.call("sendMessage", chat_id=alice.id, text="<b>x", parse_mode="HTML")
    assert status == 400 and body["description"].startswith("Bad Request: can't parse entities")


async def test_button_data_over_64_bytes(sandbox: Sandbox, raw: Any) -> None:
    alice = sandbox.create_user("Alice")
    sandbox.send_text(alice, "/start")
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "é" * 33}]]}
    assert await raw.call("sendMessage", chat_id=alice.id, text="hi", reply_markup=markup) == (
        400,
        bad("BUTTON_DATA_INVALID"),
    )


async def test_edit_and_delete_errors(sandbox: Sandbox, raw: Any) -> None:
    alice = sandbox.create_user("Alice")
    sandbox.send_text(alice, "/start")
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    _, sent = await raw.call("sendMessage", chat_id=alice.id, text="hi", reply_markup=markup)
    message_id = sent["result"]["message_id"]
    same = {"chat_id": alice.id, "message_id": message_id, "text": "hi", "reply_markup": markup}
    status, body = await raw.call("editMessageText", **same)
    assert status == 400
    assert body["description"] == (
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message"
    )
    assert await raw.call("editMessageText", chat_id=alice.id, message_id=999, text="x") == (
        400,
        bad("message to edit not found"),
    )
    assert await raw.call("deleteMessage", chat_id=alice.id, message_id=999) == (
        400,
        bad("message to delete not found"),
    )
    assert (await raw.call("deleteMessage", chat_id=alice.id, message_id=message_id))[0] == 200
    assert sandbox.inbox(alice) == []


async def test_never_started_and_blocked_are_403(sandbox: Sandbox, raw: Any) -> None:
    alice = sandbox.create_user("Alice")
    assert await raw.call("sendMessage", chat_id=alice.id, text="hi") == (
        403,
        {
            "ok": False,
            "error_code": 403,
            "description": "Forbidden: bot can't initiate conversation with a user",
        },
    )
    sandbox.send_text(alice, "/start")
    assert (await raw.call("sendMessage", chat_id=alice.id, text="hi"))[0] == 200
    sandbox.block_bot(alice)
    assert await raw.call("sendMessage", chat_id=alice.id, text="hi") == (
        403,
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
    )
    sandbox.unblock_bot(alice)
    assert (await raw.call("sendMessage", chat_id=alice.id, text="hi"))[0] == 200


async def test_get_updates_conflicts_with_webhook(raw: Any) -> None:
    assert (await raw.call("setWebhook", url="http://127.0.0.1:9/hook"))[0] == 200
    assert await raw.call("getUpdates") == (
        409,
        {
            "ok": False,
            "error_code": 409,
            "description": "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        },
    )
    assert (await raw.call("deleteWebhook"))[0] == 200
    assert await raw.call("getUpdates") == (200, {"ok": True, "result": []})


async def test_form_bodies_are_decoded(sandbox: Sandbox, raw: Any) -> None:
    alice = sandbox.create_user("Alice")
    sandbox.send_text(alice, "/start")
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    status, body = await raw.form(
        "sendMessage",
        {"chat_id": str(alice.id), "text": "12", "reply_markup": json.dumps(markup)},
    )
    assert status == 200 and body["result"]["text"] == "12"
    assert body["result"]["reply_markup"] == markup
    assert sandbox.calls[-1].params == {"chat_id": alice.id, "text": "12", "reply_markup": markup}

    form = aiohttp.FormData()
    form.add_field("chat_id", str(alice.id))
    form.add_field("caption", "<i>minutes</i>")
    form.add_field("parse_mode", "HTML")
    form.add_field("reply_markup", json.dumps(markup))
    form.add_field("document", b"a,b\n1,2\n", filename="minutes.csv", content_type="text/csv")
    status, body = await raw.form("sendDocument", form)
    assert status == 200, body
    assert body["result"]["document"]["file_name"] == "minutes.csv"
    sent = sandbox.inbox(alice)[-1]
    assert sent.document is not None and sent.document.data == b"a,b\n1,2\n"
    assert (sent.text, sent.html, sent.buttons) == ("minutes", "<i>minutes</i>", [[("Go", "go")]])


async def test_token_never_logged(sandbox: Sandbox, raw: Any) -> None:
    await raw.call("setWebhook", url=f"http://127.0.0.1:9/{sandbox.bot_token}")
    await raw.call("getMe", token="999:WRONG")
    assert sandbox.calls[0].params["url"] == "http://127.0.0.1:9/<token>"
    assert sandbox.bot_token not in repr(sandbox.calls)
