"""The outbox of `presswatch notify`: what each subscription is due, recorded before it is sent.

Exactly once, in the archive (table ``outbox``, schema v11):

1. ``record`` decides, in one write transaction, which digests and health
   alerts are due (per subscription and target: a subscription with two
   addresses has two rows) and records each, with the ids of the items it
   carries, as ``pending``. The next window of a target starts where its last
   one ended, so an item is in one digest of a target, never two.
2. feeds/notify.py sends each unsent row and marks it ``sent`` (``mark_sent``)
   or ``failed`` with the error (``mark_failed``). A failed row keeps its items
   and is sent again by the next run; while a target has an unsent row no new
   one is recorded for it, so an outage costs one catch-up digest, not one per
   missed period.
3. A crash between sending and marking leaves the row ``pending``: the next
   run sends that digest again, once (the same Message-ID, so mail clients
   can fold the two).

What a digest carries: the active items archived (``first_seen``) in its window
that pass the subscription's filters (those of `presswatch search`), one per
story (the story's canonical item when it is among them), newest first, at most
``limit`` (the rest are counted). Windows end at the start of a crawl still
running, so an item is never selected before its crawl has classified it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from presswatch.archive.db import write_transaction
from presswatch.archive.search import SearchQuery, build_filters, parse_query
from presswatch.archive.times import parse_stored_time, to_utc_text
from presswatch.config.subscriptions import IMMEDIATE_FIRST_PERIOD, Subscription, cron_fires, display_target

DIGEST, HEALTH = "digest", "health"
PENDING, SENT, FAILED, EMPTY, CANCELLED = "pending", "sent", "failed", "empty", "cancelled"
UNSENT = (PENDING, FAILED)
FAILING, RECOVERED = "failing", "recovered"
# A crawl_runs row still 'running' after this long is an orphan (a killed crawl): it no
# longer holds windows back.
RUNNING_CRAWL_LIMIT = timedelta(days=1)


@dataclass(frozen=True)
class Planned:
    """One digest or health alert due to one target."""

    subscription: Subscription
    target: str  # email:ADDRESS or an Apprise URL
    kind: str  # digest | health
    start: str  # UTC text: the window [start, end)
    end: str
    ids: list[int] = field(default_factory=list)  # items (digest) or health_events (health)
    more: int = 0  # matches left out over the limit

    @property
    def key(self) -> str:
        return target_key(self.target)

    @property
    def subject(self) -> str:
        return subject(self.subscription, self.kind, len(self.ids), self.more)


def target_key(target: str) -> str:
    """A target's identity in the archive: a hash, so no secret of an Apprise URL is stored."""
    return hashlib.sha256(target.encode("utf-8")).hexdigest()[:16]


def subject(subscription: Subscription, kind: str, count: int, more: int = 0) -> str:
    if kind == HEALTH:
        return f"presswatch: {subscription.name}: {count} source health change{'s' if count != 1 else ''}"
    total = count + more
    return f"presswatch: {subscription.name}: {total} new item{'s' if total != 1 else ''}"


# ----------------------------------------------------------------------------- windows


def settled_until(db: sqlite_utils.Database, now: datetime) -> datetime:
    """The end of every window recorded now: ``now``, or the start of the oldest crawl still running.

    A crawl stores an item, then classifies it and links its story in later
    transactions: its items are selected once it has finished.
    """
    cutoff = to_utc_text(now - RUNNING_CRAWL_LIMIT)
    row = db.execute("SELECT min(started) FROM crawl_runs WHERE status = 'running' AND started >= ?",
                     [cutoff]).fetchone()
    if row and row[0]:
        return min(now, parse_stored_time(row[0]))
    return now


def first_period(subscription: Subscription, now: datetime) -> timedelta:
    """How far back a target's first window reaches: the subscription's period."""
    if subscription.cron is not None:
        fires = cron_fires(subscription.trigger(), now, 2)
        if len(fires) == 2:
            return now - fires[0]
        return IMMEDIATE_FIRST_PERIOD
    if subscription.immediate or subscription.every is None or isinstance(subscription.every, str):
        return IMMEDIATE_FIRST_PERIOD
    return subscription.every


def is_due(subscription: Subscription, last_created: datetime | None, now: datetime) -> bool:
    """Is a digest due, the target's last one recorded at ``last_created`` (None: never)?"""
    if last_created is None or subscription.immediate:
        return True
    if subscription.cron is not None:
        fires = cron_fires(subscription.trigger(), now, 1)
        return bool(fires) and fires[-1] > last_created
    assert isinstance(subscription.every, timedelta)
    return now >= last_created + subscription.every


def _last_row(db: sqlite_utils.Database, subscription: str, key: str, kind: str) -> dict[str, Any] | None:
    rows = list(db.query(
        "SELECT * FROM outbox WHERE subscription = ? AND target_key = ? AND kind = ? "
        "ORDER BY window_end DESC, id DESC LIMIT 1", [subscription, key, kind]))
    return rows[0] if rows else None


