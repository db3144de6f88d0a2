"""Grader for forward-propagation: the dense layer, four activations, the MLP forward pass.

Layers: shapes -> values against PyTorch (float64, then float32 inputs) -> the weight
convention on square weights -> activation details (slopes, the GELU form, large inputs)
-> the MLP's structure for any layer list -> its values against an `nn.Sequential` with
the same weights. PyTorch is the oracle and is imported only inside the tests.
"""

import numpy as np
import pytest

from nnfs_cli.checks import assert_close, assert_shape, assert_true, describe, torch_oracle

ACTIVATIONS = ["tanh", "relu", "leaky_relu", "gelu"]
ELEMENTWISE_SHAPES = [(1,), (7,), (3, 5), (2, 3, 4)]
# (N, D_in, D_out): batch 1, a plain case, 1 -> 1, a single output, a square W,
# and N == D_out (where b added along the wrong axis still broadcasts).
DENSE_SHAPES = [(1, 3, 4), (5, 3, 4), (6, 1, 1), (4, 7, 1), (3, 5, 5), (3, 2, 3)]
# Layer widths D_0, ..., D_L: 1, 2 and 4 layers, widths 1 and odd, one all-square stack.
ARCHITECTURES = [(3, 2), (4, 6, 3), (5, 1, 4), (3, 7, 1, 5, 2), (4, 4, 4, 4)]
BATCHES = (1, 6)

ACTIVATION_HINTS = {
    "tanh": "tanh(x) = (e^x - e^-x) / (e^x + e^-x); np.tanh computes it",
    "relu": "max(0, x) keeps x itself where x > 0; elementwise it is np.maximum(x, 0) "
    "(np.max(x, 0) reduces over axis 0)",
    "leaky_relu": "x where x >= 0, negative_slope * x elsewhere; the default slope is 0.01",
    "gelu": "the tanh form 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), sqrt(2/pi) = 0.79788; "
    "the exact erf form 0.5 x (1 + erf(x / sqrt(2))) differs by up to 4.7e-4 and is not accepted",
}


def sample(shape, seed, dtype=np.float64, scale=3.0):
    """Normal values with exact zeros (where ReLU and leaky ReLU change)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=scale, size=shape)
    z.ravel()[::5] = 0.0
    return z.astype(dtype)


def dense_case(n, d_in, d_out, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d_in))
    W = rng.normal(size=(d_in, d_out))
    b = rng.normal(size=d_out)
    return X.astype(dtype), W.astype(dtype), b.astype(dtype)


def network(widths, n, seed, dtype=np.float64):
    """X and params for an MLP; pre-activations of both signs, of order 1."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, widths[0])).astype(dtype)
    params = []
    for d_in, d_out in zip(widths[:-1], widths[1:]):
        W = rng.normal(scale=1.5 / np.sqrt(d_in), size=(d_in, d_out)).astype(dtype)
        b = rng.normal(scale=0.5, size=d_out).astype(dtype)
        params.append((W, b))
    # A tuple, not a list: the sandbox's input-mutation check compares a list of arrays with
    # `!=`, which is ambiguous for arrays, and reports every such list as modified.
    return X, tuple(params)


def on_network(X, params, activation):
    widths = [params[0][0].shape[0]] + [W.shape[1] for W, _ in params]
    return f"X {X.shape} {X.dtype}, {len(params)} layer(s) of widths {widths}, activation={activation!r}"


# ------------------------------------------------------------------------------ oracles
def torch_dense(X, W, b):
    """nn.Linear stores (D_out, D_in): F.linear(x, W.T, b) is our X @ W + b."""
    import torch.nn.functional as F

    return torch_oracle(lambda x, w, bias: F.linear(x, w.T, bias), X, W, b)[0]


def torch_activation(name, x, negative_slope=0.01):
    import torch
    import torch.nn.functional as F

    fn = {
        "tanh": torch.tanh,
        "relu": F.relu,
        "leaky_relu": lambda t: F.leaky_relu(t, negative_slope),
        "gelu": lambda t: F.gelu(t, approximate="tanh"),
    }[name]
    return torch_oracle(fn, x)[0]


