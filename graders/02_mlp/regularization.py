"""Grader for regularization: L2 / L1 penalties, inverted dropout, early stopping, augmentation.

Layers per part: structure and shapes -> exact values against the reference (float64 and
float32) -> gradients against central differences and torch.autograd -> statistics of the
random parts (seeded, tolerances derived below) -> a convergence run (weight decay reaches
the ridge solution). PyTorch is imported lazily, only inside the tests that use it.
"""

import numpy as np
import pytest

from nnfs_cli.checks import (
    DTYPES,
    assert_close,
    assert_converges,
    assert_gradient,
    assert_shape,
    assert_true,
    describe,
    numerical_derivative,
    numerical_gradient,
    torch_oracle,
)

PENALTIES = ["l2_penalty", "l1_penalty"]
LAYERS = [[(1, 1)], [(3, 5), (5, 2)], [(4, 7), (7, 7), (7, 3)]]
PENALTY_HINTS = {
    "l2_penalty": "penalty = lam / 2 * sum of W**2 over the weights only; dW = lam * W; db = zeros",
    "l1_penalty": "penalty = lam * sum of |W| over the weights only; dW = lam * sign(W), sign(0) = 0; db = zeros",
}

# ---------------------------------------------------------------- helpers (data and messages)


def make_params(layers, seed, dtype=np.float64, away_from_zero=False):
    """[(W1, b1), (W2, b2), ...] for layer sizes [(d0, d1), (d1, d2), ...].

    With away_from_zero every |value| >= 0.1, so central differences of |W| see no kink.
    """
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in layers:
        W, b = rng.normal(size=(fan_in, fan_out)), rng.normal(size=fan_out)
        if away_from_zero:
            W, b = np.sign(W) * (0.1 + np.abs(W)), np.sign(b) * (0.1 + np.abs(b))
        params.append((W.astype(dtype), b.astype(dtype)))
    return params


def describe_params(params, **extra):
    """'W1 (3, 5) float64, b1 (5,) float64, ..., lam=0.1'."""
    named = {}
    for i, (W, b) in enumerate(params, start=1):
        named[f"W{i}"], named[f"b{i}"] = W, b
    return describe(**named, **extra)


def replace(params, layer, which, value):
    """params with one array (which = 0 for W, 1 for b) of one layer replaced."""
    pairs = [list(pair) for pair in params]
    pairs[layer][which] = value
    return [tuple(pair) for pair in pairs]


def unpack_penalty(got, params, what, on):
    """Check the (penalty, grads) structure: a number and one (dW, db) pair per layer; return them."""
    assert_true(
        isinstance(got, tuple | list) and len(got) == 2,
        f"{what}: wrong return value",
        f"expected a pair (penalty, grads), got {type(got).__name__}",
        on=on,
        hint="return penalty, grads",
    )
    penalty, grads = got
    assert_shape(penalty, (), f"{what}: the penalty", on=on)
    assert_true(
        isinstance(grads, tuple | list)
        and len(grads) == len(params)
        and all(isinstance(g, tuple | list) and len(g) == 2 for g in grads),
        f"{what}: grads has the wrong structure",
        f"expected a list of {len(params)} pairs (dW, db), one per layer, got "
        + (
            f"a {type(grads).__name__} of length {len(grads)}"
            if isinstance(grads, tuple | list)
            else type(grads).__name__
        ),
        on=on,
        hint="one (dW, db) pair per layer, biases included (their gradient is zeros), so they add to the data-loss gradients",
    )
    for i, ((W, b), (dW, db)) in enumerate(zip(params, grads), start=1):
        assert_shape(dW, W.shape, f"{what}: dW{i}", on=on)
        assert_shape(db, b.shape, f"{what}: db{i}", on=on)
    return penalty, grads


def unpack_pair(got, what, on, names):
    assert_true(
        isinstance(got, tuple | list) and len(got) == 2,
        f"{what}: wrong return value",
        f"expected a pair ({', '.join(names)}), got {type(got).__name__}",
        on=on,
        hint=f"return {', '.join(names)}",
    )
    return got


# ---------------------------------------------------------------- L2 and L1 penalties


@pytest.mark.parametrize("layers", LAYERS, ids=["1x1", "3-5-2", "4-7-7-3"])
@pytest.mark.parametrize("name", PENALTIES)
def test_penalty_structure(learner, name, layers, request):
    """Returns (penalty, grads): a number and one (dW, db) pair per layer, of the parameters' shapes."""
    request.node.add_marker(pytest.mark.part(name, points=0.25))
    params = make_params(layers, seed=len(layers))
    unpack_penalty(
        getattr(learner, name)(params, 0.1),
        params,
        f"{name}(params, lam)",
        describe_params(params, lam=0.1),
    )


@DTYPES
@pytest.mark.parametrize("name", PENALTIES)
def test_penalty_values(learner, ref, name, dtype, request):
    """Penalty and gradients equal the reference on a 3-layer network."""
    request.node.add_marker(pytest.mark.part(name, points=1))
    params, lam = make_params(LAYERS[2], seed=3, dtype=dtype), 0.3
    on = describe_params(params, lam=lam)
    penalty, grads = unpack_penalty(
        getattr(learner, name)(params, lam), params, f"{name}(params, lam)", on
    )
    exp_penalty, exp_grads = getattr(ref, name)(params, lam)
    assert_close(
        penalty, exp_penalty, f"{name}(params, lam): the penalty", on=on, hint=PENALTY_HINTS[name]
    )
    for i, ((W, _), (dW, db), (exp_dW, exp_db)) in enumerate(
        zip(params, grads, exp_grads), start=1
    ):
        assert_close(
            dW,
            exp_dW,
            f"{name}(params, lam): dW{i}",
            on=on,
            inputs={f"W{i}": W},
            hint=PENALTY_HINTS[name],
        )
        assert_close(db, exp_db, f"{name}(params, lam): db{i}", on=on, hint=PENALTY_HINTS[name])


