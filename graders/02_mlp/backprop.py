"""Grader for backprop: dense and activation backwards, softmax cross-entropy, a whole MLP.

Layers, for each function: shapes (batch 1, odd sizes, square weights) -> values against
the reference (float64, float32) -> gradients against float64 central differences of the
reference forward -> gradients against torch.autograd with the same weights -> numerical
stability -> a short training run driven by the learner's gradients. torch is imported
lazily, inside the tests that use it.
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
    assert_gradient,
    assert_shape,
    assert_true,
    describe,
    numerical_derivative,
    numerical_gradient,
    torch_oracle,
)

# ---------------------------------------------------------------------------------------
# dense_backward
# ---------------------------------------------------------------------------------------

# (N, D_in, D_out): batch 1, square W (the transposes keep their shapes), odd sizes, and
# N == D_in == D_out, where dX and dW even have the same shape.
DENSE_CASES = [(1, 3, 4), (5, 3, 3), (7, 2, 5), (4, 4, 4)]
DENSE_IDS = ["N1_3x4", "N5_3x3", "N7_2x5", "N4_4x4"]


def dense_data(n, d_in, d_out, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X, W, b = rng.normal(size=(n, d_in)), rng.normal(size=(d_in, d_out)), rng.normal(size=d_out)
    dout = rng.normal(size=(n, d_out))
    return X.astype(dtype), W.astype(dtype), b.astype(dtype), dout.astype(dtype)


@pytest.mark.parametrize("case", DENSE_CASES, ids=DENSE_IDS)
@pytest.mark.part("dense_backward", points=0.5)
def test_dense_backward_shapes(learner, case):
    """dense_backward returns (dX, dW, db) shaped like X, W and b."""
    n, d_in, d_out = case
    X, W, _, dout = dense_data(n, d_in, d_out, seed=1)
    on = describe(dout=dout, X=X, W=W)
    dX, dW, db = as_tuple(learner.dense_backward(dout, X, W), 3, "dense_backward(dout, X, W)", on)
    assert_shape(dX, (n, d_in), "dense_backward: dX (shaped like X)", on=on)
    assert_shape(dW, (d_in, d_out), "dense_backward: dW (shaped like W)", on=on)
    assert_shape(
        db, (d_out,), "dense_backward: db (shaped like b: dout summed over the batch axis 0)", on=on
    )


@DTYPES
@pytest.mark.parametrize("case", DENSE_CASES, ids=DENSE_IDS)
@pytest.mark.part("dense_backward", points=1)
def test_dense_backward_values(learner, ref, case, dtype):
    """dX, dW and db equal the reference (float64 exactly, float32 at float32 precision)."""
    n, d_in, d_out = case
    X, W, _, dout = dense_data(n, d_in, d_out, seed=2 + n, dtype=dtype)
    on = describe(dout=dout, X=X, W=W)
    got = as_tuple(learner.dense_backward(dout, X, W), 3, "dense_backward(dout, X, W)", on)
    expected = dict(
        zip(["dX", "dW", "db"], ref.dense_backward(*(a.astype(np.float64) for a in (dout, X, W))))
    )
    hints = {
        "dX": "dX = dout @ W.T: the weight is transposed on the way back",
        "dW": "dW = X.T @ dout (shape (D_in, D_out), like W)",
        "db": "db = dout.sum(axis=0): the bias is added to every sample, so the gradient sums over the batch",
    }
    for (name, exp), g in zip(expected.items(), got):
        others = {k: v for k, v in expected.items() if k != name}
        assert_close(
            g,
            exp,
            f"dense_backward: {name}",
            on=on,
            batch=n,
            others=others,
            inputs={"X": X, "dout": dout},
            hint=hints[name],
        )


@pytest.mark.parametrize("oracle", ["numerical", "torch"])
@pytest.mark.parametrize("case", [(3, 4, 4), (6, 5, 2)], ids=["N3_4x4", "N6_5x2"])
@pytest.mark.part("dense_backward", points=1.125)  # 4.5 points over the four cases
def test_dense_backward_matches_oracles(learner, case, oracle):
    """dX, dW, db are the gradients of sum(dout * (X @ W + b)), by central differences and
    by torch.autograd."""
    n, d_in, d_out = case
    X, W, b, dout = dense_data(n, d_in, d_out, seed=7 if oracle == "numerical" else 8)
    assert_backward(
        learner.dense_backward(dout, X, W),
        lambda X, W, b: X @ W + b,
        {"X": X, "W": W, "b": b},
        dout,
        ("X", "W", "b"),
        "dense_backward(dout, X, W)",
        oracle=oracle,
        on=describe(dout=dout, X=X, W=W) + " (the loss is sum(dout * (X @ W + b)))",
        batch=n,
    )


# ---------------------------------------------------------------------------------------
# Activation backwards
# ---------------------------------------------------------------------------------------

ACTIVATIONS = ["relu_backward", "leaky_relu_backward", "tanh_backward", "sigmoid_backward"]
SHAPES = [(1,), (7,), (3, 5), (2, 3, 4)]


def _sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))  # the same function, with no exp to overflow


FORWARD = {
    "relu_backward": lambda z: np.maximum(z, 0),
    "leaky_relu_backward": lambda z: np.where(z > 0, z, 0.01 * z),
    "tanh_backward": np.tanh,
    "sigmoid_backward": _sigmoid,
}
HINTS = {
    "relu_backward": "dout * (z > 0): the gradient passes where the input was positive (0 at z = 0)",
    "leaky_relu_backward": "dout * (1 where z > 0, else alpha), alpha also at z = 0",
    "tanh_backward": "tanh'(z) = 1 - tanh(z)**2: z is the input, so compute tanh(z) first",
    "sigmoid_backward": "sigmoid'(z) = s (1 - s) with s = sigmoid(z): z is the input, not the output",
}


def activation_data(shape, seed, dtype=np.float64, zeros=True):
    """z with scale 3 (both tails), exact zeros at every 4th entry if asked; dout normal."""
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=3.0, size=shape)
    if zeros:
        z.ravel()[::4] = 0.0
    else:
        z[np.abs(z) < 1e-2] = 0.5  # no kink within reach of the finite-difference step
    return rng.normal(size=shape).astype(dtype), z.astype(dtype)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_backward_shapes(learner, name, shape, request):
    """The backward returns an array of z's shape, for vectors, matrices and 3-D arrays."""
    request.node.add_marker(pytest.mark.part(name, points=0.25))
    dout, z = activation_data(shape, seed=len(shape))
    assert_shape(
        getattr(learner, name)(dout, z), shape, f"{name}(dout, z)", on=describe(dout=dout, z=z)
    )


