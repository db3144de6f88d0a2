"""Grader for cnn-techniques: batch norm, transfer learning, IoU and NMS, segmentation.

Layers, for each function: shapes (batch 1, odd and non-square sizes) -> values against
the reference (float64 and float32) -> PyTorch with copied weights (BatchNorm1d/2d over
several training steps, F.batch_norm and F.cross_entropy with autograd) -> backward against
float64 central differences -> edge cases and stability -> the new head learns. NMS
results are also checked against the definition itself (kept boxes never overlap above
the threshold; each dropped box overlaps a kept box of higher priority), independently of
the reference's code. torch is imported lazily, inside the tests that use it.
"""

from functools import cache

import numpy as np
import pytest

from nnfs_cli.checks import (
    DTYPES,
    LOSS_TOL,
    as_tuple,
    assert_backward,
    assert_close,
    assert_converges,
    assert_gradient,
    assert_shape,
    assert_true,
    describe,
    numerical_gradient,
)

# ---------------------------------------------------------------------------------------
# Batch normalization
# ---------------------------------------------------------------------------------------

# (id, shape): BatchNorm1d on (N, C) and (N, C, L); BatchNorm2d on NCHW with batch 1
# (m = H * W values per channel), non-square maps, odd sizes. m > 1 everywhere.
BN_SHAPES = [
    ("N5_C3", (5, 3)),
    ("N2_C4", (2, 4)),  # m = 2: the unbiased running variance is twice the biased one
    ("N4_C3_L7", (4, 3, 7)),
    ("N1_C2_3x5", (1, 2, 3, 5)),
    ("N3_C4_5x2", (3, 4, 5, 2)),
]
BN_IDS = [s[0] for s in BN_SHAPES]
BN_HINTS = {
    "out": "statistics per channel over every axis but 1; x_hat = (x - mean) / sqrt(var + eps) with the biased var; out = gamma * x_hat + beta",
    "running_mean": "running_mean <- (1 - momentum) * running_mean + momentum * batch mean (PyTorch's momentum)",
    "running_var": "running_var <- (1 - momentum) * running_var + momentum * var * m / (m - 1): PyTorch stores the unbiased variance",
}


def bn_data(shape, seed, dtype=np.float64):
    """x far from standard (mean 2, std 3), gamma and beta not 1 and 0, running statistics
    unlike the batch's, dout normal."""
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = rng.normal(2.0, 3.0, size=shape) + rng.normal(size=(1, c) + (1,) * (len(shape) - 2))
    gamma, beta = rng.uniform(0.5, 2.0, size=c), rng.normal(size=c)
    running_mean, running_var = rng.normal(size=c), rng.uniform(0.5, 2.0, size=c)
    dout = rng.normal(size=shape)
    arrays = x, gamma, beta, running_mean, running_var, dout
    return tuple(a.astype(dtype) for a in arrays)


def bn_on(x, gamma, beta, running_mean, running_var, training, momentum=0.1):
    return describe(x=x, gamma=gamma, beta=beta, running_mean=running_mean,
                    running_var=running_var, training=training, momentum=momentum)  # fmt: skip


def bn_forward(learner, x, gamma, beta, rm, rv, training, momentum=0.1):
    on = bn_on(x, gamma, beta, rm, rv, training, momentum)
    got = learner.batchnorm_forward(x, gamma, beta, rm, rv, training, momentum)
    return as_tuple(got, 3, "batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum)", on), on  # fmt: skip


def assert_bn_outputs(got, expected, on, label, question=None):
    """`question`: the inputs whose dtype sets the precision (float32 inputs, float32 check)."""
    names = ("out", "running_mean", "running_var")
    for name, g, e in zip(names, got, expected):
        others = {k: v for k, v in zip(names, expected) if k != name}
        assert_close(g, e, f"batchnorm_forward ({label}): {name}", on=on, others=others,
                     inputs=question, hint=BN_HINTS[name])  # fmt: skip


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("case", BN_SHAPES, ids=BN_IDS)
@pytest.mark.part("batchnorm_forward", points=0.1)
def test_batchnorm_forward_shapes(learner, case, training):
    """Returns (out, running_mean, running_var): out shaped like x, the statistics (C,)."""
    _, shape = case
    x, gamma, beta, rm, rv, _ = bn_data(shape, seed=1)
    (out, new_rm, new_rv), on = bn_forward(learner, x, gamma, beta, rm, rv, training)
    assert_shape(out, shape, "batchnorm_forward: out (shaped like x)", on=on)
    for name, got in (("running_mean", new_rm), ("running_var", new_rv)):
        assert_shape(got, (shape[1],), f"batchnorm_forward: new {name} (one per channel)", on=on,
                     hint="statistics are per channel: reduce over every axis but 1")  # fmt: skip


@DTYPES
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("case", BN_SHAPES, ids=BN_IDS)
@pytest.mark.part("batchnorm_forward", points=0.15)
def test_batchnorm_forward_values(learner, ref, case, training, dtype):
    """out and the new running statistics equal the reference, in training and evaluation."""
    _, shape = case
    x, gamma, beta, rm, rv, _ = bn_data(shape, seed=2, dtype=dtype)
    got, on = bn_forward(learner, x, gamma, beta, rm, rv, training, momentum=0.3)
    as64 = (a.astype(np.float64) for a in (x, gamma, beta, rm, rv))
    expected = ref.batchnorm_forward(*as64, training, 0.3)
    assert_bn_outputs(got, expected, on, "training" if training else "evaluation", {"x": x})


def torch_batchnorm(shape, momentum, gamma, beta, rm, rv):
    """torch.nn.BatchNorm1d or 2d (by the input's rank) with copied parameters, float64."""
    import torch

    kind = torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d
    bn = kind(shape[1], momentum=momentum).double()
    with torch.no_grad():
        for t, a in (
            (bn.weight, gamma),
            (bn.bias, beta),
            (bn.running_mean, rm),
            (bn.running_var, rv),
        ):
            t.copy_(torch.as_tensor(a))
    return bn


