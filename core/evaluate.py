"""Evaluate models × phrasing sets on a labelled image set and compute accuracy metrics.

The labelled set is a folder with one subfolder per class or an ``image,label`` CSV
(see ``core.labelled``). Each phrasing set gives every class a label, so English and
Spanish phrasings are scored on the same images. A phrasing file is UTF-8 JSON::

    {"phrasings": [
        {"name": "English", "templates": "photo", "labels": {"cat": "cat", "dog": "dog"}},
        {"name": "Español", "templates": ["una foto de {}."],
         "labels": {"cat": "un gato", "dog": "un perro"}}
    ]}

- ``name``: required, unique among the sets.
- ``templates``: optional, default "none" (the label itself is the prompt). Either a
  built-in set name from ``core.prompts.TEMPLATE_SETS`` or a list of templates, each
  with ``{}`` where the label goes.
- ``labels``: required, class name → label. Every class of the data must have a label.
  Classes without images may be listed too. They stay label candidates, so an image
  can be wrongly predicted as one of them, as in a preset such as CIFAR-10 run on a
  folder with only some of its classes.

No other keys are accepted, so a misspelt key fails with a message instead of being
ignored. Without a phrasing file the class names themselves are the labels.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, Sequence

import pandas as pd

from core import metrics
from core.classify import classify
from core.errors import ImageError, LabelledSetError, PhrasingError, PhrasingFileError
from core.features import FeatureCache
from core.images import load_image
from core.labelled import LabelledSet, read_labelled_set
from core.prompts import PhrasingSet, make_phrasing_set, resolve_templates
from core.registry import DEFAULT_MODEL_ID

logger = logging.getLogger(__name__)

# progress(model_id, stage, done, total): stage "read" (model_id is "") while the images
# are opened, then classify's stages "download", "images" and "prompts" per model.
EvaluateProgress = Callable[[str, str, int, int], None]

_ENTRY_KEYS = {"name", "templates", "labels"}


@dataclass(frozen=True)
class ClassPhrasing:
    """One phrasing set as a label for each class, plus its templates."""

    name: str
    labels: dict[str, str]
    templates: tuple[str, ...] = ("{}",)

    def phrasing_set(self) -> PhrasingSet:
        """Return the PhrasingSet with the labels in the order of ``labels``."""
        return make_phrasing_set(self.name, list(self.labels.values()), self.templates)

    def to_dict(self) -> dict[str, Any]:
        """Return the entry as it appears in a phrasing file, with the templates resolved."""
        return {"name": self.name, "templates": list(self.templates), "labels": dict(self.labels)}


def load_phrasing_file(path: str | os.PathLike) -> list[ClassPhrasing]:
    """Read and validate a phrasing file; raises PhrasingFileError naming the problem."""
    path = Path(path).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise PhrasingFileError(f"Phrasing file not found: {path}.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise PhrasingFileError(f"Cannot read the phrasing file {path}: {error}") from None
    except json.JSONDecodeError as error:
        raise PhrasingFileError(
            f"{path} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        ) from None
    return parse_phrasings(data, source=str(path))


def parse_phrasings(data: Any, source: str = "phrasings") -> list[ClassPhrasing]:
    """Validate the content of a phrasing file (see the module docstring) and return its sets."""
    if not isinstance(data, dict) or set(data) != {"phrasings"}:
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise PhrasingFileError(
            f'{source}: expected an object with the single key "phrasings", got {keys}. '
            'Example: {"phrasings": [{"name": "English", "labels": {"cat": "a cat"}}]}'
        )
    entries = data["phrasings"]
    if not isinstance(entries, list) or not entries:
        raise PhrasingFileError(f'{source}: "phrasings" must be a non-empty list of phrasing sets.')

    parsed = [_parse_entry(entry, f"{source}: phrasing set {position}")
              for position, entry in enumerate(entries, start=1)]
    names = [phrasing.name for phrasing in parsed]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise PhrasingFileError(f"{source}: phrasing set names must differ; repeated: {', '.join(repeated)}.")
    return parsed


def _parse_entry(entry: Any, where: str) -> ClassPhrasing:
    if not isinstance(entry, dict):
        raise PhrasingFileError(f'{where} must be an object with "name" and "labels", not {type(entry).__name__}.')
    unknown = sorted(set(entry) - _ENTRY_KEYS)
    if unknown:
        raise PhrasingFileError(f"{where} has unknown keys {unknown}; the accepted keys are {sorted(_ENTRY_KEYS)}.")

    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PhrasingFileError(f'{where} needs a "name": a non-empty string such as "English".')
    where = f"{where} ({name.strip()!r})"
    templates = entry.get("templates", "none")
    if not (isinstance(templates, str) or (isinstance(templates, list) and all(isinstance(t, str) for t in templates))):
        raise PhrasingFileError(f'{where}: "templates" must be a built-in set name or a list of strings.')
    try:
        resolved = resolve_templates(templates)
    except PhrasingError as error:
        raise PhrasingFileError(f"{where}: {error}") from None
    return ClassPhrasing(name.strip(), _parse_labels(entry.get("labels"), where), resolved)


def _parse_labels(labels: Any, where: str) -> dict[str, str]:
    if not isinstance(labels, dict) or not labels:
        raise PhrasingFileError(
            f'{where}: "labels" must be a non-empty object from class name to label, such as {{"cat": "a cat"}}.'
        )
    parsed: dict[str, str] = {}
    first_class_of: dict[str, str] = {}
    for class_name, label in labels.items():
        if not isinstance(label, str) or not label.strip():
            raise PhrasingFileError(f"{where}: the label of class {class_name!r} must be a non-empty string.")
        label = label.strip()
        if label in first_class_of:
            raise PhrasingFileError(
                f"{where}: classes {first_class_of[label]!r} and {class_name!r} have the same label "
                f"{label!r}, so a prediction could not tell them apart. Give each class its own label."
            )
        first_class_of[label] = class_name
        parsed[class_name] = label
    return parsed


def default_phrasings(classes: Sequence[str]) -> list[ClassPhrasing]:
    """Return one phrasing set named "class names" whose labels are the class names."""
    return [ClassPhrasing("class names", {name: name for name in classes})]


def align_phrasings(phrasings: Sequence[ClassPhrasing], classes: Sequence[str]) -> list[ClassPhrasing]:
    """Order each set's labels as ``classes`` first, then its extra classes; check none is missing."""
    aligned = []
    for phrasing in phrasings:
        missing = [name for name in classes if name not in phrasing.labels]
        if missing:
            raise PhrasingFileError(
                f"Phrasing set {phrasing.name!r} has no label for the classes {', '.join(map(repr, missing))}. "
                'Add them to its "labels".'
            )
        extra = [name for name in phrasing.labels if name not in classes]
        order = list(classes) + extra
        aligned.append(ClassPhrasing(phrasing.name, {name: phrasing.labels[name] for name in order},
                                     phrasing.templates))
    return aligned


