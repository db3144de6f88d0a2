"""The cnn-techniques reference cross-checked by independent formulations.

torchvision is not a dependency, so the grader's IoU and NMS oracle is the reference
solution itself; these tests hold it to hand-computed IoUs and to a pure-Python
brute-force NMS written from the definition, on many random box sets.
"""

import importlib.util
from fractions import Fraction

import numpy as np
import pytest

from nnfs_cli.catalog import load_catalog


@pytest.fixture(scope="module")
def ref():
    topic = load_catalog().get("cnn-techniques")
    spec = importlib.util.spec_from_file_location("cnn_techniques_reference", topic.solution_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def iou_exact(a, b):
    """IoU of two boxes in exact rational arithmetic, straight from the definition."""
    a, b = [Fraction(v) for v in a], [Fraction(v) for v in b]
    w = max(Fraction(0), min(a[2], b[2]) - max(a[0], b[0]))
    h = max(Fraction(0), min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union if union else Fraction(0)


HAND = [
    ([0, 0, 2, 2], [1, 1, 3, 3], Fraction(1, 7)),
    ([0, 0, 1, 1], [2, 3, 4, 4], Fraction(0)),  # apart on both axes
    ([0, 0, 4, 4], [1, 1, 2, 3], Fraction(2, 16)),  # containment
    ([0, 0, 1, 1], [1, 0, 2, 1], Fraction(0)),  # touching edge
    ([0, 0, 4, 4], [1, 1, 1, 3], Fraction(0)),  # zero-area segment inside
    ([1, 1, 1, 3], [1, 1, 1, 3], Fraction(0)),  # union 0
    ([0, 0, 3, 1], [1, 0, 4, 1], Fraction(1, 2)),  # exactly the NMS threshold of the grader
]


@pytest.mark.parametrize(("a", "b", "iou"), HAND)
def test_box_iou_hand_values(ref, a, b, iou):
    got = ref.box_iou(np.array([a], float), np.array([b], float))[0, 0]
    assert iou_exact(a, b) == iou
    assert got == pytest.approx(float(iou), abs=1e-15)


def brute_force_nms(boxes, scores, threshold):
    """Greedy NMS from its definition, pure Python: priority by (-score, index)."""
    order = sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))
    keep = []
    for i in order:
        if all(iou_exact(boxes[i], boxes[k]) <= Fraction(threshold) for k in keep):
            keep.append(i)
    return keep


def random_case(seed, n):
    rng = np.random.default_rng(seed)
    # coordinates on a 1/8 grid, so exact IoU ties with the threshold do happen
    xy = rng.integers(0, 40, size=(n, 2)) / 8
    wh = rng.integers(1, 24, size=(n, 2)) / 8
    scores = rng.integers(0, 6, size=n) / 5  # many equal scores
    return np.concatenate([xy, xy + wh], axis=1), scores


@pytest.mark.parametrize("seed", range(40))
def test_nms_matches_brute_force(ref, seed):
    boxes, scores = random_case(seed, 4 + seed % 25)
    threshold = [0.25, 0.5, 0.7][seed % 3]
    assert ref.nms(boxes, scores, threshold).tolist() == brute_force_nms(
        boxes.tolist(), scores, threshold
    )


@pytest.mark.parametrize("seed", range(20))
def test_batched_nms_matches_brute_force(ref, seed):
    boxes, scores = random_case(100 + seed, 5 + seed)
    classes = np.random.default_rng(seed).integers(0, 3, size=len(scores))
    keep = []
    for c in set(classes.tolist()):
        idx = [i for i in range(len(scores)) if classes[i] == c]
        keep += [idx[k] for k in brute_force_nms(boxes[idx].tolist(), scores[idx], 0.5)]
    keep.sort(key=lambda i: (-float(scores[i]), i))
    assert ref.batched_nms(boxes, scores, classes, 0.5).tolist() == keep
