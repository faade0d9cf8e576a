"""Natural-language dates, durations, recurrence rules and time zones.

Plain values in, plain values out: no Telegram, no database, and the clock is always passed in
(`now`), so every function is deterministic and easy to test.

Languages: ``bot.config.SUPPORTED_LANGUAGES`` (English is always tried as a fallback). The word
tables below only read typed input; rule descriptions come from the gettext catalogs.

Rules chosen here (the bot's texts should match them):

* ``parse_when`` reads the text as wall-clock time in the user's zone and returns a UTC instant.
  - A bare time ("15:00", "3pm", "um 15 Uhr") is the next such time: today if still ahead,
    otherwise tomorrow.
  - A weekday ("monday 10:00", "next monday 10:00", "am Montag um 10 Uhr") is the nearest such
    day *after* today, never today (say "today 10:00" for today).
  - "in 2 hours" / "через 2 часа" / "dans 2 heures" is exact elapsed time (``now + 2h``), so it
    stays right across a DST change.
  - A date without a time ("tomorrow", "1 March", "next week") is refused with the extra reason
    ``"no_time"``: the bot should ask for the time instead of guessing midnight.
  - DST gap (e.g. 2027-03-28 02:30 in Europe/Berlin does not exist): the wall time is read with
    the offset in force *before* the gap, which moves it forward by the gap length (02:30 ->
    03:30 CEST). This is RFC 5545's rule for DTSTART and what ``fold=0`` does.
    DST overlap (the hour that happens twice): the first one (``fold=0``, still summer time).
  - Refused: in the past (``"in_the_past"``), more than 366 days ahead (``"too_far"``).
* ``parse_duration``: "90" alone means minutes; results are rounded to whole minutes;
  1 minute .. 24 hours inclusive.
* Recurrence: see ``parse_recurrence``. ``UNTIL`` is the end (23:59:59) of the given day in the
  meeting's zone, stored in UTC "Z" form; the until day is included.
* ``occurrences`` expands the rule on the meeting's own wall clock, so a 10:00 meeting stays at
  10:00 local across DST, and returns occurrences *strictly after* ``after``.
  Known limitation: ``first_start`` is stored as a UTC instant, so if the very first occurrence
  falls into a DST gap the series keeps the shifted wall time.
* ``find_zone`` accepts IANA names in any case ("europe/berlin"), city names with spaces or
  underscores, old names (Kiev -> Europe/Kyiv, via Babel's alias table), city names in the six
  bot languages (Babel's CLDR exemplar cities: "Киев", "Wien", "Londres"), a few big cities
  without their own zone (Munich, Washington, ...), a few abbreviations (EST, PST, CET, MSK),
  and whole-hour UTC offsets ("utc+2", "GMT-5", "+3") which map to the fixed-offset IANA zones
  ``Etc/GMT-2`` etc. (POSIX sign is inverted; such zones never observe DST). "utc"/"gmt"/"z" give
  "UTC". Non-whole-hour offsets (+05:30) are refused: pick a city.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import heapq
import itertools
import re
import unicodedata
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale
from babel.core import get_global
from babel.dates import format_date
from babel.lists import format_list
from dateparser.date import DateDataParser
from dateutil import rrule as du_rrule

from bot.config import SUPPORTED_LANGUAGES
from bot.i18n import SOURCE_LANGUAGE, _, ngettext, normalize_language, pgettext, use_language

_V = TypeVar("_V")

__all__ = [
    "REASONS",
    "Recurrence",
    "TimeParseError",
    "describe_recurrence",
    "find_zone",
    "occurrences",
    "parse_day",
    "parse_duration",
    "parse_recurrence",
    "parse_when",
    "suggest_zones",
    "warm_up",
]

REASONS = frozenset(
    {
        "not_a_date",
        "no_time",
        "in_the_past",
        "too_far",
        "bad_duration",
        "duration_zero",
        "duration_too_long",
        "bad_recurrence",
        "unknown_zone",
    }
)

MAX_AHEAD = timedelta(days=366)
MAX_DURATION = timedelta(hours=24)
MAX_COUNT = 1000
MAX_INTERVAL = 99
_MAX_TEXT = 200  # longer input is not a date; also bounds the regex work


class TimeParseError(ValueError):
    """The text can't be used; ``reason`` is one of ``REASONS`` (the bot maps it to a message)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------

_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "´": "'", "‘": "'"})


def _clean(text: str) -> str:
    """Lower-case, unify apostrophes and spaces, drop surrounding punctuation."""
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
    text = re.sub(r"\s+", " ", text).strip()
    return text.strip(" .,!?;")


