"""Exact deduplication: what makes two fetched pages one archived item.

Two pages are one item when they have the same canonical URL, or the same
normalised text (content hash) at different URLs: a release re-posted verbatim
on a regional site. The copy is recorded in `duplicates`, never silently
dropped. Which copy is the item is decided by `prefer`, so that the archive
ends up the same whatever order the pages arrived in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlite_utils

from pipelines.items import Article
from pipelines.normalize.hashes import content_hash, item_uid
from presswatch.archive.outcomes import DuplicateReason


def identify(article: Article, *, cleaned: bool = False) -> Article:
    """Give the article its stable uid and its content hash (``cleaned``: the body is
    `normalize_article`'s, clean already)."""
    assert article.canonical_url, "normalise before deduplicating"
    article.uid = item_uid(article.canonical_url)
    article.content_hash = content_hash(article.body, cleaned=cleaned)
    return article


def find_copy(db: sqlite_utils.Database, article: Article) -> tuple[dict[str, Any], str] | None:
    """The archived item this article is a copy of, with why (same_url | same_content), or None."""
    row = db.execute("SELECT * FROM items WHERE url = ?", [article.canonical_url]).fetchone()
    if row is not None:
        return _as_dict(db, row), DuplicateReason.SAME_URL
    if article.content_hash:
        row = db.execute(
            "SELECT * FROM items WHERE content_hash = ? ORDER BY id LIMIT 1", [article.content_hash]
        ).fetchone()
        if row is not None:
            return _as_dict(db, row), DuplicateReason.SAME_CONTENT
    return None


def prefer(article: Article, item: dict[str, Any], rank: Callable[[str], int]) -> bool:
    """Should ``article`` replace ``item`` as the record of their shared text?

    The copy published on the earliest day is the original; between copies of
    the same day the source listed first in sources.toml wins, then the
    smaller URL.
    """
    # Compare calendar days as each page states them: a copy that gives only a
    # date (midnight) must not beat the original that gives the time of day.
    new_day = article.published.date().isoformat() if article.published else None
    old_day = item["published"][:10] if item["published"] else None
    if new_day != old_day:
        if new_day is None:
            return False
        if old_day is None:
            return True
        return new_day < old_day
    new_rank, old_rank = rank(article.source), rank(item["source"])
    if new_rank != old_rank:
        return new_rank < old_rank
    return (article.canonical_url or "") < item["url"]


def _as_dict(db: sqlite_utils.Database, row: tuple) -> dict[str, Any]:
    columns = [column.name for column in db["items"].columns]
    return dict(zip(columns, row, strict=True))
