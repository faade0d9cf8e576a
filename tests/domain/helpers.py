"""What the domain tests share: one moment, the rules, four people, a database, a meeting."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from bot.domain import participation, people, scheduling
from bot.domain.scheduling import Draft
from bot.domain.values import Actor, Rules
from storage.db import make_engine, upgrade_database
from storage.models import Meeting
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


@contextmanager
def domain_session(folder: Path) -> Iterator[Session]:
    """A session on a fresh, migrated database that knows the four people."""
    # TEST_DATABASE_URL runs these rules on another database (e.g. an empty PostgreSQL one).
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{folder}/domain.db"
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


def make_meeting(session: Session, *, chat_id: int | None = GROUP, hours: float = 2) -> Meeting:
    """An hour-long meeting starting in `hours`, planned by the owner, with the member invited."""
    start = NOW + timedelta(hours=hours)
    draft = Draft(title="Sync", starts_at=start, ends_at=start + timedelta(hours=1), zone="UTC")
    meeting = scheduling.create_meeting(
        session, draft=draft, organizer_id=OWNER, chat_id=chat_id, rules=RULES, now=NOW
    )
    participation.invite(
        session, meeting=meeting, actor=Actor(OWNER), user_ids=[MEMBER], usernames=[], now=NOW
    )
    return meeting
