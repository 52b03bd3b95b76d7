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
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from parsel import Selector
from scrapy import signals
from scrapy.http import Request, Response
from twisted.python.failure import Failure

from pipelines.documents import FetchedDocument, UnchangedDocument, type_problem
from pipelines.extract import select
from pipelines.items import Article, RecheckedPage
from pipelines.normalize import canonical_url
from pipelines.signals import report_problem
from presswatch.archive.db import open_archive
from presswatch.config.sources import Source

logger = logging.getLogger("presswatch.documents")

MB = 1024 * 1024
MAX_DOCUMENTS_PER_ITEM = 10
# Documents go after the item pages queued with them (ITEM_PRIORITY is 1): the
# crawl's memory holds at most a few PDFs at a time.
DOCUMENT_PRIORITY = 0
# Where pages put the main text when the source names no body selector.
DEFAULT_BODY = "main, article, [role=main]"


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

    def __init__(self, crawler: Any, config: Source, db_path: str):
        self.crawler = crawler
        self.config = config
        self.db_path = db_path
        self.max_bytes = int(config.max_document_mb * MB)
        self.pending: dict[str, list[str]] = {}  # item page URL -> its document links
        self._db: Any = None
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
            if item.item_id is None or item.outcome == "duplicate":
                return  # a copy: the item it was folded into has the documents
            for request in self.requests(item.source, item.item_id, links):
                self.crawler.engine.crawl(request)
        elif isinstance(item, RecheckedPage) and item.status == 304:
            # The page did not change; its documents may have.
            item_id = self._item_id(item.url)
            if item_id is not None:
                for request in self.requests(item.source, item_id, []):
                    self.crawler.engine.crawl(request)

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
    def db(self) -> Any:
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
            headers = {}
            etag, last_modified = known.get(url, (None, None))
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            yield Request(
                url, callback=self.parse_document, errback=self.document_failed, headers=headers,
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
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
        problem = type_problem(content_type, response.body)
        if problem is not None:
            report_problem(self.crawler, response.url, "document_not_pdf", problem)
            return
        yield FetchedDocument(
            source=about["source"], item_id=about["item_id"], url=response.url, body=response.body,
            content_type=content_type.split(";", 1)[0].strip().lower() or "application/pdf", fetched=now,
            etag=_header(response, b"ETag"), last_modified=_header(response, b"Last-Modified"),
        )

    def document_failed(self, failure: Failure) -> None:
        spider = self.crawler.spider
        problem, detail = spider._failure_problem(failure, "network_error")
        if type(failure.value).__name__ == "DownloadCancelledError":
            # Scrapy cancels a body that grows past download_maxsize (sent without a length).
            problem, detail = "too_large", "download cancelled at the size limit"
        if problem == "too_large":
            detail = f"larger than max_document_mb ({self.config.max_document_mb:g} MB): {detail}"
        report_problem(self.crawler, failure.request.url, f"document_{problem}", detail)


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
