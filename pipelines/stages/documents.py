"""DocumentPipeline: a fetched PDF -> its text (worker pool) -> the documents tables.

Unchanged bytes (same sha256) or a 304 only refresh the fetch time and
validators; new bytes are read page by page in the worker pool
(pipelines/documents.py) and stored as a new document or a new version of it
(presswatch/archive/documents.py). A document that cannot be read completely
is kept with its problem, and the problem goes to crawl_problems.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlite_utils
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from pipelines import workers
from pipelines.documents import TIME_LIMIT, DocumentText, read_document, sha256
from pipelines.items import FetchedDocument, UnchangedDocument
from pipelines.signals import report_problem
from pipelines.stages import archive
from pipelines.stages.config import archive_path
from presswatch.archive.documents import DocumentRecord, known_sha256, store_document, touch_document
from presswatch.archive.outcomes import Outcome, Problem
from presswatch.archive.times import to_utc_text, utc_now

logger = logging.getLogger("presswatch.documents")

# The reader's own time limit, as a share of the worker pool's step limit: it stops between
# pages and keeps what it read, before the pool would kill the worker and lose everything.
STEP_SHARE = 0.8


def reading_time_limit(step_seconds: float) -> float:
    """How long one document may be read: TIME_LIMIT, within the pool's step limit (0: none)."""
    return min(TIME_LIMIT, step_seconds * STEP_SHARE) if step_seconds > 0 else TIME_LIMIT


class DocumentPipeline:
    """Reads and stores the FetchedDocument / UnchangedDocument items crawler/documents.py yields."""

    def __init__(self, crawler: Crawler, db_path: str):
        self.crawler = crawler
        self.db_path = db_path
        self.workers = crawler.settings.getint("PRESSWATCH_WORKERS", workers.default_size())
        self.step_seconds = crawler.settings.getfloat("PRESSWATCH_STEP_SECONDS", workers.DEFAULT_STEP_SECONDS)
        self.time_limit = reading_time_limit(self.step_seconds)
        self.db: sqlite_utils.Database | None = None
        self.archive: archive.SharedArchive | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DocumentPipeline:
        db_path = archive_path(crawler)
        if not db_path:
            raise NotConfigured("PRESSWATCH_DB is not set: no archive to keep documents in")
        return cls(crawler, db_path)

    def open_spider(self) -> None:
        workers.acquire(self.workers, self.step_seconds)
        self.archive = archive.acquire(self.crawler)
        self.db = self.archive.db

    def close_spider(self) -> None:
        workers.release()
        if self.archive is not None:
            archive.release(self.archive)
            self.archive, self.db = None, None

    def _count(self, outcome: Outcome) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"presswatch/documents_{outcome}")

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, UnchangedDocument):
            assert self.db is not None and self.archive is not None
            await self.archive.writable()
            with self.archive.step():
                touch_document(self.db, item.item_id, item.url, to_utc_text(item.fetched))
            self._count(Outcome.UNCHANGED)
            return item
        if not isinstance(item, FetchedDocument):
            return item
        assert self.db is not None
        digest = sha256(item.body)
        fetched = to_utc_text(item.fetched)
        if known_sha256(self.db, item.item_id, item.url) == digest:
            assert self.archive is not None
            await self.archive.writable()
            with self.archive.step():
                touch_document(self.db, item.item_id, item.url, fetched, item.etag, item.last_modified)
            self._count(Outcome.UNCHANGED)
            return item
        text, language = await self._read(item)
        record = DocumentRecord(
            item_id=item.item_id, url=item.url, sha256=digest, content_type=item.content_type,
            bytes=len(item.body), fetched=fetched, pages=text.pages,
            page_count=text.page_count or None, language=language, problem=text.problem, detail=text.detail,
            etag=item.etag, last_modified=item.last_modified,
        )
        assert self.archive is not None and self.db is not None
        await self.archive.writable()
        with self.archive.step():
            outcome, _document_id = store_document(self.db, record, utc_now())
        self._count(outcome)
        if outcome in (Outcome.NEW, Outcome.UPDATED):
            logger.info("[%s] document %s: %s (%s pages, %.2f s)", item.source, outcome, item.url,
                        text.page_count, text.seconds)
        if text.problem:
            report_problem(self.crawler, item.url, text.problem, text.detail)
        item.body = b""  # the bytes are not needed past here: free them now
        return item

    async def _read(self, item: FetchedDocument) -> tuple[DocumentText, str | None]:
        """The document's text and language, read in the worker pool; a failure is its problem."""
        assert self.db is not None
        row = self.db.execute("SELECT language FROM items WHERE id = ?", [item.item_id]).fetchone()
        try:
            return await workers.run(read_document, item.body, row[0] if row else None, self.time_limit)
        except workers.TooSlow as exc:  # one page held the worker past the step limit: it was replaced
            return DocumentText([], 0, Problem.DOCUMENT_TIME_LIMIT, f"reading {exc}"), None
        except Exception as exc:  # a crash in a worker loses this document only
            return DocumentText([], 0, Problem.DOCUMENT_UNREADABLE, f"extraction failed: {exc!r}"), None
