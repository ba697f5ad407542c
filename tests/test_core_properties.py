"""Property tests: whatever bytes or label strings come in, core returns a result or its own error."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import core
from core.errors import ClipCompareError, ImageError, PhrasingError
from core.features import FeatureCache
from core.images import LoadedImage, load_image
from core.prompts import TEMPLATE_SETS, PhrasingSet, make_phrasing_set

PROPERTY_SETTINGS = settings(max_examples=60, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])


def encoded_sample(image_format: str, mode: str) -> bytes:
    pixels = np.random.default_rng(7).integers(0, 256, size=(9, 13, 3), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGB").convert(mode)
    buffer = io.BytesIO()
    if image_format == "GIF":
        image.save(buffer, format="GIF", save_all=True, append_images=[image.rotate(90)])
    else:
        image.save(buffer, format=image_format)
    return buffer.getvalue()


# Valid files of several formats, for mutation: random bytes alone almost never reach a decoder.
VALID_FILES = [encoded_sample(image_format, mode) for image_format, mode in [
    ("PNG", "RGB"), ("PNG", "RGBA"), ("PNG", "P"), ("JPEG", "RGB"), ("JPEG", "CMYK"), ("GIF", "P"),
    ("BMP", "RGB"), ("WEBP", "RGB"), ("TIFF", "RGB"), ("TIFF", "I;16"),
]]


@st.composite
def mutated_image_files(draw) -> bytes:
    """A valid image file with some bytes overwritten and perhaps its end cut off."""
    data = bytearray(draw(st.sampled_from(VALID_FILES)))
    for _ in range(draw(st.integers(0, 8))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut]) if draw(st.booleans()) else bytes(data)


image_bytes = st.one_of(st.binary(max_size=512), mutated_image_files())


@PROPERTY_SETTINGS
@given(data=image_bytes)
def test_any_bytes_image_or_image_error(data):
    try:
        loaded = load_image(data, name="random.bin")
    except ImageError as error:
        assert error.name == "random.bin"
        return
    assert isinstance(loaded, LoadedImage)
    assert loaded.image.mode == "RGB"
    assert len(loaded.sha256) == 64


templates = st.one_of(st.sampled_from(sorted(TEMPLATE_SETS)), st.lists(st.text(max_size=20), max_size=3))


@PROPERTY_SETTINGS
@given(labels=st.one_of(st.lists(st.text(max_size=40), max_size=8), st.text(max_size=40)), templates=templates)
def test_any_labels_phrasing_or_error(labels, templates):
    try:
        phrasing = make_phrasing_set("random", labels, templates)
    except PhrasingError:
        return
    assert isinstance(phrasing, PhrasingSet)
    assert all(label and label == label.strip() for label in phrasing.labels)
    assert len(set(phrasing.labels)) == len(phrasing.labels)


@st.composite
def small_images(draw) -> Image.Image | bytes:
    if draw(st.booleans()):
        return draw(image_bytes)
    width, height = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    pixels = np.random.default_rng(seed).integers(0, 256, size=(height, width, 4), dtype=np.uint8)
    return Image.fromarray(pixels, "RGBA").convert(draw(st.sampled_from(["RGB", "RGBA", "L", "P", "1", "CMYK"])))


@pytest.fixture(scope="module", params=["sigmoid", "demo"])
def property_model_id(request, sigmoid_model_id) -> str:
    if request.param == "demo":
        request.getfixturevalue("demo_model_dir")
        return "demo"
    return sigmoid_model_id


@PROPERTY_SETTINGS
@given(images=st.lists(small_images(), max_size=3), labels=st.lists(st.text(max_size=30), max_size=5),
       collect=st.booleans())
def test_classify_table_or_own_error(property_model_id, images, labels, collect):
    try:
        table = core.classify(images, labels, property_model_id, errors="collect" if collect else "raise",
                              cache=FeatureCache(None))
    except ClipCompareError:
        return
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == core.RESULT_COLUMNS
    assert np.isfinite(table["probability"].astype(float)).all()
    assert table["probability"].between(0.0, 1.0).all()
