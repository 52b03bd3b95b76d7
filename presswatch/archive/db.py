"""The SQLite archive: connection settings, schema and its migrations.

Everything that reads or writes the archive (pipelines, CLI, feeds, scheduler)
opens it with `open_archive`, which applies the pragmas every user needs (WAL so
readers never block the crawl, a busy timeout so writers queue instead of
failing) and brings the schema up to date. The schema is documented in
docs/architecture.md; keep the two in step.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from presswatch.archive.documents import migrate_documents

DEFAULT_DB = Path("data/presswatch.db")

# Each migration takes the schema from version N-1 to N. Never edit a released one:
# append a new function instead, so existing archives upgrade in place.


def _v1_core(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE items (
            id INTEGER PRIMARY KEY,          -- stable row id, used by FTS and the CLI
            uid TEXT NOT NULL UNIQUE,        -- stable public id: hash of the canonical URL
            source TEXT NOT NULL,            -- source id from sources.toml
            kind TEXT NOT NULL,              -- press_release | news | story | publication | page
            region TEXT,
            country TEXT,                    -- the source's country (ISO 3166-1 alpha-2), NULL if global
            url TEXT NOT NULL UNIQUE,        -- canonical URL (no tracking parameters, no fragment)
            title TEXT NOT NULL,
            summary TEXT,
            body TEXT,
            author TEXT,
            published TEXT,                  -- ISO 8601 with the page's UTC offset; NULL when undated
            published_utc TEXT,              -- the same instant in UTC ("...Z"): sorts and filters
            date_source TEXT,                -- selector | metadata | dateline | listing
            language TEXT,                   -- ISO 639-1
            countries TEXT NOT NULL DEFAULT '[]',  -- JSON array of ISO alpha-2 codes mentioned
            content_hash TEXT,               -- sha256 of the normalised body: exact-duplicate key
            metadata TEXT NOT NULL DEFAULT '{}',   -- JSON: per-source extra fields (isbn, year, pdf...)
            first_seen TEXT NOT NULL,        -- UTC, when presswatch first archived it
            fetched TEXT NOT NULL,           -- UTC, last time the page was fetched
            updated TEXT,                    -- UTC, last time its title or text changed
            http_etag TEXT,
            http_last_modified TEXT,
            status TEXT NOT NULL DEFAULT 'active'  -- active | removed
        );
        CREATE INDEX items_source ON items(source, published_utc);
        CREATE INDEX items_kind ON items(kind, published_utc);
        CREATE INDEX items_country ON items(country, published_utc);
        CREATE INDEX items_language ON items(language, published_utc);
        CREATE INDEX items_published ON items(published_utc);
        CREATE INDEX items_content_hash ON items(content_hash);

        -- Every copy that deduplication folded into an item: same canonical URL
        -- reached by another address, or the same text at another URL.
        CREATE TABLE duplicates (
            id INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            url TEXT NOT NULL,
            source TEXT NOT NULL,
            reason TEXT NOT NULL,            -- same_url | same_content
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            times_seen INTEGER NOT NULL DEFAULT 1,
            UNIQUE (item_id, url)
        );
        CREATE INDEX duplicates_url ON duplicates(url);

        CREATE TABLE crawl_runs (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            started TEXT NOT NULL,
            finished TEXT,
            status TEXT NOT NULL,            -- running | ok | degraded | failed | timed_out | interrupted
            reason TEXT,                     -- why, when not ok
            pid INTEGER,
            log_path TEXT,
            full_crawl INTEGER NOT NULL DEFAULT 0,
            pages_fetched INTEGER NOT NULL DEFAULT 0,
            not_modified INTEGER NOT NULL DEFAULT 0,
            items_new INTEGER NOT NULL DEFAULT 0,
            items_updated INTEGER NOT NULL DEFAULT 0,
            items_unchanged INTEGER NOT NULL DEFAULT 0,
            items_duplicate INTEGER NOT NULL DEFAULT 0,
            http_errors INTEGER NOT NULL DEFAULT 0,
            no_title INTEGER NOT NULL DEFAULT 0,
            no_date INTEGER NOT NULL DEFAULT 0,
            no_body INTEGER NOT NULL DEFAULT 0,
            errors INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX crawl_runs_source ON crawl_runs(source, started);

        -- What went wrong where, one row per page and problem, so a summary can
        -- name the URL (a 404, an undated page, a page with no title).
        CREATE TABLE crawl_problems (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES crawl_runs(id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            url TEXT NOT NULL,
            problem TEXT NOT NULL,           -- http_error | network_error | no_title | no_date | ...
            detail TEXT,
            at TEXT NOT NULL
        );
        CREATE INDEX crawl_problems_run ON crawl_problems(run_id);

        -- Full-text index over items, kept in sync by triggers. External content:
        -- the text is stored once, in items. content="items" (double quotes) is
        -- what sqlite-utils and Datasette look for to find it.
        CREATE VIRTUAL TABLE items_fts USING fts5(
            title, summary, body,
            content="items", content_rowid="id",
            tokenize="unicode61 remove_diacritics 2",
            prefix="2 3"
        );
        CREATE TRIGGER items_ai AFTER INSERT ON items BEGIN
            INSERT INTO items_fts (rowid, title, summary, body)
            VALUES (new.id, new.title, new.summary, new.body);
        END;
        CREATE TRIGGER items_ad AFTER DELETE ON items BEGIN
            INSERT INTO items_fts (items_fts, rowid, title, summary, body)
            VALUES ('delete', old.id, old.title, old.summary, old.body);
        END;
        CREATE TRIGGER items_au AFTER UPDATE OF title, summary, body ON items BEGIN
            INSERT INTO items_fts (items_fts, rowid, title, summary, body)
            VALUES ('delete', old.id, old.title, old.summary, old.body);
            INSERT INTO items_fts (rowid, title, summary, body)
            VALUES (new.id, new.title, new.summary, new.body);
        END;
        """
    )


