"""Scrapy's own commands on presswatch: one spider per source of sources.toml.

crawler/settings.py names `SourceSpiderLoader` as SPIDER_LOADER_CLASS, so from the
project folder (scrapy.cfg):

    scrapy list                                     # the source ids
    scrapy crawl moldova -s PRESSWATCH_MIRROR=http://127.0.0.1:8765
    scrapy parse --spider moldova https://moldova.iom.int/news/some-release
    scrapy shell https://moldova.iom.int/news       # `spider` is moldova's

Each source's spider is `SourceSpider` named after the source (the generic
`source` spider, `-a source=ID`, stays). The source list is read lazily, from
the crawl's configuration when the add-on loaded it (PRESSWATCH_CONFIG), else
from PRESSWATCH_SOURCES.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any

from scrapy import Request
from scrapy.http import Response
from scrapy.settings import BaseSettings

from crawler.spiders.source import SourceSpider
from pipelines.stages.config import CONFIG_SETTING, CrawlConfig
from presswatch.config.sources import Source, SourceList, load_sources


class SourceIdSpider(SourceSpider):
    """The spider of one source: `scrapy crawl ID` needs no `-a source=ID`; its `parse` (what
    `scrapy parse` calls by default) picks the callback the crawl would use for the page."""

    def __init__(self, source: str | None = None, *args: Any, **kwargs: Any):
        super().__init__(source or self.name, *args, **kwargs)

    def parse(self, response: Response, **kwargs: Any) -> Iterable[Any]:
        url = response.url
        config = self.config
        if url in config.feeds:
            yield from self.parse_feed(response)
        elif url in config.sitemaps or url.endswith((".xml", ".xml.gz")):
            yield from self.parse_sitemap(response)
        elif url in config.start_urls or not config.is_item_url(url):
            yield from self.parse_listing(response, page=1)
        else:
            yield from self.parse_item(response)


def spider_for(source: Source) -> type[SourceIdSpider]:
    """A spider class named after ``source``."""
    return type(f"Spider_{source.id.replace('-', '_')}", (SourceIdSpider,), {"name": source.id})


class SourceSpiderLoader:
    """Scrapy's spider loader (SpiderLoaderProtocol): the sources of sources.toml, plus `source`."""

    def __init__(self, settings: BaseSettings):
        self.settings = settings
        self._sources: SourceList | None = None
        self._classes: dict[str, type[SourceSpider]] = {}

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> SourceSpiderLoader:
        return cls(settings)

    @property
    def sources(self) -> SourceList:
        if self._sources is None:
            config = self.settings.get(CONFIG_SETTING)
            if isinstance(config, CrawlConfig):
                self._sources = config.sources
            else:
                self._sources = load_sources(self.settings.get("PRESSWATCH_SOURCES") or "sources.toml")
        return self._sources

    def load(self, spider_name: str) -> type[SourceSpider]:
        if spider_name == SourceSpider.name:
            return SourceSpider
        if spider_name not in self._classes:
            source = next((source for source in self.sources if source.id == spider_name), None)
            if source is None:
                raise KeyError(f"Spider not found: {spider_name} (not a source of {self.sources.path}; "
                               "`scrapy list` lists them)")
            self._classes[spider_name] = spider_for(source)
        return self._classes[spider_name]

    def list(self) -> list[str]:
        return [source.id for source in self.sources]

    def find_by_request(self, request: Request) -> builtins.list[str]:  # `list` is a method here
        """The sources whose domains hold the request's URL (`scrapy parse URL`, `scrapy shell URL`)."""
        return [source.id for source in self.sources if source.allows(request.url)]
