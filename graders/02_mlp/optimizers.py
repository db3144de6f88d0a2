"""Grader for optimizers: AdaGrad, RMSprop, Adam, AdamW, inverse-time decay, reduce on plateau.

Layers per optimizer: the result's structure and shapes -> one step against the reference
(float64 and float32, from an empty state and from a mid-run state) -> weight decay, L2
versus decoupled -> stability (zero and huge gradients) -> the state against torch.optim's
-> step-by-step equality with torch.optim for 50 steps (float64, with weight decay, float32)
-> convergence on a badly scaled least-squares problem, and a comparison table.
Schedules: closed form at every step, and torch's ReduceLROnPlateau.

Gradients fed to an optimizer come from a seeded sequence that does not depend on the
parameters, so the learner's and torch's trajectories see the same gradients even if they
drift apart, and a difference at step k is the optimizer's own. Coordinates get gradients
of very different sizes (1e-4 to 10), as real networks do: that is where eps's placement
and the per-coordinate scaling show. torch is the oracle only, imported inside the tests.
"""

import numpy as np
import pytest

from nnfs_cli.checks import assert_close, assert_converges, assert_shape, assert_true, describe

OPTIMIZERS = ["adagrad_step", "rmsprop_step", "adam_step", "adamw_step"]
ADAMS = ["adam_step", "adamw_step"]
STEPS = 50

# the state keys each optimizer returns, and torch's names for them (optimizer.state[p])
STATE_KEYS = {
    "adagrad_step": {"t": "step", "sum": "sum"},
    "rmsprop_step": {"square_avg": "square_avg"},
    "adam_step": {"t": "step", "m": "exp_avg", "v": "exp_avg_sq"},
    "adamw_step": {"t": "step", "m": "exp_avg", "v": "exp_avg_sq"},
}
TORCH_CLASS = {
    "adagrad_step": "Adagrad",
    "rmsprop_step": "RMSprop",
    "adam_step": "Adam",
    "adamw_step": "AdamW",
}

# Hyperparameters per optimizer: "plain" (no weight decay; AdamW's torch default 0.01),
# "decay" (weight decay, a large eps, odd betas, and AdaGrad's lr_decay). Steps are large
# enough that weight decay and eps change results far beyond float64 rounding.
HYPER = {
    "adagrad_step": {
        "plain": {"lr": 0.1, "eps": 1e-10},
        "decay": {"lr": 0.2, "eps": 1e-3, "weight_decay": 0.1, "lr_decay": 0.05},
    },
    "rmsprop_step": {
        "plain": {"lr": 0.01, "alpha": 0.99, "eps": 1e-8},
        "decay": {"lr": 0.02, "alpha": 0.9, "eps": 1e-3, "weight_decay": 0.1},
    },
    "adam_step": {
        "plain": {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8},
        "decay": {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-3, "weight_decay": 0.1},
    },
    "adamw_step": {
        "plain": {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.01},
        "decay": {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-3, "weight_decay": 0.5},
    },
}

HINTS = {
    "adagrad_step": "sum <- sum + g**2 (a sum, never an average); p <- p - lr_t g / (sqrt(sum) + eps), "
    "g = grad + weight_decay p, lr_t = lr / (1 + (t - 1) lr_decay)",
    "rmsprop_step": "square_avg <- alpha square_avg + (1 - alpha) g**2; p <- p - lr g / (sqrt(square_avg) + eps), "
    "g = grad + weight_decay p",
    "adam_step": "t = old t + 1; m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t); "
    "p <- p - lr m_hat / (sqrt(v_hat) + eps); weight decay is L2: g = grad + weight_decay p, before m and v",
    "adamw_step": "first p <- p - lr weight_decay p (decoupled, not added to the gradient), "
    "then the Adam step with the raw gradient, m_hat / (sqrt(v_hat) + eps)",
}


def cases(points, variants):
    """One pytest case per (optimizer, variant), marked with that optimizer's part."""
    return [
        pytest.param(
            name,
            *v,
            marks=pytest.mark.part(name, points=points),
            id=f"{name}-{'-'.join(map(str, v))}",
        )
        for name in OPTIMIZERS
        for v in variants
    ]


def each(names, points):
    return [pytest.param(n, marks=pytest.mark.part(n, points=points), id=n) for n in names]


# ----------------------------------------------------------------------------- data