def _v2_topics(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        -- Which items belong to which topics of topics.toml (feeds/ classifies).
        CREATE TABLE item_topics (
            topic TEXT NOT NULL,
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            PRIMARY KEY (topic, item_id)
        ) WITHOUT ROWID;
        CREATE INDEX item_topics_item ON item_topics(item_id);

        -- Small facts presswatch remembers between runs (e.g. the hash of the
        -- topics.toml the classification was computed with).
        CREATE TABLE state (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """
    )


def _v3_versions(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        -- Earlier versions of items whose title or text changed on a re-fetch.
        -- The current version stays in items; version numbers start at 1.
        CREATE TABLE item_versions (
            id INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            version INTEGER NOT NULL,
            title TEXT NOT NULL,
            summary TEXT,
            body TEXT,
            content_hash TEXT,
            fetched TEXT NOT NULL,           -- UTC, when this version was last fetched
            replaced TEXT NOT NULL,          -- UTC, when a newer version replaced it
            UNIQUE (item_id, version)
        );
        -- What happened to items after they were archived: updated, removed,
        -- restored. The health feed and `presswatch show` read it.
        CREATE TABLE item_events (
            id INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            at TEXT NOT NULL,
            event TEXT NOT NULL,             -- updated | removed | restored
            detail TEXT
        );
        CREATE INDEX item_events_at ON item_events(at);
        ALTER TABLE items ADD COLUMN removed TEXT;  -- UTC, when its page started answering 404/410
        ALTER TABLE crawl_runs ADD COLUMN items_removed INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX items_source_fetched ON items(source, fetched);
        """
    )


def _v4_health(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        -- Each source's health as the scheduler last judged it (presswatch/health.py).
        CREATE TABLE source_health (
            source TEXT PRIMARY KEY,
            state TEXT NOT NULL,             -- ok | degraded
            rules TEXT NOT NULL DEFAULT '',  -- the rules that fired, comma-separated (empty, errors...)
            reason TEXT,                     -- why, for people; NULL when ok
            since TEXT NOT NULL,             -- UTC, when it entered this state (and these rules)
            checked TEXT NOT NULL,           -- UTC, the last verdict
            run_id INTEGER                   -- the crawl_runs row judged last
        );
        -- Every change of a source's state; public/health.atom lists them.
        CREATE TABLE health_events (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            at TEXT NOT NULL,                -- UTC
            old_state TEXT NOT NULL,         -- unknown (first verdict) | ok | degraded
            new_state TEXT NOT NULL,
            rules TEXT NOT NULL DEFAULT '',
            reason TEXT,
            run_id INTEGER
        );
        CREATE INDEX health_events_at ON health_events(at);
        CREATE INDEX health_events_source ON health_events(source, at);
        -- Known items a run found but did not fetch again (fetched recently): with the
        -- other item counters, how many items the run found. NULL: not recorded.
        ALTER TABLE crawl_runs ADD COLUMN items_skipped INTEGER;
        CREATE INDEX crawl_runs_status ON crawl_runs(status, source);
        """
    )


# The countries of an item, for `presswatch search --country`: its source's
# country and the ones its text names (items.countries, a JSON array).
_ITEM_COUNTRIES_OF_NEW = """
            INSERT OR IGNORE INTO item_countries (country, item_id)
            SELECT value, new.id
            FROM json_each(CASE WHEN json_valid(new.countries) THEN new.countries ELSE '[]' END)
            WHERE type = 'text'
            UNION SELECT new.country, new.id WHERE new.country IS NOT NULL;"""


def _v5_search(db: sqlite_utils.Database) -> None:
    db.executescript(
        f"""
        -- Every country an item is about: its source's country (items.country)
        -- and those its text names (items.countries, JSON). A JSON array cannot
        -- be indexed, this table can (`presswatch search --country`). Kept in
        -- sync by triggers on items; filled here for the items already archived.
        CREATE TABLE item_countries (
            country TEXT NOT NULL,           -- ISO 3166-1 alpha-2
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            PRIMARY KEY (country, item_id)
        ) WITHOUT ROWID;
        CREATE INDEX item_countries_item ON item_countries(item_id);
        CREATE TRIGGER items_countries_ai AFTER INSERT ON items BEGIN{_ITEM_COUNTRIES_OF_NEW}
        END;
        CREATE TRIGGER items_countries_au AFTER UPDATE OF id, country, countries ON items BEGIN
            DELETE FROM item_countries WHERE item_id = old.id;{_ITEM_COUNTRIES_OF_NEW}
        END;
        CREATE TRIGGER items_countries_ad AFTER DELETE ON items BEGIN
            DELETE FROM item_countries WHERE item_id = old.id;
        END;
        INSERT OR IGNORE INTO item_countries (country, item_id)
        SELECT json_each.value, items.id
        FROM items, json_each(CASE WHEN json_valid(items.countries) THEN items.countries ELSE '[]' END)
        WHERE json_each.type = 'text'
        UNION SELECT country, id FROM items WHERE country IS NOT NULL;

        -- Every search filter has an index: source, kind, language and
        -- published_utc since v1, topic (item_topics' key) since v2, country
        -- (above), and region:
        CREATE INDEX items_region ON items(region, published_utc);
        """
    )


def _v6_stories(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        -- Stories (presswatch/stories.py): the items that are one release, near-duplicate
        -- copies on other sites and language versions. id = the smallest id of its members.
        CREATE TABLE stories (
            id INTEGER PRIMARY KEY,
            canonical_item_id INTEGER NOT NULL,  -- the earliest-published member: what feeds show
            members INTEGER NOT NULL DEFAULT 1
        );
        CREATE INDEX stories_shared ON stories(id) WHERE members > 1;
        ALTER TABLE items ADD COLUMN story_id INTEGER;  -- stories.id; every item has one
        CREATE INDEX items_story ON items(story_id);
        -- Every existing item is its own story until `presswatch stories --rebuild` links them.
        INSERT INTO stories (id, canonical_item_id, members) SELECT id, id, 1 FROM items;
        UPDATE items SET story_id = id;
        -- A new item is its own story until the crawl's StoryPipeline links it.
        CREATE TRIGGER items_story_ai AFTER INSERT ON items WHEN new.story_id IS NULL BEGIN
            INSERT OR REPLACE INTO stories (id, canonical_item_id, members) VALUES (new.id, new.id, 1);
            UPDATE items SET story_id = new.id WHERE id = new.id;
        END;
        -- presswatch never deletes items; if someone does, the story keeps counting right
        -- (`presswatch stories --rebuild` recomputes everything else).
        CREATE TRIGGER items_story_ad AFTER DELETE ON items BEGIN
            UPDATE stories SET members = (SELECT count(*) FROM items WHERE story_id = old.story_id)
            WHERE id = old.story_id;
            DELETE FROM stories WHERE id = old.story_id AND members = 0;
        END;

        -- Why items are in one story: pairs (item_id < other_item_id).
        CREATE TABLE story_links (
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            other_item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,              -- near_duplicate | translation
            similarity REAL,                 -- near_duplicate: estimated Jaccard similarity of the bodies
            via TEXT,                        -- translation: hreflang | node
            PRIMARY KEY (item_id, other_item_id, kind)
        ) WITHOUT ROWID;
        CREATE INDEX story_links_other ON story_links(other_item_id);

        -- Near-duplicate fingerprints (pipelines/neardup.py): the MinHash signature of the
        -- body's word shingles (boilerplate left out) and its LSH band hashes.
        CREATE TABLE item_signatures (
            item_id INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
            version INTEGER NOT NULL,        -- neardup.SIGNATURE_VERSION it was computed with
            words INTEGER NOT NULL,          -- words shingled
            paragraphs BLOB,                 -- int64 hashes of the body's paragraphs, in order
            signature BLOB,                  -- uint32 MinHash values; NULL: too short to compare
            bands BLOB                       -- int32 band hashes (what lsh_bands holds for the item)
        );
        -- The LSH index on disk: a new item's band hashes find its candidates.
        CREATE TABLE lsh_bands (
            band INTEGER NOT NULL,
            hash INTEGER NOT NULL,
            item_id INTEGER NOT NULL,
            PRIMARY KEY (band, hash, item_id)
        ) WITHOUT ROWID;
        -- In how many items of a source each paragraph appears: boilerplate detection.
        CREATE TABLE source_paragraphs (
            source TEXT NOT NULL,
            hash INTEGER NOT NULL,           -- of the paragraph's normalised words
            items INTEGER NOT NULL,
            item_ids TEXT,                   -- JSON: the items, until it becomes boilerplate
            PRIMARY KEY (source, hash)
        ) WITHOUT ROWID;
        -- Language versions a page declares: hreflang URLs (canonical) and its node key.
        CREATE TABLE translation_refs (
            ref TEXT NOT NULL,               -- https://... (hreflang) | host/node/N (node)
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,              -- hreflang | node
            PRIMARY KEY (ref, item_id)
        ) WITHOUT ROWID;
        CREATE INDEX translation_refs_item ON translation_refs(item_id);
        """
    )


def _v7_item_events_index(db: sqlite_utils.Database) -> None:
    # `presswatch show` and the health feed look events up by item.
    db.execute("CREATE INDEX item_events_item ON item_events(item_id, at)")


# What feeds sort by (feeds/collect.py): the publication time, else when the item was first seen.
FEED_TIME = "coalesce(published_utc, first_seen)"
_NEW_FEED_TIME = "coalesce(new.published_utc, new.first_seen)"

# v5's item_countries rows of a new item, with its feed time (v8).
_ITEM_COUNTRIES_WITH_TIME_OF_NEW = f"""
            INSERT OR IGNORE INTO item_countries (country, item_id, feed_time)
            SELECT value, new.id, {_NEW_FEED_TIME}
            FROM json_each(CASE WHEN json_valid(new.countries) THEN new.countries ELSE '[]' END)
            WHERE type = 'text'
            UNION SELECT new.country, new.id, {_NEW_FEED_TIME} WHERE new.country IS NOT NULL;"""


def _v8_feed_indexes(db: sqlite_utils.Database) -> None:
    db.executescript(
        f"""
        -- Publishing (feeds/collect.py): each feed reads its newest entries from an index in
        -- feed order (feed time descending, then URL) and stops after the limit, instead of
        -- sorting the whole archive. Partial: only active items are in feeds.
        CREATE INDEX items_feed ON items({FEED_TIME} DESC, url) WHERE status = 'active';
        CREATE INDEX items_feed_source ON items(source, {FEED_TIME} DESC, url) WHERE status = 'active';
        CREATE INDEX items_feed_kind ON items(kind, {FEED_TIME} DESC, url) WHERE status = 'active';

        -- Topic and country feeds select through item_topics and item_countries, so those rows
        -- carry their item's feed time (an index cannot reach into items). Triggers keep it in
        -- step: on every insert, and when an item's dates change.
        ALTER TABLE item_topics ADD COLUMN feed_time TEXT;
        UPDATE item_topics
        SET feed_time = (SELECT {FEED_TIME} FROM items WHERE items.id = item_topics.item_id);
        CREATE INDEX item_topics_feed ON item_topics(topic, feed_time DESC);
        ALTER TABLE item_countries ADD COLUMN feed_time TEXT;
        UPDATE item_countries
        SET feed_time = (SELECT {FEED_TIME} FROM items WHERE items.id = item_countries.item_id);
        CREATE INDEX item_countries_feed ON item_countries(country, feed_time DESC);

        DROP TRIGGER items_countries_ai;
        CREATE TRIGGER items_countries_ai AFTER INSERT ON items BEGIN{_ITEM_COUNTRIES_WITH_TIME_OF_NEW}
        END;
        DROP TRIGGER items_countries_au;
        CREATE TRIGGER items_countries_au AFTER UPDATE OF id, country, countries ON items BEGIN
            DELETE FROM item_countries WHERE item_id = old.id;{_ITEM_COUNTRIES_WITH_TIME_OF_NEW}
        END;
        CREATE TRIGGER items_feed_time_au AFTER UPDATE OF published_utc, first_seen ON items
        WHEN {_NEW_FEED_TIME} IS NOT coalesce(old.published_utc, old.first_seen) BEGIN
            UPDATE item_topics SET feed_time = {_NEW_FEED_TIME} WHERE item_id = new.id;
            UPDATE item_countries SET feed_time = {_NEW_FEED_TIME} WHERE item_id = new.id;
        END;
        -- Whoever writes item_topics (the classifier, a test, a user) need not know the column.
        CREATE TRIGGER item_topics_feed_time_ai AFTER INSERT ON item_topics WHEN new.feed_time IS NULL BEGIN
            UPDATE item_topics SET feed_time = (SELECT {FEED_TIME} FROM items WHERE items.id = new.item_id)
            WHERE topic = new.topic AND item_id = new.item_id;
        END;
        """
    )


def _v9_story_members_index(db: sqlite_utils.Database) -> None:
    # Publishing reads every active member of the stories of several items with their feed
    # time and URL (feeds/collect.py: where each story's entry sorts). From this index alone:
    # `status` is a column too, because SQLite (3.40) reads the row for a term of the partial
    # index's WHERE otherwise.
    db.execute("CREATE INDEX items_story_feed ON items(story_id, published_utc, first_seen, url, status) "
               "WHERE status = 'active'")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _v1_core, _v2_topics, _v3_versions, _v4_health, _v5_search, _v6_stories, _v7_item_events_index,
    _v8_feed_indexes, _v9_story_members_index, migrate_documents,
]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: sqlite_utils.Database) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: sqlite_utils.Database) -> int:
    """Apply the migrations this archive lacks, each in its own transaction."""
    current = schema_version(db)
    if current > SCHEMA_VERSION:
        raise RuntimeError(
            f"{db.conn} has schema version {current}, newer than this presswatch ({SCHEMA_VERSION})"
        )
    for version in range(current + 1, SCHEMA_VERSION + 1):
        # BEGIN IMMEDIATE: two processes opening a new archive at once must not
        # both run the same migration.
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(db) < version:
                MIGRATIONS[version - 1](db)
                db.conn.execute(f"PRAGMA user_version = {version}")
            db.conn.execute("COMMIT")
        except BaseException:
            db.conn.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION


