"""One archived item: finding it by any name a user has for it, and everything recorded about it.

`presswatch show` and `presswatch diff` both find items here, so an item answers
to the same names everywhere: its id, its uid, its canonical URL, or the URL of
a copy that deduplication folded into it.
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from presswatch.archive.documents import item_documents
from presswatch.archive.stories import story_of


def find_item(db: sqlite_utils.Database, key: str) -> dict[str, Any] | None:
    """An items row by id, uid, canonical URL or the URL of one of its copies; None if none."""
    key = key.strip()
    row = None
    if key.isdigit():
        row = db.execute("SELECT id FROM items WHERE id = ?", [int(key)]).fetchone()
    if row is None:
        row = db.execute("SELECT id FROM items WHERE uid = ? OR url = ?", [key.lower(), key]).fetchone()
    if row is None and key.startswith(("http://", "https://")):
        row = db.execute("SELECT item_id FROM duplicates WHERE url = ? LIMIT 1", [key]).fetchone()
    if row is None:
        return None
    return dict(next(db.query("SELECT * FROM items WHERE id = ?", [row[0]])))


def item_details(db: sqlite_utils.Database, item: dict[str, Any]) -> dict[str, Any]:
    """The item with its topics, countries, copies, earlier versions, events, documents (where recorded)."""
    item_id = item["id"]
    details = dict(item)
    for key, default in (("countries", []), ("metadata", {})):
        try:
            details[key] = json.loads(item[key]) if item.get(key) else default
        except ValueError:
            pass
    details["topics"] = [row[0] for row in db.execute(
        "SELECT topic FROM item_topics WHERE item_id = ? ORDER BY topic", [item_id])]
    details["duplicates"] = list(db.query(
        "SELECT url, source, reason, first_seen, last_seen, times_seen FROM duplicates "
        "WHERE item_id = ? ORDER BY first_seen, url", [item_id]))
    tables = set(db.table_names())
    details["versions"] = list(db.query(
        "SELECT version, title, fetched, replaced, content_hash, summary, body FROM item_versions "
        "WHERE item_id = ? ORDER BY version", [item_id])) if "item_versions" in tables else []
    details["events"] = list(db.query(
        "SELECT at, event, detail FROM item_events WHERE item_id = ? ORDER BY at, id", [item_id]
    )) if "item_events" in tables else []
    details["story"] = story_of(db, item_id) if "stories" in tables else None
    details["documents"] = item_documents(db, item_id)
    return details
