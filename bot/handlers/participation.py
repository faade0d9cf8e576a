"""/invite, the group's Join button, Decline, /meetings with its buttons, /link, /cancel."""

from __future__ import annotations

import html
import re
from typing import Any

from telegram import MessageEntity, Update

from bot.buttons import Decline, InvitePick, Join, MeetingAction, MeetingButton, Page
from bot.delivery import planning
from bot.domain import (
    access,
    deep_links,
    drafts,
    links,
    lookup,
    notices,
    participation,
    people,
    scheduling,
)
from bot.domain.drafts import PendingInvite
from bot.domain.people import user_zone
from bot.errors import NotAllowed
from bot.handlers.arguments import person_named
from bot.handlers.common import (
    BotContext,
    actor_for_meeting,
    command_args,
    guarded,
    is_private,
    keyboard_markup,
    not_for_you,
    pressed,
    refuse,
    remember,
    reply,
)
from bot.handlers.miniapp import open_in_app_button
from bot.i18n import _
from bot.jitsi import Role
from bot.messaging import Button, start_link
from bot.render import join_keyboard, render_link_reply, render_meeting_card, role_name
from storage.db import session_scope
from storage.models import Meeting, User

PAGE_SIZE = 5
_CODE = re.compile(r"^[A-Za-z0-9]{6}$")


# --- /invite -------------------------------------------------------------------------------


def _invite_targets(update: Update) -> tuple[list[int], list[str], list[str], str | None]:
    """People named in an /invite: by reply, text_mention, @username and plain words (still to
    be looked up); and a code if given."""
    message = update.effective_message
    assert message is not None
    user_ids: list[int] = []
    usernames: list[str] = []
    mention_words: list[str] = []
    if message.reply_to_message and message.reply_to_message.from_user:
        replied = message.reply_to_message.from_user
        if not replied.is_bot:
            user_ids.append(replied.id)
    for entity, text in message.parse_entities().items():
        if entity.type == MessageEntity.TEXT_MENTION:
            mention_words += text.split()
            if entity.user and not entity.user.is_bot:
                user_ids.append(entity.user.id)
        elif entity.type == MessageEntity.MENTION:
            usernames.append(text.lstrip("@"))
    words = command_args(update).split()
    code = words[0] if words and _CODE.match(words[0]) else None
    # A plain word may be a person too ("/invite CODE mia"): looked up, never skipped.
    plain = [word for word in words[1 if code else 0 :] if not word.startswith("@")]
    for word in mention_words:
        if word in plain:
            plain.remove(word)
    return user_ids, usernames, plain, code


@guarded
async def invite(update: Update, context: BotContext) -> None:
    """Add people to a meeting; unknown @names wait until they start the bot."""
    services = context.services
    message = update.effective_message
    chat = update.effective_chat
    tg_user = update.effective_user
    assert message is not None and chat is not None and tg_user is not None
    user_ids, usernames, plain, code = _invite_targets(update)
    with session_scope(services.engine) as session:
        usage = _("/invite CODE @name: invite people (or reply to their message)")
        user_ids += [person_named(session, word, usage) for word in plain]
        # Everyone we can see in full becomes a known user, so the invite can reach them.
        replied = message.reply_to_message.from_user if message.reply_to_message else None
        if replied is not None and not replied.is_bot:
            remember(session, replied)
        for entity in message.entities:
            if entity.type == MessageEntity.TEXT_MENTION and entity.user:
                remember(session, entity.user)
        if code is not None:
            candidates = [lookup.find_meeting(session, code)]
        else:
            candidates = participation.invite_candidates(
                session,
                user_id=tg_user.id,
                chat_id=chat.id,
                private=is_private(update),
                now=services.clock(),
            )
    if not candidates:
        await refuse(
            update, _("Which meeting? Write /invite CODE @name (/meetings shows your codes).")
        )
        return
    invitees = PendingInvite(user_ids=tuple(user_ids), usernames=tuple(usernames))
    if len(candidates) == 1:
        await _invite_into(update, context, candidates[0].code, invitees=invitees)
        return
    # Kept in the database until a meeting is picked: the question outlives a restart.
    with session_scope(services.engine) as session:
        pick_id = drafts.save(
            session, value=invitees, user_id=tg_user.id, chat_id=chat.id, now=services.clock()
        )
    await reply(
        update,
        _("Which meeting should they join?"),
        [
            [
                Button(
                    f"{found.title[:40]} · {found.code}",
                    data=InvitePick(pick_id, found.code).encode(),
                )
            ]
            for found in candidates[:8]
        ],
    )


