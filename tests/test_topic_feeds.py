"""Issue 15: feeds present news as news (pages only in topics that take them, backfills after the
news, undated entries that say so) and feeds by combination over HTTP (feedparser, ETag/304)."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import feedparser
import pytest

from feeds.collect import collect_feeds
from feeds.combined import CombinedFeeds
from feeds.publish import publish_feeds, source_names_from
from feeds.serve import PublicServer
from pipelines.topics import Classifier, reclassify_all
from presswatch.archive.db import open_archive
from presswatch.config.topics import load_topics
from tests.conftest import ROOT, SOURCES
from tests.feed_helpers import copy_archive, insert_item

TOPICS = ROOT / "topics.toml"
BASE = "http://feeds.test/pw/"

SMALL_TOPICS = """\
[[topic]]
id = "pensions"
title = "Pensions"
[topic.rule.keywords]
en = ["pension*"]

[[topic]]
id = "mic-pages"
title = "Information centre pages"
include_pages = true
[topic.rule]
sources = ["micenter"]
[topic.rule.keywords]
en = ["pension*"]
"""


def add_run(db, source: str, started: str, finished: str | None) -> None:
    db["crawl_runs"].insert({"source": source, "started": started, "finished": finished,
                             "status": "ok" if finished else "running"})


@pytest.fixture
def first_crawl(tmp_path):
    """A source's first crawl: two dated releases and an undated information page, all first seen
    during the run; an older run of another source."""
    topics_path = tmp_path / "topics.toml"
    topics_path.write_text(SMALL_TOPICS, encoding="utf-8")
    db_path = tmp_path / "archive.db"
    db = open_archive(db_path)
    add_run(db, "other", "2025-01-01T00:00:00Z", "2025-01-01T00:01:00Z")
    add_run(db, "micenter", "2026-01-01T00:00:00Z", "2026-01-01T00:10:00Z")
    during = "2026-01-01T00:05:00Z"
    insert_item(db, "https://micenter.lt/en/pensions", "Pensions", kind="page", source="micenter",
                body="Pensions for people who return to Lithuania.", first_seen=during, fetched=during)
    insert_item(db, "https://micenter.lt/en/news/pension-reform", "Pension reform for returnees",
                kind="news", source="micenter", published="2025-06-01T10:00:00+03:00", first_seen=during)
    insert_item(db, "https://micenter.lt/en/news/older", "Older news about pensions", kind="news",
                source="micenter", published="2024-01-01T10:00:00+02:00", first_seen=during)
    reclassify_all(db, Classifier(load_topics(topics_path)))
    db.close()
    return db_path, topics_path


def paths_of(feeds, path: str) -> list[str]:
    feed = next(feed for feed in feeds if feed.spec.path == path)
    return [urlsplit(entry.link).path for entry in feed.entries]


def test_first_crawl_backfills_come_after_the_news_and_pages_only_in_topics_that_take_them(first_crawl):
    db_path, topics_path = first_crawl
    topics = load_topics(topics_path)
    db = open_archive(db_path)
    feeds = collect_feeds(db, topics, limit=10)
    # The page was first seen after both releases were published, yet it is a backfill: last.
    assert paths_of(feeds, "all") == ["/en/news/pension-reform", "/en/news/older", "/en/pensions"]
    assert paths_of(feeds, "sources/micenter") == ["/en/news/pension-reform", "/en/news/older", "/en/pensions"]
    assert paths_of(feeds, "kinds/page") == ["/en/pensions"]
    # A news topic leaves the information page out; the centre's own topic asks for pages.
    assert paths_of(feeds, "topics/pensions") == ["/en/news/pension-reform", "/en/news/older"]
    assert paths_of(feeds, "topics/mic-pages") == ["/en/news/pension-reform", "/en/news/older", "/en/pensions"]
    # With room for two entries the backfill is cut, not the news.
    assert paths_of(collect_feeds(db, topics, limit=2), "all") == ["/en/news/pension-reform", "/en/news/older"]
    db.close()


def test_an_undated_item_of_a_later_crawl_is_listed_when_it_appeared_and_claims_no_date(first_crawl, tmp_path):
    db_path, topics_path = first_crawl
    db = open_archive(db_path)
    add_run(db, "micenter", "2026-02-01T00:00:00Z", "2026-02-01T00:10:00Z")
    later = "2026-02-01T00:03:00Z"
    insert_item(db, "https://micenter.lt/en/new-page", "New page on pensions", kind="page", source="micenter",
                body="Pensions: what changed.", first_seen=later, fetched=later)
    reclassify_all(db, Classifier(load_topics(topics_path)))
    db.close()
    public = tmp_path / "public"
    publish_feeds(db_path, public, topics_path, 10, base_url=BASE)
    for fmt in ("atom", "rss"):
        parsed = feedparser.parse((public / f"all.{fmt}").read_bytes())
        assert [urlsplit(entry.link).path for entry in parsed.entries] == [
            "/en/new-page", "/en/news/pension-reform", "/en/news/older", "/en/pensions"]
        new, release = parsed.entries[0], parsed.entries[1]
        assert "published" not in new and "published" in release
        assert "No publication date; first seen 2026-02-01." in new.summary
        assert "No publication date" not in release.get("summary", "")
    atom = feedparser.parse((public / "all.atom").read_bytes())
    assert atom.entries[0].updated == "2026-02-01T00:03:00+00:00"
    assert atom.entries[1].published == "2025-06-01T10:00:00+03:00"
    index = (public / "index.html").read_text(encoding="utf-8")
    assert "New page on pensions</a> <span class=\"meta\">undated · micenter</span>" in index


def get(server: PublicServer, path: str, headers: dict[str, str] | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_combination_feed_over_http(first_crawl, tmp_path):
    db_path, topics_path = first_crawl
    db = open_archive(db_path)
    insert_item(db, "https://www.iom.int/news/pensions-moldova", "Pensions of Moldovan migrants",
                published="2025-03-01T09:00:00+02:00", country="MD", countries=["MD"],
                body="Pension rights of migrants.")
    reclassify_all(db, Classifier(load_topics(topics_path)))
    db.close()
    public = tmp_path / "public"
    publish_feeds(db_path, public, topics_path, 10, base_url=BASE)
    combined = CombinedFeeds(db_path, topics_path, base_url=BASE, limit=10)
    with PublicServer(public, port=0, combined=combined) as server:
        status, headers, body = get(server, "/feed.atom?topic=pensions&country=MD")
        assert status == 200 and headers["Content-Type"] == "application/atom+xml"
        parsed = feedparser.parse(body)
        assert parsed.feed.title == "IOM: Pensions · Moldova"
        assert [entry.title for entry in parsed.entries] == ["Pensions of Moldovan migrants"]
        assert [link.href for link in parsed.feed.links if link.rel == "self"] == [
            f"{BASE}feed.atom?topic=pensions&country=MD"]
        # Unchanged: a conditional request gets a 304 without a body.
        status, again, empty = get(server, "/feed.atom?topic=pensions&country=MD",
                                   {"If-None-Match": headers["ETag"]})
        assert (status, empty, again["ETag"]) == (304, b"", headers["ETag"])
        # Kinds, sources and words combine; RSS too; the backfill page comes last.
        status, headers, body = get(server, "/feed.rss?source=micenter&q=pension*")
        assert status == 200 and headers["Content-Type"] == "application/rss+xml"
        assert [entry.title for entry in feedparser.parse(body).entries] == [
            "Pension reform for returnees", "Older news about pensions", "Pensions"]
        status, _, body = get(server, "/feed.atom?kind=news&source=micenter")
        assert [entry.title for entry in feedparser.parse(body).entries] == [
            "Pension reform for returnees", "Older news about pensions"]
        # A wrong parameter is a 400 saying why.
        assert get(server, "/feed.atom?topic=nope")[::2] == (
            400, b"no topic 'nope' (known: pensions, mic-pages)\n")
        assert get(server, "/feed.atom?colour=red")[::2] == (
            400, b"unknown parameter 'colour' (known: topic, country, source, kind, q, min_score)\n")
        status, _, body = get(server, "/feed.atom?q=AND")
        assert status == 400 and body.startswith(b"q 'AND' is not a valid full-text query")
        # The published files are still served as before.
        assert get(server, "/all.atom")[0] == 200
        index = get(server, "/")[2].decode()
        assert '<form class="combine" action="feed.atom" method="get">' in index
        assert '<option value="pensions">Pensions</option>' in index


def test_combination_feed_of_a_topic_is_its_published_feed_on_the_sample_archive(crawled, tmp_path):
    db_path = copy_archive(crawled.db_path, tmp_path / "archive.db")
    public = tmp_path / "public"
    publish_feeds(db_path, public, TOPICS, 50, base_url=BASE, sources_path=SOURCES)
    combined = CombinedFeeds(db_path, TOPICS, base_url=BASE, source_names=source_names_from(SOURCES))
    for query, path in (("topic=remittances", "topics/remittances"), ("country=MD", "countries/md"),
                        ("kind=page", "kinds/page"), ("", "all")):
        published = feedparser.parse((public / f"{path}.atom").read_bytes())
        made = feedparser.parse(combined.answer("atom", query).body)
        assert [entry.id for entry in made.entries] == [entry.id for entry in published.entries], query
        assert made.entries, query


def test_no_backfill_page_heads_a_feed_of_the_sample_sites(crawled, tmp_path):
    """Issue 15's target: no undated first-crawl page in the first 10 entries of any feed."""
    db_path = copy_archive(crawled.db_path, tmp_path / "archive.db")
    public = tmp_path / "public"
    publish_feeds(db_path, public, TOPICS, 50, base_url=BASE, sources_path=SOURCES)
    db = open_archive(db_path, readonly=True)
    pages = {row[0] for row in db.execute("SELECT url FROM items WHERE kind = 'page' AND published IS NULL")}
    db.close()
    assert len(pages) >= 3
    checked = 0
    for path in sorted(public.rglob("*.atom")):
        entries = feedparser.parse(path.read_bytes()).entries
        if all(entry.id in pages or "page" in {tag.term for tag in entry.tags} for entry in entries):
            continue  # a feed of information pages only (kinds/page, the Information Centre's)
        checked += 1
        assert not [entry.id for entry in entries[:10] if entry.id in pages], path
    assert checked > 30