@pytest.mark.parametrize("name", PENALTIES)
def test_biases_are_not_penalised(learner, name, request):
    """With every W = 0 and large biases, the penalty and every gradient are 0."""
    request.node.add_marker(pytest.mark.part(name, points=1))
    params = [(np.zeros_like(W), 10 * b) for W, b in make_params(LAYERS[1], seed=4)]
    on = describe_params(params, lam=0.5) + " (every W is 0, the biases are large)"
    penalty, grads = unpack_penalty(
        getattr(learner, name)(params, 0.5), params, f"{name}(params, lam)", on
    )
    hint = "only the weights W are penalised: the biases add nothing to the penalty and get a zero gradient"
    assert_close(penalty, 0.0, f"{name}(params, lam): the penalty", on=on, hint=hint)
    for i, ((W, b), (dW, db)) in enumerate(zip(params, grads), start=1):
        assert_close(db, np.zeros_like(b), f"{name}(params, lam): db{i}", on=on, hint=hint)
        assert_close(dW, np.zeros_like(W), f"{name}(params, lam): dW{i}", on=on, hint=hint)


@pytest.mark.parametrize("name", PENALTIES)
def test_penalty_gradient_matches_central_differences(learner, ref, name, request):
    """Every gradient is the derivative of the penalty (central differences, away from W = 0)."""
    request.node.add_marker(pytest.mark.part(name, points=2))
    params, lam = make_params(LAYERS[1], seed=5, away_from_zero=True), 0.7
    on = describe_params(params, lam=lam)
    _, grads = unpack_penalty(
        getattr(learner, name)(params, lam), params, f"{name}(params, lam)", on
    )
    for i, (pair, grad_pair) in enumerate(zip(params, grads)):
        for which, label in ((0, "dW"), (1, "db")):
            numeric = numerical_gradient(
                lambda v, i=i, which=which: getattr(ref, name)(replace(params, i, which, v), lam)[
                    0
                ],
                pair[which],
            )
            assert_gradient(
                grad_pair[which],
                numeric,
                f"{name}: {label}{i + 1}",
                on=on,
                hint=PENALTY_HINTS[name],
            )


@pytest.mark.part("l1_penalty", points=1)
def test_l1_gradient_is_zero_at_zero(learner, ref):
    """sign(0) = 0: a weight that is exactly 0 gets a zero gradient (and counts 0 in the penalty)."""
    params, lam = make_params(LAYERS[1], seed=6), 0.4
    for W, _ in params:
        W.ravel()[::3] = 0.0
    on = describe_params(params, lam=lam) + " (every third weight is exactly 0)"
    penalty, grads = unpack_penalty(
        learner.l1_penalty(params, lam), params, "l1_penalty(params, lam)", on
    )
    exp_penalty, exp_grads = ref.l1_penalty(params, lam)
    for i, ((dW, _), (exp_dW, _)) in enumerate(zip(grads, exp_grads), start=1):
        assert_close(
            dW,
            exp_dW,
            f"l1_penalty: dW{i} with exact zeros in W{i}",
            on=on,
            hint="use np.sign(W), which is 0 at 0; W / |W| is NaN there and np.where(W >= 0, 1, -1) is 1",
        )
    assert_close(penalty, exp_penalty, "l1_penalty: the penalty", on=on)


@pytest.mark.part("l2_penalty", points=1)
def test_l2_matches_torch_autograd(learner):
    """Penalty and dW equal torch.autograd's for lam / 2 * (W**2).sum() (what SGD's weight_decay=lam adds)."""
    params, lam = make_params(LAYERS[1], seed=7), 0.25
    on = describe_params(params, lam=lam)
    penalty, grads = unpack_penalty(
        learner.l2_penalty(params, lam), params, "l2_penalty(params, lam)", on
    )
    weights = [W for W, _ in params]
    exp, exp_grads = torch_oracle(
        lambda *ws: 0.5 * lam * sum(w.square().sum() for w in ws),
        *weights,
        grad_of=range(len(weights)),
    )
    assert_close(
        penalty, exp, "l2_penalty: the penalty vs torch", on=on, hint=PENALTY_HINTS["l2_penalty"]
    )
    # torch.optim.SGD(weight_decay=lam) adds exactly this lam * W to every weight's gradient. (Not run
    # here: building a torch optimizer imports torch._dynamo, which costs seconds.)
    for i, ((dW, _), g) in enumerate(zip(grads, exp_grads), start=1):
        assert_close(
            dW,
            g,
            f"l2_penalty: dW{i} vs torch.autograd",
            on=on,
            hint="d/dW of lam / 2 * W**2 is lam * W, the term torch.optim.SGD(weight_decay=lam) adds to the gradient",
        )