@dataclass
class EvaluationResult:
    """Everything an evaluation produced; each table is a DataFrame ready to show or save.

    - ``results``: classify's tidy table (one row per image × model × phrasing × label).
    - ``images``: the usable images with their path, class and image_sha256.
    - ``predictions``, ``metrics``, ``per_class``, ``agreement``: see ``core.metrics``.
    - ``settings``: a JSON-ready dict that ``evaluate_settings`` runs again.
    - ``errors``: {kind, name, message} for every skipped file, row, model or phrasing set.
    """

    settings: dict[str, Any]
    results: pd.DataFrame
    images: pd.DataFrame
    predictions: pd.DataFrame
    metrics: pd.DataFrame
    per_class: pd.DataFrame
    agreement: pd.DataFrame
    errors: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def classes(self, phrasing: str) -> list[str]:
        """Return the label candidates of a phrasing set as class names, in label order."""
        for entry in self.settings["phrasings"]["phrasings"]:
            if entry["name"] == phrasing:
                return list(entry["labels"])
        raise KeyError(f"No phrasing set named {phrasing!r} in this evaluation.")

    def confusion_matrix(self, model: str, phrasing: str) -> pd.DataFrame:
        """Return the confusion matrix of one model × phrasing set (see ``metrics.confusion_matrix``)."""
        return metrics.confusion_matrix(self.predictions, model, phrasing, self.classes(phrasing))

    def worst_images(self, model: str, phrasing: str, count: int = 10, top_labels: int = 3) -> pd.DataFrame:
        """Return the worst-classified images with their top labels and file paths."""
        worst = metrics.worst_images(self.predictions, self.results, model, phrasing, count, top_labels)
        paths = dict(zip(self.images["image"], self.images["path"]))
        worst.insert(1, "path", [paths.get(image, "") for image in worst["image"]])
        return worst


