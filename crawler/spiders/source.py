"""The generic spider: one source of sources.toml, from listings to item pages.

It only decides what to fetch: listing pages (CSS/XPath selectors from the
config, with pagination), feeds and sitemaps where a source has them, and the
item pages they link to, within the source's domains. What a page means is the
pipelines' business: the spider yields the page as fetched.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.misc import load_object
from scrapy.utils.sitemap import Sitemap
from twisted.internet.error import TimeoutError as TwistedTimeoutError
from twisted.python.failure import Failure
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding

from crawler.encoding import decode_page
from crawler.guard import OffsiteRequest
from crawler.known import DUE, FRESH, NEW, ArchiveIndex, KnownPage
from pipelines.extract import select, selected_text
from pipelines.items import FetchedPage, RecheckedPage
from pipelines.signals import report_problem
from presswatch.config.sources import Source, load_sources

# Item pages go before the next listing page: the scheduler then holds one
# listing page's links at a time instead of every link of every listing page
# (20,000 queued requests in a 20,000-item crawl), so memory does not grow
# with the size of the site.
ITEM_PRIORITY = 1

class SourceSpider(scrapy.Spider):
    name = "source"

    def __init__(self, source: str | None = None, *args: Any, **kwargs: Any):
        if not source:
            raise ValueError("give the source id: scrapy crawl source -a source=<id>")
        super().__init__(source, *args, **kwargs)
        self.source_id = source
        self.config: Source | None = None
        self.full = False  # --full: walk every listing page, fetch every item
        self.resume = False  # the last crawl did not finish: walk every listing page
        self.known: ArchiveIndex | None = None

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> SourceSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.config = load_sources(crawler.settings["PRESSWATCH_SOURCES"]).get(spider.source_id)
        # OffsiteMiddleware drops every request outside these.
        spider.allowed_domains = spider.config.allowed_domains
        spider.full = crawler.settings.getbool("PRESSWATCH_FULL")
        spider.db_path = crawler.settings["PRESSWATCH_DB"]
        crawler.signals.connect(spider.redirect_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(spider.redirect_dropped, signal=signals.request_dropped)
        return spider

    # Redirects the crawl will not follow are dropped at scheduling, where no
    # errback hears of them: record them here, with where they pointed.

    def redirect_scheduled(self, request: Request, spider: Any) -> None:
        if request.meta.get("redirect_urls") and not self.config.allows(request.url):
            origin = request.meta["redirect_urls"][0]
            report_problem(self.crawler, origin, "offsite", f"redirects to {request.url}: not followed")

    def redirect_dropped(self, request: Request, spider: Any) -> None:
        if request.meta.get("redirect_urls"):
            origin = request.meta["redirect_urls"][0]
            report_problem(self.crawler, origin, "redirect_loop", f"redirects back to {request.url}: a loop")

    async def start(self):
        config = self.config
        assert config is not None
        if not self.full:
            self.known = self.archive_index()
            # Stopping pagination early is only safe if the last crawl walked
            # the listings to their end: after a crash, walk them all again.
            self.resume = not self.known.last_run_completed(self.source_id, getattr(self, "run_id", None))
        for url in config.feeds:
            yield Request(url, callback=self.parse_feed, errback=self.discovery_failed)
        for url in config.sitemaps:
            yield Request(url, callback=self.parse_sitemap, errback=self.discovery_failed)
        for url in config.start_urls:
            yield Request(
                url, callback=self.parse_listing, errback=self.listing_failed, cb_kwargs={"page": 1}
            )
        if self.known is not None:
            # Archived items due for a re-check, whether or not a listing still shows them.
            due = self.known.due_items(self.source_id, datetime.now(UTC), config.recheck_after,
                                       config.recheck_per_crawl)
            for url, known in due:
                yield self.recheck_request(url, known, None, None)

    def archive_index(self) -> ArchiveIndex:
        """What the archive holds: the SQLite file, or (PRESSWATCH_ARCHIVE_INDEX, a shared crawl)
        the summary its writer publishes."""
        index_class = self.crawler.settings.get("PRESSWATCH_ARCHIVE_INDEX")
        if index_class:
            return load_object(index_class)(self.crawler.settings)
        return ArchiveIndex(self.db_path)

    # Discovery -----------------------------------------------------------

    def closed(self, reason: str) -> None:
        if self.known is not None:
            self.known.close()

    def parse_listing(self, response: Response, page: int, known_streak: int = 0):
        listing = self.config.listing
        if not isinstance(response, TextResponse):
            report_problem(self.crawler, response.url, "listing_error", "not an HTML page")
            return
        cards = select(response.selector, listing.item) if listing.item else [response.selector]
        found = archived = 0
        for card in cards:
            links = select(card, listing.link) if listing.link else [card]
            listing_date = selected_text(card, listing.date) if (listing.date and listing.item) else None
            for link in links:
                href = link.root if isinstance(link.root, str) else link.attrib.get("href")
                if not (href and href.strip()):
                    continue
                url = response.urljoin(href.strip())
                if not self.config.is_item_url(url):
                    continue
                found += 1
                state, request = self.item_request_state(url, response.url, listing_date)
                if state != NEW:
                    archived += 1
                if request is not None:
                    yield request
        if found == 0:
            self.logger.warning("listing page %s (page %d) lists no items", response.url, page)
        # Incremental crawl: listings are newest first, so once pages list only
        # archived items (for `stop_after_known_pages` pages in a row), the rest
        # of the listing is older and already archived.
        known_streak = known_streak + 1 if (found and archived == found) else 0
        if not (self.full or self.resume) and known_streak >= listing.stop_after_known_pages:
            self.crawler.stats.inc_value("presswatch/listings_stopped_early")
            return
        if listing.next and page < listing.max_pages:
            for link in select(response.selector, listing.next)[:1]:
                href = link.root if isinstance(link.root, str) else link.attrib.get("href")
                if href and href.strip():
                    yield response.follow(
                        href.strip(), callback=self.parse_listing, errback=self.listing_failed,
                        cb_kwargs={"page": page + 1, "known_streak": known_streak},
                    )

    def parse_feed(self, response: Response):
        if not isinstance(response, TextResponse):
            return
        selector = response.selector
        selector.remove_namespaces()
        for entry in selector.xpath("//item | //entry"):
            href = entry.xpath("link/text()").get() or entry.xpath(
                "link[@rel='alternate' or not(@rel)]/@href"
            ).get()
            date = entry.xpath("pubDate/text() | published/text() | updated/text()").get()
            if href and href.strip():
                request = self.item_request(response.urljoin(href.strip()), response.url, date)
                if request is not None:
                    yield request

    def parse_sitemap(self, response: Response):
        try:
            sitemap = Sitemap(response.body)
        except Exception as exc:  # not XML at all
            report_problem(self.crawler, response.url, "listing_error", f"unreadable sitemap: {exc}")
            return
        for entry in sitemap:
            location = entry.get("loc", "").strip()
            if not location:
                continue
            if sitemap.type == "sitemapindex":
                yield Request(location, callback=self.parse_sitemap, errback=self.discovery_failed)
            else:
                request = self.item_request(location, response.url, None)
                if request is not None:
                    yield request

    def item_request(self, url: str, found_on: str, listing_date: str | None) -> Request | None:
        """The request for an item link, or None when it is not an item or need not be fetched."""
        if not self.config.is_item_url(url):
            return None
        return self.item_request_state(url, found_on, listing_date)[1]

    def item_request_state(
        self, url: str, found_on: str, listing_date: str | None
    ) -> tuple[str, Request | None]:
        """Whether ``url`` is new, due or fresh, and the request to make for it (None: skip)."""
        meta = {"listing_date": listing_date, "listing_url": found_on}
        if self.known is None:
            return NEW, Request(url, callback=self.parse_item, errback=self.item_failed, meta=meta,
                                priority=ITEM_PRIORITY)
        state, known = self.known.classify(url, datetime.now(UTC), self.config.recheck_after)
        if state == FRESH:
            self.crawler.stats.inc_value("presswatch/skipped_fresh")
            return state, None
        if state == DUE:
            return state, self.recheck_request(url, known, found_on, listing_date)
        return state, Request(url, callback=self.parse_item, errback=self.item_failed, meta=meta,
                              priority=ITEM_PRIORITY)

    def recheck_request(
        self, url: str, known: KnownPage, found_on: str | None, listing_date: str | None
    ) -> Request:
        """A conditional GET of an archived page: 304 means unchanged, 404/410 removed."""
        meta = {"listing_date": listing_date, "listing_url": found_on, "recheck": True,
                "handle_httpstatus_list": [304, 404, 410]}
        return Request(url, callback=self.parse_item, errback=self.item_failed, meta=meta,
                       headers=known.conditional_headers(), priority=ITEM_PRIORITY)

    # Item pages ----------------------------------------------------------

    def parse_item(self, response: Response):
        if response.status in (304, 404, 410):
            # Only re-checks of archived items let these through (handle_httpstatus_list).
            yield RecheckedPage(self.source_id, response.url, response.status, datetime.now(UTC))
            return
        if not isinstance(response, TextResponse):
            report_problem(self.crawler, response.url, "not_html",
                           f"skipped: {response.headers.get('Content-Type', b'').decode(errors='replace')}")
            return
        headers = response.headers
        content_type = headers.get(b"Content-Type", b"").decode("latin-1")
        declared = http_content_type_encoding(content_type) or html_body_declared_encoding(response.body)
        html, _encoding, charset_problem = decode_page(response.body, declared, self.config.languages)
        if charset_problem:
            report_problem(self.crawler, response.url, "charset", charset_problem)
        yield FetchedPage(
            source=self.source_id,
            url=response.url,
            html=html,
            status=response.status,
            fetched=datetime.now(UTC),
            etag=_header(headers, b"ETag"),
            last_modified=_header(headers, b"Last-Modified"),
            listing_date=response.meta.get("listing_date"),
            listing_url=response.meta.get("listing_url"),
        )

    # Failures: recorded with their URL, never fatal to the crawl ----------

    def _failure_problem(self, failure: Failure, default: str) -> tuple[str, str]:
        """A failed request as (problem, detail) for crawl_problems."""
        message = failure.getErrorMessage() or type(failure.value).__name__
        if failure.check(HttpError):
            return "http_error", f"HTTP {failure.value.response.status}"
        if failure.check(OffsiteRequest):
            return "offsite", message
        if failure.check(IgnoreRequest):
            if "robots.txt" in message:
                return "robots", message
            if "DOWNLOAD_MAXSIZE" in message or "max size" in message:
                return "too_large", message
            if "redirections" in message:
                return "redirect_loop", message
            return "ignored", message
        if failure.check(TwistedTimeoutError) or "took longer than" in message:
            return "timeout", message
        if "max size" in message:
            return "too_large", message
        return default, message

    def item_failed(self, failure: Failure) -> None:
        problem, detail = self._failure_problem(failure, "network_error")
        report_problem(self.crawler, failure.request.url, problem, detail)

    def listing_failed(self, failure: Failure) -> None:
        problem, detail = self._failure_problem(failure, "listing_error")
        report_problem(self.crawler, failure.request.url, problem, f"listing page: {detail}")

    def discovery_failed(self, failure: Failure) -> None:
        # Feeds and sitemaps are a bonus: listings still find the items.
        self.logger.info("feed/sitemap %s did not answer: %s", failure.request.url, failure.getErrorMessage())


def _header(headers: Any, name: bytes) -> str | None:
    value = headers.get(name)
    return value.decode("latin-1") if value else None
