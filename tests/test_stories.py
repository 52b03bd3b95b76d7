"""Stories (issue 8): near duplicates across sites, boilerplate, language versions, one feed entry per story.

Unit tests write items into an in-memory archive and run `StoryIndex.update` as
StoryPipeline does during a crawl; the crawl tests read the archive the sample
sites' crawl made (see tests/test_crawl_e2e.py for the exact partition).
"""

from __future__ import annotations

import itertools
import json
import sqlite3

import feedparser
import pytest
import sqlite_utils

from feeds.publish import publish_feeds
from pipelines import neardup
from pipelines.story_index import BOILERPLATE_MIN_ITEMS, StoryIndex, canonical_key, node_key, translation_refs
from pipelines.topics import write_transaction
from presswatch.archive.db import open_archive
from presswatch.archive.schema import MIGRATIONS, migrate
from presswatch.config.sources import load_sources
from presswatch.sample_sites.server import load_content
from tests.conftest import ROOT, SOURCES, file_response, presswatch
from tests.feed_helpers import copy_archive, insert_item

CONTENT = load_content()
ARTICLES = {f"https://{a['site']}{a['path']}": a for a in CONTENT["article"]}
BOILERPLATE = CONTENT["boilerplate"]["www.iom.int"]["closing"]
REPUBLISHED = next(a for a in CONTENT["article"] if a.get("republished_from"))
ORIGINAL = ARTICLES[REPUBLISHED["republished_from"]]
RANK = load_sources(SOURCES).rank
WWW = [a for a in CONTENT["article"] if a["site"] == "www.iom.int"]


def body(*paragraphs: str) -> str:
    return "\n\n".join(paragraphs)


def www_body(article: dict, paragraphs: int | None = None) -> str:
    return body(*article["body"][:paragraphs], *BOILERPLATE)


def add(db, url: str, text: str, *, source: str = "iom-press", published: str | None = "2021-11-16T15:20:00+01:00",
        language: str = "en", refs: list[tuple[str, str]] | None = None, rank=RANK, threshold=None) -> int:
    """Archive an item and put it into its story, as StorePipeline and StoryPipeline do."""
    item_id = insert_item(db, url, url.rsplit("/", 1)[-1], body=text, source=source, published=published,
                          language=language)
    index = StoryIndex(db, rank, threshold)
    with write_transaction(db):
        index.update(item_id, refs=refs if refs is not None else translation_refs(url, {}, None))
    return item_id


def stories(db) -> list[set[int]]:
    groups: dict[int, set[int]] = {}
    for item_id, story_id in db.execute("SELECT id, story_id FROM items"):
        groups.setdefault(story_id, set()).add(item_id)
    return sorted(groups.values(), key=min)


def story_rows(db) -> list[tuple]:
    return db.execute("SELECT id, canonical_item_id, members FROM stories ORDER BY id").fetchall()


def check_consistent(db) -> None:
    """Story ids are the smallest member id; stories rows match the items; links stay inside a story."""
    for members in stories(db):
        story_id = db.execute("SELECT story_id FROM items WHERE id = ?", [min(members)]).fetchone()[0]
        assert story_id == min(members)
        row = db.execute("SELECT canonical_item_id, members FROM stories WHERE id = ?", [story_id]).fetchone()
        assert row[1] == len(members) and row[0] in members
    assert db.execute("SELECT count(*) FROM stories").fetchone()[0] == len(stories(db))
    for first, second in db.execute("SELECT item_id, other_item_id FROM story_links"):
        same = db.execute("SELECT count(DISTINCT story_id) FROM items WHERE id IN (?, ?)", [first, second])
        assert same.fetchone()[0] == 1


def learn_boilerplate(db, count: int = BOILERPLATE_MIN_ITEMS) -> None:
    """Archive ``count`` unrelated www releases (their closing paragraphs become boilerplate)."""
    for article in WWW[-count:]:
        add(db, f"https://www.iom.int{article['path']}", www_body(article), published=article["date"].isoformat())


# --------------------------------------------------------------------------- near duplicates


def test_new_item_is_its_own_story(archive):
    item_id = insert_item(archive, "https://www.iom.int/news/a", "A")
    assert archive.execute("SELECT story_id FROM items WHERE id = ?", [item_id]).fetchone()[0] == item_id
    assert story_rows(archive) == [(item_id, item_id, 1)]


