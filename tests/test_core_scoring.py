"""core.scoring on hand-made feature vectors."""

from __future__ import annotations

import numpy as np
import pytest

from core.scoring import ranks, score


def unit_rows(rows: list[list[float]]) -> np.ndarray:
    array = np.asarray(rows, dtype=np.float32)
    return array / np.linalg.norm(array, axis=1, keepdims=True)


IMAGES = unit_rows([[1, 0, 0], [0.6, 0.8, 0], [0, 0, 1]])
LABELS = unit_rows([[1, 0, 0], [0, 1, 0], [1, 1, 1], [0, -1, 0]])


def test_cosine_is_dot_product():
    result = score(IMAGES, LABELS, 1.0, None, "softmax")

    assert result.cosine.shape == (3, 4)
    assert result.cosine[1, 0] == pytest.approx(0.6)
    assert result.cosine[1, 1] == pytest.approx(0.8)
    assert result.cosine[1, 3] == pytest.approx(-0.8)


@pytest.mark.parametrize("logit_scale, logit_bias", [(100.0, None), (10.0, -10.0), (1.0, 2.5)])
def test_logit_scale_times_cosine_plus_bias(logit_scale, logit_bias):
    family = "sigmoid" if logit_bias is not None else "softmax"
    result = score(IMAGES, LABELS, logit_scale, logit_bias, family)

    expected = logit_scale * (IMAGES.astype(np.float64) @ LABELS.astype(np.float64).T) + (logit_bias or 0.0)

    np.testing.assert_allclose(result.logits, expected, rtol=1e-12)


def test_softmax_rows_sum_to_one():
    result = score(IMAGES, LABELS, 100.0, None, "softmax")

    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0, rtol=1e-12)
    assert result.kind == "softmax"


def test_softmax_matches_formula():
    result = score(IMAGES, LABELS, 7.0, None, "softmax")

    exponentials = np.exp(result.logits)
    expected = exponentials / exponentials.sum(axis=1, keepdims=True)

    np.testing.assert_allclose(result.probabilities, expected, rtol=1e-12)


def test_softmax_large_logits_finite():
    result = score(IMAGES, LABELS, 1e5, None, "softmax")

    assert np.isfinite(result.probabilities).all()
    assert result.probabilities[0, 0] == pytest.approx(1.0)


def test_sigmoid_matches_formula():
    result = score(IMAGES, LABELS, 10.0, -10.0, "sigmoid")

    expected = 1.0 / (1.0 + np.exp(-(10.0 * result.cosine - 10.0)))

    np.testing.assert_allclose(result.probabilities, expected, rtol=1e-12)
    assert result.kind == "sigmoid"


def test_sigmoid_ignores_other_labels():
    full = score(IMAGES, LABELS, 10.0, -10.0, "sigmoid")
    first_two = score(IMAGES, LABELS[:2], 10.0, -10.0, "sigmoid")

    np.testing.assert_array_equal(first_two.probabilities, full.probabilities[:, :2])


@pytest.mark.parametrize("probabilities, expected", [
    ([[0.1, 0.7, 0.2]], [[3, 1, 2]]),
    ([[0.5, 0.2, 0.3], [0.2, 0.3, 0.5]], [[1, 3, 2], [3, 2, 1]]),
    ([[0.4, 0.2, 0.4]], [[1, 3, 2]]),  # a tie keeps label order
    ([[1.0]], [[1]]),
])
def test_ranks_per_row(probabilities, expected):
    np.testing.assert_array_equal(ranks(np.asarray(probabilities)), np.asarray(expected))
