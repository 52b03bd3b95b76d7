"""The fault-injection host of the sample sites: everything a hostile or broken site does.

`SampleSiteServer(faults=True)` also answers for ``faults.example.org``:
a listing (endless, paginated) linking one page per fault, each misbehaving in
one way. docs/reliability.md lists what presswatch does with each. The
`faults` source in tests/faults_sources.toml crawls it. Under /hostile/, pages
that cost the crawler rather than fail (a 20 MB page, punycode, mislabelled
UTF-8, a huge listing, endless sitemaps: `HOSTILE_PAGES`, issue 21), crawled
by the sources of tests/data/hostile_sources.toml.
"""

from __future__ import annotations

import gzip
import socket
import struct
import threading
import time
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from presswatch.sample_sites import fault_documents

FAULTS_HOST = "faults.example.org"
ELSEWHERE = "https://elsewhere.example.net/stolen"

GOOD_BODY = (
    "<p>Vilnius – This page is well formed and has a date, a title and enough text to be archived "
    "like any other release of a country office in the region.</p>"
    "<p>It is the control case: whatever its neighbours on the listing do, it must be archived.</p>"
)

# path -> one-line description (the listing links every one of them)
FAULT_PAGES: dict[str, str] = {
    "/item/ok-1": "a good page",
    "/item/ok-2": "another good page",
    "/item/error-500": "always answers 500",
    "/item/busy-503": "503 with Retry-After: 1 on the first request, then the page",
    "/item/slow": "answers after 5 seconds",
    "/item/reset": "resets the connection",
    "/item/truncated": "sends less than its Content-Length, then closes",
    "/item/redirect-loop": "redirects to itself through a second URL, forever",
    "/item/redirect-away": "redirects to another domain",
    "/item/huge": "a 50 MB page",
    "/item/gzip-bomb": "200 KB of gzip that inflates to 200 MB",
    "/private/item": "disallowed by robots.txt",
    "/item/no-charset": "windows-1257 text with no charset declared anywhere",
    "/item/wrong-charset": "windows-1257 text declared as UTF-8",
    "/item/utf-16": "UTF-16 with a byte-order mark",
    "/item/malformed": "broken HTML: unclosed tags, stray markup",
    "/item/no-body": "a title and no text at all",
    "/item/future-date": "dated 2099",
    "/item/ancient-date": "dated 1890",
    "/item/long-title": "a 10,000-character title",
    "/item/control-chars": "control characters in title and text",
    "/item/invalid-utf8": "declared UTF-8, with invalid byte sequences",
    "/item/hostile-title": "a title that tries to break out of XML and HTML",
}

# Issue 21: pages that cost the crawler rather than fail, under /hostile/ (their own listing,
# so the fault listing above is unchanged). tests/data/hostile_sources.toml crawls them.
HOSTILE_PAGES: dict[str, str] = {
    "/hostile/ok": "a good page (the control case of the hostile listing)",
    "/hostile/many-paragraphs": "20 MB of 660,000 small paragraphs",
    "/hostile/slow-to-extract": "120,000 small paragraphs in 4 MB: about a minute of trafilatura",
    "/hostile/punycode": "1 MB of text declared charset=punycode (decodes in quadratic time)",
    "/hostile/utf8-as-latin1": "UTF-8 text declared iso-8859-1",
    "/hostile/utf8-as-koi8": "UTF-8 text declared koi8-r in a <meta>",
    "/hostile/long-body": "300,000 characters of text in 20 paragraphs",
    "/hostile/control-title": "a title of control characters only",
    "/hostile/huge-date": "a 400 KB published_time (dateparser spent 12 s on it)",
}
ROMANIAN = "Migrația și remitențele în Republica Moldova: o analiză a fluxurilor de bani trimiși acasă."
HUGE_LISTING_LINKS = 100_000
SITEMAP_DEPTH_SERVED = 100  # /hostile/sitemap/N.xml: an index of N+1, until this depth


