"""Roles, features and admins: /role, /promote, /demote, /participants, /features, /history,
/rotate, /admin."""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import MessageEntity, Update

from bot.delivery import planning
from bot.domain import access, admins, audit, links, lookup, people, roles, rsvp, values
from bot.domain.people import user_zone
from bot.errors import InvalidInput
from bot.handlers.arguments import one_person, person_named, role_choices, role_words
from bot.handlers.common import (
    BotContext,
    actor_for_meeting,
    command_args,
    guarded,
    refuse,
    remember,
    reply,
)
from bot.i18n import _, format_clock, format_when, ngettext
from bot.jitsi import Role
from bot.render import answer_text, role_name
from storage.db import session_scope
from storage.models import DeliveryStatus, User


def _replied_user(update: Update) -> int | None:
    """The person whose message the command answers (never the bot itself)."""
    message = update.effective_message
    assert message is not None
    if message.reply_to_message and message.reply_to_message.from_user:
        replied = message.reply_to_message.from_user
        if not replied.is_bot:
            return replied.id
    return None


def _mentioned_users(update: Update) -> dict[int, str]:
    """People named by text_mention (people without a @username), with the text naming them."""
    message = update.effective_message
    assert message is not None
    return {
        entity.user.id: text
        for entity, text in message.parse_entities([MessageEntity.TEXT_MENTION]).items()
        if entity.user is not None
    }


def _resolve_target(
    update: Update, context: BotContext, words: list[str], usage: str
) -> int | None:
    """The one person a command names: by text_mention, username or user id, else by reply.

    A name written in the command wins over the message it happens to answer, so
    "/promote CODE @bob" sent as a reply to Carol's message promotes Bob, not Carol.
    Every word must name someone: one that names nobody is refused, never skipped.
    """
    message = update.effective_message
    services = context.services
    words = list(words)
    named: set[int] = set()
    for user_id, text in _mentioned_users(update).items():
        named.add(user_id)
        for word in text.split():
            if word in words:
                words.remove(word)
    with session_scope(services.engine) as session:
        reply_to = message.reply_to_message if message else None
        replied = reply_to.from_user if reply_to else None
        if replied is not None and not replied.is_bot:
            remember(session, replied)
        named |= {person_named(session, word, usage) for word in words}
    target = one_person(named, usage)
    return target if target is not None else _replied_user(update)


async def _change_role(update: Update, context: BotContext, role: Role | None) -> None:
    words = command_args(update).split()
    usage = (
        _("Write /role CODE @name {owner}|{member} (or reply to their message).").format(
            **role_choices()
        )
        if role is None
        else _("Write /promote CODE @name or /demote CODE @name (or reply to their message).")
    )
    if not words:
        raise InvalidInput(usage)
    code, rest = words[0], words[1:]
    if role is None:
        # The role words of the reader's language (as /help shows them) and the English ones.
        known = role_words()
        wanted = {known[word.casefold()] for word in rest if word.casefold() in known}
        if len(wanted) != 1:
            raise InvalidInput(usage)
        role = wanted.pop()
        rest = [word for word in rest if word.casefold() not in known]
    target = _resolve_target(update, context, rest, usage)
    if target is None:
        raise InvalidInput(usage)
    actor = await actor_for_meeting(update, context, code)
    services = context.services
    with session_scope(services.engine) as session:
        meeting = lookup.find_meeting(session, code)
        changed = roles.set_role(
            session,
            meeting=meeting,
            actor=actor,
            target_user_id=target,
            role=role,
            now=services.clock(),
        )
        user = session.get(User, target)
        name = people.display(user) if user else str(target)
    if not changed:
        await reply(
            update,
            _("{name} is already {role} in {code}.").format(
                name=html.escape(name), role=role_name(role), code=meeting.code
            ),
        )
        return
    await reply(
        update,
        _("{name} is now {role} in {code}.").format(
            name=html.escape(name), role=role_name(role), code=meeting.code
        ),
    )


@guarded
async def role(update: Update, context: BotContext) -> None:
    """`/role CODE @user owner|member`."""
    await _change_role(update, context, None)


@guarded
async def promote(update: Update, context: BotContext) -> None:
    """`/promote CODE @user`: make someone owner."""
    await _change_role(update, context, Role.OWNER)