def test_republished_release_with_a_new_first_paragraph_is_one_story(archive):
    learn_boilerplate(archive)
    original = add(archive, REPUBLISHED["republished_from"], www_body(ORIGINAL), published=ORIGINAL["date"].isoformat())
    copy = add(archive, f"https://eca.iom.int{REPUBLISHED['path']}", body(*REPUBLISHED["body"]), source="eca-news",
               published=REPUBLISHED["date"].isoformat())
    assert {original, copy} in stories(archive)
    story_id = archive.execute("SELECT story_id FROM items WHERE id = ?", [copy]).fetchone()[0]
    assert archive.execute("SELECT canonical_item_id, members FROM stories WHERE id = ?",
                           [story_id]).fetchone() == (original, 2)
    (kind, similarity), = archive.execute("SELECT kind, similarity FROM story_links").fetchall()
    assert kind == "near_duplicate" and similarity >= neardup.THRESHOLD
    check_consistent(archive)


@pytest.mark.parametrize("copy_first", [False, True])
def test_canonical_is_the_earliest_whatever_arrives_first(archive, copy_first):
    items = [(REPUBLISHED["republished_from"], www_body(ORIGINAL), "iom-press", ORIGINAL["date"].isoformat()),
             (f"https://eca.iom.int{REPUBLISHED['path']}", body(*REPUBLISHED["body"]), "eca-news",
              REPUBLISHED["date"].isoformat())]
    ids = {}
    for url, text, source, published in (items[::-1] if copy_first else items):
        ids[url] = add(archive, url, text, source=source, published=published)
    story_id = min(ids.values())
    assert archive.execute("SELECT canonical_item_id FROM stories WHERE id = ?", [story_id]).fetchone()[0] == \
        ids[REPUBLISHED["republished_from"]]


def test_different_releases_sharing_the_boilerplate_stay_apart(archive):
    # Short releases (one paragraph each) ending with the same two closing paragraphs:
    # without the boilerplate rule the closing paragraphs make them look alike.
    first, second = WWW[0], WWW[1]
    with_boilerplate = [neardup.fingerprint(www_body(article, 1)) for article in (first, second)]
    similarity = neardup.similarity(*(neardup.from_blob(f.signature) for f in with_boilerplate))
    assert similarity >= neardup.THRESHOLD, "the test needs releases the boilerplate alone would merge"
    learn_boilerplate(archive)
    ids = [add(archive, f"https://www.iom.int{article['path']}", www_body(article, 1),
               published=article["date"].isoformat()) for article in (first, second)]
    assert [{ids[0]}, {ids[1]}] == [group for group in stories(archive) if group & set(ids)]
    assert archive.execute("SELECT count(*) FROM story_links").fetchone()[0] == 0


def test_boilerplate_learnt_later_separates_items_linked_before(archive):
    # The first two short releases of a source arrive before their closing paragraphs are
    # known to be boilerplate, and look alike; the third makes the paragraphs boilerplate,
    # and the first two are fingerprinted again: every release is its own story.
    ids = [add(archive, f"https://www.iom.int{article['path']}", www_body(article, 1),
               published=article["date"].isoformat()) for article in WWW[:2]]
    assert {ids[0], ids[1]} in stories(archive), "linked while the boilerplate is unknown"
    ids.append(add(archive, f"https://www.iom.int{WWW[2]['path']}", www_body(WWW[2], 1)))
    assert stories(archive) == [{item_id} for item_id in ids]
    counts = archive.execute("SELECT items, item_ids FROM source_paragraphs WHERE source = 'iom-press' "
                             "AND items >= ?", [BOILERPLATE_MIN_ITEMS]).fetchall()
    assert counts == [(3, None), (3, None)]
    check_consistent(archive)


