"""`bench/run --only scale-out` (issue 20): a shared crawl over Redis against a one-process crawl.

On the generated site (bench/site.py) served from this process, with a
throw-away redis-server (bench/redis_server.py):

1. The reference: a one-process crawl (`presswatch crawl --workers 1`) into SQLite.
2. One crawl process over Redis, then two at once (`crawl --redis --workers 1`
   each), each time with no writer running: the crawl's item rate is the items
   it put in the stream over the wall time from the first start to the last
   exit. Then `presswatch store --until-idle` drains the stream: its item rate
   is items over the time it was applying entries (a full stream: sustained).
   Both archives must hold exactly the reference's (URL, content hash) set.
3. Kill trials: two crawl processes and a writer on a smaller site; one crawl
   process and the writer are each killed with SIGKILL at a random moment
   (the writer is restarted at once); the archive must hold exactly the
   reference's items (0 lost, 0 duplicated) and pass integrity_check.
"""

from __future__ import annotations

import os
import random
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.crawl import ROOT, MeasurementError, run_crawl
from bench.redis_server import RedisServer
from bench.report import Figure
from bench.site import BenchServer, BenchSite

DEAD_AFTER = 3  # seconds: how soon the trials' survivors take a killed process's requests back
KILL_TRIALS = 10
WRITER_BATCH = ("--batch", "20")  # small transactions in the trials: a kill lands between any two


def crawl_command(redis_url: str, mirror: str, sources: Path, *extra: str, workers: int = 1,
                  dead_after: float = DEAD_AFTER) -> list[str]:
    return [sys.executable, "-m", "presswatch", "crawl", "--redis", redis_url, "--mirror", mirror,
            "--sources", str(sources), "--workers", str(workers),
            "--set", f"PRESSWATCH_REDIS_DEAD_AFTER={dead_after}", *extra]


def store_command(redis_url: str, db: Path, sources: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "presswatch", "store", "--redis", redis_url, "--db", str(db),
            "--sources", str(sources), "--consumer", "bench-writer", "--dead-after", str(DEAD_AFTER), *extra]


def start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def finish(process: subprocess.Popen[bytes], log: Path, timeout: float = 900) -> None:
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise MeasurementError(f"{process.args[3]} did not finish in {timeout:.0f} s (log: {log})") from None
    if code != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise MeasurementError(f"{process.args[3]} exited with {code} (log: {log}):\n{tail}")


def archived(db: Path) -> set[tuple[str, str]]:
    """The (URL, content hash) of every archived item."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT url, content_hash FROM items").fetchall()
    conn.close()
    return {(url, content) for url, content in rows}


def item_count(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            count = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        conn.close()
        return int(count)
    except sqlite3.Error:
        return 0


def integrity(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    conn.close()
    return str(result)


@dataclass
class StoreRun:
    items: int
    busy_seconds: float

    @property
    def rate(self) -> float:
        return self.items / self.busy_seconds if self.busy_seconds else 0.0


def store_report(log: Path) -> StoreRun:
    """The writer's last summary line: items applied and the seconds it spent applying them."""
    found = re.findall(r"(\d+) items applied in ([\d.]+) s", log.read_text(errors="replace"))
    if not found:
        raise MeasurementError(f"no writer summary in {log}")
    items, seconds = found[-1]
    return StoreRun(int(items), float(seconds))


def shared_crawl(redis: RedisServer, server: BenchServer, sources: Path, logs: Path, label: str,
                 processes: int) -> tuple[float, float]:
    """``processes`` crawl processes over Redis, no writer: their wall seconds and CPU seconds
    (the crawl processes', not their extraction workers': those are the forkserver's children)."""
    redis.flush()
    cpu_before = _children_cpu()
    started = time.perf_counter()
    runs = [(start(crawl_command(redis.url, server.url, sources, dead_after=15), logs / f"{label}-{n}.log"),
             logs / f"{label}-{n}.log") for n in range(processes)]
    for process, log in runs:
        finish(process, log)
    return time.perf_counter() - started, _children_cpu() - cpu_before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def drain(redis: RedisServer, db: Path, sources: Path, log: Path) -> StoreRun:
    for stale in db.parent.glob(db.name + "*"):
        stale.unlink()
    process = start(store_command(redis.url, db, sources, "--until-idle"), log)
    finish(process, log)
    return store_report(log)


