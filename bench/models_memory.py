"""Resident memory of a fresh process that loads several models at once.

Run by ``bench/run.py`` in a child process, so that nothing the benchmark did before
counts; it also runs on its own:

    .venv/bin/python -m bench.models_memory MODEL_ID [MODEL_ID ...]

It prints one JSON object with the resident set size (RSS) after the imports and after
each load, and the process's peak RSS, in MB. The RSS after the last load is also split
into anonymous memory (tensors, Python objects) and file-backed pages (mostly the code
of torch's shared libraries, which the kernel can drop and reload).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch  # noqa: F401  (imported before the first reading, as every caller has it loaded)

from core.loading import load_model

MB = 1024 * 1024


def memory_mb(field: str = "VmRSS") -> float:
    """Return one memory field of this process (VmRSS, VmHWM, RssAnon or RssFile), read from /proc (Linux only)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024 / MB
    raise RuntimeError(f"/proc/self/status has no {field} line; this measurement needs Linux.")


def peak_rss_mb() -> float:
    """Return the peak resident set size of this process so far.

    VmHWM, not ``ru_maxrss``: Linux carries ``ru_maxrss`` over from the parent into a
    child process, so a child started by a large benchmark process would report the
    parent's peak.
    """
    return memory_mb("VmHWM")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_ids", nargs="+", metavar="MODEL_ID")
    args = parser.parse_args()

    report = {"models": args.model_ids, "after_imports_mb": memory_mb(), "after_each_load_mb": []}
    loaded = []
    for model_id in args.model_ids:
        loaded.append(load_model(model_id, device="cpu"))
        report["after_each_load_mb"].append(memory_mb())
    report["anonymous_mb"] = memory_mb("RssAnon")
    report["file_backed_mb"] = memory_mb("RssFile")
    report["peak_mb"] = peak_rss_mb()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