@pytest.mark.parametrize("momentum", [0.1, 0.4])
@pytest.mark.parametrize("case", BN_SHAPES, ids=BN_IDS)
@pytest.mark.part("batchnorm_forward", points=0.2)
def test_batchnorm_forward_matches_torch_module(learner, case, momentum):
    """Three training steps then one evaluation step equal torch.nn.BatchNorm1d/2d with the
    same weights: outputs, running_mean, and running_var (unbiased) after every step."""
    import torch

    _, shape = case
    x, gamma, beta, rm, rv, _ = bn_data(shape, seed=3)
    module = torch_batchnorm(shape, momentum, gamma, beta, rm, rv)
    rng = np.random.default_rng(4)
    for step in range(4):
        training = step < 3
        x = rng.normal(1.0 + step, 2.0, size=shape)
        module.train(training)
        with torch.no_grad():
            expected_out = module(torch.as_tensor(x)).numpy()
        expected = (
            expected_out,
            module.running_mean.numpy().copy(),
            module.running_var.numpy().copy(),
        )
        got, on = bn_forward(learner, x, gamma, beta, rm, rv, training, momentum)
        label = f"step {step + 1} of 3 training steps and 1 evaluation step, vs torch.nn.{type(module).__name__}"
        assert_bn_outputs(got, expected, on, label)
        rm, rv = np.asarray(got[1], np.float64), np.asarray(got[2], np.float64)


@pytest.mark.part("batchnorm_forward", points=0.5)
def test_batchnorm_eval_ignores_the_batch(learner, ref):
    """In evaluation each sample's output depends only on the running statistics: the same
    sample gives the same output alone and inside a batch, and nothing is updated."""
    x, gamma, beta, rm, rv, _ = bn_data((6, 3, 2, 2), seed=5)
    (out, new_rm, new_rv), on = bn_forward(learner, x, gamma, beta, rm, rv, False)
    (alone, _, _), on1 = bn_forward(learner, x[2:3], gamma, beta, rm, rv, False)
    hint = "training=False normalises with running_mean and running_var, not with the batch's statistics"
    expected = ref.batchnorm_forward(x, gamma, beta, rm, rv, False)
    assert_close(out, expected[0], "batchnorm_forward (evaluation): out", on=on, hint=hint)
    assert_close(alone, expected[0][2:3], "batchnorm_forward (evaluation) of sample 2 alone", on=on1,
                 hint=hint)  # fmt: skip
    assert_close(new_rm, rm, "batchnorm_forward (evaluation): running_mean is returned unchanged",
                 on=on, rtol=0, atol=0, hint="evaluation never updates the running statistics")  # fmt: skip
    assert_close(new_rv, rv, "batchnorm_forward (evaluation): running_var is returned unchanged",
                 on=on, rtol=0, atol=0, hint="evaluation never updates the running statistics")  # fmt: skip


@pytest.mark.part("batchnorm_forward", points=0.5)
def test_batchnorm_forward_constant_channel(learner, ref):
    """A channel whose values are all equal (variance 0) gives out = beta, finite: eps
    keeps the division defined."""
    x, gamma, beta, rm, rv, _ = bn_data((4, 3, 3, 3), seed=6)
    x[:, 1] = 3.7
    got, on = bn_forward(learner, x, gamma, beta, rm, rv, True)
    expected = ref.batchnorm_forward(x, gamma, beta, rm, rv, True, 0.1)
    assert_bn_outputs(got, expected, on + " (channel 1 constant: 3.7)", "a constant channel")