def test_same_result_in_any_order_and_after_a_rebuild():
    articles = [(f"https://www.iom.int{a['path']}", www_body(a, 1), "iom-press", a["date"].isoformat())
                for a in WWW[:4]]
    articles += [(REPUBLISHED["republished_from"], www_body(ORIGINAL), "iom-press", ORIGINAL["date"].isoformat()),
                 (f"https://eca.iom.int{REPUBLISHED['path']}", body(*REPUBLISHED["body"]), "eca-news",
                  REPUBLISHED["date"].isoformat())]
    results = set()
    for order in (articles, articles[::-1], articles[2:] + articles[:2]):
        db = open_archive(":memory:")
        for url, text, source, published in order:
            add(db, url, text, source=source, published=published)
        check_consistent(db)
        by_url = {url: story for url, story in db.execute(
            "SELECT i.url, c.url FROM items i JOIN stories s ON s.id = i.story_id "
            "JOIN items c ON c.id = s.canonical_item_id")}
        results.add(frozenset(by_url.items()))
        links = db.execute("SELECT a.url, b.url FROM story_links l JOIN items a ON a.id = l.item_id "
                           "JOIN items b ON b.id = l.other_item_id").fetchall()
        StoryIndex(db, RANK).rebuild()
        check_consistent(db)
        assert db.execute("SELECT a.url, b.url FROM story_links l JOIN items a ON a.id = l.item_id "
                          "JOIN items b ON b.id = l.other_item_id").fetchall() == links
        db.close()
    assert len(results) == 1
    (mapping,) = results
    assert dict(mapping)[f"https://eca.iom.int{REPUBLISHED['path']}"] == REPUBLISHED["republished_from"]


def test_an_item_similar_to_two_stories_merges_them_and_an_edit_splits_them(archive):
    paragraphs = ORIGINAL["body"] + WWW[8]["body"]  # two unrelated releases
    first = add(archive, "https://a.example/1", body(*paragraphs[0:3]), source="moldova")
    third = add(archive, "https://c.example/3", body(*paragraphs[4:7]), source="ukraine")
    assert stories(archive) == [{first}, {third}]
    # The bridge is half the one, half the other (estimated similarity 0.5 to each).
    bridge = add(archive, "https://b.example/2", body(*paragraphs[0:3], *paragraphs[4:7]), source="armenia")
    assert stories(archive) == [{first, bridge, third}]
    check_consistent(archive)
    # The bridge's text changes to something else: the story falls apart again.
    archive.execute("UPDATE items SET body = ? WHERE id = ?", [www_body(WWW[9]), bridge])
    with write_transaction(archive):
        StoryIndex(archive, RANK).update(bridge)
    assert stories(archive) == [{first}, {third}, {bridge}]
    check_consistent(archive)


def test_short_texts_get_no_signature(archive):
    item_id = add(archive, "https://www.iom.int/news/short", "IOM welcomes the decision.")
    assert archive.execute("SELECT signature, words FROM item_signatures WHERE item_id = ?",
                           [item_id]).fetchone() == (None, 4)
    assert archive.execute("SELECT count(*) FROM lsh_bands WHERE item_id = ?", [item_id]).fetchone()[0] == 0


def test_threshold_is_the_archives(archive):
    index = StoryIndex(archive)
    assert index.threshold == neardup.THRESHOLD
    archive.execute("INSERT INTO state (key, value) VALUES ('stories_threshold', '0.7')")
    assert StoryIndex(archive).threshold == 0.7


# --------------------------------------------------------------------------- language versions


def test_translations_linked_whichever_declares_the_other(archive):
    en, ro, uk = "https://moldova.iom.int/news/x", "https://moldova.iom.int/ro/news/y", "https://moldova.iom.int/uk/news/z"
    # ro arrives first and declares en; en arrives and declares nothing; uk declares ro.
    ro_id = add(archive, ro, "Un text.", language="ro", refs=translation_refs(ro, {"en": en, "ro": ro}, None))
    en_id = add(archive, en, "A text.", refs=translation_refs(en, {}, None))
    uk_id = add(archive, uk, "Текст.", language="uk", refs=translation_refs(uk, {"ro": ro}, None))
    assert stories(archive) == [{ro_id, en_id, uk_id}]
    links = archive.execute("SELECT item_id, other_item_id, kind, via FROM story_links ORDER BY 1, 2").fetchall()
    assert links == [(ro_id, en_id, "translation", "hreflang"), (ro_id, uk_id, "translation", "hreflang")]
    # The canonical item: same day, same source: the shorter path (no language prefix).
    assert archive.execute("SELECT canonical_item_id FROM stories").fetchone()[0] == en_id


