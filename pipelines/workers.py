"""The process pool that runs CPU-bound pipeline steps off the crawler's event loop.

Extraction costs ~30 ms of CPU a page against ~3 ms to fetch it, so running it
in the reactor's thread would make the crawl as slow as one core can extract.
Pipelines hand pure functions to this pool and await the result, so fetching
goes on while pages are extracted on every core. One pool per process, shared
by every crawler in it, started on first use and shut down with the last user.

No page may hold a worker for ever (issue 21): each step has a wall-clock limit;
a step that overruns it raises `TooSlow`, and the pool's workers are killed and
replaced (a process pool cannot stop one task). Steps of other pages that were
running in the killed workers are run once more on the new ones. Workers and
their forkserver die with the crawl process (`die_with_parent`), whatever kills it.
"""

from __future__ import annotations

import asyncio
import ctypes
import importlib
import logging
import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")

logger = logging.getLogger("presswatch.workers")

WORKER_NICENESS = 10
DEFAULT_STEP_SECONDS = 30.0  # wall-clock limit of one step of one page in a worker (0: none)
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
IN_FLIGHT_PER_WORKER = 1  # steps handed to the pool at once, per worker (see `run`)

_pool: ProcessPoolExecutor | None = None
_users = 0
_size = 0
_step_seconds = DEFAULT_STEP_SECONDS
_free: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None  # idle workers, on the crawl's loop


class Named:
    """A module's function, called by name: pickled as its two names, so that the process handing
    steps to the pool (the crawl's event loop) never imports the module, nor the extraction
    libraries it imports; the forkserver has preloaded it for the workers."""

    def __init__(self, module: str, name: str):
        self.module, self.__name__ = module, name

    def __call__(self, *args: Any) -> Any:
        return getattr(importlib.import_module(self.module), self.__name__)(*args)

    def __repr__(self) -> str:
        return f"{self.module}.{self.__name__}"


class TooSlow(Exception):
    """A step overran its wall-clock limit; its worker was killed and replaced."""


def die_with_parent(expected_parent: int | None = None) -> None:
    """Ask Linux to SIGKILL this process when its parent dies (prctl PR_SET_PDEATHSIG).

    Called in the forkserver (its parent: the crawl) and in each worker (parent: the
    forkserver): a crawl killed alone (the OOM killer, kill -9 of its pid) takes them
    with it instead of leaving ~400 MB of orphans. Elsewhere than Linux: nothing.
    (Linux sends it when the parent's *thread* that forked ends: the crawl uses the pool from
    its event loop's thread, which lives as long as the crawl.)
    ``expected_parent``: the pid the parent had; a parent that died before this call (so that
    ``os.getppid()`` is already init's) is then noticed too.
    """
    parent = expected_parent or os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request: too late for the signal
        os._exit(1)


def default_size() -> int:
    return os.cpu_count() or 1


def acquire(size: int, step_seconds: float = DEFAULT_STEP_SECONDS) -> None:
    """Register a user of the pool; ``size`` 0 runs steps inline (no pool, no time limit).
    ``step_seconds``: the wall-clock limit of one step (0: none)."""
    global _pool, _users, _size, _step_seconds
    _users += 1
    _step_seconds = step_seconds
    if size > 0 and _pool is None:
        _pool = _new_pool(size)
        _size = size


POOL_PARENT_ENV = "PRESSWATCH_POOL_PARENT"  # the crawl's pid, for the forkserver it starts
forkserver_pid: int | None = None  # set in the forkserver (pipelines/forkserver_start.py), for its workers


def _new_pool(size: int) -> ProcessPoolExecutor:
    # forkserver: workers fork from a clean process, not from one running a
    # reactor with threads (fork would copy their locks mid-use).
    context = multiprocessing.get_context("forkserver")
    # The forkserver imports and warms up what every worker needs (shared copy-on-write);
    # pipelines.forkserver_start first, so that it dies with the crawl.
    context.set_forkserver_preload(["pipelines.forkserver_start", "pipelines.worker_preload"])
    os.environ[POOL_PARENT_ENV] = str(os.getpid())  # the forkserver inherits it when it starts
    return ProcessPoolExecutor(max_workers=size, mp_context=context, initializer=_start_worker)


def _start_worker() -> None:
    die_with_parent(forkserver_pid)
    _yield_to_the_crawler()


def _replace(pool: ProcessPoolExecutor) -> None:
    """Kill ``pool``'s workers and put a new pool in its place (unless that was done already)."""
    global _pool
    if _pool is not pool:
        return
    kill_workers(pool)
    _pool = _new_pool(_size)


def kill_workers(pool: ProcessPoolExecutor | None = None) -> None:
    """SIGKILL the workers of ``pool`` (default: the current one); what they ran fails with
    BrokenProcessPool. Safe from any thread (the crawl's watchdog)."""
    pool = pool or _pool
    if pool is None:
        return
    # A process pool cannot cancel a running task: its processes are the only handle.
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            process.kill()
        except (OSError, ValueError):
            pass
    # Not cancel_futures: the steps queued behind fail with BrokenProcessPool, and `run` retries them.
    pool.shutdown(wait=False)


def _yield_to_the_crawler() -> None:
    """Run in each worker: a lower CPU priority than the crawler's process.

    The crawler's event loop is the one serial stage of the pipeline (it fetches,
    hands pages out and writes the archive); when it waits for a core behind a
    worker, fetching and writing stall while the workers' queue drains. The
    workers always have pages queued, so they lose nothing by letting it go first.
    """
    try:
        os.nice(WORKER_NICENESS)
    except OSError:  # not permitted here: run at the same priority
        pass


def release() -> None:
    global _pool, _users
    _users = max(0, _users - 1)
    if _users == 0 and _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None


def active() -> bool:
    """Is there a pool (``run`` hands work to other processes) rather than inline running?"""
    return _pool is not None


async def run(function: Callable[..., T], *args: Any) -> T:
    """Run ``function(*args)`` in the pool (inline when there is none, without a time limit).

    Raises `TooSlow` when it runs longer than the step limit (its worker is replaced).
    """
    if _pool is None:
        return function(*args)
    loop = asyncio.get_running_loop()
    global _free
    if _free is None or _free[0] is not loop:
        _free = (loop, asyncio.Semaphore(IN_FLIGHT_PER_WORKER * _size))
    free = _free[1]
    for attempt in (1, 2):
        # One step per worker at a time: a step's clock starts when it is handed over, and one
        # queued behind others would count their time as its own (a page behind a slow one would
        # be "too slow" too). The cost: a worker waits ~1 ms between steps for the next one.
        async with free:
            pool = _pool
            if pool is None:  # the last user released the pool meanwhile (the crawl is closing)
                raise BrokenProcessPool("the worker pool was shut down")
            future = loop.run_in_executor(pool, function, *args)
            try:
                return await asyncio.wait_for(future, _step_seconds or None)
            except TimeoutError:
                logger.warning("a %s step took over %g s: its workers are replaced", function.__name__,
                               _step_seconds)
                _replace(pool)
                raise TooSlow(f"took over {_step_seconds:g} s of {function.__name__}: stopped") from None
            except BrokenProcessPool:
                # Another page's overrun replaced the workers under this step: once more on the new ones.
                _replace(pool)
                if attempt == 2:
                    raise
    raise AssertionError("unreachable")
