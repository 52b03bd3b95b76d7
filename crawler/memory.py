"""The crawl process's C heap: fewer malloc arenas, and free pages given back to the OS as it runs.

What grows in a long crawl's process is not Python objects (tracemalloc finds
nothing that grows per item) but glibc's heap: response bodies, decoded pages
and parse trees of tens of KB (PDFs of MBs) are allocated and freed by the
thousand, from the event loop's thread and Twisted's and sqlite's threads, each
of which may get an arena of its own. Freed chunks stay in the arenas, the
holes between live ones are not returned, and the resident size creeps up with
the number of pages (docs/performance.md, "Memory").

`crawler.run` calls `presswatch.malloc.tune` before the crawl's threads start
(fewer arenas, large blocks mapped and unmapped on their own); `MallocTrim`, a
Scrapy extension, calls `presswatch.malloc.trim` every
PRESSWATCH_MALLOC_TRIM_SECONDS while a spider runs.
"""

from __future__ import annotations

from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from presswatch import malloc


class MallocTrim:
    """Calls `trim` every PRESSWATCH_MALLOC_TRIM_SECONDS (0: never) while a spider runs."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> MallocTrim:
        seconds = crawler.settings.getfloat("PRESSWATCH_MALLOC_TRIM_SECONDS", 0)
        if seconds <= 0 or not malloc.available():
            raise NotConfigured("no periodic malloc_trim")
        extension = cls(seconds)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Any) -> None:
        self.loop = task.LoopingCall(malloc.trim)
        self.loop.start(self.seconds, now=False)

    def spider_closed(self, spider: Any) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        self.loop = None