@DTYPES
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_backward_values(learner, ref, name, dtype, request):
    """dL/dz equals the reference, with exact zeros in z (the convention at the kink)."""
    request.node.add_marker(pytest.mark.part(name, points=1))
    dout, z = activation_data((6, 9), seed=11, dtype=dtype)
    exp = getattr(ref, name)(dout.astype(np.float64), z.astype(np.float64))
    assert_close(
        getattr(learner, name)(dout, z),
        exp,
        f"{name}(dout, z)",
        on=describe(dout=dout, z=z),
        inputs={"dout": dout, "z": z},
        hint=HINTS[name],
    )


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_backward_matches_finite_differences(learner, name, request):
    """dL/dz is dout times the derivative of the forward function, by central differences."""
    request.node.add_marker(pytest.mark.part(name, points=1))
    dout, z = activation_data((5, 7), seed=12, zeros=False)
    numeric = dout * numerical_derivative(FORWARD[name], z)
    assert_gradient(
        getattr(learner, name)(dout, z),
        numeric,
        f"{name}(dout, z)",
        on=describe(dout=dout, z=z),
        hint=HINTS[name],
    )


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_backward_matches_torch_autograd(learner, name, request):
    """dL/dz equals torch.autograd's, exact zeros included (PyTorch's convention at 0)."""
    request.node.add_marker(pytest.mark.part(name, points=1))
    import torch
    import torch.nn.functional as F

    forward = {
        "relu_backward": torch.relu,
        "leaky_relu_backward": lambda t: F.leaky_relu(t, 0.01),
        "tanh_backward": torch.tanh,
        "sigmoid_backward": torch.sigmoid,
    }[name]
    dout, z = activation_data((4, 6), seed=13)
    _, (exp,) = torch_oracle(lambda t: (forward(t), dout), z, grad_of=(0,))
    assert_close(
        getattr(learner, name)(dout, z),
        exp,
        f"{name}(dout, z) (vs torch.autograd)",
        on=describe(dout=dout, z=z),
        inputs={"dout": dout, "z": z},
        hint=HINTS[name],
    )


