"""The one archive writer of a shared crawl (`presswatch store`, issue 20).

It reads the item stream (pipelines/stream.py) as a member of a consumer group
and applies each entry to the SQLite archive exactly as a one-process crawl's
StorePipeline, StoryPipeline, ClassifyPipeline and RunRecorder would: dedupe,
versions, stories, topics, crawl_runs and crawl_problems.

Exactly once: entries are applied in batches, each batch in one transaction
that also records the id of its last entry (the `state` table); entries are
acknowledged (XACK, then XDEL) only after that commit. A writer killed at any
point restarts from its pending entries: those at or below the recorded id were
committed already and are only acknowledged, the others are applied.

After each commit it publishes what changed to the archive summary in Redis,
which crawl processes read to crawl incrementally (crawler/distributed.py).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import sqlite_utils
from sqlite_utils.db import Table

from pipelines import derived, neardup
from pipelines.items import Article
from pipelines.stages.classify import CLASSIFY_OUTCOMES
from pipelines.stages.config import topics_path_from
from pipelines.stages.store import MAX_BODY_CHARS
from pipelines.stages.stories import CATCH_UP, STORY_OUTCOMES
from pipelines.store import DUPLICATE, REMOVED, store_article, store_recheck
from pipelines.story_index import StoryIndex, translation_refs
from pipelines.stream import (
    ARTICLE,
    CRAWLERS,
    GROUP,
    PROBLEM,
    RECHECK,
    RUN_END,
    RUN_START,
    STREAM,
    KnownUrl,
    decode,
    decode_article,
    decode_fingerprint,
    decode_recheck,
    entry_order,
    last_run_key,
    publish_boilerplate,
    publish_known,
)
from pipelines.topics import Classifier, classify_item, ensure_classified, forget_fingerprint
from presswatch.archive.db import open_archive, write_transaction
from presswatch.archive.outcomes import Problem
from presswatch.archive.times import utc_now
from presswatch.config.files import ConfigError
from presswatch.config.sources import SourceList
from presswatch.config.topics import load_topics

logger = logging.getLogger("presswatch.store")

LAST_APPLIED = f"stream:{STREAM}:last_applied"  # `state` key: id of the last entry committed
RUN_KEY = "stream:run:"  # `state` key prefix: a crawl process's run -> its crawl_runs id
_OUTCOME_COLUMNS = {"new", "updated", "unchanged", "duplicate", "removed"}
# crawl_runs columns a crawl process reports in its run_end entry
_CRAWL_COLUMNS = ("items_skipped", "pages_fetched", "not_modified", "http_errors", "no_title", "errors",
                  "finished", "status", "reason")
CLAIM_IDLE_MS = 60_000  # another consumer's entry pending this long is taken over (a dead writer)


@dataclass
class WriterReport:
    entries: int = 0
    already_applied: int = 0  # pending entries committed before a restart: acknowledged only
    outcomes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    busy_seconds: float = 0.0  # applying entries (not waiting for them)

    @property
    def items(self) -> int:
        return sum(self.outcomes.values())


class StreamWriter:
    """Applies the stream to one archive. One per archive, ever (SQLite has one writer)."""

    def __init__(self, client: redis.Redis, db_path: str | Path, sources: SourceList,
                 topics_path: str | Path | None = None, *, consumer: str = "writer", batch: int = 200):
        self.client = client
        self.db: sqlite_utils.Database = open_archive(db_path)
        self.sources = sources
        self.consumer = consumer
        self.batch = batch
        self.index = StoryIndex(self.db, sources.rank)
        self.classifier: Classifier | None = None
        try:
            topics = load_topics(topics_path_from(str(topics_path) if topics_path else None))
            self.classifier = Classifier(topics)
        except ConfigError as exc:
            logger.error("topics not classified by this writer: %s", exc)
            forget_fingerprint(self.db)
        self.run_ids: dict[str, int] = {}
        self.fingerprint: neardup.Fingerprint | None = None  # of the entry being applied
        self.sources_touched: set[str] = set()  # whose boilerplate may have grown
        self.report = WriterReport()
        self._pending_done = False  # this consumer's pending entries all handled since start

    def close(self) -> None:
        self.db.close()

    # Start-up ------------------------------------------------------------------

    def prepare(self) -> int:
        """Join the consumer group; bring stories and topics up to date; publish the whole summary."""
        try:
            self.client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        if self.classifier is not None:
            ensure_classified(self.db, self.classifier)
        # Items stored but not yet linked / classified (a one-process crawl killed between its
        # steps; the writer itself does all three in one transaction): pipelines/derived.py.
        derived.complete_stories(self.index)
        if self.classifier is not None:
            derived.complete_topics(self.db, self.classifier)
        self.index.catch_up(CATCH_UP)
        neardup.fingerprint("warm up: the MinHash library loads on first use")  # not in the first batch
        published = publish_known(self.client, self._whole_summary())
        for (source,) in self.db.execute("SELECT DISTINCT source FROM items"):
            publish_boilerplate(self.client, source, self.index.known_boilerplate(source))
        return published

    def _whole_summary(self) -> Iterator[KnownUrl]:
        # Copies first: an item at the same URL is what counts.
        for url, source, last_seen in self.db.execute(
                "SELECT url, source, MAX(last_seen) FROM duplicates GROUP BY url"):
            yield KnownUrl(url, source, last_seen)
        for url, source, fetched, etag, modified, status in self.db.execute(
                "SELECT url, source, fetched, http_etag, http_last_modified, status FROM items"):
            yield KnownUrl(url, source, fetched, etag, modified, active=status == "active")
        for (source,) in self.db.execute("SELECT DISTINCT source FROM crawl_runs"):
            row = self.db.execute("SELECT status FROM crawl_runs WHERE source = ? AND status != 'running' "
                                  "ORDER BY id DESC LIMIT 1", [source]).fetchone()
            if row:
                self.client.set(last_run_key(source), row[0])

    # The loop ------------------------------------------------------------------

    def last_applied(self) -> tuple[int, int]:
        row = self.db.execute("SELECT value FROM state WHERE key = ?", [LAST_APPLIED]).fetchone()
        return entry_order(row[0]) if row else (0, 0)

    def read(self, block_ms: int) -> list[tuple[bytes, dict[bytes, bytes] | None]]:
        """The next entries: this consumer's pending ones first (after a restart), then a dead
        consumer's, then new ones (waiting up to ``block_ms``)."""
        if not self._pending_done:
            answer: Any = self.client.xreadgroup(GROUP, self.consumer, {STREAM: "0"},
                                                 count=self.batch)
            entries = answer[0][1] if answer else []
            if entries:
                return entries
            self._pending_done = True
        claimed: Any = self.client.xautoclaim(STREAM, GROUP, self.consumer, CLAIM_IDLE_MS, "0-0",
                                              count=self.batch)
        if claimed and claimed[1]:
            self._pending_done = False  # now pending for this consumer: read again from "0"
            return claimed[1]
        new: Any = self.client.xreadgroup(GROUP, self.consumer, {STREAM: ">"}, count=self.batch,
                                          block=block_ms)
        return new[0][1] if new else []

    def apply_batch(self, entries: list[tuple[bytes, dict[bytes, bytes] | None]]) -> None:
        """Apply ``entries`` in one transaction, then acknowledge them and publish what changed."""
        last = self.last_applied()
        changed_items: set[int] = set()
        copies: list[KnownUrl] = []
        finished_runs: list[tuple[str, str]] = []
        todo = [(entry_id, fields) for entry_id, fields in entries
                if fields is not None and entry_order(entry_id) > last]
        if todo:
            with write_transaction(self.db):
                for _entry_id, fields in todo:
                    kind, run, payload = decode(fields)
                    self.fingerprint = decode_fingerprint(fields)
                    self.apply(kind, run, payload, changed_items, copies, finished_runs)
                newest = max((entry_id for entry_id, _ in todo), key=entry_order)
                self.db.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)",
                                [LAST_APPLIED, newest.decode()])
        ids = [entry_id for entry_id, _ in entries]
        pipe = self.client.pipeline()
        pipe.xack(STREAM, GROUP, *ids)
        pipe.xdel(STREAM, *ids)
        pipe.execute()
        self.report.entries += len(todo)
        self.report.already_applied += len(entries) - len(todo)
        self._publish(changed_items, copies, finished_runs)

    def run(self, *, until_idle: bool = False, dead_after: float = 15.0, grace: float = 10.0,
            block_ms: int = 1000, stop: Any = None) -> WriterReport:
        """Apply entries as they come; with ``until_idle``, return once the stream is drained and
        no crawl process is left (after ``grace`` seconds, so that crawls started with it can join)."""
        started = time.perf_counter()
        try:
            while stop is None or not stop():
                entries = self.read(block_ms)
                if entries:
                    applying = time.perf_counter()
                    self.apply_batch(entries)
                    self.report.busy_seconds += time.perf_counter() - applying
                    continue
                waited = time.perf_counter() - started
                if until_idle and waited >= grace and not self.crawlers_alive(dead_after):
                    # Nothing new was read and nobody can add more: one last look, then stop.
                    self._pending_done = False
                    last_look = self.read(0) if self.client.xlen(STREAM) else []
                    if not last_look:
                        break
                    self.apply_batch(last_look)
        finally:
            self.report.seconds = time.perf_counter() - started
        return self.report

    def crawlers_alive(self, dead_after: float) -> int:
        return int(self.client.zcount(CRAWLERS, time.time() - dead_after, "+inf"))

    # One entry -----------------------------------------------------------------

    def apply(self, kind: str, run: str, payload: dict[str, Any], changed_items: set[int],
              copies: list[KnownUrl], finished_runs: list[tuple[str, str]]) -> None:
        if kind == RUN_START:
            self._run_id(run, payload)
        elif kind == PROBLEM:
            self._problem(self._run_id(run, payload), payload["source"], payload["url"], payload["problem"],
                          payload.get("detail", ""))
        elif kind == ARTICLE:
            self._article(run, decode_article(payload), changed_items, copies)
        elif kind == RECHECK:
            page = decode_recheck(payload)
            outcome, item_id = store_recheck(self.db, page)
            self._count(run, page.source, outcome)
            if item_id is not None:
                changed_items.add(item_id)
                if page.status != 304:
                    self._restory_if_shared(item_id)
        elif kind == RUN_END:
            source = self._run_end(run, payload)
            if source is not None:
                finished_runs.append((source, payload["status"]))
        else:
            logger.warning("unknown stream entry kind %r: skipped", kind)

    def _article(self, run: str, article: Article, changed_items: set[int], copies: list[KnownUrl]) -> None:
        try:
            source = self.sources.get(article.source)
        except ConfigError as exc:  # a crawl process with another sources.toml
            logger.error("%s: not archived: %s", article.url, exc)
            return
        run_id = self._run_id(run, {"source": article.source})
        url = article.canonical_url or article.url
        if not article.title.strip():  # as StorePipeline: not archived
            self._problem(run_id, article.source, article.url, Problem.NO_TITLE,
                          "title empty once cleaned: not archived", counter="no_title")
            return
        if len(article.body) > MAX_BODY_CHARS:
            self._problem(run_id, article.source, article.url, Problem.TOO_LARGE,
                          f"body of {len(article.body)} characters cut to {MAX_BODY_CHARS}")
            article.body = article.body[:MAX_BODY_CHARS]
        outcome, item_id = store_article(self.db, article, source, self.sources.rank)
        self._count(run, article.source, outcome)
        changed_items.add(item_id)
        for problem, detail in article.problems:
            self._problem(run_id, article.source, url, problem, detail)
        if outcome != DUPLICATE:
            if article.published is None and source.kind != "page":
                self._problem(run_id, article.source, url, Problem.NO_DATE,
                              "archived without a publication date", counter="no_date")
            if not article.body:
                self._problem(run_id, article.source, url, Problem.NO_BODY, "archived without body text",
                              counter="no_body")
        fetched = utc_now()
        for copy_url in {article.canonical_url, article.url} - {None}:
            copies.append(KnownUrl(str(copy_url), article.source, fetched))
        if outcome in STORY_OUTCOMES:
            refs = translation_refs(url, article.alternates, article.shortlink)
            # The crawl worker's fingerprint, used if its boilerplate hint still holds.
            self.index.update(item_id, fingerprint=self.fingerprint, body=article.body, refs=refs)
            derived.clear(self.db, item_id, "stories")  # marked by store_article, same transaction
            self.sources_touched.add(article.source)
        elif outcome in ("duplicate", "unchanged"):
            self._restory_if_shared(item_id)
        if self.classifier is not None and outcome in CLASSIFY_OUTCOMES:
            classify_item(self.db, self.classifier, item_id)  # topics with their scores
            derived.clear(self.db, item_id, "topics")

    def _restory_if_shared(self, item_id: int) -> None:
        shared = self.db.execute("SELECT s.members FROM items i JOIN stories s ON s.id = i.story_id "
                                 "WHERE i.id = ?", [item_id]).fetchone()
        if shared and shared[0] >= 2:
            self.index.restory({item_id})

    def _run_id(self, run: str, payload: dict[str, Any]) -> int:
        """The crawl_runs id of a crawl process's run, its row inserted at the first entry seen."""
        if run in self.run_ids:
            return self.run_ids[run]
        row = self.db.execute("SELECT value FROM state WHERE key = ?", [RUN_KEY + run]).fetchone()
        if row is not None:
            run_id = int(row[0])
        else:
            run_id = int(self._table("crawl_runs").insert({
                "source": payload["source"], "started": payload.get("started") or utc_now(),
                "status": "running", "pid": payload.get("pid"), "log_path": payload.get("log_path"),
                "full_crawl": payload.get("full_crawl", 0),
            }).last_pk or 0)
            self.db.execute("INSERT INTO state (key, value) VALUES (?, ?)", [RUN_KEY + run, str(run_id)])
        self.run_ids[run] = run_id
        return run_id

    def _table(self, name: str) -> Table:
        return self.db.table(name)

    def _count(self, run: str, source: str, outcome: str) -> None:
        self.report.outcomes[outcome] += 1
        if outcome in _OUTCOME_COLUMNS:
            run_id = self._run_id(run, {"source": source})
            self.db.execute(f"UPDATE crawl_runs SET items_{outcome} = items_{outcome} + 1 WHERE id = ?",
                            [run_id])
        if outcome == REMOVED:
            logger.info("[%s] removed item", source)

    def _problem(self, run_id: int, source: str, url: str, problem: str, detail: str,
                 counter: str | None = None) -> None:
        self._table("crawl_problems").insert({"run_id": run_id, "source": source, "url": url,
                                              "problem": problem, "detail": detail, "at": utc_now()})
        if counter:
            self.db.execute(f"UPDATE crawl_runs SET {counter} = {counter} + 1 WHERE id = ?", [run_id])

    def _run_end(self, run: str, payload: dict[str, Any]) -> str | None:
        run_id = self._run_id(run, payload if "source" in payload else {"source": "?"})
        values = {column: payload.get(column) for column in _CRAWL_COLUMNS if column in payload}
        self._table("crawl_runs").update(run_id, values)
        self.db.execute("DELETE FROM state WHERE key = ?", [RUN_KEY + run])
        self.run_ids.pop(run, None)
        row = self.db.execute("SELECT source FROM crawl_runs WHERE id = ?", [run_id]).fetchone()
        return row[0] if row else None

    # The summary ---------------------------------------------------------------

    def _publish(self, item_ids: set[int], copies: list[KnownUrl],
                 finished_runs: list[tuple[str, str]]) -> None:
        known = list(copies)
        ids = sorted(item_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("?" for _ in chunk)
            for url, source, fetched, etag, modified, status in self.db.execute(
                    "SELECT url, source, fetched, http_etag, http_last_modified, status FROM items "
                    f"WHERE id IN ({marks})", chunk):
                known.append(KnownUrl(url, source, fetched, etag, modified, active=status == "active"))
        if known:
            publish_known(self.client, known)
        for source in self.sources_touched:
            publish_boilerplate(self.client, source, self.index.known_boilerplate(source))
        self.sources_touched.clear()
        for source, status in finished_runs:
            self.client.set(last_run_key(source), status)

