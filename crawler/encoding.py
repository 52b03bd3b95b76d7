"""Turning a page's bytes into text when its charset is missing or wrong.

A declared charset that decodes the page cleanly is trusted. Otherwise: UTF-8
if the bytes are valid UTF-8; a mostly-UTF-8 page with a few broken bytes
stays UTF-8 (the broken bytes become U+FFFD); anything else is a legacy
single-byte page: the code pages of the source's languages are tried first
(a short Lithuanian page reads as well in cp1252 as in cp1257 to a detector
that is not told the language), then charset-normalizer guesses.

Only known text encodings are taken from a page (`TEXT_ENCODINGS`): any other
Python codec name (punycode decodes in quadratic time, rot13, base64...) counts
as no declaration. And a declared single-byte charset is not trusted on a page
that is valid UTF-8 with non-ASCII bytes: servers that label UTF-8 as
ISO-8859-1 are common, and legacy text is practically never valid UTF-8.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from typing import Any

import charset_normalizer
from charset_normalizer.md import mess_ratio
from scrapy.http import TextResponse
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding

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
# The encodings a web page may declare and be decoded with (codecs.lookup names): linear-time
# text codecs only. Multi-byte ones are listed apart: a page valid as UTF-8 may be either.
MULTIBYTE_ENCODINGS = frozenset({
    "utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be",
    "gb2312", "gbk", "gb18030", "big5", "big5hkscs", "cp950", "shift_jis", "cp932", "euc_jp",
    "iso2022_jp", "euc_kr", "cp949", "iso2022_kr",
})
SINGLE_BYTE_ENCODINGS = frozenset({
    "ascii", "iso8859-1", "iso8859-2", "iso8859-3", "iso8859-4", "iso8859-5", "iso8859-6", "iso8859-7",
    "iso8859-8", "iso8859-9", "iso8859-10", "iso8859-11", "iso8859-13", "iso8859-14", "iso8859-15",
    "iso8859-16", "cp1250", "cp1251", "cp1252", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257",
    "cp1258", "koi8-r", "koi8-u", "cp866", "cp874", "mac-roman", "mac-cyrillic", "tis-620",
})
TEXT_ENCODINGS = MULTIBYTE_ENCODINGS | SINGLE_BYTE_ENCODINGS


def known_encoding(declared: str | None) -> str | None:
    """The codec name of a declared charset if it is a known text encoding; else None."""
    if not declared:
        return None
    try:
        codec = codecs.lookup(declared.strip()).name
    except (LookupError, ValueError):
        return None
    return codec if codec in TEXT_ENCODINGS else None
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
    codec = known_encoding(declared)
    if declared and codec is None:
        # Not a text encoding pages are decoded with: as if none was declared.
        text, encoding, problem = decode_page(body, None, languages)
        ignored = f"declared charset {declared!r} is not a known text encoding: ignored"
        return text, encoding, problem or ignored
    if codec in SINGLE_BYTE_ENCODINGS and not body.isascii():
        utf8 = _decodes(body, "utf-8-sig")
        if utf8 is not None:
            return utf8, "utf-8", f"declared charset {declared!r} is wrong: the page is valid UTF-8"
    if codec:
        declared_text = _decodes(body, codec)
        if declared_text is not None:
            return declared_text, codec, None
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
            encoding, text = best.encoding or candidates[0], str(best)
        else:
            encoding, text = candidates[0], body.decode(candidates[0], errors="replace")
    wrong = f"declared charset {declared!r} is wrong: decoded as {encoding}" if declared else None
    return text, encoding, wrong


class CharsetGuard:
    """Downloader middleware: a response that declares a charset which is not a known text
    encoding (`TEXT_ENCODINGS`) is decoded as if it declared none. Scrapy itself would decode
    listings, feeds and sitemaps with any Python codec the page names (punycode: quadratic
    time on the event loop, stalling every source of the crawl)."""

    def process_response(self, request: Any, response: Any, spider: Any = None) -> Any:
        if not isinstance(response, TextResponse):
            return response
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        declared = http_content_type_encoding(content_type) or html_body_declared_encoding(response.body)
        if declared and known_encoding(declared) is None:
            _text, encoding, _problem = decode_page(response.body, None, ())
            return response.replace(encoding=encoding)
        return response