@pytest.mark.part("l1_penalty", points=1)
def test_l1_matches_torch_autograd(learner):
    """Penalty and dW equal torch.autograd's for lam * |W|.sum(), exact zeros included."""
    params, lam = make_params(LAYERS[2], seed=8), 0.15
    params[1][0].ravel()[::4] = 0.0
    on = describe_params(params, lam=lam) + " (some weights in W2 are exactly 0)"
    penalty, grads = unpack_penalty(
        learner.l1_penalty(params, lam), params, "l1_penalty(params, lam)", on
    )
    weights = [W for W, _ in params]
    exp, exp_grads = torch_oracle(
        lambda *ws: lam * sum(w.abs().sum() for w in ws), *weights, grad_of=range(len(weights))
    )
    assert_close(
        penalty, exp, "l1_penalty: the penalty vs torch", on=on, hint=PENALTY_HINTS["l1_penalty"]
    )
    for i, ((dW, _), g) in enumerate(zip(grads, exp_grads), start=1):
        assert_close(
            dW, g, f"l1_penalty: dW{i} vs torch.autograd", on=on, hint=PENALTY_HINTS["l1_penalty"]
        )


@pytest.mark.part("l2_penalty", points=2)
def test_weight_decay_reaches_the_ridge_solution(learner, ref):
    """Gradient descent on least squares + your L2 gradients converges to the closed-form ridge optimum."""
    rng = np.random.default_rng(9)
    n, d, lam = 64, 5, 0.5
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=(d, 1)) + 0.5 + 0.1 * rng.normal(size=(n, 1))
    A = np.hstack([X, np.ones((n, 1))])
    hessian = A.T @ A / n + lam * np.diag([1.0] * d + [0.0])  # the bias (last row) is not penalised
    theta = np.linalg.solve(hessian, A.T @ y / n)

    def objective(W, b):
        r = X @ W + b - y
        return float(0.5 * np.mean(r**2) + ref.l2_penalty([(W, b)], lam)[0])

    best = objective(theta[:d], theta[d])
    lr = 1.0 / np.linalg.eigvalsh(hessian).max()  # condition number ~3: 60 steps reach ~1e-11
    W, b = np.zeros((d, 1)), np.zeros(1)
    on = f"X ({n}, {d}), lam={lam}, lr={lr:.3f}, loss = mean squared error / 2 + the L2 penalty, 60 steps"
    losses = [objective(W, b)]
    for _ in range(60):
        params = [(W, b)]
        _, ((dW, db),) = unpack_penalty(
            learner.l2_penalty(params, lam), params, "l2_penalty(params, lam)", on
        )
        r = X @ W + b - y
        W, b = W - lr * (X.T @ r / n + dW), b - lr * (r.mean(axis=0) + db)
        losses.append(objective(W, b))
    assert_converges(
        np.array(losses) - best,
        1e-10,
        "weight decay with your l2_penalty gradients",
        budget=61,
        on=on,
        hint="the curve is the loss above the ridge optimum; it stalls above 0 when dW is not lam * W "
        "or the bias is decayed too",
    )


# ---------------------------------------------------------------- dropout

DROPOUT_SHAPES = [(1, 1), (1, 7), (5, 3), (2, 3, 4)]


@pytest.mark.parametrize("shape", DROPOUT_SHAPES, ids=str)
@pytest.mark.part("dropout_forward", points=0.25)
def test_dropout_shapes(learner, shape):
    """out and mask have x's shape and floating dtypes, in training and evaluation mode."""
    x = np.random.default_rng(10).normal(size=shape)
    for train in (True, False):
        on = describe(x=x, p=0.5, train=train, seed=0)
        out, mask = unpack_pair(
            learner.dropout_forward(x, 0.5, train, 0), "dropout_forward", on, ("out", "mask")
        )
        out = assert_shape(out, shape, f"dropout_forward(train={train}): out", on=on)
        assert_shape(mask, shape, f"dropout_forward(train={train}): mask", on=on)
        assert_true(
            np.issubdtype(out.dtype, np.floating),
            f"dropout_forward(train={train}): out has the wrong dtype",
            f"expected floating point numbers, got {out.dtype}",
            on=on,
        )


@DTYPES
@pytest.mark.part("dropout_forward", points=1)
def test_dropout_eval_is_the_identity(learner, dtype):
    """train=False returns x exactly (no drop, no scaling) and a mask of ones, for any p."""
    x = np.random.default_rng(11).normal(size=(6, 9)).astype(dtype)
    for p in (0.2, 0.5, 0.9):
        on = describe(x=x, p=p, train=False, seed=3)
        out, mask = unpack_pair(
            learner.dropout_forward(x, p, False, 3), "dropout_forward", on, ("out", "mask")
        )
        # Exact (tolerance 0): evaluation does no arithmetic, so nothing can round.
        assert_close(
            out,
            x,
            "dropout_forward(train=False): out",
            on=on,
            rtol=0,
            atol=0,
            hint="inverted dropout does all its scaling during training: at evaluation the layer is the identity",
        )
        assert_close(
            mask,
            np.ones_like(x),
            "dropout_forward(train=False): mask",
            on=on,
            rtol=0,
            atol=0,
            hint="nothing is dropped at evaluation: the mask is all ones",
        )


