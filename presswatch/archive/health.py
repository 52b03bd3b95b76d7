"""Source health: is a source still yielding what it usually yields?

After every scheduled run (and periodically) the scheduler judges each source
from its own ``crawl_runs`` history. A source is *degraded* when one of these
rules fires (thresholds are the fields of `Thresholds`; docs/scheduler.md
explains them):

``empty``     the run found no items, where its earlier good runs usually found some
              (a listing selector that stopped matching, a site redesign)
``no_date``   the share of its items archived without a date jumped above its usual share
``no_body``   the same for items archived without body text
``errors``    more than `max_error_rate` of its requests failed (HTTP errors, network errors)
``failing``   its last `failed_runs` runs all failed or timed out
``stale``     no new item for far longer than its usual gap between new items (the
              silence counted up to its newest run, so a stopped scheduler is no silence)

The first four are judged on the newest run that went through (status ok or
degraded) and are caused by it: that run's ``crawl_runs.status`` becomes
``degraded``, with the reason. A failed run after it changes nothing there
(only `failing` looks at failures). Runs marked
degraded never count as a baseline ("usually"), so a source stays degraded
until a run looks like its history again. Interrupted runs (a shutdown) and
runs still going are ignored.

`evaluate` and the helpers above it are pure (rows in, verdict out). Below
them, the archive side: reading a source's history, storing its state in
``source_health`` and each change of state in ``health_events`` (which the
health feed, `feeds.health`, publishes).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from presswatch.archive.db import write_transaction
from presswatch.archive.outcomes import COMPLETED_RUNS, FAILED_RUNS, IGNORED_RUNS, HealthState, RunStatus
from presswatch.archive.times import parse_stored_time, to_utc_text

OK, DEGRADED, UNKNOWN = HealthState.OK, HealthState.DEGRADED, HealthState.UNKNOWN


Run = Mapping[str, Any]


@dataclass(frozen=True)
class Thresholds:
    """The health rules' settings. The defaults are presswatch's documented thresholds."""

    # Baseline: the source's last `baseline_runs` good runs (status ok) before the judged one.
    baseline_runs: int = 10
    # Fewer good runs than this with a known item count: no baseline yet, `empty` does not apply.
    min_baseline_runs: int = 3
    # "Usually finds some": at least this share of the baseline runs found items.
    usual_share: float = 0.5
    # `no_date` / `no_body`: the run's share of items lacking the field exceeds the
    # baseline's share by at least this much (0.3 = 30 percentage points)...
    field_share_jump: float = 0.3
    # ...counted only when the run and the baseline each have at least this many items.
    field_min_items: int = 3
    # `errors`: failed requests / requests above this, with at least `min_requests` requests.
    max_error_rate: float = 0.25
    min_requests: int = 4
    # `failing`: this many failed or timed-out runs in a row.
    failed_runs: int = 2
    # `stale`: no new item for `stale_factor` x the median gap between runs that found new
    # items, learned from at least `stale_min_gaps` such gaps, and never less than `stale_floor`.
    stale_factor: float = 4.0
    stale_min_gaps: int = 3
    stale_floor: timedelta = timedelta(0)


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Finding:
    rule: str  # empty | no_date | no_body | errors | failing | stale
    reason: str  # one line, for people
    run_id: int | None = None  # the run that shows the problem, for the rules a run causes

    @property
    def run_caused(self) -> bool:
        return self.run_id is not None


@dataclass(frozen=True)
class Verdict:
    state: str  # ok | degraded | unknown (no run to judge yet)
    findings: tuple[Finding, ...] = ()
    run_id: int | None = None  # the judged run

    @property
    def rules(self) -> str:
        return ",".join(finding.rule for finding in self.findings)

    @property
    def reason(self) -> str | None:
        return "; ".join(finding.reason for finding in self.findings) or None

    def run_reasons(self) -> dict[int, str]:
        """run id -> why that run is degraded, for the runs that caused a finding."""
        reasons: dict[int, list[str]] = {}
        for finding in self.findings:
            if finding.run_id is not None:
                reasons.setdefault(finding.run_id, []).append(finding.reason)
        return {run_id: "; ".join(texts) for run_id, texts in reasons.items()}


# ---------------------------------------------------------------- measures


def _count(run: Run, column: str) -> int:
    return int(run.get(column) or 0)


def items_found(run: Run) -> int | None:
    """How many items the run found (new, changed, unchanged, duplicate, removed or skipped
    because fetched recently); None when unknown: an incremental run that recorded no
    skip count and found nothing else."""
    seen = sum(
        _count(run, column)
        for column in ("items_new", "items_updated", "items_unchanged", "items_duplicate", "items_removed")
    )
    skipped = run.get("items_skipped")
    if skipped is None:
        return seen or None
    return seen + int(skipped)


def items_extracted(run: Run) -> int:
    """Item pages the run extracted (what the no_date / no_body shares are counted over):
    those archived (new, updated, unchanged but for 304 re-checks, duplicate copies) and
    those dropped for want of a title or of body text."""
    stored = (
        _count(run, "items_new") + _count(run, "items_updated") + _count(run, "items_unchanged")
        + _count(run, "items_duplicate") - _count(run, "not_modified")
    )
    return max(stored, 0) + _count(run, "no_title") + _count(run, "no_body")


def error_rate(run: Run) -> tuple[int, int]:
    """(failed requests, requests) of a run: HTTP errors among the responses, plus network errors."""
    failed = _count(run, "http_errors") + _count(run, "errors")
    requests = _count(run, "pages_fetched") + _count(run, "errors")
    return failed, requests


def _percent(value: float) -> str:
    return f"{round(value * 100)}%"


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= 2 * size or (unit == "minute" and seconds >= size):
            amount = seconds / size
            text = f"{amount:.0f}" if amount >= 10 or amount == int(amount) else f"{amount:.1f}"
            return f"{text} {unit}s"
    return f"{seconds} seconds"


# ---------------------------------------------------------------- rules


def _empty(run: Run, baseline: Sequence[Run], streak: int, t: Thresholds) -> Finding | None:
    if run["status"] not in COMPLETED_RUNS or items_found(run) != 0:
        return None
    known = [count for count in (items_found(r) for r in baseline) if count is not None]
    if len(known) < t.min_baseline_runs:
        return None
    with_items = [count for count in known if count > 0]
    if len(with_items) < t.usual_share * len(known):
        return None
    typical = statistics.median(with_items)
    reason = f"found no items; {len(with_items)} of its previous {len(known)} good runs found some " \
             f"(typically {typical:g})"
    if streak > 1:
        reason += f"; {streak} empty runs in a row"
    return Finding("empty", reason, run["id"])


def _field_share(run: Run, baseline: Sequence[Run], column: str, label: str,
                 t: Thresholds) -> Finding | None:
    if run["status"] not in COMPLETED_RUNS:
        return None
    extracted = items_extracted(run)
    if extracted < t.field_min_items:
        return None
    base_items = sum(items_extracted(r) for r in baseline)
    if base_items < t.field_min_items:
        return None
    share = _count(run, column) / extracted
    usual = sum(_count(r, column) for r in baseline) / base_items
    if share - usual < t.field_share_jump:
        return None
    return Finding(
        column,
        f"{_count(run, column)} of its {extracted} items had no {label} ({_percent(share)}; "
        f"usually {_percent(usual)})",
        run["id"],
    )


def _errors(run: Run, t: Thresholds) -> Finding | None:
    if run["status"] not in COMPLETED_RUNS:
        return None
    failed, requests = error_rate(run)
    if requests < t.min_requests or failed / requests <= t.max_error_rate:
        return None
    return Finding(
        "errors",
        f"{failed} of {requests} requests failed ({_percent(failed / requests)}, "
        f"limit {_percent(t.max_error_rate)})",
        run["id"],
    )


def _failing(judged: Sequence[Run], t: Thresholds) -> Finding | None:
    last = judged[-t.failed_runs:]
    if len(last) < t.failed_runs or any(run["status"] not in FAILED_RUNS for run in last):
        return None
    streak = 0
    for run in reversed(judged):
        if run["status"] not in FAILED_RUNS:
            break
        streak += 1
    why = last[-1].get("reason") or last[-1]["status"]
    return Finding("failing", f"its last {streak} runs failed (last: {why})")


def _stale(completed: Sequence[Run], t: Thresholds) -> Finding | None:
    times = sorted(parse_stored_time(run["started"]) for run in completed if _count(run, "items_new"))
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    if len(gaps) < t.stale_min_gaps:
        return None
    usual = timedelta(seconds=statistics.median(gap.total_seconds() for gap in gaps))
    # Silence as far as the crawls saw it: up to the newest run that went through (not
    # "now": a scheduler that was stopped for a week has not seen a silent week).
    silent = max(parse_stored_time(run["started"]) for run in completed) - times[-1]
    limit = max(usual * t.stale_factor, t.stale_floor)
    if silent <= limit:
        return None
    return Finding(
        "stale",
        f"no new item for {_human(silent)}; it usually has new items every {_human(usual)}",
    )


def evaluate(runs: Iterable[Run], thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Verdict:
    """Judge a source from its crawl_runs rows (any order; the newest decides)."""
    t = thresholds
    judged = sorted((run for run in runs if run["status"] not in IGNORED_RUNS), key=lambda run: run["id"])
    if not judged:
        return Verdict(UNKNOWN)
    candidates: list[Finding | None] = []
    # What a crawl that went through looks like: the newest such run (a failed run
    # since then says nothing about it, so a degraded source stays degraded).
    completed = [run for run in judged if run["status"] in COMPLETED_RUNS]
    if completed:
        run, earlier = completed[-1], completed[:-1]
        baseline = [r for r in earlier if r["status"] == RunStatus.OK][-t.baseline_runs:]
        streak = 1
        for previous in reversed(earlier):
            if items_found(previous) != 0:
                break
            streak += 1
        candidates += [
            _empty(run, baseline, streak, t),
            _field_share(run, baseline, "no_date", "date", t),
            _field_share(run, baseline, "no_body", "body text", t),
            _errors(run, t),
        ]
    candidates += [_failing(judged, t), _stale(completed, t)]
    findings = tuple(finding for finding in candidates if finding is not None)
    return Verdict(DEGRADED if findings else OK, findings, judged[-1]["id"])


# ---------------------------------------------------------------- the archive side

HISTORY_RUNS = 200  # the newest runs read for a verdict
NEW_ITEM_RUNS = 50  # plus the newest runs that found new items (for `stale`), however old


def history(db: sqlite_utils.Database, source: str) -> list[dict[str, Any]]:
    """The crawl_runs rows a verdict on ``source`` needs, oldest first."""
    rows = db.query(
        "SELECT * FROM crawl_runs WHERE id IN ("
        " SELECT id FROM crawl_runs WHERE source = :source ORDER BY id DESC LIMIT :recent)"
        " OR id IN ("
        " SELECT id FROM crawl_runs WHERE source = :source AND items_new > 0"
        " AND status IN ('ok', 'degraded') ORDER BY id DESC LIMIT :new)"
        " ORDER BY id",
        {"source": source, "recent": HISTORY_RUNS, "new": NEW_ITEM_RUNS},
    )
    return list(rows)


@dataclass(frozen=True)
class HealthEvent:
    source: str
    at: str
    old_state: str
    new_state: str
    rules: str
    reason: str | None
    run_id: int | None
    id: int | None = field(default=None, compare=False)


def current_state(db: sqlite_utils.Database, source: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM source_health WHERE source = ?", [source]))
    return rows[0] if rows else None


def record(db: sqlite_utils.Database, source: str, verdict: Verdict, now: datetime) -> HealthEvent | None:
    """Store ``verdict`` as the source's state; return the event when the state changed.

    A change is a new state, or while degraded a different set of rules. The
    first verdict of a source that is ok is not an event (there was no state
    to change from). When the judged run caused the problem, its crawl_runs
    row becomes ``degraded`` with the reason. One transaction.
    """
    if verdict.state == UNKNOWN:
        return None
    at = to_utc_text(now)
    with write_transaction(db):
        before = current_state(db, source)
        old_state = before["state"] if before else UNKNOWN
        old_rules = before["rules"] if before else ""
        changed = old_state != verdict.state or old_rules != verdict.rules
        db.table("source_health").upsert(
            {
                "source": source,
                "state": verdict.state,
                "rules": verdict.rules,
                "reason": verdict.reason,
                "since": at if changed or before is None else before["since"],
                "checked": at,
                "run_id": verdict.run_id,
            },
            pk="source",
        )
        for run_id, reason in verdict.run_reasons().items():
            db.execute(
                "UPDATE crawl_runs SET status = 'degraded', reason = ? WHERE id = ? AND status = 'ok'",
                [reason, run_id],
            )
        if not changed or (before is None and verdict.state == OK):
            return None
        event = HealthEvent(source, at, old_state, verdict.state, verdict.rules, verdict.reason,
                            verdict.run_id)
        event_id = db.table("health_events").insert(
            {"source": source, "at": at, "old_state": old_state, "new_state": verdict.state,
             "rules": verdict.rules, "reason": verdict.reason, "run_id": verdict.run_id}
        ).last_pk
    return HealthEvent(**{**event.__dict__, "id": event_id})


def check_source(
    db: sqlite_utils.Database, source: str, now: datetime, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> tuple[Verdict, HealthEvent | None]:
    """Judge ``source`` from the archive and store the verdict."""
    verdict = evaluate(history(db, source), thresholds)
    return verdict, record(db, source, verdict, now)


def events(db: sqlite_utils.Database, limit: int = 100) -> list[dict[str, Any]]:
    """The newest ``limit`` health events, newest first (ties: the later id first)."""
    return list(db.query("SELECT * FROM health_events ORDER BY at DESC, id DESC LIMIT ?", [limit]))


def states(db: sqlite_utils.Database) -> dict[str, dict[str, Any]]:
    return {row["source"]: row for row in db.query("SELECT * FROM source_health")}
