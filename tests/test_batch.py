"""Batched archive writes and WAL checkpoints off the event loop (issue 19, point 3).

`WriteBatch` and `WalCheckpointer` (presswatch/archive/batch.py) on real SQLite
files; the crawl's shared archive (pipelines/stages/archive.py) on a real asyncio
loop; and real crawls: one killed with -9 in the middle of a batch, then a
normal crawl that completes everything.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.spiders.source import SourceSpider
from pipelines.items import Article
from pipelines.stages import archive
from pipelines.stages.classify import ClassifyPipeline
from pipelines.stages.store import StorePipeline
from pipelines.stages.stories import StoryPipeline
from presswatch.archive.batch import WalCheckpointer, WriteBatch
from presswatch.archive.db import open_archive
from presswatch.sample_sites.server import SampleSiteServer
from tests.conftest import ROOT, SOURCES, make_crawler, presswatch, wait_for_items
from tests.test_crash_complete import derived


def notes_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
    return conn


def committed(path: Path) -> list[str]:
    """What another connection sees: the committed notes only."""
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT text FROM notes ORDER BY id")]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_batch_commits_when_full_or_old_and_a_failing_item_loses_only_itself(tmp_path):
    path = tmp_path / "a.db"
    notes_db(path).close()
    db = open_archive(path)
    db.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
    clock = Clock()
    begun: list[float] = []
    batch = WriteBatch(db, max_items=3, max_seconds=0.05, clock=clock,
                       on_begin=lambda: begun.append(clock.now) or True)
    for text in ("one", "two"):
        with batch.step():
            db.execute("INSERT INTO notes (text) VALUES (?)", [text])
    assert committed(path) == [] and batch.open
    with pytest.raises(sqlite3.IntegrityError), batch.step():
        db.execute("INSERT INTO notes (text) VALUES ('half of a failing item')")
        db.execute("INSERT INTO notes (text) VALUES (NULL)")
    assert committed(path) == [] and batch.items == 2
    with batch.step(item=False):  # a later step of an item: does not fill the batch
        db.execute("UPDATE notes SET text = 'two, classified' WHERE text = 'two'")
    assert committed(path) == []
    with batch.step():
        db.execute("INSERT INTO notes (text) VALUES ('three')")
    assert committed(path) == ["one", "two, classified", "three"]
    assert not batch.open and (batch.commits, batch.committed_items) == (1, 3)
    with batch.step():
        db.execute("INSERT INTO notes (text) VALUES ('four')")
    assert committed(path) == ["one", "two, classified", "three"]
    clock.now += 0.06  # the batch is old: the next step commits it
    with batch.step(item=False):
        db.execute("INSERT INTO notes (text) VALUES ('five')")
    assert committed(path)[-2:] == ["four", "five"] and batch.commits == 2
    assert len(begun) == 2
    db.close()


def test_without_a_timer_every_step_commits_at_once(tmp_path):
    path = tmp_path / "a.db"
    notes_db(path).close()
    db = open_archive(path)
    batch = WriteBatch(db, max_items=32, on_begin=lambda: False)
    with batch.step():
        db.execute("INSERT INTO notes (text) VALUES ('alone')")
    assert committed(path) == ["alone"] and not batch.open
    with pytest.raises(sqlite3.IntegrityError), batch.step():
        db.execute("INSERT INTO notes (text) VALUES (NULL)")
    assert not batch.open, "a failed step must not leave the write lock taken"
    db.close()


def test_a_write_that_destroys_the_transaction_loses_the_batch_not_the_connection(tmp_path, caplog):
    path = tmp_path / "a.db"
    conn = notes_db(path)
    conn.execute("CREATE TRIGGER veto BEFORE INSERT ON notes WHEN NEW.text = 'veto' "
                 "BEGIN SELECT RAISE(ROLLBACK, 'vetoed'); END")
    conn.close()
    db = open_archive(path)
    ended: list[bool] = []
    batch = WriteBatch(db, max_items=10, on_begin=lambda: True, on_end=lambda: ended.append(True))
    with batch.step():
        db.execute("INSERT INTO notes (text) VALUES ('in the lost batch')")
    with caplog.at_level(logging.ERROR, "presswatch.archive"), pytest.raises(sqlite3.IntegrityError), batch.step():
        db.execute("INSERT INTO notes (text) VALUES ('veto')")
    assert "the archive batch of 1 item(s) is lost (a failed write rolled it back)" in caplog.text
    assert ended == [True] and not batch.open and batch.items == 0
    with batch.step():
        db.execute("INSERT INTO notes (text) VALUES ('next batch')")
    batch.commit()
    assert committed(path) == ["next batch"]
    db.close()


def test_the_checkpoint_thread_copies_the_wal_into_the_database(tmp_path):
    path = tmp_path / "a.db"
    writer = notes_db(path)
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    reader = sqlite3.connect(path)  # open: closing the writer must not checkpoint in its place
    size_before = path.stat().st_size
    for start in range(0, 2000, 100):
        writer.execute("BEGIN IMMEDIATE")
        writer.executemany("INSERT INTO notes (text) VALUES (?)", [(f"note {i} " + "x" * 500,)
                                                                    for i in range(start, start + 100)])
        writer.execute("COMMIT")
    assert path.stat().st_size == size_before, "with wal_autocheckpoint = 0, commits do not checkpoint"
    checkpointer = WalCheckpointer(path, interval=0.05).start()
    deadline = time.monotonic() + 10
    while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    checkpointer.stop()
    assert checkpointer.checkpoints >= 2  # periodic ones, and the last one when stopped
    assert checkpointer.largest_wal > 250  # 2,000 notes of 500 bytes: over a MB of pages
    assert path.stat().st_size > 1_000_000  # the pages are in the database file now
    assert reader.execute("SELECT COUNT(*) FROM notes").fetchone() == (2000,)
    reader.close()
    writer.close()


def article(url: str, title: str) -> Article:
    return Article(source="moldova", url=url, title=title, body=f"The text of {title}.",
                   fetched=datetime(2026, 11, 1, tzinfo=UTC), canonical_url=url,
                   uid=f"uid-{title}", content_hash=f"hash-{title}")


def test_the_stages_share_one_connection_and_the_timer_commits_a_batch_no_item_completes(tmp_path):
    db_path = tmp_path / "a.db"
    # A pool is configured (no batches when pages are extracted on the event loop) but not started:
    # the stages run their inline paths.
    crawler = make_crawler(SourceSpider, PRESSWATCH_DB=str(db_path), PRESSWATCH_WORKERS=2,
                           PRESSWATCH_BATCH_ITEMS=100, PRESSWATCH_BATCH_MS=300, PRESSWATCH_BATCH_GAP_MS=500)
    stages = [StorePipeline.from_crawler(crawler), StoryPipeline.from_crawler(crawler),
              ClassifyPipeline.from_crawler(crawler)]

    def stored_titles() -> list[str]:
        with sqlite3.connect(db_path) as conn:
            return [row[0] for row in conn.execute("SELECT title FROM items ORDER BY id")]

    async def crawl() -> None:
        for stage in stages:
            stage.open_spider()
        shared = stages[0].archive
        assert shared is not None and all(stage.db is shared.db for stage in stages)
        assert shared.db.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
        assert shared.checkpointer is not None
        for number in range(5):
            item = article(f"https://moldova.iom.int/news/{number}", f"Item {number}")
            for stage in stages:
                result = stage.process_item(item)
                item = await result if asyncio.iscoroutine(result) else result
            assert item.outcome == "new"
        assert stored_titles() == [] and shared.batch.open  # one batch, not committed yet
        await asyncio.sleep(0.4)  # no item comes: the timer commits
        assert stored_titles() == [f"Item {number}" for number in range(5)]
        assert (shared.batch.commits, shared.batch.committed_items) == (1, 5)
        # Right after the commit the lock is left to other processes: the next item waits for the gap.
        result = stages[0].process_item(article("https://moldova.iom.int/news/5", "Item 5"))
        assert shared.waiting() and asyncio.iscoroutine(result)
        waited = time.monotonic()
        stored = await result
        assert stored.outcome == "new" and time.monotonic() - waited > 0.2
        for stage in stages[1:]:
            result = stage.process_item(stored)
            stored = await result if asyncio.iscoroutine(result) else result
        for stage in stages:
            stage.close_spider()
        assert archive._open == {}

    asyncio.run(crawl())
    assert stored_titles() == [f"Item {number}" for number in range(6)]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM derived_pending").fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM item_signatures").fetchone() == (6,)


def test_no_batch_when_pages_are_extracted_on_the_event_loop(tmp_path):
    """PRESSWATCH_WORKERS=0: a batch left open across an inline extraction would hold the write
    lock for all of it, so every step commits at once, and nothing waits for a gap."""
    db_path = tmp_path / "a.db"
    crawler = make_crawler(SourceSpider, PRESSWATCH_DB=str(db_path), PRESSWATCH_WORKERS=0)
    store = StorePipeline.from_crawler(crawler)

    async def crawl() -> None:
        store.open_spider()
        for number in range(3):
            result = store.process_item(article(f"https://moldova.iom.int/news/{number}", f"Item {number}"))
            assert not asyncio.iscoroutine(result) and result.outcome == "new"
            assert store.archive is not None and not store.archive.batch.open
            with sqlite3.connect(db_path) as conn:
                assert conn.execute("SELECT COUNT(*) FROM items").fetchone() == (number + 1,)
        store.close_spider()

    asyncio.run(crawl())


def test_another_writer_gets_the_lock_within_a_batch_and_a_gap_while_items_keep_coming(tmp_path):
    """A crawl that writes all the time still leaves the lock to another process's writer
    (here a thread with its own connection, as a publish would have) within about a batch
    and a gap: the gap outlasts the 100 ms between two tries of SQLite's busy handler."""
    db_path = tmp_path / "a.db"
    crawler = make_crawler(SourceSpider, PRESSWATCH_DB=str(db_path), PRESSWATCH_WORKERS=2,
                           PRESSWATCH_BATCH_ITEMS=1000, PRESSWATCH_BATCH_MS=50, PRESSWATCH_BATCH_GAP_MS=100)
    open_archive(db_path).close()
    waits: list[float] = []

    def other_writer() -> None:
        conn = sqlite3.connect(db_path, isolation_level=None, timeout=20)
        for _ in range(5):
            time.sleep(0.13)
            asked = time.monotonic()
            conn.execute("BEGIN IMMEDIATE")
            waits.append(time.monotonic() - asked)
            conn.execute("INSERT INTO state (key, value) VALUES (?, 'x') ON CONFLICT(key) DO NOTHING",
                         [f"other {len(waits)}"])
            conn.execute("COMMIT")
        conn.close()

    async def busy_crawl() -> int:
        shared = archive.acquire(crawler)
        thread = threading.Thread(target=other_writer)
        thread.start()
        steps = 0
        while thread.is_alive():
            await shared.writable()
            with shared.step() as db:
                db.execute("INSERT INTO state (key, value) VALUES (?, 'crawl')", [f"crawl {steps}"])
            steps += 1
            await asyncio.sleep(0.002)
        thread.join()
        archive.release(shared)
        return steps

    steps = asyncio.run(busy_crawl())
    assert len(waits) == 5 and steps > 100
    assert max(waits) < 0.5, waits


