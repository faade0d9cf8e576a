"""Each update is answered in its own reader's language, whoever wrote just before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.sandbox import Sandbox, User
from storage.models import Meeting
from tests.conftest import BotHarness
from tests.helpers import make_settings

GERMAN_BUTTON = "Dieser Button ist nicht mehr gültig."
ENGLISH_BUTTON = "This button is no longer valid."
FRENCH_BUTTON = "Ce bouton n'est plus valide."
# A line of /help, which an unknown command also shows.
GERMAN_HELP = "/meetings: deine anstehenden Meetings"
ENGLISH_HELP = "/meetings: your upcoming meetings"
FRENCH_HELP = "vos prochaines réunions"


async def _forged_and_unknown(bot: BotHarness, person: User) -> tuple[str | None, str]:
    """`person` presses a forged button under their greeting, then sends an unknown command."""
    greeting = bot.newest(person)
    answer = await bot.tap(person, greeting, data="zz:forged")
    unknown = await bot.say(person, "/frobnicate now")
    return answer.text, unknown.text


async def test_an_english_reader_after_a_german_one_reads_english(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    emma = sandbox.create_user("Emma", username="emma", language_code="en")
    klaus = sandbox.create_user("Klaus", username="klaus", language_code="de")
    await bot.say(emma, "/start")
    assert "Hallo, Klaus!" in (await bot.say(klaus, "/start")).text
    button, unknown = await _forged_and_unknown(bot, emma)
    assert button == ENGLISH_BUTTON
    assert "/frobnicate" in unknown and ENGLISH_HELP in unknown and GERMAN_HELP not in unknown


async def test_a_german_reader_after_an_english_one_reads_german(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    klaus = sandbox.create_user("Klaus", username="klaus", language_code="de")
    emma = sandbox.create_user("Emma", username="emma", language_code="en")
    await bot.say(klaus, "/start")
    assert "Hello, Emma!" in (await bot.say(emma, "/start")).text
    button, unknown = await _forged_and_unknown(bot, klaus)
    assert button == GERMAN_BUTTON
    assert GERMAN_HELP in unknown and ENGLISH_HELP not in unknown


async def test_a_chosen_language_stays_with_its_chooser(bot: BotHarness, sandbox: Sandbox) -> None:
    emma = sandbox.create_user("Emma", username="emma", language_code="en")
    klaus = sandbox.create_user("Klaus", username="klaus", language_code="en")
    await bot.say(emma, "/start")
    await bot.say(klaus, "/start")
    await bot.say(klaus, "/language de")
    button, unknown = await _forged_and_unknown(bot, emma)
    assert button == ENGLISH_BUTTON and ENGLISH_HELP in unknown
    button, unknown = await _forged_and_unknown(bot, klaus)
    assert button == GERMAN_BUTTON and GERMAN_HELP in unknown


@pytest.mark.parametrize(
    ("organizer_language", "invitee_language", "heading"),
    [("de", "en", "You are invited:"), ("en", "de", "Du bist eingeladen:")],
)
async def test_an_invitation_sent_by_a_sweep_woken_from_a_handler_is_in_the_invitees_language(
    bot: BotHarness,
    sandbox: Sandbox,
    organizer_language: str,
    invitee_language: str,
    heading: str,
) -> None:
    organizer = sandbox.create_user("Olga", username="olga", language_code=organizer_language)
    invitee = sandbox.create_user("Ivan", username="ivan", language_code=invitee_language)
    await bot.say(invitee, "/start")
    await bot.say(organizer, "/start")
    preview = await bot.say(organizer, "/schedule Sync | 2026-12-01 10:00 | 30m")
    await bot.tap(organizer, preview, data=preview.buttons[0][0][1])  # Confirm, in any language
    code = _code_of(bot)
    await bot.say(organizer, f"/invite {code} @ivan")
    await bot.sandbox.wait_for(lambda: heading in bot.newest(invitee).text)
    # The sweep that sent it leaves the next reader's language alone.
    button, unknown = await _forged_and_unknown(bot, invitee)
    expected = (
        (ENGLISH_BUTTON, ENGLISH_HELP)
        if invitee_language == "en"
        else (GERMAN_BUTTON, GERMAN_HELP)
    )
    assert button == expected[0] and expected[1] in unknown


def _code_of(bot: BotHarness) -> str:
    with Session(bot.services.engine) as session:
        return session.exec(select(Meeting.code)).one()


@pytest.fixture
async def french_bot(
    sandbox: Sandbox, clock: ManualClock, tmp_path: Path, database_url: str
) -> AsyncIterator[BotHarness]:
    """The real bot with DEFAULT_LANGUAGE=fr."""
    harness = BotHarness(
        sandbox,
        clock,
        tmp_path / "meetings.db",
        make_settings,
        default_language="fr",
        database_url=database_url,
    )
    await harness.start()
    yield harness
    await harness.stop()


async def test_without_a_language_the_default_answers_not_the_previous_reader(
    french_bot: BotHarness, sandbox: Sandbox
) -> None:
    klaus = sandbox.create_user("Klaus", username="klaus", language_code="de")
    nobody = sandbox.create_user("Nemo", username="nemo", language_code=None)
    await french_bot.say(nobody, "/start")
    await french_bot.say(klaus, "/start")
    button, unknown = await _forged_and_unknown(french_bot, nobody)
    assert button == FRENCH_BUTTON and FRENCH_HELP in unknown


async def test_an_unknown_command_for_another_bot_in_a_group_gets_no_answer(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    emma = sandbox.create_user("Emma", username="emma")
    group = sandbox.create_group("Team", members=[emma], admins=[emma])
    await bot.say_silently(emma, "/frobnicate@other_bot", group)
    await bot.say_silently(emma, "/frobnicate", group)
    assert sandbox.chat_messages(group) == []
    addressed = await bot.say(emma, "/frobnicate@meetings_test_bot", group)
    assert "/frobnicate" in addressed.text and ENGLISH_HELP in addressed.text
