"""Stories, read side: what a story is made of, which member is canonical, the threshold.

The write side (fingerprints, LSH bands, links, recomputing stories) is
`pipelines.story_index.StoryIndex`; feeds and the CLI only read, through here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import sqlite_utils

from presswatch.archive.outcomes import ItemStatus, LinkKind

THRESHOLD_KEY = "stories_threshold"  # state key: the threshold this archive's links were made with
_CHUNK = 500

# The position of a source in sources.toml (earlier first): how canonical items are chosen.
Rank = Callable[[str], int]


def chunks(values: list[int], size: int = _CHUNK) -> Iterator[list[int]]:
    """``values`` in slices short enough for one ``IN (...)`` of SQLite."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


# --------------------------------------------------------------------------- settings


def threshold(db: sqlite_utils.Database, default: float) -> float:
    """The near-duplicate threshold of this archive (`presswatch stories --threshold`), else ``default``
    (`pipelines.neardup.THRESHOLD`)."""
    row = db.execute("SELECT value FROM state WHERE key = ?", [THRESHOLD_KEY]).fetchone()
    try:
        return float(row[0]) if row else default
    except ValueError:
        return default


def set_threshold(db: sqlite_utils.Database, value: float) -> None:
    db.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", [THRESHOLD_KEY, repr(float(value))])


# --------------------------------------------------------------------------- canonical item


def canonical_key(row: dict[str, Any], rank: Rank) -> tuple[Any, ...]:
    """Sort key of a story's members: the first is its canonical item.

    Active before removed; then the earliest publication day as the page states
    it (a copy that gives only a date must not beat the original giving the
    time of day), undated last; then the source listed first in sources.toml;
    then the shorter path (a site's default-language version has no language
    prefix: /news/x before /ro/news/x); then the smaller URL.
    """
    published = row.get("published")
    depth = urlsplit(row["url"]).path.rstrip("/").count("/")
    return (row.get("status", ItemStatus.ACTIVE) != ItemStatus.ACTIVE, published is None,
            (published or "")[:10], rank(row["source"]), depth, row["url"])


# --------------------------------------------------------------------------- reading


def counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Items, stories, stories shared by several items, links by kind, items not fingerprinted yet."""
    def one(sql: str, *params: Any) -> int:
        return int(db.execute(sql, params).fetchone()[0])

    links = "SELECT count(*) FROM story_links WHERE kind = ?"
    return {
        "items": one("SELECT count(*) FROM items"),
        "stories": one("SELECT count(*) FROM stories"),
        "shared": one("SELECT count(*) FROM stories WHERE members > 1"),
        "near_duplicate": one(links, LinkKind.NEAR_DUPLICATE),
        "translation": one(links, LinkKind.TRANSLATION),
        "unindexed": one("SELECT count(*) FROM items LEFT JOIN item_signatures s ON s.item_id = items.id "
                         "WHERE s.item_id IS NULL"),
    }


def story_of(db: sqlite_utils.Database, item_id: int) -> dict[str, Any] | None:
    """The story of an item: its id, canonical item and every member with how it is linked."""
    row = db.execute("SELECT story_id FROM items WHERE id = ?", [item_id]).fetchone()
    if row is None or row[0] is None:
        return None
    story_id = row[0]
    story = db.execute("SELECT canonical_item_id, members FROM stories WHERE id = ?", [story_id]).fetchone()
    members = [dict(member) for member in db.query(
        "SELECT id, url, source, language, published, status, title FROM items WHERE story_id = ? "
        "ORDER BY id",
        [story_id])]
    ids = [member["id"] for member in members]
    links: dict[int, list[dict[str, Any]]] = {member_id: [] for member_id in ids}
    for chunk in chunks(ids):
        marks = ",".join("?" for _ in chunk)
        for first, second, kind, similarity, via in db.execute(
            f"SELECT item_id, other_item_id, kind, similarity, via FROM story_links "
            f"WHERE item_id IN ({marks})",
            chunk,
        ):
            for one, other in ((first, second), (second, first)):
                if one in links:
                    links[one].append({"item_id": other, "kind": kind, "similarity": similarity, "via": via})
    canonical_id = story[0] if story else None
    for member in members:
        member["canonical"] = member["id"] == canonical_id
        member["links"] = sorted(links[member["id"]], key=lambda link: (link["item_id"], link["kind"]))
    return {"id": story_id, "canonical_item_id": canonical_id, "members": members}