# No p = 0.5 here: there "keep where random() < 1 - p" and "p is the keep probability" coincide.
@pytest.mark.parametrize("p", [0.1, 0.3, 0.75])
@DTYPES
@pytest.mark.part("dropout_forward", points=0.5)
def test_dropout_train_values(learner, ref, dtype, p):
    """Training mode: the mask is exactly rng.random(x.shape) >= p and out = x * mask / (1 - p)."""
    x = np.random.default_rng(12).normal(size=(7, 11)).astype(dtype)
    for seed in (0, 1, 42):
        on = describe(x=x, p=p, train=True, seed=seed)
        out, mask = unpack_pair(
            learner.dropout_forward(x, p, True, seed), "dropout_forward", on, ("out", "mask")
        )
        exp_out, exp_mask = ref.dropout_forward(x, p, True, seed)
        assert_close(
            mask,
            exp_mask,
            "dropout_forward: mask",
            on=on,
            hint="keep = np.random.default_rng(seed).random(x.shape) >= p exactly: p is the probability of "
            "DROPPING a unit (random() < 1 - p keeps as many units, but not the same ones); return keep as 0.0 / 1.0",
        )
        assert_close(
            out,
            exp_out,
            "dropout_forward: out",
            on=on,
            inputs={"x": x},
            others={"mask": exp_mask},
            hint="inverted dropout divides the kept units by the keep probability: out = x * mask / (1 - p)",
        )


@pytest.mark.part("dropout_forward", points=0.5)
def test_dropout_with_p_zero_keeps_everything(learner):
    """p = 0 in training mode keeps every unit unscaled: out = x, mask all ones."""
    x = np.random.default_rng(13).normal(size=(4, 5))
    on = describe(x=x, p=0.0, train=True, seed=5)
    out, mask = unpack_pair(
        learner.dropout_forward(x, 0.0, True, 5), "dropout_forward", on, ("out", "mask")
    )
    assert_close(
        mask,
        np.ones_like(x),
        "dropout_forward(p=0): mask",
        on=on,
        hint="random() >= 0 is always true",
    )
    assert_close(out, x, "dropout_forward(p=0): out", on=on)


