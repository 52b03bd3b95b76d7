"""PDF text extraction (issue 17): presswatch's reader against pdftotext, and the candidate libraries.

The PDFs are the sample sites' own (presswatch/sample_sites/documents.py): the
eleven publications' four-page reports and longer generated reports, written to
the work directory. Each extractor reads every page of every file in one
process (pdftotext: one `pdftotext` command per file, as it is used); the
figures are pages per second of wall time, and the agreement of the text with
pdftotext's: the F1 of word 3-grams (case-folded words, counted with
multiplicity, over all files). Target (issue 17): presswatch >= 1.0x pdftotext's
pages/s with F1 >= 0.95.

    .venv/bin/python -m bench.documents [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.report import Figure
from pipelines.documents import extract_document
from presswatch.sample_sites.documents import publication_pdf, report_pdf
from presswatch.sample_sites.server import load_content

_WORD = re.compile(r"\w+")


def write_pdfs(folder: Path, quick: bool) -> list[Path]:
    """The benchmark's PDFs in ``folder``: the sample publications and longer reports."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for number, article in enumerate(a for a in load_content()["article"] if a.get("kind") == "publication"):
        path = folder / f"publication-{number:02d}.pdf"
        path.write_bytes(publication_pdf(article))
        files.append(path)
    for seed, pages in enumerate([20, 40] if quick else [60, 60, 120, 200]):
        path = folder / f"report-{seed}-{pages}p.pdf"
        if not path.exists():
            path.write_bytes(report_pdf(pages, seed))
        files.append(path)
    return files


def trigrams(text: str) -> Counter[tuple[str, ...]]:
    words = _WORD.findall(text.casefold())
    return Counter(zip(words, words[1:], words[2:], strict=False))


def f1(found: list[str], reference: list[str]) -> float:
    """Word 3-gram F1 of ``found`` against ``reference``, over all documents together."""
    overlap = total_found = total_reference = 0
    for text, expected in zip(found, reference, strict=True):
        ours, theirs = trigrams(text), trigrams(expected)
        overlap += sum((ours & theirs).values())
        total_found += sum(ours.values())
        total_reference += sum(theirs.values())
    if not overlap:
        return 0.0
    precision, recall = overlap / total_found, overlap / total_reference
    return 2 * precision * recall / (precision + recall)


# Each extractor: path -> (text, pages).


def presswatch_reader(path: Path) -> tuple[str, int]:
    text = extract_document(path.read_bytes())
    return text.text, text.page_count


def pdftotext(path: Path) -> tuple[str, int]:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    text = out.stdout.decode()
    return text, text.count("\f")


def pdfminer_reader(path: Path) -> tuple[str, int]:
    from pdfminer.high_level import extract_text

    text = extract_text(str(path))
    return text, text.count("\f")


def pypdf_reader(path: Path) -> tuple[str, int]:
    from pypdf import PdfReader

    pages = [page.extract_text() for page in PdfReader(path).pages]
    return "\f".join(pages), len(pages)


EXTRACTORS: dict[str, Callable[[Path], tuple[str, int]]] = {
    "pdftotext": pdftotext,
    "pypdfium2": presswatch_reader,
    "pdfminer.six": pdfminer_reader,
    "pypdf": pypdf_reader,
}


def run_extractor(extract: Callable[[Path], tuple[str, int]], files: list[Path]
                  ) -> tuple[float, int, list[str]]:
    """(seconds, pages, texts) of one pass over ``files``."""
    texts, pages = [], 0
    started = time.perf_counter()
    for path in files:
        text, count = extract(path)
        texts.append(text)
        pages += count
    return time.perf_counter() - started, pages, texts


def compare(files: list[Path], repeat: int, log: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    """pages/s (median of ``repeat`` passes) and 3-gram F1 against pdftotext, per extractor."""
    if shutil.which("pdftotext") is None:
        raise RuntimeError("pdftotext is missing: `make system-packages` installs poppler-utils")
    results: dict[str, dict[str, Any]] = {}
    reference: list[str] = []
    for name, extract in EXTRACTORS.items():
        rates, texts, pages = [], [], 0
        for _ in range(repeat):
            seconds, pages, texts = run_extractor(extract, files)
            rates.append(pages / seconds)
        if name == "pdftotext":
            reference = texts
        rates.sort()
        results[name] = {"pages": pages, "pages_per_second": rates[len(rates) // 2],
                         "f1": f1(texts, reference)}
        log(f"documents: {name}: {pages} pages, {results[name]['pages_per_second']:.1f} pages/s, "
            f"3-gram F1 against pdftotext {results[name]['f1']:.3f}")
    return results


def measure(ctx: Any) -> list[Figure]:
    """bench/run's entry point: presswatch's reader against pdftotext on the same PDFs."""
    files = write_pdfs(ctx.workdir / "documents", ctx.quick)
    pages = Figure("documents.pages_per_second", "pages/s", digits=1,
                   note="presswatch's reader (pipelines/documents.py: pypdfium2, with the decompression-bomb "
                        "check) on the sample PDFs, one process")
    reference = Figure("documents.pdftotext_pages_per_second", "pages/s", digits=1,
                       note="pdftotext (poppler-utils), one command per file, on the same PDFs")
    ratio = Figure("documents.ratio_to_pdftotext", "x", target=1.0, op=">=",
                   baseline="presswatch pages/s ÷ pdftotext pages/s, in the same run")
    agreement = Figure("documents.trigram_f1", "F1", target=0.95, op=">=", digits=3,
                       baseline="word 3-grams of pdftotext's text of the same files")
    others = {name: Figure(f"documents.{name}_pages_per_second", "pages/s", digits=1,
                           note=f"{name} (a candidate, docs/documents.md) on the same PDFs")
              for name in ("pdfminer.six", "pypdf")}
    for _run in range(ctx.repeat):
        results = compare(files, 1, ctx.log)
        pages.runs.append(results["pypdfium2"]["pages_per_second"])
        reference.runs.append(results["pdftotext"]["pages_per_second"])
        ratio.runs.append(pages.runs[-1] / reference.runs[-1])
        agreement.runs.append(results["pypdfium2"]["f1"])
        for name, figure in others.items():
            figure.runs.append(results[name]["pages_per_second"])
    total = results["pdftotext"]["pages"]
    pages.note = f"{pages.note}: {len(files)} files, {total} pages"
    return [pages, reference, ratio, agreement, *others.values()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter reports")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("bench-work"))
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    files = write_pdfs(args.workdir / "documents", args.quick)
    results = compare(files, args.repeat, lambda line: print(line, file=sys.stderr))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