def _zone(zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise TimeParseError("unknown_zone", zone) from exc


def _as_utc(value: datetime, name: str) -> datetime:
    """A timezone-aware datetime in UTC; naive datetimes are a programming error."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


def _localize(naive: datetime, zone: ZoneInfo) -> datetime:
    """Wall time in ``zone`` -> UTC. ``fold=0``: gap moves forward, overlap picks the first."""
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC)


@functools.cache
def _languages_cached(languages: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for lang in languages:
        primary = re.split(r"[-_]", lang.strip().lower(), maxsplit=1)[0]
        if primary in SUPPORTED_LANGUAGES and primary not in out:
            out.append(primary)
    if "en" not in out:
        out.append("en")
    return tuple(out)


def _languages(languages: Sequence[str]) -> tuple[str, ...]:
    """The user's languages we support, in order, plus English as the fallback."""
    if isinstance(languages, str):
        languages = [languages]
    return _languages_cached(tuple(languages))


def _alternation(words: Collection[str]) -> str:
    """A regex alternation of literal words, longest first, as whole words."""
    body = "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
    return rf"(?<![\w'])(?:{body})(?![\w'])"


def _words(*groups: str) -> frozenset[str]:
    return frozenset(w for g in groups for w in g.split())


def _table(groups: dict[_V, str]) -> dict[str, _V]:
    """{value: "phrase|phrase|..."} -> {phrase: value}; keeps the word lists compact."""
    return {p.strip(): value for value, phrases in groups.items() for p in phrases.split("|")}


# --------------------------------------------------------------------------------------------
# Clock times
# --------------------------------------------------------------------------------------------

# Words that introduce a clock time: "at 9", "um 9", "в 9", "о 9", "a las 9", "à 9".
_AT = r"at|um|gegen|в|во|о|об|a las|a la|à|vers"

# Pre-processing for forms dateparser misreads (checked one by one):
#   "15 Uhr" / "15.30 Uhr"  -> "15:00" / "15:30"   (dateparser: "morgen 15 Uhr" -> 11:00)
#   "15h" / "15h30"         -> "15:00" / "15:30"   (dateparser: "demain 15h" -> +15 hours)
#   "at 9" / "в 15 часов"   -> "at 9:00"           (dateparser: "at 9" -> September)
_UHR_MM = re.compile(r"(?<![\d:.,])(\d{1,2})[:.h](\d{2})\s*uhr(?![\w'])")
_UHR = re.compile(r"(?<![\d:.,])(\d{1,2})\s*uhr(?:\s+(\d{2})(?!\d))?(?![\w'])")
_FRENCH_H = re.compile(r"(?<![\d:.,])(\d{1,2})\s?h\s?(\d{2})?(?![\w:'])")
_AT_HOUR = re.compile(
    rf"(?<![\w'])({_AT})\s+(\d{{1,2}})"
    r"(?:\s*(?:o'clock|heures?|horas?|uhr|часов|часа|час|ч|годині|години|годину|годин|h)"
    r"(?![\w']))?(?![\w:.'])(?!\s*[ap]\.?m(?![\w']))"
)


def _hhmm(hour: str, minute: str | None) -> str | None:
    h, m = int(hour), int(minute or 0)
    return f"{h}:{m:02d}" if h <= 23 and m <= 59 else None


def _rewrite_times(s: str) -> str:
    def sub(match: re.Match[str]) -> str:
        return _hhmm(match.group(1), match.group(2)) or match.group(0)

    def sub_at(match: re.Match[str]) -> str:
        hhmm = _hhmm(match.group(2), None)
        return f"{match.group(1)} {hhmm}" if hhmm else match.group(0)

    s = _UHR_MM.sub(sub, s)
    s = _UHR.sub(sub, s)
    s = _FRENCH_H.sub(sub, s)
    return _AT_HOUR.sub(sub_at, s)


_TIME = re.compile(
    rf"(?:(?<![\w'])(?:{_AT})\s+)?"
    r"(?<![\w:.,])(?P<h>\d{1,2})(?::(?P<m>\d{2}))?"
    r"(?:\s*(?P<ap>[ap])\.?m(?![\w'])\.?(?!\s*\d))?"
    r"(?![\w:])"
)


@dataclass(frozen=True)
class _TimeMatch:
    start: int
    end: int
    hour: int
    minute: int


def _find_times(s: str) -> list[_TimeMatch]:
    """Every clock time in ``s`` ("10:00", "3pm", "at 9:30 a.m."); bare numbers are not times."""
    found = []
    for match in _TIME.finditer(s):
        minute_text, ampm = match.group("m"), match.group("ap")
        if minute_text is None and ampm is None:
            continue
        hour, minute = int(match.group("h")), int(minute_text or 0)
        if minute > 59:
            continue
        if ampm:
            if not 1 <= hour <= 12:
                continue
            hour = hour % 12 + (12 if ampm == "p" else 0)
        elif hour > 23:
            continue
        found.append(_TimeMatch(match.start(), match.end(), hour, minute))
    return found


def _cut(s: str, start: int, end: int) -> str:
    return f"{s[:start]} {s[end:]}"


def _only(s: str, allowed: frozenset[str]) -> bool:
    """True if ``s`` holds nothing but words from ``allowed`` and punctuation."""
    return all(word in allowed for word in re.findall(r"[\w']+", s))


# --------------------------------------------------------------------------------------------
# Weekdays
# --------------------------------------------------------------------------------------------

_WD_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

# One weekday: the forms used after a preposition ("on monday", "am Montag", "в среду",
# "у п'ятницю", "el lunes", "lundi"). Abbreviations only where they cannot be a month or word.
_WEEKDAY_ONE = (
    _words("monday mon montag понедельник понедельника пн понеділок понеділка lunes lundi"),
    _words("tuesday tue tues dienstag вторник вторника вт вівторок вівторка martes mardi"),
    _words(
        "wednesday wed mittwoch среда среду среды ср середа середу середи miércoles miercoles"
        " mercredi"
    ),
    _words("thursday thu thur thurs donnerstag четверг четверга чт четвер jueves jeudi"),
    _words(
        "friday fri freitag пятница пятницу пятницы пт п'ятниця п'ятницю п'ятниці viernes vendredi"
    ),
    _words(
        "saturday sat samstag sonnabend суббота субботу субботы сб субота суботу суботи sábado"
        " sabado samedi"
    ),
    _words(
        "sunday sun sonntag воскресенье воскресенья вс неділя неділю неділі нд domingo dimanche"
    ),
)
# Plural / adverbial forms: on their own they already mean "every ..." ("mondays", "montags",
# "по понедельникам", "щопонеділка", "по понеділках", "los sábados", "les lundis").
_WEEKDAY_MANY = (
    _words("mondays montags понедельникам понедельниках понеділкам понеділках щопонеділка lundis"),
    _words("tuesdays dienstags вторникам вторниках вівторкам вівторках щовівторка mardis"),
    _words("wednesdays mittwochs средам средах середам середах щосереди mercredis"),
    _words("thursdays donnerstags четвергам четвергах щочетверга jeudis"),
    _words("fridays freitags пятницам пятницах п'ятницям п'ятницях щоп'ятниці vendredis"),
    _words("saturdays samstags sonnabends субботам субботах суботам суботах щосуботи sábados"),
    _words(
        "sundays sonntags воскресеньям воскресеньях неділям неділях щонеділі domingos dimanches"
    ),
)
_WEEKDAY_OF: dict[str, int] = {
    word: index
    for groups in (_WEEKDAY_ONE, _WEEKDAY_MANY)
    for index, forms in enumerate(groups)
    for word in forms
}
_WEEKDAY_ONE_RE = re.compile(_alternation(set().union(*_WEEKDAY_ONE)))
_WEEKDAY_ANY_RE = re.compile(_alternation(_WEEKDAY_OF))

# Words that may surround "<weekday> <time>" in parse_when ("next", "am", "el ... que viene").
_WEEKDAY_FILLER = _words(
    "on at this next coming",
    "am um an diesen nächsten nächster nächste kommenden kommender",
    "в во у на о об следующий следующую следующее этот эту наступного наступну наступний"
    " наступної цей цю",
    "el la a las próximo proximo próxima que viene",
    "le ce à prochain prochaine",
)


# --------------------------------------------------------------------------------------------
# Durations
# --------------------------------------------------------------------------------------------

_DURATION_UNITS = _table(
    {
        1: "m|min|mins|minute|minutes|minuten|minuto|minutos|mn|мин|минута|минуты|минуту|минут|м"
        "|хв|хвилина|хвилини|хвилину|хвилин",
        60: "h|hr|hrs|hour|hours|std|stunde|stunden|hora|horas|hs|heure|heures|ч|час|часа|часов"
        "|год|година|години|годину|годин",
        1440: "d|day|days|tag|tage|tagen|día|días|dia|dias|j|jour|jours|д|дн|день|дня|дней"
        "|дні|днів",
    }
)
_DURATION_UNIT_RE = "|".join(re.escape(u) for u in sorted(_DURATION_UNITS, key=len, reverse=True))
_DURATION_PART = re.compile(
    rf"(?P<num>\d{{1,6}}(?:\.\d{{1,6}})?)\s*(?:(?P<unit>{_DURATION_UNIT_RE})\.?)?(?![^\W\d_])"
)
_DURATION_JOIN = re.compile(r"\s*(?:(?:and|und|и|і|та|y|et|,)\s+|,\s*)?")
# Whole phrases with no digits.
_DURATION_IDIOMS = _table(
    {
        30: "half an hour|half hour|halbe stunde|eine halbe stunde|einer halben stunde|полчаса"
        "|пол часа|півгодини|пів години|media hora|una media hora|demi-heure|une demi-heure"
        "|une demi heure",
        60: "an hour|one hour|hour|eine stunde|einer stunde|stunde|час|один час|година"
        "|одна година|годину|una hora|hora|une heure|heure",
        90: "an hour and a half|one and a half hours|anderthalb stunden|eineinhalb stunden"
        "|полтора часа|півтори години|hora y media|una hora y media|une heure et demie",
    }
)


def parse_duration(text: str, *, longest: timedelta = MAX_DURATION) -> timedelta:
    """A meeting length: "45m", "1h30", "1,5 h", "90", "1:30", "2 Stunden", "45 минут", ...

    A bare number is minutes. The result is rounded to whole minutes and must be between one
    minute and `longest` (24 hours unless told; inclusive).
    """
    s = _clean(text)
    s = re.sub(r"(?<=\d),(?=\d)", ".", s)
    if not s or len(s) > 60:
        raise TimeParseError("bad_duration", text)
    minutes = _duration_minutes(s)
    if minutes is None:
        raise TimeParseError("bad_duration", text)
    total = round(minutes)
    if total <= 0:
        raise TimeParseError("duration_zero", text)
    if total > longest.total_seconds() // 60:
        raise TimeParseError("duration_too_long", text)
    return timedelta(minutes=total)


def _duration_minutes(s: str) -> float | None:
    if s in _DURATION_IDIOMS:
        return _DURATION_IDIOMS[s]
    if match := re.fullmatch(r"(\d{1,2}):([0-5]\d)", s):  # "1:30"
        return int(match.group(1)) * 60 + int(match.group(2))
    if re.fullmatch(r"\d{1,6}", s):  # "90": minutes
        return int(s)
    total = 0.0
    seen: set[int] = set()
    pos = 0
    while pos < len(s):
        if pos and (join := _DURATION_JOIN.match(s, pos)):
            pos = join.end()
        part = _DURATION_PART.match(s, pos)
        if part is None or part.end() == pos:
            return None
        pos = part.end()
        number, unit = part.group("num"), part.group("unit")
        if unit is None:
            # Only "1h30" / "1 час 30": a whole number of minutes after the hours, at the end.
            if seen != {60} or "." in number or int(number) > 59 or s[pos:].strip():
                return None
            factor = 1
        else:
            factor = _DURATION_UNITS[unit]
        if factor in seen:
            return None
        seen.add(factor)
        total += float(number) * factor
    return total if seen else None


# --------------------------------------------------------------------------------------------
# parse_when
# --------------------------------------------------------------------------------------------


@functools.cache
def warm_up(languages: tuple[str, ...] = SUPPORTED_LANGUAGES) -> None:
    """Load dateparser's language data once (the first parse per language costs ~0.1 s).

    Called lazily by the parsers; the bot may call it at start-up to keep the first reply fast.
    """
    for lang in languages:
        _date_parser(_languages([lang]), "UTC", datetime(2000, 1, 1)).get_date_data("1 jan 10:00")


def _date_parser(langs: tuple[str, ...], zone: str, base: datetime) -> Any:
    settings = {
        "TIMEZONE": zone,
        # Naive wall time in `zone` comes back; we attach the zone ourselves so the DST rules
        # above hold (an explicit zone in the text, "10:00 UTC", is converted into `zone`).
        "RETURN_AS_TIMEZONE_AWARE": False,
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": base,
        "RETURN_TIME_AS_PERIOD": True,  # period == "time" tells us a time was given
        # No timestamps ("1700000000") and no digit soup ("1130" -> year 1130).
        "PARSERS": ["relative-time", "custom-formats", "absolute-time"],
    }
    if langs[0] != "en":
        settings["DATE_ORDER"] = "DMY"  # "01.12.2026", "01/12/2026" outside English
    return DateDataParser(languages=list(langs), settings=settings)


def _dateparser(s: str, langs: tuple[str, ...], zone: str, base: datetime) -> tuple[Any, str]:
    """(naive datetime or None, period); dateparser's own exceptions become "not a date"."""
    warm_up(langs)
    try:
        data = _date_parser(langs, zone, base).get_date_data(s)
    except Exception as exc:  # dateparser raises assorted errors on odd input
        raise TimeParseError("not_a_date", s) from exc
    return data.date_obj, data.period


_IN_DURATION = re.compile(r"(?:in|within|через|dans|en|dentro de)\s+(?P<rest>.+)")
_TIME_FILLER = _words("at um gegen в во о об a las la à vers")


def parse_when(text: str, *, zone: str, languages: Sequence[str], now: datetime) -> datetime:
    """A single meeting start from free text, read in ``zone``; returns a UTC-aware datetime.

    See the module docstring for the rules (bare time, weekdays, no time, DST).
    """
    now_utc = _as_utc(now, "now")
    tz = _zone(zone)
    langs = _languages(languages)
    s = _clean(text)
    if not s or len(s) > _MAX_TEXT:
        raise TimeParseError("not_a_date", text)

    result = _when_relative(s, now_utc)
    if result is None:
        s = _rewrite_times(s)
        local_now = now_utc.astimezone(tz).replace(tzinfo=None)
        naive = (
            _when_time_only(s, local_now, tz, now_utc)
            or _when_weekday(s, local_now)
            or _when_dateparser(s, langs, zone, local_now)
        )
        result = _localize(naive, tz)
    if result < now_utc:
        raise TimeParseError("in_the_past", text)
    if result - now_utc > MAX_AHEAD:
        raise TimeParseError("too_far", text)
    return result


def parse_day(text: str, *, zone: str, now: datetime, languages: Sequence[str] = ("en",)) -> date:
    """A calendar day ("2026-12-14", "next monday", "14.12.") in ``zone``, time ignored."""
    now_utc = _as_utc(now, "now")
    s = _clean(text)
    if not s or len(s) > _MAX_TEXT:
        raise TimeParseError("not_a_date", text)
    try:
        return date.fromisoformat(s)
    except ValueError:
        pass
    local_now = now_utc.astimezone(_zone(zone)).replace(tzinfo=None)
    parsed, _period = _dateparser(s, _languages(languages), zone, local_now)
    if isinstance(parsed, datetime):
        return parsed.date()
    # dateparser knows "viernes" but not "el viernes", nor the genitive in "до пятницы".
    day = _day_of_weekday(s, local_now)
    if day is None:
        raise TimeParseError("not_a_date", text)
    return day


def _day_of_weekday(s: str, local_now: datetime) -> date | None:
    """ "el viernes", "пятницы", "am Freitag": the next such day (a week ahead on that day)."""
    days = list(_WEEKDAY_ONE_RE.finditer(s))
    if len(days) != 1 or not _only(_cut(s, days[0].start(), days[0].end()), _WEEKDAY_FILLER):
        return None
    weekday = _WEEKDAY_OF[days[0].group(0)]
    return local_now.date() + timedelta(days=(weekday - local_now.weekday()) % 7 or 7)


def _when_relative(s: str, now_utc: datetime) -> datetime | None:
    """ "in 2 hours", "через 30 минут", "dans 1h30": exact elapsed time from now."""
    match = _IN_DURATION.fullmatch(s)
    if match is None:
        return None
    try:
        return now_utc + parse_duration(match.group("rest"))
    except TimeParseError:
        return None  # e.g. "in 3 days": longer than a duration, dateparser reads it


def _when_time_only(
    s: str, local_now: datetime, tz: ZoneInfo, now_utc: datetime
) -> datetime | None:
    """ "15:00", "3pm", "um 15 Uhr": the next such time (today if still ahead, else tomorrow)."""
    times = _find_times(s)
    if len(times) != 1 or not _only(_cut(s, times[0].start, times[0].end), _TIME_FILLER):
        return None
    candidate = datetime.combine(local_now.date(), time(times[0].hour, times[0].minute))
    if _localize(candidate, tz) <= now_utc:
        candidate += timedelta(days=1)
    return candidate


def _when_weekday(s: str, local_now: datetime) -> datetime | None:
    """ "monday 10:00", "next monday 10:00", "am Montag um 10 Uhr", "el próximo lunes a las 10"."""
    days = list(_WEEKDAY_ONE_RE.finditer(s))
    if len(days) != 1:
        return None
    rest = _cut(s, days[0].start(), days[0].end())
    times = _find_times(rest)
    if len(times) > 1:
        return None
    if times:
        rest = _cut(rest, times[0].start, times[0].end)
    if not _only(rest, _WEEKDAY_FILLER):
        return None
    if not times:
        raise TimeParseError("no_time", s)
    weekday = _WEEKDAY_OF[days[0].group(0)]
    ahead = (weekday - local_now.weekday()) % 7 or 7
    day = local_now.date() + timedelta(days=ahead)
    return datetime.combine(day, time(times[0].hour, times[0].minute))


def _when_dateparser(s: str, langs: tuple[str, ...], zone: str, local_now: datetime) -> datetime:
    parsed, period = _dateparser(s, langs, zone, local_now)
    if not isinstance(parsed, datetime):
        raise TimeParseError("not_a_date", s)
    # dateparser reports period "day" when the typed time equals the base time ("tomorrow
    # 10:00" at 10:00), so a time we can see in the text counts too.
    if period != "time" and not _find_times(s):
        raise TimeParseError("no_time", s)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return parsed.replace(microsecond=0)


# --------------------------------------------------------------------------------------------
# Recurrence
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recurrence:
    rrule: str  # RFC 5545 RRULE value, e.g. "FREQ=WEEKLY;BYDAY=MO" (UNTIL in UTC "Z" form)
    first_start: datetime  # UTC-aware first occurrence
    zone: str  # IANA zone whose wall clock the rule follows


# "every", "jeden", "каждый", "кожного", "cada", "todos", "chaque", "tous", ...
_EVERY = _words(
    "every each",
    "jeden jede jeder jedes jedem alle",
    "каждый каждую каждое каждые каждого каждом каждой",
    "кожного кожну кожен кожний кожне кожні кожної",
    "cada todos todas",
    "chaque tous toutes",
)
_UNIT_D, _UNIT_W, _UNIT_M = "DAILY", "WEEKLY", "MONTHLY"
# Adverbs that carry the frequency themselves.
_FREQ_WORDS = _table(
    {
        _UNIT_D: "daily|everyday|täglich|taeglich|ежедневно|щодня|щоденно|diario|diaria"
        "|diariamente|quotidien|quotidienne|quotidiennement",
        _UNIT_W: "weekly|wöchentlich|woechentlich|еженедельно|щотижня|щотижнево|semanal"
        "|semanalmente|hebdomadaire|hebdomadairement",
        _UNIT_M: "monthly|monatlich|ежемесячно|щомісяця|щомісячно|mensual|mensualmente|mensuel"
        "|mensuelle|mensuellement",
    }
)
_UNIT_WORDS = _table(
    {
        _UNIT_D: "day|days|tag|tage|tagen|день|дня|дней|дні|днів|día|días|dia|dias|jour|jours",
        _UNIT_W: "week|weeks|woche|wochen|неделю|недели|недель|неделя|тиждень|тижні|тижнів"
        "|тижня|semana|semanas|semaine|semaines",
        _UNIT_M: "month|months|monat|monate|monaten|monats|месяц|месяца|месяцев|місяць|місяці"
        "|місяців|місяця|mes|meses|mois",
    }
)
# "every two weeks", "every other week", "jede zweite Woche", "каждую вторую неделю".
_NUMBER_WORDS = _table(
    {
        2: "two|other|second|zwei|zweite|zweiten|два|две|вторую|второй|дві|другого|другу|dos|deux",
        3: "three|third|drei|dritte|dritten|три|третью|третій|третю|tres|trois",
        4: "four|vier|четыре|чотири|cuatro|quatre",
    }
)
# Day groups, replaced by "@workdays" (Monday..Friday) and "@weekend" (Saturday, Sunday).
_GROUPS: dict[str, tuple[int, ...]] = {"@workdays": (0, 1, 2, 3, 4), "@weekend": (5, 6)}
_GROUP_PHRASES = _table(
    {
        "@workdays": "weekdays|weekday|business days|working days|work days|workdays|werktags"
        "|werktag|werktage|werktagen|wochentags|по будним дням|будним дням|будние дни|будням"
        "|будни|рабочим дням|рабочие дни|у будні дні|в будні дні|будні дні|у будні|будні"
        "|буднях|робочі дні|робочим дням|у робочі дні|entre semana|días laborables"
        "|dias laborables|días de semana|en semaine|jours ouvrables|jours ouvrés"
        "|jours de semaine",
        "@weekend": "weekends|weekend|wochenende|wochenenden|выходные|выходным|вихідні|вихідних"
        "|fines de semana|fin de semana|week-ends|week-end",
    }
)
_GROUP_RE = re.compile(_alternation(_GROUP_PHRASES))
# Singular day groups may name one weekend ("next weekend"), so alone they do not mark a
# recurrence; "every weekend" / "weekends" / "werktags" do.
_ONE_GROUP = frozenset(
    {
        "weekday",
        "weekend",
        "werktag",
        "wochenende",
        "выходные",
        "вихідні",
        "fin de semana",
        "week-end",
    }
)
# Anything here means the text is meant as a recurrence (so errors are "bad_recurrence").
_RECURRENCE_MARK_RE = re.compile(
    _alternation(
        _EVERY
        | set(_FREQ_WORDS)
        | (set(_GROUP_PHRASES) - _ONE_GROUP)
        | set().union(*_WEEKDAY_MANY)
    )
)
_RANGE_RE = re.compile(
    r"@(?P<a>mo|tu|we|th|fr|sa|su)\s*(?:-|–|—|to|through|thru|till|until|bis|до|по|a|al|au|à)\s*"
    r"@(?P<b>mo|tu|we|th|fr|sa|su)(?![\w'])"
)
_COUNT_RE = re.compile(
    r"(?:(?<![\w'])(?:for|für|на|durante|pendant)\s+)?(?<![\w'.])(?P<n>\d{1,5})\s*-?\s*"
    r"(?:times|time|x|mal|раз|раза|рази|разів|veces|vez|fois|occurrences|termine|встреч"
    r"|зустрічей)(?![\w'])"
    r"|(?<![\w'])x\s*(?P<n2>\d{1,5})(?![\w'])"
)
_UNTIL_RE = re.compile(
    r"(?<![\w'])(?:until|till|through|thru|bis(?:\s+(?:zum|zur|einschließlich))?|до|hasta"
    r"(?:\s+el)?|jusqu'\s*(?:au|à|a)|jusqu'au)\s+(?P<date>.+)$"
)
# Day of month ("on the 15th", "on day 1", "am 15.", "15-го числа", "el día 15", "le 1er").
_MONTHDAY_RES = tuple(
    re.compile(p)
    for p in (
        r"(?<![\w'])(?:day|tag)\s+(\d{1,2})(?![\w'])",
        r"(?<![\w'.])(\d{1,2})(?:st|nd|rd|th)(?![\w'])",
        r"(?<![\w'])am\s+(\d{1,2})\.?(?![\w'])",
        r"(?<![\w'.])(\d{1,2})\.(?!\d)",
        r"(?<![\w'.])(\d{1,2})(?:-?(?:го|е|ого|те|ше|ге))?\s+(?:числа|число)(?![\w'])",
        r"(?<![\w'.])(\d{1,2})-(?:го|е|ого|те|ше|ге)(?![\w'])",
        r"(?<![\w'])d[ií]as?\s+(\d{1,2})(?![\w'])",
        r"(?<![\w'])el\s+(\d{1,2})(?![\w'])",
        r"(?<![\w'])le\s+(\d{1,2})(?:er|re|e|ème)?(?![\w'])",
        r"(?<![\w'.])(\d{1,2})(?:er|re|ème)(?![\w'])",
    )
)
_RECURRENCE_FILLER = _words(
    "on at the and of a an in",
    "am um an und der die das den dem des im",
    "в во на и по с со о об числа число",
    "у і й та з із",
    "el la los las y e de del al en",
    "le les l' et du des à au aux",
)


@dataclass
class _RuleParts:
    freq: str
    interval: int = 1
    byday: tuple[int, ...] = ()
    bymonthday: tuple[int, ...] = ()

    def value(self, *, with_interval: bool = True) -> str:
        parts = [f"FREQ={self.freq}"]
        if with_interval and self.interval > 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.byday:
            parts.append("BYDAY=" + ",".join(_WD_CODES[d] for d in sorted(self.byday)))
        if self.bymonthday:
            parts.append("BYMONTHDAY=" + ",".join(str(d) for d in sorted(self.bymonthday)))
        return ";".join(parts)


def parse_recurrence(
    text: str, *, zone: str, languages: Sequence[str], now: datetime
) -> Recurrence | None:
    """A repeating meeting ("every monday 10:00", "täglich 9:00", "каждый день 9:00", ...).

    Returns None when the text does not look like a recurrence (the caller then tries
    ``parse_when``); raises ``TimeParseError("bad_recurrence")`` when it does but can't be read,
    ``"no_time"`` when the time of day is missing, ``"in_the_past"`` for an end date in the past.

    Frequencies: daily, weekly on given weekdays (or the weekday of the first occurrence),
    monthly on a day of the month (or the day of the first occurrence); "every N days/weeks/
    months"; optional end "until <date>" (inclusive) or "N times". The first occurrence is the
    first matching time strictly after ``now``; an interval counts from there.
    """
    now_utc = _as_utc(now, "now")
    tz = _zone(zone)
    langs = _languages(languages)
    s = _clean(text)
    marked = _RECURRENCE_MARK_RE.search(s[:_MAX_TEXT]) is not None
    if len(s) > _MAX_TEXT:
        if marked:
            raise TimeParseError("bad_recurrence", text)
        return None
    s = _rewrite_times(s)

    # 1. Day groups and weekdays become tokens ("@workdays", "@mo"); "mon-fri" ranges expand
    #    (a range of weekdays is a recurrence even without "every").
    s = _GROUP_RE.sub(lambda m: f" {_GROUP_PHRASES[m.group(0)]} ", s)
    s = _WEEKDAY_ANY_RE.sub(lambda m: f" @{_WD_CODES[_WEEKDAY_OF[m.group(0)]].lower()} ", s)
    s, ranges = _RANGE_RE.subn(_expand_range, s)
    if not marked and not ranges:
        return None

    # 2. The time of day (exactly one).
    times = _find_times(s)
    if len({(t.hour, t.minute) for t in times}) > 1:
        raise TimeParseError("bad_recurrence", text)
    for t in reversed(times):
        s = _cut(s, t.start, t.end)

    # 3. The end: "10 times" or "until <date>".
    count: int | None = None
    if match := _COUNT_RE.search(s):
        count = int(match.group("n") or match.group("n2"))
        if not 1 <= count <= MAX_COUNT:
            raise TimeParseError("bad_recurrence", text)
        s = _cut(s, match.start(), match.end())
    until_text: str | None = None
    if match := _UNTIL_RE.search(s):
        until_text = match.group("date").strip(" ,")
        s = s[: match.start()]
    if count is not None and until_text is not None:
        raise TimeParseError("bad_recurrence", text)

    # 4. Days of the month become "#15".
    for pattern in _MONTHDAY_RES:
        s = pattern.sub(lambda m: f" #{int(m.group(1))} ", s)

    parts = _rule_parts(s, text)
    if not times:
        raise TimeParseError("no_time", text)
    clock = time(times[0].hour, times[0].minute)

    first = _first_start(parts, clock, tz, now_utc)
    if parts.freq == _UNIT_W and not parts.byday:
        parts.byday = (first.astimezone(tz).weekday(),)
    if parts.freq == _UNIT_M and not parts.bymonthday:
        parts.bymonthday = (first.astimezone(tz).day,)

    rule = parts.value()
    if count is not None:
        rule += f";COUNT={count}"
    if until_text is not None:
        until = _parse_until(until_text, langs, zone, tz, now_utc)
        if until < now_utc:
            raise TimeParseError("in_the_past", text)
        if until < first:
            raise TimeParseError("bad_recurrence", text)
        rule += f";UNTIL={until:%Y%m%dT%H%M%SZ}"
    return Recurrence(rrule=rule, first_start=first, zone=zone)


def _expand_range(match: re.Match[str]) -> str:
    a = _WD_CODES.index(match.group("a").upper())
    b = _WD_CODES.index(match.group("b").upper())
    days = [(a + i) % 7 for i in range((b - a) % 7 + 1)]
    return " " + " ".join(f"@{_WD_CODES[d].lower()}" for d in days) + " "


def _rule_parts(s: str, text: str) -> _RuleParts:
    """Read the remaining words: frequency, interval, weekdays, days of the month."""
    tokens = re.findall(r"[@#]?[\w']+", s)
    units: set[str] = set()
    days: set[int] = set()
    monthdays: list[int] = []
    interval: int | None = None
    for i, tok in enumerate(tokens):
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok.startswith("@") and tok.upper()[1:] in _WD_CODES:
            days.add(_WD_CODES.index(tok.upper()[1:]))
        elif tok in _GROUPS:
            days.update(_GROUPS[tok])
        elif tok.startswith("#") and tok[1:].isascii() and tok[1:].isdigit():
            monthdays.append(int(tok[1:]))
        elif tok in _FREQ_WORDS:
            units.add(_FREQ_WORDS[tok])
        elif tok in _UNIT_WORDS:
            units.add(_UNIT_WORDS[tok])
        elif (tok.isascii() and tok.isdigit()) or tok in _NUMBER_WORDS:
            number = int(tok) if tok.isdigit() else _NUMBER_WORDS[tok]
            if following in _UNIT_WORDS and interval is None:
                interval = number
            elif tok.isdigit():
                monthdays.append(number)  # "monthly 15 10:00"; checked below
            else:
                raise TimeParseError("bad_recurrence", text)
        elif tok not in _EVERY and tok not in _RECURRENCE_FILLER:
            raise TimeParseError("bad_recurrence", text)

    if len(units) > 1:
        raise TimeParseError("bad_recurrence", text)
    unit = units.pop() if units else None
    if days:
        if unit not in (None, _UNIT_W) or monthdays:
            raise TimeParseError("bad_recurrence", text)
        parts = _RuleParts(_UNIT_W, byday=tuple(sorted(days)))
    elif unit == _UNIT_M or (unit is None and monthdays):
        if not all(1 <= d <= 31 for d in monthdays):
            raise TimeParseError("bad_recurrence", text)
        parts = _RuleParts(_UNIT_M, bymonthday=tuple(sorted(set(monthdays))))
    elif unit is not None and not monthdays:
        parts = _RuleParts(unit)
    else:
        raise TimeParseError("bad_recurrence", text)
    if interval is not None:
        if not 1 <= interval <= MAX_INTERVAL:
            raise TimeParseError("bad_recurrence", text)
        parts.interval = interval
    return parts


def _first_start(parts: _RuleParts, clock: time, tz: ZoneInfo, now_utc: datetime) -> datetime:
    """The first occurrence strictly after now, ignoring the interval (which counts from it).

    "weekly 10:00" / "monthly 10:00" without a day start at the next 10:00 like "daily" and
    then repeat on that weekday / day of the month.
    """
    today = now_utc.astimezone(tz).date()
    start = datetime.combine(today, clock, tzinfo=tz)
    value = parts.value(with_interval=False)
    if (parts.freq == _UNIT_W and not parts.byday) or (
        parts.freq == _UNIT_M and not parts.bymonthday
    ):
        value = f"FREQ={_UNIT_D}"
    rule = du_rrule.rrulestr(value, dtstart=start)
    for occurrence in rule:
        instant = occurrence.astimezone(UTC)
        if instant > now_utc:
            return instant
    raise TimeParseError("bad_recurrence")  # pragma: no cover - rules here never run out


def _parse_until(
    text: str, langs: tuple[str, ...], zone: str, tz: ZoneInfo, now_utc: datetime
) -> datetime:
    """End of the given day in the meeting's zone, as UTC."""
    if match := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text):
        try:
            day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError as exc:
            raise TimeParseError("bad_recurrence", text) from exc
    else:
        if "@" in text or "#" in text:
            raise TimeParseError("bad_recurrence", text)
        base = now_utc.astimezone(tz).replace(tzinfo=None)
        try:
            parsed, period = _dateparser(text, langs, zone, base)
        except TimeParseError as exc:
            raise TimeParseError("bad_recurrence", text) from exc
        if not isinstance(parsed, datetime) or period not in ("day", "time"):
            raise TimeParseError("bad_recurrence", text)
        day = parsed.date()
    return datetime.combine(day, time(23, 59, 59), tzinfo=tz).astimezone(UTC)


