"""Which bot processes run on a database, and when each last finished a delivery sweep.

A process is known by its host name and process id. In a container the host name is the
container's, so `python -m bot healthcheck` run inside it (docker's HEALTHCHECK) reads the
heartbeat of the bot beside it.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, or_, text, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlmodel import Session, col, select

from storage.db import make_engine, session_scope
from storage.models import Heartbeat

# A process heard of within this long is taken to be running; the sweep runs every minute.
ALIVE = timedelta(minutes=2)
# Processes not heard of for this long are forgotten.
FORGET = timedelta(days=1)


@dataclass(frozen=True)
class Process:
    """One bot process: where it runs."""

    host: str
    pid: int

    def __str__(self) -> str:
        return f"{self.host} (pid {self.pid})"


def this_process() -> Process:
    """The process calling."""
    return Process(socket.gethostname(), os.getpid())


def record_start(engine: Engine, now: datetime) -> None:
    """Note that this process has started; forget processes of this host that are gone."""
    me = this_process()
    with session_scope(engine) as session:
        session.execute(
            delete(Heartbeat).where(
                or_(
                    col(Heartbeat.started_at) < now - FORGET,
                    col(Heartbeat.swept_at) < now - FORGET,
                )
            )
        )
        for row in session.exec(select(Heartbeat).where(Heartbeat.host == me.host)).all():
            if row.pid == me.pid or not _is_running(row.pid):
                session.delete(row)
        session.flush()
        session.add(Heartbeat(host=me.host, pid=me.pid, started_at=now))


def record_sweep(engine: Engine, now: datetime) -> None:
    """Note that this process has just finished a delivery sweep."""
    me = this_process()
    with session_scope(engine) as session:
        result = session.execute(
            update(Heartbeat)
            .where(col(Heartbeat.host) == me.host, col(Heartbeat.pid) == me.pid)
            .values(swept_at=now)
        )
        if not getattr(result, "rowcount", 0):
            # Forgotten meanwhile (say, by a copy of the database): here again.
            session.add(Heartbeat(host=me.host, pid=me.pid, started_at=now, swept_at=now))


def others_running(engine: Engine, now: datetime) -> list[Process]:
    """Other bot processes on this database that are still running, as far as one can tell:
    heard of lately, and on this host only if their process id is still alive."""
    me = this_process()
    with Session(engine) as session:
        rows = session.exec(
            select(Heartbeat).where(
                or_(
                    col(Heartbeat.started_at) >= now - ALIVE,
                    col(Heartbeat.swept_at) >= now - ALIVE,
                )
            )
        ).all()
    return [
        Process(row.host, row.pid)
        for row in rows
        if (row.host, row.pid) != (me.host, me.pid)
        and (row.host != me.host or _is_running(row.pid))
    ]


def last_sweep(engine: Engine, host: str) -> datetime | None:
    """When a bot process on `host` last finished a delivery sweep (None: never)."""
    with Session(engine) as session:
        return session.exec(
            select(Heartbeat.swept_at)
            .where(Heartbeat.host == host, col(Heartbeat.swept_at).is_not(None))
            .order_by(col(Heartbeat.swept_at).desc())
            .limit(1)
        ).first()


def check_health(
    database_url: str, max_age: timedelta, now: datetime | None = None
) -> tuple[bool, str]:
    """Whether the database answers and a bot on this host swept within `max_age`; and why."""
    host = this_process().host
    try:
        url = make_url(database_url)
    except ArgumentError as error:
        return False, f"DATABASE_URL: {error}"
    path = url.database or ""
    if url.get_backend_name() == "sqlite" and path != ":memory:" and not Path(path).is_file():
        return False, f"there is no database file at {path}"
    try:
        engine = make_engine(database_url)
    except ImportError as error:
        return False, f"the database driver is missing ({error.name}): install the postgres extra"
    try:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as error:
            return False, f"the database does not answer: {_first_line(error)}"
        try:
            swept = last_sweep(engine, host)
        except SQLAlchemyError:
            return False, "the database has no heartbeat table yet: run python -m bot db upgrade"
    finally:
        engine.dispose()
    if swept is None:
        return False, f"no bot on {host} has finished a delivery sweep yet"
    age = round(((now or datetime.now(UTC)) - swept).total_seconds())
    limit = round(max_age.total_seconds())
    if age > limit:
        return False, f"the last delivery sweep on {host} was {age} s ago (more than {limit} s)"
    return True, f"the last delivery sweep on {host} was {age} s ago"


def _first_line(error: Exception) -> str:
    # SQLAlchemy appends the statement and a link on further lines.
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0]


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