@pytest.mark.part("dropout_forward", points=0.5)
def test_dropout_keeps_a_draw_equal_to_p(learner):
    """A unit whose random() draw is exactly p is kept: keep = random() >= p, not > p."""
    x, seed = np.random.default_rng(30).normal(size=(4, 6)), 8
    draws = np.random.default_rng(seed).random(x.shape)
    # p is chosen as one of the draws (the median one), so exactly that unit sits on the boundary.
    k = int(np.argsort(draws, axis=None)[draws.size // 2])
    p = float(draws.ravel()[k])
    on = describe(x=x, p=p, train=True, seed=seed) + (
        f" (p equals the draw of unit {np.unravel_index(k, x.shape)})"
    )
    _, mask = unpack_pair(
        learner.dropout_forward(x, p, True, seed), "dropout_forward", on, ("out", "mask")
    )
    assert_close(
        mask,
        (draws >= p).astype(np.float64),
        "dropout_forward: mask when a draw equals p",
        on=on,
        hint="the draw is uniform on [0, 1) and p is the drop probability: keep where random() >= p "
        "(p = 0 keeps everything), so a draw equal to p is kept",
    )


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
@pytest.mark.part("dropout_forward", points=0.5)
def test_dropout_statistics(learner, p):
    """On 100,000 units the drop rate is p and the mean is preserved (E[out] = x), to 5 standard errors."""
    rng = np.random.default_rng(14)
    x = rng.uniform(0.5, 1.5, size=(400, 250))
    n = x.size
    on = describe(x=x, p=p, train=True, seed=2024) + " (x uniform on [0.5, 1.5])"
    out, mask = unpack_pair(
        learner.dropout_forward(x, p, True, 2024), "dropout_forward", on, ("out", "mask")
    )
    mask, out = np.asarray(mask, dtype=np.float64), np.asarray(out, dtype=np.float64)
    dropped = float(np.mean(mask == 0))
    # The number dropped is Binomial(n, p): standard error sqrt(p (1 - p) / n) ~ 0.0016 at p = 0.5.
    # A correct implementation is off by more than 5 standard errors with probability < 1e-6,
    # while p used as the keep probability is off by |1 - 2p| ~ 0.6 (hundreds of standard errors).
    se = np.sqrt(p * (1 - p) / n)
    assert_true(
        abs(dropped - p) <= 5 * se,
        "dropout_forward: wrong drop rate",
        f"{dropped:.4f} of the units were dropped (mask == 0); expected p = {p} +- {5 * se:.4f}",
        on=on,
        hint="p is the probability of DROPPING a unit (as in torch.nn.Dropout): keep where random() >= p",
    )
    # mean(out) - mean(x) = sum_i x_i (keep_i / (1 - p) - 1) / n, a sum of independent terms of
    # variance x_i^2 p / (1 - p): its standard error is sqrt(p / (1 - p) * sum x_i^2) / n
    # (~0.0066 at p = 0.8); scaling by (1 - p) instead of 1 / (1 - p), or not at all, misses by > 0.5.
    se_mean = np.sqrt(p / (1 - p) * np.sum(x**2)) / n
    assert_true(
        abs(out.mean() - x.mean()) <= 5 * se_mean,
        "dropout_forward: the expectation is not preserved",
        f"mean(out) = {out.mean():.4f} but mean(x) = {x.mean():.4f}; allowed +- {5 * se_mean:.4f}",
        on=on,
        hint="scale the kept units by 1 / (1 - p) so that E[out] = (1 - p) * x / (1 - p) = x",
    )


@pytest.mark.part("dropout_forward", points=1)
def test_dropout_scaling_matches_torch(learner):
    """Kept units are scaled exactly as torch.nn.functional.dropout scales them, for p = 0.3 and 0.7."""
    import torch

    x = np.random.default_rng(15).uniform(0.5, 2.0, size=(20, 30))
    for p in (0.3, 0.7):
        on = describe(x=x, p=p, train=True, seed=7)
        out, mask = unpack_pair(
            learner.dropout_forward(x, p, True, 7), "dropout_forward", on, ("out", "mask")
        )
        torch.manual_seed(0)
        t = torch.nn.functional.dropout(
            torch.ones(1000, dtype=torch.float64), p, training=True
        ).numpy()
        scale = float(t[t != 0][0])  # torch keeps a unit as 1 / (1 - p)
        kept = np.asarray(mask, dtype=np.float64) != 0
        assert_true(
            kept.any(),
            "dropout_forward: every unit was dropped",
            f"p = {p}, but mask is all zeros",
            on=on,
        )
        out = np.asarray(out)
        ratio = out[kept] / x[kept].astype(out.dtype)  # in the learner's dtype
        assert_close(
            ratio,
            np.full(ratio.shape, scale),
            f"dropout_forward: out / x on the kept units (torch: {scale:.6g})",
            on=on,
            inputs={"x": x},  # x's dtype is the question's: float32 is judged as float32
            hint="torch.nn.Dropout(p) drops with probability p and multiplies what it keeps by 1 / (1 - p)",
        )


@DTYPES
@pytest.mark.part("dropout_backward", points=0.5)
def test_dropout_backward_values(learner, ref, dtype):
    """dx equals the reference for the mask of a training-mode forward, p = 0.4."""
    rng = np.random.default_rng(16)
    x, dout = rng.normal(size=(5, 7)).astype(dtype), rng.normal(size=(5, 7)).astype(dtype)
    _, mask = ref.dropout_forward(x, 0.4, True, 3)
    on = describe(dout=dout, mask=mask, p=0.4)
    assert_close(
        learner.dropout_backward(dout, mask, 0.4),
        ref.dropout_backward(dout, mask, 0.4),
        "dropout_backward(dout, mask, p)",
        on=on,
        inputs={"dout": dout, "mask": mask},
        hint="out = x * mask / (1 - p) is linear in x: dx = dout * mask / (1 - p)",
    )


@pytest.mark.part("dropout_backward", points=1.5)
def test_dropout_backward_matches_central_differences(learner, ref):
    """dx is the derivative of the training-mode forward (same seed, so the same mask), by central differences."""
    rng = np.random.default_rng(17)
    for shape, p, seed in [((1, 1), 0.3, 0), ((3, 8), 0.5, 1), ((2, 3, 4), 0.8, 2)]:
        x, dout = rng.normal(size=shape), rng.normal(size=shape)
        _, mask = ref.dropout_forward(x, p, True, seed)
        on = describe(dout=dout, mask=mask, p=p)
        numeric = dout * numerical_derivative(
            lambda z, p=p, seed=seed: ref.dropout_forward(z, p, True, seed)[0], x
        )
        assert_gradient(
            learner.dropout_backward(dout, mask, p),
            numeric,
            "dropout_backward(dout, mask, p)",
            on=on,
            hint="the forward scaled the kept units by 1 / (1 - p): the backward must scale by the same factor",
        )


@pytest.mark.part("dropout_backward", points=1)
def test_dropout_backward_matches_torch_autograd(learner, ref):
    """dx equals torch.autograd's gradient of x * mask / (1 - p) with the same mask."""
    import torch

    rng = np.random.default_rng(18)
    x, dout, p = rng.normal(size=(6, 5)), rng.normal(size=(6, 5)), 0.6
    _, mask = ref.dropout_forward(x, p, True, 9)
    m = torch.tensor(mask)
    _, (exp,) = torch_oracle(lambda t, up: (t * m / (1 - p), up), x, dout, grad_of=(0,))
    assert_close(
        learner.dropout_backward(dout, mask, p),
        exp,
        "dropout_backward vs torch.autograd",
        on=describe(dout=dout, mask=mask, p=p),
        inputs={"dout": dout},
        hint="dx = dout * mask / (1 - p)",
    )


# ---------------------------------------------------------------- early stopping

STOP_CASES = [
    # (val_losses, patience, min_delta, what the case is about)
    ([5.0, 4.0, 3.0, 2.0, 1.0], 2, 0.0, "improves every epoch: trains to the end"),
    ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 3, 0.0, "never improves after epoch 0"),
    ([3.0, 2.0, 2.0, 2.0, 2.0, 2.5, 2.6], 3, 0.0, "a plateau: ties are not improvements"),
    ([3.0, 2.0, 2.0, 1.5, 2.5, 2.6, 1.0], 1, 0.0, "patience 1 and a tie"),
    ([1.0, 1.1, 1.2, 0.5, 0.6], 2, 0.0, "the improvement comes one epoch too late"),
    ([1.0, 1.1, 0.5, 0.6, 0.7, 0.4], 2, 0.0, "an improvement just in time resets the counter"),
    (
        [1.0, 0.9, 0.95, 0.97, 0.85, 0.9, 0.92, 0.93, 0.8],
        3,
        0.0,
        "noisy, with the minimum after the stop",
    ),
    (
        [2.0, 1.5, 1.8, 1.6, 1.7, 1.65, 1.9, 1.4],
        3,
        0.0,
        "small rebounds below the previous epoch do not count",
    ),
    (
        [4.0, 3.75, 3.25, 3.0, 2.0, 1.75, 1.5, 1.8, 1.0, 0.9],
        2,
        0.5,
        "min_delta: only drops larger than 0.5 count",
    ),
    ([0.7], 3, 0.0, "a single epoch"),
]
STOP_IDS = [c[3].split(":")[0].replace(" ", "-") for c in STOP_CASES]


def stop_trace(losses, patience, min_delta):
    """The expected walk, epoch by epoch, as text for the hint."""
    best, wait, steps = np.inf, 0, []
    for t, loss in enumerate(losses):
        if loss < best - min_delta:
            best, wait = loss, 0
            steps.append(f"t={t} {loss:g} improves")
        else:
            wait += 1
            steps.append(f"t={t} {loss:g} wait {wait}")
            if wait >= patience:
                steps.append("stop")
                break
    return "; ".join(steps)


@pytest.mark.parametrize("case", STOP_CASES, ids=STOP_IDS)
@pytest.mark.part("early_stopping", points=0.5)
def test_early_stopping_epochs(learner, ref, case):
    """(stop_epoch, best_epoch) are exact on a crafted sequence."""
    losses, patience, min_delta, what = case
    on = f"val_losses={losses}, patience={patience}, min_delta={min_delta} ({what})"
    got = unpack_pair(
        learner.early_stopping(losses, patience, min_delta),
        "early_stopping",
        on,
        ("stop_epoch", "best_epoch"),
    )
    assert_close(
        np.asarray(got, dtype=np.float64),
        np.asarray(ref.early_stopping(losses, patience, min_delta), np.float64),
        "early_stopping: (stop_epoch, best_epoch)",
        on=on,
        hint=f"epochs count from 0; improvement means loss < best - min_delta; the expected walk: "
        f"{stop_trace(losses, patience, min_delta)}",
    )


@pytest.mark.part("early_stopping", points=1)
def test_early_stopping_on_noisy_curves(learner, ref):
    """Exact epochs on 30 seeded noisy validation curves (a decreasing trend plus noise), patience 1 to 6."""
    rng = np.random.default_rng(19)
    for i in range(30):
        n, patience = int(rng.integers(5, 40)), int(rng.integers(1, 7))
        losses = [
            round(float(v), 3) for v in 1.0 / np.arange(1, n + 1) ** 0.5 + 0.05 * rng.normal(size=n)
        ]
        # Losses have 3 decimals, so a difference is never within rounding of 0.0125: written as
        # loss < best - min_delta or as best - loss > min_delta, a correct test decides the same.
        min_delta = 0.0 if i % 2 else 0.0125
        on = f"val_losses={losses}, patience={patience}, min_delta={min_delta}"
        got = unpack_pair(
            learner.early_stopping(losses, patience, min_delta),
            "early_stopping",
            on,
            ("stop_epoch", "best_epoch"),
        )
        assert_close(
            np.asarray(got, dtype=np.float64),
            np.asarray(ref.early_stopping(losses, patience, min_delta), np.float64),
            "early_stopping: (stop_epoch, best_epoch)",
            on=on,
            hint=f"the expected walk: {stop_trace(losses, patience, min_delta)}",
        )


def epoch_weights(n, seed):
    """One parameter list per epoch; W1[0, 0] is the epoch number, so the chosen epoch is readable.

    W1 = t + [[0, .1, .2], [.3, .4, .5]] is no multiple of another epoch's W1, so no "factor" story fits.
    """
    rng = np.random.default_rng(seed)
    offsets = np.arange(6.0).reshape(2, 3) / 10
    return [
        [(t + offsets, rng.normal(size=3)), (rng.normal(size=(3, 1)), rng.normal(size=1))]
        for t in range(n)
    ]


def check_restored(learner, ref, losses, patience, min_delta, what):
    weights = epoch_weights(len(losses), seed=len(losses))
    on = (
        f"val_losses={losses}, patience={patience}, min_delta={min_delta} ({what}); "
        "weights_per_epoch[t] = [(W1, b1), (W2, b2)] with W1[0, 0] = t"
    )
    got = learner.restore_best(weights, losses, patience, min_delta)
    exp = ref.restore_best(weights, losses, patience, min_delta)
    assert_true(
        isinstance(got, tuple | list)
        and len(got) == len(exp)
        and all(isinstance(g, tuple | list) and len(g) == 2 for g in got),
        "restore_best: wrong return value",
        f"expected the list of {len(exp)} (W, b) pairs saved at best_epoch, got {type(got).__name__}",
        on=on,
        hint="return weights_per_epoch[best_epoch]",
    )
    epoch = int(exp[0][0][0, 0])
    chosen = np.asarray(got[0][0], dtype=np.float64).ravel()[0]
    for i, ((W, b), (exp_W, exp_b)) in enumerate(zip(got, exp), start=1):
        for label, g, e in ((f"W{i}", W, exp_W), (f"b{i}", b, exp_b)):
            assert_close(
                g,
                e,
                f"restore_best: {label} (expected the weights of epoch {epoch}; W1[0, 0] = {chosen:g} came back)",
                on=on,
                hint="restore the weights of best_epoch, the last improvement up to the stop; not the last "
                "epoch trained, and not the minimum over epochs that never ran",
            )


@pytest.mark.part("restore_best", points=2)
def test_restore_best_weights(learner, ref):
    """The restored parameters are weights_per_epoch[best_epoch], on every crafted sequence above."""
    for case in STOP_CASES:
        check_restored(learner, ref, *case)


@pytest.mark.part("restore_best", points=1)
def test_restore_best_ignores_epochs_after_the_stop(learner, ref):
    """A lower loss after the stop was never seen: it must not be restored."""
    check_restored(
        learner,
        ref,
        [0.9, 0.5, 0.7, 0.8, 0.85, 0.9, 0.1],
        3,
        0.0,
        "stops at epoch 4; epochs 5-6 never ran",
    )


# ---------------------------------------------------------------- augmentation: noise

IMAGE_SHAPES = [(1, 1, 1), (2, 4, 5), (3, 2, 6, 7), (1, 3, 5, 4)]


@pytest.mark.parametrize("shape", IMAGE_SHAPES, ids=str)
@pytest.mark.part("add_noise", points=0.25)
def test_add_noise_shape(learner, shape):
    """The output has x's shape and a floating dtype."""
    x = np.random.default_rng(20).uniform(size=shape)
    on = describe(x=x, std=0.1, seed=0)
    out = assert_shape(learner.add_noise(x, 0.1, 0), shape, "add_noise(x, std, seed)", on=on)
    assert_true(
        np.issubdtype(out.dtype, np.floating),
        "add_noise: wrong dtype",
        f"expected floats, got {out.dtype}",
        on=on,
    )


@DTYPES
@pytest.mark.part("add_noise", points=1)
def test_add_noise_values(learner, ref, dtype):
    """x + std * rng.standard_normal(x.shape), exactly, for several std and seeds."""
    x = np.random.default_rng(21).uniform(size=(3, 4, 5)).astype(dtype)
    for std, seed in [(0.1, 0), (0.5, 1), (2.0, 123)]:
        on = describe(x=x, std=std, seed=seed)
        assert_close(
            learner.add_noise(x, std, seed),
            ref.add_noise(x, std, seed),
            "add_noise(x, std, seed)",
            on=on,
            inputs={"x": x},
            hint="out = x + std * np.random.default_rng(seed).standard_normal(x.shape); "
            "std is a standard deviation (np.random's scale), not a variance",
        )


@pytest.mark.part("add_noise", points=0.5)
def test_add_noise_with_zero_std_is_the_identity(learner):
    """std = 0 returns x unchanged."""
    x = np.random.default_rng(22).uniform(size=(2, 3, 3))
    assert_close(
        learner.add_noise(x, 0.0, 4),
        x,
        "add_noise(x, 0.0, seed)",
        on=describe(x=x, std=0.0, seed=4),
    )


@pytest.mark.part("add_noise", points=1)
def test_add_noise_statistics(learner):
    """On 100,000 values the noise has mean 0 and standard deviation std, to 5 standard errors."""
    x = np.random.default_rng(23).uniform(size=(100, 1000))
    std, n = 0.3, x.size
    on = describe(x=x, std=std, seed=99)
    noise = np.asarray(learner.add_noise(x, std, 99), dtype=np.float64) - x
    # The sample mean of n N(0, std^2) draws has standard error std / sqrt(n) (~0.001 here);
    # the sample standard deviation has standard error ~ std / sqrt(2n) (~0.0007).
    assert_true(
        abs(noise.mean()) <= 5 * std / np.sqrt(n),
        "add_noise: the noise is not centred",
        f"mean(out - x) = {noise.mean():.5f}; expected 0 +- {5 * std / np.sqrt(n):.5f}",
        on=on,
        hint="Gaussian noise with mean 0: standard_normal, not random() (uniform on [0, 1))",
    )
    assert_true(
        abs(noise.std() - std) <= 5 * std / np.sqrt(2 * n),
        "add_noise: the noise has the wrong spread",
        f"std(out - x) = {noise.std():.5f}; expected {std} +- {5 * std / np.sqrt(2 * n):.5f}",
        on=on,
        hint="multiply standard normal draws by std (not std**2, not sqrt(std))",
    )


# ---------------------------------------------------------------- augmentation: flips and shifts


def images(shape, seed):
    """Distinct values, so every misplaced pixel shows."""
    return (
        np.random.default_rng(seed).permutation(np.prod(shape)).reshape(shape).astype(np.float64)
        + 1.0
    )


@pytest.mark.parametrize("shape", IMAGE_SHAPES + [(5, 3, 3)], ids=str)
@pytest.mark.part("flip_horizontal", points=0.5)
def test_flip_horizontal(learner, ref, shape):
    """Exactly the width axis is reversed, for (N, H, W) and (N, C, H, W)."""
    x = images(shape, seed=24)
    on = describe(images=x) + (" (N, C, H, W)" if len(shape) == 4 else " (N, H, W)")
    assert_close(
        learner.flip_horizontal(x),
        ref.flip_horizontal(x),
        "flip_horizontal(images)",
        on=on,
        inputs={"images": x},
        hint="reverse only the last axis: images[..., ::-1]; np.fliplr reverses axis 1, and np.flip without "
        "an axis reverses every axis",
    )


@pytest.mark.part("flip_horizontal", points=0.5)
def test_flip_horizontal_small_example(learner):
    """One 2 x 3 image [[1, 2, 3], [4, 5, 6]] becomes [[3, 2, 1], [6, 5, 4]]."""
    x = np.array([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]])
    assert_close(
        learner.flip_horizontal(x),
        np.array([[[3.0, 2.0, 1.0], [6.0, 5.0, 4.0]]]),
        "flip_horizontal(images)",
        on="images = [[[1, 2, 3], [4, 5, 6]]], shape (1, 2, 3)",
        hint="each row is read right to left; the rows stay in place",
    )


