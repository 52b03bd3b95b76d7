"""Stories: the items of the archive that are one release.

The same press release appears on the global newsroom, a regional site and a
country site, often lightly edited, and in several languages. Exact copies
(same URL or same text) are already one item (`pipelines/dedupe.py`); a story
groups the items that remain:

- **near duplicates**: items whose bodies are similar (estimated Jaccard
  similarity of their word shingles at least the threshold, see
  `pipelines/neardup.py`), found through MinHash LSH bands kept on disk
  (`lsh_bands`, `item_signatures`): a new item is matched against the whole
  archive with a few indexed lookups, nothing is held in memory;
- **translations**: pages that declare each other as language versions
  (`<link rel="alternate" hreflang>`), in either direction and whichever is
  archived first (the declared URLs are kept in `translation_refs`), or that
  share a Drupal node id across language paths (`/node/123`, `/ro/node/123`).

`story_links` holds these pairs with their kind and similarity; a story is a
connected group of linked items (a new item similar to members of two stories
merges them; an edited item that no longer matches leaves its story). Its id
is the smallest id of its members and its canonical item (what feeds show) the
earliest published: compared by the day each page states, then the source's
position in sources.toml, as `pipelines.dedupe.prefer` does, then the shorter
path (the default-language version), then the URL; active items before
removed ones. Every item has a story: an item alone is its
own (a trigger on items creates it).

Boilerplate: a paragraph that recurs in `BOILERPLATE_MIN_ITEMS` items of the
same source (the "About IOM" closing, contact blocks) is left out of the
shingles of every item of that source, so that two different releases sharing
it do not look alike. `source_paragraphs` counts in how many items of a source
each paragraph (hash of its words) appears; when one reaches the bar, the few
items that already had it are fingerprinted again, so the result does not
depend on the order in which items arrive.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import sqlite_utils

from pipelines import neardup
from pipelines.normalize.urls import canonical_url
from presswatch.archive.db import write_transaction
from presswatch.archive.outcomes import LinkKind
from presswatch.archive.stories import Rank, canonical_key, chunks, counts, threshold

logger = logging.getLogger("pipelines.story_index")

NEAR_DUPLICATE, TRANSLATION = LinkKind.NEAR_DUPLICATE, LinkKind.TRANSLATION
# A paragraph in this many items of one source is boilerplate of that source.
# Low on purpose: a wrong merge hides a release from subscribers, a missed one
# only shows it twice. Three also keeps a release re-posted twice on its own
# site (a correction) matching, since its paragraphs are then in two items.
BOILERPLATE_MIN_ITEMS = 3


def _no_rank(source: str) -> int:
    return 0


# --------------------------------------------------------------------------- translations


_NODE_PATH = re.compile(r"/(?:[a-z]{2,3}(?:[-_][a-z0-9]{2,8})?/)?node/(\d+)/?", re.IGNORECASE)


def node_key(shortlink: str | None) -> str | None:
    """``host/node/N`` of a Drupal shortlink (``https://host/node/N``, ``https://host/ro/node/N``)."""
    if not shortlink:
        return None
    parts = urlsplit(shortlink)
    match = _NODE_PATH.fullmatch(parts.path)
    if not parts.hostname or not match:
        return None
    return f"{parts.hostname.lower()}/node/{int(match.group(1))}"


def translation_refs(url: str, alternates: dict[str, str] | None,
                     shortlink: str | None) -> list[tuple[str, str]]:
    """(ref, kind) pairs an item declares: the canonical URLs of its hreflang alternates
    (itself left out) and its node key."""
    refs: dict[str, str] = {}
    for href in (alternates or {}).values():
        try:
            target = canonical_url(href)
        except ValueError:
            continue
        if target and target != url:
            refs[target] = "hreflang"
    key = node_key(shortlink)
    if key:
        refs[key] = "node"
    return sorted(refs.items())


# --------------------------------------------------------------------------- the index


@dataclass
class Outcome:
    """What happened to one item's story."""

    story_id: int | None = None
    members: int = 1
    # (other item, kind, similarity) of the item's own links
    linked: list[tuple[int, str, float | None]] = field(default_factory=list)
    refreshed: list[int] = field(default_factory=list)  # items fingerprinted again (boilerplate learnt)


def _ints(blob: bytes | None, dtype: str) -> list[int]:
    return [int(value) for value in np.frombuffer(blob, dtype=dtype)] if blob else []


class StoryIndex:
    """Story membership kept in the archive: fingerprints, LSH bands, links, stories.

    Every method that writes expects to run inside the caller's write
    transaction (`presswatch.archive.db.write_transaction`).
    """

    def __init__(self, db: sqlite_utils.Database, rank: Rank = _no_rank, threshold_: float | None = None):
        self.db = db
        self.rank = rank
        self.threshold = threshold(db, neardup.THRESHOLD) if threshold_ is None else threshold_
        self._boilerplate_hints: dict[str, set[int]] = {}  # source -> hashes (see known_boilerplate)

    # ------------------------------------------------------------------ reading

    def item(self, item_id: int) -> dict[str, Any] | None:
        cursor = self.db.execute(
            "SELECT id, source, url, body, language, published, status, story_id FROM items WHERE id = ?",
            [item_id])
        row = cursor.fetchone()
        return dict(zip([c[0] for c in cursor.description], row, strict=True)) if row else None

    def stored_paragraphs(self, item_id: int) -> list[int] | None:
        row = self.db.execute("SELECT paragraphs FROM item_signatures WHERE item_id = ?",
                              [item_id]).fetchone()
        return _ints(row[0], "<i8") if row else None

    def boilerplate(self, source: str, hashes: Iterable[int], adding: Iterable[int] = ()) -> frozenset[int]:
        """Which of ``hashes`` are boilerplate of ``source``.

        ``adding``: hashes about to be counted once more (for this item)."""
        hashes = list(dict.fromkeys(hashes))
        adding = set(adding)
        found: set[int] = set()
        for chunk in chunks(hashes):
            marks = ",".join("?" for _ in chunk)
            for digest, items in self.db.execute(
                f"SELECT hash, items FROM source_paragraphs WHERE source = ? AND hash IN ({marks})",
                [source, *chunk],
            ):
                if items + (digest in adding) >= BOILERPLATE_MIN_ITEMS:
                    found.add(digest)
        if BOILERPLATE_MIN_ITEMS <= 1:
            found |= adding
        return frozenset(found)

    def known_boilerplate(self, source: str) -> frozenset[int]:
        """The paragraph hashes already counted as ``source``'s boilerplate: what a worker
        fingerprints a new item of the source with, without reading the item back or
        hashing its paragraphs here. A hint, kept in memory and grown as paragraphs cross the
        bar: `update` checks the fingerprint against the archive and computes it again
        when the hint was out of date (a paragraph that becomes boilerplate with this item)."""
        known = self._boilerplate_hints.get(source)
        if known is None:
            known = self._boilerplate_hints[source] = {row[0] for row in self.db.execute(
                "SELECT hash FROM source_paragraphs WHERE source = ? AND items >= ?",
                [source, BOILERPLATE_MIN_ITEMS])}
        return frozenset(known)

    def _new_paragraphs(self, item_id: int, hashes: Iterable[int]) -> set[int]:
        return set(hashes) - set(self.stored_paragraphs(item_id) or ())

    # ------------------------------------------------------------------ writing

    def update(self, item_id: int, *, fingerprint: neardup.Fingerprint | None = None, body: str | None = None,
               refs: list[tuple[str, str]] | None = None) -> Outcome:
        """Bring one new or changed item into its story.

        ``fingerprint``: computed elsewhere (a worker) from ``body``; used only if
        the item still has that body and its source's boilerplate is still what
        was assumed, else computed again here. ``refs``: the translation refs the
        page declares (None: keep the stored ones).
        """
        outcome = Outcome()
        item = self.item(item_id)
        if item is None:
            return outcome
        if fingerprint is not None and fingerprint.every_paragraph is not None and body == item["body"]:
            hashes = fingerprint.every_paragraph  # the worker hashed this very body
        else:
            hashes = neardup.paragraph_hashes(item["body"])
        crossing = self._count(item["source"], item_id, self._new_paragraphs(item_id, hashes))
        if crossing and item["source"] in self._boilerplate_hints:
            self._boilerplate_hints[item["source"]].update(digest for digest, _earlier in crossing)
        boilerplate = self.boilerplate(item["source"], hashes)
        if fingerprint is None or body != item["body"] or fingerprint.excluded != boilerplate:
            fingerprint = neardup.fingerprint(item["body"], boilerplate)
        affected = {item_id}
        affected |= self._store(item_id, fingerprint)
        if refs is not None:
            self._store_refs(item_id, refs)
        affected |= self._link_translations(item)
        # Paragraphs that just became boilerplate: the items that had them already are
        # fingerprinted again without them.
        for digest, earlier in crossing:
            for other in earlier:
                if other != item_id and other not in outcome.refreshed:
                    affected |= self.refresh(other)
                    outcome.refreshed.append(other)
            logger.debug("paragraph %d of %s is boilerplate now", digest, item["source"])
        self.restory(affected)
        outcome.linked = self.links(item_id)
        row = self.db.execute("SELECT story_id FROM items WHERE id = ?", [item_id]).fetchone()
        outcome.story_id = row[0] if row else None
        if outcome.story_id is not None:
            members = self.db.execute("SELECT members FROM stories WHERE id = ?",
                                      [outcome.story_id]).fetchone()
            outcome.members = members[0] if members else 1
        return outcome

    def refresh(self, item_id: int) -> set[int]:
        """Fingerprint an archived item again (its source's boilerplate changed); the items whose
        links changed."""
        item = self.item(item_id)
        if item is None:
            return set()
        hashes = neardup.paragraph_hashes(item["body"])
        return {item_id} | self._store(item_id, neardup.fingerprint(item["body"], self.boilerplate(
            item["source"], hashes)))

    def _count(self, source: str, item_id: int, hashes: set[int]) -> list[tuple[int, list[int]]]:
        """Count ``item_id`` in each paragraph's items; the paragraphs that reached the boilerplate bar
        now, with the items counted before."""
        crossing: list[tuple[int, list[int]]] = []
        ordered = sorted(hashes)
        counted: dict[int, tuple[int, str | None]] = {}  # hash -> (items, item_ids) as stored
        for chunk in chunks(ordered):  # one read for all the paragraphs, one write
            marks = ",".join("?" for _ in chunk)
            counted.update((digest, (items, item_ids)) for digest, items, item_ids in self.db.execute(
                f"SELECT hash, items, item_ids FROM source_paragraphs WHERE source = ? AND hash IN ({marks})",
                [source, *chunk]))
        writes: list[tuple[str, int, int, str | None]] = []
        for digest in ordered:
            row = counted.get(digest)
            earlier: list[int] | None  # the items counted so far; None once it is boilerplate
            if row is None:
                items, earlier = 0, []
            else:
                items, earlier = row[0], (json.loads(row[1]) if row[1] else None)
            if earlier is not None and item_id in earlier:
                continue
            items += 1
            if earlier is not None and items >= BOILERPLATE_MIN_ITEMS:
                crossing.append((digest, earlier))
                earlier = None
            elif earlier is not None:
                earlier.append(item_id)
            writes.append((source, digest, items, json.dumps(earlier) if earlier is not None else None))
        self.db.conn.executemany(
            "INSERT OR REPLACE INTO source_paragraphs (source, hash, items, item_ids) VALUES (?, ?, ?, ?)",
            writes)
        return crossing

    def _store(self, item_id: int, fingerprint: neardup.Fingerprint) -> set[int]:
        """Replace the item's signature and bands and match it against the archive; the items whose
        near-duplicate links changed (old and new neighbours)."""
        old = self.db.execute("SELECT bands FROM item_signatures WHERE item_id = ?", [item_id]).fetchone()
        self.db.conn.executemany("DELETE FROM lsh_bands WHERE band = ? AND hash = ? AND item_id = ?",
                                 [(band, value, item_id) for band, value in
                                  enumerate(_ints(old[0] if old else None, "<i4"))])
        bands = np.asarray(fingerprint.bands, dtype="<i4").tobytes() if fingerprint.bands else None
        self.db.execute(
            "INSERT OR REPLACE INTO item_signatures (item_id, version, words, paragraphs, signature, bands) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [item_id, neardup.SIGNATURE_VERSION, fingerprint.words,
             np.asarray(fingerprint.paragraph_hashes, dtype="<i8").tobytes(), fingerprint.signature, bands])
        self.db.conn.executemany("INSERT OR IGNORE INTO lsh_bands (band, hash, item_id) VALUES (?, ?, ?)",
                                 [(band, value, item_id) for band, value in enumerate(fingerprint.bands)])
        before = self._neighbours(item_id, NEAR_DUPLICATE)
        self.db.execute("DELETE FROM story_links WHERE kind = ? AND (item_id = ? OR other_item_id = ?)",
                        [NEAR_DUPLICATE, item_id, item_id])
        after: set[int] = set()
        if fingerprint.signature is not None:
            for other, similarity in self.match(item_id, fingerprint):
                self._link(item_id, other, NEAR_DUPLICATE, round(similarity, 4), None)
                after.add(other)
        return before | after

    def match(self, item_id: int, fingerprint: neardup.Fingerprint) -> list[tuple[int, float]]:
        """The archived items at least ``threshold`` similar to ``fingerprint``: candidates sharing
        a band, verified with their stored signatures. Most similar first."""
        # One statement for all the bands (each part a lookup of the (band, hash) index).
        candidates: set[int] = set()
        if fingerprint.bands:
            candidates.update(row[0] for row in self.db.execute(
                " UNION ALL ".join(["SELECT item_id FROM lsh_bands WHERE band = ? AND hash = ?"]
                                   * len(fingerprint.bands)),
                [number for pair in enumerate(fingerprint.bands) for number in pair]))
        candidates.discard(item_id)
        if not candidates or fingerprint.signature is None:
            return []
        mine = neardup.from_blob(fingerprint.signature)
        found: list[tuple[int, float]] = []
        for chunk in chunks(sorted(candidates)):
            marks = ",".join("?" for _ in chunk)
            for other, blob in self.db.execute(
                f"SELECT item_id, signature FROM item_signatures WHERE item_id IN ({marks}) "
                "AND version = ? AND signature IS NOT NULL", [*chunk, neardup.SIGNATURE_VERSION],
            ):
                similarity = neardup.similarity(mine, neardup.from_blob(blob))
                if similarity >= self.threshold:
                    found.append((other, similarity))
        found.sort(key=lambda pair: (-pair[1], pair[0]))
        return found

    def _store_refs(self, item_id: int, refs: list[tuple[str, str]]) -> None:
        self.db.execute("DELETE FROM translation_refs WHERE item_id = ?", [item_id])
        for ref, kind in refs:
            self.db.execute("INSERT OR REPLACE INTO translation_refs (ref, item_id, kind) VALUES (?, ?, ?)",
                            [ref, item_id, kind])

    def _link_translations(self, item: dict[str, Any]) -> set[int]:
        """Link the item with its language versions, whichever declared the other; the items whose
        translation links changed."""
        item_id = item["id"]
        before = self._neighbours(item_id, TRANSLATION)
        self.db.execute("DELETE FROM story_links WHERE kind = ? AND (item_id = ? OR other_item_id = ?)",
                        [TRANSLATION, item_id, item_id])
        found: dict[int, str] = {}
        declared = self.db.execute("SELECT ref, kind FROM translation_refs WHERE item_id = ?", [item_id])
        for ref, kind in declared.fetchall():
            if kind == "hreflang":
                row = self.db.execute("SELECT id FROM items WHERE url = ?", [ref]).fetchone() or \
                    self.db.execute("SELECT item_id FROM duplicates WHERE url = ? LIMIT 1", [ref]).fetchone()
                if row:
                    found.setdefault(row[0], "hreflang")
            else:
                for (other,) in self.db.execute(
                        "SELECT item_id FROM translation_refs WHERE ref = ? AND kind = 'node'", [ref]):
                    found.setdefault(other, "node")
        # Pages that declared this one (archived before it, or not re-fetched since).
        urls = [item["url"], *(row[0] for row in self.db.execute(
            "SELECT url FROM duplicates WHERE item_id = ?", [item_id]))]
        for url in urls:
            for (other,) in self.db.execute(
                    "SELECT item_id FROM translation_refs WHERE ref = ? AND kind = 'hreflang'", [url]):
                found.setdefault(other, "hreflang")
        found.pop(item_id, None)
        after: set[int] = set()
        for other, via in sorted(found.items()):
            row = self.db.execute("SELECT language FROM items WHERE id = ?", [other]).fetchone()
            if row is None or (row[0] and item["language"] and row[0] == item["language"]):
                continue  # a language version is in another language
            self._link(item_id, other, TRANSLATION, None, via)
            after.add(other)
        return before | after

    def _link(self, first: int, second: int, kind: str, similarity: float | None, via: str | None) -> None:
        low, high = sorted((first, second))
        self.db.execute(
            "INSERT OR REPLACE INTO story_links (item_id, other_item_id, kind, similarity, via) "
            "VALUES (?, ?, ?, ?, ?)", [low, high, kind, similarity, via])

    def _neighbours(self, item_id: int, kind: str | None = None) -> set[int]:
        condition = "" if kind is None else " AND kind = ?"
        extra = [] if kind is None else [kind]
        return {row[0] for row in self.db.execute(
            f"SELECT other_item_id FROM story_links WHERE item_id = ?{condition} "
            f"UNION SELECT item_id FROM story_links WHERE other_item_id = ?{condition}",
            [item_id, *extra, item_id, *extra])}

    def links(self, item_id: int) -> list[tuple[int, str, float | None]]:
        return [(row[0], row[1], row[2]) for row in self.db.execute(
            "SELECT other_item_id, kind, similarity FROM story_links WHERE item_id = ? "
            "UNION ALL SELECT item_id, kind, similarity FROM story_links WHERE other_item_id = ? "
            "ORDER BY 1, 2",
            [item_id, item_id])]

    # ------------------------------------------------------------------ stories

    def component(self, start: int) -> set[int]:
        """The items linked to ``start``, directly or through others (``start`` included)."""
        seen, frontier = {start}, [start]
        while frontier:
            next_frontier: list[int] = []
            for chunk in chunks(frontier):
                marks = ",".join("?" for _ in chunk)
                for (other,) in self.db.execute(
                    f"SELECT other_item_id FROM story_links WHERE item_id IN ({marks}) "
                    f"UNION SELECT item_id FROM story_links WHERE other_item_id IN ({marks})",
                    [*chunk, *chunk],
                ):
                    if other not in seen:
                        seen.add(other)
                        next_frontier.append(other)
            frontier = next_frontier
        return seen

    def restory(self, item_ids: Iterable[int]) -> None:
        """Recompute the stories of ``item_ids`` (and of everything linked to them) from the links."""
        done: set[int] = set()
        old_ids: set[int] = set()
        new_ids: set[int] = set()
        for start in sorted(set(item_ids)):
            if start in done:
                continue
            members = self.component(start)
            done |= members
            rows: list[dict[str, Any]] = []
            for chunk in chunks(sorted(members)):
                marks = ",".join("?" for _ in chunk)
                cursor = self.db.execute(
                    f"SELECT id, story_id, source, url, published, status FROM items WHERE id IN ({marks})",
                    chunk)
                columns = [c[0] for c in cursor.description]
                rows += [dict(zip(columns, row, strict=True)) for row in cursor]
            if not rows:
                continue
            story_id = min(row["id"] for row in rows)
            canonical = min(rows, key=lambda row: canonical_key(row, self.rank))
            old_ids |= {row["story_id"] for row in rows if row["story_id"] is not None}
            new_ids.add(story_id)
            moving = [row["id"] for row in rows if row["story_id"] != story_id]
            for chunk in chunks(moving):
                marks = ",".join("?" for _ in chunk)
                self.db.execute(f"UPDATE items SET story_id = ? WHERE id IN ({marks})", [story_id, *chunk])
            self.db.execute(
                "INSERT OR REPLACE INTO stories (id, canonical_item_id, members) VALUES (?, ?, ?)",
                [story_id, canonical["id"], len(rows)])
        for story_id in sorted(old_ids - new_ids):
            used = self.db.execute("SELECT 1 FROM items WHERE story_id = ? LIMIT 1", [story_id]).fetchone()
            if used is None:
                self.db.execute("DELETE FROM stories WHERE id = ?", [story_id])

    # ------------------------------------------------------------------ the whole archive

    def unindexed(self, limit: int) -> list[int]:
        """Up to ``limit`` items without a fingerprint, newest first: archived by a crawl killed
        between its store and story steps, or before stories existed."""
        return [row[0] for row in self.db.execute(
            "SELECT id FROM items WHERE NOT EXISTS "
            "(SELECT 1 FROM item_signatures s WHERE s.item_id = items.id) ORDER BY id DESC LIMIT ?", [limit])]

    def catch_up(self, limit: int = 1000) -> tuple[int, bool]:
        """Bring up to ``limit`` unfingerprinted items into their stories (one transaction each);
        how many, and whether more are left (`presswatch stories --rebuild` does them all)."""
        pending = self.unindexed(limit + 1)
        for item_id in pending[:limit]:
            with write_transaction(self.db):
                self.update(item_id)
        return min(len(pending), limit), len(pending) > limit

    def rebuild(self, progress: Callable[[int, int], None] | None = None, batch: int = 500) -> dict[str, int]:
        """Recompute everything from the items: paragraph counts, fingerprints, links, stories.

        Keeps the translation refs (they come from the pages, which are not stored). Runs in
        batches of ``batch`` items, each its own transaction; returns counts.
        """
        with write_transaction(self.db):
            for table in ("source_paragraphs", "lsh_bands", "item_signatures"):
                self.db.execute(f"DELETE FROM {table}")
            self.db.execute("DELETE FROM story_links WHERE kind = ?", [NEAR_DUPLICATE])
        ids = [row[0] for row in self.db.execute("SELECT id FROM items ORDER BY id")]
        # Pass 1: which paragraphs are boilerplate (counted over the whole archive first, so
        # nothing needs fingerprinting twice).
        for start in range(0, len(ids), batch):
            with write_transaction(self.db):
                for item_id in ids[start:start + batch]:
                    item = self.item(item_id)
                    if item is not None:
                        self._count(item["source"], item_id, set(neardup.paragraph_hashes(item["body"])))
        # Pass 2: fingerprints, near-duplicate links, translation links.
        for start in range(0, len(ids), batch):
            with write_transaction(self.db):
                for item_id in ids[start:start + batch]:
                    item = self.item(item_id)
                    if item is None:
                        continue
                    hashes = neardup.paragraph_hashes(item["body"])
                    boilerplate = self.boilerplate(item["source"], hashes)
                    self._store(item_id, neardup.fingerprint(item["body"], boilerplate))
                    self._link_translations(item)
            if progress:
                progress(min(start + batch, len(ids)), len(ids))
        # Pass 3: stories.
        with write_transaction(self.db):
            self.db.execute("UPDATE items SET story_id = NULL")
            self.db.execute("DELETE FROM stories")
            for start in range(0, len(ids), batch):
                self.restory(ids[start:start + batch])
        return self.counts()

    def counts(self) -> dict[str, int]:
        return counts(self.db)
