"""Side-by-side differences between two runs: settings, accuracy and probabilities.

Every difference is ``b - a``, so with an older run as ``a`` a positive number
means the newer run scores higher.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.experiment import Run

METRIC_NAMES = ("top1_accuracy", "top5_accuracy", "mean_class_recall")
PROBABILITY_KEYS = ["image", "model", "phrasing", "label"]
PROBABILITY_COLUMNS = PROBABILITY_KEYS + [
    "probability_a", "probability_b", "difference", "rank_a", "rank_b", "same_image",
]


@dataclass
class RunComparison:
    """The differences between two runs, each as a DataFrame ready to show."""

    settings: list[str]
    metrics: pd.DataFrame
    probabilities: pd.DataFrame


def compare_runs(a: Run, b: Run) -> RunComparison:
    """Compare two runs of any kind; metrics are empty unless both are evaluations."""
    return RunComparison(settings_differences(a, b), compare_metrics(a, b), compare_probabilities(a, b))


def compare_metrics(a: Run, b: Run) -> pd.DataFrame:
    """Return accuracy per model × phrasing in both runs and the difference ``b - a``.

    A model × phrasing set present in only one run has NaN on the other side.
    """
    columns = ["model", "phrasing", "images_a", "images_b"]
    for metric in METRIC_NAMES:
        columns += [f"{metric}_a", f"{metric}_b", f"{metric}_difference"]
    if "metrics" not in a.tables or "metrics" not in b.tables:
        return pd.DataFrame(columns=columns)

    keep = ["model", "phrasing", "images", *METRIC_NAMES]
    merged = _outer_merge(a.tables["metrics"][keep], b.tables["metrics"][keep], ["model", "phrasing"])
    for metric in METRIC_NAMES:
        merged[f"{metric}_difference"] = merged[f"{metric}_b"] - merged[f"{metric}_a"]
    return merged[columns]


def compare_probabilities(a: Run, b: Run) -> pd.DataFrame:
    """Return the probability of each image × model × phrasing × label in both runs.

    Rows are matched by image name. ``same_image`` is False where the two runs saw
    different pixels under one name, and missing where a row exists in one run only.
    """
    keep = PROBABILITY_KEYS + ["probability", "rank", "image_sha256"]
    merged = _outer_merge(a.results[keep], b.results[keep], PROBABILITY_KEYS)
    merged["difference"] = merged["probability_b"] - merged["probability_a"]
    both = merged["image_sha256_a"].notna() & merged["image_sha256_b"].notna()
    merged["same_image"] = (merged["image_sha256_a"] == merged["image_sha256_b"]).where(both, pd.NA).astype("boolean")
    return merged[PROBABILITY_COLUMNS].reset_index(drop=True)


def _outer_merge(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Outer-join two tables on ``keys``, keeping run a's row order, then b's extra rows."""
    # An outer merge sorts its keys, which would put labels in alphabetical order.
    merged = a.assign(_order_a=range(len(a))).merge(b.assign(_order_b=range(len(b))), on=keys, how="outer",
                                                    suffixes=("_a", "_b"))
    merged = merged.sort_values(["_order_a", "_order_b"], na_position="last", kind="stable")
    return merged.drop(columns=["_order_a", "_order_b"]).reset_index(drop=True)


def settings_differences(a: Run, b: Run) -> list[str]:
    """Describe in sentences how the settings of two runs differ; empty when they match."""
    notes = []
    if a.kind != b.kind:
        notes.append(f"Run a is a {a.kind} and run b is a {b.kind}.")
    only_a = [model for model in a.models if model not in b.models]
    only_b = [model for model in b.models if model not in a.models]
    if only_a:
        notes.append(f"Models only in run a: {', '.join(only_a)}.")
    if only_b:
        notes.append(f"Models only in run b: {', '.join(only_b)}.")

    phrasings_a, phrasings_b = _phrasings_by_name(a), _phrasings_by_name(b)
    for name in dict.fromkeys([*phrasings_a, *phrasings_b]):
        if name not in phrasings_b:
            notes.append(f"Phrasing set {name!r} is only in run a.")
        elif name not in phrasings_a:
            notes.append(f"Phrasing set {name!r} is only in run b.")
        elif phrasings_a[name] != phrasings_b[name]:
            notes.append(f"Phrasing set {name!r} has different labels or templates.")
    if a.settings.get("data") != b.settings.get("data"):
        notes.append(f"The data differ: {a.settings.get('data')} and {b.settings.get('data')}.")
    return notes


def _phrasings_by_name(run: Run) -> dict[str, dict]:
    phrasings = run.settings.get("phrasings", [])
    entries = phrasings["phrasings"] if isinstance(phrasings, dict) else phrasings
    return {entry["name"]: entry for entry in entries}
