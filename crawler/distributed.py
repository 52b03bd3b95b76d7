"""A shared crawl over Redis (`presswatch crawl --redis URL`, issue 20).

Any number of crawl processes, on any number of machines, crawl the same
sources together on scrapy-redis: its scheduler holds the frontier of each
source in Redis (a sorted set, by priority) and its duplicate filter the
fingerprints of every request made, both keyed by the source id (the spider's
name). Items go to a Redis stream (pipelines/stages/stream.py) that the one
writer, `presswatch store`, applies to the archive.

What scrapy-redis leaves to us, and this module adds:

- Seeding once: the first process to join a round (SET NX on the round key)
  yields the sources' start requests; the others only consume the frontier.
- Nothing lost when a process dies: a request popped from the frontier is
  kept in the process's in-flight hash until what it produced is in Redis
  (requests in the frontier, items in the stream), then dropped. A process that
  stops sending heartbeats for PRESSWATCH_REDIS_DEAD_AFTER seconds is dead: any
  other process puts its in-flight requests back into the frontier.
- The end: a process exits when the frontier is empty and no live process is
  busy; the last one out ends the round (frontier and filter keys deleted),
  so the next crawl starts afresh.
- Incremental crawling from the summary the writer publishes (SummaryIndex),
  and run records sent through the stream (StreamRunRecorder).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, ScrapyDeprecationWarning
from scrapy.http import Request
from scrapy.settings import Settings
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler
from twisted.internet.task import LoopingCall

from crawler.known import ArchiveIndex, KnownPage
from crawler.runlog import _COUNTERS, RunRecorder, run_status
from pipelines.normalize.urls import canonical_url
from pipelines.stream import (
    CRAWLERS,
    PREFIX,
    PROBLEM,
    RUN_END,
    RUN_START,
    STREAM,
    connect,
    due_key,
    encode,
    last_run_key,
    lookup_known,
)
from presswatch.archive.outcomes import ERROR_PROBLEMS, RunStatus
from presswatch.archive.times import utc_now

logger = logging.getLogger("presswatch.distributed")


def text_of(value: object) -> str:
    """A Redis reply (bytes: the clients do not decode) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)
# scrapy-redis 0.9 still passes spider= to the stats collector: a warning per request, nothing more.
warnings.filterwarnings("ignore", category=ScrapyDeprecationWarning, module="scrapy_redis")

INFLIGHT = "presswatch_inflight"  # request.meta key: the request's token in its process's in-flight hash
PARENT = "presswatch_parent"  # request.meta key until it is in the frontier: the page it came from
DEAD_AFTER = 15.0  # seconds without a heartbeat before a crawl process counts as dead
HEARTBEAT = 1.0
STORE_ORDER = 400  # StorePipeline's place in ITEM_PIPELINES (crawler/settings.py): from it on, the writer's
TICK = 0.2  # how often an idle process looks at the frontier (Scrapy's engine looks every 5 s)

# Counters a crawl process knows; the item outcomes are counted by the writer.
_CRAWL_COUNTERS = ("items_skipped", "pages_fetched", "not_modified", "http_errors", "no_title")

# Pop the best request and keep it in the in-flight hash, in one step (KEYS: queue, in-flight hash).
_POP = """
local found = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #found == 0 then return false end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, 0)
local token = redis.sha1hex(found[1])
redis.call('HSET', KEYS[2], token, found[2] .. '\\n' .. found[1])
return {found[1], token}
"""
# Put every request of an in-flight hash back into the frontier (KEYS: in-flight hash, queue).
_REQUEUE = """
local held = redis.call('HGETALL', KEYS[1])
for i = 2, #held, 2 do
  local cut = string.find(held[i], '\\n', 1, true)
  redis.call('ZADD', KEYS[2], tonumber(string.sub(held[i], 1, cut - 1)), string.sub(held[i], cut + 1))
end
redis.call('DEL', KEYS[1])
return #held / 2
"""


def source_key(source: str, what: str) -> str:
    return f"{PREFIX}:{source}:{what}"