SHIFT_CASES = [
    (0, 0),
    (1, 0),
    (0, 1),
    (-2, 0),
    (0, -1),
    (2, 1),
    (-1, -2),
    (3, -1),
    (5, 0),
    (0, -4),
    (-7, 9),
    (7, 1),  # only dx leaves the image (by more than its width): still all zeros
    (-1, -6),  # only dy leaves the image
]


@pytest.mark.parametrize("shape", [(2, 4, 5), (2, 3, 4, 5)], ids=["NHW", "NCHW"])
@pytest.mark.parametrize("dxdy", SHIFT_CASES, ids=lambda c: f"dx={c[0]},dy={c[1]}")
@pytest.mark.part("shift", points=0.25)
def test_shift(learner, ref, dxdy, shape):
    """Exact values with zero fill, for shifts in every direction and beyond the image."""
    dx, dy = dxdy
    x = images(shape, seed=25)
    on = describe(images=x, dx=dx, dy=dy) + f" (height {shape[-2]}, width {shape[-1]})"
    assert_close(
        learner.shift(x, dx, dy),
        ref.shift(x, dx, dy),
        f"shift(images, dx={dx}, dy={dy})",
        on=on,
        inputs={"images": x},
        hint="out[..., i, j] = images[..., i - dy, j - dx] inside the image, 0 outside: dx moves right along "
        "the last axis, dy moves down along the second-to-last; np.roll wraps around instead of filling 0",
    )