@guarded
async def demote(update: Update, context: BotContext) -> None:
    """`/demote CODE @user`: make someone member."""
    await _change_role(update, context, Role.MEMBER)


@guarded
async def participants(update: Update, context: BotContext) -> None:
    """Everyone in a meeting with role, reachability and whether their link went out."""
    words = command_args(update).split()
    if not words:
        await refuse(update, _("Write /participants CODE."))
        return
    actor = await actor_for_meeting(update, context, words[0])
    services = context.services
    now = services.clock()
    with session_scope(services.engine) as session:
        meeting = lookup.find_meeting(session, words[0])
        if access.participant_role(session, meeting, actor.user_id) is None:
            access.require_manager(session, meeting, actor)
        statuses = planning.link_statuses(session, meeting=meeting, now=now)
        opens = links.link_opens(session, meeting)
        zone = user_zone(session.get(User, actor.user_id), services.rules)
        places = {row.id: place for place, row in enumerate(rsvp.waitlist(session, meeting), 1)}
        lines = [
            _("Participants of “{title}” ({code}):").format(
                title=html.escape(meeting.title), code=meeting.code
            )
        ]
        for row, user in lookup.participants(session, meeting):
            if user is None:
                lines.append(
                    f"• @{html.escape(row.pending_username or '')} — "
                    + _("invited, hasn't started the bot yet")
                )
                continue
            reach = _("reachable") if user.reachable else _("can't be reached")
            status = statuses.get(user.id)
            link_state = (
                _("link sent") if status is DeliveryStatus.SENT else _("link not sent yet")
            )
            opened = opens.get(user.id)
            if opened is not None:
                link_state += ", " + _opened_text(opened, zone, now)
            answer = answer_text(row.rsvp, places.get(row.id))
            lines.append(
                f"• {html.escape(people.display(user))} — {role_name(Role(row.role))}, "
                f"{answer}, {reach}, {link_state}"
            )
    await reply(update, "\n".join(lines))


def _opened_text(opened: links.LinkOpens, zone: str, now: datetime) -> str:
    """When a click-time link let its person in: the time of day if today, else the date."""

    def moment(when: datetime) -> str:
        today = now.astimezone(ZoneInfo(zone)).date()
        if when.astimezone(ZoneInfo(zone)).date() == today:
            return format_clock(when, zone)
        return format_when(when, zone, with_zone=False)

    if opened.first == opened.last:
        return _("opened {time}").format(time=moment(opened.first))
    return _("opened {first}, last {last}").format(
        first=moment(opened.first), last=moment(opened.last)
    )


@guarded
async def features(update: Update, context: BotContext) -> None:
    """`/features CODE [@user] recording=on ...`: the meeting's defaults or one person's."""
    words = command_args(update).split()
    usage = _("Write /features CODE [@name] recording=on screen-sharing=off ...")
    if not words:
        await refuse(update, usage)
        return
    code = words[0]
    settings_words = [word for word in words[1:] if "=" in word]
    others = [word for word in words[1:] if "=" not in word]
    changes = roles.parse_feature_changes(settings_words)
    target = _resolve_target(update, context, others, usage)
    actor = await actor_for_meeting(update, context, code)
    services = context.services
    with session_scope(services.engine) as session:
        meeting = lookup.find_meeting(session, code)
        resent = roles.set_features(
            session,
            meeting=meeting,
            actor=actor,
            changes=changes,
            target_user_id=target,
            now=services.clock(),
        )
        who = (
            people.display(session.get(User, target) or User(id=0, display_name=str(target)))
            if target is not None
            else _("everyone")
        )
    summary = ", ".join(f"{name}={'on' if value else 'off'}" for name, value in changes.items())
    text = _("Features for {who} in {code}: {changes}.").format(
        who=html.escape(who), code=meeting.code, changes=summary
    )
    if resent:
        text += "\n" + ngettext(
            "{count} person gets a fresh link. Old links keep working until they expire; "
            "use /rotate {code} to shut them out.",
            "{count} people get a fresh link. Old links keep working until they expire; "
            "use /rotate {code} to shut them out.",
            len(resent),
        ).format(count=len(resent), code=meeting.code)
    await reply(update, text)