def evaluate(
    data: str | os.PathLike | LabelledSet,
    models: str | Sequence[str] = DEFAULT_MODEL_ID,
    phrasings: str | os.PathLike | Sequence[ClassPhrasing] | dict | None = None,
    *,
    errors: Literal["raise", "collect"] = "raise",
    cache: FeatureCache | None = None,
    device: str | None = None,
    progress: EvaluateProgress | None = None,
) -> EvaluationResult:
    """Classify every image of a labelled set with each model and phrasing set, and score it.

    ``phrasings`` is a phrasing file path, its parsed content, a list of
    ClassPhrasing, or None for the class names as labels. Unusable images are always
    reported in ``errors`` and skipped. A model or phrasing set that fails raises a
    ClipCompareError with ``errors="raise"``, or is reported with ``errors="collect"``.
    Images already encoded by a model come from the feature cache.
    """
    labelled = data if isinstance(data, LabelledSet) else read_labelled_set(data)
    model_ids = [models] if isinstance(models, str) else list(dict.fromkeys(models))
    aligned = align_phrasings(_as_class_phrasings(phrasings, labelled.classes), labelled.classes)

    loaded, problems = _open_images(labelled, progress)
    if not loaded:
        first_problems = "; ".join(problem["message"] for problem in problems[:3])
        raise LabelledSetError(
            f"None of the {len(labelled.images)} files in {labelled.source} is a usable image: {first_problems}")

    images = {image.name: image for image, _ in loaded}
    results = classify(images, [phrasing.phrasing_set() for phrasing in aligned], model_ids,
                       errors=errors, cache=cache, device=device, progress=progress)
    truth = pd.DataFrame({
        "image": [image.name for image, _ in loaded],
        "path": [str(item.path) for _, item in loaded],
        "class": [item.class_name for _, item in loaded],
        "image_sha256": [image.sha256 for image, _ in loaded],
    })

    settings = {
        "kind": "evaluation",
        "data": str(Path(labelled.source).resolve()),
        "models": model_ids,
        "phrasings": {"phrasings": [phrasing.to_dict() for phrasing in aligned]},
    }
    result = score_evaluation(settings, results, truth)
    result.errors = labelled.errors + problems + results.attrs.get("errors", [])
    result.warnings = labelled.warnings + results.attrs.get("warnings", [])
    return result


def evaluate_settings(settings: dict[str, Any], **options) -> EvaluationResult:
    """Run an evaluation again from the ``settings`` of an earlier EvaluationResult."""
    return evaluate(settings["data"], settings["models"], parse_phrasings(settings["phrasings"], "settings"),
                    **options)


def score_evaluation(settings: dict[str, Any], results: pd.DataFrame, truth: pd.DataFrame) -> EvaluationResult:
    """Compute every metric table from classify's results and the true class of each image."""
    class_order = {entry["name"]: list(entry["labels"]) for entry in settings["phrasings"]["phrasings"]}
    predicted = metrics.predictions(results, truth, class_order)
    return EvaluationResult(
        settings=settings,
        results=results,
        images=truth,
        predictions=predicted,
        metrics=metrics.accuracy_table(predicted, results),
        per_class=metrics.per_class_table(predicted),
        agreement=metrics.agreement_table(predicted),
    )


def _as_class_phrasings(phrasings, classes: Sequence[str]) -> list[ClassPhrasing]:
    if phrasings is None:
        return default_phrasings(classes)
    if isinstance(phrasings, (str, os.PathLike)):
        return load_phrasing_file(phrasings)
    if isinstance(phrasings, dict):
        return parse_phrasings(phrasings)
    phrasings = list(phrasings)
    if not phrasings or not all(isinstance(item, ClassPhrasing) for item in phrasings):
        raise PhrasingFileError("phrasings must be a phrasing file, its content, or a list of ClassPhrasing.")
    return phrasings


def _open_images(labelled: LabelledSet, progress: EvaluateProgress | None):
    """Open every image of the set; return (LoadedImage, LabelledImage) pairs and the failures."""
    loaded, problems = [], []
    total = len(labelled.images)
    for done, item in enumerate(labelled.images, start=1):
        try:
            loaded.append((load_image(item.path, name=item.name), item))
        except ImageError as error:
            logger.info("Skipping image: %s", error)
            problems.append({"kind": "image", "name": item.name, "message": str(error)})
        if progress:
            progress("", "read", done, total)
    return loaded, problems
