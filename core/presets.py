"""Presets that reproduce published zero-shot results on CIFAR-10 and CIFAR-100.

The English class names and the 18 templates are those the CLIP paper used for both
data sets, as listed in openai/CLIP's ``data/prompts.md`` (open_clip 3.3.0 ships
only the ImageNet templates). The published figures are zero-shot top-1 accuracy
from open_clip's ``docs/openclip_results.csv``, as fractions like the ``top1_accuracy``
column of ``core.metrics``.

To use a preset, arrange the test images as a labelled folder whose subfolders
are the class keys (``CIFAR10_CLASSES`` or ``CIFAR100_CLASSES``), which are the
data sets' own class names. CIFAR-100 names a class "aquarium_fish", and its CLIP
prompt label is "aquarium fish". The Spanish CIFAR-10 phrasing was written for this project and
has no published figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from core.evaluate import ClassPhrasing

CLIP_CIFAR_TEMPLATES = (
    "a photo of a {}.",
    "a blurry photo of a {}.",
    "a black and white photo of a {}.",
    "a low contrast photo of a {}.",
    "a high contrast photo of a {}.",
    "a bad photo of a {}.",
    "a good photo of a {}.",
    "a photo of a small {}.",
    "a photo of a big {}.",
    "a photo of the {}.",
    "a blurry photo of the {}.",
    "a black and white photo of the {}.",
    "a low contrast photo of the {}.",
    "a high contrast photo of the {}.",
    "a bad photo of the {}.",
    "a good photo of the {}.",
    "a photo of the small {}.",
    "a photo of the big {}.",
)

# Spanish counterparts of the first seven templates. Spanish articles and size adjectives
# agree with the noun, so each label carries its own article ("un gato", "una rana") and
# there are no "small", "big" or "the" variants.
SPANISH_CIFAR_TEMPLATES = (
    "una foto de {}.",
    "una foto borrosa de {}.",
    "una foto en blanco y negro de {}.",
    "una foto con poco contraste de {}.",
    "una foto con mucho contraste de {}.",
    "una mala foto de {}.",
    "una buena foto de {}.",
)

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

CIFAR10_SPANISH = {
    "airplane": "un avión", "automobile": "un automóvil", "bird": "un pájaro", "cat": "un gato",
    "deer": "un ciervo", "dog": "un perro", "frog": "una rana", "horse": "un caballo",
    "ship": "un barco", "truck": "un camión",
}

# The CLIP prompt names, in the data set's label order.
CIFAR100_PROMPT_NAMES = (
    "apple", "aquarium fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
    "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
    "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
    "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
    "lamp", "lawn mower", "leopard", "lion", "lizard", "lobster", "man", "maple tree", "motorcycle", "mountain",
    "mouse", "mushroom", "oak tree", "orange", "orchid", "otter", "palm tree", "pear", "pickup truck", "pine tree",
    "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
    "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
    "squirrel", "streetcar", "sunflower", "sweet pepper", "table", "tank", "telephone", "television", "tiger",
    "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow tree", "wolf", "woman", "worm",
)
CIFAR100_CLASSES = tuple(name.replace(" ", "_") for name in CIFAR100_PROMPT_NAMES)


@dataclass(frozen=True)
class Preset:
    """A data set's classes, the phrasing sets to evaluate it with and published accuracies."""

    name: str
    title: str
    classes: tuple[str, ...]
    phrasings: tuple[ClassPhrasing, ...]
    published_top1: dict[str, float] = field(default_factory=dict)
    source: str = ""

    def phrasing_file(self) -> dict:
        """Return the preset's phrasing sets as phrasing file content (see ``core.evaluate``)."""
        return {"phrasings": [phrasing.to_dict() for phrasing in self.phrasings]}


PRESETS: dict[str, Preset] = {
    "cifar10": Preset(
        "cifar10", "CIFAR-10 (CLIP paper prompts)", CIFAR10_CLASSES,
        (ClassPhrasing("English", {name: name for name in CIFAR10_CLASSES}, CLIP_CIFAR_TEMPLATES),
         ClassPhrasing("Español", dict(CIFAR10_SPANISH), SPANISH_CIFAR_TEMPLATES)),
        {"ViT-B-32/openai": 0.8983, "ViT-B-32/laion2b_s34b_b79k": 0.9358,
         "xlm-roberta-base-ViT-B-32/laion5b_s13b_b90k": 0.9366},
        "open_clip docs/openclip_results.csv, column CIFAR-10",
    ),
    "cifar100": Preset(
        "cifar100", "CIFAR-100 (CLIP paper prompts)", CIFAR100_CLASSES,
        (ClassPhrasing("English", dict(zip(CIFAR100_CLASSES, CIFAR100_PROMPT_NAMES)), CLIP_CIFAR_TEMPLATES),),
        {"ViT-B-32/openai": 0.6423, "ViT-B-32/laion2b_s34b_b79k": 0.7555,
         "xlm-roberta-base-ViT-B-32/laion5b_s13b_b90k": 0.7654},
        "open_clip docs/openclip_results.csv, column CIFAR-100",
    ),
}


def get_preset(name: str) -> Preset:
    """Return the preset called ``name``; raises KeyError listing the presets."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"Unknown preset {name!r}; the presets are {', '.join(PRESETS)}.") from None


def compare_with_published(preset: Preset, metrics_table: pd.DataFrame) -> pd.DataFrame:
    """Add the published top-1 accuracy of each model to a metrics table, and the difference.

    Published figures are for the English phrasing, so other phrasings get NaN. They
    were measured on the full test set of 10,000 images; a smaller sample is still
    compared, so check the ``images`` column.
    """
    table = metrics_table[["model", "phrasing", "images", "top1_accuracy"]].copy()
    english = table["phrasing"] == "English"
    table["published_top1_accuracy"] = [preset.published_top1.get(model, float("nan")) if is_english else float("nan")
                                        for model, is_english in zip(table["model"], english)]
    table["difference"] = table["top1_accuracy"] - table["published_top1_accuracy"]
    return table
