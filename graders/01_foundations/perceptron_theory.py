"""Grader for perceptron-theory: activations, their derivatives, the neuron, the update rule.

Layers: shapes and dtypes -> values against the reference -> derivatives against central
differences -> numerical stability -> the neuron -> the perceptron rule.
"""

import numpy as np
import pytest

from nnfs_cli.checks import (
    assert_close,
    assert_gradient,
    assert_shape,
    describe,
    numerical_derivative,
)

ACTIVATIONS = ["step", "step_grad", "sigmoid", "sigmoid_grad", "relu", "relu_grad"]
SHAPES = [(1,), (7,), (3, 5), (2, 3, 4)]


def sample(shape, seed, dtype=np.float64):
    """Normal values with scale 3, and some exact zeros (where step and ReLU change)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=3.0, size=shape)
    z.ravel()[::4] = 0.0
    return z.astype(dtype)


def per_function(points, *others):
    """One case per activation (times each of `others`), marked with that activation's part."""
    cases = [(n, *rest) for n in ACTIVATIONS for rest in (others[0] if others else [()])]
    return [pytest.param(*c, marks=pytest.mark.part(c[0], points=points), id="-".join(map(str, c))) for c in cases]


@pytest.mark.parametrize(("name", "shape"), per_function(0.25, [(s,) for s in SHAPES]))
def test_shape_and_dtype(learner, name, shape):
    """Output has the input's shape and a floating dtype."""
    z = sample(shape, seed=len(shape))
    out = assert_shape(getattr(learner, name)(z), shape, f"{name}(z)", on=describe(z=z))
    assert np.issubdtype(out.dtype, np.floating), (
        f"{name}(z): returned dtype {out.dtype}; expected floating point numbers\n"
        "  hint: a comparison such as z >= 0 gives booleans: convert with .astype(z.dtype)"
    )


@pytest.mark.parametrize(("name", "dtype"), per_function(1, [("float64",), ("float32",)]))
def test_values(learner, ref, name, dtype):
    """Values equal the reference on random inputs with exact zeros."""
    z = sample((6, 9), seed=11, dtype=dtype)
    assert_close(getattr(learner, name)(z), getattr(ref, name)(z), f"{name}(z)", on=describe(z=z), inputs={"z": z},
                 hint="the table in the lesson gives each formula; mind the convention at z = 0")


@pytest.mark.part("sigmoid_grad", points=2)
def test_sigmoid_grad_matches_finite_differences(learner, ref):
    """sigmoid_grad(z) is the derivative of sigmoid, by central differences."""
    z = sample((4, 5), seed=3)
    numeric = numerical_derivative(ref.sigmoid, z)
    assert_gradient(learner.sigmoid_grad(z), numeric, "sigmoid_grad(z)", on=describe(z=z),
                    hint="sigmoid'(z) = s (1 - s) with s = sigmoid(z), not z (1 - z)")


@pytest.mark.part("relu_grad", points=2)
def test_relu_grad_matches_finite_differences(learner, ref):
    """relu_grad(z) is the derivative of relu away from the kink at 0."""
    z = sample((4, 5), seed=4)
    z[z == 0] = 0.5  # the derivative does not exist at 0: its convention is tested in test_values
    numeric = numerical_derivative(ref.relu, z)
    assert_gradient(learner.relu_grad(z), numeric, "relu_grad(z)", on=describe(z=z))


@pytest.mark.part("sigmoid", points=2)
def test_sigmoid_is_stable_for_large_inputs(learner, ref):
    """sigmoid stays finite and exact at z = +-1000 (exp(1000) is inf: exp(z) / (1 + exp(z)) gives NaN)."""
    z = np.array([-1000.0, -710.0, -50.0, 0.0, 50.0, 710.0, 1000.0])
    assert_close(learner.sigmoid(z), ref.sigmoid(z), "sigmoid(z) for large |z|", on=f"z = {z.tolist()}",
                 large_input=True, hint="exp(1000) is inf in float64; build the result from exp(-|z|)")


