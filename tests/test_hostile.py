"""Pages and sites that cost the crawler rather than fail (issue 21): bounded work per page,
bounded discovery, no stall of the event loop, exit status, no orphan processes.

The /hostile/ pages of the fault-injection host (presswatch/sample_sites/faults.py) are
crawled over real HTTP on 127.0.0.1 by the sources of tests/data/hostile_sources.toml,
beside a well-behaved source that must not be held up.
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

from presswatch.sample_sites.faults import FAULTS_HOST
from presswatch.sample_sites.server import SampleSiteServer
from tests.conftest import ROOT, SOURCES, presswatch

HOSTILE = f"https://{FAULTS_HOST}/hostile"


def hostile_sources(folder: Path) -> Path:
    sources = folder / "sources.toml"
    sources.write_text(SOURCES.read_text(encoding="utf-8") + "\n"
                       + (ROOT / "tests/data/hostile_sources.toml").read_text(encoding="utf-8"), encoding="utf-8")
    return sources


def problems(db_path: Path) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    with sqlite3.connect(db_path) as conn:
        for url, problem, detail in conn.execute("SELECT url, problem, detail FROM crawl_problems"):
            found.setdefault(url, []).append((problem, detail))
    return found


def rows(db_path: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    sources = hostile_sources(folder)
    db_path = folder / "presswatch.db"
    with SampleSiteServer(faults=True) as server:
        started = time.monotonic()
        result = presswatch("crawl", "hostile", "hostile-listing", "hostile-sitemaps", "hostile-regex", "moldova",
                            "--mirror", server.url, "--db", str(db_path), "--sources", str(sources),
                            "--set", "PRESSWATCH_MAX_LINKS_PER_PAGE=40", "--set", "PRESSWATCH_MAX_BODY_CHARS=100000",
                            timeout=240)
        elapsed = time.monotonic() - started
        requests = list(server.requests)
    assert result.returncode == 0, result.stderr[-3000:]
    return {"db": db_path, "problems": problems(db_path), "elapsed": elapsed, "requests": requests,
            "result": result}


def test_other_source_unaffected(hostile):
    status, new = rows(hostile["db"], "SELECT status, items_new FROM crawl_runs WHERE source = 'moldova'")[0]
    assert (status, new) == ("ok", 4)
    assert hostile["elapsed"] < 90


def test_a_20_mb_page_is_not_extracted(hostile):
    assert hostile["problems"][f"{HOSTILE}/many-paragraphs"] == [
        ("too_large", "page of 19.5 MB, over PRESSWATCH_MAX_PAGE_MB (5): not extracted")]


def test_a_page_of_too_many_elements_is_not_extracted(hostile):
    assert hostile["problems"][f"{HOSTILE}/slow-to-extract"] == [
        ("too_large", "about 120014 HTML elements, over PRESSWATCH_MAX_ELEMENTS (30000): not extracted")]


@pytest.mark.parametrize(("path", "title", "detail"), [
    ("punycode", "Punycode declared", "declared charset 'punycode' is not a known text encoding: ignored"),
    ("utf8-as-latin1", "Migrația și remitențele", "declared charset 'cp1252' is wrong: the page is valid UTF-8"),
    ("utf8-as-koi8", "Migrația și remitențele (koi8-r)", "declared charset 'koi8-r' is wrong: the page is valid UTF-8"),
])
def test_mislabelled_utf8_and_unknown_charsets(hostile, path, title, detail):
    [(found,)] = rows(hostile["db"], "SELECT title FROM items WHERE url = ?", f"{HOSTILE}/{path}")
    assert found == title
    assert hostile["problems"][f"{HOSTILE}/{path}"][0] == ("charset", detail)


def test_a_title_of_control_characters_only_is_never_archived_empty(hostile):
    # Either a fallback titles it (the listing's link text) or it is not archived (no_title).
    found = rows(hostile["db"], "SELECT title FROM items WHERE url = ?", f"{HOSTILE}/control-title")
    assert found == [("a title of control characters only",)] or hostile["problems"][
        f"{HOSTILE}/control-title"] == [("no_title", "title empty once cleaned: not archived")]
    assert rows(hostile["db"], "SELECT COUNT(*) FROM items WHERE trim(title) = ''") == [(0,)]


def test_a_long_body_is_cut(hostile):
    [(body,)] = rows(hostile["db"], "SELECT body FROM items WHERE url = ?", f"{HOSTILE}/long-body")
    assert len(body) == 100_000 and body.startswith("0 Remittances support families")
    assert hostile["problems"][f"{HOSTILE}/long-body"] == [
        ("too_large", "body of 295111 characters cut to 100000")]


def test_a_400_kb_date_string_is_ignored(hostile):
    # Archived; dated or not by what else the page offers (htmldate finds the date in it).
    assert rows(hostile["db"], "SELECT title FROM items WHERE url = ?", f"{HOSTILE}/huge-date") == [
        ("A date of 400 KB",)]
    assert ("bad_date", "ignored a date string of 400399 characters (over 200)") in hostile["problems"][
        f"{HOSTILE}/huge-date"]


def test_the_good_hostile_page_is_archived(hostile):
    assert rows(hostile["db"], "SELECT title FROM items WHERE url = ?", f"{HOSTILE}/ok") == [
        ("Hostile listing control page",)]


def test_links_per_listing_page_are_bounded(hostile):
    fetched = [r for r in hostile["requests"] if r[0] == FAULTS_HOST and r[2].startswith("/hostile/item-")]
    assert len(fetched) == 40
    assert hostile["problems"][f"{HOSTILE}/huge-listing"] == [
        ("limit_reached", "PRESSWATCH_MAX_LINKS_PER_PAGE: only the first 40 item links of the page taken")]
    assert rows(hostile["db"], "SELECT status, items_new FROM crawl_runs WHERE source = 'hostile-listing'") == [
        ("ok", 40)]


def test_nested_sitemap_indexes_are_bounded(hostile):
    fetched = [r[2] for r in hostile["requests"] if r[0] == FAULTS_HOST and r[2].startswith("/hostile/sitemap/")]
    assert fetched == ["/hostile/sitemap/0.xml", "/hostile/sitemap/1.xml", "/hostile/sitemap/2.xml"]
    assert hostile["problems"][f"{HOSTILE}/sitemap/2.xml"] == [
        ("limit_reached", "PRESSWATCH_MAX_SITEMAP_DEPTH: sitemap indexes nested deeper than 3: not followed")]


def test_a_backtracking_item_urls_regex_does_not_stall(hostile):
    # Python's re would take 2^40 steps per link; RE2 matches in linear time.
    (status,) = rows(hostile["db"], "SELECT status FROM crawl_runs WHERE source = 'hostile-regex'")[0]
    assert status == "ok"
    assert not [r for r in hostile["requests"] if r[2].startswith("/hostile/aaaa")]


def test_requests_per_crawl_are_bounded(tmp_path):
    sources = hostile_sources(tmp_path)
    db_path = tmp_path / "presswatch.db"
    with SampleSiteServer(faults=True) as server:
        result = presswatch("crawl", "hostile-listing", "--mirror", server.url, "--db", str(db_path),
                            "--sources", str(sources), "--set", "PRESSWATCH_MAX_REQUESTS=12")
        fetched = [r for r in server.requests if r[0] == FAULTS_HOST and r[2].startswith("/hostile/")]
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(fetched) == 12  # the listing and 11 items
    assert problems(db_path)[f"{HOSTILE}/item-11"] == [
        ("limit_reached", "PRESSWATCH_MAX_REQUESTS: 12 requests made: no more this crawl")]


def test_a_page_that_overruns_its_worker_step_is_too_slow(tmp_path):
    sources = hostile_sources(tmp_path)
    # Without the source's selectors: with them, the page's title and body come from the selectors
    # in a second, and trafilatura (the slow part on 120,000 paragraphs) never runs.
    text = sources.read_text(encoding="utf-8")
    selectors = '[source.selectors]\ntitle = "h1.page-title"\nbody = "div.field--name-body"\n'
    assert selectors in text
    sources.write_text(text.replace(selectors, ""), encoding="utf-8")
    db_path = tmp_path / "presswatch.db"
    with SampleSiteServer(faults=True) as server:
        started = time.monotonic()
        result = presswatch("crawl", "hostile", "moldova", "--mirror", server.url, "--db", str(db_path),
                            "--sources", str(sources), "--set", "PRESSWATCH_MAX_ELEMENTS=10000000",
                            "--set", "PRESSWATCH_STEP_SECONDS=8")
        elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-3000:]
    assert problems(db_path)[f"{HOSTILE}/slow-to-extract"] == [
        ("too_slow", "extraction took over 8 s of prepare_article: stopped")]
    # The workers were replaced: every other page of both sources was archived.
    assert rows(db_path, "SELECT source, status, items_new FROM crawl_runs ORDER BY source") == [
        ("hostile", "ok", 7), ("moldova", "ok", 4)]
    assert elapsed < 60


def test_timeout_ends_the_crawl_whatever_the_workers_do(tmp_path):
    sources = hostile_sources(tmp_path)
    db_path = tmp_path / "presswatch.db"
    with SampleSiteServer(faults=True) as server:
        started = time.monotonic()
        # No step limit: the 13 s extraction holds a worker past --timeout and its grace.
        result = presswatch("crawl", "hostile", "--mirror", server.url, "--db", str(db_path),
                            "--sources", str(sources), "--timeout", "2", "--set", "PRESSWATCH_STEP_SECONDS=0",
                            "--set", "PRESSWATCH_MAX_ELEMENTS=10000000", "--set", "PRESSWATCH_HARD_STOP_GRACE=3")
        elapsed = time.monotonic() - started
    assert result.returncode == 3
    assert "Error: the crawl was still running 3 s after its --timeout of 2 s: stopped" in result.stderr.splitlines()
    assert elapsed < 12
    assert rows(db_path, "SELECT status, reason FROM crawl_runs") == [
        ("timed_out", "the crawl was still running 3 s after its --timeout of 2 s: stopped")]


def session_processes(session: int) -> list[int]:
    """The pids of the processes of session ``session`` (/proc/PID/stat field 6)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) == session and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def test_workers_die_with_a_killed_crawl(tmp_path):
    db_path = tmp_path / "presswatch.db"
    with SampleSiteServer(delay=0.25) as slow:
        process = subprocess.Popen(
            [sys.executable, "-m", "presswatch", "crawl", "--mirror", slow.url, "--db", str(db_path),
             "--sources", str(SOURCES), "--workers", "2"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        # The crawl, its forkserver, two workers (and the resource tracker).
        while len(session_processes(process.pid)) < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(session_processes(process.pid)) >= 4, "the workers never started"
        os.kill(process.pid, signal.SIGKILL)  # the crawl alone, as the OOM killer does
        process.wait(timeout=30)
        deadline = time.monotonic() + 10
        while session_processes(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = session_processes(process.pid)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    assert left == []


def test_crawl_exits_non_zero_when_no_crawler_starts(tmp_path):
    result = presswatch("crawl", "moldova", "--db", str(tmp_path / "x.db"), "--set", "CONCURRENT_REQUESTS=1.5",
                        "--mirror", "http://127.0.0.1:9")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: 1 of 1 crawler(s) did not start: moldova: ValueError: invalid literal for int() with base 10: '1.5'")


def test_a_set_value_of_the_wrong_type_is_refused(tmp_path):
    result = presswatch("crawl", "moldova", "--db", str(tmp_path / "x.db"), "--set", "CONCURRENT_REQUESTS=abc")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: Invalid value for --set: CONCURRENT_REQUESTS=abc: CONCURRENT_REQUESTS must be a number")


def test_a_deeply_nested_toml_is_one_line(tmp_path):
    topics = tmp_path / "topics.toml"
    topics.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    result = presswatch("publish", "--db", str(tmp_path / "x.db"), "--topics", str(topics),
                        "--public", str(tmp_path / "public"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: {topics}: TOML nested too deeply (arrays or tables inside each other hundreds of times): "
        "not a config file")


def test_a_byte_order_mark_is_not_a_statement(tmp_path):
    sources = tmp_path / "sources.toml"
    sources.write_bytes(b"\xef\xbb\xbf" + SOURCES.read_bytes())
    result = presswatch("sources", "--db", str(tmp_path / "x.db"), "--sources", str(sources))
    assert result.returncode == 0, result.stderr
    assert "iom-press" in result.stdout


def test_an_item_urls_regex_re2_cannot_run_is_refused_at_load(tmp_path):
    sources = tmp_path / "sources.toml"
    text = (ROOT / "tests/data/hostile_sources.toml").read_text(encoding="utf-8")
    sources.write_text(text.replace("item_urls = '^https://faults\\.example\\.org/hostile/(a+)+$'",
                                    "item_urls = '/(news)/\\1/'"), encoding="utf-8")
    result = presswatch("sources", "--db", str(tmp_path / "x.db"), "--sources", str(sources))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: {sources}:55: source 'hostile-regex': item_urls: '/(news)/\\\\1/' is not a regular expression "
        "RE2 accepts: invalid escape sequence: \\1"]


def test_serve_closes_idle_connections(tmp_path, monkeypatch):
    import socket

    from feeds import serve

    monkeypatch.setattr(serve, "IDLE_SECONDS", 0.5)
    (tmp_path / "index.html").write_text("<html></html>", encoding="utf-8")
    with serve.PublicServer(tmp_path, port=0) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as idle:
            started = time.monotonic()
            assert idle.recv(100) == b""  # the server hung up on a client that sent nothing
            assert time.monotonic() - started < 3


def test_a_publish_removes_what_a_killed_publish_left(tmp_path):
    from feeds.publish import publish_feeds

    public = tmp_path / "public"
    (public / "topics").mkdir(parents=True)
    left = public / "topics" / ".remittances.atom.k1ll3d.tmp"
    running = public / ".all.atom.n0w.tmp"
    for path in (left, running):
        path.write_bytes(b"<feed>half")
    an_hour_ago = time.time() - 3600
    os.utime(left, (an_hour_ago, an_hour_ago))
    publish_feeds(tmp_path / "x.db", public, ROOT / "topics.toml", base_url="https://feeds.example.org/")
    assert not left.exists()
    assert running.exists(), "a temporary file that young may be a running publish's"
    assert (public / "topics" / "remittances.atom").exists()
