"""Grader for training-dynamics: losses, SGD and momentum, schedules, mini-batches, a training loop.

Layers: shapes -> values against the reference (float64 and float32) -> gradients against
central differences and torch.autograd -> stability -> step-by-step equality with
torch.optim.SGD and torch.optim.lr_scheduler -> the batches of an epoch -> training
converges. torch is the oracle only, imported inside the tests that use it.
"""

import numpy as np
import pytest

from nnfs_cli.checks import (
    assert_close,
    assert_converges,
    assert_gradient,
    assert_shape,
    assert_true,
    describe,
    numerical_gradient,
    torch_oracle,
)

# ----------------------------------------------------------------------------- helpers


def unpack(got, names, what, on=""):
    """The learner's tuple result, checked for its length (a clear message instead of a crash)."""
    assert_true(
        isinstance(got, tuple | list) and len(got) == len(names),
        f"{what}: wrong return value",
        f"expected a tuple ({', '.join(names)}), got "
        + (
            f"{type(got).__name__} of length {len(got)}"
            if isinstance(got, tuple | list)
            else type(got).__name__
        ),
        on=on,
        hint=f"end with `return {', '.join(names)}`",
    )
    return got


def number(got, what, on=""):
    """A learner's scalar result as a float, or a failure saying what came back instead."""
    ok = isinstance(got, int | float | np.number) and not isinstance(got, bool)
    ok = ok or (
        isinstance(got, np.ndarray) and got.shape == () and np.issubdtype(got.dtype, np.number)
    )
    assert_true(
        ok,
        f"{what}: expected a number",
        f"got {type(got).__name__} {getattr(got, 'shape', '')}".rstrip(),
        on=on,
        hint="return a Python float (e.g. float(...)) or a NumPy scalar, not an array or None",
    )
    # a float32 result keeps its dtype, so that the comparison uses float32 precision
    return np.float32(got) if np.asarray(got).dtype == np.float32 else float(got)


def schedule(fn, name, ts, args_before, args_after=()):
    """[fn(*args_before, t, *args_after) for t in ts], each checked to be a number."""
    out = []
    for t in ts:
        args = (*args_before, t, *args_after)
        out.append(number(fn(*args), f"{name}{args}"))
    return np.array(
        out, dtype=np.float32 if any(isinstance(v, np.float32) for v in out) else np.float64
    )


def spiral(n_per_class=100, classes=3, seed=0, noise=0.2):
    """The lesson's spiral: `classes` arms of one full turn each, radius 0.05..1, angle noise."""
    rng = np.random.default_rng(seed)
    r = np.tile(np.linspace(0.05, 1, n_per_class), classes)
    y = np.repeat(np.arange(classes), n_per_class)
    theta = 2 * np.pi * (y / classes + r) + rng.normal(scale=noise, size=y.size)
    return np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1), y


def blobs(n_per_class, classes, seed):
    """Well separated Gaussian blobs (a linearly separable warm-up problem)."""
    rng = np.random.default_rng(seed)
    centers = 3 * np.stack(
        [
            np.cos(2 * np.pi * np.arange(classes) / classes),
            np.sin(2 * np.pi * np.arange(classes) / classes),
        ],
        1,
    )
    y = np.repeat(np.arange(classes), n_per_class)
    return centers[y] + rng.normal(scale=0.5, size=(y.size, 2)), y


def mlp_accuracy(params, X, y):
    logits = np.maximum(X @ params["W1"] + params["b1"], 0) @ params["W2"] + params["b2"]
    return float(np.mean(logits.argmax(axis=1) == y))


# ----------------------------------------------------------------------------- mse_loss

MSE_SHAPES = [(1,), (7,), (5, 3), (1, 1), (2, 3, 4)]


@pytest.mark.parametrize("shape", MSE_SHAPES, ids=str)
@pytest.mark.part("mse_loss", points=0.25)
def test_mse_shapes(learner, shape):
    """mse_loss returns (a number, a gradient of y_pred's shape)."""
    rng = np.random.default_rng(len(shape))
    y_pred, y = rng.normal(size=shape), rng.normal(size=shape)
    on = describe(y_pred=y_pred, y=y)
    loss, grad = unpack(learner.mse_loss(y_pred, y), ("loss", "grad"), "mse_loss(y_pred, y)", on)
    number(loss, "mse_loss: the loss", on)
    assert_shape(grad, shape, "mse_loss: the gradient", on)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("shape", [(8,), (6, 3)], ids=str)
@pytest.mark.part("mse_loss", points=0.75)
def test_mse_values(learner, ref, shape, dtype):
    """Loss and gradient equal the reference (mean over every element)."""
    rng = np.random.default_rng(7)
    y_pred, y = rng.normal(size=shape).astype(dtype), rng.normal(size=shape).astype(dtype)
    on = describe(y_pred=y_pred, y=y)
    loss, grad = unpack(learner.mse_loss(y_pred, y), ("loss", "grad"), "mse_loss(y_pred, y)", on)
    exp_loss, exp_grad = ref.mse_loss(y_pred, y)
    # a float32 computation is compared at float32 precision, even when returned as a Python float
    loss = number(loss, "mse_loss: the loss", on)
    loss = np.float32(loss) if dtype == np.float32 else loss
    assert_close(
        loss,
        exp_loss,
        "mse_loss: the loss",
        on=on,
        batch=y.size,
        hint="loss = mean((y_pred - y)**2) over every element: divide by y_pred.size, not by the number of rows",
    )
    assert_close(
        grad,
        exp_grad,
        "mse_loss: the gradient",
        on=on,
        batch=y.size,
        inputs={"y_pred": y_pred, "y": y},
        hint="d/dy_pred of mean((y_pred - y)**2) is 2 (y_pred - y) / y_pred.size",
    )