def torch_mlp(X, params, activation):
    """An nn.Sequential with our weights copied in (transposed, as nn.Linear wants them)."""
    import torch
    from torch import nn

    modules = {
        "tanh": nn.Tanh,
        "relu": nn.ReLU,
        "leaky_relu": lambda: nn.LeakyReLU(0.01),
        "gelu": lambda: nn.GELU(approximate="tanh"),
    }
    layers = []
    for i, (W, b) in enumerate(params):
        linear = nn.Linear(*W.shape, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(W.T, dtype=torch.float64))
            linear.bias.copy_(torch.tensor(b, dtype=torch.float64))
        layers.append(linear)
        if i < len(params) - 1:
            layers.append(modules[activation]())
    model = nn.Sequential(*layers)
    hiddens = []
    with torch.no_grad():
        h = torch.tensor(X, dtype=torch.float64)
        for layer in model:
            h = layer(h)
            if not isinstance(layer, nn.Linear):
                hiddens.append(h.numpy())
    return h.numpy(), hiddens


# ------------------------------------------------------------------------------ dense_forward
@pytest.mark.parametrize("dims", DENSE_SHAPES, ids=lambda d: "N{}-in{}-out{}".format(*d))
@pytest.mark.part("dense_forward", points=0.25)
def test_dense_forward_shape(learner, dims):
    """dense_forward returns (N, D_out), also for batch 1 and widths of 1."""
    n, d_in, d_out = dims
    X, W, b = dense_case(n, d_in, d_out, seed=sum(dims))
    assert_shape(
        learner.dense_forward(X, W, b),
        (n, d_out),
        "dense_forward(X, W, b)",
        on=describe(X=X, W=W, b=b),
    )


@pytest.mark.part("dense_forward", points=2)
def test_dense_forward_values(learner):
    """dense_forward equals torch's F.linear(X, W.T, b) in float64, for every size."""
    for k, (n, d_in, d_out) in enumerate(DENSE_SHAPES):
        X, W, b = dense_case(n, d_in, d_out, seed=10 + k)
        assert_close(
            learner.dense_forward(X, W, b),
            torch_dense(X, W, b),
            "dense_forward(X, W, b)",
            on=describe(X=X, W=W, b=b),
            inputs={"X": X},
            hint="Y = X @ W + b with W of shape (D_in, D_out); the bias is added to every row",
        )


@pytest.mark.part("dense_forward", points=1.5)
def test_dense_forward_square_weight_convention(learner):
    """With a square W the shapes cannot tell W from W.T: the values must still be X @ W + b."""
    for k, (n, d) in enumerate([(4, 3), (1, 5)]):
        X, W, b = dense_case(n, d, d, seed=30 + k)
        assert_close(
            learner.dense_forward(X, W, b),
            torch_dense(X, W, b),
            "dense_forward(X, W, b), W square",
            on=describe(X=X, W=W, b=b),
            hint="W is stored (D_in, D_out) here, so the layer is X @ W; X @ W.T is PyTorch's "
            "nn.Linear convention, where the weight is stored (D_out, D_in)",
        )


@pytest.mark.part("dense_forward", points=1)
def test_dense_forward_float32(learner):
    """float32 inputs give the right values at float32 precision."""
    for k, (n, d_in, d_out) in enumerate([(5, 3, 4), (1, 6, 2)]):
        X, W, b = dense_case(n, d_in, d_out, seed=40 + k, dtype=np.float32)
        # The expected values are cast to float32 so the comparison is at float32 precision
        # whatever dtype the learner returns (float32 inputs cannot carry more).
        expected = torch_dense(X, W, b).astype(np.float32)
        assert_close(
            learner.dense_forward(X, W, b),
            expected,
            "dense_forward(X, W, b) in float32",
            on=describe(X=X, W=W, b=b),
            hint="Y = X @ W + b",
        )


