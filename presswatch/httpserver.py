"""The one small threaded HTTP server presswatch runs in the background.

`presswatch serve` (feeds/serve.py), the sample sites (presswatch/sample_sites)
and the benchmark site (bench/site.py) each answer requests their own way (their
handler class) and share the rest here: a thread per connection, a daemon thread
that serves, ``start`` / ``stop`` / ``url``, use as a context manager, IPv6 hosts.
A handler reaches the object that runs it as ``self.server.owner``.
"""

from __future__ import annotations

import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class ThreadedServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # keep-alive clients must not hold up stop()
    allow_reuse_address = True
    # A crawler opens several connections at once: socketserver's default backlog
    # of 5 would drop SYNs and stall them for seconds.
    request_queue_size = 128
    owner: Any = None  # the BackgroundServer, for handlers

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer (a timeout, a size limit) is normal: no traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Server6(ThreadedServer):
    address_family = socket.AF_INET6


class BackgroundServer:
    """``handler`` over HTTP on ``host:port`` (port 0: a free port), served by a daemon thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], *, host: str = "127.0.0.1", port: int = 0,
                 name: str = "http-server", poll_interval: float = 0.1):
        server_class = _Server6 if ":" in host else ThreadedServer
        self.httpd: ThreadedServer = server_class((host, port), handler)
        self.httpd.owner = self
        self._name = name
        self._poll_interval = poll_interval
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://host:port``, without a trailing slash (``[host]`` for IPv6)."""
        host = str(self.httpd.server_address[0])
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url

    def start(self) -> Self:
        """Serve in a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(target=self.httpd.serve_forever,
                                            kwargs={"poll_interval": self._poll_interval},
                                            name=self._name, daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.httpd.server_close()

    def serve_forever(self) -> None:
        """Serve in the foreground until Ctrl-C, then close the socket."""
        try:
            self.httpd.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            self.httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
