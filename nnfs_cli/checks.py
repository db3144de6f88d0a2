"""Check helpers shared by every grader. No grader re-implements one of these.

Each raises `GradeFailure` with a message that teaches: what was checked, on which input,
expected versus got, where, by what relative error, and a hint.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pytest

from nnfs_cli.diagnosis import count_story, shape_story, signature
from nnfs_cli.grading.result import Diagnosis

TINY = 1e-12
# float32 carries ~7 significant digits; after O(100) operations 1e-5 relative is honest.
FLOAT32_RTOL, FLOAT32_ATOL = 2e-5, 1e-6
# A value check runs on both widths a learner may compute in: `@DTYPES` on a test that
# takes `dtype`.
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
# A loss is one number: a float32 computation returned as a Python float arrives typed
# float64, so losses are compared at float32 precision (every wrong formula is off by far more).
LOSS_TOL = {"rtol": FLOAT32_RTOL, "atol": FLOAT32_ATOL}
# A training loop's first losses, compared step for step, show Adam's update at once.
ADAM_HINT = (
    "one Adam step per step on every parameter, from step t = 1: m = 0.9 m + 0.1 g, "
    "s = 0.999 s + 0.001 g**2, w -= lr * (m / (1 - 0.9**t)) / (sqrt(s / (1 - 0.999**t)) + 1e-8) "
    "(torch.optim.Adam(params, lr=lr) does exactly this)"
)


class GradeFailure(AssertionError):
    """A check failed; `str()` is the learner-facing message."""

    def __init__(self, message: str, diagnosis: Diagnosis | None = None, extra: dict | None = None):
        super().__init__(message)
        self.diagnosis = diagnosis
        self.extra = extra or {}


def fail(what: str, detail: str, *, on: str = "", hint: str = "", **kw) -> GradeFailure:
    lines = [what, f"  checked: {detail}" if detail else ""]
    if on:
        lines.append(f"  input: {on}")
    if hint:
        lines.append(f"  hint: {hint}")
    return GradeFailure("\n".join(line for line in lines if line), **kw)


def describe(**arrays: object) -> str:
    """'x (4, 3) float64, W (3, 5) float64' for the inputs of a check."""
    parts = []
    for name, a in arrays.items():
        if isinstance(a, np.ndarray):
            parts.append(f"{name} {tuple(a.shape)} {a.dtype}")
        else:
            parts.append(f"{name}={a!r}")
    return ", ".join(parts)


def rel_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise |a - b| / max(|a| + |b|, tiny): 0 is exact, 1 is unrelated."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), TINY)


def _fmt(a: np.ndarray, limit: int = 6) -> str:
    flat = np.asarray(a).ravel()
    text = np.array2string(flat[:limit], precision=5, separator=", ", suppress_small=False)
    return text[:-1] + ", ...]" if flat.size > limit else text


def as_array(got: object, what: str, on: str = "") -> np.ndarray:
    if isinstance(got, np.ndarray):
        return got
    if isinstance(got, bool | int | float | np.number):
        return np.asarray(got)
    if isinstance(got, list | tuple):
        try:
            arr = np.asarray(got, dtype=np.float64)
            return arr
        except (TypeError, ValueError):
            pass
    raise fail(
        f"{what}: expected a NumPy array, got {type(got).__name__}",
        "the type of the result",
        on=on,
        hint="return a NumPy array (np.asarray(...)); did the function return None by accident?",
    )


def _maybe_array(a: object) -> object:
    return (
        a
        if isinstance(a, np.ndarray | np.generic)
        else np.asarray(a)
        if isinstance(a, list | tuple)
        else a
    )


def _low_precision(a: object) -> bool:
    return isinstance(a, np.ndarray | np.generic) and a.dtype in (np.float32, np.float16)


def tolerances(*question: object, rtol: float, atol: float) -> tuple[float, float]:
    """The check's tolerances, from the question (expected values, inputs), never the answer.

    A question asked in float32 (an input, or the expected values, in float32 or float16) is
    compared at float32 precision. A float32 answer to a float64 question is compared at
    float64 precision: the answer's dtype is the learner's choice, so it cannot loosen the
    check (else any error below 2e-5 would pass by returning float32); `dtype_note` tells
    the learner why when that is what failed.
    """
    if any(_low_precision(a) for a in map(_maybe_array, question)):
        return max(rtol, FLOAT32_RTOL), max(atol, FLOAT32_ATOL)
    return rtol, atol


def dtype_note(got: object, rtol: float) -> str:
    """Why a float32 answer failed a float64 check (empty when that is not the case)."""
    if not _low_precision(got) or rtol >= FLOAT32_RTOL:
        return ""
    return (
        f"your result is {got.dtype} but the question is float64, so it is checked at float64 "
        f"precision (rtol={rtol:g}; {got.dtype} keeps only ~{7 if got.dtype == np.float32 else 3} "
        "significant digits): compute in the inputs' dtype"
    )


def assert_shape(
    got: object,
    shape: Sequence[int],
    what: str,
    on: str = "",
    hint: str = "",
    expected: object = None,
    inputs: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """`got` is an array of `shape`; `expected` (its values, when known) and `inputs` back
    the diagnosis."""
    arr = as_array(got, what, on)
    if tuple(arr.shape) != tuple(shape):
        values = None if expected is None else (arr, np.asarray(expected))
        diag = shape_story(arr.shape, tuple(shape), values=values, inputs=inputs, answer=arr)
        raise fail(
            f"{what}: wrong shape",
            f"expected shape {tuple(shape)}, got {tuple(arr.shape)}",
            on=on,
            diagnosis=diag,
            hint="print the shapes of the intermediate arrays; (N, D) means N samples of D features",
        )
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise fail(f"{what}: wrong dtype", f"expected real numbers, got dtype {arr.dtype}", on=on)
    return arr


def assert_close(
    got: object,
    expected: object,
    what: str,
    *,
    on: str = "",
    rtol: float = 1e-7,
    atol: float = 1e-10,
    hint: str = "",
    batch: int | None = None,
    others: Mapping[str, np.ndarray] | None = None,
    inputs: Mapping[str, np.ndarray] | None = None,
    large_input: bool = False,
) -> np.ndarray:
    """Values of `got` equal `expected` elementwise: |got - exp| <= atol + rtol |exp|.

    Default tolerances are for float64 against a float64 reference (exact math, rounding
    only). A float32 question (inputs or expected values) is compared at float32 precision;
    a float32 answer to a float64 question is not (see `tolerances`). `others` are the other
    expected outputs of the same call (to recognise swapped returns), `inputs` the inputs
    (to recognise an input returned unchanged), `batch` the batch size (to name 1/N).
    """
    exp = np.asarray(expected, dtype=np.float64)
    arr = (
        assert_shape(got, exp.shape, what, on, expected=exp, inputs=inputs)
        if exp.shape
        else as_array(got, what, on)
    )
    if arr.shape != exp.shape:
        raise fail(
            f"{what}: wrong shape",
            f"expected shape {exp.shape}, got {arr.shape}",
            on=on,
            diagnosis=shape_story(arr.shape, exp.shape),
        )
    rtol, atol = tolerances(np.asarray(expected), *(inputs or {}).values(), rtol=rtol, atol=atol)
    val = arr.astype(np.float64)
    with np.errstate(invalid="ignore"):
        ok = np.isclose(val, exp, rtol=rtol, atol=atol, equal_nan=True)
    if ok.all():
        return arr
    diag = signature(
        val,
        exp,
        rtol=rtol,
        atol=atol,
        batch=batch,
        others=others,
        inputs=inputs,
        large_input=large_input,
    )
    if not np.isfinite(val).all() and np.isfinite(exp).all():
        idx = np.unravel_index(int(np.argmax(~np.isfinite(val))), val.shape) if val.ndim else ()
        detail = f"{int((~np.isfinite(val)).sum())} of {val.size} values are NaN or inf where the exact result is finite"
    else:
        err = np.where(ok, 0.0, np.abs(val - exp))
        idx = np.unravel_index(int(np.argmax(err)), val.shape) if val.ndim else ()
        detail = f"{int((~ok).sum())} of {val.size} values differ (tolerance rtol={rtol:g}, atol={atol:g})"
    hint = dtype_note(arr, rtol) or hint
    raise _mismatch(
        f"{what}: wrong values", detail, on, ("expected", exp), ("got", val), idx, hint, diag
    )


def _mismatch(
    headline: str, detail: str, on: str, want: tuple, have: tuple, idx: tuple, hint: str, diag
) -> GradeFailure:
    """The shared shape of a wrong-array message: what, input, worst entry, both arrays, hint."""
    (want_label, w), (have_label, h) = want, have
    where = f" at index {list(map(int, idx))}" if h.ndim else ""
    pad = max(len(want_label), len(have_label))
    lines = [
        headline,
        f"  checked: {detail}",
        f"  input: {on}" if on else "",
        f"  {want_label}{where}: {w[idx]:.8g}   {have_label}: {h[idx]:.8g}   relative error: {float(rel_error(h[idx], w[idx])):.2e}",
        f"  {want_label + ':':<{pad + 1}} {_fmt(w)}" if h.ndim else "",
        f"  {have_label + ':':<{pad + 1}} {_fmt(h)}" if h.ndim else "",
        f"  hint: {hint}" if hint else "",
    ]
    return GradeFailure("\n".join(x for x in lines if x), diagnosis=diag)


def assert_count(
    got: object,
    expected: int,
    what: str,
    *,
    terms: Mapping[str, tuple[int, str]],
    on: str = "",
    hint: str = "",
) -> None:
    """An integer count (parameters, operations) equals `expected` exactly.

    `terms` names the count's pieces, {"n_layer·d²": (value, "what it counts")}: a wrong
    count that is a small combination of them is told as one (see `count_story`).
    """
    if not isinstance(got, int | np.integer) or isinstance(got, bool | np.bool_):
        raise fail(f"{what}: not an int", f"expected an int, got {type(got).__name__}", on=on,
                   hint="return int(...)")  # fmt: skip
    if int(got) != int(expected):
        raise fail(f"{what}: wrong count", f"expected {int(expected):,}, got {int(got):,} "
                   f"({int(got) - int(expected):+,})", on=on, hint=hint,
                   diagnosis=count_story(int(got), int(expected), terms))  # fmt: skip


def assert_true(condition: bool, what: str, detail: str, *, on: str = "", hint: str = "") -> None:
    """A property check (e.g. 'KL >= 0'); the message says what property failed."""
    if not condition:
        raise fail(what, detail, on=on, hint=hint)


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Central differences of a scalar function, in float64, one coordinate at a time.

    h = 1e-5 balances truncation (~h^2) against roundoff (~1e-16 |f| / h) in float64.
    """
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = float(f(x))
        x[i] = old - h
        fm = float(f(x))
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad


