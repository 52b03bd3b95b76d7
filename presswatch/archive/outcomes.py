"""The codes the archive stores for what happened: one owner for every outcome string.

Each is a `StrEnum`, so a member is the very text stored in SQLite and compared
in SQL (``Outcome.NEW == "new"``); code decides with the members, never with
bare strings, and a typo is an AttributeError instead of a silent mismatch.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What storing one fetched page did to the archive (crawl_runs.items_* counters)."""

    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"
    REMOVED = "removed"


class DuplicateReason(StrEnum):
    """duplicates.reason: why a copy was folded into an item."""

    SAME_URL = "same_url"
    SAME_CONTENT = "same_content"


class ItemStatus(StrEnum):
    """items.status."""

    ACTIVE = "active"
    REMOVED = "removed"


class ItemEvent(StrEnum):
    """item_events.event: what happened to an item after it was archived."""

    UPDATED = "updated"
    REMOVED = "removed"
    RESTORED = "restored"
    # Issue 17: the documents (PDFs) an item links (presswatch/archive/documents.py).
    DOCUMENT_ADDED = "document_added"
    DOCUMENT_UPDATED = "document_updated"


class RunStatus(StrEnum):
    """crawl_runs.status: what a crawl run ended as (running while it runs)."""

    RUNNING = "running"
    OK = "ok"
    DEGRADED = "degraded"  # it went through, but looked wrong (presswatch.archive.health)
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    INTERRUPTED = "interrupted"


# The runs that went through: their items count (a degraded run did fetch and store).
COMPLETED_RUNS = (RunStatus.OK, RunStatus.DEGRADED)
# The runs that did not go through and say so about the source.
FAILED_RUNS = (RunStatus.FAILED, RunStatus.TIMED_OUT)
# Not a verdict on the source: still running, or stopped from outside.
IGNORED_RUNS = (RunStatus.RUNNING, RunStatus.INTERRUPTED)
# What `presswatch crawl` reports as a failure.
UNSUCCESSFUL_RUNS = (RunStatus.FAILED, RunStatus.TIMED_OUT, RunStatus.INTERRUPTED)


class Problem(StrEnum):
    """crawl_problems.problem: what went wrong with one page."""

    HTTP_ERROR = "http_error"
    NETWORK_ERROR = "network_error"
    TIMEOUT = "timeout"
    TOO_LARGE = "too_large"
    REDIRECT_LOOP = "redirect_loop"
    OFFSITE = "offsite"
    ROBOTS = "robots"
    NOT_HTML = "not_html"
    CHARSET = "charset"
    BAD_DATE = "bad_date"
    LONG_TITLE = "long_title"
    EXTRACTION_ERROR = "extraction_error"
    PARSE_ERROR = "parse_error"  # the page's HTML (or trafilatura on it) failed: the cause in detail
    LISTING_ERROR = "listing_error"
    SPIDER_ERROR = "spider_error"
    NO_TITLE = "no_title"
    NO_DATE = "no_date"
    NO_BODY = "no_body"
    # Issue 21: bounded work per page and bounded discovery.
    TOO_SLOW = "too_slow"  # a worker step overran its wall-clock limit: the worker was replaced
    LIMIT_REACHED = "limit_reached"  # a discovery bound (sitemaps, links per listing, requests) was hit
    # Issue 17: a document (PDF) an item links, with the document's URL (docs/documents.md). The
    # item's page is archived whatever its documents do; none of these counts as an error of the run.
    DOCUMENT_NOT_PDF = "document_not_pdf"  # not served as a PDF, or no %PDF- header: not read
    DOCUMENT_ENCRYPTED = "document_encrypted"
    DOCUMENT_UNREADABLE = "document_unreadable"  # PDFium failed on it (or a page), or the worker crashed
    DOCUMENT_BOMB = "document_bomb"  # a stream inflates past the limit: refused before reading
    DOCUMENT_NO_TEXT = "document_no_text"  # no text layer (a scan)
    DOCUMENT_PAGE_LIMIT = "document_page_limit"
    DOCUMENT_TIME_LIMIT = "document_time_limit"
    DOCUMENT_TRUNCATED = "document_truncated"  # no %%EOF at its end
    # Fetching it failed: "document_" + what the page's problem would be.
    DOCUMENT_HTTP_ERROR = "document_http_error"
    DOCUMENT_NETWORK_ERROR = "document_network_error"
    DOCUMENT_TIMEOUT = "document_timeout"
    DOCUMENT_TOO_LARGE = "document_too_large"  # larger than the source's max_document_mb
    DOCUMENT_ROBOTS = "document_robots"
    DOCUMENT_OFFSITE = "document_offsite"
    DOCUMENT_REDIRECT_LOOP = "document_redirect_loop"


# Problems that count as errors of the run (a page could not be fetched or used).
ERROR_PROBLEMS = (
    Problem.NETWORK_ERROR, Problem.TIMEOUT, Problem.TOO_LARGE, Problem.REDIRECT_LOOP,
    Problem.EXTRACTION_ERROR, Problem.LISTING_ERROR, Problem.SPIDER_ERROR, Problem.TOO_SLOW,
)


class HealthState(StrEnum):
    """source_health.state and health_events.old_state/new_state."""

    UNKNOWN = "unknown"  # no verdict yet (old_state of a first event)
    OK = "ok"
    DEGRADED = "degraded"


class LinkKind(StrEnum):
    """story_links.kind: why two items are one story."""

    NEAR_DUPLICATE = "near_duplicate"
    TRANSLATION = "translation"
