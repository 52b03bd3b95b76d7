"""A stand-in for `python -m presswatch crawl` that the scheduler tests start instead.

The scheduler runs ``python tests/crawl_wrapper.py SOURCE --db ... --log-file ...``
(its hidden --crawl-command). What it does per source comes from the
environment, ``PRESSWATCH_TEST_CRAWL="armenia=slow:0.6,lithuania=crash"``:

real        the real crawl, in this process (the default)
slow:S      the real crawl with a download delay of S seconds per request
crash       the real crawl, killed by SIGKILL once it has recorded its run
fail-start  exits with status 3 before doing anything (a crawl that cannot start)
hang        records a 'running' run like a crawl would, then hangs, ignoring SIGTERM

Each start and end is appended to ``PRESSWATCH_TEST_TRACE`` ("start SOURCE PID TIME PGID").
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import threading
import time
from datetime import UTC, datetime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def note(event: str, source: str) -> None:
    trace = os.environ.get("PRESSWATCH_TEST_TRACE")
    if trace:
        with open(trace, "a", encoding="utf-8") as handle:
            handle.write(f"{event} {source} {os.getpid()} {time.time():.3f} {os.getpgrp()}\n")


def own_run(db_path: str) -> bool:
    try:
        conn = sqlite3.connect(db_path, timeout=30)
        try:
            row = conn.execute("SELECT 1 FROM crawl_runs WHERE pid = ? AND status = 'running'",
                               [os.getpid()]).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return row is not None


def crash_when_recorded(db_path: str, source: str) -> None:
    while not own_run(db_path):
        time.sleep(0.05)
    time.sleep(0.3)
    note("crash", source)
    os.kill(os.getpid(), signal.SIGKILL)


def hang(db_path: str, source: str) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    conn = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    conn.execute("INSERT INTO crawl_runs (source, started, status, pid) VALUES (?, ?, 'running', ?)",
                 [source, now, os.getpid()])
    conn.close()
    while True:
        time.sleep(1)


def slow_settings(delay: float) -> None:
    import crawler.run

    original = crawler.run.crawl_settings

    def crawl_settings(**options):
        settings = original(**options)
        settings.setdict({"DOWNLOAD_DELAY": delay, "RANDOMIZE_DOWNLOAD_DELAY": False,
                          "AUTOTHROTTLE_ENABLED": False, "CONCURRENT_REQUESTS_PER_DOMAIN": 1},
                         priority="cmdline")
        return settings

    crawler.run.crawl_settings = crawl_settings


def main() -> None:
    args = sys.argv[1:]
    source = args[0]
    db_path = args[args.index("--db") + 1]
    modes = dict(item.split("=", 1) for item in os.environ.get("PRESSWATCH_TEST_CRAWL", "").split(",") if item)
    mode = modes.get(source, "real")
    note("start", source)
    try:
        if mode == "fail-start":
            print("crawl_wrapper: this crawl cannot start", file=sys.stderr)
            sys.exit(3)
        if mode == "hang":
            hang(db_path, source)
        sys.path.insert(0, ROOT)
        if mode.startswith("slow:"):
            slow_settings(float(mode.split(":", 1)[1]))
        if mode == "crash":
            threading.Thread(target=crash_when_recorded, args=(db_path, source), daemon=True).start()
        from presswatch.cli.main import main as presswatch

        presswatch(["crawl", *args], prog_name="presswatch")
    finally:
        note("end", source)


if __name__ == "__main__":
    main()
