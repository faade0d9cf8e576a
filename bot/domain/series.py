"""Changing a series: skipping or moving one sitting, ending the series."""

from __future__ import annotations

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot import timeparse
from bot.delivery.planning import cancel_pending, plan_deliveries
from bot.domain.access import require_active, require_manager
from bot.domain.audit import record_change
from bot.domain.lookup import meeting_id
from bot.domain.notices import NoticeKind, queue_notices
from bot.domain.scheduling import cancel_meeting
from bot.domain.sittings import SITTING_HORIZON, load_sittings
from bot.domain.values import Actor
from bot.errors import InvalidInput
from bot.i18n import _
from storage.models import Meeting, OccurrenceChange


def change_occurrence(
    session: Session,
    *,
    meeting: Meeting,
    actor: Actor,
    original_start: datetime,
    new_start: datetime | None,
    now: datetime,
) -> None:
    """Skip (new_start None) or move one sitting of a series."""
    require_manager(session, meeting, actor)
    require_active(meeting, now)
    if meeting.rrule is None:
        raise InvalidInput(_("{code} is not a series; use /reschedule.").format(code=meeting.code))
    sittings = load_sittings(session, meeting)
    if not sittings.is_upcoming(original_start, now):
        raise InvalidInput(
            _(
                "{code} has no upcoming sitting at that time. /meetings shows the next ones."
            ).format(code=meeting.code)
        )
    # A sitting moved before keeps its change row: calendars know it by the rule's original
    # start (RECURRENCE-ID), and a second row would leave it at its first new time as well.
    change = sittings.change_at(original_start) or OccurrenceChange(
        meeting_id=meeting_id(meeting), original_start=original_start
    )
    change.new_start = new_start
    session.add(change)
    meeting.ics_sequence += 1
    meeting.version += 1
    session.add(meeting)
    cancel_pending(session, meeting, now=now, occurrence_start=original_start)
    action = "skip" if new_start is None else "move"
    detail = original_start.isoformat() + (f" -> {new_start.isoformat()}" if new_start else "")
    record_change(session, meeting, actor.user_id, action, None, detail, now)
    session.flush()
    plan_deliveries(session, meeting=meeting, now=now)
    kind = NoticeKind.SKIPPED if new_start is None else NoticeKind.MOVED
    queue_notices(
        session,
        meeting=meeting,
        kind=kind,
        now=now,
        skip_user_id=actor.user_id,
        occurrence_start=original_start,
        new_start=new_start,
    )


def end_series(session: Session, *, meeting: Meeting, actor: Actor, now: datetime) -> None:
    """End a series after the sitting that is running now (or cancel it if none ran)."""
    require_manager(session, meeting, actor)
    require_active(meeting, now)
    if meeting.rrule is None:
        raise InvalidInput(_("{code} is not a series; use /cancel.").format(code=meeting.code))
    cancel_meeting(session, meeting=meeting, actor=actor, now=now)


def pick_sitting(
    session: Session, *, meeting: Meeting, date_text: str, zone: str, now: datetime
) -> datetime:
    """The start of the series' next sitting, or of the one on the date typed (e.g. 2026-12-14)."""
    if meeting.rrule is None:
        raise InvalidInput(_("{code} is not a series; use /reschedule.").format(code=meeting.code))
    upcoming = load_sittings(session, meeting).upcoming(now)
    first = next(upcoming, None)
    if first is None:
        raise InvalidInput(_("Meeting {code} is already over.").format(code=meeting.code))
    if not date_text:
        return first.start
    try:
        day = timeparse.parse_day(date_text, zone=zone, now=now)
    except timeparse.TimeParseError:
        day = None
    if day is not None:
        tz = ZoneInfo(zone)
        for sitting in itertools.chain([first], upcoming):
            sitting_day = sitting.start.astimezone(tz).date()
            if sitting_day == day:
                return sitting.start
            if sitting_day > day or sitting.start > now + SITTING_HORIZON:
                break
    raise InvalidInput(
        _("{code} has no upcoming sitting at that time. /meetings shows the next ones.").format(
            code=meeting.code
        )
    )