@pytest.mark.parametrize("oracle", ["numerical", "torch"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize(
    "case", [BN_SHAPES[0], BN_SHAPES[2], BN_SHAPES[4]], ids=[BN_IDS[0], BN_IDS[2], BN_IDS[4]]
)
@pytest.mark.part("batchnorm_backward", points=0.5)
def test_batchnorm_backward(learner, ref, case, training, oracle):
    """(dx, dgamma, dbeta) are the gradients of sum(dout * batchnorm(x)), by central
    differences and by torch.autograd of F.batch_norm; in training through the batch
    statistics too."""
    _, shape = case
    x, gamma, beta, rm, rv, dout = bn_data(shape, seed=7 if oracle == "numerical" else 8)
    on = describe(dout=dout, x=x, gamma=gamma, running_mean=rm, running_var=rv, training=training)
    got = learner.batchnorm_backward(dout, x, gamma, rm, rv, training)
    if oracle == "torch":
        import torch
        import torch.nn.functional as F

        def forward(x, gamma, beta):
            stats = torch.as_tensor(rm).clone(), torch.as_tensor(rv).clone()
            return F.batch_norm(x, *stats, gamma, beta, training=training, momentum=0.0, eps=1e-5)
    else:

        def forward(x, gamma, beta):
            return ref.batchnorm_forward(x, gamma, beta, rm, rv, training)[0]

    dx_hint = (
        "the batch mean and variance depend on x: dx = (dxhat - mean(dxhat) - x_hat * mean(dxhat * x_hat)) / sqrt(var + eps)"
        if training
        else "in evaluation the running statistics are constants: dx = dout * gamma / sqrt(running_var + eps)"
    )
    assert_backward(
        got,
        forward,
        {"x": x, "gamma": gamma, "beta": beta},
        dout,
        ("x", "gamma", "beta"),
        f"batchnorm_backward(dout, x, gamma, running_mean, running_var, training={training})",
        oracle=oracle,
        on=on + " (the loss is sum(dout * batchnorm_forward(x, ...)[0]))",
        hints={
            "x": dx_hint,
            "gamma": "dgamma = sum of dout * x_hat over every axis but 1",
            "beta": "dbeta = sum of dout over every axis but 1",
        },
    )


@pytest.mark.part("batchnorm_backward", points=1)
def test_batchnorm_backward_float32(learner, ref):
    """float32 inputs give the training-mode gradients at float32 precision."""
    x, gamma, beta, rm, rv, dout = bn_data((4, 2, 3, 3), seed=9, dtype=np.float32)
    on = describe(dout=dout, x=x, gamma=gamma, training=True)
    got = as_tuple(learner.batchnorm_backward(dout, x, gamma, rm, rv, True), 3,
                   "batchnorm_backward(dout, x, gamma, running_mean, running_var, True)", on)  # fmt: skip
    expected = ref.batchnorm_backward(
        *(a.astype(np.float64) for a in (dout, x, gamma, rm, rv)), True
    )
    names = ("dx", "dgamma", "dbeta")
    for name, g, e in zip(names, got, expected):
        others = {k: v for k, v in zip(names, expected) if k != name}
        # gradients of a normalisation cancel terms of size ~|dout|: float32 keeps ~1e-5
        # relative of that scale, so the absolute floor is float32's at the gradient's scale
        assert_close(g, e, f"batchnorm_backward in float32: {name}", on=on, others=others,
                     atol=1e-4 * float(np.abs(e).max()))  # fmt: skip


# ---------------------------------------------------------------------------------------
# Transfer learning
# ---------------------------------------------------------------------------------------

OLD_DIGITS, NEW_DIGITS = (0, 1, 2, 3, 4, 5), (6, 7, 8, 9)
HIDDEN = (48, 32)
HEAD_LR = 0.02  # the features reach ~13: from 0.05 on, gradient descent on the head oscillates


def one_blas_thread():
    """The grader's own matrix products on one BLAS thread: on a loaded 2-core machine a
    multithreaded OpenBLAS is 10x slower on these small products, never faster."""
    from threadpoolctl import threadpool_limits  # scikit-learn's dependency, so installed

    return threadpool_limits(limits=1, user_api="blas")


@cache
def digit_tasks():
    """The UCI 8x8 digits, pixels scaled to [0, 1]: the old task (300 digits 0-5) and the
    new task (digits 6-9, labels 0-3: 200 to train the head, the other 514 to test it)."""
    from nnfs_cli.data import load_digits

    X, y = load_digits()
    X = X / 16.0
    rng = np.random.default_rng(10)
    old = rng.permutation(np.flatnonzero(np.isin(y, OLD_DIGITS)))[:300]
    new_idx = rng.permutation(np.flatnonzero(np.isin(y, NEW_DIGITS)))
    train, test = new_idx[:200], new_idx[200:]
    relabel = {d: i for i, d in enumerate(NEW_DIGITS)}
    to_new = np.vectorize(relabel.get)
    return (X[old], y[old]), (X[train], to_new(y[train])), (X[test], to_new(y[test]))


@cache
def pretrained_backbone():
    """A 64 -> 48 -> 32 -> 6 ReLU network trained on the old task (100 steps of full-batch
    gradient descent with momentum, seeded; ~100% training accuracy): the backbone the
    learner transfers."""
    (X, y), _, _ = digit_tasks()
    rng = np.random.default_rng(11)
    sizes = (X.shape[1],) + HIDDEN + (len(OLD_DIGITS),)
    names = [("W1", "b1"), ("W2", "b2"), ("W_head", "b_head")]
    p = {}
    for (w, b), fan_in, fan_out in zip(names, sizes[:-1], sizes[1:]):
        p[w], p[b] = (
            rng.normal(scale=np.sqrt(2 / fan_in), size=(fan_in, fan_out)),
            np.zeros(fan_out),
        )
    velocity = {k: np.zeros_like(v) for k, v in p.items()}
    onehot = np.eye(len(OLD_DIGITS))[y]
    with one_blas_thread():
        for _ in range(100):
            z1 = X @ p["W1"] + p["b1"]
            h1 = np.maximum(z1, 0)
            z2 = h1 @ p["W2"] + p["b2"]
            h2 = np.maximum(z2, 0)
            z = h2 @ p["W_head"] + p["b_head"]
            e = np.exp(z - z.max(axis=1, keepdims=True))
            dz = (e / e.sum(axis=1, keepdims=True) - onehot) / len(y)
            dz2 = (dz @ p["W_head"].T) * (z2 > 0)
            dz1 = (dz2 @ p["W2"].T) * (z1 > 0)
            grads = {"W_head": h2.T @ dz, "b_head": dz.sum(0), "W2": h1.T @ dz2, "b2": dz2.sum(0),
                     "W1": X.T @ dz1, "b1": dz1.sum(0)}  # fmt: skip
            for k in p:
                velocity[k] = 0.9 * velocity[k] - 0.2 * grads[k]
                p[k] = p[k] + velocity[k]
    for v in p.values():
        v.flags.writeable = False  # shared by every test: nobody may change it
    return p


FROZEN = ("W1", "b1", "W2", "b2")
N_NEW = len(NEW_DIGITS)


def backbone_on(X, y=None):
    y_part = f", y {tuple(np.shape(y))} (digits 6-9 as labels 0-3)" if y is not None else ""
    return (f"X {tuple(X.shape)} (8x8 digits, pixels / 16){y_part}, backbone pretrained on digits 0-5: "
            f"W1 (64, {HIDDEN[0]}), W2 {HIDDEN}, old head W_head ({HIDDEN[1]}, {len(OLD_DIGITS)})")  # fmt: skip


@pytest.mark.parametrize("n", [1, 7, 40])
@pytest.mark.part("extract_features", points=0.25)
def test_extract_features_shapes(learner, n):
    """Features are (N, H2) = (N, 32): the old head is not part of the extractor."""
    _, (X, _), _ = digit_tasks()
    on = backbone_on(X[:n])
    assert_shape(learner.extract_features(X[:n], pretrained_backbone()), (n, HIDDEN[1]),
                 "extract_features(X, backbone)", on=on,
                 hint="stop at the second hidden layer: relu(relu(X @ W1 + b1) @ W2 + b2); W_head is the old task's")  # fmt: skip


@DTYPES
@pytest.mark.part("extract_features", points=0.75)
def test_extract_features_values(learner, ref, dtype):
    """Features equal the reference relu(relu(X @ W1 + b1) @ W2 + b2)."""
    _, (X, _), _ = digit_tasks()
    X = X[:25].astype(dtype)
    backbone = {k: v.astype(dtype) for k, v in pretrained_backbone().items()}
    backbone64 = {k: v.astype(np.float64) for k, v in backbone.items()}
    assert_close(learner.extract_features(X, backbone), ref.extract_features(X.astype(np.float64), backbone64),
                 "extract_features(X, backbone)", on=backbone_on(X), inputs={"X": X},
                 hint="both hidden layers, each followed by ReLU: relu(relu(X @ W1 + b1) @ W2 + b2)")  # fmt: skip


def new_head(learner, X, y, steps):
    on = backbone_on(X, y) + f", n_classes={N_NEW}, lr={HEAD_LR}, steps={steps}"
    got = learner.train_new_head.with_timeout(30)(
        X, y, pretrained_backbone(), N_NEW, HEAD_LR, steps
    )
    params, losses = as_tuple(got, 2, "train_new_head(X, y, backbone, n_classes, lr, steps)", on)
    assert_true(isinstance(params, dict), "train_new_head: params must be a dict of arrays",
                f"got {type(params).__name__}", on=on)  # fmt: skip
    assert_true(set(params) == set(pretrained_backbone()), "train_new_head: wrong parameter names",
                f"expected keys {sorted(pretrained_backbone())}, got {sorted(params)}", on=on,
                hint="return the backbone's W1, b1, W2, b2 and the new W_head, b_head")  # fmt: skip
    return params, losses, on


def reference_head(ref, X, y, steps):
    with one_blas_thread():
        return ref.train_new_head(X, y, pretrained_backbone(), N_NEW, HEAD_LR, steps)


@pytest.mark.part("train_new_head", points=0.5)
def test_train_new_head_shapes(learner):
    """params has the backbone's keys, the new head W_head (32, 4) and b_head (4,); one
    loss per step."""
    _, (X, y), _ = digit_tasks()
    params, losses, on = new_head(learner, X[:30], y[:30], 5)
    assert_shape(params["W_head"], (HIDDEN[1], N_NEW), "train_new_head: the new W_head (H2, n_classes)", on=on,
                 hint=f"replace the head: the new task has n_classes = {N_NEW} classes, the old head had {len(OLD_DIGITS)}")  # fmt: skip
    assert_shape(params["b_head"], (N_NEW,), "train_new_head: the new b_head (n_classes,)", on=on)
    assert_shape(losses, (5,), "train_new_head: losses (one per step)", on=on)


@pytest.mark.part("train_new_head", points=1.5)
def test_train_new_head_keeps_the_backbone_frozen(learner):
    """W1, b1, W2, b2 come back unchanged, bit for bit: only the new head learns."""
    _, (X, y), _ = digit_tasks()
    params, _, on = new_head(learner, X, y, 20)
    for k in FROZEN:
        assert_close(params[k], pretrained_backbone()[k], f"train_new_head: frozen {k}", on=on,
                     rtol=0, atol=0,  # frozen means not touched: exactly the given values
                     hint="freeze the backbone: compute the features once and update only W_head and b_head")  # fmt: skip


@pytest.mark.part("train_new_head", points=1.5)
def test_train_new_head_values(learner, ref):
    """The losses and the new head equal the reference's (gradient descent from zeros)."""
    _, (X, y), _ = digit_tasks()
    params, losses, on = new_head(learner, X, y, 30)
    exp_params, exp_losses = reference_head(ref, X, y, 30)
    hint = "start from zeros; losses[i] is the mean cross-entropy before step i; dW = features.T @ (softmax - onehot) / N"
    # 30 stable gradient-descent steps: summation-order differences stay far below 1e-9 relative
    assert_close(losses, exp_losses, "train_new_head: losses", on=on, rtol=1e-9, hint=hint)
    for k in ("W_head", "b_head"):
        assert_close(params[k], exp_params[k], f"train_new_head: trained {k}", on=on, rtol=1e-9,
                     atol=1e-12, hint=hint)  # fmt: skip


@pytest.mark.part("train_new_head", points=0.5)
def test_train_new_head_is_stable_when_the_logits_are_large(learner):
    """A rate of 5 overshoots: within 8 steps the logits pass 900, and every loss and weight
    must stay finite (exp of a logit that large overflows unless the row max is subtracted)."""
    _, (X, y), _ = digit_tasks()
    on = backbone_on(X, y) + f", n_classes={N_NEW}, lr=5.0, steps=8"
    assert_head_stays_finite(learner, X, y, on, "train_new_head: inf or nan once the logits are large",
                             "every loss and the new head stay finite (the reference's largest logit is ~945)",
                             "softmax is unchanged by a shift: subtract each row's max before exp, z - z.max(axis=1, keepdims=True)")  # fmt: skip


def assert_head_stays_finite(learner, X, y, on, what, checked, hint):
    """train_new_head at a rate of 5 for 8 steps: every loss and the new head finite."""
    got = learner.train_new_head.with_timeout(30)(X, y, pretrained_backbone(), N_NEW, 5.0, 8)
    params, losses = as_tuple(got, 2, "train_new_head(X, y, backbone, n_classes, lr, steps)", on)
    values = [np.asarray(losses, dtype=np.float64)] + [
        np.asarray(params[k], dtype=np.float64) for k in ("W_head", "b_head") if k in params
    ]
    bad = [v for v in values if not np.all(np.isfinite(v))]
    assert_true(not bad, what, checked, on=on, hint=hint)


@pytest.mark.part("train_new_head", points=0.5)
def test_train_new_head_is_stable_when_rows_differ_in_scale(learner):
    """Half the images 10x brighter: their logits grow far past the others', and a max
    taken over the whole batch instead of each row leaves the dim rows' exp at exactly 0
    (log 0 = -inf). Every loss and weight must stay finite (the reference's: ~1e4)."""
    _, (X, y), _ = digit_tasks()
    X = X.copy()
    X[::2] *= 10.0
    on = backbone_on(X, y) + f" with every other image x10, n_classes={N_NEW}, lr=5.0, steps=8"
    assert_head_stays_finite(learner, X, y, on,
                             "train_new_head: inf or nan when some rows' logits are far larger than others'",
                             "every loss and the new head stay finite",
                             "subtract each ROW's max (axis=1, keepdims=True), not the max of the whole batch: a row "
                             "far below the batch's max underflows to exp = 0")  # fmt: skip


@pytest.mark.part("train_new_head", points=1.5)
def test_train_new_head_learns_the_new_task(learner, ref, report):
    """On digits 6-9, never seen by the backbone, the frozen features with the new head
    reach >= 75% test accuracy (chance: 25%) and a training loss <= 0.6 in 100 steps."""
    _, (X, y), (X_test, y_test) = digit_tasks()
    params, losses, on = new_head(learner, X, y, 100)
    _, reference = reference_head(ref, X, y, 100)  # loss ~0.49, test accuracy ~84%
    assert_converges(losses, 0.6, "train_new_head: training loss on digits 6-9", budget=100,
                     reference=reference, on=on,
                     hint="if the loss stalls, check the gradient's 1/N and that the head (not the backbone) is updated")  # fmt: skip
    with one_blas_thread():
        feats = ref.extract_features(X_test, pretrained_backbone())
    logits = feats @ np.asarray(params["W_head"], np.float64) + np.asarray(
        params["b_head"], np.float64
    )
    accuracy = float(np.mean(logits.argmax(axis=1) == y_test))
    assert_true(accuracy >= 0.75, "train_new_head: the new head does not classify the new task",
                f"test accuracy {accuracy:.1%} on {len(y_test)} held-out digits 6-9; needed >= 75%", on=on)  # fmt: skip
    report["table"] = (
        f"new head on frozen features: {accuracy:.1%} test accuracy on {len(y_test)} unseen digits 6-9 after 100 steps"
    )


# ---------------------------------------------------------------------------------------
# IoU
# ---------------------------------------------------------------------------------------


def random_boxes(n, seed, dtype=np.float64, spread=10.0, size=4.0):
    """n boxes (x1, y1, x2, y2), corners in [0, spread], sides in (0, size]: many overlap."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, spread, size=(n, 2))
    wh = rng.uniform(0.2, size, size=(n, 2))
    return np.concatenate([xy, xy + wh], axis=1).astype(dtype)


IOU_HINT = "inter = max(0, min(x2) - max(x1)) * max(0, min(y2) - max(y1)); IoU = inter / (area1 + area2 - inter)"


@pytest.mark.parametrize("sizes", [(1, 3), (5, 7), (4, 1), (0, 2)], ids=str)
@pytest.mark.part("box_iou", points=0.25)
def test_box_iou_shapes(learner, sizes):
    """box_iou of (N, 4) and (M, 4) boxes is (N, M), also for N = 0."""
    n, m = sizes
    b1, b2 = random_boxes(n, 20), random_boxes(m, 21)
    assert_shape(learner.box_iou(b1, b2), (n, m), "box_iou(boxes1, boxes2)",
                 on=describe(boxes1=b1, boxes2=b2), hint="one IoU per pair: broadcast boxes1[:, None] against boxes2[None, :]")  # fmt: skip


@DTYPES
@pytest.mark.part("box_iou", points=1)
def test_box_iou_values(learner, ref, dtype):
    """Pairwise IoUs of random, often overlapping boxes equal the reference."""
    b1, b2 = random_boxes(9, 22, dtype), random_boxes(6, 23, dtype)
    assert_close(learner.box_iou(b1, b2), ref.box_iou(b1.astype(np.float64), b2.astype(np.float64)),
                 "box_iou(boxes1, boxes2)", on=describe(boxes1=b1, boxes2=b2), inputs={"boxes1": b1},
                 hint=IOU_HINT)  # fmt: skip


@pytest.mark.part("box_iou", points=0.5)
def test_box_iou_normalised_coordinates(learner, ref):
    """Boxes in normalised coordinates (corners in [0, 1], as YOLO and many datasets store
    them): every area and union is below 1, so a guard that treats a union <= 1 as empty,
    or divides by a clamped max(union, 1), shows here."""
    b1, b2 = random_boxes(8, 24, spread=0.6, size=0.4), random_boxes(7, 25, spread=0.6, size=0.4)
    assert_close(learner.box_iou(b1, b2), ref.box_iou(b1, b2), "box_iou(boxes1, boxes2)",
                 on=describe(boxes1=b1, boxes2=b2) + " (normalised: corners in [0, 1])",
                 hint=IOU_HINT + "; guard only a union of exactly 0")  # fmt: skip


# (id, box a, box b): each an edge case of the definition; its IoU is given in the comment.
EDGE_CASES = [
    ("partial-overlap", [0, 0, 2, 2], [1, 1, 3, 3]),  # 1 / 7
    ("apart-in-x", [0, 0, 1, 1], [2, 0, 3, 1]),  # 0: one negative side
    ("apart-in-x-and-y", [0, 0, 1, 1], [2, 3, 4, 4]),  # 0: two negative sides
    ("containment", [0, 0, 4, 4], [1, 1, 2, 3]),  # 2 / 16
    ("identical", [1, 2, 4, 3.5], [1, 2, 4, 3.5]),  # 1
    ("touching-edge", [0, 0, 1, 1], [1, 0, 2, 1]),  # 0: a shared edge has no area
    ("touching-corner", [0, 0, 1, 1], [1, 1, 2, 2]),  # 0
    ("zero-area-inside", [0, 0, 4, 4], [1, 1, 1, 3]),  # 0: a segment has no area
    ("zero-area-both", [1, 1, 1, 3], [1, 1, 1, 3]),  # union 0: 0 by this exercise's rule
    ("fractional", [0.5, 0.25, 1.75, 2.0], [1.0, 0.0, 3.5, 1.5]),
]


@pytest.mark.parametrize("case", EDGE_CASES, ids=[c[0] for c in EDGE_CASES])
@pytest.mark.part("box_iou", points=0.25)
def test_box_iou_edge_cases(learner, ref, case):
    """No overlap, containment, touching edges and corners, zero-area boxes: exact values,
    both argument orders (the pairwise IoUs of the two boxes and a third one, far right)."""
    name, a, b = case
    # a third box, apart from the first in x only: the two ways of forgetting the clamp
    # (no clamp, and a clamp of the product) differ on it
    boxes = np.array([a, b, [10, 0, 11, 1]], dtype=np.float64)
    on = f"{name}: boxes {boxes.tolist()} (x1, y1, x2, y2), continuous coordinates"
    assert_close(learner.box_iou(boxes, boxes), ref.box_iou(boxes, boxes), "box_iou(boxes, boxes)",
                 on=on, hint=IOU_HINT + "; 0 where the union is 0")  # fmt: skip


# ---------------------------------------------------------------------------------------
# Non-maximum suppression
# ---------------------------------------------------------------------------------------


def detections(n, seed, dtype=np.float64, ties=False):
    """Clustered boxes (several detections of a few objects) and scores in (0, 1);
    with ties, scores are drawn from 4 values so equal scores are frequent."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(2, 12, size=(max(n // 4, 1), 2))
    c = centers[rng.integers(0, len(centers), size=n)] + rng.normal(scale=0.6, size=(n, 2))
    half = rng.uniform(1.0, 2.5, size=(n, 2))
    boxes = np.concatenate([c - half, c + half], axis=1).astype(dtype)
    scores = (rng.choice([0.2, 0.5, 0.7, 0.9], size=n) if ties else rng.uniform(size=n)).astype(
        dtype
    )
    return boxes, scores


def assert_indices(got, expected, what, on, hint):
    """Kept indices equal, as a list: no numeric story (scale, offset, shape) fits indices."""
    arr = np.asarray(got) if isinstance(got, np.ndarray | list | tuple) else None
    assert_true(arr is not None and arr.ndim == 1 and (arr.size == 0 or np.issubdtype(arr.dtype, np.integer)),
                f"{what}: expected a 1-D array of integer indices",
                f"got {type(got).__name__}" + (f" of shape {arr.shape}, dtype {arr.dtype}" if arr is not None else ""),
                on=on, hint="return np.array(keep, dtype=np.int64)")  # fmt: skip
    got_list, exp_list = [int(i) for i in arr], [int(i) for i in expected]
    first = next(
        (k for k, (g, e) in enumerate(zip(got_list, exp_list)) if g != e),
        min(len(got_list), len(exp_list)),
    )
    assert_true(got_list == exp_list, f"{what}: wrong boxes kept",
                f"kept {got_list}, expected {exp_list} (they first differ at position {first})", on=on, hint=hint)  # fmt: skip


def assert_greedy_nms(keep, boxes, scores, threshold, iou, what, on):
    """The definition, independent of any implementation: kept boxes in priority order,
    pairwise IoU <= threshold; every dropped box overlaps a higher-priority kept box."""
    priority = np.argsort(np.argsort(-np.asarray(scores, np.float64), kind="stable"), kind="stable")
    keep = [int(k) for k in keep]
    assert_true(keep == sorted(keep, key=lambda k: priority[k]), f"{what}: kept boxes out of order",
                f"kept {keep}; expected in descending score order, equal scores by index", on=on)  # fmt: skip
    for a in range(len(keep)):
        for b in range(a):
            assert_true(iou[keep[a], keep[b]] <= threshold, f"{what}: two kept boxes overlap",
                        f"boxes {keep[b]} and {keep[a]} were both kept with IoU {iou[keep[a], keep[b]]:.4f} > {threshold}", on=on)  # fmt: skip
    for i in sorted(set(range(len(scores))) - set(keep)):
        assert_true(any(iou[i, k] > threshold and priority[k] < priority[i] for k in keep),
                    f"{what}: box {i} was dropped without reason",
                    f"box {i} has IoU <= {threshold} with every kept box of higher score", on=on,
                    hint="a box is dropped only when its IoU with a kept box is strictly above the threshold")  # fmt: skip


NMS_HINT = "visit boxes by descending score (stable: equal scores by index); keep a box unless IoU with a kept one > threshold"


@pytest.mark.parametrize("n", [0, 1, 6])
@pytest.mark.part("nms", points=0.25)
def test_nms_shapes(learner, ref, n):
    """nms returns a 1-D integer array of kept indices (empty for no boxes)."""
    boxes, scores = detections(n, 30)
    boxes = boxes.reshape(n, 4)
    on = describe(boxes=boxes, scores=scores, iou_threshold=0.5)
    expected = ref.nms(boxes, scores, 0.5)
    assert_indices(
        learner.nms(boxes, scores, 0.5), expected, "nms(boxes, scores, iou_threshold)", on, NMS_HINT
    )


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "tied"])
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
@pytest.mark.part("nms", points=0.4)
def test_nms_random_boxes(learner, ref, threshold, ties):
    """On 40 clustered random boxes, the kept indices equal the reference and obey the
    definition of greedy NMS."""
    boxes, scores = detections(40, 31 + int(10 * threshold), ties=ties)
    on = describe(boxes=boxes, scores=scores, iou_threshold=threshold) + (
        " (many equal scores)" if ties else ""
    )
    got = learner.nms(boxes, scores, threshold)
    assert_indices(got, ref.nms(boxes, scores, threshold), "nms(boxes, scores, iou_threshold)", on,
                   NMS_HINT + ("; np.argsort(scores)[::-1] puts the later of two equal scores first" if ties else ""))  # fmt: skip
    assert_greedy_nms(got, boxes, scores, threshold, ref.box_iou(boxes, boxes), "nms", on)


