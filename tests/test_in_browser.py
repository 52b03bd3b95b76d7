"""Issue 16: the published index page and `presswatch browse`, rendered by a real headless browser
(Debian's chromium, which `make test` installs where it is missing: `make chromium`).

Each page is loaded with its scripts run (--dump-dom after a virtual-time budget); the DOM the
browser ends with is checked, and the browser's log must hold no console error."""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import lxml.html
import pytest

from feeds.publish import publish_feeds
from presswatch.archive.db import open_archive
from tests.conftest import ROOT, SOURCES

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="chromium is not installed and could not be (make chromium)")


def render(url: str) -> lxml.html.HtmlElement:
    """The DOM of ``url`` once chromium has run its scripts; fails on any console error."""
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--dump-dom", url],
        capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert errors == [], errors
    return lxml.html.fromstring(result.stdout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def public_site(crawled, tmp_path_factory):
    public = tmp_path_factory.mktemp("public")
    publish_feeds(crawled.db_path, public, ROOT / "topics.toml", 50, base_url="http://127.0.0.1:8000/",
                  sources_path=SOURCES)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(public))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield public, f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


def test_the_index_page_renders_filters_and_its_links_resolve(public_site):
    public, base = public_site
    page = render(base + "index.html")
    assert page.xpath("string(//h1)") == "IOM press releases and publications: feeds"
    ids = set(page.xpath("//@id"))
    for link in page.xpath("//a/@href"):
        if link.startswith("#"):
            assert link[1:] in ids, link
        elif not link.startswith(("http://", "https://")) and not link.startswith("feed."):
            assert (public / link).is_file(), link  # every feed and list it links to is there
    everything = page.xpath("//*[contains(@class, 'filterable')]")
    assert everything and not [row for row in everything if row.get("hidden") is not None]

    filtered = render(base + "index.html?filter=moldov")
    shown = [row.get("data-name") for row in filtered.xpath("//*[contains(@class, 'filterable')]")
             if row.get("hidden") is None]
    assert shown and all("moldov" in name.lower() for name in shown)
    assert filtered.xpath("string(//p[@id='filter-count'])") == f"{len(shown)} of {len(everything)} feeds match"


@pytest.fixture(scope="module")
def browse(crawled, tmp_path_factory):
    path = tmp_path_factory.mktemp("browse") / "presswatch.db"
    source = open_archive(crawled.db_path)
    source.execute("VACUUM INTO ?", [str(path)])
    source.close()
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "presswatch", "browse", "--no-open", "--port", str(port), "--db", str(path)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/-/versions.json", timeout=5).close()
            break
        except OSError:
            assert time.monotonic() < deadline and process.poll() is None, "browse did not start"
            time.sleep(0.3)
    yield base, path
    process.terminate()
    process.wait(timeout=30)


def test_browse_lists_items_first_with_short_rows(browse):
    base, path = browse
    database = render(base + "/presswatch")
    tables = [a.text for a in database.xpath("//div[@class='db-table']/h3/a")]
    assert tables[0] == "items" and "lsh_bands" not in tables and "item_countries" not in tables

    items = render(base + "/presswatch/items")
    assert items.xpath("string(//details/summary)") == "Column notes"
    assert items.xpath("//details/dl[@class='column-descriptions']")
    visible = [th.get("data-column") for th in items.xpath("//table[@class='rows-and-columns']//th[@data-column]")
               if "display: none" not in (th.get("style") or "")]
    assert visible == ["id", "url", "title", "summary", "published", "source", "kind", "country", "language"] \
        or set(visible) == {"id", "published", "source", "kind", "country", "language", "title", "summary", "url"}
    rows = items.xpath("//table[@class='rows-and-columns']/tbody/tr")
    assert len(rows) == 20
    summaries = [td.text_content() for td in items.xpath("//td[contains(@class, 'col-summary')]")]
    assert all(len(text) <= 242 for text in summaries)

    db = open_archive(path, readonly=True)
    item_id, body = db.execute("SELECT id, body FROM items ORDER BY length(body) DESC LIMIT 1").fetchone()
    db.close()
    row = render(f"{base}/presswatch/items/{item_id}")
    shown = row.xpath("string(//td[contains(@class, 'col-body')])")
    assert " ".join(shown.split()) == " ".join(body.split())  # whole on the row page
