"""The generic spider: one source of sources.toml, from listings to item pages.

It only decides what to fetch: listing pages (CSS/XPath selectors from the
config, with pagination), feeds and sitemaps where a source has them, and the
item pages they link to, within the source's domains. What a page means is the
pipelines' business: the spider yields the page as fetched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import scrapy
from parsel import Selector
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.misc import load_object
from scrapy.utils.sitemap import Sitemap
from twisted.internet.error import TimeoutError as TwistedTimeoutError
from twisted.python.failure import Failure
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding

from crawler.documents import DocumentFetcher
from crawler.encoding import decode_page
from crawler.guard import OffsiteRequest
from crawler.known import DUE, FRESH, NEW, ArchiveIndex, KnownPage
from pipelines.items import FetchedPage, RecheckedPage
from pipelines.selectors import select, selected_text
from pipelines.signals import report_problem
from pipelines.stages.config import archive_path, crawl_config
from presswatch.archive.outcomes import Problem
from presswatch.config.sources import Source

# Item pages go before the next listing page: the scheduler then holds one
# listing page's links at a time instead of every link of every listing page
# (20,000 queued requests in a 20,000-item crawl), so memory does not grow
# with the size of the site.
ITEM_PRIORITY = 1

@dataclass(frozen=True)
class Bounds:
    """What one crawl of one source may cost, whatever the site serves (issue 21): each bound,
    when hit, is recorded once as a `limit_reached` (discovery) or `too_large` (a page) problem."""

    max_page_bytes: int = 5 * 1024 * 1024
    max_elements: int = 30_000
    max_sitemap_depth: int = 3
    max_sitemaps: int = 50
    max_links_per_page: int = 1000
    max_requests: int = 20_000

    @classmethod
    def from_settings(cls, settings: Any) -> Bounds:
        return cls(
            max_page_bytes=int(settings.getfloat("PRESSWATCH_MAX_PAGE_MB", 5) * 1024 * 1024),
            max_elements=settings.getint("PRESSWATCH_MAX_ELEMENTS", cls.max_elements),
            max_sitemap_depth=settings.getint("PRESSWATCH_MAX_SITEMAP_DEPTH", cls.max_sitemap_depth),
            max_sitemaps=settings.getint("PRESSWATCH_MAX_SITEMAPS", cls.max_sitemaps),
            max_links_per_page=settings.getint("PRESSWATCH_MAX_LINKS_PER_PAGE", cls.max_links_per_page),
            max_requests=settings.getint("PRESSWATCH_MAX_REQUESTS", cls.max_requests),
        )


class SourceSpider(scrapy.Spider):
    name = "source"
    # Set by from_crawler, from the crawl's configuration.
    config: Source
    allowed_domains: list[str]
    db_path: str

    def __init__(self, source: str | None = None, *args: Any, **kwargs: Any):
        if not source:
            raise ValueError("give the source id: scrapy crawl source -a source=<id>")
        super().__init__(source, *args, **kwargs)
        self.source_id = source
        self.full = False  # --full: walk every listing page, fetch every item
        self.resume = False  # the last crawl did not finish: walk every listing page
        self.known: ArchiveIndex | None = None
        self.bounds = Bounds()
        self.requests_made = 0  # requests this crawl asked for (PRESSWATCH_MAX_REQUESTS)
        self.sitemaps_fetched = 0
        self.limits_hit: set[str] = set()  # bounds already recorded (once per crawl each)
        self.documents: DocumentFetcher | None = None  # the PDFs archived items link

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SourceSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.config = crawl_config(crawler).sources.get(spider.source_id)
        # OffsiteMiddleware drops every request outside these.
        spider.allowed_domains = spider.config.allowed_domains
        spider.full = crawler.settings.getbool("PRESSWATCH_FULL")
        spider.db_path = archive_path(crawler)
        spider.bounds = Bounds.from_settings(crawler.settings)
        if spider.db_path:  # documents are fetched for archived items only
            spider.documents = DocumentFetcher(crawler, spider.config, spider.db_path,
                                               spider._failure_problem)
        crawler.signals.connect(spider.redirect_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(spider.redirect_dropped, signal=signals.request_dropped)
        return spider

    # Redirects the crawl will not follow are dropped at scheduling, where no
    # errback hears of them: record them here, with where they pointed.

    def redirect_scheduled(self, request: Request, spider: Any) -> None:
        if request.meta.get("redirect_urls") and not self.config.allows(request.url):
            origin = request.meta["redirect_urls"][0]
            report_problem(self.crawler, origin, Problem.OFFSITE, f"redirects to {request.url}: not followed")

    def redirect_dropped(self, request: Request, spider: Any) -> None:
        if request.meta.get("redirect_urls"):
            origin = request.meta["redirect_urls"][0]
            report_problem(self.crawler, origin, Problem.REDIRECT_LOOP,
                           f"redirects back to {request.url}: a loop")

    async def start(self):
        config = self.config
        known = None if self.full else self.archive_index()
        if known is not None:  # no archive (scrapy crawl without PRESSWATCH_DB): fetch all
            self.known = known
            # Stopping pagination early is only safe if the last crawl walked
            # the listings to their end: after a crash, walk them all again.
            self.resume = not self.known.last_run_completed(self.source_id, getattr(self, "run_id", None))
        for url in config.feeds:
            if self.budget(url):
                yield Request(url, callback=self.parse_feed, errback=self.discovery_failed)
        for url in config.sitemaps:
            if self.budget(url):
                self.sitemaps_fetched += 1
                yield Request(url, callback=self.parse_sitemap, errback=self.discovery_failed,
                              cb_kwargs={"depth": 1})
        for url in config.start_urls:
            if self.budget(url):
                yield Request(
                    url, callback=self.parse_listing, errback=self.listing_failed, cb_kwargs={"page": 1}
                )
        if self.known is not None:
            # Archived items due for a re-check, whether or not a listing still shows them.
            due = self.known.due_items(self.source_id, datetime.now(UTC), config.recheck_after,
                                       config.recheck_per_crawl)
            for url, known in due:
                if self.budget(url):
                    yield self.recheck_request(url, known, None, None)

    # Bounds --------------------------------------------------------------

    def limit_reached(self, url: str, bound: str, detail: str) -> None:
        """Record that ``bound`` was hit (once per crawl per bound)."""
        if bound in self.limits_hit:
            return
        self.limits_hit.add(bound)
        report_problem(self.crawler, url, Problem.LIMIT_REACHED, f"{bound}: {detail}")

    def budget(self, url: str) -> bool:
        """May the crawl make one more request (PRESSWATCH_MAX_REQUESTS)? Counts it if so."""
        if self.requests_made >= self.bounds.max_requests:
            self.limit_reached(url, "PRESSWATCH_MAX_REQUESTS",
                               f"{self.bounds.max_requests} requests made: no more this crawl")
            return False
        self.requests_made += 1
        return True

    def archive_index(self) -> ArchiveIndex | None:
        """What the archive holds: the SQLite file, or (PRESSWATCH_ARCHIVE_INDEX, a shared crawl)
        the summary its writer publishes; None without either."""
        index_class = self.crawler.settings.get("PRESSWATCH_ARCHIVE_INDEX")
        if index_class:
            index: ArchiveIndex = load_object(index_class)(self.crawler.settings)
            return index
        return ArchiveIndex(self.db_path) if self.db_path else None

    # Discovery -----------------------------------------------------------

    def closed(self, reason: str) -> None:
        if self.known is not None:
            self.known.close()

    def parse_listing(self, response: Response, page: int, known_streak: int = 0):
        listing = self.config.listing
        assert listing is not None, "sources.toml refuses start_urls without [source.listing]"
        if not isinstance(response, TextResponse):
            report_problem(self.crawler, response.url, Problem.LISTING_ERROR, "not an HTML page")
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
                if found >= self.bounds.max_links_per_page:
                    break
                found += 1
                state, request = self.item_request_state(url, response.url, listing_date,
                                                         _teaser_title(card if listing.item else None, link))
                if state != NEW:
                    archived += 1
                if request is not None:
                    yield request
        if found >= self.bounds.max_links_per_page:
            self.limit_reached(response.url, "PRESSWATCH_MAX_LINKS_PER_PAGE",
                               f"only the first {found} item links of the page taken")
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
                if href and href.strip() and self.budget(response.urljoin(href.strip())):
                    yield response.follow(
                        href.strip(), callback=self.parse_listing, errback=self.listing_failed,
                        cb_kwargs={"page": page + 1, "known_streak": known_streak},
                    )

    def parse_feed(self, response: Response):
        if not isinstance(response, TextResponse):
            return
        selector = response.selector
        selector.remove_namespaces()
        for number, entry in enumerate(selector.xpath("//item | //entry")):
            if number >= self.bounds.max_links_per_page:
                self.limit_reached(response.url, "PRESSWATCH_MAX_LINKS_PER_PAGE",
                                   f"only the first {number} entries of the feed taken")
                break
            href = entry.xpath("link/text()").get() or entry.xpath(
                "link[@rel='alternate' or not(@rel)]/@href"
            ).get()
            date = entry.xpath("pubDate/text() | published/text() | updated/text()").get()
            if href and href.strip():
                request = self.item_request(response.urljoin(href.strip()), response.url, date)
                if request is not None:
                    yield request

    def parse_sitemap(self, response: Response, depth: int = 1):
        try:
            sitemap = Sitemap(response.body)
        except Exception as exc:  # not XML at all
            report_problem(self.crawler, response.url, Problem.LISTING_ERROR, f"unreadable sitemap: {exc}")
            return
        bounds = self.bounds
        for number, entry in enumerate(sitemap):
            location = entry.get("loc", "").strip()
            if not location:
                continue
            if number >= bounds.max_links_per_page:
                self.limit_reached(response.url, "PRESSWATCH_MAX_LINKS_PER_PAGE",
                                   f"only the first {number} entries of the sitemap taken")
                break
            if sitemap.type == "sitemapindex":
                if depth >= bounds.max_sitemap_depth:
                    self.limit_reached(response.url, "PRESSWATCH_MAX_SITEMAP_DEPTH",
                                       f"sitemap indexes nested deeper than {bounds.max_sitemap_depth}: "
                                       "not followed")
                    break
                if self.sitemaps_fetched >= bounds.max_sitemaps:
                    self.limit_reached(response.url, "PRESSWATCH_MAX_SITEMAPS",
                                       f"{bounds.max_sitemaps} sitemaps fetched: no more this crawl")
                    break
                if self.budget(location):
                    self.sitemaps_fetched += 1
                    yield Request(location, callback=self.parse_sitemap, errback=self.discovery_failed,
                                  cb_kwargs={"depth": depth + 1})
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
        self, url: str, found_on: str, listing_date: str | None, listing_title: str | None = None
    ) -> tuple[str, Request | None]:
        """Whether ``url`` is new, due or fresh, and the request to make for it (None: skip).
        The teaser's date and title travel with it: fallbacks when the page has none."""
        meta = {"listing_date": listing_date, "listing_title": listing_title, "listing_url": found_on}
        if not self.budget(url):
            return NEW, None
        if self.known is None:
            return NEW, Request(url, callback=self.parse_item, errback=self.item_failed, meta=meta,
                                priority=ITEM_PRIORITY)
        state, known = self.known.classify(url, datetime.now(UTC), self.config.recheck_after)
        if state == FRESH:
            self.crawler.stats.inc_value("presswatch/skipped_fresh")
            return state, None
        if state == DUE and known is not None:
            return state, self.recheck_request(url, known, found_on, listing_date, listing_title)
        return state, Request(url, callback=self.parse_item, errback=self.item_failed, meta=meta,
                              priority=ITEM_PRIORITY)

    def recheck_request(
        self, url: str, known: KnownPage, found_on: str | None, listing_date: str | None,
        listing_title: str | None = None,
    ) -> Request:
        """A conditional GET of an archived page: 304 means unchanged, 404/410 removed."""
        meta = {"listing_date": listing_date, "listing_title": listing_title, "listing_url": found_on,
                "recheck": True,
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
            content_type = (response.headers.get("Content-Type") or b"").decode(errors="replace")
            report_problem(self.crawler, response.url, Problem.NOT_HTML, f"skipped: {content_type}")
            return
        if self.too_large(response):
            return
        headers = response.headers
        content_type = (headers.get(b"Content-Type") or b"").decode("latin-1")
        declared = http_content_type_encoding(content_type) or html_body_declared_encoding(response.body)
        html, _encoding, charset_problem = decode_page(response.body, declared, self.config.languages)
        if charset_problem:
            report_problem(self.crawler, response.url, Problem.CHARSET, charset_problem)
        if self.documents is not None:
            self.documents.note_links(response.url, response.body, html)
        yield FetchedPage(
            source=self.source_id,
            url=response.url,
            html=html,
            status=response.status,
            fetched=datetime.now(UTC),
            etag=_header(headers, b"ETag"),
            last_modified=_header(headers, b"Last-Modified"),
            listing_date=response.meta.get("listing_date"),
            listing_title=response.meta.get("listing_title"),
            listing_url=response.meta.get("listing_url"),
        )

    def too_large(self, response: Response) -> bool:
        """Is the page beyond what extraction is given (PRESSWATCH_MAX_PAGE_MB, PRESSWATCH_MAX_ELEMENTS)?
        Reported if so. Extraction time grows faster than the page: 60,000 paragraphs take
        trafilatura 13 s, 660,000 over 15 minutes and GBs of memory."""
        body, bounds = response.body, self.bounds
        if len(body) > bounds.max_page_bytes:
            report_problem(self.crawler, response.url, Problem.TOO_LARGE,
                           f"page of {len(body) / 1048576:.1f} MB, over PRESSWATCH_MAX_PAGE_MB "
                           f"({bounds.max_page_bytes / 1048576:g}): not extracted")
            return True
        # Opening tags, roughly (C-speed byte counts: a few ms for 20 MB).
        elements = body.count(b"<") - body.count(b"</")
        if elements > bounds.max_elements:
            report_problem(self.crawler, response.url, Problem.TOO_LARGE,
                           f"about {elements} HTML elements, over PRESSWATCH_MAX_ELEMENTS "
                           f"({bounds.max_elements}): not extracted")
            return True
        return False

    # Failures: recorded with their URL, never fatal to the crawl ----------

    def _failure_problem(self, failure: Failure, default: str) -> tuple[str, str]:
        """A failed request as (problem, detail) for crawl_problems."""
        message = failure.getErrorMessage() or type(failure.value).__name__
        if failure.check(HttpError):
            return Problem.HTTP_ERROR, f"HTTP {failure.value.response.status}"
        if failure.check(OffsiteRequest):
            return "offsite", message
        if failure.check(IgnoreRequest):
            if "robots.txt" in message:
                return Problem.ROBOTS, message
            if "DOWNLOAD_MAXSIZE" in message or "max size" in message:
                return Problem.TOO_LARGE, message
            if "redirections" in message:
                return "redirect_loop", message
            return "ignored", message
        if failure.check(TwistedTimeoutError) or "took longer than" in message:
            return Problem.TIMEOUT, message
        if "max size" in message:
            return Problem.TOO_LARGE, message
        return default, message

    def item_failed(self, failure: Failure) -> None:
        problem, detail = self._failure_problem(failure, Problem.NETWORK_ERROR)
        report_problem(self.crawler, _failed_url(failure), problem, detail)

    def listing_failed(self, failure: Failure) -> None:
        problem, detail = self._failure_problem(failure, Problem.LISTING_ERROR)
        report_problem(self.crawler, _failed_url(failure), problem, f"listing page: {detail}")

    def discovery_failed(self, failure: Failure) -> None:
        # Feeds and sitemaps are a bonus: listings still find the items.
        self.logger.info("feed/sitemap %s did not answer: %s", _failed_url(failure),
                         failure.getErrorMessage())


def _failed_url(failure: Failure) -> str:
    """The URL of the request an errback's failure is about (Scrapy sets failure.request)."""
    return failure.request.url  # type: ignore[attr-defined]


def _header(headers: Any, name: bytes) -> str | None:
    value = headers.get(name)
    return value.decode("latin-1") if value else None


_TEASER_HEADING = "h1, h2, h3, h4, h5, h6, [class*='title']"


def _teaser_title(card: Selector | None, link: Selector) -> str | None:
    """A teaser's title on the listing: the heading in its link or card (a card that is one
    big link also holds the date and type), else the link's words; None for an href alone."""
    for scope in (link, card):
        if scope is None or isinstance(scope.root, str):
            continue
        for heading in scope.css(_TEASER_HEADING):
            words = " ".join(heading.xpath("string()").get("").split())
            if words:
                return words
    if isinstance(link.root, str):
        return None
    return " ".join(link.xpath("string()").get("").split()) or None