def gradients(shape, steps, seed, dtype=np.float64):
    """A seeded gradient sequence; coordinate j has its own scale between 1e-4 and 10."""
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    scales = rng.permutation(np.logspace(-4, 1, size)).reshape(shape)
    return [(rng.normal(size=shape) * scales).astype(dtype) for _ in range(steps)]


def start(shape, seed, dtype=np.float64):
    return np.random.default_rng(seed + 1000).normal(size=shape).astype(dtype)


def on_text(name, hyper, param, **extra):
    args = ", ".join(f"{k}={v!r}" for k, v in hyper.items())
    return f"{name}(param, grad, state, {args}); {describe(param=param, **extra)}"


def unpack(got, name, shape, on):
    """The learner's (new_param, new_state), checked for structure; returns them."""
    ok = isinstance(got, tuple | list) and len(got) == 2
    assert_true(
        ok,
        f"{name}: wrong return value",
        "expected a pair (new_param, new_state), got "
        + (
            f"{type(got).__name__} of length {len(got)}"
            if isinstance(got, tuple | list)
            else type(got).__name__
        ),
        on=on,
        hint="end with `return new_param, new_state`",
    )
    param, state = got
    param = assert_shape(param, shape, f"{name}: new_param", on=on)
    assert_true(
        isinstance(state, dict),
        f"{name}: the state is not a dict",
        f"expected a dict with keys {sorted(STATE_KEYS[name])}, got {type(state).__name__}",
        on=on,
        hint="return the state as a new dict, e.g. {"
        + ", ".join(f'"{k}": ...' for k in STATE_KEYS[name])
        + "}",
    )
    missing = [k for k in STATE_KEYS[name] if k not in state]
    assert_true(
        not missing,
        f"{name}: the state misses keys {missing}",
        f"expected keys {sorted(STATE_KEYS[name])}, got {sorted(map(str, state))}",
        on=on,
        hint="the docstring fixes the state's keys: the next call reads them back",
    )
    for key in STATE_KEYS[name]:
        if key != "t":
            assert_shape(
                state[key],
                shape,
                f"{name}: state[{key!r}]",
                on=on,
                hint="the state has one entry per parameter element",
            )
    return param, state


def learner_run(learner, name, p0, grads, hyper):
    """The learner's trajectory: each call gets the state its previous call returned."""
    fn = getattr(learner, name)
    param, state, out = p0, {}, []
    for k, g in enumerate(grads, start=1):
        on = on_text(name, hyper, p0) + f", step {k}"
        param, state = unpack(fn(param, g, state, **hyper), name, p0.shape, on)
        out.append((param, state))
    return out


def reference_run(ref, name, p0, grads, hyper):
    param, state, out = p0, {}, []
    for g in grads:
        param, state = getattr(ref, name)(param, g, state, **hyper)
        out.append((param, state))
    return out


def torch_run(name, p0, grads, hyper):
    """torch.optim's trajectory: [(param, {our key: torch's state value})] after each step.

    It calls torch.optim's functional API (torch.optim.adam.adam and friends: the very
    functions torch.optim.Adam.step runs, with the state torch would create), because
    building an optimizer object imports torch._dynamo, 0.7 s more than the grader needs.
    """
    import torch
    from torch.optim import adagrad, adam, rmsprop

    p = torch.tensor(p0)
    step, first, second = torch.tensor(0.0), torch.zeros_like(p), torch.zeros_like(p)
    h = {"weight_decay": 0.0, "maximize": False} | hyper
    out = []
    for g in grads:
        g = torch.tensor(g)
        if name == "adagrad_step":
            adagrad.adagrad([p], [g], [first], [step], foreach=False, **({"lr_decay": 0.0} | h))
            state = {"t": step, "sum": first}
        elif name == "rmsprop_step":
            rmsprop.rmsprop(
                [p], [g], [first], [], [], [step], foreach=False, momentum=0.0, centered=False, **h
            )
            state = {"square_avg": first}
        else:
            kw = {k: v for k, v in h.items() if k != "betas"}
            adam.adam([p], [g], [first], [second], [], [step], foreach=False, amsgrad=False,
                      beta1=h["betas"][0], beta2=h["betas"][1], decoupled_weight_decay=name == "adamw_step", **kw)  # fmt: skip
            state = {"t": step, "m": first, "v": second}
        out.append((p.numpy().copy(), {k: np.asarray(v).copy() for k, v in state.items()}))
    return out


# ----------------------------------------------------------------------------- structure


