"""Publishing the crawled sample archive: feeds match the archive rows, Atom/RSS/OPML structure,
byte-identical republishing, incremental updates, hostile text."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import feedparser
import listparser
import pytest
from lxml import etree

from feeds.build import EMPTY_FEED_DATE
from feeds.collect import country_name
from feeds.publish import publish_feeds, render_site
from pipelines.topics import Classifier, classify_item
from presswatch.archive.db import open_archive
from presswatch.config.sources import KINDS, load_sources
from presswatch.config.topics import load_topics
from tests.conftest import ROOT, SOURCES
from tests.feed_helpers import copy_archive, insert_item

TOPICS = ROOT / "topics.toml"
BASE = "http://feeds.test/pw/"
ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
RFC822 = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                    r"\d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$")
HOSTILE_TITLE = "</title><script>alert(1)</script> ]]> \x0b"


@dataclass
class Site:
    db_path: Path
    public: Path
    report: object
    files: dict[str, bytes]  # relative path -> bytes, as published


def read_tree(public: Path) -> dict[str, bytes]:
    return {path.relative_to(public).as_posix(): path.read_bytes() for path in sorted(public.rglob("*"))
            if path.is_file()}


@pytest.fixture(scope="module")
def site(crawled, tmp_path_factory) -> Site:
    folder = tmp_path_factory.mktemp("site")
    db_path = copy_archive(crawled.db_path, folder / "archive.db")
    public = folder / "public"
    report = publish_feeds(db_path, public, TOPICS, 50, base_url=BASE, sources_path=SOURCES)
    return Site(db_path, public, report, read_tree(public))


@pytest.fixture(scope="module")
def parsed(site) -> dict[str, feedparser.FeedParserDict]:
    return {path: feedparser.parse(data) for path, data in site.files.items() if path.endswith((".atom", ".rss"))}


@pytest.fixture(scope="module")
def archive_rows(site) -> dict:
    """Everything the expectations are computed from, read straight from the archive with SQL."""
    db = open_archive(site.db_path, readonly=True)
    # Issue 15: an undated item first seen during its source's first crawl run is a backfill, after
    # every other item.
    items = [dict(row) for row in db.query(
        "SELECT *, (published_utc IS NULL AND EXISTS (SELECT 1 FROM crawl_runs AS r WHERE r.source = i.source "
        " AND r.id = (SELECT min(id) FROM crawl_runs WHERE source = i.source) AND i.first_seen >= r.started"
        " AND i.first_seen <= r.finished)) AS backfill "
        "FROM items AS i WHERE status = 'active' ORDER BY backfill, coalesce(published_utc, first_seen) DESC, url")]
    topic_rows = db.execute("SELECT topic, item_id FROM item_topics").fetchall()
    canonical_of = dict(db.execute("SELECT id, canonical_item_id FROM stories").fetchall())
    db.close()
    order = load_topics(TOPICS).ids
    topics_of: dict[int, list[str]] = {}
    for topic, item_id in topic_rows:
        topics_of.setdefault(item_id, []).append(topic)
    for topic_ids in topics_of.values():
        topic_ids.sort(key=order.index)
    # One entry per story (presswatch/stories.py): its canonical item stands for its members.
    members: dict[int, list[dict]] = {}
    for item in items:
        members.setdefault(item["story_id"], []).append(item)
    shown = {item["id"]: canonical_of[item["story_id"]] for item in items}
    return {"items": items, "item_topics": topic_rows, "topics_of": topics_of, "members": members,
            "shown": shown}


def feed_paths(site: Site) -> set[str]:
    return {path.rsplit(".", 1)[0] for path in site.files if path.endswith(".atom")}


def expected_paths(archive_rows) -> set[str]:
    topics = load_topics(TOPICS)
    countries = set()
    for item in archive_rows["items"]:
        if item["kind"] == "page":  # issue 15: information pages are not in country feeds
            continue
        countries.update(json.loads(item["countries"]))
        if item["country"]:
            countries.add(item["country"])
    return ({"all"} | {f"topics/{t}" for t in topics.ids} | {f"sources/{s.id}" for s in load_sources(SOURCES)}
            | {f"countries/{c.lower()}" for c in countries} | {f"kinds/{k}" for k in KINDS})


def selected(archive_rows, path: str) -> list[dict]:
    """The rows a feed must hold, newest first, computed independently of feeds/collect.py: the
    canonical item of every story any of whose items the feed selects, in the canonical items' order."""
    section, _, key = path.partition("/")
    items = archive_rows["items"]
    if section == "all":
        chosen = items
    elif section == "topics":
        ids = {item_id for topic, item_id in archive_rows["item_topics"] if topic == key}
        chosen = [item for item in items if item["id"] in ids]
    elif section == "sources":
        chosen = [item for item in items if item["source"] == key]
    elif section == "countries":
        code = key.upper()
        # Issue 15: information pages are not in country feeds.
        chosen = [item for item in items if (item["country"] == code or code in json.loads(item["countries"]))
                  and item["kind"] != "page"]
    else:
        chosen = [item for item in items if item["kind"] == key]
    stories = {item["story_id"] for item in chosen}
    return [item for item in items if item["story_id"] in stories and archive_rows["shown"][item["id"]] == item["id"]][:50]