# --------------------------------------------------------------------------------------------
# occurrences
# --------------------------------------------------------------------------------------------


def _parse_rule_value(value: str) -> dict[str, str]:
    value = value.strip()
    if value.upper().startswith("RRULE:"):
        value = value[6:]
    if not re.fullmatch(r"[A-Za-z]+=[^;=\s]+(?:;[A-Za-z]+=[^;=\s]+)*", value):
        raise TimeParseError("bad_recurrence", value)
    fields: dict[str, str] = {}
    for part in value.split(";"):
        key, _sep, val = part.partition("=")
        fields[key.upper()] = val.upper()
    return fields


class SeriesSittings:
    """Every sitting start of a series (UTC-aware, ascending), expanded in one lazy pass.

    The rule runs on the wall clock of ``zone`` from ``first_start``; its skipped and moved
    sittings are left out and the moved ones merged back in at their new times. Changes are
    matched as UTC instants in a set rather than given to dateutil's rruleset as exdates: an
    aware datetime in a DST gap or overlap never compares equal to one in another zone, so
    rruleset would keep a skipped 02:30 sitting on the night the clocks change.
    """

    def __init__(
        self,
        rrule: str,
        *,
        first_start: datetime,
        zone: str,
        skipped: Collection[datetime] = (),
        moved: Mapping[datetime, datetime] | None = None,
    ) -> None:
        tz = _zone(zone)
        _parse_rule_value(rrule)
        try:
            self._rule = du_rrule.rrulestr(
                rrule.strip(), dtstart=_as_utc(first_start, "first_start").astimezone(tz)
            )
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise TimeParseError("bad_recurrence", rrule) from exc
        moved = moved or {}
        self._left_out = {_as_utc(start, "skipped") for start in skipped} | {
            _as_utc(start, "moved") for start in moved
        }
        self._moved_to = sorted(_as_utc(start, "moved") for start in moved.values())

    def rule_starts(self) -> Iterator[datetime]:
        """The rule's own instances (UTC), changes ignored: what RECURRENCE-ID and EXDATE name."""
        return (start.astimezone(UTC) for start in self._rule)

    def __iter__(self) -> Iterator[datetime]:
        kept = (start for start in self.rule_starts() if start not in self._left_out)
        return heapq.merge(kept, self._moved_to)

    def after(self, moment: datetime) -> Iterator[datetime]:
        """The sitting starts strictly after ``moment``."""
        moment = _as_utc(moment, "after")
        return itertools.dropwhile(lambda start: start <= moment, self)


