"""Incremental crawls: an unchanged re-crawl costs almost nothing; additions, edits and removals are caught."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest
import sqlite_utils

from feeds.health import write_health_feed
from feeds.publish import publish_feeds
from presswatch.archive.db import open_archive
from presswatch.config.sources import load_sources
from presswatch.sample_sites.changes import edition, load_changes
from presswatch.sample_sites.server import SampleSiteServer, load_content
from tests.conftest import ROOT, SOURCES, presswatch

SOURCE_LIST = load_sources(SOURCES)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_unchanged_recrawl_fetches_only_first_listing_pages_feeds_and_sitemaps(crawled):
    second = crawled.requests_second
    # Not one item page: nothing is due for a re-check (recheck_after is 7 days).
    expected = {("www.iom.int", "/robots.txt")}
    for source in SOURCE_LIST:
        for host in source.allowed_domains:
            expected.add((host, "/robots.txt"))
        for url in [*source.start_urls, *source.feeds, *source.sitemaps]:
            expected.add((urlsplit(url).hostname, path_of(url).replace("[", "%5B").replace("]", "%5D")))
    assert {(host, path) for host, _method, path, _status in second} == expected
    # Every request once: robots.txt too, once per host (issue 16; eca-news and eca-stories share one).
    assert len(second) == len(expected)
    assert len(second) <= len(crawled.requests_first) * 0.25
    db = sqlite_utils.Database(crawled.db_path)
    runs = list(db.query("SELECT * FROM crawl_runs ORDER BY id LIMIT 10 OFFSET 10"))
    assert sum(run["pages_fetched"] for run in runs) == len(second)


def publish(db_path: Path, public: Path, sources: Path) -> None:
    """What `presswatch publish` does: the feeds, then the health feed."""
    publish_feeds(db_path, public, ROOT / "topics.toml", sources_path=sources)
    db = open_archive(db_path)
    write_health_feed(db, public)
    db.close()


@pytest.fixture(scope="module")
def changed(tmp_path_factory):
    """iom-press crawled on edition 1, then on edition 2 with every item due for a re-check."""
    folder = tmp_path_factory.mktemp("changes")
    sources = folder / "sources.toml"
    text = Path(SOURCES).read_text(encoding="utf-8")
    # Re-check everything on the second crawl: edits and removals are found by re-checks.
    sources.write_text(text.replace('item_urls = \'^https://www\\.iom\\.int/news/\'',
                                    'item_urls = \'^https://www\\.iom\\.int/news/\'\nrecheck_after = "0s"', 1),
                       encoding="utf-8")
    assert load_sources(sources).get("iom-press").recheck_after.total_seconds() == 0
    db_path = folder / "presswatch.db"
    with SampleSiteServer() as server:
        args = ("crawl", "iom-press", "--mirror", server.url, "--db", str(db_path), "--sources", str(sources))
        first = presswatch(*args)
        assert first.returncode == 0, first.stderr[-2000:]
        publish(db_path, folder / "public-1", sources)
        before = len(server.requests)
        server.set_edition(2)
        second = presswatch(*args)
        assert second.returncode == 0, second.stderr[-2000:]
        publish(db_path, folder / "public-2", sources)
        requests = server.requests[before:]
    return db_path, second, requests


CHANGES = load_changes()
ADDED = CHANGES["added"][0]
EDITED = CHANGES["edited"][0]
REMOVED = CHANGES["removed"][0]


def test_new_release_appears(changed):
    db_path, _second, _requests = changed
    db = sqlite_utils.Database(db_path)
    row = next(db.query("SELECT * FROM items WHERE url = ?", [f"https://www.iom.int{ADDED['path']}"]))
    assert row["title"] == ADDED["title"]
    assert row["published"] == "2023-01-10T10:00:00+01:00"
    assert db["items"].count == 31


def test_edited_release_keeps_its_previous_version(changed):
    db_path, second, _requests = changed
    db = sqlite_utils.Database(db_path)
    url = f"https://www.iom.int{EDITED['path']}"
    item = next(db.query("SELECT * FROM items WHERE url = ?", [url]))
    assert item["title"] == EDITED["title"]
    assert EDITED["paragraph"] in item["body"]
    assert item["updated"] is not None
    original = next(a for a in load_content()["article"] if a["path"] == EDITED["path"])
    versions = list(db.query("SELECT * FROM item_versions WHERE item_id = ?", [item["id"]]))
    assert len(versions) == 1
    assert versions[0]["version"] == 1
    assert versions[0]["title"] == original["title"]
    assert original["body"][EDITED["replace_paragraph"]] in versions[0]["body"]
    assert EDITED["paragraph"] not in versions[0]["body"]
    events = [row["event"] for row in db.query("SELECT event FROM item_events WHERE item_id = ?", [item["id"]])]
    assert events == ["updated"]
    # The full-text index has the new text, not the old.
    assert [row["url"] for row in db["items"].search('"Corrected on 11 January"')] == [url]


def entry_for(feed_path: Path, url: str):
    feed = feedparser.parse(feed_path.read_bytes())
    assert not feed.bozo
    return next(entry for entry in feed.entries if entry.link == url)


def test_feeds_show_the_edit_as_an_update_under_the_same_id(changed):
    db_path, _second, _requests = changed
    folder = db_path.parent
    url = f"https://www.iom.int{EDITED['path']}"
    before = entry_for(folder / "public-1" / "sources" / "iom-press.atom", url)
    after = entry_for(folder / "public-2" / "sources" / "iom-press.atom", url)
    assert after.id == before.id
    assert after.title == EDITED["title"] and before.title != after.title
    assert before.updated_parsed == before.published_parsed
    assert after.updated_parsed > before.updated_parsed
    assert after.published_parsed == before.published_parsed
    rss_before = entry_for(folder / "public-1" / "sources" / "iom-press.rss", url)
    rss_after = entry_for(folder / "public-2" / "sources" / "iom-press.rss", url)
    assert rss_after.id == rss_before.id and rss_after.title == EDITED["title"]


def test_new_release_heads_the_feed_and_the_withdrawn_one_is_in_the_health_feed(changed):
    db_path, _second, _requests = changed
    folder = db_path.parent
    feed = feedparser.parse((folder / "public-2" / "sources" / "iom-press.atom").read_bytes())
    assert feed.entries[0].title == ADDED["title"]
    health = feedparser.parse((folder / "public-2" / "health.atom").read_bytes())
    assert not health.bozo
    removed_url = f"https://www.iom.int{REMOVED['path']}"
    (entry,) = [entry for entry in health.entries if entry.get("link") == removed_url]
    original = next(a for a in load_content()["article"] if a["path"] == REMOVED["path"])
    assert entry.title == f"iom-press: withdrawn: {original['title']}"
    assert "answered HTTP 404" in entry.content[0].value
    before = feedparser.parse((folder / "public-1" / "health.atom").read_bytes())
    assert before.entries == []


def test_diff_shows_the_change(changed):
    db_path, _second, _requests = changed
    result = presswatch("diff", f"https://www.iom.int{EDITED['path']}", "--db", str(db_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("--- version 1, fetched ")
    assert lines[1].startswith("+++ version 2 (current), fetched ")
    original = next(a for a in load_content()["article"] if a["path"] == EDITED["path"])
    assert f"-{original['title']}" in lines
    assert f"+{EDITED['title']}" in lines
    assert f"+{EDITED['paragraph']}" in lines


def test_removed_release_is_marked_not_deleted(changed):
    db_path, _second, _requests = changed
    db = sqlite_utils.Database(db_path)
    item = next(db.query("SELECT * FROM items WHERE url = ?", [f"https://www.iom.int{REMOVED['path']}"]))
    assert item["status"] == "removed"
    assert item["removed"] is not None
    assert item["body"], "its text is kept"
    (event,) = db.query("SELECT event, detail FROM item_events WHERE item_id = ?", [item["id"]])
    assert event == {"event": "removed", "detail": "the page answered HTTP 404"}


def test_second_run_counts(changed):
    db_path, second, requests = changed
    db = sqlite_utils.Database(db_path)
    run = next(db.query("SELECT * FROM crawl_runs ORDER BY id DESC LIMIT 1"))
    assert (run["items_new"], run["items_updated"], run["items_removed"]) == (1, 1, 1)
    # Every other archived release was re-checked with a conditional GET and
    # found unchanged: most answer 304; a few answer 200 because a sidebar of
    # "related" links changed with the new release, and their text is the same.
    assert run["items_unchanged"] == 28
    conditional = [r for r in requests if r[3] == 304]
    assert run["not_modified"] == len(conditional) >= 20
    # Pagination went on while pages listed something not archived (the new
    # release on page 0, the withdrawn release's 404 card on page 1) and
    # stopped after page 2, which lists only archived releases.
    listing_pages = sorted(path for _h, _m, path, _s in requests if path.startswith("/search"))
    assert [path[-6:] for path in listing_pages] == ["page=0", "page=1", "page=2"]
    assert "1 new, 1 updated" in second.stdout


def test_edition_two_is_a_pure_function_of_the_content():
    content = load_content()
    changed = edition(content, 2)
    assert len(changed["article"]) == len(content["article"])  # one added, one removed
    assert edition(content, 1) is content
    with pytest.raises(ValueError):
        edition(content, 3)


def test_full_crawl_rewalks_everything(tmp_path, crawled, archive_copy):
    with SampleSiteServer() as server:
        result = presswatch("crawl", "rovienna-press", "--full", "--mirror", server.url,
                            "--db", str(archive_copy), "--sources", str(SOURCES))
        assert result.returncode == 0, result.stderr[-2000:]
        paths = [path for host, _m, path, _s in server.requests if host == "rovienna.iom.int"]
    assert "/press/press-releases?page=1" in paths
    assert sum(path.startswith("/press/") and "press-releases" not in path for path in paths) == 10
    with sqlite3.connect(archive_copy) as conn:
        (full,) = conn.execute("SELECT full_crawl FROM crawl_runs ORDER BY id DESC LIMIT 1").fetchone()
    assert full == 1
