"""Which entries each feed holds: each feed's newest entries read from an index of its own.

The feeds: everything (``all``), every topic of topics.toml, every source
(configured or archived), every country (the source's country or one an item
names), every kind. Each holds the newest ``limit`` active items it selects.
"Newest" is the feed time, ``coalesce(published_utc, first_seen)``: the
publication time, or for an undated item when presswatch first saw it. Ties
are broken by URL, so the order never depends on row ids.

One entry per story (presswatch/stories.py): the items of a story (near
duplicates on other sites, language versions) are one entry, its canonical
item's (the earliest published), in every feed that any of them belongs to,
placed by the canonical item's date. So a source or country feed that selects
only a republished copy or a translation shows the story's canonical entry,
with the same id as everywhere else. Its topics, countries and kinds are those
of all its members, and it lists the other pages ("Also published at": the
other members and exact copies recorded in `duplicates`).

How it stays fast at a million items (docs/performance.md, "Publishing"):
every feed walks an index ordered by feed time (schema v8: ``items_feed``,
``items_feed_source``, ``items_feed_kind``, ``item_topics_feed``,
``item_countries_feed``) and stops after ``limit`` items, so a feed costs
about ``limit`` index steps whatever the archive's size. Items of stories with
several active members are left out of those walks: their stories are read
once (they are few), each placed by its shown member's feed time into every
feed any member belongs to, and merged with the walk's items. Rows, topics and
copies are then read only for the entries shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pycountry
import sqlite_utils

from feeds.build import KIND_LABELS, Elsewhere, Entry, Feed, FeedSpec, entry_from_row
from feeds.classify import item_countries
from feeds.topics import TopicSet
from presswatch.archive import FEED_TIME
from presswatch.sources import KINDS
from presswatch.stories import Rank, canonical_key

ALL = FeedSpec(
    path="all",
    section="all",
    key="all",
    title="IOM: everything",
    description="Every press release, news item, story, publication and page presswatch archived "
    "from the IOM sites, newest first.",
)

# The columns a feed entry needs; the body only for a summary when there is none.
_COLUMNS = (
    "id, source, kind, region, country, countries, url, title, summary, substr(body, 1, 2000) AS body, "
    "author, published, published_utc, language, first_seen, updated, story_id, status"
)
# What feeds sort by, newest first: the feed indexes of schema v8 are on exactly this expression.
ORDER = f"{FEED_TIME} DESC, url"
_CHUNK = 500

# Each section's walk: its items newest first, from its index. INDEXED BY and CROSS JOIN pin the
# plan (an index that already gives the order, stopped after ``limit`` rows): a planner choosing to
# sort every item of a big topic instead would make a publish take seconds again.
_WALKS = {
    "all": f"SELECT id, {FEED_TIME}, url FROM items INDEXED BY items_feed "
           f"WHERE status = 'active' ORDER BY {ORDER}",
    "sources": f"SELECT id, {FEED_TIME}, url FROM items INDEXED BY items_feed_source "
               f"WHERE source = ? AND status = 'active' ORDER BY {ORDER}",
    "kinds": f"SELECT id, {FEED_TIME}, url FROM items INDEXED BY items_feed_kind "
             f"WHERE kind = ? AND status = 'active' ORDER BY {ORDER}",
    # item_topics and item_countries carry the item's feed time (kept in step by triggers); the
    # URL tie-break sorts only the rows of one feed time ("RIGHT PART OF ORDER BY").
    "topics": "SELECT i.id, t.feed_time, i.url FROM item_topics AS t INDEXED BY item_topics_feed "
              "CROSS JOIN items AS i ON i.id = t.item_id "
              "WHERE t.topic = ? AND i.status = 'active' ORDER BY t.feed_time DESC, i.url",
    "countries": "SELECT i.id, t.feed_time, i.url FROM item_countries AS t INDEXED BY item_countries_feed "
                 "CROSS JOIN items AS i ON i.id = t.item_id "
                 "WHERE t.country = ? AND i.status = 'active' ORDER BY t.feed_time DESC, i.url",
}

# The active members of stories of several items. CROSS JOIN: from the few shared stories (partial
# index stories_shared) to their items, never the other way round (a scan of every item).
_SHARED = (
    "SELECT i.id, i.story_id, i.source, i.kind, i.country, i.countries, i.url, i.language, i.published, "
    "i.status, s.canonical_item_id, coalesce(i.published_utc, i.first_seen) AS feed_time "
    "FROM stories AS s CROSS JOIN items AS i ON i.story_id = s.id "
    "WHERE s.members > 1 AND i.status = 'active' ORDER BY i.id"
)


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return getattr(country, "common_name", None) or country.name


def topic_spec(topic: Any) -> FeedSpec:
    return FeedSpec(
        path=f"topics/{topic.id}", section="topics", key=topic.id, title=f"IOM: {topic.title}",
        description=topic.description or f"Items on {topic.title}.",
    )


def source_spec(source_id: str, name: str | None) -> FeedSpec:
    label = name or source_id
    return FeedSpec(
        path=f"sources/{source_id}", section="sources", key=source_id, title=f"IOM source: {label}",
        description=f"Everything presswatch archived from {label} ({source_id}).",
    )


def country_spec(code: str) -> FeedSpec:
    name = country_name(code)
    return FeedSpec(
        path=f"countries/{code.lower()}", section="countries", key=code, title=f"IOM: {name}",
        description=f"Items from IOM's sites in {name} and items that name {name} ({code}).",
    )


def kind_spec(kind: str) -> FeedSpec:
    label = KIND_LABELS.get(kind, kind)
    return FeedSpec(
        path=f"kinds/{kind}", section="kinds", key=kind, title=f"IOM: {label}",
        description=f"{label} from every source presswatch watches.",
    )


def _chunks(values: Sequence[int], size: int = _CHUNK) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" for _ in values)


def item_topics(db: sqlite_utils.Database, topics: TopicSet, item_ids: Iterable[int]) -> dict[int, list[str]]:
    """item id -> its topics, in topics.toml order (topics no longer in the file left out)."""
    order = {topic_id: position for position, topic_id in enumerate(topics.ids)}
    found: dict[int, list[str]] = {}
    for chunk in _chunks(sorted(set(item_ids))):
        for item_id, topic_id in db.execute(
                f"SELECT item_id, topic FROM item_topics WHERE item_id IN ({_marks(chunk)})", chunk):
            if topic_id in order:
                found.setdefault(item_id, []).append(topic_id)
    for topic_ids in found.values():
        topic_ids.sort(key=order.__getitem__)
    return found


def rows_by_id(db: sqlite_utils.Database, item_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The entry columns of the given items."""
    found: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(sorted(set(item_ids))):
        cursor = db.execute(f"SELECT {_COLUMNS} FROM items WHERE id IN ({_marks(chunk)})", chunk)
        columns = [column[0] for column in cursor.description]
        for values in cursor:
            row = dict(zip(columns, values, strict=True))
            found[row["id"]] = row
    return found