@pytest.mark.part("nms", points=0.8)
def test_nms_keeps_a_box_at_exactly_the_threshold(learner, ref):
    """IoU equal to the threshold is not above it: both boxes are kept (torchvision's rule)."""
    boxes = np.array([[0, 0, 3, 1], [1, 0, 4, 1], [0, 0, 2, 1], [5, 5, 5.2, 6], [5.2, 5, 5.4, 6]])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    # IoU(0, 1) = 2 / 4 = 0.5 exactly, IoU(0, 2) = 2 / 3; boxes 3 and 4 only touch (IoU 0)
    on = f"boxes {boxes.tolist()}, scores {scores.tolist()}, iou_threshold=0.5 (IoU of boxes 0 and 1 is exactly 0.5)"
    assert_indices(learner.nms(boxes, scores, 0.5), ref.nms(boxes, scores, 0.5), "nms at the threshold", on,
                   "drop a box only when IoU > threshold (strictly): IoU == threshold keeps it")  # fmt: skip


@pytest.mark.part("nms", points=0.4)
def test_nms_float32(learner, ref):
    """float32 boxes and scores give the same indices."""
    boxes, scores = detections(30, 40, dtype=np.float32)
    on = describe(boxes=boxes, scores=scores, iou_threshold=0.45)
    assert_indices(
        learner.nms(boxes, scores, 0.45),
        ref.nms(boxes, scores, 0.45),
        "nms in float32",
        on,
        NMS_HINT,
    )


