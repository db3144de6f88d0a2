"""Grader for bptt: backpropagation through time, clipping, gradient norms, a trained RNN.

Layers: rnn_backward's shapes -> values (float64, float32) -> every gradient against
float64 central differences of the given forward and against torch.autograd, with the
loss on every step and on the last step only -> clipping against torch.nn.utils -> the
gradient-norm measurement's values and its trend (vanishing with small recurrent weights,
exploding with large ones) -> a sine-prediction RNN trained with the learner's BPTT: the
recipe replayed step by step, then convergence. torch is imported inside the tests.
"""

import numpy as np
import pytest

from nnfs_cli.checks import (
    DTYPES,
    LOSS_TOL,
    as_tuple,
    assert_backward,
    assert_close,
    assert_converges,
    assert_shape,
    assert_true,
    describe,
)

GRADS = ("x", "h0", "Wx", "Wh", "b")
# (N, T, D, H): length 1, a square Wx, D < H, D > H.
CASES = [(1, 1, 2, 3), (2, 4, 3, 3), (3, 5, 2, 4), (4, 3, 4, 2)]
HINTS = {
    "x": "dx[:, t] = dz_t @ Wx.T with dz_t = (dhs[:, t] + dh_next) * (1 - hs[:, t]**2)",
    "h0": "dh0 is the dh_next left after the first step: dz_1 @ Wh.T",
    "Wx": "dWx sums x[:, t].T @ dz_t over EVERY step (+=): the weights are shared",
    "Wh": "dWh sums h_prev.T @ dz_t, where h_prev is the state BEFORE step t (h0 at t = 0)",
    "b": "db sums dz_t over the batch and over every step",
}


def seq_case(n, t, d, h, seed, dtype=np.float64, last_only=False):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, t, d))
    h0 = np.tanh(rng.normal(size=(n, h)))
    Wx = rng.normal(scale=1 / np.sqrt(d), size=(d, h))
    Wh = rng.normal(scale=1 / np.sqrt(h), size=(h, h))
    b = rng.normal(scale=0.3, size=h)
    dhs = rng.normal(size=(n, t, h))
    if last_only:
        dhs[:, :-1] = 0.0  # many-to-one: only the carried gradient reaches earlier steps
    return {k: v.astype(dtype) for k, v in dict(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b).items()}, dhs.astype(
        dtype
    )


def call_backward(learner, ref, inputs, dhs):
    """The learner's gradients for hs from the given forward (in the inputs' dtype), the
    inputs' description, and hs itself."""
    hs = ref.rnn_forward(*(inputs[k].astype(np.float64) for k in GRADS)).astype(inputs["x"].dtype)
    on = describe(dhs=dhs, **inputs, hs=hs)
    got = learner.rnn_backward(dhs, inputs["x"], inputs["h0"], hs, inputs["Wx"], inputs["Wh"])
    return got, on, hs


def torch_rnn_forward(x, h0, Wx, Wh, b):
    import torch

    h, hs = h0, []
    for t in range(x.shape[1]):
        h = torch.tanh(x[:, t] @ Wx + h @ Wh + b)
        hs.append(h)
    return torch.stack(hs, dim=1)


# ---------------------------------------------------------------------------------------
# rnn_backward
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.part("rnn_backward", points=0.25)
def test_rnn_backward_shapes(learner, ref, case):
    """(dx, dh0, dWx, dWh, db) are shaped like x, h0, Wx, Wh and b."""
    inputs, dhs = seq_case(*case, seed=1)
    got, on, _ = call_backward(learner, ref, inputs, dhs)
    for name, g in zip(GRADS, as_tuple(got, 5, "rnn_backward(dhs, x, h0, hs, Wx, Wh)", on)):
        assert_shape(g, inputs[name].shape, f"rnn_backward: d{name} (shaped like {name})", on=on)


