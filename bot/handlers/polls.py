"""/poll in a group, its buttons (vote, my time zone, schedule), and the poll message's edits.

The group message is edited from the database, batched: a vote only bumps the poll's revision
(and its commit rings `plan_refresh`); `refresh_messages` edits each stale message at most once
every EDIT_GAP seconds, with whatever happened meanwhile, and never to identical content. So a
burst of votes costs a handful of edits of the group's 20 a minute, and none is lost.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from sqlmodel import Session
from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application

from bot.buttons import PollPick, PollSchedule, PollVote, PollZone
from bot.domain import chats, drafts, polls
from bot.domain.drafts import MeetingPreview
from bot.domain.people import user_zone
from bot.domain.polls import SlotTally
from bot.errors import NotAllowed
from bot.handlers.common import (
    BotContext,
    actor_for,
    command_args,
    guarded,
    is_private,
    keyboard_markup,
    not_for_you,
    pressed,
    refuse,
    reply,
)
from bot.handlers.scheduling import preview_message
from bot.i18n import (
    _,
    current_language,
    format_clock,
    format_duration,
    format_when,
    ngettext,
    pick_language,
    use_language,
)
from bot.messaging import Button, Keyboard, start_link
from storage.db import session_scope
from storage.models import Meeting, Poll, PollStatus, User

log = logging.getLogger(__name__)

# Seconds between two edits of one poll message: at most 6 a minute of the group's 20, however
# many people vote (the first vote after a quiet spell shows at once).
EDIT_GAP = 12.0
REFRESH_JOB = "poll-refresh"
CLOSE_JOB = "poll-close"
# The tables whose commits may leave a poll message behind what happened.
POLL_TABLES = frozenset({"poll", "poll_vote"})


# --- what the messages say -----------------------------------------------------------------


def _votes(count: int) -> str:
    return ngettext("{count} vote", "{count} votes", count).format(count=count)


def _short_when(moment: datetime, zone: str) -> str:
    """A slot on a button: weekday, day, month and time in the reader's language."""
    local = moment.astimezone(ZoneInfo(zone))
    day = format_skeleton("MMMEd", local, locale=current_language())
    return f"{day} {format_clock(moment, zone)}"


def _slot_line(tally: SlotTally, poll: Poll, zone: str) -> str:
    end = tally.starts_at + timedelta(minutes=poll.minutes)
    when = f"{format_when(tally.starts_at, zone, with_zone=False)}–{format_clock(end, zone)}"
    return f"{tally.position}. {html.escape(when)} — {_votes(tally.votes)}"


def render_poll(session: Session, poll: Poll) -> tuple[str, list[list[Button]]]:
    """The group message: slots with their votes, and the buttons its state allows."""
    assert poll.id is not None
    tallies = polls.tallies(session, poll)
    header = f"📊 <b>{html.escape(poll.title)}</b> · " + html.escape(
        format_duration(timedelta(minutes=poll.minutes))
    )
    lines = [header]
    if poll.status == PollStatus.DECIDED.value:
        meeting = session.get(Meeting, poll.meeting_id) if poll.meeting_id else None
        winner = next(tally for tally in tallies if tally.position == poll.winner)
        lines.append(
            _("✅ Scheduled: time {number}, {when} (meeting {code}).").format(
                number=winner.position,
                when=html.escape(format_when(winner.starts_at, poll.zone)),
                code=f"<code>{meeting.code}</code>" if meeting else "",
            )
            + " "
            + _("Everyone who voted for it is invited.")
        )
    elif poll.status == PollStatus.CLOSED.value:
        lines.append(_("🔒 Voting has closed."))
    else:
        lines.append(_("Vote for every time that suits you; tap again to take a vote back."))
    lines += [_slot_line(tally, poll, poll.zone) for tally in tallies]
    footer = _("Times in {zone}.").format(zone=html.escape(poll.zone))
    if poll.status == PollStatus.OPEN.value:
        footer += " " + _("Voting closes {when}.").format(
            when=html.escape(format_when(poll.closes_at, poll.zone, with_zone=False))
        )
    lines.append("🕒 " + footer)
    keyboard: list[list[Button]] = []
    if poll.status == PollStatus.OPEN.value:
        keyboard += [
            [
                Button(
                    f"{_short_when(tally.starts_at, poll.zone)} · {tally.votes}",
                    data=PollVote(poll.id, tally.position).encode(),
                )
            ]
            for tally in tallies
        ]
    if poll.status != PollStatus.DECIDED.value:
        keyboard.append(
            [
                Button(_("🕒 My time zone"), data=PollZone(poll.id).encode()),
                Button(_("📅 Schedule…"), data=PollSchedule(poll.id).encode()),
            ]
        )
    return "\n".join(lines), keyboard