def many_paragraphs(count: int) -> str:
    """A page of ``count`` tiny paragraphs (extraction time grows faster than their number)."""
    paragraphs = "".join(f"<p>Paragraph number {n:06d}.</p>" for n in range(count))
    return page("Many paragraphs", paragraphs)


LITHUANIAN = (
    "Vilnius – Tarptautinė migracijos organizacija Lietuvoje padeda grįžtantiems migrantams: "
    "konsultacijos, įdarbinimas, švietimas ir socialinės garantijos. Ąžuolai, čiurkšlės, ęžerai, "
    "ėjimas, įvairūs šūviai, ūkiai ir žmonės."
)


def page(title: str, body_html: str, *, date: str | None = "2021-06-16T10:00:00+03:00",
         lang: str = "en", charset_meta: str | None = "utf-8") -> str:
    meta_date = f'<meta property="article:published_time" content="{date}">' if date else ""
    if body_html:
        # Each page its own text, or exact deduplication would fold them into one item.
        body_html += f"<p>This is the page titled {title[:80]}.</p>"
    meta_charset = f'<meta charset="{charset_meta}">' if charset_meta else ""
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head>{meta_charset}<title>{title}</title>{meta_date}</head>'
        f'<body><nav><a href="/">Home</a></nav><main><h1 class="page-title">{title}</h1>'
        f'<div class="field--name-body">{body_html}</div></main><footer>Faults Inc.</footer></body></html>'
    )


@lru_cache(maxsize=1)
def gzip_bomb() -> bytes:
    """200 MB of zeros as gzip (about 200 KB): 200 concatenated members of 1 MB each.

    Concatenated members are one valid gzip stream, and compressing 1 MB once
    is instant where compressing 200 MB would stall the server.
    """
    return gzip.compress(b"\0" * (1024 * 1024), compresslevel=9) * 200


