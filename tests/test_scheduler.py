"""The real scheduler (`presswatch schedule` in a child process) against the sample sites.

Schedules are in seconds. Crawls go through tests/crawl_wrapper.py (the
scheduler's hidden --crawl-command), which runs the real crawl unless told to
make a source slow, crash, hang or fail to start.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import feedparser
import pytest

import scheduler as scheduler_module
from presswatch.archive.db import open_archive
from presswatch.archive.times import to_utc_text
from tests.conftest import presswatch
from tests.scheduler_support import (
    WRAPPER,
    SchedulerProcess,
    integrity,
    most_at_once,
    query,
    runs,
    sources_file,
    spans,
    trace_events,
    wait_for,
)

MOLDOVA_ITEMS = 4  # content.toml: 2 English and 2 Romanian releases


def test_crawls_run_in_child_processes_never_overlap_and_survive_crashes_and_sigterm(tmp_path, sample_server):
    sources = sources_file(tmp_path / "sources.toml", {
        "moldova": 'every = "1s"', "armenia": 'every = "1s"', "lithuania": 'every = "1s"',
        "eca-news": 'every = "1s"',
    })
    trace = tmp_path / "trace.txt"
    env = {"PRESSWATCH_TEST_CRAWL": "armenia=slow:0.4,lithuania=crash,eca-news=fail-start",
           "PRESSWATCH_TEST_TRACE": str(trace)}
    sched = SchedulerProcess(tmp_path, sources, "--max-crawls", "2", "--no-publish", "--grace", "10",
                             mirror=sample_server.url, env=env)
    db = sched.db_path
    try:
        def ready():
            rows = runs(db)
            crashes = [r for r in rows if r["source"] == "lithuania" and r["status"] == "failed"]
            if not crashes:
                return None
            after_crash = [r for r in rows if r["source"] == "moldova" and r["status"] == "ok"
                           and r["id"] > crashes[0]["id"] and r["started"] >= crashes[0]["finished"]]
            cannot_start = [r for r in rows if r["source"] == "eca-news" and r["status"] == "failed"]
            armenia = [r for r in rows if r["source"] == "armenia"]
            armenia_done = [r for r in armenia if r["status"] == "ok"]
            armenia_now = [r for r in armenia if r["status"] == "running"]
            if after_crash and cannot_start and armenia_done and armenia_now:
                return armenia_now[-1]
            return None

        running = wait_for(ready, 50, "a crash, a run after it, a failed start and a slow crawl running",
                           interval=0.2)
        terminated_at = time.time()
        status = sched.stop(timeout=30)
    finally:
        sched.kill()
    log = sched.log()
    assert status == 0, log[-3000:]
    assert "SIGTERM: stopping" in log and "scheduler stopped" in log

    rows = runs(db)
    # every run finished with a status; none is left running
    assert rows and all(r["status"] != "running" and r["finished"] for r in rows), rows
    # each crawl in its own process (and process group), never the scheduler's
    pids = [r["pid"] for r in rows]
    assert None not in pids
    assert len(set(pids)) == len(pids)
    assert sched.pid not in pids and os.getpid() not in pids
    events = trace_events(trace)
    assert {pid for _e, _s, pid, _t, _g in events} == set(pids)
    assert all(group == pid for _e, _s, pid, _t, group in events)
    # at most --max-crawls at once (the pool was full at times)
    crawls = spans(events)
    assert most_at_once([(start, end or terminated_at + 60) for _s, start, end in crawls.values()]) == 2
    # the slow source never overlapped itself
    armenia = sorted((start, end) for source, start, end in crawls.values() if source == "armenia")
    assert len(armenia) >= 2
    for (_, end), (next_start, _) in zip(armenia, armenia[1:], strict=False):
        assert end is not None and end <= next_start, armenia
    # no crawl started after SIGTERM (a child's own start-up takes a moment: 1 s of slack,
    # when queued runs would otherwise start as soon as the running crawls stop)
    assert all(start < terminated_at + 1 for _source, start, _end in crawls.values())

    # the crash: the scheduler finished the row the dead crawl left running
    crashed = [r for r in rows if r["source"] == "lithuania" and r["status"] == "failed"]
    assert crashed and all(r["reason"] == "the crawl process was killed by SIGKILL without finishing its run"
                           for r in crashed)
    # the crawl that could not start: the scheduler recorded its row itself
    failed_start = [r for r in rows if r["source"] == "eca-news"]
    assert failed_start[0]["status"] == "failed"
    assert failed_start[0]["reason"] == (
        "the crawl process exited with status 3 before it recorded a run: "
        "crawl_wrapper: this crawl cannot start"
    )
    # the others went on: moldova archived everything, exactly once
    assert query(db, "SELECT COUNT(*), COUNT(DISTINCT url) FROM items WHERE source = 'moldova'")[0] \
        == (MOLDOVA_ITEMS, MOLDOVA_ITEMS)
    # SIGTERM during a crawl: its row has its status, and the archive is consistent
    stopped = next(r for r in rows if r["id"] == running["id"])
    assert stopped["status"] in ("interrupted", "ok"), stopped
    integrity(db)
    # every run has its own log
    assert all(r["log_path"] and os.path.exists(r["log_path"]) for r in rows)


def test_an_empty_listing_flips_the_source_to_degraded(tmp_path, sample_server):
    db = tmp_path / "presswatch.db"
    healthy = sources_file(tmp_path / "healthy.toml", {"moldova": 'every = "1s"'})
    first = SchedulerProcess(tmp_path, healthy, "--no-publish", mirror=sample_server.url, wrapper=False,
                             name="first")
    try:
        wait_for(lambda: len(runs(db, "source = 'moldova' AND status = 'ok'")) >= 3, 40,
                 "three good runs of moldova (its history)")
        assert first.stop() == 0, first.log()[-3000:]
    finally:
        first.kill()
    good = runs(db, "source = 'moldova'")
    assert [r["items_new"] for r in good if r["status"] == "ok"][0] == MOLDOVA_ITEMS
    assert all(r["items_skipped"] == MOLDOVA_ITEMS for r in good[1:] if r["status"] == "ok")

    # the same source, but its listing now lists nothing; ukraine is new and healthy
    broken = sources_file(tmp_path / "broken.toml", {"moldova": 'every = "1s"', "ukraine": 'every = "1h"'},
                          broken=("moldova",))
    second = SchedulerProcess(tmp_path, broken, mirror=sample_server.url, wrapper=False, name="second")
    try:
        wait_for(lambda: runs(db, "source = 'moldova' AND status = 'degraded'")
                 and "published feeds (ukraine archived 4 change(s))" in second.log(), 40,
                 "moldova degraded, and ukraine's new items published")
        assert second.stop() == 0, second.log()[-3000:]
    finally:
        second.kill()
    # The first run after the break (a later one, every second, may add "2 empty runs in a row").
    run = runs(db, "source = 'moldova' AND id > ? AND status != 'interrupted'", (good[-1]["id"],))[0]
    assert run["status"] == "degraded"
    good_runs = len([r for r in good if r["status"] == "ok"])  # 3, or 4 if one ended during the stop
    assert run["reason"] == f"found no items; {good_runs} of its previous {good_runs} good runs found some (typically 4)"
    assert "moldova: health ok -> degraded: found no items" in second.log()

    shown = presswatch("status", "--db", str(db), "--sources", str(broken))
    assert shown.returncode == 0, shown.stderr
    line = next(line for line in shown.stdout.splitlines() if line.startswith("moldova "))
    assert " degraded " in line and "found no items" in line
    ukraine = next(line for line in shown.stdout.splitlines() if line.startswith("ukraine "))
    assert " ok " in ukraine and "degraded" not in ukraine
    assert "1 degraded: moldova" in shown.stdout

    feed = feedparser.parse((tmp_path / "public" / "health.atom").read_bytes())
    assert not feed.bozo
    assert [entry.title for entry in feed.entries] == ["moldova is degraded (empty)"]
    assert "found no items" in feed.entries[0].content[0].value
    assert feed.feed.updated == feed.entries[0].updated
    # the topic feeds were published too, after the runs that archived something
    assert (tmp_path / "public" / "all.atom").exists()


def test_restart_after_a_pause_runs_each_overdue_source_once(tmp_path, sample_server):
    db_path = tmp_path / "presswatch.db"
    now = datetime.now(UTC)
    sources = sources_file(tmp_path / "sources.toml", {
        "moldova": 'every = "1h"',                         # last ok 3 h ago: 2 slots missed, runs once
        "ukraine": 'cron = "0 0 1 1 *"',                   # yearly; last ok 2 years ago: runs once
        "armenia": 'every = "1h"',                         # last ok 10 min ago: not due
        "lithuania": 'every = "1h", jitter = "30m"',       # last ok 5 h ago (a failure since): runs once
    })
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    db = open_archive(db_path)
    for source, ago, status in [("moldova", timedelta(hours=3), "ok"), ("ukraine", timedelta(days=730), "ok"),
                                ("armenia", timedelta(minutes=10), "ok"), ("lithuania", timedelta(hours=5), "ok"),
                                ("lithuania", timedelta(minutes=30), "failed")]:
        db["crawl_runs"].insert({"source": source, "started": to_utc_text(now - ago),
                                 "finished": to_utc_text(now - ago + timedelta(minutes=1)), "status": status,
                                 "pages_fetched": 5})
    orphan = db["crawl_runs"].insert({"source": "armenia", "started": to_utc_text(now - timedelta(hours=2)),
                                      "status": "running", "pid": dead.pid}).last_pk
    before = db.execute("SELECT MAX(id) FROM crawl_runs").fetchone()[0]
    db.close()

    sched = SchedulerProcess(tmp_path, sources, "--max-crawls", "3", "--no-publish", mirror=sample_server.url,
                             wrapper=False)
    try:
        wait_for(lambda: {r["source"] for r in runs(db_path, "id > ? AND status != 'running'", (before,))}
                 == {"moldova", "ukraine", "lithuania"}, 40, "the three overdue sources to run")
        time.sleep(2)  # time enough for a second run, were one (wrongly) scheduled
        assert sched.stop() == 0, sched.log()[-3000:]
    finally:
        sched.kill()
    new = runs(db_path, "id > ?", (before,))
    assert sorted(r["source"] for r in new) == ["lithuania", "moldova", "ukraine"]
    assert all(r["status"] == "ok" for r in new), new
    recovered = runs(db_path, "id = ?", (orphan,))[0]
    assert recovered["status"] == "failed"
    assert recovered["reason"] == f"crawl process {dead.pid} died without finishing its run"
    log = sched.log()
    assert "moldova: overdue (every 1h, last successful run" in log  # issue 16: as written
    assert "ukraine: overdue (cron 0 0 1 1 *" in log
    assert "armenia: every 1h, next run " in log


@pytest.fixture
def in_process(tmp_path, monkeypatch):
    """A Scheduler object (not started): tests call run_source() directly."""

    def make(crawl_command, **options):
        sources = sources_file(tmp_path / "sources.toml", {"moldova": 'every = "1h"'})
        config = scheduler_module.SchedulerConfig(
            db_path=tmp_path / "presswatch.db", sources_path=sources, public_dir=tmp_path / "public",
            log_dir=tmp_path / "logs", crawl_command=crawl_command, **options,
        )
        return scheduler_module.Scheduler(config)

    return make


def test_a_hung_crawl_is_stopped_after_its_timeout(in_process, monkeypatch):
    monkeypatch.setenv("PRESSWATCH_TEST_CRAWL", "moldova=hang")
    sched = in_process([sys.executable, str(WRAPPER)], crawl_timeout=2, grace=0.5)
    started = time.monotonic()
    run = sched.run_source("moldova")  # SIGTERM (ignored) after 2.5 s, SIGKILL 0.5 s later
    assert 3 <= time.monotonic() - started < 8
    assert run["status"] == "timed_out"
    assert run["reason"] == "the crawl process was killed by SIGKILL without finishing its run (crawl timeout 2s)"
    assert sched.running_crawls() == {}


def test_a_crawl_that_cannot_start_is_recorded(in_process):
    sched = in_process(["/nonexistent/presswatch-crawl"])
    run = sched.run_source("moldova")
    assert run["status"] == "failed" and run["pid"] is None
    assert run["reason"].startswith("the crawl process could not start: [Errno 2]")
    assert run["log_path"].endswith(".log")


def test_schedule_refuses_a_bad_sources_file(tmp_path):
    bad = tmp_path / "sources.toml"
    bad.write_text(sources_file(tmp_path / "ok.toml", {"moldova": 'every = "1h"'}).read_text()
                   .replace('every = "1h"', 'every = "6x"'))
    result = presswatch("schedule", "--db", str(tmp_path / "db.sqlite"), "--sources", str(bad),
                        "--log-dir", str(tmp_path / "logs"), timeout=60)
    assert result.returncode == 1
    line = next(number for number, text in enumerate(bad.read_text().splitlines(), 1) if "6x" in text)
    assert result.stderr.strip().splitlines() == [
        f"Error: {bad}:{line}: source 'moldova': schedule.every: '6x' is not a duration (use e.g. 90s, 30m, 6h, 1d)"
    ]
    assert not (tmp_path / "db.sqlite").exists()


def test_a_second_scheduler_on_the_same_archive_is_refused(tmp_path):
    sources = sources_file(tmp_path / "sources.toml", {"moldova": 'every = "1h"'})
    config = scheduler_module.SchedulerConfig(db_path=tmp_path / "db.sqlite", sources_path=sources,
                                              public_dir=tmp_path / "public", log_dir=tmp_path / "logs")
    first = scheduler_module.Scheduler(config)
    first._take_lock()
    try:
        with pytest.raises(scheduler_module.SchedulerError, match="another scheduler .* is running"):
            scheduler_module.Scheduler(config)._take_lock()
    finally:
        first._release_lock()
