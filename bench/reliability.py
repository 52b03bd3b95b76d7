"""`bench/run --only reliability` (issue 21): nothing derived lost, nothing can stall.

kill9        20 crawls of the sample sites killed with SIGKILL at random moments (seeded), then a
             normal crawl: items, topics and story links compared by URL with a clean crawl's.
big_page     the 20 MB page of 660,000 paragraphs crawled beside a good source with --timeout 60:
             how long the crawl takes, its peak RSS (the whole process tree), what was recorded;
             with the defaults (the page is too_large) and with the size bounds lifted (the worker
             step limit ends it: too_slow).
stall        how much longer a good source takes when a 1 MB punycode-declared page and a
             backtracking item_urls regex are crawled beside it.

Figures: docs/reliability.md.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.procmem import TreeSampler
from bench.report import Figure
from presswatch.sample_sites.server import SampleSiteServer

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "sources.toml"
HOSTILE_SOURCES = ROOT / "tests" / "data" / "hostile_sources.toml"


def _crawl_command(db: Path, mirror: str, sources: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "presswatch", "crawl", *extra, "--mirror", mirror, "--db", str(db),
            "--sources", str(sources)]


def _derived(db: Path) -> dict[str, set[Any]]:
    with sqlite3.connect(db) as conn:
        return {
            "items": set(conn.execute("SELECT url, content_hash FROM items")),
            "topics": set(conn.execute(
                "SELECT i.url, t.topic FROM item_topics t JOIN items i ON i.id = t.item_id")),
            "links": {(frozenset((a, b)), kind) for a, b, kind in conn.execute(
                "SELECT a.url, b.url, l.kind FROM story_links l JOIN items a ON a.id = l.item_id "
                "JOIN items b ON b.id = l.other_item_id")},
        }


def _missing(clean: dict[str, set[Any]], other: dict[str, set[Any]]) -> int:
    return sum(len(clean[key] ^ other[key]) for key in clean)


def kill9_trial(workdir: Path, kills: int, seed: int, log: Any) -> tuple[int, int, int]:
    """(rows differing from a clean crawl after the repair crawl, rows missing just after the kills,
    kills that left stored items without their derived rows at that moment)."""
    rng = random.Random(seed)
    clean_db, db = workdir / "clean.db", workdir / "killed.db"
    for path in workdir.glob("*.db*"):
        path.unlink()
    with SampleSiteServer() as server:
        subprocess.run(_crawl_command(clean_db, server.url, SOURCES), cwd=ROOT, check=True,
                       capture_output=True)
    clean = _derived(clean_db)
    gaps = 0
    with SampleSiteServer(delay=0.1) as slow:
        for number in range(kills):
            process = subprocess.Popen(_crawl_command(db, slow.url, SOURCES), cwd=ROOT,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       start_new_session=True)
            time.sleep(rng.uniform(1.0, 8.0))
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
            if db.exists():
                with sqlite3.connect(db) as conn:
                    pending = conn.execute("SELECT COUNT(*) FROM derived_pending").fetchone()[0]
                gaps += pending > 0
            log(f"reliability: kill {number + 1}/{kills}")
    before = _missing(clean, _derived(db)) if db.exists() else 0
    with SampleSiteServer() as server:
        subprocess.run(_crawl_command(db, server.url, SOURCES), cwd=ROOT, check=True, capture_output=True)
    return _missing(clean, _derived(db)), before, gaps


def _hostile_sources(workdir: Path) -> Path:
    sources = workdir / "sources.toml"
    text = SOURCES.read_text(encoding="utf-8") + "\n" + HOSTILE_SOURCES.read_text(encoding="utf-8")
    sources.write_text(text, encoding="utf-8")
    return sources


def big_page_trial(workdir: Path, *settings: str) -> tuple[float, float, str, str]:
    """(seconds, peak RSS MB of the tree, the page's problem, the good source's run status)."""
    db = workdir / "big.db"
    for path in workdir.glob("big.db*"):
        path.unlink()
    sources = _hostile_sources(workdir)
    overrides = [part for setting in settings for part in ("--set", setting)]
    with SampleSiteServer(faults=True) as server:
        started = time.monotonic()
        command = _crawl_command(db, server.url, sources, "hostile", "moldova", "--timeout", "60", *overrides)
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sampler = TreeSampler(process.pid, interval=0.1).start()
        process.wait()
        sampler.stop()
        elapsed = time.monotonic() - started
    with sqlite3.connect(db) as conn:
        problem = conn.execute("SELECT problem || ': ' || detail FROM crawl_problems "
                               "WHERE url LIKE '%/hostile/many-paragraphs'").fetchone()
        status = conn.execute("SELECT status || ' (' || items_new || ' new)' FROM crawl_runs "
                              "WHERE source = 'moldova'").fetchone()
    return (elapsed, sampler.peak_rss / 1048576, problem[0] if problem else "none",
            status[0] if status else "none")


def _run_seconds(db: Path, source: str) -> float:
    with sqlite3.connect(db) as conn:
        started, finished = conn.execute("SELECT started, finished FROM crawl_runs WHERE source = ?",
                                         [source]).fetchone()
    return (datetime.fromisoformat(finished.replace("Z", "+00:00"))
            - datetime.fromisoformat(started.replace("Z", "+00:00"))).total_seconds()


def stall_trial(workdir: Path) -> float:
    """How many seconds longer moldova's run takes beside the punycode page and the backtracking regex."""
    sources = _hostile_sources(workdir)
    seconds = {}
    for label, chosen in (("alone", ["moldova"]), ("beside", ["moldova", "hostile", "hostile-regex"])):
        db = workdir / f"stall-{label}.db"
        for path in workdir.glob(f"stall-{label}.db*"):
            path.unlink()
        with SampleSiteServer(faults=True) as server:
            subprocess.run(_crawl_command(db, server.url, sources, *chosen), cwd=ROOT, check=True,
                           capture_output=True)
        seconds[label] = _run_seconds(db, "moldova")
    return seconds["beside"] - seconds["alone"]


