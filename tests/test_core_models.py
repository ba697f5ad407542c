"""Model ids, the curated registry, where weights come from, and loading them safely."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import open_clip
import pytest
import torch
from safetensors.torch import load_file

import core
from core.errors import (
    ModelIdError,
    ModelLoadError,
    ModelNotAvailableError,
    UnsafeCheckpointError,
)
from core.loading import load_model, loaded_model_ids, missing_weights_message, unload_all
from core.registry import (
    CURATED_MODELS,
    DEMO_MODEL_DIR,
    DEMO_MODEL_ID,
    cached_checkpoint,
    curated_info,
    guess_family,
    hub_location,
    is_cached,
    parse_model_id,
)

REQUIRED_MODEL_IDS = (
    "ViT-B-32/openai",
    "ViT-B-32/laion2b_s34b_b79k",
    "xlm-roberta-base-ViT-B-32/laion5b_s13b_b90k",
    "ViT-B-16-SigLIP-i18n-256/webli",
    "MobileCLIP2-S0/dfndr2b",
)
DOWNLOADABLE_MODELS = [info for info in CURATED_MODELS if info.model_id != DEMO_MODEL_ID]


@pytest.fixture
def fresh_registry():
    """Start and end with no model loaded, so load counts are this test's own."""
    unload_all()
    yield
    unload_all()


# Model ids ---------------------------------------------------------------------------


@pytest.mark.parametrize("model_id, source, field, value", [
    ("ViT-B-32/openai", "pretrained", "architecture", "ViT-B-32"),
    ("ViT-B-32/openai", "pretrained", "pretrained_tag", "openai"),
    ("  ViT-B-32/openai  ", "pretrained", "pretrained_tag", "openai"),
    ("hf-hub:timm/ViT-B-16-SigLIP", "hf-hub", "hf_repo", "timm/ViT-B-16-SigLIP"),
    ("hf-hub:timm/ViT-B-16-SigLIP/", "hf-hub", "hf_repo", "timm/ViT-B-16-SigLIP"),
    ("local-dir:/models/my-clip", "local-dir", "local_dir", Path("/models/my-clip")),
    ("local-dir:relative/folder", "local-dir", "local_dir", Path("relative/folder")),
    ("demo", "local-dir", "local_dir", DEMO_MODEL_DIR),
])
def test_model_id_forms_parse(model_id, source, field, value):
    spec = parse_model_id(model_id)

    assert spec.source == source
    assert getattr(spec, field) == value


@pytest.mark.parametrize("model_id, expected_words", [
    ("", ["Empty model id"]),
    ("   ", ["Empty model id"]),
    ("hf-hub:", ["hf-hub: needs ORG/REPO"]),
    ("hf-hub:only-org", ["hf-hub: needs ORG/REPO"]),
    ("hf-hub:org/repo/extra", ["hf-hub: needs ORG/REPO"]),
    ("local-dir:", ["local-dir: needs a folder path"]),
    ("ViT-B-32", ["Unknown model id", "ARCH/TAG"]),
    ("ViT-B-32/opnai", ["Did you mean", "ViT-B-32/openai"]),
    ("ViT-B-23/openai", ["Did you mean", "ViT-B-32/openai"]),
    ("MobileCLIP2-S0/dfndr2", ["Did you mean", "MobileCLIP2-S0/dfndr2b"]),
    ("no-such-architecture/none", ["Unknown model id", "hf-hub:ORG/REPO", "local-dir:PATH"]),
])
def test_invalid_model_id_message(model_id, expected_words):
    with pytest.raises(ModelIdError) as raised:
        parse_model_id(model_id)

    for words in expected_words:
        assert words in str(raised.value)


def test_curated_list_has_required_models():
    curated_ids = {info.model_id for info in CURATED_MODELS}

    for model_id in REQUIRED_MODEL_IDS:
        assert model_id in curated_ids


@pytest.mark.parametrize("info", DOWNLOADABLE_MODELS, ids=lambda info: info.model_id)
def test_curated_model_in_open_clip(info):
    spec = parse_model_id(info.model_id)

    assert (spec.architecture, spec.pretrained_tag) in open_clip.list_pretrained()
    assert hub_location(spec) is not None


@pytest.mark.parametrize("info", CURATED_MODELS, ids=lambda info: info.model_id)
def test_curated_facts_complete(info):
    assert info.display_name
    assert info.family in ("softmax", "sigmoid")
    assert info.languages in ("English", "multilingual")
    assert info.params_m > 0
    assert info.download_mb > 0
    assert info.imagenet_top1 is None or 0 < info.imagenet_top1 < 100
    assert curated_info(info.model_id) is info
    assert guess_family(info.model_id) == info.family


