"""python-telegram-bot calls every supported method and parses every object the sandbox returns."""

from __future__ import annotations

import pytest
import telegram
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeChatAdministrators,
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from bot.sandbox import Sandbox

TOKEN = "123456:TEST"
KEYBOARD = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("Join", callback_data="join:1")],
        [InlineKeyboardButton("Open", url="https://t.me/meetings_test_bot?start=abc")],
    ]
)


async def test_messages_round_trip(sandbox: Sandbox, bot: telegram.Bot) -> None:
    alice = sandbox.create_user("Alice", username="alice", last_name="Liddell")
    sandbox.send_text(alice, "/start")
    me = await bot.get_me()
    assert me.is_bot and me.username == "meetings_test_bot"

    sent = await bot.send_message(
        alice.id,
        "<b>Standup</b> at 10:00 &lt;UTC&gt;",
        parse_mode=ParseMode.HTML,
        reply_markup=KEYBOARD,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
    assert sent.from_user is not None and sent.from_user.id == me.id
    assert sent.chat.type == "private" and sent.chat.id == alice.id
    assert sent.text == "Standup at 10:00 <UTC>"
    assert sent.text_html == "<b>Standup</b> at 10:00 &lt;UTC&gt;"
    assert sent.date.year >= 2024
    [inbox] = sandbox.inbox(alice)
    assert inbox.text == "Standup at 10:00 <UTC>"
    assert inbox.html == "<b>Standup</b> at 10:00 &lt;UTC&gt;"
    assert inbox.buttons == [
        [("Join", "join:1")],
        [("Open", "https://t.me/meetings_test_bot?start=abc")],
    ]
    assert sandbox.button_url(inbox, "Open").endswith("start=abc")

    reply = await bot.send_message(
        alice.id, "second", reply_parameters=ReplyParameters(sent.message_id)
    )
    assert reply.message_id > sent.message_id
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.message_id == sent.message_id

    edited = await sent.edit_text("Standup moved", reply_markup=KEYBOARD)
    assert isinstance(edited, telegram.Message) and edited.edit_date is not None
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await sent.edit_text("Standup moved", reply_markup=KEYBOARD)
    edited = await bot.edit_message_reply_markup(alice.id, sent.message_id, reply_markup=None)
    assert isinstance(edited, telegram.Message) and edited.reply_markup is None
    assert [e.new_text for e in sandbox.edits(sandbox.private_chat(alice))] == [
        "Standup moved",
        "Standup moved",
    ]
    assert sandbox.inbox(alice)[0].buttons == []

    document = await bot.send_document(
        alice.id, b"BEGIN:VCALENDAR", filename="invite.ics", caption="Calendar"
    )
    assert document.document is not None and document.document.file_name == "invite.ics"
    assert document.caption == "Calendar"
    again = await bot.send_document(alice.id, document.document.file_id)
    assert again.document is not None and again.document.file_size == 15
    assert sandbox.inbox(alice)[-1].document is not None

    assert await bot.delete_message(alice.id, reply.message_id)
    assert [m.text for m in sandbox.inbox(alice)] == ["Standup moved", "Calendar", ""]
    assert await bot.send_chat_action(alice.id, "typing")


async def test_chats_members_and_commands(sandbox: Sandbox, bot: telegram.Bot) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    bob = sandbox.create_user("Bob")
    carol = sandbox.create_user("Carol")
    dave = sandbox.create_user("Dave")
    group = sandbox.create_group("Team", members=[bob, dave], admins=[carol], creator=alice)
    sandbox.remove_member(group, dave)

    chat = await bot.get_chat(group.id)
    assert chat.type == "supergroup" and chat.title == "Team" and str(chat.id).startswith("-100")
    basic = sandbox.create_group("Old", members=[bob], supergroup=False)
    assert (await bot.get_chat(basic.id)).type == "group"

    members = {
        u.first_name: await bot.get_chat_member(group.id, u.id) for u in (alice, bob, carol, dave)
    }
    assert isinstance(members["Alice"], ChatMemberOwner)
    assert isinstance(members["Carol"], ChatMemberAdministrator)
    assert isinstance(members["Bob"], ChatMemberMember)
    assert isinstance(members["Dave"], ChatMemberLeft)
    admins = await bot.get_chat_administrators(group.id)
    assert {a.user.first_name for a in admins} == {"Alice", "Carol"}

    sandbox.send_text(alice, "/start")
    private = await bot.get_chat(alice.id)
    assert private.type == "private" and private.username == "alice"
    sandbox.block_bot(alice)
    assert isinstance(await bot.get_chat_member(alice.id, bot.id), ChatMemberBanned)

    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("new", "New meeting")])
    await bot.set_my_commands([BotCommand("start", "Los")], language_code="de")
    admin_scope = BotCommandScopeChatAdministrators(group.id)
    await bot.set_my_commands([BotCommand("settings", "Settings")], scope=admin_scope)
    assert [c.command for c in await bot.get_my_commands()] == ["start", "new"]
    assert [c.description for c in await bot.get_my_commands(language_code="de")] == ["Los"]
    assert await bot.get_my_commands(scope=BotCommandScopeChat(group.id)) == ()
    assert sandbox.visible_commands(carol, group) == [("settings", "Settings")]
    assert sandbox.visible_commands(bob, group) == [("start", "Start"), ("new", "New meeting")]
    assert await bot.delete_my_commands(language_code="de")
    assert await bot.get_my_commands(language_code="de") == ()

    assert await bot.close()
    assert await bot.log_out()


