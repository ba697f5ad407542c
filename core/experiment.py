"""Runs: a comparison or an evaluation with its settings, result tables and provenance.

A Run is what ``core.store`` saves. Its ``settings`` are plain JSON and are enough to
run it again (``rerun``): on the same images and weights the probabilities match
to 1e-6. Its ``provenance`` records the model ids, the SHA-256 of each weights file,
the package versions and the date, so a difference between two runs can be traced
to its cause.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping, Sequence

import numpy as np
import open_clip
import pandas as pd
import PIL
import torch

from core.classify import as_phrasing_sets, classify
from core.errors import ClipCompareError
from core.evaluate import EvaluationResult, evaluate_settings
from core.features import FeatureCache, default_cache_dir
from core.images import ImageSource, LoadedImage
from core.loading import load_model
from core.prompts import make_phrasing_set
from core.registry import DEFAULT_MODEL_ID
from core.version import __version__

logger = logging.getLogger(__name__)

RunKind = Literal["comparison", "evaluation"]
RUN_KINDS = ("comparison", "evaluation")

# The tables each kind of run holds; "results" is always classify's tidy table.
EVALUATION_TABLES = ("results", "images", "predictions", "metrics", "per_class", "agreement")
COMPARISON_TABLES = ("results",)

HASH_CACHE_NAME = "checkpoint-sha256.json"
_HASH_CHUNK = 1 << 20


def utc_now() -> str:
    """Return the current UTC time as ISO 8601 with seconds, for example 2025-01-31T12:00:00+00:00."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Run:
    """One saved experiment: its settings, result tables and provenance.

    ``id`` is None until the run is saved in a store. ``uid`` identifies the run
    across databases, so an exported and re-imported run can be recognised.
    """

    kind: RunKind
    settings: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    provenance: dict[str, Any]
    name: str = ""
    created_at: str = field(default_factory=utc_now)
    errors: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    id: int | None = None
    uid: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def results(self) -> pd.DataFrame:
        """Return classify's tidy table of this run."""
        return self.tables["results"]

    @property
    def models(self) -> list[str]:
        return list(self.settings.get("models", []))

    @property
    def phrasing_names(self) -> list[str]:
        phrasings = self.settings.get("phrasings", [])
        entries = phrasings["phrasings"] if isinstance(phrasings, dict) else phrasings
        return [entry["name"] for entry in entries]

    def evaluation(self) -> EvaluationResult:
        """Return the EvaluationResult of an evaluation run, for its confusion matrices and worst images."""
        if self.kind != "evaluation":
            raise ClipCompareError(f"Run {self.id or self.uid} is a {self.kind}, not an evaluation.")
        tables = {name: self.tables[name] for name in EVALUATION_TABLES if name != "results"}
        return EvaluationResult(self.settings, self.results, errors=list(self.errors),
                                warnings=list(self.warnings), **tables)


def evaluation_run(result: EvaluationResult, name: str = "", device: str | None = None) -> Run:
    """Wrap an EvaluationResult as a Run, recording the provenance of its models."""
    tables = {"results": result.results, "images": result.images, "predictions": result.predictions,
              "metrics": result.metrics, "per_class": result.per_class, "agreement": result.agreement}
    return Run("evaluation", result.settings, tables, provenance(result.settings["models"], result.results, device),
               name=name, errors=list(result.errors), warnings=list(result.warnings))


def comparison_settings(images: Iterable[ImageSource] | Mapping[str, ImageSource], labels, models,
                        templates: Sequence[str] | str = "none") -> dict[str, Any]:
    """Return the JSON settings of a comparison, as classify would be called with these arguments.

    Each image is recorded with its path when it came from a file. An uploaded image
    (bytes or a PIL image) has ``path`` None, so ``rerun`` needs it passed again.
    """
    items = images.items() if isinstance(images, Mapping) else ((None, source) for source in _as_list(images))
    recorded = []
    for name, source in items:
        path = _source_path(source)
        recorded.append({"name": name or (str(path) if path else _display_name(source)),
                         "path": str(Path(path).resolve()) if path else None})
    model_ids = [models] if isinstance(models, str) else list(dict.fromkeys(models))
    phrasings = [{"name": phrasing.name, "labels": list(phrasing.labels), "templates": list(phrasing.templates)}
                 for phrasing in as_phrasing_sets(labels, templates)]
    return {"kind": "comparison", "images": recorded, "models": model_ids, "phrasings": phrasings}


def _as_list(images) -> list:
    single = isinstance(images, (str, bytes, LoadedImage)) or hasattr(images, "__fspath__") or hasattr(images, "mode")
    return [images] if single else list(images)


def _source_path(source: ImageSource) -> str | None:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return None


def _display_name(source: ImageSource) -> str:
    if isinstance(source, LoadedImage):
        return source.name
    return getattr(source, "filename", "") or "uploaded image"


def comparison_run(table: pd.DataFrame, settings: dict[str, Any], name: str = "",
                   device: str | None = None) -> Run:
    """Wrap a classify table and its ``comparison_settings`` as a Run."""
    return Run("comparison", settings, {"results": table}, provenance(settings["models"], table, device),
               name=name, errors=list(table.attrs.get("errors", [])),
               warnings=list(table.attrs.get("warnings", [])))


def run_comparison(images, labels, models: str | Sequence[str] = DEFAULT_MODEL_ID, *,
                   templates: Sequence[str] | str = "none", name: str = "", cache: FeatureCache | None = None,
                   device: str | None = None, progress=None) -> Run:
    """Classify images (unusable ones are reported, not raised) and return the comparison Run."""
    settings = comparison_settings(images, labels, models, templates)
    table = classify(images, labels, models, templates=templates, errors="collect", cache=cache,
                     device=device, progress=progress)
    return comparison_run(table, settings, name, device)


