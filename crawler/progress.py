"""A progress line per source on a terminal: pages fetched, items new, time.

`crawler.run` enables `ProgressLine` (EXTENSIONS) only when stderr is a terminal
and the crawl is not verbose: redirected to a file or a pipe, a crawl prints no
progress at all. While sources run, one line is redrawn in place with every
running source; when a source finishes, its own line stays.
"""

from __future__ import annotations

import sys
import time
from typing import Any, ClassVar, TextIO

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task

REDRAW_SECONDS = 1.0


class ProgressBoard:
    """The running sources of this process and the line that shows them (one per process)."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.running: dict[str, ProgressLine] = {}
        self.loop: task.LoopingCall | None = None

    def add(self, line: ProgressLine) -> None:
        self.running[line.source] = line
        if self.loop is None:
            self.loop = task.LoopingCall(self.draw)
            self.loop.start(REDRAW_SECONDS, now=False)

    def finish(self, line: ProgressLine, reason: str) -> None:
        self.running.pop(line.source, None)
        self.stream.write(f"\r\033[K  {line.describe()} ({reason})\n")
        if not self.running and self.loop is not None and self.loop.running:
            self.loop.stop()
            self.loop = None
        self.draw()

    def draw(self) -> None:
        if not self.running:
            return
        parts = "; ".join(line.describe() for line in self.running.values())
        self.stream.write(f"\r\033[K{parts}"[:self.width()])
        self.stream.flush()

    def width(self) -> int:
        import shutil

        return shutil.get_terminal_size((100, 20)).columns + 4  # the \r\033[K prefix takes no room


class ProgressLine:
    """One source's progress, from its crawler's stats."""

    boards: ClassVar[dict[int, ProgressBoard]] = {}

    def __init__(self, crawler: Crawler):
        if not crawler.settings.getbool("PRESSWATCH_PROGRESS"):
            raise NotConfigured
        self.crawler = crawler
        self.source = ""
        self.started = time.monotonic()
        self.board = self.boards.setdefault(id(sys.stderr), ProgressBoard(sys.stderr))
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressLine:
        return cls(crawler)

    def describe(self) -> str:
        stats = self.crawler.stats
        assert stats is not None
        pages = stats.get_value("presswatch/pages_fetched", 0)
        new = stats.get_value("presswatch/items_new", 0)
        return f"{self.source}: {pages} pages, {new} new, {time.monotonic() - self.started:.0f}s"

    def spider_opened(self, spider: Any) -> None:
        self.source = getattr(spider, "source_id", spider.name)
        self.started = time.monotonic()
        self.board.add(self)

    def spider_closed(self, spider: Any, reason: str) -> None:
        self.board.finish(self, reason)
