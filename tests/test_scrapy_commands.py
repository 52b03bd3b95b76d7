"""Issue 16: Scrapy's own commands work from the project folder (scrapy.cfg): one spider per source."""

from __future__ import annotations

import os
import subprocess
import sys

from presswatch.archive.db import open_archive
from presswatch.config.sources import load_sources
from tests.conftest import ROOT, SOURCES

MOLDOVA_ITEMS = {
    "https://moldova.iom.int/news/launch-moldova-migration-data-profile",
    "https://moldova.iom.int/news/returning-migrants-moldova-receive-grants-start-small-businesses",
}


def scrapy(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scrapy", *args], capture_output=True, text=True, timeout=300,
                          cwd=ROOT, env={**os.environ, "PRESSWATCH_SOURCES": str(SOURCES), **(env or {})})


def test_scrapy_list_lists_the_source_ids():
    result = scrapy("list")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == sorted(source.id for source in load_sources(SOURCES))


def test_scrapy_crawl_source_id_archives_its_items_from_the_mirror(tmp_path, sample_server):
    db_path = tmp_path / "presswatch.db"
    already = len(sample_server.requests)
    result = scrapy("crawl", "moldova", "-s", f"PRESSWATCH_MIRROR={sample_server.url}", "-s", "LOG_LEVEL=INFO",
                    env={"PRESSWATCH_DB": str(db_path)})
    assert result.returncode == 0, result.stderr[-3000:]
    db = open_archive(db_path)
    items = db.execute("SELECT source, url, title FROM items ORDER BY url").fetchall()
    runs = db.execute("SELECT source, status, items_new FROM crawl_runs").fetchall()
    db.close()
    assert {row[0] for row in items} == {"moldova"}
    assert MOLDOVA_ITEMS <= {row[1] for row in items}
    assert ("moldova", "ok", len(items)) in runs and len(items) == 4
    # Every request went to the mirror, none to the real hosts: the sample server answered them.
    assert {host for host, _method, _target, _status in sample_server.requests[already:]} == {"moldova.iom.int"}


def test_scrapy_parse_uses_the_sources_spider(sample_server):
    result = scrapy("parse", "-s", f"PRESSWATCH_MIRROR={sample_server.url}", "-s", "PRESSWATCH_DB=",
                    "https://moldova.iom.int/news")
    assert result.returncode == 0, result.stderr[-3000:]
    for url in MOLDOVA_ITEMS:
        assert f"<GET {url}>" in result.stdout
    item = scrapy("parse", "--spider", "moldova", "-s", f"PRESSWATCH_MIRROR={sample_server.url}",
                  "-s", "PRESSWATCH_DB=", "https://moldova.iom.int/news/launch-moldova-migration-data-profile")
    assert item.returncode == 0, item.stderr[-3000:]
    # The item page's FetchedPage (what the pipelines extract from), not a listing's requests.
    assert "'url': 'https://moldova.iom.int/news/launch-moldova-migration-data-profile'" in item.stdout
    assert "<title>Launch of Moldova Migration Data Profile" in item.stdout
