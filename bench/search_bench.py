"""Search latency on a synthetic archive: presswatch's query plans against naive FTS5 queries.

Generates N items into a temporary archive (the real schema, filled through
the real triggers, so items_fts is built incrementally as a crawl builds it),
then times a fixed set of searches, each with both sort orders, through
`presswatch.archive.search.search` (what `presswatch search` runs, minus start-up and
printing): ranking, the final rows, topics and snippets. The baseline runs the
same searches the naive way in the same run: every match joined to items,
ORDER BY bm25 (or published_utc) LIMIT 20.

    .venv/bin/python -m bench.search_bench --items 100000
    .venv/bin/python -m bench.search_bench --items 1000000 --db /tmp/bench-1m.db --keep

`measure(ctx)` is what `bench/run` calls (issue 9): a million items (20,000 with
--quick), figures search.median and search.p95 against 20 ms and 100 ms.

The text: a Zipf-distributed vocabulary of made-up words, plus words with a
known share of items: "migration" in 95%, "migrants" in 60%, "health" 20%,
"ukraine" 8%, "trafficking" 5%, "remittances" 3%, "resettlement" 0.5%,
"lithuania" 0.1%. Published dates are spread over 20 years independently of
the ids (as after a backfill), 2% undated.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from presswatch.archive.db import open_archive  # noqa: E402
from presswatch.archive.search import BM25_WEIGHTS, SearchQuery, build_filters, parse_query, search  # noqa: E402

GENERATOR_VERSION = 1
SHARES = [("migration", 0.95), ("migrants", 0.60), ("health", 0.20), ("ukraine", 0.08), ("trafficking", 0.05),
          ("remittances", 0.03), ("resettlement", 0.005), ("lithuania", 0.001)]
SOURCES = [("iom-press", "press_release", None, "global"), ("moldova", "press_release", "MD", "SEEECA"),
           ("ukraine", "press_release", "UA", "SEEECA"), ("eca-news", "news", None, "SEEECA"),
           ("publications", "publication", None, "global"), ("lithuania", "news", "LT", "EEA")]
COUNTRIES = ["UA", "MD", "PL", "RO", "DE", "IT", "RU", "TR", "SY", "AF", "PK", "BD", "IN", "PH", "US", "MX"]

# The fixed query set: (label, query fields). Each runs with both sort orders.
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("word in 95%: migration", {"text": "migration"}),
    ("word in 60%: migrants", {"text": "migrants"}),
    ("word in 20%: health", {"text": "health"}),
    ("word in 3%: remittances", {"text": "remittances"}),
    ("word in 0.5%: resettlement", {"text": "resettlement"}),
    ("word in 0.1%: lithuania", {"text": "lithuania"}),
    ("phrase", {"text": '"migration health"'}),
    ("AND", {"text": "trafficking AND ukraine"}),
    ("OR", {"text": "remittances OR resettlement"}),
    ("NOT", {"text": "health NOT migrants"}),
    ("prefix, 3 letters: mig*", {"text": "mig*"}),
    ("prefix: remitt*", {"text": "remitt*"}),
    ("prefix: traffick*", {"text": "traffick*"}),
    ("--source moldova", {"text": "migration", "sources": ("moldova",)}),
    ("--country UA", {"text": "health", "countries": ("UA",)}),
    ("--lang ro", {"text": "trafficking", "languages": ("ro",)}),
    ("--since/--until a year", {"text": "migrants", "since": "2020", "until": "2020"}),
    ("filters only: --source --since", {"sources": ("ukraine",), "since": "2015-06"}),
]
# Measured and reported, outside the median/p95 set: the known slow case (see docs/schema.md).
EXTRA_QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("prefix of a 95% stem: migra*", {"text": "migra*"}),
]


# --------------------------------------------------------------------------- the archive


def generate(path: Path, count: int, seed: int = 1, log: Callable[[str], None] = print) -> None:
    """Write ``count`` synthetic items into a new archive at ``path``."""
    rnd = random.Random(seed)
    syllables = [a + b for a in "bcdfghklmnprstvz" for b in "aeiou"]
    vocabulary = sorted({"".join(rnd.choices(syllables, k=rnd.randint(2, 4))) for _ in range(30000)})
    rnd.shuffle(vocabulary)
    weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(vocabulary))))
    sentences = [" ".join(rnd.choices(vocabulary, cum_weights=weights, k=rnd.randint(8, 16)))
                 for _ in range(20000)]
    db = open_archive(path)
    started = time.perf_counter()
    columns = ("uid", "source", "kind", "region", "country", "url", "title", "summary", "body", "published",
               "published_utc", "date_source", "language", "countries", "first_seen", "fetched")
    sql = f"INSERT INTO items ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    batch: list[tuple] = []
    for number in range(count):
        body = rnd.sample(sentences, rnd.randint(8, 14))
        for word, share in SHARES:
            if rnd.random() < share:
                sentence = rnd.randrange(len(body))
                body[sentence] = f"{body[sentence]} {word}"
        summary = body[0]
        title = " ".join(rnd.choices(vocabulary, cum_weights=weights, k=rnd.randint(5, 10))).capitalize()
        if rnd.random() < 0.3:
            title += " " + rnd.choice(SHARES[:6])[0]
        source, kind, country, region = rnd.choice(SOURCES)
        published = None
        if rnd.random() >= 0.02:
            published = (f"{rnd.randint(2006, 2025)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
                         f"T{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:00Z")
        language = "en" if rnd.random() < 0.8 else rnd.choice(["ru", "uk", "ro"])
        countries = sorted(set(rnd.sample(COUNTRIES, rnd.randint(0, 4))))
        batch.append((f"{number:016x}", source, kind, region, country, f"https://bench.example.org/{number}",
                      title, summary, "\n\n".join(body), published, published, "metadata", language,
                      json.dumps(countries), "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z"))
        if len(batch) == 10000 or number == count - 1:
            with db.atomic():
                db.conn.executemany(sql, batch)
            batch = []
            if (number + 1) % 100000 == 0:
                log(f"  {number + 1:,} items, {time.perf_counter() - started:.0f}s")
    db.execute("INSERT OR REPLACE INTO state (key, value) VALUES ('bench', ?)",
               [json.dumps({"items": count, "seed": seed, "generator": GENERATOR_VERSION})])
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def archive_for(path: Path, count: int, seed: int, log: Callable[[str], None]) -> Path:
    """An archive of ``count`` items at ``path``: reused when it was generated with the same settings."""
    if path.exists():
        db = open_archive(path)
        row = db.execute("SELECT value FROM state WHERE key = 'bench'").fetchone()
        db.close()
        if row and json.loads(row[0]) == {"items": count, "seed": seed, "generator": GENERATOR_VERSION}:
            log(f"reusing {path} ({count:,} items)")
            return path
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    log(f"generating {count:,} items into {path}")
    started = time.perf_counter()
    generate(path, count, seed, log)
    log(f"generated in {time.perf_counter() - started:.0f}s, {path.stat().st_size / 1e6:,.0f} MB")
    return path


# --------------------------------------------------------------------------- timing


def naive(db, query: SearchQuery) -> list[tuple]:
    """The same search without presswatch's plans: every match joined, sorted, LIMIT."""
    conditions, params = [], []
    for f in build_filters(query):
        conditions.append(f.check_sql)
        params.extend(f.params)
    where = " AND ".join(conditions) or "1"
    if not query.text:
        return db.execute(f"SELECT i.id, i.title FROM items i WHERE {where} "
                          "ORDER BY i.published_utc DESC LIMIT ?", [*params, query.limit]).fetchall()
    weights = ", ".join(str(weight) for weight in BM25_WEIGHTS)
    order = f"bm25(items_fts, {weights})" if query.order == "relevance" else "i.published_utc DESC"
    return db.execute(
        f"SELECT i.id, i.title, snippet(items_fts, -1, '[', ']', '…', 24) FROM items_fts "
        f"JOIN items i ON i.id = items_fts.rowid WHERE items_fts MATCH ? AND {where} "
        f"ORDER BY {order} LIMIT ?",
        [parse_query(query.text).expression, *params, query.limit]).fetchall()


