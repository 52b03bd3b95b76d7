"""A small HTTP server for public/: right Content-Types, ETag and Last-Modified, 304s.

Serves only files inside the public directory: the request path is decoded,
normalised and resolved (symlinks too) and must stay under the directory;
anything else is a 404. Dot files (publish's temporary files) are never served.
Binds 127.0.0.1 unless told otherwise. GET and HEAD only.
"""

from __future__ import annotations

import hashlib
import posixpath
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from presswatch.http import not_modified

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


def make_handler(root: Path, log: Callable[[str], None] | None = None) -> type[BaseHTTPRequestHandler]:
    root = root.resolve()
    cache = _FileCache()

    class PublicHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: every answer has a Content-Length or no body

        def version_string(self) -> str:
            return "presswatch"

        def do_GET(self) -> None:
            self._answer(send_body=True)

        def do_HEAD(self) -> None:
            self._answer(send_body=False)

        def _answer(self, send_body: bool) -> None:
            path = resolve_path(root, self.path)
            if path is None:
                self._plain(HTTPStatus.NOT_FOUND, b"not found\n", send_body)
                return
            data, etag, mtime = cache.get(path)
            last_modified = formatdate(int(mtime), usegmt=True)
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


class _ThreadingHTTPServer6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class PublicServer:
    """public/ over HTTP; ``port=0`` picks a free port. Use as a context manager in tests."""

    def __init__(self, public_dir: str | Path, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 log: Callable[[str], None] | None = None):
        self.root = Path(public_dir).resolve()
        server_class = _ThreadingHTTPServer6 if ":" in host else ThreadingHTTPServer
        self.httpd = server_class((host, port), make_handler(self.root, log))
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}/"

    def serve_forever(self) -> None:
        try:
            self.httpd.serve_forever()
        finally:
            self.httpd.server_close()

    def start(self) -> PublicServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> PublicServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
