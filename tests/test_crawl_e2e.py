"""One real crawl of the sample sites over HTTP on 127.0.0.1 into a real SQLite file.

The expected rows come from the sample sites' own data (content.toml): every
article is archived exactly once, with its title, date, language and source;
verbatim re-posts are recorded as duplicates; the republished release and the
language versions are one story each; the 404 and the undated page are
reported, not fatal; a second crawl adds and duplicates nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from itertools import combinations
from zoneinfo import ZoneInfo

import pytest
import sqlite_utils

from presswatch.archive.stories import canonical_key
from presswatch.config.sources import load_sources
from presswatch.sample_sites.server import load_content
from tests.conftest import SOURCES

CONTENT = load_content()
SOURCE_LIST = load_sources(SOURCES)


def real_url(article: dict) -> str:
    return f"https://{article['site']}{article['path']}"


def source_of(url: str) -> str:
    """The source whose domains and item pattern take ``url`` (as the crawl decides)."""
    matches = [
        source.id for source in SOURCE_LIST
        if source.allows(url) and source.is_item_url(url)
        and (source.id not in ("eca-news", "eca-stories") or f"/{source.id[4:]}/" in url)
    ]
    assert len(matches) == 1, (url, matches)
    return matches[0]


ORIGINALS = [article for article in CONTENT["article"] if "duplicate_of" not in article]
COPIES = [article for article in CONTENT["article"] if "duplicate_of" in article]


@pytest.fixture(scope="module")
def db(crawled):
    database = sqlite_utils.Database(crawled.db_path)
    yield database
    database.close()


@pytest.fixture(scope="module")
def rows(db):
    return {row["url"]: row for row in db.query("SELECT * FROM items")}


def test_every_article_archived_exactly_once(rows):
    assert len(ORIGINALS) == 81
    assert sorted(rows) == sorted(real_url(article) for article in ORIGINALS)


@pytest.mark.parametrize("article", ORIGINALS, ids=lambda article: article["path"][-40:])
def test_each_row_has_the_right_fields(rows, article):
    row = rows[real_url(article)]
    source = SOURCE_LIST.get(row["source"])
    assert row["source"] == source_of(real_url(article))
    assert row["title"] == article["title"]
    assert row["language"] == article["lang"]
    assert row["kind"] == source.kind
    assert row["country"] == source.country
    assert row["body"], "every sample page has body text"
    date = article.get("date")
    if date is None:
        assert row["published"] is None and row["date_source"] is None
        return
    published = datetime.fromisoformat(row["published"])
    assert published.tzinfo is not None
    if published != date:
        # A page that states no time of day (teasers, local month names,
        # datelines) is dated that day at midnight in the source's time zone.
        assert row["date_source"] in ("selector", "dateline", "listing")
        assert published == datetime(date.year, date.month, date.day, tzinfo=ZoneInfo(source.timezone))


def test_yearless_datelines_resolved(rows):
    dateline_rows = [row for row in rows.values() if row["date_source"] == "dateline"]
    assert {row["source"] for row in dateline_rows} == {"moldova", "ukraine"}
    profile = rows["https://moldova.iom.int/news/launch-moldova-migration-data-profile"]
    assert profile["published"] == "2021-06-16T00:00:00+03:00"
    assert profile["date_source"] == "dateline"
    assert profile["body"].startswith("Chisinau - 16 June.")


def test_exact_spot_values(rows):
    report = rows["https://www.iom.int/news/world-migration-report-2022-launched"]
    assert report["title"] == "World Migration Report 2022 launched"
    assert report["published"] == "2021-12-01T10:30:00+01:00"
    assert report["published_utc"] == "2021-12-01T09:30:00Z"
    assert report["source"] == "iom-press"
    assert report["kind"] == "press_release"
    assert report["country"] is None
    belarus = rows["https://www.iom.int/news/iom-and-partners-scaling-aid-migrants-and-refugees-stranded-belarus"]
    assert {"BY", "PL", "LT"} <= set(json.loads(belarus["countries"]))
    book = rows["https://publications.iom.int/books/research-health-vulnerabilities-cross-border-migrants-nepal"]
    metadata = json.loads(book["metadata"])
    assert metadata["isbn"] == "978-92-9068-398-8"
    assert metadata["year"] == "2007"
    assert metadata["pdf_url"] == (
        "https://publications.iom.int/sites/g/files/tmzbdl2616/files/pdf/"
        "research-health-vulnerabilities-cross-border-migrants-nepal.pdf"
    )
    assert book["body"].startswith("Reliable information on the health vulnerabilities")


def test_windows_1257_page_decoded(rows):
    about = rows["https://micenter.lt/lt/apie-organizacija"]
    assert about["title"] == "Apie organizaciją"
    assert "Tarptautinė migracijos organizacija" in about["body"]
    assert about["language"] == "lt"


def test_verbatim_reposts_recorded_as_duplicates_of_the_original(db):
    duplicates = {
        row["url"]: row for row in db.query(
            "SELECT d.url, d.source, d.reason, i.url AS item_url FROM duplicates d JOIN items i ON i.id = d.item_id"
        )
    }
    assert sorted(duplicates) == sorted(real_url(copy) for copy in COPIES)
    for copy in COPIES:
        duplicate = duplicates[real_url(copy)]
        assert duplicate["item_url"] == copy["duplicate_of"]
        assert duplicate["reason"] == "same_content"
        assert duplicate["source"] == "rovienna-press"


def expected_stories() -> list[set[str]]:
    """Every article is its own story, except the language versions of one page
    (translation_of) and a release republished on another site (republished_from)."""
    story = {real_url(article): {real_url(article)} for article in ORIGINALS}
    for article in ORIGINALS:
        others = [article.get("republished_from")]
        if article.get("translation_of"):
            others.append(f"https://{article['site']}{article['translation_of']}")
        for other in filter(None, others):
            merged = story[real_url(article)] | story[other]
            for url in merged:
                story[url] = merged
    return list({id(group): group for group in story.values()}.values())


def expected_links() -> set[tuple[str, str, str, str | None]]:
    """(url, url, kind, via): every two language versions of a page (declared with hreflang,
    or by the node id they share when a version says ``hreflang = false``), and the
    republished release with its original."""
    links = set()
    groups: dict[str, list[dict]] = {}
    for article in ORIGINALS:
        if article.get("republished_from"):
            links.add((*sorted([real_url(article), article["republished_from"]]), "near_duplicate", None))
        original = f"https://{article['site']}{article.get('translation_of') or article['path']}"
        groups.setdefault(original, []).append(article)
    for group in groups.values():
        via = "node" if any(article.get("hreflang") is False for article in group) else "hreflang"
        for first, second in combinations(sorted(real_url(article) for article in group), 2):
            links.add((first, second, "translation", via))
    return links


def test_stories_are_the_republished_and_translated_releases(db, rows):
    stories: dict[int, set[str]] = {}
    for row in rows.values():
        stories.setdefault(row["story_id"], set()).add(row["url"])
    assert sorted(map(sorted, stories.values())) == sorted(map(sorted, expected_stories()))
    assert len(stories) == 70
    canonical = dict(db.execute("SELECT id, canonical_item_id FROM stories").fetchall())
    ids = {row["id"]: url for url, row in rows.items()}
    assert set(canonical) == set(stories)
    for story_id, urls in stories.items():
        # The story's id is its first item's; its canonical item the earliest published (same day:
        # the source first in sources.toml, then the language version without a prefix).
        assert story_id == min(rows[url]["id"] for url in urls)
        assert ids[canonical[story_id]] == min(urls, key=lambda url: canonical_key(rows[url], SOURCE_LIST.rank))
    republished = next(article for article in ORIGINALS if article.get("republished_from"))
    assert ids[canonical[rows[real_url(republished)]["story_id"]]] == republished["republished_from"]
    links = {(ids[first], ids[second], kind, via) for first, second, kind, via in db.execute(
        "SELECT item_id, other_item_id, kind, via FROM story_links").fetchall()}
    assert {(*sorted(pair[:2]), *pair[2:]) for pair in links} == expected_links()
    similarity = db.execute("SELECT similarity FROM story_links WHERE kind = 'near_duplicate'").fetchone()[0]
    assert 0.5 <= similarity < 1


def test_problems_reported_not_fatal(crawled, db):
    first_runs = list(db.query("SELECT * FROM crawl_runs ORDER BY id LIMIT 10"))
    assert len(first_runs) == 10
    assert {run["status"] for run in first_runs} == {"ok"}
    problems = {(row["problem"], row["url"], row["detail"]) for row in db.query(
        "SELECT problem, url, detail FROM crawl_problems WHERE run_id IN (SELECT id FROM crawl_runs ORDER BY id LIMIT 10)"
    )}
    not_found = "https://www.iom.int/news/statement-on-border-closures-withdrawn"
    undated = "https://lithuania.iom.int/news/innovative-development-intercultural-competences-police-officers-idic"
    assert problems == {
        ("http_error", not_found, "HTTP 404"),
        ("no_date", undated, "archived without a publication date"),
    }
    # The summary names both.
    assert f"iom-press: http_error: {not_found} (HTTP 404)" in crawled.first.stdout
    assert f"lithuania: no_date: {undated}" in crawled.first.stdout
    assert "81 new" in crawled.first.stdout


def test_run_counters(db):
    first = {run["source"]: run for run in db.query("SELECT * FROM crawl_runs ORDER BY id LIMIT 10")}
    # Which copy of a re-posted release arrives first varies between runs (the
    # archive ends the same, see test_store.py), so count copies with the news.
    assert first["iom-press"]["items_new"] + first["iom-press"]["items_duplicate"] == 30
    assert first["rovienna-press"]["items_new"] + first["rovienna-press"]["items_duplicate"] == 10
    assert first["iom-press"]["http_errors"] == 1
    assert first["lithuania"]["no_date"] == 1
    assert sum(run["items_new"] for run in first.values()) == 81
    assert sum(run["items_duplicate"] for run in first.values()) == 2


def test_second_crawl_adds_and_duplicates_nothing(crawled, db):
    second = list(db.query("SELECT * FROM crawl_runs ORDER BY id LIMIT 10 OFFSET 10"))
    assert len(second) == 10
    assert {run["status"] for run in second} == {"ok"}
    assert sum(run["items_new"] for run in second) == 0
    assert sum(run["items_duplicate"] for run in second) == 0
    assert sum(run["items_updated"] for run in second) == 0
    # Incremental: archived pages are not even fetched (see test_incremental.py).
    assert sum(run["items_unchanged"] for run in second) == 0
    assert db["items"].count == 81
    assert db["duplicates"].count == 2
    assert "0 new, 0 updated, 0 duplicate copies recorded; 81 items in the archive." in crawled.second.stdout


def test_requests_stay_on_loopback_under_real_hosts(crawled):
    hosts = {host for host, _method, _path, _status in crawled.requests_first}
    assert hosts == {domain for source in SOURCE_LIST for domain in source.allowed_domains}
    paths = {(host, path) for host, _method, path, _status in crawled.requests_first}
    assert ("www.iom.int", "/robots.txt") in paths
    assert ("micenter.lt", "/sitemap.xml") in paths


def test_full_text_search_finds_a_word_only_in_a_body(db):
    # "Nepali" appears in the body of one publication and nowhere else, not in any title.
    assert db.execute("SELECT COUNT(*) FROM items WHERE title LIKE '%Nepali%'").fetchone()[0] == 0
    found = [row["url"] for row in db["items"].search("Nepali")]
    assert found == ["https://publications.iom.int/books/research-health-vulnerabilities-cross-border-migrants-nepal"]


def test_sqlite_utils_cli_opens_the_archive(crawled):
    result = subprocess.run(
        [sys.executable, "-m", "sqlite_utils", "search", str(crawled.db_path), "items", "Nepali", "-c", "title"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"title": "Research on the Health Vulnerabilities of the Cross Border Migrants from Nepal"}
    ]


def test_integrity(db):
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # The FTS index holds exactly the items.
    assert db.execute("SELECT COUNT(*) FROM items_fts").fetchone()[0] == 81
