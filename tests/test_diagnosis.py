"""Signatures of wrong arrays: each story named on exact evidence, never on a near miss."""

import numpy as np
import pytest

from nnfs_cli.checks import GradeFailure, assert_close, assert_gradient, assert_shape
from nnfs_cli.diagnosis import signature

RNG = np.random.default_rng(0)
E = RNG.normal(size=(6, 5))
TOL = {"rtol": 1e-7, "atol": 1e-10}


def name(got, expected=E, **kw):
    d = signature(np.asarray(got), np.asarray(expected), **(TOL | kw))
    return d.name if d else None


@pytest.mark.parametrize(
    ("got", "kw", "expected_name"),
    [
        (E * 6, {"batch": 6}, "missing-1/N"),
        (E / 6, {"batch": 6}, "extra-1/N"),
        (E * 2, {}, "factor-2"),
        (E * 0.5, {}, "factor-0.5"),
        (E * 3.7, {}, "scale-factor"),
        (-E, {}, "sign-flipped"),
        (np.zeros_like(E), {}, "all-zeros"),
        (E.T, {}, "transposed"),
    ],
    ids=["N", "1/N", "2", "1/2", "3.7", "sign", "zeros", "transpose-shape"],
)
def test_each_signature_is_named(got, kw, expected_name):
    assert name(got, **kw) == expected_name


def test_square_transpose_and_input_returned_and_swapped_outputs():
    sq = RNG.normal(size=(5, 5))
    assert name(sq.T, sq) == "transposed"
    x = RNG.normal(size=(6, 5))
    assert name(x, E, inputs={"x": x}) == "input-returned"
    other = RNG.normal(size=(6, 5))
    assert name(other, E, others={"dW": other}) == "swapped-outputs"


def test_shift_by_one_and_border_only():
    seq = RNG.normal(size=(12, 3))
    assert name(np.roll(seq, 1, axis=0), seq) == "off-by-one"
    img = RNG.normal(size=(8, 8))
    bad = img.copy()
    bad[0, :] += 1.0
    bad[:, -1] -= 2.0
    assert name(bad, img) == "border-only"


def test_nan_only_on_large_inputs_is_overflow():
    expected = np.array([0.1, 0.2, 0.7])
    got = np.array([np.nan, 0.2, 0.7])
    assert name(got, expected, large_input=True) == "overflow"
    assert name(got, expected) == "nan-or-inf"


def test_reduction_over_the_wrong_axis():
    x = RNG.normal(size=(4, 7))
    assert name(x.sum(axis=0), x.sum(axis=1), inputs={"x": x}) == "wrong-axis"
    assert name(x.mean(axis=1), x.mean(axis=0), inputs={"x": x}) == "wrong-axis"


@pytest.mark.parametrize(
    "got",
    [
        E * 2 + RNG.normal(scale=1e-3, size=E.shape),  # a factor 2 plus noise: not exact
        -E + 1e-3,  # a sign flip plus an offset
        E * (1 + 1e-9),  # float rounding, not a factor
        E + RNG.normal(scale=0.5, size=E.shape),  # unrelated
        np.where(RNG.random(E.shape) < 0.5, E * 2, E),  # a factor on half the entries
    ],
    ids=["noisy-factor", "sign-plus-offset", "rounding", "unrelated", "half-scaled"],
)
def test_near_misses_get_no_name(got):
    assert name(got) is None


def test_tiny_arrays_get_no_coincidental_story():
    assert name(np.array([3.0]), np.array([1.3])) is None  # one value fits some factor by chance
    assert name(np.array([1.0, 5.0, 3.0]), np.array([1.0, 2.0, 3.0])) is None  # no border on 3 values
    assert name(np.array([2.0]), np.array([1.0]), batch=2) == "missing-1/N"  # a meaningful factor still is


def test_correct_values_never_reach_a_diagnosis():
    out = assert_close(E.copy(), E, "x")
    assert out is not None
    assert_gradient(E.copy(), E, "g")


def test_failures_carry_the_diagnosis_and_a_teaching_message():
    with pytest.raises(GradeFailure) as info:
        assert_close(E * 6, E, "dW", on="x (6, 5)", batch=6, hint="divide by N")
    err = info.value
    assert err.diagnosis.name == "missing-1/N"
    text = str(err)
    for needle in ("dW: wrong values", "input: x (6, 5)", "expected at index", "relative error", "hint: divide by N"):
        assert needle in text
    with pytest.raises(GradeFailure) as info:
        assert_shape(np.zeros((5, 6)), (6, 5), "W")
    assert info.value.diagnosis.name == "transposed"


def test_float32_results_are_compared_at_float32_precision():
    x32 = E.astype(np.float32)
    assert_close(x32, E, "float32 result")  # rounding to float32 is not an error
    with pytest.raises(GradeFailure):
        assert_close(E * (1 + 1e-6), E, "float64 result off by 1e-6 relative")  # float64 is held to 1e-7
