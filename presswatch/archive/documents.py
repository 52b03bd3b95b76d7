"""Documents in the archive: the PDFs items link, their text page by page, and their versions.

The schema is presswatch/archive/schema.py's v14. Here: the write of one fetched
document (`store_document`: new, updated into a new version, or unchanged) and
the reads `presswatch show`, `diff` and `search --in documents` need. A
document's text is kept whole in ``documents.text`` (pages separated by form
feeds) and page by page in ``document_pages``, which ``document_pages_fts``
indexes, so a search can say on which page a word is.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from presswatch.archive.outcomes import ItemEvent, Outcome

PAGE_BREAK = "\f"


@dataclass
class DocumentRecord:
    """One fetched document, read (or not) and ready to store."""

    item_id: int
    url: str
    sha256: str
    content_type: str
    bytes: int
    fetched: str  # UTC text
    pages: list[str]
    page_count: int | None
    language: str | None
    problem: str | None
    detail: str
    etag: str | None = None
    last_modified: str | None = None

    @property
    def text(self) -> str:
        return PAGE_BREAK.join(self.pages)


def known_sha256(db: sqlite_utils.Database, item_id: int, url: str) -> str | None:
    """The sha256 of the archived document (None: not archived): unchanged bytes need no reading."""
    row = db.execute("SELECT sha256 FROM documents WHERE item_id = ? AND url = ?", [item_id, url]).fetchone()
    return row[0] if row else None


def touch_document(db: sqlite_utils.Database, item_id: int, url: str, fetched: str,
                   etag: str | None = None, last_modified: str | None = None) -> bool:
    """Record that an archived document was fetched again unchanged; False when it is not archived."""
    values: dict[str, Any] = {"fetched": fetched}
    if etag or last_modified:
        values.update(http_etag=etag, http_last_modified=last_modified)
    assignments = ", ".join(f"{name} = ?" for name in values)
    cursor = db.execute(f"UPDATE documents SET {assignments} WHERE item_id = ? AND url = ?",
                        [*values.values(), item_id, url])
    return cursor.rowcount > 0


def store_document(db: sqlite_utils.Database, record: DocumentRecord, now: str) -> tuple[Outcome, int]:
    """Write ``record`` (inside the caller's transaction): new, updated (a version kept) or unchanged."""
    columns = [column.name for column in db.table("documents").columns]
    row = db.execute("SELECT * FROM documents WHERE item_id = ? AND url = ?",
                     [record.item_id, record.url]).fetchone()
    values = {
        "sha256": record.sha256, "content_type": record.content_type, "bytes": record.bytes,
        "pages": record.page_count, "language": record.language, "text": record.text,
        "problem": record.problem, "detail": record.detail or None, "fetched": record.fetched,
        "http_etag": record.etag, "http_last_modified": record.last_modified,
    }
    if row is None:
        document_id = db.table("documents").insert(
            {"item_id": record.item_id, "url": record.url, "first_seen": now, **values}
        ).last_pk
        assert isinstance(document_id, int)
        _write_pages(db, document_id, record)
        _event(db, record.item_id, ItemEvent.DOCUMENT_ADDED, f"{record.url}: {_what(record)}", now)
        return Outcome.NEW, document_id
    old = dict(zip(columns, row, strict=True))
    document_id = old["id"]
    if old["sha256"] == record.sha256:
        db.table("documents").update(document_id, {"fetched": record.fetched, "http_etag": record.etag,
                                             "http_last_modified": record.last_modified})
        return Outcome.UNCHANGED, document_id
    version = db.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM document_versions WHERE document_id = ?",
                         [document_id]).fetchone()[0]
    db.table("document_versions").insert(
        {"document_id": document_id, "version": version, "sha256": old["sha256"], "bytes": old["bytes"],
         "pages": old["pages"], "text": old["text"], "problem": old["problem"], "fetched": old["fetched"],
         "replaced": now}
    )
    db.table("documents").update(document_id, {**values, "updated": now})
    db.execute("DELETE FROM document_pages WHERE document_id = ?", [document_id])
    _write_pages(db, document_id, record)
    # The item changed for its readers: feeds show it as updated (feeds/build.py reads items.updated).
    db.execute("UPDATE items SET updated = ? WHERE id = ?", [now, record.item_id])
    _event(db, record.item_id, ItemEvent.DOCUMENT_UPDATED,
           f"{record.url}: new bytes ({_what(record)}); version {version} kept", now)
    return Outcome.UPDATED, document_id