def _fingerprint(text: str, keyboard: Keyboard) -> str:
    buttons = [[(button.text, button.data, button.url) for button in row] for row in keyboard]
    return hashlib.sha256(json.dumps([text, buttons]).encode()).hexdigest()


def _times_in_zone(session: Session, poll: Poll, user_id: int, zone: str) -> str:
    """The poll's times in one person's zone, with their own votes ticked."""
    mine = polls.my_votes(session, poll, user_id)
    lines = [
        f"📊 <b>{html.escape(poll.title)}</b>",
        _("The times in your zone ({zone}):").format(zone=html.escape(zone)),
    ]
    for tally in polls.tallies(session, poll):
        tick = " ✓" if tally.position in mine else ""
        lines.append(_slot_line(tally, poll, zone) + tick)
    lines.append(_("Not your zone? Set it with /timezone Europe/Berlin."))
    return "\n".join(lines)


def _group_language(context: BotContext, session: Session, chat_id: int) -> str:
    return (
        chats.chat_language(session, chat_id=chat_id) or context.services.settings.default_language
    )


# --- /poll ---------------------------------------------------------------------------------


@guarded
async def poll(update: Update, context: BotContext) -> None:
    """`/poll Title | mon 10:00; tue 15:00 | 45m | until friday`: a group votes on the times."""
    tg_user = update.effective_user
    chat = update.effective_chat
    assert tg_user is not None and chat is not None
    if is_private(update):
        await refuse(update, _("Send /poll in a group: the group votes on the times."))
        return
    services = context.services
    now = services.clock()
    with session_scope(services.engine) as session:
        writer = session.get(User, tg_user.id)
        zone = user_zone(writer, services.rules)
        own = pick_language(
            writer.language if writer else None,
            tg_user.language_code,
            services.settings.default_language,
        )
        languages = list(dict.fromkeys([own, current_language(), "en"]))
        request = polls.read_request(command_args(update), zone=zone, languages=languages, now=now)
        created = polls.create_poll(
            session, request=request, organizer_id=tg_user.id, chat_id=chat.id, now=now
        )
        text, keyboard = render_poll(session, created)
        poll_id = created.id
    message = await reply(update, text, keyboard)
    if message is None:
        return
    with session_scope(services.engine) as session:
        polls.attach_message(
            session,
            poll=polls.find_poll(session, poll_id or 0),
            message_id=message.message_id,
            shown=_fingerprint(text, keyboard),
        )


# --- the buttons ---------------------------------------------------------------------------


def _poll_of_message(session: Session, update: Update, poll_id: int) -> Poll:
    """The poll a button names, if the press came from that poll's group (forged data else)."""
    query = update.callback_query
    assert query is not None
    found = polls.find_poll(session, poll_id)
    chat_id = query.message.chat.id if query.message is not None else None
    if chat_id != found.chat_id:
        raise NotAllowed(not_for_you())
    return found


@guarded
async def vote_button(update: Update, context: BotContext) -> None:
    """A slot's button: vote for it, or take the vote back."""
    query = update.callback_query
    tg_user = update.effective_user
    assert query is not None and tg_user is not None
    button = pressed(update, PollVote)
    if button is None:
        raise NotAllowed(_("This button is no longer valid."))
    services = context.services
    now = services.clock()
    with session_scope(services.engine) as session:
        found = _poll_of_message(session, update, button.poll_id)
        message_id = query.message.message_id if query.message is not None else None
        if message_id != found.message_id:
            raise NotAllowed(not_for_you())
        voted = polls.toggle_vote(
            session, poll=found, position=button.position, user_id=tg_user.id, now=now
        )
    # The message catches up within EDIT_GAP (see refresh_messages); the toast is at once.
    if voted:
        await query.answer(_("Your vote for time {number} counts.").format(number=button.position))
    else:
        await query.answer(
            _("Your vote for time {number} is taken back.").format(number=button.position)
        )


