"""Calendar files (.ics) and add-to-calendar links for a meeting. They never hold a token."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vRecur

from storage.models import Meeting, MeetingStatus

PRODUCT_ID = "-//Jitsi meeting bot//EN"


def event_uid(meeting: Meeting) -> str:
    """Stable per meeting, so calendars update the event instead of adding a new one."""
    return f"meeting-{meeting.code.lower()}@jitsi-meeting-bot"


def build_ics(
    meeting: Meeting,
    *,
    bot_link: str,
    description: str,
    moved: dict[datetime, datetime] | None = None,
    skipped: list[datetime] | None = None,
) -> bytes:
    """An iCalendar file: METHOD REQUEST (CANCEL once cancelled), SEQUENCE per change."""
    zone = ZoneInfo(meeting.zone)
    length = meeting.ends_at - meeting.starts_at
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    cancelled = meeting.status is MeetingStatus.CANCELLED
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")

    def event(start: datetime, recurrence_id: datetime | None = None) -> Event:
        item = Event()
        item.add("uid", event_uid(meeting))
        item.add("sequence", meeting.ics_sequence)
        item.add("summary", meeting.title)
        # Local times with TZID keep a weekly 10:00 at 10:00 across daylight-saving changes.
        item.add("dtstart", start.astimezone(zone))
        item.add("dtend", (start + length).astimezone(zone))
        item.add("dtstamp", meeting.created_at)
        item.add("description", description)
        item.add("url", bot_link)
        item.add("location", bot_link)
        item.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        if recurrence_id is not None:
            item.add("recurrence-id", recurrence_id.astimezone(zone))
        return item

    main = event(meeting.starts_at)
    if meeting.rrule:
        main.add("rrule", vRecur.from_ical(meeting.rrule))
        for skipped_start in skipped or []:
            main.add("exdate", skipped_start.astimezone(zone))
    calendar.add_component(main)
    for original, new_start in (moved or {}).items():
        # A moved sitting is an override: same UID, RECURRENCE-ID naming the original time.
        calendar.add_component(event(new_start, recurrence_id=original))
    calendar.add_missing_timezones()
    return calendar.to_ical()


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
