"""Personal links before each meeting: planned in the database, claimed atomically, never lost.

The Delivery table is the to-do list. A sweep (at start-up, then every minute, and whenever
something changes) claims rows that are due, sends each person their link, and records the
outcome. A row is marked `sending` before the API call and `sent` after it, so a crash in
between sends that link again on restart: a duplicate beats a lost link.

Large fan-outs start early: the sweep looks ahead, gives every pending link the latest moment
it can start so that, at the rate Telegram allows, all go out by their due times (earliest
deadline first across meetings), and releases each a little before that moment.

The organizer's summary and the group's "Get my link" note are rows too (LinkSummary): planned
with a sitting's first claimed link, claimed and retried like links once none of the sitting's
links is in flight. The same sweep sends the Notice rows the domain writes with every change
(invited, moved, cancelled ...), so the news of a change is as durable as the change, and
the early Reminder rows (bot.domain.reminders: planned per sitting, never a link), claimed the
same way once due.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, true, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.delivery import planning
from bot.delivery.pacing import (
    BATCH_WINDOW,
    DEFAULT_SEND_RATE,
    LOOK_AHEAD,
    release_times,
    released_count,
)
from bot.delivery.texts import (
    Tally,
    join_button,
    render_group_note,
    render_link_message,
    render_reminder,
    render_summary,
)
from bot.domain import attendance, deep_links, links, people, rooms, sittings
from bot.domain import reminders as early
from bot.domain.values import Occurrence, Rules
from bot.i18n import _, pick_language, use_language
from bot.jitsi import LinkSigner, Role
from bot.messaging import (
    Button,
    Keyboard,
    Messenger,
    Rejected,
    RetryLater,
    SendError,
    Unreachable,
    start_link,
)
from bot.render import app_url, link_keyboard, notice_keyboard, render_notice
from storage import heartbeat
from storage.db import session_scope
from storage.models import (
    ChatSettings,
    Delivery,
    DeliveryStatus,
    LinkSummary,
    LinkSummaryKind,
    Meeting,
    MeetingStatus,
    Notice,
    Participant,
    Reminder,
    User,
)

log = logging.getLogger(__name__)

# The tables whose rows this module sends: a commit that writes one wakes the sweep.
OUTBOX_TABLES = frozenset(
    str(table.__tablename__) for table in (Delivery, Notice, LinkSummary, Reminder)
)

# A row left `sending` this long was abandoned by a task that died; send it again.
STALE_SENDING = timedelta(minutes=5)
MAX_BACKOFF = timedelta(seconds=60)
BATCH_SIZE = 200
OUTCOMES_PER_WRITE = 25


@dataclass(frozen=True)
class OutgoingLink:
    """A claimed personal link, ready to send."""

    delivery_id: int
    user_id: int
    meeting_id: int
    text: str
    attempts: int
    due_at: datetime
    occurrence_start: datetime
    keyboard: Keyboard = ()


@dataclass(frozen=True)
class OutgoingNotice:
    """A claimed notice about a change, ready to send."""

    notice_id: int
    user_id: int
    text: str
    keyboard: Keyboard


@dataclass(frozen=True)
class OutgoingReminder:
    """A claimed early reminder, ready to send."""

    reminder_id: int
    user_id: int
    text: str
    keyboard: Keyboard
    attempts: int


@dataclass(frozen=True)
class OutgoingSummary:
    """A claimed organizer summary or group note, ready to send (or to edit, with message_id)."""

    summary_id: int
    chat_id: int
    message_id: int | None
    text: str
    keyboard: Keyboard
    fingerprint: str
    revision: int
    attempts: int


@dataclass
class SweepReport:
    """What one sweep did."""

    sent: int = 0
    notices: int = 0
    unreachable: int = 0
    retried: int = 0
    summaries: int = 0
    reminders: int = 0
    next_due: datetime | None = None
    # Sittings (meeting id, start) whose links moved on since their group note was brought
    # up to date.
    sittings: set[tuple[int, datetime]] = field(default_factory=set)


class DeliveryService:
    """Sends due personal links and the summaries that follow them."""

    def __init__(
        self,
        *,
        engine: Engine,
        signer: LinkSigner,
        rules: Rules,
        messenger: Messenger,
        clock: Callable[[], datetime],
        default_language: str,
        concurrency: int = 25,
        paid_broadcast: bool = False,
        send_rate: float = DEFAULT_SEND_RATE,
        look_ahead: timedelta = LOOK_AHEAD,
    ) -> None:
        self._engine = engine
        self._signer = signer
        self._rules = rules
        self._messenger = messenger
        self._clock = clock
        self._default_language = default_language
        self._concurrency = concurrency
        self._paid_broadcast = paid_broadcast
        # Messages a second the sender sustains, for planning how early a fan-out must start.
        self._send_rate = send_rate
        self._look_ahead = look_ahead
        # One sweep at a time in this process; the database claim guards against others.
        self._lock = asyncio.Lock()
        # When the sweep last planned the series' early reminders (it does so now and then).
        self._reminders_planned_at: datetime | None = None

    # --- start-up ------------------------------------------------------------------------

    def recover_after_restart(self) -> int:
        """Put links, summaries and notices a previous process left `sending` back in the
        queue; returns how many links that was."""
        with session_scope(self._engine, wakes=False) as session:
            for table in (Notice, LinkSummary, Reminder):
                session.execute(
                    update(table)
                    .where(col(table.status) == DeliveryStatus.SENDING.value)
                    .values(status=DeliveryStatus.PENDING.value)
                )
            result = session.execute(
                update(Delivery)
                .where(col(Delivery.status) == DeliveryStatus.SENDING)
                .values(status=DeliveryStatus.PENDING)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    # --- the sweep -----------------------------------------------------------------------

    async def sweep(self) -> SweepReport:
        """Plan the next sittings of series, send everything due, and report what is next."""
        async with self._lock:
            now = self._clock()
            self._plan_series(now)
            self._plan_reminders(now)
            report = SweepReport()
            while True:
                batch = self._claim_due(now)
                if not batch:
                    break
                await self._send_batch(batch, report)
                # A sitting whose links are all out hears about it now, not after the fan-out.
                await self._send_summaries(report)
                now = self._clock()
                heartbeat.record_sweep(self._engine, now)  # alive also during a long fan-out
            await self._send_notices(report)
            await self._send_reminders(report)
            await self._send_summaries(report)
            report.next_due = self._next_due(self._clock())
            heartbeat.record_sweep(self._engine, self._clock())
            return report

    def _plan_series(self, now: datetime) -> None:
        """Roll series on to their next sitting once the planned one is over.

        Single meetings are planned when they change. A series whose planned sitting has not
        ended yet is skipped with one grouped query, so a sweep stays cheap with many series.
        """
        with session_scope(self._engine, wakes=False) as session:
            latest_planned = dict(
                session.exec(
                    select(Delivery.meeting_id, func.max(Delivery.occurrence_start))
                    .where(col(Delivery.status) != DeliveryStatus.CANCELLED)
                    .group_by(col(Delivery.meeting_id))
                ).all()
            )
            series = session.exec(
                select(Meeting).where(
                    Meeting.status == MeetingStatus.SCHEDULED, col(Meeting.rrule).is_not(None)
                )
            ).all()
            for meeting in series:
                planned = latest_planned.get(meeting.id or 0)
                length = meeting.ends_at - meeting.starts_at
                if planned is not None and _as_utc(planned) + length > now:
                    continue
                occurrence = sittings.occurrence_after(session, meeting, now)
                if occurrence is None:
                    continue
                if meeting.summary_occurrence and meeting.summary_occurrence != occurrence.start:
                    meeting.summary_occurrence = None
                    session.add(meeting)
                planning.plan_deliveries(session, meeting=meeting, now=now)

    def _plan_reminders(self, now: datetime) -> None:
        """Plan the early reminders of the series' sittings coming within reach, now and then
        (single meetings are planned when they change)."""
        last = self._reminders_planned_at
        if last is not None and last <= now < last + early.REPLAN_EVERY:
            return
        with session_scope(self._engine, wakes=False) as session:
            early.plan_series_reminders(session, now=now)
        self._reminders_planned_at = now

    def _claim_due(self, now: datetime) -> list[int]:
        """Atomically move released rows to `sending`, earliest due first and owners first
        within a meeting; plans the summaries of sittings whose first links these are.
        Returns the ids this sweep owns."""
        with session_scope(self._engine, wakes=False) as session:
            releases = release_times(self._planned_dues(session, now), self._send_rate)
            if not released_count(releases, now):
                return []
            released = released_count(releases, now + BATCH_WINDOW)
            candidates = session.exec(
                select(Delivery.id)
                .join(Participant, _is_participant_of(Delivery), isouter=True)
                .where(self._in_plan(now))
                .order_by(col(Delivery.due_at), col(Participant.role).desc(), col(Delivery.id))
                .limit(min(released, BATCH_SIZE))
            ).all()
            if not candidates:
                return []
            # One conditional UPDATE for the batch: a row another sweep took meanwhile no
            # longer matches the condition and is not returned, so nobody sends it twice.
            taken = session.execute(
                update(Delivery)
                .where(col(Delivery.id).in_(candidates), _claimable_link(now))
                .values(
                    status=DeliveryStatus.SENDING,
                    attempts=col(Delivery.attempts) + 1,
                    updated_at=now,
                )
                .returning(
                    col(Delivery.id), col(Delivery.meeting_id), col(Delivery.occurrence_start)
                )
            ).all()
            _plan_summaries(session, {(row[1], row[2]) for row in taken}, now)
            claimed = {row[0] for row in taken}
            return [
                delivery_id
                for delivery_id in candidates
                if delivery_id is not None and delivery_id in claimed
            ]

    def _planned_dues(self, session: Session, now: datetime) -> list[datetime]:
        """Due times of the links to send within the look-ahead, earliest first (one query)."""
        return list(
            session.exec(
                select(Delivery.due_at).where(self._in_plan(now)).order_by(col(Delivery.due_at))
            ).all()
        )

    def _in_plan(self, now: datetime) -> Any:
        """Links to send that fall due within the look-ahead. A link waiting to be tried again
        (after a 429 or an error) is not among them before its time: early would fail again."""
        return and_(
            _claimable_link(now),
            col(Delivery.due_at) <= now + self._look_ahead,
            or_(col(Delivery.error).is_(None), col(Delivery.due_at) <= now),
        )

    async def _send_batch(self, delivery_ids: list[int], report: SweepReport) -> None:
        now = self._clock()
        with session_scope(self._engine, wakes=False) as session:
            outgoing = self._prepare(session, delivery_ids, now)
        # Bounded concurrency: the rate limiter paces the requests, this only caps open ones.
        semaphore = asyncio.Semaphore(self._concurrency)
        outcomes: list[dict[str, Any]] = []

        async def send_one(link: OutgoingLink) -> None:
            async with semaphore:
                outcomes.append(await self._deliver(link, report))
                # Outcomes are written a few at a time: one commit per link would cost more
                # than the send, and a crash only means these few go out once more.
                if len(outcomes) >= OUTCOMES_PER_WRITE:
                    self._record(outcomes)
                    outcomes.clear()

        await asyncio.gather(*(send_one(link) for link in outgoing))
        self._record(outcomes)

    async def _deliver(self, link: OutgoingLink, report: SweepReport) -> dict[str, Any]:
        """Send one link; returns the row's new values."""
        report.sittings.add((link.meeting_id, link.occurrence_start))
        now = self._clock()
        values: dict[str, Any] = {
            "id": link.delivery_id,
            "status": DeliveryStatus.SENT,
            "message_id": None,
            "error": None,
            "due_at": link.due_at,
            "updated_at": now,
        }
        try:
            values["message_id"] = await self._messenger.send(
                link.user_id, link.text, link.keyboard, broadcast=self._paid_broadcast, bulk=True
            )
        except Unreachable as error:
            values.update(status=DeliveryStatus.UNREACHABLE, error=str(error)[:200])
            with session_scope(self._engine, wakes=False) as session:
                people.set_reachable(
                    session, user_id=link.user_id, reachable=False, blocked=error.blocked
                )
            report.unreachable += 1
        except Rejected as error:
            values.update(status=DeliveryStatus.FAILED, error=str(error)[:200])
            log.error("link for delivery %s rejected: %s", link.delivery_id, error)
        except RetryLater as error:
            wait = timedelta(seconds=error.seconds)
            values.update(status=DeliveryStatus.PENDING, due_at=now + wait, error=str(error))
            report.retried += 1
        except SendError as error:
            wait = min(timedelta(seconds=2 ** min(link.attempts, 6) / 2), MAX_BACKOFF)
            values.update(status=DeliveryStatus.PENDING, due_at=now + wait, error=str(error)[:200])
            report.retried += 1
        else:
            report.sent += 1
        return values

    def _record(self, outcomes: list[dict[str, Any]]) -> None:
        """Write the outcomes of sent links in one transaction (an UPDATE per row, by id)."""
        if outcomes:
            with session_scope(self._engine, wakes=False) as session:
                session.execute(update(Delivery), outcomes)

    def _prepare(
        self, session: Session, delivery_ids: list[int], now: datetime
    ) -> list[OutgoingLink]:
        """Recipients and texts of claimed rows, in claim order; rows that should no longer go
        out (cancelled meeting, person left, meeting over) are closed here."""
        rows = session.exec(
            select(Delivery, Meeting, User, Participant)
            .join(Meeting, col(Meeting.id) == col(Delivery.meeting_id))
            .join(User, col(User.id) == col(Delivery.user_id), isouter=True)
            .join(Participant, _is_participant_of(Delivery), isouter=True)
            .where(
                col(Delivery.id).in_(delivery_ids),
                col(Delivery.status) == DeliveryStatus.SENDING,
            )
        ).all()
        by_id = {row[0].id: row for row in rows}
        outgoing = []
        for delivery_id in delivery_ids:
            if delivery_id not in by_id:
                continue
            row, meeting, user, participant = by_id[delivery_id]
            if user is None or participant is None or meeting.status is MeetingStatus.CANCELLED:
                row.status = DeliveryStatus.CANCELLED
                session.add(row)
                continue
            length = meeting.ends_at - meeting.starts_at
            occurrence = Occurrence(row.occurrence_start, row.occurrence_start + length)
            if occurrence.end <= now:
                row.status = DeliveryStatus.FAILED
                row.error = (row.error or "") + " (meeting ended before the link could go out)"
                session.add(row)
                continue
            link = links.personal_link(
                session,
                signer=self._signer,
                meeting=meeting,
                participant=participant,
                user=user,
                occurrence=occurrence,
                rules=self._rules,
                now=now,
            )
            language = pick_language(user.language, user.telegram_language, self._default_language)
            with use_language(language):
                text = render_link_message(
                    meeting=meeting,
                    occurrence=occurrence,
                    role=Role(participant.role),
                    link=link,
                    zone=people.user_zone(user, self._rules),
                    reason=row.reason,
                    now=now,
                    click_time=self._rules.public_url is not None,
                    bound=self._rules.bind_links,
                )
                keyboard = link_keyboard(meeting, self._messenger.bot_username)
                if self._rules.bind_links:
                    # Always a private chat: links go to a person's own chat with the bot.
                    keyboard = [[join_button(link)], *keyboard]
            outgoing.append(
                OutgoingLink(
                    delivery_id,
                    user.id,
                    row.meeting_id,
                    text,
                    row.attempts,
                    row.due_at,
                    row.occurrence_start,
                    keyboard=keyboard,
                )
            )
        return outgoing

    def _next_due(self, now: datetime) -> datetime | None:
        """When the next link is released or retried, or the next summary retried (None:
        nothing planned)."""
        with Session(self._engine) as session:
            releases = release_times(self._planned_dues(session, now), self._send_rate)
            upcoming = list(releases[released_count(releases, now) :])
            retry = _earliest(
                session,
                Delivery.due_at,
                _claimable_link(now),
                col(Delivery.error).is_not(None),
                col(Delivery.due_at) > now,
            )
            beyond = _earliest(
                session,
                Delivery.due_at,
                _claimable_link(now),
                col(Delivery.due_at) > now + self._look_ahead,
            )
            summary_retry = _earliest(
                session,
                LinkSummary.due_at,
                col(LinkSummary.status) == DeliveryStatus.PENDING.value,
                col(LinkSummary.due_at) > now,
            )
            reminder = _earliest(
                session,
                Reminder.due_at,
                col(Reminder.status) == DeliveryStatus.PENDING.value,
                col(Reminder.due_at) > now,
            )
            # Room notices fall due later (the attendance report, "people are waiting").
            notice = _earliest(
                session,
                Notice.due_at,
                col(Notice.status) == DeliveryStatus.PENDING.value,
                col(Notice.due_at) > now,
            )
        if beyond is not None:
            # Planned once it comes within the look-ahead.
            upcoming.append(beyond - self._look_ahead)
        upcoming += [
            moment for moment in (retry, summary_retry, reminder, notice) if moment is not None
        ]
        return min(upcoming, default=None)

    # --- notices about changes ----------------------------------------------------------

    async def _send_notices(self, report: SweepReport) -> None:
        """Send the notices owed about changes (invited, moved, cancelled ...)."""
        semaphore = asyncio.Semaphore(self._concurrency)

        async def send_one(notice: OutgoingNotice) -> None:
            async with semaphore:
                await self._send_notice(notice, report)

        while True:
            with session_scope(self._engine, wakes=False) as session:
                outgoing = self._claim_notices(session, self._clock())
            if not outgoing:
                return
            await asyncio.gather(*(send_one(notice) for notice in outgoing))

    def _claim_notices(self, session: Session, now: datetime) -> list[OutgoingNotice]:
        candidates = session.exec(
            select(Notice.id)
            .where(_claimable_notice(now))
            .order_by(col(Notice.id))
            .limit(BATCH_SIZE)
        ).all()
        if not candidates:
            return []
        # A claimed notice's due_at becomes the moment of the claim, so one left `sending` by
        # a process that died is taken again later, even while another process runs.
        taken = set(
            session.execute(
                update(Notice)
                .where(col(Notice.id).in_(candidates), _claimable_notice(now))
                .values(
                    status=DeliveryStatus.SENDING,
                    attempts=col(Notice.attempts) + 1,
                    due_at=now,
                )
                .returning(col(Notice.id))
            ).scalars()
        )
        rows = session.exec(
            select(Notice, Meeting, User, Participant)
            .join(Meeting, col(Meeting.id) == col(Notice.meeting_id))
            .join(User, col(User.id) == col(Notice.user_id))
            .join(Participant, _is_participant_of(Notice), isouter=True)
            .where(col(Notice.id).in_(taken))
            .order_by(col(Notice.id))
        ).all()
        outgoing: list[OutgoingNotice] = []
        for notice, meeting, user, participant in rows:
            assert notice.id is not None
            language = pick_language(user.language, user.telegram_language, self._default_language)
            role = Role(participant.role) if participant is not None else None
            if notice.kind in rooms.ROOM_NOTICE_KINDS:
                with use_language(language):
                    room_text = attendance.render_room_notice(
                        session,
                        notice=notice,
                        meeting=meeting,
                        user=user,
                        participant=participant,
                        signer=self._signer,
                        rules=self._rules,
                        now=now,
                    )
                if room_text is None:  # no longer true (an owner came, everyone left)
                    notice.status = DeliveryStatus.CANCELLED.value
                    session.add(notice)
                else:
                    outgoing.append(OutgoingNotice(notice.id, user.id, room_text, []))
                continue
            with use_language(language):
                zone = people.user_zone(user, self._rules)
                text = render_notice(notice, meeting, session, zone, now, role)
                public_url = self._rules.public_url
                keyboard = notice_keyboard(
                    notice.kind,
                    meeting,
                    self._messenger.bot_username,
                    mini_app=app_url(public_url) if public_url else None,
                )
            outgoing.append(OutgoingNotice(notice.id, user.id, text, keyboard))
        return outgoing

    async def _send_notice(self, notice: OutgoingNotice, report: SweepReport) -> None:
        status, error, due_at = DeliveryStatus.SENT, None, self._clock()
        try:
            await self._messenger.send(notice.user_id, notice.text, notice.keyboard, bulk=True)
        except Unreachable as failure:
            status, error = DeliveryStatus.UNREACHABLE, str(failure)
        except Rejected as failure:
            status, error = DeliveryStatus.FAILED, str(failure)
        except RetryLater as failure:
            status, error = DeliveryStatus.PENDING, str(failure)
            due_at += timedelta(seconds=failure.seconds)
        except SendError as failure:
            status, error = DeliveryStatus.PENDING, str(failure)
            due_at += timedelta(seconds=2)
        if status is DeliveryStatus.SENT:
            report.notices += 1
        with session_scope(self._engine, wakes=False) as session:
            session.execute(
                update(Notice)
                .where(col(Notice.id) == notice.notice_id)
                .values(status=status, error=error and error[:200], due_at=due_at)
            )

    # --- early reminders ---------------------------------------------------------------

    async def _send_reminders(self, report: SweepReport) -> None:
        """Send the early reminders that are due (after the links: those come first)."""
        semaphore = asyncio.Semaphore(self._concurrency)

        async def send_one(reminder: OutgoingReminder) -> None:
            async with semaphore:
                await self._send_reminder(reminder, report)

        while True:
            with session_scope(self._engine, wakes=False) as session:
                claimed, outgoing = self._claim_reminders(session, self._clock())
            if not claimed:
                return
            await asyncio.gather(*(send_one(reminder) for reminder in outgoing))

    def _claim_reminders(
        self, session: Session, now: datetime
    ) -> tuple[int, list[OutgoingReminder]]:
        """Claim due reminders (and abandoned ones) with one conditional UPDATE, and render
        them; rows that should no longer go out are closed here. Returns how many rows were
        claimed, and those to send."""
        claimable = _claimable_reminder(now)
        candidates = session.exec(
            select(Reminder.id)
            .where(claimable)
            .order_by(col(Reminder.due_at), col(Reminder.id))
            .limit(BATCH_SIZE)
        ).all()
        if not candidates:
            return 0, []
        taken = set(
            session.execute(
                update(Reminder)
                .where(col(Reminder.id).in_(candidates), claimable)
                .values(
                    status=DeliveryStatus.SENDING.value,
                    attempts=col(Reminder.attempts) + 1,
                    updated_at=now,
                )
                .returning(col(Reminder.id))
            ).scalars()
        )
        rows = session.exec(
            select(Reminder, Meeting, User, Participant)
            .join(Meeting, col(Meeting.id) == col(Reminder.meeting_id))
            .join(User, col(User.id) == col(Reminder.user_id), isouter=True)
            .join(Participant, _is_participant_of(Reminder), isouter=True)
            .where(col(Reminder.id).in_(taken))
            .order_by(col(Reminder.due_at), col(Reminder.id))
        ).all()
        outgoing: list[OutgoingReminder] = []
        for row, meeting, user, participant in rows:
            assert row.id is not None
            row.updated_at = now
            session.add(row)
            if (
                user is None
                or participant is None
                or not early.still_wanted(
                    session, row=row, meeting=meeting, user=user, participant=participant, now=now
                )
            ):
                row.status = DeliveryStatus.CANCELLED.value
                continue
            if now >= row.occurrence_start - timedelta(minutes=meeting.remind_before_minutes):
                # Too late (the bot was down): the personal link message is the reminder now.
                row.status, row.error = DeliveryStatus.FAILED.value, "too late for a reminder"
                continue
            length = meeting.ends_at - meeting.starts_at
            occurrence = Occurrence(row.occurrence_start, row.occurrence_start + length)
            language = pick_language(user.language, user.telegram_language, self._default_language)
            with use_language(language):
                text = render_reminder(
                    meeting=meeting,
                    occurrence=occurrence,
                    zone=people.user_zone(user, self._rules),
                    now=now,
                )
                keyboard = link_keyboard(meeting, self._messenger.bot_username)
            outgoing.append(OutgoingReminder(row.id, user.id, text, keyboard, row.attempts))
        return len(taken), outgoing

    async def _send_reminder(self, reminder: OutgoingReminder, report: SweepReport) -> None:
        """Send one early reminder and record the outcome."""
        now = self._clock()
        values: dict[str, Any] = {"status": DeliveryStatus.SENT.value, "error": None}
        try:
            values["message_id"] = await self._messenger.send(
                reminder.user_id, reminder.text, reminder.keyboard, bulk=True
            )
        except Unreachable as error:
            values.update(status=DeliveryStatus.UNREACHABLE.value, error=str(error)[:200])
            with session_scope(self._engine, wakes=False) as session:
                people.set_reachable(
                    session, user_id=reminder.user_id, reachable=False, blocked=error.blocked
                )
        except Rejected as error:
            values.update(status=DeliveryStatus.FAILED.value, error=str(error)[:200])
            log.error("reminder %s rejected: %s", reminder.reminder_id, error)
        except RetryLater as error:
            values.update(
                status=DeliveryStatus.PENDING.value,
                due_at=now + timedelta(seconds=error.seconds),
                error=str(error),
            )
        except SendError as error:
            wait = min(timedelta(seconds=2 ** min(reminder.attempts, 6) / 2), MAX_BACKOFF)
            values.update(
                status=DeliveryStatus.PENDING.value, due_at=now + wait, error=str(error)[:200]
            )
        else:
            report.reminders += 1
        values["updated_at"] = now
        with session_scope(self._engine, wakes=False) as session:
            session.execute(
                update(Reminder).where(col(Reminder.id) == reminder.reminder_id).values(**values)
            )

    # --- the organizer's summary and the group note -------------------------------------

    async def refresh_summary(self, meeting_id: int) -> None:
        """Bring the group note up to date after a link went out outside a sweep."""
        now = self._clock()
        with session_scope(self._engine, wakes=False) as session:
            latest = session.exec(
                select(LinkSummary.occurrence_start)
                .where(
                    LinkSummary.meeting_id == meeting_id,
                    LinkSummary.kind == LinkSummaryKind.GROUP.value,
                )
                .order_by(col(LinkSummary.occurrence_start).desc())
                .limit(1)
            ).first()
            if latest is not None:
                _rearm_group_notes(session, {(meeting_id, latest)}, now)
        # A running sweep sends it between its batches; waiting here for a long fan-out to
        # end would hold up the person's reply.
        if not self._lock.locked():
            async with self._lock:
                await self._send_summaries(SweepReport())

    async def _send_summaries(self, report: SweepReport) -> None:
        """Send the summaries and group notes owed: sittings whose links are all out, notes to
        bring up to date, retries."""
        if report.sittings:
            with session_scope(self._engine, wakes=False) as session:
                _rearm_group_notes(session, report.sittings, self._clock())
            report.sittings.clear()
        while True:
            with session_scope(self._engine, wakes=False) as session:
                outgoing = self._claim_summaries(session, self._clock())
            if not outgoing:
                return
            for summary in outgoing:
                await self._send_summary(summary, report)

    def _claim_summaries(self, session: Session, now: datetime) -> list[OutgoingSummary]:
        """Claim the summaries that are due and whose sitting has no link in flight, and
        render them; rows that no longer apply are closed here."""
        claimable = _claimable_summary(now)
        candidates = session.exec(
            select(LinkSummary.id).where(claimable).order_by(col(LinkSummary.id)).limit(BATCH_SIZE)
        ).all()
        if not candidates:
            return []
        taken = set(
            session.execute(
                update(LinkSummary)
                .where(col(LinkSummary.id).in_(candidates), claimable)
                .values(
                    status=DeliveryStatus.SENDING.value,
                    attempts=col(LinkSummary.attempts) + 1,
                    updated_at=now,
                )
                .returning(col(LinkSummary.id))
            ).scalars()
        )
        rows = session.exec(
            select(LinkSummary, Meeting)
            .join(Meeting, col(Meeting.id) == col(LinkSummary.meeting_id))
            .where(col(LinkSummary.id).in_(taken))
            .order_by(col(LinkSummary.id))
        ).all()
        outgoing = []
        for row, meeting in rows:
            summary = self._render_summary(session, row, meeting, now)
            if summary is not None:
                outgoing.append(summary)
            session.add(row)
        return outgoing

    def _render_summary(
        self, session: Session, row: LinkSummary, meeting: Meeting, now: datetime
    ) -> OutgoingSummary | None:
        """The message a claimed row stands for, or None after closing a row that has
        nothing (more) to send."""
        assert row.id is not None
        length = meeting.ends_at - meeting.starts_at
        occurrence = Occurrence(row.occurrence_start, row.occurrence_start + length)
        current = sittings.occurrence_after(session, meeting, now)
        if occurrence.end <= now:
            row.status, row.error = DeliveryStatus.FAILED.value, "the meeting ended first"
            return None
        if current is None or current.start != occurrence.start:
            # Cancelled or moved: the sitting's links were called off, and so is this.
            row.status = DeliveryStatus.CANCELLED.value
            return None
        tally = delivery_tally(session, meeting, occurrence)
        link = start_link(
            self._messenger.bot_username,
            deep_links.deep_link(session, meeting=meeting, kind="link", now=now),
        )
        if row.kind == LinkSummaryKind.ORGANIZER.value:
            organizer = session.get(User, meeting.organizer_id)
            if organizer is None or not organizer.reachable:
                row.status = DeliveryStatus.UNREACHABLE.value
                row.error = "the organizer can't be reached"
                return None
            language = pick_language(
                organizer.language, organizer.telegram_language, self._default_language
            )
            with use_language(language):
                text = render_summary(
                    title=meeting.title, code=meeting.code, tally=tally, link=link
                )
            return OutgoingSummary(
                row.id, organizer.id, None, text, (), "", row.revision, row.attempts
            )
        if meeting.chat_id is None:
            row.status = DeliveryStatus.CANCELLED.value
            return None
        chat = session.get(ChatSettings, meeting.chat_id)
        with use_language((chat.language if chat else None) or self._default_language):
            text = render_group_note(title=meeting.title, code=meeting.code, tally=tally)
            keyboard = [[Button(_("Get my link"), url=link)]]
        # A group upgraded to a supergroup gets a fresh note; the old one stays behind.
        message_id = row.message_id if row.chat_id == meeting.chat_id else None
        fingerprint = _fingerprint(meeting.chat_id, text, keyboard)
        if message_id is not None and row.shown == fingerprint:
            # The note already says this: an edit would change nothing.
            row.status, row.error, row.updated_at = DeliveryStatus.SENT.value, None, now
            return None
        return OutgoingSummary(
            row.id,
            meeting.chat_id,
            message_id,
            text,
            keyboard,
            fingerprint,
            row.revision,
            row.attempts,
        )

    async def _send_summary(self, summary: OutgoingSummary, report: SweepReport) -> None:
        """Post (or edit) one summary and record the outcome."""
        now = self._clock()
        values: dict[str, Any] = {
            "status": DeliveryStatus.SENT.value,
            "error": None,
            "due_at": now,
            "updated_at": now,
        }
        try:
            if summary.message_id is None:
                message_id = await self._messenger.send(
                    summary.chat_id, summary.text, summary.keyboard
                )
                values.update(chat_id=summary.chat_id, message_id=message_id)
            else:
                await self._messenger.edit(
                    summary.chat_id, summary.message_id, summary.text, summary.keyboard
                )
            values["shown"] = summary.fingerprint
        except Unreachable as error:
            values.update(status=DeliveryStatus.UNREACHABLE.value, error=str(error)[:200])
        except Rejected as error:
            values.update(status=DeliveryStatus.FAILED.value, error=str(error)[:200])
            if summary.message_id is not None:
                # The note was deleted or can no longer be edited: post a fresh one.
                values.update(status=DeliveryStatus.PENDING.value, message_id=None)
            log.warning("summary %s rejected: %s", summary.summary_id, error)
        except RetryLater as error:
            values.update(
                status=DeliveryStatus.PENDING.value,
                due_at=now + timedelta(seconds=error.seconds),
                error=str(error),
            )
        except SendError as error:
            wait = min(timedelta(seconds=2 ** min(summary.attempts, 6) / 2), MAX_BACKOFF)
            values.update(
                status=DeliveryStatus.PENDING.value, due_at=now + wait, error=str(error)[:200]
            )
        if values["status"] == DeliveryStatus.SENT.value:
            report.summaries += 1
            # Brought up to date again meanwhile: it stays owed.
            values["status"] = case(
                (col(LinkSummary.revision) == summary.revision, DeliveryStatus.SENT.value),
                else_=DeliveryStatus.PENDING.value,
            )
        with session_scope(self._engine, wakes=False) as session:
            session.execute(
                update(LinkSummary)
                .where(col(LinkSummary.id) == summary.summary_id)
                .values(**values)
            )


