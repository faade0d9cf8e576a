"""Personal links before the start: nobody lost, nobody twice, right role in every token."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.domain import participation, scheduling, values
from bot.domain.people import remember_user
from bot.sandbox import Chat, Faults, Sandbox, User
from storage.db import session_scope
from storage.models import Delivery, DeliveryStatus, Meeting, Notice
from storage.models import User as UserRow
from tests.conftest import BotHarness
from tests.helpers import decode_token, make_settings

HOUR = timedelta(hours=1)
LINK = re.compile(r"https://meet\.example\.com/[a-z0-9-]+\?jwt=([A-Za-z0-9_\-\.]+)")


def _links(sandbox: Sandbox, user: User) -> list[str]:
    return [token for message in sandbox.inbox(user) for token in LINK.findall(message.text)]


async def _team_meeting(
    bot: BotHarness, sandbox: Sandbox, *, start: str = "2026-11-28 12:00"
) -> tuple[dict[str, User], Chat, Meeting]:
    """Alice (owner) schedules in a group; Bob is co-host; Carol, Dan members; Erin never
    started the bot; Fay blocked it."""
    people = {
        name.lower(): sandbox.create_user(name, username=name.lower())
        for name in ("Alice", "Bob", "Carol", "Dan", "Erin", "Fay")
    }
    group = sandbox.create_group("Team", members=list(people.values()), admins=[people["alice"]])
    for name in ("alice", "bob", "carol", "dan", "fay"):
        await bot.say(people[name], "/start")
    preview = await bot.say(people["alice"], f"/schedule Team sync | {start} | 60m", group)
    await bot.tap(people["alice"], preview, "Confirm")
    with Session(bot.services.engine) as session:
        meeting = session.exec(select(Meeting)).one()
    code = meeting.code
    await bot.say(people["alice"], f"/invite {code} @bob @carol @dan @erin @fay", group)
    await bot.say(people["alice"], f"/promote {code} @bob", group)
    sandbox.block_bot(people["fay"])
    await bot.settle()
    return people, group, meeting


async def test_everyone_reachable_gets_exactly_one_link_with_the_right_role(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    people, group, meeting = await _team_meeting(bot, sandbox)
    assert all(_links(sandbox, user) == [] for user in people.values())
    # 10:00 now, meeting at 12:00, reminder at 11:50.
    await bot.reminders(timedelta(minutes=109))
    assert all(_links(sandbox, user) == [] for user in people.values())
    await bot.reminders(timedelta(minutes=1))
    sent_at = int(bot.clock().timestamp())
    for name, role in (
        ("alice", "owner"),
        ("bob", "owner"),
        ("carol", "member"),
        ("dan", "member"),
    ):
        [token] = _links(sandbox, people[name])
        claims = decode_token(token)
        assert claims["context"]["user"]["affiliation"] == role, name
        assert claims["context"]["user"]["moderator"] is (role == "owner")
        assert claims["room"] == meeting.room
        assert claims["nbf"] <= sent_at
        assert claims["exp"] == int((meeting.ends_at + timedelta(minutes=60)).timestamp())
        assert claims["context"]["user"]["id"] == f"tg-{people[name].id}"
    assert _links(sandbox, people["erin"]) == []
    assert _links(sandbox, people["fay"]) == []
    summary = await sandbox.wait_for_message(people["alice"], contains="have their links")
    assert "4 of 6" in summary.text
    assert "@erin" in summary.text and "Fay" in summary.text
    # One note in the group with the button, no token in it.
    notes = [m for m in sandbox.chat_messages(group) if "personal links went out" in m.text]
    assert len(notes) == 1 and "jwt=" not in notes[0].text
    url = sandbox.button_url(notes[0], "Get my link")
    # Another sweep changes nothing: nobody gets a second link.
    await bot.reminders(timedelta(minutes=1))
    assert all(len(_links(sandbox, people[name])) == 1 for name in ("alice", "bob", "carol"))

    # Erin taps the group's button, starts the bot, and gets her link at once.
    payload = url.split("start=")[1]
    reply = await bot.say(people["erin"], f"/start {payload}", expect="jwt=")
    [token] = LINK.findall(reply.text)
    assert decode_token(token)["context"]["user"]["affiliation"] == "member"
    await bot.reminders()
    assert len(_links(sandbox, people["erin"])) == 1
    # The group note is edited, not re-posted.
    notes = [m for m in sandbox.chat_messages(group) if "personal links went out" in m.text]
    assert len(notes) == 1 and "5 of 6" in notes[0].text


async def test_restart_between_scheduling_and_reminder(bot: BotHarness, sandbox: Sandbox) -> None:
    people, _group, _meeting = await _team_meeting(bot, sandbox)
    await bot.restart()
    bot.clock.advance(timedelta(minutes=110))
    await bot.sandbox.wait_for(lambda: len(_links(sandbox, people["dan"])) == 1, timeout=10)
    await bot.settle()
    for name in ("alice", "bob", "carol", "dan"):
        assert len(_links(sandbox, people[name])) == 1


async def test_down_across_the_reminder_time(bot: BotHarness, sandbox: Sandbox) -> None:
    people, _group, _meeting = await _team_meeting(bot, sandbox)
    await bot.stop()
    bot.clock.advance(timedelta(minutes=125))  # 5 minutes after the start
    await bot.start()
    await bot.sandbox.wait_for(lambda: len(_links(sandbox, people["dan"])) == 1, timeout=10)
    message = next(m for m in sandbox.inbox(people["dan"]) if "jwt=" in m.text)
    assert "started 5 minutes ago" in message.text


async def test_crash_mid_fan_out_loses_nobody(bot: BotHarness, sandbox: Sandbox) -> None:
    people, _group, meeting = await _team_meeting(bot, sandbox)
    await bot.stop()
    bot.clock.advance(timedelta(minutes=110))
    # The state a crash leaves: two links sent, two claimed ("sending") when the process died.
    with session_scope(bot.services_engine()) as session:
        rows = session.exec(select(Delivery).order_by(Delivery.id)).all()
        for row in rows[:2]:
            row.status = DeliveryStatus.SENT
        for row in rows[2:4]:
            row.status = DeliveryStatus.SENDING
    await bot.start()
    await bot.sandbox.wait_for(
        lambda: all(
            _delivery_states(bot).get(user.id) in {"sent", "unreachable"}
            for user in people.values()
            if user.username != "erin"
        ),
        timeout=10,
    )
    await bot.settle()
    states = _delivery_states(bot)
    for name in ("carol", "dan"):
        assert states[people[name].id] == "sent"
    assert meeting.id is not None


def _delivery_states(bot: BotHarness) -> dict[int, str]:
    with Session(bot.services_engine()) as session:
        return {row.user_id: row.status.value for row in session.exec(select(Delivery)).all()}


async def test_flaky_telegram_loses_nobody(bot: BotHarness, sandbox: Sandbox) -> None:
    people, _group, _meeting = await _team_meeting(bot, sandbox)
    sandbox.faults = Faults(
        error_rate=0.1, bad_gateway_rate=0.1, drop_after_processing_rate=0.1, seed=7
    )
    bot.clock.advance(timedelta(minutes=110))
    for _round in range(40):
        await bot.reminders(timedelta(seconds=5))
        if all(_links(sandbox, people[n]) for n in ("alice", "bob", "carol", "dan")):
            break
    injected = sum(sandbox.stats.faults.values())
    sandbox.faults = Faults()
    for name in ("alice", "bob", "carol", "dan"):
        assert len(_links(sandbox, people[name])) >= 1, name
    assert injected > 0


async def test_late_invite_gets_the_link_at_once(bot: BotHarness, sandbox: Sandbox) -> None:
    people, group, meeting = await _team_meeting(bot, sandbox)
    await bot.reminders(timedelta(minutes=110))
    gina = sandbox.create_user("Gina", username="gina")
    await bot.say(gina, "/start")
    sandbox.add_member(group, gina)
    await bot.say(people["alice"], f"/invite {meeting.code} @gina", group)
    await bot.reminders()
    [token] = _links(sandbox, gina)
    assert decode_token(token)["room"] == meeting.room


async def test_cancel_stops_pending_links_and_reschedule_moves_them(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    people, group, meeting = await _team_meeting(bot, sandbox)
    await bot.say(people["alice"], f"/reschedule {meeting.code} 2026-11-28 14:00", group)
    preview = bot.newest(group)
    await bot.tap(people["alice"], preview, "Confirm")
    await bot.reminders(timedelta(minutes=110))  # the old reminder time
    assert _links(sandbox, people["carol"]) == []
    await bot.reminders(timedelta(minutes=120))  # 13:50, the new one
    assert len(_links(sandbox, people["carol"])) == 1
    await bot.say(people["alice"], f"/cancel {meeting.code}", group)
    with Session(bot.services_engine()) as session:
        pending = session.exec(
            select(Delivery).where(Delivery.status == DeliveryStatus.PENDING)
        ).all()
    assert pending == []


async def test_link_command_respects_the_join_window(bot: BotHarness, sandbox: Sandbox) -> None:
    people, group, meeting = await _team_meeting(bot, sandbox)
    early = await bot.say(people["carol"], f"/link {meeting.code}")
    assert "will be ready from" in early.text and "jwt=" not in early.text
    bot.clock.advance(timedelta(minutes=106))  # 11:46, 14 minutes before: window open
    ready = await bot.say(people["carol"], f"/link {meeting.code}", expect="jwt=")
    assert decode_token(LINK.findall(ready.text)[0])["context"]["user"]["affiliation"] == "member"
    # In the group the link never appears; it goes to the private chat.
    before = len(sandbox.inbox(people["dan"]))
    reply = await bot.say(people["dan"], f"/link {meeting.code}", group)
    assert "jwt=" not in reply.text
    await sandbox.wait_for(lambda: len(sandbox.inbox(people["dan"])) > before)
    assert "jwt=" in sandbox.inbox(people["dan"])[-1].text
    stranger = sandbox.create_user("Stranger", username="stranger")
    refused = await bot.say(stranger, f"/link {meeting.code}")
    assert "not in meeting" in refused.text


async def test_blocking_is_recorded_and_unblocking_brings_the_link(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    people, _group, _meeting = await _team_meeting(bot, sandbox)
    with Session(bot.services_engine()) as session:
        fay = session.get(UserRow, people["fay"].id)
        assert fay is not None and fay.blocked and not fay.reachable
    await bot.reminders(timedelta(minutes=110))
    assert _links(sandbox, people["fay"]) == []
    assert _delivery_states(bot)[people["fay"].id] == "unreachable"
    sandbox.unblock_bot(people["fay"])  # Telegram sends my_chat_member: she is back
    await sandbox.wait_for(lambda: _links(sandbox, people["fay"]), timeout=10)
    assert len(_links(sandbox, people["fay"])) == 1


async def test_paid_broadcast_setting_reaches_telegram(
    sandbox: Sandbox, clock: ManualClock, tmp_path: Path, database_url: str
) -> None:
    harness = BotHarness(
        sandbox,
        clock,
        tmp_path / "paid.db",
        make_settings,
        allow_paid_broadcast=True,
        database_url=database_url,
    )
    await harness.start()
    try:
        people, _group, _meeting = await _team_meeting(harness, sandbox)
        await harness.reminders(timedelta(minutes=110))
        link_calls = [
            call
            for call in sandbox.calls_to("sendMessage")
            if "jwt=" in str(call.params.get("text", ""))
        ]
        assert link_calls
        assert all(
            call.params.get("allow_paid_broadcast") in (True, "true") for call in link_calls
        )
        assert len(_links(sandbox, people["dan"])) == 1
    finally:
        await harness.stop()


async def test_news_of_a_change_survives_a_crash(bot: BotHarness, sandbox: Sandbox) -> None:
    people, _group, meeting = await _team_meeting(bot, sandbox)
    await bot.stop()
    # The cancel committed, then the process died before telling anyone: the notices were
    # written in the same transaction, so the next start sends them.
    with session_scope(bot.services_engine()) as session:
        stored = session.get(Meeting, meeting.id)
        assert stored is not None
        scheduling.cancel_meeting(
            session, meeting=stored, actor=values.Actor(people["alice"].id), now=bot.clock()
        )
    await bot.start()
    for name in ("bob", "carol", "dan"):
        notice = await sandbox.wait_for_message(people[name], contains="Cancelled")
        assert "Team sync" in notice.text
    assert not any("Cancelled" in m.text for m in sandbox.inbox(people["alice"]))


async def test_a_big_fan_out_starts_early_enough_to_be_on_time(
    sandbox: Sandbox, clock: ManualClock, tmp_path: Path, database_url: str
) -> None:
    # Paced for Telegram's real limits: 90 links take about three seconds at 0.95 x 30 a second.
    bot = BotHarness(
        sandbox,
        clock,
        tmp_path / "fan-out.db",
        make_settings,
        rate_limit_scale=1.0,
        database_url=database_url,
    )
    await bot.start()
    try:
        await _fan_out_of_ninety(bot, sandbox)
    finally:
        await bot.stop()


async def _fan_out_of_ninety(bot: BotHarness, sandbox: Sandbox) -> None:
    people = []
    for number in range(90):
        user = sandbox.create_user(f"Person{number:02d}", username=f"person{number:02d}")
        user.started = True  # what a private /start does
        people.append(user)
    start = bot.clock() + timedelta(hours=2)
    with session_scope(bot.services.engine) as session:
        for user in people:
            remember_user(
                session,
                user_id=user.id,
                username=user.username,
                display_name=user.full_name,
                telegram_language="en",
                started=True,
            )
        draft = scheduling.Draft(
            title="All hands", starts_at=start, ends_at=start + HOUR, zone="UTC"
        )
        meeting = scheduling.create_meeting(
            session,
            draft=draft,
            organizer_id=people[0].id,
            chat_id=None,
            rules=bot.services.rules,
            now=bot.clock(),
        )
        participation.invite(
            session,
            meeting=meeting,
            actor=values.Actor(people[0].id),
            user_ids=[user.id for user in people[1:]],
            usernames=[],
            now=bot.clock(),
        )
        # The invitations went out long ago in this story.
        session.execute(update(Notice).values(status=DeliveryStatus.SENT.value))
    due = start - timedelta(minutes=10)
    await bot.reminders(due - timedelta(seconds=10) - bot.clock())
    assert not any(_links(sandbox, user) for user in people)
    for _second in range(10):
        await bot.reminders(timedelta(seconds=1))
    assert all(len(_links(sandbox, user)) == 1 for user in people)
    with Session(bot.services.engine) as session:
        sent_at = [row.updated_at for row in session.exec(select(Delivery)).all()]
    # Every link went out by its due time, the first ones a few seconds before it.
    assert max(sent_at) <= due
    assert due - timedelta(seconds=10) < min(sent_at) <= due - timedelta(seconds=3)
    # The personal message counts down from the moment it was sent.
    first = next(m for m in sandbox.inbox(people[0]) if "jwt=" in m.text)
    assert "starts in 10 minutes" in first.text
