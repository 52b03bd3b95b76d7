"""Run crawls of sources in this process (one Scrapy reactor, one crawler per source).

The CLI's `crawl` calls `run_crawl`; the scheduler never does: it starts
`presswatch crawl SOURCE` as a child process, since a Twisted reactor cannot be
restarted inside a long-lived process.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from twisted.python.failure import Failure

from crawler.spiders.source import SourceSpider
from pipelines import workers
from presswatch import malloc
from presswatch.archive.db import open_archive
from presswatch.archive.outcomes import RunStatus
from presswatch.archive.times import utc_now
from presswatch.config.sources import Source

logger = logging.getLogger("presswatch.run")
EXIT_HARD_STOP = 3  # the exit status of a crawl the watchdog stopped (`--timeout` overrun)

# Loggers that are noise at INFO for someone watching a crawl.
_QUIET_LOGGERS = ("scrapy", "trafilatura", "htmldate", "courlan", "py.warnings", "asyncio", "filelock")


def crawl_settings(
    *,
    db: Path,
    sources_path: Path,
    topics_path: Path | None = None,
    mirror: str | None = None,
    full: bool = False,
    workers: int | None = None,
    log_file: Path | None = None,
    timeout: float | None = None,
) -> Settings:
    """Scrapy settings for a presswatch crawl: crawler/settings.py plus the CLI's choices."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    overrides: dict[str, object] = {
        "PRESSWATCH_DB": str(db),
        "PRESSWATCH_SOURCES": str(sources_path),
        "PRESSWATCH_FULL": full,
    }
    if topics_path is not None:
        overrides["PRESSWATCH_TOPICS"] = str(topics_path)
    if workers is not None:
        overrides["PRESSWATCH_WORKERS"] = workers
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        overrides["LOG_FILE"] = str(log_file)
        overrides["PRESSWATCH_LOG_PATH"] = str(log_file)
    if timeout:
        overrides["CLOSESPIDER_TIMEOUT"] = timeout
    if mirror:
        # The add-on sets the mirror's download handler and loopback speeds.
        overrides["PRESSWATCH_MIRROR"] = mirror.rstrip("/")
    else:  # no "Disabled MirrorAddon" warning in every crawl's output
        overrides["PRESSWATCH_MIRROR"] = ""
        overrides["ADDONS"] = {name: order for name, order in settings.getdict("ADDONS").items()
                               if name != "crawler.addons.MirrorAddon"}
    settings.setdict(overrides, priority="cmdline")
    return settings


def run_crawl(sources: list[Source], settings: Settings, *, verbose: bool = False) -> list[str]:
    """Crawl ``sources`` concurrently and return when all are done: the crawlers that could not
    start, one line each (an invalid setting, a config the add-on could not load...).

    One failing source never stops the others: each has its own crawler, and
    the spider turns every failed request into a recorded problem. With a time
    limit (CLOSESPIDER_TIMEOUT), a watchdog thread ends the process
    PRESSWATCH_HARD_STOP_GRACE seconds after it, whatever the crawl is doing.
    """
    malloc.tune()  # before the reactor's and sqlite's threads start: crawler/memory.py
    quiet = [] if verbose else [logging.getLogger(name) for name in _QUIET_LOGGERS]
    for logger_ in quiet:
        logger_.setLevel(logging.WARNING)
    terse = not verbose and not settings.get("LOG_FILE")
    if terse:
        # Our own stderr handler, with OneLineFilter; Scrapy's (with its startup banner) stays out.
        settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
        if sys.stderr.isatty():  # a progress line per source instead of a line per item
            settings.set("PRESSWATCH_PROGRESS", True, priority="cmdline")
            extensions = {**settings.getdict("EXTENSIONS"), "crawler.progress.ProgressLine": 10}
            settings.set("EXTENSIONS", extensions, priority="cmdline")
    process = CrawlerProcess(settings)
    if terse:
        install_terse_handler(settings)
    # CrawlerProcess re-applies Scrapy's logging config (scrapy at DEBUG): quiet it again.
    for logger_ in quiet:
        logger_.setLevel(logging.WARNING)
    not_started: list[str] = []

    def failed_to_start(failure: Failure, source_id: str) -> None:
        message = failure.getErrorMessage() or failure.type.__name__
        not_started.append(f"{source_id}: {failure.type.__name__}: {message}".splitlines()[0])

    for source in sources:
        deferred = process.crawl(SourceSpider, source=source.id)
        deferred.addErrback(failed_to_start, source.id)
    timeout = settings.getfloat("CLOSESPIDER_TIMEOUT")
    watchdog = None
    if timeout > 0:
        grace = settings.getfloat("PRESSWATCH_HARD_STOP_GRACE", 20)
        watchdog = hard_stop_after(timeout + grace, str(settings.get("PRESSWATCH_DB") or ""), timeout)
    try:
        process.start()
    finally:
        if watchdog is not None:
            watchdog.cancel()
    return not_started