def test_translations_linked_by_a_shared_node_id(archive):
    en = add(archive, "https://armenia.iom.int/news/x", "A text.", source="armenia",
             refs=translation_refs("https://armenia.iom.int/news/x", {}, "https://armenia.iom.int/node/52074"))
    hy = add(archive, "https://armenia.iom.int/hy/news/y", "Տեքստ.", source="armenia", language="hy",
             refs=translation_refs("https://armenia.iom.int/hy/news/y", {}, "https://armenia.iom.int/hy/node/52074"))
    other = add(archive, "https://ukraine.iom.int/uk/news/z", "Текст.", source="ukraine", language="uk",
                refs=translation_refs("https://ukraine.iom.int/uk/news/z", {}, "https://ukraine.iom.int/uk/node/52074"))
    assert stories(archive) == [{en, hy}, {other}]
    assert archive.execute("SELECT via FROM story_links").fetchall() == [("node",)]


def test_same_language_is_not_a_translation(archive):
    first = add(archive, "https://www.iom.int/news/a", "A text.", refs=[("https://www.iom.int/news/b", "hreflang")])
    second = add(archive, "https://www.iom.int/news/b", "Another text.")
    assert stories(archive) == [{first}, {second}]


def test_node_keys_and_refs():
    assert node_key("https://moldova.iom.int/ro/node/25956") == "moldova.iom.int/node/25956"
    assert node_key("https://Moldova.iom.int/node/25956/") == "moldova.iom.int/node/25956"
    assert node_key("https://www.iom.int/news/node-123") is None
    assert node_key(None) is None
    url = "https://moldova.iom.int/news/x"
    assert translation_refs(url, {"en": url, "ro": "https://moldova.iom.int/ro/news/y?utm_source=a"},
                            "https://moldova.iom.int/node/7") == [
        ("https://moldova.iom.int/ro/news/y", "hreflang"), ("moldova.iom.int/node/7", "node")]


def test_canonical_key_order():
    rows = [
        {"url": "https://eca.iom.int/news/b", "source": "eca-news", "published": "2021-11-16T08:00:00+01:00"},
        {"url": "https://www.iom.int/news/a", "source": "iom-press", "published": "2021-11-16T15:20:00+01:00"},
        {"url": "https://www.iom.int/news/c", "source": "iom-press", "published": "2021-11-17T09:00:00+01:00"},
        {"url": "https://www.iom.int/news/d", "source": "iom-press", "published": None},
        {"url": "https://www.iom.int/news/e", "source": "iom-press", "published": "2020-01-01T00:00:00Z",
         "status": "removed"},
    ]
    ordered = sorted(rows, key=lambda row: canonical_key(row, RANK))
    assert [row["url"][-1] for row in ordered] == ["a", "b", "c", "d", "e"]


# --------------------------------------------------------------------------- schema


def test_migration_makes_every_archived_item_its_own_story():
    db = sqlite_utils.Database(memory=True)
    for migration in MIGRATIONS[:5]:
        migration(db)
    db.execute("PRAGMA user_version = 5")
    base = {"kind": "news", "title": "t", "first_seen": "x", "fetched": "x", "source": "s"}
    for number in range(3):
        db["items"].insert({**base, "uid": f"u{number}", "url": f"https://x/{number}"})
    migrate(db)
    assert db.execute("SELECT id, story_id FROM items").fetchall() == [(1, 1), (2, 2), (3, 3)]
    assert db.execute("SELECT id, canonical_item_id, members FROM stories").fetchall() == [(1, 1, 1), (2, 2, 1),
                                                                                            (3, 3, 1)]
    index = StoryIndex(db)
    assert index.unindexed(10) == [3, 2, 1]
    assert index.catch_up(2) == (2, True) and index.catch_up(2) == (1, False)
    assert index.unindexed(10) == []


def test_deleting_an_item_keeps_the_story_counts(archive):
    first = add(archive, REPUBLISHED["republished_from"], www_body(ORIGINAL))
    copy = add(archive, f"https://eca.iom.int{REPUBLISHED['path']}", body(*REPUBLISHED["body"]), source="eca-news")
    alone = add(archive, "https://www.iom.int/news/alone", "Alone.")
    archive.execute("DELETE FROM items WHERE id IN (?, ?)", [copy, alone])
    assert story_rows(archive) == [(first, first, 1)]
    assert archive.execute("SELECT count(*) FROM story_links").fetchone()[0] == 0


