"""Tables derived from ``core.classify``'s tidy result: top labels, agreement, differences.

Two phrasing sets are *paired* when they have the same number of labels: label i
of one is taken to mean label i of the other (an English set and its Spanish
translation, say). Agreement across phrasings and English↔Spanish consistency
compare the index of the top label, never the label text.
"""

from __future__ import annotations

from itertools import combinations
from typing import Sequence

import pandas as pd

TOP_COLUMNS = ["image", "model", "phrasing", "label_index", "label", "probability", "probability_kind"]


def top_labels(table: pd.DataFrame) -> pd.DataFrame:
    """Return one row per image × model × phrasing set: the top-ranked label and its probability."""
    top = table.loc[table["rank"] == 1, TOP_COLUMNS]
    return top.reset_index(drop=True)


def paired_sets(label_counts: dict[str, int]) -> list[tuple[str, str]]:
    """Return every pair of phrasing set names whose label counts are equal, in the given order."""
    return [(first, second) for first, second in combinations(label_counts, 2)
            if label_counts[first] == label_counts[second]]


def add_agreement(top: pd.DataFrame, label_counts: dict[str, int]) -> pd.DataFrame:
    """Add ``models_agree`` and ``phrasings_agree`` to a ``top_labels`` table.

    models_agree: all models that scored this image with this phrasing set put the
    same label on top (None with a single model). phrasings_agree: this model puts
    the same label index on top in every set paired with this one (None when the
    set has no pair).
    """
    result = top.copy()
    model_groups = result.groupby(["image", "phrasing"])["label_index"]
    model_count = result.groupby(["image", "phrasing"])["model"].transform("nunique")
    same_for_models = model_groups.transform("nunique") == 1
    result["models_agree"] = same_for_models.where(model_count > 1, None)

    result["label_count"] = result["phrasing"].map(label_counts)
    phrasing_groups = result.groupby(["image", "model", "label_count"])
    same_for_phrasings = phrasing_groups["label_index"].transform("nunique") == 1
    set_count = phrasing_groups["phrasing"].transform("nunique")
    result["phrasings_agree"] = same_for_phrasings.where(set_count > 1, None)
    return result.drop(columns="label_count")


def consistency(top: pd.DataFrame, pairs: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """Count, per model and pair of paired sets, the images whose top label index is the same."""
    rows = []
    for first, second in pairs:
        left = top[top["phrasing"] == first].set_index(["image", "model"])["label_index"]
        right = top[top["phrasing"] == second].set_index(["image", "model"])["label_index"]
        joined = pd.concat({"first": left, "second": right}, axis=1, join="inner").reset_index()
        for model, group in joined.groupby("model", sort=False):
            agreeing = int((group["first"] == group["second"]).sum())
            rows.append({"model": model, "set_a": first, "set_b": second, "images": len(group),
                         "agreeing": agreeing, "share": agreeing / len(group)})
    return pd.DataFrame(rows, columns=["model", "set_a", "set_b", "images", "agreeing", "share"])


def model_labels(table: pd.DataFrame, sigmoid_mark: str) -> pd.Series:
    """Return each row's model id, with ``sigmoid_mark`` appended for sigmoid models."""
    marks = table["probability_kind"].map({"sigmoid": f" {sigmoid_mark}"}).fillna("")
    return table["model"] + marks


def heatmap_table(table: pd.DataFrame, phrasing: str, sigmoid_mark: str) -> pd.DataFrame:
    """Return the rows of one phrasing set with the model_label column that ``charts.heatmap`` needs."""
    rows = table[table["phrasing"] == phrasing].copy()
    rows["model_label"] = model_labels(rows, sigmoid_mark)
    return rows[["image", "model_label", "label_index", "label", "probability"]]


def difference_table(table: pd.DataFrame, first: str, second: str, sigmoid_mark: str) -> pd.DataFrame:
    """Return, per image × model × label index, the probability in ``second`` minus that in ``first``."""
    keys = ["image", "model", "probability_kind", "label_index"]
    left = table[table["phrasing"] == first][keys + ["label", "probability"]]
    right = table[table["phrasing"] == second][keys + ["label", "probability"]]
    joined = left.merge(right, on=keys, suffixes=("_a", "_b"))

    joined["pair_label"] = joined["label_a"] + " → " + joined["label_b"]
    joined["difference"] = joined["probability_b"] - joined["probability_a"]
    joined["model_label"] = model_labels(joined, sigmoid_mark)
    return joined[["image", "model_label", "label_index", "pair_label", "label_a", "label_b",
                   "probability_a", "probability_b", "difference"]]
