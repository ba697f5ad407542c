"""Turn a model id into a loaded model, downloading or explaining what is missing.

Everything is built by open_clip's own factory, so each model keeps its own
preprocess (resize mode, mean and std) and its own tokenizer and context length.
Weights come from the Hugging Face cache (``HF_HOME`` and ``HF_HUB_OFFLINE`` are
respected) or from a ``local-dir:`` folder.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import threading
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable

import open_clip
import torch
from huggingface_hub import hf_hub_download, is_offline_mode
from huggingface_hub.errors import EntryNotFoundError
from huggingface_hub.utils import tqdm as hub_tqdm
from open_clip.transform import PreprocessCfg, image_transform_v2

from core.errors import ModelLoadError, ModelNotAvailableError, UnsafeCheckpointError
from core.fast import quantize_int8
from core.registry import (
    ModelSpec,
    Family,
    Precision,
    cached_checkpoint,
    curated_info,
    hub_location,
    parse_model_id,
    pretrained_config,
)

logger = logging.getLogger(__name__)

# progress(stage, done, total): stage is "download" (bytes), "images" or "prompts" (items).
ProgressCallback = Callable[[str, int, int], None]

_PREPROCESS_KEYS = {f.name for f in fields(PreprocessCfg)}
# Bounds the per-model memory of prompt token counts (a few MB at this size).
MAX_REMEMBERED_TOKEN_COUNTS = 100_000


@dataclass
class LoadedModel:
    """A model ready to encode, with everything that differs between models.

    One instance per model id and device per process is shared between threads,
    because inference does not change the module. The tokenizer may be a Hugging Face
    tokenizer, which is not safe to call from two threads at once, so it is behind a lock.
    """

    model_id: str
    model: torch.nn.Module = field(repr=False)
    preprocess: Callable = field(repr=False)
    tokenizer: Callable = field(repr=False)
    context_length: int
    family: Family
    logit_scale: float
    logit_bias: float | None
    device: torch.device
    checkpoint: Path | None
    fingerprint: str
    precision: Precision = "fp32"
    _tokenizer_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _token_counts: dict[str, int] = field(default_factory=dict, repr=False)

    def tokenize(self, prompts: list[str]) -> torch.Tensor:
        """Tokenize prompts to the model's context length (padded, truncated if longer)."""
        with self._tokenizer_lock:
            return self.tokenizer(prompts, context_length=self.context_length)

    def count_tokens(self, prompt: str) -> int:
        """Count the tokens of one prompt, special tokens included, before any truncation.

        Counts are remembered per prompt, because every request counts all its prompts
        again (1,600 for 20 labels × 80 templates) even when their features are cached.
        """
        with self._tokenizer_lock:
            count = self._token_counts.get(prompt)
            if count is None:
                if len(self._token_counts) >= MAX_REMEMBERED_TOKEN_COUNTS:
                    self._token_counts.clear()
                count = self._token_counts[prompt] = _count_tokens(self.tokenizer, prompt)
            return count


def _count_tokens(tokenizer: Callable, prompt: str) -> int:
    if isinstance(tokenizer, open_clip.SimpleTokenizer):
        return len(tokenizer.encode(prompt)) + 2  # start and end of text
    inner = getattr(tokenizer, "tokenizer", None)
    if inner is not None:  # HFTokenizer and SigLipTokenizer wrap a transformers tokenizer.
        clean = getattr(tokenizer, "clean_fn", None)
        text = clean(prompt) if clean else prompt
        return len(inner(text, add_special_tokens=True)["input_ids"])
    raise ModelLoadError(f"Cannot count tokens with tokenizer type {type(tokenizer).__name__}.")


_loaded: dict[tuple[str, str], LoadedModel] = {}
_locks: dict[tuple[str, str], threading.Lock] = {}
_registry_lock = threading.Lock()


