"""Going / Maybe / Can't and Who buttons, /capacity, and the batched edits of group messages.

A group allows about 20 messages a minute, edits included, and an edit that changes nothing is
an error. So an answer never edits the group's message itself: it marks the message as owed
(bot.domain.rsvp, in the answer's own transaction), and the edit job brings each owed message
up to date at most once every EDIT_GAP seconds, many answers in one edit, skipping an edit
that would show what is already shown. The mark is in the database, so a restart or another
process catches up; the job is woken by the commit that sets it (storage.db.call_after_commit).
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.buttons import Rsvp, RsvpAction
from bot.domain import chats, deep_links, lookup, participation, rsvp
from bot.domain.access import participant_role
from bot.domain.notices import NoticeKind, queue_notices
from bot.errors import NotAllowed
from bot.handlers.common import (
    BotContext,
    actor_for_meeting,
    command_args,
    guarded,
    not_for_you,
    pressed,
    refuse,
    reply,
)
from bot.handlers.messenger import TelegramMessenger
from bot.i18n import _, use_language
from bot.messaging import Button, Rejected, RetryLater, SendError, start_link
from bot.render import render_announcement, render_capacity_change, render_who
from storage.db import call_after_commit, session_scope
from storage.models import Announcement, Meeting, User

log = logging.getLogger(__name__)

# Seconds between two edits of one group message: 10 a minute at most, half a group's budget.
EDIT_GAP = 6.0
EDIT_JOB = "announcement-edit"
ANSWER_LIMIT = 200  # characters Telegram shows in a button's answer
_ANSWERS = {
    RsvpAction.GOING: rsvp.Answer.GOING,
    RsvpAction.MAYBE: rsvp.Answer.MAYBE,
    RsvpAction.CANT: rsvp.Answer.CANT,
}


# --- the buttons ---------------------------------------------------------------------------


@guarded
async def rsvp_button(update: Update, context: BotContext) -> None:
    """Going, Maybe, Can't or Who, under a group's message or a private invitation."""
    query = update.callback_query
    tg_user = update.effective_user
    assert query is not None and tg_user is not None
    button = pressed(update, Rsvp)
    if button is None:
        raise NotAllowed(not_for_you())
    services = context.services
    now = services.clock()
    chat_id = query.message.chat.id if query.message is not None else None
    with session_scope(services.engine) as session:
        meeting = lookup.find_meeting(session, button.code)
        in_its_group = meeting.chat_id is not None and meeting.chat_id == chat_id
        if not in_its_group and chat_id != tg_user.id:
            # A forged press from another chat: only the meeting's group and invitations.
            raise NotAllowed(not_for_you())
        if button.action is RsvpAction.WHO:
            if not in_its_group and participant_role(session, meeting, tg_user.id) is None:
                raise NotAllowed(not_for_you())
            who = render_who(rsvp.counts(session, meeting))
            reachable = _reachable(session, tg_user.id)
        else:
            answer = _ANSWERS[button.action]
            newcomer = participant_role(session, meeting, tg_user.id) is None
            joins = in_its_group and newcomer and answer is not rsvp.Answer.CANT
            if joins and not _reachable(session, tg_user.id):
                # Bots can't write first: the button opens the bot, /start finishes the join.
                payload = deep_links.deep_link(session, meeting=meeting, kind="join", now=now)
                await query.answer(url=start_link(context.bot.username, payload))
                return
            outcome = participation.answer(
                session,
                meeting=meeting,
                user_id=tg_user.id,
                answer=answer,
                now=now,
                may_join=in_its_group,
            )
            if outcome.joined and answer is not rsvp.Answer.CANT:
                # The group only sees the toast; the details and calendar go to the private chat.
                kind = (
                    NoticeKind.JOINED if outcome.waitlist_place is None else NoticeKind.WAITLISTED
                )
                queue_notices(session, meeting=meeting, kind=kind, now=now, user_ids=[tg_user.id])
    if button.action is RsvpAction.WHO:
        await _show_who(update, context, who, reachable=reachable)
        return
    await query.answer(_answer_text(outcome), show_alert=outcome.waitlist_place is not None)


def _reachable(session: Any, user_id: int) -> bool:
    user = session.get(User, user_id)
    return bool(user and user.reachable)


def _answer_text(outcome: rsvp.Outcome) -> str:
    if outcome.waitlist_place is not None:
        return _(
            "The meeting is full: you are number {place} on the waitlist. "
            "I'll tell you when a seat is free."
        ).format(place=outcome.waitlist_place)
    if outcome.answer is rsvp.Answer.CANT:
        return _("Noted: you can't come. No link and no reminders; you can change your mind.")
    if outcome.answer is rsvp.Answer.MAYBE:
        return _("Noted: maybe. Your personal link still comes privately before the start.")
    if outcome.joined:
        return _("You joined. Your personal link comes privately before the start.")
    return _("Noted: you're going. Your personal link comes privately before the start.")


async def _show_who(update: Update, context: BotContext, who: str, *, reachable: bool) -> None:
    """The names: in the button's answer when they fit, else privately (or cut short)."""
    query = update.callback_query
    tg_user = update.effective_user
    assert query is not None and tg_user is not None
    if len(who) <= ANSWER_LIMIT:
        await query.answer(who, show_alert=True)
    elif reachable:
        await context.bot.send_message(tg_user.id, html.escape(who))
        await query.answer(_("The list is long: I sent it to you privately."))
    else:
        await query.answer(who[: ANSWER_LIMIT - 1] + "…", show_alert=True)


# --- /capacity -----------------------------------------------------------------------------


