"""Crawl runs: what the CLI prints after a crawl and in `sources`, and the rows a crawl
process could not write itself (it died, or never started): recorded or finished here."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

import sqlite_utils

from presswatch.archive.health import states as health_states
from presswatch.archive.outcomes import COMPLETED_RUNS, HealthState, RunStatus
from presswatch.archive.times import parse_stored_time, utc_now
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


def source_status(db: sqlite_utils.Database, sources: SourceList) -> list[dict[str, Any]]:
    """One row per configured source for `presswatch status`: last run, last new item, health
    state and why."""
    last_runs = {
        row["source"]: row
        for row in db.query(
            "SELECT source, started, status, reason FROM crawl_runs "
            "WHERE id IN (SELECT MAX(id) FROM crawl_runs GROUP BY source)"
        )
    }
    last_new = {row["source"]: row["last_new"]
                for row in db.query("SELECT source, MAX(first_seen) AS last_new FROM items GROUP BY source")}
    states = health_states(db)
    rows = []
    for source in sources:
        run = last_runs.get(source.id)
        state = states.get(source.id)
        why = state["reason"] if state and state["reason"] else None
        if why is None and run and run["status"] not in (RunStatus.OK, RunStatus.RUNNING) and run["reason"]:
            why = f"last run: {run['reason']}"
        rows.append({
            "source": source.id,
            "schedule": source.schedule.describe() if source.enabled else "disabled",
            "last run": f"{run['started']} {run['status']}" if run else "never",
            "last new item": last_new.get(source.id) or "-",
            "state": state["state"] if state else HealthState.UNKNOWN,
            "since": state["since"] if state else "-",
            "why": why or "",
        })
    return rows


# --------------------------------------------------------------------------- stale and missing rows


def recover_orphaned_runs(db: sqlite_utils.Database, *, alive: Callable[[int | None], bool],
                          keep: Collection[int] = (), now: str | None = None) -> list[dict[str, Any]]:
    """Mark crawl_runs rows left ``running`` by a process that is gone as failed; return them.

    ``alive(pid)``: is that crawl process still running (`crawler.process.pid_alive`);
    ``keep``: pids whose rows are left alone (the caller's own children).
    """
    recovered = []
    for row in list(db.query("SELECT id, source, pid, started FROM crawl_runs WHERE status = ?",
                             [RunStatus.RUNNING])):
        if row["pid"] in keep or alive(row["pid"]):
            continue
        reason = f"crawl process {row['pid']} died without finishing its run"
        cursor = db.execute(
            "UPDATE crawl_runs SET status = ?, reason = ?, finished = ? WHERE id = ? AND status = ?",
            [RunStatus.FAILED, reason, now or utc_now(), row["id"], RunStatus.RUNNING],
        )
        if cursor.rowcount:
            recovered.append({**row, "reason": reason})
    return recovered


def last_successful_starts(db: sqlite_utils.Database) -> dict[str, datetime]:
    """source -> start of its newest run that went through (status ok or degraded)."""
    marks = ",".join("?" for _ in COMPLETED_RUNS)
    return {
        row["source"]: parse_stored_time(row["started"])
        for row in db.query(
            f"SELECT source, MAX(started) AS started FROM crawl_runs WHERE status IN ({marks}) "
            "GROUP BY source",
            list(COMPLETED_RUNS),
        )
    }


def running_pids(db: sqlite_utils.Database, source_id: str) -> list[int]:
    """The pids of the runs of ``source_id`` recorded as running (their processes may be gone)."""
    return [row[0] for row in db.execute(
        "SELECT pid FROM crawl_runs WHERE source = ? AND status = ?", [source_id, RunStatus.RUNNING])]


def record_run(db: sqlite_utils.Database, source_id: str, *, started: str, pid: int | None,
               log_path: str, status: RunStatus, reason: str) -> dict[str, Any]:
    """Record a finished run its crawl process did not record itself; the row."""
    runs = db.table("crawl_runs")
    run_id = runs.insert({
        "source": source_id, "started": started, "finished": utc_now(),
        "status": status, "reason": reason, "pid": pid, "log_path": log_path,
    }).last_pk
    assert run_id is not None
    return dict(runs.get(run_id))


def run_of_process(db: sqlite_utils.Database, source_id: str, pid: int,
                   after_id: int) -> dict[str, Any] | None:
    """The newest run of ``source_id`` recorded by process ``pid`` after run ``after_id``; None if none."""
    rows = list(db.query("SELECT * FROM crawl_runs WHERE id > ? AND pid = ? AND source = ? ORDER BY id DESC "
                         "LIMIT 1", [after_id, pid, source_id]))
    return rows[0] if rows else None


def amend_run(db: sqlite_utils.Database, run: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Apply ``changes`` to a run unless its status changed meanwhile (its process may still write
    it); the row as it is now."""
    if changes:
        assignments = ", ".join(f"{column} = ?" for column in changes)
        db.execute(f"UPDATE crawl_runs SET {assignments} WHERE id = ? AND status = ?",
                   [*changes.values(), run["id"], run["status"]])
    return dict(db.table("crawl_runs").get(run["id"]))
