"""StorePipeline: the archive write of each item (see pipelines/store.py), and the per-run counters.

Each item's write is a step of the crawl's write batch (pipelines/stages/archive.py)."""

from __future__ import annotations

import logging
from typing import Any

import sqlite_utils
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from pipelines.items import Article, RecheckedPage
from pipelines.signals import report_problem
from pipelines.stages import archive
from pipelines.stages.config import archive_path, crawl_config
from pipelines.store import DUPLICATE, NEW, REMOVED, UPDATED, store_article, store_recheck
from presswatch.archive.outcomes import Problem

logger = logging.getLogger("presswatch.store")
MAX_BODY_CHARS = 1_000_000  # a stored body is cut here (a 200-page report's text; FTS indexes all of it)


class StorePipeline:
    """Writes Articles (and re-check results) into the archive, one savepoint of the batch each."""

    def __init__(self, crawler: Crawler, db_path: str):
        self.crawler = crawler
        self.db_path = db_path
        self.sources = crawl_config(crawler).sources
        self.max_body_chars = crawler.settings.getint("PRESSWATCH_MAX_BODY_CHARS", MAX_BODY_CHARS)
        self.db: sqlite_utils.Database | None = None
        self.archive: archive.SharedArchive | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        db_path = archive_path(crawler)
        if not db_path:
            raise NotConfigured("PRESSWATCH_DB is not set: nothing is archived")
        return cls(crawler, db_path)

    def open_spider(self) -> None:
        self.archive = archive.acquire(self.crawler)
        self.db = self.archive.db

    def close_spider(self) -> None:
        if self.archive is not None:
            archive.release(self.archive)
            self.archive, self.db = None, None

    def _count(self, outcome: str) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"presswatch/items_{outcome}")

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, (Article, RecheckedPage)):
            return item
        assert self.archive is not None
        return self.archive.when_writable(self._store, item)

    def _store(self, item: Article | RecheckedPage) -> Article | RecheckedPage:
        assert self.archive is not None and self.db is not None
        if isinstance(item, RecheckedPage):
            with self.archive.step():
                outcome, _item_id = store_recheck(self.db, item)
            self._count(outcome)
            if outcome == REMOVED:
                logger.info("[%s] removed: %s (HTTP %d)", item.source, item.url, item.status)
            return item
        if not item.title.strip():
            # A title of control or invisible characters only: empty once cleaned.
            report_problem(self.crawler, item.url, Problem.NO_TITLE, "title empty once cleaned: not archived")
            raise DropItem(f"empty title on {item.url}")
        if len(item.body) > self.max_body_chars:
            report_problem(self.crawler, item.url, Problem.TOO_LARGE,
                           f"body of {len(item.body)} characters cut to {self.max_body_chars}")
            item.body = item.body[: self.max_body_chars]
            item.fingerprint = None  # of the whole body: StoryPipeline fingerprints the stored one
        source = self.sources.get(item.source)
        with self.archive.step():
            outcome, item_id = store_article(self.db, item, source, self.sources.rank)
        item.outcome, item.item_id = outcome, item_id
        self._count(outcome)
        if outcome in (NEW, UPDATED):
            date = item.published.date().isoformat() if item.published else "undated"
            logger.info("[%s] %s: %s (%s, %s)", item.source, outcome, item.title, date, item.language)
        url = item.canonical_url or item.url
        for problem, detail in item.problems:
            report_problem(self.crawler, url, problem, detail)
        if outcome != DUPLICATE:
            # Information pages ("page") carry no dates by design: not a problem there.
            if item.published is None and source.kind != "page":
                report_problem(self.crawler, url, Problem.NO_DATE, "archived without a publication date")
            if not item.body:
                report_problem(self.crawler, url, Problem.NO_BODY, "archived without body text")
        return item
