"""Side-by-side timings of core.classify and the baselines on one images × labels grid.

Every repeat runs each method once, in an order that rotates between repeats, so a
burst of load from other processes hits all methods alike. Ratios are taken within a
repeat and then reduced to their median, which keeps slow drifts of machine load out
of the ratios.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

import core
from bench import baselines, clock
from bench.workload import label_lists
from core.features import IMAGE_BATCH_SIZE, FeatureCache
from core.images import LoadedImage, load_image
from core.loading import load_model


@dataclass(frozen=True)
class Grid:
    """One workload: how many images and labels, and whether the slow per-image baseline runs."""

    images: int
    labels: int
    per_image: bool = False

    @property
    def name(self) -> str:
        return f"{self.images} × {self.labels}"


@dataclass
class GridResult:
    """Seconds per method and repeat, the encodes counted in each label edit, and sanity checks."""

    model_id: str
    grid: Grid
    seconds: dict[str, list[float]] = field(default_factory=dict)
    edit_image_encodes: list[int] = field(default_factory=list)
    edit_prompt_encodes: list[int] = field(default_factory=list)
    max_difference_vs_plain: float = float("nan")
    max_difference_int8: float = float("nan")
    max_difference_per_image: float = float("nan")

    def median(self, method: str) -> float:
        return statistics.median(self.seconds[method])

    def ratio(self, numerator: str, denominator: str) -> float:
        """Median over repeats of the per-repeat ratio of two methods' times."""
        pairs = zip(self.seconds[numerator], self.seconds[denominator])
        return statistics.median(top / bottom for top, bottom in pairs)


def timed(call: Callable[[], object]) -> tuple[float, object]:
    start = clock.now()
    result = call()
    return clock.now() - start, result


def warm_up(model_id: str, paths: list[Path]) -> None:
    """Run every method once on a tiny input, so no first-call cost lands in a timing."""
    loaded = load_model(model_id, device="cpu")
    labels = label_lists(2, 1)[0]
    baselines.plain_loop(loaded, paths[:2], labels, IMAGE_BATCH_SIZE)
    baselines.per_image(loaded, paths[:1], labels)
    for variant in (model_id, f"{model_id}@int8"):
        core.classify(paths[:2], labels, variant, cache=FeatureCache(None), device="cpu")


def measure_grid(model_id: str, grid: Grid, paths: list[Path], repeats: int) -> GridResult:
    """Time every method on ``grid`` ``repeats`` times, interleaved."""
    loaded = load_model(model_id, device="cpu")
    paths = paths[:grid.images]
    # Label list 0 is the request; list r + 1 is the edit made in repeat r.
    lists = label_lists(grid.labels, repeats + 1)
    labels = lists[0]
    # A dashboard keeps the decoded images after an upload, so edits and reruns reuse them.
    images = [load_image(path) for path in paths]
    result = GridResult(model_id, grid)
    outputs: dict[str, object] = {}

    def run(method: str, call: Callable[[], object]) -> dict[str, float]:
        seconds, outputs[method] = timed(call)
        return {method: seconds}

    cases: list[Callable[[int], dict[str, float]]] = [
        lambda repeat: run("plain loop", lambda: baselines.plain_loop(loaded, paths, labels, IMAGE_BATCH_SIZE)),
        lambda repeat: _classify_chain(model_id, paths, images, labels, lists[repeat + 1], result, outputs),
        lambda repeat: run("new labels alone", lambda: baselines.encode_labels_alone(loaded, lists[repeat + 1])),
        lambda repeat: run("new labels alone, trimmed", lambda: baselines.encode_labels_trimmed(loaded, lists[repeat + 1])),
        lambda repeat: run("classify @int8", lambda: core.classify(
            paths, labels, f"{model_id}@int8", cache=FeatureCache(None), device="cpu")),
        lambda repeat: run("load images", lambda: [load_image(path) for path in paths]),
    ]
    if grid.per_image:
        cases.append(lambda repeat: run("per image", lambda: baselines.per_image(loaded, paths, labels)))

    for repeat in range(repeats):
        shift = repeat % len(cases)
        for case in cases[shift:] + cases[:shift]:
            for method, seconds in case(repeat).items():
                result.seconds.setdefault(method, []).append(seconds)

    _check_outputs(outputs, result)
    return result


def _classify_chain(model_id: str, paths: list[Path], images: list[LoadedImage], labels: list[str],
                    new_labels: list[str], result: GridResult, outputs: dict[str, object]) -> dict[str, float]:
    """Time a cold request, the same request twice more from the cache, then a label edit."""
    cache = FeatureCache(None)

    def request(sources, request_labels):
        return lambda: core.classify(sources, request_labels, model_id, cache=cache, device="cpu")

    cold, outputs["classify"] = timed(request(paths, labels))
    again_from_files, _ = timed(request(paths, labels))
    again_from_images, _ = timed(request(images, labels))

    before_images, before_prompts = cache.counts.images, cache.counts.prompts
    edit, _ = timed(request(images, new_labels))
    result.edit_image_encodes.append(cache.counts.images - before_images)
    result.edit_prompt_encodes.append(cache.counts.prompts - before_prompts)
    return {
        "classify": cold,
        "repeat, same files": again_from_files,
        "repeat, loaded images": again_from_images,
        "label edit": edit,
    }


def _check_outputs(outputs: dict[str, object], result: GridResult) -> None:
    """Record how far classify's probabilities are from the plain loop's, and int8's from float32's.

    Each method's output is the one from its last repeat; all repeats compute the same.
    """
    plain = outputs["plain loop"]
    float32 = outputs["classify"]["probability"].to_numpy().reshape(plain.shape)
    int8 = outputs["classify @int8"]["probability"].to_numpy().reshape(plain.shape)
    result.max_difference_vs_plain = float(np.abs(float32 - plain).max())
    result.max_difference_int8 = float(np.abs(int8 - float32).max())
    if "per image" in outputs:
        result.max_difference_per_image = float(np.abs(outputs["per image"] - plain).max())