@pytest.mark.part("mse_loss", points=1)
def test_mse_matches_torch(learner):
    """Loss equals F.mse_loss and the gradient equals torch.autograd's."""
    import torch.nn.functional as F

    rng = np.random.default_rng(8)
    y_pred, y = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    on = describe(y_pred=y_pred, y=y)
    exp_loss, (exp_grad,) = torch_oracle(F.mse_loss, y_pred, y, grad_of=(0,))
    loss, grad = unpack(learner.mse_loss(y_pred, y), ("loss", "grad"), "mse_loss(y_pred, y)", on)
    assert_close(
        number(loss, "mse_loss: the loss", on),
        exp_loss,
        "mse_loss vs torch F.mse_loss",
        on=on,
        batch=y.size,
    )
    assert_close(
        grad,
        exp_grad,
        "mse_loss: gradient vs torch.autograd",
        on=on,
        batch=y.size,
        hint="the factor 2 from the square and the 1/M from the mean both belong in the gradient",
    )


@pytest.mark.part("mse_loss", points=1)
def test_mse_gradient_finite_differences(learner, ref):
    """The gradient equals central differences of the loss."""
    rng = np.random.default_rng(9)
    y_pred, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    on = describe(y_pred=y_pred, y=y)
    numeric = numerical_gradient(lambda p: ref.mse_loss(p, y)[0], y_pred)
    _, grad = unpack(learner.mse_loss(y_pred, y), ("loss", "grad"), "mse_loss(y_pred, y)", on)
    assert_gradient(
        grad,
        numeric,
        "mse_loss: gradient",
        on=on,
        batch=y.size,
        hint="a gradient that points the wrong way is (y - y_pred) instead of (y_pred - y)",
    )


# ----------------------------------------------------------------------------- cross_entropy_loss

CE_SHAPES = [(1, 2), (5, 3), (7, 10), (4, 1)]


def ce_inputs(n, c, seed, dtype=np.float64, scale=2.0):
    rng = np.random.default_rng(seed)
    return (rng.normal(scale=scale, size=(n, c))).astype(dtype), rng.integers(0, c, size=n)


@pytest.mark.parametrize("shape", CE_SHAPES, ids=str)
@pytest.mark.part("cross_entropy_loss", points=0.25)
def test_ce_shapes(learner, shape):
    """cross_entropy_loss returns (a number, a gradient of the logits' shape), batch 1 and C = 1 included."""
    logits, y = ce_inputs(*shape, seed=shape[0])
    on = describe(logits=logits, y=y)
    loss, grad = unpack(
        learner.cross_entropy_loss(logits, y), ("loss", "grad"), "cross_entropy_loss(logits, y)", on
    )
    number(loss, "cross_entropy_loss: the loss", on)
    assert_shape(grad, shape, "cross_entropy_loss: the gradient", on)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("shape", [(1, 3), (6, 4), (9, 2)], ids=str)
@pytest.mark.part("cross_entropy_loss", points=0.5)
def test_ce_values(learner, ref, shape, dtype):
    """Loss and gradient equal the reference (mean over the batch)."""
    logits, y = ce_inputs(*shape, seed=11, dtype=dtype)
    on = describe(logits=logits, y=y)
    loss, grad = unpack(
        learner.cross_entropy_loss(logits, y), ("loss", "grad"), "cross_entropy_loss(logits, y)", on
    )
    exp_loss, exp_grad = ref.cross_entropy_loss(logits, y)
    # a float32 computation is compared at float32 precision, even when returned as a Python float
    loss = number(loss, "cross_entropy_loss: the loss", on)
    loss = np.float32(loss) if dtype == np.float32 else loss
    assert_close(
        loss,
        exp_loss,
        "cross_entropy_loss: the loss",
        on=on,
        batch=shape[0],
        hint="loss = -mean over the batch of log softmax(logits)[n, y_n]",
    )
    assert_close(
        grad,
        exp_grad,
        "cross_entropy_loss: the gradient",
        on=on,
        batch=shape[0],
        hint="grad = (softmax(logits) - onehot(y)) / N: subtract 1 at each row's label, then divide by N",
    )


@pytest.mark.part("cross_entropy_loss", points=1)
def test_ce_matches_torch(learner):
    """Loss equals F.cross_entropy and the gradient equals torch.autograd's."""
    import torch.nn.functional as F

    logits, y = ce_inputs(8, 5, seed=12)
    on = describe(logits=logits, y=y)
    exp_loss, (exp_grad,) = torch_oracle(
        lambda z, t: F.cross_entropy(z, t.long()), logits, y, grad_of=(0,)
    )
    loss, grad = unpack(
        learner.cross_entropy_loss(logits, y), ("loss", "grad"), "cross_entropy_loss(logits, y)", on
    )
    assert_close(
        number(loss, "cross_entropy_loss: the loss", on),
        exp_loss,
        "cross_entropy_loss vs torch F.cross_entropy",
        on=on,
        batch=8,
    )
    assert_close(
        grad,
        exp_grad,
        "cross_entropy_loss: gradient vs torch.autograd",
        on=on,
        batch=8,
        hint="(softmax(logits) - onehot(y)) / N",
    )


@pytest.mark.part("cross_entropy_loss", points=1)
def test_ce_gradient_finite_differences(learner, ref):
    """The gradient equals central differences of the loss."""
    logits, y = ce_inputs(5, 4, seed=13)
    on = describe(logits=logits, y=y)
    numeric = numerical_gradient(lambda z: ref.cross_entropy_loss(z, y)[0], logits)
    _, grad = unpack(
        learner.cross_entropy_loss(logits, y), ("loss", "grad"), "cross_entropy_loss(logits, y)", on
    )
    assert_gradient(grad, numeric, "cross_entropy_loss: gradient", on=on, batch=5)


@pytest.mark.part("cross_entropy_loss", points=1.5)
def test_ce_stable_for_large_logits(learner, ref):
    """Loss and gradient stay finite and exact for logits of size 1000."""
    logits = np.array(
        [
            [1000.0, 0.0, -1000.0],
            [-1000.0, 1000.0, 999.0],
            [800.0, 800.0, 800.0],
            [-750.0, -760.0, -770.0],
        ]
    )
    y = np.array([0, 2, 1, 2])
    on = f"logits = {logits.tolist()}, y = {y.tolist()}"
    loss, grad = unpack(
        learner.cross_entropy_loss(logits, y), ("loss", "grad"), "cross_entropy_loss(logits, y)", on
    )
    exp_loss, exp_grad = ref.cross_entropy_loss(logits, y)
    hint = "exp(1000) overflows: subtract each row's maximum first, and take log p = z - logsumexp(z), never log(softmax)"
    assert_close(
        number(loss, "cross_entropy_loss: the loss", on),
        exp_loss,
        "cross_entropy_loss for large logits",
        on=on,
        large_input=True,
        hint=hint,
    )
    assert_close(
        grad,
        exp_grad,
        "cross_entropy_loss: gradient for large logits",
        on=on,
        large_input=True,
        hint=hint,
    )


