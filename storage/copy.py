"""Copy every table from one database into another, empty one (SQLite to PostgreSQL, say).

The tables come from SQLModel.metadata in the order their foreign keys need, so a table added
later is copied without a change here. The target is migrated first and filled in one
transaction: a copy that fails leaves it empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.engine import Connection, make_url
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage.db import alembic_config, make_engine, upgrade_database

ROWS_PER_INSERT = 1000


class CopyRefused(Exception):
    """The copy did not start (or was undone); the message says why in one line."""


@dataclass(frozen=True)
class TableCopied:
    """One table's rows: read from the source, and found in the target afterwards."""

    name: str
    source_rows: int
    target_rows: int


def copy_database(source_url: str, target_url: str) -> list[TableCopied]:
    """Copy all rows of `source_url` into the empty database at `target_url`."""
    _require_sqlite_file(source_url)
    source = make_engine(source_url)
    target = make_engine(target_url)
    try:
        head = ScriptDirectory.from_config(alembic_config(source)).get_current_head()
        with source.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        if current != head:
            raise CopyRefused(
                f"the source database is at migration {current or 'none'}, not the newest"
                f" ({head}): run `python -m bot db upgrade` with DATABASE_URL={source_url} first"
            )
        upgrade_database(target)
        tables = SQLModel.metadata.sorted_tables  # parents before the tables that refer to them
        with source.connect() as reading, target.begin() as writing:
            filled = [table.name for table in tables if _count(writing, table)]
            if filled:
                raise CopyRefused(
                    f"the target database already holds data (in {', '.join(filled)});"
                    " copy only into an empty one"
                )
            copied = [_copy_table(table, reading, writing) for table in tables]
            wrong = [table for table in copied if table.source_rows != table.target_rows]
            if wrong:
                raise CopyRefused(  # the transaction is rolled back: the target stays empty
                    "row counts differ, nothing was kept: "
                    + ", ".join(f"{t.name} {t.source_rows} -> {t.target_rows}" for t in wrong)
                )
            if writing.dialect.name == "postgresql":
                _advance_sequences(writing, tables)
        return copied
    finally:
        source.dispose()
        target.dispose()


def _require_sqlite_file(url: str) -> None:
    """Refuse a SQLite source that does not exist (connecting would create an empty one)."""
    parsed = make_url(url)
    path = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and path != ":memory:" and not Path(path).is_file():
        raise CopyRefused(f"there is no database file at {path or '(none given)'}")


def _count(connection: Connection, table: Table) -> int:
    return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def _copy_table(table: Table, reading: Connection, writing: Connection) -> TableCopied:
    """Stream one table's rows across, a thousand per INSERT, by primary key order."""
    copied = 0
    rows = reading.execution_options(stream_results=True).execute(
        select(table).order_by(*table.primary_key.columns)
    )
    for chunk in rows.mappings().partitions(ROWS_PER_INSERT):
        writing.execute(insert(table), [dict(row) for row in chunk])
        copied += len(chunk)
    return TableCopied(table.name, copied, _count(writing, table))


def _advance_sequences(connection: Connection, tables: list[Table]) -> None:
    """Set each id sequence past the copied ids: rows were inserted with their own ids, which
    leaves the sequences at 1, and the next new row would collide with a copied one."""
    quoted = connection.dialect.identifier_preparer
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        highest = connection.execute(select(func.max(column))).scalar() or 0
        connection.execute(
            text("SELECT setval(pg_get_serial_sequence(:table, :column), :next, false)"),
            {"table": quoted.format_table(table), "column": column.name, "next": highest + 1},
        )
