"""Publishing the feeds at a million items (issue 9, 4): `feeds.publish.publish_feeds`, full and incremental.

The archive is the search benchmark's synthetic one (bench/search_bench.py:
the real schema, six sources, dates over 20 years, countries, languages),
copied and classified once with topics.toml (as a crawl leaves it: item_topics
current, so publishing does not reclassify), and kept in the work directory
for the next run. A kept archive of an older schema is migrated when it is
opened, before any timing (schema v8's feed indexes: ~20 s at a million items);
the preparation key need not change, the items are the same.

- ``publish.full``: `publish_feeds` into an empty public/ directory: every
  feed (all, topics, sources, countries, kinds; RSS and Atom), the OPML lists
  and the index page, rendered and written (the archive's record of the last
  run's publish names files that are gone, so every file is rendered);
- ``publish.incremental_100``: 100 new items arrive (inserted and classified
  as a crawl does it, untimed), then `publish_feeds` into the same public/:
  what the scheduler runs after a crawl. The 100 items are deleted afterwards
  so that every run starts from the same archive.

Both are wall times in this process, start-up excluded (what `presswatch
publish` adds on top is its imports, ~1 s).

    .venv/bin/python -m bench.publish_bench --items 100000
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import search_bench  # noqa: E402
from feeds.publish import publish_feeds  # noqa: E402
from pipelines.topics import Classifier, classify_item, reclassify_all  # noqa: E402
from presswatch.archive.db import open_archive  # noqa: E402
from presswatch.archive.times import utc_now  # noqa: E402
from presswatch.config.topics import load_topics  # noqa: E402

TOPICS = ROOT / "topics.toml"
SOURCES = ROOT / "sources.toml"
BASE_URL = "https://feeds.example.org/"
NEW_ITEMS = 100
NEW_PREFIX = "benchpublish"
PREPARATION_VERSION = 1


def prepared_archive(workdir: Path, count: int, log: Callable[[str], None]) -> Path:
    """The classified archive of ``count`` items for publishing, made once and reused."""
    path = workdir / f"publish-{count}.db"
    topics = load_topics(TOPICS)
    key = {"items": count, "generator": search_bench.GENERATOR_VERSION, "topics": topics.fingerprint,
           "preparation": PREPARATION_VERSION}
    if path.exists():
        db = open_archive(path)
        row = db.execute("SELECT value FROM state WHERE key = 'bench_publish'").fetchone()
        db.execute(f"DELETE FROM items WHERE uid LIKE '{NEW_PREFIX}%'")  # left by an interrupted run
        db.close()
        if row and json.loads(row[0]) == key:
            log(f"reusing {path} ({count:,} items, classified)")
            return path
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    # The search benchmark's archive of the same size, if it is there; else generate one.
    search_copy = workdir.parent / "search" / f"search-{count}.db"
    search_bench.archive_for(search_copy, count, 1, log)
    log(f"copying {search_copy} to {path}")
    shutil.copyfile(search_copy, path)
    db = open_archive(path)
    started = time.perf_counter()
    counts = reclassify_all(db, Classifier(topics))
    log(f"classified {count:,} items in {time.perf_counter() - started:.0f}s "
        f"({sum(counts.values()):,} topic assignments)")
    db.execute("INSERT OR REPLACE INTO state (key, value) VALUES ('bench_publish', ?)", [json.dumps(key)])
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


def add_new_items(path: Path, count: int = NEW_ITEMS) -> list[int]:
    """``count`` new items published now (copies of random archived ones under new URLs), each
    classified as the crawl's ClassifyPipeline does it; returns their ids."""
    db = open_archive(path)
    columns = [column.name for column in db["items"].columns if column.name != "id"]
    highest = db.execute("SELECT MAX(id) FROM items").fetchone()[0]
    step = max(1, highest // (count + 1))
    rows = db.execute(f"SELECT {', '.join(columns)} FROM items WHERE id IN "
                      f"({', '.join(str(step * (n + 1)) for n in range(count))})").fetchall()
    now = utc_now()
    ids = []
    with db.atomic():
        for number, values in enumerate(rows):
            row = dict(zip(columns, values, strict=True))
            row.update(uid=f"{NEW_PREFIX}{number:04d}", url=f"https://bench.example.org/new/{number}",
                       title=f"{row['title']} (new {number})", published=now, published_utc=now,
                       first_seen=now, fetched=now, status="active")
            for column in ("story_id", "removed", "updated"):
                if column in row:
                    row[column] = None
            ids.append(db["items"].insert(row).last_pk)
    classifier = Classifier(load_topics(TOPICS))
    for item_id in ids:
        classify_item(db, classifier, item_id)
    db.close()
    return ids


def remove_new_items(path: Path) -> None:
    db = open_archive(path)
    with db.atomic():
        db.execute(f"DELETE FROM items WHERE uid LIKE '{NEW_PREFIX}%'")
    db.close()


def publish_once(path: Path, public: Path) -> tuple[float, Any]:
    started = time.perf_counter()
    report = publish_feeds(path, public, TOPICS, base_url=BASE_URL, sources_path=SOURCES)
    return time.perf_counter() - started, report


def run(path: Path, workdir: Path, log: Callable[[str], None]) -> dict[str, Any]:
    """One full and one incremental publish; seconds and files written."""
    public = workdir / "public"
    shutil.rmtree(public, ignore_errors=True)
    full, report = publish_once(path, public)
    files = len(report.written)
    log(f"publish full: {full:.2f} s, {files} files written")
    add_new_items(path)
    try:
        incremental, report = publish_once(path, public)
    finally:
        remove_new_items(path)
    log(f"publish after {NEW_ITEMS} new items: {incremental:.2f} s, {len(report.rendered)} files rendered, "
        f"{len(report.written)} rewritten, {len(report.unchanged)} unchanged")
    return {"full_s": full, "incremental_s": incremental, "files": files,
            "rewritten": len(report.written), "rendered": len(report.rendered)}


def measure(ctx: Any) -> list:
    """bench/run's entry point: a million items (20,000 with --quick); targets: full < 10 s,
    incremental after 100 new items < 1 s."""
    from bench.report import Figure

    count = 20_000 if ctx.quick else 1_000_000
    workdir = ctx.workdir / "publish"
    workdir.mkdir(parents=True, exist_ok=True)
    path = prepared_archive(workdir, count, ctx.log)
    full = Figure("publish.full", "s", target=10, op="<")
    incremental = Figure("publish.incremental_100", "s", target=1, op="<")
    for _ in range(max(1, ctx.repeat)):
        result = run(path, workdir, ctx.log)
        full.runs.append(result["full_s"])
        incremental.runs.append(result["incremental_s"])
    full.note = (f"publish_feeds into an empty public/ at {count:,} classified items: "
                 f"{result['files']} files (RSS + Atom per feed, OPML, index)")
    incremental.note = (f"publish_feeds after {NEW_ITEMS} new items (classified as a crawl does): "
                        f"{result['rendered']} files rendered, {result['rewritten']} rewritten, "
                        f"the others known unchanged")
    return [full, incremental]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.publish_bench",
                                     description="Time feeds.publish at N synthetic items.")
    parser.add_argument("--items", type=int, default=100_000, help="items (default 100000)")
    parser.add_argument("--workdir", type=Path, help="where archives are made and kept (default: temporary)")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="presswatch-publish-bench-") as tmp:
        workdir = (args.workdir or Path(tmp)) / "publish"
        workdir.mkdir(parents=True, exist_ok=True)
        path = prepared_archive(workdir, args.items, print)
        for _ in range(args.repeat):
            print(run(path, workdir, print))
    return 0


if __name__ == "__main__":
    sys.exit(main())