# ----------------------------------------------------------------------------- sgd_step


def regression_problem(seed):
    """A small least-squares problem 0.5 mean_n ||x_n W + b - t_n||^2 and its NumPy gradient."""
    rng = np.random.default_rng(seed)
    X, T = rng.normal(size=(6, 3)), rng.normal(size=(6, 4))
    params = {"W": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}

    def grads(p):
        R = (X @ p["W"] + p["b"] - T) / len(X)
        return {"W": X.T @ R, "b": R.sum(axis=0)}

    return X, T, params, grads


def torch_trajectory(seed, steps, lrs, momentum):
    """Parameters and momentum buffers after each step of torch's SGD on the problem.

    The update is `torch.optim.sgd.sgd`, the functional core that `torch.optim.SGD.step`
    runs (single-tensor path); calling it directly skips `step`'s import of torch._dynamo,
    which costs 0.7 s and only matters under torch.compile.
    """
    import torch
    from torch.optim.sgd import sgd

    X, T, params, _ = regression_problem(seed)
    Xt, Tt = torch.tensor(X), torch.tensor(T)
    W = torch.tensor(params["W"], requires_grad=True)
    b = torch.tensor(params["b"], requires_grad=True)
    buffers = [None, None]
    out = []
    for k in range(steps):
        W.grad = b.grad = None
        (0.5 * ((Xt @ W + b - Tt) ** 2).sum() / len(X)).backward()
        with torch.no_grad():
            sgd(
                [W, b],
                [W.grad, b.grad],
                buffers,
                foreach=False,
                weight_decay=0.0,
                momentum=momentum,
                lr=lrs[k],
                dampening=0.0,
                nesterov=False,
                maximize=False,
            )
        state = {"W": W.detach().numpy().copy(), "b": b.detach().numpy().copy()}
        if momentum:
            state |= {"vW": buffers[0].numpy().copy(), "vb": buffers[1].numpy().copy()}
        out.append(state)
    return out


def a_dict(got, keys, what, on=""):
    """The learner's dict result, checked for its keys (a clear message instead of a KeyError)."""
    ok = isinstance(got, dict) and set(got) == set(keys)
    found = sorted(got) if isinstance(got, dict) else type(got).__name__
    assert_true(
        ok,
        f"{what}: wrong return value",
        f"expected a dict with keys {sorted(keys)}, got {found}",
        on=on,
        hint="return a new dict with one entry per parameter, e.g. {k: ... for k in params}",
    )
    return got


def step_inputs(shapes, seed, dtype=np.float64, names=("params", "grads", "velocity")):
    rng = np.random.default_rng(seed)
    return [{k: rng.normal(size=s).astype(dtype) for k, s in shapes.items()} for _ in names]


