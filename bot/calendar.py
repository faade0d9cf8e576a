"""Calendar files (.ics) and add-to-calendar links for a meeting. They never hold a token."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vRecur

from bot.timeparse import SeriesSittings
from storage.models import Meeting, MeetingStatus

PRODUCT_ID = "-//Jitsi meeting bot//EN"


def event_uid(meeting: Meeting) -> str:
    """Stable per meeting, so calendars update the event instead of adding a new one."""
    return f"meeting-{meeting.code.lower()}@jitsi-meeting-bot"


@dataclass(frozen=True)
class Organizer:
    """Who a calendar file names as the organizer: a name and a mail address."""

    name: str
    email: str


def build_ics(
    meeting: Meeting,
    *,
    bot_link: str,
    description: str,
    organizer: Organizer,
    now: datetime,
    moved: dict[datetime, datetime] | None = None,
    skipped: list[datetime] | None = None,
) -> bytes:
    """An iCalendar file: METHOD REQUEST (CANCEL once cancelled), SEQUENCE per change.

    A series cancelled after some sittings took place stays a REQUEST whose rule ends with the
    last of them (UNTIL), so calendars keep the past and drop what is ahead. The other way,
    a CANCEL naming each remaining sitting by RECURRENCE-ID, cannot name the sittings of an
    endless rule, and RANGE=THISANDFUTURE is ignored by Google and Outlook; an updated rule is
    what every client applies.
    """
    zone = ZoneInfo(meeting.zone)
    length = meeting.ends_at - meeting.starts_at
    moved = dict(moved or {})
    skipped = list(skipped or [])
    cancelled = meeting.status is MeetingStatus.CANCELLED
    held = _last_sitting_held(meeting, moved, skipped) if cancelled else None
    whole_cancel = cancelled and held is None
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if whole_cancel else "REQUEST")
    address = vCalAddress(f"mailto:{organizer.email}")
    address.params["CN"] = organizer.name

    def event(start: datetime, recurrence_id: datetime | None = None) -> Event:
        item = Event()
        item.add("uid", event_uid(meeting))
        item.add("sequence", meeting.ics_sequence)
        item.add("summary", meeting.title)
        # Local times with TZID keep a weekly 10:00 at 10:00 across daylight-saving changes.
        item.add("dtstart", start.astimezone(zone))
        item.add("dtend", (start + length).astimezone(zone))
        item.add("dtstamp", now.astimezone(UTC))
        item.add("organizer", address)
        item.add("description", description)
        item.add("url", bot_link)
        item.add("location", bot_link)
        item.add("status", "CANCELLED" if whole_cancel else "CONFIRMED")
        if recurrence_id is not None:
            item.add("recurrence-id", recurrence_id.astimezone(zone))
        return item

    main = event(meeting.starts_at)
    if meeting.rrule:
        rule = vRecur.from_ical(meeting.rrule)
        left_out = sorted(skipped)
        if held is not None and meeting.series_until is not None:
            ended = meeting.series_until
            rule.pop("COUNT", None)
            rule["UNTIL"] = [held]
            # Sittings up to the last one held that did not take place: moved past the end, or
            # the rule's own after it (when a later one had been moved before the end).
            left_out += [
                start
                for start in _rule_starts(meeting, until=held)
                if start not in skipped and moved.get(start, start) >= ended
            ]
            moved = {old: new for old, new in moved.items() if old <= held and new < ended}
        main.add("rrule", rule)
        for skipped_start in sorted(left_out):
            main.add("exdate", skipped_start.astimezone(zone))
    calendar.add_component(main)
    for original, new_start in sorted(moved.items()):
        # A moved sitting is an override: same UID, RECURRENCE-ID naming the original time.
        calendar.add_component(event(new_start, recurrence_id=original))
    calendar.add_missing_timezones()
    return calendar.to_ical()


def _rule_starts(meeting: Meeting, *, until: datetime) -> Iterator[datetime]:
    """The series rule's own starts (UTC) up to and including `until`."""
    assert meeting.rrule is not None
    starts = SeriesSittings(meeting.rrule, first_start=meeting.starts_at, zone=meeting.zone)
    return itertools.takewhile(lambda start: start <= until, starts.rule_starts())


def _last_sitting_held(
    meeting: Meeting, moved: dict[datetime, datetime], skipped: list[datetime]
) -> datetime | None:
    """The rule's start of the last sitting that took place before a series was ended."""
    ended = meeting.series_until
    if meeting.rrule is None or ended is None:
        return None
    held = [
        start
        for start in _rule_starts(meeting, until=ended - timedelta(microseconds=1))
        if start not in skipped and start not in moved
    ]
    held += [old for old, new in moved.items() if new < ended]
    return max(held, default=None)


def google_calendar_link(meeting: Meeting, *, details: str) -> str:
    """An 'add to Google Calendar' link for the meeting (its series rule included)."""
    stamp = "%Y%m%dT%H%M%SZ"
    params = {
        "action": "TEMPLATE",
        "text": meeting.title,
        "dates": f"{meeting.starts_at.strftime(stamp)}/{meeting.ends_at.strftime(stamp)}",
        "details": details,
        "ctz": meeting.zone,
    }
    if meeting.rrule:
        params["recur"] = f"RRULE:{meeting.rrule}"
    return "https://calendar.google.com/calendar/render?" + urlencode(params)


def outlook_calendar_link(meeting: Meeting, *, details: str) -> str:
    """An 'add to Outlook' link for the meeting's first sitting."""
    params = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": meeting.title,
        "startdt": meeting.starts_at.isoformat(),
        "enddt": meeting.ends_at.isoformat(),
        "body": details,
    }
    return "https://outlook.live.com/calendar/0/deeplink/compose?" + urlencode(params)