def crawl_and_kill_mid_batch(db_path: Path, server_url: str, log: Path) -> int:
    """A crawl with long batches (2 s), killed -9 once some batch is committed; the items committed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "presswatch", "crawl", "--mirror", server_url, "--db", str(db_path),
         "--sources", str(SOURCES), "--log-file", str(log),
         "--set", "PRESSWATCH_BATCH_MS=2000", "--set", "PRESSWATCH_BATCH_ITEMS=1000"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    seen = wait_for_items(db_path, 5, process)
    time.sleep(0.5)  # into the next batch
    assert process.poll() is None, "the crawl finished before it could be killed: slow the server down"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    return seen


def test_kill_9_mid_batch_then_a_normal_crawl_completes_everything(crawled, tmp_path):
    clean = derived(crawled.db_path)
    db_path = tmp_path / "presswatch.db"
    with SampleSiteServer(delay=1.0) as slow:  # slow enough to kill it mid-crawl under any load
        seen = crawl_and_kill_mid_batch(db_path, slow.url, tmp_path / "killed.log")
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        items = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        assert seen <= items <= 81  # (all 81 when the last batch was committed just before the kill)
        assert conn.execute("SELECT COUNT(*) FROM items_fts").fetchone()[0] == items
        # Each committed item has its story fingerprint, or is still marked for it: never neither.
        assert conn.execute("SELECT COUNT(*) FROM items i WHERE NOT EXISTS (SELECT 1 FROM item_signatures s "
                            "WHERE s.item_id = i.id) AND NOT EXISTS (SELECT 1 FROM derived_pending p "
                            "WHERE p.item_id = i.id AND p.stories = 1)").fetchone() == (0,)
    log = tmp_path / "normal.log"
    with SampleSiteServer() as server:
        result = presswatch("crawl", "--mirror", server.url, "--db", str(db_path), "--sources", str(SOURCES),
                            "--log-file", str(log), "--set", "LOG_LEVEL=DEBUG")
    assert result.returncode == 0, result.stderr[-2000:]
    after = derived(db_path)
    assert after["items"] == clean["items"]
    assert after["topics"] == clean["topics"], after["topics"] ^ clean["topics"]
    assert after["links"] == clean["links"], after["links"] ^ clean["links"]
    assert after["stories"] == clean["stories"] and after["pending"] == {0}
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    # The normal crawl wrote its items in batches: fewer commits than items.
    (found,) = re.findall(r"archive: (\d+) item\(s\) written in (\d+) commit\(s\)", log.read_text(encoding="utf-8"))
    written, commits = int(found[0]), int(found[1])
    assert written >= 81 - items and commits < written, found