@pytest.mark.parametrize("name", each(OPTIMIZERS, 0.5))
def test_returns_param_and_state(learner, name):
    """Returns (new_param, new_state) with param's shape and the documented state keys, for several shapes."""
    hyper = HYPER[name]["plain"]
    for i, shape in enumerate([(1,), (7,), (3, 5), (2, 3, 4)]):
        p0, grads = start(shape, i), gradients(shape, 2, i)
        steps = learner_run(learner, name, p0, grads, hyper)
        if "t" in STATE_KEYS[name]:
            t = steps[-1][1]["t"]
            assert_true(
                np.ndim(t) == 0 and float(t) == 2,
                f"{name}: state['t'] after two steps",
                f"expected 2 (the number of steps taken), got {t!r}",
                on=on_text(name, hyper, p0),
                hint="t starts at 0 in the empty state and the step adds 1 before using it",
            )


# ----------------------------------------------------------------------------- one step


@pytest.mark.parametrize(("name", "dtype"), cases(1, [("float64",), ("float32",)]))
def test_first_step(learner, ref, name, dtype):
    """The first step from an empty state equals the reference (parameter and state)."""
    shape, hyper = (5, 4), HYPER[name]["decay"]
    p0, (g,) = start(shape, 1, dtype), gradients(shape, 1, 2, dtype)
    on = on_text(name, hyper, p0, grad=g, state={})
    param, state = unpack(getattr(learner, name)(p0, g, {}, **hyper), name, shape, on)
    exp_param, exp_state = getattr(ref, name)(p0, g, {}, **hyper)
    assert_close(param, exp_param, f"{name}: new_param after the first step", on=on, inputs={"param": p0, "grad": g},
                 hint=HINTS[name] + ("; at t = 1 the corrected m_hat is g itself" if name in ADAMS else ""))  # fmt: skip
    for key in STATE_KEYS[name]:
        assert_close(state[key], exp_state[key], f"{name}: state[{key!r}] after the first step", on=on,
                     hint="the state starts at zero (t = 0) and the returned state holds the values after this step")  # fmt: skip


@pytest.mark.parametrize("name", each(OPTIMIZERS, 1))
def test_step_from_a_mid_run_state(learner, ref, name):
    """A step from the state of step 6 equals the reference: the state is read back as documented."""
    shape, hyper = (3, 7), HYPER[name]["decay"]
    grads = gradients(shape, 7, 3)
    p, state = reference_run(ref, name, start(shape, 3), grads[:6], hyper)[-1]
    on = on_text(name, hyper, p, grad=grads[6]) + f", state after 6 steps with keys {sorted(state)}"
    param, new_state = unpack(getattr(learner, name)(p, grads[6], state, **hyper), name, shape, on)
    exp_param, exp_state = getattr(ref, name)(p, grads[6], state, **hyper)
    assert_close(
        param,
        exp_param,
        f"{name}: new_param at step 7",
        on=on,
        inputs={"param": p},
        hint=HINTS[name],
    )
    for key in STATE_KEYS[name]:
        assert_close(
            new_state[key],
            exp_state[key],
            f"{name}: state[{key!r}] at step 7",
            on=on,
            hint=HINTS[name],
        )


@pytest.mark.parametrize("name", each(ADAMS, 1))
def test_weight_decay_with_zero_gradient(learner, ref, name):
    """With a zero gradient, AdamW only shrinks p by (1 - lr wd); Adam's L2 moves p about lr towards 0."""
    shape, hyper = (4, 3), {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.1}
    p0, g = start(shape, 4), np.zeros(shape)
    on = on_text(name, hyper, p0, grad=g, state={})
    param, _ = unpack(getattr(learner, name)(p0, g, {}, **hyper), name, shape, on)
    hint = {
        "adam_step": "Adam's weight decay is an L2 term added to the gradient (g = grad + wd p) before m and v; "
        "so a zero gradient still gives g = wd p, and the first step moves each coordinate by ~lr towards 0",
        "adamw_step": "AdamW decouples the decay: p <- p - lr wd p, and Adam's moments see the raw gradient (0 "
        "here), so the only change is the factor (1 - lr wd)",
    }[name]
    assert_close(param, getattr(ref, name)(p0, g, {}, **hyper)[0], f"{name}: new_param for a zero gradient",
                 on=on, inputs={"param": p0}, hint=hint)  # fmt: skip


# ----------------------------------------------------------------------------- stability


