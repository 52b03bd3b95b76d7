"""Searching the text of documents (the PDFs items link), page by page.

`search.search` calls `document_hits` for `--in documents` and, after the web
pages' own matches, for the default `--in all`: each item whose documents match
counts once, with its best-matching page, and its snippet says which page
("p. 3: ...") so the reader can open the PDF there. Filters are the same
conditions on items ``i`` as for pages. Documents are few next to pages (one
report per publication), so every matching page is collected, then ranked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlite_utils

SNIPPET_TOKENS = 24


@dataclass(frozen=True)
class DocumentHit:
    item_id: int
    page_row: int  # document_pages.id of the best-matching page
    page: int
    score: float  # -bm25: higher is better
    published_utc: str | None


def has_documents(db: sqlite_utils.Database) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name = 'document_pages_fts'").fetchone() is not None


def document_hits(db: sqlite_utils.Database, expression: str, checks: list[str], params: list[Any],
                  order: str, limit: int, exclude: set[int] | frozenset[int] = frozenset()
                  ) -> list[DocumentHit]:
    """Items whose documents match ``expression`` (an FTS5 MATCH), best page each, in ``order``."""
    if not has_documents(db):
        return []
    where = " AND ".join(checks) if checks else "1"
    # The FTS index is the outer loop (CROSS JOIN): bm25 must never run once per item row.
    sql = (
        "SELECT p.item_id, p.id, p.page, bm25(document_pages_fts), i.published_utc "
        "FROM document_pages_fts f CROSS JOIN document_pages p ON p.id = f.rowid "
        "CROSS JOIN items i ON i.id = p.item_id "
        f"WHERE f.document_pages_fts MATCH ? AND {where}"
    )
    best: dict[int, DocumentHit] = {}
    for item_id, page_row, page, bm25, published in db.execute(sql, [expression, *params]):
        if item_id in exclude:
            continue
        hit = DocumentHit(item_id, page_row, page, -bm25, published)
        if item_id not in best or (hit.score, -hit.page) > (best[item_id].score, -best[item_id].page):
            best[item_id] = hit
    hits = list(best.values())
    if order == "relevance":
        hits.sort(key=lambda hit: (-hit.score, -hit.item_id))
    else:
        hits.sort(key=lambda hit: (hit.published_utc or "", hit.item_id), reverse=True)
    return hits[:limit]


def page_snippets(db: sqlite_utils.Database, expression: str, hits: list[DocumentHit],
                  mark_start: str, mark_end: str) -> dict[int, str]:
    """item id -> "p. N: …snippet…" of its best page."""
    if not hits:
        return {}
    snippet = f"snippet(document_pages_fts, 0, '{mark_start}', '{mark_end}', '…', {SNIPPET_TOKENS})"
    rows = dict(db.execute(
        f"SELECT f.rowid, {snippet} FROM document_pages_fts f WHERE f.document_pages_fts MATCH ? "
        "AND f.rowid IN (SELECT value FROM json_each(?))",
        [expression, json.dumps([hit.page_row for hit in hits])]).fetchall())
    return {hit.item_id: f"p. {hit.page}: {' '.join(rows.get(hit.page_row, '').split())}" for hit in hits}
