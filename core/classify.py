"""``classify``: images × models × phrasing sets → one tidy table of probabilities."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Iterable, Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from core.errors import ClipCompareError, ImageError, PhrasingError
from core.features import FeatureCache, default_cache, encode_images, encode_labels
from core.images import ImageSource, LoadedImage, load_image
from core.loading import LoadedModel, load_model
from core.prompts import PhrasingSet, make_phrasing_set
from core.registry import DEFAULT_MODEL_ID
from core.scoring import ranks, score

logger = logging.getLogger(__name__)

# progress(model_id, stage, done, total); stage is "download" (bytes), "images" or "prompts".
ClassifyProgress = Callable[[str, str, int, int], None]

RESULT_COLUMNS = [
    "image", "image_sha256", "model", "phrasing", "label_index", "label", "prompt", "tokens",
    "truncated", "cosine", "logit", "probability", "probability_kind", "rank",
]


@dataclass
class PromptInfo:
    """One prompt as a model receives it: its token count and whether it was truncated."""

    model: str
    phrasing: str
    label: str
    prompt: str
    tokens: int
    context_length: int

    @property
    def truncated(self) -> bool:
        return self.tokens > self.context_length


@dataclass
class Problems:
    """Errors and warnings gathered during a run that collects rather than raises."""

    errors: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add_error(self, kind: str, name: str, error: Exception) -> None:
        self.errors.append({"kind": kind, "name": name, "message": str(error)})


def classify(
    images: ImageSource | Iterable[ImageSource] | Mapping[str, ImageSource],
    labels: Sequence[str] | PhrasingSet | Sequence[PhrasingSet],
    models: str | Sequence[str] = DEFAULT_MODEL_ID,
    *,
    templates: Sequence[str] | str = "none",
    errors: Literal["raise", "collect"] = "raise",
    cache: FeatureCache | None = None,
    device: str | None = None,
    progress: ClassifyProgress | None = None,
) -> pd.DataFrame:
    """Classify images against labels with each model and return a tidy table.

    ``labels`` is a list of label strings (one phrasing set named "default", built
    with ``templates``: a built-in name such as "photo" or a list of templates), or
    one or several PhrasingSet objects. One row per image × model × phrasing × label,
    with the columns in RESULT_COLUMNS; ``probability_kind`` tells whether the
    probability is a softmax over the labels or an independent sigmoid score.

    With ``errors="raise"`` the first unusable image, model or phrasing set raises
    a ClipCompareError. With ``errors="collect"`` the rest goes on, and
    ``df.attrs["errors"]`` lists each problem as {kind, name, message}.
    ``df.attrs["warnings"]`` lists truncated prompts; ``df.attrs["prompts"]`` holds
    every prompt with its token count per model.
    """
    phrasings = as_phrasing_sets(labels, templates)
    model_ids = [models] if isinstance(models, str) else list(dict.fromkeys(models))
    cache = cache if cache is not None else default_cache()
    problems = Problems()
    prompts: list[PromptInfo] = []

    loaded_images = _load_images(images, errors, problems)
    blocks = []
    for model_id in model_ids:
        blocks += _classify_one_model(model_id, loaded_images, phrasings, cache, device, progress,
                                      errors, problems, prompts)

    table = pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame(columns=RESULT_COLUMNS)
    table.attrs["errors"] = problems.errors
    table.attrs["warnings"] = problems.warnings
    table.attrs["prompts"] = [vars(info) | {"truncated": info.truncated} for info in prompts]
    return table


def as_phrasing_sets(labels, templates: Sequence[str] | str = "none") -> list[PhrasingSet]:
    """Normalise the ``labels`` argument of classify into a list of phrasing sets."""
    if isinstance(labels, PhrasingSet):
        return [labels]
    labels = list(labels)
    if labels and all(isinstance(item, PhrasingSet) for item in labels):
        names = [phrasing.name for phrasing in labels]
        if len(set(names)) != len(names):
            raise PhrasingError(f"Phrasing set names must differ; got {names}.")
        return labels
    return [make_phrasing_set("default", labels, templates)]


def _load_images(images, errors: str, problems: Problems) -> list[LoadedImage]:
    if isinstance(images, Mapping):
        items = list(images.items())
    elif (isinstance(images, (str, bytes, LoadedImage)) or hasattr(images, "__fspath__")
          or hasattr(images, "mode") or hasattr(images, "read")):
        items = [(None, images)]
    else:
        items = [(None, source) for source in images]

    loaded = []
    for name, source in items:
        try:
            loaded.append(load_image(source, name=name))
        except ImageError as error:
            if errors == "raise":
                raise
            logger.info("Skipping image: %s", error)
            problems.add_error("image", error.name, error)
    return loaded


def _classify_one_model(model_id, images, phrasings, cache, device, progress, errors, problems, prompts):
    report = (lambda stage, done, total: progress(model_id, stage, done, total)) if progress else None
    try:
        loaded = load_model(model_id, device=device, progress=report)
    except ClipCompareError as error:
        if errors == "raise":
            raise
        problems.add_error("model", model_id, error)
        return []

    image_features = encode_images(loaded, images, cache, progress=report) if images else None
    blocks = []
    for phrasing in phrasings:
        try:
            check_label_count(loaded, phrasing)
        except PhrasingError as error:
            if errors == "raise":
                raise
            problems.add_error("phrasing", f"{model_id} / {phrasing.name}", error)
            continue
        infos = describe_prompts(loaded, phrasing, problems)
        prompts += infos
        if image_features is not None:
            label_features = encode_labels(loaded, [phrasing.prompts(label) for label in phrasing.labels],
                                           cache, progress=report)
            blocks.append(_rows(loaded, images, phrasing, image_features, label_features, infos))
    return blocks


def check_label_count(loaded: LoadedModel, phrasing: PhrasingSet) -> None:
    """Reject a single label for softmax models, whose probability would always be 100%."""
    if loaded.family == "softmax" and len(phrasing.labels) < 2:
        raise PhrasingError(
            f"Phrasing set {phrasing.name!r} has one label, but {loaded.model_id} is a softmax model: "
            "its probabilities are shared among the labels, so one label always gets 100%. "
            "Add at least one more label."
        )


def describe_prompts(loaded: LoadedModel, phrasing: PhrasingSet, problems: Problems | None = None) -> list[PromptInfo]:
    """Count the tokens of every prompt of a phrasing set; warn once per label that the model truncates."""
    infos = []
    for label in phrasing.labels:
        label_infos = [PromptInfo(loaded.model_id, phrasing.name, label, prompt,
                                  loaded.count_tokens(prompt), loaded.context_length)
                       for prompt in phrasing.prompts(label)]
        truncated = [info for info in label_infos if info.truncated]
        if truncated:
            _warn_truncated(loaded, label, truncated, len(label_infos), problems)
        infos += label_infos
    return infos


def _warn_truncated(loaded: LoadedModel, label: str, truncated: list[PromptInfo], prompt_count: int,
                    problems: Problems | None) -> None:
    longest = max(info.tokens for info in truncated)
    if prompt_count == 1:
        message = (f"{loaded.model_id}: the prompt for label {label!r} has {longest} tokens, "
                   f"over the context length of {loaded.context_length}; it is truncated.")
    else:
        message = (f"{loaded.model_id}: {len(truncated)} of the {prompt_count} prompts for label {label!r} "
                   f"have up to {longest} tokens, over the context length of {loaded.context_length}; "
                   "they are truncated.")
    logger.warning(message)
    if problems is not None:
        problems.warnings.append(message)


def _rows(loaded: LoadedModel, images: list[LoadedImage], phrasing: PhrasingSet,
          image_features: np.ndarray, label_features: np.ndarray, infos: list[PromptInfo]) -> pd.DataFrame:
    scores = score(image_features, label_features, loaded.logit_scale, loaded.logit_bias, loaded.family)
    label_count = len(phrasing.labels)
    tokens = {label: 0 for label in phrasing.labels}
    truncated = {label: False for label in phrasing.labels}
    for info in infos:
        tokens[info.label] = max(tokens[info.label], info.tokens)
        truncated[info.label] = truncated[info.label] or info.truncated

    return pd.DataFrame({
        "image": np.repeat([image.name for image in images], label_count),
        "image_sha256": np.repeat([image.sha256 for image in images], label_count),
        "model": loaded.model_id,
        "phrasing": phrasing.name,
        "label_index": np.tile(np.arange(label_count), len(images)),
        "label": np.tile(phrasing.labels, len(images)),
        "prompt": np.tile([" | ".join(phrasing.prompts(label)) for label in phrasing.labels], len(images)),
        "tokens": np.tile([tokens[label] for label in phrasing.labels], len(images)),
        "truncated": np.tile([truncated[label] for label in phrasing.labels], len(images)),
        "cosine": scores.cosine.ravel(),
        "logit": scores.logits.ravel(),
        "probability": scores.probabilities.ravel(),
        "probability_kind": scores.kind,
        "rank": ranks(scores.probabilities).ravel(),
    }, columns=RESULT_COLUMNS)