@guarded
async def zone_button(update: Update, context: BotContext) -> None:
    """“My time zone”: the times privately in the presser's zone (or a way to start the bot)."""
    query = update.callback_query
    tg_user = update.effective_user
    assert query is not None and tg_user is not None
    button = pressed(update, PollZone)
    if button is None:
        raise NotAllowed(_("This button is no longer valid."))
    services = context.services
    with session_scope(services.engine) as session:
        found = _poll_of_message(session, update, button.poll_id)
        user = session.get(User, tg_user.id)
        reachable = bool(user and user.reachable and not user.blocked)
        payload = polls.start_payload(found)
        language = pick_language(
            user.language if user else None,
            tg_user.language_code,
            services.settings.default_language,
        )
        with use_language(language):
            text = _times_in_zone(session, found, tg_user.id, user_zone(user, services.rules))
    if reachable:
        try:
            await context.bot.send_message(
                tg_user.id, text, parse_mode=ParseMode.HTML, disable_web_page_preview=True
            )
        except Forbidden:
            reachable = False
    if not reachable:
        # Bots can't write first: the button opens the bot, whose /start shows the times.
        await query.answer(url=start_link(context.bot.username, payload))
        return
    await query.answer(_("I sent you the times privately."))


async def times_after_start(update: Update, context: BotContext, payload: str) -> bool:
    """/start from a poll's “My time zone”: the times in the person's zone; False if the
    payload names no poll."""
    tg_user = update.effective_user
    assert tg_user is not None
    services = context.services
    with session_scope(services.engine) as session:
        found = polls.find_by_start_token(session, payload)
        if found is None:
            return False
        zone = user_zone(session.get(User, tg_user.id), services.rules)
        text = _times_in_zone(session, found, tg_user.id, zone)
    await reply(update, text)
    return True


@guarded
async def schedule_button(update: Update, context: BotContext) -> None:
    """“Schedule…”: ask the organizer which slot (organizers only, checked on every press)."""
    query = update.callback_query
    assert query is not None
    button = pressed(update, PollSchedule)
    if button is None:
        raise NotAllowed(_("This button is no longer valid."))
    services = context.services
    with session_scope(services.engine) as session:
        chat_id = _poll_of_message(session, update, button.poll_id).chat_id
    actor = await actor_for(update, context, chat_id)
    with session_scope(services.engine) as session:
        found = polls.find_poll(session, button.poll_id)
        ahead = polls.schedulable_slots(
            session, poll=found, actor=actor, rules=services.rules, now=services.clock()
        )
        title, zone = found.title, found.zone
    await query.answer()
    await reply(
        update,
        _("Which time should I schedule for “{title}”?").format(title=html.escape(title)),
        [
            [
                Button(
                    f"{tally.position}. {_short_when(tally.starts_at, zone)} · "
                    + _votes(tally.votes),
                    data=PollPick(button.poll_id, tally.position).encode(),
                )
            ]
            for tally in ahead
        ],
    )


@guarded
async def pick_button(update: Update, context: BotContext) -> None:
    """A slot picked to schedule: the usual preview, whose Confirm invites the slot's voters."""
    query = update.callback_query
    tg_user = update.effective_user
    assert query is not None and tg_user is not None
    button = pressed(update, PollPick)
    if button is None:
        raise NotAllowed(_("This button is no longer valid."))
    services = context.services
    now = services.clock()
    with session_scope(services.engine) as session:
        chat_id = _poll_of_message(session, update, button.poll_id).chat_id
    actor = await actor_for(update, context, chat_id)
    with session_scope(services.engine) as session:
        found = polls.find_poll(session, button.poll_id)
        draft = polls.draft_for_slot(
            session,
            poll=found,
            position=button.position,
            actor=actor,
            rules=services.rules,
            now=now,
        )
        preview = MeetingPreview(draft, poll_id=button.poll_id, poll_slot=button.position)
        draft_id = drafts.save(
            session, value=preview, user_id=tg_user.id, chat_id=chat_id, now=now
        )
    text, keyboard = preview_message(preview, draft_id)
    await query.answer()
    await query.edit_message_text(
        text, parse_mode=ParseMode.HTML, reply_markup=keyboard_markup(keyboard)
    )


# --- keeping the group message up to date --------------------------------------------------


