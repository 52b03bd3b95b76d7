"""presswatch's scheduler: crawl every enabled source on its schedule, publish, watch health.

The floor above feeds: it drives the others. Crontab semantics live in
presswatch/config/cron.py, child-process control in crawler/process.py, orphaned
and missing crawl_runs rows in presswatch/archive/runs.py, the publishing thread
in feeds/publisher.py; this module holds the `Scheduler` that ties them.

`presswatch schedule` runs it in the foreground (docs/scheduler.md has a
systemd unit). What it does:

- One APScheduler job per enabled source of sources.toml, on the source's
  ``schedule`` (``every`` or ``cron``, plus ``jitter``). ``max_instances=1`` and
  ``coalesce=True``: a source never runs twice at once, and a backlog of missed
  slots runs once. At most ``max_crawls`` crawls run at once (a thread pool of
  that size; each thread waits on its crawl).
- Each crawl is a child process, ``python -m presswatch crawl SOURCE --db ...
  --log-file logs/SOURCE/TIME.log --timeout T``, in its own process group: a
  Twisted reactor cannot be restarted, so the scheduler never runs one. A crawl
  still running ``grace`` seconds after its timeout gets SIGTERM (Scrapy closes
  it cleanly: status ``interrupted``, rewritten ``timed_out``), then SIGKILL.
- The crawl records its own ``crawl_runs`` row. When the child dies without
  finishing it (killed, crashed) the scheduler finishes it, and when the child
  never got as far as recording one, the scheduler records the row itself.
  Rows left ``running`` by a dead process (a crash while no scheduler ran) are
  marked failed at start and then every ``publish_every``.
- After each run the source's health is judged (presswatch/archive/health.py); a change
  of state goes to ``health_events`` and ``public/health.atom``.
- After every run that archived something, the feeds are published
  (feeds.publish, in this process, one publish at a time), and once every
  ``publish_every`` anyway.
- On start, a source whose last successful run is older than its interval (or,
  for cron sources, older than the last scheduled time) runs at once: once,
  not once per missed slot.
- SIGTERM / SIGINT: no new runs; running crawls get SIGTERM and ``grace``
  seconds to close, then SIGKILL (a second signal kills them at once). Every
  item is committed in its own transaction, so the archive stays consistent.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from crawler.process import (
    POLL_SECONDS,
    SHUTDOWN,
    TIMEOUT,
    crawl_log_path,
    describe_exit,
    kill_group,
    last_line,
    pid_alive,
    prune_logs,
    start_crawl,
    supervise,
)
from feeds.health import write_health_feed
from feeds.notify import notify_after_publish
from feeds.publish import publish_feeds
from feeds.publisher import Publisher
from presswatch.archive import health
from presswatch.archive.db import open_archive
from presswatch.archive.outcomes import RunStatus
from presswatch.archive.runs import (
    amend_run,
    last_run_id,
    last_successful_starts,
    record_run,
    recover_orphaned_runs,
    run_of_process,
    running_pids,
)
from presswatch.archive.times import to_utc_text, utc_now
from presswatch.config.cron import source_trigger
from presswatch.config.files import ConfigError
from presswatch.config.paths import DEFAULT_BASE_URL, DEFAULT_PUBLIC
from presswatch.config.sources import Source, SourceList, load_sources
from presswatch.config.subscriptions import load_subscriptions
from presswatch.config.topics import load_topics

logger = logging.getLogger("presswatch.scheduler")

DEFAULT_MAX_CRAWLS = 2
DEFAULT_CRAWL_TIMEOUT = 3600.0  # seconds
DEFAULT_GRACE = 30.0  # seconds between SIGTERM and SIGKILL
DEFAULT_PUBLISH_EVERY = timedelta(hours=1)
DEFAULT_KEEP_LOGS = 200  # crawl logs kept per source

# crawl_runs status of a crawl the scheduler had to stop, by why it stopped it.
_STOPPED_STATUS = {SHUTDOWN: RunStatus.INTERRUPTED, TIMEOUT: RunStatus.TIMED_OUT}


class SchedulerError(Exception):
    """The scheduler cannot start (one line for the user)."""


def default_crawl_command() -> list[str]:
    return [sys.executable, "-m", "presswatch", "crawl"]


@dataclass
class SchedulerConfig:
    db_path: Path
    sources_path: Path
    topics_path: Path | None = None  # None: feeds are not published
    public_dir: Path = DEFAULT_PUBLIC
    log_dir: Path = Path("logs")
    mirror: str | None = None
    base_url: str = DEFAULT_BASE_URL
    max_crawls: int = DEFAULT_MAX_CRAWLS
    crawl_timeout: float = DEFAULT_CRAWL_TIMEOUT
    grace: float = DEFAULT_GRACE
    publish_every: timedelta = DEFAULT_PUBLISH_EVERY
    publish_limit: int = 50
    crawl_workers: int | None = None  # --workers of each crawl (None: the crawl's default)
    redis_url: str | None = None  # crawls join this shared crawl; `presswatch store` writes (issue 20)
    writer_wait: float = 120.0  # seconds a shared crawl's run may take to reach the archive via the writer
    crawl_command: Sequence[str] = field(default_factory=default_crawl_command)
    keep_logs: int = DEFAULT_KEEP_LOGS
    thresholds: health.Thresholds = health.DEFAULT_THRESHOLDS
    subscriptions_path: Path | None = None  # None: no digests or alerts (`presswatch notify`)

    def __post_init__(self) -> None:
        if self.max_crawls < 1:
            raise ValueError("max_crawls must be at least 1")
        if isinstance(self.crawl_command, str):
            self.crawl_command = shlex.split(self.crawl_command)


# ---------------------------------------------------------------- triggers

def next_due(source: Source, last_ok: datetime | None) -> datetime | None:
    """When the run after ``last_ok`` (the start of the last successful run) was due.

    None when the source never ran successfully. Interval sources: one interval
    later. Cron sources: the first scheduled time after it.
    """
    if last_ok is None:
        return None
    if source.schedule.every is not None:
        return last_ok + source.schedule.every
    trigger = source_trigger(source, jitter=False)
    after = last_ok + timedelta(seconds=1)
    return trigger.get_next_fire_time(None, after)


def is_overdue(source: Source, last_ok: datetime | None, now: datetime) -> bool:
    due = next_due(source, last_ok)
    return due is None or due <= now


# ---------------------------------------------------------------- the scheduler


class Scheduler:
    """The presswatch scheduler. ``start()`` / ``stop()``, or ``run_forever()`` until a signal."""

    def __init__(self, config: SchedulerConfig):
        self.config = config
        self.sources: SourceList = load_sources(config.sources_path)  # ConfigError: refuse to start
        self.enabled = self.sources.enabled()
        if not self.enabled:
            raise ConfigError(f"{config.sources_path}: no enabled source to schedule")
        for source in self.enabled:
            source_trigger(source)  # a cron day this scheduler cannot read: refuse now
        if config.topics_path is not None:
            load_topics(config.topics_path)  # ConfigError: refuse to start
        if config.subscriptions_path is not None:
            load_subscriptions(config.subscriptions_path)  # ConfigError: refuse to start
        self._stopping = threading.Event()
        self._signalled = False  # set by the signal handler: a plain flag, no lock
        self._kill_now = threading.Event()
        self._children: dict[str, subprocess.Popen] = {}
        self._children_lock = threading.Lock()
        self._source_locks = {source.id: threading.Lock() for source in self.enabled}
        self._health_lock = threading.Lock()  # health verdicts and health.atom, one at a time
        self._lock_file: Any = None
        self.publisher = Publisher(self._publish)
        self._aps = BackgroundScheduler(
            executors={
                "default": ThreadPoolExecutor(config.max_crawls),  # the crawls
                "housekeeping": ThreadPoolExecutor(1),
            },
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=UTC,
        )

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        config = self.config
        self._take_lock()
        now = datetime.now(UTC)
        db = open_archive(config.db_path)
        try:
            for row in recover_orphaned_runs(db, alive=pid_alive):
                logger.warning("%s: run %d: %s; marked failed", row["source"], row["id"], row["reason"])
            last_ok = last_successful_starts(db)
            with self._health_lock:
                write_health_feed(db, config.public_dir, config.base_url)
        finally:
            db.close()
        for source in self.enabled:
            self._add_source_job(source, last_ok.get(source.id), now)
        self._aps.add_job(
            self._housekeeping, IntervalTrigger(seconds=config.publish_every.total_seconds(), timezone=UTC),
            id="housekeeping", name="safety publish and checks", executor="housekeeping",
            next_run_time=now, misfire_grace_time=None,
        )
        self.publisher.start()
        self._aps.start()
        for source_id, when in self.next_runs().items():
            source = self.sources.get(source_id)
            logger.info("%s: %s, next run %s", source_id, source.schedule.describe(),
                        to_utc_text(when) if when else "-")
        logger.info(
            "scheduler started (pid %d): %d source(s), at most %d crawl(s) at once, crawl timeout %gs, "
            "archive %s", os.getpid(), len(self.enabled), config.max_crawls, config.crawl_timeout,
            config.db_path,
        )

    def _add_source_job(self, source: Source, last_ok: datetime | None, now: datetime) -> None:
        options: dict[str, Any] = {}
        if is_overdue(source, last_ok, now):
            options["next_run_time"] = now
            since = f"last successful run {to_utc_text(last_ok)}" if last_ok else "never ran successfully"
            logger.info("%s: overdue (%s, %s): runs now", source.id, source.schedule.describe(), since)
        elif source.schedule.every is not None:
            options["next_run_time"] = next_due(source, last_ok)
        self._aps.add_job(
            self.run_source, source_trigger(source), args=[source.id], id=f"crawl:{source.id}",
            name=f"crawl {source.id}", max_instances=1, coalesce=True,
            # A late crawl is better than a skipped one: however late (a busy pool, a
            # suspended host), a run happens, and coalesce makes a backlog one run.
            misfire_grace_time=None,
            **options,
        )

    def stop(self) -> None:
        """Stop: no new runs, running crawls stopped (SIGTERM, SIGKILL after the grace period)."""
        with self._children_lock:
            self._stopping.set()
            running = sorted(self._children)
        if running:
            logger.info("stopping: %d crawl(s) running (%s), grace %gs", len(running), ", ".join(running),
                        self.config.grace)
        self.publisher.close()
        if self._aps.running:
            self._aps.shutdown(wait=True)  # the jobs stop their crawls and return
        self.publisher.join(timeout=self.config.grace + 60)
        self._release_lock()
        logger.info("scheduler stopped")

    def run_forever(self) -> None:
        """Run until SIGTERM or SIGINT (a second one kills running crawls at once)."""
        # The handler only sets flags (no lock the interrupted main thread might hold);
        # jobs check them before starting a crawl, so none starts after the signal.
        def handler(signum: int, frame: Any) -> None:
            if not self._signalled:
                self._signalled = True
                logger.info("%s: stopping", signal.Signals(signum).name)
            elif not self._kill_now.is_set():
                logger.warning("%s again: killing running crawls now", signal.Signals(signum).name)
                self._kill_now.set()  # only ever set here; the crawl threads only read it

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            while not self._signalled:
                time.sleep(0.2)
        finally:
            try:
                self.stop()
            finally:
                for sig, old in previous.items():
                    signal.signal(sig, old)

    def _stop_requested(self) -> bool:
        return self._signalled or self._stopping.is_set()

    def _take_lock(self) -> None:
        path = Path(f"{self.config.db_path}.scheduler.lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            other = handle.read().strip() or "?"
            handle.close()
            raise SchedulerError(
                f"{self.config.db_path}: another scheduler (pid {other}) is running on this archive"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock_file = handle

    def _release_lock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    # ------------------------------------------------------------ one scheduled run

    def run_source(self, source_id: str) -> dict[str, Any] | None:
        """The job of a source: crawl it in a child process, judge its health, publish."""
        if self._stop_requested():
            return None
        lock = self._source_locks.get(source_id) or threading.Lock()
        if not lock.acquire(blocking=False):
            logger.warning("%s: still running: this slot is skipped", source_id)
            return None
        try:
            other = self._foreign_crawl(source_id)
            if other is not None:
                logger.warning("%s: a crawl of it is already running (pid %d): this slot is skipped",
                               source_id, other)
                return None
            run = self.crawl(source_id)
            if run is not None:
                self.after_run(source_id, run)
            return run
        except Exception:
            logger.exception("%s: the scheduled run went wrong", source_id)
            return None
        finally:
            lock.release()

    def crawl_args(self, source_id: str, log_path: Path) -> list[str]:
        config = self.config
        args = [
            *config.crawl_command, source_id,
            "--db", str(Path(config.db_path).resolve()),
            "--sources", str(Path(config.sources_path).resolve()),
            "--log-file", str(log_path),
            "--timeout", f"{config.crawl_timeout:g}",
        ]
        if config.mirror:
            args += ["--mirror", config.mirror]
        if config.crawl_workers is not None:
            args += ["--workers", str(config.crawl_workers)]
        if config.redis_url:
            args += ["--redis", config.redis_url]
        return args

    def crawl(self, source_id: str) -> dict[str, Any] | None:
        """Run one crawl of ``source_id`` in a child process; return its finished crawl_runs row."""
        config = self.config
        started = datetime.now(UTC)
        log_path = crawl_log_path(Path(self.config.log_dir), source_id, started)
        db = open_archive(config.db_path)
        try:
            before = last_run_id(db)
        finally:
            db.close()
        args = self.crawl_args(source_id, log_path)
        with self._children_lock:
            if self._stop_requested():
                return None
            try:
                child = start_crawl(args, log_path)
            except OSError as exc:
                return self._own_row(source_id, started, None, log_path, RunStatus.FAILED,
                                     f"the crawl process could not start: {exc}")
            self._children[source_id] = child
        logger.info("%s: crawl started (pid %d), log %s", source_id, child.pid, log_path)
        try:
            returncode, why = supervise(child, source_id, timeout=config.crawl_timeout, grace=config.grace,
                                        stop_requested=self._stop_requested, kill_now=self._kill_now.is_set)
            if returncode != 0:
                kill_group(child.pid)  # leftovers of a crashed crawl (extraction workers)
            if config.redis_url:
                self._wait_for_writer(source_id, child.pid, before)
            return self._finish(source_id, child, returncode, why, before, started, log_path)
        finally:
            with self._children_lock:
                self._children.pop(source_id, None)
            prune_logs(log_path.parent, self.config.keep_logs)

    def _wait_for_writer(self, source_id: str, pid: int, before: int) -> None:
        """A shared crawl's run reaches the archive through the stream: wait (bounded) until the
        writer (`presswatch store`) has recorded its end."""
        deadline = time.monotonic() + self.config.writer_wait
        while time.monotonic() < deadline and not self._stop_requested():
            db = open_archive(self.config.db_path)
            try:
                row = db.execute("SELECT 1 FROM crawl_runs WHERE id > ? AND pid = ? AND source = ? "
                                 "AND status != 'running'", [before, pid, source_id]).fetchone()
            finally:
                db.close()
            if row is not None:
                return
            time.sleep(POLL_SECONDS * 5)
        logger.warning("%s: the writer has not recorded the run of crawl pid %d (is `presswatch store` "
                       "running?)", source_id, pid)

    def _finish(self, source_id: str, child: subprocess.Popen[bytes], returncode: int, why: str | None,
                before: int, started: datetime, log_path: Path) -> dict[str, Any]:
        """The crawl's row, completed when the child could not complete it."""
        exit_text = describe_exit(returncode)
        db = open_archive(self.config.db_path)
        try:
            run = run_of_process(db, source_id, child.pid, before)
            if run is None:
                status = _STOPPED_STATUS.get(why or "", RunStatus.FAILED)
                reason = f"the crawl process {exit_text} before it recorded a run"
                last = last_line(log_path) if why is None else ""  # its own error message, if any
                reason += f": {last}" if last else ""
                return self._own_row(source_id, started, child.pid, log_path, status, reason, db=db)
            update: dict[str, Any] = {}
            if run["status"] == RunStatus.RUNNING:
                update = {
                    "status": _STOPPED_STATUS.get(why or "", RunStatus.FAILED),
                    "reason": f"the crawl process {exit_text} without finishing its run"
                    + (f" (crawl timeout {self.config.crawl_timeout:g}s)" if why == TIMEOUT else ""),
                    "finished": utc_now(),
                }
            elif why == TIMEOUT and run["status"] == RunStatus.INTERRUPTED:
                update = {
                    "status": RunStatus.TIMED_OUT,
                    "reason": f"still running after the crawl timeout ({self.config.crawl_timeout:g}s) "
                    f"and {self.config.grace:g}s of grace: stopped by the scheduler",
                }
            return amend_run(db, run, update)
        finally:
            db.close()

    def _own_row(self, source_id: str, started: datetime, pid: int | None, log_path: Path,
                 status: RunStatus, reason: str, db: sqlite_utils.Database | None = None) -> dict[str, Any]:
        """Record a run the crawl process did not record itself."""
        archive = db or open_archive(self.config.db_path)
        try:
            return record_run(archive, source_id, started=to_utc_text(started), pid=pid,
                              log_path=str(log_path), status=status, reason=reason)
        finally:
            if db is None:
                archive.close()

    def after_run(self, source_id: str, run: dict[str, Any]) -> None:
        """Judge the source's health after a run and publish when the run archived something."""
        with self._health_lock:
            db = open_archive(self.config.db_path)
            try:
                verdict, event = health.check_source(db, source_id, datetime.now(UTC), self.config.thresholds)
                run = dict(db.table("crawl_runs").get(run["id"]))
                if event is not None:
                    write_health_feed(db, self.config.public_dir, self.config.base_url)
            finally:
                db.close()
        logger.info(
            "%s: run %d %s: %d pages, %d new, %d updated, %d errors%s", source_id, run["id"], run["status"],
            run["pages_fetched"], run["items_new"], run["items_updated"], run["http_errors"] + run["errors"],
            f" ({run['reason']})" if run["reason"] else "",
        )
        if event is not None:
            log = logger.warning if event.new_state == health.DEGRADED else logger.info
            log("%s: health %s -> %s%s", source_id, event.old_state, event.new_state,
                f": {event.reason}" if event.reason else "")
        archived = run["items_new"] + run["items_updated"] + (run.get("items_removed") or 0)
        if archived and not self._stop_requested():
            self.publisher.request(f"{source_id} archived {archived} change(s)")

    # ------------------------------------------------------------ periodic work

    def _housekeeping(self) -> None:
        """Every publish_every: finish orphaned rows, re-judge every source (stale), publish."""
        if self._stop_requested():
            return
        try:
            with self._children_lock:
                mine = {child.pid for child in self._children.values()}
            with self._health_lock:
                db = open_archive(self.config.db_path)
                try:
                    for row in recover_orphaned_runs(db, alive=pid_alive, keep=mine):
                        logger.warning("%s: run %d: %s; marked failed", row["source"], row["id"],
                                       row["reason"])
                    changed = False
                    now = datetime.now(UTC)
                    for source in self.enabled:
                        if self._source_locks[source.id].locked():
                            continue  # judged when its run ends
                        _verdict, event = health.check_source(db, source.id, now, self.config.thresholds)
                        if event is not None:
                            changed = True
                            logger.warning("%s: health %s -> %s%s", source.id, event.old_state,
                                           event.new_state, f": {event.reason}" if event.reason else "")
                    if changed:
                        write_health_feed(db, self.config.public_dir, self.config.base_url)
                finally:
                    db.close()
        except Exception:
            logger.exception("housekeeping failed")
        self.publisher.request("periodic publish")

    def _publish(self, reasons: list[str]) -> None:
        config = self.config
        if config.topics_path is not None:
            started = time.monotonic()
            report = publish_feeds(config.db_path, config.public_dir, config.topics_path,
                                   config.publish_limit, base_url=config.base_url,
                                   sources_path=config.sources_path)
            logger.info("published feeds (%s) in %.1fs: %d file(s) changed", "; ".join(reasons),
                        time.monotonic() - started, len(report.changed))
        with self._health_lock:
            db = open_archive(config.db_path)
            try:
                write_health_feed(db, config.public_dir, config.base_url)
            finally:
                db.close()
        if config.subscriptions_path is not None:
            notify_after_publish(config.db_path, config.subscriptions_path, config.sources_path)

    def _foreign_crawl(self, source_id: str) -> int | None:
        """The pid of a crawl of ``source_id`` this scheduler did not start, still running."""
        db = open_archive(self.config.db_path)
        try:
            pids = running_pids(db, source_id)
        finally:
            db.close()
        return next((pid for pid in pids if pid_alive(pid)), None)

    # ------------------------------------------------------------ introspection (tests, status)

    def running_crawls(self) -> dict[str, int]:
        with self._children_lock:
            return {source_id: child.pid for source_id, child in self._children.items()}

    def next_runs(self) -> dict[str, datetime | None]:
        return {job.id.removeprefix("crawl:"): job.next_run_time
                for job in self._aps.get_jobs() if job.id.startswith("crawl:")}


def setup_logging(log_dir: Path, level: int = logging.INFO) -> None:
    """Log to stdout and to log_dir/scheduler.log (rotated at 5 MB, 5 kept)."""
    from logging.handlers import RotatingFileHandler

    log_dir.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    formatter.converter = time.gmtime  # UTC, like the archive
    formatter.default_time_format = "%Y-%m-%dT%H:%M:%SZ"
    formatter.default_msec_format = None
    handlers: list[logging.Handler] = [
        logging.StreamHandler(sys.stdout),
        RotatingFileHandler(log_dir / "scheduler.log", maxBytes=5 * 1024 * 1024, backupCount=5,
                            encoding="utf-8"),
    ]
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # our own lines say what runs