@DTYPES
@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.part("rnn_backward", points=0.25)
def test_rnn_backward_values(learner, ref, case, dtype):
    """Every gradient equals the reference's (float64 exactly, float32 at float32 precision)."""
    inputs, dhs = seq_case(*case, seed=2 + case[1], dtype=dtype)
    got, on, hs = call_backward(learner, ref, inputs, dhs)
    args = (dhs, inputs["x"], inputs["h0"], hs, inputs["Wx"], inputs["Wh"])  # what the learner got
    expected = dict(zip(GRADS, ref.rnn_backward(*(a.astype(np.float64) for a in args))))
    for name, g in zip(GRADS, as_tuple(got, 5, "rnn_backward(dhs, x, h0, hs, Wx, Wh)", on)):
        others = {f"d{k}": v for k, v in expected.items() if k != name}
        assert_close(g, expected[name], f"rnn_backward: d{name}", on=on, batch=case[0], others=others,
                     inputs=dict(zip(("dhs", "x", "h0", "hs", "Wx", "Wh"), args)), hint=HINTS[name])  # fmt: skip


@pytest.mark.parametrize("oracle", ["numerical", "torch"])
@pytest.mark.parametrize("last_only", [False, True], ids=["loss_every_step", "loss_last_step"])
@pytest.mark.part("rnn_backward", points=1.5)
def test_rnn_backward_matches_oracles(learner, ref, oracle, last_only):
    """Every gradient of sum(dhs * rnn_forward(x, h0, Wx, Wh, b)), by float64 central
    differences and by torch.autograd; with a loss on every step, and on the last only."""
    inputs, dhs = seq_case(3, 5, 2, 4, seed=3 + last_only, last_only=last_only)
    got, on, _ = call_backward(learner, ref, inputs, dhs)
    assert_backward(
        got,
        torch_rnn_forward if oracle == "torch" else ref.rnn_forward,
        inputs,
        dhs,
        GRADS,
        "rnn_backward(dhs, x, h0, hs, Wx, Wh)",
        oracle=oracle,
        on=on + (" (loss on the last step only)" if last_only else ""),
        hints=HINTS,
        batch=3,
    )


# ---------------------------------------------------------------------------------------
# clipping
# ---------------------------------------------------------------------------------------


def grad_dict(seed, scale):
    rng = np.random.default_rng(seed)
    shapes = {"Wx": (3, 4), "Wh": (4, 4), "b": (4,), "Wy": (4, 2)}
    return {k: rng.normal(scale=scale, size=s) for k, s in shapes.items()}


def torch_clip(grads, how, limit):
    """What torch.nn.utils does to parameters holding these gradients: (clipped, total norm)."""
    import torch

    params = []
    for g in grads.values():
        p = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        p.grad = torch.tensor(g)
        params.append(p)
    total = None
    if how == "value":
        torch.nn.utils.clip_grad_value_(params, limit)
    else:
        total = float(torch.nn.utils.clip_grad_norm_(params, limit))
    return {k: p.grad.numpy() for k, p in zip(grads, params)}, total


def check_clipped(got, expected, what, on, hint):
    assert_true(isinstance(got, dict) and set(got) == set(expected), f"{what}: expected a dict with keys {sorted(expected)}",
                f"got {type(got).__name__}" + (f" with keys {sorted(got)}" if isinstance(got, dict) else ""), on=on,
                hint="return a new dict with the same keys: {name: clipped array}")  # fmt: skip
    for k, exp in expected.items():
        assert_close(got[k], exp, f"{what}: grads[{k!r}]", on=on, hint=hint)


@pytest.mark.parametrize("clip", [0.5, 100.0], ids=["clip0.5", "clip100"])
@pytest.mark.part("clip_grad_value", points=1)
def test_clip_grad_value_matches_torch(learner, clip):
    """Equals torch.nn.utils.clip_grad_value_: each entry clipped to [-clip, clip] (a large
    clip changes nothing)."""
    grads = grad_dict(4, scale=1.0)
    expected, _ = torch_clip(grads, "value", clip)
    check_clipped(learner.clip_grad_value(grads, clip), expected, f"clip_grad_value(grads, {clip})",
                  describe(**grads, clip=clip), "np.clip(g, -clip, clip): both sides")  # fmt: skip


