"""Odd, long and hostile input to every command: one short reply, no crash, nothing changed."""

from __future__ import annotations

import random

from sqlalchemy import func
from sqlmodel import Session, select

from bot.sandbox import Sandbox
from storage.models import AuditEvent, Delivery, Meeting, Participant
from tests.conftest import BotHarness

COMMANDS = [
    "schedule", "reschedule", "invite", "link", "cancel", "timezone", "language", "email",
    "role", "promote", "demote", "participants", "features", "history", "rotate", "admin",
    "skip", "move",
]  # fmt: skip
PIECES = [
    "", " ", "|", "||", "| |", "@", "@@x", "@nobody_here", "0", "-1", "99999999999999999999",
    "ABC234", "abc234", "<b>", "</i>", "&amp;", "\u202e", "\u200b", "🎉", "👨‍👩‍👧", "Привет",
    "مرحبا", "\x00", "\\", "'", '"', "%s", "{name}", "{0}", "=", "recording=", "x=on",
    "tomorrow", "25:61", "2026-02-30 10:00", "in -3 hours", "every", "every 0 weeks",
    "owner", "member", "on", "off", "http://x", "a" * 300, "9" * 70, "\n",
    "²", "٣", "99999999999999999999999", "mia", "Gastgeber",
]  # fmt: skip


def _hostile_arguments(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(PIECES) for _ in range(rng.randint(1, 6))).strip()[:3000]
        for _ in range(count)
    ]


def _counts(bot: BotHarness) -> tuple[int, ...]:
    with Session(bot.services.engine) as session:
        return tuple(
            session.exec(select(func.count()).select_from(table)).one()
            for table in (Meeting, Participant, Delivery, AuditEvent)
        )


async def test_every_command_survives_hostile_arguments(bot: BotHarness, sandbox: Sandbox) -> None:
    mallory = sandbox.create_user("Mallory", username="mallory")
    await bot.say(mallory, "/start")
    before = _counts(bot)
    for index, command in enumerate(COMMANDS):
        for argument in _hostile_arguments(index, 4):
            text = f"/{command} {argument}".strip()
            sent_before = len(sandbox.inbox(mallory))
            reply = await bot.say(mallory, text)
            assert 0 < len(reply.text) <= 4096
            assert "jwt=" not in reply.text
            await bot.settle()
            # Exactly one answer per command.
            assert len(sandbox.inbox(mallory)) == sent_before + 1, text
    assert _counts(bot) == before
    # The bot still works afterwards.
    assert "Hello" in (await bot.say(mallory, "/start")).text


async def test_forged_buttons_change_nothing(bot: BotHarness, sandbox: Sandbox) -> None:
    alice = sandbox.create_user("Alice", username="alice")
    mallory = sandbox.create_user("Mallory", username="mallory")
    await bot.say(alice, "/start")
    await bot.say(mallory, "/start")
    preview = await bot.say(alice, "/schedule Board | tomorrow 11:00")
    await bot.tap(alice, preview, "Confirm")
    with Session(bot.services.engine) as session:
        code = session.exec(select(Meeting)).one().code
    before = _counts(bot)
    not_yours = "This preview is not yours or has expired"
    not_for_you = "This button is not for you."
    closed = "This question is closed."
    # Each forged press gets the refusal its kind of button gives (by prefix), or the
    # catch-all; the /meetings pager shows the first page instead (None: a silent answer).
    expected = {
        f"mt:c:{code}": "Only the meeting's owners",
        f"mt:x:{code}": "You are not in meeting",
        f"mt:i:{code}": not_for_you,
        f"mt:l:{code}": "You are not in meeting",
        f"ic:{code}": not_for_you,
        f"jn:{code}": not_for_you,
        f"dc:{code}": "You are not in meeting",
        "cf:x": not_yours, "ch:": not_yours, "cx:a b": not_yours, "sc:zz": not_yours,
        "sx:zz": not_yours, "": not_yours,
        "du:999": closed, "du:²": closed, "du:45": closed,
        "pg:-5": None, "pg:abc": None, "pg:²": None, "pg:" + "9" * 30: None,
        "ip:a:b": not_for_you, "mt:c": not_for_you, "mt::::": not_for_you,
        f"mt:c:{code}:extra": not_for_you, "mt:z:AAAAAA": not_for_you,
        "jn:a b": not_for_you, "ic:": not_for_you, "dc:!!": not_for_you,
        "dx": closed, "dx:1": closed, "rs:x": "This button is no longer valid.",
        "x" * 64: "This button is no longer valid.",
    }  # fmt: skip
    for data, refusal in expected.items():
        answer = await bot.tap(mallory, preview, data=data)
        if refusal is None:
            assert answer.text is None, data
        else:
            assert refusal in (answer.text or ""), data
    assert _counts(bot) == before
    with Session(bot.services.engine) as session:
        assert session.exec(select(Meeting)).one().status == "scheduled"
