"""The dashboard's images and ready-made phrasing sets.

Importing ``core`` imports PyTorch, which takes seconds. So only the functions that
decode images or draw the shapes example import ``core``, inside the function, and
the page header and the sidebar are drawn before any of them runs.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st
from PIL import Image, ImageOps

from dashboard.settings import PhrasingSettings

if TYPE_CHECKING:
    from core.images import LoadedImage

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "sample_images"
SOURCES_JSON = SAMPLE_DIR / "sources.json"

# The generated image that the demo model can recognise. It is drawn at run time by
# core.demo, and never stored in sample_images/, which holds only real photographs.
SHAPES_EXAMPLE_NAME = "shapes-example.png"
SHAPES_EXAMPLE_COLOUR = "blue"
SHAPES_EXAMPLE_SHAPE = "triangle"
SHAPES_EXAMPLE_SEED = 3
SHAPES_EXAMPLE_SIZE = (256, 256)

# Maximum number of decoded uploads, and of decoded sample photos, kept per process.
UPLOAD_CACHE_ENTRIES = 64
THUMBNAIL_SIDE = 192

ENGLISH_PHOTO_TEMPLATES = ("a photo of {}.",)
SPANISH_PHOTO_TEMPLATES = "foto"


@dataclass(frozen=True)
class SampleImage:
    """A photograph in sample_images/ with its subject and its English and Spanish labels."""

    file: str
    subject: str
    label_en: str
    label_es: str

    @property
    def path(self) -> Path:
        return SAMPLE_DIR / self.file


@functools.cache
def sample_images() -> tuple[SampleImage, ...]:
    """Return the sample photographs in the order of sample_images/sources.json."""
    records = json.loads(SOURCES_JSON.read_text(encoding="utf-8"))
    return tuple(SampleImage(record["file"], record["subject"], record["labels_en"], record["labels_es"])
                 for record in records)


@st.cache_data(show_spinner=False, max_entries=256)
def thumbnail_png(path: str, modified_ns: int) -> bytes:
    """Return a small square PNG of an image file; ``modified_ns`` makes an edited file a new entry."""
    with Image.open(path) as image:
        # Square crops keep the gallery's rows aligned whatever each photo's shape.
        return _png(ImageOps.fit(image.convert("RGB"), (THUMBNAIL_SIDE, THUMBNAIL_SIDE)))


@st.cache_data(show_spinner=False, max_entries=256)
def thumbnail_of_loaded(sha256: str, _image: Image.Image) -> bytes:
    """Return a small PNG of a decoded image; the cache is keyed by its content hash."""
    image = _image.copy()
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    return _png(image)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def decode_upload(name: str, data: bytes) -> LoadedImage:
    """Decode uploaded bytes once per content and name; raise core's ImageError if unusable.

    Callers pass ``UploadedFile.getvalue()``, which returns every byte on every rerun,
    unlike ``read()``, which returns nothing once the file has been read.
    """
    return _decode_upload(hashlib.sha256(data).hexdigest(), name, data)


@st.cache_resource(show_spinner=False, max_entries=UPLOAD_CACHE_ENTRIES)
def _decode_upload(digest: str, name: str, _data: bytes) -> LoadedImage:
    from core.images import load_image

    return load_image(_data, name=name)


@st.cache_resource(show_spinner=False, max_entries=UPLOAD_CACHE_ENTRIES)
def load_sample(file: str) -> LoadedImage:
    """Decode one photograph of sample_images/ (shared by all sessions)."""
    from core.images import load_image

    return load_image(SAMPLE_DIR / file, name=file)


@st.cache_resource(show_spinner=False)
def shapes_example() -> LoadedImage:
    """Draw the generated shapes example with the code that made the demo model's training images."""
    import numpy as np

    from core.demo import draw_shape
    from core.images import load_image

    image = draw_shape(SHAPES_EXAMPLE_COLOUR, SHAPES_EXAMPLE_SHAPE, np.random.default_rng(SHAPES_EXAMPLE_SEED),
                       size=SHAPES_EXAMPLE_SIZE)
    return load_image(image, name=SHAPES_EXAMPLE_NAME)


def shapes_example_caption(language: str) -> str:
    """Return what the shapes example shows, as the demo model's caption ("a blue triangle")."""
    from core.demo import caption

    return caption(SHAPES_EXAMPLE_COLOUR, SHAPES_EXAMPLE_SHAPE, language)


def unique_name(name: str, used_names: set[str]) -> str:
    """Return ``name``, or ``name (2)``, ``name (3)``… when another image already has it."""
    candidate, number = name, 2
    while candidate in used_names:
        candidate = f"{name} ({number})"
        number += 1
    return candidate


def sample_photo_pair() -> tuple[PhrasingSettings, PhrasingSettings]:
    """Return the English and Spanish labels of the sample photographs, paired by index."""
    samples = sample_images()
    return (
        PhrasingSettings("English", tuple(sample.label_en for sample in samples), ENGLISH_PHOTO_TEMPLATES),
        PhrasingSettings("Español", tuple(sample.label_es for sample in samples), SPANISH_PHOTO_TEMPLATES),
    )


def shapes_pair() -> tuple[PhrasingSettings, PhrasingSettings]:
    """Return the demo model's shape captions in English and Spanish, paired by index."""
    from core.demo import captions

    return (
        PhrasingSettings("English", tuple(captions("en")), ENGLISH_PHOTO_TEMPLATES),
        PhrasingSettings("Español", tuple(captions("es")), SPANISH_PHOTO_TEMPLATES),
    )


PRESETS = {"photos": sample_photo_pair, "shapes": shapes_pair}
