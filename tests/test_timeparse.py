"""Tests for bot.timeparse: dates, durations, recurrences, DST and zone lookup."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.i18n import _, use_language
from bot.timeparse import (
    REASONS,
    Recurrence,
    TimeParseError,
    describe_recurrence,
    find_zone,
    occurrences,
    parse_duration,
    parse_recurrence,
    parse_when,
    suggest_zones,
)

# Saturday. Berlin 11:00 (CET), New York 05:00 (EST), Tokyo 19:00 (JST).
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
BERLIN, NEW_YORK, TOKYO = "Europe/Berlin", "America/New_York", "Asia/Tokyo"


def local(zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in ``zone`` as the UTC instant parse_* return."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def when(text: str, lang: str = "en", zone: str = BERLIN, now: datetime = NOW) -> datetime:
    return parse_when(text, zone=zone, languages=[lang], now=now)


def reason(call: object, *args: object, **kwargs: object) -> str:
    assert callable(call)
    with pytest.raises(TimeParseError) as info:
        call(*args, **kwargs)
    assert info.value.reason in REASONS
    return info.value.reason


# --------------------------------------------------------------------------------------------
# parse_when
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        # English
        ("en", "next monday 10:00", (2026, 11, 30, 10, 0)),
        ("en", "monday 10:00", (2026, 11, 30, 10, 0)),
        ("en", "on friday at 9am", (2026, 12, 4, 9, 0)),
        ("en", "tomorrow 3pm", (2026, 11, 29, 15, 0)),
        ("en", "tomorrow at 9", (2026, 11, 29, 9, 0)),
        ("en", "10am tomorrow", (2026, 11, 29, 10, 0)),
        ("en", "2026-12-01 10:00", (2026, 12, 1, 10, 0)),
        ("en", "12/01/2026 10:00", (2026, 12, 1, 10, 0)),
        ("en", "1 March 10:00", (2027, 3, 1, 10, 0)),
        ("en", "dec 24 18:00", (2026, 12, 24, 18, 0)),
        ("en", "today 18:30", (2026, 11, 28, 18, 30)),
        ("en", "15:00", (2026, 11, 28, 15, 0)),
        ("en", "3pm", (2026, 11, 28, 15, 0)),
        ("en", "at 9:30 p.m.", (2026, 11, 28, 21, 30)),
        # German
        ("de", "morgen 15 Uhr", (2026, 11, 29, 15, 0)),
        ("de", "morgen um 15:30", (2026, 11, 29, 15, 30)),
        ("de", "morgen um 9", (2026, 11, 29, 9, 0)),
        ("de", "nächsten Montag 10:00", (2026, 11, 30, 10, 0)),
        ("de", "am Montag um 10 Uhr", (2026, 11, 30, 10, 0)),
        ("de", "01.12.2026 10:00", (2026, 12, 1, 10, 0)),
        ("de", "1. März 10:00", (2027, 3, 1, 10, 0)),
        ("de", "übermorgen 10:00", (2026, 11, 30, 10, 0)),
        ("de", "heute 18:00", (2026, 11, 28, 18, 0)),
        ("de", "um 15 Uhr", (2026, 11, 28, 15, 0)),
        # Russian
        ("ru", "завтра в 15:00", (2026, 11, 29, 15, 0)),
        ("ru", "завтра в 15 часов", (2026, 11, 29, 15, 0)),
        ("ru", "в следующий понедельник в 10:00", (2026, 11, 30, 10, 0)),
        ("ru", "в пятницу в 15:00", (2026, 12, 4, 15, 0)),
        ("ru", "1 декабря 10:00", (2026, 12, 1, 10, 0)),
        ("ru", "сегодня в 18:00", (2026, 11, 28, 18, 0)),
        # Ukrainian
        ("uk", "завтра о 15:00", (2026, 11, 29, 15, 0)),
        ("uk", "у понеділок о 10:00", (2026, 11, 30, 10, 0)),
        ("uk", "у п'ятницю о 15:00", (2026, 12, 4, 15, 0)),
        ("uk", "у п’ятницю о 15:00", (2026, 12, 4, 15, 0)),
        ("uk", "1 грудня 10:00", (2026, 12, 1, 10, 0)),
        # Spanish
        ("es", "mañana a las 15:00", (2026, 11, 29, 15, 0)),
        ("es", "el próximo lunes a las 10:00", (2026, 11, 30, 10, 0)),
        ("es", "lunes 10:00", (2026, 11, 30, 10, 0)),
        ("es", "1 de diciembre 10:00", (2026, 12, 1, 10, 0)),
        ("es", "01/12/2026 10:00", (2026, 12, 1, 10, 0)),
        # French
        ("fr", "demain 15h", (2026, 11, 29, 15, 0)),
        ("fr", "demain à 15h30", (2026, 11, 29, 15, 30)),
        ("fr", "lundi prochain 10h", (2026, 11, 30, 10, 0)),
        ("fr", "1 décembre 10:00", (2026, 12, 1, 10, 0)),
        ("fr", "après-demain 10h00", (2026, 11, 30, 10, 0)),
    ],
)
def test_parse_when_forms_berlin(lang: str, text: str, expected: tuple[int, ...]) -> None:
    result = when(text, lang)
    assert result == local(BERLIN, *expected)
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("zone", "lang", "text", "expected"),
    [
        (NEW_YORK, "en", "tomorrow 10:00", (2026, 11, 29, 10, 0)),
        (NEW_YORK, "en", "15:00", (2026, 11, 28, 15, 0)),  # 05:00 there: still today
        (NEW_YORK, "en", "next monday 10:00", (2026, 11, 30, 10, 0)),
        (NEW_YORK, "es", "mañana a las 15:00", (2026, 11, 29, 15, 0)),
        (TOKYO, "en", "15:00", (2026, 11, 29, 15, 0)),  # 19:00 there: tomorrow
        (TOKYO, "en", "tomorrow 9:00", (2026, 11, 29, 9, 0)),
        (TOKYO, "ru", "завтра в 15:00", (2026, 11, 29, 15, 0)),
        (TOKYO, "de", "Montag 10:00", (2026, 11, 30, 10, 0)),
    ],
)
def test_parse_when_other_zones(
    zone: str, lang: str, text: str, expected: tuple[int, ...]
) -> None:
    assert when(text, lang, zone) == local(zone, *expected)


@pytest.mark.parametrize(
    ("lang", "text", "minutes"),
    [
        ("en", "in 2 hours", 120),
        ("en", "in 90 minutes", 90),
        ("en", "in 1h 59m", 119),
        ("en", "in half an hour", 30),
        ("de", "in 2 Stunden", 120),
        ("ru", "через 2 часа", 120),
        ("ru", "через 30 минут", 30),
        ("uk", "через 2 години", 120),
        ("es", "en 2 horas", 120),
        ("es", "dentro de 2 horas", 120),
        ("fr", "dans 2 heures", 120),
        ("fr", "dans 1h30", 90),
    ],
)
def test_parse_when_relative(lang: str, text: str, minutes: int) -> None:
    assert when(text, lang) == NOW + timedelta(minutes=minutes)


def test_parse_when_relative_days_need_a_time() -> None:
    assert reason(when, "in 3 days") == "no_time"
    assert when("in 3 days at 10:00") == local(BERLIN, 2026, 12, 1, 10)


def test_relative_time_is_exact_across_dst() -> None:
    now = local(BERLIN, 2027, 3, 28, 1, 30)  # 30 minutes before clocks jump 02:00 -> 03:00
    assert when("in 2 hours", now=now) == now + timedelta(hours=2)
    assert when("in 2 hours", now=now).astimezone(ZoneInfo(BERLIN)).hour == 4


def test_bare_time_means_next_such_time() -> None:
    evening = local(BERLIN, 2026, 11, 28, 16, 0)
    assert when("15:00", now=evening) == local(BERLIN, 2026, 11, 29, 15, 0)
    assert when("16:00", now=evening) == local(BERLIN, 2026, 11, 29, 16, 0)  # not "now"
    assert when("16:01", now=evening) == local(BERLIN, 2026, 11, 28, 16, 1)


def test_weekday_is_never_today() -> None:
    monday_morning = local(BERLIN, 2026, 11, 30, 8, 0)
    assert when("monday 10:00", now=monday_morning) == local(BERLIN, 2026, 12, 7, 10, 0)
    assert when("tuesday 10:00", now=monday_morning) == local(BERLIN, 2026, 12, 1, 10, 0)


def test_now_may_be_in_any_zone() -> None:
    assert when("15:00", now=NOW.astimezone(ZoneInfo(TOKYO))) == local(BERLIN, 2026, 11, 28, 15)


@pytest.mark.parametrize(
    ("lang", "text", "why"),
    [
        ("en", "yesterday 10:00", "in_the_past"),
        ("en", "today 9:00", "in_the_past"),
        ("en", "2026-11-01 10:00", "in_the_past"),
        ("ru", "вчера в 10:00", "in_the_past"),
        ("en", "2028-01-01 10:00", "too_far"),
        ("de", "01.01.2028 10:00", "too_far"),
        ("en", "hello", "not_a_date"),
        ("en", "", "not_a_date"),
        ("en", "   ", "not_a_date"),
        ("en", "x" * 500, "not_a_date"),
        ("fr", "n'importe quoi", "not_a_date"),
        ("en", "tomorrow", "no_time"),
        ("en", "monday", "no_time"),
        ("en", "next monday", "no_time"),
        ("en", "2026-12-01", "no_time"),
        ("en", "next week", "no_time"),
        ("de", "morgen", "no_time"),
        ("ru", "завтра", "no_time"),
        ("uk", "у понеділок", "no_time"),
        ("es", "mañana", "no_time"),
        ("fr", "demain", "no_time"),
    ],
)
def test_parse_when_refusals(lang: str, text: str, why: str) -> None:
    assert reason(when, text, lang) == why


def test_parse_when_window_edges() -> None:
    assert when("2027-11-28 11:00") == NOW + timedelta(days=365)
    assert reason(when, "2027-11-30 11:00") == "too_far"


def test_parse_when_unknown_zone_and_naive_now() -> None:
    assert reason(parse_when, "15:00", zone="Mars/Olympus", languages=["en"], now=NOW) == (
        "unknown_zone"
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_when("15:00", zone=BERLIN, languages=["en"], now=NOW.replace(tzinfo=None))


def test_parse_when_language_fallback() -> None:
    # English is always tried; unknown codes and regions are ignored / reduced.
    assert parse_when("tomorrow 3pm", zone=BERLIN, languages=["xx"], now=NOW) == local(
        BERLIN, 2026, 11, 29, 15
    )
    assert parse_when("morgen 15 Uhr", zone=BERLIN, languages=["de-AT"], now=NOW) == local(
        BERLIN, 2026, 11, 29, 15
    )


def test_dst_gap_moves_forward() -> None:
    # 2027-03-28 02:30 does not exist in Berlin: read with the pre-gap offset -> 03:30 CEST.
    result = when("2027-03-28 02:30")
    assert result == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert result.astimezone(ZoneInfo(BERLIN)).strftime("%H:%M %Z") == "03:30 CEST"
    # New York: 2027-03-14 02:30 -> 03:30 EDT.
    result = when("2027-03-14 02:30", zone=NEW_YORK)
    assert result.astimezone(ZoneInfo(NEW_YORK)).strftime("%H:%M %Z") == "03:30 EDT"


def test_dst_overlap_picks_first() -> None:
    # 2027-10-31 02:30 happens twice in Berlin: the first one is still CEST (00:30 UTC).
    assert when("2027-10-31 02:30") == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    # 2027-11-07 01:30 happens twice in New York: the first one is EDT (05:30 UTC).
    assert when("2027-11-07 01:30", zone=NEW_YORK) == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# parse_duration
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("45m", 45),
        ("45 min", 45),
        ("45 min.", 45),
        ("90 minutes", 90),
        ("1h30", 90),
        ("1h 30m", 90),
        ("1h30m", 90),
        ("1 h 30", 90),
        ("1.5h", 90),
        ("1,5 h", 90),
        ("2h", 120),
        ("2 hours", 120),
        ("1 hour and 30 minutes", 90),
        ("90", 90),
        ("1:30", 90),
        ("0:45", 45),
        ("24h", 1440),
        ("1 day", 1440),
        ("half an hour", 30),
        ("an hour", 60),
        ("45 Minuten", 45),
        ("2 Stunden", 120),
        ("1 Std 30 Min", 90),
        ("eine halbe Stunde", 30),
        ("45 минут", 45),
        ("1 час", 60),
        ("2 ч 15 мин", 135),
        ("полчаса", 30),
        ("полтора часа", 90),
        ("2 години", 120),
        ("30 хв", 30),
        ("1 година 30 хвилин", 90),
        ("45 minutos", 45),
        ("2 horas", 120),
        ("media hora", 30),
        ("45 minutes", 45),
        ("2 heures", 120),
        ("1h30", 90),
        ("une demi-heure", 30),
        ("  2H  ", 120),
    ],
)
def test_parse_duration(text: str, minutes: int) -> None:
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("0", "duration_zero"),
        ("0m", "duration_zero"),
        ("0:00", "duration_zero"),
        ("0 hours", "duration_zero"),
        ("25h", "duration_too_long"),
        ("1441", "duration_too_long"),
        ("2 days", "duration_too_long"),
        ("1 day 1 min", "duration_too_long"),
        ("abc", "bad_duration"),
        ("", "bad_duration"),
        ("-5", "bad_duration"),
        ("1.5", "bad_duration"),
        ("1h 1h", "bad_duration"),
        ("1:75", "bad_duration"),
        ("1h90", "bad_duration"),
        ("45 bananas", "bad_duration"),
        ("2 hours ago", "bad_duration"),
        ("9" * 80, "bad_duration"),
    ],
)
def test_parse_duration_refusals(text: str, why: str) -> None:
    assert reason(parse_duration, text) == why


# --------------------------------------------------------------------------------------------
# parse_recurrence
# --------------------------------------------------------------------------------------------

WD = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
UNTIL_MAR1_BERLIN = "UNTIL=20270301T225959Z"


@pytest.mark.parametrize(
    ("lang", "text", "rule", "first"),
    [
        # English
        ("en", "every monday 10:00", "FREQ=WEEKLY;BYDAY=MO", (2026, 11, 30, 10, 0)),
        ("en", "every mon and thu 18:30", "FREQ=WEEKLY;BYDAY=MO,TH", (2026, 11, 30, 18, 30)),
        ("en", "mondays 10am", "FREQ=WEEKLY;BYDAY=MO", (2026, 11, 30, 10, 0)),
        ("en", "daily 9:00", "FREQ=DAILY", (2026, 11, 29, 9, 0)),
        ("en", "every day at 9am", "FREQ=DAILY", (2026, 11, 29, 9, 0)),
        ("en", "every day at 18:00", "FREQ=DAILY", (2026, 11, 28, 18, 0)),
        ("en", "every 3 days 8:00", "FREQ=DAILY;INTERVAL=3", (2026, 11, 29, 8, 0)),
        ("en", "weekdays 9:00", WD, (2026, 11, 30, 9, 0)),
        ("en", "every weekday at 9", WD, (2026, 11, 30, 9, 0)),
        ("en", "mon-fri 9:00", WD, (2026, 11, 30, 9, 0)),
        ("en", "every weekend 11:00", "FREQ=WEEKLY;BYDAY=SA,SU", (2026, 11, 29, 11, 0)),
        (
            "en",
            "every 2 weeks on tuesday 10:00",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
            (2026, 12, 1, 10, 0),
        ),
        (
            "en",
            "every other week on friday 16:00",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR",
            (2026, 12, 4, 16, 0),
        ),
        ("en", "monthly on the 15th 10:00", "FREQ=MONTHLY;BYMONTHDAY=15", (2026, 12, 15, 10, 0)),
        (
            "en",
            "every month on day 1 at 09:00",
            "FREQ=MONTHLY;BYMONTHDAY=1",
            (2026, 12, 1, 9, 0),
        ),
        ("en", "weekly 10:00", "FREQ=WEEKLY;BYDAY=SU", (2026, 11, 29, 10, 0)),
        ("en", "monthly 10:00", "FREQ=MONTHLY;BYMONTHDAY=29", (2026, 11, 29, 10, 0)),
        (
            "en",
            "every monday 10:00 until 2027-03-01",
            f"FREQ=WEEKLY;BYDAY=MO;{UNTIL_MAR1_BERLIN}",
            (2026, 11, 30, 10, 0),
        ),
        (
            "en",
            "every monday 10:00 until March 1",
            f"FREQ=WEEKLY;BYDAY=MO;{UNTIL_MAR1_BERLIN}",
            (2026, 11, 30, 10, 0),
        ),
        (
            "en",
            "every monday 10:00 for 10 times",
            "FREQ=WEEKLY;BYDAY=MO;COUNT=10",
            (2026, 11, 30, 10, 0),
        ),
        (
            "en",
            "every monday 10:00, 10 times",
            "FREQ=WEEKLY;BYDAY=MO;COUNT=10",
            (2026, 11, 30, 10, 0),
        ),
        # German
        ("de", "jeden Montag 10:00", "FREQ=WEEKLY;BYDAY=MO", (2026, 11, 30, 10, 0)),
        ("de", "täglich 9:00", "FREQ=DAILY", (2026, 11, 29, 9, 0)),
        ("de", "jeden Tag um 9 Uhr", "FREQ=DAILY", (2026, 11, 29, 9, 0)),
        ("de", "werktags 9:00", WD, (2026, 11, 30, 9, 0)),
        ("de", "Montag bis Freitag 9:00", WD, (2026, 11, 30, 9, 0)),
        (
            "de",
            "montags und donnerstags 18:30",
            "FREQ=WEEKLY;BYDAY=MO,TH",
            (2026, 11, 30, 18, 30),
        ),
        (
            "de",
            "alle 2 Wochen am Dienstag um 10 Uhr",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
            (2026, 12, 1, 10, 0),
        ),
        (
            "de",
            "jeden Monat am 15. um 10:00",
            "FREQ=MONTHLY;BYMONTHDAY=15",
            (2026, 12, 15, 10, 0),
        ),
        (
            "de",
            "jeden Montag 10:00 bis 2027-03-01",
            f"FREQ=WEEKLY;BYDAY=MO;{UNTIL_MAR1_BERLIN}",
            (2026, 11, 30, 10, 0),
        ),
        (
            "de",
            "jeden Montag 10:00 bis 1. März",
            f"FREQ=WEEKLY;BYDAY=MO;{UNTIL_MAR1_BERLIN}",
            (2026, 11, 30, 10, 0),
        ),
        (
            "de",
            "jeden Montag 10 Uhr, 10 mal",
            "FREQ=WEEKLY;BYDAY=MO;COUNT=10",
            (2026, 11, 30, 10, 0),
        ),
        # Russian
        ("ru", "каждый понедельник 10:00", "FREQ=WEEKLY;BYDAY=MO", (2026, 11, 30, 10, 0)),
        ("ru", "каждый день 9:00", "FREQ=DAILY", (2026, 11, 29, 9, 0)),
        ("ru", "ежедневно в 9:00", "FREQ=DAILY", (2026, 11, 29, 9, 0)),
        ("ru", "по будням в 9:00", WD, (2026, 11, 30, 9, 0)),
        ("ru", "с понедельника по пятницу 9:00", WD, (2026, 11, 30, 9, 0)),
        (
            "ru",
            "по понедельникам и четвергам в 18:30",
            "FREQ=WEEKLY;BYDAY=MO,TH",
            (2026, 11, 30, 18, 30),
        ),
        (
            "ru",
            "каждые 2 недели по вторникам в 10:00",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
            (2026, 12, 1, 10, 0),
        ),
        (
            "ru",
            "каждый месяц 15 числа в 10:00",
            "FREQ=MONTHLY;BYMONTHDAY=15",
            (2026, 12, 15, 10, 0),
        ),
        (
            "ru",
            "каждый понедельник 10:00 до 2027-03-01",
            f"FREQ=WEEKLY;BYDAY=MO;{UNTIL_MAR1_BERLIN}",
            (2026, 11, 30, 10, 0),
        ),
        (
            "ru",
            "каждый понедельник 10:00 до 1 марта",
            f"FREQ=WEEKLY;BYDAY=MO;{UNTIL_MAR1_BERLIN}",
            (2026, 11, 30, 10, 0),
        ),
        ("ru", "ежедневно в 9:00, 10 раз", "FREQ=DAILY;COUNT=10", (2026, 11, 29, 9, 0)),
        # Ukrainian
        ("uk", "щопонеділка 10:00", "FREQ=WEEKLY;BYDAY=MO", (2026, 11, 30, 10, 0)),
        ("uk", "кожного понеділка 10:00", "FREQ=WEEKLY;BYDAY=MO", (2026, 11, 30, 10, 0)),
        ("uk", "щоп'ятниці о 16:00", "FREQ=WEEKLY;BYDAY=FR", (2026, 12, 4, 16, 0)),
        ("uk", "щодня о 9:00", "FREQ=DAILY", (2026, 11, 29, 9, 0)),
        ("uk", "по буднях о 9:00", WD, (2026, 11, 30, 9, 0)),
        (
            "uk",
            "кожні 2 тижні у вівторок о 10:00",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
            (2026, 12, 1, 10, 0),
        ),
        (
            "uk",
            "щомісяця 15 числа о 10:00",
            "FREQ=MONTHLY;BYMONTHDAY=15",
            (2026, 12, 15, 10, 0),
        ),
        (
            "uk",
            "щопонеділка 10:00 до 1 березня",
            f"FREQ=WEEKLY;BYDAY=MO;{UNTIL_MAR1_BERLIN}",
            (2026, 11, 30, 10, 0),
        ),
        (
            "uk",
            "щопонеділка 10:00, 10 разів",
            "FREQ=WEEKLY;BYDAY=MO;COUNT=10",
            (2026, 11, 30, 10, 0),
        ),
        # Spanish
        ("es", "cada lunes 10:00", "FREQ=WEEKLY;BYDAY=MO", (2026, 11, 30, 10, 0)),
        ("es", "todos los lunes 10:00", "FREQ=WEEKLY;BYDAY=MO", (2026, 11, 30, 10, 0)),
        (
            "es",
            "todos los lunes y jueves 18:30",
            "FREQ=WEEKLY;BYDAY=MO,TH",
            (2026, 11, 30, 18, 30),
        ),
        ("es", "todos los días a las 9:00", "FREQ=DAILY", (2026, 11, 29, 9, 0)),
        ("es", "de lunes a viernes a las 9:00", WD, (2026, 11, 30, 9, 0)),
        (
            "es",
            "cada 2 semanas el martes a las 10:00",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
            (2026, 12, 1, 10, 0),
        ),
        (
            "es",
            "cada mes el día 15 a las 10:00",
            "FREQ=MONTHLY;BYMONTHDAY=15",
            (2026, 12, 15, 10, 0),
        ),
        (
            "es",
            "todos los lunes 10:00 hasta el 1 de marzo",
            f"FREQ=WEEKLY;BYDAY=MO;{UNTIL_MAR1_BERLIN}",
            (2026, 11, 30, 10, 0),
        ),
        (
            "es",
            "cada lunes 10:00, 10 veces",
            "FREQ=WEEKLY;BYDAY=MO;COUNT=10",
            (2026, 11, 30, 10, 0),
        ),
        # French
        ("fr", "chaque lundi 10:00", "FREQ=WEEKLY;BYDAY=MO", (2026, 11, 30, 10, 0)),
        ("fr", "tous les lundis 10:00", "FREQ=WEEKLY;BYDAY=MO", (2026, 11, 30, 10, 0)),
        (
            "fr",
            "tous les lundis et jeudis 18h30",
            "FREQ=WEEKLY;BYDAY=MO,TH",
            (2026, 11, 30, 18, 30),
        ),
        ("fr", "tous les jours à 9h", "FREQ=DAILY", (2026, 11, 29, 9, 0)),
        ("fr", "du lundi au vendredi à 9h", WD, (2026, 11, 30, 9, 0)),
        (
            "fr",
            "toutes les 2 semaines le mardi à 10h",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
            (2026, 12, 1, 10, 0),
        ),
        (
            "fr",
            "tous les mois le 15 à 10h",
            "FREQ=MONTHLY;BYMONTHDAY=15",
            (2026, 12, 15, 10, 0),
        ),
        (
            "fr",
            "tous les lundis 10h jusqu'au 1 mars",
            f"FREQ=WEEKLY;BYDAY=MO;{UNTIL_MAR1_BERLIN}",
            (2026, 11, 30, 10, 0),
        ),
        (
            "fr",
            "chaque lundi 10h, 10 fois",
            "FREQ=WEEKLY;BYDAY=MO;COUNT=10",
            (2026, 11, 30, 10, 0),
        ),
    ],
)
def test_parse_recurrence_forms(lang: str, text: str, rule: str, first: tuple[int, ...]) -> None:
    rec = parse_recurrence(text, zone=BERLIN, languages=[lang], now=NOW)
    assert rec == Recurrence(rrule=rule, first_start=local(BERLIN, *first), zone=BERLIN)
    assert rec.first_start.tzinfo is UTC


def test_parse_recurrence_other_zones() -> None:
    rec = parse_recurrence(
        "every monday 10:00 until 2027-03-01", zone=NEW_YORK, languages=["en"], now=NOW
    )
    assert rec is not None
    # The until day ends at 23:59:59 New York time.
    assert rec.rrule == "FREQ=WEEKLY;BYDAY=MO;UNTIL=20270302T045959Z"
    assert rec.first_start == local(NEW_YORK, 2026, 11, 30, 10)
    rec = parse_recurrence("daily 9:00", zone=TOKYO, languages=["en"], now=NOW)
    assert rec == Recurrence("FREQ=DAILY", local(TOKYO, 2026, 11, 29, 9), TOKYO)
    rec = parse_recurrence("every day at 6:00", zone=NEW_YORK, languages=["en"], now=NOW)
    assert rec is not None
    assert rec.first_start == local(NEW_YORK, 2026, 11, 28, 6)  # 05:00 there now


def test_recurrence_is_frozen() -> None:
    rec = Recurrence("FREQ=DAILY", NOW, BERLIN)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.zone = TOKYO  # type: ignore[misc]


@pytest.mark.parametrize(
    "text",
    [
        "tomorrow 10:00",
        "monday 10:00",
        "next monday 10:00",
        "next weekend 10:00",
        "in 2 hours",
        "15:00",
        "",
        "hello",
        "x" * 300,
    ],
)
def test_parse_recurrence_not_a_recurrence(text: str) -> None:
    assert parse_recurrence(text, zone=BERLIN, languages=["en"], now=NOW) is None


@pytest.mark.parametrize(
    ("lang", "text", "why"),
    [
        ("en", "every banana 10:00", "bad_recurrence"),
        ("en", "every 10:00", "bad_recurrence"),
        ("en", "every", "bad_recurrence"),
        ("en", "every mon 9:00 and 10:00", "bad_recurrence"),
        ("en", "every 0 days 10:00", "bad_recurrence"),
        ("en", "every 500 days 10:00", "bad_recurrence"),
        ("en", "monthly on the 32nd 10:00", "bad_recurrence"),
        ("en", "every monday 10:00 until 2027-03-01 10 times", "bad_recurrence"),
        ("en", "every monday 10:00 until someday", "bad_recurrence"),
        ("en", "every monday 10:00 until 2027-02-30", "bad_recurrence"),
        ("en", "every monday 10:00, 0 times", "bad_recurrence"),
        ("en", "every day every week 10:00", "bad_recurrence"),
        ("en", "every monday on the 15th 10:00", "bad_recurrence"),
        ("de", "jeden Quatsch 10:00", "bad_recurrence"),
        ("ru", "каждый что-то 10:00", "bad_recurrence"),
        ("en", "every " + "monday " * 40 + "10:00", "bad_recurrence"),
        ("en", "every monday", "no_time"),
        ("de", "täglich", "no_time"),
        ("en", "every monday 10:00 until 2026-01-01", "in_the_past"),
        ("en", "every monday 10:00 until 2026-11-29", "bad_recurrence"),  # ends before start
    ],
)
def test_parse_recurrence_refusals(lang: str, text: str, why: str) -> None:
    assert reason(parse_recurrence, text, zone=BERLIN, languages=[lang], now=NOW) == why


# --------------------------------------------------------------------------------------------
# occurrences
# --------------------------------------------------------------------------------------------


def wall(instants: list[datetime], zone: str) -> list[str]:
    return [i.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z") for i in instants]


def test_occurrences_keep_wall_clock_across_berlin_dst() -> None:
    first = local(BERLIN, 2027, 3, 22, 10)
    result = occurrences(
        "FREQ=WEEKLY;BYDAY=MO", first_start=first, zone=BERLIN, after=NOW, limit=3
    )
    assert wall(result, BERLIN) == [
        "2027-03-22 10:00 CET",
        "2027-03-29 10:00 CEST",
        "2027-04-05 10:00 CEST",
    ]
    assert [r.hour for r in result] == [9, 8, 8]  # UTC moves, local does not
    assert all(r.tzinfo is UTC for r in result)


def test_occurrences_keep_wall_clock_across_new_york_dst() -> None:
    first = local(NEW_YORK, 2027, 3, 12, 10)
    result = occurrences("FREQ=DAILY", first_start=first, zone=NEW_YORK, after=NOW, limit=4)
    assert wall(result, NEW_YORK) == [
        "2027-03-12 10:00 EST",
        "2027-03-13 10:00 EST",
        "2027-03-14 10:00 EDT",
        "2027-03-15 10:00 EDT",
    ]
    assert [r.hour for r in result] == [15, 15, 14, 14]


def test_occurrences_autumn_change_and_tokyo() -> None:
    first = local(BERLIN, 2027, 10, 25, 10)
    result = occurrences(
        "FREQ=WEEKLY;BYDAY=MO", first_start=first, zone=BERLIN, after=NOW, limit=2
    )
    assert wall(result, BERLIN) == ["2027-10-25 10:00 CEST", "2027-11-01 10:00 CET"]
    first = local(TOKYO, 2027, 3, 13, 10)
    result = occurrences("FREQ=DAILY", first_start=first, zone=TOKYO, after=NOW, limit=3)
    assert [r.hour for r in result] == [1, 1, 1]


def test_occurrences_in_dst_gap_and_overlap() -> None:
    first = local(BERLIN, 2027, 3, 27, 2, 30)
    result = occurrences("FREQ=DAILY", first_start=first, zone=BERLIN, after=NOW, limit=3)
    assert wall(result, BERLIN) == [
        "2027-03-27 02:30 CET",
        "2027-03-28 03:30 CEST",  # 02:30 does not exist that day
        "2027-03-29 02:30 CEST",
    ]
    first = local(BERLIN, 2027, 10, 30, 2, 30)
    result = occurrences("FREQ=DAILY", first_start=first, zone=BERLIN, after=NOW, limit=3)
    assert wall(result, BERLIN) == [
        "2027-10-30 02:30 CEST",
        "2027-10-31 02:30 CEST",  # the first of the two 02:30s
        "2027-11-01 02:30 CET",
    ]


def test_occurrences_from_parsed_recurrence() -> None:
    rec = parse_recurrence("every monday 10:00", zone=BERLIN, languages=["en"], now=NOW)
    assert rec is not None
    result = occurrences(
        rec.rrule, first_start=rec.first_start, zone=rec.zone, after=NOW, limit=30
    )
    assert len(result) == 30
    assert {r.astimezone(ZoneInfo(BERLIN)).strftime("%a %H:%M") for r in result} == {"Mon 10:00"}
    assert result[0] == rec.first_start


def test_occurrences_interval_counts_from_first_start() -> None:
    rec = parse_recurrence(
        "every 2 weeks on tuesday 10:00", zone=NEW_YORK, languages=["en"], now=NOW
    )
    assert rec is not None
    result = occurrences(rec.rrule, first_start=rec.first_start, zone=NEW_YORK, after=NOW, limit=3)
    assert wall(result, NEW_YORK) == [
        "2026-12-01 10:00 EST",
        "2026-12-15 10:00 EST",
        "2026-12-29 10:00 EST",
    ]


def test_occurrences_strictly_after_and_limit() -> None:
    first = local(BERLIN, 2026, 11, 30, 10)
    rule = "FREQ=WEEKLY;BYDAY=MO"
    after_first = occurrences(rule, first_start=first, zone=BERLIN, after=first, limit=2)
    assert after_first == [first + timedelta(weeks=1), first + timedelta(weeks=2)]
    just_before = first - timedelta(seconds=1)
    assert occurrences(rule, first_start=first, zone=BERLIN, after=just_before, limit=1) == [first]
    assert occurrences(rule, first_start=first, zone=BERLIN, after=NOW, limit=0) == []


def test_occurrences_count_and_until() -> None:
    first = local(BERLIN, 2026, 11, 30, 10)
    counted = occurrences(
        "FREQ=DAILY;COUNT=3", first_start=first, zone=BERLIN, after=NOW, limit=10
    )
    assert len(counted) == 3
    # COUNT includes occurrences before `after`.
    later = occurrences(
        "FREQ=DAILY;COUNT=3", first_start=first, zone=BERLIN, after=first, limit=10
    )
    assert len(later) == 2
    rec = parse_recurrence(
        "every monday 10:00 until 2027-03-01", zone=BERLIN, languages=["en"], now=NOW
    )
    assert rec is not None
    until = occurrences(rec.rrule, first_start=rec.first_start, zone=BERLIN, after=NOW, limit=50)
    assert len(until) == 14
    assert wall(until[-1:], BERLIN) == ["2027-03-01 10:00 CET"]  # the until day is included


def test_occurrences_exdates() -> None:
    first = local(BERLIN, 2026, 11, 30, 10)
    rule = "FREQ=WEEKLY;BYDAY=MO"
    skipped = first + timedelta(weeks=1)
    # The exdate may be given in any zone; it is compared as an instant.
    result = occurrences(
        rule,
        first_start=first,
        zone=BERLIN,
        after=NOW,
        limit=3,
        exdates={skipped.astimezone(ZoneInfo(TOKYO))},
    )
    assert result == [first, first + timedelta(weeks=2), first + timedelta(weeks=3)]
    counted = occurrences(
        "FREQ=WEEKLY;BYDAY=MO;COUNT=2",
        first_start=first,
        zone=BERLIN,
        after=NOW,
        limit=5,
        exdates=[first],
    )
    assert counted == [skipped]


def test_occurrences_bad_input() -> None:
    first = local(BERLIN, 2026, 11, 30, 10)
    for rule in ("FREQ=SOMETIMES", "garbage", "", "FREQ=WEEKLY;BYDAY=XX", "FREQ=DAILY;UNTIL=2027"):
        assert reason(occurrences, rule, first_start=first, zone=BERLIN, after=NOW, limit=1) == (
            "bad_recurrence"
        )
    with pytest.raises(ValueError, match="timezone-aware"):
        occurrences(
            "FREQ=DAILY", first_start=first, zone=BERLIN, after=NOW.replace(tzinfo=None), limit=1
        )
    assert reason(
        occurrences, "FREQ=DAILY", first_start=first, zone="No/Where", after=NOW, limit=1
    ) == ("unknown_zone")


# --------------------------------------------------------------------------------------------
# describe_recurrence
# --------------------------------------------------------------------------------------------

RULES = {
    "mon": "FREQ=WEEKLY;BYDAY=MO",
    "wed": "FREQ=WEEKLY;BYDAY=WE",
    "tue_thu_2w": "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH",
    "mon_thu": "FREQ=WEEKLY;BYDAY=MO,TH",
    "daily": "FREQ=DAILY",
    "every_3_days": "FREQ=DAILY;INTERVAL=3",
    "weekdays": WD,
    "monthly_15": "FREQ=MONTHLY;BYMONTHDAY=15",
    "count": "FREQ=WEEKLY;BYDAY=MO;COUNT=10",
    "until": "FREQ=WEEKLY;BYDAY=MO;UNTIL=20270301T225959Z",
}

DESCRIPTIONS = {
    "en": {
        "mon": "every Monday",
        "wed": "every Wednesday",
        "tue_thu_2w": "every 2 weeks on Tuesday and Thursday",
        "mon_thu": "every Monday and Thursday",
        "daily": "every day",
        "every_3_days": "every 3 days",
        "weekdays": "every weekday",
        "monthly_15": "monthly on day 15",
        "count": "every Monday, 10 times",
        "until": "every Monday, until March 1, 2027",
    },
    "de": {
        "mon": "jeden Montag",
        "wed": "jeden Mittwoch",
        "tue_thu_2w": "alle 2 Wochen am Dienstag und Donnerstag",
        "mon_thu": "jeden Montag und Donnerstag",
        "daily": "täglich",
        "every_3_days": "alle 3 Tage",
        "weekdays": "werktags",
        "monthly_15": "monatlich am 15.",
        "count": "jeden Montag, 10-mal",
        "until": "jeden Montag, bis 1. März 2027",
    },
    "ru": {
        "mon": "каждый понедельник",
        "wed": "каждую среду",
        "tue_thu_2w": "каждые 2 недели по вторникам и четвергам",
        "mon_thu": "по понедельникам и четвергам",
        "daily": "каждый день",
        "every_3_days": "каждые 3 дня",
        "weekdays": "по будням",
        "monthly_15": "каждый месяц 15-го числа",
        "count": "каждый понедельник, 10 раз",
        "until": "каждый понедельник, до 1 марта 2027\u202fг.",  # CLDR: narrow no-break space
    },
    "uk": {
        "mon": "щопонеділка",
        "wed": "щосереди",
        "tue_thu_2w": "кожні 2 тижні по вівторках і четвергах",
        "mon_thu": "по понеділках і четвергах",
        "daily": "щодня",
        "every_3_days": "кожні 3 дні",
        "weekdays": "у робочі дні",
        "monthly_15": "щомісяця 15-го числа",
        "count": "щопонеділка, 10 разів",
        "until": "щопонеділка, до 1 березня 2027\u202fр.",
    },
    "es": {
        "mon": "todos los lunes",
        "wed": "todos los miércoles",
        "tue_thu_2w": "cada 2 semanas, los martes y jueves",
        "mon_thu": "todos los lunes y jueves",
        "daily": "todos los días",
        "every_3_days": "cada 3 días",
        "weekdays": "de lunes a viernes",
        "monthly_15": "todos los meses el día 15",
        "count": "todos los lunes, 10 veces",
        "until": "todos los lunes, hasta el 1 de marzo de 2027",
    },
    "fr": {
        "mon": "tous les lundis",
        "wed": "tous les mercredis",
        "tue_thu_2w": "toutes les 2 semaines, le mardi et le jeudi",
        "mon_thu": "tous les lundis et jeudis",
        "daily": "tous les jours",
        "every_3_days": "tous les 3 jours",
        "weekdays": "du lundi au vendredi",
        "monthly_15": "tous les mois le 15",
        "count": "tous les lundis, 10 fois",
        "until": "tous les lundis, jusqu'au 1 mars 2027",
    },
}


@pytest.mark.parametrize(
    ("lang", "key"), [(lang, key) for lang in DESCRIPTIONS for key in DESCRIPTIONS[lang]]
)
def test_describe_recurrence(lang: str, key: str) -> None:
    assert describe_recurrence(RULES[key], locale=lang, zone=BERLIN) == DESCRIPTIONS[lang][key]


@pytest.mark.parametrize(
    ("rule", "lang", "expected"),
    [
        ("FREQ=DAILY;INTERVAL=5", "ru", "каждые 5 дней"),
        ("FREQ=DAILY;INTERVAL=21", "ru", "каждый 21 день"),
        ("FREQ=WEEKLY;INTERVAL=5;BYDAY=FR", "uk", "кожні 5 тижнів по п'ятницях"),
        ("FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=1,15", "en", "every 2 months on days 1 and 15"),
        ("FREQ=MONTHLY;BYMONTHDAY=1", "fr", "tous les mois le 1er"),
        ("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1", "es", "cada 3 meses, el día 1"),
        ("FREQ=WEEKLY;BYDAY=SA,SU", "es", "todos los sábados y domingos"),
        ("FREQ=DAILY;COUNT=22", "ru", "каждый день, 22 раза"),
        ("FREQ=DAILY;COUNT=1", "de", "täglich, einmal"),
        ("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", "en", "every weekday"),
        ("FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,TU,WE,TH,FR", "de", "alle 3 Wochen werktags"),
        ("FREQ=YEARLY", "fr", "tous les ans"),
        ("FREQ=WEEKLY", "uk", "щотижня"),
        ("RRULE:FREQ=WEEKLY;BYDAY=MO;WKST=MO", "en", "every Monday"),
        ("FREQ=WEEKLY;BYDAY=MO", "de_CH", "jeden Montag"),
        ("FREQ=WEEKLY;BYDAY=MO", "pt", "every Monday"),  # unsupported -> English
    ],
)
def test_describe_recurrence_more(rule: str, lang: str, expected: str) -> None:
    assert describe_recurrence(rule, locale=lang) == expected


def test_describe_until_uses_meeting_zone() -> None:
    rule = "FREQ=DAILY;UNTIL=20270302T045959Z"  # end of 1 March in New York
    assert describe_recurrence(rule, locale="en", zone=NEW_YORK) == (
        "every day, until March 1, 2027"
    )
    assert describe_recurrence(rule, locale="en") == "every day, until March 2, 2027"  # UTC


# The descriptions come from the gettext catalogs: every plural form and case form is an entry.
@pytest.mark.parametrize(
    ("rule", "lang", "expected"),
    [
        ("FREQ=DAILY;INTERVAL=22", "ru", "каждые 22 дня"),
        ("FREQ=DAILY;INTERVAL=11", "ru", "каждые 11 дней"),
        ("FREQ=WEEKLY;INTERVAL=21;BYDAY=WE", "ru", "каждую 21 неделю по средам"),
        ("FREQ=YEARLY;INTERVAL=5", "ru", "каждые 5 лет"),
        ("FREQ=WEEKLY;BYDAY=FR", "ru", "каждую пятницу"),
        ("FREQ=WEEKLY;BYDAY=SU", "ru", "каждое воскресенье"),
        ("FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=1,15", "ru", "каждые 2 месяца 1-го и 15-го числа"),
        ("FREQ=MONTHLY;INTERVAL=12", "uk", "кожні 12 місяців"),
        ("FREQ=WEEKLY;INTERVAL=21", "uk", "кожен 21 тиждень"),
        ("FREQ=WEEKLY;BYDAY=SU;COUNT=3", "uk", "щонеділі, 3 рази"),
        ("FREQ=MONTHLY;BYMONTHDAY=1,15", "fr", "tous les mois le 1er et le 15"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=SA", "fr", "toutes les 2 semaines, le samedi"),
        ("FREQ=DAILY;COUNT=2", "fr", "tous les jours, 2 fois"),
        ("FREQ=MONTHLY;BYMONTHDAY=1,15", "es", "todos los meses los días 1 y 15"),
        ("FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,SA", "es", "cada 3 semanas, los lunes y sábados"),
    ],
)
def test_describe_recurrence_plural_and_case_forms(rule: str, lang: str, expected: str) -> None:
    assert describe_recurrence(rule, locale=lang) == expected


def test_describe_recurrence_writes_in_the_asked_language_and_leaves_the_reader_alone() -> None:
    with use_language("de"):
        assert describe_recurrence("FREQ=WEEKLY;BYDAY=MO", locale="fr") == "tous les lundis"
        assert _("Confirm") == "Bestätigen"  # the reader's own language is back afterwards


@pytest.mark.parametrize(
    "rule",
    [
        "",
        "FREQ=HOURLY",
        "FREQ=WEEKLY;BYDAY=1MO",
        "FREQ=WEEKLY;BYSETPOS=1",
        "FREQ=MONTHLY;BYMONTHDAY=-1",
        "FREQ=DAILY;COUNT=3;UNTIL=20270101T000000Z",
        "FREQ=DAILY;INTERVAL=0",
        "FREQ=DAILY;UNTIL=tomorrow",
        "nonsense",
    ],
)
def test_describe_recurrence_refuses_unsupported(rule: str) -> None:
    assert reason(describe_recurrence, rule, locale="en") == "bad_recurrence"


@pytest.mark.parametrize("lang", ["en", "de", "ru", "uk", "es", "fr"])
def test_parsed_rules_describe_and_expand(lang: str) -> None:
    texts = {
        "en": "every 2 weeks on tuesday 10:00 until 2027-03-01",
        "de": "alle 2 Wochen am Dienstag um 10 Uhr bis 2027-03-01",
        "ru": "каждые 2 недели по вторникам в 10:00 до 2027-03-01",
        "uk": "кожні 2 тижні у вівторок о 10:00 до 2027-03-01",
        "es": "cada 2 semanas el martes a las 10:00 hasta el 2027-03-01",
        "fr": "toutes les 2 semaines le mardi à 10h jusqu'au 2027-03-01",
    }
    rec = parse_recurrence(texts[lang], zone=BERLIN, languages=[lang], now=NOW)
    assert rec is not None
    assert rec.rrule == f"FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;{UNTIL_MAR1_BERLIN}"
    assert describe_recurrence(rec.rrule, locale=lang, zone=BERLIN)
    dates = occurrences(rec.rrule, first_start=rec.first_start, zone=BERLIN, after=NOW, limit=99)
    assert len(dates) == 7  # Dec 1 .. Feb 23, fortnightly


# --------------------------------------------------------------------------------------------
# Zones
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "zone"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("berlin", "Europe/Berlin"),
        ("  Berlin ", "Europe/Berlin"),
        ("New York", "America/New_York"),
        ("new_york", "America/New_York"),
        ("new-york", "America/New_York"),
        ("Kyiv", "Europe/Kyiv"),
        ("Kiev", "Europe/Kyiv"),
        ("Europe/Kiev", "Europe/Kyiv"),
        ("Київ", "Europe/Kyiv"),
        ("Киев", "Europe/Kyiv"),
        ("Kiew", "Europe/Kyiv"),
        ("Odesa", "Europe/Kyiv"),
        ("tokyo", "Asia/Tokyo"),
        ("Токио", "Asia/Tokyo"),
        ("Wien", "Europe/Vienna"),
        ("Londres", "Europe/London"),
        ("Moscou", "Europe/Moscow"),
        ("Москва", "Europe/Moscow"),
        ("München", "Europe/Berlin"),
        ("São Paulo", "America/Sao_Paulo"),
        ("sao paulo", "America/Sao_Paulo"),
        ("buenos aires", "America/Argentina/Buenos_Aires"),
        ("Calcutta", "Asia/Kolkata"),
        ("US/Eastern", "America/New_York"),
        ("EST", "America/New_York"),
        ("PST", "America/Los_Angeles"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
        ("GMT", "UTC"),
        ("utc+0", "UTC"),
        ("utc+2", "Etc/GMT-2"),
        ("UTC+02:00", "Etc/GMT-2"),
        ("GMT-5", "Etc/GMT+5"),
        ("+3", "Etc/GMT-3"),
        ("utc+14", "Etc/GMT-14"),
    ],
)
def test_find_zone(query: str, zone: str) -> None:
    assert find_zone(query) == zone
    ZoneInfo(find_zone(query))  # always loadable


@pytest.mark.parametrize(
    "query",
    ["", "   ", "nowhere", "Europe", "Mars/Olympus", "utc+05:30", "utc+15", "gmt-13", "x" * 100],
)
def test_find_zone_unknown(query: str) -> None:
    assert reason(find_zone, query) == "unknown_zone"


def test_suggest_zones() -> None:
    assert suggest_zones("berln")[0] == "Europe/Berlin"
    assert suggest_zones("york")[0] == "America/New_York"
    assert suggest_zones("new yrok")[0] == "America/New_York"
    assert suggest_zones("londn")[0] == "Europe/London"
    assert suggest_zones("Berlin")[0] == "Europe/Berlin"  # exact match first
    assert suggest_zones("america/new")[0] == "America/New_York"
    assert len(suggest_zones("a", limit=3)) == 3
    assert suggest_zones("berln", limit=0) == []
    assert suggest_zones("") == []
    assert suggest_zones("qqqqqq") == []
    for name in suggest_zones("san"):
        ZoneInfo(name)


# --------------------------------------------------------------------------------------------
# Property: arbitrary text never raises anything but TimeParseError
# --------------------------------------------------------------------------------------------

FRAGMENTS = [
    "every ",
    "monday ",
    "jeden ",
    "каждый ",
    "щопонеділка ",
    "cada ",
    "tous les ",
    "until ",
    "до ",
    "bis ",
    "times ",
    "mal ",
    "10:00 ",
    "9am ",
    "15 uhr ",
    "15h30 ",
    "2027-03-01 ",
    "1h30 ",
    "in ",
    "через ",
    "day ",
    "15th ",
    "числа ",
    "le ",
    "el ",
    "-",
    "+",
    ":",
    ".",
    "utc",
    "99999999 ",
    "0 ",
]
TEXTS = st.one_of(
    st.text(max_size=40),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=8).map("".join),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXTS, lang=st.sampled_from(["en", "de", "ru", "uk", "es", "fr"]))
def test_parsers_only_raise_timeparseerror(text: str, lang: str) -> None:
    try:
        result = parse_when(text, zone=BERLIN, languages=[lang], now=NOW)
    except TimeParseError as exc:
        assert exc.reason in REASONS
    else:
        assert result.tzinfo is UTC
        assert NOW <= result <= NOW + timedelta(days=366)
    try:
        assert timedelta(minutes=1) <= parse_duration(text) <= timedelta(hours=24)
    except TimeParseError as exc:
        assert exc.reason in REASONS
    try:
        rec = parse_recurrence(text, zone=NEW_YORK, languages=[lang], now=NOW)
    except TimeParseError as exc:
        assert exc.reason in REASONS
    else:
        if rec is not None:
            assert rec.first_start > NOW
            assert describe_recurrence(rec.rrule, locale=lang, zone=NEW_YORK)
            assert occurrences(
                rec.rrule, first_start=rec.first_start, zone=NEW_YORK, after=NOW, limit=2
            )
    try:
        ZoneInfo(find_zone(text))
    except TimeParseError as exc:
        assert exc.reason in REASONS
    assert len(suggest_zones(text)) <= 5
