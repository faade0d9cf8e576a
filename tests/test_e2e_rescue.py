"""The rescue path (the organizer's summary, the group's "Get my link" note) is as durable as the
links: a Telegram 500 or a crash delays it, never loses it; and the note is never edited to
what it already says."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import select

from bot.sandbox import Chat, Faults, Sandbox
from bot.sandbox.limits import ERROR_500
from bot.sandbox.models import Edit, Message
from storage.db import session_scope
from storage.models import DeliveryStatus, LinkSummary, Meeting, Notice
from tests.conftest import BotHarness
from tests.test_e2e_delivery import _links, _team_meeting

NOTE = "personal links went out"
SUMMARY = "have their links"


@dataclass
class _FailAfter(Faults):
    """Telegram answers 500 to `failures` sendMessage calls after the first `after` ones."""

    after: int = 0
    failures: int = 0
    calls: int = 0

    def draw(self, method: str) -> tuple[str | None, float]:
        """500 for the calls in the window, a clean answer for everything else."""
        if method.lower() != "sendmessage":
            return None, 0.0
        self.calls += 1
        if self.after < self.calls <= self.after + self.failures:
            self.injected[ERROR_500] += 1
            return ERROR_500, 0.0
        return None, 0.0


def _notes(sandbox: Sandbox, group: Chat) -> list[str]:
    return [m.text for m in sandbox.chat_messages(group) if NOTE in m.text]


def _edits_of(sandbox: Sandbox, message: Message) -> list[Edit]:
    return [edit for edit in sandbox.edits(message.chat) if edit.message_id == message.message_id]


async def test_summary_and_group_note_survive_a_500_on_their_first_attempt(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    people, group, _meeting = await _team_meeting(bot, sandbox)
    # The five links (Fay's refused: she blocked the bot) go through; the two messages
    # after them, the organizer's summary and the group note, are answered 500.
    sandbox.faults = _FailAfter(after=5, failures=2)
    await bot.reminders(timedelta(minutes=110))
    assert sandbox.stats.faults == {ERROR_500: 2}
    assert all(len(_links(sandbox, people[n])) == 1 for n in ("alice", "bob", "carol", "dan"))
    assert not any(SUMMARY in m.text for m in sandbox.inbox(people["alice"]))
    assert _notes(sandbox, group) == []

    await bot.reminders(timedelta(seconds=2))  # past the backoff
    summaries = [m.text for m in sandbox.inbox(people["alice"]) if SUMMARY in m.text]
    assert len(summaries) == 1 and "4 of 6" in summaries[0]
    assert "@erin" in summaries[0] and "Fay" in summaries[0]
    [note] = _notes(sandbox, group)
    assert "4 of 6" in note
    # Nothing more is owed: further sweeps send neither again.
    await bot.reminders(timedelta(minutes=1))
    assert len([m for m in sandbox.inbox(people["alice"]) if SUMMARY in m.text]) == 1
    assert len(_notes(sandbox, group)) == 1


async def test_summary_and_group_note_claimed_when_the_bot_died_go_out_after_restart(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    people, group, _meeting = await _team_meeting(bot, sandbox)
    sandbox.faults = _FailAfter(after=5, failures=2)
    await bot.reminders(timedelta(minutes=110))
    await bot.stop()
    # The state a kill -9 leaves: both claimed for their second attempt, nothing sent yet.
    with session_scope(bot.services_engine()) as session:
        rows = session.exec(select(LinkSummary)).all()
        assert {row.kind for row in rows} == {"organizer", "group"}
        for row in rows:
            row.status = DeliveryStatus.SENDING.value
            row.updated_at = bot.clock()
            session.add(row)
    bot.clock.advance(timedelta(seconds=2))
    await bot.start()
    summary = await sandbox.wait_for_message(people["alice"], contains=SUMMARY, timeout=10)
    assert "4 of 6" in summary.text
    await sandbox.wait_for(lambda: _notes(sandbox, group), timeout=10)
    await bot.reminders(timedelta(minutes=1))
    assert len([m for m in sandbox.inbox(people["alice"]) if SUMMARY in m.text]) == 1
    assert len(_notes(sandbox, group)) == 1


async def test_group_note_is_edited_only_when_it_changes(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    people, group, meeting = await _team_meeting(bot, sandbox)
    await bot.reminders(timedelta(minutes=110))
    note = await sandbox.wait_for_message(group, contains=NOTE)
    # Carol and Bob ask again for links they already have: the note's tally is unchanged.
    await bot.say(people["carol"], f"/link {meeting.code}", expect="jwt=")
    await bot.say(people["bob"], f"/link {meeting.code}", expect="jwt=")
    await bot.reminders()
    assert _edits_of(sandbox, note) == []
    # Erin starts the bot through the note's button: now the note changes, once.
    payload = sandbox.button_url(note, "Get my link").split("start=")[1]
    await bot.say(people["erin"], f"/start {payload}", expect="jwt=")
    await bot.say(people["erin"], f"/link {meeting.code}", expect="jwt=")
    await bot.reminders()
    edits = _edits_of(sandbox, note)
    assert len(edits) == 1 and "5 of 6" in edits[0].new_text
    [shown] = _notes(sandbox, group)
    assert "5 of 6" in shown
    # Telegram was never asked for an edit that changes nothing (it answers 400).
    assert [call for call in sandbox.calls_to("editMessageText") if call.status != 200] == []


async def test_a_notice_left_sending_by_a_dead_process_goes_out_without_a_restart(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    """Another process claimed Carol's invitation and died; this one, still running, sends it."""
    alice = sandbox.create_user("Alice", username="alice")
    carol = sandbox.create_user("Carol", username="carol")
    for person in (alice, carol):
        await bot.say(person, "/start")
    preview = await bot.say(alice, "/schedule Sync | tomorrow 15:00 | 30m")
    await bot.tap(alice, preview, "Confirm")
    with session_scope(bot.services.engine) as session:
        code = session.exec(select(Meeting.code)).one()
    before = len(sandbox.inbox(carol))
    sandbox.faults = Faults(drop_before_processing_rate=1.0)
    await bot.say_silently(alice, f"/invite {code} @carol")
    sandbox.faults = Faults()
    # What a process that dies between claiming and sending leaves behind.
    with session_scope(bot.services.engine) as session:
        notice = session.exec(select(Notice).where(Notice.user_id == carol.id)).one()
        notice.status = DeliveryStatus.SENDING.value
        notice.due_at = bot.clock()
        session.add(notice)
    await bot.reminders(timedelta(minutes=1))
    assert len(sandbox.inbox(carol)) == before  # it may still be on its way elsewhere
    await bot.reminders(timedelta(minutes=5))
    invitations = sandbox.inbox(carol)[before:]
    assert len(invitations) == 1 and code in invitations[0].text