async def _invite_into(
    update: Update,
    context: BotContext,
    code: str,
    *,
    invitees: PendingInvite | None = None,
    pick_id: str | None = None,
) -> None:
    """Invite people into the meeting `code`: `invitees`, or those the pick `pick_id` holds."""
    services = context.services
    now = services.clock()
    actor = await actor_for_meeting(update, context, code)
    with session_scope(services.engine) as session:
        if pick_id is not None:
            # Taken in the transaction that invites: a refusal below rolls the take back and
            # leaves the question open for another of its meetings; a second press finds nothing.
            invitees = drafts.take(
                session, kind=PendingInvite, draft_id=pick_id, user_id=actor.user_id, now=now
            ).value
        assert invitees is not None
        user_ids, usernames = list(invitees.user_ids), list(invitees.usernames)
        meeting = lookup.find_meeting(session, code)
        access.require_manager(session, meeting, actor)
        join_link = start_link(
            context.bot.username,
            deep_links.deep_link(session, meeting=meeting, kind="join", now=now),
        )
        result = None
        if user_ids or usernames:
            result = participation.invite(
                session,
                meeting=meeting,
                actor=actor,
                user_ids=user_ids,
                usernames=usernames,
                now=now,
            )
    if result is None:
        await reply(
            update,
            _("Forward this link to invite people to {code}: {link}").format(
                code=meeting.code, link=join_link
            ),
        )
        return
    # The invitations themselves were queued with the invite and go out with the next sweep.
    await reply(update, _render_invite_result(result, meeting.code, join_link))


def _render_invite_result(result: participation.InviteResult, code: str, join_link: str) -> str:
    lines = []
    if result.added:
        names = ", ".join(people.display(user) for user in result.added)
        lines.append(_("Invited to {code}: {names}.").format(code=code, names=html.escape(names)))
    if result.already:
        lines.append(
            _("Already in it: {names}.").format(names=html.escape(", ".join(result.already)))
        )
    if result.unreachable:
        lines.append(
            _("Can't reach yet: {names}. Forward them this link: {link}").format(
                names=html.escape(", ".join(result.unreachable)), link=join_link
            )
        )
    if not lines:
        lines.append(_("Nobody new to invite. Name people with @username or reply to them."))
    return "\n".join(lines)


@guarded
async def invite_pick(update: Update, context: BotContext) -> None:
    """The meeting buttons of an /invite that named no code."""
    query = update.callback_query
    tg_user = update.effective_user
    assert query is not None and tg_user is not None
    services = context.services
    button = pressed(update, InvitePick)
    if button is None:
        raise NotAllowed(not_for_you())
    # Whose question it is, before the meeting's rights are looked up for the presser.
    with session_scope(services.engine) as session:
        drafts.peek(
            session,
            kind=PendingInvite,
            draft_id=button.pick_id,
            user_id=tg_user.id,
            now=services.clock(),
        )
    # Answered once, with the outcome: a refusal answers the press instead (see guarded).
    await _invite_into(update, context, button.code, pick_id=button.pick_id)
    await query.answer()


# --- joining and leaving -------------------------------------------------------------------