def occurrences(
    rrule: str,
    *,
    first_start: datetime,
    zone: str,
    after: datetime,
    limit: int,
    exdates: Collection[datetime] = (),
) -> list[datetime]:
    """Occurrence starts (UTC-aware) strictly after ``after``, at most ``limit`` of them.

    The rule is expanded on the wall clock of ``zone`` starting at ``first_start``, so 10:00
    stays 10:00 local across DST changes (times that fall in a DST gap move forward by the gap).
    ``exdates`` are original occurrence starts to skip, compared as UTC instants.
    """
    if limit <= 0:
        return []
    sittings = SeriesSittings(rrule, first_start=first_start, zone=zone, skipped=exdates)
    return list(itertools.islice(sittings.after(after), limit))


# --------------------------------------------------------------------------------------------
# describe_recurrence
# --------------------------------------------------------------------------------------------

# The words come from the gettext catalogs in bot/locales, like every other text the user reads.
# A weekday has a msgid per place in the sentence, because the languages inflect it differently
# there: Russian "каждую среду" but "по средам", French "tous les mardis" but "le mardi".


def _every_weekday(day: int) -> str:
    """One weekday, every week: "every Monday"."""
    return (
        _("every Monday"),
        _("every Tuesday"),
        _("every Wednesday"),
        _("every Thursday"),
        _("every Friday"),
        _("every Saturday"),
        _("every Sunday"),
    )[day]


