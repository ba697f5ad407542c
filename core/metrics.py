"""Accuracy metrics of a labelled evaluation, computed from classify's tidy table.

Everything starts from ``predictions``: one row per model × phrasing × image with the
true class, the predicted class (the label of rank 1) and the rank and probability
of the true label. Every other table is an aggregate of it, so a saved run can
rebuild any view from its stored predictions. A prediction is scored by class, not
by label text, so two phrasing sets agree when they pick the same class in
different words.
"""

from __future__ import annotations

from itertools import combinations
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

TOP_K = 5

PREDICTION_COLUMNS = [
    "model", "phrasing", "image", "class", "true_label", "true_probability", "true_rank",
    "predicted_class", "predicted_label", "predicted_probability", "correct", "top5_correct",
]
METRIC_COLUMNS = [
    "model", "phrasing", "images", "labels", "top1_accuracy", "top5_accuracy", "mean_class_recall",
]
PER_CLASS_COLUMNS = ["model", "phrasing", "class", "images", "correct", "recall", "predicted", "precision"]
AGREEMENT_COLUMNS = ["model", "phrasing_a", "phrasing_b", "images", "agreement", "both_correct"]


def predictions(results: pd.DataFrame, truth: pd.DataFrame,
                class_order: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Return one row per model × phrasing × image with its true and predicted class.

    ``results`` is classify's table, and ``truth`` has the columns image and class.
    ``class_order[phrasing]`` lists the class of each label index of that phrasing set.
    """
    if results.empty:
        return pd.DataFrame(columns=PREDICTION_COLUMNS)
    rows = results[["model", "phrasing", "image", "label_index", "label", "probability", "rank"]].copy()
    rows["label_class"] = [class_order[phrasing][index]
                           for phrasing, index in zip(rows["phrasing"], rows["label_index"])]
    rows = rows.merge(truth[["image", "class"]], on="image", how="inner", validate="many_to_one")

    keys = ["model", "phrasing", "image"]
    predicted = rows[rows["rank"] == 1][keys + ["class", "label_class", "label", "probability"]].rename(
        columns={"label_class": "predicted_class", "label": "predicted_label", "probability": "predicted_probability"})
    true = rows[rows["label_class"] == rows["class"]][keys + ["label", "probability", "rank"]].rename(
        columns={"label": "true_label", "probability": "true_probability", "rank": "true_rank"})

    table = predicted.merge(true, on=keys, how="left", validate="one_to_one")
    table["correct"] = table["predicted_class"] == table["class"]
    table["top5_correct"] = table["true_rank"] <= TOP_K
    return table[PREDICTION_COLUMNS].reset_index(drop=True)


def accuracy_table(predicted: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """Return top-1 and top-5 accuracy and mean per-class recall per model × phrasing.

    Top-5 accuracy counts the true label among the 5 most probable, so it is 1.0 for
    any phrasing set with 5 labels or fewer. Mean per-class recall averages the recall
    of each class with images, so a large class cannot hide a poor small one.
    """
    rows = []
    for (model, phrasing), group in predicted.groupby(["model", "phrasing"], sort=False):
        in_group = (results["model"] == model) & (results["phrasing"] == phrasing)
        label_count = results.loc[in_group, "label_index"].nunique()
        rows.append({
            "model": model,
            "phrasing": phrasing,
            "images": len(group),
            "labels": int(label_count),
            "top1_accuracy": float(group["correct"].mean()),
            "top5_accuracy": float(group["top5_correct"].mean()),
            "mean_class_recall": float(group.groupby("class", sort=False)["correct"].mean().mean()),
        })
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def per_class_table(predicted: pd.DataFrame) -> pd.DataFrame:
    """Return recall (the per-class accuracy) and precision of each class per model × phrasing.

    Precision is NaN for a class that no image was predicted as.
    """
    rows = []
    for (model, phrasing), group in predicted.groupby(["model", "phrasing"], sort=False):
        predicted_counts = group["predicted_class"].value_counts()
        for class_name, members in group.groupby("class", sort=False):
            correct = int(members["correct"].sum())
            predicted_count = int(predicted_counts.get(class_name, 0))
            rows.append({
                "model": model, "phrasing": phrasing, "class": class_name,
                "images": len(members), "correct": correct, "recall": correct / len(members),
                "predicted": predicted_count,
                "precision": correct / predicted_count if predicted_count else np.nan,
            })
    return pd.DataFrame(rows, columns=PER_CLASS_COLUMNS)


def agreement_table(predicted: pd.DataFrame) -> pd.DataFrame:
    """Return, for every pair of phrasing sets of one model, how often they pick the same class.

    With an English and a Spanish set this is the English↔Spanish agreement;
    ``both_correct`` is the share of images that both sets classify correctly.
    """
    rows = []
    for model, group in predicted.groupby("model", sort=False):
        by_phrasing = {name: part.set_index("image") for name, part in group.groupby("phrasing", sort=False)}
        for first, second in combinations(by_phrasing, 2):
            a, b = by_phrasing[first].align(by_phrasing[second], join="inner", axis=0)
            rows.append({
                "model": model, "phrasing_a": first, "phrasing_b": second, "images": len(a),
                "agreement": float((a["predicted_class"] == b["predicted_class"]).mean()) if len(a) else np.nan,
                "both_correct": float((a["correct"] & b["correct"]).mean()) if len(a) else np.nan,
            })
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


def confusion_matrix(predicted: pd.DataFrame, model: str, phrasing: str, classes: Sequence[str]) -> pd.DataFrame:
    """Return image counts with the true class as rows and the predicted class as columns.

    Rows are the classes that have images; columns are all of ``classes``, which may
    include classes that were label candidates without images of their own.
    """
    chosen = predicted[(predicted["model"] == model) & (predicted["phrasing"] == phrasing)]
    row_classes = [name for name in classes if name in set(chosen["class"])]
    counts = pd.crosstab(chosen["class"], chosen["predicted_class"])
    matrix = counts.reindex(index=row_classes, columns=list(classes), fill_value=0).astype("int64")
    matrix.index.name = "true class"
    matrix.columns.name = "predicted class"
    return matrix


def worst_images(predicted: pd.DataFrame, results: pd.DataFrame, model: str, phrasing: str,
                 count: int = 10, top_labels: int = 3) -> pd.DataFrame:
    """Return the ``count`` images whose true label got the lowest probability, with their top labels.

    Ties are broken by the rank of the true label, worst first. ``top_labels`` is a
    text such as "a red square 0.81 · a red circle 0.12".
    """
    chosen = predicted[(predicted["model"] == model) & (predicted["phrasing"] == phrasing)]
    worst = chosen.sort_values(["true_probability", "true_rank"], ascending=[True, False], kind="stable").head(count)

    ranked = results[(results["model"] == model) & (results["phrasing"] == phrasing)
                     & (results["rank"] <= top_labels) & results["image"].isin(worst["image"])]
    ranked = ranked.sort_values(["image", "rank"], kind="stable")
    summaries = {image: " · ".join(f"{label} {probability:.2f}" for label, probability
                                   in zip(rows["label"], rows["probability"]))
                 for image, rows in ranked.groupby("image", sort=False)}

    table = worst[["image", "class", "true_label", "true_probability", "true_rank",
                   "predicted_label", "predicted_probability"]].copy()
    table["top_labels"] = [summaries.get(image, "") for image in table["image"]]
    return table.reset_index(drop=True)
