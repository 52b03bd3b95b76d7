"""Storage: writes Articles into the SQLite archive, one short transaction each.

Each article is new, an unchanged or updated re-fetch of an archived item, or a
duplicate copy of one (see dedupe.py). The check and the write happen in one
transaction, so a crash leaves each item either fully written or absent, and
committed items survive a kill -9 (WAL).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import sqlite_utils

from pipelines.dedupe import find_copy, prefer
from pipelines.items import Article, RecheckedPage
from pipelines.normalize import canonical_url
from pipelines.signals import report_problem
from presswatch.archive.db import open_archive, to_utc_text, utc_now, write_transaction

logger = logging.getLogger("presswatch.store")

NEW, UPDATED, UNCHANGED, DUPLICATE, REMOVED = "new", "updated", "unchanged", "duplicate", "removed"


def item_record(article: Article, source: Any) -> dict[str, Any]:
    """The items row for ``article`` (without id, first_seen and updated)."""
    published = article.published
    return {
        "uid": article.uid,
        "source": article.source,
        "kind": source.kind,
        "region": source.region,
        "country": source.country,
        "url": article.canonical_url,
        "title": article.title,
        "summary": article.summary,
        "body": article.body,
        "author": article.author,
        "published": published.isoformat() if published else None,
        "published_utc": to_utc_text(published) if published else None,
        "date_source": article.date_source,
        "language": article.language,
        "countries": json.dumps(article.countries),
        "content_hash": article.content_hash,
        "metadata": json.dumps(article.metadata, ensure_ascii=False, sort_keys=True),
        "fetched": to_utc_text(article.fetched),
        "http_etag": article.etag,
        "http_last_modified": article.last_modified,
        "status": "active",
    }


def insert_item(db: sqlite_utils.Database, record: dict[str, Any]) -> int:
    """Insert one items row; its id. A plain INSERT: sqlite-utils' insert() reads the
    table's schema on every call, a measurable share of the crawler's time per page."""
    columns = ", ".join(f"[{name}]" for name in record)
    marks = ", ".join("?" for _ in record)
    cursor = db.conn.execute(f"INSERT INTO items ({columns}) VALUES ({marks})", list(record.values()))
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _record_duplicate(db: sqlite_utils.Database, item_id: int, url: str, source: str, reason: str) -> bool:
    """Record ``url`` as a copy of item ``item_id``; True when it is a new copy."""
    now = utc_now()
    existing = db.execute(
        "SELECT id FROM duplicates WHERE item_id = ? AND url = ?", [item_id, url]
    ).fetchone()
    if existing:
        db.execute(
            "UPDATE duplicates SET last_seen = ?, times_seen = times_seen + 1 WHERE id = ?",
            [now, existing[0]],
        )
        return False
    db["duplicates"].insert(
        {"item_id": item_id, "url": url, "source": source, "reason": reason,
         "first_seen": now, "last_seen": now, "times_seen": 1}
    )
    return True


def _event(db: sqlite_utils.Database, item: dict[str, Any], event: str, detail: str) -> None:
    db["item_events"].insert(
        {"item_id": item["id"], "source": item["source"], "at": utc_now(), "event": event, "detail": detail}
    )


def _keep_version(db: sqlite_utils.Database, item: dict[str, Any]) -> int:
    """Copy the item's current title and text into item_versions before they change."""
    version = db.execute(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM item_versions WHERE item_id = ?", [item["id"]]
    ).fetchone()[0]
    db["item_versions"].insert(
        {"item_id": item["id"], "version": version, "title": item["title"], "summary": item["summary"],
         "body": item["body"], "content_hash": item["content_hash"], "fetched": item["fetched"],
         "replaced": utc_now()}
    )
    _event(db, item, "updated", f"title or text changed; version {version} kept")
    return version


def store_recheck(db: sqlite_utils.Database, page: RecheckedPage) -> tuple[str, int | None]:
    """Record a conditional re-check: 304 (unchanged) or 404/410 (mark the item removed)."""
    canonical = canonical_url(page.url)
    fetched = to_utc_text(page.fetched)
    with write_transaction(db):
        row = db.execute("SELECT * FROM items WHERE url = ?", [canonical]).fetchone()
        if row is None:
            # A duplicate copy: note that it was seen (or is gone) and move on.
            db.execute(
                "UPDATE duplicates SET last_seen = ?, times_seen = times_seen + 1 WHERE url IN (?, ?)",
                [fetched, canonical, page.url],
            )
            return UNCHANGED, None
        columns = [column.name for column in db["items"].columns]
        item = dict(zip(columns, row, strict=True))
        if page.status == 304:
            db["items"].update(item["id"], {"fetched": fetched})
            return UNCHANGED, item["id"]
        # Gone: keep the item and its history, mark it removed.
        db["items"].update(item["id"], {"fetched": fetched})
        if item["status"] == "removed":
            return UNCHANGED, item["id"]
        db["items"].update(item["id"], {"status": "removed", "removed": utc_now()})
        _event(db, item, "removed", f"the page answered HTTP {page.status}")
        return REMOVED, item["id"]