class FaultState:
    """What a fault needs to remember between requests (the 503 answers once)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.busy_answered: set[str] = set()
        self.request_times: dict[str, list[float]] = {}

    def note(self, path: str) -> None:
        with self.lock:
            self.request_times.setdefault(path, []).append(time.monotonic())


def answer(handler: Any, state: FaultState, target: str, head: bool) -> int:
    """Answer one request for the faults host; return the status sent (0: none)."""
    parts = urlsplit(target)
    path = parts.path
    state.note(path)

    def send(status: int, body: bytes, content_type: str = "text/html; charset=utf-8",
             headers: dict[str, str] | None = None) -> int:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        if not head:
            handler.wfile.write(body)
        return status

    if path.startswith("/hostile/"):
        return answer_hostile(path, send)
    documents_answer = fault_documents.answer(path, send, handler, head, page, GOOD_BODY)
    if documents_answer is not None:  # the hostile PDFs and the pages that link them
        return documents_answer
    if path == "/robots.txt":
        return send(200, b"User-agent: *\nDisallow: /private/\n", "text/plain; charset=utf-8")
    if path == "/listing":
        number = int(dict(parse_qsl(parts.query)).get("page", "0") or 0)
        links = "".join(
            f'<div class="views-row"><h3><a href="{link}">{about}</a></h3></div>'
            for link, about in FAULT_PAGES.items()
        ) if number == 0 else (
            # Later pages: an endless listing of pages that do not exist.
            f'<div class="views-row"><h3><a href="/item/page-{number}">Listing page {number}</a></h3></div>'
        )
        body = (f"<html><body>{links}<ul><li class=\"pager__item--next\">"
                f"<a href=\"/listing?page={number + 1}\">Next</a></li></ul></body></html>")
        return send(200, body.encode())
    if path in ("/item/ok-1", "/item/ok-2"):
        return send(200, page(f"Control page {path[-1]}", GOOD_BODY).encode())
    if path == "/item/error-500":
        return send(500, b"<html><body>Internal Server Error</body></html>")
    if path == "/item/busy-503":
        with state.lock:
            first = path not in state.busy_answered
            state.busy_answered.add(path)
        if first:
            return send(503, b"<html><body>Busy</body></html>", headers={"Retry-After": "1"})
        return send(200, page("Busy page, answered on retry", GOOD_BODY).encode())
    if path == "/item/slow":
        time.sleep(5)
        return send(200, page("Slow page", GOOD_BODY).encode())
    if path == "/item/reset":
        # SO_LINGER 0: close() sends a TCP RST instead of a clean FIN.
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.close_connection = True
        handler.connection.close()
        return 0
    if path == "/item/truncated":
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        handler.wfile.write(page("Truncated page", GOOD_BODY).encode()[:500])
        handler.wfile.flush()
        handler.close_connection = True
        handler.connection.shutdown(socket.SHUT_RDWR)
        return 200
    if path in ("/item/redirect-loop", "/item/redirect-loop-2"):
        other = "/item/redirect-loop-2" if path == "/item/redirect-loop" else "/item/redirect-loop"
        return send(302, b"", headers={"Location": f"https://{FAULTS_HOST}{other}"})
    if path == "/item/redirect-away":
        return send(302, b"", headers={"Location": ELSEWHERE})
    if path == "/item/huge":
        size = 50 * 1024 * 1024
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        chunk = b"<p>" + b"x" * 65_000 + b"</p>"
        sent = 0
        try:
            while sent < size and not head:
                piece = chunk[: size - sent]
                handler.wfile.write(piece)
                sent += len(piece)
        except OSError:
            pass  # the client gave up: that is the point
        handler.close_connection = True
        return 200
    if path == "/item/gzip-bomb":
        return send(200, gzip_bomb(), headers={"Content-Encoding": "gzip"})
    if path == "/private/item":
        return send(200, page("Private page", GOOD_BODY).encode())
    if path == "/item/no-charset":
        body = page("Be koduotės", f"<p>{LITHUANIAN}</p><p>{LITHUANIAN}</p>", lang="lt", charset_meta=None)
        return send(200, body.encode("windows-1257"), "text/html")
    if path == "/item/wrong-charset":
        body = page("Neteisinga koduotė", f"<p>{LITHUANIAN}</p><p>{LITHUANIAN}</p>", lang="lt",
                    charset_meta=None)
        return send(200, body.encode("windows-1257"), "text/html; charset=utf-8")
    if path == "/item/utf-16":
        body = page("Sixteen bits", f"<p>{LITHUANIAN}</p>", lang="lt", charset_meta=None)
        return send(200, body.encode("utf-16"), "text/html; charset=utf-16")
    if path == "/item/malformed":
        body = ("<html><head><title>Broken markup</title><body><div><p>Geneva – The first paragraph "
                "never closes <b>and <i>nests badly</b></i><p>The second <table><tr><td>cell</div>"
                "</span></span> <!-- unterminated comment <p>and a third paragraph with enough words to count"
                "<script>document.write('<p>not text</p>')</script>")
        return send(200, body.encode())
    if path == "/item/no-body":
        return send(200, page("A title and nothing else", "").encode())
    if path == "/item/future-date":
        return send(200, page("From the future", GOOD_BODY, date="2099-01-01T00:00:00Z").encode())
    if path == "/item/ancient-date":
        return send(200, page("From the past", GOOD_BODY, date="1890-05-01T00:00:00Z").encode())
    if path == "/item/long-title":
        return send(200, page("Long " * 2000, GOOD_BODY).encode())
    if path == "/item/control-chars":
        text = GOOD_BODY + "<p>Bell\x07 and escape\x1b[31m</p>"
        return send(200, page("Control\x0b characters\x00 here\x1b", text).encode())
    if path == "/item/invalid-utf8":
        raw = page("Invalid bytes", GOOD_BODY).encode()
        return send(200, raw.replace(b"control case", b"control \xff\xfe\xc3( case"))
    if path == "/item/hostile-title":
        title = "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; ]]&gt; &amp; \x0b"
        return send(200, page(title, GOOD_BODY).encode())
    return send(404, b"<html><body>Not found</body></html>")


def answer_hostile(path: str, send: Any) -> int:
    """The /hostile/ pages (HOSTILE_PAGES), their listing, a huge listing and endless sitemaps."""
    if path == "/hostile/listing":
        links = "".join(f'<div class="views-row"><h3><a href="{link}">{about}</a></h3></div>'
                        for link, about in HOSTILE_PAGES.items())
        return send(200, f"<html><body>{links}</body></html>".encode())
    if path == "/hostile/huge-listing":
        links = "".join(f'<div class="views-row"><h3><a href="/hostile/item-{n}">Item {n}</a></h3></div>'
                        for n in range(HUGE_LISTING_LINKS))
        return send(200, f"<html><body>{links}</body></html>".encode())
    if path == "/hostile/backtrack-listing":
        # `^...(a+)+$` against "aaaa...a!" backtracks 2^n times in Python's re; RE2 is linear.
        links = "".join(f'<div class="views-row"><h3><a href="/hostile/{"a" * 40}{n * "!"}">x</a></h3></div>'
                        for n in range(1, 30))
        return send(200, f"<html><body>{links}</body></html>".encode())
    if path.startswith("/hostile/item-"):
        return send(200, page(f"Listed item {path.rsplit('-', 1)[1]}", GOOD_BODY).encode())
    if path.startswith("/hostile/sitemap/"):
        depth = int(path.rsplit("/", 1)[1].removesuffix(".xml") or 0)
        if depth >= SITEMAP_DEPTH_SERVED:
            return send(404, b"")
        body = ('<?xml version="1.0" encoding="UTF-8"?>'
                '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<sitemap><loc>https://{FAULTS_HOST}/hostile/sitemap/{depth + 1}.xml</loc></sitemap>"
                "</sitemapindex>")
        return send(200, body.encode(), "application/xml")
    if path == "/hostile/long-body":
        paragraph = "Remittances support families across the region and beyond. " * 250
        body = "".join(f"<p>{n} {paragraph}</p>" for n in range(20))
        return send(200, page("A very long body", body).encode())
    if path == "/hostile/control-title":
        return send(200, page("\x01\x02\x1b\x0b", GOOD_BODY).encode())
    if path == "/hostile/huge-date":
        return send(200, page("A date of 400 KB", GOOD_BODY, date="3 August 2021 " * 28_600).encode())
    if path == "/hostile/ok":
        return send(200, page("Hostile listing control page", GOOD_BODY).encode())
    if path == "/hostile/many-paragraphs":
        return send(200, _many_paragraphs_bytes(660_000))
    if path == "/hostile/slow-to-extract":
        return send(200, _many_paragraphs_bytes(120_000))
    if path == "/hostile/punycode":
        text = f"<p>{ROMANIAN}</p>" * (1024 * 1024 // (len(ROMANIAN.encode()) + 7))
        return send(200, page("Punycode declared", text, charset_meta=None).encode(),
                    "text/html; charset=punycode")
    if path == "/hostile/utf8-as-latin1":
        return send(200, page("Migrația și remitențele", f"<p>{ROMANIAN}</p>", lang="ro",
                              charset_meta=None).encode(), "text/html; charset=iso-8859-1")
    if path == "/hostile/utf8-as-koi8":
        return send(200, page("Migrația și remitențele (koi8-r)", f"<p>{ROMANIAN}</p>", lang="ro",
                              charset_meta="koi8-r").encode(), "text/html")
    return send(404, b"<html><body>Not found</body></html>")


@lru_cache(maxsize=4)
def _many_paragraphs_bytes(count: int) -> bytes:
    return many_paragraphs(count).encode()
