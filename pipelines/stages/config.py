"""The configuration of one crawl, loaded once and handed to every component.

`crawler.addons.CrawlConfigAddon` reads sources.toml and topics.toml once per
crawl (when Scrapy's crawler runner is created) and puts a `CrawlConfig` into the crawler's settings under
PRESSWATCH_CONFIG; the spider and the item pipelines take it from there with
`crawl_config(crawler)` instead of each reading the files again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scrapy.crawler import Crawler

from presswatch.config.files import ConfigError
from presswatch.config.paths import default_topics
from presswatch.config.sources import SourceList, load_sources
from presswatch.config.topics import TopicSet, load_topics

CONFIG_SETTING = "PRESSWATCH_CONFIG"


@dataclass(frozen=True)
class CrawlConfig:
    """sources.toml and topics.toml as one crawl sees them."""

    sources: SourceList
    topics_path: Path
    topics: TopicSet | None  # None when topics.toml is invalid: the crawl goes on unclassified
    topics_error: str | None = None

    def __repr__(self) -> str:  # settings get logged: keep it one short line
        return f"CrawlConfig({self.sources.path}, {self.topics_path})"

    def __deepcopy__(self, memo: dict[int, object]) -> CrawlConfig:
        # Read-only: each crawler copies the runner's settings, and shares this one config.
        return self


def topics_path_from(setting: str | None) -> Path:
    """The topics file a crawl uses: the setting, else topics.toml here or the bundled one."""
    if setting and (setting != "topics.toml" or Path(setting).exists()):
        return Path(setting)
    return default_topics()


def load_crawl_config(sources_path: str | Path, topics_setting: str | None) -> CrawlConfig:
    """Read both files. An invalid sources.toml raises ConfigError (the crawl cannot run);
    an invalid topics.toml is kept as ``topics_error`` (classification is skipped)."""
    sources = load_sources(sources_path)
    topics_path = topics_path_from(topics_setting)
    try:
        return CrawlConfig(sources, topics_path, load_topics(topics_path))
    except ConfigError as exc:
        return CrawlConfig(sources, topics_path, None, str(exc))


def crawl_config(crawler: Crawler) -> CrawlConfig:
    """The crawl's configuration, as the add-on loaded it."""
    config = crawler.settings.get(CONFIG_SETTING)
    if not isinstance(config, CrawlConfig):
        raise RuntimeError(
            f"{CONFIG_SETTING} is not set: enable crawler.addons.CrawlConfigAddon in the ADDONS setting"
        )
    return config


def archive_path(crawler: Crawler) -> str:
    """The archive the crawl writes (PRESSWATCH_DB); '' when none is configured."""
    return str(crawler.settings.get("PRESSWATCH_DB") or "")
