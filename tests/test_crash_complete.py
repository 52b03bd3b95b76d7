"""Crash-complete derived data (issue 21, point 1): topics and story links are never lost.

The store marks each item in `derived_pending` in the item's own transaction; the
story and classify steps clear the mark in theirs; the next crawl of the source
and every publish complete what is still marked. Tested with real kill -9 of
real crawls (compared with a clean crawl of the same sites) and, deterministically,
with marks left as a crash between the steps leaves them.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.exceptions import DropItem

from crawler.spiders.source import SourceSpider
from feeds.publish import publish_feeds
from pipelines.items import Article
from pipelines.signals import problem_found
from pipelines.stages.store import StorePipeline
from presswatch.archive.db import open_archive
from presswatch.sample_sites.server import SampleSiteServer
from tests.conftest import ROOT, SOURCES, make_crawler, presswatch, wait_for_items

TOPICS = ROOT / "topics.toml"


def derived(db_path: Path) -> dict[str, set]:
    """What a crawl derived, by URL (ids differ between archives)."""
    with sqlite3.connect(db_path) as conn:
        items = set(conn.execute("SELECT url, content_hash FROM items"))
        topics = set(conn.execute("SELECT i.url, t.topic FROM item_topics t JOIN items i ON i.id = t.item_id"))
        links = {(frozenset((a, b)), kind) for a, b, kind in conn.execute(
            "SELECT a.url, b.url, l.kind FROM story_links l JOIN items a ON a.id = l.item_id "
            "JOIN items b ON b.id = l.other_item_id")}
        stories: dict[int, set[str]] = {}
        for story_id, url in conn.execute("SELECT story_id, url FROM items WHERE story_id IS NOT NULL"):
            stories.setdefault(story_id, set()).add(url)
        pending = conn.execute("SELECT COUNT(*) FROM derived_pending").fetchone()[0]
    return {"items": items, "topics": topics, "links": links,
            "stories": {frozenset(urls) for urls in stories.values()}, "pending": {pending}}


def crawl_and_kill(db_path: Path, server_url: str, after_items: int) -> int:
    """Start a crawl, kill -9 it (and its workers) once ``after_items`` items are committed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "presswatch", "crawl", "--mirror", server_url, "--db", str(db_path),
         "--sources", str(SOURCES)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    committed = wait_for_items(db_path, after_items, process)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)
    return committed


def test_kill_9_at_several_moments_then_a_crawl_equals_a_clean_crawl(crawled, tmp_path):
    clean = derived(crawled.db_path)
    assert len(clean["items"]) == 81 and len(clean["topics"]) > 50 and clean["links"]
    db_path = tmp_path / "presswatch.db"
    with SampleSiteServer(delay=0.1) as slow:
        for after in (3, 15, 40):
            crawl_and_kill(db_path, slow.url, after)
    killed = derived(db_path)
    assert 3 <= len(killed["items"]) < 81
    with SampleSiteServer() as server:
        result = presswatch("crawl", "--mirror", server.url, "--db", str(db_path), "--sources", str(SOURCES))
    assert result.returncode == 0, result.stderr[-2000:]
    after = derived(db_path)
    assert after["items"] == clean["items"]
    assert after["topics"] == clean["topics"], (after["topics"] ^ clean["topics"])
    assert after["links"] == clean["links"], (after["links"] ^ clean["links"])
    assert after["stories"] == clean["stories"]
    assert after["pending"] == {0}
    with sqlite3.connect(db_path) as conn:
        # The killed crawls' runs were closed by the next crawl of each source, not left running.
        assert conn.execute("SELECT COUNT(*) FROM crawl_runs WHERE status = 'running'").fetchone()[0] == 0
        reasons = [row[0] for row in conn.execute("SELECT reason FROM crawl_runs WHERE status = 'failed'")]
    assert reasons and all("died without finishing its run" in reason for reason in reasons)