@pytest.mark.parametrize("alpha", [0.2, 0.0], ids=["alpha0.2", "alpha0"])
@pytest.mark.part("leaky_relu_backward", points=0.5)
def test_leaky_relu_backward_uses_alpha(learner, ref, alpha):
    """The negative-side slope is the alpha passed in (alpha = 0 gives ReLU's backward)."""
    dout, z = activation_data((3, 8), seed=14)
    assert_close(
        learner.leaky_relu_backward(dout, z, alpha),
        ref.leaky_relu_backward(dout, z, alpha),
        f"leaky_relu_backward(dout, z, alpha={alpha})",
        on=describe(dout=dout, z=z, alpha=alpha),
        inputs={"dout": dout},
        hint="use the alpha argument, not a hard-coded 0.01",
    )


@pytest.mark.parametrize("name", ["tanh_backward", "sigmoid_backward"])
def test_activation_backward_is_stable_for_large_inputs(learner, ref, name, request):
    """The backward stays finite and right (tiny) for z = +-1000, where exp overflows."""
    request.node.add_marker(pytest.mark.part(name, points=1))
    z = np.array([-1000.0, -710.0, -30.0, -1.0, 0.0, 1.0, 30.0, 710.0, 1000.0])
    dout = np.linspace(-2.0, 2.0, z.size)
    assert_close(
        getattr(learner, name)(dout, z),
        getattr(ref, name)(dout, z),
        f"{name}(dout, z) for large |z|",
        on=f"z = {z.tolist()}",
        large_input=True,
        # A few ulps of the scale |dout| / 4: s * (1 - s) and 1 - tanh(z)**2 lose the last
        # bits of a tiny value (1 - s where s rounds near 1), the exact forms do not; both
        # are right, while NaN (exp overflow) or a wrong formula is far outside.
        atol=4 * np.finfo(np.float64).eps * float(np.abs(dout).max()) / 4,
        hint={
            "tanh_backward": "np.tanh is stable: 1 - np.tanh(z)**2; avoid (e^z - e^-z) / (e^z + e^-z)",
            "sigmoid_backward": "exp(1000) is inf: build sigmoid from exp(-|z|), by the sign of z",
        }[name],
    )


# ---------------------------------------------------------------------------------------
# softmax_cross_entropy
# ---------------------------------------------------------------------------------------

CE_CASES = [(1, 3), (5, 4), (7, 2), (6, 10)]
CE_IDS = ["N1_C3", "N5_C4", "N7_C2", "N6_C10"]
CE_HINT = "dL/dlogits = (softmax(logits) - onehot(y)) / N: subtract 1 at each true class, divide by the batch size"


def ce_data(n, c, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(n, c)).astype(dtype)
    y = rng.integers(0, c, size=n)
    if n >= c:
        y[:c] = np.arange(c)  # every class appears
    return logits, y


@pytest.mark.parametrize("case", CE_CASES, ids=CE_IDS)
@pytest.mark.part("softmax_cross_entropy", points=0.5)
def test_softmax_cross_entropy_shapes(learner, case):
    """Returns (loss, dlogits): one number and an (N, C) array."""
    logits, y = ce_data(*case, seed=20)
    on = describe(logits=logits, y=y)
    loss, dlogits = as_tuple(
        learner.softmax_cross_entropy(logits, y), 2, "softmax_cross_entropy(logits, y)", on
    )
    assert_shape(
        loss, (), "softmax_cross_entropy: loss (one number, the mean over the batch)", on=on
    )
    assert_shape(dlogits, case, "softmax_cross_entropy: dlogits", on=on)


