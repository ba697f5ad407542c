"""Logits and probabilities from features: the one place where scoring happens.

For normalised image features I [images, dim] and label features T [labels, dim]:

    cosine = I @ T.T                          (in [-1, 1])
    logits = logit_scale * cosine + logit_bias  (bias only where the model has one)

CLIP models (family "softmax") were trained with a contrastive loss over a batch,
so their probabilities are a softmax over the labels given: they sum to 1 and
depend on which other labels are in the list. SigLIP models (family "sigmoid")
were trained to score each image-text pair on its own, so each label gets an
independent sigmoid probability; these do not sum to 1, and adding a label does
not change the others. The two kinds are therefore not comparable as numbers,
and every result row says which kind it holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.registry import Family


@dataclass(frozen=True)
class Scores:
    """Cosine similarities, logits and probabilities, each shape [images, labels]."""

    cosine: np.ndarray
    logits: np.ndarray
    probabilities: np.ndarray
    kind: Family


def score(image_features: np.ndarray, label_features: np.ndarray, logit_scale: float,
          logit_bias: float | None, family: Family) -> Scores:
    """Score every image against every label for one model (see the module docstring)."""
    cosine = image_features.astype(np.float64) @ label_features.astype(np.float64).T
    logits = logit_scale * cosine
    if logit_bias is not None:
        logits = logits + logit_bias

    if family == "sigmoid":
        probabilities = 1.0 / (1.0 + np.exp(-logits))
    else:
        shifted = logits - logits.max(axis=1, keepdims=True)  # keeps exp() from overflowing
        exponentials = np.exp(shifted)
        probabilities = exponentials / exponentials.sum(axis=1, keepdims=True)
    return Scores(cosine, logits, probabilities, family)


def ranks(probabilities: np.ndarray) -> np.ndarray:
    """Return 1-based ranks per row (1 = highest probability); ties keep label order."""
    order = np.argsort(-probabilities, axis=1, kind="stable")
    result = np.empty_like(order)
    rows = np.arange(probabilities.shape[0])[:, None]
    result[rows, order] = np.arange(1, probabilities.shape[1] + 1)
    return result
