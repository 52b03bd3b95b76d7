"""NormalizePipeline: Article -> normalised and identified Article, in the worker pool
(dateparser and the country matcher cost CPU), for Articles ExtractPipeline's worker
step has not normalised already (it does both in one step: pipelines/prepare.py)."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from pipelines import workers
from pipelines.items import Article
from pipelines.rules import normalization_rules
from pipelines.signals import report_problem
from pipelines.stages.config import crawl_config
from presswatch.archive.outcomes import Problem

NORMALIZED_AND_IDENTIFIED = workers.Named("pipelines.normalize.article", "normalized_and_identified")


class NormalizePipeline:
    """Normalises each Article not normalised yet, with its source's rules."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.sources = crawl_config(crawler).sources

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalizePipeline:
        return cls(crawler)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article) or item.normalized:
            return item
        rules = normalization_rules(self.sources.get(item.source))
        try:
            item = await workers.run(NORMALIZED_AND_IDENTIFIED, item, rules)
        except workers.TooSlow as exc:  # e.g. a date string of 400 KB: its worker was replaced
            report_problem(self.crawler, item.url, Problem.TOO_SLOW, f"normalisation {exc}")
            raise DropItem(f"normalisation too slow on {item.url}") from None
        item.normalized = True
        return item
