"""Which entries each feed holds: each feed's newest entries read from an index of its own.

The feeds: everything (``all``), every topic of topics.toml, every source
(configured or archived), every country (the source's country or one an item
names), every kind. Each holds the newest ``limit`` active items it selects.
"Newest" is the feed time, ``coalesce(published_utc, first_seen)``: the
publication time, or for an undated item when presswatch first saw it. Ties
are broken by URL, so the order never depends on row ids.

Information pages (kind ``page``: "About us") are not news: they are in the
feeds of everything, of their source and of their kind, and in the topics that
ask for them (pipelines/topics.py), not in country feeds.

Backfills (issue 15): an undated item first seen during its source's first crawl
run (an information page, an old item with no date: what the site already had)
is not news. It sorts after every other entry, among the backfills by feed time,
so it never sits above dated items and a feed with ``limit`` news entries has
none. An undated item that appears on a later crawl is new to the site: it is
listed when it was first seen (its entry says it has no publication date).

One entry per story (presswatch/archive/stories.py): the items of a story (near
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
``item_countries_feed``) and stops once ``limit`` entries are certain, so a
feed costs about ``limit`` index steps whatever the archive's size.

Stories of several active items: a walk that meets an item of one looks the
story up (its active items, from the covering index ``items_story_feed`` of
schema v9; cached) and takes the story's entry, its canonical item's, instead.
The canonical item is the earliest published, so the entry comes at or after
every item of the story in feed order: it is settled once the walk has passed
it, and a walk stops when ``limit`` entries are settled. The stories for which
that does not hold (the canonical item removed, or an item of the story that
comes after it in feed order: an undated item counted from when it was first
seen, a day boundary in another UTC offset) are found first by one pass over
the stories of several items on covering indexes (about a microsecond per
item in such a story, no row read), read whole, and merged into each feed they
belong to, their items left out of the walks.
Rows, topics and copies are then read only for the entries shown.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pycountry
import sqlite_utils

from feeds.build import KIND_LABELS, Elsewhere, Entry, Feed, FeedSpec, entry_from_row
from pipelines.topics import item_countries
from presswatch.archive.schema import FEED_TIME
from presswatch.archive.search import distinct_values
from presswatch.archive.stories import Rank, canonical_key
from presswatch.config.sources import KINDS
from presswatch.config.topics import TopicSet

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
_STORY = "LEFT JOIN stories AS s ON s.id = i.story_id"  # the item's story: members, canonical item
_WALKED = "i.story_id, s.members, s.canonical_item_id, i.source, i.published_utc IS NULL"
_WALKS = {
    "all": f"SELECT i.id, {FEED_TIME}, i.url, {_WALKED} FROM items AS i INDEXED BY items_feed {_STORY} "
           f"WHERE i.status = 'active' ORDER BY {ORDER}",
    "sources": f"SELECT i.id, {FEED_TIME}, i.url, {_WALKED} FROM items AS i INDEXED BY items_feed_source "
               f"{_STORY} WHERE i.source = ? AND i.status = 'active' ORDER BY {ORDER}",
    "kinds": f"SELECT i.id, {FEED_TIME}, i.url, {_WALKED} FROM items AS i INDEXED BY items_feed_kind "
             f"{_STORY} WHERE i.kind = ? AND i.status = 'active' ORDER BY {ORDER}",
    # item_topics and item_countries carry the item's feed time (kept in step by triggers); the
    # URL tie-break sorts only the rows of one feed time ("RIGHT PART OF ORDER BY").
    "topics": f"SELECT i.id, t.feed_time, i.url, {_WALKED} FROM item_topics AS t INDEXED BY item_topics_feed "
              f"CROSS JOIN items AS i ON i.id = t.item_id {_STORY} "
              "WHERE t.topic = ? AND i.status = 'active' ORDER BY t.feed_time DESC, i.url",
    # Information pages are not news of the countries they name (issue 15): not in country feeds.
    "countries": f"SELECT i.id, t.feed_time, i.url, {_WALKED} FROM item_countries AS t "
                 f"INDEXED BY item_countries_feed CROSS JOIN items AS i ON i.id = t.item_id {_STORY} "
                 "WHERE t.country = ? AND i.status = 'active' AND i.kind != 'page' "
                 "ORDER BY t.feed_time DESC, i.url",
}

# The stories of several items whose entry may come before one of their active items in feed order:
# the canonical item removed, or an item sorting after it (the canonical item is the earliest
# published, so only undated items, offsets or a canonical item not yet recomputed do that). One
# pass over the stories of several items (partial index stories_shared) and their items' feed
# times and URLs (covering index items_story_feed): about a microsecond an item, no row read.
_FEED_TIME_OF = "coalesce({0}.published_utc, {0}.first_seen)"
_UP_FRONT = (
    "SELECT s.id FROM stories AS s INDEXED BY stories_shared WHERE s.members > 1 AND NOT EXISTS ("
    " SELECT 1 FROM items AS c INDEXED BY items_story_feed"
    " WHERE c.story_id = s.id AND c.status = 'active' AND c.id = s.canonical_item_id AND NOT EXISTS ("
    "  SELECT 1 FROM items AS m INDEXED BY items_story_feed WHERE m.story_id = s.id AND m.status = 'active'"
    f"  AND ({_FEED_TIME_OF.format('c')} > {_FEED_TIME_OF.format('m')}"
    f"   OR ({_FEED_TIME_OF.format('c')} = {_FEED_TIME_OF.format('m')} AND c.url < m.url))))"
)
# A story's active items, where they sort (covering index items_story_feed).
_STORY_ITEMS = ("SELECT id, published_utc, first_seen, url, source FROM items INDEXED BY items_story_feed "
                "WHERE story_id = ? AND status = 'active'")
# The active members of some stories, with what their entry needs.
_STORY_ROWS = (
    "SELECT i.id, i.story_id, i.source, i.kind, i.country, i.countries, i.url, i.language, i.published, "
    "i.status, s.canonical_item_id, coalesce(i.published_utc, i.first_seen) AS feed_time "
    "FROM stories AS s CROSS JOIN items AS i ON i.story_id = s.id "
    "WHERE s.id IN ({marks}) AND i.status = 'active' ORDER BY i.id"
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


def story_rows(db: sqlite_utils.Database, story_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """story id -> its active members (by id), with the columns their entry needs."""
    members: dict[int, list[dict[str, Any]]] = {}
    for chunk in _chunks(sorted(set(story_ids))):
        cursor = db.execute(_STORY_ROWS.format(marks=_marks(chunk)), chunk)
        columns = [column[0] for column in cursor.description]
        for values in cursor:
            row = dict(zip(columns, values, strict=True))
            members.setdefault(row["story_id"], []).append(row)
    return members


def copies(db: sqlite_utils.Database, item_ids: Iterable[int]) -> dict[int, list[str]]:
    """item id -> the URLs of its exact copies on other pages (same text, another URL)."""
    found: dict[int, list[str]] = {}
    for chunk in _chunks(sorted(set(item_ids))):
        for item_id, url in db.execute(
                "SELECT item_id, url FROM duplicates WHERE reason = 'same_content' "
                f"AND item_id IN ({_marks(chunk)}) ORDER BY item_id, url", chunk):
            found.setdefault(item_id, []).append(url)
    return found


@dataclass(slots=True, eq=False)
class _Candidate:
    """An entry a feed may hold: the item it shows, where it sorts. ``a < b``: a comes first in
    feeds (news before backfills, then feed time descending, then URL ascending, as ORDER), so
    sorted() and heapq give feed order."""

    feed_time: str
    url: str
    item_id: int
    backfill: bool = False

    def before(self, feed_time: str, url: str, backfill: bool = False) -> bool:
        """Does this entry come before the item at (feed_time, url) in feeds?"""
        if self.backfill != backfill:
            return backfill
        return self.feed_time > feed_time or (self.feed_time == feed_time and self.url < url)

    def __lt__(self, other: _Candidate) -> bool:
        return self.before(other.feed_time, other.url, other.backfill)


class FirstCrawls:
    """Each source's first crawl run (started, finished), to tell backfills from news."""

    def __init__(self, db: sqlite_utils.Database):
        # SQLite takes the bare columns from the row of min(id): the source's first run.
        self.windows: dict[str, tuple[str, str | None]] = {
            source: (started, finished) for source, started, finished, _ in db.execute(
                "SELECT source, started, finished, min(id) FROM crawl_runs GROUP BY source")}

    def backfill(self, source: str, undated: bool, first_seen: str) -> bool:
        """Is an item a backfill: undated, and first seen during its source's first crawl run?"""
        window = self.windows.get(source) if undated else None
        if window is None:
            return False
        started, finished = window
        return started <= first_seen and (finished is None or first_seen <= finished)