@pytest.mark.part("shift", points=0.5)
def test_shift_small_example(learner):
    """A 3 x 3 image shifted by dx = 1, dy = -1: content moves right and up, zeros come in."""
    x = np.arange(1.0, 10.0).reshape(1, 3, 3)
    expected = np.array([[[0.0, 4.0, 5.0], [0.0, 7.0, 8.0], [0.0, 0.0, 0.0]]])
    assert_close(
        learner.shift(x, 1, -1),
        expected,
        "shift(images, dx=1, dy=-1)",
        on="images = [[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]",
        hint="expected [[0, 4, 5], [0, 7, 8], [0, 0, 0]]",
    )


@pytest.mark.parametrize("shape", [(1, 5, 5), (6, 4, 7), (3, 2, 5, 5)], ids=str)
@pytest.mark.part("random_shift", points=0.5)
def test_random_shift_structure(learner, shape):
    """Returns (out of images' shape, shifts of shape (N, 2)) with integer shifts in [-max_shift, max_shift]."""
    x = images(shape, seed=26)
    on = describe(images=x, max_shift=2, seed=0)
    out, shifts = unpack_pair(learner.random_shift(x, 2, 0), "random_shift", on, ("out", "shifts"))
    assert_shape(out, shape, "random_shift: out", on=on)
    shifts = assert_shape(shifts, (shape[0], 2), "random_shift: shifts", on=on)
    assert_true(
        np.array_equal(shifts, np.round(shifts)) and np.abs(shifts).max() <= 2,
        "random_shift: bad shifts",
        f"every shift must be an integer in [-2, 2]; got {np.asarray(shifts).tolist()}",
        on=on,
    )


