"""A helper that starts test workers at the same moment, to provoke races."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable


def run_at_once(work: Callable[[int], list], threads: int, timeout_s: float) -> list:
    """Run ``work(index)`` in ``threads`` threads released together; return their results as one list."""
    start = threading.Barrier(threads)

    def released(index: int) -> list:
        start.wait()
        return work(index)

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(released, index) for index in range(threads)]
        return [entry for future in futures for entry in future.result(timeout=timeout_s)]
