"""The README's first command: `presswatch demo` serves, crawls, publishes and says where to subscribe."""

from __future__ import annotations

import feedparser
import listparser

from tests.conftest import presswatch


def test_demo_archives_publishes_and_tells_where_to_subscribe(tmp_path):
    db_path, public = tmp_path / "presswatch.db", tmp_path / "public"
    result = presswatch("demo", "--db", str(db_path), "--public", str(public))
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "10 source(s): 113 pages fetched, 81 new, 0 updated, 2 duplicate copies recorded; 81 items" in out
    assert "iom-press: http_error: https://www.iom.int/news/statement-on-border-closures-withdrawn (HTTP 404)" in out
    assert "import http://127.0.0.1:8000/feeds.opml" in out
    opml = listparser.parse((public / "feeds.opml").read_bytes())
    assert not opml.bozo and len(opml.feeds) > 30
    everything = feedparser.parse((public / "all.atom").read_bytes())
    assert not everything.bozo and len(everything.entries) == 50
    remittances = feedparser.parse((public / "topics" / "remittances.atom").read_bytes())
    assert "The Future of Family Remittances is Digital" in [entry.title for entry in remittances.entries]
