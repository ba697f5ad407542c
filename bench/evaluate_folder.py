"""Time ``core.evaluate`` on a 200-image labelled folder, cold and with a warm feature cache.

Run from the repository root:

    .venv/bin/python -m bench.evaluate_folder [--images 200] [--repeats 3] [--model ID ...]

The folder contains the demo model's nine shape classes, and the phrasing file has an
English and a Spanish set. The default model ids ``demo`` and ``local-dir:core/demo_model``
name the same weights, but the feature cache keys them apart, so each run encodes
every image twice, as two different models would. Three timings are printed:

- cold: an empty feature cache folder, so every image and prompt is encoded;
- warm from disk: a new FeatureCache on the folder the cold run filled, as a new
  process would see it;
- warm in memory: the same FeatureCache object again.

Each is the median of ``--repeats`` runs; models are loaded once, before timing.
The command line (``python -m core evaluate``) is also timed cold and warm; that
includes starting Python and importing torch.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from core.demo import CLASSES, DEMO_MODEL_DIR, caption, draw_shape
from core.evaluate import evaluate
from core.features import FeatureCache
from core.loading import load_model

MODELS = ["demo", f"local-dir:{DEMO_MODEL_DIR}"]
IMAGE_SEED = 11


def write_folder(root: Path, image_count: int) -> Path:
    """Write ``image_count`` PNG shapes, cycling through the classes, one subfolder per class."""
    rng = np.random.default_rng(IMAGE_SEED)
    for index in range(image_count):
        colour, shape = CLASSES[index % len(CLASSES)]
        folder = root / f"{colour}_{shape}"
        folder.mkdir(parents=True, exist_ok=True)
        draw_shape(colour, shape, rng).save(folder / f"{index:04d}.png")
    return root


def write_phrasings(path: Path) -> Path:
    content = {"phrasings": [
        {"name": language_name, "labels": {f"{colour}_{shape}": caption(colour, shape, language)
                                           for colour, shape in CLASSES}}
        for language_name, language in (("English", "en"), ("Español", "es"))
    ]}
    path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    return path


def time_call(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def time_library(folder: Path, phrasings: Path, models: list[str], scratch: Path, repeats: int) -> dict[str, float]:
    """Return median seconds for the cold, warm-from-disk and warm-in-memory evaluations."""
    timings: dict[str, list[float]] = {"cold": [], "warm from disk": [], "warm in memory": []}
    for repeat in range(repeats):
        cache_dir = scratch / f"cache-{repeat}"
        memory_and_disk = FeatureCache(cache_dir)
        timings["cold"].append(time_call(lambda: evaluate(folder, models, phrasings, cache=memory_and_disk)))
        fresh = FeatureCache(cache_dir)
        timings["warm from disk"].append(time_call(lambda: evaluate(folder, models, phrasings, cache=fresh)))
        timings["warm in memory"].append(time_call(lambda: evaluate(folder, models, phrasings, cache=fresh)))
    return {name: statistics.median(values) for name, values in timings.items()}


def time_command_line(folder: Path, phrasings: Path, models: list[str], scratch: Path) -> dict[str, float]:
    """Return the seconds of one cold and one warm ``python -m core evaluate`` run."""
    cache_dir = scratch / "cli-cache"
    model_options = [option for model in models for option in ("--model", model)]
    command = [sys.executable, "-m", "core", "evaluate", *model_options, "--no-progress",
               "--phrasings", str(phrasings), "--cache-dir", str(cache_dir), str(folder)]
    environment = dict(os.environ, HF_HUB_OFFLINE="1")
    timings = {}
    for name in ("cold", "warm"):
        timings[name] = time_call(lambda: subprocess.run(command, check=True, capture_output=True, env=environment))
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200, help="number of images (default 200)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement (default 3)")
    parser.add_argument("--model", action="append", dest="models", metavar="ID",
                        help=f"model id, repeatable (default: {' and '.join(MODELS)})")
    args = parser.parse_args()
    models = args.models or MODELS

    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        folder = write_folder(scratch / "shapes", args.images)
        phrasings = write_phrasings(scratch / "phrasings.json")
        load_seconds = time_call(lambda: [load_model(model) for model in models])
        library = time_library(folder, phrasings, models, scratch, args.repeats)
        command_line = time_command_line(folder, phrasings, models, scratch)

    print(f"{args.images} images, {len(models)} model ids × 2 phrasing sets, {os.cpu_count()} CPUs, "
          f"torch threads {torch.get_num_threads()}")
    print(f"model loading (once, not in the timings below): {load_seconds:.2f} s")
    for name, seconds in library.items():
        print(f"core.evaluate, {name}: {seconds:.2f} s (median of {args.repeats})")
    for name, seconds in command_line.items():
        print(f"python -m core evaluate, {name}: {seconds:.2f} s (one run, with interpreter start-up)")


if __name__ == "__main__":
    main()