def numerical_derivative(
    f: Callable[[np.ndarray], np.ndarray], z: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Central differences of an elementwise function, all elements at once, in float64.

    Each element's difference involves only its own value, so roundoff stays ~1e-16 |f(z)| / h.
    """
    z = np.asarray(z, dtype=np.float64)
    return (np.asarray(f(z + h), np.float64) - np.asarray(f(z - h), np.float64)) / (2 * h)


def assert_gradient(
    analytic: object,
    numeric: np.ndarray,
    what: str,
    *,
    on: str = "",
    tol: float = 1e-6,
    hint: str = "",
    batch: int | None = None,
    others: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Analytic gradient vs central differences: max relative error <= tol.

    The relative error's floor is 1e-4 of the gradient's scale, so entries that are 0 in
    exact arithmetic do not turn finite-difference noise (~1e-10) into a huge ratio; an
    absolute error above ~1e-10 of the scale still fails.
    """
    numeric = np.asarray(numeric, dtype=np.float64)
    arr = assert_shape(analytic, numeric.shape, what, on, expected=numeric)
    a = arr.astype(np.float64)
    if a.dtype != arr.dtype or arr.dtype == np.float32:
        tol = max(tol, 1e-3) if arr.dtype == np.float32 else tol  # float32 gradients: ~1e-4 honest
    floor = 1e-4 * max(float(np.abs(numeric).max(initial=0.0)), 1e-3)
    err = np.abs(a - numeric) / np.maximum(np.abs(a) + np.abs(numeric), floor)
    if not np.isfinite(a).all() or err.max(initial=0.0) > tol:
        diag = signature(a, numeric, rtol=max(tol, 1e-6), atol=floor, batch=batch, others=others)
        idx = (
            np.unravel_index(int(np.nanargmax(np.where(np.isfinite(err), err, np.inf))), a.shape)
            if a.ndim
            else ()
        )
        worst = float(np.nanmax(np.where(np.isfinite(err), err, np.inf)))
        detail = f"max relative error {worst:.2e} (allowed {tol:g}), {int((err > tol).sum())} of {a.size} entries off"
        raise _mismatch(f"{what}: gradient does not match central differences", detail, on,
                        ("numerical", numeric), ("yours", a), idx, hint, diag)  # fmt: skip
    return arr


def as_tuple(got: object, n: int, what: str, on: str = "") -> tuple:
    """The learner's result as a tuple of n values, or a failure saying what came back."""
    assert_true(
        isinstance(got, tuple | list) and len(got) == n,
        f"{what}: expected a tuple of {n} values",
        f"got {type(got).__name__}"
        + (f" of length {len(got)}" if isinstance(got, tuple | list) else ""),
        on=on,
        hint="return the results together, in the order the docstring gives: return a, b, ...",
    )
    return tuple(got)


def expected_gradients(
    forward: Callable[..., object],
    inputs: Mapping[str, np.ndarray],
    dout: np.ndarray,
    wrt: Sequence[str],
    oracle: str = "numerical",
) -> dict[str, np.ndarray]:
    """d sum(dout * forward(**inputs)) / d inputs[name] for each name in `wrt`, in float64.

    oracle "numerical": central differences of `forward`, a trusted NumPy reference;
    oracle "torch": torch.autograd of `forward`, written with torch ops on float64 tensors.
    """
    x64 = {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()}
    up = np.asarray(dout, dtype=np.float64)
    if oracle == "torch":
        keys = list(x64)
        _, grads = torch_oracle(
            lambda *ts: (forward(**dict(zip(keys, ts))), up),
            *x64.values(),
            grad_of=[keys.index(k) for k in wrt],
        )
        return dict(zip(wrt, grads))
    return {
        k: numerical_gradient(lambda v, k=k: np.sum(up * forward(**{**x64, k: v})), x64[k])
        for k in wrt
    }


def assert_backward(
    got: object,
    forward: Callable[..., object],
    inputs: Mapping[str, np.ndarray],
    dout: np.ndarray,
    wrt: Sequence[str],
    what: str,
    *,
    oracle: str = "numerical",
    on: str = "",
    hints: Mapping[str, str] | None = None,
    batch: int | None = None,
    tol: float = 1e-6,
) -> None:
    """A layer's backward: its gradients (one per name in `wrt`, in that order) are those of
    sum(dout * forward(**inputs)).

    In layers: a tuple of the right length -> each gradient shaped like its input -> values
    against `expected_gradients(..., oracle)`. The other gradients of the same call go in
    as `others`, so returns in the wrong order are named.
    """
    grads = (got,) if len(wrt) == 1 and not isinstance(got, tuple | list) else got
    grads = as_tuple(grads, len(wrt), what, on)
    hints = hints or {}
    for name, g in zip(wrt, grads):
        shape = np.shape(inputs[name])
        assert_shape(g, shape, f"{what}: d{name} (shaped like {name}, {shape})", on=on)
    expected = expected_gradients(forward, inputs, dout, wrt, oracle)
    for name, g in zip(wrt, grads):
        others = {f"d{k}": v for k, v in expected.items() if k != name}
        label, hint = f"{what}: d{name}", hints.get(name, "")
        if oracle == "torch":
            assert_close(g, expected[name], f"{label} (vs torch.autograd)", on=on, hint=hint,
                         batch=batch, others=others)  # fmt: skip
        else:
            assert_gradient(g, expected[name], label, on=on, tol=tol, hint=hint, batch=batch,
                            others=others)  # fmt: skip


def loss_plot(
    curves: Mapping[str, Sequence[float]], title: str, width: int = 60, height: int = 12
) -> str:
    """A small terminal plot of loss curves (plotext), as text."""
    try:
        import plotext as plt

        return _plot(plt, curves, title, width, height)
    except Exception:  # plotting is a nicety; the numbers are in the message anyway
        return ""


def _plot(plt, curves: Mapping[str, Sequence[float]], title: str, width: int, height: int) -> str:
    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    finite = [float(y) for ys in curves.values() for y in ys if np.isfinite(y)]
    # a diverging curve spans many decades: only a log axis shows both ends
    log = bool(finite) and min(finite) > 0 and max(finite) / min(finite) > 1e3
    for label, ys in curves.items():
        points = [
            (i, float(y))
            for i, y in enumerate(ys, start=1)
            if np.isfinite(y) and (not log or y > 0)
        ]
        if points:
            xs, vals = zip(*points)
            plt.plot(
                list(xs), [float(np.log10(v)) for v in vals] if log else list(vals), label=label
            )
    plt.title(title + (" (log10 scale)" if log else ""))
    plt.xlabel("step")
    # plain text: the message is shown by Rich, in JSON and in nbgrader feedback alike
    return re.sub(r"\x1b\[[0-9;]*m", "", plt.build())


def assert_converges(
    losses: Iterable[float],
    target: float,
    what: str,
    *,
    budget: int,
    on: str = "",
    reference: Sequence[float] | None = None,
    hint: str = "",
    higher_is_better: bool = False,
) -> list[float]:
    """The curve reaches `target` within `budget` steps; a failure shows the curve."""
    curve = [
        float(x) for x in np.asarray(as_array(list(losses), what, on), dtype=np.float64).ravel()
    ]
    within = curve[:budget]
    finite = [x for x in within if np.isfinite(x)]
    best = (max if higher_is_better else min)(finite) if finite else float("nan")
    reached = bool(finite) and (best >= target if higher_is_better else best <= target)
    if reached:
        return curve
    curves = {"yours": curve} | ({"reference": list(reference)} if reference is not None else {})
    word = "reach" if higher_is_better else "get down to"
    detail = f"best {best:.4g} in {len(within)} steps; needed to {word} {target:g} within {budget}"
    if len(within) and not finite:
        detail = "every value is NaN or inf: the training diverged (learning rate too large, or a sign error?)"
    msg = "\n".join(
        x
        for x in [
            f"{what}: did not converge",
            f"  checked: {detail}",
            f"  input: {on}" if on else "",
            f"  first values: {_fmt(np.asarray(curve), 5)}",
            f"  hint: {hint}" if hint else "",
        ]
        if x
    )
    plot = loss_plot(curves, what)
    raise GradeFailure(msg + ("\n" + plot if plot else ""), extra={"curves": curves, "title": what})


def torch_oracle(
    fn: Callable, *arrays: np.ndarray, grad_of: Sequence[int] = ()
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Run `fn` on float64 torch tensors; return its output and d(sum(out * weights))/d(arrays[i]).

    `grad_of` lists the positions of the arrays to differentiate; the scalar whose gradient
    is taken is `(out * upstream).sum()` when fn returns (out, upstream), else `out.sum()`.
    """
    import torch

    tensors = [
        torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=i in grad_of)
        for i, a in enumerate(arrays)
    ]
    out = fn(*tensors)
    upstream = None
    if isinstance(out, tuple):
        out, upstream = out
    if grad_of:
        scalar = (
            (out * torch.as_tensor(upstream, dtype=torch.float64)).sum()
            if upstream is not None
            else out.sum()
        )
        grads = torch.autograd.grad(scalar, [tensors[i] for i in grad_of])
        return out.detach().numpy(), [g.numpy() for g in grads]
    return out.detach().numpy(), []


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def imported_modules(source: str) -> set[str]:
    """Top-level modules a source imports, also through __import__, importlib or exec strings."""
    found: set[str] = set()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return found
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.partition(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.partition(".")[0])
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            first = node.args[0] if node.args else None
            if (
                name in ("__import__", "importlib.import_module", "import_module")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                found.add(first.value.partition(".")[0])
            elif (
                name in ("exec", "eval", "compile")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                found |= imported_modules(first.value)
    return found


def _call_sites(source: str, function: str) -> dict[str, tuple[int, str]]:
    """{dotted name called (or '@'): (first line, the function it is in)} for `function` and
    every module-level function it reaches by simple name (its own helpers), transitively."""
    tree = ast.parse(source)
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    found: dict[str, tuple[int, str]] = {}
    todo, seen = [function], set()
    while todo:
        name = todo.pop(0)
        if name in seen or name not in defs:
            continue
        seen.add(name)
        for sub in ast.walk(defs[name]):
            if isinstance(sub, ast.Call) and (called := _dotted(sub.func)):
                found.setdefault(called, (sub.lineno, name))
                if "." not in called:
                    todo.append(called)
            elif isinstance(sub, ast.BinOp | ast.AugAssign) and isinstance(sub.op, ast.MatMult):
                found.setdefault("@", (sub.lineno, name))
    return found


def calls_in_function(source: str, function: str) -> dict[str, int]:
    """Dotted names called (and '@' used) inside one function, or inside the module's own
    functions it calls (a helper's np.dot is the function's too): {name: first line}."""
    return {name: line for name, (line, _) in _call_sites(source, function).items()}


def assert_does_the_work(
    fn, args: tuple, *, at_least: int, forbidden: Iterable[str], why: str, on: str = "", hint: str = ""
):
    """From-scratch integrity at run time: calling `fn` (a learner function) on `args` runs
    at least `at_least` lines of the learner's own code and calls none of `forbidden`.

    The name check (assert_not_using) reads the source; this one watches the call, so a
    routine reached by `getattr(np, "mat" + "mul")` or a product done in one line between
    loops that do nothing is caught too. Names match by a dotted part: "linalg" catches
    every np.linalg routine, "dot" catches np.dot and ndarray.dot. Returns the result.
    """
    result, trace = fn.traced(*args)
    if trace is None:
        raise fail(
            f"{fn.name}: the run-time record of the call was missing",
            "which lines of your file ran and which routines it called",
            on=on,
            hint="the worker answered without it; run the check again",
        )
    for called in trace["called"]:
        parts = called.split(".")
        for bad in forbidden:
            if bad in parts:
                raise fail(
                    f"{fn.name}: called {called} while it ran",
                    f"{fn.name} must not call {bad} (watched at run time)",
                    on=on,
                    hint=why,
                )
    if trace["lines"] < at_least:
        raise fail(
            f"{fn.name}: only {trace['lines']} lines of your code ran for this input",
            f"at least {at_least} (one per scalar step of the loops) when the work is done by "
            "your own Python loops",
            on=on,
            hint=hint or why,
        )
    return result


def assert_not_using(source: str, function: str, forbidden: Iterable[str], why: str) -> None:
    """From-scratch integrity for one function: none of `forbidden` is called inside it, nor
    inside the module's own helpers it calls.

    Names match by suffix, so 'matmul' catches np.matmul and numpy.matmul.
    """
    used = _call_sites(source, function)
    for name, (line, where) in used.items():
        for bad in forbidden:
            if name == bad or name.endswith("." + bad):
                via = f", in {where}, which {function} calls" if where != function else ""
                raise fail(
                    f"{function}: uses {name} (line {line}{via})",
                    f"{function} must not call {bad}",
                    hint=why,
                )