def delivery_tally(session: Session, meeting: Meeting, occurrence: Occurrence) -> Tally:
    """Count sent and unreachable links of one sitting (pending invites included)."""
    rows = session.exec(
        select(Delivery, User)
        .join(User, col(User.id) == col(Delivery.user_id))
        .where(
            Delivery.meeting_id == meeting.id,
            Delivery.occurrence_start == occurrence.start,
            col(Delivery.status) != DeliveryStatus.CANCELLED,
        )
    ).all()
    sent = sum(1 for row, _user in rows if row.status is DeliveryStatus.SENT)
    names = [
        people.display(user)
        for row, user in rows
        if row.status in {DeliveryStatus.UNREACHABLE, DeliveryStatus.FAILED}
    ]
    pending = session.exec(
        select(Participant.pending_username).where(
            Participant.meeting_id == meeting.id, col(Participant.pending_username).is_not(None)
        )
    ).all()
    names += [f"@{name}" for name in pending if name]
    return Tally(sent=sent, total=len(rows) + len(pending), unreachable_names=names)


def _plan_summaries(session: Session, sittings: set[tuple[int, datetime]], now: datetime) -> None:
    """Plan the organizer's summary and the group note of sittings whose links start going
    out (in the transaction that claims those links, so neither can be lost)."""
    if not sittings:
        return
    meeting_ids = {meeting_id for meeting_id, _start in sittings}
    planned = {
        (row.meeting_id, row.occurrence_start)
        for row in session.exec(
            select(LinkSummary).where(
                col(LinkSummary.meeting_id).in_(meeting_ids),
                LinkSummary.kind == LinkSummaryKind.ORGANIZER.value,
            )
        ).all()
    }
    by_id = {
        meeting.id: meeting
        for meeting in session.exec(select(Meeting).where(col(Meeting.id).in_(meeting_ids)))
    }
    for meeting_id, start in sorted(sittings - planned):
        meeting = by_id[meeting_id]
        kinds = [LinkSummaryKind.ORGANIZER]
        if meeting.chat_id is not None:
            kinds.append(LinkSummaryKind.GROUP)
        for kind in kinds:
            session.add(
                LinkSummary(
                    meeting_id=meeting_id,
                    occurrence_start=start,
                    kind=kind.value,
                    due_at=now,
                    updated_at=now,
                )
            )
        # Anyone invited from now on is a late one.
        meeting.summary_occurrence = start
        session.add(meeting)