@guarded
async def join_button(update: Update, context: BotContext) -> None:
    """The group announcement's Join button."""
    query = update.callback_query
    tg_user = update.effective_user
    assert query is not None and tg_user is not None
    services = context.services
    now = services.clock()
    button = pressed(update, Join)
    if button is None:
        raise NotAllowed(not_for_you())
    with session_scope(services.engine) as session:
        meeting = lookup.find_meeting(session, button.code)
        message_chat = query.message.chat.id if query.message else None
        if meeting.chat_id is None or meeting.chat_id != message_chat:
            # A forged press from another chat: only the group the meeting belongs to may join.
            raise NotAllowed(not_for_you())
        user = session.get(User, tg_user.id)
        reachable = bool(user and user.reachable)
        payload = deep_links.deep_link(session, meeting=meeting, kind="join", now=now)
        joined = reachable and participation.join(
            session, meeting=meeting, user_id=tg_user.id, now=now
        )
        if joined:
            # The group only sees the toast; the details and calendar go to the private chat.
            notices.queue_notices(
                session,
                meeting=meeting,
                kind=notices.NoticeKind.JOINED,
                now=now,
                user_ids=[tg_user.id],
            )
    if not reachable:
        # Bots can't write first: the button opens the bot, and /start finishes the join.
        await query.answer(url=start_link(context.bot.username, payload))
        return
    if joined:
        await query.answer(_("You joined. Your personal link comes privately before the start."))
    else:
        await query.answer(_("You are already in this meeting."))


@guarded
async def decline_button(update: Update, context: BotContext) -> None:
    """Decline an invitation (leave the meeting)."""
    query = update.callback_query
    tg_user = update.effective_user
    assert query is not None and tg_user is not None
    services = context.services
    button = pressed(update, Decline)
    if button is None:
        raise NotAllowed(not_for_you())
    with session_scope(services.engine) as session:
        meeting = lookup.find_meeting(session, button.code)
        participation.leave(session, meeting=meeting, user_id=tg_user.id, now=services.clock())
        title = meeting.title
    await query.answer(_("Declined."))
    await query.edit_message_reply_markup(None)
    await reply(update, _("You left “{title}”.").format(title=html.escape(title)))


# --- /meetings -----------------------------------------------------------------------------


def _meeting_buttons(meeting: Meeting, role: Role) -> list[Button]:
    def data(action: MeetingAction) -> str:
        return MeetingButton(action, meeting.code).encode()

    row = [
        Button(_("🔗 Link"), data=data(MeetingAction.LINK)),
        Button(_("ℹ️ Details"), data=data(MeetingAction.DETAILS)),
    ]
    if role is Role.OWNER:
        row.append(Button(_("🕒 Reschedule"), data=data(MeetingAction.RESCHEDULE)))
        row.append(Button(_("✖ Cancel"), data=data(MeetingAction.CANCEL)))
    else:
        row.append(Button(_("Leave"), data=data(MeetingAction.LEAVE)))
    return row


def _meetings_page(context: BotContext, user_id: int, page: int) -> tuple[str, list[list[Button]]]:
    services = context.services
    now = services.clock()
    with session_scope(services.engine) as session:
        user = session.get(User, user_id)
        zone = user_zone(user, services.rules)
        items = participation.upcoming_for(session, user_id=user_id, now=now)
        if not items:
            return _("You have no upcoming meetings. Plan one with /schedule."), []
        pages = (len(items) + PAGE_SIZE - 1) // PAGE_SIZE
        page = max(0, min(page, pages - 1))
        chunk = items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        cards = [
            render_meeting_card(meeting, session, zone, now, role) for meeting, role, _o in chunk
        ]
        keyboard = [_meeting_buttons(meeting, role) for meeting, role, _o in chunk]
    text = _("Your upcoming meetings ({zone}):").format(zone=zone) + "\n\n" + "\n\n".join(cards)
    if pages > 1:
        nav = []
        if page > 0:
            nav.append(Button("◀", data=Page(page - 1).encode()))
        nav.append(Button(f"{page + 1}/{pages}", data=Page(page).encode()))
        if page < pages - 1:
            nav.append(Button("▶", data=Page(page + 1).encode()))
        keyboard.append(nav)
    return text, keyboard


