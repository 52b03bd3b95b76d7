"""Counts of the archive's items, overall and by source, kind, month, topic and language."""

from __future__ import annotations

from typing import Any

import sqlite_utils

STAT_DIMENSIONS = ("source", "kind", "month", "topic", "language")

_BY_DIMENSION = {
    "source": "SELECT source, count(*) AS n FROM items GROUP BY source ORDER BY n DESC, source",
    "kind": "SELECT kind, count(*) AS n FROM items GROUP BY kind ORDER BY n DESC, kind",
    "language": "SELECT COALESCE(language, '-'), count(*) AS n FROM items GROUP BY language "
                "ORDER BY n DESC, language",
    "month": "SELECT COALESCE(substr(published_utc, 1, 7), 'undated') AS month, count(*) AS n FROM items "
             "GROUP BY month ORDER BY month = 'undated', month DESC",
    "topic": "SELECT topic, count(*) AS n FROM item_topics GROUP BY topic ORDER BY n DESC, topic",
}


def archive_stats(db: sqlite_utils.Database, dimensions: tuple[str, ...] = STAT_DIMENSIONS) -> dict[str, Any]:
    """Item counts, overall and by each dimension (most first; months newest first)."""
    total, dated = db.execute("SELECT count(*), count(published_utc) FROM items").fetchone()
    first, last = db.execute("SELECT min(published_utc), max(published_utc) FROM items").fetchone()
    stats: dict[str, Any] = {
        "items": total, "undated": total - dated, "first_published": first, "last_published": last,
        "duplicates": db.execute("SELECT count(*) FROM duplicates").fetchone()[0],
    }
    for dimension in dimensions:
        stats[dimension] = {row[0]: row[1] for row in db.execute(_BY_DIMENSION[dimension])}
    if "topic" in dimensions:
        stats["without_topic"] = db.execute(
            "SELECT count(*) FROM items WHERE id NOT IN (SELECT item_id FROM item_topics)").fetchone()[0]
    return stats