def _rearm_group_notes(
    session: Session, sittings: set[tuple[int, datetime]], now: datetime
) -> None:
    """Mark these sittings' group notes as owed again (their tally may have moved on).

    The revision goes up even while a note is being sent, so that sender knows its text may
    be outdated and leaves the note owed.
    """
    sent = col(LinkSummary.status) == DeliveryStatus.SENT.value
    session.execute(
        update(LinkSummary)
        .where(
            col(LinkSummary.kind) == LinkSummaryKind.GROUP.value,
            or_(
                *(
                    and_(
                        col(LinkSummary.meeting_id) == meeting_id,
                        col(LinkSummary.occurrence_start) == start,
                    )
                    for meeting_id, start in sittings
                )
            ),
        )
        .values(
            revision=col(LinkSummary.revision) + 1,
            status=case((sent, DeliveryStatus.PENDING.value), else_=col(LinkSummary.status)),
            due_at=case((sent, now), else_=col(LinkSummary.due_at)),
        )
    )


def _waiting_or_abandoned(
    status: Any, now: datetime, *, claimed_at: Any, ready: Any = None
) -> Any:
    """Rows of an outbox table to claim: waiting and ready, or left `sending` by a task that
    died (claimed longer than STALE_SENDING ago)."""
    return or_(
        and_(status == DeliveryStatus.PENDING, true() if ready is None else ready),
        and_(status == DeliveryStatus.SENDING, claimed_at < now - STALE_SENDING),
    )