def class_detections(n, seed, n_classes=3, ties=False):
    boxes, scores = detections(n, seed, ties=ties)
    classes = np.random.default_rng(seed + 1).integers(0, n_classes, size=n)
    return boxes, scores, classes


@pytest.mark.parametrize("threshold", [0.3, 0.6])
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "tied"])
@pytest.mark.part("batched_nms", points=0.5)
def test_batched_nms_random_boxes(learner, ref, threshold, ties):
    """On 40 random boxes of 3 classes the kept indices equal the reference, and within
    each class they obey greedy NMS."""
    boxes, scores, classes = class_detections(40, 50 + int(10 * threshold), ties=ties)
    on = describe(boxes=boxes, scores=scores, classes=classes, iou_threshold=threshold)
    hint = "run NMS within each class separately, then sort all kept indices by descending score (equal scores: lower index first)"
    got = learner.batched_nms(boxes, scores, classes, threshold)
    assert_indices(got, ref.batched_nms(boxes, scores, classes, threshold),
                   "batched_nms(boxes, scores, classes, iou_threshold)", on, hint)  # fmt: skip
    iou = ref.box_iou(boxes, boxes) * (
        classes[:, None] == classes[None, :]
    )  # other classes never overlap
    assert_greedy_nms(got, boxes, scores, threshold, iou, "batched_nms", on)


