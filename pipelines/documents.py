"""Documents (the PDFs publications and releases link): what was fetched, and its text.

Pure: bytes in, text out, so it runs in the worker pool (pipelines/workers.py).
`extract_document` reads a PDF page by page with pypdfium2 (chosen by
measurement, docs/documents.md), within a page limit and a time limit, and
turns everything a hostile file can do into a one-line problem instead of an
exception: encrypted, truncated or not a PDF at all, a decompression bomb, no
text layer (a scan).
"""

from __future__ import annotations

import hashlib
import re
import time
import zlib
from dataclasses import dataclass

from pipelines.normalize.language import normalize_language
from presswatch.archive.outcomes import Problem

# Bounds (docs/documents.md): a real report has tens to a few hundred pages.
MAX_PAGES = 500
TIME_LIMIT = 60.0  # seconds of extraction per document
# A stream that inflates beyond this is a decompression bomb: refused before any
# PDF library inflates it in memory.
MAX_INFLATED_BYTES = 256 * 1024 * 1024
# Fewer letters than this per page on average: no text layer (a scan, or images only).
MIN_LETTERS_PER_PAGE = 20
# Pages are joined with form feeds in documents.text (as pdftotext does).
PAGE_BREAK = "\f"
# A PDF starts with %PDF-; readers accept junk before it within the first kilobyte.
MAGIC = b"%PDF-"
MAGIC_WINDOW = 1024
PDF_CONTENT_TYPES = ("application/pdf", "application/x-pdf", "application/octet-stream",
                     "binary/octet-stream", "application/download", "application/force-download")

# Every complete PDF ends with %%EOF (give or take trailing whitespace or junk).
END_MARK = b"%%EOF"
END_WINDOW = 1024


@dataclass
class DocumentText:
    """What `extract_document` found: the text of each page read, and what went wrong."""

    pages: list[str]
    page_count: int  # pages in the document (more than len(pages) past the page limit)
    problem: Problem | None = None  # one of the Problem.DOCUMENT_* codes
    detail: str = ""
    seconds: float = 0.0

    @property
    def text(self) -> str:
        return PAGE_BREAK.join(self.pages)


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def is_pdf(body: bytes) -> bool:
    """Does ``body`` carry the %PDF- magic within its first kilobyte?"""
    return MAGIC in body[:MAGIC_WINDOW]