def kill_trial(redis: RedisServer, server: BenchServer, sources: Path, db: Path, logs: Path, trial: int,
               rng: random.Random, pages: int) -> dict[str, Any]:
    """Two crawl processes and a writer; one crawl process and the writer killed at random moments:
    the crawl process when the site has served a random number of article pages, the writer when
    the archive holds a random number of items (so that each kill lands mid-run)."""
    redis.flush()
    for stale in db.parent.glob(db.name + "*"):
        stale.unlink()
    label = f"kill-{trial}"
    writer_log = logs / f"{label}-store.log"
    server.reset()
    writer = start(store_command(redis.url, db, sources, "--until-idle", *WRITER_BATCH), writer_log)
    crawls = [(start(crawl_command(redis.url, server.url, sources, "--set", "LOG_LEVEL=INFO"),
                     logs / f"{label}-crawl{n}.log"), logs / f"{label}-crawl{n}.log") for n in range(2)]
    started = time.perf_counter()
    crawl_kill_at, writer_kill_at = rng.randint(2, pages * 4 // 5), rng.randint(2, pages * 9 // 10)
    victim, _victim_log = crawls[rng.randrange(2)]
    crawl_killed = writer_killed = False
    crawl_due = writer_due = True
    crawl_seconds = writer_seconds = 0.0
    while crawl_due or writer_due:
        time.sleep(0.02)
        items = item_count(db)
        crawls_over = all(process.poll() is not None for process, _log in crawls)
        fetched = server.requests["article"]  # the crawl's own progress (the writer may lag)
        if crawl_due and (fetched >= crawl_kill_at or crawls_over):
            crawl_due, crawl_killed = False, victim.poll() is None
            crawl_seconds = time.perf_counter() - started
            if crawl_killed:
                os.kill(victim.pid, signal.SIGKILL)
            victim.wait()
        if writer_due and (items >= writer_kill_at or writer.poll() is not None):
            writer_due, writer_killed = False, writer.poll() is None
            writer_seconds = time.perf_counter() - started
            if writer_killed:
                os.kill(writer.pid, signal.SIGKILL)
                writer.wait()
                again = store_command(redis.url, db, sources, "--until-idle", *WRITER_BATCH)
                writer = start(again, writer_log)
    for process, log in crawls:
        if process is not victim:
            finish(process, log)
    finish(writer, writer_log)
    return {"crawl_killed": crawl_killed, "crawl_kill_at": crawl_kill_at, "crawl_seconds": crawl_seconds,
            "writer_killed": writer_killed, "writer_kill_at": writer_kill_at,
            "writer_seconds": writer_seconds, "seconds": time.perf_counter() - started}


def measure(ctx: Any) -> list[Figure]:
    pages = 300 if ctx.quick else 1000
    trial_pages = 150
    workdir = ctx.workdir / "scale-out"
    logs = workdir / "logs"
    workdir.mkdir(parents=True, exist_ok=True)
    same = Figure("scale_out.items_differing", "items", target=0, op="<=", digits=0,
                  baseline="a one-process crawl of the same site (URL and content hash of every item)")
    speedup = Figure("scale_out.two_process_speedup", "x", target=1.6, op=">=",
                     baseline="one crawl process over Redis, one extraction worker each")
    one_rate = Figure("scale_out.one_process_items_per_second", "items/s", digits=1)
    two_rate = Figure("scale_out.two_processes_items_per_second", "items/s", digits=1)
    store_ratio = Figure("scale_out.store_to_crawl_ratio", "x", target=3, op=">=",
                         baseline="`store` items/s applying a full stream ÷ the crawl's items/s (the faster "
                                  "of one and two processes)")
    cpu_one = Figure("scale_out.one_process_cpu_per_item", "ms", digits=1,
                     note="CPU of the crawl process per item streamed (its extraction worker, forked by "
                          "the forkserver, is not counted): fetching, scheduling over Redis, streaming")
    cpu_two = Figure("scale_out.two_processes_cpu_per_item", "ms", digits=1,
                     note="the same for the two processes together: what sharing the crawl costs in CPU")
    store_rate = Figure("scale_out.store_items_per_second", "items/s", digits=1)
    lost = Figure("scale_out.kill_items_lost", "items", target=0, op="<=", digits=0)
    duplicated = Figure("scale_out.kill_items_duplicated", "items", target=0, op="<=", digits=0)
    broken = Figure("scale_out.kill_integrity_failures", "archives", target=0, op="<=", digits=0)
    site = BenchSite(pages)
    sources = site.write_sources(workdir)
    site.render_all()  # the test server only sends bytes: its CPU is not the crawls'

    with RedisServer(workdir / "redis") as redis, BenchServer(site) as server:
        for run in range(1, ctx.repeat + 1):
            ref_db = workdir / f"reference-{run}.db"
            for stale in workdir.glob(f"reference-{run}.db*"):
                stale.unlink()
            reference_run = run_crawl(server, sources, ref_db, logs, f"reference-{run}")
            reference = archived(ref_db)
            ctx.log(f"scale-out {run}: one-process crawl: {len(reference)} items in "
                    f"{reference_run.seconds:.1f} s")
            rates = []
            for processes in (1, 2):
                seconds, cpu = shared_crawl(redis, server, sources, logs, f"shared{processes}-{run}",
                                            processes)
                db = workdir / f"shared{processes}-{run}.db"
                writer = drain(redis, db, sources, logs / f"shared{processes}-{run}-store.log")
                items = writer.items  # what the crawl processes put in the stream
                rates.append(items / seconds)
                (cpu_one if processes == 1 else cpu_two).runs.append(1000 * cpu / max(1, items))
                differing = len(archived(db) ^ reference)
                same.runs.append(differing)
                ctx.log(f"scale-out {run}: {processes} crawl process(es): {items} items streamed in "
                        f"{seconds:.1f} s = {items / seconds:.1f} items/s "
                        f"({1000 * cpu / max(1, items):.1f} ms of crawl-process CPU per item); "
                        f"store: {writer.items} items in "
                        f"{writer.busy_seconds:.1f} s = {writer.rate:.1f} items/s; {differing} items differ")
                if processes == 2:
                    store_rate.runs.append(writer.rate)
                    # Against the faster crawl of the two (whichever it was on this machine).
                    store_ratio.runs.append(writer.rate / max(rates))
            one_rate.runs.append(rates[0])
            two_rate.runs.append(rates[1])
            speedup.runs.append(rates[1] / rates[0])
        # Kill trials (once, whatever --repeat: they are trials, not timings).
        site.forget_rendered()
        trial_site = BenchSite(trial_pages, seed=11)
        trial_dir = workdir / "kill"
        trial_dir.mkdir(exist_ok=True)
        trial_sources = trial_site.write_sources(trial_dir)
        with BenchServer(trial_site) as trial_server:
            ref_db = trial_dir / "reference.db"
            for stale in trial_dir.glob("reference.db*"):
                stale.unlink()
            run_crawl(trial_server, trial_sources, ref_db, logs, "kill-reference")
            reference = archived(ref_db)
            rng = random.Random(20)
            totals = {"lost": 0, "duplicated": 0, "broken": 0, "crawls": 0, "writers": 0}
            for trial in range(1, KILL_TRIALS + 1):
                db = trial_dir / "shared.db"
                facts = kill_trial(redis, trial_server, trial_sources, db, logs, trial, rng, trial_pages)
                got = archived(db)
                with sqlite3.connect(db) as conn:
                    rows = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
                    versions = conn.execute("SELECT COUNT(*) FROM item_versions").fetchone()[0]
                conn.close()
                trial_lost = len(reference - got)
                trial_duplicated = (rows - len(got & reference)) + versions
                check = integrity(db)
                totals["lost"] += trial_lost
                totals["duplicated"] += trial_duplicated
                totals["broken"] += check != "ok"
                totals["crawls"] += facts["crawl_killed"]
                totals["writers"] += facts["writer_killed"]
                ctx.log(f"kill trial {trial}: a crawl process killed at {facts['crawl_kill_at']} pages "
                        f"fetched, {facts['crawl_seconds']:.1f} s "
                        f"({'yes' if facts['crawl_killed'] else 'it had ended'}), "
                        f"the writer at {facts['writer_kill_at']} items, {facts['writer_seconds']:.1f} s "
                        f"({'yes' if facts['writer_killed'] else 'it had ended'}); "
                        f"{len(got)} of {len(reference)} items, {trial_lost} lost, {trial_duplicated} "
                        f"duplicated, integrity {check}, {facts['seconds']:.0f} s")
        lost.runs.append(totals["lost"])
        duplicated.runs.append(totals["duplicated"])
        broken.runs.append(totals["broken"])
        note = (f"{KILL_TRIALS} trials on a {trial_pages}-page site, two crawl processes and a writer: "
                f"{totals['crawls']} crawl processes and {totals['writers']} writers killed mid-run "
                "(SIGKILL, random moments; the writer restarted at once)")
        lost.note = duplicated.note = broken.note = note
    speedup.note = ("wall time from the first start to the last exit; items counted as streamed; "
                    f"{pages:,}-page generated site; no writer running meanwhile")
    load = os.getloadavg()[0]
    speedup.note += f"; load average {load:.1f} on {os.cpu_count()} cores at the end (a shared machine)"
    return [same, one_rate, two_rate, speedup, cpu_one, cpu_two, store_rate, store_ratio, lost, duplicated,
            broken]
