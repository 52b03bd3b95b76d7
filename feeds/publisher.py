"""The scheduler's publisher: one thread that publishes the feeds when asked.

Crawls finish on several threads at once; each asks for a publish. Publishing
runs on this one thread, never two at once, and the requests that arrive while
it runs make one more publish, not one each.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from presswatch.config.files import ConfigError

logger = logging.getLogger("presswatch.scheduler")


class Publisher:
    """One thread that publishes when asked; requests that arrive meanwhile make one more publish."""

    def __init__(self, publish: Callable[[list[str]], None]):
        self._publish = publish
        self._cond = threading.Condition()
        self._reasons: list[str] = []
        self._closed = False
        self._lock = threading.Lock()  # never two publishes at once
        self._thread = threading.Thread(target=self._loop, name="publisher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request(self, reason: str) -> None:
        with self._cond:
            if not self._closed:
                self._reasons.append(reason)
                self._cond.notify()

    def publish_now(self, reasons: list[str]) -> None:
        with self._lock:
            try:
                self._publish(reasons)
            except ConfigError as exc:  # topics.toml broken since the start: one line
                logger.error("publishing failed (%s): %s", "; ".join(reasons), exc)
            except Exception:
                logger.exception("publishing failed (%s)", "; ".join(reasons))

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._reasons and not self._closed:
                    self._cond.wait()
                if self._closed:
                    if self._reasons:
                        logger.info("shutting down: skipped a pending publish (%s)", "; ".join(self._reasons))
                    return
                reasons, self._reasons = self._reasons, []
            self.publish_now(reasons)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)
