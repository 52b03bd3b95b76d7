"""HTTP primitives every server and client of presswatch shares.

HTTP dates (RFC 9110 §5.6.7) both ways, and conditional requests (§13): the
headers that ask for one, and does a GET deserve 304 Not Modified? Used by
`presswatch serve` (feed readers poll), the sample sites, the benchmark site,
retries and the crawl's validators (pages and documents).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, Protocol


def http_date(moment: datetime) -> str:
    """``moment`` as an HTTP date (``Sun, 06 Nov 1994 08:49:37 GMT``)."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP date as an aware datetime (UTC when it names no zone); None when unreadable."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    """The headers of a conditional GET (§13.1) from a stored response's validators."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


class Headers(Protocol):
    """Request headers: a Mapping, or http.server's email.message.Message."""

    def get(self, name: str, /) -> Any: ...


def not_modified(headers: Headers, etag: str, last_modified: datetime | None) -> bool:
    """True when the request's validators match the current ``etag`` / ``last_modified``.

    If-None-Match wins over If-Modified-Since; it uses the weak comparison
    (``W/"x"`` matches ``"x"``). An unreadable date never matches.
    """
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        return "*" in tags or etag in tags
    if_modified_since = headers.get("If-Modified-Since")
    if not if_modified_since or last_modified is None:
        return False
    since = parse_http_date(if_modified_since)
    if since is None:
        return False
    return last_modified.replace(microsecond=0) <= since


def escape_brackets(url: str) -> str:
    """``url`` with ``[`` and ``]`` percent-encoded after its host (RFC 3986 allows them only around
    an IPv6 address; feed validators flag them in a path or query such as ``?type[0]=news``)."""
    if "[" not in url and "]" not in url:
        return url
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url.replace("[", "%5B").replace("]", "%5D")
    cut = len(rest)
    for mark in "/?#":
        found = rest.find(mark)
        if found != -1:
            cut = min(cut, found)
    tail = rest[cut:].replace("[", "%5B").replace("]", "%5D")
    return f"{scheme}://{rest[:cut]}{tail}"
