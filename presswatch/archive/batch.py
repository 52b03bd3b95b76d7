"""Batched writes on one connection, and WAL checkpoints on a thread of their own.

A crawl writes a few hundred small transactions a minute. Each COMMIT writes
every page the transaction touched to the WAL again (the FTS index's, the
indexes'...), and every ~1,000 WAL pages the committing connection copies the
WAL into the database (a checkpoint) before it returns: both on the crawl's
event loop. `WriteBatch` keeps one transaction open across the writes of several
items (each item's writes a savepoint inside it: atomic, and a failing item
rolls back alone) and commits it when it holds ``max_items`` items or is
``max_seconds`` old; whoever owns it also commits it on a timer, so a batch
never waits for an item that does not come. A kill -9 loses the batch in
flight and nothing else (WAL: what was committed stays, never half of it).

`WalCheckpointer` runs ``PRAGMA wal_checkpoint(PASSIVE)`` from its own thread
and connection (sqlite3 releases the GIL while SQLite works), right after a
commit at most once a second, so the writer can run with
``wal_autocheckpoint = 0``. A passive checkpoint takes no lock that a reader or
the writer waits for.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

logger = logging.getLogger("presswatch.archive")

MAX_ITEMS = 32  # items per batch
MAX_SECONDS = 0.05  # age of a batch when it is committed, whatever it holds
CHECKPOINT_SECONDS = 1.0  # between two passive checkpoints


class BatchLost(Exception):
    """A failed write or commit took the whole open batch with it."""


class WriteBatch:
    """One connection's open write transaction, shared by the writes of several items.

    ``on_begin`` is called when a batch starts and returns whether a commit is
    scheduled for it (the owner's timer calls `commit` ``max_seconds`` later);
    when none is (no event loop: tests, scripts), every step commits at once.
    ``on_end`` is called when a batch ends (committed or lost).
    """

    def __init__(self, db: sqlite_utils.Database, *, max_items: int = MAX_ITEMS,
                 max_seconds: float = MAX_SECONDS, on_begin: Callable[[], bool] | None = None,
                 on_end: Callable[[], None] | None = None, clock: Callable[[], float] = time.monotonic):
        self.db = db
        self.max_items = max(1, max_items)
        self.max_seconds = max_seconds
        self.on_begin = on_begin
        self.on_end = on_end
        self.clock = clock
        self.started = 0.0
        self.items = 0  # in the open batch
        self.timed = False  # a commit is scheduled for the open batch
        self.commits = 0  # batches committed so far
        self.committed_items = 0
        self._savepoints = 0
        self._depth = 0  # steps in progress (a step inside a step commits with the outer one)

    @property
    def open(self) -> bool:
        return self.db.conn.in_transaction

    def begin(self) -> None:
        """Start a batch unless one is open: BEGIN IMMEDIATE takes the write lock now
        (waiting the busy timeout for another process's), so no step fails half-way for it."""
        if self.open:
            return
        self.db.conn.execute("BEGIN IMMEDIATE")
        self.started, self.items = self.clock(), 0
        self.timed = bool(self.on_begin and self.on_begin())

    @contextmanager
    def step(self, *, item: bool = True) -> Iterator[None]:
        """The writes of one item's step: a savepoint of the batch, rolled back alone on error.

        ``item``: the step counts as an item towards ``max_items`` (the first step of
        an item does; its later steps, in the same or the next batch, do not).
        """
        self.begin()
        conn = self.db.conn
        self._savepoints += 1
        name = f"item_step_{self._savepoints}"
        conn.execute(f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
            else:  # SQLite rolled the whole transaction back (disk full, I/O error...)
                self._lost("a failed write rolled it back")
            raise
        else:
            conn.execute(f"RELEASE {name}")
            if item:
                self.items += 1
        finally:
            self._depth -= 1
            if self.due():
                self.commit()

    def due(self) -> bool:
        """Is the open batch full or old enough (or not timed: commit after each step)?"""
        if self._depth or not self.open:
            return False
        return (not self.timed or self.items >= self.max_items
                or self.clock() - self.started >= self.max_seconds)

    def commit(self) -> bool:
        """Commit the open batch, if any; whether there was one."""
        conn = self.db.conn
        if not conn.in_transaction:
            return False
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._lost(f"COMMIT failed: {exc}")
            raise BatchLost(f"{self.items} item(s) not written: {exc}") from exc
        self.commits += 1
        self.committed_items += self.items
        self._ended()
        return True

    def _lost(self, why: str) -> None:
        logger.error("the archive batch of %d item(s) is lost (%s): the next crawl fetches them again",
                     self.items, why)
        self._ended()

    def _ended(self) -> None:
        self.items, self.timed = 0, False
        if self.on_end is not None:
            self.on_end()


class WalCheckpointer:
    """A daemon thread that checkpoints the archive's WAL (PASSIVE: it never waits for the
    writer nor the readers, and never makes them wait): when asked (`request`), at most every
    ``interval`` seconds, else every ``interval`` seconds; and once more when stopped.

    The writer asks right after a commit, while no transaction of its own is open: a
    checkpoint that copies every committed frame lets the next transaction start the WAL
    over from its beginning, so it stays small. One that runs while a batch is open leaves
    that batch's frames for the next one, and the WAL grows meanwhile.
    """

    def __init__(self, path: str | Path, interval: float = CHECKPOINT_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.path = str(path)
        self.interval = interval
        self.clock = clock
        self.checkpoints = 0
        self.largest_wal = 0  # the most frames the WAL held at a checkpoint
        self._last_request = clock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)

    def start(self) -> WalCheckpointer:
        self._thread.start()
        return self

    def request(self) -> None:
        """A checkpoint now, if the last one asked for is ``interval`` old (cheap: call after each commit)."""
        now = self.clock()
        if now - self._last_request >= self.interval:
            self._last_request = now
            self._wake.set()

    def stop(self) -> None:
        """The last checkpoint, then the thread ends (its connection is the last to close)."""
        self._stop.set()
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        try:
            while not self._stop.is_set():
                self._wake.wait(self.interval)
                self._wake.clear()
                self._checkpoint(conn)
            self._checkpoint(conn)  # what was committed while the one before ran
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:  # the next one tries again; the WAL only grows meanwhile
            logger.warning("WAL checkpoint of %s failed: %s", self.path, exc)
            return
        self.checkpoints += 1
        if row:
            self.largest_wal = max(self.largest_wal, row[1])