def _claimable_notice(now: datetime) -> Any:
    """Notices due now, and notices a dead task left `sending` (a claim stamps their due_at)."""
    return _waiting_or_abandoned(
        col(Notice.status), now, claimed_at=col(Notice.due_at), ready=col(Notice.due_at) <= now
    )


def _claimable_link(now: datetime) -> Any:
    """Links waiting to go out (planning ahead picks which), and links a dead task left."""
    return _waiting_or_abandoned(col(Delivery.status), now, claimed_at=col(Delivery.updated_at))


def _claimable_reminder(now: datetime) -> Any:
    """Reminders that are due, and reminders a dead task left `sending`."""
    return _waiting_or_abandoned(
        col(Reminder.status),
        now,
        claimed_at=col(Reminder.updated_at),
        ready=col(Reminder.due_at) <= now,
    )


def _claimable_summary(now: datetime) -> Any:
    """Summaries that are due and whose sitting has no link in flight, and abandoned ones."""
    in_flight = exists().where(
        col(Delivery.meeting_id) == col(LinkSummary.meeting_id),
        col(Delivery.occurrence_start) == col(LinkSummary.occurrence_start),
        col(Delivery.status).in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
    )
    return _waiting_or_abandoned(
        col(LinkSummary.status),
        now,
        claimed_at=col(LinkSummary.updated_at),
        ready=and_(col(LinkSummary.due_at) <= now, ~in_flight),
    )


def _fingerprint(chat_id: int, text: str, keyboard: Keyboard) -> str:
    """A short digest of what a message shows, to tell whether an edit would change it."""
    buttons = [[(button.text, button.url, button.data) for button in row] for row in keyboard]
    digest = hashlib.sha256(repr((chat_id, text, buttons)).encode())
    return digest.hexdigest()[:32]


def _is_participant_of(table: type[Delivery] | type[Notice] | type[Reminder]) -> Any:
    """The join condition from a delivery or notice row to its person's participation."""
    return and_(
        col(Participant.meeting_id) == col(table.meeting_id),
        col(Participant.user_id) == col(table.user_id),
    )


def _earliest(session: Session, column: Any, *conditions: Any) -> datetime | None:
    """The earliest value of a datetime column among the rows that match."""
    moment: datetime | None = session.exec(
        select(column).where(*conditions).order_by(column).limit(1)
    ).first()
    return moment


def _as_utc(moment: datetime) -> datetime:
    # Aggregates bypass the column type, so SQLite hands back a naive UTC datetime (or text).
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