def _has_unsent(db: sqlite_utils.Database, subscription: str, key: str) -> bool:
    return db.execute(
        "SELECT 1 FROM outbox WHERE subscription = ? AND target_key = ? AND status IN (?, ?) LIMIT 1",
        [subscription, key, *UNSENT]).fetchone() is not None


# ----------------------------------------------------------------------------- selection


def select_items(db: sqlite_utils.Database, subscription: Subscription, start: str, end: str
                 ) -> tuple[list[int], int]:
    """The items of a digest: (ids, one per story, newest first, at most ``limit``; how many more)."""
    filters = build_filters(SearchQuery(
        sources=tuple(subscription.sources), kinds=tuple(subscription.kinds),
        countries=tuple(subscription.countries), topics=tuple(subscription.topics)))
    conditions = ["i.first_seen >= ?", "i.first_seen < ?", "i.status = 'active'"]
    params: list[Any] = [start, end]
    for item_filter in filters:
        conditions.append(item_filter.check_sql)
        params.extend(item_filter.params)
    if subscription.query:
        conditions.append("i.id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?)")
        params.append(parse_query(subscription.query).expression)
    rows = db.execute(
        "SELECT i.id, i.story_id, s.canonical_item_id, i.published_utc, "
        "coalesce(i.published_utc, i.first_seen) AS feed_time, i.url "
        "FROM items i INDEXED BY items_first_seen LEFT JOIN stories s ON s.id = i.story_id "
        f"WHERE {' AND '.join(conditions)}", params).fetchall()
    return one_per_story(rows, subscription.limit)


def one_per_story(rows: Iterable[Sequence[Any]], limit: int) -> tuple[list[int], int]:
    """(id, story_id, canonical_item_id, published_utc, feed_time, url) rows -> (ids, more).

    A story's entry is its canonical item when selected, else its earliest
    published selected item; entries newest first (feed time, then URL).
    """
    chosen: dict[int, Sequence[Any]] = {}
    for row in rows:
        story_id = row[1] if row[1] is not None else row[0]
        canonical = row[2]
        best = chosen.get(story_id)
        if best is None or _better(row, best, canonical):
            chosen[story_id] = row
    entries = sorted(chosen.values(), key=lambda row: row[5])  # URL ascending breaks ties...
    entries.sort(key=lambda row: row[4], reverse=True)  # ...within feed time descending (stable)
    ids = [row[0] for row in entries]
    return ids[:limit], max(0, len(ids) - limit)


def _better(row: Sequence[Any], best: Sequence[Any], canonical: int | None) -> bool:
    if best[0] == canonical:
        return False
    if row[0] == canonical:
        return True
    return (row[3] or "\uffff", row[0]) < (best[3] or "\uffff", best[0])


def select_health_events(db: sqlite_utils.Database, subscription: Subscription, start: str, end: str
                         ) -> list[int]:
    """The health_events of an alert, oldest first (of the subscription's sources, when it names some)."""
    sql = "SELECT id FROM health_events WHERE at >= ? AND at < ?"
    params: list[Any] = [start, end]
    if subscription.sources:
        sql += f" AND source IN ({', '.join('?' for _ in subscription.sources)})"
        params.extend(subscription.sources)
    return [row[0] for row in db.execute(sql + " ORDER BY at, id", params)]


# ----------------------------------------------------------------------------- planning


def plan(db: sqlite_utils.Database, subscriptions: Iterable[Subscription], now: datetime) -> list[Planned]:
    """What is due now, per subscription and target (nothing is written)."""
    end_moment = settled_until(db, now)
    end = to_utc_text(end_moment)
    planned: list[Planned] = []
    for subscription in subscriptions:
        for target in subscription.targets():
            key = target_key(target)
            if _has_unsent(db, subscription.id, key):
                continue  # retried first; the next window starts where it ends
            back = to_utc_text(end_moment - first_period(subscription, now))
            if subscription.digest:
                last = _last_row(db, subscription.id, key, DIGEST)
                created = parse_stored_time(last["created"]) if last else None
                start = last["window_end"] if last else back
                if is_due(subscription, created, now) and start < end:
                    ids, more = select_items(db, subscription, start, end)
                    planned.append(Planned(subscription, target, DIGEST, start, end, ids, more))
            if subscription.health:
                last = _last_row(db, subscription.id, key, HEALTH)
                start = last["window_end"] if last else back
                events = select_health_events(db, subscription, start, end) if start < end else []
                if events:
                    planned.append(Planned(subscription, target, HEALTH, start, end, events))
    return planned