@pytest.mark.parametrize("max_norm", [1.0, 5.0, 1e3], ids=["max1", "max5", "max1000"])
@pytest.mark.part("clip_grad_norm", points=1)
def test_clip_grad_norm_matches_torch(learner, max_norm):
    """Clipped gradients and the returned total norm equal torch.nn.utils.clip_grad_norm_
    (one norm over all the gradients; nothing changes below max_norm)."""
    grads = grad_dict(5, scale=1.0)
    expected, total = torch_clip(grads, "norm", max_norm)
    on = describe(**grads, max_norm=max_norm) + f" (total norm {total:.4f})"
    clipped, got_total = as_tuple(
        learner.clip_grad_norm(grads, max_norm), 2, f"clip_grad_norm(grads, {max_norm})", on
    )
    hint = "total = sqrt(sum over ALL gradients of sum(g**2)); scale every g by min(1, max_norm / (total + 1e-6))"
    check_clipped(clipped, expected, f"clip_grad_norm(grads, {max_norm})", on, hint)
    assert_close(got_total, total, f"clip_grad_norm(grads, {max_norm}): the returned total norm", on=on,
                 hint="return the norm measured BEFORE clipping, as PyTorch does")  # fmt: skip


@pytest.mark.part("clip_grad_norm", points=1)
def test_clip_grad_norm_keeps_the_direction(learner):
    """After clipping a large gradient, the global norm is max_norm (to 1e-6) and every
    gradient is scaled by the same factor."""
    grads = grad_dict(6, scale=10.0)
    on = describe(**grads, max_norm=2.0)
    clipped, _ = as_tuple(learner.clip_grad_norm(grads, 2.0), 2, "clip_grad_norm(grads, 2.0)", on)
    check_clipped(clipped, torch_clip(grads, "norm", 2.0)[0], "clip_grad_norm(grads, 2.0)", on,
                  "one factor for all gradients, so the update keeps its direction")  # fmt: skip


# ---------------------------------------------------------------------------------------
# hidden_grad_norms
# ---------------------------------------------------------------------------------------


