"""Personal links before each meeting: planned in the database, claimed atomically, never lost.

The Delivery table is the to-do list. A sweep (at start-up, then every minute, and whenever
something changes) claims rows that are due, sends each person their link, and records the
outcome. A row is marked `sending` before the API call and `sent` after it, so a crash in
between sends that link again on restart: a duplicate beats a lost link.

The same sweep sends the Notice rows the domain writes with every change (invited, moved,
cancelled ...), so the news of a change is as durable as the change.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import meetings
from bot.i18n import _, format_relative, format_span, ngettext, pick_language, use_language
from bot.jitsi import Role, TokenSigner
from bot.meetings import Occurrence, Rules
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
from bot.render import link_keyboard, notice_keyboard, render_notice
from storage.db import session_scope
from storage.models import (
    ChatSettings,
    Delivery,
    DeliveryStatus,
    Meeting,
    MeetingStatus,
    Notice,
    Participant,
    User,
)

log = logging.getLogger(__name__)

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
    keyboard: Keyboard = ()


@dataclass(frozen=True)
class OutgoingNotice:
    """A claimed notice about a change, ready to send."""

    notice_id: int
    user_id: int
    text: str
    keyboard: Keyboard


@dataclass
class SweepReport:
    """What one sweep did."""

    sent: int = 0
    notices: int = 0
    unreachable: int = 0
    retried: int = 0
    next_due: datetime | None = None
    meetings: set[int] = field(default_factory=set)


class DeliveryService:
    """Sends due personal links and the summaries that follow them."""

    def __init__(
        self,
        *,
        engine: Engine,
        signer: TokenSigner,
        rules: Rules,
        messenger: Messenger,
        clock: Callable[[], datetime],
        default_language: str,
        concurrency: int = 25,
        paid_broadcast: bool = False,
    ) -> None:
        self._engine = engine
        self._signer = signer
        self._rules = rules
        self._messenger = messenger
        self._clock = clock
        self._default_language = default_language
        self._concurrency = concurrency
        self._paid_broadcast = paid_broadcast
        # One sweep at a time in this process; the database claim guards against others.
        self._lock = asyncio.Lock()

    # --- start-up ------------------------------------------------------------------------

    def recover_after_restart(self) -> int:
        """Put links and notices a previous process left `sending` back in the queue; returns
        how many links that was."""
        with session_scope(self._engine) as session:
            session.execute(
                update(Notice)
                .where(col(Notice.status) == DeliveryStatus.SENDING)
                .values(status=DeliveryStatus.PENDING)
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
            report = SweepReport()
            while True:
                batch = self._claim_due(now)
                if not batch:
                    break
                await self._send_batch(batch, report)
                now = self._clock()
            for meeting_id in sorted(report.meetings):
                await self._summarize(meeting_id)
            await self._send_notices(report)
            report.next_due = self._next_due()
            return report

    def _plan_series(self, now: datetime) -> None:
        """Roll series on to their next sitting once the planned one is over.

        Single meetings are planned when they change. A series whose planned sitting has not
        ended yet is skipped with one grouped query, so a sweep stays cheap with many series.
        """
        with session_scope(self._engine) as session:
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
                occurrence = meetings.occurrence_after(session, meeting, now)
                if occurrence is None:
                    continue
                if meeting.summary_occurrence and meeting.summary_occurrence != occurrence.start:
                    meeting.summary_occurrence = None
                    meeting.link_message_id = None
                    session.add(meeting)
                meetings.plan_deliveries(session, meeting=meeting, now=now)

    def _claim_due(self, now: datetime) -> list[int]:
        """Atomically move due rows to `sending`, owners first; returns the ids this sweep owns."""
        stale = now - STALE_SENDING
        with session_scope(self._engine) as session:
            candidates = session.exec(
                select(Delivery.id)
                .join(Participant, _is_participant_of(Delivery), isouter=True)
                .where(
                    col(Delivery.due_at) <= now,
                    or_(
                        col(Delivery.status) == DeliveryStatus.PENDING,
                        and_(
                            col(Delivery.status) == DeliveryStatus.SENDING,
                            col(Delivery.updated_at) < stale,
                        ),
                    ),
                )
                .order_by(col(Participant.role).desc(), col(Delivery.due_at), col(Delivery.id))
                .limit(BATCH_SIZE)
            ).all()
            if not candidates:
                return []
            # One conditional UPDATE for the batch: a row another sweep took meanwhile no
            # longer matches the condition and is not returned, so nobody sends it twice.
            taken = session.execute(
                update(Delivery)
                .where(
                    col(Delivery.id).in_(candidates),
                    or_(
                        col(Delivery.status) == DeliveryStatus.PENDING,
                        and_(
                            col(Delivery.status) == DeliveryStatus.SENDING,
                            col(Delivery.updated_at) < stale,
                        ),
                    ),
                )
                .values(
                    status=DeliveryStatus.SENDING,
                    attempts=col(Delivery.attempts) + 1,
                    updated_at=now,
                )
                .returning(col(Delivery.id))
            ).scalars()
            claimed = set(taken)
            return [
                delivery_id
                for delivery_id in candidates
                if delivery_id is not None and delivery_id in claimed
            ]

    async def _send_batch(self, delivery_ids: list[int], report: SweepReport) -> None:
        now = self._clock()
        with session_scope(self._engine) as session:
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
        report.meetings.add(link.meeting_id)
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
            with session_scope(self._engine) as session:
                meetings.set_reachable(
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
            with session_scope(self._engine) as session:
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
            link = meetings.personal_link(
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
                    zone=meetings.user_zone(user, self._rules),
                    reason=row.reason,
                    now=now,
                )
                keyboard = link_keyboard(meeting, self._messenger.bot_username)
            outgoing.append(
                OutgoingLink(
                    delivery_id,
                    user.id,
                    row.meeting_id,
                    text,
                    row.attempts,
                    row.due_at,
                    keyboard=keyboard,
                )
            )
        return outgoing

    def _next_due(self) -> datetime | None:
        with Session(self._engine) as session:
            return session.exec(
                select(Delivery.due_at)
                .where(Delivery.status == DeliveryStatus.PENDING)
                .order_by(col(Delivery.due_at))
                .limit(1)
            ).first()

    # --- notices about changes ----------------------------------------------------------

    async def _send_notices(self, report: SweepReport) -> None:
        """Send the notices owed about changes (invited, moved, cancelled ...)."""
        semaphore = asyncio.Semaphore(self._concurrency)

        async def send_one(notice: OutgoingNotice) -> None:
            async with semaphore:
                await self._send_notice(notice, report)

        while True:
            with session_scope(self._engine) as session:
                outgoing = self._claim_notices(session, self._clock())
            if not outgoing:
                return
            await asyncio.gather(*(send_one(notice) for notice in outgoing))

    def _claim_notices(self, session: Session, now: datetime) -> list[OutgoingNotice]:
        candidates = session.exec(
            select(Notice.id)
            .where(col(Notice.due_at) <= now, col(Notice.status) == DeliveryStatus.PENDING)
            .order_by(col(Notice.id))
            .limit(BATCH_SIZE)
        ).all()
        if not candidates:
            return []
        taken = set(
            session.execute(
                update(Notice)
                .where(
                    col(Notice.id).in_(candidates), col(Notice.status) == DeliveryStatus.PENDING
                )
                .values(status=DeliveryStatus.SENDING, attempts=col(Notice.attempts) + 1)
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
            with use_language(language):
                zone = meetings.user_zone(user, self._rules)
                text = render_notice(notice, meeting, session, zone, now, role)
                keyboard = notice_keyboard(notice.kind, meeting, self._messenger.bot_username)
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
        with session_scope(self._engine) as session:
            session.execute(
                update(Notice)
                .where(col(Notice.id) == notice.notice_id)
                .values(status=status, error=error and error[:200], due_at=due_at)
            )

    # --- summaries -----------------------------------------------------------------------

    async def refresh_summary(self, meeting_id: int) -> None:
        """Bring the group note up to date after a link went out outside a sweep."""
        async with self._lock:
            await self._summarize(meeting_id)

    async def _summarize(self, meeting_id: int) -> None:
        """When a sitting's links are out: tell the organizer, post or edit the group note."""
        now = self._clock()
        with session_scope(self._engine) as session:
            meeting = session.get(Meeting, meeting_id)
            if meeting is None or meeting.status is MeetingStatus.CANCELLED:
                return
            occurrence = meetings.occurrence_after(session, meeting, now)
            if occurrence is None:
                return
            tally = delivery_tally(session, meeting, occurrence)
            if tally.in_flight:
                return
            first_time = _claim_summary(session, meeting, occurrence)
            organizer = session.get(User, meeting.organizer_id)
            link_payload = meetings.deep_link(session, meeting=meeting, kind="link", now=now)
            group_language = None
            if meeting.chat_id is not None:
                chat = session.get(ChatSettings, meeting.chat_id)
                group_language = chat.language if chat else None
            organizer_language = pick_language(
                organizer.language if organizer else None,
                organizer.telegram_language if organizer else None,
                self._default_language,
            )
            snapshot = (meeting.chat_id, meeting.link_message_id, meeting.title, meeting.code)
        chat_id, link_message_id, title, code = snapshot
        link = start_link(self._messenger.bot_username, link_payload)
        if first_time and organizer is not None and organizer.reachable:
            with use_language(organizer_language):
                text = render_summary(title=title, code=code, tally=tally, link=link)
            try:
                await self._messenger.send(organizer.id, text)
            except SendError as error:
                log.warning("summary for meeting %s not sent: %s", meeting_id, error)
        if chat_id is None:
            return
        with use_language(group_language or self._default_language):
            text = render_group_note(title=title, code=code, tally=tally)
            keyboard = [[Button(_("Get my link"), url=link)]]
        try:
            if link_message_id is None:
                if not first_time:
                    return
                message_id = await self._messenger.send(chat_id, text, keyboard)
                with session_scope(self._engine) as session:
                    stored = session.get(Meeting, meeting_id)
                    if stored is not None:
                        stored.link_message_id = message_id
                        session.add(stored)
            else:
                await self._messenger.edit(chat_id, link_message_id, text, keyboard)
        except SendError as error:
            log.warning("group note for meeting %s not updated: %s", meeting_id, error)