@guarded
async def capacity(update: Update, context: BotContext) -> None:
    """`/capacity CODE 20` or `/capacity CODE off`: the seats of a meeting (owners only)."""
    words = command_args(update).split()
    usage = _("Write /capacity CODE 20 (at most 20 people, owners aside) or /capacity CODE off.")
    if len(words) != 2:
        await refuse(update, usage)
        return
    code, seats = words[0], rsvp.read_capacity(words[1])
    actor = await actor_for_meeting(update, context, code)
    services = context.services
    with session_scope(services.engine) as session:
        meeting = lookup.find_meeting(session, code)
        change = rsvp.set_capacity(
            session, meeting=meeting, actor=actor, capacity=seats, now=services.clock()
        )
        code = meeting.code
    await reply(update, html.escape(render_capacity_change(change, code)))


# --- the group messages --------------------------------------------------------------------


def announce(
    session: Any,
    *,
    meeting: Meeting,
    chat_id: int,
    message_id: int,
    organizer_name: str,
    my_link: str,
) -> tuple[str, list[list[Button]]]:
    """The new meeting's group message (text and buttons), remembered for later edits."""
    text, keyboard = render_announcement(
        meeting,
        session,
        organizer_name=organizer_name,
        counts=rsvp.counts(session, meeting),
        my_link=my_link,
    )
    rsvp.announce(
        session,
        meeting=meeting,
        chat_id=chat_id,
        message_id=message_id,
        organizer_name=organizer_name,
        shown=_fingerprint(text, keyboard),
    )
    return text, keyboard


def watch_announcements(
    application: Application[Any, Any, Any, Any, Any, Any],
) -> Callable[[], None]:
    """Wake the edit job after every commit that marks a group message as owed; returns the
    function that stops it. Runs the job once now, for marks left before a restart."""
    services = application.bot_data["services"]
    job_queue = application.job_queue
    assert job_queue is not None
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()

    def run_soon() -> None:
        # A job already waiting (for the gap to pass) will see this mark too.
        if not job_queue.get_jobs_by_name(EDIT_JOB):
            job_queue.run_once(edit_announcements, when=0, name=EDIT_JOB)

    def wake() -> None:
        if threading.get_ident() == loop_thread:
            run_soon()
        else:
            loop.call_soon_threadsafe(run_soon)

    run_soon()
    return call_after_commit(services.engine, {str(Announcement.__tablename__)}, wake)


async def edit_announcements(context: BotContext) -> None:
    """Bring owed group messages up to date, each at most once every EDIT_GAP seconds."""
    services = context.services
    bot_data = context.application.bot_data
    gap = EDIT_GAP / float(bot_data.get("rate_limit_scale", 1.0))
    last_edit: dict[int, float] = bot_data.setdefault("announcement_edits", {})
    messenger = TelegramMessenger(context.bot)
    now = time.monotonic()
    later: list[float] = []
    with session_scope(services.engine, wakes=False) as session:
        edits = []
        for row, meeting in rsvp.owed_announcements(session):
            assert row.id is not None
            ready_at = last_edit.get(row.id, float("-inf")) + gap
            if ready_at > now:
                later.append(ready_at)
                continue
            language = chats.chat_language(session, chat_id=row.chat_id)
            with use_language(language or services.settings.default_language):
                link = start_link(
                    context.bot.username,
                    deep_links.deep_link(
                        session, meeting=meeting, kind="link", now=services.clock()
                    ),
                )
                text, keyboard = render_announcement(
                    meeting,
                    session,
                    organizer_name=row.organizer_name,
                    counts=rsvp.counts(session, meeting),
                    my_link=link,
                )
            shown = _fingerprint(text, keyboard)
            if shown == row.shown:
                # Back to what it shows (Going, then Maybe, then Going again): no edit.
                rsvp.announcement_shown(
                    session, announcement_id=row.id, revision=row.revision, shown=shown
                )
                continue
            edits.append(
                (row.id, row.chat_id, row.message_id, row.revision, text, keyboard, shown)
            )
            # Counted from now: another run of this job must not edit it too meanwhile.
            last_edit[row.id] = now
    for announcement_id, chat_id, message_id, revision, text, keyboard, shown in edits:
        try:
            await messenger.edit(chat_id, message_id, text, keyboard)
        except RetryLater as error:
            later.append(time.monotonic() + error.seconds)
            continue
        except Rejected as error:
            log.warning("group message %s can't be edited: %s", announcement_id, error)
            with session_scope(services.engine, wakes=False) as session:
                rsvp.forget_announcement(session, announcement_id=announcement_id)
            continue
        except SendError:
            later.append(time.monotonic() + gap)
            continue
        with session_scope(services.engine, wakes=False) as session:
            rsvp.announcement_shown(
                session, announcement_id=announcement_id, revision=revision, shown=shown
            )
        # Changed again while this edit was on its way: come back after the gap.
        later.append(time.monotonic() + gap)
    _come_back(context, later)


def _come_back(context: BotContext, moments: list[float]) -> None:
    """Run the job again at the earliest moment something may be owed."""
    if not moments or context.job_queue is None:
        return
    with session_scope(context.services.engine, wakes=False) as session:
        if not rsvp.owed_announcements(session):
            return
    wait = max(0.0, min(moments) - time.monotonic())
    # PTB types job callbacks by the default context; ours is a subclass of it.
    context.job_queue.run_once(edit_announcements, when=wait, name=EDIT_JOB)  # type: ignore[arg-type]


def _fingerprint(text: str, keyboard: list[list[Button]]) -> str:
    """A short digest of what a message shows, to tell whether an edit would change it."""
    buttons = [[(button.text, button.url, button.data) for button in row] for row in keyboard]
    return hashlib.sha256(repr((text, buttons)).encode()).hexdigest()[:32]