def forget_derived(db_path: Path, source: str) -> tuple[set, set]:
    """Do what a crash between the store and the later steps does to ``source``'s items: their
    topics and story links are missing, their marks are left. The topics and links removed."""
    db = open_archive(db_path)
    ids = [row[0] for row in db.execute("SELECT id FROM items WHERE source = ?", [source])]
    marks = ",".join("?" for _ in ids)
    topics = set(db.execute(f"SELECT item_id, topic FROM item_topics WHERE item_id IN ({marks})", ids))
    links = set(db.execute(f"SELECT item_id, other_item_id, kind FROM story_links WHERE item_id IN ({marks}) "
                           f"OR other_item_id IN ({marks})", ids + ids))
    with db.conn:
        db.execute(f"DELETE FROM item_topics WHERE item_id IN ({marks})", ids)
        db.execute(f"DELETE FROM story_links WHERE item_id IN ({marks}) OR other_item_id IN ({marks})", ids + ids)
        db.conn.executemany("INSERT INTO derived_pending (item_id, source, topics, stories, refs, marked) "
                            "VALUES (?, ?, 1, 1, NULL, '2020-01-01T00:00:00Z')", [(i, source) for i in ids])
    db.close()
    return topics, links


def topics_and_links(db_path: Path) -> tuple[set, set]:
    db = open_archive(db_path)
    topics = set(db.execute("SELECT item_id, topic FROM item_topics"))
    links = set(db.execute("SELECT item_id, other_item_id, kind FROM story_links"))
    db.close()
    return topics, links


def test_publish_completes_what_a_crash_left_marked(archive_copy, tmp_path):
    before_topics, before_links = topics_and_links(archive_copy)
    lost_topics, lost_links = forget_derived(archive_copy, "micenter")
    assert lost_topics and lost_links, "the source must have topics and story links for this test"
    publish_feeds(archive_copy, tmp_path / "public", TOPICS, base_url="https://feeds.example.org/",
                  sources_path=SOURCES)
    assert topics_and_links(archive_copy) == (before_topics, before_links)
    assert derived(archive_copy)["pending"] == {0}


def test_next_crawl_of_a_source_completes_its_marked_items(archive_copy, sample_server):
    before_topics, before_links = topics_and_links(archive_copy)
    lost_topics, _lost_links = forget_derived(archive_copy, "moldova")
    forget_derived(archive_copy, "rovienna-press")
    result = presswatch("crawl", "moldova", "--mirror", sample_server.url, "--db", str(archive_copy),
                        "--sources", str(SOURCES))
    assert result.returncode == 0, result.stderr[-2000:]
    topics, _links = topics_and_links(archive_copy)
    assert lost_topics <= topics
    # Only the crawled source's marks: another source's may belong to a crawl still running.
    db = open_archive(archive_copy)
    assert {row[0] for row in db.execute("SELECT DISTINCT source FROM derived_pending")} == {"rovienna-press"}
    db.close()
    assert before_topics - topics == _topics_of(archive_copy, "rovienna-press", before_topics)


def _topics_of(db_path: Path, source: str, topics: set) -> set:
    db = open_archive(db_path)
    ids = {row[0] for row in db.execute("SELECT id FROM items WHERE source = ?", [source])}
    db.close()
    return {t for t in topics if t[0] in ids}


def article(title: str, body: str = "Some text of the page.") -> Article:
    return Article(source="moldova", url="https://moldova.iom.int/news/x", title=title, body=body,
                   fetched=datetime(2026, 11, 1, tzinfo=UTC), canonical_url="https://moldova.iom.int/news/x",
                   uid="0123456789abcdef", content_hash="hash-of-" + body[:20],
                   alternates={"ro": "https://moldova.iom.int/ro/news/x"}, shortlink="https://moldova.iom.int/node/7")


def test_the_store_marks_the_item_in_its_own_transaction(tmp_path):
    crawler = make_crawler(SourceSpider, PRESSWATCH_DB=str(tmp_path / "a.db"), PRESSWATCH_MAX_BODY_CHARS=10)
    reported = []
    crawler.signals.connect(lambda url, problem, detail="": reported.append((problem, detail)), signal=problem_found,
                            weak=False)
    store = StorePipeline.from_crawler(crawler)
    store.open_spider()
    try:
        stored = store.process_item(article("A title", "Twelve chars"))
        with pytest.raises(DropItem):
            store.process_item(article(" "))  # a title of control characters, once cleaned
        (row,) = store.db.execute("SELECT item_id, source, topics, stories, refs FROM derived_pending").fetchall()
        body = store.db.execute("SELECT body FROM items").fetchone()[0]
    finally:
        store.close_spider()
    assert row == (stored.item_id, "moldova", 1, 1,
                   '[["https://moldova.iom.int/ro/news/x", "hreflang"], ["moldova.iom.int/node/7", "node"]]')
    assert body == "Twelve cha"
    assert reported == [("too_large", "body of 12 characters cut to 10"),
                        ("no_date", "archived without a publication date"),
                        ("no_title", "title empty once cleaned: not archived")]
