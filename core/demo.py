"""Synthetic images of coloured shapes and their English and Spanish captions.

The offline demo model in ``core/demo_model`` was trained on these images by
``scripts/build_demo_model.py``, and its tests draw held-out images with the
same code, so the project has a real CLIP model that needs no download.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

DEMO_MODEL_DIR = Path(__file__).resolve().parent / "demo_model"
DEMO_MODEL_NAME = f"local-dir:{DEMO_MODEL_DIR}"

LANGUAGES = ("en", "es")

# The training captions use the bare caption and these templates. Other
# phrasings were never trained, so expect the demo model to handle them worse.
TEMPLATES = {
    "en": ("{}", "a photo of {}."),
    "es": ("{}", "una foto de {}."),
}


@dataclass(frozen=True)
class Colour:
    """A shape colour: its words and its base RGB value before jitter."""

    en: str
    es_masculine: str
    es_feminine: str
    rgb: tuple[int, int, int]


@dataclass(frozen=True)
class Shape:
    """A shape: its English noun, Spanish noun and Spanish grammatical gender."""

    en: str
    es: str
    es_feminine: bool = False


COLOURS = {
    "red": Colour("red", "rojo", "roja", (220, 30, 30)),
    "green": Colour("green", "verde", "verde", (30, 170, 50)),
    "blue": Colour("blue", "azul", "azul", (30, 60, 220)),
}

SHAPES = {
    "circle": Shape("circle", "círculo"),
    "square": Shape("square", "cuadrado"),
    "triangle": Shape("triangle", "triángulo"),
}

# Every (colour, shape) pair in a fixed order, which is also the label order
# that `captions` returns.
CLASSES = tuple((colour, shape) for shape in SHAPES for colour in COLOURS)

# Image sizes are drawn as a base length times one of these width / height
# ratios, so square, landscape and portrait images all occur.
ASPECT_RATIOS = (1.0, 4 / 3, 3 / 4, 3 / 2, 2 / 3, 16 / 9, 9 / 16)
MIN_BASE_SIDE = 64
MAX_BASE_SIDE = 256

# Minimum Euclidean RGB distance between the background and the drawn shape
# colour, so the two colours differ clearly.
MIN_BACKGROUND_DISTANCE = 140.0
COLOUR_JITTER = 25

# Radius of the shape's bounding circle, as a fraction of the shorter side.
MIN_RADIUS_FRACTION = 0.2
MAX_RADIUS_FRACTION = 0.42


def caption(colour: str, shape: str, language: str) -> str:
    """Return the bare caption, e.g. "a red circle" or "un círculo rojo".

    Spanish puts the adjective after the noun, and the article and adjective
    agree with the noun's gender.
    """
    if colour not in COLOURS:
        raise ValueError(f"invalid colour {colour!r}; expected one of {sorted(COLOURS)}")
    if shape not in SHAPES:
        raise ValueError(f"invalid shape {shape!r}; expected one of {sorted(SHAPES)}")
    if language == "en":
        return f"a {COLOURS[colour].en} {SHAPES[shape].en}"
    if language == "es":
        noun = SHAPES[shape]
        words = COLOURS[colour]
        if noun.es_feminine:
            return f"una {noun.es} {words.es_feminine}"
        return f"un {noun.es} {words.es_masculine}"
    raise ValueError(f"invalid language {language!r}; expected one of {LANGUAGES}")


def captions(language: str, template: str = "{}") -> list[str]:
    """Return one label per class in `CLASSES` order, formatted with `template`."""
    return [template.format(caption(colour, shape, language)) for colour, shape in CLASSES]


def draw_shape(
    colour: str,
    shape: str,
    rng: np.random.Generator,
    size: tuple[int, int] | None = None,
) -> Image.Image:
    """Draw one filled shape on a plain background and return the RGB image.

    Position, radius, rotation, the exact shade and the background vary, and so
    does the image size unless `size` (width, height) is given. The output
    depends only on the arguments and the state of `rng`.
    """
    if colour not in COLOURS:
        raise ValueError(f"invalid colour {colour!r}; expected one of {sorted(COLOURS)}")
    if shape not in SHAPES:
        raise ValueError(f"invalid shape {shape!r}; expected one of {sorted(SHAPES)}")
    width, height = size if size is not None else _random_size(rng)
    if width < 8 or height < 8:
        raise ValueError(f"image size {width}x{height} is too small; both sides must be at least 8 pixels")

    fill = _jitter_colour(COLOURS[colour].rgb, rng)
    background = _random_background(fill, rng)
    image = Image.new("RGB", (width, height), background)

    shorter = min(width, height)
    radius = rng.uniform(MIN_RADIUS_FRACTION, MAX_RADIUS_FRACTION) * shorter
    centre_x = rng.uniform(radius, width - radius)
    centre_y = rng.uniform(radius, height - radius)
    rotation = rng.uniform(0.0, 360.0)
    _draw_filled(ImageDraw.Draw(image), shape, (centre_x, centre_y), radius, rotation, fill)
    return image


def sample_images(count: int, rng: np.random.Generator) -> list[tuple[Image.Image, int]]:
    """Draw `count` images cycling through `CLASSES`, paired with class indices.

    Cycling keeps the classes balanced, so accuracy over the set weighs every
    class the same.
    """
    samples = []
    for index in range(count):
        class_index = index % len(CLASSES)
        colour, shape = CLASSES[class_index]
        samples.append((draw_shape(colour, shape, rng), class_index))
    return samples


def _random_size(rng: np.random.Generator) -> tuple[int, int]:
    base = int(rng.integers(MIN_BASE_SIDE, MAX_BASE_SIDE + 1))
    ratio = ASPECT_RATIOS[int(rng.integers(len(ASPECT_RATIOS)))]
    # Keep the area near base**2 whatever the ratio.
    width = max(8, round(base * math.sqrt(ratio)))
    height = max(8, round(base / math.sqrt(ratio)))
    return width, height


def _jitter_colour(rgb: tuple[int, int, int], rng: np.random.Generator) -> tuple[int, int, int]:
    offsets = rng.integers(-COLOUR_JITTER, COLOUR_JITTER + 1, size=3)
    return tuple(int(np.clip(channel + offset, 0, 255)) for channel, offset in zip(rgb, offsets))


def _random_background(fill: tuple[int, int, int], rng: np.random.Generator) -> tuple[int, int, int]:
    """Pick a background colour far enough from `fill` by rejection sampling.

    For each base colour, 70 to 80 percent of uniform RGB draws are far
    enough, so the loop ends after a few draws.
    """
    while True:
        candidate = rng.integers(0, 256, size=3)
        if np.linalg.norm(candidate - np.asarray(fill)) >= MIN_BACKGROUND_DISTANCE:
            return tuple(int(channel) for channel in candidate)


def _draw_filled(draw, shape, centre, radius, rotation, fill) -> None:
    """Draw `shape` inside the circle of `radius` around `centre`.

    Squares and triangles are regular polygons inscribed in that circle and
    rotated by `rotation` degrees, and a circle fills it.
    """
    x, y = centre
    if shape == "circle":
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)
    elif shape == "square":
        draw.regular_polygon((x, y, radius), 4, rotation=rotation, fill=fill)
    elif shape == "triangle":
        draw.regular_polygon((x, y, radius), 3, rotation=rotation, fill=fill)
    else:
        raise ValueError(f"no drawing rule for shape {shape!r}")