def shared_crawl_settings(settings: Settings, redis_url: str, *, dead_after: float | None = None) -> Settings:
    """Turn ``settings`` (crawler.run.crawl_settings) into those of a process of a shared crawl."""
    pipelines = dict(settings.getdict("ITEM_PIPELINES"))
    for path, order in pipelines.items():
        if order is not None and order >= STORE_ORDER:
            pipelines[path] = None  # the archive write and what follows it: the writer's work
    pipelines["pipelines.stages.stream.StreamPipeline"] = STORE_ORDER
    extensions = dict(settings.getdict("EXTENSIONS"))
    extensions.update({"crawler.runlog.RunRecorder": None, "crawler.distributed.StreamRunRecorder": 0,
                       "crawler.distributed.CrawlCoordinator": 10})
    spider_middlewares = dict(settings.getdict("SPIDER_MIDDLEWARES"))
    spider_middlewares["crawler.distributed.SharedCrawlMiddleware"] = 50
    settings.setdict(
        {
            "PRESSWATCH_REDIS": redis_url,
            "PRESSWATCH_DB": "",  # no archive in a crawl process: the writer (`presswatch store`) has it
            "PRESSWATCH_ARCHIVE_INDEX": "crawler.distributed.SummaryIndex",
            "PRESSWATCH_REDIS_DEAD_AFTER": dead_after or DEAD_AFTER,
            "REDIS_URL": redis_url,
            "SCHEDULER": "crawler.distributed.SharedScheduler",
            "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
            "SCHEDULER_PERSIST": True,  # the frontier outlives any one process
            "SCHEDULER_QUEUE_CLASS": "crawler.distributed.ReliablePriorityQueue",
            "SCHEDULER_QUEUE_KEY": f"{PREFIX}:%(spider)s:requests",
            "SCHEDULER_DUPEFILTER_KEY": f"{PREFIX}:%(spider)s:dupefilter",
            "ITEM_PIPELINES": pipelines,
            "EXTENSIONS": extensions,
            "SPIDER_MIDDLEWARES": spider_middlewares,
        },
        priority="cmdline",
    )
    return settings


class SharedScheduler(Scheduler):
    """scrapy-redis's scheduler, telling the coordinator when a page's new request is in the frontier.

    Scrapy hands a callback's output to up to CONCURRENT_ITEMS tasks through a queue: the
    callback can be over while requests it yielded are not scheduled yet. The page stays in
    flight until each of them is in Redis (or dropped as a duplicate)."""

    def enqueue_request(self, request: Any) -> bool:
        parent = request.meta.pop(PARENT, None)  # not stored with it: it is this process's
        try:
            return bool(super().enqueue_request(request))
        finally:
            coordinator: CrawlCoordinator | None = getattr(self.spider, "coordinator", None)
            if parent and coordinator is not None:
                coordinator.output_done(parent)


class ReliablePriorityQueue(PriorityQueue):
    """scrapy-redis's priority queue, with each popped request kept in flight until it is done."""

    def __init__(self, server: Any, spider: Any, key: str, serializer: Any = None):
        super().__init__(server, spider, key, serializer)
        self._pop = server.register_script(_POP)

    def pop(self, timeout: int = 0) -> Any:
        coordinator: CrawlCoordinator | None = getattr(self.spider, "coordinator", None)
        if coordinator is None:
            return super().pop(timeout)
        found = self._pop(keys=[self.key, coordinator.inflight_key])
        if not found:
            return None
        data, token = found
        request = self._decode_request(data)
        request.meta[INFLIGHT] = token.decode() if isinstance(token, bytes) else token
        coordinator.mark_busy()
        return request


