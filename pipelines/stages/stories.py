"""StoryPipeline: puts each new or changed item into its story (after StorePipeline wrote it).

The near-duplicate fingerprint (shingles + MinHash, a few ms of CPU per page)
is computed in the worker pool when there is one; the lookups and writes
(paragraph counts, LSH bands, links, stories) happen here, one step of the
crawl's write batch per item (pipelines/stages/archive.py). See
pipelines/story_index.py for what a story is.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

import sqlite_utils
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from pipelines import derived, neardup, workers
from pipelines.items import Article, RecheckedPage
from pipelines.normalize.urls import canonical_url
from pipelines.signals import derived_wanted
from pipelines.stages import archive
from pipelines.stages.config import archive_path, crawl_config
from pipelines.story_index import StoryIndex, translation_refs

logger = logging.getLogger("pipelines.story_index")

STORY_OUTCOMES = ("new", "updated")
T = TypeVar("T")
CATCH_UP = 1000  # unfingerprinted archived items handled when a crawl starts


class StoryPipeline:
    """Keeps stories current during a crawl."""

    def __init__(self, crawler: Crawler, db_path: str):
        self.crawler = crawler
        self.db_path = db_path
        self.sources = crawl_config(crawler).sources
        self.db: sqlite_utils.Database | None = None
        self.index: StoryIndex | None = None
        self.archive: archive.SharedArchive | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoryPipeline:
        db_path = archive_path(crawler)
        if not db_path:
            raise NotConfigured("PRESSWATCH_DB is not set: no archive to keep stories in")
        return cls(crawler, db_path)

    def open_spider(self) -> None:
        self.archive = archive.acquire(self.crawler)
        self.db = self.archive.db
        # The catch-up below runs its own transactions (one per item): not inside another crawler's batch.
        self.archive.commit()
        self.index = StoryIndex(self.db, self.sources.rank)
        # Fingerprints are then computed in the page's own worker step (pipelines/prepare.py), with the
        # boilerplate known at that moment; `StoryIndex.update` checks each against the archive.
        self.crawler.signals.send_catch_log(derived_wanted, boilerplate=self._known_boilerplate)
        # Items of this source a killed crawl stored, then did not link, with the translation
        # refs their pages declared (pipelines/derived.py).
        source = getattr(self.crawler.spider, "source_id", None)
        completed = derived.complete_stories(self.index, sources=[source] if source else None)
        if completed:
            logger.info("%d item(s) a crash left out of their stories: linked now", completed)
        # Archived items without a fingerprint (archived before stories existed, or marked by another
        # source's crawl): a bounded number per crawl.
        done, more = self.index.catch_up(CATCH_UP)
        if done:
            logger.info("%d archived item(s) put into stories%s", done,
                        "; more are left: run `presswatch stories --rebuild`" if more else "")

    def _known_boilerplate(self, source: str) -> frozenset[int]:
        return self.index.known_boilerplate(source) if self.index is not None else frozenset()

    def close_spider(self) -> None:
        if self.archive is not None:
            archive.release(self.archive)
            self.archive, self.db, self.index = None, None, None

    def process_item(self, item: Any) -> Any:
        """The item, or (when it must wait for the write batch, or for the worker pool) a coroutine."""
        if isinstance(item, RecheckedPage) and self.index is not None:
            # A page gone (404/410) is marked removed: its story's canonical item may change.
            url = canonical_url(item.url)
            row = self.index.db.execute("SELECT id FROM items WHERE url = ?", [url]).fetchone()
            if row and item.status != 304:
                return self._restory_if_shared(row[0], item)
            return item
        if not isinstance(item, Article) or self.index is None or item.item_id is None:
            return item
        if item.outcome in ("duplicate", "unchanged"):
            # Another copy may have taken the record over (URL, source, date), or a removed page
            # answers again: the story's canonical item may change; the text, and so the links, did not.
            return self._restory_if_shared(item.item_id, item)
        if item.outcome not in STORY_OUTCOMES:
            return item
        refs = translation_refs(item.canonical_url or item.url, item.alternates, item.shortlink)
        if workers.active() and item.fingerprint is None:
            return self._in_pool(item, refs)
        assert self.archive is not None
        return self.archive.when_writable(self._update, item, refs)

    def _update(self, item: Article, refs: list[tuple[str, str]]) -> Article:
        assert self.archive is not None and self.index is not None and item.item_id is not None
        with self.archive.step(item=False):
            # The worker step's fingerprint, of the body as extracted (StorePipeline drops it when
            # it cuts the body); update() computes it again if the boilerplate moved meanwhile.
            fingerprint = item.fingerprint
            outcome = self.index.update(item.item_id, fingerprint=fingerprint, refs=refs,
                                        body=item.body if fingerprint is not None else None)
            derived.clear(self.index.db, item.item_id, "stories")
        self._done(item, outcome)
        return item

    def _restory_if_shared(self, item_id: int, item: T) -> T | Coroutine[Any, Any, T]:
        """Choose the canonical item of the item's story again, if it has other items."""
        index, shared_archive = self.index, self.archive
        assert index is not None and shared_archive is not None
        shared = index.db.execute("SELECT s.members FROM items i JOIN stories s ON s.id = i.story_id "
                                  "WHERE i.id = ?", [item_id]).fetchone()
        if not shared or shared[0] < 2:
            return item
        return shared_archive.when_writable(self._restory, item_id, item)

    def _restory(self, item_id: int, item: T) -> T:
        assert self.archive is not None and self.index is not None
        with self.archive.step(item=False):
            self.index.restory({item_id})
        return item

    async def _in_pool(self, item: Article, refs: list[tuple[str, str]]) -> Article:
        index = self.index
        assert index is not None and item.item_id is not None
        # The body StorePipeline just wrote, with the boilerplate known so far: no read-back
        # and no paragraph hashing on the event loop (update() checks both).
        body = item.body or ""
        fingerprint = await workers.run(neardup.fingerprint, body, index.known_boilerplate(item.source))
        shared = self.archive
        if self.index is not index or shared is None:  # the spider closed meanwhile
            return item
        await shared.writable()
        if self.index is not index:
            return item
        with shared.step(item=False):
            outcome = index.update(item.item_id, fingerprint=fingerprint, body=body, refs=refs)
            derived.clear(index.db, item.item_id, "stories")
        self._done(item, outcome)
        return item

    def _done(self, item: Article, outcome: Any) -> None:
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("presswatch/items_storied")
        if outcome.members > 1:
            stats.inc_value("presswatch/items_in_shared_stories")
            links = ", ".join(
                f"{kind} of {other}" + (f" ({similarity:.2f})" if similarity is not None else "")
                for other, kind, similarity in outcome.linked
            )
            logger.info("[%s] story %s (%d items): %s: %s", item.source, outcome.story_id, outcome.members,
                        item.title, links or "through other items")
        if outcome.refreshed:
            logger.info("[%s] boilerplate learnt: %d earlier item(s) fingerprinted again",
                        item.source, len(outcome.refreshed))
