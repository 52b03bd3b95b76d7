"""A throw-away Redis server (Debian's redis-server) on 127.0.0.1, for the scale-out tests and bench.

`make test` installs redis-server where it is missing (the Makefile's redis-server
step); this starts one on a free port with its own temporary directory, no
persistence, and stops it after.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import redis


class RedisUnavailable(RuntimeError):
    """No redis-server binary here (run `make redis-server`)."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    def __init__(self, directory: Path):
        self.directory = directory
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisUnavailable("redis-server is not installed: run `make redis-server`")
        self.directory.mkdir(parents=True, exist_ok=True)
        for _attempt in range(3):  # another process may take the free port first
            self.port = _free_port()
            log = open(self.directory / "redis.log", "ab")
            self.process = subprocess.Popen(
                [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
                 "--save", "", "--appendonly", "no", "--daemonize", "no"],
                stdout=log, stderr=subprocess.STDOUT,
            )
            log.close()
            if self._wait_ready(timeout):
                return self
            self.stop()
        raise RuntimeError(f"redis-server did not start (log: {self.directory / 'redis.log'})")

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False
            try:
                client = redis.Redis(port=self.port, socket_connect_timeout=1)
                client.ping()
                client.close()
                return True
            except redis.RedisError:
                time.sleep(0.05)
        return False

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def flush(self) -> None:
        client = self.client()
        client.flushdb()
        client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
