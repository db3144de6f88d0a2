"""Grading integrity: the answer's dtype cannot loosen a check.

Tolerances follow the question (the inputs and the expected values), never the returned
dtype: a wrong answer returned as float32 used to be compared at float32 precision, so
any error below 2e-5 passed.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnfs_cli.catalog import load_catalog
from nnfs_cli.checks import FLOAT32_RTOL, GradeFailure, assert_close, tolerances
from tests.cli_helpers import nnfs, write_learner_file

BACKPROP = load_catalog().get("backprop")


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_a_float32_answer_cannot_loosen_a_float64_question():
    z = np.random.default_rng(0).normal(size=(4, 5))
    wrong = (_softmax(z) * (1 + 5e-6)).astype(np.float32)
    with pytest.raises(GradeFailure, match="float32 but the question is float64"):
        assert_close(wrong, _softmax(z), "softmax", inputs={"z": z})
    assert tolerances(np.zeros(2), rtol=1e-7, atol=1e-10) == (1e-7, 1e-10)


def test_a_float32_question_is_compared_at_float32_precision():
    z = np.random.default_rng(1).normal(size=(4, 5)).astype(np.float32)
    right = _softmax(z.astype(np.float64))
    assert_close(_softmax(z), right, "softmax", inputs={"z": z})  # float32 rounding only
    assert tolerances(z, rtol=1e-7, atol=1e-10)[0] == FLOAT32_RTOL
    with pytest.raises(GradeFailure):  # but a real error still fails
        assert_close(_softmax(z) * np.float32(1 + 1e-3), right, "softmax", inputs={"z": z})


def test_through_nnfs_check_a_slightly_wrong_float32_softmax_fails(tmp_path):
    ws = tmp_path / "ws"
    assert nnfs("init", str(ws)).exit_code == 0
    source = BACKPROP.solution_path.read_text(encoding="utf-8")
    assert "\ndef softmax_cross_entropy(" in source
    source = source.replace("\ndef softmax_cross_entropy(", "\ndef _exact_sce(", 1)
    source += (
        "\n\ndef softmax_cross_entropy(logits, y):\n"
        "    loss, d = _exact_sce(logits, y)\n"
        "    return np.float32(loss * (1 + 5e-6)), (d * (1 + 5e-6)).astype(np.float32)\n"
    )
    write_learner_file(ws, BACKPROP, source)
    r = nnfs("check", BACKPROP.id, "-w", str(ws), "--json", "--part", "softmax_cross_entropy")
    data = json.loads(r.stdout)
    assert r.exit_code == 1 and not data["passed"]
    assert any("float32 but the question is float64" in t["message"] for t in data["tests"])