@pytest.mark.part("random_shift", points=1.5)
def test_random_shift_applies_its_shifts(learner, ref):
    """out[n] is image n shifted (zero fill) by the (dx, dy) = shifts[n] that you returned."""
    x = images((8, 2, 6, 6), seed=27)
    on = describe(images=x, max_shift=3, seed=5)
    out, shifts = unpack_pair(learner.random_shift(x, 3, 5), "random_shift", on, ("out", "shifts"))
    shifts = assert_shape(shifts, (8, 2), "random_shift: shifts", on=on)
    expected = np.stack(
        [ref.shift(x[n : n + 1], int(dx), int(dy))[0] for n, (dx, dy) in enumerate(shifts)]
    )
    assert_close(
        out,
        expected,
        "random_shift: out, given your own shifts",
        on=on,
        inputs={"images": x},
        hint="image n moves by shifts[n] = (dx, dy): dx to the right, dy down, zero fill",
    )


@pytest.mark.part("random_shift", points=1)
def test_random_shift_draw(learner, ref):
    """The shifts are exactly rng.integers(-max_shift, max_shift + 1, size=(N, 2)), and out follows."""
    x = images((10, 5, 5), seed=28)
    for max_shift, seed in [(1, 0), (2, 7)]:
        on = describe(images=x, max_shift=max_shift, seed=seed)
        out, shifts = unpack_pair(
            learner.random_shift(x, max_shift, seed), "random_shift", on, ("out", "shifts")
        )
        exp_out, exp_shifts = ref.random_shift(x, max_shift, seed)
        assert_close(
            shifts,
            exp_shifts,
            "random_shift: shifts",
            on=on,
            hint=f"shifts = np.random.default_rng(seed).integers(-max_shift, max_shift + 1, size=(N, 2)) in one "
            f"call; expected {exp_shifts.tolist()}",
        )
        assert_close(out, exp_out, "random_shift: out", on=on)


@pytest.mark.part("random_shift", points=0.5)
def test_random_shift_reaches_every_offset(learner):
    """Over 300 images every offset from -max_shift to +max_shift occurs, for dx and for dy."""
    x = images((300, 4, 4), seed=29)
    on = describe(images=x, max_shift=2, seed=11)
    _, shifts = unpack_pair(learner.random_shift(x, 2, 11), "random_shift", on, ("out", "shifts"))
    shifts = assert_shape(shifts, (300, 2), "random_shift: shifts", on=on)
    # Each of the 5 offsets is missing from 300 uniform draws with probability (4/5)^300 ~ 1e-29.
    for col, name in enumerate(("dx", "dy")):
        seen = sorted({int(v) for v in shifts[:, col]})
        assert_true(
            seen == [-2, -1, 0, 1, 2],
            f"random_shift: {name} does not cover its range",
            f"over 300 images {name} took the values {seen}; expected each of [-2, -1, 0, 1, 2]",
            on=on,
            hint="rng.integers(low, high) excludes high: use high = max_shift + 1",
        )