@pytest.mark.parametrize("name", each(OPTIMIZERS, 0.5))
def test_zero_and_huge_gradients(learner, ref, name):
    """Zero gradients give finite values (no move but the decay); gradients of 1e8 give bounded steps."""
    shape, hyper = (2, 5), HYPER[name]["plain"]
    p0 = start(shape, 5)
    grads = [np.array([[0.0, 1e8, -1e8, 0.0, 1e-3], [0.0, 0.0, 2.0, -1e8, 0.0]])] * 3
    on = on_text(name, hyper, p0) + ", gradients with exact zeros and entries of +-1e8, 3 steps"
    got = learner_run(learner, name, p0, grads, hyper)
    for k, ((param, _), (exp, _)) in enumerate(
        zip(got, reference_run(ref, name, p0, grads, hyper)), start=1
    ):
        assert_close(param, exp, f"{name}: new_param at step {k}", on=on,
                     hint="eps belongs in the denominator, sqrt(.) + eps, which keeps 0 / (0 + eps) = 0; "
                          "eps added to the ratio or to the result gives NaN for a zero gradient")  # fmt: skip


# ----------------------------------------------------------------------------- torch.optim


@pytest.mark.parametrize("name", each(OPTIMIZERS, 1))
def test_state_matches_torch(learner, name):
    """After each of 10 steps the state equals torch.optim's (t, sums and moments, before bias correction)."""
    shape, hyper = (4, 4), HYPER[name]["decay"]
    p0, grads = start(shape, 6), gradients(shape, 10, 6)
    on = on_text(name, hyper, p0) + f"; torch.optim.{TORCH_CLASS[name]}"
    ours = learner_run(learner, name, p0, grads, hyper)
    for k, ((_, state), (_, exp)) in enumerate(
        zip(ours, torch_run(name, p0, grads, hyper)), start=1
    ):
        for key, theirs in STATE_KEYS[name].items():
            # squared gradients of size 1e-4 are ~1e-9: compare them relatively, not against atol 1e-10
            assert_close(state[key], exp[key], f"{name}: state[{key!r}] after step {k} vs torch's state[{theirs!r}]",
                         on=on, atol=1e-30, hint=HINTS[name])  # fmt: skip


@pytest.mark.parametrize(
    ("name", "variant", "dtype"),
    cases(1.5, [("plain", "float64"), ("decay", "float64"), ("decay", "float32")]),
)
def test_matches_torch_for_50_steps(learner, name, variant, dtype):
    """Every one of 50 steps equals torch.optim's parameter (gradients from a seeded sequence)."""
    shape, hyper = (6, 5), HYPER[name][variant]
    seed = {"plain": 7, "decay": 8}[variant]
    p0, grads = start(shape, seed, dtype), gradients(shape, STEPS, seed, dtype)
    on = (
        on_text(name, hyper, p0)
        + f"; torch.optim.{TORCH_CLASS[name]}({', '.join(f'{k}={v!r}' for k, v in hyper.items())})"
    )
    ours = learner_run(learner, name, p0, grads, hyper)
    for k, ((param, _), (exp, _)) in enumerate(
        zip(ours, torch_run(name, p0, grads, hyper)), start=1
    ):
        assert_close(param, exp, f"{name}: parameter after step {k} of {STEPS} vs torch.optim.{TORCH_CLASS[name]}",
                     on=on, hint=HINTS[name])  # fmt: skip


# ----------------------------------------------------------------------------- convergence

# Least squares with features on scales 0.1 to 10: the Hessian's eigenvalues span 1e-2 to
# 1e2, so one learning rate cannot suit every direction. Loss gap = loss - its minimum.
CONV_STEPS, CONV_TARGET = 100, 1e-3
CONV_HYPER = {
    "adagrad_step": {"lr": 1.0},
    "rmsprop_step": {"lr": 0.1},
    "adam_step": {"lr": 0.3},
    "adamw_step": {"lr": 0.3, "weight_decay": 1e-4},
}
LABELS = {
    "adagrad_step": "AdaGrad",
    "rmsprop_step": "RMSprop",
    "adam_step": "Adam",
    "adamw_step": "AdamW",
}
_RUNS: dict[str, list[float]] = {}


def regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4)) * np.array([0.1, 0.5, 2.0, 10.0])
    y = X @ (rng.normal(size=4) * np.array([10.0, 3.0, 1.0, 0.3])) + 0.1 * rng.normal(size=200)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    loss = lambda w: 0.5 * float(np.mean((X @ w - y) ** 2))  # noqa: E731
    grad = lambda w: X.T @ (X @ w - y) / len(y)  # noqa: E731
    return loss, grad, loss(w_star), X


def curve(step, hyper):
    """Loss gaps of CONV_STEPS steps of `step(param, grad, state, **hyper)` from w = 0."""
    loss, grad, best, _ = regression()
    w, state, gaps = np.zeros(4), {}, []
    for _ in range(CONV_STEPS):
        got = step(w, grad(w), state, **hyper)
        w, state = got
        w = np.asarray(w, dtype=np.float64)
        gaps.append(loss(w) - best)
    return gaps


def learner_curve(learner, ref, name):
    if name not in _RUNS:
        fn = getattr(learner, name)
        hyper = CONV_HYPER[name]
        on = on_text(name, hyper, np.zeros(4))

        def step(w, g, state, **kw):
            return unpack(fn(w, g, state, **kw), name, (4,), on)

        _RUNS[name] = curve(step, hyper)
    return _RUNS[name]


@pytest.mark.parametrize("name", each(OPTIMIZERS, 1))
def test_converges_on_a_badly_scaled_problem(learner, ref, name):
    """From w = 0, the loss gap of a badly scaled least-squares fit falls below 1e-3 within 100 steps."""
    gaps = learner_curve(learner, ref, name)
    assert_converges(gaps, CONV_TARGET, f"{name} on least squares with features of scales 0.1..10",
                     budget=CONV_STEPS, reference=curve(getattr(ref, name), CONV_HYPER[name]),
                     on=f"X (200, 4), w0 = 0, {', '.join(f'{k}={v}' for k, v in CONV_HYPER[name].items())}",
                     hint=HINTS[name])  # fmt: skip


@pytest.mark.part("adamw_step", points=0)
def test_comparison_table(learner, ref, report):
    """How the four optimizers (and plain gradient descent) do on the same badly scaled problem."""
    _, _, _, X = regression()
    top = float(np.linalg.eigvalsh(X.T @ X / len(X)).max())
    rows = [
        (
            "gradient descent",
            f"{1.9 / top:.3g}",
            curve(lambda w, g, s, lr: (w - lr * g, s), {"lr": 1.9 / top}),
        )
    ]
    rows += [
        (LABELS[n], f"{CONV_HYPER[n]['lr']:g}", learner_curve(learner, ref, n)) for n in OPTIMIZERS
    ]
    lines = [
        f"least squares, 4 features on scales 0.1 .. 10 (condition number ~1e4), {CONV_STEPS} steps from w = 0",
        f"{'optimizer':<18}{'lr':>8}{'steps to gap <= 1e-3':>24}{'final gap':>14}",
    ]
    for label, lr, gaps in rows:
        hit = next((i for i, v in enumerate(gaps, start=1) if v <= CONV_TARGET), None)
        lines.append(
            f"{label:<18}{lr:>8}{(str(hit) if hit else f'> {CONV_STEPS}'):>24}{gaps[-1]:>14.3g}"
        )
    lines.append(
        "gap = loss - the least-squares minimum; AdamW runs with weight_decay = 1e-4, the others without"
    )
    report.update({"title": "How your optimizers compare", "table": "\n".join(lines)})
    # for `nnfs plot optimizers`: the same runs as loss-gap curves
    report["figure"] = {"kind": "curves", "title": "Your optimizers on a badly scaled least-squares fit",
                        "ylabel": "loss - minimum", "xlabel": "step",
                        "curves": {label: [float(v) for v in gaps] for label, _, gaps in rows}}  # fmt: skip


# ----------------------------------------------------------------------------- schedules


def number(got, what, on=""):
    ok = isinstance(got, int | float | np.number) and not isinstance(got, bool)
    ok = ok or (
        isinstance(got, np.ndarray) and got.shape == () and np.issubdtype(got.dtype, np.number)
    )
    assert_true(ok, f"{what}: expected a number", f"got {type(got).__name__}", on=on,
                hint="return a Python float, e.g. float(...)")  # fmt: skip
    # a float32 result keeps its dtype, so that the comparison uses float32 precision
    return np.float32(got) if np.asarray(got).dtype == np.float32 else float(got)