class CrawlCoordinator:
    """One process's membership of a shared crawl of one source (an extension: one per crawler)."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.client = connect(settings["PRESSWATCH_REDIS"])
        self.dead_after = settings.getfloat("PRESSWATCH_REDIS_DEAD_AFTER", DEAD_AFTER)
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.seeder = False
        self.spare_start: list[Any] = []  # the start requests another process seeds (in case it dies)
        self.busy = True
        self.source = ""
        self.outstanding: Counter[str] = Counter()  # token -> items on their way to the stream
        self.ended: set[str] = set()  # tokens whose callback has returned all its output
        self.loop: LoopingCall | None = None
        self.stopped = threading.Event()
        self.beating: threading.Thread | None = None
        self._requeue = self.client.register_script(_REQUEUE)
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        for done in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(self.item_done, signal=done)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlCoordinator:
        return cls(crawler)

    # Keys of this source.
    @property
    def queue_key(self) -> str:
        return source_key(self.source, "requests")

    @property
    def inflight_key(self) -> str:
        return self.inflight_of(self.worker)

    def inflight_of(self, worker: str) -> str:
        return source_key(self.source, f"inflight:{worker}")

    def spider_opened(self, spider: Any) -> None:
        self.source = spider.name
        spider.coordinator = self
        self.heartbeat_now()
        self.client.hset(source_key(self.source, "workers"), self.worker, "busy")
        self.requeue_dead()
        round_ttl = int(max(60, 4 * self.dead_after))
        round_key = source_key(self.source, "round")
        self.seeder = bool(self.client.set(round_key, self.worker, nx=True, ex=round_ttl))
        if self.seeder:
            # A new round: the fingerprints of the last one (if it died unfinished) must not
            # stop this one. Requests left in the frontier by a dead round stay: they are work.
            self.client.delete(source_key(self.source, "dupefilter"), source_key(self.source, "seeded"))
        logger.info("[%s] joined the shared crawl as %s (%s)", self.source, self.worker,
                    "seeding it" if self.seeder else "a round in progress")
        beat = self.crawler.settings.getfloat("PRESSWATCH_REDIS_HEARTBEAT", HEARTBEAT)
        # The heartbeat proper runs in a thread: the reactor's thread can be held for seconds (the
        # worker pool starting under load) by a process that is alive and well.
        self.beating = threading.Thread(target=self._beat, args=(beat,), name="presswatch-heartbeat",
                                        daemon=True)
        self.beating.start()
        self.loop = LoopingCall(self.tick)
        self.loop.start(TICK, now=False)

    def _beat(self, every: float) -> None:
        while not self.stopped.wait(every):
            try:
                self.heartbeat_now()
            except Exception:  # Redis unreachable for a moment: try again at the next beat
                logger.warning("[%s] heartbeat failed", self.source, exc_info=True)

    def heartbeat_now(self) -> None:
        now = time.time()
        pipe = self.client.pipeline(transaction=False)
        pipe.zadd(source_key(self.source, "alive"), {self.worker: now})
        pipe.zadd(CRAWLERS, {self.worker: now})
        pipe.expire(source_key(self.source, "round"), int(max(60, 4 * self.dead_after)))
        pipe.expire(source_key(self.source, "seeded"), int(max(60, 4 * self.dead_after)))
        pipe.execute()

    def seeded(self) -> None:
        """The seeder has put every start request into the frontier."""
        self.client.set(source_key(self.source, "seeded"), self.worker, ex=int(max(60, 4 * self.dead_after)))

    def take_over_seeding(self) -> bool:
        """If the seeder died before its start requests were all in the frontier, seed in its place
        (the duplicate filter drops those it did put there); True when this process did."""
        if self.seeder or self.client.exists(source_key(self.source, "seeded")):
            return False
        owner = self.client.get(source_key(self.source, "round"))
        if owner is not None:
            seen = self.client.zscore(source_key(self.source, "alive"), owner)
            if seen is not None and seen >= time.time() - self.dead_after:
                return False  # still seeding
        self.client.set(source_key(self.source, "round"), self.worker, ex=int(max(60, 4 * self.dead_after)))
        self.seeder = True
        logger.warning("[%s] the seeding process died: %s seeds the round", self.source, self.worker)
        for request in self.spare_start:
            self.crawler.engine.crawl(request)
        self.spare_start.clear()
        self.seeded()
        return True

    def tick(self) -> None:
        """In the reactor, every beat: take dead processes' requests back; wake the engine when idle."""
        try:
            self.requeue_dead()
            if not self.busy:
                # Idle: ask the engine now, not at its next 5-second heartbeat, to take the work
                # that appeared in the frontier, or to close when the crawl is over.
                slot = getattr(self.crawler.engine, "_slot", None)
                if slot is not None:
                    slot.nextcall.schedule()
        except Exception:  # Redis unreachable for a moment: try again at the next beat
            logger.warning("[%s] could not look at the shared crawl", self.source, exc_info=True)

    def requeue_dead(self) -> int:
        """Put the in-flight requests of dead processes back into the frontier; how many."""
        alive_key = source_key(self.source, "alive")
        dead = self.client.zrangebyscore(alive_key, "-inf", time.time() - self.dead_after)
        total = 0
        for member in dead:
            worker = text_of(member)
            count = int(self._requeue(keys=[self.inflight_of(worker), self.queue_key]))
            pipe = self.client.pipeline(transaction=False)
            pipe.hdel(source_key(self.source, "workers"), worker)
            pipe.zrem(alive_key, worker)
            pipe.zrem(CRAWLERS, worker)
            pipe.execute()
            if count:
                logger.warning("[%s] %s stopped answering: %d request(s) it held put back in the frontier",
                               self.source, worker, count)
                self.crawler.stats.inc_value("presswatch/requeued", count)
            total += count
        return total

    def mark_busy(self) -> None:
        if not self.busy:
            self.busy = True
            self.client.hset(source_key(self.source, "workers"), self.worker, "busy")

    # In-flight requests: released once what they produced is in Redis.

    def output_started(self, token: str | None) -> None:
        if token:
            self.outstanding[token] += 1

    def output_ended(self, token: str | None) -> None:
        if token:
            self.ended.add(token)
            self._release_if_done(token)

    def item_done(self, item: Any, response: Any = None, **kwargs: Any) -> None:
        self.output_done(_token(response))

    def output_done(self, token: str | None) -> None:
        """One output of the page ``token`` is safe in Redis (an item streamed, a request queued)."""
        if token and self.outstanding[token] > 0:
            self.outstanding[token] -= 1
            self._release_if_done(token)

    def _release_if_done(self, token: str) -> None:
        if token in self.ended and self.outstanding[token] <= 0:
            self.ended.discard(token)
            self.outstanding.pop(token, None)
            self.client.hdel(self.inflight_key, token)

    # The end of the crawl.

    def spider_idle(self, spider: Any) -> None:
        # Idle: nothing downloading, nothing in the pipelines, so nothing this process popped is
        # still to be done (redirected or failed requests never reach _release_if_done).
        self.client.delete(self.inflight_key)
        self.ended.clear()
        self.outstanding.clear()
        if self.busy:
            self.busy = False
            self.client.hset(source_key(self.source, "workers"), self.worker, "idle")
        if self.frontier_done():
            return
        raise DontCloseSpider

    def frontier_done(self) -> bool:
        """Is the frontier empty with no live process busy (so no request can still appear)?"""
        self.requeue_dead()
        if not self.client.exists(source_key(self.source, "seeded")):
            self.take_over_seeding()
            return False
        # The frontier first, then what the others hold: a pop records the request in flight in the
        # same step, so a request is always in the frontier or in some in-flight hash.
        if self.client.zcard(self.queue_key):
            return False
        # Any other process holding requests (even one that has not said it is busy yet: it pops, then
        # says so) may still add to the frontier; a dead one's requests come back at requeue_dead.
        others = [text_of(member) for member in self.client.zrange(source_key(self.source, "alive"), 0, -1)]
        others = [worker for worker in others if worker != self.worker]
        if any(self.client.hlen(self.inflight_of(worker)) for worker in others):
            return False
        states = {text_of(worker): text_of(state) for worker, state in
                  self.client.hgetall(source_key(self.source, "workers")).items()}
        since = time.time() - self.dead_after
        alive = self.client.zrangebyscore(source_key(self.source, "alive"), since, "+inf")
        busy = {worker for worker, state in states.items() if state == "busy"}
        return not any(text_of(worker) in busy for worker in alive if text_of(worker) != self.worker)

    def spider_closed(self, spider: Any, reason: str) -> None:
        self.stopped.set()
        if self.beating is not None:
            self.beating.join(timeout=10)  # no beat after this process has left
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        if reason == "finished":
            self.client.delete(self.inflight_key)
        else:  # stopped early: what it held goes back to the others
            self._requeue(keys=[self.inflight_key, self.queue_key])
        pipe = self.client.pipeline(transaction=False)
        pipe.hdel(source_key(self.source, "workers"), self.worker)
        pipe.zrem(source_key(self.source, "alive"), self.worker)
        pipe.zrem(CRAWLERS, self.worker)
        pipe.execute()
        others = self.client.zcount(source_key(self.source, "alive"), time.time() - self.dead_after, "+inf")
        if reason == "finished" and not others and not self.client.zcard(self.queue_key):
            # The last one out ends the round: the next crawl seeds and filters afresh.
            self.client.delete(source_key(self.source, "round"), source_key(self.source, "seeded"),
                               source_key(self.source, "dupefilter"),
                               source_key(self.source, "workers"), source_key(self.source, "alive"))
        self.client.close()