class OneLineFilter(logging.Filter):
    """A crawl's stderr without -v: one line per expected failure, no tracebacks.

    A failed download is recorded as a problem by the spider (its own warning line, and the
    summary): Scrapy's retry and robots.txt errors about it would say it twice more, with
    tracebacks. Libraries speak from WARNING up; -v or --log-file show everything.
    """

    REPEATS = ("scrapy.downloadermiddlewares.retry", "scrapy.downloadermiddlewares.robotstxt")
    PER_ITEM = ("presswatch.store", "pipelines.story_index")  # a line per item: the summary counts them

    def filter(self, record: logging.LogRecord) -> bool:
        top = record.name.split(".")[0]
        if (top in _QUIET_LOGGERS or record.name in self.PER_ITEM) and record.levelno < logging.WARNING:
            return False
        if record.name in self.REPEATS or (record.name == "scrapy.core.scraper"
                                           and str(record.msg).startswith("Error downloading")):
            return False
        if record.exc_info:
            message, reason = record.getMessage(), record.exc_info[1]
            if reason is not None and str(reason) not in message:
                message = f"{message}: {type(reason).__name__}: {reason}".splitlines()[0]
            record.msg, record.args = message, None
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def install_terse_handler(settings: Settings) -> logging.Handler:
    """A stderr handler at LOG_LEVEL with OneLineFilter, as the root logger's only one."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(settings.get("LOG_FORMAT"), settings.get("LOG_DATEFORMAT")))
    handler.setLevel(settings.get("LOG_LEVEL"))
    handler.addFilter(OneLineFilter())
    logging.root.setLevel(logging.NOTSET)
    logging.root.addHandler(handler)
    return handler


def hard_stop_after(seconds: float, db_path: str, timeout: float) -> threading.Timer:
    """A daemon timer that ends this process after ``seconds``: the crawl's graceful stop at
    its time limit waits for the pages in progress, and a page (or a stuck worker) must not
    keep it running. The workers are killed, this process's runs marked timed_out."""

    def stop() -> None:
        message = (f"the crawl was still running {seconds - timeout:g} s after its --timeout of "
                   f"{timeout:g} s: stopped")
        logger.error(message)
        workers.kill_workers()
        if db_path:
            try:
                db = open_archive(db_path)
                # Not the 30 s of other writers: this process's own write batch may hold the lock
                # on a stuck event loop, and would never let go. The next crawl closes the rows then.
                db.execute("PRAGMA busy_timeout = 2000")
                db.execute("UPDATE crawl_runs SET status = ?, reason = ?, finished = ? "
                           "WHERE pid = ? AND status = ?",
                           [RunStatus.TIMED_OUT, message, utc_now(), os.getpid(), RunStatus.RUNNING])
                db.close()
            except Exception as exc:  # the archive is busy or gone: the next crawl closes the rows
                logger.error("could not record the stop: %s", exc)
        print(f"Error: {message}", file=sys.stderr, flush=True)
        os._exit(EXIT_HARD_STOP)

    timer = threading.Timer(seconds, stop)
    timer.daemon = True
    timer.start()
    return timer
