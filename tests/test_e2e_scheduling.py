"""Scheduling, joining and inviting, end to end through the sandbox."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import Session, select

from bot.sandbox import Sandbox
from storage.models import Meeting, Participant
from tests.conftest import BotHarness


def _meetings(bot: BotHarness) -> list[Meeting]:
    with Session(bot.services.engine) as session:
        return list(session.exec(select(Meeting)).all())


def _code(text: str) -> str:
    found = re.search(r"\b([A-HJ-NP-Z2-9]{6})\b", text)
    assert found, text
    return found.group(1)


async def test_one_line_schedule_in_private_is_confirmed_before_saving(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    await bot.say(alice, "/start")
    await bot.say(alice, "/timezone Europe/Berlin")
    preview = await bot.say(alice, "/schedule Weekly sync | 2026-12-01 15:00 | 45m")
    assert "Tuesday, December 1, 2026" in preview.text
    assert "3:00" in preview.text and "3:45" in preview.text and "Europe/Berlin" in preview.text
    assert _meetings(bot) == []
    answer = await bot.tap(alice, preview, "Confirm")
    assert answer.text == "Saved."
    saved = sandbox.current(preview)
    assert "You are the owner" in saved.text
    [meeting] = _meetings(bot)
    assert meeting.title == "Weekly sync"
    assert meeting.starts_at.isoformat() == "2026-12-01T14:00:00+00:00"
    assert meeting.ends_at - meeting.starts_at == timedelta(minutes=45)
    assert meeting.code in saved.text
    listing = await bot.say(alice, "/meetings")
    assert "Weekly sync" in listing.text and "owner" in listing.text


async def test_refusals_save_nothing(bot: BotHarness, sandbox: Sandbox) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    await bot.say(alice, "/start")
    cases = {
        "/schedule Sync | yesterday 10:00": "past",
        "/schedule Sync | 2028-01-01 10:00": "year",
        "/schedule Sync | tomorrow 10:00 | 0m": "needs some time",
        "/schedule Sync | tomorrow 10:00 | 25h": "24 hours",
        "/schedule  | tomorrow 10:00": "title is empty",
        "/schedule " + "x" * 201 + " | tomorrow 10:00": "too long",
        "/schedule Sync | banana": "as a date",
        "/schedule just words": "Title | tomorrow 15:00",
    }
    for command, expected in cases.items():
        reply = await bot.say(alice, command)
        assert expected in reply.text, (command, reply.text)
    assert _meetings(bot) == []


async def test_dialog_schedule_with_duration_button(bot: BotHarness, sandbox: Sandbox) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    await bot.say(alice, "/start")
    await bot.say(alice, "/schedule", expect="called")
    await bot.say(alice, "Planning", expect="When")
    question = await bot.say(alice, "tomorrow 15:00", expect="How long")
    await bot.tap(alice, question, "90 min")
    preview = bot.newest(alice)
    assert "Planning" in preview.text and "Please check" in preview.text
    await bot.tap(alice, preview, "Confirm")
    [meeting] = _meetings(bot)
    assert meeting.ends_at - meeting.starts_at == timedelta(minutes=90)


async def test_bare_cancel_leaves_the_dialog(bot: BotHarness, sandbox: Sandbox) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    await bot.say(alice, "/start")
    await bot.say(alice, "/schedule", expect="called")
    reply = await bot.say(alice, "/cancel")
    assert "Nothing was saved" in reply.text
    after = await bot.say(alice, "Some title")
    assert "/help" in after.text
    assert _meetings(bot) == []


async def test_group_schedule_join_and_never_started_member(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    bob = sandbox.create_user("Bob", username="bob")
    carol = sandbox.create_user("Carol", username="carol")
    group = sandbox.create_group("Team", members=[alice, bob, carol], admins=[alice])
    await bot.say(alice, "/start")
    await bot.say(bob, "/start")
    preview = await bot.say(
        alice, "/schedule@meetings_test_bot Team sync | tomorrow 15:00 | 30m", group
    )
    await bot.tap(alice, preview, "Confirm")
    announcement = sandbox.current(preview)
    assert "Team sync" in announcement.text and "✅ Going" in str(announcement.buttons)
    my_link_url = sandbox.button_url(announcement, "My link")
    assert my_link_url.startswith("https://t.me/meetings_test_bot?start=")
    assert "jwt=" not in announcement.text

    answer = await bot.tap(bob, announcement, "✅ Going")
    assert "You joined" in (answer.text or "")
    await bot.settle()
    assert "You joined" in bot.newest(bob).text

    # Carol never started the bot: the button sends her to it, /start finishes the join.
    answer = await bot.tap(carol, announcement, "✅ Going")
    assert answer.url is not None and answer.url.startswith(
        "https://t.me/meetings_test_bot?start="
    )
    payload = answer.url.split("start=")[1]
    welcome = await bot.say(carol, f"/start {payload}")
    assert "You joined" in welcome.text
    with Session(bot.services.engine) as session:
        roles = {row.user_id: row.role for row in session.exec(select(Participant)).all()}
    assert roles == {alice.id: "owner", bob.id: "member", carol.id: "member"}
    # No message in the group ever carries a token.
    assert all("jwt=" not in message.text for message in sandbox.chat_messages(group))


async def test_invite_by_reply_mention_and_unknown_username(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    bob = sandbox.create_user("Bob", username="bob")
    dave = sandbox.create_user("Dave")  # no username: reachable only by text_mention
    erin = sandbox.create_user("Erin", username="erin")
    group = sandbox.create_group("Team", members=[alice, bob, dave, erin], admins=[alice])
    await bot.say(alice, "/start")
    await bot.say(bob, "/start")
    await bot.say(dave, "/start")
    preview = await bot.say(alice, "/schedule Review | tomorrow 11:00", group)
    await bot.tap(alice, preview, "Confirm")
    code = _meetings(bot)[0].code

    bob_says = sandbox.send_text(bob, "I'd like to come", group)
    reply = await bot.say(alice, "/invite", group, reply_to=bob_says)
    assert "Invited to" in reply.text and "Bob" in reply.text
    reply = await bot.say(
        alice, f"/invite {code} Dave @erin", group, text_mentions=[(dave, "Dave")]
    )
    assert "Dave" in reply.text
    assert "@erin" in reply.text and "Can't reach yet" in reply.text
    assert "t.me/meetings_test_bot?start=" in reply.text
    # Invited people who started the bot hear about it privately, with Going / Maybe / Can't.
    invitation = await sandbox.wait_for_message(bob, contains="You are invited")
    assert "Review" in invitation.text and code in invitation.text
    await sandbox.wait_for_message(dave, contains="You are invited")

    # Erin starts the bot later and becomes a participant at once.
    welcome = await bot.say(erin, "/start")
    assert "Review" in welcome.text
    with Session(bot.services.engine) as session:
        people = {row.user_id for row in session.exec(select(Participant)).all()}
    assert people == {alice.id, bob.id, dave.id, erin.id}

    # Bob can't come: he stays in the meeting with his answer, and can change it.
    answer = await bot.tap(bob, invitation, "❌ Can't")
    assert "can't come" in (answer.text or "")
    with Session(bot.services.engine) as session:
        answers = {row.user_id: row.rsvp for row in session.exec(select(Participant)).all()}
    assert answers[bob.id] == "cant"


async def test_invite_code_alone_returns_a_link_to_forward(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    await bot.say(alice, "/start")
    preview = await bot.say(alice, "/schedule Review | tomorrow 11:00")
    await bot.tap(alice, preview, "Confirm")
    code = _meetings(bot)[0].code
    reply = await bot.say(alice, f"/invite {code}")
    assert "Forward this link" in reply.text
    payload = reply.text.split("start=")[1].split()[0]
    frank = sandbox.create_user("Frank", username="frank")
    welcome = await bot.say(frank, f"/start {payload}")
    assert "You joined" in welcome.text and "Review" in welcome.text
    # Guessing payloads gets nowhere.
    refused = await bot.say(frank, "/start AAAAAAAAAAAA")
    assert "not valid" in refused.text


async def test_only_owners_may_invite_cancel_or_reschedule(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    mallory = sandbox.create_user("Mallory", username="mallory")
    await bot.say(alice, "/start")
    await bot.say(mallory, "/start")
    preview = await bot.say(alice, "/schedule Review | tomorrow 11:00")
    await bot.tap(alice, preview, "Confirm")
    code = _meetings(bot)[0].code
    for command in (
        f"/invite {code} @alice",
        f"/cancel {code}",
        f"/reschedule {code} friday 10:00",
    ):
        reply = await bot.say(mallory, command)
        assert "Only the meeting's owners" in reply.text, command
    # Forged buttons: another person's preview, someone else's cancel.
    answer = await bot.tap(mallory, preview, data="cf:whatever")
    assert "not yours" in (answer.text or "")
    answer = await bot.tap(mallory, preview, data=f"mt:c:{code}")
    assert "Only the meeting's owners" in (answer.text or "")
    answer = await bot.tap(mallory, preview, data="zz:\x00garbage")
    assert answer.text
    [meeting] = _meetings(bot)
    assert meeting.status == "scheduled"


async def test_reschedule_and_cancel_tell_everyone(bot: BotHarness, sandbox: Sandbox) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    bob = sandbox.create_user("Bob", username="bob")
    await bot.say(alice, "/start")
    await bot.say(bob, "/start")
    preview = await bot.say(alice, "/schedule Review | 2026-12-01 11:00 | 30m")
    await bot.tap(alice, preview, "Confirm")
    code = _meetings(bot)[0].code
    await bot.say(alice, f"/invite {code} @bob")
    preview = await bot.say(alice, f"/reschedule {code} 2026-12-02 12:00")
    assert "Wednesday, December 2, 2026" in preview.text
    await bot.tap(alice, preview, "Confirm")
    notice = await sandbox.wait_for_message(bob, contains="New time")
    assert "December 2" in notice.text
    [meeting] = _meetings(bot)
    assert meeting.starts_at.isoformat() == "2026-12-02T12:00:00+00:00"
    assert meeting.ends_at - meeting.starts_at == timedelta(minutes=30)
    reply = await bot.say(alice, f"/cancel {code}")
    assert "Cancelled" in reply.text
    await sandbox.wait_for_message(bob, contains="Cancelled")
    assert _meetings(bot)[0].status == "cancelled"


async def test_invite_without_code_asks_which_meeting(bot: BotHarness, sandbox: Sandbox) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    bob = sandbox.create_user("Bob", username="bob")
    await bot.say(alice, "/start")
    await bot.say(bob, "/start")
    for title in ("Alpha", "Beta"):
        preview = await bot.say(alice, f"/schedule {title} | tomorrow 11:00")
        await bot.tap(alice, preview, "Confirm")
    await bot.restart()  # Alice's in-memory user data starts empty again
    question = await bot.say(alice, "/invite @bob")
    assert "Which meeting" in question.text
    beta = next(text for row in question.buttons for text, _data in row if "Beta" in text)
    await bot.tap(alice, question, beta)
    with Session(bot.services.engine) as session:
        meeting = session.exec(select(Meeting).where(Meeting.title == "Beta")).one()
        people = {
            row.user_id
            for row in session.exec(
                select(Participant).where(Participant.meeting_id == meeting.id)
            ).all()
        }
    assert people == {alice.id, bob.id}
    # Someone else pressing the same button invites nobody.
    mallory = sandbox.create_user("Mallory", username="mallory")
    answer = await bot.tap(mallory, question, data="ip:x:" + meeting.code)
    assert "not for you" in (answer.text or "")


async def test_dialog_in_a_group_works_by_replies(bot: BotHarness, sandbox: Sandbox) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    bob = sandbox.create_user("Bob", username="bob")
    group = sandbox.create_group("Team", members=[alice, bob], admins=[alice])
    await bot.say(alice, "/start")
    question = await bot.say(alice, "/schedule", group, expect="called")
    # Privacy mode: a plain message in the group never reaches the bot, a reply does.
    sandbox.send_text(alice, "Offsite", group)
    await bot.settle()
    assert bot.newest(group).message_id == question.message_id
    question = await bot.say(alice, "Offsite", group, reply_to=question, expect="When")
    question = await bot.say(alice, "tomorrow 15:00", group, reply_to=question, expect="How long")
    # Bob's reply is not part of Alice's dialog.
    sandbox.send_text(bob, "2h", group, reply_to=question)
    await bot.settle()
    await bot.tap(alice, question, "45 min")
    preview = bot.newest(group)
    assert "Offsite" in preview.text and "Please check" in preview.text
    await bot.tap(alice, preview, "Confirm")
    [meeting] = _meetings(bot)
    assert meeting.chat_id == group.id
    assert meeting.ends_at - meeting.starts_at == timedelta(minutes=45)