def open_archive(path: str | Path = DEFAULT_DB, *, readonly: bool = False) -> sqlite_utils.Database:
    """Open (creating if needed) the archive at ``path`` with presswatch's settings."""
    if str(path) == ":memory:":
        conn = sqlite3.connect(":memory:", isolation_level=None)
    elif readonly:
        conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, isolation_level=None)
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=30)
    # Autocommit at the driver level: presswatch opens transactions explicitly
    # (db.atomic()), so none stays open by accident and blocks other processes.
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: a power cut may lose the last commits, never corrupt.
        conn.execute("PRAGMA synchronous = NORMAL")
    db = sqlite_utils.Database(conn)
    if not readonly:
        migrate(db)
    return db


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """One transaction that takes the write lock at its start (BEGIN IMMEDIATE).

    A deferred transaction that reads and then writes fails at once with
    "database is locked" (SQLITE_BUSY_SNAPSHOT: its snapshot went stale) when
    another process committed in between, which concurrent crawls, publishing
    and the scheduler do all the time; an immediate one waits for the lock
    (busy timeout) and reads what is current. Inside an open transaction it is
    a savepoint of that transaction.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


def utc_now() -> str:
    """The current time as presswatch stores it: ISO 8601 UTC with a Z, second precision."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def to_utc_text(moment: datetime) -> str:
    """An aware datetime as sortable UTC text ("2021-06-16T07:00:00Z")."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: presswatch stores only timezone-aware times")
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
