"""Which entries each feed holds: one pass over the archive, newest first.

The feeds: everything (``all``), every topic of topics.toml, every source
(configured or archived), every country (the source's country or one an item
names), every kind. Each holds the newest ``limit`` active items it selects.
"Newest" is the publication time; an undated item counts from when presswatch
first saw it. Ties are broken by URL, so the order never depends on row ids.

One entry per story (presswatch/stories.py): the items of a story (near
duplicates on other sites, language versions) are one entry, its canonical
item's (the earliest published), in every feed that any of them belongs to,
placed by the canonical item's date. So a source or country feed that selects
only a republished copy or a translation shows the story's canonical entry,
with the same id as everywhere else. Its topics, countries and kinds are those
of all its members, and it lists the other pages ("Also published at": the
other members and exact copies recorded in `duplicates`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pycountry
import sqlite_utils

from feeds.build import KIND_LABELS, Elsewhere, Entry, Feed, FeedSpec, entry_from_row
from feeds.classify import item_countries
from feeds.topics import TopicSet
from presswatch.sources import KINDS
from presswatch.stories import canonical_key

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
ORDER = "coalesce(published_utc, first_seen) DESC, url"


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


def item_topics(db: sqlite_utils.Database, topics: TopicSet) -> dict[int, list[str]]:
    """item id -> its topics, in topics.toml order (topics no longer in the file left out)."""
    order = {topic_id: position for position, topic_id in enumerate(topics.ids)}
    found: dict[int, list[str]] = {}
    for topic_id, item_id in db.execute("SELECT topic, item_id FROM item_topics"):
        if topic_id in order:
            found.setdefault(item_id, []).append(topic_id)
    for topic_ids in found.values():
        topic_ids.sort(key=order.__getitem__)
    return found


def rows(db: sqlite_utils.Database) -> Iterable[dict[str, Any]]:
    """Active items, newest first."""
    cursor = db.execute(f"SELECT {_COLUMNS} FROM items WHERE status = 'active' ORDER BY {ORDER}")
    columns = [column[0] for column in cursor.description]
    for values in cursor:
        yield dict(zip(columns, values, strict=True))


def shared_stories(db: sqlite_utils.Database) -> dict[int, list[dict[str, Any]]]:
    """story id -> its active members, for the stories of more than one item."""
    tables = set(db.table_names())
    if "stories" not in tables:
        return {}
    cursor = db.execute(
        "SELECT i.id, i.story_id, i.source, i.kind, i.country, i.countries, i.url, i.language, i.published, "
        "i.status, s.canonical_item_id FROM stories s JOIN items i ON i.story_id = s.id "
        "WHERE s.members > 1 AND i.status = 'active' ORDER BY i.id"
    )
    columns = [column[0] for column in cursor.description]
    members: dict[int, list[dict[str, Any]]] = {}
    for values in cursor:
        row = dict(zip(columns, values, strict=True))
        members.setdefault(row["story_id"], []).append(row)
    return {story_id: rows for story_id, rows in members.items() if len(rows) > 1}


def copies(db: sqlite_utils.Database) -> dict[int, list[str]]:
    """item id -> the URLs of its exact copies on other pages (same text, another URL)."""
    found: dict[int, list[str]] = {}
    for item_id, url in db.execute(
            "SELECT item_id, url FROM duplicates WHERE reason = 'same_content' ORDER BY item_id, url"):
        found.setdefault(item_id, []).append(url)
    return found


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
    feeds: dict[str, Feed] = {ALL.path: Feed(ALL)}
    for topic in topics:
        spec = topic_spec(topic)
        feeds[spec.path] = Feed(spec)
    for source_id, name in source_names.items():
        spec = source_spec(source_id, name)
        feeds[spec.path] = Feed(spec)
    countries: dict[str, Feed] = {}
    for kind in KINDS:
        spec = kind_spec(kind)
        feeds[spec.path] = Feed(spec)
    extra_sources: dict[str, Feed] = {}

    topics_of = item_topics(db, topics)
    order = {topic_id: position for position, topic_id in enumerate(topics.ids)}
    positions = {source_id: position for position, source_id in enumerate(source_names)}

    def rank(source_id: str) -> int:
        return positions.get(source_id, len(positions))

    stories = shared_stories(db)
    # Each shared story's entry comes from one member: its canonical item, or the first
    # of the active members in the same order if the canonical item was removed.
    shown = {story_id: min(members, key=lambda member: (member["id"] != member["canonical_item_id"],
                                                          canonical_key(member, rank)))["id"]
             for story_id, members in stories.items()}
    copies_of = copies(db)
    for row in rows(db):
        members = stories.get(row["story_id"]) if row.get("story_id") is not None else None
        if members is not None and shown[row["story_id"]] != row["id"]:
            continue  # another member of the story stands for it
        group = members or [row]
        item_topic_ids = sorted({t for member in group for t in topics_of.get(member["id"], [])},
                                key=order.__getitem__)
        codes = sorted({code for member in group for code in item_countries(member)})
        kinds = [row["kind"], *sorted({member["kind"] for member in group} - {row["kind"]})]
        keys = [ALL.path, *(f"topics/{t}" for t in item_topic_ids)]
        for source in dict.fromkeys([row["source"], *sorted(member["source"] for member in group)]):
            source_path = f"sources/{source}"
            if source_path not in feeds and source_path not in extra_sources:
                extra_sources[source_path] = Feed(source_spec(source, None))
            keys.append(source_path)
        for code in codes:
            path = f"countries/{code.lower()}"
            if path not in countries:
                countries[path] = Feed(country_spec(code))
            keys.append(path)
        keys += [f"kinds/{kind}" for kind in kinds]
        entry: Entry | None = None
        for key in keys:
            feed = feeds.get(key) or countries.get(key) or extra_sources.get(key)
            if feed is None:  # a kind sources.py does not know: give it a feed too
                feed = feeds[key] = Feed(kind_spec(key.removeprefix("kinds/")))
            if len(feed.entries) >= limit:
                continue
            if entry is None:
                others = sorted((member for member in group if member["id"] != row["id"]),
                                key=lambda member: canonical_key(member, rank))
                also = [Elsewhere(member["url"], member["language"]) for member in others]
                seen = {row["url"], *(other.url for other in also)}
                for member in [row, *others]:
                    also += [Elsewhere(url, member["language"]) for url in copies_of.get(member["id"], [])
                             if url not in seen]
                    seen.update(copies_of.get(member["id"], []))
                entry = entry_from_row(
                    row,
                    topics=[(t, topic_titles[t]) for t in item_topic_ids],
                    countries=[(code, country_name(code)) for code in codes],
                    source_name=source_names.get(row["source"]),
                    kinds=kinds[1:],
                    also=tuple(also),
                    republished=[member["published"] for member in others],
                )
            feed.entries.append(entry)

    ordered = [feed for path, feed in feeds.items() if not path.startswith("kinds/")]
    ordered += [extra_sources[path] for path in sorted(extra_sources)]
    ordered += [countries[path] for path in sorted(countries)]
    ordered += [feed for path, feed in feeds.items() if path.startswith("kinds/")]
    return ordered