def _what(record: DocumentRecord) -> str:
    pages = f"{record.page_count} page(s)" if record.page_count is not None else "not readable"
    return pages + (f", {record.problem}" if record.problem else "")


def _write_pages(db: sqlite_utils.Database, document_id: int, record: DocumentRecord) -> None:
    db.conn.executemany(
        "INSERT INTO document_pages (document_id, item_id, page, text) VALUES (?, ?, ?, ?)",
        [(document_id, record.item_id, number, text)
         for number, text in enumerate(record.pages, start=1) if text.strip()],
    )


def _event(db: sqlite_utils.Database, item_id: int, event: ItemEvent, detail: str, now: str) -> None:
    source = db.execute("SELECT source FROM items WHERE id = ?", [item_id]).fetchone()
    db.table("item_events").insert({"item_id": item_id, "source": source[0] if source else "", "at": now,
                              "event": event, "detail": detail})


# --------------------------------------------------------------------------- reads


def item_documents(db: sqlite_utils.Database, item_id: int, with_text: bool = False) -> list[dict[str, Any]]:
    """The item's documents, with how many earlier versions each has."""
    if "documents" not in db.table_names():
        return []
    text = ", d.text" if with_text else ""
    return list(db.query(
        "SELECT d.id, d.url, d.sha256, d.content_type, d.bytes, d.pages, d.language, d.problem, d.detail, "
        "d.first_seen, d.fetched, d.updated" + text + ", "
        "(SELECT count(*) FROM document_versions v WHERE v.document_id = d.id) AS earlier_versions "
        "FROM documents d WHERE d.item_id = ? ORDER BY d.id", [item_id]))


@dataclass(frozen=True)
class DocumentVersion:
    number: int
    url: str
    text: str
    fetched: str
    current: bool

    def label(self) -> str:
        current = " (current)" if self.current else ""
        return f"{self.url} version {self.number}{current}, fetched {self.fetched}"


def document_versions(db: sqlite_utils.Database, document_id: int) -> list[DocumentVersion]:
    """Every version of a document, oldest first; the last is the current one."""
    url, text, fetched = db.execute("SELECT url, text, fetched FROM documents WHERE id = ?",
                                    [document_id]).fetchone()
    versions = [DocumentVersion(row[0], url, row[1] or "", row[2], False) for row in db.execute(
        "SELECT version, text, fetched FROM document_versions WHERE document_id = ? ORDER BY version",
        [document_id])]
    versions.append(DocumentVersion(len(versions) + 1, url, text or "", fetched, True))
    return versions


def diff_document_versions(old: DocumentVersion, new: DocumentVersion) -> str:
    """A unified diff of two versions' text, line by line (pages marked)."""
    def lines(version: DocumentVersion) -> list[str]:
        out = []
        for number, page in enumerate(version.text.split(PAGE_BREAK), start=1):
            out.append(f"[page {number}]\n")
            out.extend(line + "\n" for line in page.split("\n"))
        return out

    return "".join(difflib.unified_diff(lines(old), lines(new), fromfile=old.label(), tofile=new.label()))


def changed_documents(db: sqlite_utils.Database, item_id: int) -> list[int]:
    """Ids of the item's documents that have earlier versions."""
    if "documents" not in db.table_names():
        return []
    return [row[0] for row in db.execute(
        "SELECT d.id FROM documents d WHERE d.item_id = ? "
        "AND EXISTS (SELECT 1 FROM document_versions v WHERE v.document_id = d.id) ORDER BY d.id", [item_id])]
