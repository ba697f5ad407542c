"""Labels, phrasing sets, templates and template ensembles."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from open_clip.zero_shot_metadata import OPENAI_IMAGENET_TEMPLATES, SIMPLE_IMAGENET_TEMPLATES

import core
import core.features
from core.errors import PhrasingError
from core.features import FeatureCache, encode_images, encode_prompts
from core.images import load_image
from core.loading import load_model
from core.prompts import TEMPLATE_SETS, make_phrasing_set, split_label_text

# 40 three-digit numbers: CLIP's BPE splits numbers into single digits, so the
# prompt is 40 × 3 digit tokens + start and end of text = 122 tokens.
NUMBERS_LABEL = " ".join(str(number) for number in range(100, 140))
NUMBERS_LABEL_TOKENS = 122


# Token counts and truncation -------------------------------------------------------------


@pytest.fixture(scope="module")
def long_label_table(vit_b32_id, make_gradient_image):
    return core.classify({"picture": make_gradient_image(64, 64)}, [NUMBERS_LABEL, "a cat"], vit_b32_id,
                         cache=FeatureCache(None))


def prompt_info(table, label: str) -> dict:
    (info,) = [info for info in table.attrs["prompts"] if info["label"] == label]
    return info


def test_long_label_token_count(long_label_table):
    info = prompt_info(long_label_table, NUMBERS_LABEL)

    assert info["tokens"] == NUMBERS_LABEL_TOKENS
    assert info["context_length"] == 77
    assert info["truncated"] is True


def test_short_label_token_count(long_label_table):
    info = prompt_info(long_label_table, "a cat")

    assert info["tokens"] == 4  # start, "a", "cat", end
    assert info["truncated"] is False


def test_long_label_row_marked_truncated(long_label_table):
    rows = long_label_table.set_index("label")

    assert bool(rows.loc[NUMBERS_LABEL, "truncated"]) is True
    assert rows.loc[NUMBERS_LABEL, "tokens"] == NUMBERS_LABEL_TOKENS
    assert bool(rows.loc["a cat", "truncated"]) is False
    assert np.isfinite(rows["probability"]).all()


def test_long_label_warning_names_label(long_label_table):
    (warning,) = long_label_table.attrs["warnings"]

    assert NUMBERS_LABEL in warning
    assert f"{NUMBERS_LABEL_TOKENS} tokens" in warning
    assert "truncated" in warning


def test_long_label_logged(demo_model_dir, red_circle, memory_cache, caplog):
    with caplog.at_level(logging.WARNING, logger="core"):
        core.classify(red_circle, [NUMBERS_LABEL, "a red circle"], "demo", cache=memory_cache)

    assert any(NUMBERS_LABEL in record.getMessage() for record in caplog.records)


def test_long_label_ensemble_warns_once(demo_model_dir, red_circle, memory_cache):
    table = core.classify(red_circle, [NUMBERS_LABEL, "a red circle"], "demo", templates="imagenet7",
                          cache=memory_cache)

    (warning,) = table.attrs["warnings"]
    assert NUMBERS_LABEL in warning
    assert "7 of the 7 prompts" in warning


# Label count ------------------------------------------------------------------------------


def test_single_label_softmax_rejected(demo_model_dir, red_circle, memory_cache):
    with pytest.raises(PhrasingError) as raised:
        core.classify(red_circle, ["a red circle"], "demo", cache=memory_cache)

    message = str(raised.value)
    assert "one label" in message
    assert "softmax" in message
    assert "Add at least one more label" in message


def test_single_label_collected_no_rows(demo_model_dir, red_circle, memory_cache):
    table = core.classify(red_circle, ["a red circle"], "demo", errors="collect", cache=memory_cache)

    assert table.empty
    assert [error["kind"] for error in table.attrs["errors"]] == ["phrasing"]


def test_single_label_sigmoid_allowed(sigmoid_model_id, red_circle, memory_cache):
    table = core.classify(red_circle, ["a red circle"], sigmoid_model_id, cache=memory_cache)

    assert len(table) == 1
    assert table["probability"].iloc[0] < 1.0


# Blank, duplicate and unusual labels -------------------------------------------------------


@pytest.mark.parametrize("labels, position", [
    (["cat", ""], "label 2"),
    (["cat", "   "], "label 2"),
    (["", "dog", "cat"], "label 1"),
    (["cat", "\n", "dog", "\t"], "label 2, 4"),
])
def test_blank_label_rejected(labels, position):
    with pytest.raises(PhrasingError) as raised:
        make_phrasing_set("English", labels)

    assert position in str(raised.value)
    assert "blank" in str(raised.value)


def test_blank_label_rejected_by_classify(red_circle, memory_cache):
    with pytest.raises(PhrasingError, match="blank"):
        core.classify(red_circle, ["a red circle", ""], "demo", errors="collect", cache=memory_cache)


@pytest.mark.parametrize("text, labels, dropped", [
    ("cat, dog,", ["cat", "dog"], 1),
    ("cat,dog", ["cat", "dog"], 0),
    (",, cat", ["cat"], 2),
    ("cat\ndog\n", ["cat", "dog"], 0),
    ("cat\n\ndog\n\n", ["cat", "dog"], 2),
    ("un gato, negro\nun perro", ["un gato, negro", "un perro"], 0),
    ("a red circle", ["a red circle"], 0),
    ("   ", [], 1),
])
def test_split_label_text_drops_blanks(text, labels, dropped):
    assert split_label_text(text) == (labels, dropped)


@pytest.mark.parametrize("labels, expected_words", [
    (["cat", "dog", "cat"], ["'cat'", "labels 1 and 3"]),
    (["cat", " cat "], ["'cat'", "labels 1 and 2"]),
    (["a", "b", "a", "b"], ["'a' (labels 1 and 3)", "'b' (labels 2 and 4)"]),
])
def test_duplicate_labels_reported(labels, expected_words):
    with pytest.raises(PhrasingError) as raised:
        make_phrasing_set("English", labels)

    for words in expected_words:
        assert words in str(raised.value)


@pytest.mark.parametrize("labels, templates, expected_words", [
    ("a red circle", "none", "not one string"),
    ([], "none", "has no labels"),
    (["cat", "dog"], "a photo of a cat", "has no {}"),
    (["cat", "dog"], [], "No templates"),
])
def test_invalid_phrasing_message(labels, templates, expected_words):
    with pytest.raises(PhrasingError, match=expected_words):
        make_phrasing_set("English", labels, templates)


def test_phrasing_set_needs_name():
    with pytest.raises(PhrasingError, match="name"):
        make_phrasing_set("  ", ["cat", "dog"])


def test_phrasing_set_names_differ():
    first = make_phrasing_set("English", ["cat", "dog"])
    second = make_phrasing_set("English", ["gato", "perro"])

    with pytest.raises(PhrasingError, match="names must differ"):
        core.classify([], [first, second], "demo")


UNUSUAL_LABELS = [
    "un círculo rojo",
    "ñandú pingüino",
    "🔴 a red circle",
    "🐈‍⬛",
    "  padded label  ",
    "tab\tseparated",
    "日本語のラベル",
    "{braces} and % signs",
    "\u200b",  # a zero-width space is not whitespace to str.strip
]


def test_unusual_labels_classified(demo_model_dir, red_circle, memory_cache):
    table = core.classify(red_circle, UNUSUAL_LABELS, "demo", cache=memory_cache)

    assert list(table["label"]) == [label.strip() for label in UNUSUAL_LABELS]
    assert table["probability"].sum() == pytest.approx(1.0)
    assert (table["tokens"] >= 2).all()
    assert table.attrs["errors"] == []


def test_braces_in_label_kept(demo_model_dir):
    phrasing = make_phrasing_set("English", ["{braces}", "{}"], ["a photo of {}."])

    assert phrasing.prompts("{braces}") == ["a photo of {braces}."]
    assert phrasing.prompts("{}") == ["a photo of {}."]


def test_thousands_of_labels_chunked(demo_model_dir, red_circle, memory_cache, monkeypatch):
    labels = [f"label number {index}" for index in range(3000)]
    batch_sizes = []
    encode = core.features.encode_prompts

    def recording_encode(loaded, prompts, cache):
        batch_sizes.append(len(prompts))
        return encode(loaded, prompts, cache)

    monkeypatch.setattr(core.features, "encode_prompts", recording_encode)
    table = core.classify(red_circle, labels, "demo", cache=memory_cache)

    assert len(table) == len(labels)
    assert table["probability"].sum() == pytest.approx(1.0)
    assert sorted(table["rank"]) == list(range(1, len(labels) + 1))
    assert max(batch_sizes) <= core.features.LABEL_CHUNK
    assert sum(batch_sizes) == len(labels)
    assert memory_cache.counts.prompts == len(labels)


# Templates ------------------------------------------------------------------------------


@pytest.mark.parametrize("name, count", [("none", 1), ("photo", 1), ("imagenet7", 7), ("imagenet80", 80),
                                         ("foto", 1), ("es7", 7)])
def test_builtin_template_counts(name, count):
    templates = TEMPLATE_SETS[name]

    assert len(templates) == count
    assert len(set(templates)) == count
    assert all(template.count("{}") == 1 for template in templates)


def test_imagenet_sets_match_open_clip():
    assert TEMPLATE_SETS["imagenet80"] == tuple(template("{}") for template in OPENAI_IMAGENET_TEMPLATES)
    assert TEMPLATE_SETS["imagenet7"] == tuple(template("{}") for template in SIMPLE_IMAGENET_TEMPLATES)


def test_spanish_sets_present():
    assert TEMPLATE_SETS["foto"] == ("una foto de {}.",)
    assert "una foto de {}." in TEMPLATE_SETS["es7"]
    assert all(template.startswith(("un ", "una ")) for template in TEMPLATE_SETS["es7"])


@pytest.mark.parametrize("templates, label, expected", [
    ("none", "a red circle", ["a red circle"]),
    ("photo", "red circle", ["a photo of a red circle."]),
    ("foto", "un círculo rojo", ["una foto de un círculo rojo."]),
    (["{}", "a photo of {}."], "a red circle", ["a red circle", "a photo of a red circle."]),
    ("a drawing of {}!", "a cat", ["a drawing of a cat!"]),
])
def test_prompts_from_templates(templates, label, expected):
    assert make_phrasing_set("English", [label, "other"], templates).prompts(label) == expected


def test_prompts_recorded_exactly(demo_model_dir, red_circle, memory_cache):
    templates = ["{}", "a photo of {}."]
    table = core.classify(red_circle, ["a red circle", "a blue square"], "demo", templates=templates,
                          cache=memory_cache)

    assert list(table["prompt"]) == ["a red circle | a photo of a red circle.",
                                     "a blue square | a photo of a blue square."]
    recorded = [(info["label"], info["prompt"]) for info in table.attrs["prompts"]]
    assert recorded == [
        ("a red circle", "a red circle"),
        ("a red circle", "a photo of a red circle."),
        ("a blue square", "a blue square"),
        ("a blue square", "a photo of a blue square."),
    ]


def test_imagenet80_prompts_recorded(demo_model_dir, red_circle, memory_cache):
    table = core.classify(red_circle, ["circle", "square"], "demo", templates="imagenet80", cache=memory_cache)

    circle_prompts = [info["prompt"] for info in table.attrs["prompts"] if info["label"] == "circle"]
    assert circle_prompts == [template.replace("{}", "circle") for template in TEMPLATE_SETS["imagenet80"]]


def test_prompt_features_match_open_clip(demo_model_dir):
    loaded = load_model("demo", device="cpu")
    prompts = ["a red circle", "una foto de un cuadrado azul."]

    features = encode_prompts(loaded, prompts, FeatureCache(None))

    with torch.no_grad():
        expected = loaded.model.encode_text(loaded.tokenizer(prompts))
    expected = torch.nn.functional.normalize(expected, dim=-1).numpy()
    np.testing.assert_allclose(features, expected, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-5)


def test_ensemble_is_renormalised_mean(demo_model_dir, red_circle, memory_cache):
    labels = ["a red circle", "a blue square", "a green triangle"]
    templates = TEMPLATE_SETS["imagenet7"]
    table = core.classify(red_circle, labels, "demo", templates="imagenet7", cache=memory_cache)

    loaded = load_model("demo", device="cpu")
    scratch = FeatureCache(None)
    image_features = encode_images(loaded, [load_image(red_circle)], scratch)[0]
    expected = []
    for label in labels:
        prompt_features = encode_prompts(loaded, [t.replace("{}", label) for t in templates], scratch)
        mean = prompt_features.mean(axis=0)
        assert np.linalg.norm(mean) < 0.999  # otherwise renormalising would change nothing
        expected.append(float(image_features @ (mean / np.linalg.norm(mean))))

    np.testing.assert_allclose(table["cosine"].to_numpy(), expected, atol=1e-6)
