"""The fault host's hostile documents: item pages that link a PDF that is not a good one.

`/documents` on faults.example.org lists one page per case; each page is a good
page (it must be archived) whose body links its PDF under `/files/`. The
`fault-documents` source (tests/data/fault_documents_source.toml) crawls them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from presswatch.sample_sites import documents

# page path -> (PDF path, what is wrong with it)
DOCUMENT_FAULTS: dict[str, tuple[str, str]] = {
    "/reports/good": ("/files/good.pdf", "a good four-page report (the control case)"),
    "/reports/encrypted": ("/files/encrypted.pdf", "needs a password to open"),
    "/reports/truncated": ("/files/truncated.pdf", "the first half of a PDF"),
    "/reports/huge": ("/files/huge.pdf", "200 MB, streamed without a length"),
    "/reports/bomb": ("/files/bomb.pdf", "a 300 KB stream that inflates to 300 MB"),
    "/reports/html-as-pdf": ("/files/not-a-pdf.pdf", "an HTML page served as application/pdf"),
    "/reports/scanned": ("/files/scanned.pdf", "page images without a text layer"),
}

GOOD_REPORT = {
    "path": "/reports/good", "title": "Fault host control report", "authors": ["Faults Inc."],
    "isbn": "", "year": 2021,
    "body": ["A control report: whatever its neighbours do, its text must be archived, Zarasai included."],
}


def page_html(page: Callable[..., str], good_body: str, path: str) -> str:
    pdf, about = DOCUMENT_FAULTS[path]
    title = f"Report: {about}"
    body = f'{good_body}<p>The full report: <a href="{pdf}">download the PDF</a> ({about}).</p>'
    return page(title, body)


def answer(path: str, send: Callable[..., int], handler: Any, head: bool, page: Callable[..., str],
           good_body: str) -> int | None:
    """Answer ``path`` if it is one of the documents cases (None: not ours)."""
    if path == "/documents":
        links = "".join(f'<div class="views-row"><h3><a href="{link}">{about}</a></h3></div>'
                        for link, (_pdf, about) in DOCUMENT_FAULTS.items())
        return send(200, f"<html><body>{links}</body></html>".encode())
    if path in DOCUMENT_FAULTS:
        return send(200, page_html(page, good_body, path).encode())
    pdf = "application/pdf"
    if path == "/files/good.pdf":
        return send(200, documents.publication_pdf(GOOD_REPORT), pdf)
    if path == "/files/encrypted.pdf":
        return send(200, documents.encrypted_pdf(), pdf)
    if path == "/files/truncated.pdf":
        return send(200, documents.truncated_pdf(), pdf)
    if path == "/files/bomb.pdf":
        return send(200, documents.bomb_pdf(), pdf)
    if path == "/files/scanned.pdf":
        return send(200, documents.scanned_pdf(), pdf)
    if path == "/files/not-a-pdf.pdf":
        return send(200, page("Not a PDF", good_body).encode(), pdf)
    if path == "/files/huge.pdf":
        handler.send_response(200)
        handler.send_header("Content-Type", pdf)
        handler.end_headers()
        try:
            for chunk in documents.endless_pdf_chunks(200):
                if head:
                    break
                handler.wfile.write(chunk)
        except OSError:
            pass  # the client gave up at its size limit: that is the point
        handler.close_connection = True
        return 200
    return None
