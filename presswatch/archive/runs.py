"""Read-side queries over crawl runs: what the CLI prints after a crawl and in `sources`."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from presswatch.config.sources import SourceList


def last_run_id(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT COALESCE(MAX(id), 0) FROM crawl_runs").fetchone()[0]


def runs_since(db: sqlite_utils.Database, after_id: int) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM crawl_runs WHERE id > ? ORDER BY source, id", [after_id]))


def problems_of(db: sqlite_utils.Database, run_ids: list[int]) -> list[dict[str, Any]]:
    if not run_ids:
        return []
    marks = ",".join("?" for _ in run_ids)
    return list(
        db.query(
            f"SELECT source, problem, url, detail FROM crawl_problems WHERE run_id IN ({marks}) "
            "ORDER BY source, problem, url",
            run_ids,
        )
    )


def source_overview(db: sqlite_utils.Database, sources: SourceList) -> list[dict[str, Any]]:
    """One row per configured source: items archived, last run and its status."""
    counts = {
        row["source"]: row
        for row in db.query(
            "SELECT source, COUNT(*) AS items, MAX(first_seen) AS last_new FROM items GROUP BY source"
        )
    }
    last_runs = {
        row["source"]: row
        for row in db.query(
            "SELECT source, started, status, reason FROM crawl_runs "
            "WHERE id IN (SELECT MAX(id) FROM crawl_runs GROUP BY source)"
        )
    }
    rows = []
    for source in sources:
        count = counts.get(source.id, {})
        run = last_runs.get(source.id, {})
        rows.append(
            {
                "id": source.id,
                "kind": source.kind,
                "country": source.country or "-",
                "languages": ",".join(source.languages),
                "schedule": source.schedule.describe(),
                "enabled": source.enabled,
                "items": count.get("items", 0),
                "last_run": run.get("started") or "never",
                "status": run.get("status") or "-",
            }
        )
    return rows