@DTYPES
@pytest.mark.parametrize("case", CE_CASES, ids=CE_IDS)
@pytest.mark.part("softmax_cross_entropy", points=0.5)
def test_softmax_cross_entropy_loss_values(learner, ref, case, dtype):
    """The loss equals the reference mean cross-entropy (float32 logits, int32 labels too)."""
    logits, y = ce_data(*case, seed=21, dtype=dtype)
    y = y.astype(np.int32) if dtype == np.float32 else y
    on = describe(logits=logits, y=y)
    loss, _ = as_tuple(
        learner.softmax_cross_entropy(logits, y), 2, "softmax_cross_entropy(logits, y)", on
    )
    assert_close(
        loss,
        ref.softmax_cross_entropy(logits.astype(np.float64), y)[0],
        "softmax_cross_entropy: loss",
        on=on,
        batch=case[0],
        **LOSS_TOL,
        hint="loss = -mean over n of log softmax(logits)[n, y[n]]",
    )


@DTYPES
@pytest.mark.parametrize("case", CE_CASES, ids=CE_IDS)
@pytest.mark.part("softmax_cross_entropy", points=1)
def test_softmax_cross_entropy_gradient_values(learner, ref, case, dtype):
    """dlogits equals the reference (softmax - onehot) / N."""
    logits, y = ce_data(*case, seed=22, dtype=dtype)
    on = describe(logits=logits, y=y)
    _, dlogits = as_tuple(
        learner.softmax_cross_entropy(logits, y), 2, "softmax_cross_entropy(logits, y)", on
    )
    exp = ref.softmax_cross_entropy(logits.astype(np.float64), y)[1]
    assert_close(
        dlogits,
        exp,
        "softmax_cross_entropy: dlogits",
        on=on,
        batch=case[0],
        inputs={"logits": logits},
        hint=CE_HINT,
    )


@pytest.mark.parametrize("case", [(5, 4), (1, 3)], ids=["N5_C4", "N1_C3"])
@pytest.mark.part("softmax_cross_entropy", points=1)
def test_softmax_cross_entropy_matches_finite_differences(learner, ref, case):
    """dlogits is the gradient of the returned loss, by central differences."""
    logits, y = ce_data(*case, seed=23)
    on = describe(logits=logits, y=y)
    _, dlogits = as_tuple(
        learner.softmax_cross_entropy(logits, y), 2, "softmax_cross_entropy(logits, y)", on
    )
    numeric = numerical_gradient(lambda v: ref.softmax_cross_entropy(v, y)[0], logits)
    assert_gradient(
        dlogits, numeric, "softmax_cross_entropy: dlogits", on=on, batch=case[0], hint=CE_HINT
    )


@pytest.mark.part("softmax_cross_entropy", points=1.5)
def test_softmax_cross_entropy_matches_torch(learner):
    """Loss and gradient equal torch.nn.functional.cross_entropy and its autograd."""
    import torch
    import torch.nn.functional as F

    logits, y = ce_data(6, 10, seed=24)
    on = describe(logits=logits, y=y)
    loss_t, (grad_t,) = torch_oracle(
        lambda t: F.cross_entropy(t, torch.as_tensor(y)), logits, grad_of=(0,)
    )
    loss, dlogits = as_tuple(
        learner.softmax_cross_entropy(logits, y), 2, "softmax_cross_entropy(logits, y)", on
    )
    assert_close(loss, loss_t, "softmax_cross_entropy: loss (vs torch)", on=on, batch=6, **LOSS_TOL)
    assert_close(
        dlogits,
        grad_t,
        "softmax_cross_entropy: dlogits (vs torch.autograd)",
        on=on,
        batch=6,
        hint=CE_HINT,
    )


