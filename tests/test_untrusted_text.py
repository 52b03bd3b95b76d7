"""Text the sites choose, and queries users type, that must not come out wrong (issue 21, point 8)."""

from __future__ import annotations

import feedparser
from click.testing import CliRunner

from feeds.build import Elsewhere, FeedSpec, entry_from_row, render_atom, render_rss
from pipelines.normalize.text import clean_text, clean_title
from presswatch.cli.main import main
from presswatch.http import escape_brackets

LISTING = "https://www.iom.int/search?type[0]=press_release&type[1]=blog_list&page=0"


def test_bidirectional_overrides_are_removed_from_titles_and_text():
    # U+202E turns "txt.exe" around in a reader; embeddings and isolates go too, marks stay.
    assert clean_title("Invoice \u202eexe.txt\u202c for migrants") == "Invoice exe.txt for migrants"
    assert clean_title("\u2067مرحبا\u2069 IOM") == "مرحبا IOM"
    assert clean_text("Returns\u200f to Libya\u202d resume") == "Returns\u200f to Libya resume"


def test_brackets_are_escaped_after_the_host_only():
    assert escape_brackets(LISTING) == (
        "https://www.iom.int/search?type%5B0%5D=press_release&type%5B1%5D=blog_list&page=0")
    assert escape_brackets("http://[::1]:8000/a[b]") == "http://[::1]:8000/a%5Bb%5D"
    assert escape_brackets("https://www.iom.int/news/x") == "https://www.iom.int/news/x"


def test_feed_links_and_ids_carry_no_raw_brackets():
    row = {"url": LISTING, "title": "A listing page", "summary": "Teasers.", "source": "iom-press",
           "kind": "page", "first_seen": "2024-01-02T03:04:05Z", "published": "2024-01-02T10:00:00+01:00",
           "language": "en"}
    also = (Elsewhere("https://www.iom.int/fr/search?type[0]=x", "fr"),)
    entry = entry_from_row(row, also=also)
    spec = FeedSpec("all", "all", "all", "Everything", "All items")
    for document in (render_atom(spec, [entry], "http://127.0.0.1:8000/"),
                     render_rss(spec, [entry], "http://127.0.0.1:8000/")):
        assert b"[" not in document.split(b"<item>")[-1].split(b"<entry>")[-1].replace(b"<![CDATA[", b"")
        parsed = feedparser.parse(document)
        assert parsed.entries[0].link == escape_brackets(LISTING)
        assert parsed.entries[0].id == escape_brackets(LISTING)


def test_an_unknown_column_filter_is_an_error_not_no_results(crawled):
    result = CliRunner().invoke(main, ["search", "author:smith", "--db", str(crawled.db_path)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: search: unknown column 'author' in 'author:smith' (query 'author:smith'): "
        "filter on title:, summary: or body:"]
    # A URL is text, and the known columns still filter.
    url = CliRunner().invoke(main, ["search", "https://www.iom.int", "--db", str(crawled.db_path)])
    assert "unknown column" not in url.output
    titled = CliRunner().invoke(main, ["search", "title:remittances", "--db", str(crawled.db_path)])
    assert titled.exit_code == 0 and "Remittances" in titled.output
