"""Grader for advanced-training: accumulation, loss scaling, data parallelism, LoRA, adapters.

Layers: accumulation's shapes -> its loss and gradients against the whole batch's (torch
autograd of an MLP written here, and central differences in NumPy), full and partial last
windows, float32; the data-parallel combination likewise, on equal and unequal shards;
unscaling (inf, -inf and NaN found); the scale's update and a scaled SGD step, step for
step against `torch.amp.GradScaler` (run on the CPU) with overflows injected; LoRA's init
(B zero, A at its stated scale), forward against PyTorch linear maps, merge (exact) and
unmerge (restores W, no drift over 50 rounds), a fine-tuning run where only A and B move
(the base bit-for-bit frozen) that matches the reference's SGD and fits a low-rank task;
the adapter's forward and a frozen-base training run likewise.
torch is imported inside the tests that use it.
"""

import numpy as np
import pytest

from nnfs_cli.checks import (
    DTYPES,
    as_tuple,
    assert_backward,
    assert_close,
    assert_converges,
    assert_does_the_work,
    assert_shape,
    assert_true,
    describe,
)

NAMES = ("W1", "b1", "W2", "b2")
ADAPTER = ("W_down", "b_down", "W_up", "b_up")
HINTS = {
    "accumulated_gradients": "weight each window's mean loss by len(window) / N before its backward: "
    "the weights then sum to 1, so the sum of the windows' gradients is the big batch's",
    "data_parallel_gradients": "each worker's gradient is of its own mean loss; combine them as "
    "sum_k (n_k / N) g_k (a plain mean is right only for equal shards)",
    "unscale_grads": "divide every gradient by the scale; found_inf is True when any entry is inf or NaN",
    "scaler_update": "overflow: scale * backoff, tracker 0; else tracker + 1, and at growth_interval "
    "scale * growth (if finite) and tracker 0",
    "scaled_sgd_step": "unscale, then step only if every gradient is finite, then scaler_update with the "
    "found_inf you found",
    "lora_forward": "x @ W + b + (alpha / r) * (x @ A) @ B with r = A.shape[1]",
    "lora_merge": "W + (alpha / r) * A @ B, the same scaling as the forward",
    "lora_unmerge": "W_merged - (alpha / r) * A @ B, in W's dtype",
    "adapter_forward": "h + relu(h @ W_down + b_down) @ W_up + b_up: the adapter is residual",
}
# Several trained steps in another order of operations: rounding differs by ~1e-13
# relative per step in float64 and grows slowly; 1e-6 leaves room and still catches any
# wrong gradient or a parameter that should have been frozen (off by 1e-2 or more).
TRAJECTORY_TOL = {"rtol": 1e-6, "atol": 1e-9}


def ref_array(t):
    """The reference computes with torch: its results as float64 arrays."""
    return np.asarray(t.detach().numpy() if hasattr(t, "detach") else t, dtype=np.float64)


def as_dtype(arrays, dtype):
    return {k: np.asarray(v).astype(dtype) for k, v in arrays.items()}


def as_dict(got, names, what, on):
    """The learner's dict of arrays, its keys checked."""
    assert_true(isinstance(got, dict) and set(names) <= set(got), f"{what}: expected a dict with keys {list(names)}",
                f"got {type(got).__name__}" + (f" with keys {sorted(got)}" if isinstance(got, dict) else ""), on=on,
                hint="return {name: array} for every parameter, named as the parameters are")  # fmt: skip
    return got


# ---------------------------------------------------------------------------------------
# the model of accumulation and data parallelism: a tanh MLP, mean cross-entropy
# ---------------------------------------------------------------------------------------