@guarded
async def history(update: Update, context: BotContext) -> None:
    """The latest 20 changes to a meeting."""
    words = command_args(update).split()
    if not words:
        await refuse(update, _("Write /history CODE."))
        return
    actor = await actor_for_meeting(update, context, words[0])
    services = context.services
    with session_scope(services.engine) as session:
        meeting = lookup.find_meeting(session, words[0])
        events = audit.history(session, meeting=meeting, actor=actor)
        zone = user_zone(session.get(User, actor.user_id), services.rules)
        lines = [_("Latest changes to {code}:").format(code=meeting.code)]
        for event in events:
            actor_user = session.get(User, event.actor_id)
            target = session.get(User, event.target_user_id) if event.target_user_id else None
            lines.append(
                "• "
                + html.escape(
                    f"{format_when(event.at, zone, with_zone=False)}: "
                    f"{people.display(actor_user) if actor_user else event.actor_id} "
                    f"{event.action}"
                    + (f" {people.display(target)}" if target else "")
                    + (f" {event.detail}" if event.detail else "")
                )
            )
    await reply(update, "\n".join(lines))


@guarded
async def rotate(update: Update, context: BotContext) -> None:
    """A new room for a meeting, so every old link leads to an empty room; with a person, a new
    click-time link for that person only."""
    words = command_args(update).split()
    if not words:
        await refuse(update, _("Write /rotate CODE."))
        return
    if len(words) > 1:
        await _replace_link(update, context, words)
        return
    actor = await actor_for_meeting(update, context, words[0])
    services = context.services
    with session_scope(services.engine) as session:
        meeting = lookup.find_meeting(session, words[0])
        resent = roles.rotate_room(session, meeting=meeting, actor=actor, now=services.clock())
    await reply(
        update,
        _(
            "{code} has a new room. Old links lead to an empty room; {count} fresh links go out."
        ).format(code=meeting.code, count=resent),
    )


async def _replace_link(update: Update, context: BotContext, words: list[str]) -> None:
    """`/rotate CODE @bob`: Bob's click-time link is replaced; the old one stops working."""
    target = _resolve_target(update, context, words[1:], _("Write /rotate CODE [@name]."))
    assert target is not None  # words name someone, or the command was refused
    actor = await actor_for_meeting(update, context, words[0])
    services = context.services
    with session_scope(services.engine) as session:
        meeting = lookup.find_meeting(session, words[0])
        links.replace_click_link(
            session,
            meeting=meeting,
            actor=actor,
            target_user_id=target,
            rules=services.rules,
            now=services.clock(),
        )
        user = session.get(User, target)
        name = people.display(user) if user is not None else str(target)
    await reply(
        update,
        _("{name}'s link to {code} was replaced; the old one no longer works.").format(
            name=html.escape(name), code=meeting.code
        ),
    )


@guarded
async def admin(update: Update, context: BotContext) -> None:
    """`/admin add|remove @user`, `/admin list`."""
    words = command_args(update).split()
    services = context.services
    tg_user = update.effective_user
    assert tg_user is not None
    actor = values.Actor(
        user_id=tg_user.id,
        is_bot_admin=tg_user.id in services.rules.admin_ids,
    )
    action = words[0].lower() if words else ""
    with session_scope(services.engine) as session:
        allowed = access.is_bot_admin(session, tg_user.id, services.rules)
        admin_list = admins.list_admins(session, rules=services.rules)
    if not allowed:
        await refuse(update, _("Only the bot's admins can change admins."))
        return
    if action == "list":
        lines = [_("Bot admins:")]
        for admin_id, user, from_settings in admin_list:
            name = people.display(user) if user else str(admin_id)
            origin = _("from ADMIN_IDS") if from_settings else _("added by command")
            lines.append(f"• {html.escape(name)} ({origin})")
        await reply(update, "\n".join(lines))
        return
    usage = _("Write /admin add @name, /admin remove @name or /admin list.")
    if action not in {"add", "remove"}:
        await refuse(update, usage)
        return
    target = _resolve_target(update, context, words[1:], usage)
    if target is None:
        await refuse(update, usage)
        return
    with session_scope(services.engine) as session:
        admins.set_admin(
            session,
            actor=actor,
            rules=services.rules,
            target_user_id=target,
            admin=action == "add",
            now=services.clock(),
        )
        user = session.get(User, target)
        name = people.display(user) if user else str(target)
    text = (
        _("{name} is now a bot admin.")
        if action == "add"
        else _("{name} is no longer a bot admin.")
    )
    await reply(update, text.format(name=html.escape(name)))
