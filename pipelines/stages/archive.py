"""The crawl process's archive connection, shared by the stages that write the archive.

StorePipeline, StoryPipeline, ClassifyPipeline, DocumentPipeline (and the run
recorder, crawler/runlog.py) of every crawler of the process write through one
connection: one page cache, where three connections used to read again what the
others had just changed. Their writes go in batches (`WriteBatch`,
presswatch/archive/batch.py): one transaction for up to PRESSWATCH_BATCH_ITEMS
items, committed PRESSWATCH_BATCH_MS after it began by a timer on the event
loop (or when full, or when the last user closes); each item's step is a
savepoint of it. After each commit the write lock is left free for
PRESSWATCH_BATCH_GAP_MS, and the steps that come meanwhile wait for the next
batch: another process's writer (a publish, another crawl) polls for the lock
at most every 100 ms (SQLite's busy handler), so it gets its turn within a
batch and a gap, instead of finding the lock taken again a millisecond after
each commit. WAL checkpoints run on a thread of their own
(PRESSWATCH_CHECKPOINT_MS; the connection's own are off): no commit on the
event loop pays one.

Without a running event loop (tests, scripts calling the stages directly),
and when pages are extracted on the event loop itself (PRESSWATCH_WORKERS=0:
a batch left open across an extraction would hold the lock for all of it),
nothing is batched: every step commits at once, as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils
from scrapy.crawler import Crawler

from pipelines import workers
from pipelines.stages.config import archive_path
from presswatch.archive.batch import CHECKPOINT_SECONDS, MAX_ITEMS, MAX_SECONDS, WalCheckpointer, WriteBatch
from presswatch.archive.db import open_archive

logger = logging.getLogger("presswatch.archive")

T = TypeVar("T")
GAP_SECONDS = 0.1  # the write lock left free after each commit: SQLite's busy handler polls every 100 ms


@dataclass(frozen=True)
class BatchSettings:
    items: int = MAX_ITEMS
    seconds: float = MAX_SECONDS
    gap: float = GAP_SECONDS
    checkpoint: float = CHECKPOINT_SECONDS  # 0: SQLite's own checkpoints, on commit
    batched: bool = True  # False: every step commits at once

    @classmethod
    def of(cls, crawler: Crawler) -> BatchSettings:
        settings = crawler.settings
        inline = settings.getint("PRESSWATCH_WORKERS", workers.default_size()) == 0
        return cls(batched=not inline,
                   items=settings.getint("PRESSWATCH_BATCH_ITEMS", MAX_ITEMS),
                   seconds=settings.getfloat("PRESSWATCH_BATCH_MS", MAX_SECONDS * 1000) / 1000,
                   gap=settings.getfloat("PRESSWATCH_BATCH_GAP_MS", GAP_SECONDS * 1000) / 1000,
                   checkpoint=settings.getfloat("PRESSWATCH_CHECKPOINT_MS", CHECKPOINT_SECONDS * 1000) / 1000)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class SharedArchive:
    """One archive connection, its write batch, its checkpoint thread, and who uses them."""

    def __init__(self, path: str, settings: BatchSettings):
        self.path = path
        self.settings = settings
        self.db: sqlite_utils.Database = open_archive(path)
        self.checkpointer: WalCheckpointer | None = None
        if settings.checkpoint > 0 and path != ":memory:":
            self.db.execute("PRAGMA wal_autocheckpoint = 0")
            self.checkpointer = WalCheckpointer(path, settings.checkpoint).start()
        self.batch = WriteBatch(self.db, max_items=settings.items, max_seconds=settings.seconds,
                                on_begin=self._time_the_batch, on_end=self._batch_ended)
        self.users = 0
        self._timer: asyncio.TimerHandle | None = None
        self._gap: asyncio.Future[None] | None = None  # set while the lock is left to others
        self._gap_timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ writing

    @contextmanager
    def step(self, *, item: bool = True) -> Iterator[sqlite_utils.Database]:
        """One item's writes (a savepoint of the open batch); ``item``: it counts as an item."""
        with self.batch.step(item=item):
            yield self.db

    def waiting(self) -> bool:
        """Is the write lock being left to other processes (steps wait for `writable`)?"""
        return self._gap is not None

    async def writable(self) -> None:
        """Return when a step may write (at once, unless in the gap after a commit)."""
        while self._gap is not None:
            await asyncio.shield(self._gap)

    def when_writable(self, function: Callable[..., T], *args: Any) -> T | Coroutine[Any, Any, T]:
        """``function(*args)`` now, or (in the gap after a commit) a coroutine that calls it
        when the next batch may begin: what a Scrapy stage's process_item returns."""
        if self._gap is None:
            return function(*args)

        async def later() -> T:
            await self.writable()
            return function(*args)

        return later()

    def commit(self) -> None:
        """Commit the open batch now (before work that runs its own transactions)."""
        self.batch.commit()

    # ------------------------------------------------------------------ timing

    def _time_the_batch(self) -> bool:
        loop = _running_loop()
        if loop is None or not self.settings.batched:
            return False
        self._timer = loop.call_later(self.settings.seconds, self._commit_on_time)
        return True

    def _commit_on_time(self) -> None:
        self._timer = None
        try:
            self.batch.commit()
        except Exception:  # logged by the batch; the items come again with the next crawl
            logger.exception("committing the archive batch failed")

    def _batch_ended(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.checkpointer is not None:
            self.checkpointer.request()  # now, while no transaction of this connection is open
        loop = _running_loop()
        if loop is None or not self.settings.batched or self.settings.gap <= 0 or self._gap is not None:
            return
        self._gap = loop.create_future()
        self._gap_timer = loop.call_later(self.settings.gap, self._end_gap)

    def _end_gap(self) -> None:
        gap, self._gap, self._gap_timer = self._gap, None, None
        if gap is not None and not gap.done():
            gap.set_result(None)

    # ------------------------------------------------------------------ closing

    def close(self) -> None:
        """Commit what is open, then close the connection and stop the checkpoints (a last one)."""
        try:
            self.batch.commit()
        finally:
            if self._gap_timer is not None:
                self._gap_timer.cancel()
            self._end_gap()
            self.db.close()
            if self.checkpointer is not None:
                self.checkpointer.stop()
        batch, checkpointer = self.batch, self.checkpointer
        if batch.commits:  # the figure of issue 19: commits per item
            checkpoints = (f"; {checkpointer.checkpoints} WAL checkpoint(s), largest WAL "
                           f"{checkpointer.largest_wal} pages" if checkpointer else "")
            logger.debug("archive: %d item(s) written in %d commit(s)%s",
                         batch.committed_items, batch.commits, checkpoints)


_open: dict[str, SharedArchive] = {}


def acquire(crawler: Crawler) -> SharedArchive:
    """The process's shared archive for the crawl's PRESSWATCH_DB, opened by its first user."""
    path = archive_path(crawler)
    key = path if path == ":memory:" else str(Path(path).resolve())
    shared = _open.get(key)
    if shared is None:
        shared = _open[key] = SharedArchive(path, BatchSettings.of(crawler))
    shared.users += 1
    return shared


def release(shared: SharedArchive) -> None:
    """One user is done; the last one commits and closes."""
    shared.users -= 1
    if shared.users > 0:
        return
    for key, value in list(_open.items()):
        if value is shared:
            del _open[key]
    shared.close()