def mlp_params(d, h, c, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    p = {"W1": rng.normal(size=(d, h)) / d**0.5, "b1": rng.normal(size=h) * 0.5,
         "W2": rng.normal(size=(h, c)) / h**0.5, "b2": rng.normal(size=c) * 0.5}  # fmt: skip
    return as_dtype(p, dtype)


def classification(n, d, c, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype(dtype), rng.integers(0, c, size=n)


def numpy_loss(p, X, y):
    """The mean cross-entropy of the tanh MLP, in float64 NumPy (for central differences)."""
    z = np.tanh(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
    z = z - z.max(axis=1, keepdims=True)
    return np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y])


def torch_loss(p, X, y):
    """The same loss on float64 tensors (torch.autograd's oracle)."""
    import torch

    logits = torch.tanh(torch.as_tensor(X, dtype=torch.float64) @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
    return torch.nn.functional.cross_entropy(logits, torch.as_tensor(y, dtype=torch.long))


def check_loss_and_grads(got, params, X, y, what, on, hint, oracle="torch"):
    """got = (loss, grads) is the whole batch's mean loss and its gradient."""
    loss, grads = as_tuple(got, 2, what, on)
    grads = as_dict(grads, NAMES, f"{what}: grads", on)
    p64 = as_dtype(params, np.float64)
    inputs = {"X": X} if X.dtype == np.float32 else {}  # a float32 question: float32 precision
    assert_close(loss, numpy_loss(p64, X.astype(np.float64), y), f"{what}: loss", on=on, inputs=inputs, hint=hint)
    if oracle == "torch":
        forward = lambda **p: torch_loss(p, X, y)  # noqa: E731
    else:
        forward = lambda **p: numpy_loss(p, X.astype(np.float64), y)  # noqa: E731
    got_grads = tuple(np.asarray(grads[k]) for k in NAMES)
    if X.dtype == np.float32:  # assert_backward's float64 oracle; float32 answers compared at float32 precision
        for k, g in zip(NAMES, got_grads):
            exp = ref_grad(p64, X, y, k)
            assert_close(g, exp, f"{what}: d{k} (float32)", on=on, inputs={"X": X}, batch=len(X), hint=hint)
        return
    assert_backward(got_grads, forward, p64, np.array(1.0), NAMES, what, oracle=oracle, on=on,
                    hints=dict.fromkeys(NAMES, hint), batch=len(X))  # fmt: skip


def ref_grad(p64, X, y, name):
    import torch

    leaves = {k: torch.tensor(v, requires_grad=True) for k, v in p64.items()}
    torch_loss(leaves, X, y).backward()
    return leaves[name].grad.numpy()


# ---------------------------------------------------------------------------------------
# accumulated_gradients
# ---------------------------------------------------------------------------------------

# (N, micro_batch): full windows, a partial last window, one window, one example per
# window, a window larger than the batch, batch 1, windows 3, 3, 1.
ACC_CASES = [(8, 4), (10, 4), (7, 7), (5, 1), (6, 10), (1, 3), (7, 3)]


@pytest.mark.parametrize("case", [(10, 4), (1, 3)], ids=str)
@pytest.mark.part("accumulated_gradients", points=0.5)
def test_accumulated_gradients_shapes(learner, case):
    """Returns (loss, grads): a number and a dict with every parameter's gradient, shaped
    like the parameter."""
    n, m = case
    params, (X, y) = mlp_params(3, 5, 4, seed=1), classification(n, 3, 4, seed=1)
    on = describe(X=X, y=y) + f", micro_batch={m}"
    loss, grads = as_tuple(learner.accumulated_gradients(params, X, y, m), 2, "accumulated_gradients(...)", on)
    assert_shape(np.asarray(loss), (), "accumulated_gradients: the loss (one number)", on=on)
    grads = as_dict(grads, NAMES, "accumulated_gradients: grads", on)
    for k in NAMES:
        assert_shape(grads[k], params[k].shape, f"accumulated_gradients: grads[{k!r}] (shaped like {k})", on=on)


@pytest.mark.parametrize("case", ACC_CASES, ids=str)
@pytest.mark.part("accumulated_gradients", points=0.5)
def test_accumulated_gradients_equal_the_big_batch(learner, case):
    """The loss and every gradient equal the whole batch's (torch.autograd), for full and
    partial last windows alike."""
    n, m = case
    params, (X, y) = mlp_params(4, 6, 3, seed=2 + n), classification(n, 4, 3, seed=2 + m)
    on = describe(X=X, y=y) + f", micro_batch={m} (windows of {[len(X[s:s + m]) for s in range(0, n, m)]})"
    check_loss_and_grads(learner.accumulated_gradients(params, X, y, m), params, X, y,
                         "accumulated_gradients vs the whole batch", on, HINTS["accumulated_gradients"])  # fmt: skip


@pytest.mark.part("accumulated_gradients", points=0.5)
def test_accumulated_gradients_central_differences(learner):
    """The gradients equal central differences of the whole batch's mean loss (float64,
    NumPy), windows 4, 4, 1."""
    params, (X, y) = mlp_params(3, 4, 3, seed=3), classification(9, 3, 3, seed=3)
    on = describe(X=X, y=y) + ", micro_batch=4"
    check_loss_and_grads(learner.accumulated_gradients(params, X, y, 4), params, X, y,
                         "accumulated_gradients vs central differences", on, HINTS["accumulated_gradients"],
                         oracle="numerical")  # fmt: skip


@pytest.mark.parametrize("case", [(8, 4), (11, 3)], ids=str)
@pytest.mark.part("accumulated_gradients", points=0.5)
def test_accumulated_gradients_float32(learner, case):
    """float32 parameters and inputs give float32-accurate results."""
    n, m = case
    params, (X, y) = mlp_params(4, 5, 3, seed=4, dtype=np.float32), classification(n, 4, 3, seed=4, dtype=np.float32)
    on = describe(X=X, y=y, W1=params["W1"]) + f", micro_batch={m}"
    check_loss_and_grads(learner.accumulated_gradients(params, X, y, m), params, X, y,
                         "accumulated_gradients (float32)", on, HINTS["accumulated_gradients"])  # fmt: skip


@pytest.mark.part("accumulated_gradients", points=0.5)
def test_accumulated_gradients_work_window_by_window(learner):
    """12 windows of one example: the call runs at least 2 lines of your code per window
    (watched at run time), so the windows are processed one by one, never as one batch;
    and its results are still the whole batch's."""
    params, (X, y) = mlp_params(3, 4, 3, seed=20), classification(12, 3, 3, seed=20)
    on = describe(X=X, y=y) + ", micro_batch=1"
    got = assert_does_the_work(learner.accumulated_gradients, (params, X, y, 1), at_least=24, forbidden=(),
                               why="accumulation exists to bound memory: run the forward and backward of one "
                               "window at a time, in a loop over the windows", on=on)  # fmt: skip
    check_loss_and_grads(got, params, X, y, "accumulated_gradients, windows of 1", on, HINTS["accumulated_gradients"])


# ---------------------------------------------------------------------------------------
# data_parallel_gradients
# ---------------------------------------------------------------------------------------

# Shard sizes: equal shards, unequal shards, one worker, single examples, a big and a small.
DP_CASES = [(4, 4, 4), (2, 5, 1), (6,), (1, 1, 1, 1), (7, 2)]


def shards(sizes, seed, dtype=np.float64):
    X, y = classification(sum(sizes), 4, 3, seed=seed, dtype=dtype)
    cuts = np.cumsum(sizes)[:-1]
    return X, y, np.split(X, cuts), np.split(y, cuts)


@pytest.mark.parametrize("sizes", DP_CASES, ids=str)
@pytest.mark.part("data_parallel_gradients", points=0.6)
def test_data_parallel_equals_the_full_batch(learner, sizes):
    """The combined loss and gradients equal the full batch's (torch.autograd), on equal and
    unequal shards."""
    params = mlp_params(4, 5, 3, seed=5)
    X, y, Xs, ys = shards(sizes, seed=5 + len(sizes))
    on = f"{len(sizes)} shards of sizes {list(sizes)}, " + describe(X=X)
    check_loss_and_grads(learner.data_parallel_gradients(params, Xs, ys), params, X, y,
                         "data_parallel_gradients vs the full batch", on, HINTS["data_parallel_gradients"])  # fmt: skip


@pytest.mark.part("data_parallel_gradients", points=0.5)
def test_data_parallel_central_differences_and_float32(learner):
    """Unequal shards: central differences in float64; float32 shards at float32 precision."""
    params = mlp_params(4, 5, 3, seed=6)
    X, y, Xs, ys = shards((3, 1, 5), seed=6)
    on = "3 shards of sizes [3, 1, 5], " + describe(X=X)
    check_loss_and_grads(learner.data_parallel_gradients(params, Xs, ys), params, X, y,
                         "data_parallel_gradients vs central differences", on, HINTS["data_parallel_gradients"],
                         oracle="numerical")  # fmt: skip
    p32 = as_dtype(params, np.float32)
    X, y, Xs, ys = shards((2, 6), seed=7, dtype=np.float32)
    check_loss_and_grads(learner.data_parallel_gradients(p32, Xs, ys), p32, X, y, "data_parallel_gradients (float32)",
                         "2 shards of sizes [2, 6], " + describe(X=X), HINTS["data_parallel_gradients"])  # fmt: skip


# ---------------------------------------------------------------------------------------
# unscale_grads
# ---------------------------------------------------------------------------------------


def scaled_grads(seed, scale, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return {"W": (rng.normal(size=(3, 4)) * scale).astype(dtype), "b": (rng.normal(size=4) * scale).astype(dtype)}


@DTYPES
@pytest.mark.parametrize("scale", [65536.0, 1.0, 0.5, 3.0], ids=str)
@pytest.mark.part("unscale_grads", points=0.25)
def test_unscale_grads_finite(learner, scale, dtype):
    """Finite gradients: each divided by the scale, found_inf False."""
    g = scaled_grads(8, scale, dtype)
    on = describe(**g) + f", scale={scale}"
    out, found = as_tuple(learner.unscale_grads(g, scale), 2, "unscale_grads(grads, scale)", on)
    out = as_dict(out, g, "unscale_grads: the unscaled grads", on)
    for k, v in g.items():
        assert_close(out[k], v.astype(np.float64) / scale, f"unscale_grads: grads[{k!r}] / scale", on=on,
                     inputs={k: v}, hint=HINTS["unscale_grads"])  # fmt: skip
    assert_true(not bool(found), "unscale_grads: found_inf", f"got {found!r} for gradients that are all finite",
                on=on, hint=HINTS["unscale_grads"])  # fmt: skip


@pytest.mark.parametrize("bad", ["inf", "-inf", "nan"])
@pytest.mark.part("unscale_grads", points=0.5)
def test_unscale_grads_finds_inf_and_nan(learner, bad):
    """One inf, -inf or NaN entry in one gradient: found_inf is True."""
    g = scaled_grads(9, 1024.0)
    g["b"][2] = float(bad)
    on = describe(**g) + f", scale=1024.0, grads['b'][2] = {bad}"
    _, found = as_tuple(learner.unscale_grads(g, 1024.0), 2, "unscale_grads(grads, scale)", on)
    assert_true(bool(found), "unscale_grads: found_inf", f"got {found!r} with a {bad} in grads['b']", on=on,
                hint="np.isfinite is False for inf, -inf and NaN alike (np.isinf misses NaN)")  # fmt: skip


# ---------------------------------------------------------------------------------------
# scaler_update, against torch.amp.GradScaler on the CPU
# ---------------------------------------------------------------------------------------

# (found_inf per step, init scale, growth factor, backoff, interval, initial tracker)
SCALER_CASES = [
    ([0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0], 8.0, 2.0, 0.5, 3, 0),
    ([0, 0, 1, 0, 1, 0, 0], 65536.0, 4.0, 0.25, 1, 0),
    ([0, 0, 0, 1, 0, 0], 1024.0, 2.0, 0.5, 2000, 1997),
    ([0, 1, 0, 0, 0, 0, 0, 0], 2.0**16, 2.0, 0.5, 4, 2),
]


class PlainSGD:
    """p <- p - lr * p.grad, shaped as GradScaler expects an optimizer (param_groups, step):
    torch.optim's first use costs ~1.3 s here, this nothing."""

    def __init__(self, params, lr):
        self.param_groups, self.lr = [{"params": list(params)}], lr

    def step(self):
        import torch

        with torch.no_grad():
            for p in self.param_groups[0]["params"]:
                p -= self.lr * p.grad

    def zero_grad(self):
        for p in self.param_groups[0]["params"]:
            p.grad = None


def torch_scaler_trace(flags, init, growth, backoff, interval, tracker):
    """The (scale, growth_tracker) after each step of a real GradScaler driving SGD on one
    parameter, with an inf put in its gradient on the flagged steps."""
    import torch

    p = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    opt = PlainSGD([p], lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=init, growth_factor=growth, backoff_factor=backoff,
                                  growth_interval=interval)  # fmt: skip
    scaler.load_state_dict({"scale": init, "growth_factor": growth, "backoff_factor": backoff,
                            "growth_interval": interval, "_growth_tracker": tracker})  # fmt: skip
    trace = []
    for bad in flags:
        opt.zero_grad()
        scaler.scale((p**2).sum()).backward()
        if bad:
            p.grad[0] = float("inf")
        scaler.step(opt)
        scaler.update()
        trace.append((scaler.get_scale(), scaler._get_growth_tracker()))
    return trace


@pytest.mark.parametrize("case", SCALER_CASES, ids=lambda c: f"interval={c[4]}")
@pytest.mark.part("scaler_update", points=1)
def test_scaler_update_matches_grad_scaler(learner, case):
    """Step for step, the (scale, growth_tracker) torch.amp.GradScaler has after update(),
    for a run of clean and overflowing steps (growth 2 or 4, backoff 0.5 or 0.25)."""
    flags, init, growth, backoff, interval, tracker = case
    trace = torch_scaler_trace(flags, init, growth, backoff, interval, tracker)
    state = {"scale": init, "growth_tracker": tracker}
    for step, (bad, expected) in enumerate(zip(flags, trace)):
        on = (f"state={state}, found_inf={bool(bad)}, growth_factor={growth}, backoff_factor={backoff}, "
              f"growth_interval={interval} (step {step} of found_inf {[bool(f) for f in flags]})")  # fmt: skip
        got = as_dict(learner.scaler_update(state, bool(bad), growth, backoff, interval), ("scale", "growth_tracker"),
                      "scaler_update(...)", on)  # fmt: skip
        pair = np.array([np.asarray(got["scale"], dtype=np.float64), np.asarray(got["growth_tracker"], dtype=np.float64)])
        assert_close(pair, np.array(expected, dtype=np.float64), "scaler_update: [scale, growth_tracker] vs GradScaler",
                     on=on, hint=HINTS["scaler_update"])  # fmt: skip
        state = {"scale": float(expected[0]), "growth_tracker": int(expected[1])}


@pytest.mark.part("scaler_update", points=0.5)
def test_scaler_update_keeps_a_scale_that_would_overflow(learner):
    """A growth that would make the scale inf leaves it where it is (the tracker still
    resets), as GradScaler's rule says; the state passed in is not changed."""
    state = {"scale": 2.0**1023, "growth_tracker": 2}
    on = f"state={state}, found_inf=False, growth_factor=2.0, backoff_factor=0.5, growth_interval=3"
    got = as_dict(learner.scaler_update(dict(state), False, 2.0, 0.5, 3), ("scale", "growth_tracker"),
                  "scaler_update(...)", on)  # fmt: skip
    pair = np.array([np.asarray(got["scale"], dtype=np.float64), np.asarray(got["growth_tracker"], dtype=np.float64)])
    assert_close(pair, np.array([2.0**1023, 0.0]), "scaler_update: [scale, growth_tracker] at the largest scale",
                 on=on, hint="grow only when scale * growth_factor is finite; reset the tracker either way")  # fmt: skip


# ---------------------------------------------------------------------------------------
# scaled_sgd_step, against GradScaler + torch.optim.SGD on the MLP
# ---------------------------------------------------------------------------------------


def torch_scaled_run(params, X, y, flags, lr, init, interval):
    """A real GradScaler (growth 2, backoff 0.5) with SGD on the MLP; on flagged steps one
    gradient entry is replaced by inf or NaN after backward. Per step: (params before,
    scaled grads, state before, params after, state after, step taken)."""
    import torch

    p = {k: torch.nn.Parameter(torch.tensor(v)) for k, v in params.items()}
    opt = PlainSGD(p.values(), lr=lr)
    scaler = torch.amp.GradScaler("cpu", init_scale=init, growth_interval=interval)
    steps = []
    for i, bad in enumerate(flags):
        before = {k: v.detach().numpy().copy() for k, v in p.items()}
        state = {"scale": scaler.get_scale(), "growth_tracker": scaler._get_growth_tracker()}
        opt.zero_grad()
        scaler.scale(torch_loss(p, X, y)).backward()
        if bad:
            p[NAMES[i % 4]].grad.view(-1)[0] = float("nan") if bad == 2 else float("inf")
        grads = {k: v.grad.numpy().copy() for k, v in p.items()}
        scaler.step(opt)
        scaler.update()
        after = {k: v.detach().numpy().copy() for k, v in p.items()}
        new_state = {"scale": scaler.get_scale(), "growth_tracker": scaler._get_growth_tracker()}
        steps.append((before, grads, state, after, new_state, not bad))
    return steps


@pytest.mark.part("scaled_sgd_step", points=3)
def test_scaled_sgd_step_matches_grad_scaler(learner):
    """Twelve steps of SGD with a GradScaler (scale 2**10, growth interval 2) on the MLP,
    with an inf or a NaN put in a gradient on four of them: each step's parameters, state
    and step_taken equal scaler.step(opt); scaler.update()'s."""
    params, (X, y) = mlp_params(3, 4, 3, seed=10), classification(6, 3, 3, seed=10)
    flags = [0, 0, 0, 1, 0, 2, 0, 0, 0, 1, 1, 0]  # 1: an inf, 2: a NaN
    lr, interval = 0.5, 2
    for step, (before, grads, state, after, new_state, taken) in enumerate(
        torch_scaled_run(params, X, y, flags, lr, 1024.0, interval)
    ):
        on = (f"step {step}: state={state}, lr={lr}, growth_interval={interval}, "
              + ("finite gradients" if not flags[step] else "an inf or NaN in the gradients"))  # fmt: skip
        got = as_tuple(learner.scaled_sgd_step(before, grads, state, lr, 2.0, 0.5, interval), 3,
                       "scaled_sgd_step(...)", on)  # fmt: skip
        new_params, got_state, got_taken = got
        assert_true(bool(got_taken) == taken, "scaled_sgd_step: step_taken",
                    f"expected {taken}, got {got_taken!r}", on=on, hint=HINTS["scaled_sgd_step"])  # fmt: skip
        new_params = as_dict(new_params, NAMES, "scaled_sgd_step: new_params", on)
        for k in NAMES:
            assert_close(new_params[k], after[k], f"scaled_sgd_step: new_params[{k!r}] vs GradScaler + SGD", on=on,
                         inputs={k: before[k]}, hint=HINTS["scaled_sgd_step"])  # fmt: skip
        got_state = as_dict(got_state, ("scale", "growth_tracker"), "scaled_sgd_step: new_state", on)
        pair = np.array([np.asarray(got_state["scale"], dtype=np.float64),
                         np.asarray(got_state["growth_tracker"], dtype=np.float64)])  # fmt: skip
        assert_close(pair, np.array([new_state["scale"], new_state["growth_tracker"]], dtype=np.float64),
                     "scaled_sgd_step: new_state [scale, growth_tracker] vs GradScaler", on=on,
                     hint=HINTS["scaled_sgd_step"])  # fmt: skip


# ---------------------------------------------------------------------------------------
# LoRA
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dims", [(64, 5, 8), (1, 3, 1), (7, 2, 3)], ids=str)
@pytest.mark.part("lora_init", points=0.5)
def test_lora_init_shapes_and_zero_b(learner, dims):
    """A is (d_in, r), B (r, d_out) and exactly zero, so the layer starts as the base."""
    d_in, d_out, r = dims
    on = f"d_in={d_in}, d_out={d_out}, r={r}, seed=0"
    got = as_dict(learner.lora_init(d_in, d_out, r, 0), ("A", "B"), "lora_init(...)", on)
    assert_shape(got["A"], (d_in, r), "lora_init: A (d_in, r)", on=on)
    assert_shape(got["B"], (r, d_out), "lora_init: B (r, d_out)", on=on)
    assert_close(got["B"], np.zeros((r, d_out)), "lora_init: B", on=on, rtol=0, atol=0,
                 hint="B starts at exactly zero (A random): the adapted layer then equals the base at step 0")  # fmt: skip


@pytest.mark.part("lora_init", points=0.5)
def test_lora_init_a_is_random_at_its_scale(learner):
    """A ~ N(0, 1/d_in): its 512 entries have a mean within 4 standard errors of 0 and a
    standard deviation within 15% of 1/sqrt(d_in) (5 standard errors); the same seed gives
    the same A, another seed another."""
    on = "d_in=64, d_out=5, r=8"
    A = np.asarray(as_dict(learner.lora_init(64, 5, 8, 3), ("A", "B"), "lora_init(...)", on)["A"], dtype=np.float64)
    std = float(A.std())
    assert_true(abs(float(A.mean())) < 4 * 64**-0.5 / 512**0.5 and abs(std / 64**-0.5 - 1) < 0.15,
                "lora_init: A's distribution", f"mean {A.mean():.3g}, std {std:.3g}; expected mean ~0, std "
                f"{64**-0.5:.3g} = 1/sqrt(d_in)", on=on + ", seed=3",
                hint="A = rng.normal(scale=d_in**-0.5, size=(d_in, r)): random, never zero (with A and B both "
                "zero neither ever gets a gradient)")  # fmt: skip
    again = np.asarray(learner.lora_init(64, 5, 8, 3)["A"], dtype=np.float64)
    other = np.asarray(learner.lora_init(64, 5, 8, 4)["A"], dtype=np.float64)
    assert_close(again, A, "lora_init: A again with the same seed", on=on + ", seed=3",
                 hint="draw A from np.random.default_rng(seed)")  # fmt: skip
    assert_true(not np.allclose(other, A), "lora_init: A with another seed", "seed 4 gave the same A as seed 3",
                on=on, hint="draw A from np.random.default_rng(seed)")  # fmt: skip


def lora_case(n, d_in, d_out, r, seed, dtype=np.float64, zero_b=False):
    rng = np.random.default_rng(seed)
    a = {"x": rng.normal(size=(n, d_in)), "W": rng.normal(size=(d_in, d_out)) / d_in**0.5,
         "b": rng.normal(size=d_out), "A": rng.normal(size=(d_in, r)) / d_in**0.5,
         "B": np.zeros((r, d_out)) if zero_b else rng.normal(size=(r, d_out))}  # fmt: skip
    return as_dtype(a, dtype)


def torch_lora(a, alpha):
    """PyTorch's linear maps, weights stored (out, in) as nn.Linear keeps them."""
    import torch

    F, t = torch.nn.functional, {k: torch.as_tensor(v, dtype=torch.float64) for k, v in a.items()}
    r = t["A"].shape[1]
    return (F.linear(t["x"], t["W"].T, t["b"]) + alpha / r * F.linear(F.linear(t["x"], t["A"].T), t["B"].T)).numpy()


# (N, d_in, d_out, r, alpha): batch 1, r = 1, non-square, alpha != r.
LORA_CASES = [(1, 3, 2, 1, 2.0), (5, 4, 6, 2, 8.0), (7, 8, 3, 4, 12.0), (3, 6, 6, 3, 1.0)]  # alpha != r**2: alpha * r would pass as (alpha / r) * alpha


@DTYPES
@pytest.mark.parametrize("case", LORA_CASES, ids=str)
@pytest.mark.part("lora_forward", points=0.25)
def test_lora_forward_matches_torch(learner, case, dtype):
    """x @ W + b + (alpha / r) (x @ A) @ B against PyTorch's linear maps (weights
    transposed to (out, in)), float64 and float32."""
    n, d_in, d_out, r, alpha = case
    a = lora_case(n, d_in, d_out, r, seed=11 + n, dtype=dtype)
    on = describe(**a) + f", alpha={alpha}"
    got = learner.lora_forward(a["x"], a["W"], a["b"], a["A"], a["B"], alpha)
    assert_shape(got, (n, d_out), "lora_forward: output (N, d_out)", on=on)
    assert_close(got, torch_lora(a, alpha), "lora_forward vs torch", on=on, inputs=a, hint=HINTS["lora_forward"])


@pytest.mark.part("lora_forward", points=0.5)
def test_lora_forward_starts_as_the_base(learner):
    """With B = 0 the layer is exactly the base x @ W + b."""
    a = lora_case(4, 5, 3, 2, seed=12, zero_b=True)
    on = describe(**a) + ", alpha=4.0"
    assert_close(learner.lora_forward(a["x"], a["W"], a["b"], a["A"], a["B"], 4.0), a["x"] @ a["W"] + a["b"],
                 "lora_forward with B = 0 vs x @ W + b", on=on, hint="the update is (alpha / r) (x @ A) @ B: zero "
                 "when B is")  # fmt: skip


@DTYPES
@pytest.mark.parametrize("case", LORA_CASES[1:], ids=str)
@pytest.mark.part("lora_merge", points=0.5)
def test_lora_merge_is_exact(learner, case, dtype):
    """The merged weight is W + (alpha / r) A @ B, and x @ merged + b gives the layer's
    outputs (torch's)."""
    n, d_in, d_out, r, alpha = case
    a = lora_case(n, d_in, d_out, r, seed=13 + n, dtype=dtype)
    on = describe(W=a["W"], A=a["A"], B=a["B"]) + f", alpha={alpha}"
    p64 = as_dtype(a, np.float64)
    merged = learner.lora_merge(a["W"], a["A"], a["B"], alpha)
    assert_close(merged, p64["W"] + alpha / r * p64["A"] @ p64["B"], "lora_merge(W, A, B, alpha)", on=on,
                 inputs={"W": a["W"]}, hint=HINTS["lora_merge"])  # fmt: skip
    outputs = p64["x"] @ np.asarray(merged, dtype=np.float64) + p64["b"]
    assert_close(outputs, torch_lora(a, alpha), "lora_merge: x @ merged + b vs the LoRA layer's outputs", on=on,
                 inputs=a, hint=HINTS["lora_merge"])  # fmt: skip


@DTYPES
@pytest.mark.parametrize("case", LORA_CASES[1:], ids=str)
@pytest.mark.part("lora_unmerge", points=0.5)
def test_lora_unmerge_restores_the_base(learner, case, dtype):
    """Unmerging a merged weight (merged here) gives back W to float rounding."""
    n, d_in, d_out, r, alpha = case
    a = lora_case(n, d_in, d_out, r, seed=14 + n, dtype=dtype)
    merged = (a["W"] + (alpha / r) * (a["A"] @ a["B"])).astype(dtype)
    on = describe(W_merged=merged, A=a["A"], B=a["B"]) + f", alpha={alpha}"
    assert_close(learner.lora_unmerge(merged, a["A"], a["B"], alpha), a["W"], "lora_unmerge(W_merged, A, B, alpha) vs W",
                 on=on, inputs={"W_merged": merged}, hint=HINTS["lora_unmerge"])  # fmt: skip


# 50 rounds of merge then unmerge; a correct pair loses at most ~2 roundings of
# |W| + |delta| per round, so the bound is 50 rounds * 4 eps * (|W| + |delta|).
ROUNDS = 50


@DTYPES
@pytest.mark.part("lora_unmerge", points=1)
def test_lora_merge_unmerge_rounds_do_not_drift(learner, dtype):
    """50 rounds of your lora_merge then lora_unmerge end within 50 * 4 eps (|W| + |delta|)
    of the starting W, elementwise (drift beyond rounding fails)."""
    a = lora_case(1, 6, 5, 2, seed=15, dtype=dtype)
    alpha = 6.0
    on = describe(W=a["W"], A=a["A"], B=a["B"]) + f", alpha={alpha}, {ROUNDS} rounds"
    W = a["W"]
    for _ in range(ROUNDS):
        W = np.asarray(learner.lora_unmerge(learner.lora_merge(W, a["A"], a["B"], alpha), a["A"], a["B"], alpha))
    delta = alpha / 2 * (a["A"].astype(np.float64) @ a["B"].astype(np.float64))
    bound = ROUNDS * 4 * np.finfo(dtype).eps * (np.abs(a["W"].astype(np.float64)) + np.abs(delta))
    drift = np.abs(W.astype(np.float64) - a["W"])
    assert_true(bool((drift <= bound).all()), f"lora_merge then lora_unmerge, {ROUNDS} rounds: drift",
                f"the largest |W_after - W| is {drift.max():.3g}, {float((drift / bound).max()):.3g} times the "
                f"rounding bound (W {dtype.__name__})", on=on,
                hint="merge adds (alpha / r) A @ B and unmerge subtracts the very same product, computed in W's dtype")  # fmt: skip


def lora_task(seed):
    """A frozen base and a target that differs from it by a rank-2 update."""
    rng = np.random.default_rng(seed)
    d_in, d_out, n = 8, 6, 64
    W, b = rng.normal(size=(d_in, d_out)) / d_in**0.5, rng.normal(size=d_out) * 0.1
    update = rng.normal(size=(d_in, 2)) @ rng.normal(size=(2, d_out)) / d_in**0.5
    X = rng.normal(size=(n, d_in))
    A = rng.normal(scale=d_in**-0.5, size=(d_in, 2))
    return W, b, A, np.zeros((2, d_out)), X, X @ (W + update) + b


# lr 0.5, 80 steps, alpha 2, r 2: the reference's loss falls from ~1.5 to ~0.01 on seeds
# 0-4 (worst 0.03); 0.1 leaves room for any correct learner.
LORA_TRAIN = {"alpha": 2.0, "lr": 0.5, "steps": 80}
LORA_TARGET = 0.1


@pytest.mark.part("lora_train", points=3)
def test_lora_train_moves_only_a_and_b(learner, ref, report):
    """Your lora_forward is right (training uses it); W and b come back bit-for-bit; A, B and
    the loss curve equal the reference's SGD on A and B only; the loss falls below 0.1 on a
    target that is the base plus a rank-2 update."""
    W, b, A, B, X, Y = lora_task(seed=0)
    small = lora_case(3, 4, 3, 2, seed=16)
    assert_close(learner.lora_forward(small["x"], small["W"], small["b"], small["A"], small["B"], 4.0),
                 torch_lora(small, 4.0), "lora_train needs lora_forward: outputs", on=describe(**small),
                 hint="fix lora_forward first: training runs it")  # fmt: skip
    on = describe(W=W, A=A, X=X, Y=Y) + ", " + ", ".join(f"{k}={v}" for k, v in LORA_TRAIN.items())
    got, losses = as_tuple(learner.lora_train.with_timeout(60)(W, b, A, B, X, Y, *LORA_TRAIN.values()), 2,
                           "lora_train(...)", on)  # fmt: skip
    got = as_dict(got, ("W", "b", "A", "B"), "lora_train: the parameters", on)
    for k, v in (("W", W), ("b", b)):
        assert_close(got[k], v, f"lora_train: the frozen {k}", on=on, rtol=0, atol=0,
                     hint="the base is frozen: only A and B get gradients and steps")  # fmt: skip
    exp_params, exp_losses = ref.lora_train(W, b, A, B, X, Y, *LORA_TRAIN.values())
    curve = np.asarray(as_tuple(list(np.ravel(losses)), LORA_TRAIN["steps"], "lora_train: the losses", on))
    report["figure"] = {"kind": "curves", "title": "lora_train: fitting a rank-2 update of a frozen layer",
                        "ylabel": "mean squared error", "curves": {"yours": curve.tolist(), "reference": exp_losses}}  # fmt: skip
    assert_close(curve, exp_losses, "lora_train: the loss before each step vs the reference", on=on, **TRAJECTORY_TOL,
                 hint="the loss is the mean of (lora_forward(X, ...) - Y)**2 over every entry; SGD on A and B only")  # fmt: skip
    for k in ("A", "B"):
        assert_close(got[k], ref_array(exp_params[k]), f"lora_train: the trained {k} vs the reference", on=on,
                     **TRAJECTORY_TOL, hint="A <- A - lr dL/dA and B <- B - lr dL/dB, every step")  # fmt: skip
    assert_converges(curve, LORA_TARGET, "lora_train on a rank-2 update", budget=LORA_TRAIN["steps"], on=on,
                     reference=exp_losses)  # fmt: skip


# ---------------------------------------------------------------------------------------
# bottleneck adapters
# ---------------------------------------------------------------------------------------


def adapter_params(d, m, seed, dtype=np.float64, zero_up=False):
    rng = np.random.default_rng(seed)
    p = {"W_down": rng.normal(size=(d, m)) / d**0.5, "b_down": rng.normal(size=m) * 0.5,
         "W_up": np.zeros((m, d)) if zero_up else rng.normal(size=(m, d)) / m**0.5,
         "b_up": np.zeros(d) if zero_up else rng.normal(size=d) * 0.5}  # fmt: skip
    return as_dtype(p, dtype)


def torch_adapter(h, p):
    import torch

    F, t = torch.nn.functional, {k: torch.as_tensor(v, dtype=torch.float64) for k, v in p.items()}
    h = torch.as_tensor(h, dtype=torch.float64)
    return (h + F.linear(F.relu(F.linear(h, t["W_down"].T, t["b_down"])), t["W_up"].T, t["b_up"])).numpy()


@DTYPES
@pytest.mark.parametrize("dims", [(1, 4, 2), (5, 6, 3), (3, 8, 1)], ids=str)
@pytest.mark.part("adapter_forward", points=0.25)
def test_adapter_forward_matches_torch(learner, dims, dtype):
    """h + relu(h @ W_down + b_down) @ W_up + b_up against PyTorch's linear maps."""
    n, d, m = dims
    p = adapter_params(d, m, seed=17 + d, dtype=dtype)
    h = np.random.default_rng(17).normal(size=(n, d)).astype(dtype)
    on = describe(h=h, **p)
    got = learner.adapter_forward(h, p)
    assert_shape(got, (n, d), "adapter_forward: output (N, d)", on=on)
    assert_close(got, torch_adapter(h, p), "adapter_forward vs torch", on=on, inputs={"h": h, **p},
                 hint=HINTS["adapter_forward"])  # fmt: skip


@pytest.mark.part("adapter_forward", points=0.5)
def test_adapter_starts_as_the_identity(learner):
    """With W_up = 0 and b_up = 0 the adapter returns h unchanged."""
    p = adapter_params(5, 2, seed=18, zero_up=True)
    h = np.random.default_rng(18).normal(size=(4, 5))
    assert_close(learner.adapter_forward(h, p), h, "adapter_forward with W_up = 0, b_up = 0 vs h",
                 on=describe(h=h, **p), hint=HINTS["adapter_forward"])  # fmt: skip


# A frozen MLP 4 -> 8 -> 3 and labels from another rule; a bottleneck of 3 after its hidden
# layer, lr 0.5, 60 steps: the reference's loss falls from ~1.4 to ~0.45-0.6 on seeds 0-4;
# the target 0.8 leaves room. The trajectory check is the strict one.
ADAPTER_TRAIN = {"lr": 0.5, "steps": 60}
ADAPTER_TARGET = 0.8


def adapter_task(seed):
    rng = np.random.default_rng(seed)
    base = mlp_params(4, 8, 3, seed=seed + 100)
    X = rng.normal(size=(48, 4))
    y = np.argmax(X @ rng.normal(size=(4, 3)), axis=1)
    adapter = adapter_params(8, 3, seed=seed + 200, zero_up=True)
    return base, adapter, X, y


@pytest.mark.part("adapter_train", points=3)
def test_adapter_train_leaves_the_base_frozen(learner, ref, report):
    """Your adapter_forward is right (training uses it); the base comes back bit-for-bit;
    the adapter and the loss curve equal the reference's SGD on the adapter only; the loss
    falls below 0.8."""
    base, adapter, X, y = adapter_task(seed=0)
    p, h = adapter_params(5, 2, seed=19), np.random.default_rng(19).normal(size=(3, 5))
    assert_close(learner.adapter_forward(h, p), torch_adapter(h, p), "adapter_train needs adapter_forward: outputs",
                 on=describe(h=h), hint="fix adapter_forward first: training runs it")  # fmt: skip
    on = describe(X=X, y=y, **base) + ", bottleneck 3, " + ", ".join(f"{k}={v}" for k, v in ADAPTER_TRAIN.items())
    got_base, got_adapter, losses = as_tuple(
        learner.adapter_train.with_timeout(60)(base, adapter, X, y, *ADAPTER_TRAIN.values()), 3, "adapter_train(...)", on
    )
    got_base = as_dict(got_base, NAMES, "adapter_train: the base", on)
    for k in NAMES:
        assert_close(got_base[k], base[k], f"adapter_train: the frozen base's {k}", on=on, rtol=0, atol=0,
                     hint="the base is frozen: only the adapter's four arrays get gradients and steps")  # fmt: skip
    _, exp_adapter, exp_losses = ref.adapter_train(base, adapter, X, y, *ADAPTER_TRAIN.values())
    curve = np.asarray(as_tuple(list(np.ravel(losses)), ADAPTER_TRAIN["steps"], "adapter_train: the losses", on))
    report["figure"] = {"kind": "curves", "title": "adapter_train: an adapter on a frozen MLP",
                        "ylabel": "mean cross-entropy", "curves": {"yours": curve.tolist(), "reference": exp_losses}}  # fmt: skip
    assert_close(curve, exp_losses, "adapter_train: the loss before each step vs the reference", on=on,
                 **TRAJECTORY_TOL, hint="logits = adapter_forward(tanh(X @ W1 + b1), adapter) @ W2 + b2; mean "
                 "cross-entropy; SGD on the adapter only")  # fmt: skip
    got_adapter = as_dict(got_adapter, ADAPTER, "adapter_train: the adapter", on)
    for k in ADAPTER:
        assert_close(got_adapter[k], ref_array(exp_adapter[k]), f"adapter_train: the trained {k} vs the reference",
                     on=on, **TRAJECTORY_TOL, hint="p <- p - lr * grad for the adapter's four arrays")  # fmt: skip
    assert_converges(curve, ADAPTER_TARGET, "adapter_train on a frozen MLP", budget=ADAPTER_TRAIN["steps"], on=on,
                     reference=exp_losses)  # fmt: skip
