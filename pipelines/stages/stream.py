"""StreamPipeline: the last step of a shared crawl (`crawl --redis`): items go to the Redis stream.

It stands where StorePipeline, StoryPipeline and ClassifyPipeline stand in a
one-process crawl; `presswatch store` does their work on the other side of the
stream (pipelines/stream_writer.py). The near-duplicate fingerprint, the costly
pure part of StoryPipeline, is computed here in the worker pool with the
boilerplate the writer publishes (a hint: the writer computes it again when the
hint was out of date). The entry is added before the item counts as processed,
so a request is released (crawler/distributed.py) only once what it produced is
safe in Redis.
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler

from pipelines import neardup, workers
from pipelines.items import Article, RecheckedPage
from pipelines.stream import (
    ARTICLE,
    RECHECK,
    STREAM,
    article_payload,
    connect,
    encode,
    read_boilerplate,
    recheck_payload,
)


class StreamPipeline:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.client = connect(crawler.settings["PRESSWATCH_REDIS"])
        self.boilerplate: dict[str, frozenset[int]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StreamPipeline:
        return cls(crawler)

    def close_spider(self) -> None:
        self.client.close()

    def _streamed(self) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("presswatch/items_streamed")

    async def process_item(self, item: Any) -> Any:
        run = getattr(self.crawler.spider, "stream_run", "")
        if isinstance(item, Article):
            hint = self.boilerplate.get(item.source)
            if hint is None:  # read once per crawl: a hint
                hint = self.boilerplate[item.source] = read_boilerplate(self.client, item.source)
            fingerprint = await workers.run(neardup.fingerprint, item.body, hint)
            self.client.xadd(STREAM, encode(ARTICLE, run, article_payload(item), fingerprint))
            self._streamed()
        elif isinstance(item, RecheckedPage):
            self.client.xadd(STREAM, encode(RECHECK, run, recheck_payload(item)))
            self._streamed()
        return item
