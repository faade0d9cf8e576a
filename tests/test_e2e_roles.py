"""Roles, features and admins, end to end: who may change a meeting, and what the tokens say."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bot.clock import ManualClock
from bot.i18n import use_language
from bot.jitsi import FEATURES, Role
from bot.render import role_name
from bot.sandbox import Chat, Sandbox, User
from storage.db import session_scope
from storage.models import AuditEvent, Delivery, Meeting, Participant
from storage.models import User as StoredUser
from tests.conftest import BotHarness
from tests.helpers import decode_token, make_settings

LINK = re.compile(r"https://meet\.example\.com/([a-z0-9-]+)\?jwt=([A-Za-z0-9_\-\.]+)")
REFUSED = (
    "Only the meeting's owners, the bot's admins and (for a group's meetings) "
    "the group's administrators can do that"
)


@pytest.fixture
def root(sandbox: Sandbox) -> User:
    """The bot admin from ADMIN_IDS (created first: sandbox ids are handed out on creation)."""
    return sandbox.create_user("Root", username="root")


@pytest.fixture
async def bot(
    sandbox: Sandbox, clock: ManualClock, tmp_path: Path, root: User, database_url: str
) -> AsyncIterator[BotHarness]:
    """The real bot with Root in ADMIN_IDS."""
    harness = BotHarness(
        sandbox,
        clock,
        tmp_path / "meetings.db",
        make_settings,
        admin_ids=frozenset({root.id}),
        database_url=database_url,
    )
    await harness.start()
    yield harness
    await harness.stop()


# --- helpers -------------------------------------------------------------------------------


def _links(sandbox: Sandbox, user: User) -> list[tuple[str, str]]:
    """(room, token) of every link the user received, oldest first."""
    return [found for message in sandbox.inbox(user) for found in LINK.findall(message.text)]


def _newestdecode_token(sandbox: Sandbox, user: User) -> dict[str, Any]:
    room, token = _links(sandbox, user)[-1]
    claims = decode_token(token)
    assert claims["room"] == room
    return claims


def _meeting(bot: BotHarness, code: str) -> Meeting:
    with Session(bot.services_engine()) as session:
        return session.exec(select(Meeting).where(Meeting.code == code)).one()


def _roles(bot: BotHarness, code: str) -> dict[int | None, str]:
    meeting = _meeting(bot, code)
    with Session(bot.services_engine()) as session:
        rows = session.exec(select(Participant).where(Participant.meeting_id == meeting.id))
        return {row.user_id: row.role for row in rows.all()}


def _audit(bot: BotHarness, action: str | None = None) -> list[AuditEvent]:
    with Session(bot.services_engine()) as session:
        query = select(AuditEvent).order_by(col(AuditEvent.id))
        if action is not None:
            query = query.where(AuditEvent.action == action)
        return list(session.exec(query).all())


def _snapshot(bot: BotHarness) -> dict[str, Any]:
    """Everything a refused command must leave alone."""
    with Session(bot.services_engine()) as session:
        return {
            "meetings": sorted(
                (m.code, m.status, m.room, m.version, sorted(m.feature_defaults.items()))
                for m in session.exec(select(Meeting)).all()
            ),
            "participants": sorted(
                (p.meeting_id, p.user_id or 0, p.role, sorted(p.features.items()))
                for p in session.exec(select(Participant)).all()
            ),
            "admins": sorted(u.id for u in session.exec(select(StoredUser)).all() if u.is_admin),
            "deliveries": sorted(
                (d.id or 0, d.status, d.reason, d.due_at)
                for d in session.exec(select(Delivery)).all()
            ),
            "audit": len(session.exec(select(AuditEvent)).all()),
        }


async def _team(
    bot: BotHarness, sandbox: Sandbox, *, in_group: bool = True
) -> tuple[dict[str, User], Chat, str]:
    """Alice schedules in the Team group (or in private) and invites Bob and Carol (members).
    Gail is a Telegram administrator of the group but not in the meeting; Mallory is a group
    member who is not in it either; Dave only knows the bot; Fay is invited but blocked the bot.
    """
    people = {
        name.lower(): sandbox.create_user(name, username=name.lower())
        for name in ("Alice", "Bob", "Carol", "Dave", "Mallory", "Gail", "Fay")
    }
    members = [people[name] for name in ("alice", "bob", "carol", "mallory", "fay")]
    group = sandbox.create_group("Team", members=members, admins=[people["gail"]])
    for user in people.values():
        await bot.say(user, "/start")
    where = group if in_group else None
    preview = await bot.say(people["alice"], "/schedule Team sync | 2026-11-28 12:00 | 60m", where)
    await bot.tap(people["alice"], preview, "Confirm")
    with Session(bot.services_engine()) as session:
        code = session.exec(select(Meeting)).one().code
    await bot.say(people["alice"], f"/invite {code} @bob @carol @fay")
    sandbox.block_bot(people["fay"])
    await bot.settle()
    return people, group, code


# --- features ------------------------------------------------------------------------------


async def test_feature_defaults_and_personal_overrides_reach_the_tokens(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    people, _group, code = await _team(bot, sandbox)
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    before = _snapshot(bot)
    wrong = await bot.say(alice, f"/features {code} recording=on bogus=on")
    assert "Unknown feature “bogus”" in wrong.text
    assert all(name in wrong.text for name in FEATURES)
    wrong = await bot.say(alice, f"/features {code} recording=maybe")
    assert "recording=on or recording=off" in wrong.text
    wrong = await bot.say(alice, f"/features {code}")
    assert "at least one feature" in wrong.text
    assert _snapshot(bot) == before

    # A meeting default for everyone, and one person's own settings on top.
    reply = await bot.say(alice, f"/features {code} outbound-call=on")
    assert f"Features for everyone in {code}: outbound-call=on." in reply.text
    reply = await bot.say(alice, f"/features {code} @carol recording=on screen_sharing=off")
    assert f"Features for Carol in {code}: recording=on, screen-sharing=off." in reply.text
    assert "fresh link" not in reply.text  # no link went out yet
    meeting = _meeting(bot, code)
    assert meeting.feature_defaults == {"outbound-call": True}
    with Session(bot.services_engine()) as session:
        row = session.exec(select(Participant).where(Participant.user_id == carol.id)).one()
        assert row.features == {"recording": True, "screen-sharing": False}
    events = _audit(bot, "features")
    assert [(e.actor_id, e.target_user_id, e.detail) for e in events] == [
        (alice.id, None, "outbound-call=on"),
        (alice.id, carol.id, "recording=on screen-sharing=off"),
    ]

    await bot.reminders(timedelta(minutes=110))
    owner = _newestdecode_token(sandbox, alice)["context"]["features"]
    member = _newestdecode_token(sandbox, bob)["context"]["features"]
    personal = _newestdecode_token(sandbox, carol)["context"]["features"]
    # The full set in every token: a feature left out would be denied.
    assert set(owner) == set(member) == set(personal) == set(FEATURES)
    assert all(owner.values())
    assert member["screen-sharing"] is True
    assert member["recording"] is member["livestreaming"] is member["transcription"] is False
    assert member["outbound-call"] is True  # the meeting's default
    assert member["sip-outbound-call"] is False
    assert personal["recording"] is True and personal["screen-sharing"] is False
    assert personal["livestreaming"] is False and personal["outbound-call"] is True


# --- roles ---------------------------------------------------------------------------------


async def test_roles_by_name_and_by_reply_and_the_last_owner_stays(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    # Scheduled in private: no getChatMember per command (see the refusals test).
    people, group, code = await _team(bot, sandbox, in_group=False)
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    # The last owner cannot step down.
    before = _snapshot(bot)
    reply = await bot.say(alice, f"/demote {code} @alice")
    assert "needs at least one owner" in reply.text and "Promote someone else first" in reply.text
    assert _snapshot(bot) == before

    reply = await bot.say(alice, f"/role {code} @bob owner")
    assert f"Bob is now owner in {code}." in reply.text
    reply = await bot.say(alice, f"/role {code} @bob owner")
    assert f"Bob is already owner in {code}." in reply.text
    reply = await bot.say(alice, f"/demote {code} @bob")
    assert f"Bob is now member in {code}." in reply.text

    # By reply to the person's message.
    bob_says = sandbox.send_text(bob, "I can host if you like", group)
    reply = await bot.say(alice, f"/promote {code}", group, reply_to=bob_says)
    assert f"Bob is now owner in {code}." in reply.text
    reply = await bot.say(alice, f"/role {code} member", group, reply_to=bob_says)
    assert f"Bob is now member in {code}." in reply.text
    # A name written in the command beats the message it happens to answer.
    carol_says = sandbox.send_text(carol, "Bob should host", group)
    reply = await bot.say(alice, f"/promote {code} @bob", group, reply_to=carol_says)
    assert f"Bob is now owner in {code}." in reply.text
    assert _roles(bot, code)[carol.id] == "member"

    # Usage, unknown people and people outside the meeting.
    reply = await bot.say(alice, f"/role {code} @bob boss")
    assert "/role CODE @name owner|member" in reply.text
    reply = await bot.say(alice, f"/promote {code} @nobody")
    assert "I don't know @nobody yet" in reply.text
    reply = await bot.say(alice, f"/promote {code} @mallory")
    assert "not in meeting" in reply.text

    # With Bob as owner Alice may step down; then Bob is the last owner.
    reply = await bot.say(bob, f"/demote {code} @alice")
    assert f"Alice is now member in {code}." in reply.text
    reply = await bot.say(bob, f"/demote {code} @bob")
    assert "needs at least one owner" in reply.text
    assert _roles(bot, code) == {
        alice.id: "member",
        bob.id: "owner",
        carol.id: "member",
        people["fay"].id: "member",
    }
    events = [(e.actor_id, e.target_user_id, e.detail) for e in _audit(bot, "role")]
    assert events == [
        (alice.id, bob.id, "member -> owner"),
        (alice.id, bob.id, "owner -> member"),
        (alice.id, bob.id, "member -> owner"),
        (alice.id, bob.id, "owner -> member"),
        (alice.id, bob.id, "member -> owner"),
        (bob.id, alice.id, "owner -> member"),
    ]

    # /participants: role, reachability and whether the link went out.
    listing = await bot.say(alice, f"/participants {code}")
    lines = listing.text.splitlines()
    assert lines[0] == f"Participants of “Team sync” ({code}):"
    assert "• Bob — owner, no answer yet, reachable, link not sent yet" in lines
    assert "• Alice — member, going, reachable, link not sent yet" in lines
    assert "• Fay — member, no answer yet, can't be reached, link not sent yet" in lines


# --- who may -------------------------------------------------------------------------------


async def test_members_and_strangers_are_refused_and_nothing_changes(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    # A meeting from Alice's private chat: no Telegram admin check, so no getChatMember calls,
    # which count against the group's 20 requests a minute in the bot's rate limiter.
    people, group, code = await _team(bot, sandbox, in_group=False)
    bob, mallory = people["bob"], people["mallory"]
    before = _snapshot(bot)
    commands = (
        f"/role {code} @carol owner",
        f"/promote {code} @bob",
        f"/demote {code} @alice",
        f"/features {code} recording=on",
        f"/features {code} @bob livestreaming=on",
        f"/rotate {code}",
        f"/history {code}",
        f"/cancel {code}",
    )
    for user in (bob, mallory):
        for command in commands:
            reply = await bot.say(user, command)
            assert f"{REFUSED} for {code}." in reply.text, (user.first_name, command)
    reply = await bot.say(mallory, f"/promote {code} @mallory", group)
    assert REFUSED in reply.text
    reply = await bot.say(mallory, f"/participants {code}")
    assert REFUSED in reply.text
    # Members may see who else comes, but not change anything.
    reply = await bot.say(bob, f"/participants {code}")
    assert "• Alice — owner" in reply.text
    for command in ("/admin list", "/admin add @mallory", "/admin remove @root"):
        reply = await bot.say(mallory, command)
        assert "Only the bot's admins can change admins." in reply.text
    assert _snapshot(bot) == before


async def test_group_administrators_may_manage_the_groups_meetings_checked_each_time(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    people, group, code = await _team(bot, sandbox)
    alice, carol, gail = people["alice"], people["carol"], people["gail"]
    # Gail is no participant, but administers the group the meeting was scheduled in.
    reply = await bot.say(gail, f"/promote {code} @carol", group)
    assert f"Carol is now owner in {code}." in reply.text
    assert _roles(bot, code)[carol.id] == "owner"
    reply = await bot.say(gail, f"/features {code} recording=on")  # from her private chat
    assert f"Features for everyone in {code}" in reply.text
    reply = await bot.say(gail, f"/history {code}")
    assert f"Latest changes to {code}:" in reply.text
    # A meeting from Alice's private chat belongs to no group: Gail has no say there.
    preview = await bot.say(alice, "/schedule Private chat | 2026-11-29 12:00")
    await bot.tap(alice, preview, "Confirm")
    with Session(bot.services_engine()) as session:
        private_code = session.exec(select(Meeting).where(Meeting.chat_id == None)).one().code  # noqa: E711
    await bot.say(alice, f"/invite {private_code} @carol")
    reply = await bot.say(gail, f"/promote {private_code} @carol")
    assert f"{REFUSED} for {private_code}." in reply.text

    # Rights are looked up when the command comes: no longer an administrator, no longer allowed.
    sandbox.add_member(group, gail, admin=False)
    before = _snapshot(bot)
    reply = await bot.say(gail, f"/demote {code} @carol", group)
    assert REFUSED in reply.text
    reply = await bot.say(gail, f"/rotate {code}")
    assert REFUSED in reply.text
    assert _snapshot(bot) == before
    sandbox.add_member(group, gail, admin=True)
    reply = await bot.say(gail, f"/demote {code} @carol", group)
    assert f"Carol is now member in {code}." in reply.text
    assert _roles(bot, code)[carol.id] == "member"
    assert [e.actor_id for e in _audit(bot, "role")] == [gail.id, gail.id]


async def test_bot_admins_from_settings_and_by_command(
    bot: BotHarness, sandbox: Sandbox, root: User
) -> None:
    people, _group, code = await _team(bot, sandbox)
    alice, bob, dave = people["alice"], people["bob"], people["dave"]
    await bot.say(root, "/start")
    listing = await bot.say(root, "/admin list")
    assert listing.text.splitlines() == ["Bot admins:", "• Root (from ADMIN_IDS)"]
    reply = await bot.say(root, "/admin add @dave")
    assert "Dave is now a bot admin." in reply.text
    reply = await bot.say(root, "/admin remove @root")
    assert "ADMIN_IDS" in reply.text and "no longer" not in reply.text
    reply = await bot.say(root, "/admin promote @dave")
    assert "/admin add @name" in reply.text
    reply = await bot.say(root, "/admin add @nobody")
    assert "I don't know @nobody yet" in reply.text
    [added] = _audit(bot, "admin-add")
    assert (added.actor_id, added.target_user_id, added.meeting_id) == (root.id, dave.id, None)

    # Kept in the database: still an admin after a restart.
    await bot.restart()
    listing = await bot.say(dave, "/admin list")
    assert "• Root (from ADMIN_IDS)" in listing.text
    assert "• Dave (added by command)" in listing.text
    reply = await bot.say(dave, "/admin add @gail")  # admins added by command may add others
    assert "Gail is now a bot admin." in reply.text

    # Admins act on meetings they are not in.
    reply = await bot.say(dave, f"/promote {code} @bob")
    assert f"Bob is now owner in {code}." in reply.text
    reply = await bot.say(root, f"/features {code} @bob recording=off")
    assert f"Features for Bob in {code}: recording=off." in reply.text
    reply = await bot.say(root, f"/history {code}")
    assert "Dave role Bob member -> owner" in reply.text

    # Removed again: the meeting is out of reach, and an admin can cancel Alice's meeting.
    reply = await bot.say(root, "/admin remove @dave")
    assert "Dave is no longer a bot admin." in reply.text
    before = _snapshot(bot)
    reply = await bot.say(dave, f"/demote {code} @bob")
    assert REFUSED in reply.text
    reply = await bot.say(dave, "/admin add @dave")
    assert "Only the bot's admins can change admins." in reply.text
    assert _snapshot(bot) == before
    reply = await bot.say(root, f"/cancel {code}")
    assert "Cancelled" in reply.text
    assert _meeting(bot, code).status == "cancelled"
    await sandbox.wait_for_message(alice, contains="Cancelled")
    assert bob.id in _roles(bot, code)
    assert [e.action for e in _audit(bot)][-4:] == ["role", "features", "admin-remove", "cancel"]


# --- history -------------------------------------------------------------------------------


async def test_history_shows_the_latest_twenty_to_owners_and_admins(
    bot: BotHarness, sandbox: Sandbox, root: User
) -> None:
    people, _group, code = await _team(bot, sandbox)
    alice, carol = people["alice"], people["carol"]
    meeting = _meeting(bot, code)
    # An older past: 25 earlier changes.
    with session_scope(bot.services_engine()) as session:
        for number in range(25):
            session.add(
                AuditEvent(
                    meeting_id=meeting.id,
                    actor_id=alice.id,
                    action="seed",
                    detail=f"old-{number:02d}",
                    at=bot.clock() - timedelta(hours=30 - number),
                )
            )
    await bot.say(alice, f"/promote {code} @carol")
    await bot.say(alice, f"/features {code} recording=on")
    await bot.say(alice, f"/rotate {code}")
    history = await bot.say(alice, f"/history {code}")
    lines = history.text.splitlines()
    assert lines[0] == f"Latest changes to {code}:"
    assert len(lines) == 21
    assert "Alice rotate" in lines[1]
    assert "Alice features recording=on" in lines[2]
    assert "Alice role Carol member -> owner" in lines[3]
    assert "Alice join Fay member" in lines[4] and "Alice schedule Team sync" in lines[7]
    assert "old-24" in lines[8] and "old-12" in lines[20]
    assert "old-11" not in history.text
    # Owners (Carol, promoted) and admins see it; members and strangers do not.
    assert (await bot.say(carol, f"/history {code}")).text == history.text
    assert f"Latest changes to {code}:" in (await bot.say(root, f"/history {code}")).text
    for user in (people["bob"], people["mallory"]):
        reply = await bot.say(user, f"/history {code}")
        assert REFUSED in reply.text and "old-" not in reply.text


# --- changes after the links went out ------------------------------------------------------


async def test_changes_after_the_links_send_fresh_links_and_rotate_moves_the_room(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    people, _group, code = await _team(bot, sandbox)
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    await bot.reminders(timedelta(minutes=110))
    old_room = _meeting(bot, code).room
    assert [len(_links(sandbox, user)) for user in (alice, bob, carol)] == [1, 1, 1]
    listing = await bot.say(alice, f"/participants {code}")
    assert "• Carol — member, no answer yet, reachable, link sent" in listing.text
    assert "• Fay — member, no answer yet, can't be reached, link not sent yet" in listing.text

    # A new role: Bob gets an owner link, and is told the old one still works.
    reply = await bot.say(alice, f"/promote {code} @bob")
    assert f"Bob is now owner in {code}." in reply.text
    await bot.reminders()
    [_first, (room, token)] = _links(sandbox, bob)
    assert room == old_room
    user = decode_token(token)["context"]["user"]
    assert user["affiliation"] == "owner" and user["moderator"] is True
    notice = next(m for m in reversed(sandbox.inbox(bob)) if "jwt=" in m.text)
    assert "Your rights in “Team sync” changed" in notice.text
    assert "Your previous link keeps working until it expires" in notice.text
    assert [len(_links(sandbox, user)) for user in (alice, carol)] == [1, 1]

    # One person's features: only Carol's link is renewed, and Alice hears the old one lives on.
    reply = await bot.say(alice, f"/features {code} @carol recording=on")
    assert "1 person gets a fresh link" in reply.text
    assert "Old links keep working until they expire" in reply.text
    assert f"/rotate {code}" in reply.text
    await bot.reminders()
    [(_, old_token), (_, new_token)] = _links(sandbox, carol)
    assert decode_token(old_token)["context"]["features"]["recording"] is False
    assert decode_token(new_token)["context"]["features"]["recording"] is True
    assert decode_token(new_token)["context"]["user"]["affiliation"] == "member"
    assert [len(_links(sandbox, user)) for user in (alice, bob)] == [1, 2]

    # A demotion after the links: the owner link is replaced by a member link.
    await bot.say(alice, f"/demote {code} @bob", expect="now member")
    await bot.reminders()
    assert _newestdecode_token(sandbox, bob)["context"]["user"]["affiliation"] == "member"

    # /rotate: a new room, and everyone who had a link gets one for it.
    # Alice's own fresh link may arrive before the reply: wait for the reply itself.
    reply = await bot.say(alice, f"/rotate {code}", expect="has a new room")
    assert f"{code} has a new room" in reply.text and "3 fresh links go out" in reply.text
    await bot.reminders()
    new_room = _meeting(bot, code).room
    assert new_room != old_room
    for person, affiliation, count in (
        (alice, "owner", 2),
        (bob, "member", 4),
        (carol, "member", 3),
    ):
        assert len(_links(sandbox, person)) == count
        claims = _newestdecode_token(sandbox, person)
        assert claims["room"] == new_room
        assert claims["context"]["user"]["affiliation"] == affiliation
        notice = next(m for m in reversed(sandbox.inbox(person)) if "jwt=" in m.text)
        assert "moved to a new room" in notice.text
    assert _newestdecode_token(sandbox, carol)["context"]["features"]["recording"] is True
    assert _links(sandbox, people["fay"]) == []
    assert [e.action for e in _audit(bot)][-4:] == ["role", "features", "role", "rotate"]
    # Another sweep sends nothing more.
    await bot.reminders(timedelta(minutes=1))
    assert len(_links(sandbox, alice)) == 2


# --- words that name nobody ----------------------------------------------------------------


async def test_numbers_and_words_that_name_nobody_get_one_refusal_and_change_nothing(
    bot: BotHarness, sandbox: Sandbox, root: User
) -> None:
    people, _group, code = await _team(bot, sandbox, in_group=False)
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    await bot.say(root, "/start")
    before = _snapshot(bot)
    roles_before = await bot.say(alice, f"/participants {code}")
    promote = "Write /promote CODE @name or /demote CODE @name"
    features = "Write /features CODE [@name] recording=on"
    admin = "Write /admin add @name, /admin remove @name or /admin list."
    for user, command, word, usage in (
        # Too big for the database's user ids, a Unicode digit, a negative number.
        (alice, f"/promote {code} 99999999999999999999999", "99999999999999999999999", promote),
        (alice, f"/promote {code} ²", "²", promote),
        (alice, f"/demote {code} -1", "-1", promote),
        (alice, f"/role {code} 99999999999999999999999 owner", "99999999999999999999999", None),
        (alice, f"/features {code} 99999999999999999999 recording=on", "99999999999999", features),
        (root, "/admin add 99999999999999999999999", "99999999999999999999999", admin),
        (root, "/admin add ²", "²", admin),
        # A name without @ is a person too: never a silent meeting-wide change.
        (alice, f"/features {code} mia recording=on", "mia", features),
        (alice, f"/features {code} recording=on -1", "-1", features),
    ):
        sent_before = len(sandbox.inbox(user))
        reply = await bot.say(user, command)
        assert f"I don't know who “{word}" in reply.text, command
        assert usage is None or usage in reply.text, command
        assert len(sandbox.inbox(user)) == sent_before + 1, command
    # Two people where one is meant: neither is dropped in silence.
    reply = await bot.say(alice, f"/promote {code} @bob @carol")
    assert "Name one person at a time." in reply.text and promote in reply.text
    reply = await bot.say(alice, f"/features {code} bob @carol recording=on")
    assert "Name one person at a time." in reply.text
    assert _snapshot(bot) == before
    assert (await bot.say(alice, f"/participants {code}")).text == roles_before.text

    # A known username with or without @, or a Telegram user id, still names the person.
    reply = await bot.say(alice, f"/features {code} carol recording=on")
    assert f"Features for Carol in {code}: recording=on." in reply.text
    assert _meeting(bot, code).feature_defaults == {}
    reply = await bot.say(alice, f"/promote {code} {bob.id}")
    assert f"Bob is now owner in {code}." in reply.text
    reply = await bot.say(alice, f"/demote {code} BOB")
    assert f"Bob is now member in {code}." in reply.text
    assert _roles(bot, code)[carol.id] == _roles(bot, code)[bob.id] == "member"


async def test_role_words_in_the_readers_language_as_help_shows_them(
    bot: BotHarness, sandbox: Sandbox
) -> None:
    people, _group, code = await _team(bot, sandbox, in_group=False)
    alice, bob = people["alice"], people["bob"]
    await bot.say(alice, "/language de")
    with use_language("de"):
        owner, member = role_name(Role.OWNER), role_name(Role.MEMBER)
    assert (owner, member) != ("owner", "member")  # the German catalog translates them
    shown = await bot.say(alice, "/help")
    assert f"/role CODE @name {owner}|{member}" in shown.text
    usage = await bot.say(alice, f"/role {code} @bob boss")
    assert f"/role CODE @name {owner}|{member}" in usage.text
    await bot.say(alice, f"/role {code} @bob {owner.upper()}")
    assert _roles(bot, code)[bob.id] == "owner"
    await bot.say(alice, f"/role {code} @bob {member}")
    assert _roles(bot, code)[bob.id] == "member"
    # The English words work in every language.
    await bot.say(alice, f"/role {code} @bob Owner")
    assert _roles(bot, code)[bob.id] == "owner"
    # Two different roles in one command is no choice.
    before = _snapshot(bot)
    usage = await bot.say(alice, f"/role {code} @bob {member} owner")
    assert f"/role CODE @name {owner}|{member}" in usage.text
    assert _snapshot(bot) == before


# --- forged buttons ------------------------------------------------------------------------


async def test_forged_buttons_change_nothing(bot: BotHarness, sandbox: Sandbox) -> None:
    people, group, code = await _team(bot, sandbox)
    alice, bob, mallory = people["alice"], people["bob"], people["mallory"]
    announcement = next(m for m in sandbox.chat_messages(group) if code in m.text)
    before = _snapshot(bot)
    for user, message in (
        (bob, bot.newest(bob)),
        (mallory, bot.newest(mallory)),
        (mallory, announcement),
        (bob, announcement),
    ):
        answer = await bot.tap(user, message, data=f"mt:c:{code}")
        assert REFUSED in (answer.text or ""), user.first_name
    answer = await bot.tap(mallory, announcement, data=f"mt:x:{code}")
    assert "You are not in meeting" in (answer.text or "")
    answer = await bot.tap(mallory, bot.newest(mallory), data=f"mt:i:{code}")
    assert "not for you" in (answer.text or "")
    answer = await bot.tap(mallory, bot.newest(mallory), data=f"mt:c:{code}:extra")
    assert "not for you" in (answer.text or "")
    # The only owner cannot leave by a button either.
    answer = await bot.tap(alice, bot.newest(alice), data=f"mt:x:{code}")
    assert "only owner" in (answer.text or "")
    assert _snapshot(bot) == before
    assert _meeting(bot, code).status == "scheduled"
