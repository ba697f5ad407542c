"""Open any image a user has and turn it into a fully decoded RGB picture.

Every image is decoded up front, so a truncated or corrupt file fails here, with a
message naming it, and never later inside a model's preprocess.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterable, Union

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from core.errors import ImageError

logger = logging.getLogger(__name__)

# About 50 megapixels: above any phone or DSLR photo, well below what exhausts memory.
DEFAULT_MAX_PIXELS = 50_000_000
# Transparent pixels are composited on white, the background most photos of objects have.
BACKGROUND = (255, 255, 255)

ImageSource = Union[str, os.PathLike, bytes, BinaryIO, Image.Image, "LoadedImage"]


@dataclass(frozen=True)
class LoadedImage:
    """A decoded RGB image, its display name and the SHA-256 of its decoded pixels."""

    name: str
    image: Image.Image = field(repr=False)
    sha256: str
    original_mode: str
    original_size: tuple[int, int]


def max_pixels_from_env() -> int:
    """Return the pixel limit, from ``CLIP_COMPARE_MAX_PIXELS`` when it is set."""
    value = os.environ.get("CLIP_COMPARE_MAX_PIXELS")
    return int(value) if value else DEFAULT_MAX_PIXELS


def load_image(source: ImageSource, name: str | None = None, max_pixels: int | None = None) -> LoadedImage:
    """Open, check and decode one image from a path, bytes, a binary file object or a PIL image.

    Raises ImageError, naming the file, for anything that is not a usable image:
    missing or unreadable files, unknown formats, truncated data, or more pixels
    than ``max_pixels`` (checked from the header, before decoding).
    """
    if isinstance(source, LoadedImage):
        return source
    max_pixels = max_pixels or max_pixels_from_env()
    name = name or _default_name(source)

    image = _open(source, name)
    _check_pixels(image, name, max_pixels)
    original_mode, original_size = image.mode, image.size
    image = _decode_first_frame(image, name)
    image = _apply_orientation(image, name)
    rgb = to_rgb(image, name)

    digest = hashlib.sha256(f"{rgb.size}".encode() + rgb.tobytes()).hexdigest()
    return LoadedImage(name, rgb, digest, original_mode, original_size)


def load_images(
    sources: Iterable[ImageSource] | dict[str, ImageSource], max_pixels: int | None = None
) -> tuple[list[LoadedImage], list[ImageError]]:
    """Load several images; return the usable ones and one ImageError per unusable one."""
    items = sources.items() if isinstance(sources, dict) else ((None, s) for s in sources)
    loaded, errors = [], []
    for name, source in items:
        try:
            loaded.append(load_image(source, name=name, max_pixels=max_pixels))
        except ImageError as error:
            errors.append(error)
    return loaded, errors


def _default_name(source: ImageSource) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    if isinstance(source, Image.Image):
        return getattr(source, "filename", "") or "PIL image"
    if hasattr(source, "read") and isinstance(getattr(source, "name", None), str):
        return source.name  # open files and Streamlit uploads carry their file name
    return "uploaded image"


def _open(source: ImageSource, name: str) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
        elif hasattr(source, "read"):
            data = _read_from_start(source)
        else:
            path = Path(source)
            if path.is_dir():
                raise ImageError(name, "is a folder, not an image file")
            data = path.read_bytes()  # Read whole, so no file handle outlives the call.
        if not data:
            raise ImageError(name, "the file is empty")
        return Image.open(io.BytesIO(data))
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError(name, "file not found") from None
    except PermissionError:
        raise ImageError(name, "permission denied") from None
    except Image.DecompressionBombError as error:
        raise ImageError(name, f"too many pixels ({error})") from None
    except UnidentifiedImageError:
        raise ImageError(name, "not an image, or a format Pillow cannot read") from None
    except Exception as error:  # Pillow's format plugins raise many exception types on bad data.
        raise ImageError(name, f"not a readable image ({_short(error)})") from None


def _read_from_start(file: BinaryIO) -> bytes:
    """Read a file object (an upload, a BytesIO) from its start, so a second use is not empty."""
    if hasattr(file, "seek"):
        file.seek(0)
    return file.read()


def _check_pixels(image: Image.Image, name: str, max_pixels: int) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageError(name, f"invalid size {width}×{height}")
    if width * height > max_pixels:
        raise ImageError(
            name, f"{width}×{height} is {width * height:,} pixels, over the limit of {max_pixels:,}"
        )


def _decode_first_frame(image: Image.Image, name: str) -> Image.Image:
    """Decode the first frame fully, turning any decoder failure into ImageError."""
    try:
        if getattr(image, "n_frames", 1) > 1:
            image.seek(0)
        image.load()
        return image
    except Image.DecompressionBombError as error:
        raise ImageError(name, f"too many pixels ({error})") from None
    except Exception as error:  # Truncated or corrupt data surfaces as OSError, SyntaxError, ValueError...
        raise ImageError(name, f"cannot decode the image data ({_short(error)})") from None


def _apply_orientation(image: Image.Image, name: str) -> Image.Image:
    try:
        return ImageOps.exif_transpose(image)
    except Exception as error:  # A broken EXIF block should not cost the user the picture.
        logger.warning("%s: ignoring unreadable EXIF orientation (%s)", name, _short(error))
        return image


def to_rgb(image: Image.Image, name: str = "image") -> Image.Image:
    """Convert any Pillow mode to RGB.

    Alpha and palette transparency are composited on a white background; 16-bit
    greyscale is scaled down to 8 bits, not clipped; CMYK and Lab go through
    Pillow's colour conversions.

    NOTE: 32-bit integer greyscale (mode I) is scaled as if it held 16-bit values,
    because Pillow's I images usually do. Values above 65535 become white.
    """
    mode = image.mode
    if mode == "RGB":
        return image.copy()
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _high_depth_to_rgb(image)
    if mode == "LAB":
        srgb, lab = ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB")
        return ImageCms.profileToProfile(image, lab, srgb, outputMode="RGB")
    try:
        if mode == "La":
            image = image.convert("LA")  # Pillow converts premultiplied La only to LA.
        if _has_transparency(image):
            rgba = image.convert("RGBA")
            background = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
            return Image.alpha_composite(background, rgba).convert("RGB")
        return image.convert("RGB")
    except (ValueError, OSError) as error:
        raise ImageError(name, f"unsupported colour mode {mode} ({_short(error)})") from None


def _has_transparency(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in image.info


def _high_depth_to_rgb(image: Image.Image) -> Image.Image:
    """Scale 16-bit, 32-bit integer or float greyscale to 8 bits."""
    pixels = np.asarray(image, dtype=np.float64)
    if image.mode == "F" and np.nanmax(pixels, initial=0.0) <= 1.0:
        scaled = pixels * 255.0  # Float images in [0, 1], as scientific tools write them.
    else:
        scaled = pixels / 257.0  # 65535 / 257 = 255: the full 16-bit range maps onto 8 bits.
    scaled = np.nan_to_num(scaled, nan=0.0, posinf=255.0, neginf=0.0)
    grey = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return Image.fromarray(grey, mode="L").convert("RGB")


def _short(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."