def _weekday_every_week(day: int) -> str:
    """A weekday as an item of the list in "every {days}"."""
    return (
        pgettext("in: every {days}", "Monday"),
        pgettext("in: every {days}", "Tuesday"),
        pgettext("in: every {days}", "Wednesday"),
        pgettext("in: every {days}", "Thursday"),
        pgettext("in: every {days}", "Friday"),
        pgettext("in: every {days}", "Saturday"),
        pgettext("in: every {days}", "Sunday"),
    )[day]


def _weekday_every_n_weeks(day: int) -> str:
    """A weekday as an item of the list in "every {n} weeks on {days}"."""
    return (
        pgettext("in: every {n} weeks on {days}", "Monday"),
        pgettext("in: every {n} weeks on {days}", "Tuesday"),
        pgettext("in: every {n} weeks on {days}", "Wednesday"),
        pgettext("in: every {n} weeks on {days}", "Thursday"),
        pgettext("in: every {n} weeks on {days}", "Friday"),
        pgettext("in: every {n} weeks on {days}", "Saturday"),
        pgettext("in: every {n} weeks on {days}", "Sunday"),
    )[day]


def _monthday(day: int) -> str:
    """A day of the month as an item of the list in "day {days}" ("15", "15.", "le 1er")."""
    if day == 1:  # French writes the first one as an ordinal: "le 1er", "le 2"
        return pgettext("in: day {days}, the first day of the month", "{day}").format(day=day)
    return pgettext("in: day {days}", "{day}").format(day=day)