STEP_SHAPES = [
    {"w": (1,)},
    {"W": (3, 4), "b": (4,)},
    {"W1": (2, 5), "b1": (5,), "W2": (5, 1), "b2": (1,)},
]
STEP_IDS = ["one-scalar", "W-b", "two-layers"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("shapes", STEP_SHAPES, ids=STEP_IDS)
@pytest.mark.part("sgd_step", points=0.5)
def test_sgd_step_values(learner, ref, shapes, dtype):
    """One SGD step equals params[k] - lr * grads[k] for every key, float64 and float32."""
    params, grads = step_inputs(shapes, 21, dtype, names=("params", "grads"))
    on = ", ".join(describe(**{f"params[{k!r}]": v}) for k, v in params.items()) + ", lr=0.3"
    got = a_dict(learner.sgd_step(params, grads, 0.3), params, "sgd_step(params, grads, 0.3)", on)
    exp = ref.sgd_step(params, grads, 0.3)
    for k in params:
        assert_close(
            got[k],
            exp[k],
            f"sgd_step: new params[{k!r}]",
            on=on,
            inputs={f"params[{k!r}]": params[k], f"grads[{k!r}]": grads[k]},
            hint="descend: params[k] - lr * grads[k] (against the gradient)",
        )


@pytest.mark.part("sgd_step", points=2)
def test_sgd_matches_torch_for_20_steps(learner):
    """20 steps on a least-squares problem equal torch's SGD(lr=0.2) after every step."""
    steps, lr = 20, 0.2
    _, _, params, grads = regression_problem(22)
    expected = torch_trajectory(22, steps, [lr] * steps, momentum=0.0)
    for k in range(steps):
        on = f"step {k + 1} of {steps} on 0.5 mean ||x W + b - t||^2, W (3, 4), b (4,), lr={lr}"
        params = a_dict(learner.sgd_step(params, grads(params), lr), ("W", "b"), "sgd_step", on)
        for name in ("W", "b"):
            params[name] = assert_close(
                params[name],
                expected[k][name],
                f"{name} after step {k + 1} vs torch.optim.SGD",
                on=on,
            )


# ----------------------------------------------------------------------------- momentum_step


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("shapes", STEP_SHAPES, ids=STEP_IDS)
@pytest.mark.part("momentum_step", points=0.5)
def test_momentum_step_values(learner, ref, shapes, dtype):
    """One step from a non-zero velocity: new params and new velocity equal the reference."""
    params, grads, velocity = step_inputs(shapes, 31, dtype)
    lr, beta = 0.3, 0.9  # lr != 1 - beta, so "lr inside v" and "(1 - beta) dampening" differ
    on = (
        ", ".join(describe(**{f"params[{k!r}]": v}) for k, v in params.items())
        + f", lr={lr}, beta={beta}"
    )
    got = unpack(
        learner.momentum_step(params, grads, velocity, lr, beta),
        ("new_params", "new_velocity"),
        "momentum_step(params, grads, velocity, lr, beta)",
        on,
    )
    new_p = a_dict(got[0], params, "momentum_step: new_params", on)
    new_v = a_dict(got[1], params, "momentum_step: new_velocity", on)
    exp_p, exp_v = ref.momentum_step(params, grads, velocity, lr, beta)
    for k in params:
        assert_close(
            new_v[k],
            exp_v[k],
            f"momentum_step: new_velocity[{k!r}]",
            on=on,
            others={f"new_params[{k!r}]": exp_p[k]},
            inputs={f"velocity[{k!r}]": velocity[k], f"grads[{k!r}]": grads[k]},
            hint="PyTorch's convention: v <- beta * v + grad (no lr and no (1 - beta) inside v)",
        )
        assert_close(
            new_p[k],
            exp_p[k],
            f"momentum_step: new_params[{k!r}]",
            on=on,
            others={f"new_velocity[{k!r}]": exp_v[k]},
            inputs={f"params[{k!r}]": params[k]},
            hint="update the velocity first, then params[k] - lr * new_velocity[k]",
        )


@pytest.mark.part("momentum_step", points=1)
def test_momentum_first_step_is_sgd(learner):
    """From zero velocity the first step is an SGD step, and the velocity becomes the gradient."""
    params, grads = step_inputs({"W": (2, 3), "b": (3,)}, 32, names=("params", "grads"))
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    on = "params W (2, 3), b (3,), velocity all zeros, lr=0.5, beta=0.9"
    got = unpack(
        learner.momentum_step(params, grads, velocity, 0.5, 0.9),
        ("new_params", "new_velocity"),
        "momentum_step(params, grads, zeros, 0.5, 0.9)",
        on,
    )
    new_p = a_dict(got[0], params, "momentum_step: new_params", on)
    new_v = a_dict(got[1], params, "momentum_step: new_velocity", on)
    for k in params:
        assert_close(
            new_v[k],
            grads[k],
            f"momentum_step: velocity[{k!r}] after the first step",
            on=on,
            hint="v = beta * 0 + grad = grad: PyTorch scales the gradient by neither (1 - beta) nor lr",
        )
        assert_close(
            new_p[k],
            params[k] - 0.5 * grads[k],
            f"momentum_step: params[{k!r}] after the first step",
            on=on,
        )


@pytest.mark.parametrize("lr_kind", ["constant-lr", "changing-lr"])
@pytest.mark.part("momentum_step", points=1.5)
def test_momentum_matches_torch_for_25_steps(learner, ref, lr_kind):
    """25 steps equal torch's SGD(momentum=0.9): params and momentum buffers, constant or scheduled lr."""
    steps, beta = 25, 0.9
    if lr_kind == "constant-lr":
        lrs = [0.1] * steps
    else:
        lrs = [ref.cosine_decay(0.2, 0.01, k, steps) for k in range(steps)]
    _, _, params, grads = regression_problem(33)
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    expected = torch_trajectory(33, steps, lrs, momentum=beta)
    hint = "torch.optim.SGD(momentum=beta) keeps v <- beta v + g and steps p <- p - lr v"
    for k in range(steps):
        on = f"step {k + 1} of {steps}, lr={lrs[k]:.6g}, beta={beta}, on 0.5 mean ||x W + b - t||^2 ({lr_kind})"
        got = unpack(
            learner.momentum_step(params, grads(params), velocity, lrs[k], beta),
            ("new_params", "new_velocity"),
            "momentum_step",
            on,
        )
        params = a_dict(got[0], ("W", "b"), "momentum_step: new_params", on)
        velocity = a_dict(got[1], ("W", "b"), "momentum_step: new_velocity", on)
        for name in ("W", "b"):
            velocity[name] = assert_close(
                velocity[name],
                expected[k]["v" + name],
                f"velocity[{name!r}] after step {k + 1} vs torch's momentum_buffer",
                on=on,
                hint=hint,
            )
            params[name] = assert_close(
                params[name],
                expected[k][name],
                f"{name} after step {k + 1} vs torch.optim.SGD(momentum={beta})",
                on=on,
                hint=hint,
            )


# ----------------------------------------------------------------------------- schedules


def torch_lrs(make_scheduler, lr0, steps):
    """The learning rate a torch scheduler sets for steps 0..steps."""
    import warnings

    import torch

    # Optimizer.add_param_group is wrapped in torch._compile._disable_dynamo, which imports
    # torch._dynamo (0.7 s) on its first call, for torch.compile only. Marking the wrapped
    # function as already handled keeps eager behaviour and skips the import; if a later
    # torch drops the attribute, this does nothing and the test is only slower.
    inner = getattr(torch.optim.Optimizer.add_param_group, "__wrapped__", None)
    if inner is not None and getattr(inner, "__dynamo_disable", None) is None:
        setattr(inner, "__dynamo_disable", inner)
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr0)
    sched = make_scheduler(opt)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # "scheduler.step() before optimizer.step()": no parameter moves here
        for _ in range(steps + 1):
            out.append(opt.param_groups[0]["lr"])
            sched.step()
    return np.array(out)


STEP_CASES = [(0.1, 3, 0.5, 20), (1.0, 1, 0.9, 10), (0.3, 7, 0.1, 30), (0.05, 10, 0.5, 9)]


@pytest.mark.parametrize("case", STEP_CASES, ids=lambda c: f"size{c[1]}-gamma{c[2]}")
@pytest.mark.part("step_decay", points=1)
def test_step_decay_every_step(learner, ref, case):
    """step_decay at every step 0..T equals lr0 * gamma ** (t // step_size), boundaries included."""
    lr0, size, gamma, T = case
    ts = range(T + 1)
    got = schedule(learner.step_decay, "step_decay", ts, (lr0,), (size, gamma))
    exp = schedule(ref.step_decay, "step_decay", ts, (lr0,), (size, gamma))
    assert_close(
        got,
        exp,
        f"step_decay({lr0}, t, {size}, {gamma}) for t = 0..{T} (index = t)",
        on=f"lr0={lr0}, step_size={size}, gamma={gamma}",
        hint="gamma ** (t // step_size): integer division, so the rate drops exactly at t = step_size, 2 step_size, ...",
    )


