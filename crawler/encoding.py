"""Turning a page's bytes into text when its charset is missing or wrong.

A declared charset that decodes the page cleanly is trusted. Otherwise: UTF-8
if the bytes are valid UTF-8; a mostly-UTF-8 page with a few broken bytes
stays UTF-8 (the broken bytes become U+FFFD); anything else is a legacy
single-byte page: the code pages of the source's languages are tried first
(a short Lithuanian page reads as well in cp1252 as in cp1257 to a detector
that is not told the language), then charset-normalizer guesses.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence

import charset_normalizer
from charset_normalizer.md import mess_ratio

# Legacy code pages by language (ISO 639-1), most common first.
LEGACY_ENCODINGS: dict[str, tuple[str, ...]] = {
    "lt": ("cp1257", "iso8859_13", "iso8859_4"),
    "lv": ("cp1257", "iso8859_13"),
    "et": ("cp1257", "iso8859_15"),
    "ru": ("cp1251", "koi8_r", "iso8859_5"),
    "uk": ("cp1251", "koi8_u"),
    "be": ("cp1251",),
    "bg": ("cp1251",),
    "ro": ("cp1250", "iso8859_16", "iso8859_2"),
    "pl": ("cp1250", "iso8859_2"),
    "cs": ("cp1250", "iso8859_2"),
    "hu": ("cp1250", "iso8859_2"),
    "hr": ("cp1250", "iso8859_2"),
    "sr": ("cp1251", "cp1250"),
    "el": ("cp1253", "iso8859_7"),
    "tr": ("cp1254", "iso8859_9"),
}
WESTERN = ("cp1252", "iso8859_15")
MESS_LIMIT = 0.1  # charset-normalizer's own threshold for "reads as text" is 0.2


def _decodes(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_page(body: bytes, declared: str | None, languages: Sequence[str]) -> tuple[str, str, str | None]:
    """(text, encoding used, problem or None) for a page's ``body``.

    The problem says when a declared charset was wrong, so the crawl can report it.
    """
    if declared:
        try:
            codec = codecs.lookup(declared).name
        except LookupError:
            codec = None
        if codec:
            text = _decodes(body, codec)
            if text is not None:
                return text, codec, None
    utf8 = _decodes(body, "utf-8-sig")
    if utf8 is not None:
        return utf8, "utf-8", None
    lenient = body.decode("utf-8", errors="replace")
    if any(ord(char) > 127 and char != "\ufffd" for char in lenient):
        # Real UTF-8 with some broken bytes: keep it, the broken bytes become U+FFFD.
        problem = f"invalid UTF-8 byte sequences replaced ({lenient.count(chr(0xFFFD))})"
        return lenient, "utf-8", problem
    # The code pages of the source's own languages first: the first that reads
    # as text (charset-normalizer's "mess" measure) wins.
    candidates = [encoding for language in languages for encoding in LEGACY_ENCODINGS.get(language, ())]
    candidates += [encoding for encoding in WESTERN if encoding not in candidates]
    encoding, text = "", ""
    for candidate in candidates:
        decoded = _decodes(body, candidate)
        if decoded is not None and mess_ratio(decoded) < MESS_LIMIT:
            encoding, text = candidate, decoded
            break
    else:
        best = charset_normalizer.from_bytes(body).best()
        if best is not None:
            encoding, text = best.encoding, str(best)
        else:
            encoding, text = candidates[0], body.decode(candidates[0], errors="replace")
    problem = f"declared charset {declared!r} is wrong: decoded as {encoding}" if declared else None
    return text, encoding, problem