def time_ms(function: Callable[[], Any]) -> float:
    started = time.perf_counter()
    function()
    return (time.perf_counter() - started) * 1000


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def run_queries(path: Path, repeat: int, with_naive: bool = True,
                log: Callable[[str], None] = print) -> dict[str, Any]:
    """Time every query of QUERIES (+ EXTRA_QUERIES) with both sorts; medians per query and overall."""
    db = open_archive(path, readonly=True)
    rows = []
    ours_all: list[float] = []
    naive_all: list[float] = []
    for label, fields in QUERIES + EXTRA_QUERIES:
        extra = (label, fields) in EXTRA_QUERIES
        for sort in ("relevance", "newest"):
            if sort == "relevance" and not fields.get("text"):
                continue
            query = SearchQuery(sort=sort, limit=20, **fields)
            result = search(db, query)  # warm-up, and the plan
            ours = [time_ms(lambda query=query: search(db, query)) for _ in range(repeat)]
            theirs = [time_ms(lambda query=query: naive(db, query)) for _ in range(max(1, repeat // 2))] \
                if with_naive else []
            if not extra:
                ours_all += ours
                naive_all += theirs
            rows.append({"query": label, "sort": sort, "ours_ms": statistics.median(ours),
                         "naive_ms": statistics.median(theirs) if theirs else None, "plan": result.plan,
                         "exact": result.exact, "counted": not extra})
            log(f"  {label:34} {sort:9} {statistics.median(ours):9.2f} ms"
                + (f"  naive {statistics.median(theirs):9.2f} ms" if theirs else "") + f"  {result.plan}")
    db.close()
    summary = {"median_ms": statistics.median(ours_all), "p95_ms": p95(ours_all)}
    if naive_all:
        summary.update({"naive_median_ms": statistics.median(naive_all), "naive_p95_ms": p95(naive_all)})
        summary["median_ratio"] = summary["naive_median_ms"] / summary["median_ms"]
        summary["p95_ratio"] = summary["naive_p95_ms"] / summary["p95_ms"]
    return {"queries": rows, "summary": summary}


def measure(ctx: Any) -> list:
    """bench/run's entry point: figures against the issue's targets (median < 20 ms, p95 < 100 ms)."""
    from bench.report import Figure

    count = 20_000 if ctx.quick else 1_000_000
    workdir = ctx.workdir / "search"
    workdir.mkdir(parents=True, exist_ok=True)
    path = archive_for(workdir / f"search-{count}.db", count, 1, ctx.log)
    note = (f"{count:,} synthetic items; {len(QUERIES)} searches (words from 0.1% to 95% of items, phrase, "
            "AND/OR/NOT, prefixes, filters), each with --sort relevance and newest, LIMIT 20, with snippets")
    median = Figure("search.median", "ms", target=20, op="<", note=note)
    high = Figure("search.p95", "ms", target=100, op="<")
    ratio = Figure("search.naive_median_ratio", "x",
                   baseline="naive FTS5 (ORDER BY bm25 / published_utc over every match) median "
                            "÷ presswatch median, same run")
    for _ in range(max(1, ctx.repeat)):
        figures = run_queries(path, repeat=3, log=ctx.log)["summary"]
        median.runs.append(figures["median_ms"])
        high.runs.append(figures["p95_ms"])
        ratio.runs.append(figures["median_ratio"])
    return [median, high, ratio]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.search_bench",
        description="Time presswatch searches on N synthetic items against naive FTS5 queries.",
        epilog="Example: .venv/bin/python -m bench.search_bench --items 100000",
    )
    parser.add_argument("--items", type=int, default=100_000, help="items to generate (default 100000)")
    parser.add_argument("--db", type=Path,
                        help="archive to generate into / reuse (default: a temporary file)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each search (default 5)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-naive", action="store_true", help="skip the naive baseline")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="presswatch-search-bench-") as tmp:
        path = archive_for(args.db or Path(tmp) / "archive.db", args.items, args.seed, print)
        print(f"searching ({args.repeat} runs each; median ms)")
        figures = run_queries(path, args.repeat, with_naive=not args.no_naive)
    summary = figures["summary"]
    print(f"\npresswatch: median {summary['median_ms']:.2f} ms, p95 {summary['p95_ms']:.2f} ms "
          f"(targets: < 20 ms, < 100 ms)")
    if "naive_median_ms" in summary:
        print(f"naive:      median {summary['naive_median_ms']:.2f} ms, "
              f"p95 {summary['naive_p95_ms']:.2f} ms  (naive ÷ presswatch: "
              f"median {summary['median_ratio']:.1f}x, p95 {summary['p95_ratio']:.1f}x)")
    if args.json:
        args.json.write_text(json.dumps({"items": args.items, **figures}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