@dataclass(frozen=True)
class Tally:
    """How the links of one sitting are doing."""

    sent: int
    total: int
    in_flight: int
    unreachable_names: list[str]


def delivery_tally(session: Session, meeting: Meeting, occurrence: Occurrence) -> Tally:
    """Count sent, pending and unreachable links of one sitting (pending invites included)."""
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
    in_flight = sum(
        1 for row, _user in rows if row.status in {DeliveryStatus.PENDING, DeliveryStatus.SENDING}
    )
    names = [
        meetings.display(user)
        for row, user in rows
        if row.status in {DeliveryStatus.UNREACHABLE, DeliveryStatus.FAILED}
    ]
    pending = session.exec(
        select(Participant.pending_username).where(
            Participant.meeting_id == meeting.id, col(Participant.pending_username).is_not(None)
        )
    ).all()
    names += [f"@{name}" for name in pending if name]
    return Tally(
        sent=sent, total=len(rows) + len(pending), in_flight=in_flight, unreachable_names=names
    )


def _claim_summary(session: Session, meeting: Meeting, occurrence: Occurrence) -> bool:
    """True for the one caller that gets to send this sitting's first summary."""
    result = session.execute(
        update(Meeting)
        .where(
            col(Meeting.id) == meeting.id,
            or_(
                col(Meeting.summary_occurrence).is_(None),
                col(Meeting.summary_occurrence) != occurrence.start,
            ),
        )
        .values(summary_occurrence=occurrence.start)
    )
    session.refresh(meeting)
    return getattr(result, "rowcount", 0) == 1


