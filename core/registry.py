"""Model ids, the curated model table and where each model's weights live.

A model id is one of:

- ``ARCH/TAG``: an open_clip architecture and pretrained tag, any pair in
  ``open_clip.list_pretrained()`` (for example ``ViT-B-32/openai``);
- ``hf-hub:ORG/REPO``: a Hugging Face repository in open_clip's layout;
- ``local-dir:PATH``: a folder with ``open_clip_config.json`` and a checkpoint;
- ``demo``: the tiny offline model trained in this repository on coloured shapes.

Any of them may end in ``@int8``, the fast CPU mode: the same weights with their
linear layers quantised to int8 after loading (see ``core.fast``).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import open_clip
from huggingface_hub import try_to_load_from_cache

from core.errors import ModelIdError

DEMO_MODEL_ID = "demo"
DEMO_MODEL_DIR = Path(__file__).resolve().parent / "demo_model"
DEFAULT_MODEL_ID = "ViT-B-32/openai"

Family = Literal["softmax", "sigmoid"]
Source = Literal["pretrained", "hf-hub", "local-dir"]
Precision = Literal["fp32", "int8"]

# Precisions chosen with a model id suffix; float32 is the default and has none.
FAST_PRECISIONS: tuple[Precision, ...] = ("int8",)
PRECISION_SEPARATOR = "@"

# Checkpoint names that open_clip looks for in a hub repository, safest first.
HUB_CHECKPOINT_NAMES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model id: where the configuration and the weights come from."""

    model_id: str
    source: Source
    architecture: str | None = None
    pretrained_tag: str | None = None
    hf_repo: str | None = None
    local_dir: Path | None = None
    precision: Precision = "fp32"

    @property
    def base_model_id(self) -> str:
        """The model id without its precision suffix: the id of the float32 weights."""
        return _split_known_precision(self.model_id)[0]

    @property
    def is_demo(self) -> bool:
        return self.base_model_id == DEMO_MODEL_ID


@dataclass(frozen=True)
class ModelInfo:
    """Facts about a curated model, shown to users before they pick it.

    ``download_mb`` is an estimate (parameters × 4 bytes for float32 weights);
    ``imagenet_top1`` is the zero-shot ImageNet-1k top-1 accuracy in percent from
    open_clip's ``docs/openclip_results.csv``, or None where that table has no row.
    """

    model_id: str
    display_name: str
    family: Family
    languages: Literal["English", "multilingual"]
    params_m: float
    imagenet_top1: float | None
    description: str

    @property
    def download_mb(self) -> int:
        return round(self.params_m * 4)


CURATED_MODELS: tuple[ModelInfo, ...] = (
    ModelInfo(
        "ViT-B-32/openai", "CLIP ViT-B/32 (OpenAI)", "softmax", "English", 151.3, 63.3,
        "The original CLIP release; the classic baseline.",
    ),
    ModelInfo(
        "ViT-B-32/laion2b_s34b_b79k", "CLIP ViT-B/32 (LAION-2B)", "softmax", "English", 151.3, 66.6,
        "Same architecture trained on LAION-2B: isolates the effect of training data.",
    ),
    ModelInfo(
        "xlm-roberta-base-ViT-B-32/laion5b_s13b_b90k", "XLM-RoBERTa ViT-B/32 (LAION-5B)", "softmax",
        "multilingual", 366.1, 62.4,
        "Multilingual text tower: labels in Spanish and about 100 other languages.",
    ),
    ModelInfo(
        "ViT-B-16-SigLIP-i18n-256/webli", "SigLIP ViT-B/16 i18n (WebLI)", "sigmoid", "multilingual",
        370.6, None,
        "Multilingual SigLIP: each label scored on its own; 64-token text context.",
    ),
    ModelInfo(
        "MobileCLIP2-S0/dfndr2b", "MobileCLIP2-S0", "softmax", "English", 53.8, None,
        "Small and fast: a good choice on a laptop CPU.",
    ),
    ModelInfo(
        DEMO_MODEL_ID, "Demo: coloured shapes (offline)", "softmax", "multilingual", 1.95, None,
        "A tiny model trained in this repository on red, green and blue circles, squares and "
        "triangles, with English and Spanish captions. Not a real CLIP: for trying the tool offline.",
    ),
)

_CURATED_BY_ID = {info.model_id: info for info in CURATED_MODELS}


def curated_info(model_id: str) -> ModelInfo | None:
    """Return the curated facts for ``model_id`` (its weights' facts for an ``@int8`` id), or None."""
    return _CURATED_BY_ID.get(_split_known_precision(model_id)[0])


def split_precision(model_id: str) -> tuple[str, Precision]:
    """Split a model id such as ``ViT-B-32/openai@int8`` into the float32 id and the precision.

    An id without a suffix is float32. An unknown suffix raises ModelIdError, except
    in a ``local-dir:`` id, where it stays part of the folder name. A folder whose name
    ends in ``@int8`` needs a trailing slash (``local-dir:/models/clip@int8/``).
    """
    base, precision = _split_known_precision(model_id)
    if precision != "fp32" or model_id.startswith("local-dir:"):
        return base, precision

    _, separator, suffix = model_id.rpartition(PRECISION_SEPARATOR)
    if separator and "/" not in suffix:
        raise ModelIdError(
            f"Unknown precision {suffix!r} in model id {model_id!r}. Add @int8 for the fast CPU "
            "mode, or no suffix for float32."
        )
    return model_id, "fp32"