def record(db: sqlite_utils.Database, subscriptions: Sequence[Subscription], now: datetime) -> list[int]:
    """Plan and record what is due, in one write transaction; the new outbox row ids.

    A due digest with no items is recorded ``empty`` (never sent): it keeps a
    daily digest daily. An immediate one with no items is not recorded.
    """
    created = to_utc_text(now)
    recorded: list[int] = []
    with write_transaction(db):
        for due in plan(db, subscriptions, now):
            if not due.ids and due.subscription.immediate:
                continue
            row = {
                "subscription": due.subscription.id, "target_key": due.key,
                "target": display_target(due.target), "kind": due.kind,
                "window_start": due.start, "window_end": due.end, "item_ids": json.dumps(due.ids),
                "more": due.more, "subject": due.subject, "status": PENDING if due.ids else EMPTY,
                "created": created,
            }
            cursor = db.conn.execute(
                f"INSERT INTO outbox ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                list(row.values()))
            if due.ids:
                assert cursor.lastrowid is not None
                recorded.append(cursor.lastrowid)
    return recorded


# ----------------------------------------------------------------------------- sending bookkeeping


def unsent(db: sqlite_utils.Database, subscriptions: Sequence[Subscription], now: datetime
           ) -> list[tuple[dict[str, Any], Subscription, str]]:
    """Every row still to send, oldest first, with its subscription and target.

    Rows whose subscription or target is no longer in the file are cancelled.
    """
    targets = {(subscription.id, target_key(target)): (subscription, target)
               for subscription in subscriptions for target in subscription.targets()}
    result = []
    gone = []
    for row in db.query(f"SELECT * FROM outbox WHERE status IN ({', '.join('?' for _ in UNSENT)}) "
                        "ORDER BY id", list(UNSENT)):
        found = targets.get((row["subscription"], row["target_key"]))
        if found is None:
            gone.append(row["id"])
        else:
            result.append((row, *found))
    if gone:
        with write_transaction(db):
            db.execute(f"UPDATE outbox SET status = ?, error = 'no longer in the subscriptions', "
                       f"last_attempt = ? WHERE id IN ({', '.join('?' for _ in gone)})",
                       [CANCELLED, to_utc_text(now), *gone])
    return result


def _last_event(db: sqlite_utils.Database, row: dict[str, Any]) -> str | None:
    found = db.execute("SELECT event FROM notify_events WHERE subscription = ? AND target = ? "
                       "ORDER BY at DESC, id DESC LIMIT 1", [row["subscription"], row["target"]]).fetchone()
    return found[0] if found else None


def _event(db: sqlite_utils.Database, row: dict[str, Any], event: str, at: str, detail: str) -> None:
    db.execute("INSERT INTO notify_events (subscription, target, at, event, detail) VALUES (?, ?, ?, ?, ?)",
               [row["subscription"], row["target"], at, event, detail])


def mark_sent(db: sqlite_utils.Database, row: dict[str, Any], now: datetime) -> None:
    at = to_utc_text(now)
    with write_transaction(db):
        db.execute("UPDATE outbox SET status = ?, sent = ?, last_attempt = ?, attempts = attempts + 1, "
                   "error = NULL WHERE id = ?", [SENT, at, at, row["id"]])
        if _last_event(db, row) == FAILING:
            _event(db, row, RECOVERED, at, f"outbox row {row['id']} sent")


def mark_failed(db: sqlite_utils.Database, row: dict[str, Any], error: str, now: datetime) -> None:
    """Keep the row (and its items) for the next run; note when the target starts failing."""
    at = to_utc_text(now)
    error = " ".join(error.split())[:500]
    with write_transaction(db):
        db.execute("UPDATE outbox SET status = ?, last_attempt = ?, attempts = attempts + 1, error = ? "
                   "WHERE id = ?", [FAILED, at, error, row["id"]])
        if _last_event(db, row) != FAILING:
            _event(db, row, FAILING, at, error)


# ----------------------------------------------------------------------------- reports


def failing_targets(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Targets whose last attempt failed: subscription, target, since, unsent rows, attempts, error."""
    return list(db.query(
        "SELECT subscription, target, min(created) AS since, count(*) AS unsent, "
        "sum(attempts) AS attempts, max(last_attempt) AS last_attempt, "
        "(SELECT error FROM outbox o2 WHERE o2.subscription = o.subscription AND o2.target = o.target "
        " AND o2.status = 'failed' ORDER BY last_attempt DESC, id DESC LIMIT 1) AS error "
        "FROM outbox o WHERE status = 'failed' GROUP BY subscription, target ORDER BY subscription, target"))


def events(db: sqlite_utils.Database, limit: int = 100) -> list[dict[str, Any]]:
    """The newest notification target events (failing, recovered), newest first."""
    return list(db.query("SELECT * FROM notify_events ORDER BY at DESC, id DESC LIMIT ?", [limit]))


def items_of(row: dict[str, Any]) -> list[int]:
    return [int(item_id) for item_id in json.loads(row["item_ids"] or "[]")]