def rerun(run: Run, *, images: Mapping[str, ImageSource] | None = None, cache: FeatureCache | None = None,
          device: str | None = None, progress=None) -> Run:
    """Run a saved experiment again from its settings and return the new Run.

    For a comparison with uploaded images, pass them in ``images`` by name. A warning
    is logged when a model's weights file no longer has the recorded SHA-256.
    """
    name = f"rerun of {run.name or run.uid}"
    if run.kind == "evaluation":
        result = evaluate_settings(run.settings, errors="collect", cache=cache, device=device, progress=progress)
        fresh = evaluation_run(result, name, device)
    else:
        sources = _rerun_sources(run, images or {})
        phrasings = [make_phrasing_set(entry["name"], entry["labels"], entry["templates"])
                     for entry in run.settings["phrasings"]]
        table = classify(sources, phrasings, run.settings["models"], errors="collect", cache=cache,
                         device=device, progress=progress)
        fresh = comparison_run(table, run.settings, name, device)
    _warn_changed_weights(run, fresh)
    return fresh


def _rerun_sources(run: Run, images: Mapping[str, ImageSource]) -> dict[str, ImageSource]:
    sources, missing = {}, []
    for entry in run.settings["images"]:
        source = images.get(entry["name"], entry["path"])
        if source is None:
            missing.append(entry["name"])
        sources[entry["name"]] = source
    if missing:
        raise ClipCompareError(
            f"Run {run.id or run.uid} used uploaded images with no file path: {', '.join(missing)}. "
            "Pass them to rerun(run, images={name: image})."
        )
    return sources


def _warn_changed_weights(old: Run, new: Run) -> None:
    before = {entry["model_id"]: entry.get("checkpoint_sha256") for entry in old.provenance.get("models", [])}
    for entry in new.provenance.get("models", []):
        recorded = before.get(entry["model_id"])
        if recorded and entry.get("checkpoint_sha256") and recorded != entry["checkpoint_sha256"]:
            logger.warning("%s: the weights file changed since the run was saved (SHA-256 %s, now %s)",
                           entry["model_id"], recorded[:12], entry["checkpoint_sha256"][:12])


def provenance(model_ids: Sequence[str], results: pd.DataFrame, device: str | None = None) -> dict[str, Any]:
    """Describe where a run's numbers came from: weights, their SHA-256, packages and platform.

    Only models that produced rows are loaded again (a cheap lookup, as they are
    loaded in this process); the others are recorded with ``loaded`` False.
    """
    produced = set(results["model"]) if "model" in results else set()
    models = []
    for model_id in model_ids:
        if model_id not in produced:
            models.append({"model_id": model_id, "loaded": False})
            continue
        loaded = load_model(model_id, device=device)
        models.append({
            "model_id": model_id, "loaded": True, "family": loaded.family,
            "checkpoint": str(loaded.checkpoint) if loaded.checkpoint else None,
            "checkpoint_sha256": checkpoint_sha256(loaded.checkpoint) if loaded.checkpoint else None,
            "logit_scale": loaded.logit_scale, "logit_bias": loaded.logit_bias,
            "context_length": loaded.context_length, "device": str(loaded.device),
            "precision": getattr(loaded, "precision", "fp32"),
        })
    return {"models": models, "packages": package_versions(), "platform": platform.platform(),
            "recorded_at": utc_now()}


def package_versions() -> dict[str, str]:
    """Return the versions of the packages that decide a run's numbers."""
    return {"clip_compare_core": __version__, "torch": torch.__version__, "open_clip_torch": open_clip.__version__,
            "numpy": np.__version__, "pandas": pd.__version__, "pillow": PIL.__version__,
            "python": platform.python_version()}


_hash_lock = threading.Lock()
_hash_memory: dict[str, str] = {}


def checkpoint_sha256(path: str | os.PathLike, cache_file: Path | None = None) -> str:
    """Return the SHA-256 of a weights file, hashing it only once per (path, size, mtime).

    Hashes are remembered in memory and in ``checkpoint-sha256.json`` in the feature
    cache folder, so a 600 MB checkpoint is read once, not at every save.
    """
    path = Path(path).resolve()
    stat = path.stat()
    key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    cache_file = cache_file or default_cache_dir() / HASH_CACHE_NAME
    with _hash_lock:
        if key in _hash_memory:
            return _hash_memory[key]
        stored = _read_hash_cache(cache_file)
        if key not in stored:
            stored = {k: v for k, v in stored.items() if not k.startswith(f"{path}|")}
            stored[key] = _hash_file(path)
            _write_hash_cache(cache_file, stored)
        _hash_memory[key] = stored[key]
        return stored[key]


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    logger.info("Hashed the weights file %s", path)
    return digest.hexdigest()


def _read_hash_cache(cache_file: Path) -> dict[str, str]:
    try:
        stored = json.loads(cache_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        logger.warning("Ignoring the unreadable hash cache %s (%s)", cache_file, error)
        return {}
    return stored if isinstance(stored, dict) else {}


def _write_hash_cache(cache_file: Path, stored: dict[str, str]) -> None:
    # NOTE: two processes writing at once keep only one's new entry; the other is hashed again later.
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=cache_file.parent, suffix=".tmp", delete=False,
                                         encoding="utf-8") as handle:
            json.dump(stored, handle, indent=1)
        os.replace(handle.name, cache_file)
    except OSError as error:  # A read-only cache folder costs a rehash next time, not a result.
        logger.warning("Cannot write the hash cache %s (%s)", cache_file, error)