@pytest.mark.part("batched_nms", points=1)
def test_batched_nms_classes_never_suppress_each_other(learner, ref):
    """Two identical boxes of different classes are both kept; of the same class, one; a
    box at exactly the threshold is kept."""
    boxes = np.array(
        [[0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 2, 2.1], [5, 5, 8, 6], [6, 5, 9, 6]], dtype=np.float64
    )
    scores, classes = np.array([0.9, 0.8, 0.7, 0.6, 0.5]), np.array([0, 1, 0, 1, 1])
    on = f"boxes {boxes.tolist()}, scores {scores.tolist()}, classes {classes.tolist()}, iou_threshold=0.5 (IoU of boxes 3 and 4 is exactly 0.5)"
    assert_indices(learner.batched_nms(boxes, scores, classes, 0.5), ref.batched_nms(boxes, scores, classes, 0.5),
                   "batched_nms", on, "a box only suppresses boxes of its own class, and only above the threshold")  # fmt: skip


# ---------------------------------------------------------------------------------------
# Segmentation: pixel-wise cross-entropy and mean IoU
# ---------------------------------------------------------------------------------------

SEG_CASES = [(1, 3, 4, 4), (2, 4, 3, 5), (3, 2, 1, 6)]
SEG_IDS = ["N1_C3_4x4", "N2_C4_3x5", "N3_C2_1x6"]
SEG_HINT = "softmax over the class axis 1; mean over all N * H * W pixels; dlogits = (softmax - onehot) / (N * H * W)"


