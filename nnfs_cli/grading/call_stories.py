"""Name a mistake from the learner's calls: their output against the reference's on the same inputs.

The signatures in `nnfs_cli.diagnosis` see one compared array; here the grader also knows
the call that produced it, so a story may name an argument: a missing `+ b`, a missing
factor `dout` (the chain rule's upstream gradient), a step away from `param` with the wrong
sign or without `lr`, or another function of the exercise returned instead of this one.
A story is told only when it explains every differing output of the test, on at least two
values, and no other story does too.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable

import numpy as np

from nnfs_cli.grading.result import Diagnosis

RTOL, ATOL = 1e-5, 1e-8  # float32-level: a learner may compute in float32


def _arrays(value: object) -> list[np.ndarray] | None:
    """The numeric arrays of an output (tuples, lists and dicts flattened), or None."""
    if isinstance(value, dict):
        value = [value[k] for k in sorted(value, key=str)]
    if isinstance(value, tuple | list) and not all(np.isscalar(v) for v in value):
        # the float parts only: a step counter or a label list has no arithmetic story
        parts = [_arrays(v) for v in value]
        return [a for p in parts if p is not None for a in p] or None
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        return None
    if arr.dtype.kind != "f":  # counts, labels, shapes: no arithmetic story about those
        return None
    arr = arr.astype(np.float64)
    return [arr] if np.isfinite(arr).all() else None


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=RTOL, atol=ATOL))


def _numeric_args(fn: Callable, args: tuple, kwargs: dict) -> dict[str, np.ndarray]:
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
    except (TypeError, ValueError):
        return {}
    params = bound.signature.parameters
    out = {}
    for name, value in bound.arguments.items():
        if not isinstance(value, np.ndarray | float | np.floating):
            continue
        default = params[name].default
        if isinstance(default, int | float) and np.ndim(value) == 0 and value == default:
            continue  # passed as its default: the call did not really have this argument
        arr = _arrays(value)
        if arr is not None and len(arr) == 1 and arr[0].size:
            out[name] = arr[0]
    return out


def _stories(got: np.ndarray, ours: np.ndarray, args: dict[str, np.ndarray]):
    """(story name, hint) for every simple relation between got and ours through one argument."""
    with np.errstate(all="ignore"):
        for a, value in args.items():
            if not _distinctive(a, value, args):
                continue  # a common number (0, 1, 2, 0.5) or shared by two arguments: a coincidence
            try:
                term = np.broadcast_to(value, ours.shape)
            except ValueError:
                term = None
            if term is not None:
                if _close(got, ours - term) or _close(got, ours + term):
                    yield (
                        f"term-{a}",
                        f"off by exactly `{a}`: a `+ {a}` or `- {a}` term is missing or counted twice",
                    )
                if _close(got, ours - 2 * term) or _close(got, ours + 2 * term):
                    yield f"term-{a}-sign", f"the `{a}` term has the wrong sign"
                if np.all(term != 0) and _close(got, ours / term):
                    yield (
                        f"missing-factor-{a}",
                        f"a factor `{a}` is missing: multiply by {a} (in a backward pass, by the "
                        "upstream gradient: the chain rule)",
                    )
                if _close(got, ours * term):
                    yield f"extra-factor-{a}", f"multiplied by `{a}` once too often"
            if value.shape == ours.shape and not _close(ours, value):
                step_ours, step_got = ours - value, got - value
                if _close(step_got, -step_ours):
                    yield (
                        "step-reversed",
                        f"the change from `{a}` has the wrong sign: the step goes uphill (a + "
                        "where a - belongs)",
                    )
                for s, scale in args.items():
                    if scale.size != 1 or s == a or scale.item() in (0.0, 1.0, -1.0):
                        continue
                    if _close(step_got, step_ours / scale.item()):
                        yield (
                            f"step-missing-{s}",
                            f"the change from `{a}` is not multiplied by `{s}`",
                        )
                    if _close(step_got, step_ours * scale.item()):
                        yield (
                            f"step-extra-{s}",
                            f"the change from `{a}` is multiplied by `{s}` twice",
                        )


_COMMON = (0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5)


def _broadcasts(value: np.ndarray, shape: tuple) -> bool:
    try:
        np.broadcast_to(value, shape)
    except ValueError:
        return False
    return True


def _coefficient_story(got, ours, a: str, term: np.ndarray, args) -> tuple[str, str] | None:
    """got = ours + k * `a` for one constant k other than +-1, +-2 (those are the term
    stories): a term in `a` with the wrong coefficient. Told on four values or more of a
    non-constant `a`, and not when ours itself is proportional to `a` (then a factor fits)."""
    mask = np.abs(term) > ATOL
    if mask.sum() < 4 or np.unique(term[mask]).size < 2:
        return None
    k = float(np.median((got - ours)[mask] / term[mask]))
    if any(np.isclose(k, c, rtol=1e-6, atol=1e-12) for c in (0.0, 1.0, -1.0, 2.0, -2.0)):
        return None
    if not _close(got, ours + k * term):
        return None
    r = float(np.median(ours[mask] / term[mask]))
    if _close(ours, r * term):
        return None  # ours is a multiple of `a`: a scale factor explains it as well
    for s, scale in args.items():
        if s != a and scale.size == 1 and np.isclose(abs(k), abs(scale.item()), rtol=1e-6):
            return (
                f"term-{s}*{a}",
                f"off by exactly {k:+.4g} * `{a}`, and {abs(k):.4g} is `{s}`: a `{s} * {a}` "
                "term is missing, extra or of the wrong sign",
            )
    return (
        f"term-{a}-coefficient",
        f"off by exactly {k:+.4g} * `{a}`: a term in `{a}` has the wrong coefficient (or is "
        "missing or extra)",
    )


def _distinctive(a: str, value: np.ndarray, args: dict[str, np.ndarray]) -> bool:
    """An array, or a scalar specific enough that a relation through it is not chance."""
    if value.size > 1:
        return True
    v = value.item()
    if v in _COMMON:
        return False
    return not any(o.size == 1 and o.item() == v for k, o in args.items() if k != a)


def _region_stories(
    got: np.ndarray, ours: np.ndarray, a: str, value: np.ndarray, scalars: dict[str, float]
):
    """Right everywhere except exactly where the argument is negative, positive, zero, or at
    a threshold given by another (scalar) argument."""
    bad = ~np.isclose(got, ours, rtol=RTOL, atol=ATOL)
    if not bad.any() or bad.all():
        return
    for s, t in scalars.items():
        if t != 0 and np.array_equal(bad, value == t):
            yield (
                f"threshold-{a}=={s}",
                f"right everywhere except where `{a}` equals `{s}` exactly: > versus >= at the "
                "threshold (the docstring says which side an equal value belongs to)",
            )
            return
    regions = (
        (value < 0, "< 0", "the formula (or branch) for negative inputs"),
        (value > 0, "> 0", "the formula (or branch) for positive inputs"),
        (value <= 0, "<= 0", "the formula (or branch) for inputs <= 0"),
        (value >= 0, ">= 0", "the formula (or branch) for inputs >= 0"),
        (value == 0, "== 0", "the value at exactly 0: > versus >= (the convention at the kink)"),
    )
    for region, label, what in regions:
        if np.array_equal(bad, region):
            yield (
                f"wrong-where-{a}{label.replace(' ', '')}",
                f"right everywhere except where `{a}` {label}: check {what}",
            )
            return


def _reduction_stories(got: np.ndarray, ours: np.ndarray, args: dict[str, np.ndarray]):
    """A result of the wrong shape that is a sum or mean of an argument over another axis."""
    for a, value in args.items():
        for axis in range(value.ndim if value.ndim >= 2 else 0):
            for fn in (np.sum, np.mean):
                reduced = fn(value, axis=axis)
                if reduced.shape == got.shape and _close(got, reduced):
                    yield (
                        f"reduced-over-axis-{axis}",
                        f"this is the {fn.__name__} of `{a}` over axis {axis}: the reduction runs "
                        f"over the wrong axis (the result has shape {ours.shape})",
                    )


def _scalar_args(fn: Callable, args: tuple, kwargs: dict) -> dict[str, int | float]:
    """The call's real-number arguments (not bools, nor one passed at its default value: the
    call did not really have it), by parameter name."""
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
    except (TypeError, ValueError):
        return {}
    params = bound.signature.parameters
    return {
        k: v.item() if isinstance(v, np.generic) else v
        for k, v in bound.arguments.items()
        if isinstance(v, int | float | np.integer | np.floating)
        and not isinstance(v, bool | np.bool_)
        and not (isinstance(params[k].default, int | float) and v == params[k].default)
    }


def _as_if_values(value: int | float) -> list[tuple[str, int | float, str]]:
    """(the value shown, the replacement, what it means) for the usual wrong values of one
    argument: a count one off; a number negated, left out (0 or 1), or complemented."""
    if isinstance(value, int | np.integer):
        return [("{a} + 1", value + 1, "a loop or a count off by one (one step too many)"),
                ("{a} - 1", value - 1, "a loop or a count off by one (one step too few)")]  # fmt: skip
    out = [("-{a}", -value, "a sign error where it enters (a + where a - belongs)")]
    if value != 0:
        out.append(("0", 0.0, "what it controls has no effect (a term that uses it is dropped, "
                              "or a state it carries is not kept from one step to the next)"))  # fmt: skip
    if value != 1:
        out.append(("1", 1.0, "it is never applied (a factor left out, or replaced by 1)"))
    if 0 < value < 1 and value != 0.5:
        out.append(("1 - {a}", 1.0 - value, "the complementary meaning (keep- vs "
                                             "drop-probability, the weight on the new value vs "
                                             "on the old one)"))  # fmt: skip
    return out


def _as_if_stories(fn: Callable, args: tuple, kwargs: dict, got: list[np.ndarray]):
    """(story, hint) for each real-number argument that, given another usual value, makes the
    reference return exactly what the learner returned on this call."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    for a, value in _scalar_args(fn, args, kwargs).items():
        for shown, new, meaning in _as_if_values(value):
            bound = sig.bind(*copy.deepcopy(args), **copy.deepcopy(kwargs))
            bound.arguments[a] = type(value)(new)
            try:
                with np.errstate(all="ignore"):
                    result = _arrays(fn(*bound.args, **bound.kwargs))
            except Exception:
                continue
            if result and len(result) == len(got) and all(map(_close, got, result)):
                shown = shown.format(a=a)
                yield (
                    f"as-if-{a}={shown.replace(' ', '')}",
                    f"your result is exactly the exercise's formula with `{a}` = {shown}: {meaning}",
                )