def _split_known_precision(model_id: str) -> tuple[str, Precision]:
    base, separator, suffix = model_id.rpartition(PRECISION_SEPARATOR)
    if separator and suffix in FAST_PRECISIONS:
        return base, suffix
    return model_id, "fp32"


def parse_model_id(model_id: str) -> ModelSpec:
    """Parse a model id into a ModelSpec, or raise ModelIdError naming the valid forms."""
    model_id = model_id.strip() if isinstance(model_id, str) else model_id
    if not isinstance(model_id, str) or not model_id:
        raise ModelIdError("Empty model id. Use ARCH/TAG, hf-hub:ORG/REPO, local-dir:PATH or demo.")

    base, precision = split_precision(model_id)
    spec = _parse_float32_model_id(base)
    if precision == "fp32":
        return spec
    return dataclasses.replace(spec, model_id=model_id, precision=precision)


def _parse_float32_model_id(model_id: str) -> ModelSpec:
    if model_id == DEMO_MODEL_ID:
        return ModelSpec(model_id, "local-dir", local_dir=DEMO_MODEL_DIR)

    if model_id.startswith("local-dir:"):
        path = model_id[len("local-dir:"):].strip()
        if not path:
            raise ModelIdError("local-dir: needs a folder path, as in local-dir:/models/my-clip.")
        return ModelSpec(model_id, "local-dir", local_dir=Path(path).expanduser())

    if model_id.startswith("hf-hub:"):
        repo = model_id[len("hf-hub:"):].strip().strip("/")
        if repo.count("/") != 1 or not all(repo.split("/")):
            raise ModelIdError(f"Invalid model id {model_id!r}: hf-hub: needs ORG/REPO, as in hf-hub:timm/ViT-B-16-SigLIP.")
        return ModelSpec(model_id, "hf-hub", hf_repo=repo)

    architecture, _, tag = model_id.partition("/")
    if (architecture, tag) not in set(open_clip.list_pretrained()):
        raise ModelIdError(_unknown_pretrained_message(model_id))
    return ModelSpec(model_id, "pretrained", architecture=architecture, pretrained_tag=tag)


def _unknown_pretrained_message(model_id: str) -> str:
    known = [f"{arch}/{tag}" for arch, tag in open_clip.list_pretrained()]
    close = difflib.get_close_matches(model_id, known, n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return (
        f"Unknown model id {model_id!r}.{hint} Use ARCH/TAG from open_clip.list_pretrained(), "
        "hf-hub:ORG/REPO, local-dir:PATH or demo."
    )


def pretrained_config(spec: ModelSpec) -> dict:
    """Return open_clip's pretrained configuration (hub repo, preprocess, quick_gelu) for ARCH/TAG."""
    return open_clip.get_pretrained_cfg(spec.architecture, spec.pretrained_tag)


def hub_location(spec: ModelSpec) -> tuple[str, tuple[str, ...]] | None:
    """Return the hub repository and candidate checkpoint names, or None for local models.

    open_clip names the checkpoint after the repository ("org/repo/") or gives the file
    ("org/repo/file.bin"); a safetensors twin of a .bin or .pth file is preferred.
    """
    if spec.source == "hf-hub":
        return spec.hf_repo, HUB_CHECKPOINT_NAMES
    if spec.source != "pretrained":
        return None

    hub = pretrained_config(spec).get("hf_hub", "")
    if not hub:
        return None
    repo, filename = os.path.split(hub)
    if not filename:
        return repo, HUB_CHECKPOINT_NAMES
    if filename.endswith((".bin", ".pth")):
        return repo, (filename[:-4] + ".safetensors", filename)
    return repo, (filename,)


def cached_checkpoint(spec: ModelSpec) -> Path | None:
    """Return the local checkpoint file for ``spec`` if it is already on this machine."""
    if spec.source == "local-dir":
        return _local_checkpoint(spec.local_dir)

    location = hub_location(spec)
    if location is None:
        return None
    repo, filenames = location
    for filename in filenames:
        found = try_to_load_from_cache(repo_id=repo, filename=filename)
        if isinstance(found, str):
            return Path(found)
    return None


def _local_checkpoint(folder: Path | None) -> Path | None:
    if folder is None or not folder.is_dir():
        return None
    # open_clip's own choice, so that the file reported is the file it will load.
    found = open_clip.factory._find_checkpoint_in_dir(folder)
    return Path(found) if found else None


def is_cached(model_id: str) -> bool:
    """Tell whether the weights of ``model_id`` are on this machine (no network used)."""
    return cached_checkpoint(parse_model_id(model_id)) is not None


def guess_family(model_id: str) -> Family:
    """Return the family of a model before it is loaded: curated facts, else its name.

    The loaded model is authoritative (a logit bias means sigmoid); this guess only
    serves listings of models that are not loaded yet.
    """
    info = curated_info(model_id)
    if info is not None:
        return info.family
    return "sigmoid" if "siglip" in model_id.lower() else "softmax"
