"""Topic classification as items arrive (after StorePipeline has written them).

Loads topics.toml (setting PRESSWATCH_TOPICS) once per crawler and compiles its
matcher once. On opening, reclassifies the whole archive if the file changed
since the last classification; then classifies each item whose text or record
changed (outcome new, updated, or duplicate: a copy that took over the record).
An invalid topics.toml does not stop the crawl: classification is skipped and
marked stale, so the next `publish` or `reclassify` (which report the error)
recomputes everything.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import sqlite_utils

from crawler.items import Article
from feeds.classify import Classifier, classify_item, ensure_classified, forget_fingerprint
from feeds.topics import default_topics, load_topics
from presswatch.archive import open_archive
from presswatch.configfile import ConfigError

logger = logging.getLogger("presswatch.classify")

CLASSIFY_OUTCOMES = ("new", "updated", "duplicate")


def topics_path_from(setting: str | None) -> Path:
    """The topics file a crawl uses: the setting, else topics.toml here or the bundled one."""
    if setting and (setting != "topics.toml" or Path(setting).exists()):
        return Path(setting)
    return default_topics()


class ClassifyPipeline:
    """Keeps ``item_topics`` current during a crawl."""

    def __init__(self, crawler: Any):
        self.crawler = crawler
        self.db_path = crawler.settings["PRESSWATCH_DB"]
        self.topics_path = topics_path_from(crawler.settings.get("PRESSWATCH_TOPICS"))
        self.classifier: Classifier | None = None
        self.error: str | None = None
        try:
            self.classifier = Classifier(load_topics(self.topics_path))
        except ConfigError as exc:
            self.error = str(exc)
        self.db: sqlite_utils.Database | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> ClassifyPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.db = open_archive(self.db_path)
        if self.classifier is None:
            logger.error("topics not classified during this crawl: %s", self.error)
            forget_fingerprint(self.db)
            return
        counts = ensure_classified(self.db, self.classifier)
        if counts is not None:
            logger.info("%s changed: reclassified the archive (%d topic assignments)",
                        self.topics_path, sum(counts.values()))

    def close_spider(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article) or self.classifier is None or self.db is None:
            return item
        if item.outcome in CLASSIFY_OUTCOMES and item.item_id is not None:
            topics = classify_item(self.db, self.classifier, item.item_id)
            self.crawler.stats.inc_value("presswatch/items_classified")
            if topics:
                logger.debug("[%s] %s: topics %s", item.source, item.title, ", ".join(topics))
        return item