def _token(response: Any) -> str | None:
    request = getattr(response, "request", None)
    return request.meta.get(INFLIGHT) if request is not None else None


class SharedCrawlMiddleware:
    """Spider middleware: start requests from the seeding process only; in-flight bookkeeping."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedCrawlMiddleware:
        return cls(crawler)

    def _coordinator(self) -> CrawlCoordinator | None:
        return getattr(self.crawler.spider, "coordinator", None)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        # Run the spider's start() all the same: it opens the archive summary.
        coordinator = self._coordinator()
        async for request_or_item in start:
            if coordinator is None or coordinator.seeder:
                yield request_or_item
            elif isinstance(request_or_item, Request):
                coordinator.spare_start.append(request_or_item)
        if coordinator is not None and coordinator.seeder:
            coordinator.seeded()

    def process_spider_output(self, response: Any, result: Iterable[Any]) -> Iterator[Any]:
        coordinator, token = self._coordinator(), _token(response)
        for output in result:
            if coordinator is not None:
                _track(coordinator, token, output)
            yield output
        if coordinator is not None:
            coordinator.output_ended(token)

    async def process_spider_output_async(self, response: Any,
                                          result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        coordinator, token = self._coordinator(), _token(response)
        async for output in result:
            if coordinator is not None:
                _track(coordinator, token, output)
            yield output
        if coordinator is not None:
            coordinator.output_ended(token)


def _track(coordinator: CrawlCoordinator, token: str | None, output: Any) -> None:
    """Count an output of page ``token`` as on its way to Redis: a request (until SharedScheduler
    has queued it) or an item (until it is streamed)."""
    if not token:
        return
    if isinstance(output, Request):
        output.meta[PARENT] = token
        coordinator.output_started(token)
    elif ItemAdapter.is_item(output):
        coordinator.output_started(token)


class SummaryIndex(ArchiveIndex):
    """What the archive holds, read from the summary the writer publishes in Redis (not SQLite)."""

    def __init__(self, settings: Any):  # no super().__init__(): there is no archive file here
        self.client = connect(settings["PRESSWATCH_REDIS"])

    def close(self) -> None:
        self.client.close()

    def lookup(self, url: str) -> KnownPage | None:
        for _url, fetched, etag, last_modified in lookup_known(self.client, [canonical_url(url), url]):
            return KnownPage(datetime.fromisoformat(fetched), etag, last_modified)
        return None

    def due_items(self, source: str, now: datetime, recheck_after: timedelta,
                  limit: int) -> list[tuple[str, KnownPage]]:
        cutoff = (now - recheck_after).timestamp()
        urls = [text_of(url) for url in
                self.client.zrangebyscore(due_key(source), "-inf", cutoff, start=0, num=limit)]
        return [(url, KnownPage(datetime.fromisoformat(fetched), etag, modified))
                for url, fetched, etag, modified in lookup_known(self.client, urls)]

    def last_run_completed(self, source: str, current_run: int | None) -> bool:
        status = self.client.get(last_run_key(source))
        return status is not None and text_of(status) in (RunStatus.OK, RunStatus.DEGRADED)


class StreamRunRecorder(RunRecorder):
    """RunRecorder for a shared crawl: the run and its problems go through the stream to the writer."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StreamRunRecorder:
        return cls(crawler, "")  # no archive here (PRESSWATCH_DB is ''): the stream instead

    def spider_opened(self, spider: Any) -> None:
        settings = self.crawler.settings
        self.source = getattr(spider, "source_id", spider.name)
        self.client = connect(settings["PRESSWATCH_REDIS"])
        self.run = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}:{self.source}"
        spider.stream_run = self.run
        spider.run_id = None
        self.client.xadd(STREAM, encode(RUN_START, self.run, {
            "source": self.source, "started": utc_now(), "pid": os.getpid(),
            "log_path": settings.get("PRESSWATCH_LOG_PATH") or None,
            "full_crawl": int(settings.getbool("PRESSWATCH_FULL")),
        }))

    def problem_found(self, url: str, problem: str, detail: str = "") -> None:
        self.crawler.stats.inc_value(f"presswatch/problems/{problem}")
        logger.warning("[%s] %s: %s %s", self.source, problem, url, detail)
        client = getattr(self, "client", None)
        if client is not None:
            client.xadd(STREAM, encode(PROBLEM, self.run, {
                "source": self.source, "url": url, "problem": problem, "detail": detail, "at": utc_now()}))

    def spider_closed(self, spider: Any, reason: str) -> None:
        client = getattr(self, "client", None)
        if client is None:
            return
        stats = self.crawler.stats
        row: dict[str, Any] = {column: stats.get_value(_COUNTERS[column], 0) for column in _CRAWL_COUNTERS}
        row["errors"] = sum(stats.get_value(f"presswatch/problems/{p}", 0) for p in ERROR_PROBLEMS)
        row["finished"] = utc_now()
        if reason == "finished" and not row["pages_fetched"] and not row["errors"]:
            status, why = "ok", None  # the other processes took every request of this source
        else:
            status, why = run_status(reason, row)
        row.update(status=status, reason=why)
        client.xadd(STREAM, encode(RUN_END, self.run, row))
        client.close()
        del self.client  # problems after this are only counted

