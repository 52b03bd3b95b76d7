"""The cost of matching one new item against the archive for near duplicates (issues 8 and 9).

Generates a temporary archive of N items' fingerprints, written straight into
the real tables (`item_signatures`, `lsh_bands`: the real schema and indexes,
no items text): random signatures, whose bands collide by chance only as real
unrelated releases rarely do. Planted among them: for each release of the
sample sites (content.toml), an archived near copy of it (10% of its signature
values changed; with the first paragraph replaced, a new item's estimated
similarity to it is about 0.55, so about 90% of them are found, as in
bench/neardup_recall.py's "first" column).

Then, in a separate process (so its peak memory is the matching's alone), each
sample release with its first paragraph replaced arrives as a new item:

- ``fingerprint``: `neardup.fingerprint` of its body (shingles + MinHash; CPU
  only, the same at any archive size);
- ``match``: `StoryIndex.match`: one indexed lookup per band, the candidates'
  signatures read and compared (it finds its planted original);
- ``match_50``: the same with 50 extra candidates to verify (bands of the
  query planted on 50 random archived items), the cost of a crowded bucket;
- ``update``: the whole write of a new item, `StoryIndex.update` inside a
  transaction (paragraph counts, signature and bands stored, matched, linked,
  its story recomputed), rolled back afterwards so the archive stays as made;
- ``peak_rss``: VmHWM of the matching process (Python, numpy, datasketch,
  SQLite's page cache; the archive's file pages stay in the OS cache).

    .venv/bin/python -m bench.near_duplicates_bench --items 100000
    .venv/bin/python -m bench.near_duplicates_bench --items 1000000 --db /tmp/nd-1m.db
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipelines import neardup  # noqa: E402
from presswatch.archive.db import open_archive  # noqa: E402

GENERATOR_VERSION = 2
DECOYS = 50
PLANT_CHANGE = 0.1  # share of a planted copy's signature values changed


def releases() -> list[list[str]]:
    from presswatch.sample_sites.server import load_content

    content = load_content()
    return [list(article["body"]) for article in content["article"]
            if len(article.get("body", [])) >= 3 and article.get("lang") == "en"]


def log_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the archive


def generate(path: Path, count: int, seed: int = 1, log=log_to_stderr) -> None:
    """``count`` synthetic fingerprints in a new archive at ``path``, with the planted copies."""
    rnd = np.random.default_rng(seed)
    db = open_archive(path)
    db.execute("PRAGMA foreign_keys = OFF")  # signatures of items whose rows are not generated
    started = time.perf_counter()
    bodies = releases()
    planted = sorted(random.Random(seed).sample(range(1, count + 1), len(bodies)))
    plants: dict[int, bytes] = {}
    for item_id, body in zip(planted, bodies, strict=True):
        signature = neardup.from_blob(neardup.fingerprint("\n\n".join(body)).signature).copy()
        changed = rnd.random(len(signature)) < PLANT_CHANGE
        signature[changed] = rnd.integers(0, 2**32, int(changed.sum()), dtype=np.uint64).astype(np.uint32)
        plants[item_id] = neardup.to_blob(signature)
    chunk = 50_000
    # Random band hashes stand for those of random signatures (same distribution, no hashing).
    all_bands = rnd.integers(-2**31, 2**31, (count, neardup.BANDS), dtype=np.int64).astype("<i4")
    with db.atomic():
        for start in range(1, count + 1, chunk):
            ids = range(start, min(count + 1, start + chunk))
            blobs = rnd.integers(0, 2**32, (len(ids), neardup.NUM_PERM), dtype=np.uint64).astype("<u4")
            rows = []
            for row, item_id in enumerate(ids):
                signature = plants.get(item_id) or blobs[row].tobytes()
                if item_id in plants:
                    all_bands[item_id - 1] = neardup.band_hashes(neardup.from_blob(signature))
                bands = all_bands[item_id - 1].tobytes()
                rows.append((item_id, neardup.SIGNATURE_VERSION, 300, signature, bands))
            db.conn.executemany("INSERT INTO item_signatures (item_id, version, words, signature, bands) "
                                "VALUES (?, ?, ?, ?, ?)", rows)
        log(f"  {count:,} signatures, {time.perf_counter() - started:.0f}s")
        # The bands, band by band in index order: the B-tree is built by appending.
        for band in range(neardup.BANDS):
            values = all_bands[:, band]
            order = np.lexsort((np.arange(count), values))
            rows_of_band = zip([band] * count, values[order].tolist(), (order + 1).tolist(), strict=True)
            db.conn.executemany("INSERT INTO lsh_bands (band, hash, item_id) VALUES (?, ?, ?)", rows_of_band)
            if band % 8 == 7:
                log(f"  band {band + 1} of {neardup.BANDS}, {time.perf_counter() - started:.0f}s")
        # The planted items exist as rows (a new item's story links point at them).
        for item_id in planted:
            db.execute("INSERT INTO items (id, uid, source, kind, url, title, first_seen, fetched) "
                       "VALUES (?, ?, 'bench', 'news', ?, 'planted', 'x', 'x')",
                       [item_id, f"planted{item_id}", f"https://bench.example.org/{item_id}"])
        db.execute("INSERT OR REPLACE INTO state (key, value) VALUES ('bench_near_duplicates', ?)",
                   [json.dumps({"items": count, "seed": seed, "generator": GENERATOR_VERSION,
                                "bands": [neardup.BANDS, neardup.ROWS], "perm": neardup.NUM_PERM,
                                "version": neardup.SIGNATURE_VERSION})])
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def archive_for(path: Path, count: int, seed: int, log=log_to_stderr) -> Path:
    """An archive of ``count`` fingerprints at ``path``: reused when made with the same settings."""
    wanted = {"items": count, "seed": seed, "generator": GENERATOR_VERSION,
              "bands": [neardup.BANDS, neardup.ROWS], "perm": neardup.NUM_PERM,
              "version": neardup.SIGNATURE_VERSION}
    if path.exists():
        db = open_archive(path)
        row = db.execute("SELECT value FROM state WHERE key = 'bench_near_duplicates'").fetchone()
        db.close()
        if row and json.loads(row[0]) == wanted:
            log(f"reusing {path} ({count:,} items)")
            return path
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    log(f"generating {count:,} fingerprints into {path}")
    started = time.perf_counter()
    generate(path, count, seed, log)
    log(f"generated in {time.perf_counter() - started:.0f}s, {path.stat().st_size / 1e6:,.0f} MB")
    return path


# --------------------------------------------------------------------------- timing


def _vm_hwm() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def run_matches(path: Path, rounds: int = 3) -> dict[str, Any]:
    """Time fingerprinting, matching and the whole update of each sample release (first paragraph
    replaced) as a new item; medians in ms, and this process's peak RSS in MB."""
    from pipelines.story_index import StoryIndex

    db = open_archive(path)
    index = StoryIndex(db)
    bodies = releases()
    rnd = random.Random(7)
    count = db.execute("SELECT max(item_id) FROM item_signatures").fetchone()[0]
    queries = []
    for number, body in enumerate(bodies):
        other = bodies[(number + 1) % len(bodies)]
        queries.append("\n\n".join([other[0], *body[1:]]))
    timings: dict[str, list[float]] = {"fingerprint": [], "match": [], "match_50": [], "update": []}
    found = candidates = 0
    for _ in range(rounds):
        for text in queries:
            started = time.perf_counter()
            fingerprint = neardup.fingerprint(text)
            timings["fingerprint"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            matches = index.match(-1, fingerprint)
            timings["match"].append((time.perf_counter() - started) * 1000)
            found += bool(matches)
            # A crowded bucket: 50 random archived items share one of the query's bands.
            db.execute("BEGIN IMMEDIATE")
            for decoy in rnd.sample(range(1, count + 1), DECOYS):
                band = rnd.randrange(neardup.BANDS)
                db.execute("INSERT OR IGNORE INTO lsh_bands (band, hash, item_id) VALUES (?, ?, ?)",
                           [band, fingerprint.bands[band], decoy])
            started = time.perf_counter()
            index.match(-1, fingerprint)
            timings["match_50"].append((time.perf_counter() - started) * 1000)
            candidates += DECOYS
            db.execute("ROLLBACK")
            # The whole write of a new item, rolled back.
            db.execute("BEGIN IMMEDIATE")
            item_id = db.execute(
                "INSERT INTO items (uid, source, kind, url, title, body, first_seen, fetched) VALUES "
                "('bench-query', 'bench', 'news', 'https://bench.example.org/query', 'q', ?, 'x', 'x')",
                [text]).lastrowid
            started = time.perf_counter()
            index.update(item_id, fingerprint=fingerprint, body=text)
            timings["update"].append((time.perf_counter() - started) * 1000)
            db.execute("ROLLBACK")
    db.close()
    return {
        "items": count,
        "queries": len(queries) * rounds,
        "found": found,
        "medians_ms": {name: statistics.median(values) for name, values in timings.items()},
        "p95_ms": {name: sorted(values)[int(0.95 * (len(values) - 1))] for name, values in timings.items()},
        "peak_rss_mb": _vm_hwm() / 1e6,
    }


def measure_in_child(path: Path, rounds: int = 3) -> dict[str, Any]:
    """`run_matches` in a fresh process: its peak memory is the matching's own."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.near_duplicates_bench", "--measure", str(path),
         "--rounds", str(rounds)],
        cwd=ROOT, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"near-duplicate matching failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout)


def measure(ctx: Any) -> list:
    """bench/run's entry point: matching against 100,000 and 1,000,000 items (10,000 and 100,000 with
    --quick); targets: under 5 ms per match, within 400 MB."""
    from bench.report import Figure

    sizes = (10_000, 100_000) if ctx.quick else (100_000, 1_000_000)
    workdir = ctx.workdir / "near-duplicates"
    workdir.mkdir(parents=True, exist_ok=True)
    figures: list = []
    for size in sizes:
        path = archive_for(workdir / f"fingerprints-{size}.db", size, 1, ctx.log)
        label = "" if size == sizes[-1] else f"_{size // 1000}k"
        megabytes = path.stat().st_size / 1e6
        note = (f"{size:,} archived fingerprints ({megabytes:,.0f} MB on disk); each of the sample releases "
                "with its first paragraph replaced arrives as a new item; band lookups + verification")
        match = Figure(f"near_duplicates.match{label}", "ms", target=5, op="<", note=note)
        crowded = Figure(f"near_duplicates.match_50_candidates{label}", "ms", target=5, op="<",
                         note="the same with 50 more candidates to verify (a crowded bucket)")
        update = Figure(f"near_duplicates.update{label}", "ms",
                        note="the whole write of a new item: counts, bands, match, links, story "
                             "(rolled back)")
        rss = Figure(f"near_duplicates.peak_rss{label}", "MB", target=400, op="<", digits=0,
                     note="peak RSS (VmHWM) of the matching process")
        fingerprint = Figure(f"near_duplicates.fingerprint{label}", "ms",
                             note="shingles + MinHash of one body (CPU; runs in the worker pool during "
                                  "a crawl)")
        for _ in range(max(1, ctx.repeat)):
            result = measure_in_child(path)
            ctx.log(f"near-duplicates {size:,}: match {result['medians_ms']['match']:.2f} ms, "
                    f"with 50 candidates {result['medians_ms']['match_50']:.2f} ms, "
                    f"update {result['medians_ms']['update']:.2f} ms, peak {result['peak_rss_mb']:.0f} MB, "
                    f"found {result['found']}/{result['queries']}")
            if result["found"] < 0.8 * result["queries"]:
                raise RuntimeError(f"near-duplicates {size:,}: only {result['found']} of {result['queries']} "
                                   "new items found their planted original (expected ~90%)")
            match.runs.append(result["medians_ms"]["match"])
            crowded.runs.append(result["medians_ms"]["match_50"])
            update.runs.append(result["medians_ms"]["update"])
            rss.runs.append(result["peak_rss_mb"])
            fingerprint.runs.append(result["medians_ms"]["fingerprint"])
        figures += [match, crowded, update, rss, fingerprint]
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.near_duplicates_bench",
        description="Time near-duplicate matching of one new item against N archived fingerprints.",
        epilog="Example: .venv/bin/python -m bench.near_duplicates_bench --items 100000",
    )
    parser.add_argument("--items", type=int, default=100_000, help="archived fingerprints (default 100000)")
    parser.add_argument("--db", type=Path,
                        help="archive to generate into / reuse, kept (default: a temporary file)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="times each sample release is matched (default 3)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--measure", type=Path, metavar="DB", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(run_matches(args.measure, args.rounds)))
        return 0
    with tempfile.TemporaryDirectory(prefix="presswatch-neardup-bench-") as tmp:
        path = archive_for(args.db or Path(tmp) / "archive.db", args.items, args.seed)
        result = measure_in_child(path, args.rounds)
        result["db_mb"] = path.stat().st_size / 1e6
    medians, high = result["medians_ms"], result["p95_ms"]
    print(f"{result['items']:,} archived fingerprints ({result['db_mb']:,.0f} MB); {result['queries']} new "
          f"items, {result['found']} found their planted original")
    for name in ("fingerprint", "match", "match_50", "update"):
        print(f"  {name:12} median {medians[name]:7.2f} ms   p95 {high[name]:7.2f} ms")
    print(f"  peak RSS of the matching process: {result['peak_rss_mb']:.0f} MB "
          "(targets: match < 5 ms, < 400 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