def _feed_time(published_utc: str | None, first_seen: str) -> str:
    return first_seen if published_utc is None else published_utc  # coalesce(), exactly


class _Stories:
    """The stories of several active items, as the walks need them.

    A walk meets a story at the first of its items the feed selects and takes the story's entry
    (its canonical item: the earliest published, so the last of its items in feed order). That
    entry is settled once the walk has passed it. The stories for which that does not hold are
    read whole first (``up_front``), merged into each feed they belong to and their items left
    out of the walks; the others are looked up as walks meet them.
    """

    def __init__(self, db: sqlite_utils.Database, first_crawls: FirstCrawls | None = None):
        self.db = db
        self.first_crawls = first_crawls or FirstCrawls(db)
        self.up_front = [row[0] for row in db.execute(_UP_FRONT)]
        self._entries: dict[int, _Candidate | None] = {}
        self.shown_story: dict[int, int] = {}  # shown item id -> story id, of the stories met

    def entry(self, story_id: int, canonical_id: int) -> _Candidate | None:
        """The entry of a story of several items (not read up front); None when fewer than two of
        its items are active (the one left is an item alone)."""
        if story_id not in self._entries:
            items = self.db.execute(_STORY_ITEMS, [story_id]).fetchall()
            found = None
            if len(items) > 1:
                shown = next(item for item in items if item[0] == canonical_id)  # active: see _UP_FRONT
                backfill = self.first_crawls.backfill(shown[4], shown[1] is None, shown[2])
                found = _Candidate(_feed_time(shown[1], shown[2]), shown[3], shown[0], backfill)
                self.shown_story[shown[0]] = story_id
            self._entries[story_id] = found
        return self._entries[story_id]


