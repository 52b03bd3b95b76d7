"""The SQLite archive: opening it and writing to it.

Everything that reads or writes the archive (pipelines, CLI, feeds, scheduler)
opens it with `open_archive`, which applies the pragmas every user needs (WAL so
readers never block the crawl, a busy timeout so writers queue instead of
failing) and brings the schema up to date. The schema and its migrations are in
`presswatch.archive.schema` (append new migrations there), stored times in
`presswatch.archive.times`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from presswatch.archive.schema import migrate

DEFAULT_DB = Path("data/presswatch.db")


def open_archive(path: str | Path = DEFAULT_DB, *, readonly: bool = False) -> sqlite_utils.Database:
    """Open (creating if needed) the archive at ``path`` with presswatch's settings."""
    if str(path) == ":memory:":
        conn = sqlite3.connect(":memory:", isolation_level=None)
    elif readonly:
        conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, isolation_level=None)
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=30)
    # Autocommit at the driver level: presswatch opens transactions explicitly
    # (db.atomic()), so none stays open by accident and blocks other processes.
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: a power cut may lose the last commits, never corrupt.
        conn.execute("PRAGMA synchronous = NORMAL")
    db = sqlite_utils.Database(conn)
    if not readonly:
        migrate(db)
    return db


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """One transaction that takes the write lock at its start (BEGIN IMMEDIATE).

    A deferred transaction that reads and then writes fails at once with
    "database is locked" (SQLITE_BUSY_SNAPSHOT: its snapshot went stale) when
    another process committed in between, which concurrent crawls, publishing
    and the scheduler do all the time; an immediate one waits for the lock
    (busy timeout) and reads what is current. Inside an open transaction it is
    a savepoint of that transaction.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")
