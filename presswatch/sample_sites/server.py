"""HTTP server for the bundled sample sites.

One threaded ``http.server`` answers for every sample host, routing on the
``Host`` header (port stripped)::

    with SampleSiteServer() as server:        # port 0: any free port
        # GET {server.url}/news/x with "Host: www.iom.int"
        ...

A request whose Host is not a sample site gets an index of the sites.  Pages are
rendered once, at construction; they are static.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from presswatch.http import not_modified
from presswatch.httpserver import BackgroundServer, ThreadedServer

from . import faults as fault_pages
from .changes import edition
from .render import Archive, Page, load_content, render_all, render_index

__all__ = ["SampleSiteServer", "load_content", "main"]


class _Handler(BaseHTTPRequestHandler):
    server: ThreadedServer
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections are closed after this

    def version_string(self) -> str:
        return "presswatch-sample-sites/1.0"

    @property
    def _sample(self) -> SampleSiteServer:
        sample: SampleSiteServer = self.server.owner
        return sample

    # ------------------------------------------------------------- methods

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self._answer(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(head=True)

    def do_POST(self) -> None:  # noqa: N802
        # POST /_edition/N to the server's own address switches the sites to
        # edition N (see changes.py); anything else is not allowed.
        host, target = self._target()
        path = urlsplit(target).path
        if host in self._sample.hosts or not path.startswith("/_edition/"):
            self._not_allowed()
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        number = path.removeprefix("/_edition/")
        try:
            self._sample.set_edition(int(number))
        except ValueError as exc:
            status, body = HTTPStatus.BAD_REQUEST, f"{exc}\n".encode()
        else:
            status, body = HTTPStatus.OK, f"now serving edition {number}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self._sample._record(host, "POST", target, int(status))
        self.end_headers()
        self.wfile.write(body)

    def _not_allowed(self) -> None:
        host, target = self._target()
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b"Method Not Allowed\n"
        self.send_response(HTTPStatus.METHOD_NOT_ALLOWED)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self._sample._record(host, self.command, target, 405)
        self.end_headers()
        self.wfile.write(body)

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed  # noqa: N815

    # ------------------------------------------------------------- helpers

    def _target(self) -> tuple[str, str]:
        """(host without port, path with query) of the request."""
        target = self.path
        host = self.headers.get("Host", "")
        if "://" in target:  # absolute-form request (proxy style)
            parts = urlsplit(target)
            host = parts.netloc
            target = parts.path or "/"
            if parts.query:
                target += "?" + parts.query
        host = host.strip().lower()
        if host.startswith("["):  # [::1]:port
            host = host.split("]", 1)[0] + "]"
        else:
            host = host.rsplit(":", 1)[0] if ":" in host else host
        return host.rstrip("."), target

    def _answer(self, head: bool) -> None:
        sample = self._sample
        host, target = self._target()
        if sample.fault_state is not None and host == fault_pages.FAULTS_HOST:
            status = fault_pages.answer(self, sample.fault_state, target, head)
            sample._record(host, self.command, target, status)
            return
        if sample.delay:
            time.sleep(sample.delay)
        if host in sample.hosts:
            page = sample.archive.lookup(host, target)
            if page is None:
                page = sample.archive.not_found(host)
        else:
            page = sample.index_page(urlsplit(target).path)
        status = page.status
        conditional = status == 200 and self._not_modified(page)
        if conditional:
            status = 304
        self.send_response(status)
        if page.location:
            self.send_header("Location", page.location)
        if status != 304:
            self.send_header("Content-Type", page.content_type)
            self.send_header("Content-Length", str(len(page.body)))
            if page.language:
                self.send_header("Content-Language", page.language)
        if page.status == 200:
            self.send_header("Last-Modified", page.last_modified_http)
            self.send_header("ETag", page.etag)
            self.send_header("Cache-Control", "public, max-age=300")
        # logged before anything is sent, so a client never sees a response unlogged
        sample._record(host, self.command, target, status)
        self.end_headers()
        if status != 304 and not head:
            self.wfile.write(page.body)

    def _not_modified(self, page: Page) -> bool:
        return not_modified(self.headers, page.etag, page.last_modified)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # requests are logged through SampleSiteServer.log


class SampleSiteServer(BackgroundServer):
    """The sample sites over HTTP on ``host:port`` (port 0: a free port)."""

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        log: Callable[[str], None] | None = None,
        faults: bool = False,
        delay: float = 0.0,
    ):
        self.delay = delay  # seconds before each answer: a slow site, for crash tests
        # faults=True: also answer for faults.example.org (see faults.py).
        self.fault_state = fault_pages.FaultState() if faults else None
        self.content = load_content()
        self.edition = 1
        self.archive: Archive = render_all(self.content)
        self.hosts: frozenset[str] = self.archive.hosts | (
            {fault_pages.FAULTS_HOST} if faults else frozenset()
        )
        self.requests: list[tuple[str, str, str, int]] = []
        self.log = log
        self._lock = threading.Lock()
        self._index_cache: dict[int, Page] = {}
        super().__init__(_Handler, host=host, port=port, name="sample-sites")

    def set_edition(self, number: int) -> None:
        """Serve edition ``number`` of the sites from now on (see changes.py)."""
        archive = render_all(edition(self.content, number))
        # One attribute swap: each request sees one edition or the other, whole.
        self.archive, self.edition = archive, number
        self._index_cache.clear()

    # ------------------------------------------------------------- internals

    def index_page(self, path: str) -> Page:
        status = 200 if path in ("", "/") else 404
        page = self._index_cache.get(status)
        if page is None:
            text = render_index(self.archive, self.url)
            page = Page(text.encode(), "text/html; charset=utf-8", status=status, language="en")
            self._index_cache[status] = page
        return page

    def _record(self, host: str, method: str, target: str, status: int) -> None:
        with self._lock:
            self.requests.append((host, method, target, status))
        if self.log is not None:
            self.log(f"{host or '-'} {method} {target} {status}")


def main(argv: list[str] | None = None) -> None:
    """``python -m presswatch.sample_sites.server [--port N]``."""
    parser = argparse.ArgumentParser(description="Serve the presswatch sample sites.")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    args = parser.parse_args(argv)
    server = SampleSiteServer(args.port, args.host, log=None if args.quiet else print)
    print(f"sample sites on {server.url} (hosts: {', '.join(sorted(server.hosts))})", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
