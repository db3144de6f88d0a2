"""Name the mistake behind a wrong array from its signature.

`signature()` compares a learner's array with the expected one and returns a Diagnosis
only when one simple story explains *every* element within tolerance (a scale factor, a
sign, a transpose, ...). When nothing fits exactly it returns None: a wrong name is worse
than none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from nnfs_cli.grading.result import Diagnosis

# Factors that have a usual meaning in a gradient or a loss.
_FACTOR_MEANINGS = {
    2.0: "twice the expected value: a factor 2 from the derivative of a square, or a term counted twice",
    0.5: "half the expected value: a missing factor 2 (the derivative of x**2 is 2x)",
    -1.0: "",
}


# factors that name the batch size: specific enough to tell even on a single value
_BATCH_STORIES = ("missing-1/N", "extra-1/N", "times-N-for-1/N")


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
        if np.isclose(factor, batch * batch, rtol=1e-6):
            return (
                "times-N-for-1/N",
                f"{batch * batch} = {batch}² times too large, and {batch} is the batch size: "
                "multiplied by N where dividing by N belongs",
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
    # Stories whose evidence is a pattern, not a number: told before any scale or offset,
    # which on few values they would imitate (a counter 2 for 1 is also "twice").
    for story in (_counter_story, _rounded_story, _clipped_story):
        found = story(got, expected, rtol, atol)
        if found is not None:
            return found
    story = _transform_story(got, expected, rtol, atol)
    if story is not None:
        meaningful = [2.0, 0.5, *((batch, 1 / batch) if batch else ())]
        if got.size < 4 and any(_close(got, f * expected, rtol, atol) for f in meaningful):
            return None  # on a few values a meaningful factor fits as well: neither is evidence
        return story
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
    # A scale or an offset is one free number: it is evidence only on four values or more,
    # not all equal (on one value, or on equal ones, a factor and an offset fit alike).
    few = got.size < 4 or np.unique(expected).size < 2
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
            # only the batch size is specific enough to name on a single value
            if not few or (name in _BATCH_STORIES and (batch or 0) >= 3):
                return Diagnosis("signature", name, story)
    offset = float(np.median(got - expected))
    if (
        not few
        and _close(got, expected + offset, rtol, atol)
        and not _close(expected + offset, expected, rtol, atol)
    ):
        return Diagnosis(
            "signature",
            "constant-offset",
            f"off by the same amount {offset:.6g} everywhere: an additive term is missing or extra "
            "(a bias, a constant, an offset)",
        )
    if got.size < 4:
        return None  # no region story (a fill, an edge, a shift) on one to three values
    fill = _fill_story(got, expected, rtol, atol)
    if fill is not None:
        return fill
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
    return _border_story(got, expected, rtol, atol)


def _border_story(got, expected, rtol: float, atol: float) -> Diagnosis | None:
    """Wrong only on the edges, where the edges are a small share and one is wrong whole.

    On a small array most entries are on an edge, so a few scattered errors (a rounding, a
    threshold) would land there by chance: that is no evidence about edges.
    """
    bad = ~np.isclose(got, expected, rtol=rtol, atol=atol)
    if got.ndim < 1 or not bad.any():
        return None
    border = np.zeros_like(bad)
    edges = []
    for axis in range(got.ndim):
        if got.shape[axis] >= 4:
            for end in (0, -1):
                idx = [slice(None)] * got.ndim
                idx[axis] = end
                border[tuple(idx)] = True
                edges.append(tuple(idx))
    if (
        border.any()
        and border.sum() <= border.size // 2
        and not (bad & ~border).any()
        and any(bad[e].all() for e in edges)
    ):
        return Diagnosis(
            "signature",
            "border-only",
            "right everywhere except at the edges: check padding, the first/last step, or a loop bound",
        )
    return None


def _reduces_to(got: np.ndarray, expected: np.ndarray) -> bool:
    """The single number `got` is a whole-array reduction (or the last/first entry) of `expected`."""
    try:
        g = float(np.asarray(got, dtype=np.float64))
        e = np.asarray(expected, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return False
    if not e.size or not np.isfinite(e).all():
        return False
    candidates = (e.sum(), e.mean(), e.max(), e.min(), e[0], e[-1])
    return any(np.isclose(g, c, rtol=1e-6, atol=1e-12) for c in candidates)


def _integral(a: np.ndarray) -> bool:
    return bool(np.all(a == np.round(a)))


def _counter_story(got, expected, rtol: float, atol: float) -> Diagnosis | None:
    """Whole numbers one step off everywhere: a counter that starts or advances wrong."""
    if not (_integral(expected) and _integral(got)):
        return None
    step = got - expected
    if np.all(step == step.flat[0]) and abs(step.flat[0]) == 1:
        more = "one more" if step.flat[0] > 0 else "one fewer"
        return Diagnosis(
            "signature",
            "counter-off-by-one",
            f"whole numbers, each {more} than expected: a counter that starts at 1 instead of 0 "
            "(or 0 instead of 1), or is advanced once too often (or not at all)",
        )
    return None


def _rounded_story(got, expected, rtol: float, atol: float) -> Diagnosis | None:
    """The expected values rounded to k decimals."""
    if _integral(expected):
        return None
    for k in range(0, 9):
        r = np.round(expected, k)
        if _close(got, r, rtol, atol) and not _close(r, expected, rtol, atol):
            if k == 0 and (got.size < 4 or np.isin(got, (0.0, 1.0)).all()):
                # a few whole numbers, or only 0s and 1s (a one-hot, a mask, a filter that
                # kept one token): a threshold or an argmax fits as well as a round()
                return None
            return Diagnosis(
                "signature",
                "rounded",
                f"the expected values rounded to {k} decimal(s): remove the round() (or the "
                "formatting) from the result; the grader compares full precision",
            )
    return None


def _clipped_story(got, expected, rtol: float, atol: float) -> Diagnosis | None:
    """Right except where values below lo (above hi) became lo (hi): a clip.

    Told when the clipped entries include a nonzero expected value, or the bound is tiny
    next to the values (an eps, as in probabilities clipped to [eps, 1 - eps]): otherwise
    zeros that became one value are the fill story, which this would imitate.
    """
    lo, hi = float(got.min()), float(got.max())
    clipped = np.clip(expected, lo, hi)
    bad = ~np.isclose(got, expected, rtol=rtol, atol=atol)
    if bad.all() or not _close(got, clipped, rtol, atol) or _close(clipped, expected, rtol, atol):
        return None
    small = 1e-4 * max(float(np.abs(expected).max()), 1.0)
    tiny = (bool((expected < lo).any()) and abs(lo) <= small) or (
        bool((expected > hi).any()) and min(abs(hi), abs(1 - hi)) <= small
    )
    if not tiny and (expected[bad] == 0).all():
        return None
    return Diagnosis(
        "signature",
        "clipped",
        f"right except where the exact value is outside [{lo:.6g}, {hi:.6g}], which holds the "
        "bound instead: a clip (np.clip, max(., eps)) of the result or of an input (clipped "
        "probabilities change exact 0s and 1s)",
    )


# Stories with no free parameter: on exact evidence they hold even for a single number.
_TRANSFORMS = (
    ("complement", lambda e: 1.0 - e,
     "this is 1 minus the expected value: the complementary probability (sigmoid(-z) for sigmoid(z), P(not A) for P(A))"),
    ("reciprocal", lambda e: 1.0 / e,
     "this is 1 / the expected value: a fraction upside down (numerator and denominator swapped)"),
    ("squared", lambda e: e**2,
     "this is the square of the expected value: a variance where a standard deviation belongs, or a squared norm"),
    ("square-root", lambda e: np.sqrt(e),
     "this is the square root of the expected value: a standard deviation where a variance belongs, or a norm where its square belongs"),
    ("exp-applied", lambda e: np.exp(e),
     "this is exp of the expected value: an extra exp (probabilities where log-probabilities belong?)"),
    ("log-applied", lambda e: np.log(e),
     "this is the log of the expected value: an extra log, or a missing exp (log-space where plain values belong?)"),
)  # fmt: skip


def _transform_story(got, expected, rtol: float, atol: float) -> Diagnosis | None:
    """One parameter-free function of the expected values that is exactly the result."""
    found = []
    with np.errstate(all="ignore"):
        for name, fn, hint in _TRANSFORMS:
            t = fn(expected)
            if (
                np.isfinite(t).all()
                and _close(got, t, rtol, atol)
                and not _close(t, expected, rtol, atol)
            ):
                found.append(Diagnosis("signature", name, hint))
    # two stories fit (possible on a few values): the evidence does not say which
    return found[0] if len(found) == 1 else None


def _fill_story(got, expected, rtol: float, atol: float) -> Diagnosis | None:
    """Right everywhere except the entries that should be 0, which all hold one other value."""
    bad = ~np.isclose(got, expected, rtol=rtol, atol=atol)
    if not bad.any() or bad.all():
        return None
    if not (expected[bad] == 0).all():
        return None
    if _integral(expected) and np.unique(expected).size <= 2:
        return None  # labels (0/1): a wrong label is a threshold or a formula, not a fill
    values = got[bad]
    if np.abs(values).max() <= 1e-4 * max(float(np.abs(expected).max()), 1.0):
        return None  # a tiny value where 0 belongs is an eps or a clip, not a fill
    if np.ptp(values) <= atol + rtol * np.abs(values).max():
        return Diagnosis(
            "signature",
            "fill-value",
            f"right everywhere except the {int(bad.sum())} entries that should be 0, which hold "
            f"{float(values[0]):.6g}: the fill of padding, masked or out-of-range entries must be 0",
        )
    return None


def shape_story(
    got: tuple[int, ...],
    expected: tuple[int, ...],
    *,
    values: tuple[np.ndarray, np.ndarray] | None = None,
    inputs: Mapping[str, np.ndarray] | None = None,
    answer: np.ndarray | None = None,
) -> Diagnosis | None:
    """A usual reason for a result of shape `got` where `expected` was asked, or None.

    `values` (got, expected arrays), when known, back the stories that need them: a single
    number is a reduction of the whole result only if it equals one. The `answer` (got's
    values) and the `inputs`, when known, rule the size stories out when the result is an
    input itself (a loop that never ran: its sizes say nothing of a range bound).
    """
    got, expected = tuple(got), tuple(expected)
    if answer is not None:
        for name, other in (inputs or {}).items():
            other = np.asarray(other)
            if other.shape == got and np.array_equal(np.asarray(answer), other, equal_nan=True):
                return Diagnosis(
                    "signature",
                    "input-returned",
                    f"the output is the input {name} unchanged (shape {got}, not {expected}): "
                    "was the computation applied (a loop that never ran)?",
                )
    if len(got) == 2 and got[::-1] == expected:
        return Diagnosis(
            "signature",
            "transposed",
            f"shape {got} is the transpose of {expected}: a missing or extra .T",
        )
    if got == () and expected:
        if values is None or not _reduces_to(*values):
            return None  # a branch written for scalars returns one too: no evidence of a reduction
        return Diagnosis(
            "signature",
            "reduced-to-scalar",
            f"a single number where shape {expected} was asked: a reduction over every axis "
            "(pass axis=...), or a loop that kept only its last value",
        )
    if np.prod(got) == np.prod(expected) and [n for n in got if n != 1] == [
        n for n in expected if n != 1
    ]:
        return Diagnosis(
            "signature",
            "size-1-axis",
            f"shape {got} instead of {expected}: the same values with a size-1 axis missing or "
            "extra (keepdims=True on a reduction, or reshape / [:, None])",
        )
    for axis in range(len(expected)):
        if got in (
            expected[:axis] + expected[axis + 1 :],
            expected[:axis] + (1,) + expected[axis + 1 :],
        ):
            return Diagnosis(
                "signature",
                "reduced-axis",
                f"axis {axis} (size {expected[axis]}) is gone from the result: a sum or mean over "
                "an axis that must stay, or a reduction over the wrong axis",
            )
    extra = [k for k in range(len(got)) if got[k] > 1 and got[:k] + got[k + 1 :] == expected]
    if len(got) == len(expected) + 1 and extra:
        k = extra[0]
        return Diagnosis(
            "signature",
            "extra-axis",
            f"shape {got} instead of {expected}: an extra axis {k} of size {got[k]}, so a sum "
            "over it is missing: an elementwise * (which broadcasts) where a matrix product @ "
            "belongs, or a reduction left out",
        )
    if len(got) == len(expected):
        off = [(a, g - e) for a, (g, e) in enumerate(zip(got, expected)) if g != e]
        if len(off) == 1 and abs(off[0][1]) == 1:
            axis, d = off[0]
            return Diagnosis(
                "signature",
                "off-by-one-length",
                f"one {'more' if d > 0 else 'fewer'} entry along axis {axis} than asked: a range "
                "or slice bound off by one",
            )
    return None


# What NumPy's and Python's errors on valid inputs usually mean in this kind of code:
# (exception type, regular expression on its message, name, hint with the match's groups).
_ERROR_STORIES = (
    (
        "ValueError",
        r"shapes \((\d+),\) and \((\d+),\) not aligned",
        "dot-lengths",
        "a dot product of two vectors of lengths {0} and {1}: the slices (or the loop bounds) "
        "that make them run over different dimensions; check which axis each index walks",
    ),
    (
        "ValueError",
        r"matmul: Input operand \d+ has a mismatch in its core dimension|shapes \(.*\) and \(.*\) not aligned",
        "matmul-shapes",
        "a matrix product of incompatible shapes: one operand needs (or must lose) a .T, the "
        "operands are in the wrong order, or (inside a loop) a slice or a loop bound runs over "
        "the wrong dimension; (N, D) @ (D, H) -> (N, H)",
    ),
    (
        "ValueError",
        r"matmul: Input operand \d+ does not have enough dimensions",
        "matmul-scalar",
        "a matrix product with a 0-d operand: an earlier reduction (sum, mean, dot) collapsed an "
        "array to a number; check its axis, or use * for a scalar factor",
    ),
    (
        "ValueError",
        r"could not broadcast input array from shape (\(.*?\)) into shape (\(.*?\))",
        "slice-size",
        "a slice assignment got a block of shape {0} for a slot of shape {1}: the source and "
        "target slices must have the same length (an off-by-one in a start or a stop, or an "
        "edge case the slices cannot cover, such as a shift as large as the array, left unguarded?)",
    ),
    (
        "ValueError",
        r"cannot reshape array of size (\d+) into shape (\(.*?\))",
        "reshape-size",
        "a reshape of {0} values into {1}: the target shape must hold the same number of values",
    ),
    (
        "IndexError",
        r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)",
        "index-out-of-range",
        "index {0} on axis {1} of size {2}: valid indices go from 0 to size - 1 (or -size to -1), so a loop range or an "
        "index is off by one (or runs over the wrong axis), or the array was made too small (its size computed "
        "from the wrong value)",
    ),
    (
        "IndexError",
        r"tuple index out of range",
        "shape-index",
        "shape[k] (or a tuple) read past its end: check which axis holds what, e.g. X of shape "
        "(N, D) has X.shape[0] = N and X.shape[1] = D",
    ),
    (
        "AxisError",
        r"axis (-?\d+) is out of bounds for array of dimension (\d+)",
        "wrong-axis",
        "axis {0} on an array with {1} dimension(s): check the axis of the reduction",
    ),
    (
        "TypeError",
        r"only (?:0-dimensional|length-1|size-1) arrays can be converted to Python scalars",
        "array-not-scalar",
        "float() or int() of an array of several values: a value meant to be one number is an "
        "array (an elementwise * where a dot product @ belongs, or a missing reduction such as "
        ".sum()); print its shape",
    ),
    (
        "ValueError",
        r"truth value of an array with more than one element is ambiguous",
        "ambiguous-truth",
        "an if, while, and/or on an array of several values: a condition meant for one number got "
        "an array (an elementwise * where a dot product @ belongs, or a missing reduction); when "
        "the condition is about every entry, say so with .all() or .any()",
    ),
    (
        "AttributeError",
        r"'NoneType' object has no attribute '(\w+)'",
        "none-value",
        "`.{0}` of None: a value is None, so a function (yours or a helper) ends without "
        "`return`, or the result of an in-place method (list.sort(), list.append(), "
        "np.random.shuffle) was assigned",
    ),
    (
        "TypeError",
        r"'NoneType' object is not (subscriptable|iterable|callable)",
        "none-value",
        "None is not {0}: a value is None, so a function (yours or a helper) ends without "
        "`return`, or the result of an in-place method (list.sort(), list.append(), "
        "np.random.shuffle) was assigned",
    ),
    (
        "TypeError",
        r"'NoneType' object cannot be interpreted as an integer",
        "none-value",
        "None where a whole number belongs (a size, a range bound or an index): a value is None, "
        "so an optional argument was used when it was not given (check `is None` / `is not None`), "
        "or a function (yours or a helper) ends without `return`",
    ),
    (
        "TypeError",
        r"bad operand type for (abs\(\)|unary [-+~]): 'NoneType'",
        "none-value",
        "{0} of None: a value is None, so an optional argument was used when it was not given "
        "(check `is None` / `is not None`), or a function (yours or a helper) ends without `return`",
    ),
    (
        "ValueError",
        r"the concatenation axis must match exactly, but along dimension (\d+), the array at index "
        r"\d+ has size (\d+) and the array at index \d+ has size (\d+)",
        "concat-sizes",
        "np.concatenate of arrays that differ on axis {0} (sizes {1} and {2}), which is not the axis "
        "joined: every other axis must agree; check `axis`, and the shapes of the pieces",
    ),
    (
        "IndexError",
        r"^list index out of range",
        "index-out-of-range",
        "an index past the end of a Python list: a loop runs one step too far (range(n) where "
        "range(n - 1) belongs), an index such as i + 1 reaches past the last item, or the list "
        "is shorter than its indices assume (print its length)",
    ),
    (
        "KeyError",
        r"^'([^']*)'$",
        "key-missing",
        "a lookup of the key '{0}', which the dict does not hold: the key is built wrong (a prefix "
        "cut at the wrong length, a layer index or a name spelt differently); print sorted(p) "
        "next to the key you build",
    ),
    (
        "TypeError",
        r'can only concatenate list \(not "(\w+)"\) to list',
        "list-plus-number",
        "a list + a value of type {0}: `+` on lists joins lists, so both operands must be lists (n copies of a "
        "value are [value] * n, not n)",
    ),
    (
        "AttributeError",
        r"'(bool|int|float)' object has no attribute '(\w+)'",
        "number-not-array",
        "`.{1}` of a plain Python {0}: a value meant to be an array is a single number (an "
        "expression that lost its array operand, or a comparison of numbers); build it from "
        "the input array, or wrap it with np.asarray",
    ),
    (
        "TypeError",
        r"'float' object cannot be interpreted as an integer|slice indices must be integers",
        "float-as-index",
        "a float where a whole number belongs (a size, a range bound, a slice or an index): "
        "`/` gives a float even when the division is exact; use `//` for sizes and indices",
    ),
    (
        "IndexError",
        r"too many indices for array: array is (\d+)-dimensional, but (\d+) were indexed",
        "too-many-indices",
        "an array has {0} dimension(s) where your indexing expects {1}: an operand that gives "
        "it its other axes (a product such as x @ W, a stack, a reshape) is missing, or a "
        "reduction ran too early; print its shape just before",
    ),
    (
        "IndexError",
        r"arrays used as indices must be of integer \(or boolean\) type",
        "float-as-index",
        "an index array holds floats: `/` gives floats even when the division is exact; use "
        "`//` for indices (or .astype(int) for indices computed another way)",
    ),
    (
        "TypeError",
        r"only integer scalar arrays can be converted to a scalar index",
        "array-as-index",
        "an array where one whole number belongs (an axis, an index, a size): check the order "
        "of the arguments on that line, e.g. np.swapaxes(a, axis1, axis2), np.pad(x, pad_width)",
    ),
    (
        "ValueError",
        r"repeated axis in transpose",
        "repeated-axis",
        "a transpose's permutation lists an axis twice: each axis appears exactly once, e.g. "
        "(B, T, H, d) -> (B, H, T, d) is transpose(0, 2, 1, 3)",
    ),
    (
        "ValueError",
        r"duplicate value in 'axis'|duplicate axes are not allowed",
        "repeated-axis",
        "the same axis is named twice in one call (a reduction's axis tuple, or tensordot's "
        "axes): each axis may appear once; print the array's shape to see which you meant",
    ),
    (
        "ValueError",
        r"shape-mismatch for sum",
        "contracted-sizes",
        "np.tensordot contracts axes of different lengths: each pair in axes= must name axes "
        "of the same size in the two operands (a wrong axis there, or a window of the wrong span)",
    ),
    (
        "TypeError",
        r"first operand must be array",
        "add-at-order",
        "np.add.at(target, indices, values) adds into its first argument, which must be the "
        "array: check the order of the arguments",
    ),
    (
        "ValueError",
        r"`window_shape` cannot contain negative values",
        "window-negative",
        "sliding_window_view got a negative window size: its arguments are (array, "
        "window_shape, axis), and the window is the kernel's size (kh, kw), never the output's",
    ),
    (
        "ZeroDivisionError",
        r"",
        "division-by-zero",
        "a division by zero on valid inputs: check the denominator (a count, a norm, a step) "
        "in its edge case",
    ),
    (
        "NameError",
        r"name '(\w+)' is not defined",
        "undefined-name",
        "`{0}` is used but never defined or imported: a typo, or a missing `np.` prefix",
    ),
    (
        "ValueError",
        r"bytes must be in range\(0, 256\)",
        "byte-out-of-range",
        "bytes() got a value outside 0..255: a byte holds 0 to 255, so a range bound is off by "
        "one (range(257)), or a token id (256 and up) or a negative number was taken for a byte",
    ),
    (
        "ValueError",
        r"all input arrays must have the same shape",
        "stack-shapes",
        "np.stack of arrays of different shapes: the pieces made in a loop (slices, blocks) must "
        "all have one size; print their shapes: a slice's start or stop that does not move with "
        "the loop index, or an off-by-one in a bound",
    ),
    (
        "TypeError",
        r"unsupported operand type\(s\) for (.+?): '(\w+)' and '(\w+)'",
        "operand-types",
        "`{1} {0} {2}` has no meaning in Python: a tuple, list or None where a number or an "
        "array was meant",
    ),
)


# PyTorch's errors on valid inputs (Phase 5 on, where the learner computes with tensors),
# as its own messages word them; the same names as NumPy's stories where the mistake is the
# same one.
_TORCH_ERROR_STORIES = (
    (
        "RuntimeError",
        r"The size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\) at non-singleton dimension (\d+)",
        "broadcast-mismatch",
        "two tensors combined elementwise (or in the batch dimensions of a @) disagree at "
        "dimension {2}: sizes {0} and {1}; print the shapes of both operands where they meet: "
        "a reduction without keepdim=True, a missing transpose, two inputs swapped, or heads "
        "split one way and merged another",
    ),
    (
        "RuntimeError",
        r"The expanded size of the tensor \((\d+)\) must match the existing size \((\d+)\) at non-singleton dimension (\d+)",
        "broadcast-mismatch",
        "a tensor of size {1} at dimension {2} was broadcast (expand) to size {0}: only a size "
        "of 1 stretches; print its shape, and check which axis holds what",
    ),
    (
        "RuntimeError",
        r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)",
        "matmul-shapes",
        "a matrix product of ({0}, {1}) by ({2}, {3}): the inner sizes {1} and {2} must agree; one "
        "operand needs (or must lose) a .T, or the operands are in the wrong order; "
        "(N, D) @ (D, H) -> (N, H)",
    ),
    (
        "RuntimeError",
        r"Expected size for first two dimensions of batch2 tensor to be: \[(\d+), (\d+)\] but got: \[(\d+), (\d+)\]",
        "matmul-shapes",
        "a batched matrix product whose inner sizes differ ({1} and {3}): the last axis of the "
        "left operand must be the second-to-last of the right one, (..., T, d) @ (..., d, S); a "
        "transpose(-2, -1) is missing or misplaced, or the operands are swapped",
    ),
    (
        "RuntimeError",
        r"expected m1 and m2 to have the same dtype, but got: (\w+) != (\w+)|expected scalar type (?:Float|Double) but found (?:Float|Double)",
        "dtype-mismatch",
        "float32 and float64 tensors met in a matrix product, where torch does not promote (it "
        "does for + and *): compute in one dtype, e.g. torch.as_tensor(w, dtype=x.dtype), and "
        "never make a float32 tensor (torch.tensor(list), torch.zeros) among float64 inputs",
    ),
    (
        "TypeError",
        r"argument '(\w+)' failed to unpack the object at pos \d+ with error \"type must be tuple of ints,\s*but got float\"",
        "float-as-index",
        "a float in a shape (the `{0}` of a reshape or view): `/` gives a float even when the "
        "division is exact; use `//` for sizes (d // n_heads)",
    ),
    (
        "IndexError",
        r"tensors used as indices must be long, int, byte or bool tensors",
        "float-as-index",
        "an index tensor holds floats: token ids and class labels index as integers, "
        "torch.as_tensor(ids, dtype=torch.long)",
    ),
    (
        "RuntimeError",
        r"shape '\[(.*?)\]' is invalid for input of size (\d+)",
        "reshape-size",
        "a reshape of {1} values into [{0}]: the target shape must hold the same number of "
        "values; print the tensor's shape just before",
    ),
    (
        "RuntimeError",
        r"view size is not compatible with input tensor's size and stride",
        "view-after-transpose",
        ".view() of a tensor that a transpose or permute left non-contiguous: use .reshape(...) "
        "(or .contiguous().view(...))",
    ),
    (
        "IndexError",
        r"Dimension out of range \(expected to be in range of \[(-?\d+), (-?\d+)\], but got (-?\d+)\)",
        "wrong-axis",
        "dim {2} on a tensor whose dims run from {0} to {1}: it has fewer dimensions than that "
        "line expects (print its shape), or the dim of a reduction or transpose is wrong",
    ),
    (
        "RuntimeError",
        r"Can't call numpy\(\) on Tensor that requires grad",
        "numpy-on-autograd-tensor",
        "a NumPy function (or .numpy()) got a tensor autograd is tracking: compute with torch "
        "operations (x.mean(-1, keepdim=True), ** 0.5, torch.exp) so the gradients flow through; "
        ".detach() only what you return or print",
    ),
    (
        "RuntimeError",
        r"a leaf Variable that requires grad is being used in an in-place operation",
        "inplace-on-parameter",
        "a parameter that requires grad updated in place (w -= ..., .sub_()) while autograd "
        "records: do the update inside `with torch.no_grad():`",
    ),
    (
        "RuntimeError",
        r"element 0 of tensors does not require grad and does not have a grad_fn",
        "no-graph",
        "backward() (or autograd.grad) of a loss autograd did not record: the parameters need "
        "requires_grad=True, and the loss must be computed from them with torch operations (a "
        "detour through NumPy, .detach() or .item() cuts the graph)",
    ),
    (
        "RuntimeError",
        r"The differentiated Tensor at index \d+ appears to not have been used in the graph",
        "grad-input-unused",
        "torch.autograd.grad(outputs, inputs) with an input the outputs were not computed from: "
        "check the argument order (the loss first, then what to differentiate it by), and that the "
        "loss is computed from that very tensor (not from a copy made before requires_grad_)",
    ),
    (
        "RuntimeError",
        r"grad can be implicitly created only for scalar outputs",
        "grad-of-non-scalar",
        "backward() or autograd.grad of a tensor of several values: differentiate the scalar loss "
        "(reduce it with .mean() or .sum() first), and give autograd.grad the loss first, then what "
        "to differentiate it by",
    ),
    (
        "RuntimeError",
        r"index (-?\d+) is out of bounds for dimension (\d+) with size (\d+)",
        "index-out-of-range",
        "index {0} on dimension {1} of size {2}: valid indices go from 0 to size - 1; an index is "
        "off by one, the tensor was made too small, or the indexing runs along the wrong dim "
        "(gather's `dim` is the axis the indices pick along)",
    ),
    (
        "RuntimeError",
        r"expected target dtype to be Long or Byte, but got (\w+)|expected scalar type Long but found (\w+)",
        "target-dtype",
        "cross-entropy's targets are class indices of dtype int64: torch.as_tensor(y, dtype=torch.long)",
    ),
    (
        "RuntimeError",
        r"masked_fill_? only supports boolean masks, but got mask with dtype (\w+)",
        "mask-dtype",
        "masked_fill takes a boolean mask, not {0}: torch.as_tensor(mask, dtype=torch.bool)",
    ),
    (
        "TypeError",
        r"unsupported operand type\(s\) for (.+?): '(?:numpy\.ndarray' and 'Tensor|Tensor' and 'numpy\.ndarray)'",
        "numpy-meets-tensor",
        "a NumPy array and a torch tensor in one `{0}`: convert the array first, torch.as_tensor(a), "
        "then compute with tensors",
    ),
    (
        "TypeError",
        r"(\w+)\(\): argument '(\w+)' \(position (\d+)\) must be (\w+), not (\w+)",
        "argument-type",
        "{0}() got a value of type {4} for its argument '{1}' (position {2}), which must be of type {3}: two arguments in "
        "the wrong order, or a value of the wrong kind (a Python number where a tensor belongs, "
        "torch.as_tensor(x); a tensor where an int dim belongs); check the call against the "
        "function's signature",
    ),
    (
        "RuntimeError",
        r"Boolean value of Tensor with more than one value is ambiguous",
        "ambiguous-truth",
        "an if, while, and/or on a tensor of several values: a condition meant for one number got "
        "a tensor; when it is about every entry, say so with .all() or .any()",
    ),
    (
        "RuntimeError",
        r"a Tensor with (\d+) elements cannot be converted to Scalar",
        "array-not-scalar",
        ".item() or float() of a tensor of {0} values: a value meant to be one number is not (a "
        "missing .mean() or .sum(), or an elementwise * where a @ belongs); print its shape",
    ),
    (
        "RuntimeError",
        r"Sizes of tensors must match except in dimension (\d+)\. Expected size (\d+) but got size (\d+)",
        "concat-sizes",
        "torch.cat along dim {0} of tensors that differ elsewhere (sizes {1} and {2}): every other "
        "dimension must agree; check the dim, and the shapes of the pieces",
    ),
    (
        "ValueError",
        r"Expected input batch_size \((\d+)\) to match target batch_size \((\d+)\)",
        "batch-mismatch",
        "cross-entropy got the scores of {0} examples and {1} labels: each row of the logits pairs "
        "with one label; cut the inputs and the labels with the same bounds (X[i:j] with y[i:j]), "
        "and keep the logits (N, C)",
    ),
    (
        "ValueError",
        r"For 1D input, 1D target must have size 1, but got target size: (\d+)",
        "logits-lost-batch-axis",
        "cross-entropy got a 1-D input (the scores of one example) against {0} labels: the logits "
        "lost their batch axis, (N, C) expected; print their shape (a term of the forward left out, "
        "or a reduction over the examples)",
    ),
    (
        "ValueError",
        r"optimizer got an empty parameter list",
        "nothing-to-train",
        "the optimizer got no parameters: the list built for it is empty (a loop over the layers "
        "that never ran, a count or a filter that matched nothing); print it before building the "
        "optimizer",
    ),
)


def from_exception(exc_type: str, detail: str, code: str = "") -> Diagnosis | None:
    """A known story for an exception the learner's code raised on valid inputs, or None.

    `code` is the learner's line that raised, when known: their own `raise` statement firing
    on valid inputs is a story of its own (the check before it is wrong), whatever the type.
    """
    own = re.match(r"\s*raise\s+(\w+)", code or "")
    if own and own.group(1) == exc_type and exc_type not in ("NotImplementedError",):
        return Diagnosis(
            "signature",
            "own-check-fired",
            f"your own `raise {exc_type}` fired on valid inputs: the condition that guards it is "
            "true where it must not be (an inverted comparison, the wrong dimension or operand), "
            "or the values it tests were computed wrong just before it",
        )
    if exc_type == "ValueError":
        match = re.search(r"operands could not be broadcast together with shapes (.*?)\s*$", detail)
        if match:
            return _broadcast_story(match.group(1))
        # np.where / a ufunc with out= words it with the original shapes before the arrows
        match = re.search(
            r"broadcast together with remapped shapes \[original->remapped\]: (.*?) and requested",
            detail,
        )
        if match:
            return _broadcast_story(" ".join(re.findall(r"(\([\d,]*\))->", match.group(1))))
    for kind, pattern, name, hint in _ERROR_STORIES + _TORCH_ERROR_STORIES:
        if exc_type == kind:
            match = re.search(pattern, detail)
            if match:
                return Diagnosis("signature", name, hint.format(*match.groups()))
    return None


def _broadcast_story(shapes_text: str) -> Diagnosis:
    """Why two shapes did not broadcast: a reduced axis, a flat array, or (no claim) other."""
    shapes = [
        tuple(int(n) for n in re.findall(r"\d+", group))
        for group in re.findall(r"\(([^)]*)\)", shapes_text)
    ]
    said = f"arrays of incompatible shapes {shapes_text.strip()} were combined elementwise"
    if len(shapes) == 2:
        a, b = sorted(shapes, key=len)
        if len(a) == 1 and len(b) >= 2 and a[0] == int(np.prod(b)):
            return Diagnosis(
                "signature",
                "flat-vs-nd",
                f"{said}: a flat array of all {a[0]} values met the {len(b)}-D one (a basis "
                "vector made with x.size or ravel()): build it with x.shape (np.zeros_like(x)) "
                "and index it with a multi-index",
            )
        if a and b and len(a) <= len(b) and _reduced_from(a, b):
            return Diagnosis(
                "signature",
                "broadcast-mismatch",
                f"{said}: one looks like the other reduced over an axis; check keepdims=True on "
                "the reduction, the axis it runs over, or a missing transpose",
            )
    return Diagnosis(
        "signature",
        "broadcast-mismatch",
        f"{said}: print the shapes of both operands where they meet",
    )


def _reduced_from(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """`a` is `b` with one axis dropped or set to 1 (what a reduction leaves)."""
    return any(a in (b[:k] + b[k + 1 :], b[:k] + (1,) + b[k + 1 :]) for k in range(len(b))) or (
        len(a) == len(b) - 1 and a == b[1:]
    )


def count_story(got: int, expected: int, terms: Mapping[str, tuple[int, str]]) -> Diagnosis | None:
    """A wrong count (parameters, operations) told as the smallest combination of its terms.

    `terms` maps a term's formula ("n_layer·d²") to (its value for this configuration, what
    it counts). The difference got - expected is written as c1·t1 (+ c2·t2), integer
    coefficients |c| <= 4; the story is told only when exactly one such combination fits
    (on a small configuration, 3·n_layer·d may equal n_ctx·d: then no name).
    """
    diff = int(got) - int(expected)
    if diff == 0 or not terms:
        return None
    readings = _count_readings(diff, {n: v for n, (v, _) in terms.items()}, most_terms=3, most_coef=8)
    # told: one or two terms, |c| <= 4; and no other reading in the wider search, so that a
    # small configuration's coincidences (3·n_layer·d == n_ctx·d) give no name
    if len(readings) != 1 or len(readings[0]) > 2 or any(abs(c) > 4 for _, c in readings[0]):
        return None
    combo = readings[0]
    formula = " ".join(f"{'+' if c > 0 else '-'} {abs(c)}·{n}" if abs(c) != 1 else f"{'+' if c > 0 else '-'} {n}"
                       for n, c in combo).lstrip("+ ")  # fmt: skip
    what = "; ".join(f"{n} is {terms[n][1]}" for n, _ in combo)
    side = "more" if diff > 0 else "fewer"
    return Diagnosis(
        "signature",
        "count-off-by-term",
        f"{abs(diff):,} {side} than expected, exactly {formula} ({what}): a term of that size is "
        f"{'counted twice or added' if diff > 0 else 'missing or counted too small'}; write the count as a "
        "sum of one term per array and compare each with the array's shape",
    )


def _count_readings(diff: int, values: Mapping[str, int], most_terms: int, most_coef: int) -> list:
    """Every way of writing diff as sum c·value over at most `most_terms` terms, 0 < |c| <= most_coef."""
    from itertools import combinations

    coefs = np.array([c for c in range(-most_coef, most_coef + 1) if c], dtype=object)
    found = []
    for k in range(1, most_terms + 1):
        for names in combinations(values, k):
            grids = np.meshgrid(*[coefs] * k, indexing="ij")  # every coefficient tuple at once
            total = sum(g * values[n] for g, n in zip(grids, names))  # Python ints: exact
            for hit in zip(*np.nonzero(total == diff)):
                found.append(tuple((n, int(g[hit])) for n, g in zip(names, grids)))
    return found
