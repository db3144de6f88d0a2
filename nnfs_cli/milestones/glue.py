"""What several milestones share: the glue between the learner's functions (not theirs to write).

Kept out of the package's __init__ so that listing milestones (every CLI start) does not
import NumPy."""

from __future__ import annotations

import numpy as np


def as_float(a) -> np.ndarray:
    """What a learner's function returned (a list, float32, a tensor turned array) as float64."""
    return np.asarray(a, dtype=float)


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of logits (N, C) against labels y (N,), and its gradient (N, C).

    The milestone's own glue, not the learner's: it joins their layers to the labels."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    d = p.copy()
    d[np.arange(len(y)), y] -= 1
    return float(-np.log(p[np.arange(len(y)), y]).mean()), d / len(y)