def _describe_weekdays(days: Sequence[int], n: int, language: str) -> str:
    """A weekly rule on given weekdays, every ``n`` weeks: "every Monday and Thursday"."""
    if days == [0, 1, 2, 3, 4]:
        if n == 1:
            return _("every weekday")
        return ngettext("every {n} week on weekdays", "every {n} weeks on weekdays", n).format(n=n)
    if n == 1:
        if len(days) == 1:
            return _every_weekday(days[0])
        names = format_list([_weekday_every_week(d) for d in days], locale=language)
        return _("every {days}").format(days=names)
    names = format_list([_weekday_every_n_weeks(d) for d in days], locale=language)
    return ngettext("every {n} week on {days}", "every {n} weeks on {days}", n).format(
        n=n, days=names
    )


def _describe_monthdays(mdays: Sequence[int], n: int, language: str) -> str:
    """A monthly rule on given days of the month: "monthly on days 1 and 15"."""
    numbers = format_list([_monthday(d) for d in mdays], locale=language)
    monthdays = ngettext("day {days}", "days {days}", len(mdays)).format(days=numbers)
    if n == 1:
        return _("monthly on {monthdays}").format(monthdays=monthdays)
    return ngettext("every {n} month on {monthdays}", "every {n} months on {monthdays}", n).format(
        n=n, monthdays=monthdays
    )