async def test_webhook_info_and_updates_parse(sandbox: Sandbox, bot: telegram.Bot) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    sandbox.send_text(alice, "/start")
    message = await bot.send_message(alice.id, "Pick", reply_markup=KEYBOARD)
    sandbox.press_button(alice, sandbox.inbox(alice)[0], "Join")
    sandbox.block_bot(alice)

    info = await bot.get_webhook_info()
    assert info.url == "" and info.pending_update_count == 3
    updates = await bot.get_updates()
    assert [type(u) for u in updates] == [Update] * 3
    assert updates[0].message is not None and updates[0].message.text == "/start"
    query = updates[1].callback_query
    assert query is not None and query.data == "join:1"
    assert isinstance(query.message, telegram.Message)
    assert query.message.message_id == message.message_id
    assert updates[2].my_chat_member is not None
    assert updates[2].my_chat_member.new_chat_member.status == "kicked"

    assert await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="s3cret")
    info = await bot.get_webhook_info()
    assert info.url == "http://127.0.0.1:9/hook" and info.max_connections == 40
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert sandbox.updates_pending() == 0


async def test_forbidden_errors_reach_ptb(sandbox: Sandbox, bot: telegram.Bot) -> None:
    alice = sandbox.create_user("Alice")
    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await bot.send_message(alice.id, "hi")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(1, "hi")


async def test_application_end_to_end(sandbox: Sandbox) -> None:
    """A real PTB Application polls the sandbox, answers a command and a button press."""

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        payload = " ".join(context.args or [])
        await update.effective_message.reply_text(f"Hello {payload}", reply_markup=KEYBOARD)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Joined!")
        await query.edit_message_text(f"Joined via {query.data}")

    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(sandbox.base_url)
        .rate_limiter(AIORateLimiter())
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(pressed))
    alice = sandbox.create_user("Alice", username="alice")
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        sandbox.send_text(alice, "/start abc")
        hello = await sandbox.wait_for_message(alice, "Hello abc")
        query_id = sandbox.press_button(alice, hello, "Join")
        await sandbox.wait_for(lambda: sandbox.callback_answer(query_id))
        await sandbox.wait_for_message(alice, "Joined via join:1")
        await sandbox.wait_for(lambda: sandbox.updates_pending() == 0)
        await application.updater.stop()
        await application.stop()
    answer = sandbox.callback_answer(query_id)
    assert answer is not None and answer.text == "Joined!" and not answer.show_alert
    assert [m.text for m in sandbox.inbox(alice)] == ["Joined via join:1"]
    # The poll PTB abandons on stop is ended with 409 by its final getUpdates; nothing else fails.
    assert all(call.status == 200 for call in sandbox.calls if call.method != "getUpdates")
