"""Issue 16: `presswatch try SOURCE [URL]` shows what a crawl would make of a source's pages."""

from __future__ import annotations

import json

from click.testing import CliRunner

from presswatch.cli.main import main
from tests.conftest import ROOT, SOURCES

TOPICS = ROOT / "topics.toml"
RETURNING = "https://moldova.iom.int/news/returning-migrants-moldova-receive-grants-start-small-businesses"
PROFILE = "https://moldova.iom.int/news/launch-moldova-migration-data-profile"


def run(*args: str):
    return CliRunner().invoke(main, ["try", *args, "--sources", str(SOURCES), "--topics", str(TOPICS)],
                              catch_exceptions=False)


def test_try_lists_the_item_links_and_the_first_items_fields(sample_server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written (no data/presswatch.db)
    result = run("moldova", "--mirror", sample_server.url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Listing https://moldova.iom.int/news (HTTP 200): 2 item link(s)"
    assert lines[1].split()[:2] == ["1.", RETURNING] and lines[2].split()[:2] == ["2.", PROFILE]
    assert f"Item {RETURNING} (HTTP 200)" in lines
    assert ("  title      Returning Migrants in Moldova Receive Grants to Start Small Businesses  (from selector)"
            in lines)
    assert "  published  2021-10-05T00:00:00+03:00  (from dateline)" in lines
    assert "  topics     return-reintegration 5" in lines
    assert lines[-2:] == ["Problems: none", "Nothing was written to the archive."]
    assert list(tmp_path.iterdir()) == []


def test_try_a_given_page_as_json(sample_server):
    result = run("moldova", PROFILE, "--mirror", sample_server.url, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert "listing" not in report
    item = report["item"]
    assert item["fields"]["title"] == "Launch of Moldova Migration Data Profile"
    assert item["fields"]["published"] == "2021-06-16T00:00:00+03:00"
    assert item["fields"]["language"] == "en"
    assert item["origins"]["published"] == "dateline" and item["origins"]["body"] == "selector"
    assert item["countries"] == ["DE", "IL", "IT", "MD", "RO", "RU"]
    assert "remittances" in [topic["topic"] for topic in item["topics"] if topic["accepted"]]
    assert item["problems"] == []


def test_try_says_when_the_listing_selectors_find_nothing(sample_server, tmp_path):
    sources = tmp_path / "sources.toml"
    sources.write_text('[[source]]\nid = "md"\nstart_urls = ["https://moldova.iom.int/news"]\n'
                       '[source.listing]\nitem = "div.no-such-card"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["try", "md", "--mirror", sample_server.url, "--sources", str(sources),
                                       "--topics", str(TOPICS)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["Listing https://moldova.iom.int/news (HTTP 200): 0 item link(s)",
                                          "  problem: no item links found: check [source.listing]"]


def test_try_an_unknown_source_is_one_line():
    result = CliRunner().invoke(main, ["try", "nowhere", "--sources", str(SOURCES)])
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "nowhere" in result.stderr


def test_sources_add_finds_the_sitemap_named_in_robots_txt(sample_server):
    result = CliRunner().invoke(main, ["sources", "add", "https://micenter.lt/", "--mirror", sample_server.url])
    assert result.exit_code == 0, result.output
    entry = result.stdout.splitlines()
    assert entry[:6] == ["[[source]]", 'id = "micenter"',
                         'name = "Migracijos informacijos centras | Migracijos informacijos centras"',
                         'languages = ["lt"]', 'start_urls = ["https://micenter.lt/"]',
                         'sitemaps = ["https://micenter.lt/sitemap.xml"]']
    assert "0 feed(s), 1 sitemap(s) found; then: .venv/bin/presswatch try micenter" in result.stderr


def test_sources_add_finds_feeds_and_its_entry_loads(tmp_path):
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from presswatch.config.sources import load_sources

    site = tmp_path / "site"
    site.mkdir()
    (site / "news.html").write_text(
        '<html lang="de"><head><title>Neuigkeiten</title>'
        '<link rel="alternate" type="application/rss+xml" href="/feed.xml">'
        '<link rel="alternate" type="application/atom+xml" href="/comments/feed.xml"></head>'
        '<body><a href="/a.html">A</a></body></html>', encoding="utf-8")
    (site / "robots.txt").write_text("User-agent: *\nSitemap: http://127.0.0.1/sitemap-news.xml\n", encoding="utf-8")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/news.html"
        result = CliRunner().invoke(main, ["sources", "add", url, "--id", "news"])
    finally:
        server.shutdown()
    assert result.exit_code == 0, result.output
    base = f"http://127.0.0.1:{server.server_port}"
    assert f'feeds = ["{base}/feed.xml"]' in result.stdout.splitlines()  # not the comments feed
    assert 'sitemaps = ["http://127.0.0.1/sitemap-news.xml"]' in result.stdout.splitlines()
    sources = tmp_path / "sources.toml"
    sources.write_text(result.stdout, encoding="utf-8")
    (source,) = load_sources(sources)
    assert (source.id, source.name, source.languages, source.start_urls) == ("news", "Neuigkeiten", ["de"], [url])