@pytest.mark.parametrize(
    "case", [STEP_CASES[0], STEP_CASES[2]], ids=lambda c: f"size{c[1]}-gamma{c[2]}"
)
@pytest.mark.part("step_decay", points=1)
def test_step_decay_matches_torch(learner, case):
    """step_decay equals torch.optim.lr_scheduler.StepLR at every step."""
    from torch.optim.lr_scheduler import StepLR

    lr0, size, gamma, T = case
    exp = torch_lrs(lambda opt: StepLR(opt, step_size=size, gamma=gamma), lr0, T)
    got = schedule(learner.step_decay, "step_decay", range(T + 1), (lr0,), (size, gamma))
    assert_close(
        got,
        exp,
        f"step_decay vs torch StepLR(step_size={size}, gamma={gamma}) for t = 0..{T} (index = t)",
        on=f"lr0={lr0}",
    )


EXP_CASES = [(0.1, 0.9, 30), (1.0, 0.5, 12), (0.01, 1.0, 5)]


@pytest.mark.parametrize("case", EXP_CASES, ids=lambda c: f"gamma{c[1]}")
@pytest.mark.part("exponential_decay", points=1)
def test_exponential_decay_every_step(learner, ref, case):
    """exponential_decay at every step 0..T equals lr0 * gamma ** t (lr0 at t = 0)."""
    lr0, gamma, T = case
    ts = range(T + 1)
    got = schedule(learner.exponential_decay, "exponential_decay", ts, (lr0,), (gamma,))
    exp = schedule(ref.exponential_decay, "exponential_decay", ts, (lr0,), (gamma,))
    assert_close(
        got,
        exp,
        f"exponential_decay({lr0}, t, {gamma}) for t = 0..{T} (index = t)",
        on=f"lr0={lr0}, gamma={gamma}",
        hint="lr0 * gamma ** t: lr0 at t = 0, then one factor gamma per step (not lr0 * exp(-gamma t))",
    )


@pytest.mark.part("exponential_decay", points=1)
def test_exponential_decay_matches_torch(learner):
    """exponential_decay equals torch.optim.lr_scheduler.ExponentialLR at every step."""
    from torch.optim.lr_scheduler import ExponentialLR

    lr0, gamma, T = 0.1, 0.9, 30
    exp = torch_lrs(lambda opt: ExponentialLR(opt, gamma=gamma), lr0, T)
    got = schedule(learner.exponential_decay, "exponential_decay", range(T + 1), (lr0,), (gamma,))
    # torch multiplies by gamma once per step: 30 roundings, a few 1e-15 apart from the closed form
    assert_close(
        got,
        exp,
        f"exponential_decay vs torch ExponentialLR(gamma={gamma}) for t = 0..{T} (index = t)",
        on=f"lr0={lr0}",
    )


COSINE_CASES = [(0.1, 0.0, 1), (0.5, 0.05, 10), (1.0, 0.1, 37)]


@pytest.mark.parametrize("case", COSINE_CASES, ids=lambda c: f"T{c[2]}-min{c[1]}")
@pytest.mark.part("cosine_decay", points=1)
def test_cosine_decay_every_step(learner, ref, case):
    """cosine_decay at every step 0..T+3: lr_max at 0, lr_min at T, and lr_min after T."""
    lr_max, lr_min, T = case
    ts = range(T + 4)
    got = schedule(learner.cosine_decay, "cosine_decay", ts, (lr_max, lr_min), (T,))
    exp = schedule(ref.cosine_decay, "cosine_decay", ts, (lr_max, lr_min), (T,))
    assert_close(
        got,
        exp,
        f"cosine_decay({lr_max}, {lr_min}, t, {T}) for t = 0..{T + 3} (index = t)",
        on=f"lr_max={lr_max}, lr_min={lr_min}, total_steps={T}",
        hint="lr_min + (lr_max - lr_min) (1 + cos(pi t / T)) / 2, and lr_min once t >= T",
    )


@pytest.mark.parametrize("case", COSINE_CASES[1:], ids=lambda c: f"T{c[2]}-min{c[1]}")
@pytest.mark.part("cosine_decay", points=1)
def test_cosine_decay_matches_torch(learner, case):
    """cosine_decay equals torch.optim.lr_scheduler.CosineAnnealingLR at every step 0..T."""
    from torch.optim.lr_scheduler import CosineAnnealingLR

    lr_max, lr_min, T = case
    exp = torch_lrs(lambda opt: CosineAnnealingLR(opt, T_max=T, eta_min=lr_min), lr_max, T)
    got = schedule(learner.cosine_decay, "cosine_decay", range(T + 1), (lr_max, lr_min), (T,))
    # torch updates the rate recursively, step by step: its rounding drifts to ~1e-13 near t = T
    assert_close(
        got,
        exp,
        f"cosine_decay vs torch CosineAnnealingLR(T_max={T}, eta_min={lr_min}) for t = 0..{T} (index = t)",
        on=f"lr_max={lr_max}",
        rtol=1e-9,
        atol=1e-12,
    )


WARMUP_CASES = [(0.1, 0.001, 5, 25), (1.0, 0.0, 1, 10), (0.3, 0.03, 10, 11), (0.2, 0.02, 8, 40)]


@pytest.mark.parametrize("case", WARMUP_CASES, ids=lambda c: f"W{c[2]}-T{c[3]}")
@pytest.mark.part("warmup_cosine", points=1)
def test_warmup_cosine_every_step(learner, ref, case):
    """warmup_cosine at every step 0..T+3: 0 at t = 0, lr_max at t = W, lr_min at t = T and after."""
    lr_max, lr_min, W, T = case
    ts = range(T + 4)
    got = schedule(learner.warmup_cosine, "warmup_cosine", ts, (lr_max, lr_min), (W, T))
    exp = schedule(ref.warmup_cosine, "warmup_cosine", ts, (lr_max, lr_min), (W, T))
    assert_close(
        got,
        exp,
        f"warmup_cosine({lr_max}, {lr_min}, t, {W}, {T}) for t = 0..{T + 3} (index = t)",
        on=f"lr_max={lr_max}, lr_min={lr_min}, warmup_steps={W}, total_steps={T}",
        hint="t < W: lr_max * t / W; then cosine over the remaining T - W steps, counted from t = W",
    )


