"""The source list (`sources.toml`): what to crawl, how links are found, when to run.

Each ``[[source]]`` entry is validated on load; any mistake stops with one line
naming the file, the line, the source and the field (see configfile.py).
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

import idna
import re2
from pydantic import BeforeValidator, Field, field_validator, model_validator

from presswatch.config.cron import validate_crontab
from presswatch.config.files import format_duration, load_entries
from presswatch.config.types import (
    Country,
    Duration,
    EntryId,
    EntrySet,
    Language,
    Strict,
    TimeZone,
)

KINDS = ("press_release", "news", "story", "publication", "page")
Kind = Literal["press_release", "news", "story", "publication", "page"]


def ascii_host(host: str) -> str:
    """A host name as DNS and the archive know it: Unicode labels (bücher.example) in IDNA
    (xn--bcher-kva.example), lowercase. ValueError (one line) for what IDNA refuses."""
    host = host.strip().rstrip(".").lower()
    if host.isascii():
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"{host!r} is not a valid internationalised host name: {exc}") from None


def _http_url(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a URL")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in value:
        raise ValueError(f"{value!r} is not an http(s) URL")
    if not parts.hostname.isascii():  # written in Unicode: the URL as it is requested and archived
        host = ascii_host(parts.hostname)
        netloc = host if parts.port is None else f"{host}:{parts.port}"
        value = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return value


HttpUrl = Annotated[str, BeforeValidator(_http_url)]


def _selector(value: Any) -> str:
    """A CSS selector, or an XPath one written ``xpath:...``; checked by compiling it."""
    from parsel import Selector

    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} is not a selector")
    probe = Selector(text="<html></html>")
    try:
        if value.startswith("xpath:"):
            probe.xpath(value[len("xpath:") :])
        else:
            probe.css(value)
    except Exception as exc:  # parsel raises several kinds for a bad expression
        raise ValueError(f"{value!r} is not a valid selector: {exc}") from None
    return value


Selector = Annotated[str, BeforeValidator(_selector)]


class Listing(Strict):
    """How item links are found on listing pages."""

    item: Selector | None = None  # each card/teaser; `link` and `date` are looked up inside it
    link: Selector | None = None  # the <a> (or href) of an item; default: the card itself
    date: Selector | None = None  # the teaser's date, a hint when the page itself has none
    next: Selector | None = None  # the "next page" link
    max_pages: int = Field(50, ge=1, le=100_000)
    # Incremental crawls stop paginating after this many pages in a row list
    # only archived items (listings are newest first).
    stop_after_known_pages: int = Field(1, ge=1, le=1000)

    @model_validator(mode="after")
    def _needs_a_link(self) -> Listing:
        if self.item is None and self.link is None:
            raise ValueError("give `item` (each teaser) or `link` (each item link)")
        return self


class Selectors(Strict):
    """Per-field selectors that override what trafilatura finds."""

    title: Selector | None = None
    body: Selector | None = None
    summary: Selector | None = None
    date: Selector | None = None
    author: Selector | None = None


class Schedule(Strict):
    """Either ``every = "6h"`` or ``cron = "0 */6 * * *"``; ``jitter`` spreads start times."""

    every: Duration | None = None
    cron: str | None = None
    jitter: Duration = timedelta(0)

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is not None:
            validate_crontab(value)  # the scheduler's own translator: 7 and 1-7 are Sunday too
        return value

    @field_validator("every")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value < timedelta(seconds=1):
            raise ValueError("must be at least 1s")
        return value

    @model_validator(mode="after")
    def _one_of(self) -> Schedule:
        if (self.every is None) == (self.cron is None):
            raise ValueError("give exactly one of `every` (an interval) or `cron`")
        return self

    def describe(self) -> str:
        return f"every {format_duration(self.every)}" if self.every is not None else f"cron {self.cron}"


def linear_regex(pattern: str) -> Any:
    """``pattern`` compiled by RE2 (google-re2): matching takes time linear in the text whatever
    the pattern, so a pattern that backtracks (``^(a+)+$``) cannot stall a crawl on URLs a site
    chooses. Raises ValueError (one line) for what RE2 does not support (backreferences...)."""
    options = re2.Options()
    options.log_errors = False  # the error is raised, not printed
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(f"{pattern!r} is not a regular expression RE2 accepts: {detail}") from None


@lru_cache(maxsize=256)
def _item_url_pattern(pattern: str) -> Any:
    return linear_regex(pattern)


_DOMAIN = re.compile(
    r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
# What a source needs at least: an id and where to start. The rest has a default (`defaults`).
DEFAULT_SCHEDULE = {"every": "1d"}
DEFAULT_LISTING = {"link": "a[href]"}  # every link of the start page (within the domains, item_urls)


class Source(Strict):
    """One site section presswatch watches."""

    id: EntryId
    name: str  # default: the id
    kind: Kind = "page"
    region: str = "Global"
    country: Country | None = None  # omitted for a global source
    languages: list[Language] = Field(["en"], min_length=1)
    timezone: TimeZone = "UTC"
    date_languages: list[Language] | None = None  # month names to expect; default `languages`
    # How the site writes numeric dates: "DMY" (16.06.2020), "MDY" (06/16/2020) or "YMD";
    # default: as each page's language does (month first only in US English).
    date_order: Literal["DMY", "MDY", "YMD"] | None = None
    start_urls: list[HttpUrl] = []
    feeds: list[HttpUrl] = []
    sitemaps: list[HttpUrl] = []
    domains: list[str] = []  # hosts the crawl may visit; default: the hosts of the URLs above
    item_urls: str | None = None  # regular expression item links must match (e.g. skip home pages)
    listing: Listing | None = None
    selectors: Selectors = Selectors()
    metadata: dict[str, Selector] = {}  # extra fields kept in items.metadata (year, isbn, pdf...)
    schedule: Schedule = Schedule.model_validate(DEFAULT_SCHEDULE)
    enabled: bool = True
    recheck_after: Duration = timedelta(days=7)  # archived items older than this are re-checked
    recheck_per_crawl: int = Field(100, ge=0, le=100_000)  # at most this many re-checks a crawl
    max_document_mb: float = Field(50, gt=0, le=1024)  # larger linked PDFs are not downloaded (issue 17)

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        """Only `id` and a start URL (or a feed or sitemap) are needed: the name is the id, the
        start page's links are the items (`DEFAULT_LISTING`)."""
        if isinstance(data, dict):
            data = dict(data)
            if "name" not in data and isinstance(data.get("id"), str):
                data["name"] = data["id"]
            if data.get("start_urls") and "listing" not in data:
                data["listing"] = DEFAULT_LISTING
        return data

    @field_validator("item_urls")
    @classmethod
    def _valid_pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{value!r} is not a regular expression: {exc}") from None
            linear_regex(value)  # and one RE2 runs in linear time (is_item_url uses it)
        return value

    @field_validator("domains")
    @classmethod
    def _valid_domains(cls, value: list[str]) -> list[str]:
        """Domain names, in Unicode or IDNA; ``*.example.org`` is example.org and its subdomains
        (as example.org alone is: a domain always covers its subdomains)."""
        domains = []
        for written in value:
            domain = written[2:] if isinstance(written, str) and written.startswith("*.") else written
            if not isinstance(domain, str) or not _DOMAIN.match(ascii_host(domain)):
                raise ValueError(f"{written!r} is not a domain name (e.g. example.org or *.example.org)")
            domains.append(ascii_host(domain))
        return domains

    @model_validator(mode="after")
    def _consistent(self) -> Source:
        if not (self.start_urls or self.feeds or self.sitemaps):
            raise ValueError("give at least one of start_urls, feeds or sitemaps")
        if self.start_urls and self.listing is None:
            raise ValueError("start_urls are listing pages: add a [source.listing] table")
        if self.domains:
            for url in [*self.start_urls, *self.feeds, *self.sitemaps]:
                if not self.allows(url):
                    raise ValueError(f"{url!r} is outside the source's domains {self.domains}")
        return self

    @property
    def allowed_domains(self) -> list[str]:
        if self.domains:
            return list(self.domains)
        hosts = {urlsplit(url).hostname for url in [*self.start_urls, *self.feeds, *self.sitemaps]}
        return sorted(host for host in hosts if host)

    @property
    def month_languages(self) -> list[str]:
        return list(self.date_languages or self.languages)

    def is_item_url(self, url: str) -> bool:
        """May ``url`` be an item page (it matches `item_urls`, when given)?"""
        return self.item_urls is None or _item_url_pattern(self.item_urls).search(url) is not None

    def allows(self, url: str) -> bool:
        """Is ``url`` on one of this source's domains (or a subdomain of one)?"""
        try:
            host = ascii_host(urlsplit(url).hostname or "")
        except ValueError:
            return False
        domains = self.domains or self.allowed_domains
        return any(host == domain or host.endswith("." + domain) for domain in domains)


class SourceList(EntrySet[Source]):
    """All sources of a sources.toml, in file order (the order breaks ties between copies)."""

    kind = "source"

    @property
    def sources(self) -> list[Source]:
        return self.entries

    def enabled(self) -> list[Source]:
        return [source for source in self.entries if source.enabled]

    def select(self, source_ids: list[str] | tuple[str, ...]) -> list[Source]:
        """The named sources (all enabled ones when none are named)."""
        if not source_ids:
            return self.enabled()
        return [self.get(source_id) for source_id in source_ids]


def load_sources(path: str | Path) -> SourceList:
    """Load and validate sources.toml; raise ConfigError (one line) on any mistake."""
    sources, _text = load_entries(Path(path), "source", Source)
    return SourceList(Path(path), sources)
