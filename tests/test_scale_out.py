"""A shared crawl over Redis (issue 20): crawl processes, the one writer, and kill -9.

Real parts: Debian's redis-server started on a free port on 127.0.0.1 (installed
by `make test`; the tests skip only when it is not installed), the sample sites
over HTTP, the real `presswatch crawl --redis` and `presswatch store` commands in
child processes, real SQLite archives compared with the one-process crawl of
conftest's `crawled` fixture.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.redis_server import RedisServer, RedisUnavailable
from pipelines.stream import KNOWN, STREAM, due_key
from tests.conftest import ROOT, SOURCES


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    try:
        server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    except RedisUnavailable as exc:
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    redis_server.flush()
    return redis_server.url


def crawl_process(redis_url: str, mirror: str, log: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "presswatch", "crawl", "--redis", redis_url, "--mirror", mirror,
               "--sources", str(SOURCES), "--workers", "0", "--set", "PRESSWATCH_REDIS_DEAD_AFTER=3", *extra]
    with open(log, "ab") as out:
        return subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def store_process(redis_url: str, db: Path, log: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "presswatch", "store", "--redis", redis_url, "--db", str(db),
               "--sources", str(SOURCES), "--consumer", "test-writer", "--dead-after", "3", *extra]
    with open(log, "ab") as out:
        return subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def finished(process: subprocess.Popen, log: Path, timeout: float = 240) -> None:
    assert process.wait(timeout=timeout) == 0, log.read_text(errors="replace")[-3000:]


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        found = conn.execute(sql).fetchall()
    conn.close()
    return found


def archived(db: Path) -> set[tuple[str, str]]:
    return set(rows(db, "SELECT url, content_hash FROM items"))


def topics(db: Path) -> set[tuple[str, str]]:
    return set(rows(db, "SELECT i.url, t.topic FROM item_topics t JOIN items i ON i.id = t.item_id"))


def stories(db: Path) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = {}
    for story, url in rows(db, "SELECT story_id, url FROM items"):
        groups.setdefault(story, set()).add(url)
    return {frozenset(urls) for urls in groups.values()}


def first_crawl_items(crawled) -> set[tuple[str, str]]:
    """The one-process crawl's items (its second crawl of the unchanged sites changed nothing)."""
    return archived(crawled.db_path)


def test_two_crawl_processes_and_a_writer_archive_what_one_process_does(crawled, sample_server, redis_url,
                                                                         tmp_path):
    import redis

    db = tmp_path / "shared.db"
    logs = [tmp_path / "crawl-a.log", tmp_path / "crawl-b.log"]
    crawls = [crawl_process(redis_url, sample_server.url, log) for log in logs]
    for process, log in zip(crawls, logs, strict=True):
        finished(process, log)
    writer_log = tmp_path / "store.log"
    finished(store_process(redis_url, db, writer_log, "--until-idle"), writer_log)

    expected = first_crawl_items(crawled)
    assert len(expected) == 81
    assert archived(db) == expected
    assert topics(db) == topics(crawled.db_path)
    assert stories(db) == stories(crawled.db_path)
    assert set(rows(db, "SELECT url, source, reason FROM duplicates")) == set(
        rows(crawled.db_path, "SELECT url, source, reason FROM duplicates"))
    # What main's store, story and classify steps now also write: topic scores, where each title
    # came from, and no derived_pending mark left behind (the writer clears them in its transaction).
    scored = "SELECT i.url, t.topic, round(t.score, 6) FROM item_topics t JOIN items i ON i.id = t.item_id"
    assert set(rows(db, scored)) == set(rows(crawled.db_path, scored))
    assert all(score is not None for _url, _topic, score in rows(db, scored))
    titled = "SELECT url, title, title_source FROM items"
    assert set(rows(db, titled)) == set(rows(crawled.db_path, titled))
    assert rows(db, "SELECT COUNT(*) FROM items WHERE title_source IS NULL") == [(0,)]
    assert rows(db, "SELECT COUNT(*) FROM derived_pending") == [(0,)]
    # One crawl_runs row per process and source, all ok, the items counted once.
    runs = rows(db, "SELECT source, status, items_new, items_duplicate FROM crawl_runs")
    sources = rows(crawled.db_path, "SELECT DISTINCT source FROM crawl_runs")
    assert len(sources) == 10  # the enabled ones
    assert len(runs) == 2 * 10
    assert {status for _source, status, _new, _dup in runs} == {"ok"}
    assert sum(new for _source, _status, new, _dup in runs) == 81
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    # Each page was fetched once by one of the two (the shared duplicate filter), and both worked.
    assert all("joined the shared crawl" in log.read_text() for log in logs)
    client = redis.Redis.from_url(redis_url)
    assert client.xlen(STREAM) == 0  # every entry applied, acknowledged and deleted
    assert not client.keys("presswatch:*:requests")  # the round is over: no frontier left
    assert client.hlen(KNOWN) >= 81  # the summary the next crawl reads
    assert client.zcard(due_key("moldova")) == len(rows(db, "SELECT id FROM items WHERE source = 'moldova'"))

    # The next crawl is incremental from the summary: no new item, no item page fetched again
    # (nothing is due for a re-check yet), as the one-process second crawl.
    before = len(sample_server.requests)
    again_log = tmp_path / "crawl-again.log"
    finished(crawl_process(redis_url, sample_server.url, again_log), again_log)
    requests_again = list(sample_server.requests)[before:]
    finished(store_process(redis_url, db, writer_log, "--until-idle"), writer_log)
    assert archived(db) == expected
    latest = rows(db, "SELECT SUM(items_new), SUM(items_updated) FROM crawl_runs WHERE id > 20")
    assert latest == [(0, 0)]
    assert len(requests_again) == len(crawled.requests_second)


