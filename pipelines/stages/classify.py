"""Topic classification as items arrive (after StorePipeline has written them).

Takes topics.toml (setting PRESSWATCH_TOPICS) as the crawl's add-on loaded it
(pipelines/stages/config.py) and compiles its matcher once. On opening, reclassifies
the whole archive if the file changed since the last classification; then classifies
each item whose text or record changed (outcome new, updated, or duplicate: a copy that took over the record).
An invalid topics.toml does not stop the crawl: classification is skipped and
marked stale, so the next `publish` or `reclassify` (which report the error)
recomputes everything.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from pathlib import Path
from typing import Any

import sqlite_utils
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from pipelines import derived, workers
from pipelines.items import Article
from pipelines.signals import derived_wanted
from pipelines.stages import archive
from pipelines.stages.config import archive_path, crawl_config
from pipelines.topics import (
    Classifier,
    classified_view,
    classify_item,
    ensure_classified,
    forget_fingerprint,
    query_hits,
    read_item,
    store_topics,
    topics_in_worker,
)

logger = logging.getLogger("presswatch.classify")

CLASSIFY_OUTCOMES = ("new", "updated", "duplicate")




class ClassifyPipeline:
    """Keeps ``item_topics`` current during a crawl."""

    def __init__(self, crawler: Crawler, db_path: str):
        self.crawler = crawler
        self.db_path = db_path
        config = crawl_config(crawler)  # topics.toml as the crawl's add-on loaded it
        self.topics_path = config.topics_path
        self.classifier: Classifier | None = Classifier(config.topics) if config.topics else None
        self.error: str | None = config.topics_error
        self.db: sqlite_utils.Database | None = None
        self.archive: archive.SharedArchive | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClassifyPipeline:
        db_path = archive_path(crawler)
        if not db_path:
            raise NotConfigured("PRESSWATCH_DB is not set: no archive to classify")
        return cls(crawler, db_path)

    def open_spider(self) -> None:
        self.archive = archive.acquire(self.crawler)
        self.db = self.archive.db
        # What follows runs its own transactions: not inside another crawler's batch.
        self.archive.commit()
        if self.classifier is None:
            logger.error("topics not classified during this crawl: %s", self.error)
            forget_fingerprint(self.db)
            return
        # Scores are then computed in the page's own worker step (pipelines/prepare.py), without the
        # saved searches (they need the full-text index); `_with_scores` checks them against the row.
        self.crawler.signals.send_catch_log(
            derived_wanted, topics=(self.topics_path, self.classifier.topics.fingerprint))
        counts = ensure_classified(self.db, self.classifier)
        if counts is not None:
            logger.info("%s changed: reclassified the archive (%d topic assignments)",
                        self.topics_path, sum(counts.values()))
        # Items of this source a killed crawl stored, then did not classify (pipelines/derived.py).
        source = getattr(self.crawler.spider, "source_id", None)
        completed = derived.complete_topics(self.db, self.classifier, sources=[source] if source else None)
        if completed:
            logger.info("%d item(s) a crash left unclassified: classified now", completed)

    def close_spider(self) -> None:
        if self.archive is not None:
            archive.release(self.archive)
            self.archive, self.db = None, None

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article) or self.classifier is None or self.db is None:
            return item
        if item.outcome not in CLASSIFY_OUTCOMES or item.item_id is None:
            return item
        assert self.archive is not None
        if item.topic_scores is not None and item.topic_scores[0] == self.classifier.topics.fingerprint:
            return self.archive.when_writable(self._with_scores, item)
        if workers.active():
            return self._classify_in_pool(item)
        assert self.archive is not None
        return self.archive.when_writable(self._classify, item)

    def _classify(self, item: Article) -> Article:
        assert self.archive is not None and self.db is not None and self.classifier is not None
        assert item.item_id is not None
        with self.archive.step(item=False):
            topics = classify_item(self.db, self.classifier, item.item_id)
            derived.clear(self.db, item.item_id, "topics")
        self._classified(item, topics)
        return item

    def _with_scores(self, item: Article) -> Article:
        """Store the scores the page's worker step computed, if the stored row is what it scored
        (a copy may have taken the record over); the saved searches added from the full-text index."""
        db, classifier, item_id = self.db, self.classifier, item.item_id
        assert self.archive is not None and db is not None and classifier is not None
        assert item_id is not None and item.topic_scores is not None
        _fingerprint, view, scores = item.topic_scores
        with self.archive.step(item=False):
            current = read_item(db, item_id)
            if current is not None:
                hits = frozenset(query_hits(db, classifier, item_id).get(item_id, set())
                                 if classifier.query_topics else ())
                if classified_view(current) == view:
                    topics = classifier.with_saved_searches(current, scores, hits)
                else:
                    topics = classifier.scores_for(current, hits)
                store_topics(db, item_id, topics)
            else:
                topics = {}
            derived.clear(db, item_id, "topics")
        self._classified(item, topics)
        return item

    async def _classify_in_pool(self, item: Article) -> Article:
        """`classify_item`, with the matching done in the worker pool.

        The item and its full-text hits are read here (indexed lookups), matched
        in a worker, and the topics written if the item is still what was
        matched; otherwise (another copy took the record over meanwhile, or
        topics.toml changed) it is matched again here, in the write transaction.
        """
        db, classifier, item_id = self.db, self.classifier, item.item_id
        assert db is not None and classifier is not None and item_id is not None
        record = read_item(db, item_id)
        if record is None:
            self._classified(item, {})
            return item
        hits = frozenset(query_hits(db, classifier, item_id).get(item_id, set()))
        topics = await workers.run(topics_in_worker, str(Path(self.topics_path).resolve()),
                                   classifier.topics.fingerprint, record, hits)
        shared = self.archive
        if shared is None or self.db is not db:  # the spider closed meanwhile
            return item
        await shared.writable()
        if self.db is not db:
            return item
        with shared.step(item=False):
            current = read_item(db, item_id)
            current_hits = frozenset(query_hits(db, classifier, item_id).get(item_id, set()))
            if topics is None or current != record or current_hits != hits:
                topics = classifier.scores_for(current, current_hits) if current is not None else {}
            if current is not None:
                store_topics(db, item_id, topics)
            derived.clear(db, item_id, "topics")
        self._classified(item, topics)
        return item

    def _classified(self, item: Article, topics: Collection[str]) -> None:
        self.crawler.stats.inc_value("presswatch/items_classified")
        if topics:
            logger.debug("[%s] %s: topics %s", item.source, item.title, ", ".join(topics))
