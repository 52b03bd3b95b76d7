"""Datasette metadata for the archive: titles, descriptions, search, facets, canned queries.

`presswatch browse` serves the archive with it; `presswatch browse
--print-metadata` prints it for `datasette serve --metadata`. Format: Datasette
0.65 metadata (https://docs.datasette.io/en/0.65/metadata.html): per table
``fts_table`` / ``fts_pk`` / ``searchmode`` (full-text search), ``facets`` (a
column name, ``{"array": column}`` for JSON lists, ``{"topic": "topic"}`` for the
topic facet of presswatch/datasette_plugins), ``sort_desc``, ``label_column``
and ``columns`` (column descriptions); per database ``queries`` (canned SQL with
``:named`` parameters). docs/schema.md documents the same schema for SQL users.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Loaded with `datasette serve --plugins-dir`: the topic facet.
PLUGINS_DIR = Path(__file__).resolve().parent / "datasette_plugins"

ITEM_COLUMNS = {
    "id": "Row id: stable, the full-text index's rowid, what `presswatch show` takes",
    "uid": "Stable public id: the first 16 hex digits of sha256(canonical URL)",
    "source": "Source id from sources.toml",
    "kind": "press_release, news, story, publication or page",
    "region": "The source office's region",
    "country": "The source's country (ISO 3166-1 alpha-2); empty for global sources",
    "url": "Canonical URL (tracking parameters and fragment removed)",
    "title": "Title",
    "summary": "Summary or lead paragraph",
    "body": "Clean text; paragraphs separated by a blank line",
    "author": "Author, where the page names one",
    "published": "Publication time, ISO 8601 with the page's UTC offset; empty when undated",
    "published_utc": "The same instant in UTC (…Z): what sorting and date filters use",
    "date_source": ("Where the date came from: selector, metadata, htmldate, byline, dateline, listing "
                    "or extensive"),
    "title_source": ("Where the title came from: trafilatura, selector, og:title, twitter:title, heading, "
                     "listing or url"),
    "language": "Language, ISO 639-1",
    "countries": "JSON list of ISO alpha-2 codes of the countries named in title and text",
    "content_hash": "sha256 of the normalised text: the exact-duplicate key",
    "metadata": "JSON object of per-source extra fields (year, isbn, pdf_url…)",
    "first_seen": "When presswatch first archived it (UTC)",
    "fetched": "When its page was last fetched (UTC)",
    "updated": "When its title or text last changed (UTC)",
    "http_etag": "ETag of the last fetch",
    "http_last_modified": "Last-Modified of the last fetch",
    "status": "active or removed",
    "removed": "When its page started answering 404/410 (UTC)",
    "story_id": "The story it belongs to (stories.id): copies and language versions of one release",
}

TABLES: dict[str, dict[str, Any]] = {
    "items": {
        "title": "Items",
        "description": "One row per archived press release, news item, story, publication or page. "
                       "Search uses FTS5 syntax: words, \"phrases\", prefix*, AND / OR / NOT, title:word.",
        "fts_table": "items_fts",
        "fts_pk": "id",
        "searchmode": "raw",
        "sort_desc": "published_utc",
        "label_column": "title",
        "facets": ["source", "kind", "country", {"array": "countries"}, "language", {"topic": "topic"}],
        "columns": ITEM_COLUMNS,
        "size": 20,  # rows per page: bodies are long (cut in the table, whole on the row page)
    },
    "items_fts": {
        "title": "Full-text index of items",
        "description": "FTS5 over title, summary and body (external content: the text lives in items). "
                       "Search items instead.",
        "hidden": True,
    },
    "item_topics": {
        "hidden": True,  # internal, as every table of INTERNAL_TABLES: `_show_hidden=1` lists them
        "title": "Topics of items",
        "description": "Which items belong to which topics of topics.toml (the feeds' classification).",
        "facets": ["topic"],
        "columns": {"topic": "Topic id from topics.toml", "item_id": "The item (items.id)"},
    },
    "item_countries": {
        "hidden": True,
        "title": "Countries of items",
        "description": "Every country an item is about: its source's country and those named in its "
                       "text. What `presswatch search --country` uses.",
        "facets": ["country"],
        "columns": {"country": "ISO 3166-1 alpha-2", "item_id": "The item (items.id)"},
    },
    "duplicates": {
        "title": "Duplicate copies",
        "description": "Every copy deduplication folded into an item: the same page at another address "
                       "(same_url) or the same text at another URL (same_content).",
        "facets": ["reason", "source"],
        "columns": {
            "item_id": "The item it is a copy of (items.id)", "url": "The copy's URL",
            "source": "Source the copy was found in", "reason": "same_url or same_content",
            "first_seen": "First seen (UTC)", "last_seen": "Last seen (UTC)", "times_seen": "How often seen",
        },
    },
    "item_versions": {
        "title": "Earlier versions of items",
        "description": "The title and text an item had before a re-fetch changed them; the current "
                       "version stays in items.",
        "columns": {
            "item_id": "The item (items.id)", "version": "1 for the first version",
            "fetched": "When this version was last fetched (UTC)",
            "replaced": "When a newer version replaced it (UTC)",
        },
    },
    "documents": {
        "title": "Documents",
        "description": "The PDFs items link (a publication's report), with their text: pages separated by "
                       "form feeds; problem says why a document has no text or not all of it. Search their "
                       "text page by page in document_pages.",
        "sort_desc": "fetched",
        "label_column": "url",
        "facets": ["problem", "language", "content_type"],
        "columns": {
            "item_id": "The item that links it (items.id)", "url": "The document's URL",
            "sha256": "sha256 of its bytes: other bytes are a new version", "pages": "Pages in the file",
            "language": "Language of its text, ISO 639-1", "text": "Its text, pages separated by form feeds",
            "problem": "Why no (or not all) text: encrypted, truncated, a scan...", "bytes": "Size in bytes",
            "updated": "When its bytes last changed (UTC)", "fetched": "When it was last fetched (UTC)",
        },
    },
    "document_pages": {
        "title": "Document pages",
        "description": "The current text of each document, page by page. Search uses FTS5 syntax.",
        "fts_table": "document_pages_fts",
        "fts_pk": "id",
        "searchmode": "raw",
        "columns": {"document_id": "The document (documents.id)", "item_id": "Its item (items.id)",
                    "page": "Page number, from 1", "text": "The page's text"},
    },
    "document_pages_fts": {
        "title": "Full-text index of document pages",
        "description": "FTS5 over document_pages.text (external content). Search document_pages instead.",
        "hidden": True,
    },
    "document_versions": {
        "title": "Earlier versions of documents",
        "description": "What a document was before its bytes changed; the current version is in documents.",
        "columns": {"document_id": "The document (documents.id)", "version": "1 for the first version",
                    "replaced": "When a newer version replaced it (UTC)"},
    },
    "item_events": {
        "title": "Item events",
        "description": "What happened to items after they were archived: updated, removed, restored.",
        "facets": ["event", "source"],
    },
    "stories": {
        "title": "Stories",
        "description": "The items that are one release: near-duplicate copies on other sites and "
                       "language versions. Feeds show the canonical item of each.",
    },
    "story_links": {
        "title": "Story links",
        "description": "Why two items are in one story: near_duplicate (with the similarity) or "
                       "translation (via hreflang or node).",
        "facets": ["kind"],
    },
    "crawl_runs": {
        "title": "Crawl runs",
        "description": "One row per crawl of a source: start, end, status and counters.",
        "sort_desc": "started",
        "facets": ["source", "status"],
    },
    "crawl_problems": {
        "title": "Crawl problems",
        "description": "What went wrong where during a run (a 404, an undated page…): none stops a crawl.",
        "facets": ["problem", "source"],
    },
    "source_health": {
        "title": "Source health",
        "description": "Each source's health as last judged: ok or degraded, and why.",
    },
    "health_events": {
        "title": "Health events",
        "description": "Every change of a source's health state.",
    },
    "state": {
        "title": "State",
        "description": "Small facts presswatch remembers between runs.",
        "hidden": True,
    },
}
# Bookkeeping of the crawl, stories and notifications: hidden in `browse` (listed after
# the others with "show hidden tables"), queryable all the same.
INTERNAL_TABLES = ("lsh_bands", "item_signatures", "source_paragraphs", "translation_refs", "derived_pending",
                   "outbox", "notify_events")
for _name in INTERNAL_TABLES:
    TABLES.setdefault(_name, {"hidden": True, "title": _name.replace("_", " ").capitalize()})
# Columns `browse` shows by default on the items table (plugin presswatch_ui: the others stay one click away).
ITEM_DEFAULT_COLUMNS = ("id", "published", "source", "kind", "country", "language", "title", "summary", "url")

QUERIES: dict[str, dict[str, str]] = {
    "latest_by_topic": {
        "title": "Latest by topic",
        "description": "The 50 newest items of a topic (a topic id of topics.toml, e.g. covid-19).",
        "sql": (
            "select i.id, i.published, i.source, i.language, i.title, i.url\n"
            "from item_topics t join items i on i.id = t.item_id\n"
            "where t.topic = :topic\n"
            "order by i.published_utc desc\n"
            "limit 50"
        ),
    },
    "country_this_month": {
        "title": "A country this month",
        "description": "Items about a country (ISO alpha-2, e.g. UA: the source's country or one named "
                       "in the text) published this month, or in month (YYYY-MM) if given.",
        "sql": (
            "select i.id, i.published, i.source, i.language, i.title, i.url\n"
            "from item_countries c join items i on i.id = c.item_id\n"
            "where c.country = upper(trim(:country))\n"
            "  and substr(i.published_utc, 1, 7)\n"
            "      = coalesce(nullif(trim(:month), ''), strftime('%Y-%m', 'now'))\n"
            "order by i.published_utc desc"
        ),
    },
    "items_without_a_date": {
        "title": "Items without a date",
        "description": "Items archived without a publication date (information pages have none by design).",
        "sql": (
            "select id, source, kind, title, url, first_seen\n"
            "from items\n"
            "where published_utc is null\n"
            "order by source, first_seen"
        ),
    },
}


def database_name(db_path: str | Path) -> str:
    """The name Datasette gives a database file: its stem."""
    return Path(db_path).stem


def metadata(database: str = "presswatch") -> dict[str, Any]:
    """Datasette metadata for an archive served under the name ``database``."""
    return {
        "title": "presswatch",
        "description": "IOM press releases, news and publications archived by presswatch. "
                       "Read-only; the schema is documented in docs/schema.md.",
        "databases": {
            database: {
                "description": "The presswatch archive.",
                "tables": TABLES,
                "queries": QUERIES,
            }
        },
    }
