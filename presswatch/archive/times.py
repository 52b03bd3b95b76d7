"""Times as the archive stores them: ISO 8601 text, UTC with a Z, second precision.

UTC text sorts as time sorts, so SQL compares and orders it directly. Every
module writes times with `utc_now` / `to_utc_text` and reads them back with
`parse_stored_time`, so the format has one owner.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> str:
    """The current time as presswatch stores it: ISO 8601 UTC with a Z, second precision."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def to_utc_text(moment: datetime) -> str:
    """An aware datetime as sortable UTC text ("2021-06-16T07:00:00Z")."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: presswatch stores only timezone-aware times")
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_stored_time(value: str) -> datetime:
    """A stored ISO 8601 time (with an offset or Z) as an aware datetime, second precision.

    Naive text is never stored; read as UTC rather than crash a publish or a health check.
    """
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.replace(microsecond=0)


def parse_optional_time(value: str | None) -> datetime | None:
    """`parse_stored_time` of a column that may be NULL or empty (None then)."""
    return parse_stored_time(value) if value else None
