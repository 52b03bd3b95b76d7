"""Crawl-side measurements: throughput against the extraction-only bound, the unchanged re-crawl, memory.

Every crawl is the real command, `presswatch crawl --mirror URL --db DB
--sources SOURCES`, run as a child process exactly as a user or the scheduler
runs it, against the generated site (bench/site.py) served from this process
on 127.0.0.1. Its wall time runs from the start of the child process to its
exit (Python start-up, imports, the worker pool, the crawl, the summary), and
its pages are counted in the archive it wrote.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.procmem import TreeSampler
from bench.site import BenchServer, BenchSite

ROOT = Path(__file__).resolve().parent.parent
SOURCE_ID = "bench-news"


class MeasurementError(RuntimeError):
    """A measurement could not run (as opposed to a target being missed)."""


@dataclass
class CrawlRun:
    label: str
    seconds: float
    items: int  # items of the source in the archive after the crawl
    items_new: int
    pages_fetched: int  # responses the crawl counted (crawl_runs.pages_fetched)
    status: str
    requests: Counter[str]  # what the server answered during the crawl
    peak_rss: int = 0  # bytes: highest simultaneous RSS of the process tree
    peak_pss: int = 0  # bytes: highest simultaneous PSS of the tree (when sampled)
    hwm_sum: int = 0  # bytes: sum of each process's own peak RSS (VmHWM)
    processes: list[tuple[int, str, int, float]] = field(default_factory=list)  # pid, command, peak, CPU s


def run_crawl(server: BenchServer, sources: Path, db: Path, log_dir: Path, label: str,
              timeout: float = 3600, interval: float = 0.1, pss: bool = False) -> CrawlRun:
    """Run `presswatch crawl` once against ``server``; time it, sample its memory, read what it archived."""
    log_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "presswatch", "crawl", "--mirror", server.url, "--db", str(db),
               "--sources", str(sources), "--log-file", str(log_dir / f"{label}.log")]
    server.reset()
    with open(log_dir / f"{label}.out", "wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        sampler = TreeSampler(process.pid, interval, pss=pss).start()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise MeasurementError(f"{label}: the crawl did not finish within {timeout:.0f} s") from None
        finally:
            seconds = time.perf_counter() - start
            sampler.stop()
    requests = server.reset()
    if process.returncode != 0:
        tail = (log_dir / f"{label}.out").read_text(errors="replace")[-2000:]
        raise MeasurementError(f"{label}: presswatch crawl exited with {process.returncode}:\n{tail}")
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        items = conn.execute("SELECT COUNT(*) FROM items WHERE source = ?", [SOURCE_ID]).fetchone()[0]
        run = conn.execute(
            "SELECT status, items_new, pages_fetched FROM crawl_runs WHERE source = ? "
            "ORDER BY id DESC LIMIT 1",
            [SOURCE_ID],
        ).fetchone()
    conn.close()
    if run is None:
        raise MeasurementError(f"{label}: the crawl recorded no run in {db}")
    status, items_new, pages_fetched = run
    if status != "ok":
        raise MeasurementError(f"{label}: the crawl ended with status {status!r} "
                               f"(log: {log_dir / label}.log)")
    return CrawlRun(label, seconds, items, items_new, pages_fetched, status, requests,
                    sampler.peak_rss, sampler.peak_pss, sampler.hwm_sum, sampler.report())


def extraction_bound(site: BenchSite, sources: Path, timeout: float = 3600) -> dict[str, float]:
    """The extraction-only rate on ``site``'s pages, in a fresh child process (bench/extract_bound.py)."""
    command = [sys.executable, "-m", "bench.extract_bound", "--pages", str(site.pages),
               "--sources", str(sources), "--seed", str(site.seed), "--host", site.host]
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise MeasurementError(f"the extraction-only run did not finish within {timeout:.0f} s") from None
    if done.returncode != 0:
        raise MeasurementError(f"the extraction-only run failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def check_complete(run: CrawlRun, site: BenchSite) -> None:
    """A throughput crawl must archive every page of the site, or its rate means nothing."""
    if run.items != site.pages or run.items_new != site.pages:
        raise MeasurementError(
            f"{run.label}: archived {run.items} items ({run.items_new} new) of the site's {site.pages} pages"
        )
