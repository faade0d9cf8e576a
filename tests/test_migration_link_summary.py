"""Upgrading to durable link summaries while a sitting is on: no second summary, and the group
note already posted keeps being edited instead of posted again."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import text
from sqlmodel import Session, select

from storage.db import alembic_config, make_engine
from storage.models import LinkSummary


def test_summaries_already_out_become_sent_rows(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/upgrade.db")
    config = alembic_config(engine)
    command.upgrade(config, "0004-1")
    with engine.begin() as connection:
        # A group meeting whose summary and note (message 42) went out before the upgrade,
        # and one whose links have not gone out yet.
        for number, (summary, message) in enumerate(
            [("'2026-11-28 12:00:00.000000'", 42), ("NULL", "NULL")], 1
        ):
            connection.execute(
                text(
                    "INSERT INTO meeting (id, code, title, room, starts_at, ends_at, zone, chat_id,"
                    " link_message_id, summary_occurrence, ics_sequence, organizer_id, status,"
                    " remind_before_minutes, feature_defaults, version, created_at) VALUES"
                    f" ({number}, 'CODE{number}', 'Sync', 'sync', '2026-11-28 12:00:00.000000',"
                    " '2026-11-28 13:00:00.000000', 'UTC', -100, "
                    f"{message}, {summary}, 0, 7, 'SCHEDULED', 10, '{{}}', 1,"
                    " '2026-11-28 10:00:00.000000')"
                )
            )
    command.upgrade(config, "head")
    with Session(engine) as session:
        rows = session.exec(select(LinkSummary).order_by(LinkSummary.kind)).all()
    assert [(row.meeting_id, row.kind, row.status) for row in rows] == [
        (1, "group", "sent"),
        (1, "organizer", "sent"),
    ]
    assert (rows[0].chat_id, rows[0].message_id) == (-100, 42)
    assert rows[0].occurrence_start.isoformat() == "2026-11-28T12:00:00+00:00"
    engine.dispose()
