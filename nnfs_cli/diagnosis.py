"""Name the mistake behind a wrong array from its signature.

`signature()` compares a learner's array with the expected one and returns a Diagnosis
only when one simple story explains *every* element within tolerance (a scale factor, a
sign, a transpose, ...). When nothing fits exactly it returns None: a wrong name is worse
than none.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnfs_cli.grading.result import Diagnosis

# Factors that have a usual meaning in a gradient or a loss.
_FACTOR_MEANINGS = {
    2.0: "twice the expected value: a factor 2 from the derivative of a square, or a term counted twice",
    0.5: "half the expected value: a missing factor 2 (the derivative of x**2 is 2x)",
    -1.0: "",
}


def _close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=False))


def _factor_story(factor: float, batch: int | None) -> tuple[str, str]:
    if batch and batch > 1:
        if np.isclose(factor, batch, rtol=1e-6):
            return (
                "missing-1/N",
                f"{batch} times too large, and {batch} is the batch size: the mean over the batch (divide by N) is missing",
            )
        if np.isclose(factor, 1 / batch, rtol=1e-6):
            return (
                "extra-1/N",
                f"{batch} times too small, and {batch} is the batch size: something was divided by N once too often (or summed where a mean was taken)",
            )
    for f, story in _FACTOR_MEANINGS.items():
        if story and np.isclose(factor, f, rtol=1e-6):
            return f"factor-{f:g}", story
    return "scale-factor", f"off by a constant factor {factor:.6g} everywhere"


def signature(
    got: np.ndarray,
    expected: np.ndarray,
    *,
    rtol: float,
    atol: float,
    batch: int | None = None,
    others: Mapping[str, np.ndarray] | None = None,
    inputs: Mapping[str, np.ndarray] | None = None,
    large_input: bool = False,
) -> Diagnosis | None:
    """Explain got != expected by one exact story, or return None."""
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    finite = np.isfinite(expected)

    if got.shape == expected.shape and finite.all() and not np.isfinite(got).all():
        if large_input:
            return Diagnosis(
                "signature",
                "overflow",
                "NaN or inf on large inputs where the exact result is finite: subtract the maximum before exp (or use a stable formula)",
            )
        return Diagnosis(
            "signature",
            "nan-or-inf",
            "NaN or inf where the exact result is finite: look for a division by zero, log(0) or exp overflow",
        )
    if not finite.all() or not np.isfinite(got).all():
        return None

    if got.shape != expected.shape:
        if got.ndim == 2 and got.T.shape == expected.shape and _close(got.T, expected, rtol, atol):
            return Diagnosis(
                "signature",
                "transposed",
                f"the values are right but transposed: shape {got.shape} instead of {expected.shape}",
            )
        if got.size == expected.size and _close(got.reshape(expected.shape), expected, rtol, atol):
            return Diagnosis(
                "signature",
                "wrong-shape",
                f"the values are right but arranged as {got.shape} instead of {expected.shape}: check reshape / keepdims",
            )
        for name, other in (inputs or {}).items():
            other = np.asarray(other)
            for axis in range(other.ndim):
                for fn in (np.sum, np.mean, np.max):
                    red = fn(other, axis=axis)
                    if red.shape == got.shape and _close(got, red, rtol, atol):
                        return Diagnosis(
                            "signature",
                            "wrong-axis",
                            f"it is {fn.__name__} of {name} over axis {axis}: check the axis of the reduction",
                        )
        return None

    if not np.any(expected) and not np.any(got):
        return None
    if not np.any(got):
        return Diagnosis(
            "signature",
            "all-zeros",
            "every value is 0: was the result computed and returned (not a zero-initialised array)?",
        )
    if _close(-got, expected, rtol, atol):
        return Diagnosis(
            "signature",
            "sign-flipped",
            "exactly the expected value with the opposite sign: check the sign of the gradient or the update",
        )
    for name, other in (inputs or {}).items():
        other = np.asarray(other)
        if other.shape == got.shape and _close(got, other, rtol, atol):
            return Diagnosis(
                "signature",
                "input-returned",
                f"the output equals the input {name} unchanged: was the computation applied?",
            )
    for name, other in (others or {}).items():
        other = np.asarray(other)
        if (
            other.shape == got.shape
            and _close(got, other, rtol, atol)
            and not _close(other, expected, rtol, atol)
        ):
            return Diagnosis(
                "signature",
                "swapped-outputs",
                f"this is the expected {name}: outputs returned in the wrong order?",
            )
    small = got.size < 4  # too few values for a story to be evidence rather than coincidence
    mask = np.abs(expected) > atol
    if mask.any():
        ratios = got[mask] / expected[mask]
        factor = float(np.median(ratios))
        if (
            factor != 0
            and not np.isclose(factor, 1.0, rtol=1e-6)
            and _close(got, factor * expected, rtol, atol)
        ):
            name, story = _factor_story(factor, batch)
            if not (small and name == "scale-factor"):
                return Diagnosis("signature", name, story)
    if small:
        return None
    if got.ndim == 2 and got.shape[0] == got.shape[1] and _close(got, expected.T, rtol, atol):
        return Diagnosis(
            "signature",
            "transposed",
            "the values are right but transposed: check the order of a matrix product or a missing .T",
        )
    for axis in range(got.ndim):
        if got.shape[axis] < 4:
            continue
        for shift in (1, -1):
            rolled = np.roll(expected, shift, axis=axis)
            sl = [slice(None)] * got.ndim
            sl[axis] = slice(1, -1)
            if _close(got[tuple(sl)], rolled[tuple(sl)], rtol, atol):
                return Diagnosis(
                    "signature",
                    "off-by-one",
                    f"shifted by one position along axis {axis}: an off-by-one in an index or a loop range",
                )
    bad = ~np.isclose(got, expected, rtol=rtol, atol=atol)
    if got.ndim >= 1 and bad.any():
        border = np.zeros_like(bad)
        for axis in range(got.ndim):
            if got.shape[axis] >= 4:
                idx = [slice(None)] * got.ndim
                idx[axis] = 0
                border[tuple(idx)] = True
                idx[axis] = -1
                border[tuple(idx)] = True
        if border.any() and not border.all() and not (bad & ~border).any():
            return Diagnosis(
                "signature",
                "border-only",
                "right everywhere except at the edges: check padding, the first/last step, or a loop bound",
            )
    return None
