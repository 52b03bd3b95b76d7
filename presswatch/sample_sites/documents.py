"""The sample sites' PDFs: real multi-page reports for the publications, and hostile files.

`publication_pdf` writes a publication's report with fpdf2 from content.toml and
documents.toml: several pages, text in Lithuanian, Ukrainian and Armenian
(DejaVu Sans, a Unicode TrueType font), a table. The hostile files are what the
fault host serves (faults.py): encrypted, truncated, a decompression bomb, a scan
without a text layer. Every file is deterministic (fixed creation date and file
id), so its ETag stays the same from one server start to the next.
"""

from __future__ import annotations

import io
import tomllib
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

DOCUMENTS_PATH = Path(__file__).with_name("documents.toml")
# Debian's fonts-dejavu-core (the Makefile installs it when missing).
FONT_PATHS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
)
FIXED_CREATION = datetime(2021, 1, 1, tzinfo=UTC)
FILE_ID = "<5A6F6E65536F757263650000000000AB><5A6F6E65536F757263650000000000AB>"


class FontMissing(RuntimeError):
    """The Unicode font the sample PDFs are written with is not installed."""


def font_path() -> Path:
    for path in FONT_PATHS:
        if path.exists():
            return path
    raise FontMissing(
        f"no DejaVuSans.ttf at {', '.join(map(str, FONT_PATHS))}: install fonts-dejavu-core "
        "(make system-packages)"
    )


@lru_cache(maxsize=1)
def load_documents(path: str | None = None) -> dict[str, Any]:
    with open(path or DOCUMENTS_PATH, "rb") as handle:
        return tomllib.load(handle)


def _new_pdf() -> Any:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(FIXED_CREATION)
    # fpdf2 derives the file id from the time otherwise.
    pdf.file_id = lambda: FILE_ID  # type: ignore[method-assign]
    regular = font_path()
    pdf.add_font("DejaVu", "", str(regular))
    # Table headings are bold: DejaVu Sans Bold beside the regular face, else the regular one.
    bold = regular.with_name("DejaVuSans-Bold.ttf")
    pdf.add_font("DejaVu", "B", str(bold if bold.exists() else regular))
    pdf.set_auto_page_break(True, margin=20)
    pdf.set_margins(20, 20, 20)
    return pdf


def _heading(pdf: Any, text: str, size: int = 14) -> None:
    pdf.set_font("DejaVu", size=size)
    pdf.multi_cell(0, size * 0.6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)


def _paragraphs(pdf: Any, paragraphs: list[str]) -> None:
    pdf.set_font("DejaVu", size=11)
    for paragraph in paragraphs:
        pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)


def publication_pdf(article: dict[str, Any]) -> bytes:
    """The report of a content.toml publication, as PDF bytes (cached: the same article, the same bytes)."""
    key = (article["path"], article["title"], tuple(article.get("body", [])),
           tuple(article.get("authors", [])), article.get("isbn", ""), article.get("year"),
           tuple(article.get("document_addendum", [])))
    return _publication_pdf(key)


@lru_cache(maxsize=64)
def _publication_pdf(key: tuple[Any, ...]) -> bytes:
    path, title, abstract, authors, isbn, year, addendum = key
    data = load_documents()
    common = data["common"]
    findings = data.get("findings", {}).get(path, {}).get("paragraphs") or common["findings"]
    pdf = _new_pdf()
    pdf.set_title(title)
    pdf.set_author(", ".join(authors))
    pdf.add_page()
    _heading(pdf, title, 18)
    _paragraphs(pdf, [", ".join(authors), f"International Organization for Migration, {year}",
                      f"ISBN {isbn}" if isbn else "", "Abstract", *abstract])
    pdf.add_page()
    _heading(pdf, "1. Findings")
    _paragraphs(pdf, [*findings, *addendum])
    _heading(pdf, "Table 1. Respondents by country", 11)
    pdf.set_font("DejaVu", size=10)
    with pdf.table(col_widths=(60, 30, 30), text_align=("LEFT", "RIGHT", "RIGHT")) as table:
        for row in [["Country", "Respondents", "Insured (%)"], *common["table"]]:
            cells = table.row()
            for value in row:
                cells.cell(value)
    pdf.add_page()
    _heading(pdf, "2. Summaries")
    _paragraphs(pdf, [common["lithuanian"], common["ukrainian"], common["armenian"]])
    pdf.add_page()
    _heading(pdf, "3. Methodology")
    _paragraphs(pdf, common["methodology"])
    return bytes(pdf.output())


def report_pdf(pages: int, seed: int = 0) -> bytes:
    """A long report of ``pages`` pages from the sample texts (benchmarks)."""
    data = load_documents()
    common = data["common"]
    texts = [*common["findings"], *common["methodology"], common["lithuanian"], common["ukrainian"],
             common["armenian"], *(p for f in data["findings"].values() for p in f["paragraphs"])]
    pdf = _new_pdf()
    for number in range(pages):
        pdf.add_page()
        _heading(pdf, f"Chapter {number + 1}. Report {seed}")
        _paragraphs(pdf, [texts[(number + seed + shift) % len(texts)] for shift in range(5)])
    return bytes(pdf.output())


# --------------------------------------------------------------------------- hostile files


@lru_cache(maxsize=1)
def encrypted_pdf() -> bytes:
    """A report that needs a password to open (RC4, deterministic)."""
    from fpdf.enums import EncryptionMethod

    pdf = _new_pdf()
    pdf.set_encryption(owner_password="owner-secret", user_password="reader-secret",
                       encryption_method=EncryptionMethod.RC4)
    pdf.add_page()
    _heading(pdf, "Confidential: a report behind a password")
    _paragraphs(pdf, load_documents()["common"]["findings"])
    return bytes(pdf.output())


@lru_cache(maxsize=1)
def truncated_pdf() -> bytes:
    """The first half of a real report: no cross-reference table, no %%EOF."""
    whole = report_pdf(6, seed=3)
    return whole[: len(whole) // 2]


@lru_cache(maxsize=1)
def scanned_pdf() -> bytes:
    """A two-page "scan": each page one grey image of lines, no text layer."""
    from PIL import Image, ImageDraw

    pdf = _new_pdf()
    for page in range(2):
        image = Image.new("L", (620, 877), 250)
        draw = ImageDraw.Draw(image)
        for line in range(40):
            y = 60 + line * 19
            draw.rectangle((50, y, 560 - ((line * 37 + page * 11) % 120), y + 7), fill=60)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        pdf.add_page()
        pdf.image(buffer, x=0, y=0, w=210, h=297)
    return bytes(pdf.output())


@lru_cache(maxsize=1)
def bomb_pdf(inflated_mb: int = 300) -> bytes:
    """A one-page PDF whose content stream (about 300 KB) inflates to ``inflated_mb`` MB."""
    compressor = zlib.compressobj(9)
    zeros = b" " * (1 << 20)
    stream = b"".join(compressor.compress(zeros) for _ in range(inflated_mb)) + compressor.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    return _assemble(objects)


def _assemble(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def endless_pdf_chunks(total_mb: int = 200) -> Iterator[bytes]:
    """``total_mb`` MB of a PDF, sent without a length: a header, then padding in 64 KB chunks."""
    yield b"%PDF-1.4\n% a 200 MB download\n"
    chunk = b"%" + b"0" * 65_534 + b"\n"
    for _ in range(total_mb * 16):
        yield chunk
