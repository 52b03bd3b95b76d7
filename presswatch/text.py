"""Text primitives every floor shares: folding for matching, XML-safe text, short excerpts."""

from __future__ import annotations

import re
import unicodedata

# Regexes rather than a Python step per character or str.translate (both ~0.3 ms on a
# 600-word text that is not pure ASCII; these take a few µs): combining marks are
# never ASCII, so only the non-ASCII runs are looked at one character at a time.
_APOSTROPHES = re.compile("[’ʼ‘`ʻ′]")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")

# Characters XML 1.0 forbids (C0 controls but tab/LF/CR, surrogates, U+FFFE/U+FFFF).
# lxml refuses them; a page's text may still carry them.
_XML_INVALID = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _without_combining(match: re.Match[str]) -> str:
    return "".join(char for char in match.group() if not unicodedata.combining(char))


def strip_diacritics(text: str) -> str:
    """``text`` with combining marks removed (NFKD, then NFC)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", _NON_ASCII_RUN.sub(_without_combining, decomposed))


def fold(text: str) -> str:
    """Text as matchers see it: lower case (casefold), no diacritics, plain apostrophes."""
    return _APOSTROPHES.sub("'", strip_diacritics(text).casefold())


def strip_xml_invalid(text: str | None) -> str:
    """``text`` with the characters XML 1.0 forbids removed ('' for None)."""
    return _XML_INVALID.sub("", text or "")


def shorten(text: str, limit: int) -> str:
    """The first paragraph of ``text``, white space folded, cut at a word boundary to ``limit``."""
    first = " ".join(text.strip().split("\n\n", 1)[0].split())
    if len(first) <= limit:
        return first
    cut = first[:limit].rsplit(" ", 1)[0].rstrip(",;:.")
    return cut + "…"