@pytest.mark.parametrize("model_id, family", [
    ("ViT-B-16-SigLIP-i18n-256/webli", "sigmoid"),
    ("ViT-B-32/openai", "softmax"),
    ("hf-hub:timm/ViT-SO400M-14-SigLIP", "sigmoid"),
    ("local-dir:/models/plain-clip", "softmax"),
])
def test_family_guessed_from_id(model_id, family):
    assert guess_family(model_id) == family


# Weights in the Hugging Face cache ---------------------------------------------------------


@pytest.mark.parametrize("info", DOWNLOADABLE_MODELS, ids=lambda info: info.model_id)
def test_curated_not_cached_when_empty(info):
    assert is_cached(info.model_id) is False


@pytest.mark.parametrize("info", DOWNLOADABLE_MODELS, ids=lambda info: info.model_id)
def test_offline_missing_weights_message(info, fresh_registry):
    with pytest.raises(ModelNotAvailableError) as raised:
        load_model(info.model_id)

    message = str(raised.value)
    assert info.model_id in message
    assert f"{info.download_mb:,} MB" in message
    assert f"python -m core download {info.model_id}" in message
    assert "HF_HUB_OFFLINE" in message


def test_offline_message_without_curated_size():
    message = missing_weights_message("ViT-L-14/openai", offline=True)

    assert "ViT-L-14/openai" in message
    assert "MB" not in message
    assert "local-dir:PATH" in message


def make_hub_cache_entry(hub_cache: Path, repo: str, filename: str, source: Path,
                         revision: str = "0123456789abcdef0123456789abcdef01234567") -> Path:
    """Place ``source`` in huggingface_hub's cache layout as ``repo``'s ``filename`` at ``main``."""
    repo_folder = hub_cache / ("models--" + repo.replace("/", "--"))
    (repo_folder / "refs").mkdir(parents=True)
    (repo_folder / "refs" / "main").write_text(revision)
    blob = repo_folder / "blobs" / "checkpoint-blob"
    blob.parent.mkdir()
    blob.symlink_to(source)
    snapshot_file = repo_folder / "snapshots" / revision / filename
    snapshot_file.parent.mkdir(parents=True)
    snapshot_file.symlink_to(blob)
    return snapshot_file


def test_hub_cache_file_found(hub_cache, sigmoid_model_dir):
    checkpoint = sigmoid_model_dir / "open_clip_model.safetensors"
    expected = make_hub_cache_entry(hub_cache, "someone/tiny-clip", "open_clip_model.safetensors", checkpoint)

    assert is_cached("hf-hub:someone/tiny-clip") is True
    assert cached_checkpoint(parse_model_id("hf-hub:someone/tiny-clip")) == expected


def test_hub_cache_other_repo_missing(hub_cache, sigmoid_model_dir):
    checkpoint = sigmoid_model_dir / "open_clip_model.safetensors"
    make_hub_cache_entry(hub_cache, "someone/tiny-clip", "open_clip_model.safetensors", checkpoint)

    assert is_cached("hf-hub:someone/other-clip") is False
    assert is_cached("ViT-B-32/openai") is False


def test_curated_model_loads_from_cache(hub_cache, vit_b32_dir, fresh_registry):
    """A curated id loads offline once its checkpoint is in the hub cache, with its tag's settings."""
    checkpoint = vit_b32_dir / "open_clip_model.safetensors"
    repo, filenames = hub_location(parse_model_id("ViT-B-32/openai"))
    cached_file = make_hub_cache_entry(hub_cache, repo, filenames[0], checkpoint)

    loaded = load_model("ViT-B-32/openai", device="cpu")

    assert is_cached("ViT-B-32/openai") is True
    assert loaded.checkpoint == cached_file
    assert loaded.family == "softmax"
    assert loaded.context_length == 77
    assert loaded.logit_scale == pytest.approx(100.0, rel=1e-3)
    expected_weight = load_file(str(checkpoint))["visual.conv1.weight"]
    assert torch.equal(loaded.model.visual.conv1.weight.detach().cpu(), expected_weight)


# Local checkpoints -------------------------------------------------------------------


def test_safetensors_folder_loads(sigmoid_model_id, sigmoid_model_dir):
    loaded = load_model(sigmoid_model_id, device="cpu")

    assert loaded.checkpoint == sigmoid_model_dir / "open_clip_model.safetensors"
    assert loaded.family == "sigmoid"
    assert loaded.logit_bias == pytest.approx(-10.0)
    assert loaded.context_length == 16


def test_weights_only_bin_loads(bin_checkpoint_dir):
    loaded = load_model(f"local-dir:{bin_checkpoint_dir}", device="cpu")

    expected = torch.load(bin_checkpoint_dir / "open_clip_pytorch_model.bin", weights_only=True)
    assert loaded.checkpoint.suffix == ".bin"
    assert loaded.family == "softmax"
    assert torch.equal(loaded.model.token_embedding.weight.detach(), expected["token_embedding.weight"])