@pytest.mark.part("softmax_cross_entropy", points=2)
def test_softmax_cross_entropy_is_stable_for_large_logits(learner, ref):
    """Loss and gradient are finite and exact for logits of +-1000 (naive exp overflows)."""
    logits = np.array(
        [
            [1000.0, 0.0, -1000.0],
            [-1000.0, -1000.0, -999.0],
            [1000.0, 1000.0, 0.0],
            [0.0, 1000.0, 999.0],
        ]
    )
    y = np.array([0, 2, 1, 2])
    on = f"logits = {logits.tolist()}, y = {y.tolist()}"
    loss, dlogits = as_tuple(
        learner.softmax_cross_entropy(logits, y), 2, "softmax_cross_entropy(logits, y)", on
    )
    exp_loss, exp_grad = ref.softmax_cross_entropy(logits, y)
    hint = "subtract each row's maximum before exp, and take log softmax as shifted - log(sum(exp(shifted)))"
    # In float32, log p = logits - logsumexp(logits) cancels two numbers near 1000 (spacing
    # 6e-5): correct float32 code is off by ~1e-4 relative here (the loss may come back as a
    # Python float, so its dtype cannot tell). Every wrong formula is off by far more.
    assert_close(
        loss,
        exp_loss,
        "softmax_cross_entropy: loss for large logits",
        on=on,
        large_input=True,
        rtol=1e-4,
        atol=1e-6,
        hint=hint,
    )
    rtol = 1e-4 if np.asarray(dlogits).dtype == np.float32 else 1e-7
    assert_close(
        dlogits,
        exp_grad,
        "softmax_cross_entropy: dlogits for large logits",
        on=on,
        batch=4,
        large_input=True,
        rtol=rtol,
        hint=hint,
    )


# ---------------------------------------------------------------------------------------
# mlp_forward and mlp_backward
# ---------------------------------------------------------------------------------------

# (id, N, layer sizes D, H1, ..., C): batch 1; all-square weights (a missing .T changes no
# shape); three hidden layers of odd sizes; a wide layer; a linear model (one layer).
ARCHS = [
    ("N1_3-4-3", 1, [3, 4, 3]),
    ("N5_4-4-4-4", 5, [4, 4, 4, 4]),
    ("N7_3-5-6-4-3", 7, [3, 5, 6, 4, 3]),
    ("N6_2-8-5", 6, [2, 8, 5]),
    ("N4_linear_3-2", 4, [3, 2]),
]
ARCH_IDS = [a[0] for a in ARCHS]
KINK_MARGIN = 1e-3  # no hidden pre-activation this close to 0: finite differences stay smooth


def hidden_preactivations(X, params):
    n_layers, h, zs = len(params) // 2, X, []
    for i in range(1, n_layers + 1):
        z = h @ params[f"W{i}"] + params[f"b{i}"]
        zs.append(z)
        h = np.maximum(z, 0)
    return zs[:-1]


def mlp_data(n, sizes, seed):
    """X (n, D), labels y (n,), params {"W1", "b1", ...} (scale 1/sqrt(fan-in), biases non-zero).

    Seeds are tried in order until no hidden pre-activation lies within KINK_MARGIN of the
    ReLU's kink, so the same case always gets the same data.
    """
    for s in range(seed, seed + 1000):
        rng = np.random.default_rng(s)
        X = rng.normal(size=(n, sizes[0]))
        y = rng.integers(0, sizes[-1], size=n)
        params = {}
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            params[f"W{i}"] = rng.normal(scale=1 / np.sqrt(a), size=(a, b))
            params[f"b{i}"] = rng.normal(scale=0.5, size=b)
        zs = hidden_preactivations(X, params)
        if all(np.abs(z).min() > KINK_MARGIN for z in zs):
            return X, y, params
    raise RuntimeError("no seed gives data away from the ReLU kinks")  # never: a grader bug


def torch_mlp_loss(n_layers, y):
    """The MLP and its mean cross-entropy written with torch operations, for torch_oracle."""
    import torch
    import torch.nn.functional as F

    def fn(X, *flat):
        h = X
        for i in range(n_layers):
            h = h @ flat[2 * i] + flat[2 * i + 1]
            if i < n_layers - 1:
                h = torch.relu(h)
        return h if y is None else F.cross_entropy(h, torch.as_tensor(y))

    return fn


def top_down(params):
    """Parameter names from the last layer down: the first wrong one is nearest the mistake."""
    return sorted(params, key=lambda k: (-int(k[1:]), k[0] != "W"))


