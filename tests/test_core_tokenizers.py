"""Models with different tokenizers in one run, and Hugging Face tokenizers shared by threads.

The demo model uses open_clip's SimpleTokenizer with a 32-token context. The tiny
SigLIP-like and XLM-RoBERTa-like models (see tokenizer_models.py) use Hugging Face
fast tokenizers trained here, with 16 and 77 tokens of context.
"""

from __future__ import annotations

import logging

import numpy as np
import open_clip
import pandas as pd
import pytest
import torch
from open_clip.hf_model import HFTextEncoder
from open_clip.tokenizer import HFTokenizer
from transformers import PreTrainedTokenizerBase

import core
from core.features import FeatureCache
from core.loading import load_model
from core.registry import DEMO_MODEL_DIR
from thread_helpers import run_at_once
from tokenizer_models import SIGLIP_LIKE_CONTEXT_LENGTH, TRAINING_SENTENCES

DEMO_CONTEXT_LENGTH = 32
XLM_ROBERTA_LIKE_CONTEXT_LENGTH = 77

# Spanish words the demo model's English BPE splits into more pieces than the tiny
# tokenizers trained on these words do.
SPANISH_LABEL = "una foto de un perro"
# 17 words from the training sentences: 18 tokens for the SigLIP-like tokenizer
# (one per word, then </s>), so over its 16-token context, and 19 for SimpleTokenizer.
LONG_LABEL = "a red circle a green square a blue triangle a white cat a dog in the snow"
LABELS = ["a red circle", SPANISH_LABEL, "un triángulo azul", LONG_LABEL]

THREADS = 8
ITERATIONS = 4
# The threads finish in seconds, so this generous limit only turns a deadlock into a failure.
TIMEOUT_S = 240


@pytest.fixture(scope="module")
def model_ids(demo_model_dir, siglip_like_id, xlm_roberta_like_id) -> dict[str, str]:
    return {"demo": "demo", "siglip": siglip_like_id, "xlm-roberta": xlm_roberta_like_id}


@pytest.fixture(scope="module")
def images(make_gradient_image) -> dict:
    return {"wide": make_gradient_image(80, 48), "square": make_gradient_image(40, 40)}


@pytest.fixture(scope="module")
def mixed_run(model_ids, images):
    """One classify call with all three models, and the log records it emitted."""
    handler = _RecordingHandler()
    logger = logging.getLogger("core.classify")
    logger.addHandler(handler)
    try:
        table = core.classify(images, LABELS, list(model_ids.values()), cache=FeatureCache(None))
    finally:
        logger.removeHandler(handler)
    return table, handler.records


class _RecordingHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def prompt_tokens(table: pd.DataFrame, model_id: str, label: str) -> dict:
    (info,) = [info for info in table.attrs["prompts"] if info["model"] == model_id and info["label"] == label]
    return info


def open_clip_name(model_id: str) -> str:
    return f"local-dir:{DEMO_MODEL_DIR}" if model_id == "demo" else model_id


def reference_count(model_id: str, text: str) -> int:
    """Count tokens with a tokenizer built here, independent of the one core loaded."""
    tokenizer = open_clip.get_tokenizer(open_clip_name(model_id))
    if isinstance(tokenizer, open_clip.SimpleTokenizer):
        return len(tokenizer.encode(text)) + 2
    return len(tokenizer.tokenizer(tokenizer.clean_fn(text)).input_ids)


# One run, three tokenizers ------------------------------------------------------------------


def test_each_model_has_own_tokenizer(model_ids, mixed_run):
    demo = load_model(model_ids["demo"], device="cpu")
    siglip = load_model(model_ids["siglip"], device="cpu")
    xlm_roberta = load_model(model_ids["xlm-roberta"], device="cpu")

    assert isinstance(demo.tokenizer, open_clip.SimpleTokenizer)
    assert isinstance(siglip.tokenizer, HFTokenizer)
    assert isinstance(xlm_roberta.tokenizer, HFTokenizer)
    assert isinstance(siglip.tokenizer.tokenizer, PreTrainedTokenizerBase)
    assert siglip.tokenizer is not xlm_roberta.tokenizer
    assert isinstance(xlm_roberta.model.text, HFTextEncoder)


