"""Fetching the documents (PDFs) an archived item links, in the same crawl.

The spider notes the PDF links of each item page it parses (`document_links`:
its metadata fields and the links in its body, on the source's domains). Once
the page is archived (Scrapy's item_scraped: the item id is known), the
`DocumentFetcher` requests each of them: bounded in size (`max_document_mb` of
the source), conditional when the archive holds the document already, checked
for its content type and %PDF magic bytes. A 304 Not Modified for an archived
page re-checks its documents too. What comes back goes through the item
pipelines as a `FetchedDocument` (pipelines/stages/documents.py reads and stores
it); every failure is a crawl problem with the document's URL, and never
stops or spoils the crawl.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import sqlite_utils
from parsel import Selector
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Request, Response
from twisted.python.failure import Failure

from pipelines.documents import type_problem
from pipelines.items import Article, FetchedDocument, RecheckedPage, UnchangedDocument
from pipelines.normalize.urls import canonical_url
from pipelines.selectors import select
from pipelines.signals import report_problem
from presswatch.archive.db import open_archive
from presswatch.archive.outcomes import Outcome, Problem
from presswatch.config.sources import Source
from presswatch.http import conditional_headers

logger = logging.getLogger("presswatch.documents")

MB = 1024 * 1024
MAX_DOCUMENTS_PER_ITEM = 10
# Documents go after the item pages queued with them (ITEM_PRIORITY is 1): the
# crawl's memory holds at most a few PDFs at a time.
DOCUMENT_PRIORITY = 0
# Where pages put the main text when the source names no body selector.
DEFAULT_BODY = "main, article, [role=main]"
# A failed download's problem: the page's problem (the spider's `_failure_problem`) for a document.
FETCH_PROBLEMS: dict[str, Problem] = {
    Problem.HTTP_ERROR: Problem.DOCUMENT_HTTP_ERROR,
    Problem.NETWORK_ERROR: Problem.DOCUMENT_NETWORK_ERROR,
    Problem.TIMEOUT: Problem.DOCUMENT_TIMEOUT,
    Problem.TOO_LARGE: Problem.DOCUMENT_TOO_LARGE,
    Problem.ROBOTS: Problem.DOCUMENT_ROBOTS,
    Problem.OFFSITE: Problem.DOCUMENT_OFFSITE,
    Problem.REDIRECT_LOOP: Problem.DOCUMENT_REDIRECT_LOOP,
}
# How the spider names a failed request: (problem, detail) from the failure and a default problem.
FailureProblem = Callable[[Failure, str], tuple[str, str]]


def is_document_link(url: str, link_type: str | None = None) -> bool:
    """Does ``url`` (or the link's type attribute) point to a PDF?"""
    if link_type and "pdf" in link_type.lower():
        return True
    return urlsplit(url).path.lower().endswith(".pdf")


def mentions_pdf(body: bytes) -> bool:
    """Could the page link a PDF at all? (0.2 ms on a 50 KB page; a regular expression took 3 ms)"""
    return b"pdf" in body.lower()


def document_links(url: str, html: str, config: Source) -> list[str]:
    """The PDFs an item page links in its metadata fields or its body, on the source's domains.

    The crawl process never builds a page's DOM otherwise (extraction runs in the
    workers), so the spider asks only for pages that `mentions_pdf`; the tree built
    here is freed on return, not cached on the response Scrapy keeps.
    """
    page = Selector(text=html)
    found: list[str] = []
    for expression in config.metadata.values():
        for match in select(page, expression):
            value = match.root if isinstance(match.root, str) else match.attrib.get("href")
            if value and value.strip() and is_document_link(value.strip()):
                found.append(urljoin(url, value.strip()))
    body = config.selectors.body or DEFAULT_BODY
    for region in select(page, body):
        for link in region.css("a[href]"):
            href = link.attrib.get("href", "").strip()
            if href and is_document_link(href, link.attrib.get("type")):
                found.append(urljoin(url, href))
    allowed = [url for url in dict.fromkeys(found) if url.startswith(("http://", "https://"))
               and config.allows(url)]
    return allowed[:MAX_DOCUMENTS_PER_ITEM]


class DocumentFetcher:
    """Requests the documents of each archived item of one spider's crawl."""

    def __init__(self, crawler: Crawler, config: Source, db_path: str, failure_problem: FailureProblem):
        self.crawler = crawler
        self.config = config
        self.db_path = db_path
        self.failure_problem = failure_problem
        self.max_bytes = int(config.max_document_mb * MB)
        self.pending: dict[str, list[str]] = {}  # item page URL -> its document links
        self._db: sqlite_utils.Database | None = None
        crawler.signals.connect(self.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(self.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(self.item_dropped, signal=signals.item_error)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    # The spider's side ----------------------------------------------------

    def note_links(self, url: str, body: bytes, html: str) -> None:
        """Remember the page's document links until the page is archived."""
        if not mentions_pdf(body):  # most pages: nothing to parse
            return
        links = document_links(url, html, self.config)
        if links:
            self.pending[url] = links

    # Scrapy's signals -------------------------------------------------------

    def item_scraped(self, item: Any, response: Any = None, spider: Any = None) -> None:
        if isinstance(item, Article):
            links = self.pending.pop(item.url, [])
            if item.item_id is None or item.outcome == Outcome.DUPLICATE:
                return  # a copy: the item it was folded into has the documents
            self._crawl(self.requests(item.source, item.item_id, links))
        elif isinstance(item, RecheckedPage) and item.status == 304:
            # The page did not change; its documents may have.
            item_id = self._item_id(item.url)
            if item_id is not None:
                self._crawl(self.requests(item.source, item_id, []))

    def _crawl(self, requests: Iterator[Request]) -> None:
        engine = self.crawler.engine
        assert engine is not None, "items are scraped only while the engine runs"
        for request in requests:
            engine.crawl(request)

    def item_dropped(self, item: Any, response: Any = None, exception: Any = None, spider: Any = None,
                     failure: Any = None) -> None:
        url = getattr(item, "url", None)
        if url:
            self.pending.pop(url, None)

    def spider_closed(self, spider: Any = None, reason: str = "") -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # Requests and responses ------------------------------------------------

    @property
    def db(self) -> sqlite_utils.Database:
        if self._db is None:
            self._db = open_archive(self.db_path)
        return self._db

    def _item_id(self, url: str) -> int | None:
        row = self.db.execute("SELECT id FROM items WHERE url = ?", [canonical_url(url)]).fetchone()
        return row[0] if row else None

    def requests(self, source: str, item_id: int, links: list[str]) -> Iterator[Request]:
        """A request for each of the item's documents: those linked now and those archived."""
        known = {row[0]: (row[1], row[2]) for row in self.db.execute(
            "SELECT url, http_etag, http_last_modified FROM documents WHERE item_id = ?", [item_id])}
        for url in dict.fromkeys([*links, *known]):
            yield Request(
                url, callback=self.parse_document, errback=self.document_failed,
                headers=conditional_headers(*known.get(url, (None, None))),
                dont_filter=True,  # two items may link one PDF: each keeps its own copy
                priority=DOCUMENT_PRIORITY,
                meta={"presswatch_document": {"source": source, "item_id": item_id},
                      "download_maxsize": self.max_bytes,
                      "download_warnsize": self.max_bytes,
                      "handle_httpstatus_list": [304]},
            )

    def parse_document(self, response: Response) -> Iterator[FetchedDocument | UnchangedDocument]:
        about = response.meta["presswatch_document"]
        now = datetime.now(UTC)
        if response.status == 304:
            yield UnchangedDocument(about["source"], about["item_id"], response.url, now)
            return
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        problem = type_problem(content_type, response.body)
        if problem is not None:
            report_problem(self.crawler, response.url, Problem.DOCUMENT_NOT_PDF, problem)
            return
        yield FetchedDocument(
            source=about["source"], item_id=about["item_id"], url=response.url, body=response.body,
            content_type=content_type.split(";", 1)[0].strip().lower() or "application/pdf", fetched=now,
            etag=_header(response, b"ETag"), last_modified=_header(response, b"Last-Modified"),
        )

    def document_failed(self, failure: Failure) -> None:
        problem, detail = self.failure_problem(failure, Problem.NETWORK_ERROR)
        if type(failure.value).__name__ == "DownloadCancelledError":
            # Scrapy cancels a body that grows past download_maxsize (sent without a length).
            problem, detail = Problem.TOO_LARGE, "download cancelled at the size limit"
        if problem == Problem.TOO_LARGE:
            detail = f"larger than max_document_mb ({self.config.max_document_mb:g} MB): {detail}"
        if problem not in FETCH_PROBLEMS:  # a request Scrapy ignored for another reason
            detail = f"{problem}: {detail}"
        document_problem = FETCH_PROBLEMS.get(problem, Problem.DOCUMENT_NETWORK_ERROR)
        url = failure.request.url  # type: ignore[attr-defined]  # Scrapy sets it on errback failures
        report_problem(self.crawler, url, document_problem, detail)


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
