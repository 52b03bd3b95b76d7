"""`presswatch browse`: a real Datasette server on 127.0.0.1, queried through its JSON API."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from presswatch.archive.db import open_archive
from presswatch.datasette_metadata import QUERIES, TABLES, metadata
from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(base: str, path: str, **params: str) -> dict:
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def served(crawled, tmp_path_factory):
    """`presswatch browse --no-open` on a copy of the crawled archive with known topics."""
    path = tmp_path_factory.mktemp("browse") / "presswatch.db"
    source = open_archive(crawled.db_path)
    source.execute("VACUUM INTO ?", [str(path)])
    source.close()
    db = open_archive(path)
    with db.atomic():
        db.execute("DELETE FROM item_topics")
        db.execute("INSERT INTO item_topics (topic, item_id) SELECT 'remittances', rowid FROM items_fts "
                   "WHERE items_fts MATCH 'remitt*'")
        db.execute("INSERT INTO item_topics (topic, item_id) SELECT 'counter-trafficking', rowid FROM items_fts "
                   "WHERE items_fts MATCH 'traffick*'")
    db.close()
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "presswatch", "browse", "--no-open", "--port", str(port), "--db", str(path)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            get_json(base, "/-/versions.json")
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"datasette did not start: {process.communicate()[0][-3000:]}")
            time.sleep(0.2)
    yield base, path
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def test_full_text_search_of_items(served):
    base, path = served
    found = get_json(base, "/presswatch/items.json", _search='"family remittances"', _shape="objects",
                     _col="title")
    assert sorted(row["title"] for row in found["rows"]) == [
        "Family Remittances and an Equitable Recovery: What the Financial Sector Can Do",
        "Remittances Prove Resilient in 2020, but Millions of Families Remain at Risk",
        "The Future of Family Remittances is Digital",
    ]
    # FTS5 syntax (searchmode raw): prefixes and operators.
    prefixed = get_json(base, "/presswatch/items.json", _search="traffick* NOT ukraine", _shape="objects")
    db = open_archive(path, readonly=True)
    expected = {row[0] for row in db.execute(
        "SELECT rowid FROM items_fts WHERE items_fts MATCH 'traffick* NOT ukraine'")}
    assert {row["id"] for row in prefixed["rows"]} == expected and len(expected) == 6


def test_facets_from_the_metadata(served):
    base, path = served
    found = get_json(base, "/presswatch/items.json", _search="remittances", _size="0")
    facets = found["facet_results"]
    assert {"source", "kind", "country", "countries", "language", "topic"} <= set(facets)
    db = open_archive(path, readonly=True)
    expected = dict(db.execute(
        "SELECT source, count(*) FROM items WHERE id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH "
        "'remittances') GROUP BY source").fetchall())
    assert {value["value"]: value["count"] for value in facets["source"]["results"]} == expected
    topics = {value["value"]: value["count"] for value in facets["topic"]["results"]}
    assert topics == {"remittances": 11}
    # A topic's toggle URL filters the items to it.
    toggle = next(value["toggle_url"] for value in facets["topic"]["results"])
    with urllib.request.urlopen(toggle.replace(".json", ".json", 1), timeout=30) as response:
        filtered = json.load(response)
    assert filtered["filtered_table_rows_count"] == 11


def test_canned_queries_and_descriptions(served):
    base, path = served
    undated = get_json(base, "/presswatch/items_without_a_date.json", _shape="array")
    db = open_archive(path, readonly=True)
    assert len(undated) == db.execute("SELECT count(*) FROM items WHERE published_utc IS NULL").fetchone()[0]
    latest = get_json(base, "/presswatch/latest_by_topic.json", topic="counter-trafficking", _shape="array")
    dates = [row["published"] for row in latest]
    assert len(latest) == 9 and dates[-1] is None  # an undated page: last
    assert dates[:-1] == sorted(dates[:-1], reverse=True)
    ukraine = get_json(base, "/presswatch/country_this_month.json", country="ua", month="2022-03", _shape="array")
    assert {row["title"] for row in ukraine} == {
        "Ukraine: IOM Scales Up Assistance as Millions Flee Their Homes",
        "IOM Supports People Fleeing Ukraine as They Arrive in the Republic of Moldova",
    }
    served_metadata = get_json(base, "/-/metadata.json")
    assert served_metadata["databases"]["presswatch"]["tables"]["items"]["fts_table"] == "items_fts"


def test_read_only(served):
    base, _path = served
    request = urllib.request.Request(base + "/presswatch.json?sql=" + urllib.parse.quote("delete from items"))
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=30)


def test_metadata_describes_every_items_column():
    db = open_archive(":memory:")
    items = metadata("archive")["databases"]["archive"]["tables"]["items"]
    assert set(items["columns"]) == {column.name for column in db["items"].columns}
    assert set(TABLES) - {"items_fts"} <= set(db.table_names())
    assert set(QUERIES) == {"latest_by_topic", "country_this_month", "items_without_a_date"}
