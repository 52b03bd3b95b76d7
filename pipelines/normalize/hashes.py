"""The two identities of an item: its URL's (`item_uid`) and its words' (`content_hash`)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from pipelines.normalize.text import clean_text

# content_hash keeps letters, digits and combining marks and turns everything else into
# spaces. Done by two regular expressions (C speed) rather than a per-character loop:
# ASCII punctuation, symbols, controls and "_" in one pass, then the rare non-ASCII
# characters that are not word characters, where only combining marks survive.
# tests/test_normalize.py checks this against the per-character rule on every code point.
_ASCII_NON_ALNUM = re.compile(r"[\x00-/:-@\[-`{-\x7f]+")
_NON_ASCII_NON_WORD = re.compile(r"[^\x00-\x7f\w]")


def item_uid(canonical: str) -> str:
    """Stable 16-hex-digit id of an item: prefix of the SHA-256 of its canonical URL."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _keep_mark(match: re.Match[str]) -> str:
    character = match.group()
    return character if unicodedata.category(character)[0] == "M" else " "


def content_hash(body: str, *, cleaned: bool = False) -> str | None:
    """SHA-256 hex of the body reduced to its words.

    NFKC + casefold, every punctuation/symbol character (quotes, dashes, bullets...)
    turned into a space and whitespace collapsed: copies that differ only in layout,
    case, quote style or punctuation hash the same. ``cleaned``: the body is already
    `clean_text`'s output (which is idempotent), as a normalised article's is.
    """
    text = body if cleaned else clean_text(body)
    if not text:
        return None
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _NON_ASCII_NON_WORD.sub(_keep_mark, _ASCII_NON_ALNUM.sub(" ", text))
    words = text.split()
    if not words:
        return None
    return hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()