def _describe_frequency(freq: str, n: int) -> str:
    """A rule with no days named: "every day", "every 3 weeks"."""
    if freq == "DAILY":
        text = _("every day") if n == 1 else ngettext("every {n} day", "every {n} days", n)
    elif freq == "WEEKLY":
        text = _("every week") if n == 1 else ngettext("every {n} week", "every {n} weeks", n)
    elif freq == "MONTHLY":
        text = _("every month") if n == 1 else ngettext("every {n} month", "every {n} months", n)
    else:
        text = _("every year") if n == 1 else ngettext("every {n} year", "every {n} years", n)
    return text.format(n=n)


def describe_recurrence(rrule: str, *, locale: str, zone: str = "UTC") -> str:
    """The rule in words in the user's language ("every Monday", "jeden Montag und Donnerstag").

    ``locale`` falls back to English when it is not a supported language. ``zone`` is only used
    to show the UNTIL day as the meeting's local date. Unsupported rule parts raise
    ``TimeParseError("bad_recurrence")``.
    """
    fields = _parse_rule_value(rrule)
    allowed = {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "COUNT", "UNTIL", "WKST"}
    if not set(fields) <= allowed:
        raise TimeParseError("bad_recurrence", rrule)
    try:
        freq = fields["FREQ"]
        interval = int(fields.get("INTERVAL", "1"))
        days = sorted({_WD_CODES.index(code) for code in _split(fields.get("BYDAY"))})
        mdays = sorted({int(d) for d in _split(fields.get("BYMONTHDAY"))})
        count = int(fields["COUNT"]) if "COUNT" in fields else None
    except (KeyError, ValueError) as exc:
        raise TimeParseError("bad_recurrence", rrule) from exc
    if (
        freq not in ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
        or interval < 1
        or not all(1 <= d <= 31 for d in mdays)
        or (count is not None and count < 1)
        or ("COUNT" in fields and "UNTIL" in fields)
    ):
        raise TimeParseError("bad_recurrence", rrule)
    if freq == "DAILY" and days and interval == 1:
        freq = "WEEKLY"  # FREQ=DAILY;BYDAY=MO,...,FR reads like the weekly form
    if (days and freq != "WEEKLY") or (mdays and freq != "MONTHLY"):
        raise TimeParseError("bad_recurrence", rrule)
    until = _until_date(fields["UNTIL"], zone) if "UNTIL" in fields else None

    language = normalize_language(locale) or SOURCE_LANGUAGE
    with use_language(language):
        if days:
            text = _describe_weekdays(days, interval, language)
        elif mdays:
            text = _describe_monthdays(mdays, interval, language)
        else:
            text = _describe_frequency(freq, interval)
        if count == 1:
            text = _("{rule}, once").format(rule=text)
        elif count is not None:
            text = ngettext("{rule}, {count} time", "{rule}, {count} times", count).format(
                rule=text, count=count
            )
        if until is not None:
            text = _("{rule}, until {date}").format(
                rule=text, date=format_date(until, format="long", locale=language)
            )
    return text


