"""Publishing at a million items (issue 9.4): every feed read from its own index, incremental publishing.

- `collect_feeds` gives exactly what the one-pass definition gives (every active
  item newest first, one entry per story, each feed keeping its first ``limit``),
  on random archives with shared stories (stale and removed canonical items),
  removed and undated items, equal feed times, exact copies, unknown kinds and
  sources;
- each feed's query walks its index and stops (EXPLAIN QUERY PLAN, and the work
  does not grow with the archive);
- the feed time stored in item_topics and item_countries follows the items;
- a publish after changes writes exactly what a full publish into an empty
  directory writes, renders only the files whose inputs changed, and renders
  everything again when the settings changed.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
import sqlite_utils

from feeds.build import Elsewhere, Feed, entry_from_row
from feeds.collect import (
    _COLUMNS,
    _UP_FRONT,
    _WALKS,
    ALL,
    ORDER,
    _Stories,
    _walk,
    collect_feeds,
    country_name,
    country_spec,
    distinct_values,
    kind_spec,
    source_spec,
    topic_spec,
)
from feeds.publish import publish_feeds, source_names_from
from pipelines.topics import Classifier, classify_item, item_countries
from presswatch.archive.db import open_archive
from presswatch.archive.schema import MIGRATIONS, migrate
from presswatch.archive.stories import canonical_key
from presswatch.config.sources import KINDS
from presswatch.config.topics import TopicSet, load_topics
from tests.conftest import ROOT, SOURCES
from tests.feed_helpers import copy_archive, insert_item

TOPICS = ROOT / "topics.toml"
BASE = "http://feeds.test/pw/"
COUNTRIES = ["MD", "UA", "RO", "LT", "PL", "DE"]


# --------------------------------------------------------------------------- the definition


def reference_feeds(db: sqlite_utils.Database, topics: TopicSet, *, limit: int,
                    source_names: dict[str, str]) -> list[Feed]:
    """What each feed holds, by definition: one pass over every active item, newest first; the
    items of a story of several active items are one entry (its canonical item's, else the first
    active member in canonical order), in every feed any of them belongs to; each feed keeps the
    first ``limit`` entries it meets. (This was feeds/collect.py before schema v8: right, but it
    read and sorted the whole archive.)"""
    topic_titles = {topic.id: topic.title for topic in topics}
    order = {topic_id: position for position, topic_id in enumerate(topics.ids)}
    positions = {source_id: position for position, source_id in enumerate(source_names)}

    def rank(source_id: str) -> int:
        return positions.get(source_id, len(positions))

    topics_of: dict[int, list[str]] = {}
    for topic_id, item_id in db.execute("SELECT topic, item_id FROM item_topics"):
        if topic_id in order:
            topics_of.setdefault(item_id, []).append(topic_id)
    members: dict[int, list[dict]] = {}
    for row in db.query("SELECT i.*, s.canonical_item_id FROM stories s JOIN items i ON i.story_id = s.id "
                        "WHERE s.members > 1 AND i.status = 'active' ORDER BY i.id"):
        members.setdefault(row["story_id"], []).append(row)
    stories = {story_id: rows for story_id, rows in members.items() if len(rows) > 1}
    shown = {story_id: min(rows, key=lambda m: (m["id"] != m["canonical_item_id"], canonical_key(m, rank)))["id"]
             for story_id, rows in stories.items()}
    copies_of: dict[int, list[str]] = {}
    for item_id, url in db.execute("SELECT item_id, url FROM duplicates WHERE reason = 'same_content' "
                                   "ORDER BY item_id, url"):
        copies_of.setdefault(item_id, []).append(url)

    feeds: dict[str, Feed] = {ALL.path: Feed(ALL)}
    for topic in topics:
        feeds[f"topics/{topic.id}"] = Feed(topic_spec(topic))
    for source_id, name in source_names.items():
        feeds[f"sources/{source_id}"] = Feed(source_spec(source_id, name))
    for kind in KINDS:
        feeds[f"kinds/{kind}"] = Feed(kind_spec(kind))
    countries: dict[str, Feed] = {}
    extra: dict[str, Feed] = {}
    # Issue 15: backfills (undated, first seen during their source's first crawl run) after the others.
    backfill = ("(published_utc IS NULL AND EXISTS (SELECT 1 FROM crawl_runs AS r WHERE r.source = items.source"
                " AND r.id = (SELECT min(id) FROM crawl_runs WHERE source = items.source)"
                " AND first_seen >= r.started AND (r.finished IS NULL OR first_seen <= r.finished)))")
    for row in db.query(f"SELECT {_COLUMNS} FROM items WHERE status = 'active' ORDER BY {backfill}, {ORDER}"):
        group_rows = stories.get(row["story_id"])
        if group_rows is not None and shown[row["story_id"]] != row["id"]:
            continue
        group = group_rows or [row]
        topic_ids = sorted({t for m in group for t in topics_of.get(m["id"], [])}, key=order.__getitem__)
        codes = sorted({code for m in group for code in item_countries(m)})
        kinds = [row["kind"], *sorted({m["kind"] for m in group} - {row["kind"]})]
        keys = [ALL.path, *(f"topics/{t}" for t in topic_ids)]
        for source in dict.fromkeys([row["source"], *sorted(m["source"] for m in group)]):
            if f"sources/{source}" not in feeds and f"sources/{source}" not in extra:
                extra[f"sources/{source}"] = Feed(source_spec(source, None))
            keys.append(f"sources/{source}")
        news_codes = {code for m in group if m["kind"] != "page" for code in item_countries(m)}
        for code in codes:  # issue 15: information pages are not in country feeds
            if code in news_codes:
                countries.setdefault(f"countries/{code.lower()}", Feed(country_spec(code)))
                keys.append(f"countries/{code.lower()}")
        keys += [f"kinds/{kind}" for kind in kinds]
        others = sorted((m for m in group if m["id"] != row["id"]), key=lambda m: canonical_key(m, rank))
        also = [Elsewhere(m["url"], m["language"]) for m in others]
        seen = {row["url"], *(other.url for other in also)}
        for member in [row, *others]:
            also += [Elsewhere(url, member["language"]) for url in copies_of.get(member["id"], [])
                     if url not in seen]
            seen.update(copies_of.get(member["id"], []))
        entry = entry_from_row(row, topics=[(t, topic_titles[t]) for t in topic_ids],
                               countries=[(code, country_name(code)) for code in codes],
                               source_name=source_names.get(row["source"]), kinds=kinds[1:], also=tuple(also),
                               republished=[m["published"] for m in others])
        for key in keys:
            feed = feeds.get(key) or countries.get(key) or extra.get(key)
            if feed is None:
                feed = feeds[key] = Feed(kind_spec(key.removeprefix("kinds/")))
            if len(feed.entries) < limit:
                feed.entries.append(entry)
    ordered = [feed for path, feed in feeds.items() if not path.startswith("kinds/")]
    ordered += [extra[path] for path in sorted(extra)] + [countries[path] for path in sorted(countries)]
    return ordered + [feed for path, feed in feeds.items() if path.startswith("kinds/")]


# --------------------------------------------------------------------------- random archives


def random_archive(path: Path, seed: int, items: int = 300) -> sqlite_utils.Database:
    """Items from configured and unknown sources, of known and unknown kinds, few distinct times (so
    feed times tie), undated and removed ones, topics (one no longer in topics.toml), stories of
    several items (canonical item sometimes stale or removed), exact copies."""
    rnd = random.Random(seed)
    db = open_archive(path)
    sources = [source for source in source_names_from(SOURCES)][:4] + ["unlisted", "other-site"]
    times = [f"20{year:02d}-0{month}-1{day}T0{hour}:00:00{offset}" for year, month, day, hour, offset in
             ((rnd.randint(18, 25), rnd.randint(1, 9), rnd.randint(0, 9), rnd.randint(0, 9),
               rnd.choice(["+00:00", "+02:00", "-05:00"])) for _ in range(40))]
    for number in range(items):
        undated = rnd.random() < 0.1
        insert_item(
            db, f"https://{rnd.choice(['www.iom.int', 'eca.iom.int', 'moldova.iom.int'])}/"
                f"{rnd.choice(['', 'ro/'])}news/{rnd.randrange(10**6)}-{number}",
            f"Item {number}", source=rnd.choice(sources), kind=rnd.choice([*KINDS, "bulletin", "zine", "digest"]),
            country=rnd.choice([None, None, *COUNTRIES]), countries=rnd.sample(COUNTRIES, rnd.randint(0, 2)),
            published=None if undated else rnd.choice(times), summary=f"Summary {number}.",
            first_seen=f"20{rnd.randint(18, 26)}-0{rnd.randint(1, 3)}-01T00:00:00Z", language=rnd.choice(["en", "ro", "uk"]),
            status="removed" if rnd.random() < 0.1 else "active",
        )
    ids = [row[0] for row in db.execute("SELECT id FROM items")]
    topic_ids = [*load_topics(TOPICS).ids[:5], "retired-topic"]
    for item_id in ids:
        for topic in rnd.sample(topic_ids, rnd.choice([0, 0, 1, 2])):
            db.execute("INSERT INTO item_topics (topic, item_id) VALUES (?, ?)", [topic, item_id])
    free = ids[:]
    rnd.shuffle(free)
    for _ in range(items // 12):
        group = sorted(free.pop() for _ in range(rnd.randint(2, 4)))
        rows = [dict(zip(("id", "source", "url", "published", "status"), row, strict=True)) for row in db.execute(
            f"SELECT id, source, url, published, status FROM items WHERE id IN ({','.join('?' * len(group))})",
            group)]
        rank = {source: position for position, source in enumerate(sources)}.__getitem__
        canonical = min(rows, key=lambda row: canonical_key(row, rank))["id"] if rnd.random() < 0.7 \
            else rnd.choice(group)  # a stale canonical item (or a removed one)
        db.execute(f"UPDATE items SET story_id = ? WHERE id IN ({','.join('?' * len(group))})", [group[0], *group])
        db.execute(f"DELETE FROM stories WHERE id IN ({','.join('?' * len(group))})", group)
        db.execute("INSERT INTO stories (id, canonical_item_id, members) VALUES (?, ?, ?)",
                   [group[0], canonical, len(group)])
    for number, item_id in enumerate(rnd.sample(ids, items // 10)):
        db.execute("INSERT INTO duplicates (item_id, url, source, reason, first_seen, last_seen) "
                   "VALUES (?, ?, 'rovienna-press', ?, 'x', 'x')",
                   [item_id, f"https://rovienna.iom.int/press/{number}", rnd.choice(["same_content", "same_url"])])
    return db


def same_feeds(found: list[Feed], expected: list[Feed]) -> None:
    assert [feed.spec for feed in found] == [feed.spec for feed in expected]
    for mine, theirs in zip(found, expected, strict=True):
        # repr, not ==: aware datetimes compare by instant, the feeds also show the offset.
        assert repr(mine.entries) == repr(theirs.entries), mine.spec.path


@pytest.mark.parametrize("seed", range(6))
def test_feed_collection_is_the_one_pass_definition(tmp_path, seed):
    db = random_archive(tmp_path / "archive.db", seed)
    topics = load_topics(TOPICS)
    checked = 0
    for limit in (1, 3, 50):
        for names in (source_names_from(SOURCES), {}):
            found = collect_feeds(db, topics, limit=limit, source_names=names)
            same_feeds(found, reference_feeds(db, topics, limit=limit, source_names=names))
            checked += sum(len(feed.entries) for feed in found)
    # The archive exercised what can go wrong: shared stories shown in feeds, unknown kinds and sources.
    feeds = {feed.spec.path: feed for feed in collect_feeds(db, topics, limit=50, source_names={})}
    assert {"kinds/bulletin", "kinds/zine", "sources/unlisted"} <= set(feeds)
    assert any(entry.also for entry in feeds["all"].entries)
    assert checked > 1000
    db.close()


def test_feed_collection_matches_the_definition_on_the_crawled_archive(crawled):
    db = open_archive(crawled.db_path, readonly=True)
    topics = load_topics(TOPICS)
    names = source_names_from(SOURCES)
    for limit in (2, 50):
        same_feeds(collect_feeds(db, topics, limit=limit, source_names=names),
                   reference_feeds(db, topics, limit=limit, source_names=names))
    db.close()


# --------------------------------------------------------------------------- indexes


def plan_of(db: sqlite_utils.Database, sql: str, params: list) -> str:
    return " | ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params))


def test_every_feed_walks_its_index(archive):
    expected = {"all": "items_feed", "sources": "items_feed_source", "kinds": "items_feed_kind",
                "topics": "item_topics_feed", "countries": "item_countries_feed"}
    for section, sql in _WALKS.items():
        plan = plan_of(archive, sql, [] if section == "all" else ["x"])
        assert f"INDEX {expected[section]}" in plan, (section, plan)
        # Ordered by the index: no sort of every selected item (the URL tie-break within one feed
        # time is a sort of that time's rows only).
        assert "TEMP B-TREE FOR ORDER BY" not in plan, (section, plan)
    # Stories of several items: from the partial index of those stories to their items' entry in a
    # covering index; never a scan of items, no row read.
    shared = plan_of(archive, _UP_FRONT, [])
    assert shared.startswith("SCAN s USING INDEX stories_shared"), shared
    assert shared.count("USING COVERING INDEX items_story_feed") == 2, shared


def _bulk_archive(path: Path, items: int) -> sqlite_utils.Database:
    """``items`` items written with one statement: 4 sources, 3 countries each, dates over 10 years."""
    db = open_archive(path)
    rnd = random.Random(items)
    rows = []
    for number in range(items):
        moment = f"20{rnd.randint(10, 19)}-{rnd.randint(1, 12):02d}-{rnd.randint(10, 28)}T12:00:00Z"
        rows.append((f"u{number}", f"s{number % 4}", KINDS[number % 3], f"https://x.test/{number}", f"t{number}",
                     moment, moment, json.dumps(rnd.sample(COUNTRIES, 3)), "x", "x"))
    with db.atomic():
        db.conn.executemany("INSERT INTO items (uid, source, kind, url, title, published, published_utc, countries, "
                            "first_seen, fetched) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.execute("INSERT INTO item_topics (topic, item_id) SELECT 'remittances', id FROM items WHERE id % 3 = 0")
    return db


def _steps(db: sqlite_utils.Database, topics: TopicSet) -> int:
    """SQLite virtual machine steps (in hundreds) to collect every feed."""
    count = [0]

    def tick() -> int:
        count[0] += 1
        return 0

    db.conn.set_progress_handler(tick, 100)
    try:
        collect_feeds(db, topics, limit=10, source_names={})
    finally:
        db.conn.set_progress_handler(None, 100)
    return count[0]


def test_feed_collection_work_does_not_grow_with_the_archive(tmp_path):
    topics = load_topics(TOPICS)
    small = _steps(_bulk_archive(tmp_path / "small.db", 1000), topics)
    large = _steps(_bulk_archive(tmp_path / "large.db", 8000), topics)
    # Reading and sorting every item would make it 8 times the work.
    assert large < 1.5 * small, (small, large)


def _in_pairs(db: sqlite_utils.Database) -> None:
    """Every two items one story: the second republished an hour after the first, which shows it."""
    rows = db.execute("SELECT id, published_utc FROM items ORDER BY id").fetchall()
    with db.atomic():
        for (first, published), (second, _) in zip(rows[::2], rows[1::2], strict=False):
            later = published.replace("T12:", "T13:")
            db.execute("UPDATE items SET story_id = ?, published = ?, published_utc = ? WHERE id = ?",
                       [first, later, later, second])
            db.execute("DELETE FROM stories WHERE id = ?", [second])
            db.execute("UPDATE stories SET canonical_item_id = ?, members = 2 WHERE id = ?", [first, first])


def _walk_steps(db: sqlite_utils.Database) -> int:
    stories = _Stories(db)
    assert not stories.up_front
    count = [0]

    def tick() -> int:
        count[0] += 1
        return 0

    db.conn.set_progress_handler(tick, 100)
    try:
        entries = _walk(db, ALL, 10, stories, set())
    finally:
        db.conn.set_progress_handler(None, 100)
    assert len(entries) == 10
    return count[0]


def test_a_walk_through_stories_stops_early_too(tmp_path):
    """A walk meets a story at its newest item, and must go on until the story's entry is passed:
    it still stops after about ``limit`` entries."""
    small, large = _bulk_archive(tmp_path / "small.db", 1000), _bulk_archive(tmp_path / "large.db", 8000)
    _in_pairs(small)
    _in_pairs(large)
    assert _walk_steps(large) < 2 * _walk_steps(small)


# --------------------------------------------------------------------------- the feed time


def feed_times(db: sqlite_utils.Database, table: str) -> list[tuple]:
    return db.execute(f"SELECT {'topic' if table == 'item_topics' else 'country'}, item_id, feed_time "
                      f"FROM {table} ORDER BY 1, 2").fetchall()


def test_feed_time_follows_the_items(archive):
    first = insert_item(archive, "https://www.iom.int/news/a", "Remittances to Moldova", country="MD", countries=["UA"],
                        published="2024-05-01T10:00:00+02:00")
    undated = insert_item(archive, "https://www.iom.int/news/b", "B", countries=["RO"],
                          first_seen="2025-01-01T00:00:00Z")
    archive.execute("INSERT INTO item_topics (topic, item_id) VALUES ('remittances', ?), ('remittances', ?)",
                    [first, undated])
    assert feed_times(archive, "item_countries") == [("MD", first, "2024-05-01T08:00:00Z"),
                                                     ("RO", undated, "2025-01-01T00:00:00Z"),
                                                     ("UA", first, "2024-05-01T08:00:00Z")]
    assert feed_times(archive, "item_topics") == [("remittances", first, "2024-05-01T08:00:00Z"),
                                                  ("remittances", undated, "2025-01-01T00:00:00Z")]
    archive["items"].update(first, {"published_utc": "2024-06-01T00:00:00Z"})
    archive["items"].update(undated, {"published_utc": "2023-01-01T00:00:00Z", "countries": '["PL"]'})
    assert feed_times(archive, "item_countries") == [("MD", first, "2024-06-01T00:00:00Z"),
                                                     ("PL", undated, "2023-01-01T00:00:00Z"),
                                                     ("UA", first, "2024-06-01T00:00:00Z")]
    assert feed_times(archive, "item_topics") == [("remittances", first, "2024-06-01T00:00:00Z"),
                                                  ("remittances", undated, "2023-01-01T00:00:00Z")]
    classify_item(archive, Classifier(load_topics(TOPICS)), first)  # deletes and inserts its topics
    assert ("remittances", first, "2024-06-01T00:00:00Z") in feed_times(archive, "item_topics")


def test_feed_time_migration_fills_existing_rows():
    db = sqlite_utils.Database(memory=True)
    for migration in MIGRATIONS[:7]:
        migration(db)
    db.execute("PRAGMA user_version = 7")
    base = {"kind": "news", "title": "t", "fetched": "x", "source": "s", "countries": '["MD"]'}
    db["items"].insert({**base, "uid": "a", "url": "https://x/a", "first_seen": "2025-01-01T00:00:00Z",
                        "published_utc": "2020-01-01T00:00:00Z"})
    db["items"].insert({**base, "uid": "b", "url": "https://x/b", "first_seen": "2025-02-01T00:00:00Z"})
    db.execute("INSERT INTO item_topics (topic, item_id) VALUES ('t', 1), ('t', 2)")
    migrate(db)
    assert feed_times(db, "item_topics") == [("t", 1, "2020-01-01T00:00:00Z"), ("t", 2, "2025-02-01T00:00:00Z")]
    assert feed_times(db, "item_countries") == [("MD", 1, "2020-01-01T00:00:00Z"),
                                                ("MD", 2, "2025-02-01T00:00:00Z")]
    assert distinct_values(db, "item_countries INDEXED BY item_countries_feed", "country") == ["MD"]


# --------------------------------------------------------------------------- incremental publishing


def read_tree(public: Path) -> dict[str, bytes]:
    return {path.relative_to(public).as_posix(): path.read_bytes() for path in sorted(public.rglob("*"))
            if path.is_file()}


def publish(db_path: Path, public: Path, **options):
    options = {"base_url": BASE, "sources_path": SOURCES, **options}
    return publish_feeds(db_path, public, options.pop("topics", TOPICS), options.pop("limit", 50), **options)


def test_incremental_publish_after_changes_is_a_full_publish(tmp_path):
    db_path = tmp_path / "archive.db"
    random_archive(db_path, seed=11).close()
    public = tmp_path / "public"
    first = publish(db_path, public)
    assert first.full and len(first.rendered) == len(first.written) == len(read_tree(public))
    mtimes = {path: (public / path).stat().st_mtime_ns for path in read_tree(public)}

    # Changes of every kind, all to items of one source ("other-site").
    db = open_archive(db_path)
    classifier = Classifier(load_topics(TOPICS))
    ids = [row[0] for row in db.execute(  # active items of no shared story
        "SELECT i.id FROM items i JOIN stories s ON s.id = i.story_id "
        "WHERE i.source = 'other-site' AND i.status = 'active' AND s.members = 1 ORDER BY i.id")]
    new = insert_item(db, "https://www.iom.int/news/new", "New remittance corridor", source="other-site",
                      countries=["MD"], published="2030-01-01T00:00:00+00:00", summary="Remittances grow.")
    classify_item(db, classifier, new)
    db["items"].update(ids[0], {"title": "Edited title"})                     # edited
    db["items"].update(ids[1], {"status": "removed"})                         # removed
    db.execute("INSERT INTO item_topics (topic, item_id) VALUES ('sdgs', ?)", [ids[2]])  # reclassified
    db["items"].update(ids[3], {"published": "2029-06-01T00:00:00+00:00",   # redated
                                "published_utc": "2029-06-01T00:00:00Z"})
    db.execute("UPDATE items SET story_id = ? WHERE id = ?", [new, ids[4]])  # joined a story
    db.execute("DELETE FROM stories WHERE id = ?", [ids[4]])
    db.execute("UPDATE stories SET members = 2 WHERE id = ?", [new])
    db.execute("INSERT INTO duplicates (item_id, url, source, reason, first_seen, last_seen) "  # a copy found
               "VALUES (?, 'https://rovienna.iom.int/press/copy', 'rovienna-press', 'same_content', 'x', 'x')",
               [ids[5]])
    db.close()

    report = publish(db_path, public)
    fresh = tmp_path / "fresh"
    publish(db_path, fresh)
    assert read_tree(public) == read_tree(fresh)
    assert not report.full and report.written and set(report.written) <= set(report.rendered)
    assert {"all.atom", "sources/other-site.rss", "topics/sdgs.atom", "index.html"} <= set(report.written)
    # A feed none of the changed items is in was neither rendered nor rewritten.
    untouched = [path for path in mtimes if path.startswith("sources/") and "other-site" not in path]
    assert untouched
    for path in untouched:
        assert path not in report.rendered
        assert (public / path).stat().st_mtime_ns == mtimes[path], path
    assert len(report.rendered) < len(mtimes)

    again = publish(db_path, public)
    assert again.rendered == [] and again.written == [] and again.removed == []
    assert len(again.unchanged) == len(read_tree(fresh))


def test_incremental_publish_on_the_crawled_archive(crawled, tmp_path):
    db_path = copy_archive(crawled.db_path, tmp_path / "archive.db")
    public = tmp_path / "public"
    publish(db_path, public)
    db = open_archive(db_path)
    item = insert_item(db, "https://moldova.iom.int/news/remittances-2030", "Remittances in 2030",
                       source="moldova", country="MD", published="2030-01-01T09:00:00+02:00")
    classify_item(db, Classifier(load_topics(TOPICS)), item)
    db.execute("UPDATE items SET status = 'removed' WHERE id = (SELECT min(id) FROM items WHERE source = 'armenia')")
    db.close()
    report = publish(db_path, public)
    publish(db_path, tmp_path / "fresh")
    assert read_tree(public) == read_tree(tmp_path / "fresh")
    assert "topics/remittances.atom" in report.written and "sources/armenia.atom" in report.written
    assert "sources/micenter.atom" not in report.rendered


@pytest.mark.parametrize("change", ["base_url", "limit", "sources", "topics"])
def test_other_settings_render_everything_again(tmp_path, change):
    db_path = tmp_path / "archive.db"
    random_archive(db_path, seed=5, items=80).close()
    public = tmp_path / "public"
    publish(db_path, public)
    assert publish(db_path, public).rendered == []
    options: dict = {
        "base_url": {"base_url": "https://feeds.example.org/"},
        "limit": {"limit": 20},
        "sources": {"sources_path": None},
    }.get(change, {})
    if change == "topics":
        edited = tmp_path / "topics.toml"
        edited.write_text(TOPICS.read_text(encoding="utf-8").replace('title = "Remittances"',
                                                                     'title = "Money sent home"'),
                          encoding="utf-8")
        options = {"topics": edited}
    report = publish(db_path, public, **options)
    assert report.full and sorted(report.rendered) == sorted(read_tree(public))
    fresh = tmp_path / "fresh"
    publish(db_path, fresh, **options)
    assert read_tree(public) == read_tree(fresh)


def test_files_changed_or_deleted_behind_its_back_are_rewritten(tmp_path):
    db_path = tmp_path / "archive.db"
    random_archive(db_path, seed=3, items=80).close()
    public = tmp_path / "public"
    publish(db_path, public)
    expected = read_tree(public)
    (public / "all.rss").write_bytes(b"broken")
    (public / "kinds/news.atom").unlink()
    report = publish(db_path, public)
    assert report.rendered == report.written == ["all.rss", "kinds/news.atom"]
    assert read_tree(public) == expected


def test_each_public_directory_has_its_own_record(tmp_path):
    db_path = tmp_path / "archive.db"
    random_archive(db_path, seed=4, items=80).close()
    publish(db_path, tmp_path / "one")
    assert publish(db_path, tmp_path / "two").full
    assert publish(db_path, tmp_path / "one").rendered == []
    shutil.rmtree(tmp_path / "one")
    again = publish(db_path, tmp_path / "one")
    assert sorted(again.written) == sorted(read_tree(tmp_path / "two"))
    assert read_tree(tmp_path / "one") == read_tree(tmp_path / "two")