@dataclass
class _Group:
    """What an entry is made of: the item it shows and the items it stands for (itself included)."""

    shown: dict[str, Any]
    members: list[dict[str, Any]]
    topic_ids: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    news_codes: list[str] = field(default_factory=list)  # the countries of its members that are not pages
    kinds: list[str] = field(default_factory=list)  # the shown item's kind first
    sources: list[str] = field(default_factory=list)  # the shown item's source first

    @classmethod
    def of(cls, shown: dict[str, Any], members: list[dict[str, Any]], topics_of: dict[int, list[str]],
           order: dict[str, int]) -> _Group:
        group = cls(shown, members)
        group.topic_ids = sorted({t for member in members for t in topics_of.get(member["id"], [])},
                                 key=order.__getitem__)
        group.codes = sorted({code for member in members for code in item_countries(member)})
        group.news_codes = sorted({code for member in members if member["kind"] != "page"
                                   for code in item_countries(member)})
        group.kinds = [shown["kind"], *sorted({member["kind"] for member in members} - {shown["kind"]})]
        sources = [shown["source"], *sorted(member["source"] for member in members)]
        group.sources = list(dict.fromkeys(sources))
        return group

    @property
    def keys(self) -> list[str]:
        """The paths of the feeds the entry belongs to."""
        return [ALL.path, *(f"topics/{t}" for t in self.topic_ids),
                *(f"sources/{source}" for source in self.sources),
                *(f"countries/{code.lower()}" for code in self.news_codes),
                *(f"kinds/{kind}" for kind in self.kinds)]


