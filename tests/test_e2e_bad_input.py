"""Bad input, end to end: empty parts are named, and every button press gets its one real answer."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from bot.sandbox import Sandbox, User
from storage.models import AuditEvent, Delivery, Meeting, Participant
from tests.conftest import BotHarness

REFUSED = (
    "Only the meeting's owners, the bot's admins and (for a group's meetings) "
    "the group's administrators can do that"
)


def _counts(bot: BotHarness) -> tuple[int, ...]:
    with Session(bot.services.engine) as session:
        return tuple(
            session.exec(select(func.count()).select_from(table)).one()
            for table in (Meeting, Participant, Delivery, AuditEvent)
        )


def _code(bot: BotHarness, title: str) -> str:
    with Session(bot.services.engine) as session:
        return session.exec(select(Meeting).where(Meeting.title == title)).one().code


def _people(bot: BotHarness, code: str) -> set[int | None]:
    with Session(bot.services.engine) as session:
        meeting = session.exec(select(Meeting).where(Meeting.code == code)).one()
        rows = session.exec(select(Participant).where(Participant.meeting_id == meeting.id))
        return {row.user_id for row in rows.all()}


async def _plan(bot: BotHarness, user: User, line: str) -> None:
    preview = await bot.say(user, f"/schedule {line}")
    await bot.tap(user, preview, "Confirm")


async def test_empty_parts_are_named_with_the_usage(bot: BotHarness, sandbox: Sandbox) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    await bot.say(alice, "/start")
    await _plan(bot, alice, "Board | tomorrow 11:00")
    await _plan(bot, alice, "Weekly | every monday 10:00 | 45m")
    board, weekly = _code(bot, "Board"), _code(bot, "Weekly")
    schedule = "/schedule Title | tomorrow 15:00 | 45m"
    reschedule = "/reschedule CODE next friday 10:00"
    move = "Write /move CODE new time, or /move CODE date | new time."
    before = _counts(bot)
    for command, missing, usage in (
        ("/schedule Title |  | 30m", "The date and time are missing.", schedule),
        ("/schedule Title |", "The date and time are missing.", schedule),
        ("/schedule  | tomorrow 15:00", "The title is empty.", "Weekly sync"),
        ("/schedule Title | tomorrow 15:00 |  ", "The duration is missing.", schedule),
        (f"/reschedule {board}", "The new time is missing.", reschedule),
        (f"/reschedule {board} | 45m", "The new time is missing.", reschedule),
        (f"/reschedule {board} tomorrow 12:00 |", "The duration is missing.", reschedule),
        (f"/move {weekly}", "The new time is missing.", move),
        (f"/move {weekly} |", "The new time is missing.", move),
        (f"/move {weekly} 2026-11-30 | ", "The new time is missing.", move),
    ):
        sent_before = len(sandbox.inbox(alice))
        reply = await bot.say(alice, command)
        assert missing in reply.text and usage in reply.text, command
        assert "“”" not in reply.text, command
        assert reply.buttons == [], command  # no preview to confirm
        assert len(sandbox.inbox(alice)) == sent_before + 1, command
    assert _counts(bot) == before


async def test_a_refused_invite_pick_reaches_the_presser(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    bob = sandbox.create_user("Bob", username="bob")
    carol = sandbox.create_user("Carol", username="carol")
    for user in (alice, bob, carol):
        await bot.say(user, "/start")
    await _plan(bot, alice, "Alpha | tomorrow 11:00")
    await _plan(bot, alice, "Beta | tomorrow 12:00")
    alpha, beta = _code(bot, "Alpha"), _code(bot, "Beta")
    question = await bot.say(alice, "/invite @carol")
    assert "Which meeting" in question.text
    # Before Alice picks, Bob takes Beta over: she may no longer invite anyone to it.
    await bot.say(alice, f"/invite {beta} @bob")
    await bot.say(alice, f"/promote {beta} @bob")
    await bot.say(bob, f"/demote {beta} @alice", expect="now member")
    before = _counts(bot)
    answer = await bot.tap(
        alice, question, next(t for r in question.buttons for t, _ in r if beta in t)
    )
    assert f"{REFUSED} for {beta}." in (answer.text or "")
    assert answer.show_alert
    assert carol.id not in _people(bot, beta)
    assert _counts(bot) == before
    # The refusal leaves the question open: Alpha is still hers to pick.
    answer = await bot.tap(
        alice, question, next(t for r in question.buttons for t, _ in r if alpha in t)
    )
    assert not answer.text
    assert f"Invited to {alpha}: Carol." in bot.newest(alice).text
    assert carol.id in _people(bot, alpha)


async def test_a_duration_button_after_the_time_passed_is_refused(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    await bot.say(alice, "/start")
    await bot.say(alice, "/schedule", expect="called")
    await bot.say(alice, "Standup", expect="When")
    question = await bot.say(alice, "2026-11-28 14:00", expect="How long")
    bot.clock.advance(timedelta(hours=6))
    answer = await bot.tap(alice, question, "45 min")
    assert "That time is in the past" in (answer.text or "")
    assert "Please check" not in bot.newest(alice).text


async def test_invite_looks_up_plain_names_and_refuses_unknown_words(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    carol = sandbox.create_user("Carol", username="carol")
    hugo = sandbox.create_user("Hugo", last_name="Berg")  # no username: named by text_mention
    for user in (alice, carol, hugo):
        await bot.say(user, "/start")
    await _plan(bot, alice, "Board | tomorrow 11:00")
    board = _code(bot, "Board")
    before = _counts(bot)
    reply = await bot.say(alice, f"/invite {board} mia")
    assert "I don't know who “mia” is." in reply.text and "/invite CODE @name" in reply.text
    assert _counts(bot) == before
    reply = await bot.say(alice, f"/invite {board} carol")
    assert f"Invited to {board}: Carol." in reply.text
    reply = await bot.say(alice, f"/invite {board} Hugo Berg", text_mentions=[(hugo, "Hugo Berg")])
    assert f"Invited to {board}: Hugo Berg." in reply.text
    # The words of a text_mention are the person, not a name to look up.
    reply = await bot.say(
        alice, f"/features {board} Hugo Berg recording=on", text_mentions=[(hugo, "Hugo Berg")]
    )
    assert f"Features for Hugo Berg in {board}: recording=on." in reply.text
    assert _people(bot, board) == {alice.id, carol.id, hugo.id}