def shared_stories(db: sqlite_utils.Database) -> dict[int, list[dict[str, Any]]]:
    """story id -> its active members, for the stories of more than one active item."""
    if "stories" not in set(db.table_names()):
        return {}
    cursor = db.execute(_SHARED)
    columns = [column[0] for column in cursor.description]
    members: dict[int, list[dict[str, Any]]] = {}
    for values in cursor:
        row = dict(zip(columns, values, strict=True))
        members.setdefault(row["story_id"], []).append(row)
    return {story_id: rows for story_id, rows in members.items() if len(rows) > 1}


def copies(db: sqlite_utils.Database, item_ids: Iterable[int]) -> dict[int, list[str]]:
    """item id -> the URLs of its exact copies on other pages (same text, another URL)."""
    found: dict[int, list[str]] = {}
    for chunk in _chunks(sorted(set(item_ids))):
        for item_id, url in db.execute(
                "SELECT item_id, url FROM duplicates WHERE reason = 'same_content' "
                f"AND item_id IN ({_marks(chunk)}) ORDER BY item_id, url", chunk):
            found.setdefault(item_id, []).append(url)
    return found


def distinct_values(db: sqlite_utils.Database, table: str, column: str, where: str = "1") -> list[str]:
    """The distinct non-empty values of an indexed column (``table`` may carry INDEXED BY), by
    skipping from one value to the next in the index: a few lookups, not a scan."""
    sql = (f"WITH RECURSIVE v(x) AS ("
           f"SELECT (SELECT min({column}) FROM {table} WHERE {where} AND {column} > '') "
           f"UNION ALL SELECT (SELECT min({column}) FROM {table} WHERE {where} AND {column} > v.x) "
           "FROM v WHERE v.x IS NOT NULL) SELECT x FROM v WHERE x IS NOT NULL")
    return [row[0] for row in db.execute(sql)]


