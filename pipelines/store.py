"""Storage: writes Articles into the SQLite archive, one short transaction each.

Each article is new, an unchanged or updated re-fetch of an archived item, or a
duplicate copy of one (see dedupe.py). The check and the write happen in one
transaction, so a crash leaves each item either fully written or absent, and
committed items survive a kill -9 (WAL).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlite_utils

from pipelines import derived
from pipelines.dedupe import find_copy, prefer
from pipelines.items import Article, RecheckedPage
from pipelines.normalize.urls import canonical_url
from presswatch.archive.db import write_transaction
from presswatch.archive.outcomes import DuplicateReason, ItemEvent, ItemStatus, Outcome
from presswatch.archive.times import to_utc_text, utc_now
from presswatch.config.sources import Source

NEW, UPDATED, UNCHANGED, DUPLICATE, REMOVED = (
    Outcome.NEW, Outcome.UPDATED, Outcome.UNCHANGED, Outcome.DUPLICATE, Outcome.REMOVED)


def item_record(article: Article, source: Source) -> dict[str, Any]:
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
        "title_source": article.title_source,
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
    db.table("duplicates").insert(
        {"item_id": item_id, "url": url, "source": source, "reason": reason,
         "first_seen": now, "last_seen": now, "times_seen": 1}
    )
    return True


def _event(db: sqlite_utils.Database, item: dict[str, Any], event: str, detail: str) -> None:
    db.table("item_events").insert(
        {"item_id": item["id"], "source": item["source"], "at": utc_now(), "event": event, "detail": detail}
    )


def _keep_version(db: sqlite_utils.Database, item: dict[str, Any]) -> int:
    """Copy the item's current title and text into item_versions before they change."""
    version = db.execute(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM item_versions WHERE item_id = ?", [item["id"]]
    ).fetchone()[0]
    db.table("item_versions").insert(
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
            db.table("items").update(item["id"], {"fetched": fetched})
            return UNCHANGED, item["id"]
        # Gone: keep the item and its history, mark it removed.
        db.table("items").update(item["id"], {"fetched": fetched})
        if item["status"] == ItemStatus.REMOVED:
            return UNCHANGED, item["id"]
        db.table("items").update(item["id"], {"status": ItemStatus.REMOVED, "removed": utc_now()})
        _event(db, item, ItemEvent.REMOVED, f"the page answered HTTP {page.status}")
        return REMOVED, item["id"]


def store_article(
    db: sqlite_utils.Database, article: Article, source: Source, rank: Callable[[str], int]
) -> tuple[str, int]:
    """Write ``article``; return its outcome (new/updated/unchanged/duplicate) and item id.

    In the same transaction, the item is marked for the topics and story links the outcome
    makes due (pipelines/derived.py): a crash before they are written loses nothing.
    """
    with write_transaction(db):
        outcome, item_id = _write_article(db, article, source, rank)
        derived.mark(db, item_id, article, outcome)
    return outcome, item_id


def _write_article(
    db: sqlite_utils.Database, article: Article, source: Source, rank: Callable[[str], int]
) -> tuple[str, int]:
    record = item_record(article, source)
    fetched_url = article.url
    copy = find_copy(db, article)
    if copy is None:
        # A URL that used to be a copy of another item now has text of its own.
        db.execute("DELETE FROM duplicates WHERE url = ?", [article.canonical_url])
        item_id = insert_item(db, {**record, "first_seen": utc_now()})
        return NEW, item_id
    item, reason = copy
    item_id = item["id"]
    if reason == DuplicateReason.SAME_URL:
        if fetched_url != item["url"] and fetched_url != article.canonical_url:
            # The same page reached by another address (tracking parameters...).
            is_new = _record_duplicate(db, item_id, fetched_url, article.source, DuplicateReason.SAME_URL)
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
        if item["status"] == ItemStatus.REMOVED:
            # The page answers again: the item is back.
            refresh.update(status="active", removed=None)
            _event(db, item, ItemEvent.RESTORED, "the page answers again")
        db.table("items").update(item_id, refresh)
        return (UPDATED if changed else UNCHANGED), item_id
    # Same text at another URL.
    if prefer(article, item, rank):
        # The newcomer is the original: it takes the record over (same id,
        # so classifications and history stay), the old URL becomes a copy.
        db.table("items").update(item_id, record)
        db.execute("DELETE FROM duplicates WHERE item_id = ? AND url = ?", [item_id, record["url"]])
        _record_duplicate(db, item_id, item["url"], item["source"], DuplicateReason.SAME_CONTENT)
        return DUPLICATE, item_id
    is_new = _record_duplicate(db, item_id, record["url"], article.source, DuplicateReason.SAME_CONTENT)
    return (DUPLICATE if is_new else UNCHANGED), item_id