def mlp_on(X, y, params):
    sizes = " -> ".join(
        str(s)
        for s in [X.shape[1]] + [params[f"W{i}"].shape[1] for i in range(1, len(params) // 2 + 1)]
    )
    return (
        f"X {X.shape} {X.dtype}, y {y.shape}, layers {sizes} (ReLU between), params {list(params)}"
    )


def learner_grads(learner, X, y, params):
    """Call mlp_backward; check the (loss, grads) structure; return both."""
    on = mlp_on(X, y, params)
    loss, grads = as_tuple(learner.mlp_backward(X, y, params), 2, "mlp_backward(X, y, params)", on)
    assert_true(
        isinstance(grads, dict),
        "mlp_backward: grads must be a dict",
        f"got {type(grads).__name__}",
        on=on,
        hint='return (loss, grads), in this order, with grads = {"W1": dW1, "b1": db1, ...}',
    )
    missing = [k for k in params if k not in grads]
    extra = [k for k in grads if k not in params]
    assert_true(
        not missing,
        f"mlp_backward: no gradient for {', '.join(missing)}",
        f"grads has keys {list(grads)}; expected one per parameter: {list(params)}",
        on=on,
        hint="every W and every b gets a gradient: db_l = dz_l.sum(axis=0) at each layer",
    )
    assert_true(
        not extra,
        f"mlp_backward: unexpected keys {extra} in grads",
        f"expected exactly the keys of params: {list(params)}",
        on=on,
    )
    for k, p in params.items():
        assert_shape(grads[k], p.shape, f"mlp_backward: gradient of {k}", on=on)
    return loss, grads


@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
@pytest.mark.part("mlp_forward", points=1)
def test_mlp_forward_matches_torch(learner, arch):
    """Logits equal the same MLP written with torch operations, same weights."""
    _, n, sizes = arch
    X, y, params = mlp_data(n, sizes, seed=30)
    exp, _ = torch_oracle(torch_mlp_loss(len(params) // 2, None), X, *params.values())
    got = learner.mlp_forward(X, params)
    assert_close(
        got,
        exp,
        "mlp_forward(X, params)",
        on=mlp_on(X, y, params),
        inputs={"X": X},
        hint="z = h @ W + b at every layer; ReLU after every layer except the last (logits stay linear)",
    )


@pytest.mark.part("mlp_forward", points=1)
def test_mlp_forward_float32(learner, ref):
    """float32 inputs give the reference logits at float32 precision."""
    X, y, params = mlp_data(7, [3, 5, 6, 4, 3], seed=31)
    X32, p32 = X.astype(np.float32), {k: v.astype(np.float32) for k, v in params.items()}
    exp = ref.mlp_forward(X32.astype(np.float64), {k: v.astype(np.float64) for k, v in p32.items()})
    assert_close(
        learner.mlp_forward(X32, p32),
        exp,
        "mlp_forward(X, params) in float32",
        on=mlp_on(X32, y, p32),
    )


@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
@pytest.mark.part("mlp_backward", points=0.5)
def test_mlp_backward_structure_and_loss(learner, ref, arch):
    """Returns (loss, grads): the reference loss, and a gradient of the right shape for every W and b."""
    _, n, sizes = arch
    X, y, params = mlp_data(n, sizes, seed=40)
    loss, _ = learner_grads(learner, X, y, params)
    assert_close(
        loss,
        ref.mlp_backward(X, y, params)[0],
        "mlp_backward: loss",
        on=mlp_on(X, y, params),
        batch=n,
        **LOSS_TOL,
        hint="the loss is the mean softmax cross-entropy of mlp_forward's logits",
    )


@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
@pytest.mark.part("mlp_backward", points=2)
def test_mlp_backward_matches_finite_differences(learner, ref, arch):
    """Every gradient, by name, equals float64 central differences of the reference loss."""
    _, n, sizes = arch
    X, y, params = mlp_data(n, sizes, seed=50)
    _, grads = learner_grads(learner, X, y, params)

    def loss_with(name):
        def f(value):
            return ref.softmax_cross_entropy(ref.mlp_forward(X, params | {name: value}), y)[0]

        return f

    numeric = {k: numerical_gradient(loss_with(k), p) for k, p in params.items()}
    hint = (
        "walk the layers backwards: dense_backward at each layer, then relu_backward with that layer's "
        "pre-activation z (not its output) before the layer below"
    )
    for k in top_down(params):
        others = {f"gradient of {j}": v for j, v in numeric.items() if j != k}
        assert_gradient(
            grads[k],
            numeric[k],
            f"mlp_backward: gradient of {k}",
            on=mlp_on(X, y, params),
            batch=n,
            others=others,
            hint=hint,
        )


@pytest.mark.parametrize("arch", ARCHS[1:4], ids=ARCH_IDS[1:4])
@pytest.mark.part("mlp_backward", points=1)
def test_mlp_backward_matches_torch_autograd(learner, arch):
    """Loss and every gradient equal torch.autograd on the same MLP, same weights."""
    _, n, sizes = arch
    X, y, params = mlp_data(n, sizes, seed=60)
    on = mlp_on(X, y, params)
    loss_t, grads_t = torch_oracle(
        torch_mlp_loss(len(params) // 2, y), X, *params.values(), grad_of=range(1, len(params) + 1)
    )
    loss, grads = learner_grads(learner, X, y, params)
    assert_close(loss, loss_t, "mlp_backward: loss (vs torch)", on=on, **LOSS_TOL)
    expected = dict(zip(params, grads_t))
    for k in top_down(params):
        others = {f"gradient of {j}": v for j, v in expected.items() if j != k}
        assert_close(
            grads[k],
            expected[k],
            f"mlp_backward: gradient of {k} (vs torch.autograd)",
            on=on,
            batch=n,
            others=others,
        )


@pytest.mark.part("mlp_backward", points=1)
def test_mlp_backward_float32(learner, ref):
    """float32 inputs give every gradient at float32 precision (central differences in float64)."""
    X, y, params = mlp_data(7, [3, 5, 6, 4, 3], seed=70)
    X32, p32 = X.astype(np.float32), {k: v.astype(np.float32) for k, v in params.items()}
    X64, p64 = X32.astype(np.float64), {k: v.astype(np.float64) for k, v in p32.items()}
    on = mlp_on(X32, y, p32)
    loss, grads = learner_grads(learner, X32, y, p32)
    assert_close(
        loss, ref.mlp_backward(X64, y, p64)[0], "mlp_backward: loss in float32", on=on, **LOSS_TOL
    )
    for k in top_down(params):
        numeric = numerical_gradient(
            lambda v, k=k: ref.softmax_cross_entropy(ref.mlp_forward(X64, p64 | {k: v}), y)[0],
            p64[k],
        )
        # a float64 result from float32 inputs is checked at float32 precision too
        assert_gradient(
            np.asarray(grads[k], dtype=np.float32),
            numeric,
            f"mlp_backward: gradient of {k} in float32",
            on=on,
            batch=7,
        )


def xor_data():
    """Four Gaussian clusters at (+-1, +-1); the label is 1 where the signs differ (XOR)."""
    rng = np.random.default_rng(80)
    corners = np.array([[-1, -1], [1, 1], [-1, 1], [1, -1]], dtype=float)
    k = np.repeat(np.arange(4), 16)
    X = corners[k] + rng.normal(scale=0.25, size=(64, 2))
    return X, (k >= 2).astype(np.int64)


@pytest.mark.part("mlp_backward", points=2)
def test_mlp_backward_trains_xor(learner, ref, report):
    """Gradient descent with your gradients fits XOR (no linear model can) within the budget."""
    X, y = xor_data()
    _, _, params = mlp_data(1, [2, 12, 2], seed=81)
    lr, steps = 0.5, 60  # the reference gets below 0.1 in ~20 steps and to ~0.02 in 60
    losses, reference, ref_params = [], [], params
    for _ in range(steps):
        loss, grads = learner_grads(learner, X, y, params)
        losses.append(float(loss))
        params = {k: v - lr * np.asarray(grads[k], dtype=np.float64) for k, v in params.items()}
        ref_loss, ref_grads = ref.mlp_backward(X, y, ref_params)
        reference.append(ref_loss)
        ref_params = {k: v - lr * ref_grads[k] for k, v in ref_params.items()}
    # for `nnfs plot`, passed or not: training with your gradients beside the reference's
    report["figure"] = {"kind": "curves", "title": "mlp_backward: gradient descent on XOR",
                        "ylabel": "mean cross-entropy", "curves": {"yours": losses, "reference": reference}}  # fmt: skip
    assert_converges(
        losses,
        0.1,
        "mlp_backward: gradient descent on XOR",
        budget=steps,
        reference=reference,
        on=f"64 points in 4 clusters, layers 2 -> 12 -> 2, lr={lr}, full batch",
        hint="if the loss goes up, a gradient has the wrong sign; if it stalls, one is missing or scaled",
    )
