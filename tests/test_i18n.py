"""Catalogs are complete, placeholders match, and people read the bot in their language."""

from __future__ import annotations

import os
import re
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.config import SUPPORTED_LANGUAGES
from bot.i18n import (
    LOCALES_DIR,
    _,
    format_duration,
    format_when,
    load_catalog,
    pick_language,
    use_language,
)
from bot.sandbox import Sandbox
from tests.conftest import BotHarness

PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
TRANSLATED = [language for language in SUPPORTED_LANGUAGES if language != "en"]


def _catalog(language: str):  # type: ignore[no-untyped-def]
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        return read_po(po_file)


def _template_ids() -> set[object]:
    with (LOCALES_DIR / "messages.pot").open("rb") as pot_file:
        return {message.id for message in read_po(pot_file) if message.id}


@pytest.mark.parametrize("language", TRANSLATED)
def test_catalog_is_complete_with_matching_placeholders(language: str) -> None:
    catalog = _catalog(language)
    ids = {message.id for message in catalog if message.id}
    assert ids >= _template_ids(), "run pybabel update: the catalog misses entries"
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        targets = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set(PLACEHOLDER.findall(sources[-1]))
        for target in targets:
            assert target, f"{language}: no translation for {message.id!r}"
            assert set(PLACEHOLDER.findall(target)) == expected, (language, message.id, target)


def test_template_holds_every_message_in_the_code() -> None:
    source_strings = set()
    for path in Path("bot").rglob("*.py"):
        source_strings |= set(re.findall(r'\b_\(\s*"([^"\\]*)"\s*\)', path.read_text()))
    assert source_strings <= _template_ids(), source_strings - _template_ids()


def _files(folder: Path) -> dict[Path, float]:
    return {path: path.stat().st_mtime for path in folder.rglob("*") if path.is_file()}


@pytest.mark.parametrize("language", TRANSLATED)
def test_a_source_checkout_reads_its_catalogs_without_writing(
    language: str, tmp_path: Path
) -> None:
    locales = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, locales, ignore=shutil.ignore_patterns("*.mo"))
    before = _files(locales)
    catalog = load_catalog(language, locales)
    assert catalog.gettext("Confirm") != "Confirm"
    assert _files(locales) == before


def test_an_edited_po_wins_over_an_older_compiled_catalog(tmp_path: Path) -> None:
    folder = tmp_path / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    po = folder / "messages.po"
    po.write_text('msgid ""\nmsgstr ""\n"Language: de\\n"\n\nmsgid "Confirm"\nmsgstr "Alt"\n')
    with po.open("rb") as po_file, (folder / "messages.mo").open("wb") as mo_file:
        write_mo(mo_file, read_po(po_file))
    assert load_catalog("de", tmp_path).gettext("Confirm") == "Alt"
    po.write_text(po.read_text().replace("Alt", "Neu"))
    os.utime(po, (time.time() + 5, time.time() + 5))
    assert load_catalog("de", tmp_path).gettext("Confirm") == "Neu"


def test_a_missing_catalog_is_an_error_not_english(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="'de'"):
        load_catalog("de", tmp_path)


def test_language_choice_order() -> None:
    assert pick_language("fr", "de-AT", "en") == "fr"
    assert pick_language(None, "de-AT", "en") == "de"
    assert pick_language(None, "pt-BR", "es") == "es"
    assert pick_language(None, None, "ru") == "ru"
    assert pick_language("xx", "zz", "en") == "en"


def test_translated_and_localized_formatting() -> None:
    moment = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    with use_language("de"):
        assert _("Confirm") == "Bestätigen"
        assert (
            format_when(moment, "Europe/Berlin")
            == "Dienstag, 1. Dezember 2026, 15:00 (Europe/Berlin)"
        )
        assert format_duration(timedelta(minutes=90)) == "1 Stunde 30 Minuten"
    with use_language("ru"):
        assert "вторник" in format_when(moment, "Europe/Moscow")
    with use_language("en"):
        assert _("Confirm") == "Confirm"


async def test_a_german_user_reads_and_writes_german(bot: BotHarness, sandbox: Sandbox) -> None:
    klaus = sandbox.create_user("Klaus", username="klaus", language_code="de")
    greeting = await bot.say(klaus, "/start")
    assert "Hallo, Klaus!" in greeting.text
    await bot.say(klaus, "/timezone Europe/Berlin")
    preview = await bot.say(klaus, "/schedule Teamrunde | morgen 15 Uhr | 45 Minuten")
    assert "Sonntag, 29. November 2026" in preview.text and "15:00" in preview.text
    assert "Bestätigen" in str(preview.buttons)
    menu = dict(sandbox.visible_commands(klaus))
    assert menu["schedule"] != "Plan a meeting"
    reply = await bot.say(klaus, "/language fr")
    assert "français" in reply.text.lower()
    assert "Bonjour" in (await bot.say(klaus, "/start")).text or "Klaus" in reply.text


async def test_group_language_is_set_by_its_admins(bot: BotHarness, sandbox: Sandbox) -> None:
    anna = sandbox.create_user("Anna", username="anna", language_code="en")
    olga = sandbox.create_user("Olga", username="olga", language_code="ru")
    group = sandbox.create_group("Команда", members=[anna, olga], admins=[anna])
    refused = await bot.say(olga, "/language ru", group)
    assert "administrators" in refused.text or "администратор" in refused.text
    await bot.say(anna, "/language ru", group)
    reply = await bot.say(olga, "/help", group)
    assert "/schedule" in reply.text and "встреч" in reply.text