def measure(ctx: Any) -> list[Figure]:
    workdir = ctx.workdir / "reliability"
    workdir.mkdir(parents=True, exist_ok=True)
    kills = 5 if ctx.quick else 20
    missing = Figure("reliability.kill9_missing", "rows", target=0, op="<=", digits=0)
    default = Figure("reliability.big_page_seconds", "s", target=90, op="<=", digits=1)
    default_rss = Figure("reliability.big_page_peak_rss", "MB", target=800, op="<", digits=0)
    lifted = Figure("reliability.big_page_lifted_seconds", "s", target=90, op="<=", digits=1)
    lifted_rss = Figure("reliability.big_page_lifted_peak_rss", "MB", target=800, op="<", digits=0)
    stall = Figure("reliability.stall", "s", target=1, op="<", digits=2)
    for run in range(ctx.repeat):
        after, before, gaps = kill9_trial(workdir, kills, seed=run, log=ctx.log)
        missing.runs.append(after)
        missing.note = (f"{kills} kill -9 at random moments, then a normal crawl, compared by URL with a "
                        f"clean crawl (items, topics, story links); just after the kills {before} rows "
                        f"differed and {gaps} kill(s) had left items marked for topics or story links")
        seconds, rss, problem, status = big_page_trial(workdir)
        default.runs.append(seconds)
        default_rss.runs.append(rss)
        default.note = default_rss.note = f"defaults; the page: {problem}; moldova: {status}"
        seconds, rss, problem, status = big_page_trial(
            workdir, "PRESSWATCH_MAX_PAGE_MB=50", "PRESSWATCH_MAX_ELEMENTS=100000000")
        lifted.runs.append(seconds)
        lifted_rss.runs.append(rss)
        lifted.note = lifted_rss.note = f"size bounds lifted; the page: {problem}; moldova: {status}"
        stall.runs.append(stall_trial(workdir))
        stall.note = "moldova's run beside the 1 MB punycode page and the backtracking item_urls, minus alone"
    return [missing, default, default_rss, lifted, lifted_rss, stall]