@pytest.mark.part("sigmoid_grad", points=1)
def test_sigmoid_grad_is_stable_for_large_inputs(learner, ref):
    """sigmoid_grad is finite (and tiny) at z = +-1000."""
    z = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    # A few ulps of the largest value (0.25): s * (1 - s) rounds 1 - s to 0 for large
    # positive z (0 where the exact value is 1.93e-22 at z = 50), the exact e / (1 + e)**2
    # does not; both are right, NaN or a wrong formula is far outside.
    assert_close(learner.sigmoid_grad(z), ref.sigmoid_grad(z), "sigmoid_grad(z) for large |z|", on=f"z = {z.tolist()}",
                 large_input=True, atol=4 * np.finfo(np.float64).eps * 0.25)


@pytest.mark.parametrize("activation", ["step", "sigmoid", "relu", "linear"])
@pytest.mark.part("neuron", points=1)
def test_neuron_single_and_batch(learner, ref, activation):
    """neuron(x, w, b) for one sample (D,) and for a batch (N, D), D = 3 and 1."""
    rng = np.random.default_rng(5)
    for n, d in [(1, 3), (8, 3), (5, 1)]:
        X, w, b = rng.normal(size=(n, d)), rng.normal(size=d), float(rng.normal())
        on = describe(X=X, w=w, b=b, activation=activation)
        assert_close(learner.neuron(X, w, b, activation), ref.neuron(X, w, b, activation), f"neuron(X, w, b, {activation!r})", on=on,
                     hint="z = X @ w + b, then the activation; do not forget the bias")
        x = X[0]
        got = assert_shape(learner.neuron(x, w, b, activation), (), f"neuron(x, w, b, {activation!r}) for one sample x",
                           on=describe(x=x, w=w, b=b))
        assert_close(got, ref.neuron(x, w, b, activation), f"neuron(x, w, b, {activation!r}) for one sample", on=describe(x=x, w=w, b=b))


UPDATE_CASES = [
    # (w, b, x, y, lr, what happens)
    ([0.5, -1.0], 0.0, [1.0, 2.0], 1, 1.0, "a false negative: w . x + b < 0 but y = 1"),
    ([0.5, -1.0], 0.2, [3.0, 1.0], 0, 0.5, "a false positive: w . x + b >= 0 but y = 0"),
    ([0.5, -1.0], 0.0, [3.0, 1.0], 1, 1.0, "a correct prediction: nothing changes"),
    ([0.0, 0.0, 0.0], 0.0, [1.0, -2.0, 0.5], 0, 0.1, "z = 0 exactly, so y_hat = 1 and y = 0: a mistake"),
    ([1.0, 1.0], -2.5, [1.0, 1.0], 1, 1.0, "the bias decides: w . x = 2 but w . x + b < 0, a false negative"),
    ([1.0, -1.0], 0.5, [1.0, 1.0], 0, 0.5, "the bias decides: w . x = 0 but w . x + b > 0, a false positive"),
]


@pytest.mark.parametrize("case", UPDATE_CASES, ids=[c[-1].split(":")[0] for c in UPDATE_CASES])
@pytest.mark.part("perceptron_update", points=2)
def test_perceptron_update(learner, ref, case):
    """One update of the perceptron rule is exact, for w and for b."""
    w, b, x, y, lr, what = case
    w, x = np.array(w), np.array(x)
    on = f"w={w.tolist()}, b={b}, x={x.tolist()}, y={y}, lr={lr} ({what})"
    got = learner.perceptron_update(w, b, x, y, lr)
    exp_w, exp_b = ref.perceptron_update(w, b, x, y, lr)
    assert isinstance(got, tuple | list) and len(got) == 2, (
        f"perceptron_update: expected a pair (w, b), got {type(got).__name__}\n  input: {on}"
    )
    assert_close(got[0], exp_w, "perceptron_update: new w", on=on, inputs={"w": w},
                 hint="w <- w + lr (y - y_hat) x, with y_hat = step(w . x + b)")
    assert_close(got[1], exp_b, "perceptron_update: new b", on=on, hint="the bias moves too: b <- b + lr (y - y_hat)")
