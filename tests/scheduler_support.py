"""Helpers of the scheduler tests: schedules in seconds, the scheduler as a child process, polling."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, SOURCES

WRAPPER = ROOT / "tests" / "crawl_wrapper.py"
BROKEN_ITEM = 'item = "div.no-such-teaser"'  # a listing selector that matches nothing


def sources_file(path: Path, schedules: dict[str, str], broken: tuple[str, ...] = ()) -> Path:
    """A copy of sources.toml with only the sources in ``schedules``, each on its schedule
    (an inline TOML table body, e.g. 'every = "1s"'); the listing of each ``broken`` source
    matches nothing."""
    text = SOURCES.read_text(encoding="utf-8")
    blocks = re.split(r"(?m)^(?=\[\[source\]\])", text)
    kept = []
    for block in blocks[1:]:
        source_id = re.search(r'(?m)^id = "([^"]+)"', block).group(1)
        if source_id not in schedules:
            continue
        block = re.sub(r"(?m)^schedule = .*$", f"schedule = {{ {schedules[source_id]} }}", block)
        if source_id in broken:
            block, count = re.subn(r"(?m)^item = .*$", BROKEN_ITEM, block)
            assert count == 1, source_id
        kept.append(block)
    assert len(kept) == len(schedules), "unknown source ids"
    path.write_text("".join(kept), encoding="utf-8")
    return path


def runs(db_path: Path, where: str = "1", params: tuple = ()) -> list[dict[str, Any]]:
    """crawl_runs rows (oldest first); [] while the archive does not exist yet."""
    if not db_path.exists():
        return []
    conn = sqlite3.connect(db_path, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(f"SELECT * FROM crawl_runs WHERE {where} ORDER BY id", params)]
    except sqlite3.OperationalError:  # no such table yet
        return []
    finally:
        conn.close()


def query(db_path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def wait_for(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def trace_events(path: Path) -> list[tuple[str, str, int, float, int]]:
    """(event, source, pid, time, process group) lines that tests/crawl_wrapper.py wrote."""
    if not path.exists():
        return []
    events = []
    for line in path.read_text().splitlines():
        event, source, pid, moment, group = line.split()
        events.append((event, source, int(pid), float(moment), int(group)))
    return events


def spans(events: list[tuple[str, str, int, float, int]]) -> dict[int, list]:
    """pid -> [source, start, end] of each crawl process (end None: killed without a trace)."""
    found: dict[int, list] = {}
    for event, source, pid, moment, _group in events:
        span = found.setdefault(pid, [source, None, None])
        if event == "start":
            span[1] = moment
        else:  # end, or crash (the moment before it kills itself)
            span[2] = moment
    return found


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    points = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
                    key=lambda point: (point[0], point[1]))
    current = most = 0
    for _, step in points:
        current += step
        most = max(most, current)
    return most


class SchedulerProcess:
    """`presswatch schedule` in a child process, as systemd would run it."""

    def __init__(self, tmp_path: Path, sources_path: Path, *args: str, mirror: str | None = None,
                 env: dict[str, str] | None = None, wrapper: bool = True, name: str = "scheduler"):
        self.db_path = tmp_path / "presswatch.db"
        self.public = tmp_path / "public"
        self.log_dir = tmp_path / "logs"
        self.output = tmp_path / f"{name}.out"
        command = [
            sys.executable, "-m", "presswatch", "schedule", "--db", str(self.db_path),
            "--sources", str(sources_path), "--public", str(self.public), "--log-dir", str(self.log_dir),
            "--crawl-workers", "0", *args,
        ]
        if mirror:
            command += ["--mirror", mirror]
        environment = {**os.environ, **(env or {})}
        if wrapper:
            environment["PRESSWATCH_CRAWL_COMMAND"] = f"{sys.executable} {WRAPPER}"
        self._out = self.output.open("wb")
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=self._out, stderr=subprocess.STDOUT,
                                        env=environment)
        self.pid = self.process.pid

    def log(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then wait; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            self._out.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._out.close()


def integrity(db_path: Path) -> None:
    """The archive is consistent: SQLite's own check and the full-text index's."""
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")
        conn.commit()
    finally:
        conn.close()
