"""The fast CPU mode: ``@int8`` model ids, the quantised model, and agreement with float32."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch

import core
from core.classify import RESULT_COLUMNS
from core.demo import captions
from core.errors import ModelIdError, ModelLoadError
from core.fast import (
    QuantizableSelfAttention,
    agreement,
    agreements,
    float32_twin,
    make_attention_quantizable,
)
from core.features import FeatureCache, encode_text
from core.loading import load_model
from core.registry import curated_info, parse_model_id, split_precision


@pytest.mark.parametrize("model_id, base, precision", [
    ("demo", "demo", "fp32"),
    ("demo@int8", "demo", "int8"),
    ("ViT-B-32/openai@int8", "ViT-B-32/openai", "int8"),
    ("hf-hub:timm/ViT-B-16-SigLIP@int8", "hf-hub:timm/ViT-B-16-SigLIP", "int8"),
    ("local-dir:/models/clip@int8", "local-dir:/models/clip", "int8"),
    # A folder name may hold "@": unknown suffixes stay in the path, and a trailing
    # slash keeps "@int8" in it too.
    ("local-dir:/models/clip@v2", "local-dir:/models/clip@v2", "fp32"),
    ("local-dir:/models/clip@int8/", "local-dir:/models/clip@int8/", "fp32"),
])
def test_split_precision_forms(model_id, base, precision):
    assert split_precision(model_id) == (base, precision)


@pytest.mark.parametrize("model_id", ["demo@fp16", "ViT-B-32/openai@fp32", "hf-hub:org/repo@int4"])
def test_unknown_precision_rejected(model_id):
    with pytest.raises(ModelIdError, match="@int8"):
        parse_model_id(model_id)


def test_parse_int8_model_id():
    spec = parse_model_id("ViT-B-32/openai@int8")
    assert spec.model_id == "ViT-B-32/openai@int8"
    assert spec.base_model_id == "ViT-B-32/openai"
    assert spec.precision == "int8"
    assert (spec.architecture, spec.pretrained_tag) == ("ViT-B-32", "openai")
    assert parse_model_id("demo@int8").is_demo


def test_int8_id_shares_curated_facts():
    assert curated_info("ViT-B-32/openai@int8") == curated_info("ViT-B-32/openai")


def test_float32_twin():
    assert float32_twin("demo@int8") == "demo"
    assert float32_twin("demo") is None


def test_attention_rewrite_keeps_outputs(bin_checkpoint_dir):
    """Before any quantisation, the rewritten attention computes what MultiheadAttention did."""
    reference = load_model(f"local-dir:{bin_checkpoint_dir}", device="cpu").model
    rewritten = make_attention_quantizable(copy.deepcopy(reference))
    assert any(isinstance(module, QuantizableSelfAttention) for module in rewritten.modules())

    pixels = torch.rand(3, 3, 32, 32)
    tokens = torch.randint(1, 1000, (4, 16))
    with torch.inference_mode():
        torch.testing.assert_close(rewritten.encode_image(pixels), reference.encode_image(pixels))
        torch.testing.assert_close(rewritten.encode_text(tokens), reference.encode_text(tokens))


@pytest.mark.parametrize("suffix", ["", "@int8"])
def test_trimmed_text_matches_open_clip(bin_checkpoint_dir, suffix):
    """Dropping the padding after the last end-of-text token leaves every text feature as it was."""
    loaded = load_model(f"local-dir:{bin_checkpoint_dir}{suffix}", device="cpu")
    tokens = loaded.tokenize(["a cat", "a photo of a very small dog on a bench", "car"])
    assert tokens.argmax(dim=-1).max() + 1 < tokens.shape[1]
    with torch.inference_mode():
        expected = loaded.model.encode_text(tokens, normalize=True)
        trimmed = encode_text(loaded.model, tokens)
    # int8 activations are quantised with one scale per batch, and padding rows shift that scale.
    tolerance = 1e-5 if not suffix else 0.05
    torch.testing.assert_close(trimmed, expected, atol=tolerance, rtol=0)


def test_int8_model_is_quantised(bin_checkpoint_dir):
    model_id = f"local-dir:{bin_checkpoint_dir}"
    float32, int8 = load_model(model_id, device="cpu"), load_model(f"{model_id}@int8", device="cpu")

    quantised = [module for module in int8.model.modules() if isinstance(module, torch.ao.nn.quantized.dynamic.Linear)]
    assert quantised
    assert not any(isinstance(module, torch.nn.MultiheadAttention) for module in int8.model.transformer.modules())
    assert int8.precision == "int8"
    assert float32.precision == "fp32"
    assert int8.fingerprint != float32.fingerprint


def test_int8_features_follow_float32(sigmoid_model_id, make_gradient_image):
    """Quantisation moves the features a little, and keeps the family and the logit scale and bias."""
    images = [make_gradient_image(48 + 8 * index, 40) for index in range(3)]
    labels = ["a cat", "a dog", "a photo of a car"]
    table = core.classify(images, labels, [sigmoid_model_id, f"{sigmoid_model_id}@int8"],
                          cache=FeatureCache(None), device="cpu")

    float32 = table[table["model"] == sigmoid_model_id]
    int8 = table[table["model"] == f"{sigmoid_model_id}@int8"]
    assert set(int8["probability_kind"]) == {"sigmoid"}
    np.testing.assert_allclose(int8["cosine"].to_numpy(), float32["cosine"].to_numpy(), atol=0.05)


def test_int8_needs_cpu():
    with pytest.raises(ModelLoadError, match="CPU"):
        load_model("demo@int8", device="meta")


def test_demo_int8_classifies_red_circle(demo_model_dir, red_circle):
    labels = captions("en")
    table = core.classify(red_circle, labels, "demo@int8", cache=FeatureCache(None), device="cpu")
    top = table.loc[table["rank"] == 1, "label"].item()
    assert top == "a red circle"
    assert table.loc[table["label"] == "a red circle", "probability"].item() > 0.5


def test_demo_int8_keeps_own_features(demo_model_dir, red_circle):
    """The fast model has its own fingerprint, so it never reads float32 features from the cache."""
    cache = FeatureCache(None)
    labels = captions("en")
    core.classify(red_circle, labels, "demo", cache=cache, device="cpu")
    core.classify(red_circle, labels, "demo@int8", cache=cache, device="cpu")

    assert load_model("demo@int8", device="cpu").fingerprint != load_model("demo", device="cpu").fingerprint
    assert cache.counts.images == 2
    assert cache.counts.prompts == 2 * len(labels)


def test_demo_int8_agrees_with_float32(demo_model_dir, red_circle):
    table = core.classify(red_circle, captions("en"), ["demo", "demo@int8"], cache=FeatureCache(None), device="cpu")
    [comparison] = agreements(table)
    assert comparison.fast_model == "demo@int8"
    assert comparison.reference_model == "demo"
    assert comparison.top1_agreement == 1.0
    assert comparison.max_probability_difference < 0.2


def result_table(model: str, probabilities: dict[str, list[float]], phrasing: str = "English",
                 kind: str = "softmax") -> pd.DataFrame:
    """Build a classify-shaped table from probabilities per image name (image content = its name)."""
    labels = ["cat", "dog", "car"]
    rows = []
    for image, values in probabilities.items():
        order = np.argsort(-np.asarray(values), kind="stable")
        ranks = np.empty(len(values), dtype=int)
        ranks[order] = np.arange(1, len(values) + 1)
        for index, (label, value) in enumerate(zip(labels, values)):
            rows.append({
                "image": image, "image_sha256": f"sha-{image}", "model": model, "phrasing": phrasing,
                "label_index": index, "label": label, "prompt": label, "tokens": 3, "truncated": False,
                "cosine": 0.0, "logit": 0.0, "probability": value, "probability_kind": kind,
                "rank": int(ranks[index]),
            })
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def test_agreement_counts_top_label_changes():
    fp32 = result_table("m", {"a": [0.7, 0.2, 0.1], "b": [0.45, 0.40, 0.15], "c": [0.1, 0.1, 0.8]})
    fast = result_table("m@int8", {"c": [0.12, 0.1, 0.78], "b": [0.40, 0.46, 0.14], "a": [0.68, 0.22, 0.1]})

    result = agreement(fast, fp32)

    assert result.fast_model == "m@int8"
    assert result.reference_model == "m"
    assert result.pairs == 3
    assert result.top1_agreement == pytest.approx(2 / 3)
    assert result.max_probability_difference == pytest.approx(0.06)
    assert result.disagreements == ("b",)


def test_agreement_ignores_duplicate_pictures():
    fp32 = result_table("m", {"a": [0.7, 0.2, 0.1]})
    fast = result_table("m@int8", {"a": [0.6, 0.3, 0.1]})
    twice = pd.concat([fast, fast.assign(image="a copy")], ignore_index=True)
    result = agreement(twice, fp32)
    assert result.pairs == 1
    assert result.top1_agreement == 1.0
    assert result.max_probability_difference == pytest.approx(0.1)


def test_agreement_per_phrasing():
    fp32 = pd.concat([result_table("m", {"a": [0.7, 0.2, 0.1]}, "English"),
                      result_table("m", {"a": [0.5, 0.3, 0.2]}, "Español")])
    fast = pd.concat([result_table("m@int8", {"a": [0.7, 0.2, 0.1]}, "English"),
                      result_table("m@int8", {"a": [0.3, 0.5, 0.2]}, "Español")])
    result = agreement(fast, fp32)
    assert result.pairs == 2
    assert result.top1_agreement == 0.5


def test_agreement_rejects_two_models():
    both = pd.concat([result_table("m", {"a": [0.7, 0.2, 0.1]}), result_table("n", {"a": [0.7, 0.2, 0.1]})])
    with pytest.raises(ValueError, match="one model"):
        agreement(both, result_table("m", {"a": [0.7, 0.2, 0.1]}))


def test_agreement_rejects_mixed_kinds():
    fast = result_table("m@int8", {"a": [0.7, 0.2, 0.1]}, kind="sigmoid")
    with pytest.raises(ValueError, match="kinds of probability"):
        agreement(fast, result_table("m", {"a": [0.7, 0.2, 0.1]}))


def test_agreement_needs_shared_rows():
    with pytest.raises(ValueError, match="share no"):
        agreement(result_table("m@int8", {"a": [0.7, 0.2, 0.1]}), result_table("m", {"b": [0.7, 0.2, 0.1]}))


def test_agreements_pair_models_in_one_table():
    table = pd.concat([
        result_table("m", {"a": [0.7, 0.2, 0.1]}),
        result_table("m@int8", {"a": [0.6, 0.3, 0.1]}),
        result_table("other@int8", {"a": [0.6, 0.3, 0.1]}),
    ], ignore_index=True)
    [result] = agreements(table)
    assert (result.fast_model, result.reference_model) == ("m@int8", "m")