@dataclass
class _Edits:
    """When each poll message was last edited (this process's monotonic clock)."""

    last: dict[int, float] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _edits(application: Application[Any, Any, Any, Any, Any, Any]) -> _Edits:
    edits: _Edits = application.bot_data.setdefault("poll_edits", _Edits())
    return edits


def _gap(application: Application[Any, Any, Any, Any, Any, Any]) -> float:
    """EDIT_GAP, shortened like every rate limit for a sandbox whose limits are scaled up."""
    return EDIT_GAP / float(application.bot_data.get("rate_limit_scale", 1.0))


def plan_refresh(application: Application[Any, Any, Any, Any, Any, Any], wait: float) -> None:
    """Bring stale poll messages up to date in `wait` seconds (sooner if already planned)."""
    job_queue = application.job_queue
    if job_queue is None:
        return
    due = time.time() + wait
    for job in job_queue.get_jobs_by_name(REFRESH_JOB):
        if job.next_t is not None and job.next_t.timestamp() <= due:
            return
    job_queue.run_once(refresh_messages, when=max(wait, 0.0), name=REFRESH_JOB)


@dataclass(frozen=True)
class _Due:
    poll_id: int
    chat_id: int
    message_id: int
    revision: int
    text: str
    keyboard: list[list[Button]]
    fingerprint: str


async def refresh_messages(context: BotContext) -> None:
    """Edit the poll messages that fall behind, each at most once every EDIT_GAP seconds."""
    application = context.application
    edits = _edits(application)
    async with edits.lock:
        wait = await _refresh(context, edits, _gap(application))
    if wait is not None:
        plan_refresh(application, wait)


async def _refresh(context: BotContext, edits: _Edits, gap: float) -> float | None:
    """One round; returns the seconds until the next message may be edited, if one waits."""
    services = context.services
    waits: list[float] = []
    due: list[_Due] = []
    started = time.monotonic()
    # wakes=False: marking a message shown must not ring for another round.
    with session_scope(services.engine, wakes=False) as session:
        for stale in polls.stale_messages(session):
            assert stale.id is not None and stale.message_id is not None
            remaining = edits.last.get(stale.id, -gap) + gap - started
            if remaining > 0:
                waits.append(remaining)
                continue
            with use_language(_group_language(context, session, stale.chat_id)):
                text, keyboard = render_poll(session, stale)
            fingerprint = _fingerprint(text, keyboard)
            if fingerprint == stale.shown:
                # Votes and their take-backs cancelled out: nothing to show, nothing to send.
                polls.mark_shown(session, poll_id=stale.id, revision=stale.revision, shown=None)
                continue
            due.append(
                _Due(
                    stale.id,
                    stale.chat_id,
                    stale.message_id,
                    stale.revision,
                    text,
                    keyboard,
                    fingerprint,
                )
            )
    for item in due:
        shown: str | None = item.fingerprint
        try:
            await context.bot.edit_message_text(
                item.text,
                chat_id=item.chat_id,
                message_id=item.message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard_markup(item.keyboard),
                disable_web_page_preview=True,
            )
        except RetryAfter as error:
            retry = error.retry_after
            waits.append(retry if isinstance(retry, int | float) else retry.total_seconds())
            continue
        except BadRequest as error:
            if "not modified" not in error.message.lower():
                # Deleted, or too old to edit: nothing more can be shown there.
                log.warning("poll %s message can't be edited: %s", item.poll_id, error.message)
                shown = None
        except TelegramError as error:
            log.warning("poll %s message edit failed: %s", item.poll_id, error)
            waits.append(gap)
            continue
        edits.last[item.poll_id] = time.monotonic()
        with session_scope(services.engine, wakes=False) as session:
            polls.mark_shown(session, poll_id=item.poll_id, revision=item.revision, shown=shown)
        # A vote during the edit leaves the message stale: it waits for the next round.
        waits.append(gap)
    if not waits:
        return None
    with session_scope(services.engine, wakes=False) as session:
        if not polls.stale_messages(session):
            return None
    return min(waits)


async def close_due_polls(context: BotContext) -> None:
    """Close the polls whose deadline has passed (their messages say so with the next round)."""
    services = context.services
    with session_scope(services.engine) as session:
        closed = polls.close_due(session, now=services.clock())
    if closed:
        log.info("closed %d polls at their deadline", len(closed))