# ------------------------------------------------------------------------------ activations
@pytest.mark.parametrize("shape", ELEMENTWISE_SHAPES, ids=str)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_shape_and_dtype(learner, name, shape, request):
    """The activation keeps the input's shape and returns floating point numbers."""
    request.node.add_marker(pytest.mark.part(name, points=0.25))
    x = sample(shape, seed=len(shape))
    out = assert_shape(getattr(learner, name)(x), shape, f"{name}(x)", on=describe(x=x))
    assert_true(
        np.issubdtype(out.dtype, np.floating),
        f"{name}(x): wrong dtype",
        f"expected floating point numbers, got dtype {out.dtype}",
        on=describe(x=x),
        hint="an activation of a float array is a float array of the same shape",
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_values(learner, name, dtype, request):
    """Values equal PyTorch's (F.gelu with approximate='tanh'; leaky slope 0.01 by default)."""
    request.node.add_marker(pytest.mark.part(name, points=1))
    x = sample((6, 9), seed=11, dtype=dtype)
    expected = torch_activation(name, x)
    if dtype == np.float32:  # compare at float32 precision whatever dtype comes back
        expected = expected.astype(np.float32)
    assert_close(
        getattr(learner, name)(x),
        expected,
        f"{name}(x)",
        on=describe(x=x),
        inputs={"x": x},
        hint=ACTIVATION_HINTS[name],
    )


LEAKY_SLOPES = [
    (0.2, "the negative_slope argument is used, not a fixed 0.01"),
    (0.0, "negative_slope = 0 is plain ReLU"),
    (
        1.5,
        "the definition holds for any slope; np.maximum(negative_slope * x, x) equals it only for slopes <= 1",
    ),
]


@pytest.mark.parametrize("case", LEAKY_SLOPES, ids=[f"slope{s}" for s, _ in LEAKY_SLOPES])
@pytest.mark.part("leaky_relu", points=1)
def test_leaky_relu_slopes(learner, case):
    """leaky_relu(x, negative_slope) for slopes 0.2, 0 and 1.5 matches F.leaky_relu."""
    slope, why = case
    x = sample((4, 5), seed=12)
    assert_close(
        learner.leaky_relu(x, slope),
        torch_activation("leaky_relu", x, slope),
        f"leaky_relu(x, negative_slope={slope})",
        on=describe(x=x, negative_slope=slope),
        inputs={"x": x},
        hint=f"f(x) = x for x >= 0, negative_slope * x for x < 0 ({why})",
    )


LARGE = np.array([-1000.0, -710.0, -400.0, -50.0, -1e-3, 0.0, 1e-3, 50.0, 400.0, 710.0, 1000.0])


@pytest.mark.parametrize("name", ["tanh", "gelu"])
def test_activation_stable_for_large_inputs(learner, name, request):
    """tanh and gelu stay finite and exact at |x| up to 1000 (e^x overflows past 709)."""
    request.node.add_marker(pytest.mark.part(name, points=1))
    assert_close(
        getattr(learner, name)(LARGE),
        torch_activation(name, LARGE),
        f"{name}(x) for large |x|",
        on=f"x = {LARGE.tolist()}",
        large_input=True,
        hint="e^1000 is inf and inf / inf is NaN: use np.tanh, or 1 - 2 / (e^(2x) + 1)",
    )


# ------------------------------------------------------------------------------ mlp_forward
def unpack(result, X, params, activation):
    """Check the (output, hiddens) structure and every shape; return both."""
    on = on_network(X, params, activation)
    what = f"mlp_forward(X, params, activation={activation!r})"
    assert_true(
        isinstance(result, tuple | list) and len(result) == 2,
        f"{what}: wrong return value",
        f"expected a pair (output, hiddens), got {type(result).__name__}"
        + (f" of length {len(result)}" if isinstance(result, tuple | list) else ""),
        on=on,
        hint="return output, hiddens",
    )
    output, hiddens = result
    n, widths = X.shape[0], [W.shape[1] for W, _ in params]
    output = assert_shape(output, (n, widths[-1]), f"{what}: output", on=on)
    assert_true(
        isinstance(hiddens, tuple | list),
        f"{what}: hiddens is not a list",
        f"expected a list of {len(params) - 1} arrays, got {type(hiddens).__name__}",
        on=on,
        hint="collect each hidden layer's activation in a list",
    )
    too_many = "neither the input X nor the output belongs in it"
    too_few = "every layer but the last is a hidden layer: check the bounds of your layer loop"
    assert_true(
        len(hiddens) == len(params) - 1,
        f"{what}: wrong number of hidden activations",
        f"{len(params)} layer(s) have {len(params) - 1} hidden layer(s); got {len(hiddens)} arrays "
        f"of shapes {[tuple(np.shape(h)) for h in hiddens]}",
        on=on,
        hint=f"hiddens = [h_1, ..., h_(L-1)]: {too_many if len(hiddens) >= len(params) else too_few}",
    )
    hiddens = [
        assert_shape(h, (n, d), f"{what}: hiddens[{i}]", on=on)
        for i, (h, d) in enumerate(zip(hiddens, widths))
    ]
    return output, hiddens


@pytest.mark.parametrize("widths", ARCHITECTURES, ids=lambda w: "-".join(map(str, w)))
@pytest.mark.part("mlp_forward", points=0.5)
def test_mlp_forward_structure(learner, widths):
    """mlp_forward returns (output (N, D_L), [L - 1 hidden activations (N, D_l)]) for any layer list."""
    for n in BATCHES:
        X, params = network(widths, n, seed=sum(widths) + n)
        unpack(learner.mlp_forward(X, params, "relu"), X, params, "relu")


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.part("mlp_forward", points=2)
def test_mlp_forward_values(learner, activation):
    """Output and every hidden activation equal an nn.Sequential with the same weights."""
    for k, widths in enumerate(ARCHITECTURES):
        for n in BATCHES:
            X, params = network(widths, n, seed=100 + 10 * k + n)
            on = on_network(X, params, activation)
            output, hiddens = unpack(
                learner.mlp_forward(X, params, activation), X, params, activation
            )
            exp_output, exp_hiddens = torch_mlp(X, params, activation)
            for i, (h, e) in enumerate(zip(hiddens, exp_hiddens)):
                assert_close(
                    h,
                    e,
                    f"mlp_forward: hiddens[{i}] (layer {i + 1}, after the activation)",
                    on=on,
                    hint=f"h_l = {activation}(h_(l-1) @ W_l + b_l), stored after the activation "
                    f"(and {activation} itself must pass its own tests)",
                )
            assert_close(
                output,
                exp_output,
                "mlp_forward: output",
                on=on,
                hint="the last layer is linear: output = h_(L-1) @ W_L + b_L, with no activation after it",
            )


@pytest.mark.part("mlp_forward", points=0.5)
def test_mlp_forward_default_activation_is_relu(learner):
    """Without an activation argument, mlp_forward uses ReLU."""
    X, params = network((3, 5, 2), 4, seed=7)
    output, hiddens = unpack(learner.mlp_forward(X, params), X, params, "relu")
    exp_output, exp_hiddens = torch_mlp(X, params, "relu")
    assert_close(
        hiddens[0],
        exp_hiddens[0],
        "mlp_forward(X, params): hiddens[0]",
        on=on_network(X, params, "relu"),
        hint='the default is activation="relu"',
    )
    assert_close(
        output, exp_output, "mlp_forward(X, params): output", on=on_network(X, params, "relu")
    )


@pytest.mark.part("mlp_forward", points=1)
def test_mlp_forward_float32(learner):
    """float32 inputs and weights give the right output and hiddens at float32 precision."""
    X, params = network((4, 6, 5, 3), 5, seed=9, dtype=np.float32)
    on = on_network(X, params, "tanh")
    output, hiddens = unpack(learner.mlp_forward(X, params, "tanh"), X, params, "tanh")
    exp_output, exp_hiddens = torch_mlp(X, params, "tanh")
    for i, (h, e) in enumerate(zip(hiddens, exp_hiddens)):
        # expected cast to float32: compared at float32 precision whatever dtype comes back
        assert_close(h, e.astype(np.float32), f"mlp_forward: hiddens[{i}] in float32", on=on)
    assert_close(output, exp_output.astype(np.float32), "mlp_forward: output in float32", on=on)
