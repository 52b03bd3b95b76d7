"""Text as it is stored: NFC, plain spaces, no invisible or XML-invalid characters,
paragraphs separated by exactly one blank line."""

from __future__ import annotations

import re
import unicodedata

from presswatch.text import strip_xml_invalid

# Line/paragraph separators other than \n, mapped before splitting into lines so that
# VT/FF (XML-invalid, but whitespace) separate words instead of gluing them together.
_LINE_BREAK_RE = re.compile("\r\n?|[\x0b\x0c\x85\u2028]")
_PARAGRAPH_BREAK = "\u2029"

# Unicode space separators (category Zs: NBSP, narrow NBSP, en/em spaces, ideographic
# space...) become a plain space; invisible format characters that only break word
# matching and hashing (soft hyphen, zero-width space, word joiner, BOM) are removed.
# ZWJ/ZWNJ are kept: they carry meaning in some scripts. Bidirectional embeddings,
# overrides and isolates (U+202A-U+202E, U+2066-U+2069) are removed: an override turns a
# title around in every reader (a spoofing trick), while the marks LRM/RLM stay.
# (Regexes, not str.translate: translate is ~50x slower on non-ASCII text.)
_UNICODE_SPACE_RE = re.compile(
    "[" + "".join(chr(cp) for cp in range(0x80, 0x3001) if unicodedata.category(chr(cp)) == "Zs")
    + "]"
)
_INVISIBLE_RE = re.compile("[\u00ad\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069]")
_HSPACE_RUN_RE = re.compile(r"[ \t]+")


def clean_text(text: str | None) -> str:
    """Normalise extracted text; paragraphs separated by exactly one blank line."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    text = _LINE_BREAK_RE.sub("\n", text).replace(_PARAGRAPH_BREAK, "\n\n")
    text = strip_xml_invalid(text)  # stored text ends up in feeds (XML)
    text = _INVISIBLE_RE.sub("", _UNICODE_SPACE_RE.sub(" ", text))
    paragraphs: list[str] = []
    current: list[str] = []
    for raw_line in text.split("\n"):
        line = _HSPACE_RUN_RE.sub(" ", raw_line).strip()
        if line:
            current.append(line)
        elif current:  # an empty line ends a paragraph; runs of them count once
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    return "\n\n".join(paragraphs)


def clean_title(text: str | None) -> str:
    """clean_text() folded onto one line (titles, teasers, datelines)."""
    return " ".join(clean_text(text).split())