@pytest.mark.part("warmup_cosine", points=1)
def test_warmup_zero_is_cosine(learner, ref):
    """With warmup_steps = 0 the schedule is plain cosine decay (no division by zero)."""
    lr_max, lr_min, T = 0.4, 0.01, 12
    ts = range(T + 2)
    got = schedule(learner.warmup_cosine, "warmup_cosine", ts, (lr_max, lr_min), (0, T))
    exp = schedule(ref.cosine_decay, "cosine_decay", ts, (lr_max, lr_min), (T,))
    assert_close(
        got,
        exp,
        f"warmup_cosine({lr_max}, {lr_min}, t, 0, {T}) for t = 0..{T + 1} (index = t)",
        on="warmup_steps=0",
        hint="no warm-up steps: every t >= 0 is already in the cosine phase",
    )


# ----------------------------------------------------------------------------- minibatches


def batches_of(got, what, on):
    """The learner's batches as a list of 1-D integer arrays, or a failure saying what is wrong."""
    assert_true(
        isinstance(got, list | tuple),
        f"{what}: expected a list of index arrays",
        f"got {type(got).__name__}",
        on=on,
        hint="collect the batches in a list (not a generator) and return it",
    )
    out = []
    for i, b in enumerate(got):
        b = np.asarray(b)
        assert_true(
            b.ndim == 1 and np.issubdtype(b.dtype, np.integer),
            f"{what}: batch {i} is not a 1-D integer array",
            f"got shape {b.shape}, dtype {b.dtype}",
            on=on,
            hint="each batch is an array of integer indices, e.g. a slice of np.random.default_rng(seed).permutation(n)",
        )
        out.append(b)
    return out


BATCH_CASES = [(10, 3), (12, 4), (10, 10), (10, 1), (7, 20), (1, 1), (33, 8)]


