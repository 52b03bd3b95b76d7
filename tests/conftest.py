"""Shared fixtures: an in-memory archive, the sample sites, and one real crawl of them.

The crawl runs `presswatch crawl --mirror ...` in a child process (a Twisted
reactor cannot be restarted inside the test process), over real HTTP on
127.0.0.1, into a real SQLite file. It runs once per test session and is shared
by every test that needs an archive of the sample sites; tests must not write
to it (copy it with `archive_copy` to change things).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse, Request, TextResponse, XmlResponse
from scrapy.spiders import Spider
from scrapy.utils.test import get_crawler

from presswatch.archive.db import open_archive
from presswatch.sample_sites.server import SampleSiteServer

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "sources.toml"
PAGES = ROOT / "tests" / "pages"


def file_response(name: str, url: str, *, charset: str = "utf-8", headers: dict[str, str] | None = None,
                  request: Request | None = None) -> TextResponse:
    """The saved page tests/pages/<name> as Scrapy hands it over, under the page's real URL
    (city-scrapers style): an XmlResponse for .xml files, else an HtmlResponse."""
    response_class = XmlResponse if name.endswith(".xml") else HtmlResponse
    content_type = "text/xml" if response_class is XmlResponse else "text/html"
    return response_class(
        url=url, body=(PAGES / name).read_bytes(), request=request,
        headers={"Content-Type": f"{content_type}; charset={charset}", **(headers or {})},
    )


def make_crawler(spidercls: type[Spider] | None = None, **settings: object) -> Crawler:
    """A Scrapy crawler set up as a crawl's (sources.toml and topics.toml loaded by the
    add-on), to build the spider and the pipelines with; PRESSWATCH_* settings as keywords."""
    return get_crawler(spidercls, {
        "ADDONS": {"crawler.addons.CrawlConfigAddon": 0},
        "PRESSWATCH_SOURCES": str(SOURCES),
        **settings,
    })


def presswatch(*args: str, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the presswatch command in a child process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "presswatch", *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


@dataclass
class CrawlResult:
    db_path: Path
    first: subprocess.CompletedProcess
    second: subprocess.CompletedProcess
    server: SampleSiteServer
    requests_first: list[tuple[str, str, str, int]]
    requests_second: list[tuple[str, str, str, int]]


@pytest.fixture
def archive():
    """An empty archive in memory, with the full schema."""
    db = open_archive(":memory:")
    yield db
    db.close()


@pytest.fixture(scope="session")
def sample_server():
    with SampleSiteServer(port=0) as server:
        yield server


@pytest.fixture(scope="session")
def crawled(tmp_path_factory, sample_server) -> CrawlResult:
    """The sample sites crawled twice into one archive (the second crawl must change nothing)."""
    db_path = tmp_path_factory.mktemp("crawl") / "presswatch.db"
    args = ("crawl", "--mirror", sample_server.url, "--db", str(db_path), "--sources", str(SOURCES))
    first = presswatch(*args)
    assert first.returncode == 0, first.stderr[-3000:]
    requests_first = list(sample_server.requests)
    second = presswatch(*args)
    assert second.returncode == 0, second.stderr[-3000:]
    requests_second = list(sample_server.requests)[len(requests_first):]
    return CrawlResult(db_path, first, second, sample_server, requests_first, requests_second)


@pytest.fixture
def archive_copy(crawled, tmp_path):
    """A writable copy of the crawled archive."""
    path = tmp_path / "presswatch.db"
    source = open_archive(crawled.db_path)
    source.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    source.close()
    shutil.copy(crawled.db_path, path)
    return path


def run_stages(stages: list[object], item: object) -> object:
    """``item`` through the item pipelines ``stages`` in order, each opened and closed as a crawl
    would (async stages awaited), in this process: the chain a crawl runs, without a crawl."""

    async def through_the_stages(item: object) -> object:
        for stage in stages:
            if hasattr(stage, "open_spider"):
                stage.open_spider()
        try:
            for stage in stages:
                result = stage.process_item(item)
                item = await result if asyncio.iscoroutine(result) else result
        finally:
            for stage in stages:
                if hasattr(stage, "close_spider"):
                    stage.close_spider()
        return item

    return asyncio.run(through_the_stages(item))


def wait_for_items(db_path: Path, count: int, process: subprocess.Popen[bytes], timeout: float = 120) -> int:
    """Wait until a running crawl has committed ``count`` items to ``db_path`` (or ended, or
    ``timeout`` passed); the items committed then (0 while the archive does not exist)."""
    committed = 0
    deadline = time.monotonic() + timeout
    while committed < count and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
        try:
            with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as conn:
                committed = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        except sqlite3.OperationalError:
            committed = 0  # not created yet
    return committed