def test_a_killed_writer_resumes_with_nothing_lost_or_duplicated(crawled, sample_server, redis_url, tmp_path):
    db = tmp_path / "shared.db"
    crawl_log = tmp_path / "crawl.log"
    finished(crawl_process(redis_url, sample_server.url, crawl_log), crawl_log)
    writer_log = tmp_path / "store.log"
    # One entry per transaction, so that the kill lands between commits and acknowledgements.
    writer = store_process(redis_url, db, writer_log, "--batch", "1")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if rows(db, "SELECT COUNT(*) FROM items")[0][0] >= 20:
                break
        except sqlite3.Error:
            pass
        time.sleep(0.05)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    killed_at = rows(db, "SELECT COUNT(*) FROM items")[0][0]
    assert 20 <= killed_at < 81
    finished(store_process(redis_url, db, writer_log, "--until-idle"), writer_log)

    assert archived(db) == first_crawl_items(crawled)
    assert rows(db, "SELECT COUNT(*) FROM items") == [(81,)]
    assert rows(db, "SELECT COUNT(*) FROM item_versions") == [(0,)]
    # No problem recorded twice (each is one stream entry, applied once).
    assert rows(db, "SELECT run_id, url, problem, COUNT(*) FROM crawl_problems "
                    "GROUP BY run_id, url, problem HAVING COUNT(*) > 1") == []
    assert sum(new for (new,) in rows(db, "SELECT items_new FROM crawl_runs")) == 81
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]


def test_a_killed_crawl_process_loses_no_request(crawled, sample_server, redis_url, tmp_path):
    db = tmp_path / "shared.db"
    writer_log = tmp_path / "store.log"
    writer = store_process(redis_url, db, writer_log, "--until-idle")
    slow = ("--set", "DOWNLOAD_DELAY=0.1", "--set", "RANDOMIZE_DOWNLOAD_DELAY=False",
            "--set", "CONCURRENT_REQUESTS_PER_DOMAIN=1")
    logs = [tmp_path / "crawl-a.log", tmp_path / "crawl-b.log"]
    victim, survivor = (crawl_process(redis_url, sample_server.url, log, *slow) for log in logs)
    # Kill one once the writer has archived some of its items: it is mid-crawl, holding requests.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if rows(db, "SELECT COUNT(*) FROM items")[0][0] >= 10:
                break
        except sqlite3.Error:
            pass
        time.sleep(0.05)
    assert victim.poll() is None, "the crawl finished before it could be killed"
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    finished(survivor, logs[1])
    finished(writer, writer_log)

    assert archived(db) == first_crawl_items(crawled)
    assert rows(db, "SELECT COUNT(*) FROM item_versions") == [(0,)]
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    statuses = [status for (status,) in rows(db, "SELECT status FROM crawl_runs")]
    # The killed process's runs never ended; the survivor's did.
    assert statuses.count("ok") == 10 and set(statuses) <= {"ok", "running"}


