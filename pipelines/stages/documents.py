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

from pipelines import workers
from pipelines.documents import DocumentText, FetchedDocument, UnchangedDocument, extract_document, sha256
from pipelines.normalize import normalize_language
from pipelines.signals import report_problem
from presswatch.archive.db import open_archive, to_utc_text, utc_now, write_transaction
from presswatch.archive.documents import (
    NEW,
    UPDATED,
    DocumentRecord,
    known_sha256,
    store_document,
    touch_document,
)

logger = logging.getLogger("presswatch.documents")

# Language detection reads the start of the text: enough to decide, cheap on a 500-page report.
LANGUAGE_SAMPLE = 5000


def read_document(body: bytes, item_language: str | None = None) -> tuple[DocumentText, str | None]:
    """In a worker: the document's text and its language.

    The language is the item's when its page declares one (as IOM's pages do): detecting
    it would load the language model (~70 MB) into every worker that reads a PDF, and the
    crawl's memory target has no room for that. Without one, it is detected from the text.
    """
    text = extract_document(body)
    if not text.text.strip():
        return text, None
    if item_language:
        return text, item_language
    return text, normalize_language(None, text.text[:LANGUAGE_SAMPLE])


class DocumentPipeline:
    def __init__(self, crawler: Any):
        self.crawler = crawler
        self.db_path = crawler.settings["PRESSWATCH_DB"]
        self.workers = crawler.settings.getint("PRESSWATCH_WORKERS", workers.default_size())
        self.db: sqlite_utils.Database | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> DocumentPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        workers.acquire(self.workers)
        self.db = open_archive(self.db_path)

    def close_spider(self) -> None:
        workers.release()
        if self.db is not None:
            self.db.close()
            self.db = None

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, UnchangedDocument):
            assert self.db is not None
            with write_transaction(self.db):
                touch_document(self.db, item.item_id, item.url, to_utc_text(item.fetched))
            self.crawler.stats.inc_value("presswatch/documents_unchanged")
            return item
        if not isinstance(item, FetchedDocument):
            return item
        assert self.db is not None
        digest = sha256(item.body)
        fetched = to_utc_text(item.fetched)
        if known_sha256(self.db, item.item_id, item.url) == digest:
            with write_transaction(self.db):
                touch_document(self.db, item.item_id, item.url, fetched, item.etag, item.last_modified)
            self.crawler.stats.inc_value("presswatch/documents_unchanged")
            return item
        try:
            row = self.db.execute("SELECT language FROM items WHERE id = ?", [item.item_id]).fetchone()
            text, language = await workers.run(read_document, item.body, row[0] if row else None)
        except Exception as exc:  # a crash in a worker loses this document only
            text, language = DocumentText([], 0, "document_unreadable", f"extraction failed: {exc!r}"), None
        record = DocumentRecord(
            item_id=item.item_id, url=item.url, sha256=digest, content_type=item.content_type,
            bytes=len(item.body), fetched=fetched, pages=text.pages,
            page_count=text.page_count or None, language=language, problem=text.problem, detail=text.detail,
            etag=item.etag, last_modified=item.last_modified,
        )
        with write_transaction(self.db):
            outcome, _document_id = store_document(self.db, record, utc_now())
        self.crawler.stats.inc_value(f"presswatch/documents_{outcome}")
        if outcome in (NEW, UPDATED):
            logger.info("[%s] document %s: %s (%s pages, %.2f s)", item.source, outcome, item.url,
                        text.page_count, text.seconds)
        if text.problem:
            report_problem(self.crawler, item.url, text.problem, text.detail)
        item.body = b""  # the bytes are not needed past here: free them now
        return item
