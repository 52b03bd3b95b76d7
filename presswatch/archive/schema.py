"""The archive's schema: its migrations, in order, and how they are applied.

Version N of the schema is what the first N functions of `MIGRATIONS` build; a
new archive runs them all, an older one the ones it lacks (`migrate`, called by
`presswatch.archive.db.open_archive`). docs/schema.md documents the result; keep
the two in step.

To change the schema, append a function to the END of `MIGRATIONS` (its version
is its position): never edit, reorder or renumber a released one, so existing
archives upgrade in place. Tests use `SCHEMA_VERSION`, never a literal number.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

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


def _v10_topic_scores(db: sqlite_utils.Database) -> None:
    # How much an item is about each of its topics (pipelines/topics.py, issue 15): feeds and
    # `presswatch topics` can order or cut by it. Rows classified before have none: the
    # classifier's version changed with it, so the next classification fills it in.
    db.execute("ALTER TABLE item_topics ADD COLUMN score REAL")


def _v11_outbox(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        -- `presswatch notify` (presswatch/archive/outbox.py): every digest and health alert, recorded
        -- before it is sent and marked sent after, so each goes out once (a crash between sending
        -- and marking sends that one again). One row per subscription, target and window.
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            subscription TEXT NOT NULL,      -- subscriptions.toml id
            target_key TEXT NOT NULL,        -- sha256 of the target (email:ADDRESS or Apprise URL), 16 hex
            target TEXT NOT NULL,            -- the target for people: the address, or the URL minus secrets
            kind TEXT NOT NULL,              -- digest | health
            window_start TEXT NOT NULL,      -- UTC: items archived (first_seen) or health events at or after
            window_end TEXT NOT NULL,        -- UTC: ... and before this
            item_ids TEXT NOT NULL DEFAULT '[]',  -- JSON: the items (digest) or health_events (health)
            more INTEGER NOT NULL DEFAULT 0, -- further matches left out (over the subscription's limit)
            subject TEXT NOT NULL,
            status TEXT NOT NULL,            -- pending | sent | failed | empty | cancelled
            created TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_attempt TEXT,
            sent TEXT,
            error TEXT                       -- the last failure, for `presswatch status`
        );
        CREATE INDEX outbox_target ON outbox(subscription, target_key, kind, window_end);
        CREATE INDEX outbox_unsent ON outbox(status) WHERE status IN ('pending', 'failed');
        -- A digest selects the items archived in its window.
        CREATE INDEX items_first_seen ON items(first_seen);
        -- A target that started failing or recovered: public/health.atom lists them.
        CREATE TABLE notify_events (
            id INTEGER PRIMARY KEY,
            subscription TEXT NOT NULL,
            target TEXT NOT NULL,
            at TEXT NOT NULL,                -- UTC
            event TEXT NOT NULL,             -- failing | recovered
            detail TEXT
        );
        CREATE INDEX notify_events_at ON notify_events(at);
        """
    )


def _v12_derived_pending(db: sqlite_utils.Database) -> None:
    # Issue 21: an item's topics and story links are written after its own transaction; a crash in
    # between lost them for good. The store marks the item here in its own transaction; the
    # story and classify steps clear their flag in theirs; every crawl (its source's items) and
    # every publish complete what is still marked (pipelines/derived.py).
    db.executescript(
        """
        CREATE TABLE derived_pending (
            item_id INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            topics INTEGER NOT NULL DEFAULT 0,   -- 1: item_topics still to be written
            stories INTEGER NOT NULL DEFAULT 0,  -- 1: story links still to be written
            refs TEXT,                           -- JSON [[ref, kind], ...]: the refs the page declared
            marked TEXT NOT NULL                 -- UTC
        );
        CREATE INDEX derived_pending_source ON derived_pending(source);
        """
    )


def _v13_title_source(db: sqlite_utils.Database) -> None:
    # Where an item's title came from (issue 14): a page with text but no title of its
    # own is archived with a stand-in (og:title, a heading, the listing's teaser, the
    # URL's words), and readers should know. NULL on items archived before.
    # Values: trafilatura | selector | og:title | twitter:title | heading | listing | url.
    db.execute("ALTER TABLE items ADD COLUMN title_source TEXT")


def _v14_documents(db: sqlite_utils.Database) -> None:
    # Issue 17 (docs/documents.md): the PDFs items link, their versions, and their text page by
    # page in FTS5 so a search names the page. Reads and writes: presswatch/archive/documents.py.
    db.executescript(
        """
        -- The documents (PDFs) an item links: its publication's report, a PDF in its body.
        CREATE TABLE documents (
            id INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            url TEXT NOT NULL,               -- as fetched, after redirects
            sha256 TEXT NOT NULL,            -- of the bytes: a change is a new version
            content_type TEXT,               -- as served (application/pdf)
            bytes INTEGER NOT NULL,
            pages INTEGER,                   -- pages in the file (NULL: it could not be opened)
            language TEXT,                   -- ISO 639-1: the item's declared one, else detected
            text TEXT,                       -- every page read, separated by form feeds (\\f)
            problem TEXT,                    -- NULL, or why no (or not all) text: document_encrypted...
            detail TEXT,
            first_seen TEXT NOT NULL,        -- UTC
            fetched TEXT NOT NULL,           -- UTC, last time it was fetched or found unchanged (304)
            updated TEXT,                    -- UTC, last time its bytes changed
            http_etag TEXT,
            http_last_modified TEXT,
            UNIQUE (item_id, url)
        );
        CREATE INDEX documents_url ON documents(url);
        -- Earlier versions of a document: what it was before its bytes changed.
        CREATE TABLE document_versions (
            document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            version INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            pages INTEGER,
            text TEXT,
            problem TEXT,
            fetched TEXT NOT NULL,
            replaced TEXT NOT NULL,
            PRIMARY KEY (document_id, version)
        );
        -- The current text of each document page by page, indexed for search.
        CREATE TABLE document_pages (
            id INTEGER PRIMARY KEY,
            document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            item_id INTEGER NOT NULL,        -- the document's item: a search finds items
            page INTEGER NOT NULL,           -- 1-based
            text TEXT NOT NULL,
            UNIQUE (document_id, page)
        );
        CREATE INDEX document_pages_item ON document_pages(item_id);
        CREATE VIRTUAL TABLE document_pages_fts USING fts5(
            text,
            content="document_pages", content_rowid="id",
            tokenize="unicode61 remove_diacritics 2",
            prefix="2 3"
        );
        CREATE TRIGGER document_pages_ai AFTER INSERT ON document_pages BEGIN
            INSERT INTO document_pages_fts (rowid, text) VALUES (new.id, new.text);
        END;
        CREATE TRIGGER document_pages_ad AFTER DELETE ON document_pages BEGIN
            INSERT INTO document_pages_fts (document_pages_fts, rowid, text)
            VALUES ('delete', old.id, old.text);
        END;
        """
    )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _v1_core, _v2_topics, _v3_versions, _v4_health, _v5_search, _v6_stories, _v7_item_events_index,
    _v8_feed_indexes, _v9_story_members_index, _v10_topic_scores, _v11_outbox,
    _v12_derived_pending, _v13_title_source, _v14_documents,
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
