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
