"""Issue 16: the index page has a table of contents, a filter box, countries by English short
name, and says its counts are entries (stories), not items.

The filter box's script is not run here (no headless browser in this environment)."""

from __future__ import annotations

import lxml.html

from feeds.publish import publish_feeds
from presswatch.text import fold
from tests.conftest import ROOT, SOURCES


def test_the_index_page_is_navigable(archive_copy, tmp_path):
    public = tmp_path / "public"
    publish_feeds(archive_copy, public, ROOT / "topics.toml", 50, base_url="http://127.0.0.1:8000/",
                  sources_path=SOURCES)
    page = lxml.html.fromstring((public / "index.html").read_bytes())
    ids = set(page.xpath("//@id"))
    toc = page.xpath("//nav[@class='toc']/a")
    assert [a.text.split(" (")[0] for a in toc] == ["Build a feed", "Topics", "Sources", "Countries", "Kinds of item"]
    assert all(a.get("href")[1:] in ids for a in toc)
    countries = [row.xpath("string(td[1])") for row in page.xpath("//h2[@id='countries']/following-sibling::table[1]/tr")]
    assert len(countries) > 10 and countries == sorted(countries, key=fold)
    assert "Russia" in countries and "Moldova" in countries and not [c for c in countries if c.startswith("IOM")]
    assert "Russian Federation" not in countries
    labels = page.xpath("//td[@class='meta']/text()")
    assert labels and all(label.endswith(("entry", "entries")) for label in labels)
    assert page.xpath("//input[@id='filter']") and page.xpath("//script[@type='module']")
    assert len(page.xpath("//*[contains(@class, 'filterable')]")) == len(labels) + len(page.xpath("//div[contains(@class, 'feed filterable')]"))
