"""Leak checks for the C modules: memory that stays allocated after repeated calls."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

# A leaked object per row or line would grow the traced memory by megabytes over the calls;
# a few allocator pages may move.
LEAK_BYTES = 64 * 1024


def traced_growth(call: Callable[[], object], rounds: int = 5) -> int:
    """Bytes Python's allocator holds after `rounds` more calls than after the first (which
    fills caches and interned strings)."""
    tracemalloc.start()
    try:
        call()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(rounds):
            call()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
