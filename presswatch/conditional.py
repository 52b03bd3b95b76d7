"""HTTP conditional requests (RFC 9110 §13): does a GET deserve 304 Not Modified?

Shared by every server presswatch runs: `presswatch serve` (feed readers
poll), the sample sites and the benchmark site (the crawler re-checks).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def not_modified(headers: Mapping[str, str] | object, etag: str, last_modified: datetime | None) -> bool:
    """True when the request's validators match the current ``etag`` / ``last_modified``.

    If-None-Match wins over If-Modified-Since; it uses the weak comparison
    (``W/"x"`` matches ``"x"``). An unreadable date never matches.
    """
    if_none_match = headers.get("If-None-Match")  # type: ignore[attr-defined]
    if if_none_match is not None:
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        return "*" in tags or etag in tags
    if_modified_since = headers.get("If-Modified-Since")  # type: ignore[attr-defined]
    if not if_modified_since or last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return last_modified.replace(microsecond=0) <= since
