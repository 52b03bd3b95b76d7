"""The health feed (``public/health.atom``): every change of a source's health, newest first.

Staff subscribe to it to watch the monitor itself: an entry says which source
became degraded (and why) or recovered, or which archived release was
withdrawn from its site (its page now answers 404/410). Built with feedgen from the
``health_events`` table; deterministic: the same events always give the same
bytes (the feed's updated date is its newest event's, never "now"), and the
file is replaced atomically (a temporary file, then a rename), only when its
bytes change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils
from feedgen.feed import FeedGenerator

from feeds.publish import write_atomically
from presswatch.archive import health, outbox
from presswatch.archive.outcomes import ItemEvent
from presswatch.archive.times import parse_stored_time

FEED_NAME = "health.atom"
FEED_ID = "tag:presswatch,2024:health"
FEED_TITLE = "presswatch: source health"
FEED_LIMIT = 200  # the newest events the feed lists
# The updated date of a feed with no events yet: fixed, so the file stays byte-identical.
EMPTY_FEED_DATE = datetime(2000, 1, 1, tzinfo=UTC)
ATOM_TYPE = "application/atom+xml"


def entry_title(event: Mapping[str, Any]) -> str:
    source, old, new = event["source"], event["old_state"], event["new_state"]
    rules = (event.get("rules") or "").replace(",", ", ")
    if new == health.DEGRADED and old == health.DEGRADED:
        return f"{source}: still degraded, now for {rules}"
    if new == health.DEGRADED:
        return f"{source} is degraded ({rules})"
    if new == health.OK and old == health.DEGRADED:
        return f"{source} recovered"
    return f"{source} is {new}"


def entry_text(event: Mapping[str, Any]) -> str:
    lines = [f"{event['source']}: {event['old_state']} -> {event['new_state']} at {event['at']}."]
    if event.get("reason"):
        lines.append(f"Why: {event['reason']}.")
    elif event["new_state"] == health.OK:
        lines.append("Its latest run looks like its history again.")
    if event.get("run_id") is not None:
        lines.append(f"Judged run: crawl_runs.id = {event['run_id']}.")
    return "\n".join(lines)


def render_health_feed(events: Sequence[Mapping[str, Any]], base_url: str = "") -> bytes:
    """The Atom document of ``events`` (health_events rows, newest first)."""
    generator = FeedGenerator()
    generator.id(FEED_ID)
    generator.title(FEED_TITLE)
    generator.subtitle("Every change of state of a presswatch source: degraded (and why) or recovered.")
    generator.author({"name": "presswatch"})
    generator.link(href=f"{base_url.rstrip('/')}/{FEED_NAME}" if base_url else FEED_NAME,
                   rel="self", type=ATOM_TYPE)
    generator.generator("presswatch", uri="https://github.com/presswatch/presswatch")
    times = [parse_stored_time(event["at"]) for event in events]
    generator.updated(max(times, default=EMPTY_FEED_DATE))
    for event, moment in zip(events, times, strict=True):
        entry = generator.add_entry(order="append")  # keep the given order (newest first)
        entry.published(moment)
        entry.updated(moment)
        entry.category({"term": event["source"], "label": event["source"]})
        if event.get("kind") == "item":
            # An archived item's page went away (or came back): kept, marked removed.
            entry.id(f"{FEED_ID}/item-event/{event['id']}")
            verb = "withdrawn" if event["event"] == ItemEvent.REMOVED else "back online"
            entry.title(f"{event['source']}: {verb}: {event['title']}")
            entry.link(href=event["url"], rel="alternate")
            entry.content(f"{event['url']}: {event['detail']} at {event['at']}. The item stays in the "
                          f"archive{', marked removed' if event['event'] == 'removed' else ''}.", type="text")
            entry.category({"term": f"item_{event['event']}", "scheme": f"{FEED_ID}/state"})
            continue
        if event.get("kind") == "notify":
            _notify_entry(entry, event)
            continue
        entry.id(f"{FEED_ID}/{event['source']}/{event['id']}")
        entry.title(entry_title(event))
        entry.content(entry_text(event), type="text")
        entry.category({"term": event["new_state"], "scheme": f"{FEED_ID}/state"})
    return generator.atom_str(pretty=True)


def _notify_entry(entry: Any, event: Mapping[str, Any]) -> None:
    """A notification target (presswatch notify) that started failing or recovered."""
    entry.id(f"{FEED_ID}/notify-event/{event['id']}")
    target = f"{event['subscription']} -> {event['target']}"
    if event["event"] == "failing":
        entry.title(f"notifications to {target} are failing")
        entry.content(f"{event['detail']} (at {event['at']}). What it did not take is kept in the outbox "
                      "and sent again by the next `presswatch notify`.", type="text")
    else:
        entry.title(f"notifications to {target} recovered")
        entry.content(f"{event['detail']} at {event['at']}.", type="text")
    entry.category({"term": f"notify_{event['event']}", "scheme": f"{FEED_ID}/state"})


def notify_events(db: sqlite_utils.Database, limit: int) -> list[dict[str, Any]]:
    """The newest changes of notification targets (failing, recovered), as feed events."""
    return [{**row, "kind": "notify", "source": row["subscription"]} for row in outbox.events(db, limit)]


def item_events(db: sqlite_utils.Database, limit: int) -> list[dict[str, Any]]:
    """The newest removals and restorations of archived items, as feed events."""
    return [
        {**row, "kind": "item"}
        for row in db.query(
            "SELECT e.id, e.source, e.at, e.event, e.detail, i.title, i.url FROM item_events e "
            "JOIN items i ON i.id = e.item_id WHERE e.event IN ('removed', 'restored') "
            "ORDER BY e.at DESC, e.id DESC LIMIT ?",
            [limit],
        )
    ]


def feed_events(db: sqlite_utils.Database, limit: int = FEED_LIMIT) -> list[dict[str, Any]]:
    """Source health changes, item removals and failing notification targets, newest first."""
    merged = [*health.events(db, limit), *item_events(db, limit), *notify_events(db, limit)]
    merged.sort(key=lambda event: (event["at"], event.get("kind") == "item", event["id"]), reverse=True)
    return merged[:limit]


def write_health_feed(db: sqlite_utils.Database, public_dir: str | Path, base_url: str = "") -> Path:
    """Write ``public_dir/health.atom`` from the archive's health and item events; return its path."""
    path = Path(public_dir) / FEED_NAME
    data = render_health_feed(feed_events(db), base_url)
    try:
        unchanged = path.read_bytes() == data
    except FileNotFoundError:
        unchanged = False
    if not unchanged:
        write_atomically(path, data)
    return path
