"""presswatch/malloc.py and crawler/memory.py: the crawl's C heap tuned and trimmed (issue 19)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler
from twisted.internet import task

from crawler.memory import MallocTrim
from presswatch import malloc

glibc = pytest.mark.skipif(not malloc.available(), reason="glibc's mallopt/malloc_trim only")


@glibc
def test_tune_and_trim_work_on_glibc():
    code = ("from presswatch import malloc; tuned = malloc.tune(); "
            "blocks = [bytearray(50_000) for _ in range(2000)]; del blocks[::2]; "
            "print(tuned, malloc.trim() in (True, False))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "True"]
    leave = subprocess.run([sys.executable, "-c", "from presswatch import malloc; print(malloc.tune())"],
                           capture_output=True, text=True, check=True, env={"PRESSWATCH_MALLOC": "default"})
    assert leave.stdout.strip() == "False"


@glibc
def test_malloc_trim_extension_runs_while_the_spider_runs_and_can_be_turned_off(monkeypatch):
    crawler = get_crawler(settings_dict={"PRESSWATCH_MALLOC_TRIM_SECONDS": 10})
    extension = MallocTrim.from_crawler(crawler)
    assert extension.seconds == 10 and extension.loop is None
    # On a clock of its own: a LoopingCall's constructor imports (and so installs) Twisted's default
    # reactor, and later tests in this process need to choose theirs.
    clock = task.Clock()

    class ClockedLoopingCall(task.LoopingCall):
        def __init__(self, f, *args, **kwargs):  # as LoopingCall's, less the reactor import
            self.f, self.a, self.kw, self.clock = f, args, kwargs, clock

    monkeypatch.setattr(task, "LoopingCall", ClockedLoopingCall)
    trims = []
    monkeypatch.setattr(malloc, "trim", lambda: trims.append(1))
    extension.spider_opened(None)
    assert extension.loop is not None and extension.loop.running
    for _ in range(2):
        clock.advance(10)
    assert len(trims) == 2
    extension.spider_closed(None)
    assert extension.loop is None
    with pytest.raises(NotConfigured):
        MallocTrim.from_crawler(get_crawler(settings_dict={"PRESSWATCH_MALLOC_TRIM_SECONDS": 0}))


def test_the_crawl_settings_enable_it():
    from crawler import settings

    assert settings.EXTENSIONS["crawler.memory.MallocTrim"] and settings.PRESSWATCH_MALLOC_TRIM_SECONDS == 10
    assert settings.SCRAPER_SLOT_MAX_ACTIVE_SIZE == 2_000_000