def type_problem(content_type: str, body: bytes) -> str | None:
    """Why a response is not a PDF document (None: it is one), from its type and magic bytes."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media and media not in PDF_CONTENT_TYPES:
        return f"served as {media}, not application/pdf"
    if not is_pdf(body):
        start = body[:40].decode("latin-1").strip().replace("\n", " ")
        return f"no %PDF- header: the file starts {start!r}" if start else "an empty file"
    return None


_STREAM = re.compile(rb"stream\r?\n")


def largest_inflation(body: bytes, limit: int = MAX_INFLATED_BYTES) -> int:
    """How many bytes the largest Flate stream of ``body`` inflates to, counting at most ``limit + 1``.

    Inflates each stream in bounded steps and throws the output away, so a bomb
    costs time proportional to ``limit``, never its memory.
    """
    largest = 0
    position = 0
    while True:
        match = _STREAM.search(body, position)
        if match is None:
            return largest
        start = match.end()
        end = body.find(b"endstream", start)
        if end < 0:
            end = len(body)
        position = end
        if not _zlib_header(body[start:start + 2]):  # not Flate (images, plain streams)
            continue
        inflater = zlib.decompressobj()
        size = 0
        data = memoryview(body)[start:end]
        try:
            chunk = inflater.decompress(data, 1 << 20)
            while chunk:
                size += len(chunk)
                if size > limit:
                    return size
                chunk = inflater.decompress(inflater.unconsumed_tail, 1 << 20)
        except zlib.error:
            pass  # not Flate after all, or damaged: the reader will say
        largest = max(largest, size)


def _zlib_header(head: bytes) -> bool:
    return len(head) == 2 and head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0


def extract_document(body: bytes, max_pages: int = MAX_PAGES, time_limit: float = TIME_LIMIT,
                     max_inflated: int = MAX_INFLATED_BYTES) -> DocumentText:
    """The text of a PDF, page by page (pypdfium2); never raises on a bad file."""
    import pypdfium2 as pdfium  # imported in the worker that reads PDFs, not by every importer

    started = time.perf_counter()

    def unread(problem: Problem, detail: str) -> DocumentText:
        return DocumentText([], 0, problem, detail, time.perf_counter() - started)

    if not is_pdf(body):
        return unread(Problem.DOCUMENT_NOT_PDF, "no %PDF- header")
    inflated = largest_inflation(body, max_inflated)
    if inflated > max_inflated:
        return unread(Problem.DOCUMENT_BOMB, f"a stream inflates to more than {max_inflated // 2**20} MB")
    try:
        document = pdfium.PdfDocument(body)
    except pdfium.PdfiumError as exc:
        message = str(exc)
        if "password" in message.lower():
            return unread(Problem.DOCUMENT_ENCRYPTED, "encrypted: a password is needed to read it")
        if END_MARK not in body[-END_WINDOW:]:
            return unread(Problem.DOCUMENT_TRUNCATED,
                          f"the file ends before its %%EOF ({len(body):,} bytes): {message}")
        return unread(Problem.DOCUMENT_UNREADABLE, f"not a readable PDF: {message}")
    try:
        text = _read_pages(document, max_pages, time_limit, started)
    finally:
        document.close()
    if text.problem is None and END_MARK not in body[-END_WINDOW:]:
        text.problem = Problem.DOCUMENT_TRUNCATED
        text.detail = f"the file ends before its %%EOF: {len(body):,} bytes read"
    return text


def _read_pages(document: object, max_pages: int, time_limit: float, started: float) -> DocumentText:
    import pypdfium2 as pdfium

    assert isinstance(document, pdfium.PdfDocument)
    page_count = len(document)
    pages: list[str] = []
    problem: Problem | None = None
    detail = ""
    for number in range(min(page_count, max_pages)):
        if time.perf_counter() - started > time_limit:
            problem = Problem.DOCUMENT_TIME_LIMIT
            detail = f"stopped after {time_limit:g} s, at page {number + 1} of {page_count}"
            break
        page = document[number]
        try:
            text_page = page.get_textpage()
            try:
                pages.append(_clean(text_page.get_text_range()))
            finally:
                text_page.close()
        except pdfium.PdfiumError as exc:
            pages.append("")
            problem, detail = Problem.DOCUMENT_UNREADABLE, f"page {number + 1}: {exc}"
        finally:
            page.close()
    if problem is None and page_count > max_pages:
        problem = Problem.DOCUMENT_PAGE_LIMIT
        detail = f"{page_count} pages: only the first {max_pages} were read"
    if problem is None and page_count and _letters(pages) < MIN_LETTERS_PER_PAGE * page_count:
        problem = Problem.DOCUMENT_NO_TEXT
        detail = f"no text layer on its {page_count} page(s): a scan or images only"
    return DocumentText(pages, page_count, problem, detail, time.perf_counter() - started)


def _letters(pages: list[str]) -> int:
    return sum(1 for page in pages for char in page if char.isalpha())


def _clean(text: str) -> str:
    """pdfium's page text: CRLF line ends, NULs from odd fonts; as plain lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").replace("\ufffe", "")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


# Language detection reads the start of the text: enough to decide, cheap on a 500-page report.
LANGUAGE_SAMPLE = 5000


def read_document(body: bytes, item_language: str | None = None,
                  time_limit: float = TIME_LIMIT) -> tuple[DocumentText, str | None]:
    """In a worker: the document's text and its language.

    The language is the item's when its page declares one (as IOM's pages do): detecting
    it would load the language model (~70 MB) into every worker that reads a PDF, and the
    crawl's memory target has no room for that. Without one, it is detected from the text.
    """
    text = extract_document(body, time_limit=time_limit)
    if not text.text.strip():
        return text, None
    if item_language:
        return text, item_language
    return text, normalize_language(None, text.text[:LANGUAGE_SAMPLE])
