"""Opening images: every mode to RGB, transparency, EXIF, frames, limits, unreadable files."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw, ImageFile

import core
from core.demo import captions
from core.errors import ImageError
from core.images import BACKGROUND, LoadedImage, load_image, load_images, to_rgb

DEMO_LABELS = captions("en")


def encode(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def classify_demo(images: dict, cache) -> pd.DataFrame:
    return core.classify(images, DEMO_LABELS, "demo", cache=cache)


def probabilities_by_image(table) -> dict[str, np.ndarray]:
    return {name: rows.sort_values("label_index")["probability"].to_numpy()
            for name, rows in table.groupby("image")}


# Transparency ------------------------------------------------------------------------


def circle_mask(size: int) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size]
    return (x - size / 2) ** 2 + (y - size / 2) ** 2 < (size / 3) ** 2


def transparent_rgba(size: int = 64) -> tuple[Image.Image, Image.Image]:
    """Return a red disc on a fully transparent background, and the same picture on white."""
    mask = circle_mask(size)
    rgba = np.zeros((size, size, 4), np.uint8)
    rgba[..., :3] = (0, 90, 0)  # the colour under transparent pixels must not show
    rgba[mask] = (210, 30, 30, 255)
    flat = np.empty((size, size, 3), np.uint8)
    flat[...] = BACKGROUND
    flat[mask] = (210, 30, 30)
    return Image.fromarray(rgba, "RGBA"), Image.fromarray(flat, "RGB")


def palette_with_key(size: int = 64) -> tuple[Image.Image, Image.Image]:
    """Return a P-mode red disc whose background index is the transparency key, and it on white."""
    indices = np.where(circle_mask(size), 1, 0).astype(np.uint8)
    palette_image = Image.fromarray(indices, "P")
    palette_image.putpalette([0, 90, 0, 210, 30, 30] + [0, 0, 0] * 254)
    palette_image.info["transparency"] = 0
    flat = np.empty((size, size, 3), np.uint8)
    flat[...] = BACKGROUND
    flat[indices == 1] = (210, 30, 30)
    return palette_image, Image.fromarray(flat, "RGB")


@pytest.mark.parametrize("make_pair", [transparent_rgba, palette_with_key])
def test_transparent_png_flattened_on_white(make_pair):
    transparent, flat = make_pair()
    loaded = load_image(encode(transparent, "PNG", **({"transparency": 0} if transparent.mode == "P" else {})))

    assert loaded.original_mode == transparent.mode
    assert loaded.image.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(loaded.image), np.asarray(flat))


@pytest.mark.parametrize("make_pair", [transparent_rgba, palette_with_key])
def test_transparent_png_classified_like_flat(make_pair, demo_model_dir, memory_cache):
    transparent, flat = make_pair()
    options = {"transparency": 0} if transparent.mode == "P" else {}
    table = classify_demo({"transparent.png": encode(transparent, "PNG", **options),
                           "flat.png": encode(flat, "PNG")}, memory_cache)

    probabilities = probabilities_by_image(table)
    np.testing.assert_allclose(probabilities["transparent.png"], probabilities["flat.png"], atol=1e-6)
    assert table.attrs["errors"] == []


# Small and odd images -----------------------------------------------------------------


@pytest.mark.parametrize("name, image", [
    ("grey-32.png", Image.fromarray(np.tile(np.arange(0, 256, 8, dtype=np.uint8), (32, 1)), "L")),
    ("one-pixel-rgb.png", Image.new("RGB", (1, 1), (200, 20, 20))),
    ("one-pixel-grey.png", Image.new("L", (1, 1), 128)),
    ("one-row.png", Image.new("RGB", (300, 1), (20, 20, 200))),
])
def test_small_image_classified(name, image, demo_model_dir, memory_cache):
    table = classify_demo({name: encode(image, "PNG")}, memory_cache)

    assert len(table) == len(DEMO_LABELS)
    assert set(table["image"]) == {name}
    assert table["probability"].sum() == pytest.approx(1.0)


def truncated_jpeg(tmp_path, cut_bytes: int = 4096):
    noise = np.random.default_rng(0).integers(0, 256, size=(256, 256, 3), dtype=np.uint8)
    data = encode(Image.fromarray(noise, "RGB"), "JPEG", quality=95)
    assert len(data) > 2 * cut_bytes
    path = tmp_path / "cut-off.jpg"
    path.write_bytes(data[:-cut_bytes])
    return path


def test_truncated_jpeg_rejected(tmp_path):
    path = truncated_jpeg(tmp_path)

    with pytest.raises(ImageError) as raised:
        load_image(path)

    assert raised.value.name == str(path)
    assert str(path) in str(raised.value)
    assert "truncated" in str(raised.value)


def test_truncated_jpeg_others_go_on(tmp_path, red_circle, demo_model_dir, memory_cache):
    path = truncated_jpeg(tmp_path)
    good = tmp_path / "good.png"
    red_circle.save(good)

    table = core.classify([path, good], DEMO_LABELS, "demo", errors="collect", cache=memory_cache)

    assert set(table["image"]) == {str(good)}
    assert [error["name"] for error in table.attrs["errors"]] == [str(path)]
    assert table.attrs["errors"][0]["kind"] == "image"


def test_truncated_jpeg_raises_by_default(tmp_path, red_circle, demo_model_dir, memory_cache):
    with pytest.raises(ImageError):
        core.classify([truncated_jpeg(tmp_path), red_circle], DEMO_LABELS, "demo", cache=memory_cache)


# Modes ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode, fill, expected", [
    ("1", 1, (255, 255, 255)),
    ("L", 200, (200, 200, 200)),
    ("P", 0, (0, 0, 0)),
    ("LA", (100, 255), (100, 100, 100)),
    ("LA", (100, 0), BACKGROUND),
    ("La", (100, 255), (100, 100, 100)),
    ("PA", (0, 0), BACKGROUND),
    ("RGB", (10, 20, 30), (10, 20, 30)),
    ("RGBA", (10, 20, 30, 255), (10, 20, 30)),
    ("RGBA", (10, 20, 30, 0), BACKGROUND),
    ("RGBA", (0, 0, 0, 128), (127, 127, 127)),
    ("RGBa", (10, 20, 30, 255), (10, 20, 30)),
    ("RGBX", (10, 20, 30, 0), (10, 20, 30)),
    ("CMYK", (0, 0, 0, 0), (255, 255, 255)),
    ("CMYK", (0, 255, 255, 0), (255, 0, 0)),
    ("YCbCr", (255, 128, 128), (255, 255, 255)),
    ("LAB", (255, 128, 128), (255, 255, 255)),
    ("LAB", (0, 128, 128), (0, 0, 0)),
    ("HSV", (0, 255, 255), (255, 0, 0)),
    ("I", 65535, (255, 255, 255)),
    ("I;16", 32768, (128, 128, 128)),
    ("I;16B", 65535, (255, 255, 255)),
    ("I;16L", 257, (1, 1, 1)),
    ("F", 0.5, (128, 128, 128)),
    ("F", 1000.0, (4, 4, 4)),
])
def test_mode_converts_to_rgb(mode, fill, expected):
    loaded = load_image(Image.new(mode, (5, 3), fill))

    assert loaded.image.mode == "RGB"
    assert loaded.image.size == (5, 3)
    assert loaded.original_mode == mode
    # Colour management (LAB, YCbCr, CMYK) may land a step off an exact value.
    np.testing.assert_allclose(loaded.image.getpixel((2, 1)), expected, atol=2)


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "L", "1", "I;16", "CMYK"])
def test_saved_mode_loads(mode, tmp_path):
    image_format = "JPEG" if mode == "CMYK" else "PNG"
    source = Image.new(mode, (7, 5))
    path = tmp_path / f"image.{image_format.lower()}"
    source.save(path, format=image_format)

    loaded = load_image(path)

    assert loaded.image.mode == "RGB"
    assert loaded.image.size == (7, 5)


def test_sixteen_bit_scaled_not_clipped():
    values = np.array([[65535, 32768, 0, 257, 1000]], dtype=np.uint16)
    png = encode(Image.fromarray(values), "PNG")

    loaded = load_image(png)

    assert loaded.original_mode == "I;16"
    np.testing.assert_array_equal(np.asarray(loaded.image)[0, :, 0], [255, 128, 0, 1, 4])


def test_to_rgb_leaves_source_alone():
    source = Image.new("RGB", (2, 2), (1, 2, 3))
    converted = to_rgb(source)
    converted.putpixel((0, 0), (9, 9, 9))

    assert source.getpixel((0, 0)) == (1, 2, 3)


# EXIF, frames --------------------------------------------------------------------------


def test_exif_orientation_applied():
    """Orientation 6 means "rotate 90° clockwise to display": left half red ends up on top."""
    image = Image.new("RGB", (40, 20), (0, 0, 230))
    image.paste((230, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    loaded = load_image(encode(image, "JPEG", exif=exif, quality=95))

    assert loaded.image.size == (20, 40)
    top, bottom = loaded.image.getpixel((10, 5)), loaded.image.getpixel((10, 35))
    assert top[0] > 200
    assert top[2] < 50
    assert bottom[2] > 200
    assert bottom[0] < 50


def test_animated_gif_first_frame():
    frames = [Image.new("RGB", (16, 16), colour) for colour in ((255, 0, 0), (0, 0, 255), (0, 255, 0))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 3

    loaded = load_image(data)

    assert loaded.image.getpixel((8, 8)) == (255, 0, 0)


def test_animated_gif_after_seek_first_frame():
    frames = [Image.new("RGB", (16, 16), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    opened = Image.open(io.BytesIO(encode(frames[0], "GIF", save_all=True, append_images=frames[1:])))
    opened.seek(1)

    assert load_image(opened).image.getpixel((8, 8)) == (255, 0, 0)


# Pixel limit ----------------------------------------------------------------------------


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` but whose pixel data is a few bytes."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))


@pytest.fixture
def decode_calls(monkeypatch) -> list[str]:
    """Record every call to Pillow's decoder entry point."""
    calls = []
    decode = ImageFile.ImageFile.load

    def recording_load(self):
        calls.append(self.format)
        return decode(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", recording_load)
    return calls


@pytest.mark.parametrize("width, height, max_pixels", [
    (100_000, 100_000, None),  # over Pillow's own bomb limit as well
    (8_000, 8_000, None),  # 64 MP: over the default 50 MP limit only
    (64, 64, 4_000),
])
def test_pixel_limit_before_decoding(width, height, max_pixels, decode_calls):
    with pytest.raises(ImageError) as raised:
        load_image(png_header_only(width, height), name="huge.png", max_pixels=max_pixels)

    assert raised.value.name == "huge.png"
    assert "pixels" in raised.value.reason
    assert decode_calls == []


@pytest.mark.parametrize("width, height, accepted", [(64, 64, True), (65, 64, False), (4096, 1, True), (1, 4097, False)])
def test_pixel_limit_boundary(width, height, accepted):
    data = encode(Image.new("L", (width, height)), "PNG")

    if accepted:
        assert load_image(data, max_pixels=4096).image.size == (width, height)
    else:
        with pytest.raises(ImageError, match="over the limit of 4,096"):
            load_image(data, max_pixels=4096)


def test_pixel_limit_from_environment(monkeypatch):
    monkeypatch.setenv("CLIP_COMPARE_MAX_PIXELS", "100")
    data = encode(Image.new("RGB", (11, 10)), "PNG")

    with pytest.raises(ImageError, match="over the limit of 100"):
        load_image(data, name="small.png")
    assert load_image(encode(Image.new("RGB", (10, 10)), "PNG")).image.size == (10, 10)


# Refused by content, not by name ---------------------------------------------------------


def test_png_named_jpg_loads(tmp_path):
    path = tmp_path / "actually-a-png.jpg"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(path, format="PNG")

    assert load_image(path).image.getpixel((0, 0)) == (1, 2, 3)


def write_text(path):
    path.write_text("this is not an image\n", encoding="utf-8")


def write_empty(path):
    path.write_bytes(b"")


def write_unknown_format(path):
    path.write_bytes(bytes(range(256)) * 4)


def write_png_signature_only(path):
    path.write_bytes(b"\x89PNG\r\n\x1a\n")


def make_folder(path):
    path.mkdir()


def leave_missing(path):
    pass


@pytest.mark.parametrize("filename, make, reason_words", [
    ("notes.png", write_text, "not an image"),
    ("empty.jpg", write_empty, "empty"),
    ("noise.webp", write_unknown_format, "not an image"),
    ("header.png", write_png_signature_only, "image"),
    ("photos.png", make_folder, "folder"),
    ("missing.png", leave_missing, "not found"),
], ids=lambda value: getattr(value, "__name__", None))
def test_unusable_file_named_in_error(tmp_path, filename, make, reason_words):
    path = tmp_path / filename
    make(path)

    with pytest.raises(ImageError) as raised:
        load_image(path)

    assert str(raised.value).startswith(f"{path}: ")
    assert reason_words in raised.value.reason


def test_load_images_collects_errors(tmp_path):
    good = tmp_path / "good.png"
    Image.new("RGB", (4, 4)).save(good)
    bad = tmp_path / "bad.png"
    write_text(bad)

    loaded, errors = load_images({"first": good, "second": bad, "third": good.read_bytes()})

    assert [image.name for image in loaded] == ["first", "third"]
    assert [error.name for error in errors] == ["second"]


@pytest.mark.parametrize("source, expected_name", [
    (encode(Image.new("RGB", (2, 2)), "PNG"), "uploaded image"),
    (Image.new("RGB", (2, 2)), "PIL image"),
])
def test_default_image_names(source, expected_name):
    assert load_image(source).name == expected_name


class NamedUpload(io.BytesIO):
    """A file object with a name, as Streamlit's UploadedFile is."""

    def __init__(self, data: bytes, name: str):
        super().__init__(data)
        self.name = name


def test_file_object_read_twice():
    upload = NamedUpload(encode(Image.new("RGB", (6, 4), (9, 8, 7)), "PNG"), "holiday.png")

    first = load_image(upload)
    second = load_image(upload)

    assert first.name == "holiday.png"
    assert second.sha256 == first.sha256
    assert second.image.getpixel((0, 0)) == (9, 8, 7)


def test_upload_reclassified_after_label_edit(demo_model_dir, red_circle, memory_cache):
    upload = NamedUpload(encode(red_circle, "PNG"), "circle.png")
    core.classify(upload, DEMO_LABELS[:3], "demo", cache=memory_cache)
    before = memory_cache.counts.images

    table = core.classify(upload, DEMO_LABELS, "demo", cache=memory_cache)

    assert set(table["image"]) == {"circle.png"}
    assert len(table) == len(DEMO_LABELS)
    assert memory_cache.counts.images == before


def test_loaded_image_passes_through():
    loaded = load_image(Image.new("RGB", (2, 2)))

    assert isinstance(loaded, LoadedImage)
    assert load_image(loaded) is loaded


# Content hash -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hash_picture() -> Image.Image:
    image = Image.new("RGB", (48, 32), (240, 240, 240))
    draw = ImageDraw.Draw(image)
    draw.ellipse((4, 4, 28, 28), fill=(200, 10, 10))
    draw.rectangle((30, 10, 44, 30), fill=(10, 10, 200))
    return image


@pytest.mark.parametrize("image_format, options", [
    ("WEBP", {"lossless": True, "exact": True}),
    ("BMP", {}),
    ("TIFF", {}),
])
def test_same_pixels_same_hash(hash_picture, image_format, options):
    png = load_image(encode(hash_picture, "PNG"))
    other = load_image(encode(hash_picture, image_format, **options))

    assert other.sha256 == png.sha256


def test_hash_ignores_name_and_metadata(hash_picture, tmp_path):
    path = tmp_path / "renamed.png"
    hash_picture.save(path, pnginfo=None, dpi=(300, 300))

    assert load_image(path).sha256 == load_image(encode(hash_picture, "PNG"), name="other").sha256


def test_different_pixels_different_hash(hash_picture):
    changed = hash_picture.copy()
    changed.putpixel((0, 0), (0, 0, 0))

    assert load_image(changed).sha256 != load_image(hash_picture).sha256


def test_same_bytes_other_shape_differ():
    """A 2×8 and an 8×2 image with identical pixel bytes must not share a hash."""
    wide, tall = Image.new("RGB", (8, 2), (5, 5, 5)), Image.new("RGB", (2, 8), (5, 5, 5))

    assert load_image(wide).sha256 != load_image(tall).sha256
