"""Domain rules of bot/meetings.py, on a real SQLite file, without Telegram."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from bot.delivery import planning
from bot.domain import access, chats, deep_links, links, participation, people, roles, scheduling
from bot.domain.scheduling import Draft
from bot.domain.values import Actor, Rules
from bot.errors import DomainError, InvalidInput, NotAllowed, NotFound
from bot.jitsi import Role
from storage.db import make_engine, upgrade_database
from storage.models import Delivery, DeliveryStatus, Meeting, MeetingStatus, User
from tests.helpers import reset_database

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
RULES = Rules(
    remind_before=timedelta(minutes=10),
    join_early=timedelta(minutes=15),
    token_grace=timedelta(minutes=60),
    default_zone="UTC",
    admin_ids=frozenset({900}),
)
OWNER, MEMBER, STRANGER, GROUP_ADMIN = 1, 2, 3, 4
GROUP = -100123


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    # TEST_DATABASE_URL runs these rules on another database (e.g. an empty PostgreSQL one).
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path}/domain.db"
    if not url.startswith("sqlite"):
        reset_database(url)
    engine = make_engine(url)
    upgrade_database(engine)
    with Session(engine, expire_on_commit=False) as session:
        for user_id, name in (
            (OWNER, "Olga"),
            (MEMBER, "Max"),
            (STRANGER, "Sam"),
            (GROUP_ADMIN, "Gus"),
        ):
            people.remember_user(
                session, user_id=user_id, username=name.lower() + "x", display_name=name,
                telegram_language="en", started=True,
            )  # fmt: skip
        yield session
    engine.dispose()


def _meeting(session: Session, *, chat_id: int | None = GROUP, hours: float = 2) -> Meeting:
    start = NOW + timedelta(hours=hours)
    draft = Draft(title="Sync", starts_at=start, ends_at=start + timedelta(hours=1), zone="UTC")
    meeting = scheduling.create_meeting(
        session, draft=draft, organizer_id=OWNER, chat_id=chat_id, rules=RULES, now=NOW
    )
    participation.invite(
        session, meeting=meeting, actor=Actor(OWNER), user_ids=[MEMBER], usernames=[], now=NOW
    )
    return meeting


def test_create_makes_organizer_owner_and_plans_reminders(session: Session) -> None:
    meeting = _meeting(session)
    assert access.participant_role(session, meeting, OWNER) is Role.OWNER
    assert access.participant_role(session, meeting, MEMBER) is Role.MEMBER
    rows = session.exec(select(Delivery)).all()
    assert {row.user_id for row in rows} == {OWNER, MEMBER}
    assert all(row.due_at == meeting.starts_at - timedelta(minutes=10) for row in rows)
    assert len(meeting.code) == 6 and meeting.code.isalnum()


def test_who_may_manage(session: Session) -> None:
    meeting = _meeting(session)
    assert access.may_manage(session, meeting, Actor(OWNER))
    assert access.may_manage(session, meeting, Actor(900, is_bot_admin=True))
    assert access.may_manage(session, meeting, Actor(GROUP_ADMIN, admin_of_chat=GROUP))
    assert not access.may_manage(session, meeting, Actor(GROUP_ADMIN, admin_of_chat=-5))
    assert not access.may_manage(session, meeting, Actor(MEMBER))
    assert not access.may_manage(session, meeting, Actor(STRANGER))
    private = _meeting(session, chat_id=None)
    assert not access.may_manage(session, private, Actor(GROUP_ADMIN, admin_of_chat=GROUP))


def test_members_cannot_invite_cancel_or_reschedule(session: Session) -> None:
    meeting = _meeting(session)
    with pytest.raises(NotAllowed):
        participation.invite(
            session,
            meeting=meeting,
            actor=Actor(MEMBER),
            user_ids=[STRANGER],
            usernames=[],
            now=NOW,
        )
    with pytest.raises(NotAllowed):
        scheduling.cancel_meeting(session, meeting=meeting, actor=Actor(MEMBER), now=NOW)
    draft = Draft("Sync", NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1), "UTC")
    with pytest.raises(NotAllowed):
        scheduling.reschedule(
            session, meeting=meeting, actor=Actor(STRANGER), draft=draft, now=NOW
        )
    assert meeting.status is MeetingStatus.SCHEDULED


def test_unknown_username_waits_until_that_person_starts(session: Session) -> None:
    meeting = _meeting(session)
    result = participation.invite(
        session, meeting=meeting, actor=Actor(OWNER), user_ids=[], usernames=["newbie"], now=NOW
    )
    assert result.pending == ["newbie"] and result.unreachable == ["@newbie"]
    newbie = people.remember_user(
        session, user_id=77, username="Newbie", display_name="N", telegram_language=None,
        started=True,
    )  # fmt: skip
    assert [m.id for m in people.claim_pending_invites(session, user=newbie, now=NOW)] == [
        meeting.id
    ]
    assert access.participant_role(session, meeting, 77) is Role.MEMBER


def test_last_owner_cannot_leave_or_be_demoted(session: Session) -> None:
    meeting = _meeting(session)
    with pytest.raises(InvalidInput, match="only owner"):
        participation.leave(session, meeting=meeting, user_id=OWNER, now=NOW)
    with pytest.raises(InvalidInput, match="Promote someone else"):
        roles.set_role(
            session, meeting=meeting, actor=Actor(OWNER), target_user_id=OWNER,
            role=Role.MEMBER, now=NOW,
        )  # fmt: skip
    roles.set_role(
        session, meeting=meeting, actor=Actor(OWNER), target_user_id=MEMBER,
        role=Role.OWNER, now=NOW,
    )  # fmt: skip
    participation.leave(session, meeting=meeting, user_id=OWNER, now=NOW)
    assert access.participant_role(session, meeting, OWNER) is None


def test_cancel_stops_pending_deliveries(session: Session) -> None:
    meeting = _meeting(session)
    scheduling.cancel_meeting(session, meeting=meeting, actor=Actor(OWNER), now=NOW)
    statuses = {row.status for row in session.exec(select(Delivery)).all()}
    assert statuses == {DeliveryStatus.CANCELLED}
    with pytest.raises(InvalidInput, match="cancelled"):
        participation.join(session, meeting=meeting, user_id=STRANGER, now=NOW)


def test_late_invite_is_due_now(session: Session) -> None:
    meeting = _meeting(session, hours=0.1)  # starts in 6 minutes: reminder time has passed
    later = NOW + timedelta(minutes=5)
    participation.join(session, meeting=meeting, user_id=STRANGER, now=later)
    row = session.exec(select(Delivery).where(Delivery.user_id == STRANGER)).one()
    assert row.due_at == later


def test_link_window(session: Session) -> None:
    from bot.config import token_signer
    from tests.helpers import make_settings

    signer = token_signer(make_settings())
    meeting = _meeting(session)
    early = links.request_link(
        session, signer=signer, meeting=meeting, user_id=MEMBER, rules=RULES, now=NOW
    )
    assert early.link is None and early.opens == meeting.starts_at - timedelta(minutes=15)
    ready = links.request_link(
        session, signer=signer, meeting=meeting, user_id=MEMBER, rules=RULES, now=early.opens
    )
    assert ready.link is not None and "?jwt=" in ready.link
    with pytest.raises(NotAllowed):
        links.request_link(
            session, signer=signer, meeting=meeting, user_id=STRANGER, rules=RULES, now=early.opens
        )


def test_requeue_after_unblock(session: Session) -> None:
    meeting = _meeting(session)
    row = session.exec(select(Delivery).where(Delivery.user_id == MEMBER)).one()
    row.status = DeliveryStatus.UNREACHABLE
    session.add(row)
    assert planning.requeue_unreachable(session, user_id=MEMBER, now=NOW) == 1
    assert row.status is DeliveryStatus.PENDING and row.due_at == NOW
    assert meeting.id is not None


def test_feature_changes() -> None:
    assert roles.parse_feature_changes(["recording=on", "Screen_Sharing=off"]) == {
        "recording": True,
        "screen-sharing": False,
    }
    with pytest.raises(InvalidInput, match="livestreaming"):
        roles.parse_feature_changes(["teleport=on"])
    with pytest.raises(InvalidInput):
        roles.parse_feature_changes(["recording=maybe"])
    with pytest.raises(InvalidInput):
        roles.parse_feature_changes([])


def test_settings_of_a_person(session: Session) -> None:
    assert people.set_timezone(session, user_id=MEMBER, query="berlin") == "Europe/Berlin"
    with pytest.raises(InvalidInput, match="Try one of"):
        people.set_timezone(session, user_id=MEMBER, query="Atlantis")
    assert people.set_email(session, user_id=MEMBER, text="max@example.com") == "max@example.com"
    with pytest.raises(InvalidInput):
        people.set_email(session, user_id=MEMBER, text="max@")
    assert people.set_email(session, user_id=MEMBER, text="off") is None
    user = session.get(User, MEMBER)
    assert user is not None and user.timezone == "Europe/Berlin" and user.email is None


def test_deep_links_are_random_and_reused(session: Session) -> None:
    meeting = _meeting(session)
    token = deep_links.deep_link(session, meeting=meeting, kind="join", now=NOW)
    assert token == deep_links.deep_link(session, meeting=meeting, kind="join", now=NOW)
    assert len(token) >= 16 and token != str(meeting.id) and meeting.code not in token
    assert deep_links.resolve_deep_link(session, token) == ("join", meeting)
    with pytest.raises(NotFound):
        deep_links.resolve_deep_link(session, "guess")


@settings(max_examples=150, deadline=None)
@given(title=st.text(max_size=300), when=st.text(max_size=80), duration=st.text(max_size=20))
def test_drafts_refuse_anything_odd_with_a_domain_error(
    title: str, when: str, duration: str
) -> None:
    try:
        draft = scheduling.make_draft(
            title=title,
            when=when,
            duration=duration,
            zone="Europe/Berlin",
            languages=["en"],
            now=NOW,
        )
    except DomainError as error:
        assert str(error)
        return
    assert 0 < len(draft.title) <= 200
    assert NOW <= draft.starts_at < draft.ends_at <= draft.starts_at + timedelta(hours=24)


def test_meetings_follow_a_group_upgraded_to_a_supergroup(session: Session) -> None:
    meeting = _meeting(session)
    chats.set_chat_language(session, chat_id=GROUP, title="Team", language="de")
    assert chats.move_chat(session, old_chat_id=GROUP, new_chat_id=-1009999) == 1
    assert meeting.chat_id == -1009999
    assert chats.chat_language(session, chat_id=-1009999) == "de"
    assert access.may_manage(session, meeting, Actor(GROUP_ADMIN, admin_of_chat=-1009999))