def _walk(db: sqlite_utils.Database, spec: FeedSpec, limit: int, stories: _Stories,
          skip: set[int] | frozenset[int] = frozenset(), first_crawls: FirstCrawls | None = None
          ) -> list[_Candidate]:
    """The first ``limit`` entries, in feed order, of the items the feed selects: items alone, and
    the entries of the stories (placed by the walks) any of whose items it selects. Items in
    ``skip`` (those of the stories read up front) are left out. Backfills (items alone) are set
    aside as the walk meets them: they come after every other entry, so only a walk that ends
    with fewer than ``limit`` others needs them, and it has then met them all."""
    params = [] if spec.section == "all" else [spec.key]
    first_crawls = first_crawls or FirstCrawls(db)
    cursor = db.execute(_WALKS[spec.section], params)
    settled: list[_Candidate] = []  # entries before the walk's position: nothing later comes first
    pending: list[_Candidate] = []  # heap: story entries met through an item before them
    backfills: list[_Candidate] = []
    met: set[int] = set()
    try:
        while len(settled) < limit:
            batch = cursor.fetchmany(limit)
            if not batch:
                break
            for item_id, feed_time, url, story_id, members, canonical_id, source, undated in batch:
                alone = not (members and members > 1)
                if alone and item_id not in skip and first_crawls.backfill(source, undated, feed_time):
                    backfills.append(_Candidate(feed_time, url, item_id, backfill=True))
                    continue
                while pending and pending[0].before(feed_time, url):
                    settled.append(heapq.heappop(pending))
                if len(settled) >= limit:
                    break
                if item_id in skip:
                    continue
                entry = None if alone else stories.entry(story_id, canonical_id)
                if entry is None:
                    settled.append(_Candidate(feed_time, url, item_id))
                elif story_id not in met:
                    met.add(story_id)
                    if entry.backfill:  # comes after every other entry, like the backfills alone
                        backfills.append(entry)
                    elif entry.item_id == item_id:
                        settled.append(entry)
                    else:
                        heapq.heappush(pending, entry)
    finally:
        cursor.close()
    return sorted(settled + pending + backfills)[:limit]


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
    first_crawls = FirstCrawls(db)
    stories = _Stories(db, first_crawls)
    ahead = {story_id: members for story_id, members in story_rows(db, stories.up_front).items()
             if len(members) > 1}  # one active item left: an item alone
    topics_of = item_topics(db, topics, (member["id"] for members in ahead.values() for member in members))

    def shown_of(members: list[dict[str, Any]]) -> dict[str, Any]:
        return min(members, key=lambda member: (member["id"] != member["canonical_item_id"],
                                                canonical_key(member, rank)))

    groups: dict[int, _Group] = {}  # shown item id -> what its entry is made of
    in_ahead: set[int] = set()
    for members in ahead.values():
        shown = shown_of(members)
        groups[shown["id"]] = _Group.of(shown, members, topics_of, order)
        in_ahead.update(member["id"] for member in members)

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
    codes.update(code for group in groups.values() for code in group.news_codes)
    countries: dict[str, FeedSpec] = {}
    for code in sorted(codes):
        countries.setdefault(f"countries/{code.lower()}", country_spec(code))
    kinds = {kind: kind_spec(kind) for kind in KINDS}
    archived_kinds = set(distinct_values(db, "items INDEXED BY items_feed_kind", "kind", "status = 'active'"))
    archived_kinds.update(kind for group in groups.values() for kind in group.kinds)
    for kind in sorted(archived_kinds - set(KINDS)):
        kinds[kind] = kind_spec(kind)
    every = [*specs.values(), *extra_sources.values(), *countries.values(), *(kinds[k] for k in kinds)]

    # The stories read up front that each feed holds, in feed order: at most ``limit`` can stay.
    shared: dict[str, list[_Candidate]] = {}
    ranked = sorted(_Candidate(group.shown["feed_time"], group.shown["url"], shown_id,
                               first_crawls.backfill(group.shown["source"], group.shown["published"] is None,
                                                     group.shown["feed_time"]))
                    for shown_id, group in groups.items())
    for candidate in ranked:
        for key in groups[candidate.item_id].keys:
            bucket = shared.setdefault(key, [])
            if len(bucket) < limit:
                bucket.append(candidate)

    chosen: dict[str, list[_Candidate]] = {}
    for spec in every:
        own = _walk(db, spec, limit, stories, in_ahead, first_crawls)
        theirs = shared.get(spec.path)
        chosen[spec.path] = sorted(own + theirs)[:limit] if theirs else own

    # Entries, built once per item shown and shared by every feed holding it.
    shown_ids = {candidate.item_id for candidates in chosen.values() for candidate in candidates}
    rows = rows_by_id(db, shown_ids)
    placed = {stories.shown_story[item_id]: item_id for item_id in shown_ids
              if item_id in stories.shown_story}
    members_of = story_rows(db, placed)
    topics_of.update(item_topics(db, topics, [
        *(item_id for item_id in shown_ids if item_id not in groups and item_id not in stories.shown_story),
        *(member["id"] for members in members_of.values() for member in members)]))
    for story_id, shown_id in placed.items():
        members = members_of[story_id]
        shown = shown_of(members)
        assert shown["id"] == shown_id, (story_id, shown["id"], shown_id)  # the canonical item, active
        groups[shown_id] = _Group.of(shown, members, topics_of, order)
    for item_id in shown_ids - groups.keys():
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


