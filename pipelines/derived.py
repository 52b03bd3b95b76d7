"""Derived data that must survive a crash: an item's topics and story links.

The store writes an item in one transaction; the story and classify steps write
what derives from it in later ones (their CPU-heavy part runs in the worker
pool in between). A crash between the two used to lose the derived rows for
good: the next crawl sees the item as archived and never looks at it again.

So the store marks the item in ``derived_pending`` in the item's own transaction
(`mark`), with the translation refs the page declared (they are not stored
anywhere else until the story step runs); each step clears its flag in the
transaction that writes its rows (`clear`). Whatever is still marked is
completed by the next crawl of the item's source (`complete_topics`,
`complete_stories` when its pipelines open) and by every publish
(`complete_all`, for the sources no crawl is working on).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Literal

import sqlite_utils

from pipelines.items import Article
from pipelines.story_index import StoryIndex, translation_refs
from pipelines.topics import Classifier, classify_item
from presswatch.archive.db import write_transaction
from presswatch.archive.outcomes import Outcome, RunStatus
from presswatch.archive.times import to_utc_text, utc_now

Step = Literal["topics", "stories"]

# Outcomes whose topics / story links the later steps (re)write.
TOPIC_OUTCOMES = (Outcome.NEW, Outcome.UPDATED, Outcome.DUPLICATE)
STORY_OUTCOMES = (Outcome.NEW, Outcome.UPDATED)
# A publish leaves a running crawl's fresh marks to that crawl (its steps are seconds behind its
# store); marks older than this are a dead crawl's, whatever its run row still says.
IN_FLIGHT = timedelta(minutes=10)
CATCH_UP_LIMIT = 5000  # marked items completed per crawl or publish; the rest by the next one


def mark(db: sqlite_utils.Database, item_id: int, article: Article, outcome: str) -> None:
    """Inside the item's write transaction: note what derived rows ``outcome`` makes due."""
    topics, stories = outcome in TOPIC_OUTCOMES, outcome in STORY_OUTCOMES
    if not (topics or stories):
        return
    refs = None
    if stories:
        refs = json.dumps(translation_refs(article.canonical_url or article.url, article.alternates,
                                           article.shortlink))
    db.execute(
        "INSERT INTO derived_pending (item_id, source, topics, stories, refs, marked) "
        "VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(item_id) DO UPDATE SET source = excluded.source, "
        "topics = MAX(topics, excluded.topics), stories = MAX(stories, excluded.stories), "
        "refs = COALESCE(excluded.refs, refs), marked = excluded.marked",
        [item_id, article.source, int(topics), int(stories), refs, utc_now()],
    )


def clear(db: sqlite_utils.Database, item_id: int, step: Step) -> None:
    """Inside the transaction that wrote ``step``'s rows for the item: it is done."""
    db.execute(f"UPDATE derived_pending SET {step} = 0 WHERE item_id = ?", [item_id])
    db.execute("DELETE FROM derived_pending WHERE item_id = ? AND topics = 0 AND stories = 0", [item_id])


def pending(db: sqlite_utils.Database, step: Step, *, sources: Collection[str] | None = None,
            skip_sources: Collection[str] = (), limit: int = CATCH_UP_LIMIT) -> list[tuple[int, str | None]]:
    """(item id, refs JSON) of the items still marked for ``step``, oldest first.

    ``sources``: only these; ``skip_sources``: not these, unless marked before `IN_FLIGHT` ago.
    """
    sql = f"SELECT item_id, refs, source, marked FROM derived_pending WHERE {step} = 1"
    params: list[object] = []
    if sources is not None:
        sql += f" AND source IN ({', '.join('?' for _ in sources)})"
        params += list(sources)
    sql += " ORDER BY item_id LIMIT ?"
    params.append(limit)
    old = to_utc_text(datetime.now(UTC) - IN_FLIGHT)
    return [(item_id, refs) for item_id, refs, source, marked in db.execute(sql, params)
            if source not in skip_sources or marked < old]


def complete_topics(db: sqlite_utils.Database, classifier: Classifier, *,
                    sources: Collection[str] | None = None, skip_sources: Collection[str] = ()) -> int:
    """Classify the items still marked for topics (one transaction each); how many."""
    done = 0
    for item_id, _refs in pending(db, "topics", sources=sources, skip_sources=skip_sources):
        with write_transaction(db):
            classify_item(db, classifier, item_id)
            clear(db, item_id, "topics")
        done += 1
    return done


def complete_stories(index: StoryIndex, *, sources: Collection[str] | None = None,
                     skip_sources: Collection[str] = ()) -> int:
    """Put the items still marked for stories into their stories (one transaction each); how many."""
    done = 0
    for item_id, refs in pending(index.db, "stories", sources=sources, skip_sources=skip_sources):
        declared = [(ref, kind) for ref, kind in json.loads(refs)] if refs else None
        with write_transaction(index.db):
            index.update(item_id, refs=declared)
            clear(index.db, item_id, "stories")
        done += 1
    return done


def busy_sources(db: sqlite_utils.Database) -> set[str]:
    """Sources with a run recorded as running (a live crawl's, or a dead one's not yet closed)."""
    return {row[0] for row in db.execute("SELECT DISTINCT source FROM crawl_runs WHERE status = ?",
                                         [RunStatus.RUNNING])}


def complete_all(db: sqlite_utils.Database, classifier: Classifier | None,
                 index: StoryIndex) -> dict[str, int]:
    """A publish's catch-up: every marked item of a source no crawl is working on (or marked long
    ago); how many were completed, by step."""
    busy = busy_sources(db)
    stories = complete_stories(index, skip_sources=busy)
    topics = complete_topics(db, classifier, skip_sources=busy) if classifier is not None else 0
    return {"stories": stories, "topics": topics}