def test_tokenizers_load_from_model_folder(siglip_like_dir, siglip_like_id):
    """The configured hf_tokenizer_name exists on no hub, so the tokenizer comes from the folder."""
    siglip = load_model(siglip_like_id, device="cpu")
    assert siglip.tokenizer.tokenizer.name_or_path == str(siglip_like_dir)
    assert len(siglip.tokenizer.tokenizer) == siglip.model.vocab_size


def test_each_model_has_own_context(model_ids, mixed_run):
    expected = {"demo": DEMO_CONTEXT_LENGTH, "siglip": SIGLIP_LIKE_CONTEXT_LENGTH,
                "xlm-roberta": XLM_ROBERTA_LIKE_CONTEXT_LENGTH}
    table, _ = mixed_run
    for name, model_id in model_ids.items():
        loaded = load_model(model_id, device="cpu")
        assert loaded.context_length == expected[name], name
        assert loaded.tokenize(["a red circle"]).shape == (1, expected[name]), name
        contexts = {info["context_length"] for info in table.attrs["prompts"] if info["model"] == model_id}
        assert contexts == {expected[name]}, name


def test_token_counts_come_from_own_tokenizer(model_ids, mixed_run):
    table, _ = mixed_run
    for model_id in model_ids.values():
        for label in LABELS:
            info = prompt_tokens(table, model_id, label)
            assert info["tokens"] == reference_count(model_id, label), (model_id, label)


def test_token_counts_differ_between_vocabularies(model_ids, mixed_run):
    table, _ = mixed_run
    counts = {name: prompt_tokens(table, model_id, SPANISH_LABEL)["tokens"] for name, model_id in model_ids.items()}
    # SimpleTokenizer: 6 pieces + start and end. SigLIP-like: 5 words + </s>. XLM-R-like: <s> + 5 + </s>.
    assert counts == {"demo": 8, "siglip": 6, "xlm-roberta": 7}


def test_siglip_prompts_padded_to_context(siglip_like_id):
    siglip = load_model(siglip_like_id, device="cpu")
    inner = siglip.tokenizer.tokenizer
    prompts = ["a red circle", SPANISH_LABEL, LONG_LABEL]
    tokens = siglip.tokenize(prompts)

    assert tokens.shape == (len(prompts), SIGLIP_LIKE_CONTEXT_LENGTH)
    for row, prompt in zip(tokens.tolist(), prompts):
        used = min(siglip.count_tokens(prompt), SIGLIP_LIKE_CONTEXT_LENGTH)
        assert row[used:] == [inner.pad_token_id] * (SIGLIP_LIKE_CONTEXT_LENGTH - used), prompt
        assert inner.pad_token_id not in row[:used], prompt
    assert tokens[0, siglip.count_tokens("a red circle") - 1].item() == inner.eos_token_id


def test_probability_kind_per_model(model_ids, mixed_run):
    table, _ = mixed_run
    kinds = table.groupby("model")["probability_kind"].unique().map(list).to_dict()
    assert kinds == {model_ids["demo"]: ["softmax"], model_ids["siglip"]: ["sigmoid"],
                     model_ids["xlm-roberta"]: ["softmax"]}


def test_long_label_truncated_only_for_short_context(model_ids, mixed_run):
    table, records = mixed_run
    siglip_info = prompt_tokens(table, model_ids["siglip"], LONG_LABEL)
    assert siglip_info["tokens"] == 18
    assert siglip_info["truncated"]
    for name in ("demo", "xlm-roberta"):
        assert not prompt_tokens(table, model_ids[name], LONG_LABEL)["truncated"], name

    assert len(table.attrs["warnings"]) == 1
    (warning,) = table.attrs["warnings"]
    assert model_ids["siglip"] in warning
    assert repr(LONG_LABEL) in warning
    assert [record.getMessage() for record in records] == [warning]

    siglip_rows = table[(table.model == model_ids["siglip"]) & (table.label == LONG_LABEL)]
    assert siglip_rows.truncated.all()
    demo_rows = table[(table.model == model_ids["demo"]) & (table.label == LONG_LABEL)]
    assert not demo_rows.truncated.any()