@dataclass(frozen=True)
class _Candidate:
    """An entry a feed may hold: the item it shows, where it sorts."""

    feed_time: str
    url: str
    item_id: int


def newest_first(candidates: Iterable[_Candidate]) -> list[_Candidate]:
    """Feed order: feed time descending, then URL ascending (as ORDER)."""
    ordered = sorted(candidates, key=lambda candidate: candidate.url)
    ordered.sort(key=lambda candidate: candidate.feed_time, reverse=True)  # stable: URLs stay ascending
    return ordered


@dataclass
class _Group:
    """What an entry is made of: the item it shows and the items it stands for (itself included)."""

    shown: dict[str, Any]
    members: list[dict[str, Any]]
    topic_ids: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # the shown item's kind first
    sources: list[str] = field(default_factory=list)  # the shown item's source first

    @classmethod
    def of(cls, shown: dict[str, Any], members: list[dict[str, Any]], topics_of: dict[int, list[str]],
           order: dict[str, int]) -> _Group:
        group = cls(shown, members)
        group.topic_ids = sorted({t for member in members for t in topics_of.get(member["id"], [])},
                                 key=order.__getitem__)
        group.codes = sorted({code for member in members for code in item_countries(member)})
        group.kinds = [shown["kind"], *sorted({member["kind"] for member in members} - {shown["kind"]})]
        sources = [shown["source"], *sorted(member["source"] for member in members)]
        group.sources = list(dict.fromkeys(sources))
        return group

    @property
    def keys(self) -> list[str]:
        """The paths of the feeds the entry belongs to."""
        return [ALL.path, *(f"topics/{t}" for t in self.topic_ids),
                *(f"sources/{source}" for source in self.sources),
                *(f"countries/{code.lower()}" for code in self.codes),
                *(f"kinds/{kind}" for kind in self.kinds)]


def _walk(db: sqlite_utils.Database, spec: FeedSpec, limit: int, skip: set[int]) -> list[_Candidate]:
    """The newest ``limit`` active items the feed selects by itself (items in ``skip`` left out)."""
    params = [] if spec.section == "all" else [spec.key]
    cursor = db.execute(_WALKS[spec.section], params)
    found: list[_Candidate] = []
    try:
        while len(found) < limit:
            batch = cursor.fetchmany(limit)
            if not batch:
                break
            for item_id, feed_time, url in batch:
                if item_id not in skip:
                    found.append(_Candidate(feed_time, url, item_id))
                    if len(found) == limit:
                        break
    finally:
        cursor.close()
    return found


def _entry(group: _Group, row: dict[str, Any], copies_of: dict[int, list[str]], topic_titles: dict[str, str],
           source_names: dict[str, str], rank: Rank) -> Entry:
    others = sorted((member for member in group.members if member["id"] != row["id"]),
                    key=lambda member: canonical_key(member, rank))
    also = [Elsewhere(member["url"], member["language"]) for member in others]
    seen = {row["url"], *(other.url for other in also)}
    for member in [row, *others]:
        also += [Elsewhere(url, member["language"]) for url in copies_of.get(member["id"], [])
                 if url not in seen]
        seen.update(copies_of.get(member["id"], []))
    return entry_from_row(
        row,
        topics=[(t, topic_titles[t]) for t in group.topic_ids],
        countries=[(code, country_name(code)) for code in group.codes],
        source_name=source_names.get(row["source"]),
        kinds=group.kinds[1:],
        also=tuple(also),
        republished=[member["published"] for member in others],
    )


