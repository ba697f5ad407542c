"""The clock that every benchmark timing reads: wall time, or this process's CPU time.

On a machine shared with other busy processes, wall time includes the time this
process waits for a core, which swings from one run to the next. With one torch
thread, CPU time counts only the work done, so ratios between methods are steadier.
"""

from __future__ import annotations

import time
from typing import Callable

CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}

_clock = CLOCKS["wall"]
clock_name = "wall"


def use_clock(name: str) -> None:
    """Make ``now`` read the named clock ("wall" or "cpu")."""
    global _clock, clock_name
    if name not in CLOCKS:
        raise ValueError(f"Unknown clock {name!r}; use one of {sorted(CLOCKS)}.")
    _clock, clock_name = CLOCKS[name], name


def now() -> float:
    """Return the current reading of the chosen clock, in seconds."""
    return _clock()
