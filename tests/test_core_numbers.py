"""Probabilities from core.classify against independent implementations on the same weights.

The random ViT-B-32 folder is compared with open_clip's own forward pass and with
the original OpenAI implementation (the ``openai-clip`` package), each using its own
preprocess and tokenizer. The tiny sigmoid-family model is checked against the
SigLIP formula worked out from its saved logit scale and logit bias.
"""

from __future__ import annotations

import warnings

import numpy as np
import open_clip
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

import core

# Landscape and portrait, so that the centre crop cuts different sides.
IMAGE_SIZES = {"landscape": (320, 200), "portrait": (180, 300)}
LABELS = ["a diagram of a circle", "a photo of a dog", "a red and green gradient", "an empty room"]
TOLERANCE = 1e-4


def probabilities_of(table: pd.DataFrame, image: str) -> np.ndarray:
    """Return one image's probabilities in label order."""
    rows = table[table["image"] == image].sort_values("label_index")
    return rows["probability"].to_numpy()


@pytest.fixture(scope="module")
def test_images(make_gradient_image):
    return {name: make_gradient_image(*size) for name, size in IMAGE_SIZES.items()}


@pytest.fixture(scope="module")
def core_table(vit_b32_id, test_images):
    return core.classify(test_images, LABELS, vit_b32_id, cache=core.FeatureCache(None))


@pytest.fixture(scope="module")
def open_clip_probabilities(vit_b32_id, test_images) -> dict[str, np.ndarray]:
    """Probabilities from open_clip's CLIP.forward, outside core."""
    model, _, preprocess = open_clip.create_model_and_transforms(vit_b32_id)
    tokenizer = open_clip.get_tokenizer(vit_b32_id)
    model.eval()
    result = {}
    with torch.no_grad():
        for name, image in test_images.items():
            image_features, text_features, logit_scale = model(preprocess(image)[None], tokenizer(LABELS))[:3]
            logits = logit_scale * image_features @ text_features.T
            result[name] = logits.softmax(dim=-1)[0].numpy()
    return result


@pytest.fixture(scope="module")
def openai_probabilities(vit_b32_dir, test_images) -> dict[str, np.ndarray]:
    """Probabilities from the original OpenAI implementation built from the same state dict."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openai-clip imports the deprecated pkg_resources.
        import clip

    state_dict = load_file(str(vit_b32_dir / "open_clip_model.safetensors"))
    model = clip.model.build_model(dict(state_dict)).float().eval()
    preprocess = clip.clip._transform(model.visual.input_resolution)
    tokens = clip.tokenize(LABELS)
    result = {}
    with torch.no_grad():
        for name, image in test_images.items():
            logits_per_image, _ = model(preprocess(image)[None], tokens)
            result[name] = logits_per_image.softmax(dim=-1)[0].numpy()
    return result


@pytest.mark.parametrize("image", IMAGE_SIZES)
def test_matches_open_clip_forward(core_table, open_clip_probabilities, image):
    np.testing.assert_allclose(probabilities_of(core_table, image), open_clip_probabilities[image],
                               atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("image", IMAGE_SIZES)
def test_matches_openai_implementation(core_table, openai_probabilities, image):
    np.testing.assert_allclose(probabilities_of(core_table, image), openai_probabilities[image],
                               atol=TOLERANCE, rtol=0)


def test_reference_probabilities_are_informative(openai_probabilities):
    """Near-uniform or image-independent probabilities would let a wrong preprocess pass."""
    landscape, portrait = openai_probabilities["landscape"], openai_probabilities["portrait"]
    assert landscape.max() - landscape.min() > 0.05
    assert portrait.max() - portrait.min() > 0.05
    assert np.abs(landscape - portrait).max() > 100 * TOLERANCE


def test_vit_b32_table_shape(core_table):
    assert list(core_table.columns) == core.RESULT_COLUMNS
    assert len(core_table) == len(IMAGE_SIZES) * len(LABELS)
    assert set(core_table["probability_kind"]) == {"softmax"}


@pytest.fixture(scope="module")
def sigmoid_table(sigmoid_model_id, make_gradient_image):
    return core.classify({"picture": make_gradient_image(64, 48)}, LABELS, sigmoid_model_id,
                         cache=core.FeatureCache(None))


def test_sigmoid_model_probability_kind(sigmoid_table):
    assert set(sigmoid_table["probability_kind"]) == {"sigmoid"}


def test_sigmoid_probabilities_by_hand(sigmoid_table, sigmoid_model_dir):
    weights = load_file(str(sigmoid_model_dir / "open_clip_model.safetensors"))
    logit_scale = float(weights["logit_scale"].exp())
    logit_bias = float(weights["logit_bias"])
    cosine = sigmoid_table["cosine"].to_numpy()

    expected = 1.0 / (1.0 + np.exp(-(logit_scale * cosine + logit_bias)))

    np.testing.assert_allclose(sigmoid_table["probability"].to_numpy(), expected, rtol=1e-9)


def test_sigmoid_cosine_matches_open_clip(sigmoid_table, sigmoid_model_id, make_gradient_image):
    model, _, preprocess = open_clip.create_model_and_transforms(sigmoid_model_id)
    tokenizer = open_clip.get_tokenizer(sigmoid_model_id)
    model.eval()
    with torch.no_grad():
        image_features, text_features, _, logit_bias = model(
            preprocess(make_gradient_image(64, 48))[None], tokenizer(LABELS))
    expected = (image_features @ text_features.T)[0].numpy()

    assert logit_bias is not None
    np.testing.assert_allclose(sigmoid_table["cosine"].to_numpy(), expected, atol=1e-5)


def test_sigmoid_probabilities_not_normalised(sigmoid_table):
    assert abs(sigmoid_table["probability"].sum() - 1.0) > 0.5


def test_sigmoid_label_scored_alone(sigmoid_table, sigmoid_model_id, make_gradient_image):
    """Adding labels never changes a sigmoid label's probability (float32 batch noise aside)."""
    alone = core.classify({"picture": make_gradient_image(64, 48)}, LABELS[:1], sigmoid_model_id,
                          cache=core.FeatureCache(None))

    assert len(alone) == 1
    assert alone["probability"].iloc[0] == pytest.approx(sigmoid_table["probability"].iloc[0], rel=1e-5)