def test_extraction_keeps_the_shortlink():
    from pipelines.extract import extract_fields

    url = "https://moldova.iom.int/ro/news/lansarea-profilului-de-date-privind-migratia-al-republicii-moldova"
    html = file_response("moldova-ro.html", url).text
    fields = extract_fields(html, url)
    assert fields.shortlink == "https://moldova.iom.int/node/97074"
    assert node_key(fields.shortlink) == "moldova.iom.int/node/97074"
    no_link = html.replace('<link rel="shortlink" href="https://moldova.iom.int/node/97074">', "")
    assert extract_fields(no_link, url).shortlink == "https://moldova.iom.int/node/97074"  # data-history-node-id


# --------------------------------------------------------------------------- the crawled sample sites


@pytest.fixture(scope="module")
def crawled_db(crawled):
    db = sqlite_utils.Database(crawled.db_path)
    yield db
    db.close()


def item_id(db, url: str) -> int:
    return db.execute("SELECT id FROM items WHERE url = ?", [url]).fetchone()[0]


def story_urls(db, url: str) -> set[str]:
    return {row[0] for row in db.execute(
        "SELECT url FROM items WHERE story_id = (SELECT story_id FROM items WHERE url = ?)", [url])}


def test_crawl_republished_release_is_one_story_with_both_urls(crawled_db):
    copy = f"https://eca.iom.int{REPUBLISHED['path']}"
    assert story_urls(crawled_db, copy) == {copy, REPUBLISHED["republished_from"]}
    story = crawled_db.execute("SELECT s.members, c.url FROM stories s JOIN items c ON c.id = s.canonical_item_id "
                               "WHERE s.id = (SELECT story_id FROM items WHERE url = ?)", [copy]).fetchone()
    assert story == (2, REPUBLISHED["republished_from"])


def test_crawl_www_releases_sharing_the_boilerplate_stay_apart(crawled_db):
    urls = [f"https://www.iom.int{a['path']}" for a in WWW]
    story_ids = {url: crawled_db.execute("SELECT story_id FROM items WHERE url = ?", [url]).fetchone()[0]
                 for url in urls}
    for first, second in itertools.combinations(urls, 2):
        assert story_ids[first] != story_ids[second], (first, second)
    # Both closing paragraphs were recognised as the source's boilerplate.
    hashes = [neardup.paragraph_hash(neardup.words(paragraph)) for paragraph in BOILERPLATE]
    for digest in hashes:
        items = crawled_db.execute("SELECT items FROM source_paragraphs WHERE source = 'iom-press' AND hash = ?",
                                   [digest]).fetchone()[0]
        assert items == 30


def test_crawl_translations_linked(crawled_db):
    moldova = "https://moldova.iom.int/news/launch-moldova-migration-data-profile"
    romanian = "https://moldova.iom.int/ro/news/lansarea-profilului-de-date-privind-migratia-al-republicii-moldova"
    assert story_urls(crawled_db, moldova) == {moldova, romanian}
    armenia = "https://armenia.iom.int/news/armenia-marks-world-day-against-trafficking-persons-survivor-led-campaign"
    armenian = "https://armenia.iom.int/hy/news/hayastany-nshec-trafikingi-dem-payqari-hamashkharhayin-ory"
    assert story_urls(crawled_db, armenia) == {armenia, armenian}
    via = crawled_db.execute("SELECT via FROM story_links WHERE item_id = ? AND other_item_id = ?",
                             sorted([item_id(crawled_db, armenia), item_id(crawled_db, armenian)])).fetchone()
    assert via == ("node",)  # the Armenian pair declares no hreflang: the node id links them
    micenter = {f"https://micenter.lt{path}" for path in ("/en/about-the-organization", "/lt/apie-organizacija",
                                                          "/ru/ob-organizacii")}
    assert story_urls(crawled_db, "https://micenter.lt/en/about-the-organization") == micenter