def default_device() -> torch.device:
    """CUDA when it is available, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_model(model_id: str, device: str | torch.device | None = None,
               progress: ProgressCallback | None = None) -> LoadedModel:
    """Return the loaded model for ``model_id``, loading it once per process.

    Concurrent callers asking for the same model wait for one load. Raises
    ModelIdError, ModelNotAvailableError, ModelLoadError or UnsafeCheckpointError.
    """
    device = torch.device(device) if device is not None else default_device()
    key = (model_id, str(device))
    with _registry_lock:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        if key not in _loaded:
            _loaded[key] = _build(parse_model_id(model_id), device, progress)
        return _loaded[key]


def loaded_model_ids() -> list[str]:
    """Return the ids of the models loaded in this process."""
    return [model_id for model_id, _ in _loaded]


def unload_all() -> None:
    """Forget every loaded model, so that the next load builds it again."""
    with _registry_lock:
        _loaded.clear()


def _build(spec: ModelSpec, device: torch.device, progress: ProgressCallback | None) -> LoadedModel:
    _check_precision(spec, device)
    checkpoint = ensure_weights(spec, progress)
    model, preprocess = _create(spec, checkpoint, device)
    tokenizer = _tokenizer(spec)
    model.eval()
    if spec.precision == "int8":
        model = quantize_int8(model)

    logit_bias = getattr(model, "logit_bias", None)
    family: Family = "sigmoid" if logit_bias is not None else "softmax"
    info = curated_info(spec.model_id)
    if info is not None and info.family != family:
        logger.warning("%s: the registry lists family %s, but the loaded weights are %s", spec.model_id, info.family, family)

    logger.info("Loaded %s from %s on %s", spec.model_id, checkpoint or "open_clip", device)
    return LoadedModel(
        model_id=spec.model_id,
        model=model,
        preprocess=preprocess,
        tokenizer=tokenizer,
        context_length=int(getattr(tokenizer, "context_length", None) or model.context_length),
        family=family,
        logit_scale=float(model.logit_scale.exp().item()),
        logit_bias=float(logit_bias.item()) if logit_bias is not None else None,
        device=device,
        checkpoint=checkpoint,
        fingerprint=_fingerprint(spec, checkpoint),
        precision=spec.precision,
    )


def _check_precision(spec: ModelSpec, device: torch.device) -> None:
    if spec.precision == "int8" and device.type != "cpu":
        raise ModelLoadError(
            f"{spec.model_id}: @int8 is a CPU mode (dynamic int8 quantisation has no {device.type} "
            f"kernels). Use {spec.base_model_id} on {device.type}, or pass device='cpu'."
        )


def _fingerprint(spec: ModelSpec, checkpoint: Path | None) -> str:
    """Identify the weights cheaply: hub files are content-addressed, local ones by size and time.

    The model id keeps its precision suffix, so an ``@int8`` model never shares
    cached features with its float32 twin.
    """
    parts = [spec.model_id]
    if checkpoint is not None:
        stat = checkpoint.stat()
        parts += [str(checkpoint.resolve()), str(stat.st_size), str(stat.st_mtime_ns)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _create(spec: ModelSpec, checkpoint: Path | None, device: torch.device):
    try:
        if spec.source == "pretrained":
            # create_model, not create_model_and_transforms: only create_model takes the tag's
            # preprocess settings, which a checkpoint given as a file path would otherwise lose.
            config = pretrained_config(spec)
            model = open_clip.create_model(
                spec.architecture,
                pretrained=str(checkpoint) if checkpoint else spec.pretrained_tag,
                force_quick_gelu=bool(config.get("quick_gelu", False)),
                force_preprocess_cfg={k: v for k, v in config.items() if k in _PREPROCESS_KEYS},
                device=device,
                weights_only=True,
            )
            preprocess = image_transform_v2(PreprocessCfg(**model.visual.preprocess_cfg), is_train=False)
        else:
            model, _, preprocess = open_clip.create_model_and_transforms(
                _open_clip_name(spec), device=device, weights_only=True
            )
        return model, preprocess
    except pickle.UnpicklingError as error:
        raise UnsafeCheckpointError(
            f"{spec.model_id}: the checkpoint {checkpoint} needs full unpickling, which can run "
            "arbitrary code, so it is not loaded. Convert it to safetensors, or save a plain "
            f"state dict of tensors. ({str(error).splitlines()[0]})"
        ) from None
    except Exception as error:  # open_clip reports bad configs and shapes with many exception types.
        raise ModelLoadError(f"{spec.model_id}: the model cannot be built: {error}") from error


def _tokenizer(spec: ModelSpec):
    name = spec.architecture if spec.source == "pretrained" else _open_clip_name(spec)
    try:
        return open_clip.get_tokenizer(name)
    except Exception as error:  # a missing tokenizer file offline, a bad config...
        raise ModelNotAvailableError(
            f"{spec.model_id}: its tokenizer cannot be loaded ({error}). "
            f"On a connected machine, run: python -m core download {spec.base_model_id}"
        ) from error


def _open_clip_name(spec: ModelSpec) -> str:
    if spec.source == "hf-hub":
        return f"hf-hub:{spec.hf_repo}"
    return f"local-dir:{spec.local_dir}"


def ensure_weights(spec: ModelSpec, progress: ProgressCallback | None = None) -> Path | None:
    """Return the local checkpoint for ``spec``, downloading it if allowed.

    Returns None only for pretrained tags that open_clip downloads from a plain URL.
    Raises ModelNotAvailableError offline when the weights are not cached.
    """
    if spec.source == "local-dir":
        return _check_local_dir(spec)

    found = cached_checkpoint(spec)
    if found is not None:
        return found

    location = hub_location(spec)
    if location is None:
        return None
    if is_offline_mode():
        raise ModelNotAvailableError(missing_weights_message(spec.base_model_id, offline=True))

    repo, filenames = location
    if spec.source == "hf-hub":
        _download(spec, "open_clip_config.json", progress=None)
    for filename in filenames:
        path = _download(spec, filename, progress, missing_ok=filename != filenames[-1])
        if path is not None:
            return path
    return None


def _check_local_dir(spec: ModelSpec) -> Path:
    folder = spec.local_dir
    if not folder.is_dir():
        raise ModelNotAvailableError(f"{spec.model_id}: folder not found: {folder}")
    if not (folder / "open_clip_config.json").is_file():
        raise ModelLoadError(
            f"{spec.model_id}: {folder} has no open_clip_config.json. A local-dir: folder needs "
            "open_clip's hub layout: open_clip_config.json plus open_clip_model.safetensors."
        )
    checkpoint = cached_checkpoint(spec)
    if checkpoint is None:
        raise ModelLoadError(f"{spec.model_id}: {folder} has no checkpoint (.safetensors, .bin or .pth).")
    return checkpoint


def _download(spec: ModelSpec, filename: str, progress: ProgressCallback | None,
              missing_ok: bool = False) -> Path | None:
    repo = hub_location(spec)[0]
    try:
        path = hf_hub_download(repo_id=repo, filename=filename, tqdm_class=_progress_bar(progress))
    except Exception as error:  # huggingface_hub raises HTTP, network and cache errors alike.
        if missing_ok and isinstance(error, EntryNotFoundError):
            return None
        raise ModelNotAvailableError(
            f"{missing_weights_message(spec.base_model_id, offline=False)} Download failed: {error}"
        ) from error
    logger.info("%s: %s is in the cache at %s", spec.model_id, filename, path)
    return Path(path)


def _progress_bar(progress: ProgressCallback | None):
    """Return a tqdm class that also reports bytes done and total to ``progress``."""
    if progress is None:
        return None

    class ReportingBar(hub_tqdm):
        def update(self, n=1):
            result = super().update(n)
            progress("download", int(self.n), int(self.total or 0))
            return result

    return ReportingBar


def missing_weights_message(model_id: str, offline: bool) -> str:
    """Explain which weights are missing, how big they are and the ways to get them."""
    info = curated_info(model_id)
    size = f" (about {info.download_mb:,} MB)" if info else ""
    reason = "HF_HUB_OFFLINE is set" if offline else "the download failed"
    return (
        f"The weights of {model_id}{size} are not in the local cache, and {reason}. "
        f"Get them in one of three ways: run `python -m core download {model_id}` on a connected "
        "machine and copy its Hugging Face cache folder (HF_HOME) here; or save the model as a "
        "folder with open_clip_config.json and open_clip_model.safetensors and use "
        "local-dir:PATH; or run the same download command here once a network is available."
    )