@pytest.mark.parametrize(("lr0", "k"), [(0.1, 0.0), (0.1, 0.05), (1.0, 1.0), (0.5, 0.3)])
@pytest.mark.part("inverse_time_decay", points=0.75)
def test_inverse_time_decay(learner, ref, lr0, k):
    """lr0 / (1 + k t) at every t = 0..40 (a closed form of t, lr0 at t = 0)."""
    ts = range(41)
    got = np.array(
        [
            number(learner.inverse_time_decay(lr0, t, k), f"inverse_time_decay({lr0}, {t}, {k})")
            for t in ts
        ]
    )
    # rtol 1e-6: a rate needs no more than float32 precision, and a float32 computation
    # returned as a Python float cannot be recognised by its dtype; every wrong formula is off by > 1e-3
    assert_close(got, [ref.inverse_time_decay(lr0, t, k) for t in ts], f"inverse_time_decay({lr0}, t, {k}) for t = 0..40",
                 on=f"lr0={lr0}, k={k}", rtol=1e-6, hint="lr0 / (1 + k t): t multiplies k inside the denominator; it is not "
                 "the previous rate divided by (1 + k) again")  # fmt: skip


PLATEAU_CASES = [
    # (losses, lr0, factor, patience, threshold, what)
    (
        [1.0, 0.9, 0.8, 0.8, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7],
        0.1,
        0.5,
        2,
        1e-4,
        "flat stretches of equal losses",
    ),
    (
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        1.0,
        0.1,
        0,
        1e-4,
        "patience 0: every non-improvement reduces",
    ),
    (
        [1.0, 0.99995, 0.9999, 0.99985, 0.9998, 0.99975, 0.9997],
        0.1,
        0.5,
        1,
        1e-4,
        "improvements below the relative threshold",
    ),
    (
        [2.0, 1.5, 1.6, 1.7, 1.4, 1.45, 1.5, 1.55, 1.6, 1.3, 1.35],
        0.05,
        0.2,
        2,
        0.01,
        "a noisy curve, threshold 0.01",
    ),
]


@pytest.mark.parametrize("case", PLATEAU_CASES, ids=[c[-1].split(":")[0] for c in PLATEAU_CASES])
@pytest.mark.part("reduce_on_plateau", points=0.75)
def test_reduce_on_plateau_cases(learner, ref, case):
    """The rate after each loss equals the rule's, on hand-made curves (the boundary of patience)."""
    losses, lr0, factor, patience, threshold, what = case
    on = f"losses={losses}, lr0={lr0}, factor={factor}, patience={patience}, threshold={threshold} ({what})"
    got = learner.reduce_on_plateau(losses, lr0, factor, patience, threshold)
    assert_close(got, ref.reduce_on_plateau(losses, lr0, factor, patience, threshold), "reduce_on_plateau: the rates",
                 on=on, hint="count bad epochs; reduce when bad > patience (patience bad epochs are tolerated), "
                 "then reset bad to 0; an improvement needs L < best (1 - threshold)")  # fmt: skip


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.part("reduce_on_plateau", points=1)
def test_reduce_on_plateau_matches_torch(learner, seed):
    """Equals torch.optim.lr_scheduler.ReduceLROnPlateau on a noisy, slowly improving loss curve."""
    import torch

    rng = np.random.default_rng(seed)
    losses = list(np.exp(-np.linspace(0, 3, 80)) + 0.05 + 0.03 * rng.random(80))
    lr0, factor, patience, threshold = 0.1, [0.5, 0.3][seed], [2, 1][seed], [5e-3, 0.02][seed]
    # an SGD shell with one parameter group: the scheduler only reads and writes its "lr", and
    # building a real optimizer would import torch._dynamo (0.7 s) for nothing
    optimizer = torch.optim.SGD.__new__(torch.optim.SGD)
    optimizer.param_groups = [{"lr": lr0}]
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=factor, patience=patience, threshold=threshold
    )
    expected = []
    for loss in losses:
        scheduler.step(loss)
        expected.append(optimizer.param_groups[0]["lr"])
    on = f"80 losses decaying from 1.08 to ~0.1 with noise, lr0={lr0}, factor={factor}, patience={patience}, threshold={threshold}"
    got = learner.reduce_on_plateau(losses, lr0, factor, patience, threshold)
    assert_close(got, expected, "reduce_on_plateau vs torch ReduceLROnPlateau", on=on,
                 hint="improvement: L < best (1 - threshold); else bad += 1; reduce when bad > patience, then bad = 0")  # fmt: skip
