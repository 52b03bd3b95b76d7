"""Crawls as child processes: starting one, watching it, stopping it, saying how it ended.

The scheduler never runs a crawl in its own process (a Twisted reactor cannot be
restarted): each crawl is ``python -m presswatch crawl SOURCE ...`` in its own
process group, so a signal reaches the crawl and its extraction workers alone.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

logger = logging.getLogger("presswatch.scheduler")

POLL_SECONDS = 0.2  # how often a waiting supervisor looks at its crawl

# Why a crawl was stopped from outside (`supervise`): the scheduler shut down, or the crawl timed out.
SHUTDOWN, TIMEOUT = "shutdown", "timeout"


def pid_alive(pid: int | None) -> bool:
    """Is ``pid`` a running presswatch crawl on this host?"""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    try:
        cmdline = (proc / str(pid) / "cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        return True
    # A zombie has no command line; a reused pid belongs to something else.
    return b"presswatch" in cmdline or b"crawl" in cmdline


def describe_exit(returncode: int) -> str:
    """How a process ended, for a run's reason ("was killed by SIGKILL", "exited with status 2")."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    if returncode == 0:
        return "exited"
    return f"exited with status {returncode}"


def last_line(path: Path, limit: int = 300) -> str:
    """The last non-empty line of a log (a crashed crawl's own error message), cut to ``limit``."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 4096))
            lines = [line.strip() for line in handle.read().decode("utf-8", "replace").splitlines()]
    except OSError:
        return ""
    lines = [line for line in lines if line]
    return lines[-1][:limit] if lines else ""


def send_signal(pid: int, signum: int) -> None:
    """Signal one process; nothing if it is already gone."""
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def kill_group(pgid: int) -> None:
    """SIGKILL a crawl's whole process group (its extraction workers too)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def crawl_log_path(log_dir: Path, source_id: str, started: datetime) -> Path:
    """A new log file for one crawl: LOG_DIR/SOURCE/20240301T060000Z.log (-2, -3... if taken)."""
    folder = log_dir.resolve() / source_id
    folder.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"{stamp}.log"
    number = 1
    while path.exists():
        number += 1
        path = folder / f"{stamp}-{number}.log"
    return path


def prune_logs(folder: Path, keep: int) -> None:
    """Keep the ``keep`` newest crawl logs of a folder (0: keep all)."""
    if keep <= 0:
        return
    logs = sorted(folder.glob("*.log"), key=lambda path: path.stat().st_mtime)
    for path in logs[:-keep]:
        path.unlink(missing_ok=True)


def start_crawl(args: Sequence[str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start a crawl command in its own process group, its output appended to ``log_path``.

    OSError when it cannot start (a missing interpreter, no permission).
    """
    with log_path.open("ab") as output:  # the child's stdout and stderr (tracebacks)
        return subprocess.Popen(
            list(args), stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: signals reach it alone
        )


def supervise(child: subprocess.Popen[bytes], label: str, *, timeout: float, grace: float,
              stop_requested: Callable[[], bool], kill_now: Callable[[], bool]) -> tuple[int, str | None]:
    """Wait for a crawl; stop it on timeout or shutdown. (returncode, why it was stopped: None,
    `SHUTDOWN` or `TIMEOUT`).

    Stopping is SIGTERM first (Scrapy closes the crawl cleanly), then SIGKILL of the
    process group after ``grace`` seconds, or at once when ``kill_now()`` says so.
    """
    deadline = time.monotonic() + timeout + grace
    why: str | None = None
    term_at: float | None = None
    killed = False
    while True:
        try:
            return child.wait(timeout=POLL_SECONDS), why
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if term_at is None:
            if stop_requested():
                why = SHUTDOWN
            elif now >= deadline:
                why = TIMEOUT
            if why is not None:
                logger.warning("%s: %s: sending SIGTERM to the crawl (pid %d)", label,
                               "shutting down" if why == SHUTDOWN else "crawl timeout passed", child.pid)
                send_signal(child.pid, signal.SIGTERM)
                term_at = now
        elif not killed and (now - term_at >= grace or kill_now()):
            logger.warning("%s: crawl (pid %d) still running: SIGKILL", label, child.pid)
            kill_group(child.pid)
            killed = True
