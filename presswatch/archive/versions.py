"""Versions of an item: the earlier ones kept in item_versions, and the current one in items."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import sqlite_utils


@dataclass(frozen=True)
class Version:
    number: int
    title: str
    body: str
    fetched: str
    current: bool

    def text(self) -> str:
        return f"{self.title}\n\n{self.body or ''}"

    def label(self) -> str:
        return f"version {self.number}{' (current)' if self.current else ''}, fetched {self.fetched}"


def item_versions(db: sqlite_utils.Database, item: dict[str, Any]) -> list[Version]:
    """Every version of ``item``, oldest first; the last is the current one."""
    versions = [
        Version(row["version"], row["title"], row["body"] or "", row["fetched"], False)
        for row in db.query(
            "SELECT version, title, body, fetched FROM item_versions WHERE item_id = ? ORDER BY version",
            [item["id"]],
        )
    ]
    versions.append(Version(len(versions) + 1, item["title"], item["body"] or "", item["fetched"], True))
    return versions


def diff_versions(old: Version, new: Version) -> str:
    """A unified diff of two versions' title and text, paragraph by paragraph."""
    return "".join(
        difflib.unified_diff(
            [line + "\n" for line in old.text().split("\n")],
            [line + "\n" for line in new.text().split("\n")],
            fromfile=old.label(),
            tofile=new.label(),
        )
    )
