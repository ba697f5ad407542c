"""Batched encoding of images and prompts, with a feature cache in memory and on disk.

Image features are keyed by (model, image hash) and text features by (model, prompt),
so a rerun or a label edit encodes only what is new. The model part of each key is
the loaded model's fingerprint, which changes when its weights file changes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import open_clip
import torch

from core.images import LoadedImage
from core.loading import LoadedModel

logger = logging.getLogger(__name__)

IMAGE_BATCH_SIZE = 16
PROMPT_BATCH_SIZE = 256
# Labels whose prompts are encoded together: bounds memory for thousands of labels × 80 templates.
LABEL_CHUNK = 64


def default_cache_dir() -> Path:
    """Return the feature cache folder: ``CLIP_COMPARE_CACHE`` or the user cache dir."""
    configured = os.environ.get("CLIP_COMPARE_CACHE")
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "clip-compare" / "features"


@dataclass
class EncodeCounts:
    """How many images and prompts went through a model, as opposed to the cache."""

    images: int = 0
    prompts: int = 0


class FeatureCache:
    """Normalised feature vectors in an LRU memory cache, backed by .npy files on disk.

    Disk writes go to a temporary file first and are renamed into place, so a killed
    process never leaves a half-written vector; an unreadable file is a cache miss.
    Pass ``directory=None`` for a memory-only cache.
    """

    def __init__(self, directory: Path | str | None = None, max_memory_items: int = 100_000):
        self.directory = Path(directory) if directory is not None else None
        self.max_memory_items = max_memory_items
        self.counts = EncodeCounts()
        self._memory: OrderedDict[tuple[str, str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, kind: str, model_key: str, key: str) -> np.ndarray | None:
        """Return the cached vector or None."""
        memory_key = (kind, model_key, key)
        with self._lock:
            if memory_key in self._memory:
                self._memory.move_to_end(memory_key)
                return self._memory[memory_key]
        vector = self._read(kind, model_key, key)
        if vector is not None:
            self._remember(memory_key, vector)
        return vector

    def put(self, kind: str, model_key: str, key: str, vector: np.ndarray) -> None:
        """Store a vector in memory and, when a directory is set, on disk."""
        self._remember((kind, model_key, key), vector)
        self._write(kind, model_key, key, vector)

    def _remember(self, memory_key: tuple[str, str, str], vector: np.ndarray) -> None:
        with self._lock:
            self._memory[memory_key] = vector
            self._memory.move_to_end(memory_key)
            while len(self._memory) > self.max_memory_items:
                self._memory.popitem(last=False)

    def _path(self, kind: str, model_key: str, key: str) -> Path:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        return self.directory / model_key / kind / digest[:2] / f"{digest}.npy"

    def _read(self, kind: str, model_key: str, key: str) -> np.ndarray | None:
        if self.directory is None:
            return None
        path = self._path(kind, model_key, key)
        try:
            return np.load(path, allow_pickle=False)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError) as error:  # np.load raises EOFError for an empty file.
            logger.warning("Ignoring unreadable cached features %s (%s)", path, error)
            return None

    def _write(self, kind: str, model_key: str, key: str, vector: np.ndarray) -> None:
        if self.directory is None:
            return
        path = self._path(kind, model_key, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
                np.save(handle, vector, allow_pickle=False)
            os.replace(handle.name, path)
        except OSError as error:  # A full or read-only disk costs speed, not results.
            logger.warning("Cannot write the feature cache at %s (%s)", path, error)


_default_cache: FeatureCache | None = None
_default_cache_lock = threading.Lock()


def default_cache() -> FeatureCache:
    """Return the process-wide feature cache in ``default_cache_dir()``."""
    global _default_cache
    with _default_cache_lock:
        if _default_cache is None:
            _default_cache = FeatureCache(default_cache_dir())
        return _default_cache


def encode_images(loaded: LoadedModel, images: Sequence[LoadedImage], cache: FeatureCache,
                  progress: Callable[[str, int, int], None] | None = None) -> np.ndarray:
    """Return normalised image features, shape [len(images), embed_dim], encoding only misses."""
    keys = [image.sha256 for image in images]
    found = {key: cache.get("image", loaded.fingerprint, key) for key in dict.fromkeys(keys)}
    missing = [image for image in _unique_by_hash(images) if found[image.sha256] is None]

    for start in range(0, len(missing), IMAGE_BATCH_SIZE):
        batch = missing[start:start + IMAGE_BATCH_SIZE]
        pixels = torch.stack([loaded.preprocess(image.image) for image in batch]).to(loaded.device)
        with torch.inference_mode():
            features = loaded.model.encode_image(pixels, normalize=True).float().cpu().numpy()
        for image, vector in zip(batch, features):
            cache.put("image", loaded.fingerprint, image.sha256, vector)
            found[image.sha256] = vector
        cache.counts.images += len(batch)
        if progress:
            progress("images", min(start + IMAGE_BATCH_SIZE, len(missing)), len(missing))

    return np.stack([found[key] for key in keys]) if keys else np.zeros((0, 0), np.float32)


def _unique_by_hash(images: Sequence[LoadedImage]) -> list[LoadedImage]:
    return list({image.sha256: image for image in images}.values())


def encode_prompts(loaded: LoadedModel, prompts: Sequence[str], cache: FeatureCache) -> np.ndarray:
    """Return normalised text features, shape [len(prompts), embed_dim], encoding only misses."""
    found = {prompt: cache.get("text", loaded.fingerprint, prompt) for prompt in dict.fromkeys(prompts)}
    missing = [prompt for prompt, vector in found.items() if vector is None]

    for start in range(0, len(missing), PROMPT_BATCH_SIZE):
        batch = missing[start:start + PROMPT_BATCH_SIZE]
        tokens = loaded.tokenize(batch).to(loaded.device)
        with torch.inference_mode():
            features = encode_text(loaded.model, tokens).float().cpu().numpy()
        for prompt, vector in zip(batch, features):
            cache.put("text", loaded.fingerprint, prompt, vector)
            found[prompt] = vector
        cache.counts.prompts += len(batch)

    return np.stack([found[prompt] for prompt in prompts])


def encode_text(model: torch.nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """Return normalised text features [prompts, embed_dim], skipping padding that cannot change them.

    open_clip pads every prompt to the context length (77 tokens for CLIP). In
    open_clip's CLIP text tower, though, each token attends only to the tokens before
    it (a causal mask), and the feature is read at the end-of-text token, which has the
    highest token id. So the padding after the latest end-of-text token in the batch
    cannot change any feature, and encoding without it costs a fraction as much for
    short prompts. Other text towers (Hugging Face, SigLIP's, CoCa's) read or attend
    to the padding, so they go through ``encode_text`` unchanged.
    """
    if not _is_causal_argmax_clip(model):
        return model.encode_text(tokens, normalize=True)

    length = int(tokens.argmax(dim=-1).max()) + 1
    tokens = tokens[:, :length]
    cast_dtype = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast_dtype) + model.positional_embedding[:length].to(cast_dtype)
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    x = x[torch.arange(x.shape[0], device=x.device), tokens.argmax(dim=-1)]
    if isinstance(model.text_projection, torch.nn.Linear):
        x = model.text_projection(x)
    elif model.text_projection is not None:
        x = x @ model.text_projection
    return torch.nn.functional.normalize(x, dim=-1)


def _is_causal_argmax_clip(model: torch.nn.Module) -> bool:
    # NOTE: this mirrors open_clip 3.3's CLIP.encode_text; a test compares the two outputs.
    return (type(model) is open_clip.model.CLIP and model.text_pool_type == "argmax"
            and getattr(model, "attn_mask", None) is not None)


def encode_labels(loaded: LoadedModel, prompts_per_label: Sequence[Sequence[str]], cache: FeatureCache,
                  progress: Callable[[str, int, int], None] | None = None) -> np.ndarray:
    """Return one text feature per label, shape [labels, embed_dim].

    With several prompts per label (a template ensemble) the normalised prompt
    features are averaged and normalised again, as in the CLIP paper. Labels are
    processed in chunks so memory stays bounded for thousands of labels.
    """
    label_features = []
    for start in range(0, len(prompts_per_label), LABEL_CHUNK):
        chunk = prompts_per_label[start:start + LABEL_CHUNK]
        flat = [prompt for prompts in chunk for prompt in prompts]
        vectors = encode_prompts(loaded, flat, cache)
        offset = 0
        for prompts in chunk:
            mean = vectors[offset:offset + len(prompts)].mean(axis=0)
            label_features.append(mean / np.linalg.norm(mean))
            offset += len(prompts)
        if progress:
            progress("prompts", min(start + LABEL_CHUNK, len(prompts_per_label)), len(prompts_per_label))
    return np.stack(label_features)
