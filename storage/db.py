"""Engine, sessions and migrations."""

from __future__ import annotations

import fcntl
import itertools
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import ORMExecuteState
from sqlmodel import Session, create_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000


def make_engine(database_url: str) -> Engine:
    """An engine for any SQLAlchemy URL; SQLite gets WAL, a busy timeout and foreign keys."""
    url = make_url(database_url)
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    engine = create_engine(database_url, connect_args=connect_args)
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _configure_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    """Alembic's configuration, pointed at our migrations and this engine's database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


# pg_advisory_lock's key for migrations: any fixed number no other lock of ours uses.
MIGRATION_LOCK_KEY = 0x6A697473  # "jits"


def upgrade_database(engine: Engine) -> None:
    """Apply every migration up to the newest, one process at a time.

    Two processes starting together would both find the database behind and both create the
    same tables: the second waits for the lock, then finds nothing left to do.
    """
    with _migration_lock(engine) as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection to migrate on, held by this process alone: an advisory lock on
    PostgreSQL (held by that connection), a lock file beside a SQLite database file."""
    backend = engine.url.get_backend_name()
    database = engine.url.database
    with engine.connect() as connection:
        if backend == "postgresql":
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
            try:
                yield connection
            finally:
                connection.rollback()  # whatever a failed migration left open
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
                connection.commit()
        elif backend == "sqlite" and database and database != ":memory:":
            with open(f"{database}.migrate.lock", "a") as lock_file:
                fcntl.flock(lock_file, fcntl.LOCK_EX)  # released when the file closes
                yield connection
        else:
            yield connection


# session.info keys of the after-commit hook.
_WAKES = "wakes_after_commit"


@contextmanager
def session_scope(engine: Engine, *, wakes: bool = True) -> Iterator[Session]:
    """A session that commits on success and rolls back on error.

    wakes=False keeps its commits from calling the hooks of `call_after_commit`: the sender
    itself writes the rows the hooks watch, and must not wake itself.
    """
    with Session(engine, expire_on_commit=False) as session:
        session.info[_WAKES] = wakes
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def call_after_commit(
    engine: Engine, tables: Collection[str], callback: Callable[[], None]
) -> Callable[[], None]:
    """Call `callback` after every commit on `engine` that wrote to one of `tables`.

    This is the outbox's doorbell: whoever writes a row to send needs no reminder to wake
    the sender. It sees ORM objects added, changed or deleted, and insert/update/delete
    statements run through a session. The callback runs in the committing thread. Returns a
    function that removes the hook.
    """
    watched = frozenset(tables)
    wrote = object()  # this hook's own mark in session.info

    def mark_flush(session: Session, _context: object) -> None:
        if session.bind is not engine or not session.info.get(_WAKES, True):
            return
        for row in itertools.chain(session.new, session.dirty, session.deleted):
            if getattr(getattr(type(row), "__table__", None), "name", None) in watched:
                session.info[wrote] = True
                return

    def mark_statement(state: ORMExecuteState) -> None:
        session = state.session
        if session.bind is not engine or not session.info.get(_WAKES, True):
            return
        if state.is_insert or state.is_update or state.is_delete:
            table = getattr(state.statement, "table", None)
            if getattr(table, "name", None) in watched:
                session.info[wrote] = True

    def ring(session: Session) -> None:
        if session.info.pop(wrote, False):
            callback()

    def forget(session: Session) -> None:
        session.info.pop(wrote, None)

    hooks: list[tuple[str, Callable[..., None]]] = [
        ("after_flush", mark_flush),
        ("do_orm_execute", mark_statement),
        ("after_commit", ring),
        ("after_soft_rollback", lambda session, _transaction: forget(session)),
    ]
    for name, hook in hooks:
        event.listen(Session, name, hook)

    def remove() -> None:
        for name, hook in hooks:
            if event.contains(Session, name, hook):
                event.remove(Session, name, hook)

    return remove
