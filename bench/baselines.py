"""The usual ways of running CLIP zero-shot classification, written with open_clip alone.

These are the yardsticks for ``core.classify``. ``plain_loop`` encodes each image and
each label once, the least work a script does. ``per_image`` encodes every label
again for every image, as the transformers zero-shot pipeline and the classic CLIP
notebook do when called once per picture.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from core.features import encode_text
from core.loading import LoadedModel


def open_rgb(path: Path) -> Image.Image:
    """Decode one image file to RGB, closing the file."""
    with Image.open(path) as image:
        return image.convert("RGB")


def plain_loop(loaded: LoadedModel, paths: Sequence[Path], labels: Sequence[str],
               batch_size: int) -> np.ndarray:
    """Encode the labels once and the images in batches; return probabilities [images, labels]."""
    model, preprocess = loaded.model, loaded.preprocess
    with torch.inference_mode():
        text_features = model.encode_text(loaded.tokenizer(list(labels)), normalize=True)
        batches = []
        for start in range(0, len(paths), batch_size):
            pixels = torch.stack([preprocess(open_rgb(path)) for path in paths[start:start + batch_size]])
            batches.append(model.encode_image(pixels, normalize=True))
        return probabilities(model, torch.cat(batches), text_features)


def per_image(loaded: LoadedModel, paths: Sequence[Path], labels: Sequence[str]) -> np.ndarray:
    """Classify one image at a time, encoding every label again each time; return [images, labels]."""
    model, preprocess = loaded.model, loaded.preprocess
    rows = []
    with torch.inference_mode():
        for path in paths:
            pixels = preprocess(open_rgb(path)).unsqueeze(0)
            image_features = model.encode_image(pixels, normalize=True)
            text_features = model.encode_text(loaded.tokenizer(list(labels)), normalize=True)
            rows.append(probabilities(model, image_features, text_features))
    return np.concatenate(rows)


def encode_labels_alone(loaded: LoadedModel, labels: Sequence[str]) -> np.ndarray:
    """Tokenize and encode labels once: the least work a label edit can do."""
    with torch.inference_mode():
        return loaded.model.encode_text(loaded.tokenizer(list(labels)), normalize=True).numpy()


def encode_labels_trimmed(loaded: LoadedModel, labels: Sequence[str]) -> np.ndarray:
    """Encode labels once without the padding after the longest one, as core does: the least text work."""
    with torch.inference_mode():
        return encode_text(loaded.model, loaded.tokenizer(list(labels))).numpy()


def probabilities(model: torch.nn.Module, image_features: torch.Tensor, text_features: torch.Tensor) -> np.ndarray:
    """Softmax over the labels, or a sigmoid per label for models with a logit bias (SigLIP)."""
    logits = model.logit_scale.exp() * image_features @ text_features.T
    bias = getattr(model, "logit_bias", None)
    if bias is not None:
        return torch.sigmoid(logits + bias).numpy()
    return logits.softmax(dim=-1).numpy()
