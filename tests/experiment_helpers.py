"""Inputs for the experiment tests: labelled folders of shapes, phrasing files, random runs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from core.classify import RESULT_COLUMNS
from core.demo import COLOURS, SHAPES, caption, draw_shape
from core.experiment import Run

# Folder classes come in sorted order.
SHAPE_CLASSES = sorted(f"{colour}_{shape}" for colour in COLOURS for shape in SHAPES)


def write_shape_folder(root: Path, images_per_class: int, seed: int, small_images: int = 1,
                       small_side: int = 10) -> Path:
    """Draw ``images_per_class`` PNGs into one subfolder per colour_shape class.

    The first ``small_images`` of each class are only ``small_side`` pixels square,
    which makes the demo model miss some, so a confusion matrix is not diagonal.
    """
    rng = np.random.default_rng(seed)
    for colour in COLOURS:
        for shape in SHAPES:
            folder = root / f"{colour}_{shape}"
            folder.mkdir(parents=True)
            for index in range(images_per_class):
                size = (small_side, small_side) if index < small_images else None
                draw_shape(colour, shape, rng, size=size).save(folder / f"{index}.png")
    return root


def shape_phrasings(english_template: str = "{}", spanish_template: str = "{}") -> dict:
    """Return phrasing file content with an English and a Spanish set for the shape classes."""
    return {"phrasings": [
        {"name": "English", "templates": [english_template],
         "labels": {f"{c}_{s}": caption(c, s, "en") for c in COLOURS for s in SHAPES}},
        {"name": "Español", "templates": [spanish_template],
         "labels": {f"{c}_{s}": caption(c, s, "es") for c in COLOURS for s in SHAPES}},
    ]}

LABELS = ("un círculo rojo", "a red square", "a blue {triangle}")


def synthetic_results(images: int, seed: int) -> pd.DataFrame:
    """Return a classify-shaped table of ``images`` × 3 labels with random scores."""
    rng = np.random.default_rng(seed)
    label_count = len(LABELS)
    probabilities = rng.dirichlet(np.ones(label_count), size=images)
    order = np.argsort(-probabilities, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, label_count + 1)[None, :].repeat(images, axis=0), axis=1)
    names = [f"image {index:06d}.png" for index in range(images)]
    table = pd.DataFrame({
        "image": np.repeat(names, label_count),
        "image_sha256": np.repeat([hashlib.sha256(name.encode()).hexdigest() for name in names], label_count),
        "model": "demo",
        "phrasing": "default",
        "label_index": np.tile(np.arange(label_count), images),
        "label": np.tile(LABELS, images),
        "prompt": np.tile(LABELS, images),
        "tokens": np.tile([5, 5, 7], images),
        "truncated": np.tile([False, False, True], images),
        "cosine": rng.uniform(-1, 1, images * label_count),
        "logit": rng.normal(0, 10, images * label_count),
        "probability": probabilities.ravel(),
        "probability_kind": "softmax",
        "rank": ranks.ravel(),
    }, columns=RESULT_COLUMNS)
    table.attrs = {"errors": [{"kind": "image", "name": "bad.png", "message": "bad.png: file not found"}],
                   "warnings": [], "prompts": [{"label": LABELS[0], "tokens": 5}]}
    return table


def synthetic_run(images: int = 20, seed: int = 0, name: str = "synthetic") -> Run:
    """Return a comparison Run whose results are random; its name ends with their checksum."""
    results = synthetic_results(images, seed)
    settings = {
        "kind": "comparison",
        "images": [{"name": name, "path": None} for name in results["image"].unique()],
        "models": ["demo"],
        "phrasings": [{"name": "default", "labels": list(LABELS), "templates": ["{}"]}],
    }
    provenance = {"models": [{"model_id": "demo", "loaded": True, "checkpoint_sha256": "0" * 64}],
                  "packages": {"numpy": np.__version__}}
    return Run("comparison", settings, {"results": results}, provenance, name=f"{name} {table_checksum(results)}",
               errors=list(results.attrs["errors"]))


def table_checksum(table: pd.DataFrame) -> str:
    """Return a SHA-256 of a table's values, the same in every process."""
    return hashlib.sha256(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes()).hexdigest()[:16]