@pytest.mark.parametrize("case", BATCH_CASES, ids=lambda c: f"n{c[0]}-bs{c[1]}")
@pytest.mark.part("minibatches", points=0.5)
def test_minibatches_cover_every_index_once(learner, case):
    """ceil(n / batch_size) batches, full ones first, and every index exactly once per epoch."""
    n, bs = case
    on = f"n={n}, batch_size={bs}, seed=0"
    got = batches_of(learner.minibatches(n, bs, 0), f"minibatches({n}, {bs}, 0)", on)
    sizes = [len(b) for b in got]
    want = [bs] * (n // bs) + ([n % bs] if n % bs else [])
    if bs >= n:
        want = [n]
    assert_true(
        sizes == want,
        f"minibatches({n}, {bs}, 0): wrong batch sizes",
        f"expected sizes {want}, got {sizes}",
        on=on,
        hint="slice order[i:i + batch_size] for i = 0, batch_size, 2 batch_size, ... < n; keep the smaller last batch",
    )
    flat = np.concatenate(got) if got else np.array([], dtype=int)
    counts = np.bincount(flat[(flat >= 0) & (flat < n)], minlength=n)
    bad = [int(i) for i in np.flatnonzero(counts != 1)][:5]
    outside = [int(i) for i in flat if not 0 <= i < n][:5]
    assert_true(
        not bad and not outside,
        f"minibatches({n}, {bs}, 0): not every index exactly once",
        f"indices seen {[int(counts[i]) for i in bad]} times: {bad}"
        + (f"; out of range: {outside}" if outside else ""),
        on=on,
        hint="one epoch is one permutation of 0..n-1 cut into slices: no sampling with replacement, no overlap",
    )


@pytest.mark.parametrize(
    "case",
    [(10, 3, 0), (33, 8, 5), (16, 16, 2), (5, 1, 9)],
    ids=lambda c: f"n{c[0]}-bs{c[1]}-seed{c[2]}",
)
@pytest.mark.part("minibatches", points=1)
def test_minibatches_exact_order(learner, ref, case):
    """The batches are slices of np.random.default_rng(seed).permutation(n), in order."""
    n, bs, seed = case
    on = f"n={n}, batch_size={bs}, seed={seed}"
    got = batches_of(learner.minibatches(n, bs, seed), f"minibatches({n}, {bs}, {seed})", on)
    exp = ref.minibatches(n, bs, seed)
    assert_true(
        len(got) == len(exp),
        f"minibatches({n}, {bs}, {seed}): wrong number of batches",
        f"expected {len(exp)}, got {len(got)}",
        on=on,
    )
    for i, (g, e) in enumerate(zip(got, exp)):
        assert_close(
            g,
            e,
            f"minibatches({n}, {bs}, {seed}): batch {i}",
            on=on,
            hint="draw the order exactly as np.random.default_rng(seed).permutation(n), once per call",
        )


@pytest.mark.parametrize("case", [(10, 3), (9, 9), (4, 1)], ids=lambda c: f"n{c[0]}-bs{c[1]}")
@pytest.mark.part("minibatches", points=0.5)
def test_minibatches_without_shuffle(learner, ref, case):
    """shuffle=False keeps the natural order 0, 1, ..., n-1."""
    n, bs = case
    on = f"n={n}, batch_size={bs}, seed=3, shuffle=False"
    got = batches_of(
        learner.minibatches(n, bs, 3, shuffle=False),
        f"minibatches({n}, {bs}, 3, shuffle=False)",
        on,
    )
    exp = ref.minibatches(n, bs, 3, shuffle=False)
    assert_true(
        len(got) == len(exp),
        f"minibatches({n}, {bs}, 3, shuffle=False): wrong number of batches",
        f"expected {len(exp)}, got {len(got)}",
        on=on,
    )
    for i, (g, e) in enumerate(zip(got, exp)):
        assert_close(
            g,
            e,
            f"minibatches(..., shuffle=False): batch {i}",
            on=on,
            hint="without shuffling the order is np.arange(n)",
        )


@pytest.mark.part("minibatches", points=1)
def test_minibatches_deterministic_and_seeded(learner):
    """The same seed gives the same batches; other seeds give other orders."""
    n, bs = 50, 7
    orders = []
    for seed in (4, 4, 5):
        got = batches_of(
            learner.minibatches(n, bs, seed),
            f"minibatches({n}, {bs}, {seed})",
            f"n={n}, batch_size={bs}, seed={seed}",
        )
        orders.append(np.concatenate(got) if got else np.array([]))
    same = len(orders[0]) == len(orders[1]) and np.array_equal(orders[0], orders[1])
    assert_true(
        same,
        "minibatches: not deterministic",
        "two calls with seed=4 returned different batches",
        on=f"n={n}, batch_size={bs}",
        hint="make a fresh generator from the seed inside the call: np.random.default_rng(seed)",
    )
    differ = len(orders[0]) != len(orders[2]) or not np.array_equal(orders[0], orders[2])
    assert_true(
        differ,
        "minibatches: the seed is ignored",
        "seed=4 and seed=5 gave the same order",
        on=f"n={n}, batch_size={bs}",
        hint="shuffle with the generator made from the seed argument",
    )


# ----------------------------------------------------------------------------- train_mlp


def param_shapes(d, h, c):
    return {"W1": (d, h), "b1": (h,), "W2": (h, c), "b2": (c,)}


def run_training(learner, X, y, hidden, lr, epochs, batch_size, seed, timeout=20):
    args = describe(X=X, y=y, hidden=hidden, lr=lr, epochs=epochs, batch_size=batch_size, seed=seed)
    got = learner.train_mlp.with_timeout(timeout)(X, y, hidden, lr, epochs, batch_size, seed)
    params, losses, accuracy = unpack(got, ("params", "losses", "accuracy"), "train_mlp(...)", args)
    return params, losses, accuracy, args


def check_params(params, d, h, c, on):
    assert_true(
        isinstance(params, dict) and set(params) == {"W1", "b1", "W2", "b2"},
        "train_mlp: params",
        f"expected a dict with keys W1, b1, W2, b2, got {sorted(params) if isinstance(params, dict) else type(params).__name__}",
        on=on,
    )
    for k, shape in param_shapes(d, h, c).items():
        assert_shape(params[k], shape, f"train_mlp: params[{k!r}]", on=on)


@pytest.mark.part("train_mlp", points=1.5)
def test_train_mlp_contract(learner):
    """Returns params of the right shapes, one finite loss per epoch, and the accuracy of those params."""
    X, y = blobs(15, 3, seed=41)
    params, losses, accuracy, on = run_training(
        learner, X, y, hidden=5, lr=0.1, epochs=4, batch_size=8, seed=0
    )
    check_params(params, 2, 5, 3, on)
    curve = (
        np.asarray(losses, dtype=np.float64)
        if isinstance(losses, list | tuple | np.ndarray)
        else None
    )
    assert_true(
        curve is not None and curve.shape == (4,),
        "train_mlp: losses",
        f"expected a list of 4 numbers (one per epoch), got {type(losses).__name__} of shape {getattr(curve, 'shape', None)}",
        on=on,
        hint="losses[e] is the mean of the batch losses of epoch e",
    )
    assert_true(
        bool(np.isfinite(curve).all()), "train_mlp: losses", f"not finite: {curve.tolist()}", on=on
    )
    acc = number(accuracy, "train_mlp: accuracy", on)
    assert_close(
        acc,
        mlp_accuracy(params, X, y),
        "train_mlp: accuracy vs the accuracy of the returned params",
        on=on,
        hint="accuracy = mean(argmax(relu(X W1 + b1) W2 + b2, axis=1) == y) with the final params",
    )


@pytest.mark.part("train_mlp", points=1)
def test_train_mlp_deterministic(learner):
    """The same arguments give the same loss curve and parameters (everything is seeded)."""
    X, y = blobs(10, 2, seed=42)
    first = run_training(learner, X, y, hidden=4, lr=0.1, epochs=3, batch_size=6, seed=7)
    second = run_training(learner, X, y, hidden=4, lr=0.1, epochs=3, batch_size=6, seed=7)
    on = first[3]
    check_params(first[0], 2, 4, 2, on)
    assert_close(
        second[1],
        first[1],
        "train_mlp: losses of a second identical run",
        on=on,
        hint="seed every random choice: np.random.default_rng(seed) for the weights, minibatches(..., seed + epoch)",
    )
    for k in ("W1", "b1", "W2", "b2"):
        assert_close(
            second[0][k], first[0][k], f"train_mlp: params[{k!r}] of a second identical run", on=on
        )


RECIPE = (
    "rng = np.random.default_rng(seed); W1 = rng.normal(size=(D, hidden)) * sqrt(2 / D) drawn "
    "first, then W2 = rng.normal(size=(hidden, C)) * sqrt(2 / hidden); b1, b2 and every velocity "
    "start at zero; epoch e walks minibatches(N, batch_size, seed + e); each batch: forward, "
    "cross_entropy_loss, backward (db = the batch *sum* of the upstream gradient, which already "
    "carries the 1/N; relu'(0) = 0), then momentum_step(params, grads, velocity, lr, beta)"
)


def recipe_problem(ref):
    """23 samples in 3-D, 3 classes, batches of 5 (the last holds 3), seed 5, 3 epochs."""
    n, seed, bs = 23, 5, 5
    rng = np.random.default_rng(44)
    X, y = rng.normal(size=(n, 3)), rng.permutation(np.arange(n) % 3)
    # a zero input in the recipe's first batch: its pre-activations are exactly 0 while b1 is
    # still 0, so relu'(0) = 0 (PyTorch's convention, as in the perceptron topic) matters
    X[ref.minibatches(n, bs, seed)[0][0]] = 0.0
    return X, y, {"hidden": 6, "epochs": 3, "batch_size": bs, "seed": seed}


def curve_of(losses, params, epochs, on):
    """The learner's loss curve as an array; float32 when the run was float32 (its precision)."""
    assert_true(
        isinstance(losses, list | tuple | np.ndarray) and np.shape(losses) == (epochs,),
        "train_mlp: losses",
        f"expected a list of {epochs} numbers (one per epoch), got {type(losses).__name__} "
        f"of shape {np.shape(losses) if isinstance(losses, list | tuple | np.ndarray) else None}",
        on=on,
        hint="losses[e] is the mean of the batch losses of epoch e",
    )
    run32 = np.asarray(params["W1"]).dtype == np.float32
    return np.asarray(losses, dtype=np.float32 if run32 else np.float64)


@pytest.mark.part("train_mlp", points=1)
def test_train_mlp_reshuffles_every_epoch(learner, ref):
    """With lr = 0 the weights stay put, so the loss per epoch changes only with the batches: it must change."""
    X, y, kw = recipe_problem(ref)
    params, losses, _, on = run_training(learner, X, y, lr=0.0, **kw)
    check_params(params, 3, kw["hidden"], 3, on)
    curve = curve_of(losses, params, kw["epochs"], on)
    # with the same batches every epoch the three means are computed identically: exactly equal
    assert_true(
        bool(np.ptp(curve) > 1e-9 * np.abs(curve).max()),
        "train_mlp: the batches never change",
        f"with lr=0 every epoch has the same loss {curve.tolist()}: with fixed weights the batch "
        "losses (of unequal batches, 5 and 3 samples) can only repeat exactly if every epoch has "
        "the same batches",
        on=on,
        hint="reshuffle every epoch: epoch e iterates over minibatches(N, batch_size, seed + e)",
    )


@pytest.mark.part("train_mlp", points=1)
def test_train_mlp_initial_weights(learner, ref):
    """With lr = 0 nothing moves: the returned params are the recipe's He-initialised ones."""
    X, y, kw = recipe_problem(ref)
    # D = 3 and hidden = 6: sqrt(2 / fan_in) differs per layer and from 1, so each scale shows
    params, _, _, on = run_training(learner, X, y, lr=0.0, **kw)
    check_params(params, 3, kw["hidden"], 3, on)
    expected = ref.train_mlp(X, y, lr=0.0, **kw)[0]
    hints = {
        "W1": "W1 = rng.normal(size=(D, hidden)) * np.sqrt(2 / D) with rng = "
        "np.random.default_rng(seed), drawn before W2 (He initialisation: fan_in = D)",
        "b1": "the biases start at zero",
        "W2": "W2 = rng.normal(size=(hidden, C)) * np.sqrt(2 / hidden), drawn from the same rng "
        "right after W1 (fan_in = hidden)",
        "b2": "the biases start at zero",
    }
    for k, hint in hints.items():
        assert_close(
            params[k],
            expected[k],
            f"train_mlp with lr=0: params[{k!r}] (the initial value)",
            on=on,
            hint=hint,
        )


@pytest.mark.part("train_mlp", points=2)
def test_train_mlp_follows_the_recipe(learner, ref):
    """A seeded run of 3 epochs (batches of 5, the last one 3) equals the reference's loss curve and params."""
    X, y, kw = recipe_problem(ref)
    lr = 0.2
    params, losses, _, on = run_training(learner, X, y, lr=lr, **kw)
    check_params(params, 3, kw["hidden"], 3, on)
    curve = curve_of(losses, params, kw["epochs"], on)
    exp_params, exp_losses, _ = ref.train_mlp(X, y, lr=lr, **kw)
    hint = f"the run must follow the docstring's recipe step by step: {RECIPE}"
    assert_close(
        curve,
        exp_losses,
        "train_mlp: loss per epoch (the mean of the epoch's batch losses) vs the reference",
        on=on,
        hint="losses[e] = the plain mean of the batch losses of epoch e; " + hint,
    )
    for k in ("W1", "b1", "W2", "b2"):
        assert_close(
            params[k],
            exp_params[k],
            f"train_mlp: params[{k!r}] after 3 epochs vs the reference",
            on=on,
            hint=hint,
        )


@pytest.mark.parametrize("mode", ["full-batch", "online"])
@pytest.mark.part("train_mlp", points=1)
def test_train_mlp_batch_and_online(learner, ref, mode):
    """Full-batch (batch_size = N) and online (batch_size = 1) training both separate three blobs."""
    X, y = blobs(10, 3, seed=43)
    batch_size, epochs, lr = (len(X), 40, 0.1) if mode == "full-batch" else (1, 5, 0.01)
    params, losses, accuracy, on = run_training(
        learner, X, y, hidden=8, lr=lr, epochs=epochs, batch_size=batch_size, seed=1
    )
    check_params(params, 2, 8, 3, on)
    reference = ref.train_mlp(X, y, 8, lr, epochs, batch_size, 1)[1]
    assert_converges(
        losses,
        0.2,
        f"train_mlp ({mode}) loss per epoch",
        budget=epochs,
        on=on,
        reference=reference,
        hint=f"{mode}: batch_size={batch_size}, every epoch visits all {len(X)} samples; a flat curve at "
        "log(3) = 1.0986 means the weights never move (all-zero initial weights?)",
    )
    acc = mlp_accuracy(params, X, y)
    assert_true(
        acc >= 0.95,
        f"train_mlp ({mode}): accuracy",
        f"the returned params classify {acc:.0%} of X; needed 95%",
        on=on,
    )


@pytest.mark.part("train_mlp", points=4)
def test_train_mlp_learns_the_spiral(learner, ref, report):
    """On a 3-class spiral (300 points) the loss falls below 0.25 and accuracy reaches 95% in 150 epochs."""
    X, y = spiral()
    hidden, lr, epochs, batch_size = 64, 0.1, 150, 32
    params, losses, accuracy, on = run_training(
        learner, X, y, hidden, lr, epochs, batch_size, seed=0
    )
    reference = ref.train_mlp(X, y, hidden, lr, epochs, batch_size, 0)[1]
    # for `nnfs plot`: the learner's loss curve beside the reference's
    report["figure"] = {
        "kind": "curves",
        "title": "train_mlp on the spiral: training loss",
        "ylabel": "mean cross-entropy",
        "curves": {
            "yours": [float(v) for v in np.ravel(losses)],
            "reference": [float(v) for v in reference],
        },
    }
    check_params(params, 2, hidden, 3, on)
    assert_converges(
        losses,
        0.25,
        "train_mlp on the spiral: loss per epoch",
        budget=epochs,
        on=on,
        reference=reference,
        hint="check each piece on its own first: the cross-entropy gradient, the ReLU mask in the backward "
        "pass, the momentum step, random (non-zero) initial weights, shuffled batches",
    )
    acc = mlp_accuracy(params, X, y)
    assert_true(
        acc >= 0.95,
        "train_mlp on the spiral: accuracy",
        f"the returned params classify {acc:.1%} of the spiral; needed 95%",
        on=on,
        hint="a falling loss with a low accuracy: are the returned params the trained ones?",
    )
    assert_close(
        number(accuracy, "train_mlp: accuracy", on),
        acc,
        "train_mlp: reported accuracy vs the returned params' accuracy",
        on=on,
    )
