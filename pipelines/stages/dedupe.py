"""DedupePipeline: gives each Article its uid and content hash (see pipelines/dedupe.py)."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler

from pipelines.dedupe import identify
from pipelines.items import Article


class DedupePipeline:
    """Gives each Article its uid and content hash.

    The copy check itself runs inside StorePipeline's write transaction, so two
    copies arriving at once cannot both become items.
    """

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupePipeline:
        return cls()

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Article) and (item.uid is None or item.content_hash is None):
            identify(item)  # NormalizePipeline's worker usually did it already
        return item
