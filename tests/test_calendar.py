"""Calendar files: they parse, give the bot's own sittings, update in place, hold no token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from bot import timeparse
from bot.calendar import (
    Organizer,
    build_ics,
    event_uid,
    google_calendar_link,
    outlook_calendar_link,
)
from storage.models import Meeting, MeetingStatus

ORGANIZER = Organizer(name="Olga", email="noreply@meet.example.com")
MADE_AT = datetime(2027, 5, 3, 12, 30, tzinfo=UTC)


def _ics(meeting: Meeting, **changes: object) -> bytes:
    """The file as the bot makes it at MADE_AT."""
    return build_ics(
        meeting,
        bot_link="https://t.me/bot",
        description="d",
        organizer=ORGANIZER,
        now=MADE_AT,
        **changes,  # type: ignore[arg-type]
    )


def _series(rrule: str, zone: str, first: datetime) -> Meeting:
    return Meeting(
        id=1,
        code="ABC234",
        title="Weekly sync",
        room="weekly-sync-abc",
        starts_at=first,
        ends_at=first + timedelta(minutes=45),
        zone=zone,
        rrule=rrule,
        organizer_id=1,
        remind_before_minutes=10,
        created_at=datetime(2026, 11, 28, tzinfo=UTC),
    )


def _starts(data: bytes) -> list[datetime]:
    calendar = icalendar.Calendar.from_ical(data)
    events = recurring_ical_events.of(calendar).between(datetime(2026, 1, 1), datetime(2028, 1, 1))
    return sorted(event["DTSTART"].dt.astimezone(UTC) for event in events)


def test_series_across_dst_gives_the_bots_sittings() -> None:
    for zone, first in (
        ("Europe/Berlin", datetime(2027, 3, 15, 9, 0, tzinfo=UTC)),  # 10:00 CET
        ("America/New_York", datetime(2027, 3, 1, 15, 0, tzinfo=UTC)),  # 10:00 EST
    ):
        rrule = "FREQ=WEEKLY;BYDAY=MO;COUNT=5"
        meeting = _series(rrule, zone, first)
        expected = timeparse.occurrences(
            rrule, first_start=first, zone=zone, after=first - timedelta(seconds=1), limit=10
        )
        starts = _starts(_ics(meeting))
        assert starts == expected
        # 10:00 local every time, on both sides of the change.
        assert {start.astimezone(ZoneInfo(zone)).hour for start in starts} == {10}
        assert len({start.hour for start in starts}) == 2


def test_skipped_and_moved_sittings() -> None:
    first = datetime(2027, 3, 15, 9, 0, tzinfo=UTC)
    meeting = _series("FREQ=WEEKLY;BYDAY=MO;COUNT=4", "Europe/Berlin", first)
    skipped = first + timedelta(weeks=1)
    original = datetime(2027, 3, 29, 8, 0, tzinfo=UTC)
    moved_to = datetime(2027, 3, 30, 8, 0, tzinfo=UTC)
    data = _ics(meeting, moved={original: moved_to}, skipped=[skipped])
    assert _starts(data) == [first, moved_to, datetime(2027, 4, 5, 8, 0, tzinfo=UTC)]


def test_uid_sequence_method_and_no_token() -> None:
    meeting = _series("FREQ=DAILY;COUNT=2", "UTC", datetime(2026, 12, 1, 10, tzinfo=UTC))
    first = icalendar.Calendar.from_ical(_ics(meeting))
    meeting.ics_sequence = 1
    second_data = _ics(meeting)
    second = icalendar.Calendar.from_ical(second_data)
    [event_one] = first.walk("VEVENT")
    [event_two] = second.walk("VEVENT")
    assert event_one["UID"] == event_two["UID"] == event_uid(meeting)
    assert int(event_two["SEQUENCE"]) == int(event_one["SEQUENCE"]) + 1
    assert str(first["METHOD"]) == "REQUEST"
    meeting.status = MeetingStatus.CANCELLED
    cancelled = icalendar.Calendar.from_ical(_ics(meeting))
    assert str(cancelled["METHOD"]) == "CANCEL"
    assert b"jwt" not in second_data and b"eyJ" not in second_data


def test_add_to_calendar_links() -> None:
    meeting = _series(
        "FREQ=WEEKLY;BYDAY=MO", "Europe/Berlin", datetime(2026, 12, 7, 9, tzinfo=UTC)
    )
    google = google_calendar_link(meeting, details="d")
    assert google.startswith("https://calendar.google.com/calendar/render?action=TEMPLATE")
    assert "20261207T090000Z%2F20261207T094500Z" in google and "RRULE" in google
    outlook = outlook_calendar_link(meeting, details="d")
    assert outlook.startswith("https://outlook.live.com/calendar/0/deeplink/compose?")
    assert "jwt" not in google + outlook


def test_request_names_its_organizer_and_when_it_was_made() -> None:
    meeting = _series("FREQ=DAILY;COUNT=2", "UTC", datetime(2026, 12, 1, 10, tzinfo=UTC))
    calendar = icalendar.Calendar.from_ical(_ics(meeting))
    [event] = calendar.walk("VEVENT")
    assert str(event["ORGANIZER"]) == "mailto:noreply@meet.example.com"
    assert event["ORGANIZER"].params["CN"] == "Olga"
    # The file's own making time, not the meeting's creation (2026-11-28).
    assert event["DTSTAMP"].dt == MADE_AT


def _cancelled_part_way(
    meeting: Meeting, ended: datetime, **changes: object
) -> icalendar.Calendar:
    meeting.status = MeetingStatus.CANCELLED
    meeting.series_until = ended
    meeting.ics_sequence = 3
    return icalendar.Calendar.from_ical(_ics(meeting, **changes))


def test_cancelling_part_way_keeps_the_past_and_drops_what_is_ahead() -> None:
    first = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)  # Mondays 10:00 in Berlin, endless
    meeting = _series("FREQ=WEEKLY;BYDAY=MO", "Europe/Berlin", first)
    week = timedelta(weeks=1)
    before = _starts(_ics(meeting))
    skipped = first + week
    moved_back = datetime(2027, 3, 16, 9, 0, tzinfo=UTC)  # Mar 15 -> Tue Mar 16, took place
    moved_ahead = datetime(2027, 4, 6, 8, 0, tzinfo=UTC)  # Mar 22 -> Apr 6, after the end
    moved = {first + 2 * week: moved_back, datetime(2027, 3, 22, 9, 0, tzinfo=UTC): moved_ahead}
    ended = datetime(2027, 3, 24, 12, 0, tzinfo=UTC)  # a Wednesday
    calendar = _cancelled_part_way(meeting, ended, moved=moved, skipped=[skipped])
    # A REQUEST with a higher SEQUENCE: a CANCEL of the UID would take the past with it.
    assert str(calendar["METHOD"]) == "REQUEST"
    assert {int(event["SEQUENCE"]) for event in calendar.walk("VEVENT")} == {3}
    assert _starts(calendar.to_ical()) == [first, moved_back]
    assert len(before) > 40  # the endless series filled the two years before


def test_cancelling_part_way_counts_a_sitting_moved_before_the_end() -> None:
    first = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    meeting = _series("FREQ=WEEKLY;BYDAY=MO;COUNT=10", "Europe/Berlin", first)
    # The sitting of Mar 22 was held early on Wed Mar 10; the end came on Mar 12.
    early = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
    ended = datetime(2027, 3, 12, 9, 0, tzinfo=UTC)
    calendar = _cancelled_part_way(
        meeting, ended, moved={datetime(2027, 3, 22, 9, 0, tzinfo=UTC): early}
    )
    assert _starts(calendar.to_ical()) == [first, first + timedelta(weeks=1), early]


def test_cancelling_before_any_sitting_cancels_the_whole_series() -> None:
    first = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    meeting = _series("FREQ=WEEKLY;BYDAY=MO", "Europe/Berlin", first)
    calendar = _cancelled_part_way(meeting, first - timedelta(days=2))
    assert str(calendar["METHOD"]) == "CANCEL"
    assert {str(event["STATUS"]) for event in calendar.walk("VEVENT")} == {"CANCELLED"}