def test_cosines_match_own_tokenizer(model_ids, images, mixed_run):
    """Each model's cosines equal those from its own open_clip tokenizer and encoders."""
    table, _ = mixed_run
    for model_id in model_ids.values():
        name = open_clip_name(model_id)
        model, _, preprocess = open_clip.create_model_and_transforms(name, device="cpu", weights_only=True)
        model.eval()
        tokenizer = open_clip.get_tokenizer(name)
        with torch.inference_mode():
            text = model.encode_text(tokenizer(LABELS), normalize=True)
            picture = model.encode_image(preprocess(images["wide"]).unsqueeze(0), normalize=True)
        expected = (picture @ text.T).squeeze(0).numpy()
        rows = table[(table.model == model_id) & (table.image == "wide")].sort_values("label_index")
        np.testing.assert_allclose(rows.cosine.to_numpy(), expected, rtol=1e-4, atol=1e-5, err_msg=model_id)


# Counting tokens with Hugging Face tokenizers ------------------------------------------------


@pytest.mark.parametrize("text", [
    "a red circle",
    "A Photo, of a RED circle!",  # the SigLIP-like clean function lower-cases and drops punctuation
    "  un   triángulo\tazul ",
    "🐈 gato 123",
    "",
])
@pytest.mark.parametrize("model_key", ["siglip", "xlm-roberta"])
def test_hf_count_tokens(model_ids, model_key, text):
    loaded = load_model(model_ids[model_key], device="cpu")
    inner = loaded.tokenizer.tokenizer
    count = loaded.count_tokens(text)

    assert count == len(inner(loaded.tokenizer.clean_fn(text)).input_ids)
    row = loaded.tokenize([text])[0].tolist()
    assert count == sum(token != inner.pad_token_id for token in row)


def test_hf_count_tokens_before_truncation(siglip_like_id):
    siglip = load_model(siglip_like_id, device="cpu")
    text = " ".join(TRAINING_SENTENCES)
    cleaned = siglip.tokenizer.clean_fn(text)
    assert siglip.count_tokens(text) == len(siglip.tokenizer.tokenizer(cleaned).input_ids)
    assert siglip.count_tokens(text) > 3 * SIGLIP_LIKE_CONTEXT_LENGTH


# Threads sharing one Hugging Face tokenizer --------------------------------------------------


def test_threads_classify_with_hf_tokenizer(model_ids, images):
    """Sessions sharing a cached model and its Hugging Face tokenizer get the single-threaded results."""
    label_sets = [LABELS, ["a dog", "un gato", "a white square", "🟦 azul"], [f"label {index}" for index in range(12)]]
    models = [model_ids["siglip"], model_ids["xlm-roberta"]]
    reference = [core.classify(images, labels, models, cache=FeatureCache(None)) for labels in label_sets]

    def work(thread_index: int) -> list[tuple[int, pd.DataFrame]]:
        results = []
        for iteration in range(ITERATIONS):
            choice = (thread_index + iteration) % len(label_sets)
            # A memory-only cache per call, so every call tokenizes and counts tokens again.
            results.append((choice, core.classify(images, label_sets[choice], models, cache=FeatureCache(None))))
        return results

    tables = run_at_once(work, THREADS, TIMEOUT_S)
    assert len(tables) == THREADS * ITERATIONS
    for choice, table in tables:
        pd.testing.assert_frame_equal(table, reference[choice], check_exact=False, rtol=1e-5, atol=1e-6)
        assert table.attrs["errors"] == []
        assert table.attrs["prompts"] == reference[choice].attrs["prompts"]


def test_threads_tokenize_with_hf_tokenizer(siglip_like_id):
    """Mixed tokenize and count_tokens calls, which set different padding on the shared tokenizer."""
    siglip = load_model(siglip_like_id, device="cpu")
    prompts = [f"{sentence} {index}" for index, sentence in enumerate(TRAINING_SENTENCES * 4)]
    expected = {prompt: (siglip.tokenize([prompt]), siglip.count_tokens(prompt)) for prompt in prompts}

    def tokenize_all(thread_index: int):
        offset = thread_index * 5
        rotated = prompts[offset:] + prompts[:offset]
        return [(prompt, siglip.tokenize([prompt]), siglip.count_tokens(prompt)) for prompt in rotated]

    results = run_at_once(tokenize_all, THREADS, TIMEOUT_S)

    assert len(results) == THREADS * len(prompts)
    for prompt, tokens, count in results:
        assert tokens.equal(expected[prompt][0]), prompt
        assert count == expected[prompt][1], prompt
