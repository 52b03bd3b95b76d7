"""Run crawls of sources in this process (one Scrapy reactor, one crawler per source).

The CLI's `crawl` calls `run_crawl`; the scheduler never does: it starts
`presswatch crawl SOURCE` as a child process, since a Twisted reactor cannot be
restarted inside a long-lived process.
"""

from __future__ import annotations

import logging
from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.spiders.source import SourceSpider
from presswatch.config.sources import Source

# Loggers that are noise at INFO for someone watching a crawl.
_QUIET_LOGGERS = ("scrapy", "trafilatura", "htmldate", "courlan", "py.warnings", "asyncio", "filelock")


def crawl_settings(
    *,
    db: Path,
    sources_path: Path,
    topics_path: Path | None = None,
    mirror: str | None = None,
    full: bool = False,
    workers: int | None = None,
    log_file: Path | None = None,
    timeout: float | None = None,
) -> Settings:
    """Scrapy settings for a presswatch crawl: crawler/settings.py plus the CLI's choices."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    overrides: dict[str, object] = {
        "PRESSWATCH_DB": str(db),
        "PRESSWATCH_SOURCES": str(sources_path),
        "PRESSWATCH_FULL": full,
    }
    if topics_path is not None:
        overrides["PRESSWATCH_TOPICS"] = str(topics_path)
    if workers is not None:
        overrides["PRESSWATCH_WORKERS"] = workers
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        overrides["LOG_FILE"] = str(log_file)
        overrides["PRESSWATCH_LOG_PATH"] = str(log_file)
    if timeout:
        overrides["CLOSESPIDER_TIMEOUT"] = timeout
    if mirror:
        handler = "crawler.mirror.MirrorDownloadHandler"
        overrides.update(
            {
                "PRESSWATCH_MIRROR": mirror.rstrip("/"),
                "DOWNLOAD_HANDLERS": {"http": handler, "https": handler},
                # Loopback: politeness delays would only slow the demo and tests down.
                "AUTOTHROTTLE_START_DELAY": 0.0,
                "AUTOTHROTTLE_TARGET_CONCURRENCY": 16.0,
                "DOWNLOAD_DELAY": 0.0,
                "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
                "CONCURRENT_REQUESTS": 64,
                "DOWNLOAD_TIMEOUT": 15,
            }
        )
    settings.setdict(overrides, priority="cmdline")
    return settings


def run_crawl(sources: list[Source], settings: Settings, *, verbose: bool = False) -> None:
    """Crawl ``sources`` concurrently and return when all are done.

    One failing source never stops the others: each has its own crawler, and
    the spider turns every failed request into a recorded problem.
    """
    quiet = [] if verbose else [logging.getLogger(name) for name in _QUIET_LOGGERS]
    for logger in quiet:
        logger.setLevel(logging.WARNING)
    process = CrawlerProcess(settings)
    # CrawlerProcess re-applies Scrapy's logging config (scrapy at DEBUG): quiet it again.
    for logger in quiet:
        logger.setLevel(logging.WARNING)
    for source in sources:
        process.crawl(SourceSpider, source=source.id)
    process.start()