def collect_feeds(
    db: sqlite_utils.Database,
    topics: TopicSet,
    *,
    limit: int = 50,
    source_names: dict[str, str] | None = None,
) -> list[Feed]:
    """Every feed with its newest ``limit`` entries, in a stable order (all, topics, sources,
    countries, kinds). ``source_names``: id -> name from sources.toml, in file order."""
    source_names = source_names or {}
    topic_titles = {topic.id: topic.title for topic in topics}
    order = {topic_id: position for position, topic_id in enumerate(topics.ids)}
    positions = {source_id: position for position, source_id in enumerate(source_names)}

    def rank(source_id: str) -> int:
        return positions.get(source_id, len(positions))

    # Stories of several active items: each is one entry, shown by one member (its canonical
    # item, or the first of the active members in the same order if the canonical item was removed).
    stories = shared_stories(db)
    topics_of = item_topics(db, topics, (member["id"] for members in stories.values() for member in members))
    groups: dict[int, _Group] = {}  # shown item id -> its story
    in_stories: set[int] = set()
    for members in stories.values():
        shown = min(members, key=lambda member: (member["id"] != member["canonical_item_id"],
                                                  canonical_key(member, rank)))
        groups[shown["id"]] = _Group.of(shown, members, topics_of, order)
        in_stories.update(member["id"] for member in members)

    # The feeds: the configured ones always, the others when an active item selects them.
    specs: dict[str, FeedSpec] = {ALL.path: ALL}
    for topic in topics:
        specs[f"topics/{topic.id}"] = topic_spec(topic)
    for source_id, name in source_names.items():
        specs[f"sources/{source_id}"] = source_spec(source_id, name)
    archived_sources = set(distinct_values(db, "items INDEXED BY items_feed_source", "source",
                                           "status = 'active'"))
    archived_sources.update(source for group in groups.values() for source in group.sources)
    extra_sources = {f"sources/{source}": source_spec(source, None) for source in archived_sources
                     if f"sources/{source}" not in specs}
    codes = set(distinct_values(db, "item_countries INDEXED BY item_countries_feed", "country"))
    codes.update(code for group in groups.values() for code in group.codes)
    countries: dict[str, FeedSpec] = {}
    for code in sorted(codes):
        countries.setdefault(f"countries/{code.lower()}", country_spec(code))
    kinds = {kind: kind_spec(kind) for kind in KINDS}
    archived_kinds = set(distinct_values(db, "items INDEXED BY items_feed_kind", "kind", "status = 'active'"))
    archived_kinds.update(kind for group in groups.values() for kind in group.kinds)
    for kind in sorted(archived_kinds - set(KINDS)):
        kinds[kind] = kind_spec(kind)
    every = [*specs.values(), *extra_sources.values(), *countries.values(), *(kinds[k] for k in kinds)]

    # The shared stories each feed holds, newest first: at most ``limit`` of them can stay.
    shared: dict[str, list[_Candidate]] = {}
    ranked = newest_first(_Candidate(group.shown["feed_time"], group.shown["url"], shown_id)
                          for shown_id, group in groups.items())
    for candidate in ranked:
        for key in groups[candidate.item_id].keys:
            bucket = shared.setdefault(key, [])
            if len(bucket) < limit:
                bucket.append(candidate)

    chosen: dict[str, list[_Candidate]] = {}
    for spec in every:
        own = _walk(db, spec, limit, in_stories)
        theirs = shared.get(spec.path)
        chosen[spec.path] = newest_first(own + theirs)[:limit] if theirs else own

    # Entries, built once per item shown and shared by every feed holding it.
    shown_ids = {candidate.item_id for candidates in chosen.values() for candidate in candidates}
    rows = rows_by_id(db, shown_ids)
    alone = [item_id for item_id in shown_ids if item_id not in groups]
    topics_of.update(item_topics(db, topics, alone))
    for item_id in alone:
        groups[item_id] = _Group.of(rows[item_id], [rows[item_id]], topics_of, order)
    copies_of = copies(db, (member["id"] for item_id in shown_ids for member in groups[item_id].members))
    entries = {item_id: _entry(groups[item_id], rows[item_id], copies_of, topic_titles, source_names, rank)
               for item_id in sorted(shown_ids)}
    feeds = {spec.path: Feed(spec, [entries[candidate.item_id] for candidate in chosen[spec.path]])
             for spec in every}

    # The order of the list: the configured feeds, the other sources and the countries by path, then
    # the kinds. A country only removed items name has no entries, and no feed (as a source or kind
    # no active item has: a feed exists when an active item selects it, or when it is configured).
    ordered = [feeds[path] for path in specs]
    ordered += [feeds[path] for path in sorted(extra_sources)]
    ordered += [feeds[path] for path in sorted(countries) if feeds[path].entries]
    known_kinds = [feeds[f"kinds/{kind}"] for kind in KINDS]
    # Kinds sources.py does not know, in the order their first entries come (as if met newest first).
    others = [feeds[f"kinds/{kind}"] for kind in kinds if kind not in KINDS]
    others = [feed for feed in others if feed.entries]
    first = {id(feed): chosen[feed.spec.path][0] for feed in others}
    others.sort(key=lambda feed: (first[id(feed)].url,
                                  groups[first[id(feed)].item_id].kinds.index(feed.spec.key)))
    others.sort(key=lambda feed: first[id(feed)].feed_time, reverse=True)
    return ordered + known_kinds + others
