"""Translations (gettext catalogs in bot/locales) and locale-aware formatting (Babel).

The reader's locale lives in a ContextVar, set around each handler by the handlers, so domain
code and renderers can call `_()` without passing the locale around.
"""

from __future__ import annotations

import gettext as gettext_module
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from functools import cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.config import SUPPORTED_LANGUAGES

# Inside the package, so that a built wheel carries the catalogs (compiled by setup.py).
LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"

_current_locale: ContextVar[str] = ContextVar("current_locale", default=SOURCE_LANGUAGE)


def load_catalog(language: str, locales_dir: Path = LOCALES_DIR) -> gettext_module.GNUTranslations:
    """A language's catalog: the .mo an installed package ships, else the .po, read in memory.

    A source checkout has only the .po (or a .mo older than it); compiling it in memory keeps
    the install free of writes, which a read-only one would refuse.
    """
    folder = locales_dir / language / "LC_MESSAGES"
    mo_path, po_path = folder / f"{DOMAIN}.mo", folder / f"{DOMAIN}.po"
    po_is_newer = po_path.exists() and (
        not mo_path.exists() or po_path.stat().st_mtime > mo_path.stat().st_mtime
    )
    if po_is_newer:
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        compiled = BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        return gettext_module.GNUTranslations(compiled)
    if mo_path.exists():
        with mo_path.open("rb") as mo_file:
            return gettext_module.GNUTranslations(mo_file)
    # Not a silent English: a package built without its catalogs must not pass for working.
    raise FileNotFoundError(f"no {DOMAIN}.mo or {DOMAIN}.po for {language!r} in {folder}")


@cache
def _translations(language: str) -> gettext_module.NullTranslations:
    if language == SOURCE_LANGUAGE:
        return gettext_module.NullTranslations()
    return load_catalog(language)


def normalize_language(code: str | None) -> str | None:
    """A supported language for a Telegram language_code or a user's choice, else None."""
    if not code:
        return None
    try:
        language = Locale.parse(code.replace("_", "-"), sep="-").language
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    return language if language in SUPPORTED_LANGUAGES else None


def pick_language(chosen: str | None, telegram_code: str | None, default: str) -> str:
    """The reader's language: their own choice, else Telegram's, else the bot's default."""
    return normalize_language(chosen) or normalize_language(telegram_code) or default


def current_language() -> str:
    """The language of the reader this code is writing for."""
    return _current_locale.get()


def set_language(language: str) -> None:
    """Make `language` the reader's language for the rest of this handler.

    Only inside a `use_language` block (every handler runs in one), which restores the
    previous language when it ends; elsewhere it would leak into the next update.
    """
    _current_locale.set(language)


@contextmanager
def use_language(language: str) -> Iterator[None]:
    """Write in `language` inside the block (e.g. for a message to someone else)."""
    token = _current_locale.set(language)
    try:
        yield
    finally:
        _current_locale.reset(token)


def gettext(message: str) -> str:
    """Translate `message` into the current reader's language."""
    return _translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """Translate a message whose form depends on `count`."""
    return _translations(current_language()).ngettext(singular, plural, count)


def pgettext(context: str, message: str) -> str:
    """Translate `message` as used in `context` (one English word, different translations)."""
    return _translations(current_language()).pgettext(context, message)


_ = gettext


def gettext_noop(message: str) -> str:
    """Mark `message` for extraction without translating it yet."""
    return message


def format_when(moment: datetime, zone: str, *, with_zone: bool = True) -> str:
    """Weekday, date and time in the reader's language and zone."""
    local = moment.astimezone(ZoneInfo(zone))
    language = current_language()
    day = format_date(local, format="full", locale=language)
    clock = format_time(local, format="short", locale=language)
    text = f"{day}, {clock}"
    return f"{text} ({zone})" if with_zone else text


def format_clock(moment: datetime, zone: str) -> str:
    """Only the time of day, in the reader's language and zone."""
    return format_time(
        moment.astimezone(ZoneInfo(zone)), format="short", locale=current_language()
    )


def format_span(start: datetime, end: datetime, zone: str) -> str:
    """A meeting's time: full start date and time, end time, zone."""
    return f"{format_when(start, zone, with_zone=False)}–{format_clock(end, zone)} ({zone})"


def format_duration(duration: timedelta) -> str:
    """A duration in words ('45 minutes', '1 hour 30 minutes') in the reader's language."""
    minutes = int(duration.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    language = current_language()
    parts = []
    if hours:
        parts.append(format_timedelta(timedelta(hours=hours), threshold=1, locale=language))
    if rest or not parts:
        parts.append(format_timedelta(timedelta(minutes=rest), threshold=1, locale=language))
    return " ".join(parts)


def format_relative(delta: timedelta) -> str:
    """'5 minutes' style amount for 'started ... ago' messages."""
    return format_timedelta(delta, threshold=1, locale=current_language())