def test_a_writer_dying_between_commit_and_acknowledgement_applies_nothing_twice(sample_server, redis_url,
                                                                                 tmp_path, monkeypatch):
    from pipelines.stream import connect
    from pipelines.stream_writer import StreamWriter
    from presswatch.config.sources import load_sources

    crawl_log = tmp_path / "crawl.log"
    finished(crawl_process(redis_url, sample_server.url, crawl_log, "moldova"), crawl_log)
    db = tmp_path / "shared.db"
    sources = load_sources(SOURCES)
    first = StreamWriter(connect(redis_url), db, sources, consumer="writer", batch=100)
    first.prepare()
    entries = first.read(0)
    kinds = sorted(fields[b"kind"].decode() for _id, fields in entries)
    assert kinds == ["article"] * 4 + ["run_end", "run_start"]

    class Died(Exception):
        pass

    def die(*args, **kwargs):
        raise Died  # the moment after the commit, before XACK

    monkeypatch.setattr(first.client, "pipeline", die)
    with pytest.raises(Died):
        first.apply_batch(entries)
    first.close()
    committed = (rows(db, "SELECT url, content_hash, first_seen FROM items ORDER BY url"),
                 rows(db, "SELECT * FROM crawl_runs"), rows(db, "SELECT url, problem FROM crawl_problems"))
    assert len(committed[0]) == 4 and committed[1][0][1] == "moldova"

    second = StreamWriter(connect(redis_url), db, sources, consumer="writer")
    second.prepare()
    report = second.run(until_idle=True, grace=0, dead_after=3)
    second.close()
    assert (report.already_applied, report.entries) == (6, 0)  # acknowledged, not applied again
    assert (rows(db, "SELECT url, content_hash, first_seen FROM items ORDER BY url"),
            rows(db, "SELECT * FROM crawl_runs"), rows(db, "SELECT url, problem FROM crawl_problems")) == committed
    assert connect(redis_url).xpending("presswatch:items", "writers")["pending"] == 0


def test_schedule_with_redis_runs_crawls_that_join_the_shared_crawl(sample_server, redis_url, tmp_path):
    import scheduler as scheduler_module

    db = tmp_path / "presswatch.db"
    writer_log = tmp_path / "store.log"
    writer = store_process(redis_url, db, writer_log)  # the archive machine's writer, running throughout
    try:
        config = scheduler_module.SchedulerConfig(
            db_path=db, sources_path=SOURCES, public_dir=tmp_path / "public", log_dir=tmp_path / "logs",
            mirror=sample_server.url, crawl_workers=0, redis_url=redis_url, writer_wait=60,
        )
        runner = scheduler_module.Scheduler(config)
        run = runner.run_source("moldova")
    finally:
        writer.send_signal(signal.SIGTERM)  # stops after the batch in hand
        assert writer.wait(timeout=60) == 0, writer_log.read_text()[-2000:]
    assert run is not None
    assert (run["source"], run["status"], run["items_new"]) == ("moldova", "ok", 4)
    crawl_log = next((tmp_path / "logs" / "moldova").glob("*.log")).read_text()
    assert f"Joining the shared crawl on {redis_url}" in crawl_log
    assert rows(db, "SELECT COUNT(*) FROM items WHERE source = 'moldova'") == [(4,)]


def test_a_process_holding_a_request_keeps_the_crawl_open_and_its_death_puts_it_back(redis_url):
    import redis
    from scrapy.utils.test import get_crawler

    from crawler.distributed import CrawlCoordinator, source_key

    crawler = get_crawler(settings_dict={"PRESSWATCH_REDIS": redis_url, "PRESSWATCH_REDIS_DEAD_AFTER": 3})
    coordinator = CrawlCoordinator(crawler)
    coordinator.source = "moldova"
    client = redis.Redis.from_url(redis_url)
    client.set(source_key("moldova", "seeded"), "someone")
    other = "crawl-2:4242:abcdef"
    client.zadd(source_key("moldova", "alive"), {other: time.time()})
    # It popped a request (recorded in flight) but had not said it was busy when this one looked.
    client.hset(source_key("moldova", "workers"), other, "idle")
    client.hset(coordinator.inflight_of(other), "token", b"-1\nthe pickled request")
    assert coordinator.frontier_done() is False
    # It stops sending heartbeats: dead. Its request goes back to the frontier, with its priority.
    client.zadd(source_key("moldova", "alive"), {other: time.time() - 10})
    assert coordinator.frontier_done() is False
    assert client.zrange(coordinator.queue_key, 0, -1, withscores=True) == [(b"the pickled request", -1.0)]
    assert client.exists(coordinator.inflight_of(other)) == 0
    assert client.hget(source_key("moldova", "workers"), other) is None
    client.delete(coordinator.queue_key)
    assert coordinator.frontier_done() is True
    client.close()
    coordinator.client.close()
