"""The sittings of a meeting: a series expanded, with its skipped and moved sittings."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from bot import timeparse
from bot.domain.values import Occurrence
from storage.models import Meeting, MeetingStatus, OccurrenceChange


@dataclass(frozen=True)
class Sittings:
    """A meeting's sittings, its skipped and moved ones included, loaded with one query."""

    meeting: Meeting
    changes: list[OccurrenceChange]

    @property
    def moved(self) -> dict[datetime, datetime]:
        """Moved sittings: the rule's original start -> the new start."""
        return {c.original_start: c.new_start for c in self.changes if c.new_start is not None}

    @property
    def skipped(self) -> list[datetime]:
        """The rule's original starts of skipped sittings."""
        return [c.original_start for c in self.changes if c.new_start is None]

    def upcoming(self, now: datetime) -> Iterator[Occurrence]:
        """The sitting running now, then the ones to come (nothing once cancelled or over)."""
        meeting = self.meeting
        length = meeting.ends_at - meeting.starts_at
        if meeting.status is MeetingStatus.CANCELLED:
            return iter(())
        if meeting.rrule is None:
            single = Occurrence(meeting.starts_at, meeting.ends_at)
            return iter([single] if meeting.ends_at > now else [])
        starts = timeparse.SeriesSittings(
            meeting.rrule,
            first_start=meeting.starts_at,
            zone=meeting.zone,
            skipped=self.skipped,
            moved=self.moved,
        ).after(now - length)
        return (Occurrence(start, start + length) for start in starts)

    def next(self, now: datetime) -> Occurrence | None:
        """The sitting that is running now or comes next."""
        return next(self.upcoming(now), None)

    def is_upcoming(self, start: datetime, now: datetime) -> bool:
        """True when a sitting that is running or still to come starts at `start`."""
        for occurrence in self.upcoming(now):
            if occurrence.start >= start:
                return occurrence.start == start
        return False

    def change_at(self, start: datetime) -> OccurrenceChange | None:
        """The change that moved a sitting to `start`, if one did."""
        return next((c for c in self.changes if c.new_start == start), None)


def load_sittings(session: Session, meeting: Meeting) -> Sittings:
    """A meeting's sittings with its changes (no query for a single or cancelled meeting)."""
    if meeting.rrule is None or meeting.status is MeetingStatus.CANCELLED:
        return Sittings(meeting, [])
    changes = session.exec(
        select(OccurrenceChange).where(OccurrenceChange.meeting_id == meeting.id)
    ).all()
    return Sittings(meeting, list(changes))


def occurrence_after(session: Session, meeting: Meeting, now: datetime) -> Occurrence | None:
    """The sitting that is running now or comes next (None once a meeting is over)."""
    return load_sittings(session, meeting).next(now)


def upcoming_occurrences(
    session: Session, meeting: Meeting, now: datetime, limit: int
) -> list[Occurrence]:
    """The next few sittings of a meeting (one for a single meeting)."""
    return list(itertools.islice(load_sittings(session, meeting).upcoming(now), limit))


def occurrence_changes(
    session: Session, *, meeting: Meeting
) -> tuple[dict[datetime, datetime], list[datetime]]:
    """A series' moved sittings (original -> new start) and skipped ones."""
    sittings = load_sittings(session, meeting)
    return sittings.moved, sittings.skipped


# How far ahead /skip and /move look for the sitting on a date typed.
SITTING_HORIZON = timedelta(days=400)
