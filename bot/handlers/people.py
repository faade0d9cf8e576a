"""/start (with deep links), /help, /timezone, /language, /email, and block/unblock updates."""

from __future__ import annotations

import html

from telegram import ChatMemberUpdated, Update
from telegram.constants import ChatMemberStatus

from bot.config import SUPPORTED_LANGUAGES
from bot.delivery import planning
from bot.domain import chats, deep_links, links, people
from bot.domain.people import user_zone
from bot.handlers import polls
from bot.handlers.arguments import role_choices
from bot.handlers.common import (
    BotContext,
    command_args,
    guarded,
    is_private,
    refuse,
    remember,
    reply,
)
from bot.i18n import _, normalize_language, set_language
from bot.render import join_keyboard, render_link_reply, render_meeting_card
from storage.db import session_scope
from storage.models import User

LANGUAGE_NAMES = {
    "en": "English",
    "de": "Deutsch",
    "ru": "Русский",
    "uk": "Українська",
    "es": "Español",
    "fr": "Français",
}


def help_text() -> str:
    """The short how-to every newcomer gets."""
    return "\n".join(
        [
            _("I schedule Jitsi meetings and send everyone a personal link before they start."),
            "",
            _("/schedule Title | tomorrow 15:00 | 45m: plan a meeting (or just /schedule)"),
            _("/invite CODE @name: invite people (or reply to their message)"),
            _("/meetings: your upcoming meetings"),
            _("/link CODE: your personal link when the meeting is about to start"),
            _("/reschedule CODE new time, /cancel CODE: for organizers"),
            _("/capacity CODE 20 (or | max 20 in /schedule): seats, then a waitlist"),
            _("/poll Title | mon 10:00; tue 15:00 | 45m: find a time with a group"),
            # The role words the reader may type in /role, in their language.
            _(
                "/participants CODE, /role CODE @name {owner}|{member}, /features CODE ...: rights"
            ).format(**role_choices()),
            _("/timezone Europe/Berlin, /language de, /email you@example.com: your settings"),
            _("/reminders 1d 1h: reminders before your meetings; /reminders CODE 1d 10m: owners"),
            _("/attendance CODE: who came; /lobby CODE on: a lobby for the room; /app: the app"),
        ]
    )


@guarded
async def start(update: Update, context: BotContext) -> None:
    """Register the person and greet them, or follow the deep link they came through."""
    if not is_private(update):
        await reply(update, help_text())
        return
    services = context.services
    tg_user = update.effective_user
    assert tg_user is not None
    now = services.clock()
    payload = command_args(update)
    with session_scope(services.engine) as session:
        user = remember(session, tg_user, started=True)
        claimed = people.claim_pending_invites(session, user=user, now=now)
        for meeting in claimed:
            planning.plan_deliveries(session, meeting=meeting, now=now, user_ids=[user.id])
        planning.requeue_unreachable(session, user_id=user.id, now=now)
        zone = user_zone(user, services.rules)
        claimed_cards = [render_meeting_card(meeting, session, zone, now) for meeting in claimed]
    if payload:
        # A poll's "My time zone" button leads here too: its times in the person's zone.
        if not await polls.times_after_start(update, context, payload):
            await _follow_deep_link(update, context, payload)
        return
    text = _("Hello, {name}!").format(name=html.escape(tg_user.first_name)) + "\n" + help_text()
    if claimed_cards:
        text += "\n\n" + _("You were invited to:") + "\n" + "\n".join(claimed_cards)
    await reply(update, text)


async def _follow_deep_link(update: Update, context: BotContext, payload: str) -> None:
    services = context.services
    tg_user = update.effective_user
    assert tg_user is not None
    now = services.clock()
    with session_scope(services.engine) as session:
        meeting, joined = deep_links.accept_deep_link(
            session, payload=payload, user_id=tg_user.id, now=now
        )
        request = links.request_link(
            session,
            signer=services.signer,
            meeting=meeting,
            user_id=tg_user.id,
            rules=services.rules,
            now=now,
        )
        user = session.get(User, tg_user.id)
        zone = user_zone(user, services.rules)
        card = render_meeting_card(meeting, session, zone, now)
        if request.link is not None:
            # The link goes out here and now; the reminder row is done.
            planning.mark_link_handed_over(session, meeting=meeting, user_id=tg_user.id, now=now)
    text = (_("You joined:") + "\n" + card) if joined else card
    # A deep link always lands in the private chat: a bound link's Mini App button may go here.
    bound = services.rules.bind_links
    await reply(
        update,
        text + "\n\n" + render_link_reply(request, zone, bound=bound),
        join_keyboard(request, bound),
    )
    if request.link is not None and services.delivery is not None and meeting.id is not None:
        await services.delivery.refresh_summary(meeting.id)


