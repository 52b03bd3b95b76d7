"""presswatch's Scrapy add-ons (the ADDONS setting): what a crawl is configured with.

`CrawlConfigAddon` reads sources.toml and topics.toml once and hands the result to
every component (spider, pipelines) through the PRESSWATCH_CONFIG setting: one
read for all the crawlers of one `presswatch crawl` (one per source).
`MirrorAddon` is --mirror: every request goes to the sample sites
(crawler/mirror.py), at loopback speeds.
"""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings

from pipelines.stages.config import CONFIG_SETTING, load_crawl_config


class CrawlConfigAddon:
    """Loads PRESSWATCH_SOURCES and PRESSWATCH_TOPICS into PRESSWATCH_CONFIG.

    At the runner's creation (`update_pre_crawler_settings`), before any crawler or
    spider exists: every crawler of the process copies the runner's settings and, the
    config being read-only, shares the one CrawlConfig.
    """

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlConfigAddon:
        return cls(crawler)

    @classmethod
    def update_pre_crawler_settings(cls, settings: BaseSettings) -> None:
        config = load_crawl_config(settings["PRESSWATCH_SOURCES"], settings.get("PRESSWATCH_TOPICS"))
        settings.set(CONFIG_SETTING, config, priority="addon")


class MirrorAddon:
    """--mirror URL: fetch every host from the mirror, without politeness delays (loopback)."""

    # The mirror's own download handler, and speeds fit for a local server.
    HANDLER = "crawler.mirror.MirrorDownloadHandler"
    LOOPBACK_SETTINGS: dict[str, object] = {
        "AUTOTHROTTLE_START_DELAY": 0.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 16.0,
        "DOWNLOAD_DELAY": 0.0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        "CONCURRENT_REQUESTS": 64,
        "DOWNLOAD_TIMEOUT": 15,
    }

    def __init__(self, crawler: Crawler):
        if not crawler.settings.get("PRESSWATCH_MIRROR"):
            raise NotConfigured("PRESSWATCH_MIRROR is not set")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> MirrorAddon:
        return cls(crawler)

    def update_settings(self, settings: BaseSettings) -> None:
        # As strong as the --mirror option itself: above crawler/settings.py's politeness,
        # below what the command line set explicitly (--set DOWNLOAD_TIMEOUT=3).
        priority = settings.getpriority("PRESSWATCH_MIRROR") or 0
        handlers = {"http": self.HANDLER, "https": self.HANDLER}
        values = {"DOWNLOAD_HANDLERS": handlers, **self.LOOPBACK_SETTINGS}
        for name, value in values.items():
            if (settings.getpriority(name) or 0) < priority:
                settings.set(name, value, priority=priority)
