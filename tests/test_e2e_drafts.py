"""Previews, questions and dialogs end to end: they outlive a restart, expire after a day, are
used once, and the /schedule dialog keeps people and chats apart and times out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select
from telegram.ext import ConversationHandler

from bot.app import DRAFT_PURGE_JOB
from bot.domain import drafts
from bot.sandbox import Message, Sandbox, User
from storage.models import Meeting, OccurrenceChange, Participant, PendingAction
from tests.conftest import BotHarness


def _meetings(bot: BotHarness) -> list[Meeting]:
    with Session(bot.services.engine) as session:
        return list(session.exec(select(Meeting).order_by(Meeting.id)).all())  # type: ignore[arg-type]


def _pending(bot: BotHarness) -> int:
    with Session(bot.services.engine) as session:
        return session.exec(select(func.count()).select_from(PendingAction)).one()


def _members(bot: BotHarness, title: str) -> set[int | None]:
    with Session(bot.services.engine) as session:
        meeting = session.exec(select(Meeting).where(Meeting.title == title)).one()
        rows = session.exec(select(Participant).where(Participant.meeting_id == meeting.id))
        return {row.user_id for row in rows.all()}


async def _started(bot: BotHarness, sandbox: Sandbox, *names: str) -> list[User]:
    people = [sandbox.create_user(name, username=name.lower()) for name in names]
    for person in people:
        await bot.say(person, "/start")
    return people


def _button(message: Message, part: str) -> str:
    return next(text for row in message.buttons for text, _data in row if part in text)


# --- a restart in between ------------------------------------------------------------------


async def test_a_group_preview_confirmed_after_a_restart_saves_and_announces(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    [alice] = await _started(bot, sandbox, "Alice")
    group = sandbox.create_group("Team", members=[alice], admins=[alice])
    preview = await bot.say(alice, "/schedule Offsite | 2026-12-03 15:00 | 45m", group)
    assert "Please check" in preview.text
    await bot.restart()  # a deploy between the preview and the press
    answer = await bot.tap(alice, preview, "Confirm")
    assert answer.text == "Saved."
    [meeting] = _meetings(bot)
    assert meeting.title == "Offsite" and meeting.chat_id == group.id
    assert meeting.ends_at - meeting.starts_at == timedelta(minutes=45)
    announcement = sandbox.current(preview)
    assert (
        "New meeting, planned by Alice" in announcement.text and meeting.code in announcement.text
    )
    answers = [text for text, _data in announcement.buttons[0]]
    assert answers == ["✅ Going", "🤔 Maybe", "❌ Can't"]
    assert [text for text, _data in announcement.buttons[1]] == ["👥 Who", "My link"]
    assert _pending(bot) == 0


async def test_change_after_a_restart_goes_back_to_the_time_question(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    [alice] = await _started(bot, sandbox, "Alice")
    preview = await bot.say(alice, "/schedule Review | 2026-12-03 15:00")
    await bot.restart()
    await bot.tap(alice, preview, "Change")
    assert "When?" in sandbox.current(preview).text
    question = await bot.say(alice, "2026-12-04 09:00", expect="How long")
    await bot.tap(alice, question, "30 min")
    preview = bot.newest(alice)
    assert "Review" in preview.text and "December 4" in preview.text
    await bot.tap(alice, preview, "Confirm")
    [meeting] = _meetings(bot)
    assert meeting.starts_at == datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


async def test_a_reschedule_preview_confirmed_after_a_restart_moves_the_meeting(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    [alice] = await _started(bot, sandbox, "Alice")
    preview = await bot.say(alice, "/schedule Review | 2026-12-01 11:00 | 30m")
    await bot.tap(alice, preview, "Confirm")
    [meeting] = _meetings(bot)
    preview = await bot.say(alice, f"/reschedule {meeting.code} 2026-12-02 12:00")
    await bot.restart()
    await bot.tap(alice, preview, "Confirm")
    assert "Moved:" in sandbox.current(preview).text
    [meeting] = _meetings(bot)
    assert meeting.starts_at == datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert meeting.ends_at - meeting.starts_at == timedelta(minutes=30)


async def test_a_skip_preview_confirmed_after_a_restart_skips_the_sitting(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice, bob = await _started(bot, sandbox, "Alice", "Bob")
    preview = await bot.say(alice, "/schedule Weekly | every monday 10:00 | 45m")
    await bot.tap(alice, preview, "Confirm")
    [meeting] = _meetings(bot)
    await bot.say(alice, f"/invite {meeting.code} @bob")
    preview = await bot.say(alice, f"/skip {meeting.code}")
    assert "Skipped the sitting of Monday, November 30" in preview.text
    await bot.restart()
    answer = await bot.tap(alice, preview, "Confirm")
    assert answer.text == "Saved."
    with Session(bot.services.engine) as session:
        [change] = session.exec(select(OccurrenceChange)).all()
    assert change.original_start == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    assert change.new_start is None
    await sandbox.wait_for_message(bob, contains="skipped")


async def test_an_invite_pick_after_a_restart_invites(bot: BotHarness, sandbox: Sandbox) -> None:
    alice, bob = await _started(bot, sandbox, "Alice", "Bob")
    for title in ("Alpha", "Beta"):
        preview = await bot.say(alice, f"/schedule {title} | 2026-12-03 11:00")
        await bot.tap(alice, preview, "Confirm")
    question = await bot.say(alice, "/invite @bob")
    assert "Which meeting" in question.text
    await bot.restart()
    answer = await bot.tap(alice, question, _button(question, "Beta"))
    assert not answer.text
    assert "Invited to" in bot.newest(alice).text
    assert _members(bot, "Beta") == {alice.id, bob.id}
    # The question is answered: its other button invites nobody any more.
    answer = await bot.tap(alice, question, _button(question, "Alpha"))
    assert "not for you" in (answer.text or "")
    assert _members(bot, "Alpha") == {alice.id}


# --- expiry and the purge ------------------------------------------------------------------


async def test_a_preview_older_than_a_day_is_refused_and_saves_nothing(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    [alice] = await _started(bot, sandbox, "Alice")
    preview = await bot.say(alice, "/schedule Board | 2026-12-05 11:00")
    bot.clock.advance(drafts.LIFETIME + timedelta(minutes=1))
    answer = await bot.tap(alice, preview, "Confirm")
    assert answer.text == "This preview has expired. Send the command again."
    assert answer.show_alert
    assert _meetings(bot) == []
    assert "Please check" in sandbox.current(preview).text  # nothing was edited either


async def test_an_invite_question_older_than_a_day_is_refused(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice, bob = await _started(bot, sandbox, "Alice", "Bob")
    for title in ("Alpha", "Beta"):
        preview = await bot.say(alice, f"/schedule {title} | 2026-12-05 11:00")
        await bot.tap(alice, preview, "Confirm")
    question = await bot.say(alice, "/invite @bob")
    bot.clock.advance(timedelta(hours=25))
    answer = await bot.tap(alice, question, _button(question, "Beta"))
    assert answer.text == "This question has expired. Send /invite again."
    assert bob.id not in _members(bot, "Beta")


async def test_the_purge_job_drops_only_what_expired(bot: BotHarness, sandbox: Sandbox) -> None:
    [alice] = await _started(bot, sandbox, "Alice")
    await bot.say(alice, "/schedule Old | 2026-12-05 11:00")
    bot.clock.advance(timedelta(hours=20))
    fresh = await bot.say(alice, "/schedule Fresh | 2026-12-05 11:00")
    assert _pending(bot) == 2
    bot.clock.advance(timedelta(hours=5))
    [job] = bot.application.job_queue.get_jobs_by_name(DRAFT_PURGE_JOB)
    await job.run(bot.application)  # the hourly purge, now
    assert _pending(bot) == 1
    await bot.tap(alice, fresh, "Confirm")
    assert [meeting.title for meeting in _meetings(bot)] == ["Fresh"]


# --- used once -----------------------------------------------------------------------------


async def test_a_double_tap_on_confirm_saves_one_meeting(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    [alice] = await _started(bot, sandbox, "Alice")
    preview = await bot.say(alice, "/schedule Board | 2026-12-05 11:00")
    # Two presses on the same button before the bot answers either.
    first = sandbox.press_button(alice, preview, text="Confirm")
    second = sandbox.press_button(alice, preview, text="Confirm")
    await bot.settle()
    answers = [sandbox.callback_answer(query) for query in (first, second)]
    assert [answer.text if answer else None for answer in answers] == [
        "Saved.",
        "This preview is not yours or has expired. Send /schedule again.",
    ]
    assert len(_meetings(bot)) == 1


# --- the dialog ----------------------------------------------------------------------------


async def test_two_people_in_a_group_run_the_dialog_at_once(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice, bob = await _started(bot, sandbox, "Alice", "Bob")
    group = sandbox.create_group("Team", members=[alice, bob], admins=[alice])
    to_alice = await bot.say(alice, "/schedule", group, expect="called")
    to_bob = await bot.say(bob, "/schedule", group, expect="called")
    to_alice = await bot.say(alice, "Alpha", group, reply_to=to_alice, expect="When")
    to_bob = await bot.say(bob, "Beta", group, reply_to=to_bob, expect="When")
    to_bob = await bot.say(bob, "2026-12-04 12:00", group, reply_to=to_bob, expect="How long")
    to_alice = await bot.say(
        alice, "2026-12-03 10:00", group, reply_to=to_alice, expect="How long"
    )
    # A dialog follows its person and chat, not a message: Bob's press under Alice's question
    # answers Bob's own dialog, never Alice's.
    answer = await bot.tap(bob, to_alice, "90 min")
    assert not answer.text
    bob_preview = bot.newest(group)
    assert "Beta" in bob_preview.text and "Please check" in bob_preview.text
    await bot.tap(alice, to_alice, "30 min")
    alice_preview = bot.newest(group)
    assert "Alpha" in alice_preview.text and "Please check" in alice_preview.text
    # Each confirms their own preview; neither can confirm the other's.
    answer = await bot.tap(bob, alice_preview, "Confirm")
    assert "not yours" in (answer.text or "")
    await bot.tap(alice, alice_preview, "Confirm")
    await bot.tap(bob, bob_preview, "Confirm")
    with Session(bot.services.engine) as session:
        saved = {
            meeting.title: (meeting.organizer_id, meeting.starts_at, meeting.ends_at)
            for meeting in session.exec(select(Meeting)).all()
        }
    assert saved == {
        "Alpha": (
            alice.id,
            datetime(2026, 12, 3, 10, 0, tzinfo=UTC),
            datetime(2026, 12, 3, 10, 30, tzinfo=UTC),
        ),
        "Beta": (
            bob.id,
            datetime(2026, 12, 4, 12, 0, tzinfo=UTC),
            datetime(2026, 12, 4, 13, 30, tzinfo=UTC),
        ),
    }


async def test_one_person_runs_a_dialog_in_a_group_and_in_private_at_once(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    [alice] = await _started(bot, sandbox, "Alice")
    group = sandbox.create_group("Team", members=[alice], admins=[alice])
    in_group = await bot.say(alice, "/schedule", group, expect="called")
    await bot.say(alice, "/schedule", expect="called")
    await bot.say(alice, "Private one", expect="When")
    in_group = await bot.say(alice, "Group one", group, reply_to=in_group, expect="When")
    in_group = await bot.say(alice, "2026-12-03 10:00", group, reply_to=in_group, expect="How")
    await bot.tap(alice, in_group, "45 min")
    assert "Group one" in bot.newest(group).text
    question = await bot.say(alice, "2026-12-04 10:00", expect="How long")
    await bot.tap(alice, question, "30 min")
    assert "Private one" in bot.newest(alice).text


async def test_the_dialog_times_out_and_says_so(bot: BotHarness, sandbox: Sandbox) -> None:
    [alice] = await _started(bot, sandbox, "Alice")
    await bot.say(alice, "/schedule", expect="called")
    question = await bot.say(alice, "Standup", expect="When")
    # Ten minutes without an answer: the dialog's own timeout fires (run now, not waited for).
    [dialog] = [
        handler
        for handler in bot.application.handlers[0]
        if isinstance(handler, ConversationHandler)
    ]
    [timeout] = dialog.timeout_jobs.values()
    await timeout.run(bot.application)
    await bot.settle()
    assert "The /schedule dialog timed out; nothing was saved." in bot.newest(alice).text
    # Its questions are closed: an answer or a press now starts nothing.
    reply = await bot.say(alice, "tomorrow 15:00")
    assert reply.text == "Send /help to see what I can do."
    answer = await bot.tap(alice, question, "Cancel")
    assert answer.text == "This question is closed. Start again with /schedule."
    assert _meetings(bot) == [] and _pending(bot) == 0


async def test_a_bare_cancel_leaves_the_dialog_and_cancel_code_keeps_it(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    [alice] = await _started(bot, sandbox, "Alice")
    preview = await bot.say(alice, "/schedule Board | 2026-12-05 11:00")
    await bot.tap(alice, preview, "Confirm")
    [board] = _meetings(bot)
    await bot.say(alice, "/schedule", expect="called")
    await bot.say(alice, "Standup", expect="When")
    reply = await bot.say(alice, f"/cancel {board.code}")
    assert "Cancelled “Board”" in reply.text
    await bot.say(alice, "2026-12-04 10:00", expect="How long")  # still in the dialog
    reply = await bot.say(alice, "/cancel")
    assert reply.text == "Cancelled. Nothing was saved."
    reply = await bot.say(alice, "/cancel")
    assert "Write /cancel CODE" in reply.text
