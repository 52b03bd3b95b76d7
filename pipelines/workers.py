"""The process pool that runs CPU-bound pipeline steps off the crawler's event loop.

Extraction costs ~30 ms of CPU a page against ~3 ms to fetch it, so running it
in the reactor's thread would make the crawl as slow as one core can extract.
Pipelines hand pure functions to this pool and await the result, so fetching
goes on while pages are extracted on every core. One pool per process, shared
by every crawler in it, started on first use and shut down with the last user.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

WORKER_NICENESS = 10

_pool: ProcessPoolExecutor | None = None
_users = 0
_size = 0


def default_size() -> int:
    return os.cpu_count() or 1


def acquire(size: int) -> None:
    """Register a user of the pool; ``size`` 0 runs steps inline (no pool)."""
    global _pool, _users, _size
    _users += 1
    if size > 0 and _pool is None:
        # forkserver: workers fork from a clean process, not from one running a
        # reactor with threads (fork would copy their locks mid-use).
        context = multiprocessing.get_context("forkserver")
        # The forkserver imports and warms up what every worker needs (shared copy-on-write).
        context.set_forkserver_preload(["pipelines.worker_preload"])
        _pool = ProcessPoolExecutor(max_workers=size, mp_context=context, initializer=_yield_to_the_crawler)
        _size = size


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
    """Run ``function(*args)`` in the pool (inline when there is none)."""
    if _pool is None:
        return function(*args)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool, function, *args)