def seg_data(n, c, h, w, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.normal(scale=2.0, size=(n, c, h, w)).astype(dtype), rng.integers(
        0, c, size=(n, h, w)
    )


def seg_call(learner, logits, target):
    on = describe(logits=logits, target=target)
    got = learner.pixel_cross_entropy(logits, target)
    return as_tuple(got, 2, "pixel_cross_entropy(logits, target)", on), on


@pytest.mark.parametrize("case", SEG_CASES, ids=SEG_IDS)
@pytest.mark.part("pixel_cross_entropy", points=0.25)
def test_pixel_cross_entropy_shapes(learner, case):
    """Returns (loss, dlogits): one number and an array of logits' shape."""
    logits, target = seg_data(*case, seed=60)
    (loss, dlogits), on = seg_call(learner, logits, target)
    assert_shape(
        loss, (), "pixel_cross_entropy: loss (one number, the mean over all pixels)", on=on
    )
    assert_shape(dlogits, case, "pixel_cross_entropy: dlogits (shaped like logits)", on=on)


@DTYPES
@pytest.mark.parametrize("case", SEG_CASES, ids=SEG_IDS)
@pytest.mark.part("pixel_cross_entropy", points=0.25)
def test_pixel_cross_entropy_values(learner, ref, case, dtype):
    """Loss and gradient equal the reference."""
    logits, target = seg_data(*case, seed=61, dtype=dtype)
    (loss, dlogits), on = seg_call(learner, logits, target)
    exp_loss, exp_grad = ref.pixel_cross_entropy(logits.astype(np.float64), target)
    assert_close(loss, exp_loss, "pixel_cross_entropy: loss", on=on, hint=SEG_HINT, **LOSS_TOL)
    assert_close(dlogits, exp_grad, "pixel_cross_entropy: dlogits", on=on, hint=SEG_HINT,
                 batch=int(np.prod(case)) // case[1], inputs={"logits": logits})  # fmt: skip


@pytest.mark.part("pixel_cross_entropy", points=1)
def test_pixel_cross_entropy_matches_torch(learner):
    """Loss and gradient equal torch.nn.functional.cross_entropy (reduction="mean") and its autograd."""
    import torch
    import torch.nn.functional as F

    logits, target = seg_data(2, 5, 3, 4, seed=62)
    lt = torch.tensor(logits, requires_grad=True)
    loss_t = F.cross_entropy(lt, torch.as_tensor(target))
    loss_t.backward()
    (loss, dlogits), on = seg_call(learner, logits, target)
    assert_close(
        loss,
        loss_t.item(),
        "pixel_cross_entropy: loss (vs F.cross_entropy)",
        on=on,
        hint=SEG_HINT,
        **LOSS_TOL,
    )
    assert_close(dlogits, lt.grad.numpy(), "pixel_cross_entropy: dlogits (vs torch.autograd)", on=on,
                 hint=SEG_HINT, batch=24)  # fmt: skip


@pytest.mark.part("pixel_cross_entropy", points=0.75)
def test_pixel_cross_entropy_matches_finite_differences(learner, ref):
    """dlogits is the gradient of the returned loss, by central differences."""
    logits, target = seg_data(2, 3, 2, 3, seed=63)
    (_, dlogits), on = seg_call(learner, logits, target)
    numeric = numerical_gradient(lambda v: ref.pixel_cross_entropy(v, target)[0], logits)
    assert_gradient(
        dlogits, numeric, "pixel_cross_entropy: dlogits", on=on, hint=SEG_HINT, batch=12
    )


@pytest.mark.part("pixel_cross_entropy", points=0.5)
def test_pixel_cross_entropy_large_logits(learner, ref):
    """Logits of +-1000 give a finite, exact loss and gradient (subtract the max over classes)."""
    logits, target = seg_data(1, 3, 2, 2, seed=64)
    logits = logits * 500.0
    (loss, dlogits), on = seg_call(learner, logits, target)
    exp_loss, exp_grad = ref.pixel_cross_entropy(logits, target)
    hint = "subtract each pixel's maximum over the classes (axis 1) before exp"
    assert_close(loss, exp_loss, "pixel_cross_entropy: loss for large logits", on=on, hint=hint,
                 large_input=True, **LOSS_TOL)  # fmt: skip
    assert_close(dlogits, exp_grad, "pixel_cross_entropy: dlogits for large logits", on=on, hint=hint,
                 large_input=True)  # fmt: skip


MIOU_HINT = "IoU_c = |pred == c and target == c| / |pred == c or target == c| over all pixels; mean over the classes present in pred or target"


def seg_maps(shape, n_classes, seed, agree=0.7):
    """A target map and a prediction that agrees with it on ~70% of the pixels."""
    rng = np.random.default_rng(seed)
    target = rng.integers(0, n_classes, size=shape)
    noise = rng.integers(0, n_classes, size=shape)
    return np.where(rng.random(shape) < agree, target, noise), target


@pytest.mark.parametrize("shape", [(1, 4, 4), (3, 5, 2), (2, 6, 7)], ids=str)
@pytest.mark.part("mean_iou", points=0.5)
def test_mean_iou_values(learner, ref, shape):
    """mean IoU of a noisy prediction equals the reference (every class present)."""
    pred, target = seg_maps(shape, 3, seed=70 + shape[0])
    on = describe(pred=pred, target=target, n_classes=3)
    assert_close(learner.mean_iou(pred, target, 3), ref.mean_iou(pred, target, 3),
                 "mean_iou(pred, target, n_classes)", on=on, hint=MIOU_HINT)  # fmt: skip


# (id, pred, target, n_classes): a class absent from both maps is left out of the mean.
ABSENT_CASES = [
    ("perfect-with-absent-classes", [[0, 0, 2], [2, 2, 0]], [[0, 0, 2], [2, 2, 0]], 5),  # 1.0
    ("absent-classes", [[0, 1, 1], [4, 4, 0]], [[0, 1, 4], [4, 4, 1]], 6),  # classes 2, 3, 5 absent
    (
        "class-only-in-pred",
        [[0, 3, 0], [1, 1, 1]],
        [[0, 0, 0], [1, 1, 1]],
        4,
    ),  # class 3: IoU 0, counted
    ("class-only-in-target", [[0, 0], [1, 1]], [[0, 2], [1, 1]], 3),  # class 2: IoU 0, counted
]


@pytest.mark.parametrize("case", ABSENT_CASES, ids=[c[0] for c in ABSENT_CASES])
@pytest.mark.part("mean_iou", points=0.5)
def test_mean_iou_absent_classes(learner, ref, case):
    """Classes absent from both maps are excluded; a class in only one map counts as IoU 0."""
    name, pred, target, n_classes = case
    pred, target = np.array([pred]), np.array([target])
    on = f"{name}: pred {pred[0].tolist()}, target {target[0].tolist()}, n_classes={n_classes}"
    assert_close(learner.mean_iou(pred, target, n_classes), ref.mean_iou(pred, target, n_classes),
                 "mean_iou(pred, target, n_classes)", on=on,
                 hint="a class in neither map has IoU 0 / 0: leave it out of the mean (neither 0 nor 1)")  # fmt: skip
