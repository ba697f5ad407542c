"""The feature cache: what a rerun, a label edit or a new process has to encode again."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pandas as pd
import pytest
from safetensors.torch import load_file, save_file

import core
from core.features import FeatureCache, default_cache_dir
from core.loading import unload_all

LABELS = ["a red circle", "a blue square", "a green triangle"]


@pytest.fixture(scope="module")
def images(make_gradient_image) -> dict:
    return {"wide": make_gradient_image(60, 40), "tall": make_gradient_image(30, 50)}


def run(model_id: str, images: dict, labels: list[str], cache: FeatureCache) -> pd.DataFrame:
    return core.classify(images, labels, model_id, cache=cache)


def encoded_since(cache: FeatureCache, before: tuple[int, int]) -> tuple[int, int]:
    """Return (images, prompts) encoded by the model since ``before`` was taken."""
    return cache.counts.images - before[0], cache.counts.prompts - before[1]


def snapshot(cache: FeatureCache) -> tuple[int, int]:
    return cache.counts.images, cache.counts.prompts


def test_first_run_encodes_everything(sigmoid_model_id, images, tmp_path):
    cache = FeatureCache(tmp_path)
    run(sigmoid_model_id, images, LABELS, cache)

    assert snapshot(cache) == (len(images), len(LABELS))


def test_rerun_encodes_nothing(sigmoid_model_id, images, tmp_path):
    cache = FeatureCache(tmp_path)
    first = run(sigmoid_model_id, images, LABELS, cache)
    before = snapshot(cache)

    second = run(sigmoid_model_id, images, LABELS, cache)

    assert encoded_since(cache, before) == (0, 0)
    pd.testing.assert_frame_equal(first, second)


def test_label_edit_encodes_new_prompts(sigmoid_model_id, images, tmp_path):
    cache = FeatureCache(tmp_path)
    run(sigmoid_model_id, images, LABELS, cache)
    before = snapshot(cache)

    edited = ["a red circle", "a blue rectangle", "a green triangle", "a yellow star"]
    table = run(sigmoid_model_id, images, edited, cache)

    assert encoded_since(cache, before) == (0, 2)
    assert list(table[table["image"] == "wide"]["label"]) == edited


def test_template_edit_encodes_new_prompts(sigmoid_model_id, images, tmp_path):
    cache = FeatureCache(tmp_path)
    core.classify(images, LABELS, sigmoid_model_id, templates="none", cache=cache)
    before = snapshot(cache)

    core.classify(images, LABELS, sigmoid_model_id, templates=["{}", "a photo of {}."], cache=cache)

    assert encoded_since(cache, before) == (0, len(LABELS))


def test_new_cache_reads_disk(sigmoid_model_id, images, tmp_path):
    first = run(sigmoid_model_id, images, LABELS, FeatureCache(tmp_path))

    reopened = FeatureCache(tmp_path)
    second = run(sigmoid_model_id, images, LABELS, reopened)

    assert snapshot(reopened) == (0, 0)
    pd.testing.assert_frame_equal(first, second)


@pytest.mark.parametrize("damage", [
    lambda data: b"",
    lambda data: b"not a numpy file",
    lambda data: b"\x93NUMPY\x01\x00garbage",
    lambda data: data[: len(data) - 8],  # the header is intact, the vector is cut short
], ids=["empty", "text", "bad-header", "cut-short"])
def test_corrupt_file_is_miss(sigmoid_model_id, images, tmp_path, damage, caplog):
    first = run(sigmoid_model_id, images, LABELS, FeatureCache(tmp_path))
    files = list(tmp_path.rglob("*.npy"))
    assert len(files) == len(images) + len(LABELS)
    for path in files:
        path.write_bytes(damage(path.read_bytes()))

    reopened = FeatureCache(tmp_path)
    with caplog.at_level(logging.WARNING, logger="core.features"):
        second = run(sigmoid_model_id, images, LABELS, reopened)

    assert snapshot(reopened) == (len(images), len(LABELS))
    pd.testing.assert_frame_equal(first, second)
    assert any("unreadable cached features" in record.getMessage() for record in caplog.records)


def test_corrupt_file_rewritten(sigmoid_model_id, images, tmp_path):
    run(sigmoid_model_id, images, LABELS, FeatureCache(tmp_path))
    for path in tmp_path.rglob("*.npy"):
        path.write_bytes(b"broken")
    run(sigmoid_model_id, images, LABELS, FeatureCache(tmp_path))

    third = FeatureCache(tmp_path)
    run(sigmoid_model_id, images, LABELS, third)

    assert snapshot(third) == (0, 0)


def test_duplicate_images_encoded_once(sigmoid_model_id, make_gradient_image, memory_cache):
    picture = make_gradient_image(40, 40)
    table = core.classify({"first": picture, "copy": picture.copy()}, LABELS, sigmoid_model_id,
                          cache=memory_cache)

    assert memory_cache.counts.images == 1
    first, copy = (table[table["image"] == name]["probability"].to_numpy() for name in ("first", "copy"))
    np.testing.assert_array_equal(first, copy)


def test_shared_prompts_encoded_once(sigmoid_model_id, images, memory_cache):
    english = core.make_phrasing_set("English", ["a red circle", "a blue square"])
    mixed = core.make_phrasing_set("Mixed", ["a red circle", "un cuadrado azul"])

    core.classify(images, [english, mixed], sigmoid_model_id, cache=memory_cache)

    assert memory_cache.counts.prompts == 3


def test_memory_cache_writes_nothing(sigmoid_model_id, images, memory_cache, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run(sigmoid_model_id, images, LABELS, memory_cache)

    assert memory_cache.directory is None
    assert list(tmp_path.iterdir()) == []


def test_default_cache_uses_environment(sigmoid_model_id, images, tmp_path, monkeypatch):
    monkeypatch.setenv("CLIP_COMPARE_CACHE", str(tmp_path / "configured"))
    core.classify(images, LABELS, sigmoid_model_id)

    assert default_cache_dir() == tmp_path / "configured"
    assert len(list((tmp_path / "configured").rglob("*.npy"))) == len(images) + len(LABELS)


def test_default_cache_dir_under_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv("CLIP_COMPARE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    assert default_cache_dir() == tmp_path / "clip-compare" / "features"


def test_unwritable_cache_still_classifies(sigmoid_model_id, images, tmp_path, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be", encoding="utf-8")
    cache = FeatureCache(blocker)

    with caplog.at_level(logging.WARNING, logger="core.features"):
        table = run(sigmoid_model_id, images, LABELS, cache)

    assert len(table) == len(images) * len(LABELS)
    assert any("Cannot write the feature cache" in record.getMessage() for record in caplog.records)


def test_memory_items_bounded():
    cache = FeatureCache(None, max_memory_items=2)
    for index in range(3):
        cache.put("text", "model", f"prompt {index}", np.full(4, index, np.float32))

    assert cache.get("text", "model", "prompt 0") is None
    np.testing.assert_array_equal(cache.get("text", "model", "prompt 2"), np.full(4, 2, np.float32))


def test_evicted_item_read_from_disk(tmp_path):
    cache = FeatureCache(tmp_path, max_memory_items=1)
    cache.put("image", "model", "first", np.ones(3, np.float32))
    cache.put("image", "model", "second", np.zeros(3, np.float32))

    np.testing.assert_array_equal(cache.get("image", "model", "first"), np.ones(3, np.float32))


def test_changed_weights_not_served_stale(sigmoid_model_dir, images, tmp_path):
    """Overwriting a local checkpoint changes the model fingerprint, so old features are not reused."""
    folder = tmp_path / "model"
    shutil.copytree(sigmoid_model_dir, folder)
    model_id = f"local-dir:{folder}"
    cache = FeatureCache(tmp_path / "features")
    first = run(model_id, images, LABELS, cache)

    weights = load_file(str(folder / "open_clip_model.safetensors"))
    weights["visual.proj"] = -weights["visual.proj"]
    save_file(weights, str(folder / "open_clip_model.safetensors"))
    unload_all()
    before = snapshot(cache)
    second = run(model_id, images, LABELS, cache)

    assert encoded_since(cache, before) == (len(images), len(LABELS))
    np.testing.assert_allclose(second["cosine"], -first["cosine"], atol=1e-5)
