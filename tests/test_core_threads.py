"""Several threads classifying with two models at once, as dashboard sessions do."""

from __future__ import annotations

import pandas as pd
import pytest

import core
from core.features import FeatureCache
from core.loading import load_model, unload_all
from thread_helpers import run_at_once

THREADS = 8
ITERATIONS = 5
# Generous: the whole test takes seconds; the limit only turns a deadlock into a failure.
TIMEOUT_S = 240
LABELS = ["a red circle", "un círculo rojo", "a blue square", "🟦"]


@pytest.fixture(scope="module")
def images(make_gradient_image) -> dict:
    return {"wide": make_gradient_image(90, 40), "tall": make_gradient_image(30, 70), "dot": make_gradient_image(1, 1)}


@pytest.fixture
def model_orders(sigmoid_model_id, bin_checkpoint_dir) -> list[tuple[str, str]]:
    """Two models, a sigmoid and a softmax one, in both orders."""
    softmax_id = f"local-dir:{bin_checkpoint_dir}"
    return [(sigmoid_model_id, softmax_id), (softmax_id, sigmoid_model_id)]


def test_threads_match_single_threaded(model_orders, images, tmp_path):
    reference = {order: core.classify(images, LABELS, list(order), cache=FeatureCache(None))
                 for order in model_orders}
    unload_all()  # the threads also race for the first load
    shared_cache = FeatureCache(tmp_path)

    def work(thread_index: int) -> list[tuple[tuple[str, str], pd.DataFrame]]:
        results = []
        for iteration in range(ITERATIONS):
            order = model_orders[(thread_index + iteration) % 2]
            cache = shared_cache if thread_index % 2 else FeatureCache(None)
            results.append((order, core.classify(images, LABELS, list(order), cache=cache)))
        return results

    tables = run_at_once(work, THREADS, TIMEOUT_S)
    assert len(tables) == THREADS * ITERATIONS
    for order, table in tables:
        pd.testing.assert_frame_equal(table, reference[order], check_exact=False, rtol=1e-5, atol=1e-6)
        assert table.attrs["errors"] == []


def test_concurrent_first_load_builds_once(sigmoid_model_id, build_calls):
    unload_all()

    def load(_: int) -> list:
        return [load_model(sigmoid_model_id, device="cpu")]

    loaded = run_at_once(load, THREADS, TIMEOUT_S)

    assert build_calls == [sigmoid_model_id]
    assert all(model is loaded[0] for model in loaded)


def test_concurrent_tokenize_matches(sigmoid_model_id):
    """The tokenizer lock keeps concurrent calls from mixing up their outputs."""
    loaded = load_model(sigmoid_model_id, device="cpu")
    prompts = [f"prompt number {index} ñ 🐈" for index in range(40)]
    expected = {prompt: loaded.tokenize([prompt]) for prompt in prompts}

    def tokenize_all(thread_index: int):
        offset = thread_index * 5
        rotated = prompts[offset:] + prompts[:offset]
        return [(prompt, loaded.tokenize([prompt]), loaded.count_tokens(prompt)) for prompt in rotated]

    results = run_at_once(tokenize_all, THREADS, TIMEOUT_S)

    for prompt, tokens, count in results:
        assert tokens.equal(expected[prompt])
        assert count == loaded.count_tokens(prompt)
