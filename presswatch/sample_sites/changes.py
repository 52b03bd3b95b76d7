"""Editions of the sample sites: the content as it is at the first crawl, and after changes.

Edition 1 is content.toml as it is. Edition 2 applies changes.toml: a release
added, one edited (new title, a paragraph rewritten, a later Last-Modified) and
one removed (its page answers 404, its card leaves the listing), and one
publication's PDF corrected (a paragraph added, its book page unchanged). Pure: content
in, content out; the server re-renders from it.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

CHANGES_PATH = Path(__file__).with_name("changes.toml")
EDITIONS = (1, 2)


def load_changes(path: Path | str | None = None) -> dict[str, Any]:
    with open(path or CHANGES_PATH, "rb") as handle:
        return tomllib.load(handle)


def edition(content: dict[str, Any], number: int, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """The sample content as it is in edition ``number``."""
    if number not in EDITIONS:
        raise ValueError(f"no edition {number} of the sample sites (there are {EDITIONS})")
    if number == 1:
        return content
    changes = changes if changes is not None else load_changes()
    result = copy.deepcopy(content)
    articles = result["article"]
    by_key = {(article["site"], article["path"]): article for article in articles}
    for edit in changes.get("edited", []):
        article = by_key[(edit["site"], edit["path"])]
        article["title"] = edit["title"]
        article["body"] = list(article["body"])
        article["body"][edit["replace_paragraph"]] = edit["paragraph"]
        article["modified"] = edit["modified"]
    for edit in changes.get("edited_document", []):
        article = by_key[(edit["site"], edit["path"])]
        article["document_addendum"] = [edit["paragraph"]]
        article["document_modified"] = edit["modified"]
    for removal in changes.get("removed", []):
        article = by_key[(removal["site"], removal["path"])]
        articles.remove(article)
        # No title: the special answers its status but puts no card on a listing.
        result.setdefault("special", []).append(
            {"site": removal["site"], "path": removal["path"], "status": removal.get("status", 404)}
        )
    articles.extend(copy.deepcopy(changes.get("added", [])))
    return result