def store_article(
    db: sqlite_utils.Database, article: Article, source: Any, rank: Callable[[str], int]
) -> tuple[str, int]:
    """Write ``article``; return its outcome (new/updated/unchanged/duplicate) and item id."""
    record = item_record(article, source)
    fetched_url = article.url
    with write_transaction(db):
        copy = find_copy(db, article)
        if copy is None:
            # A URL that used to be a copy of another item now has text of its own.
            db.execute("DELETE FROM duplicates WHERE url = ?", [article.canonical_url])
            item_id = insert_item(db, {**record, "first_seen": utc_now()})
            return NEW, item_id
        item, reason = copy
        item_id = item["id"]
        if reason == "same_url":
            if fetched_url != item["url"] and fetched_url != article.canonical_url:
                # The same page reached by another address (tracking parameters...).
                is_new = _record_duplicate(db, item_id, fetched_url, article.source, "same_url")
                return (DUPLICATE if is_new else UNCHANGED), item_id
            changed = (item["title"], item["content_hash"]) != (record["title"], record["content_hash"])
            if changed:
                _keep_version(db, item)
                refresh = {key: value for key, value in record.items() if key != "uid"}
                refresh["updated"] = utc_now()
            else:
                refresh = {
                    "fetched": record["fetched"],
                    "http_etag": record["http_etag"],
                    "http_last_modified": record["http_last_modified"],
                }
            if item["status"] == "removed":
                # The page answers again: the item is back.
                refresh.update(status="active", removed=None)
                _event(db, item, "restored", "the page answers again")
            db["items"].update(item_id, refresh)
            return (UPDATED if changed else UNCHANGED), item_id
        # Same text at another URL.
        if prefer(article, item, rank):
            # The newcomer is the original: it takes the record over (same id,
            # so classifications and history stay), the old URL becomes a copy.
            db["items"].update(item_id, record)
            db.execute("DELETE FROM duplicates WHERE item_id = ? AND url = ?", [item_id, record["url"]])
            _record_duplicate(db, item_id, item["url"], item["source"], "same_content")
            return DUPLICATE, item_id
        is_new = _record_duplicate(db, item_id, article.canonical_url, article.source, "same_content")
        return (DUPLICATE if is_new else UNCHANGED), item_id


class StorePipeline:
    """The last pipeline step: the archive write, and the per-run counters."""

    def __init__(self, crawler: Any):
        from presswatch.config.sources import load_sources

        self.crawler = crawler
        self.db_path = crawler.settings["PRESSWATCH_DB"]
        self.sources = load_sources(crawler.settings["PRESSWATCH_SOURCES"])
        self.db: sqlite_utils.Database | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> StorePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.db = open_archive(self.db_path)

    def close_spider(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None

    def process_item(self, item: Any) -> Any:
        if isinstance(item, RecheckedPage):
            assert self.db is not None
            outcome, _item_id = store_recheck(self.db, item)
            self.crawler.stats.inc_value(f"presswatch/items_{outcome}")
            if outcome == REMOVED:
                logger.info("[%s] removed: %s (HTTP %d)", item.source, item.url, item.status)
            return item
        if not isinstance(item, Article):
            return item
        assert self.db is not None
        source = self.sources.get(item.source)
        outcome, item_id = store_article(self.db, item, source, self.sources.rank)
        item.outcome, item.item_id = outcome, item_id
        self.crawler.stats.inc_value(f"presswatch/items_{outcome}")
        if outcome in (NEW, UPDATED):
            date = item.published.date().isoformat() if item.published else "undated"
            logger.info("[%s] %s: %s (%s, %s)", item.source, outcome, item.title, date, item.language)
        url = item.canonical_url or item.url
        for problem, detail in item.problems:
            report_problem(self.crawler, url, problem, detail)
        if outcome != DUPLICATE:
            # Information pages ("page") carry no dates by design: not a problem there.
            if item.published is None and source.kind != "page":
                report_problem(self.crawler, url, "no_date", "archived without a publication date")
            if not item.body:
                report_problem(self.crawler, url, "no_body", "archived without body text")
        return item