def _is_participant_of(table: type[Delivery] | type[Notice]) -> Any:
    """The join condition from a delivery or notice row to its person's participation."""
    return and_(
        col(Participant.meeting_id) == col(table.meeting_id),
        col(Participant.user_id) == col(table.user_id),
    )


def _as_utc(moment: datetime) -> datetime:
    # Aggregates bypass the column type, so SQLite hands back a naive UTC datetime (or text).
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- texts ---------------------------------------------------------------------------------


def render_link_message(
    *,
    meeting: Meeting,
    occurrence: Occurrence,
    role: Role,
    link: str,
    zone: str,
    reason: str,
    now: datetime,
) -> str:
    """The private message that carries a personal link."""
    title = html.escape(meeting.title)
    when = format_span(occurrence.start, occurrence.end, zone)
    role_text = _("owner (moderator)") if role is Role.OWNER else _("member")
    if reason == "updated":
        head = _("Your rights in “{title}” changed. Here is a fresh link.").format(title=title)
        tail = _("Your previous link keeps working until it expires: a token cannot be revoked.")
    elif reason == "rotated":
        head = _("“{title}” moved to a new room. Old links now lead to an empty room.").format(
            title=title
        )
        tail = ""
    elif occurrence.start <= now:
        head = _("“{title}” started {ago} ago.").format(
            title=title, ago=format_relative(now - occurrence.start)
        )
        tail = ""
    else:
        head = _("“{title}” starts in {left}.").format(
            title=title, left=format_relative(occurrence.start - now)
        )
        tail = ""
    lines = [
        f"🔔 <b>{head}</b>",
        f"🕒 {html.escape(when)}",
        _("Your role: {role}").format(role=role_text),
        _("Meeting code: {code}").format(code=meeting.code),
        "",
        _("Your personal link (only for you, don't forward it):"),
        html.escape(link),
    ]
    if tail:
        lines += ["", tail]
    return "\n".join(lines)


def render_summary(*, title: str, code: str, tally: Tally, link: str) -> str:
    """The organizer's one message once the links of a sitting went out."""
    text = _("“{title}” ({code}): {sent} of {total} have their links.").format(
        title=html.escape(title), code=code, sent=tally.sent, total=tally.total
    )
    if tally.unreachable_names:
        names = ", ".join(html.escape(name) for name in tally.unreachable_names)
        text += "\n" + ngettext(
            "{count} person can't be reached yet: {names}. They need to start me; "
            "forward them this link: {link}",
            "{count} people can't be reached yet: {names}. They need to start me; "
            "forward them this link: {link}",
            len(tally.unreachable_names),
        ).format(count=len(tally.unreachable_names), names=names, link=link)
    return text


def render_group_note(*, title: str, code: str, tally: Tally) -> str:
    """The one group message about a sitting's links (edited, never re-posted)."""
    text = _(
        "🔔 “{title}” ({code}): personal links went out in private messages ({sent} of {total})."
    ).format(title=html.escape(title), code=code, sent=tally.sent, total=tally.total)
    if tally.unreachable_names:
        text += "\n" + _("No link yet? Tap “Get my link” and start the bot.")
    return text