def expected_categories(archive_rows, item: dict) -> list[str]:
    """The topics, countries and kinds of every item of the entry's story."""
    group = archive_rows["members"][item["story_id"]]
    order = load_topics(TOPICS).ids
    topics = sorted({t for member in group for t in archive_rows["topics_of"].get(member["id"], [])}, key=order.index)
    countries = sorted({code for member in group for code in json.loads(member["countries"])}
                       | {member["country"] for member in group if member["country"]})
    return topics + countries + [item["kind"]] + sorted({member["kind"] for member in group} - {item["kind"]})


def add_item(db, url: str, title: str, **fields) -> int:
    """Insert an item and classify it, as StorePipeline and ClassifyPipeline do during a crawl."""
    item_id = insert_item(db, url, title, **fields)
    classify_item(db, Classifier(load_topics(TOPICS)), item_id)
    return item_id


def aware(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_layout_every_feed_in_both_formats(site, archive_rows):
    paths = feed_paths(site)
    assert paths == expected_paths(archive_rows)
    assert {"all", "topics/remittances", "sources/moldova", "countries/md", "kinds/press_release"} <= paths
    for path in paths:
        assert f"{path}.rss" in site.files
    assert {"index.html", "feeds.opml", "feeds-rss.opml"} <= set(site.files)
    assert set(site.report.written) == set(site.files) and site.report.removed == []
    # The crawl classified with this topics.toml already: nothing to redo.
    assert site.report.reclassified is None
    assert not [name for name in site.files if name.rsplit("/", 1)[-1].startswith(".")], "no temporary files"


def test_feedparser_reads_every_feed_without_error(parsed):
    assert len(parsed) > 100
    for path, result in parsed.items():
        assert not result.bozo, (path, result.get("bozo_exception"))
        assert result.version == ("atom10" if path.endswith(".atom") else "rss20"), path


def test_entries_match_the_archive_rows_exactly(site, parsed, archive_rows):
    sources = {source.id: source.name for source in load_sources(SOURCES)}
    non_empty = 0
    for path in sorted(feed_paths(site)):
        rows = selected(archive_rows, path)
        non_empty += bool(rows)
        for fmt in ("atom", "rss"):
            entries = parsed[f"{path}.{fmt}"].entries
            assert [entry.id for entry in entries] == [row["url"] for row in rows], (path, fmt)
            for entry, row in zip(entries, rows, strict=True):
                assert entry.title == row["title"]
                assert entry.link == row["url"]
                published = aware(row["published"] or row["first_seen"])
                if row["published"]:
                    assert datetime(*entry.published_parsed[:6], tzinfo=UTC) == published
                else:  # issue 15: an undated page claims no publication date, and says so
                    assert "published" not in entry
                    assert f"No publication date; first seen {published.date()}." in entry.summary
                republished = [aware(member["published"]) for member in archive_rows["members"][row["story_id"]]
                               if member["id"] != row["id"] and member["published"]]
                updated = max(aware(row["updated"] or row["published"] or row["first_seen"]), published, *republished)
                assert datetime(*entry.updated_parsed[:6], tzinfo=UTC) == updated
                assert [tag.term for tag in entry.tags] == expected_categories(archive_rows, row)
                assert entry.source.title == sources[row["source"]]
                source_href = entry.source.links[0].href if fmt == "atom" else entry.source.href
                assert source_href == f"{BASE}sources/{row['source']}.{fmt}"
                if row["author"]:
                    assert [author.name for author in entry.authors] == row["author"].split("; ")
                else:
                    assert "authors" not in entry
    assert non_empty > 60


def test_spot_values(parsed, archive_rows):
    remittances = parsed["topics/remittances.atom"]
    assert remittances.feed.title == "IOM: Remittances"
    titles = [entry.title for entry in remittances.entries]
    assert "The Future of Family Remittances is Digital" in titles
    assert titles.index("International Migrants Day: Migrants Drive Progress Towards the Sustainable "
                        "Development Goals") == 0
    entry = remittances.entries[titles.index("The Future of Family Remittances is Digital")]
    assert entry.published == "2022-01-18T09:15:00+01:00"  # the page's own offset, kept
    assert entry.title_detail.language == "en"
    labels = {tag.term: tag.label for tag in entry.tags}
    assert labels["remittances"] == "Remittances" and labels["KG"] == "Kyrgyzstan"
    assert labels["press_release"] == "Press releases"
    # The Romanian release is a language version of the English one (one story): the Moldova
    # feed has the English entry, in its language, pointing to the Romanian page.
    moldova = parsed["countries/md.rss"]
    assert not [e for e in moldova.entries if e.title.startswith("Migranții reveniți")]
    en = [e for e in moldova.entries if e.title.startswith("Returning Migrants in Moldova Receive Grants")]
    assert en and en[0].language == "en"
    assert 'href="https://moldova.iom.int/ro/news/migrantii-reveniti' in en[0].description
    assert country_name("MD") == "Moldova" and moldova.feed.title == "IOM: Moldova"
    # A publication's authors, an undated page's date (first seen).
    pubs = parsed["kinds/publication.atom"].entries
    wickramage = next(e for e in pubs if e.title.startswith("Psychosocial and mental health"))
    assert [a.name for a in wickramage.authors] == ["K. Wickramage", "C. Siriwardhana"]
    # (an undated item that stands for its story: a translation is its story's canonical item's entry)
    undated = next(row for row in archive_rows["items"]
                   if row["published"] is None and archive_rows["shown"][row["id"]] == row["id"])
    page = next(e for e in parsed[f"sources/{undated['source']}.atom"].entries if e.id == undated["url"])
    assert "published" not in page  # issue 15: no publication date claimed...
    assert aware(page.updated) == aware(undated["first_seen"])  # ...when it was first seen, as updated


def test_atom_structure_rfc4287(site):
    checked = 0
    for path in sorted(p for p in site.files if p.endswith(".atom")):
        root = etree.fromstring(site.files[path])
        assert root.tag == f"{ATOM}feed", path
        for name in ("id", "title", "updated"):
            assert len(root.findall(f"{ATOM}{name}")) == 1 and root.findtext(f"{ATOM}{name}").strip(), (path, name)
        assert root.findtext(f"{ATOM}id") == f"tag:presswatch,2024:{path[:-5]}"
        assert RFC3339.match(root.findtext(f"{ATOM}updated"))
        self_links = [link for link in root.findall(f"{ATOM}link") if link.get("rel") == "self"]
        assert [link.get("href") for link in self_links] == [f"{BASE}{path}"]
        assert self_links[0].get("type") == "application/atom+xml"
        assert root.find(f"{ATOM}author/{ATOM}name").text
        entries = root.findall(f"{ATOM}entry")
        updated = []
        for entry in entries:
            for name in ("id", "title", "updated"):
                assert len(entry.findall(f"{ATOM}{name}")) == 1 and entry.findtext(f"{ATOM}{name}"), (path, name)
            assert RFC3339.match(entry.findtext(f"{ATOM}updated"))
            # Issue 15: an undated page has no <published> (Atom makes it optional) and says so.
            if "No publication date; first seen" in (entry.findtext(f"{ATOM}summary") or ""):
                assert entry.findall(f"{ATOM}published") == [], path
            else:
                assert len(entry.findall(f"{ATOM}published")) == 1, path
                assert RFC3339.match(entry.findtext(f"{ATOM}published"))
            alternate = [link for link in entry.findall(f"{ATOM}link") if link.get("rel") == "alternate"]
            assert [link.get("href") for link in alternate] == [entry.findtext(f"{ATOM}id")]
            updated.append(aware(entry.findtext(f"{ATOM}updated")))
            checked += 1
        # The feed's updated is its newest entry's, never the time of publishing.
        assert aware(root.findtext(f"{ATOM}updated")) == max(updated, default=EMPTY_FEED_DATE)
    assert checked > 500


def test_rss_structure(site):
    checked = 0
    for path in sorted(p for p in site.files if p.endswith(".rss")):
        root = etree.fromstring(site.files[path])
        assert root.tag == "rss" and root.get("version") == "2.0"
        channel = root.find("channel")
        for name in ("title", "link", "description"):
            assert channel.findtext(name).strip(), (path, name)
        assert channel.findtext("link") == f"{BASE}index.html"
        self_link = channel.find(f"{ATOM}link")
        assert self_link.get("rel") == "self" and self_link.get("href") == f"{BASE}{path}"
        assert RFC822.match(channel.findtext("lastBuildDate"))
        items = channel.findall("item")
        for item in items:
            guid = item.find("guid")
            assert guid.get("isPermaLink") == "true" and guid.text == item.findtext("link")
            assert guid.text.startswith("https://")
            if "No publication date; first seen" in item.findtext("description"):  # issue 15: undated
                assert item.find("pubDate") is None
            else:
                assert RFC822.match(item.findtext("pubDate")), item.findtext("pubDate")
            assert item.findtext("title")
            checked += 1
        dates = [parsedate_to_datetime(item.findtext("pubDate")) for item in items if item.find("pubDate") is not None]
        if dates:
            assert parsedate_to_datetime(channel.findtext("lastBuildDate")) >= max(dates)
    assert checked > 500


def test_empty_feed_has_a_fixed_date(site, tmp_path):
    root = etree.fromstring(site.files["kinds/news.atom"])
    assert root.findall(f"{ATOM}entry")  # not empty: news were crawled
    db = open_archive(copy_archive(site.db_path, tmp_path / "empty.db"))
    db.execute("UPDATE items SET status = 'removed' WHERE kind = 'news'")
    files = render_site(db, load_topics(TOPICS), base_url=BASE)
    db.close()
    root = etree.fromstring(files["kinds/news.atom"])
    assert root.findall(f"{ATOM}entry") == []
    assert root.findtext(f"{ATOM}updated") == "2000-01-01T00:00:00+00:00"


def test_opml_lists_every_feed(site):
    titles = {path: feedparser.parse(data).feed.title for path, data in site.files.items() if path.endswith(".atom")}
    for name, fmt in (("feeds.opml", "atom"), ("feeds-rss.opml", "rss")):
        result = listparser.parse(site.files[name])
        assert not result.bozo, result.get("bozo_exception")
        found = {feed.url: feed.title for feed in result.feeds}
        assert found == {f"{BASE}{path[:-5]}.{fmt}": title for path, title in titles.items()}
    assert len(titles) == len(feed_paths(site))


def test_index_lists_every_feed_and_latest_items_per_topic(site, parsed):
    page = site.files["index.html"].decode()
    for path in feed_paths(site):
        assert f'href="{path}.atom"' in page and f'href="{path}.rss"' in page, path
    for topic in load_topics(TOPICS):
        entries = parsed[f"topics/{topic.id}.atom"].entries[:5]
        for entry in entries:
            assert f'<a href="{entry.link}">' in page
    assert 'href="feeds.opml"' in page
    assert "The Future of Family Remittances is Digital" in page


def test_publishing_again_changes_nothing(site):
    mtimes = {path: (site.public / path).stat().st_mtime_ns for path in site.files}
    report = publish_feeds(site.db_path, site.public, TOPICS, 50, base_url=BASE, sources_path=SOURCES)
    assert report.written == [] and report.removed == [] and report.reclassified is None
    assert len(report.unchanged) == len(site.files)
    assert read_tree(site.public) == site.files
    assert {path: (site.public / path).stat().st_mtime_ns for path in site.files} == mtimes
    assert report.lines()[-1].endswith("(everything was up to date)")


def test_a_fresh_publish_elsewhere_is_byte_identical(site, tmp_path):
    """Nothing depends on the clock or the output directory: ids and dates are stable."""
    publish_feeds(site.db_path, tmp_path / "public", TOPICS, 50, base_url=BASE, sources_path=SOURCES)
    assert read_tree(tmp_path / "public") == site.files


def test_new_item_rewrites_only_the_feeds_it_belongs_to(site, tmp_path):
    db_path = copy_archive(site.db_path, tmp_path / "archive.db")
    public = tmp_path / "public"
    shutil.copytree(site.public, public)
    db = open_archive(db_path)
    add_item(db, "https://moldova.iom.int/news/new-remittance-study", "New study of remittances to Moldova",
                source="moldova", country="MD", countries=["MD", "IT"], region="South-Eastern Europe",
                published="2023-01-10T09:00:00+02:00", summary="How families spend the money.")
    db.close()
    report = publish_feeds(db_path, public, TOPICS, 50, base_url=BASE, sources_path=SOURCES)
    feeds = {"all", "topics/remittances", "sources/moldova", "countries/md", "countries/it", "kinds/press_release"}
    # The OPML lists name the same feeds with the same titles and newest date: unchanged.
    assert report.written == sorted({f"{feed}.{fmt}" for feed in feeds for fmt in ("atom", "rss")}
                                    | {"index.html"})
    assert report.reclassified is None
    entry = feedparser.parse((public / "topics/remittances.atom").read_bytes()).entries[0]
    assert entry.title == "New study of remittances to Moldova"
    assert entry.summary == "How families spend the money."


def test_a_changed_topics_file_reclassifies_and_removes_old_feeds(site, tmp_path):
    db_path = copy_archive(site.db_path, tmp_path / "archive.db")
    public = tmp_path / "public"
    shutil.copytree(site.public, public)
    text = TOPICS.read_text(encoding="utf-8")
    start = text.index('[[topic]]\nid = "sdgs"')
    end = text.index("[[topic]]", start + 1)
    edited = tmp_path / "topics.toml"
    edited.write_text(text[:start] + text[end:], encoding="utf-8")
    report = publish_feeds(db_path, public, edited, 50, base_url=BASE, sources_path=SOURCES)
    assert report.reclassified is not None and "sdgs" not in report.reclassified
    assert report.removed == ["topics/sdgs.atom", "topics/sdgs.rss"]
    assert not (public / "topics/sdgs.atom").exists()
    assert "feeds.opml" in report.written and "index.html" in report.written
    # Items lost their sdgs category, so the feeds holding them changed too.
    assert "all.atom" in report.written
    db = open_archive(db_path)
    assert db.execute("SELECT count(*) FROM item_topics WHERE topic = 'sdgs'").fetchone() == (0,)
    db.close()


def test_limit_bounds_every_feed(site, tmp_path):
    public = tmp_path / "public"
    publish_feeds(site.db_path, public, TOPICS, 3, base_url=BASE, sources_path=SOURCES)
    full = feedparser.parse(site.files["all.atom"])
    small = feedparser.parse((public / "all.atom").read_bytes())
    assert [e.id for e in small.entries] == [e.id for e in full.entries[:3]]
    for path in public.rglob("*.rss"):
        assert len(feedparser.parse(path.read_bytes()).entries) <= 3


def test_hostile_text_gives_valid_feeds_and_an_escaped_index(site, tmp_path):
    db_path = copy_archive(site.db_path, tmp_path / "archive.db")
    db = open_archive(db_path)
    url = "https://www.iom.int/news/hostile?a=1&b=<2>"
    add_item(db, url, HOSTILE_TITLE, published="2030-01-01T00:00:00+00:00",
                summary="Remittances & <b>bold</b> ]]> \x01 <![CDATA[ x ]]> &amp; \ufffe end",
                body="<script>alert(2)</script>", author="Eve <eve@example.org>; \x07Mallory & Co")
    db.close()
    public = tmp_path / "public"
    publish_feeds(db_path, public, TOPICS, 50, base_url=BASE, sources_path=SOURCES)
    expected_title = "</title><script>alert(1)</script> ]]>"
    for path in ("all.atom", "all.rss", "topics/remittances.atom", "topics/remittances.rss",
                 "kinds/press_release.atom", "sources/iom-press.rss"):
        data = (public / path).read_bytes()
        tree = etree.fromstring(data)  # well-formed XML 1.0 (lxml is strict)
        result = feedparser.parse(data)
        assert not result.bozo, (path, result.get("bozo_exception"))
        entry = result.entries[0]
        assert entry.title == expected_title and entry.id == url and entry.link == url
        assert "remittances" in [tag.term for tag in entry.tags]
        if path.endswith(".atom"):
            names = tree.find(f"{ATOM}entry").findall(f"{ATOM}author/{ATOM}name")
        else:
            names = tree.find("channel/item").findall("{http://purl.org/dc/elements/1.1/}creator")
        assert [name.text for name in names] == ["Eve <eve@example.org>", "Mallory & Co"]
        if path.endswith(".atom"):
            assert entry.summary == "Remittances & <b>bold</b> ]]> <![CDATA[ x ]]> &amp; end"
    for name in ("feeds.opml", "feeds-rss.opml"):
        assert not listparser.parse((public / name).read_bytes()).bozo
    page = (public / "index.html").read_text(encoding="utf-8")
    assert "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; ]]&gt;" in page
    assert "<script>" not in page and "alert(1)</script>" not in page and "\x0b" not in page
    assert 'href="https://www.iom.int/news/hostile?a=1&amp;b=&lt;2&gt;"' in page


def test_non_http_links_are_not_linked_from_the_index(site, tmp_path):
    db_path = copy_archive(site.db_path, tmp_path / "archive.db")
    db = open_archive(db_path)
    add_item(db, "javascript:alert(1)", "Remittances by script", published="2030-01-01T00:00:00+00:00")
    db.close()
    public = tmp_path / "public"
    publish_feeds(db_path, public, TOPICS, 50, base_url=BASE)
    page = (public / "index.html").read_text(encoding="utf-8")
    assert "Remittances by script" in page and "javascript:" not in page