def test_pickle_checkpoint_rejected(unsafe_checkpoint_dir, unpickled_marker):
    with pytest.raises(UnsafeCheckpointError) as raised:
        load_model(f"local-dir:{unsafe_checkpoint_dir}", device="cpu")

    message = str(raised.value)
    assert "open_clip_pytorch_model.bin" in message
    assert "unpickling" in message
    assert "arbitrary code" in message
    assert "safetensors" in message
    assert not unpickled_marker.exists()


def test_rejected_checkpoint_not_remembered(unsafe_checkpoint_dir):
    """A failed load is not cached as a model: the next call raises again."""
    model_id = f"local-dir:{unsafe_checkpoint_dir}"
    for _ in range(2):
        with pytest.raises(UnsafeCheckpointError):
            load_model(model_id, device="cpu")

    assert model_id not in loaded_model_ids()


def remove_folder(folder: Path) -> None:
    shutil.rmtree(folder)


def remove_config(folder: Path) -> None:
    (folder / "open_clip_config.json").unlink()


def remove_checkpoint(folder: Path) -> None:
    (folder / "open_clip_model.safetensors").unlink()


def corrupt_config(folder: Path) -> None:
    (folder / "open_clip_config.json").write_text("{not json", encoding="utf-8")


def shrink_embed_dim(folder: Path) -> None:
    config = json.loads((folder / "open_clip_config.json").read_text(encoding="utf-8"))
    config["model_cfg"]["embed_dim"] = 16
    (folder / "open_clip_config.json").write_text(json.dumps(config), encoding="utf-8")


def truncate_checkpoint(folder: Path) -> None:
    path = folder / "open_clip_model.safetensors"
    path.write_bytes(path.read_bytes()[:1000])


@pytest.mark.parametrize("damage, error_type, expected_words", [
    (remove_folder, ModelNotAvailableError, ["folder not found"]),
    (remove_config, ModelLoadError, ["open_clip_config.json"]),
    (remove_checkpoint, ModelLoadError, ["no checkpoint"]),
    (corrupt_config, ModelLoadError, ["cannot be built"]),
    (shrink_embed_dim, ModelLoadError, ["cannot be built"]),
    (truncate_checkpoint, ModelLoadError, ["cannot be built"]),
], ids=lambda value: getattr(value, "__name__", None))
def test_broken_local_folder_message(tmp_path, sigmoid_model_dir, damage, error_type, expected_words):
    folder = tmp_path / "model"
    folder.mkdir()
    for name in ("open_clip_config.json", "open_clip_model.safetensors"):
        (folder / name).write_bytes((sigmoid_model_dir / name).read_bytes())
    damage(folder)

    with pytest.raises(error_type) as raised:
        load_model(f"local-dir:{folder}", device="cpu")

    assert f"local-dir:{folder}" in str(raised.value)
    for words in expected_words:
        assert words in str(raised.value)


def test_bad_model_collected_others_go_on(demo_model_dir, red_circle, memory_cache):
    table = core.classify(red_circle, ["a red circle", "a blue square"], ["demo", "ViT-B-32/opnai"],
                          errors="collect", cache=memory_cache)

    assert set(table["model"]) == {"demo"}
    (error,) = table.attrs["errors"]
    assert error["kind"] == "model"
    assert error["name"] == "ViT-B-32/opnai"
    assert "Did you mean" in error["message"]


def test_bad_model_raises_by_default(red_circle, memory_cache):
    with pytest.raises(ModelIdError):
        core.classify(red_circle, ["a red circle", "a blue square"], "ViT-B-32/opnai", cache=memory_cache)


# One instance per model id --------------------------------------------------------------


def test_load_twice_same_object(sigmoid_model_id):
    first = load_model(sigmoid_model_id, device="cpu")
    second = load_model(sigmoid_model_id, device="cpu")

    assert first is second


def test_switching_models_loads_each_once(sigmoid_model_id, bin_checkpoint_dir, demo_model_dir,
                                          fresh_registry, build_calls):
    model_ids = [sigmoid_model_id, f"local-dir:{bin_checkpoint_dir}", DEMO_MODEL_ID]
    first_instances = {model_id: load_model(model_id, device="cpu") for model_id in model_ids}

    for _ in range(10):
        for model_id in model_ids + model_ids[::-1]:
            assert load_model(model_id, device="cpu") is first_instances[model_id]

    assert sorted(build_calls) == sorted(model_ids)
    assert sorted(loaded_model_ids()) == sorted(model_ids)


def test_unload_all_forgets_models(sigmoid_model_id, fresh_registry, build_calls):
    first = load_model(sigmoid_model_id, device="cpu")
    unload_all()
    second = load_model(sigmoid_model_id, device="cpu")

    assert first is not second
    assert build_calls == [sigmoid_model_id, sigmoid_model_id]
