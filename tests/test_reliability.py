"""Robustness: hostile servers, bad content and crashes lose nothing and stop nothing.

One crawl of the fault-injection host (presswatch/sample_sites/faults.py)
runs together with two well-behaved sources; each test checks one case:
bounded, recorded with its URL and reason, retried where that makes sense,
and the other sources unaffected. docs/reliability.md lists the same cases.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlite_utils

from presswatch.sample_sites.faults import FAULTS_HOST
from presswatch.sample_sites.server import SampleSiteServer, load_content
from tests.conftest import ROOT, SOURCES, presswatch

FAULTS = f"https://{FAULTS_HOST}"
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    sources = folder / "sources.toml"
    sources.write_text(SOURCES.read_text(encoding="utf-8") + "\n"
                       + (ROOT / "tests/data/faults_source.toml").read_text(encoding="utf-8"), encoding="utf-8")
    db_path = folder / "presswatch.db"
    with SampleSiteServer(faults=True) as server:
        started = time.monotonic()
        result = presswatch("crawl", "faults", "eca-news", "moldova", "--mirror", server.url, "--db", str(db_path),
                            "--sources", str(sources), "--set", "DOWNLOAD_TIMEOUT=3")
        elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-3000:]
    db = sqlite_utils.Database(db_path)
    problems: dict[str, list[tuple[str, str]]] = {}
    for row in db.query("SELECT url, problem, detail FROM crawl_problems"):
        problems.setdefault(row["url"], []).append((row["problem"], row["detail"]))
    items = {row["url"]: row for row in db.query("SELECT * FROM items")}
    return {"db": db, "problems": problems, "items": items, "server": server, "result": result,
            "elapsed": elapsed, "requests": server.requests, "state": server.fault_state}


def requests_to(faults, path: str) -> list[tuple[str, str, str, int]]:
    return [r for r in faults["requests"] if r[0] == FAULTS_HOST and r[2] == path]


def test_other_sources_unaffected(faults):
    runs = {row["source"]: row for row in faults["db"].query("SELECT * FROM crawl_runs")}
    assert runs["eca-news"]["status"] == "ok" and runs["eca-news"]["items_new"] == 4
    assert runs["moldova"]["status"] == "ok" and runs["moldova"]["items_new"] == 4
    expected = {f"https://{a['site']}{a['path']}" for a in load_content()["article"]
                if a["site"] == "moldova.iom.int" or a["path"].startswith("/news/") and a["site"] == "eca.iom.int"}
    archived = {url for url, row in faults["items"].items() if row["source"] in ("eca-news", "moldova")}
    assert archived == expected
    assert runs["faults"]["status"] == "ok"


def test_whole_crawl_is_bounded(faults):
    # The slow page (3 tries of 3 s) is the longest wait; nothing hangs the crawl.
    assert faults["elapsed"] < 60


@pytest.mark.parametrize(
    ("path", "problem", "detail"),
    [
        ("/item/error-500", "http_error", "HTTP 500"),
        ("/item/slow", "timeout", "took longer than 3.0 seconds"),
        ("/item/reset", "network_error", "Connection to the other side was lost"),
        ("/item/truncated", "network_error", "ResponseDataLoss"),
        ("/item/redirect-loop", "redirect_loop", "redirects back to https://faults.example.org/item/redirect-loop"),
        ("/item/redirect-away", "offsite", "redirects to https://elsewhere.example.net/stolen: not followed"),
        ("/item/huge", "too_large", "larger than download max size (20971520)"),
        ("/item/gzip-bomb", "too_large", "exceeded DOWNLOAD_MAXSIZE (20971520 B) during decompression"),
        ("/private/item", "robots", "Forbidden by robots.txt"),
    ],
)
def test_server_fault_recorded_with_url_and_reason(faults, path, problem, detail):
    recorded = faults["problems"].get(FAULTS + path, [])
    assert any(kind == problem and detail in text for kind, text in recorded), recorded
    assert FAULTS + path not in faults["items"]


def test_transient_errors_are_retried_then_given_up(faults):
    assert [r[3] for r in requests_to(faults, "/item/error-500")] == [500, 500, 500]
    # The slow page is noted when each request arrives (it answers after the client gave up).
    assert len(faults["state"].request_times["/item/slow"]) == 3


def test_503_waits_for_retry_after_then_archives(faults):
    assert [r[3] for r in requests_to(faults, "/item/busy-503")] == [503, 200]
    first, second = faults["state"].request_times["/item/busy-503"]
    assert second - first >= 0.95, "retried before the server's Retry-After: 1"
    assert faults["items"][FAULTS + "/item/busy-503"]["title"] == "Busy page, answered on retry"


def test_nothing_is_fetched_outside_the_source_or_against_robots(faults):
    hosts = {r[0] for r in faults["requests"]}
    assert "elsewhere.example.net" not in hosts
    assert requests_to(faults, "/private/item") == []


def test_endless_listing_stops_at_max_pages(faults):
    listing = [r for r in faults["requests"] if r[0] == FAULTS_HOST and r[2].startswith("/listing")]
    assert len(listing) == 5  # max_pages in tests/data/faults_source.toml


def test_pages_in_legacy_or_wrong_charsets_are_decoded(faults):
    items, problems = faults["items"], faults["problems"]
    assert items[FAULTS + "/item/no-charset"]["title"] == "Be koduotės"
    assert items[FAULTS + "/item/wrong-charset"]["title"] == "Neteisinga koduotė"
    assert problems[FAULTS + "/item/wrong-charset"] == [
        ("charset", "declared charset 'utf-8' is wrong: decoded as cp1257")]
    sixteen = items[FAULTS + "/item/utf-16"]
    assert sixteen["title"] == "Sixteen bits" and "Tarptautinė migracijos organizacija" in sixteen["body"]
    invalid = items[FAULTS + "/item/invalid-utf8"]
    assert "\ufffd" in invalid["body"] and invalid["title"] == "Invalid bytes"
    assert problems[FAULTS + "/item/invalid-utf8"] == [("charset", "invalid UTF-8 byte sequences replaced (3)")]


def test_malformed_html_is_archived(faults):
    row = faults["items"][FAULTS + "/item/malformed"]
    assert row["title"] == "Broken markup"
    assert row["body"].startswith("Geneva – The first paragraph never closes and nests badly")
    assert "document.write" not in row["body"]


def test_page_without_text_is_rejected_with_a_reason(faults):
    assert FAULTS + "/item/no-body" not in faults["items"]
    assert faults["problems"][FAULTS + "/item/no-body"] == [("no_body", "no text found: not archived")]


@pytest.mark.parametrize(("path", "date"), [("/item/future-date", "2099-01-01T00:00:00Z"),
                                            ("/item/ancient-date", "1890-05-01T00:00:00Z")])
def test_impossible_dates_are_dropped_with_a_reason(faults, path, date):
    row = faults["items"][FAULTS + path]
    assert row["published"] is None
    assert ("bad_date", f"ignored date '{date}': unreadable, before 1950 or in the future") in faults["problems"][FAULTS + path]


def test_ten_thousand_character_title_is_cut(faults):
    row = faults["items"][FAULTS + "/item/long-title"]
    assert len(row["title"]) <= 500 and row["title"].startswith("Long Long")
    assert faults["problems"][FAULTS + "/item/long-title"] == [("long_title", "title of 9999 characters cut to 500")]


def test_control_characters_are_removed(faults):
    row = faults["items"][FAULTS + "/item/control-chars"]
    assert row["title"] == "Control characters here"
    assert "Bell and escape[31m" in row["body"]


def test_hostile_title_is_kept_as_text(faults):
    row = faults["items"][FAULTS + "/item/hostile-title"]
    assert row["title"] == "</title><script>alert(1)</script> ]]> &"


def test_every_stored_text_is_valid_xml(faults):
    for row in faults["items"].values():
        for column in ("title", "summary", "body", "author"):
            assert not XML_INVALID.search(row[column] or ""), (row["url"], column)


def test_integrity_after_a_hostile_crawl(faults):
    assert faults["db"].execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_kill_9_mid_crawl_loses_nothing_committed(tmp_path):
    db_path = tmp_path / "presswatch.db"
    with SampleSiteServer(delay=0.25) as slow:
        process = subprocess.Popen(
            [sys.executable, "-m", "presswatch", "crawl", "--mirror", slow.url, "--db", str(db_path),
             "--sources", str(SOURCES)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        committed = 0
        deadline = time.monotonic() + 120
        while committed < 10 and time.monotonic() < deadline:
            time.sleep(0.2)
            if db_path.exists():
                try:
                    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as conn:
                        committed = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
                except sqlite3.OperationalError:
                    committed = 0  # the schema is still being created
        assert process.poll() is None, "the crawl finished before it could be killed: slow the server down"
        os.killpg(process.pid, signal.SIGKILL)  # the crawl and its extraction workers, mid-write
        process.wait(timeout=30)
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        after_kill = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        assert committed <= after_kill < 81
        assert conn.execute("SELECT COUNT(*) FROM items_fts").fetchone()[0] == after_kill
        assert conn.execute("SELECT COUNT(*) FROM items WHERE title = '' OR fetched IS NULL").fetchone()[0] == 0
        statuses = dict(conn.execute("SELECT status, COUNT(*) FROM crawl_runs GROUP BY status").fetchall())
        # The killed crawl's runs stay visible as unfinished (small sources may have finished first).
        assert statuses.get("running", 0) >= 5 and sum(statuses.values()) == 10, statuses
    # The next crawl completes what was missed: every listing is walked again
    # to its end because the last crawl did not finish.
    with SampleSiteServer() as server:
        result = presswatch("crawl", "--mirror", server.url, "--db", str(db_path), "--sources", str(SOURCES))
    assert result.returncode == 0, result.stderr[-2000:]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 81
        assert conn.execute("SELECT COUNT(*) FROM duplicates").fetchone()[0] == 2
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_config_error_stops_the_crawl_before_it_starts(tmp_path):
    bad = tmp_path / "sources.toml"
    bad.write_text(SOURCES.read_text(encoding="utf-8").replace('every = "2h"', 'every = "2 hours"', 1),
                   encoding="utf-8")
    result = presswatch("crawl", "--db", str(tmp_path / "x.db"), "--sources", str(bad))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: {bad}:36: source 'iom-press': schedule.every: '2 hours' is not a duration (use e.g. 90s, 30m, 6h, 1d)"
    ]
    assert not (tmp_path / "x.db").exists(), "nothing was written"


def test_unknown_source_on_the_command_line(tmp_path):
    result = presswatch("crawl", "nowhere", "--db", str(tmp_path / "x.db"))
    assert result.returncode == 1
    assert "no source 'nowhere'" in result.stderr
    assert Path(tmp_path / "x.db").exists() is False


def test_kill_9_of_the_scheduler_and_its_crawls_then_restart(tmp_path):
    from tests.scheduler_support import SchedulerProcess, sources_file, wait_for

    sources = sources_file(tmp_path / "sources.toml", {
        "iom-press": 'every = "1h"', "rovienna-press": 'every = "1h"', "moldova": 'every = "1h"'})
    db_path = tmp_path / "presswatch.db"

    def count(sql: str) -> int:
        try:
            with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as conn:
                return conn.execute(sql).fetchone()[0]
        except sqlite3.OperationalError:
            return 0

    with SampleSiteServer(delay=0.3) as slow:
        scheduler = SchedulerProcess(tmp_path, sources, "--no-publish", mirror=slow.url, wrapper=False,
                                     name="first")
        try:
            wait_for(lambda: count("SELECT COUNT(*) FROM items") >= 5, 90, "the first items")
            # A machine-level kill: the scheduler and every crawl it started, mid-write.
            with sqlite3.connect(db_path, timeout=5) as conn:
                pids = [pid for (pid,) in conn.execute("SELECT pid FROM crawl_runs WHERE status = 'running'")]
            os.kill(scheduler.pid, signal.SIGKILL)
            for pid in pids:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            scheduler.process.wait(timeout=30)
        finally:
            scheduler.kill()
    committed = count("SELECT COUNT(*) FROM items")
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM items_fts").fetchone()[0] == committed
    assert 5 <= committed < 42
    # Restarted, the scheduler finds the dead runs, and runs each source once: all is archived.
    with SampleSiteServer() as server:
        scheduler = SchedulerProcess(tmp_path, sources, "--no-publish", mirror=server.url, wrapper=False,
                                     name="second")
        try:
            wait_for(lambda: count("SELECT COUNT(DISTINCT source) FROM crawl_runs WHERE status = 'ok'") == 3,
                     120, "one good run of each source")
            assert scheduler.stop() == 0, scheduler.log()[-3000:]
        finally:
            scheduler.kill()
    assert count("SELECT COUNT(*) FROM items") == 42  # 30 + 8 + 4; the 2 re-posts are duplicates
    assert count("SELECT COUNT(*) FROM duplicates") == 2
    assert count("SELECT COUNT(*) FROM crawl_runs WHERE status = 'running'") == 0