def regime(scale, seed, T=8, H=6, N=2):
    """A tanh RNN whose Wh is `scale` times an orthogonal matrix, with tiny inputs, so tanh
    stays near its linear range and the spectral radius alone decides the trend."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(H, H)))
    Wh = scale * Q
    x = rng.normal(scale=1e-4, size=(N, T, 3))
    Wx = rng.normal(size=(3, H))
    h0 = np.zeros((N, H))
    return x, h0, Wx, Wh, np.zeros(H), rng.normal(size=(N, H))


@pytest.mark.parametrize("scale", [0.5, 1.0, 2.0])
@pytest.mark.part("hidden_grad_norms", points=0.5)
def test_hidden_grad_norms_values(learner, ref, scale):
    """norms[t] = ||dL/dh_t|| for t = 0..T-1 equals the reference (norms[T-1] = ||dh_last||)."""
    x, h0, Wx, Wh, b, dh_last = regime(scale, seed=7)
    x = x * 1e4  # ordinary inputs here: the values, saturation included, must match
    hs = ref.rnn_forward(x, h0, Wx, Wh, b)
    assert_close(learner.hidden_grad_norms(dh_last, hs, Wh), ref.hidden_grad_norms(dh_last, hs, Wh),
                 f"hidden_grad_norms (Wh = {scale} x orthogonal)", on=describe(dh_last=dh_last, hs=hs, Wh=Wh),
                 hint="walk back from t = T-1: norms[t] = norm(dh); then dh = (dh * (1 - hs[:, t]**2)) @ Wh.T")  # fmt: skip


@pytest.mark.parametrize("scale,trend", [(0.5, "vanishes"), (2.5, "explodes")])
@pytest.mark.part("hidden_grad_norms", points=1)
def test_hidden_grad_norms_show_the_trend(learner, ref, scale, trend):
    """With Wh = 0.5 Q the gradient shrinks ~2x per step back (norms[0] < 1e-2 norms[-1]);
    with Wh = 2.5 Q (tanh unsaturated) it grows (norms[0] > 1e2 norms[-1])."""
    x, h0, Wx, Wh, b, dh_last = regime(scale, seed=8)
    hs = ref.rnn_forward(x, h0, Wx, Wh, b)
    on = describe(dh_last=dh_last, hs=hs, Wh=Wh) + f" (Wh = {scale} x orthogonal, inputs ~1e-4)"
    norms = assert_shape(
        learner.hidden_grad_norms(dh_last, hs, Wh), (hs.shape[1],), "hidden_grad_norms", on=on
    )
    ratio = float(norms[0]) / max(float(norms[-1]), 1e-300)
    ok = ratio < 1e-2 if trend == "vanishes" else ratio > 1e2
    assert_true(ok, f"hidden_grad_norms: the gradient should {trend[:-1]} going back in time",
                f"norms[0] / norms[T-1] = {ratio:.3g}; norms = {np.array2string(np.asarray(norms, float), precision=3)}",
                on=on, hint="norms[t] is ||dL/dh_t||: index T-1 is the last step (where dh_last is), 0 the first")  # fmt: skip


# ---------------------------------------------------------------------------------------
# train_rnn
# ---------------------------------------------------------------------------------------


def sine_task(n=64, t=12, seed=0, both=False):
    """Predict the next value of sine waves of random phase and frequency from 12 samples
    (with `both`, of the sine and the cosine together: D = K = 2, so no size-1 axis hides
    a wrong product or a missing axis)."""
    rng = np.random.default_rng(seed)
    phase, freq = rng.uniform(0, 2 * np.pi, size=n), rng.uniform(0.3, 0.6, size=n)
    angle = freq[:, None] * np.arange(t + 1) + phase[:, None]
    s = np.stack([np.sin(angle), np.cos(angle)], axis=2) if both else np.sin(angle)[:, :, None]
    return s[:, :t], s[:, t]


@pytest.mark.parametrize("max_norm", [0.05, 1e3], ids=["clipping", "no_clipping_needed"])
@pytest.mark.part("train_rnn", points=1.5)
def test_train_rnn_follows_the_recipe(learner, ref, max_norm):
    """Three steps replayed against the reference: the losses and every parameter (with a
    small max_norm, where clipping changes every step, and a large one, where it does not)."""
    X, Y = sine_task(n=16, t=6, both=True)
    on = describe(X=X, Y=Y) + f", hidden=5, steps=3, lr=0.1, max_norm={max_norm}, seed=3"
    params, losses = as_tuple(
        learner.train_rnn(X, Y, 5, 3, 0.1, max_norm, 3), 2, "train_rnn(...)", on
    )
    ref_params, ref_losses = ref.train_rnn(X, Y, 5, 3, 0.1, max_norm, 3)
    assert_close(losses, ref_losses, "train_rnn: the losses of the 3 steps", on=on, **LOSS_TOL,
                 hint="loss = mean((hs[:, -1] @ Wy + by - Y)**2) before each update")  # fmt: skip
    assert_true(isinstance(params, dict) and set(params) == set(ref_params), "train_rnn: params",
                f"expected a dict with keys {sorted(ref_params)}", on=on)  # fmt: skip
    for k, exp in ref_params.items():
        assert_close(params[k], exp, f"train_rnn: params[{k!r}] after 3 steps", on=on,
                     hint="follow the docstring's recipe: draw Wx, Wh, Wy in that order; clip the five "
                     "gradients together with clip_grad_norm; p = p - lr * g")  # fmt: skip


@pytest.mark.part("train_rnn", points=2)
def test_train_rnn_learns_the_sine_task(learner, ref):
    """The mean squared error of the next-value prediction gets below 0.02 (targets' variance
    ~0.5) within 100 steps (the reference: ~0.0075 after 50)."""
    X, Y = sine_task()
    on = describe(X=X, Y=Y) + ", hidden=16, steps=100, lr=0.1, max_norm=1.0, seed=0"
    _, losses = as_tuple(
        learner.train_rnn.with_timeout(30)(X, Y, 16, 100, 0.1, 1.0, 0), 2, "train_rnn(...)", on
    )
    assert_converges(losses, 0.02, "train_rnn on next-value sine prediction", budget=100, on=on,
                     reference=ref.train_rnn(X, Y, 16, 100, 0.1, 1.0, 0)[1],
                     hint="check rnn_backward first: its gradient checks say which gradient is off")  # fmt: skip