@guarded
async def list_meetings(update: Update, context: BotContext) -> None:
    """My upcoming meetings, paged, with buttons."""
    tg_user = update.effective_user
    assert tg_user is not None
    text, keyboard = _meetings_page(context, tg_user.id, 0)
    if is_private(update):
        keyboard += _app_row(context)
    await reply(update, text, keyboard)


def _app_row(context: BotContext) -> list[list[Button]]:
    """ "Open in app" under a private list (a Mini App button works in private chats only)."""
    button = open_in_app_button(context.services)
    return [[button]] if button is not None else []


@guarded
async def page_button(update: Update, context: BotContext) -> None:
    """Turn a /meetings page."""
    query = update.callback_query
    tg_user = update.effective_user
    assert query is not None and tg_user is not None
    button = pressed(update, Page)
    # Forged or outdated data shows the first page, like the command.
    page = button.page if button is not None else 0
    # The page is rebuilt for whoever pressed: nobody sees another person's list.
    text, keyboard = _meetings_page(context, tg_user.id, page)
    await query.answer()
    message = query.message
    private = message is not None and message.chat.type == "private"
    if private:
        keyboard += _app_row(context)
    markup = keyboard_markup(keyboard)
    # The page already shown (its own number pressed, or nothing changed): no edit at all.
    if private and not _already_shows(message, text, markup):
        await query.edit_message_text(text, parse_mode="HTML", reply_markup=markup)


def _already_shows(message: Any, text: str, markup: Any) -> bool:
    """Whether a message shows this HTML text and these buttons: an edit to them would change
    nothing (Telegram answers 400 "message is not modified")."""
    plain = html.unescape(re.sub(r"<[^>]+>", "", text))
    shown_markup = getattr(message, "reply_markup", None)
    return getattr(message, "text", None) == plain and shown_markup == markup


@guarded
async def meeting_button(update: Update, context: BotContext) -> None:
    """Link, details, leave or cancel from a /meetings entry."""
    query = update.callback_query
    tg_user = update.effective_user
    assert query is not None and tg_user is not None
    button = pressed(update, MeetingButton)
    if button is None:
        await query.answer(not_for_you(), show_alert=True)
        return
    action, code = button.action, button.code
    # Each action answers the press itself once it succeeded; a refusal answers instead.
    if action is MeetingAction.LINK:
        await _send_link_privately(update, context, code)
        await query.answer()
    elif action is MeetingAction.DETAILS:
        await _details(update, context, code)
    elif action is MeetingAction.LEAVE:
        services = context.services
        with session_scope(services.engine) as session:
            meeting = lookup.find_meeting(session, code)
            participation.leave(session, meeting=meeting, user_id=tg_user.id, now=services.clock())
        await query.answer(_("You left {code}.").format(code=meeting.code), show_alert=True)
    elif action is MeetingAction.CANCEL:
        await _cancel(update, context, code)
        await query.answer(_("Cancelled."))
    else:
        await _explain_reschedule(update, context, code)


async def _explain_reschedule(update: Update, context: BotContext, code: str) -> None:
    query = update.callback_query
    assert query is not None
    services = context.services
    actor = await actor_for_meeting(update, context, code)
    with session_scope(services.engine) as session:
        meeting = lookup.find_meeting(session, code)
        access.require_manager(session, meeting, actor)
    await query.answer()
    await reply(
        update,
        _("Send the new time: /reschedule {code} next friday 10:00").format(code=meeting.code),
    )


