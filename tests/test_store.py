"""Deduplication and storage on an in-memory archive: outcomes, copies, and order independence."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from pipelines.dedupe import identify
from pipelines.items import Article
from pipelines.normalize.urls import canonical_url
from pipelines.store import store_article
from presswatch.archive.db import open_archive
from presswatch.config.sources import load_sources
from tests.conftest import SOURCES

SOURCE_LIST = load_sources(SOURCES)
FETCHED = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
BODY = "Geneva – IOM today launched its flagship World Migration Report 2022.\n\nSecond paragraph."


def article(url: str, source: str = "iom-press", *, title: str = "World Migration Report 2022 launched",
            body: str = BODY, published: datetime | None = datetime(2021, 12, 1, 10, 30, tzinfo=timezone(timedelta(hours=1)))) -> Article:
    item = Article(source=source, url=url, title=title, body=body, fetched=FETCHED, summary=body[:40],
                   published=published, date_source="metadata", language="en", countries=["CH"])
    item.canonical_url = canonical_url(url)
    return identify(item)


def store(db, item: Article) -> str:
    outcome, _item_id = store_article(db, item, SOURCE_LIST.get(item.source), SOURCE_LIST.rank)
    return outcome


ORIGINAL = "https://www.iom.int/news/world-migration-report-2022-launched"
REPOST = "https://rovienna.iom.int/press/world-migration-report-2022-launched"


def test_new_then_unchanged_then_updated(archive):
    assert store(archive, article(ORIGINAL)) == "new"
    assert store(archive, article(ORIGINAL)) == "unchanged"
    row = archive.execute("SELECT updated FROM items").fetchone()
    assert row == (None,)
    assert store(archive, article(ORIGINAL, title="World Migration Report 2022 is out")) == "updated"
    (title, updated, count) = archive.execute("SELECT title, updated, (SELECT COUNT(*) FROM items) FROM items").fetchone()
    assert (title, count) == ("World Migration Report 2022 is out", 1)
    assert updated is not None
    # The full-text index follows the update.
    assert [row["title"] for row in archive["items"].search("out")] == ["World Migration Report 2022 is out"]


def test_stored_row_fields(archive):
    store(archive, article(ORIGINAL + "?utm_source=newsletter#top"))
    row = next(archive.query("SELECT * FROM items"))
    assert row["url"] == ORIGINAL
    assert row["uid"] == article(ORIGINAL).uid and len(row["uid"]) == 16
    assert row["published"] == "2021-12-01T10:30:00+01:00"
    assert row["published_utc"] == "2021-12-01T09:30:00Z"
    assert row["fetched"] == "2026-11-22T08:00:00Z"
    assert row["kind"] == "press_release" and row["region"] == "global" and row["country"] is None
    assert json.loads(row["countries"]) == ["CH"]


def test_same_page_by_another_address_is_a_recorded_duplicate(archive):
    assert store(archive, article(ORIGINAL)) == "new"
    assert store(archive, article(ORIGINAL + "?utm_source=newsletter")) == "duplicate"
    assert store(archive, article(ORIGINAL + "?utm_source=newsletter")) == "unchanged"
    rows = list(archive.query("SELECT url, reason, times_seen FROM duplicates"))
    assert rows == [{"url": ORIGINAL + "?utm_source=newsletter", "reason": "same_url", "times_seen": 2}]


@pytest.mark.parametrize("order", list(itertools.permutations(["original", "repost", "late-repost"])))
def test_the_original_wins_whatever_the_arrival_order(order):
    db = open_archive(":memory:")
    copies = {
        # Same day, the copy states no time: the source listed first in sources.toml wins.
        "original": article(ORIGINAL),
        "repost": article(REPOST, "rovienna-press", published=datetime(2021, 12, 1, tzinfo=timezone(timedelta(hours=1)))),
        # A later copy on a source listed earlier still loses to the earlier day.
        "late-repost": article("https://www.iom.int/news/wmr-2022-republished",
                               published=datetime(2021, 12, 3, 9, 0, tzinfo=UTC)),
    }
    outcomes = [store(db, copies[name]) for name in order]
    assert outcomes[0] == "new" and outcomes[1:] == ["duplicate", "duplicate"]
    (item_url, source, published) = db.execute("SELECT url, source, published FROM items").fetchone()
    assert (item_url, source, published) == (ORIGINAL, "iom-press", "2021-12-01T10:30:00+01:00")
    assert sorted(row[0] for row in db.execute("SELECT url FROM duplicates")) == [
        "https://rovienna.iom.int/press/world-migration-report-2022-launched",
        "https://www.iom.int/news/wmr-2022-republished",
    ]
    assert db.execute("SELECT COUNT(*) FROM items_fts").fetchone()[0] == 1
    # Fetching everything again changes nothing.
    assert [store(db, copies[name]) for name in order] == ["unchanged"] * 3


def test_copies_differing_only_in_whitespace_and_quotes_are_one_item(archive):
    assert store(archive, article(ORIGINAL)) == "new"
    respaced = BODY.replace("–", "-").replace(" ", "  ").upper()
    assert store(archive, article(REPOST, "rovienna-press", body=respaced)) == "duplicate"
    assert archive["items"].count == 1


def test_different_texts_are_different_items(archive):
    assert store(archive, article(ORIGINAL)) == "new"
    assert store(archive, article(REPOST, "rovienna-press", body=BODY + "\n\nAn extra paragraph.")) == "new"
    assert archive["items"].count == 2 and archive["duplicates"].count == 0


def test_empty_bodies_are_never_duplicates_of_each_other(archive):
    assert store(archive, article(ORIGINAL, body="")) == "new"
    assert store(archive, article(REPOST, "rovienna-press", title="Another", body="")) == "new"
    assert archive["items"].count == 2
