"""glibc's malloc, tuned for long-running processes that allocate and free large blocks by the
thousand (the crawl process and its extraction workers): fewer arenas, a fixed mmap threshold,
and `trim` to give free pages back. Elsewhere than glibc every function does nothing.

Measured on the bench crawls: docs/performance.md, "Memory".
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import Any

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # <malloc.h>
ARENA_MAX = 2  # glibc's default: 8 per core, each thread that allocates may get its own
MMAP_THRESHOLD = 256 * 1024  # bytes; fixed (glibc's dynamic threshold climbs to 32 MB after one big block)
TRIM_THRESHOLD = 1024 * 1024  # free top of the heap beyond this is returned at once


def _libc() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.mallopt  # noqa: B018  (glibc's: AttributeError elsewhere)
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


def available() -> bool:
    return _LIBC is not None


def tune() -> bool:
    """Cap the arenas and fix the mmap and trim thresholds of this process (and of the processes it
    forks afterwards). Call it before the process starts threads. PRESSWATCH_MALLOC=default in the
    environment leaves glibc's defaults (to compare)."""
    if _LIBC is None or os.environ.get("PRESSWATCH_MALLOC") == "default":
        return False
    done = [_LIBC.mallopt(option, value) for option, value in (
        (M_ARENA_MAX, ARENA_MAX), (M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD))]
    return all(done)


def trim() -> bool:
    """Give the free memory of every arena back to the OS (malloc_trim(0), which also releases the
    free pages in the middle of the heap); True if some was."""
    return bool(_LIBC.malloc_trim(0)) if _LIBC is not None else False