@guarded
async def help_command(update: Update, context: BotContext) -> None:
    """Show the how-to."""
    await reply(update, help_text())


@guarded
async def timezone(update: Update, context: BotContext) -> None:
    """Set the zone times are shown and read in."""
    services = context.services
    query = command_args(update)
    tg_user = update.effective_user
    assert tg_user is not None
    if not query:
        with session_scope(services.engine) as session:
            user = session.get(User, tg_user.id)
            zone = user_zone(user, services.rules)
        await reply(
            update,
            _(
                "Your time zone is {zone}. Change it with /timezone Europe/Berlin or a city name."
            ).format(zone=zone),
        )
        return
    with session_scope(services.engine) as session:
        zone = people.set_timezone(session, user_id=tg_user.id, query=query)
    await reply(update, _("Time zone set to {zone}.").format(zone=zone))


def _language_list() -> str:
    return ", ".join(f"{code} ({name})" for code, name in LANGUAGE_NAMES.items())


@guarded
async def language(update: Update, context: BotContext) -> None:
    """Choose the bot's language (in a group: the group's, by its admins)."""
    services = context.services
    tg_user = update.effective_user
    chat = update.effective_chat
    assert tg_user is not None and chat is not None
    choice = normalize_language(command_args(update).strip().lower() or None)
    if choice is None or choice not in SUPPORTED_LANGUAGES:
        await reply(
            update,
            _("Send /language and one of: {languages}.").format(languages=_language_list()),
        )
        return
    if is_private(update):
        with session_scope(services.engine) as session:
            people.set_user_language(session, user_id=tg_user.id, language=choice)
    else:
        member = await context.bot.get_chat_member(chat.id, tg_user.id)
        if member.status not in {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}:
            await refuse(update, _("Only this group's administrators can change its language."))
            return
        with session_scope(services.engine) as session:
            chats.set_chat_language(session, chat_id=chat.id, title=chat.title, language=choice)
    set_language(choice)
    await reply(update, _("From now on I write in English."))


@guarded
async def email(update: Update, context: BotContext) -> None:
    """Set or remove the e-mail that goes into tokens (for avatars)."""
    services = context.services
    tg_user = update.effective_user
    assert tg_user is not None
    text = command_args(update)
    if not text:
        await reply(
            update,
            _("Send /email name@example.com to show your avatar in meetings, or /email off."),
        )
        return
    with session_scope(services.engine) as session:
        value = people.set_email(session, user_id=tg_user.id, text=text)
    if value is None:
        await reply(update, _("E-mail removed; your links no longer carry one."))
    else:
        await reply(
            update,
            _("E-mail set to {email}. Other participants can see it.").format(
                email=html.escape(value)
            ),
        )


async def membership_changed(update: Update, context: BotContext) -> None:
    """A person blocked or unblocked the bot in their private chat."""
    change: ChatMemberUpdated | None = update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    services = context.services
    blocked = change.new_chat_member.status in {ChatMemberStatus.BANNED, ChatMemberStatus.LEFT}
    now = services.clock()
    with session_scope(services.engine) as session:
        remember(session, change.from_user)
        people.set_reachable(
            session, user_id=change.from_user.id, reachable=not blocked, blocked=blocked
        )
        if not blocked:
            planning.requeue_unreachable(session, user_id=change.from_user.id, now=now)


async def group_migrated(update: Update, context: BotContext) -> None:
    """A group became a supergroup with a new id: its meetings follow it."""
    message = update.effective_message
    if message is None or message.migrate_to_chat_id is None or message.chat is None:
        return
    with session_scope(context.services.engine) as session:
        chats.move_chat(
            session, old_chat_id=message.chat.id, new_chat_id=message.migrate_to_chat_id
        )
