"""robots.txt fetched once per host per crawl process, whatever the number of sources on it.

Scrapy's RobotsTxtMiddleware keeps its parsers per crawler, and `presswatch crawl`
runs one crawler per source: eca-news and eca-stories would each fetch
eca.iom.int/robots.txt. Here the crawlers of one process (they share one
CrawlConfig, loaded once by crawler.addons.CrawlConfigAddon) share the parsers.
"""

from __future__ import annotations

from typing import Any, ClassVar

from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware

from pipelines.stages.config import CONFIG_SETTING


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """RobotsTxtMiddleware whose parsers (host -> parser, or the Deferred of its download) are
    shared by every crawler of the same crawl configuration."""

    # id(CrawlConfig) -> (the config, kept alive so the id stays its own; host -> parser)
    _by_config: ClassVar[dict[int, tuple[object, dict[str, Any]]]] = {}

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        config = crawler.settings.get(CONFIG_SETTING)
        if config is not None:
            _config, parsers = self._by_config.setdefault(id(config), (config, {}))
            self._parsers = parsers
