"""ExtractPipeline: FetchedPage -> normalised Article: `prepare_article` running in the worker pool."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from pipelines import workers
from pipelines.items import FetchedPage
from pipelines.rules import DerivedRules, extraction_rules, normalization_rules
from pipelines.signals import derived_wanted, report_problem
from pipelines.stages.config import crawl_config
from presswatch.archive.outcomes import Problem
from presswatch.config.sources import Source

# By name: the crawl process does not load the extraction libraries (pipelines/workers.py `Named`).
PREPARE_ARTICLE = workers.Named("pipelines.prepare", "prepare_article")


class ExtractPipeline:
    """FetchedPage -> Article, extracted, normalised and identified in one worker step; pages
    without a title or any text are dropped (and reported)."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.sources = crawl_config(crawler).sources
        self.workers = crawler.settings.getint("PRESSWATCH_WORKERS", workers.default_size())
        self.step_seconds = crawler.settings.getfloat("PRESSWATCH_STEP_SECONDS", workers.DEFAULT_STEP_SECONDS)
        # What the later stages ask to be computed in the same worker step (signals.derived_wanted).
        self.boilerplate: Callable[[str], frozenset[int]] | None = None
        self.topics: tuple[str, str] | None = None
        crawler.signals.connect(self._derived_wanted, signal=derived_wanted)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        return cls(crawler)

    def _derived_wanted(self, boilerplate: Callable[[str], frozenset[int]] | None = None,
                        topics: tuple[str | Path, str] | None = None, **_: Any) -> None:
        if boilerplate is not None:
            self.boilerplate = boilerplate
        if topics is not None:
            self.topics = (str(Path(topics[0]).resolve()), topics[1])

    def _derived_rules(self, source: Source) -> DerivedRules | None:
        if self.boilerplate is None and self.topics is None:
            return None
        topics_path, topics_fingerprint = self.topics or (None, "")
        return DerivedRules(boilerplate=self.boilerplate(source.id) if self.boilerplate else None,
                            topics_path=topics_path, topics_fingerprint=topics_fingerprint,
                            kind=source.kind, region=source.region, country=source.country)

    def open_spider(self) -> None:
        workers.acquire(self.workers, self.step_seconds)

    def close_spider(self) -> None:
        workers.release()

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage):
            return item
        source = self.sources.get(item.source)
        try:
            prepared = await workers.run(PREPARE_ARTICLE, item, extraction_rules(source),
                                         normalization_rules(source), self._derived_rules(source))
        except workers.TooSlow as exc:  # a pathological page: its worker was replaced
            report_problem(self.crawler, item.url, Problem.TOO_SLOW, f"extraction {exc}")
            raise DropItem(f"extraction too slow on {item.url}") from None
        except Exception as exc:  # a crash in a worker loses this page only
            report_problem(self.crawler, item.url, Problem.EXTRACTION_ERROR, repr(exc))
            raise DropItem(f"extraction failed on {item.url}: {exc!r}") from None
        for problem, detail in prepared.problems:
            report_problem(self.crawler, item.url, problem, detail)
        if prepared.article is None:
            problem, detail = prepared.dropped or (Problem.NO_BODY, "not archived")
            report_problem(self.crawler, item.url, problem, detail)
            raise DropItem(f"{'no title' if problem == Problem.NO_TITLE else 'no text'} on {item.url}")
        return prepared.article
