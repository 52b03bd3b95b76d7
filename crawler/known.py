"""What the archive already holds, as the spider needs to know it to crawl incrementally.

For each link it meets, the spider asks: never seen (fetch it), archived and
due for a re-check (fetch it conditionally), or archived recently (skip it).
One indexed lookup per link, so it stays cheap at a million items.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from pipelines.normalize.urls import canonical_url
from presswatch.archive.db import open_archive
from presswatch.archive.times import parse_stored_time, to_utc_text
from presswatch.http import conditional_headers

NEW, DUE, FRESH = "new", "due", "fresh"


@dataclass(frozen=True)
class KnownPage:
    fetched: datetime
    etag: str | None
    last_modified: str | None

    def conditional_headers(self) -> dict[str, str]:
        return conditional_headers(self.etag, self.last_modified)


class ArchiveIndex:
    """Read access to the archive's URLs and validators, for one crawl."""

    def __init__(self, db_path: str | Path):
        self.db = open_archive(db_path)

    def close(self) -> None:
        self.db.close()

    def lookup(self, url: str) -> KnownPage | None:
        """The archived page at ``url`` (an item, or a recorded duplicate copy), if any."""
        canonical = canonical_url(url)
        row = self.db.execute(
            "SELECT fetched, http_etag, http_last_modified FROM items WHERE url = ?", [canonical]
        ).fetchone()
        if row is None:
            # A copy folded into another item: known, re-checked by its last sighting.
            row = self.db.execute(
                "SELECT last_seen, NULL, NULL FROM duplicates WHERE url IN (?, ?) "
                "ORDER BY last_seen DESC LIMIT 1",
                [canonical, url],
            ).fetchone()
        if row is None:
            return None
        return KnownPage(parse_stored_time(row[0]), row[1], row[2])

    def due_items(
        self, source: str, now: datetime, recheck_after: timedelta, limit: int
    ) -> list[tuple[str, KnownPage]]:
        """Up to ``limit`` of the source's active items fetched longest ago, if due for a re-check.

        Re-checks cannot rely on listings alone: an incremental crawl stops
        paginating early, and a withdrawn release has left the listing.
        """
        cutoff = to_utc_text(now - recheck_after)
        rows = self.db.execute(
            "SELECT url, fetched, http_etag, http_last_modified FROM items "
            "WHERE source = ? AND status = 'active' AND fetched <= ? ORDER BY fetched LIMIT ?",
            [source, cutoff, limit],
        ).fetchall()
        return [(url, KnownPage(parse_stored_time(fetched), etag, modified))
                for url, fetched, etag, modified in rows]

    def last_run_completed(self, source: str, current_run: int | None) -> bool:
        """Did the source's previous crawl (before ``current_run``) finish its listings?"""
        row = self.db.execute(
            "SELECT status FROM crawl_runs WHERE source = ? AND id < ? ORDER BY id DESC LIMIT 1",
            [source, current_run if current_run is not None else 2**62],
        ).fetchone()
        return row is not None and row[0] in ("ok", "degraded")

    def classify(self, url: str, now: datetime, recheck_after: timedelta) -> tuple[str, KnownPage | None]:
        """NEW (never archived), DUE (archived, re-check now) or FRESH (archived recently)."""
        known = self.lookup(url)
        if known is None:
            return NEW, None
        return (DUE if now - known.fetched >= recheck_after else FRESH), known