# --------------------------------------------------------------------------- any selection


def _rank_of(source_names: dict[str, str]) -> Rank:
    positions = {source_id: position for position, source_id in enumerate(source_names)}
    return lambda source_id: positions.get(source_id, len(positions))


def select_entries(db: sqlite_utils.Database, topics: TopicSet, where: str, params: Sequence[Any], *,
                   limit: int = 50, source_names: dict[str, str] | None = None) -> list[Entry]:
    """The first ``limit`` entries, in feed order, of the active items ``where`` (SQL over ``items
    AS i``) selects: one entry per story (its shown item's, placed by it), backfills last, built as
    the published feeds build theirs. For feeds made on request (feeds/combined.py).

    The walk goes through the selected items newest first; an entry comes at or after the item
    that led to it, so once ``limit`` entries come before the walk's position, no later item can
    add one that comes earlier.
    """
    source_names = source_names or {}
    rank = _rank_of(source_names)
    first_crawls = FirstCrawls(db)
    cursor = db.execute(
        f"SELECT i.id, {FEED_TIME} AS t, i.url, i.source, i.published_utc IS NULL, s.members, i.story_id "
        f"FROM items AS i {_STORY} WHERE i.status = 'active' AND ({where}) ORDER BY t DESC, i.url",
        list(params))
    found: dict[int, _Candidate] = {}  # shown item id -> its entry's place
    stories_seen: set[int] = set()
    backfills: list[_Candidate] = []
    try:
        for item_id, feed_time, url, source, undated, members, story_id in cursor:
            settled = sorted(found.values())
            if len(settled) >= limit and settled[limit - 1].before(feed_time, url):
                break
            if members and members > 1:
                if story_id in stories_seen:
                    continue
                stories_seen.add(story_id)
                rows = story_rows(db, [story_id]).get(story_id, [])
                if len(rows) > 1:
                    shown = min(rows, key=lambda m: (m["id"] != m["canonical_item_id"],
                                                     canonical_key(m, rank)))
                    item_id, feed_time, url = shown["id"], shown["feed_time"], shown["url"]
                    source, undated = shown["source"], shown["published"] is None
            candidate = _Candidate(feed_time, url, item_id, first_crawls.backfill(source, undated, feed_time))
            if candidate.backfill:
                backfills.append(candidate)
            else:
                found[item_id] = candidate
    finally:
        cursor.close()
    chosen = sorted([*found.values(), *backfills])[:limit]
    return build_entries(db, topics, [candidate.item_id for candidate in chosen], source_names=source_names)


def build_entries(db: sqlite_utils.Database, topics: TopicSet, shown_ids: list[int], *,
                  source_names: dict[str, str]) -> list[Entry]:
    """The entries of the given shown items (each an item alone or a story's shown item), in order."""
    rank = _rank_of(source_names)
    order = {topic_id: position for position, topic_id in enumerate(topics.ids)}
    topic_titles = {topic.id: topic.title for topic in topics}
    rows = rows_by_id(db, shown_ids)
    members_of = story_rows(db, {rows[item_id]["story_id"] for item_id in shown_ids
                                 if rows[item_id]["story_id"] is not None})
    groups_members: dict[int, list[dict[str, Any]]] = {}
    for item_id in shown_ids:
        members = members_of.get(rows[item_id]["story_id"], [])
        groups_members[item_id] = members if len(members) > 1 else [rows[item_id]]
    topics_of = item_topics(db, topics, (m["id"] for members in groups_members.values() for m in members))
    copies_of = copies(db, (m["id"] for members in groups_members.values() for m in members))
    entries = []
    for item_id in shown_ids:
        group = _Group.of(rows[item_id], groups_members[item_id], topics_of, order)
        entries.append(_entry(group, rows[item_id], copies_of, topic_titles, source_names, rank))
    return entries