def call_story(reference, calls: list) -> Diagnosis | None:
    """The one story that explains every learner output of the test that differs from ours.

    What the mistake is (a term, a factor, a step, another function, an axis) comes before
    what the result would be with one argument changed (as if beta were 0, lr negated, one
    step more), and both before where it is (only for negative inputs, only at 0), which is
    told only when nothing else fits.
    """
    what: dict[str, str] | None = None
    as_if: dict[str, str] | None = None
    coefficient: dict[str, str] | None = None
    where: dict[str, str] | None = None
    values = wrong_entries = 0
    for name, args, kwargs, got in calls:
        fn = getattr(reference, name, None)
        theirs = _arrays(got)
        if fn is None or theirs is None:
            return None
        try:
            ours = _arrays(fn(*copy.deepcopy(args), **copy.deepcopy(kwargs)))
        except Exception:
            return None
        if ours is None or len(ours) != len(theirs):
            return None
        numeric = _numeric_args(fn, args, kwargs)
        # the changed argument must reproduce every call of the test, the right ones too
        found_as_if = dict(_as_if_stories(fn, args, kwargs, theirs))
        as_if = found_as_if if as_if is None else {
            k: v for k, v in as_if.items() if k in found_as_if
        }  # fmt: skip
        for t, o in zip(theirs, ours):
            if _close(t, o):
                continue
            values += t.size
            wrong_entries += (
                int(np.sum(~np.isclose(t, o, rtol=RTOL, atol=ATOL)))
                if t.shape == o.shape
                else t.size
            )
            coef = {}
            if t.shape != o.shape:
                found, region = dict(_reduction_stories(t, o, numeric)), {}
            else:
                found = dict(_stories(t, o, numeric))
                coef = dict(
                    c
                    for a, value in numeric.items()
                    if value.size > 1 and _broadcasts(value, o.shape)
                    for c in [_coefficient_story(t, o, a, np.broadcast_to(value, o.shape), numeric)]
                    if c
                )
                found.update(_other_function(reference, name, args, kwargs, t))
                scalars = {k: v.item() for k, v in numeric.items() if v.size == 1}
                region = {
                    k: v
                    for a, value in numeric.items()
                    if value.shape == o.shape and value.size > 1
                    for k, v in _region_stories(t, o, a, value, scalars)
                }
            what = found if what is None else {k: v for k, v in what.items() if k in found}
            coefficient = (
                coef if coefficient is None else {k: v for k, v in coefficient.items() if k in coef}
            )
            where = region if where is None else {k: v for k, v in where.items() if k in region}
    if values < 2:
        return None
    if wrong_entries < 3:
        # one or two wrong entries: another value of an argument that moves just those is
        # a coincidence of the data as often as a story (p vs 1 - p with no draw between)
        as_if = None
    for stories in (what, as_if, coefficient, where):
        if stories and len(stories) == 1:
            story, hint = next(iter(stories.items()))
            return Diagnosis("signature", story, hint)
        if stories:
            return None  # two stories fit: the evidence does not say which
    return None


def _other_function(reference, name: str, args, kwargs, got: np.ndarray) -> dict[str, str]:
    """Another function of the exercise with the same parameters that returns exactly `got`."""
    fn = getattr(reference, name)
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return {}
    out = {}
    for other, g in vars(reference).items():
        if other == name or other.startswith("_") or not inspect.isfunction(g):
            continue
        if getattr(g, "__module__", None) != getattr(fn, "__module__", None):
            continue
        try:
            if list(inspect.signature(g).parameters) != params:
                continue
            result = _arrays(g(*copy.deepcopy(args), **copy.deepcopy(kwargs)))
        except Exception:
            continue
        if result and any(_close(got, r) for r in result):
            out[f"is-{other}"] = (
                f"this is what `{other}` computes, not `{name}`: the wrong formula (or function) was used"
            )
    return out
