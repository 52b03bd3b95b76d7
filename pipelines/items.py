"""Typed items that flow from the spider through the pipelines.

The spider yields a `FetchedPage` (what was downloaded, nothing interpreted).
ExtractPipeline turns it into an `Article`, normalised and identified in the
same worker step (pipelines/prepare.py); StorePipeline writes it and the later
pipelines derive the rest (all in pipelines/stages/). The documents an archived
item links come as a `FetchedDocument` (or an `UnchangedDocument`, a 304) for
DocumentPipeline. Plain dataclasses: the
pipelines know exactly which item they get.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class FetchedPage:
    """An item page as downloaded by the spider."""

    source: str  # source id
    url: str  # the page's real URL after redirects (never the mirror's)
    html: str = field(repr=False)  # decoded text (kept out of log lines)
    status: int
    fetched: datetime  # aware, UTC
    etag: str | None = None
    last_modified: str | None = None  # the raw HTTP header
    listing_date: str | None = None  # the teaser's date text, a fallback when the page has none
    listing_title: str | None = None  # the teaser's title, a fallback when the page has none
    listing_url: str | None = None  # the listing/feed/sitemap page that linked here


@dataclass
class RecheckedPage:
    """An archived item page re-fetched that did not come back with new content.

    status 304: unchanged since the stored ETag/Last-Modified; 404 or 410: the
    page is gone and the item is to be marked removed (never deleted).
    """

    source: str
    url: str
    status: int
    fetched: datetime  # aware, UTC


@dataclass
class Article:
    """An extracted item on its way to the archive."""

    source: str
    url: str  # as fetched
    title: str
    body: str
    fetched: datetime
    summary: str = ""
    author: str | None = None
    date_text: str | None = None  # the raw date string found, parsed by normalisation
    date_origin: str | None = None  # selector | metadata | listing (dateline found later, from body)
    # Every date the page offers as (origin, text), most trusted first (pipelines/extract.py)
    date_candidates: list[tuple[str, str]] = field(default_factory=list)
    page_utc_offset: str | None = None  # the UTC offset the page's own timestamps carry
    declared_language: str | None = None  # <html lang> or metadata
    canonical_link: str | None = None  # <link rel="canonical"> when it stays on the same host
    alternates: dict[str, str] = field(default_factory=dict)  # hreflang -> URL
    shortlink: str | None = None  # <link rel="shortlink">: Drupal /node/N, /ro/node/N (language versions)
    metadata: dict[str, Any] = field(default_factory=dict)  # per-source extra fields
    etag: str | None = None
    last_modified: str | None = None
    listing_date: str | None = None
    # Where the title came from: trafilatura | selector | og:title | twitter:title | heading | listing | url
    title_source: str | None = None
    # Filled by normalisation (in ExtractPipeline's worker step, else NormalizePipeline):
    normalized: bool = False
    canonical_url: str | None = None
    published: datetime | None = None
    date_source: str | None = None
    language: str | None = None
    countries: list[str] = field(default_factory=list)
    # Filled by DedupePipeline:
    uid: str | None = None
    content_hash: str | None = None
    # Computed in the same worker step when asked (pipelines/prepare.py `derive`), checked where used:
    # the near-duplicate fingerprint (a neardup.Fingerprint) for StoryPipeline, and the topic scores
    # without saved searches as (topics fingerprint, classified view of the record, scores).
    fingerprint: Any = field(default=None, repr=False)
    topic_scores: tuple[str, tuple[Any, ...], dict[str, float]] | None = field(default=None, repr=False)
    # (problem, detail) pairs found on the way, reported with the page's URL
    problems: list[tuple[str, str]] = field(default_factory=list)
    # Set by StorePipeline: new | updated | unchanged | duplicate
    outcome: str | None = None
    item_id: int | None = None


@dataclass
class FetchedDocument:
    """A document downloaded for an archived item (crawler/documents.py yields it; issue 17)."""

    source: str
    item_id: int
    url: str
    body: bytes = field(repr=False)
    content_type: str
    fetched: datetime  # aware, UTC
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class UnchangedDocument:
    """A conditional re-check of an archived document that answered 304 Not Modified."""

    source: str
    item_id: int
    url: str
    fetched: datetime


@dataclass
class Prepared:
    """What one page's worker step made of it (pipelines/prepare.py). Here, in a light module: the
    crawl process unpickles it, and must not import the extraction libraries to do so."""

    article: Article | None  # None: not archived (``dropped`` says why)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (problem, detail), reported with the URL
    dropped: tuple[str, str] | None = None  # (problem, detail) when the page is not archived
