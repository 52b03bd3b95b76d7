"""A small HTTP server for public/: right Content-Types, ETag and Last-Modified, 304s.

Serves only files inside the public directory: the request path is decoded,
normalised and resolved (symlinks too) and must stay under the directory;
anything else is a 404. Dot files (publish's temporary files) are never served.
Binds 127.0.0.1 unless told otherwise. GET and HEAD only.

Given an archive (``combined``), it also answers the combination feeds
``/feed.atom?topic=...&country=...&source=...&kind=...&q=...`` and ``/feed.rss``
(feeds/combined.py), made on request, with an ETag and 304s too.
"""

from __future__ import annotations

import hashlib
import posixpath
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import unquote, urlsplit

from feeds.combined import CombinationError, CombinedFeeds
from presswatch.http import http_date, not_modified
from presswatch.httpserver import BackgroundServer

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000

CONTENT_TYPES = {
    ".atom": "application/atom+xml",
    ".rss": "application/rss+xml",
    ".opml": "text/x-opml",
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}


def resolve_path(root: Path, request_path: str) -> Path | None:
    """The file under ``root`` a request path names, or None (outside root, hidden, missing)."""
    if request_path.lower().startswith(("http://", "https://")):  # absolute-form request target
        request_path = urlsplit(request_path).path
    path = unquote(request_path.split("?", 1)[0].split("#", 1)[0])
    if "\x00" in path or "\\" in path:
        return None
    parts = [part for part in posixpath.normpath("/" + path).split("/") if part]
    if any(part.startswith(".") for part in parts):  # '..', dot files, temporary files
        return None
    candidate = root.joinpath(*parts)
    if candidate.is_dir():
        candidate = candidate / "index.html"
    try:
        resolved = candidate.resolve(strict=True)
    except (FileNotFoundError, RuntimeError, OSError):
        return None
    if not resolved.is_relative_to(root) or not resolved.is_file():
        return None
    return resolved


class _FileCache:
    """File contents and ETag per (path, mtime, size): a file is hashed once per version."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Path, tuple[tuple[int, int], bytes, str]] = {}

    def get(self, path: Path) -> tuple[bytes, str, float]:
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._entries.get(path)
        if cached is None or cached[0] != version:
            data = path.read_bytes()
            etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
            cached = (version, data, etag)
            with self._lock:
                self._entries[path] = cached
        return cached[1], cached[2], stat.st_mtime


COMBINED_PATHS = {"/feed.atom": "atom", "/feed.rss": "rss"}
IDLE_SECONDS = 30.0  # issue 21: 1,000 idle connections used to hold 1,000 threads for ever


def make_handler(root: Path, log: Callable[[str], None] | None = None,
                 combined: CombinedFeeds | None = None) -> type[BaseHTTPRequestHandler]:
    root = root.resolve()
    cache = _FileCache()

    class PublicHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: every answer has a Content-Length or no body
        # An idle (kept-alive or silent) connection is closed after this: each holds a thread.
        timeout = IDLE_SECONDS

        def version_string(self) -> str:
            return "presswatch"

        def do_GET(self) -> None:
            self._answer(send_body=True)

        def do_HEAD(self) -> None:
            self._answer(send_body=False)

        def _answer(self, send_body: bool) -> None:
            target = urlsplit(self.path)
            if combined is not None and target.path in COMBINED_PATHS:
                self._combined(COMBINED_PATHS[target.path], target.query, send_body)
                return
            path = resolve_path(root, self.path)
            if path is None:
                self._plain(HTTPStatus.NOT_FOUND, b"not found\n", send_body)
                return
            data, etag, mtime = cache.get(path)
            last_modified = http_date(datetime.fromtimestamp(int(mtime), UTC))
            headers = {
                "ETag": etag,
                "Last-Modified": last_modified,
                "Cache-Control": "no-cache",  # readers may keep it, but revalidate (cheap: 304)
            }
            if self._not_modified(etag, int(mtime)):
                self.send_response(HTTPStatus.NOT_MODIFIED)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                return
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", CONTENT_TYPES.get(path.suffix, "application/octet-stream"))
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Content-Type-Options", "nosniff")
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if send_body:
                self.wfile.write(data)

        def _combined(self, fmt: str, query: str, send_body: bool) -> None:
            assert combined is not None
            try:
                answer = combined.answer(fmt, query)
            except CombinationError as exc:
                self._plain(HTTPStatus.BAD_REQUEST, f"{exc}\n".encode(), send_body)
                return
            headers = {"ETag": answer.etag, "Last-Modified": http_date(answer.last_modified),
                       "Cache-Control": "no-cache"}
            status = (HTTPStatus.NOT_MODIFIED if not_modified(self.headers, answer.etag, answer.last_modified)
                      else HTTPStatus.OK)
            self.send_response(status)
            if status == HTTPStatus.OK:
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.send_header("X-Content-Type-Options", "nosniff")
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if send_body and status == HTTPStatus.OK:
                self.wfile.write(answer.body)

        def _not_modified(self, etag: str, mtime: int) -> bool:
            return not_modified(self.headers, etag, datetime.fromtimestamp(mtime, UTC))

        def _plain(self, status: HTTPStatus, body: bytes, send_body: bool) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body:
                self.wfile.write(body)

        def _not_allowed(self) -> None:
            self.send_response(HTTPStatus.METHOD_NOT_ALLOWED)
            self.send_header("Allow", "GET, HEAD")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

        def log_message(self, format: str, *args) -> None:
            if log is not None:
                log(f"{self.address_string()} {format % args}")

    return PublicHandler


class PublicServer(BackgroundServer):
    """public/ over HTTP; ``port=0`` picks a free port. Use as a context manager in tests."""

    def __init__(self, public_dir: str | Path, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 log: Callable[[str], None] | None = None, combined: CombinedFeeds | None = None):
        self.root = Path(public_dir).resolve()
        super().__init__(make_handler(self.root, log, combined), host=host, port=port, name="public-server",
                         poll_interval=0.05)

    @property
    def url(self) -> str:
        return self.base_url + "/"
