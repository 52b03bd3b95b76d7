"""Helpers of the feed tests: writable copies of the crawled archive, items inserted by hand."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from presswatch.archive.db import open_archive


def copy_archive(source: Path, target: Path) -> Path:
    """A writable copy of a (WAL-mode) archive file."""
    db = open_archive(source)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    shutil.copy(source, target)
    return target


def insert_item(db: sqlite_utils.Database, url: str, title: str, **fields: Any) -> int:
    """Insert an items row as StorePipeline would (the defaults fill the NOT NULL columns)."""
    row: dict[str, Any] = {
        "uid": hashlib.sha256(url.encode()).hexdigest()[:16],
        "source": "iom-press",
        "kind": "press_release",
        "region": "global",
        "country": None,
        "url": url,
        "title": title,
        "summary": "",
        "body": "",
        "author": None,
        "published": None,
        "published_utc": None,
        "date_source": "metadata",
        "language": "en",
        "countries": "[]",
        "content_hash": hashlib.sha256((title + url).encode()).hexdigest(),
        "metadata": "{}",
        "first_seen": "2026-01-01T00:00:00Z",
        "fetched": "2026-01-01T00:00:00Z",
        "updated": None,
        "status": "active",
    }
    row.update(fields)
    if isinstance(row["countries"], list):
        row["countries"] = json.dumps(row["countries"])
    if row["published"] and not fields.get("published_utc"):
        moment = datetime.fromisoformat(row["published"]).astimezone(UTC)
        row["published_utc"] = moment.isoformat().replace("+00:00", "Z")
    return db["items"].insert(row).last_pk