@pytest.fixture(scope="module")
def published(crawled, tmp_path_factory):
    folder = tmp_path_factory.mktemp("story-feeds")
    db_path = copy_archive(crawled.db_path, folder / "archive.db")
    publish_feeds(db_path, folder / "public", ROOT / "topics.toml", 50, base_url="http://feeds.test/",
                  sources_path=SOURCES)
    return db_path, folder / "public"


def test_every_feed_carries_one_entry_per_story(published):
    db_path, public = published
    db = open_archive(db_path, readonly=True)
    story_of = dict(db.execute("SELECT url, story_id FROM items").fetchall())
    canonical = {row[0] for row in db.execute(
        "SELECT c.url FROM stories s JOIN items c ON c.id = s.canonical_item_id")}
    db.close()
    feeds = sorted(public.rglob("*.atom"))
    assert len(feeds) > 50
    for path in feeds:
        if path.name == "health.atom":
            continue
        ids = [entry.id for entry in feedparser.parse(path.read_bytes()).entries]
        assert len({story_of[entry_id] for entry_id in ids}) == len(ids), path
        assert set(ids) <= canonical, path
    everything = feedparser.parse((public / "all.atom").read_bytes())
    assert len(everything.entries) == 50


def test_story_entries_say_where_else_they_were_published(published):
    _db_path, public = published
    copy = f"https://eca.iom.int{REPUBLISHED['path']}"
    # The regional source's feed shows the story's canonical entry, with the regional page as another address.
    eca = feedparser.parse((public / "sources/eca-news.atom").read_bytes())
    entry = next(entry for entry in eca.entries if entry.id == REPUBLISHED["republished_from"])
    assert entry.title == ORIGINAL["title"]
    assert f"Also published at: eca.iom.int (en) {copy}" in entry.summary
    assert [link.href for link in entry.links if link.rel == "related"] == [copy]
    assert entry.updated.startswith(REPUBLISHED["date"].date().isoformat())
    rss = feedparser.parse((public / "sources/eca-news.rss").read_bytes())
    item = next(item for item in rss.entries if item.id == REPUBLISHED["republished_from"])
    assert f'href="{copy}"' in item.description
    # Language versions: one entry in the Moldova feed per release, pointing to the Romanian page.
    moldova = feedparser.parse((public / "sources/moldova.atom").read_bytes())
    assert len(moldova.entries) == 2
    for entry in moldova.entries:
        related = [link for link in entry.links if link.rel == "related"]
        assert len(related) == 1 and related[0].hreflang == "ro" and "/ro/news/" in related[0].href
    # An exact copy (the rovienna re-post) is listed too.
    report = next(entry for entry in feedparser.parse((public / "all.atom").read_bytes()).entries
                  if entry.id == "https://www.iom.int/news/world-migration-report-2022-launched")
    assert "rovienna.iom.int (en) https://rovienna.iom.int/press/world-migration-report-2022-launched" in report.summary


def test_show_lists_the_story_members(crawled):
    copy = f"https://eca.iom.int{REPUBLISHED['path']}"
    result = presswatch("show", copy, "--db", str(crawled.db_path), "--no-body")
    assert result.returncode == 0, result.stderr
    assert "Story " in result.stdout and "(2 items)" in result.stdout
    assert "canonical" in result.stdout and "near duplicate of" in result.stdout
    assert REPUBLISHED["republished_from"] in result.stdout
    details = json.loads(presswatch("show", copy, "--db", str(crawled.db_path), "--json", "--no-body").stdout)
    members = {member["url"]: member for member in details["story"]["members"]}
    assert set(members) == {copy, REPUBLISHED["republished_from"]}
    assert members[REPUBLISHED["republished_from"]]["canonical"]
    assert members[copy]["links"][0]["kind"] == "near_duplicate"


def test_stories_command(archive_copy):
    result = presswatch("stories", "--db", str(archive_copy), "--list")
    assert result.returncode == 0, result.stderr
    assert "stories of several items" in result.stdout and ORIGINAL["title"][:40] in result.stdout
    before = sqlite3.connect(archive_copy).execute(
        "SELECT item_id, other_item_id, kind FROM story_links ORDER BY 1, 2").fetchall()
    rebuilt = presswatch("stories", "--db", str(archive_copy), "--rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    after = sqlite3.connect(archive_copy).execute(
        "SELECT item_id, other_item_id, kind FROM story_links ORDER BY 1, 2").fetchall()
    assert after == before