@functools.cache
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


def _split(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


def _until_date(value: str, zone: str) -> date:
    try:
        if re.fullmatch(r"\d{8}", value):
            return date(int(value[:4]), int(value[4:6]), int(value[6:]))
        instant = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise TimeParseError("bad_recurrence", value) from exc
    return instant.astimezone(_zone(zone)).date()


# --------------------------------------------------------------------------------------------
# Time zones
# --------------------------------------------------------------------------------------------

# Cities people type that have no zone of their own, and common abbreviations.
_ZONE_ALIASES = _table(
    {
        "America/New_York": "est|edt|et|eastern|washington|boston|miami",
        "America/Chicago": "cst|cdt|central|dallas|houston",
        "America/Denver": "mst|mdt|mountain",
        "America/Los_Angeles": "pst|pdt|pt|pacific|san francisco|seattle|san diego|las vegas",
        "America/Toronto": "montreal|montréal|ottawa",
        "Europe/Berlin": "cet|cest|munich|münchen|frankfurt|hamburg|cologne|köln|мюнхен",
        "Europe/Moscow": "msk|saint petersburg|st petersburg|санкт-петербург",
        "Europe/Kyiv": "kharkiv|харків|харьков|odesa|одеса|одесса|lviv|львів|львов|dnipro|дніпро",
        "Europe/Madrid": "barcelona|barcelone|sevilla|valencia",
        "Europe/Paris": "lyon|marseille|toulouse|nice",
        "Europe/London": "bst|manchester|edinburgh",
        "Asia/Tokyo": "jst|osaka|kyoto",
        "Asia/Shanghai": "beijing|peking|пекин",
        "Asia/Kolkata": "delhi|new delhi|mumbai|bombay|bangalore",
    }
)
_UTC_WORDS = frozenset({"utc", "gmt", "z", "zulu", "utc0", "gmt0", "universal"})
_OFFSET_RE = re.compile(r"(?:utc|gmt)?\s*(?P<sign>[+\-−])\s*(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?")


def _zone_key(text: str) -> str:
    """Comparable form of a zone or city name: no accents, case, "_", "-" or dots."""
    text = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES).lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[.']", "", text)
    text = re.sub(r"[_\-\s]+", " ", text)
    return re.sub(r"\s*/\s*", "/", text).strip()


@dataclass(frozen=True)
class _ZoneIndex:
    available: frozenset[str]
    full: dict[str, str]  # zone key of a full IANA name -> canonical name
    city: dict[str, str]  # zone key of a city (English or local name) -> canonical name
    aliases: dict[str, str]  # zone key of _ZONE_ALIASES -> zone (checked first)


@functools.cache
def _zone_index() -> _ZoneIndex:
    aliases: dict[str, str] = dict(get_global("zone_aliases"))
    available = frozenset(
        z
        for z in available_timezones()
        if not z.startswith(("posix/", "right/"))
        and z not in {"Factory", "localtime", "posixrules"}
    )

    def canonical(name: str) -> str:
        target = aliases.get(name, name)
        return target if target in available else name

    full: dict[str, str] = {}
    city: dict[str, str] = {}
    for name in sorted(available, key=lambda z: (z in aliases, z)):  # canonical names first
        full.setdefault(_zone_key(name), canonical(name))
        if "/" in name and not name.startswith("Etc/"):
            city.setdefault(_zone_key(name.rsplit("/", 1)[1]), canonical(name))
    for lang in SUPPORTED_LANGUAGES:
        for name, info in _locale(lang).time_zones.items():
            exemplar = info.get("city")
            if exemplar and canonical(name) in available:
                city.setdefault(_zone_key(exemplar), canonical(name))
    for alias, name in _ZONE_ALIASES.items():
        city.setdefault(_zone_key(alias), name)
    own = {_zone_key(alias): name for alias, name in _ZONE_ALIASES.items()}
    return _ZoneIndex(available, full, city, own)


def find_zone(query: str) -> str:
    """An IANA zone name for what the user typed; see the module docstring for what is accepted."""
    text = _clean(query)
    if not text or len(text) > 64:
        raise TimeParseError("unknown_zone", query)
    index = _zone_index()
    if text in _UTC_WORDS:
        return "UTC"
    if match := _OFFSET_RE.fullmatch(text):
        return _offset_zone(match, index, query)
    key = _zone_key(text)
    for table in (index.aliases, index.full, index.city):
        if key in table:
            return table[key]
    raise TimeParseError("unknown_zone", query)


def _offset_zone(match: re.Match[str], index: _ZoneIndex, query: str) -> str:
    hours, minutes = int(match.group("h")), int(match.group("m") or 0)
    if minutes:
        raise TimeParseError("unknown_zone", query)  # no fixed zones for +05:30; ask for a city
    if hours == 0:
        return "UTC"
    sign = "-" if match.group("sign") == "+" else "+"  # POSIX: Etc/GMT-2 is UTC+2
    name = f"Etc/GMT{sign}{hours}"
    if name not in index.available:
        raise TimeParseError("unknown_zone", query)
    return name


def suggest_zones(query: str, limit: int = 5) -> list[str]:
    """Up to ``limit`` zone names close to ``query`` (prefix, substring, then fuzzy matches)."""
    if limit <= 0:
        return []
    key = _zone_key(_clean(query))[:64]
    if not key:
        return []
    index = _zone_index()
    found: list[str] = []

    def add(names: Sequence[str]) -> None:
        for name in names:
            if name not in found:
                found.append(name)

    with contextlib.suppress(TimeParseError):
        add([find_zone(query)])
    names = {**index.full, **index.city}  # zone key -> zone, full names and cities
    keys = sorted(names)
    finders: tuple[Callable[[], list[str]], ...] = (
        lambda: sorted((k for k in keys if k.startswith(key)), key=len),
        lambda: sorted((k for k in keys if len(key) >= 3 and key in k), key=len),
        lambda: difflib.get_close_matches(key, keys, n=limit * 2, cutoff=0.7),
    )
    for finder in finders:
        if len(found) >= limit:
            break
        add([names[k] for k in finder()])
    return found[:limit]
