"""RunRecorder: one `crawl_runs` row per crawl of a source, and its problems.

The row is inserted as ``running`` when the spider opens, so a crawl killed
mid-run still leaves a trace, and completed with its counters and status when
it closes. Problems (404s, undated pages...) go to `crawl_problems` as they
happen, each naming its URL. It writes through the crawl process's shared
archive connection (pipelines/stages/archive.py): a second connection of the
same process would wait for the write lock of that one's open batch.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import sqlite_utils
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from crawler.process import pid_alive
from pipelines.signals import problem_found
from pipelines.stages import archive
from pipelines.stages.config import archive_path
from presswatch.archive.outcomes import ERROR_PROBLEMS, Problem, RunStatus
from presswatch.archive.times import utc_now

logger = logging.getLogger("presswatch.run")

# crawl_runs column <- stats key
_COUNTERS = {
    "items_new": "presswatch/items_new",
    "items_updated": "presswatch/items_updated",
    "items_unchanged": "presswatch/items_unchanged",
    "items_duplicate": "presswatch/items_duplicate",
    "items_removed": "presswatch/items_removed",
    "items_skipped": "presswatch/skipped_fresh",  # known items not re-fetched (health: items found)
    "pages_fetched": "presswatch/pages_fetched",
    "not_modified": "presswatch/not_modified",
    "http_errors": "presswatch/problems/http_error",
    "no_title": "presswatch/problems/no_title",
    "no_date": "presswatch/problems/no_date",
    "no_body": "presswatch/problems/no_body",
}


class RunRecorder:
    def __init__(self, crawler: Crawler, db_path: str):
        self.crawler = crawler
        self.db_path = db_path
        self.db: sqlite_utils.Database | None = None
        self.archive: archive.SharedArchive | None = None
        self.run_id: int | None = None
        self.source: str | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.response_received, signal=signals.response_received)
        crawler.signals.connect(self.spider_error, signal=signals.spider_error)
        crawler.signals.connect(self.problem_found, signal=problem_found)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunRecorder:
        db_path = archive_path(crawler)
        if not db_path:
            raise NotConfigured("PRESSWATCH_DB is not set: no archive to record the run in")
        return cls(crawler, db_path)

    def spider_opened(self, spider: Any) -> None:
        settings = self.crawler.settings
        self.source = getattr(spider, "source_id", spider.name)
        self.archive = archive.acquire(self.crawler)
        self.db = self.archive.db
        self.archive.commit()  # the run's row visible at once, not with the next batch
        close_stale_runs(self.db, self.source)
        self.run_id = self.db.table("crawl_runs").insert(
            {
                "source": self.source,
                "started": utc_now(),
                "status": RunStatus.RUNNING,
                "pid": os.getpid(),
                "log_path": settings.get("PRESSWATCH_LOG_PATH") or None,
                "full_crawl": int(settings.getbool("PRESSWATCH_FULL")),
            }
        ).last_pk
        spider.run_id = self.run_id

    def response_received(self, response: Response, request: Any, spider: Any) -> None:
        stats = self.crawler.stats
        if "presswatch_document" in request.meta:  # a linked PDF (crawler/documents.py), not a page
            stats.inc_value("presswatch/documents_fetched")
            return
        if response.status == 304:
            stats.inc_value("presswatch/not_modified")
        stats.inc_value("presswatch/pages_fetched")

    def spider_error(self, failure: Any, response: Any, spider: Any) -> None:
        url = getattr(response, "url", "")
        self.problem_found(url=url, problem=Problem.SPIDER_ERROR, detail=failure.getErrorMessage())

    def problem_found(self, url: str, problem: str, detail: str = "") -> None:
        self.crawler.stats.inc_value(f"presswatch/problems/{problem}")
        logger.warning("[%s] %s: %s %s", self.source, problem, url, detail)
        if self.db is None or self.run_id is None:
            return
        self.db.table("crawl_problems").insert(
            {"run_id": self.run_id, "source": self.source, "url": url, "problem": problem,
             "detail": detail, "at": utc_now()}
        )

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.db is None or self.run_id is None:
            return
        stats = self.crawler.stats
        row = {column: stats.get_value(key, 0) for column, key in _COUNTERS.items()}
        row["errors"] = sum(stats.get_value(f"presswatch/problems/{p}", 0) for p in ERROR_PROBLEMS)
        row["finished"] = utc_now()
        status, why = run_status(reason, row)
        row["status"], row["reason"] = status, why
        self.db.table("crawl_runs").update(self.run_id, row)
        if self.archive is not None:
            archive.release(self.archive)  # the last user commits
            self.archive, self.db = None, None


def close_stale_runs(db: sqlite_utils.Database, source: str) -> int:
    """Mark the rows ``source``'s earlier crawls left ``running`` (their process is gone: killed,
    or out of memory) as failed; how many. The scheduler does the same for every source when it
    starts; without a scheduler, the next crawl of the source is the first to know."""
    closed = 0
    for run_id, pid in db.execute("SELECT id, pid FROM crawl_runs WHERE source = ? AND status = ?",
                                  [source, RunStatus.RUNNING]).fetchall():
        if pid == os.getpid() or pid_alive(pid):
            continue
        cursor = db.execute(
            "UPDATE crawl_runs SET status = ?, reason = ?, finished = ? WHERE id = ? AND status = ?",
            [RunStatus.FAILED, f"crawl process {pid} died without finishing its run", utc_now(), run_id,
             RunStatus.RUNNING])
        closed += cursor.rowcount
    if closed:
        logger.warning("[%s] %d earlier run(s) left running by a dead crawl: marked failed", source, closed)
    return closed


def run_status(close_reason: str, counters: dict[str, int]) -> tuple[RunStatus, str | None]:
    """The crawl_runs status of a finished crawl, with the reason when it is not ok."""
    if close_reason == "shutdown":
        return RunStatus.INTERRUPTED, "stopped before the end (signal or shutdown)"
    if close_reason == "closespider_timeout":
        return RunStatus.TIMED_OUT, "hit the per-crawl time limit"
    if close_reason != "finished":
        return RunStatus.FAILED, f"closed: {close_reason}"
    if counters["pages_fetched"] == 0:
        return RunStatus.FAILED, "no page could be fetched"
    return RunStatus.OK, None
