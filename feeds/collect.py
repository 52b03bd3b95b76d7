"""Which entries each feed holds: one pass over the archive, newest first.

The feeds: everything (``all``), every topic of topics.toml, every source
(configured or archived), every country (the source's country or one an item
names), every kind. Each holds the newest ``limit`` active items it selects.
"Newest" is the publication time; an undated item counts from when presswatch
first saw it. Ties are broken by URL, so the order never depends on row ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pycountry
import sqlite_utils

from feeds.build import KIND_LABELS, Entry, Feed, FeedSpec, entry_from_row
from feeds.classify import item_countries
from feeds.topics import TopicSet
from presswatch.sources import KINDS

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
    "author, published, published_utc, language, first_seen, updated"
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
    for row in rows(db):
        codes = item_countries(row)
        keys = [ALL.path, *(f"topics/{t}" for t in topics_of.get(row["id"], []))]
        source_path = f"sources/{row['source']}"
        if source_path not in feeds and source_path not in extra_sources:
            extra_sources[source_path] = Feed(source_spec(row["source"], None))
        keys.append(source_path)
        for code in codes:
            path = f"countries/{code.lower()}"
            if path not in countries:
                countries[path] = Feed(country_spec(code))
            keys.append(path)
        keys.append(f"kinds/{row['kind']}")
        entry: Entry | None = None
        for key in keys:
            feed = feeds.get(key) or countries.get(key) or extra_sources.get(key)
            if feed is None:  # a kind sources.py does not know: give it a feed too
                feed = feeds[key] = Feed(kind_spec(row["kind"]))
            if len(feed.entries) >= limit:
                continue
            if entry is None:
                entry = entry_from_row(
                    row,
                    topics=[(t, topic_titles[t]) for t in topics_of.get(row["id"], [])],
                    countries=[(code, country_name(code)) for code in codes],
                    source_name=source_names.get(row["source"]),
                )
            feed.entries.append(entry)

    ordered = [feed for path, feed in feeds.items() if not path.startswith("kinds/")]
    ordered += [extra_sources[path] for path in sorted(extra_sources)]
    ordered += [countries[path] for path in sorted(countries)]
    ordered += [feed for path, feed in feeds.items() if path.startswith("kinds/")]
    return ordered
