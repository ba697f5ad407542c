"""The benchmark's inputs: a random ViT-B-32 folder, distinct photo-sized images, label lists.

Random weights cost exactly what trained ones do, so a ViT-B-32 built here takes the
place of ``ViT-B-32/openai`` without a download. Every image is different, so no method
gets a free ride from the feature cache's de-duplication by content.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import open_clip
import torch
from safetensors.torch import save_file

from core.demo import CLASSES, draw_shape

ARCHITECTURE = "ViT-B-32"
# Trained CLIP models end with a logit scale of 100, the cap used in training.
TRAINED_LOGIT_SCALE = 100.0
# open_clip's eval preprocess for the OpenAI ViT-B-32 release.
PREPROCESS_CFG = {
    "size": 224,
    "mode": "RGB",
    "mean": list(open_clip.OPENAI_DATASET_MEAN),
    "std": list(open_clip.OPENAI_DATASET_STD),
    "interpolation": "bicubic",
    "resize_mode": "shortest",
    "fill_color": 0,
}

# A common phone photo downscaled for the web: decoding and resizing cost what users see.
IMAGE_SIZE = (640, 480)
JPEG_QUALITY = 90
IMAGE_SEED = 2024

ADJECTIVES = (
    "red", "green", "blue", "small", "large", "old", "new", "wooden", "metal", "striped",
    "spotted", "shiny", "broken", "sleeping", "running", "wet", "dusty", "painted", "tiny", "huge",
)
NOUNS = (
    "cat", "dog", "car", "bicycle", "house", "tree", "flower", "chair", "table", "boat",
    "bird", "horse", "train", "cup", "lamp", "clock", "guitar", "shoe", "book", "bridge",
    "mountain", "river", "pizza", "phone", "kite", "bench", "truck", "rabbit", "tower", "bottle",
)


def random_vit_b32(folder: Path, seed: int = 0) -> str:
    """Write a randomly initialised ViT-B-32 (QuickGELU) as a local-dir: folder once; return its model id."""
    config_path = folder / "open_clip_config.json"
    if config_path.is_file() and any(folder.glob("*.safetensors")):
        return f"local-dir:{folder}"

    model_cfg = dict(open_clip.get_model_config(ARCHITECTURE), quick_gelu=True)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = open_clip.model.CLIP(**model_cfg)
    state_dict = {key: value.detach().contiguous() for key, value in model.state_dict().items()}
    state_dict["logit_scale"] = torch.tensor(math.log(TRAINED_LOGIT_SCALE))

    folder.mkdir(parents=True, exist_ok=True)
    save_file(state_dict, str(folder / "open_clip_model.safetensors"))
    # The config goes last, so an interrupted write leaves a folder that is rebuilt next time.
    config_path.write_text(json.dumps({"model_cfg": model_cfg, "preprocess_cfg": PREPROCESS_CFG}, indent=1))
    return f"local-dir:{folder}"


def photo_files(folder: Path, count: int) -> list[Path]:
    """Return ``count`` distinct JPEG files of coloured shapes, drawing any that are missing."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"shape_{index:04d}.jpg" for index in range(count)]
    for index, path in enumerate(paths):
        if path.is_file():
            continue
        rng = np.random.default_rng([IMAGE_SEED, index])
        colour, shape = CLASSES[index % len(CLASSES)]
        draw_shape(colour, shape, rng, size=IMAGE_SIZE).save(path, quality=JPEG_QUALITY)
    return paths


def label_lists(count: int, lists: int) -> list[list[str]]:
    """Return ``lists`` lists of ``count`` labels each, no label repeated anywhere.

    Fresh lists let every repeat of a label edit encode text that no earlier repeat cached.
    """
    needed = count * lists
    phrases = [f"a photo of a {adjective} {noun}" for adjective, noun in itertools.product(ADJECTIVES, NOUNS)]
    if needed > len(phrases):
        raise ValueError(f"{lists} lists of {count} labels need {needed} labels; only {len(phrases)} exist.")
    return [phrases[start:start + count] for start in range(0, needed, count)]