async def _details(update: Update, context: BotContext, code: str) -> None:
    query = update.callback_query
    tg_user = update.effective_user
    assert query is not None and tg_user is not None
    services = context.services
    now = services.clock()
    with session_scope(services.engine) as session:
        meeting = lookup.find_meeting(session, code)
        role = access.participant_role(session, meeting, tg_user.id)
        if role is None and not access.is_bot_admin(session, tg_user.id, services.rules):
            raise NotAllowed(not_for_you())
        zone = user_zone(session.get(User, tg_user.id), services.rules)
        card = render_meeting_card(meeting, session, zone, now, role)
        members = lookup.participants(session, meeting)
        names = [
            (people.display(user) if user else f"@{row.pending_username}")
            + f" ({role_name(Role(row.role))})"
            for row, user in members
        ]
    await query.answer()
    await reply(update, card + "\n" + html.escape(", ".join(names)))


# --- /link ---------------------------------------------------------------------------------


@guarded
async def link(update: Update, context: BotContext) -> None:
    """My personal link, in a private chat, when the join window is open."""
    code = command_args(update).split(maxsplit=1)[0] if command_args(update) else ""
    if not code:
        await refuse(update, _("Write /link CODE (/meetings shows your codes)."))
        return
    await _send_link_privately(update, context, code)


async def _send_link_privately(update: Update, context: BotContext, code: str) -> None:
    services = context.services
    tg_user = update.effective_user
    assert tg_user is not None
    now = services.clock()
    with session_scope(services.engine) as session:
        meeting = lookup.find_meeting(session, code)
        request = links.request_link(
            session,
            signer=services.signer,
            meeting=meeting,
            user_id=tg_user.id,
            rules=services.rules,
            now=now,
        )
        user = session.get(User, tg_user.id)
        reachable = bool(user and user.reachable)
        zone = user_zone(user, services.rules)
        card = render_meeting_card(meeting, session, zone, now)
        link_payload = deep_links.deep_link(session, meeting=meeting, kind="link", now=now)
        if request.link is not None and reachable:
            planning.mark_link_handed_over(session, meeting=meeting, user_id=tg_user.id, now=now)
    bound = services.rules.bind_links
    text = card + "\n\n" + render_link_reply(request, zone, bound=bound)
    # The Mini App button of a bound link: only ever in the private chat.
    keyboard = join_keyboard(request, bound)
    if request.link is not None and services.delivery is not None and meeting.id is not None:
        await services.delivery.refresh_summary(meeting.id)
    if is_private(update):
        await reply(update, text, keyboard)
        return
    # Never in a group: the link goes to the private chat, or the person is sent there.
    if reachable:
        await context.bot.send_message(
            tg_user.id,
            text,
            parse_mode="HTML",
            disable_web_page_preview=True,
            reply_markup=keyboard_markup(keyboard),
        )
        if update.callback_query is None:
            await reply(update, _("I sent you a private message."))
    else:
        await reply(
            update,
            _("Start me first, then you get your link: {link}").format(
                link=start_link(context.bot.username, link_payload)
            ),
        )


# --- /cancel -------------------------------------------------------------------------------


@guarded
async def cancel(update: Update, context: BotContext) -> None:
    """`/cancel CODE` cancels a meeting (a bare /cancel in a /schedule dialog leaves it, see
    bot/app.py)."""
    code = command_args(update).split(maxsplit=1)[0] if command_args(update) else ""
    if not code:
        await refuse(update, _("Write /cancel CODE to cancel a meeting."))
        return
    await _cancel(update, context, code)


async def _cancel(update: Update, context: BotContext, code: str) -> None:
    services = context.services
    actor = await actor_for_meeting(update, context, code)
    with session_scope(services.engine) as session:
        meeting = lookup.find_meeting(session, code)
        scheduling.cancel_meeting(session, meeting=meeting, actor=actor, now=services.clock())
        title = meeting.title
    await reply(
        update, _("Cancelled “{title}”. Everyone is told.").format(title=html.escape(title))
    )
