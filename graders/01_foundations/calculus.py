"""Grader for calculus: numerical gradients, hand-derived gradients, the chain rule, descent.

Layers: the numerical gradient (shape -> exact central differences -> agreement with exact
gradients -> float32 and integer inputs) -> hand-derived gradients against the reference
and against central differences -> the chain rule -> optimiser trajectories step by step
-> convergence to the minimum of a quadratic bowl and of Rosenbrock's valley.
"""

import numpy as np
import pytest

from nnfs_cli import objectives as obj
from nnfs_cli.checks import (
    FLOAT32_ATOL,
    FLOAT32_RTOL,
    assert_close,
    assert_converges,
    assert_gradient,
    assert_shape,
    assert_true,
    describe,
    numerical_gradient,
)

CENTRAL_HINT = "entry i is (f(x + h e_i) - f(x - h e_i)) / (2h): move one coordinate at a time, both ways, divide by 2h"


def _quadratic(A, b, x):
    return 0.5 * x @ A @ x + b @ x


def _composite(x, W):
    return float(np.sum(np.tanh(W @ x) ** 2))


def _logistic_data(n, d, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X, w = rng.normal(size=(n, d)), rng.normal(size=d)
    y = rng.integers(0, 2, size=n)
    return w.astype(dtype), X.astype(dtype), y.astype(dtype)


def _tolerance(dtype):
    # The loss is a plain number, and float64 labels promote a float32 gradient to float64,
    # so the automatic float32 loosening cannot see the float32 inputs: state it here.
    return {"rtol": FLOAT32_RTOL, "atol": FLOAT32_ATOL} if dtype == np.float32 else {}


# --------------------------------------------------------------------------- numerical_gradient


@pytest.mark.part("numerical_gradient", points=1)
def test_numerical_gradient_shape(learner):
    """The numerical gradient has the shape of x, for vectors, matrices and 3-D arrays."""
    for k, shape in enumerate([(1,), (5,), (3, 4), (2, 3, 2)]):
        x = np.random.default_rng(k).normal(size=shape)
        out = assert_shape(
            learner.numerical_gradient(obj.wavy, x),
            shape,
            "numerical_gradient(wavy, x)",
            on=describe(x=x),
        )
        assert_true(
            np.issubdtype(out.dtype, np.floating),
            "numerical_gradient(wavy, x): wrong dtype",
            f"expected floating point numbers, got {out.dtype}",
            on=describe(x=x),
        )


@pytest.mark.parametrize(
    ("name", "shape", "h"),
    [("wavy", (3, 4), 0.1), ("rosenbrock", (4,), 0.01), ("wavy", (2, 1, 3), 1e-3)],
)
@pytest.mark.part("numerical_gradient", points=1)
def test_numerical_gradient_is_central_difference(learner, ref, name, shape, h):
    """At a large stated h, every entry is exactly the central difference (f(x+h e_i) - f(x-h e_i)) / 2h."""
    f = getattr(obj, name)
    x = np.random.default_rng(7).normal(size=shape)
    on = describe(f=name, x=x, h=h)
    # At this h the O(h^2) truncation error is visible, so the value pins the formula down:
    # a forward difference, a division by h, or an ignored h all give different numbers.
    assert_close(
        learner.numerical_gradient(f, x, h),
        ref.numerical_gradient(f, x, h),
        f"numerical_gradient({name}, x, h={h})",
        on=on,
        hint=CENTRAL_HINT,
    )


ANALYTIC_CASES = [
    ("wavy", (1,)),
    ("wavy", (7,)),
    ("wavy", (3, 4)),
    ("wavy", (2, 3, 2)),
    ("rosenbrock", (5,)),
    ("bowl", (2,)),
]


@pytest.mark.parametrize(
    ("name", "shape"), ANALYTIC_CASES, ids=[f"{n}{s}" for n, s in ANALYTIC_CASES]
)
@pytest.mark.part("numerical_gradient", points=0.5)
def test_numerical_gradient_matches_exact_gradient(learner, name, shape):
    """With the default h = 1e-5 the result agrees with the exact gradient to 1e-6 relative."""
    f, grad = getattr(obj, name), getattr(obj, f"{name}_grad")
    x = np.random.default_rng(len(shape) + shape[0]).normal(size=shape)
    exact = grad(x)
    # Central differences at h = 1e-5 are within ~1e-9 of the exact gradient (relative);
    # a forward difference is off by ~h f''/2 ~ 1e-5, far outside 1e-6.
    assert_close(
        learner.numerical_gradient(f, x),
        exact,
        f"numerical_gradient({name}, x) against the exact gradient",
        on=describe(x=x),
        rtol=1e-6,
        atol=1e-7 * float(np.abs(exact).max()),
        hint="use the central difference (error ~h^2), not the forward one (error ~h); keep the default h = 1e-5",
    )


@pytest.mark.parametrize("dtype", [np.float32, np.int64], ids=["float32", "int64"])
@pytest.mark.part("numerical_gradient", points=0.5)
def test_numerical_gradient_float32_and_integer_x(learner, dtype):
    """A float32 or integer x is differentiated in float64 (x + 1e-5 must not round back to x)."""
    rng = np.random.default_rng(3)
    x = (
        rng.normal(scale=2.0, size=(2, 3))
        if dtype == np.float32
        else rng.integers(-3, 4, size=(2, 3))
    ).astype(dtype)
    exact = obj.wavy_grad(x.astype(np.float64))
    # Tolerance as in the float64 test: the exact answer does not depend on x's dtype.
    assert_close(
        learner.numerical_gradient(obj.wavy, x),
        exact,
        "numerical_gradient(wavy, x)",
        on=describe(x=x),
        rtol=1e-6,
        atol=1e-7 * float(np.abs(exact).max()),
        hint=f"copy x to float64 first (np.array(x, dtype=np.float64)): in {np.dtype(dtype).name}, x + 1e-5 is rounded",
    )


# --------------------------------------------------------------------------- quadratic_grad


@pytest.mark.parametrize("d", [1, 2, 5])
@pytest.mark.part("quadratic_grad", points=1)
def test_quadratic_grad_values(learner, ref, d):
    """The gradient of 1/2 x^T A x + b^T x equals 1/2 (A + A^T) x + b for a non-symmetric A."""
    rng = np.random.default_rng(10 + d)
    A, b, x = rng.normal(size=(d, d)), rng.normal(size=d), rng.normal(size=d)
    A[0, 0] += 0.5  # for d = 1 too, A x + b and (A + A^T) x + b differ from the answer
    assert_close(
        learner.quadratic_grad(A, b, x),
        ref.quadratic_grad(A, b, x),
        "quadratic_grad(A, b, x)",
        on=describe(A=A, b=b, x=x) + " (A is not symmetric)",
        hint="d/dx (x^T A x) = (A + A^T) x; with the 1/2, the quadratic part is 1/2 (A + A^T) x",
    )


@pytest.mark.part("quadratic_grad", points=1)
def test_quadratic_grad_matches_central_differences(learner):
    """quadratic_grad agrees with central differences of f(x) = 1/2 x^T A x + b^T x."""
    rng = np.random.default_rng(20)
    A, b, x = rng.normal(size=(4, 4)), rng.normal(size=4), rng.normal(size=4)
    numeric = numerical_gradient(lambda v: _quadratic(A, b, v), x)
    assert_gradient(
        learner.quadratic_grad(A, b, x),
        numeric,
        "quadratic_grad(A, b, x)",
        on=describe(A=A, b=b, x=x),
    )


@pytest.mark.part("quadratic_grad", points=0.5)
def test_quadratic_grad_float32(learner, ref):
    """float32 inputs give the right gradient (at float32 precision)."""
    rng = np.random.default_rng(21)
    A, b, x = (rng.normal(size=s).astype(np.float32) for s in [(3, 3), 3, 3])
    assert_close(
        learner.quadratic_grad(A, b, x),
        ref.quadratic_grad(A, b, x),
        "quadratic_grad(A, b, x)",
        on=describe(A=A, b=b, x=x),
    )


# --------------------------------------------------------------------------- logistic loss


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.part("logistic_loss", points=1)
def test_logistic_loss_values(learner, ref, dtype):
    """The mean binary cross-entropy equals the reference for N = 1, 7, 10 samples."""
    for n, d in [(1, 3), (7, 3), (10, 1)]:
        w, X, y = _logistic_data(n, d, seed=n, dtype=dtype)
        assert_close(
            learner.logistic_loss(w, X, y),
            ref.logistic_loss(w, X, y),
            "logistic_loss(w, X, y)",
            on=describe(w=w, X=X, y=y),
            batch=n,
            **_tolerance(dtype),
            hint="L = mean(log(1 + exp(z)) - y z) with z = X w: the mean over the N samples",
        )


@pytest.mark.part("logistic_loss", points=1)
def test_logistic_loss_is_stable_for_large_margins(learner, ref):
    """The loss is finite and exact when |X w| reaches 1000, for right and wrong labels."""
    X = np.array([[1000.0], [-1000.0], [1000.0], [-1000.0], [30.0], [-30.0]])
    w, y = np.array([1.0]), np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    assert_close(
        learner.logistic_loss(w, X, y),
        ref.logistic_loss(w, X, y),
        "logistic_loss(w, X, y) for large |X w|",
        on=f"z = X w = {(X @ w).tolist()}, y = {y.tolist()}",
        large_input=True,
        hint="log(sigmoid(1000)) is fine but log(1 - sigmoid(1000)) = log(0): use log(1 + exp(z)) - y z via np.logaddexp(0, z)",
    )


@pytest.mark.parametrize(("n", "d"), [(1, 3), (7, 3), (10, 1), (64, 5)])
@pytest.mark.part("logistic_loss_grad", points=0.5)
def test_logistic_loss_grad_values(learner, ref, n, d):
    """The gradient X^T (sigmoid(X w) - y) / N equals the reference."""
    w, X, y = _logistic_data(n, d, seed=100 + n)
    assert_close(
        learner.logistic_loss_grad(w, X, y),
        ref.logistic_loss_grad(w, X, y),
        "logistic_loss_grad(w, X, y)",
        on=describe(w=w, X=X, y=y),
        batch=n,
        inputs={"w": w},
        hint="dL/dw = X^T (p - y) / N with p = sigmoid(X w): prediction minus label, averaged",
    )


@pytest.mark.part("logistic_loss_grad", points=1)
def test_logistic_loss_grad_matches_central_differences(learner, ref):
    """logistic_loss_grad agrees with central differences of the loss."""
    w, X, y = _logistic_data(9, 4, seed=5)
    numeric = numerical_gradient(lambda v: ref.logistic_loss(v, X, y), w)
    assert_gradient(
        learner.logistic_loss_grad(w, X, y),
        numeric,
        "logistic_loss_grad(w, X, y)",
        on=describe(w=w, X=X, y=y),
        batch=9,
    )


@pytest.mark.part("logistic_loss_grad", points=0.5)
def test_logistic_loss_grad_float32(learner, ref):
    """float32 inputs give the right gradient (at float32 precision)."""
    w, X, y = _logistic_data(6, 3, seed=6, dtype=np.float32)
    assert_close(
        learner.logistic_loss_grad(w, X, y),
        ref.logistic_loss_grad(w, X, y),
        "logistic_loss_grad(w, X, y)",
        on=describe(w=w, X=X, y=y),
        batch=6,
        **_tolerance(np.float32),
    )


# --------------------------------------------------------------------------- chain rule

CHAIN_SIZES = [(1, 1), (3, 5), (4, 2), (6, 6)]


def _chain_inputs(m, d, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(m, d)) / np.sqrt(d)  # keep W x where tanh bends, not where it is flat
    x = rng.normal(scale=1.5, size=d)
    return x.astype(dtype), W.astype(dtype)


def _chain_call(learner, x, W):
    got = learner.chain_rule_grad(x, W)
    assert_true(
        isinstance(got, tuple | list) and len(got) == 2,
        "chain_rule_grad(x, W): wrong result",
        f"expected a pair (grad_x, grad_W), got {type(got).__name__}",
        on=describe(x=x, W=W),
    )
    return got


@pytest.mark.part("chain_rule_grad", points=1)
def test_chain_rule_grad_shapes(learner):
    """chain_rule_grad returns (grad_x of shape (D,), grad_W of shape (M, D))."""
    for m, d in CHAIN_SIZES:
        x, W = _chain_inputs(m, d, seed=m * 10 + d)
        gx, gW = _chain_call(learner, x, W)
        assert_shape(gx, (d,), "chain_rule_grad(x, W): grad_x", on=describe(x=x, W=W))
        assert_shape(gW, (m, d), "chain_rule_grad(x, W): grad_W", on=describe(x=x, W=W))


@pytest.mark.parametrize(("m", "d"), CHAIN_SIZES, ids=str)
@pytest.mark.part("chain_rule_grad", points=1)
def test_chain_rule_grad_matches_central_differences(learner, m, d):
    """grad_x and grad_W of sum(tanh(W x)^2) agree with central differences to 1e-6."""
    x, W = _chain_inputs(m, d, seed=m * 10 + d)
    gx, gW = _chain_call(learner, x, W)
    on = describe(x=x, W=W)
    num_x = numerical_gradient(lambda v: _composite(v, W), x)
    num_W = numerical_gradient(lambda V: _composite(x, V), W)
    hint = "delta = 2a (1 - a^2), a = tanh(W x): the square's derivative times tanh's"
    assert_gradient(
        gx, num_x, "chain_rule_grad(x, W): grad_x", on=on, hint=hint + "; then grad_x = W^T delta"
    )
    assert_gradient(
        gW,
        num_W,
        "chain_rule_grad(x, W): grad_W",
        on=on,
        hint=hint + "; then grad_W = outer(delta, x), shape (M, D)",
    )


@pytest.mark.part("chain_rule_grad", points=0.5)
def test_chain_rule_grad_float32(learner, ref):
    """float32 inputs give the right gradients (at float32 precision)."""
    x, W = _chain_inputs(3, 4, seed=9, dtype=np.float32)
    gx, gW = _chain_call(learner, x, W)
    ex, eW = ref.chain_rule_grad(x, W)
    assert_close(gx, ex, "chain_rule_grad(x, W): grad_x", on=describe(x=x, W=W))
    assert_close(gW, eW, "chain_rule_grad(x, W): grad_W", on=describe(x=x, W=W))


# --------------------------------------------------------------------------- optimisers

OPTIMIZERS = {
    "gradient_descent": "x <- x - lr grad_fn(x); row 0 of the trajectory is x0",
    "momentum": "v starts at 0; v <- beta v + grad_fn(x), then x <- x - lr v",
    "nesterov": "v starts at 0; v <- beta v + grad_fn(x - lr beta v), then x <- x - lr v",
}


def _run(fn, name, grad_fn, x0, lr, beta, steps):
    return (
        fn(grad_fn, x0, lr, steps)
        if name == "gradient_descent"
        else fn(grad_fn, x0, lr, beta, steps)
    )


def _label(name, grad_name, x0, lr, beta, steps):
    extra = "" if name == "gradient_descent" else f", beta={beta}"
    return f"{name}({grad_name}, x0={np.asarray(x0).tolist()} {np.asarray(x0).dtype}, lr={lr}{extra}, steps={steps})"


TRAJECTORY_CASES = [
    # (objective, x0, lr, beta, steps)
    ("bowl", [-3.0, 4.0], 0.05, 0.9, 5),
    ("rosenbrock", [-1.2, 1.0, 0.5], 1e-3, 0.8, 6),
    ("wavy", [0.7], 0.1, 0.5, 4),
    ("wavy", [0.5, -1.0, 2.0, 0.25, -0.75], 0.2, 0.9, 3),
    ("bowl", [2.5, -0.5], 0.1, 0.9, 0),  # no step at all: just x0
]


def _opt_params(points):
    return [pytest.param(name, marks=pytest.mark.part(name, points=points)) for name in OPTIMIZERS]


@pytest.mark.parametrize(
    "case", TRAJECTORY_CASES, ids=[f"{c[0]}-D{len(c[1])}-steps{c[4]}" for c in TRAJECTORY_CASES]
)
@pytest.mark.parametrize("name", _opt_params(0.5))
def test_trajectory_is_exact(learner, ref, name, case):
    """The trajectory equals the reference step by step: shape (steps + 1, D), row 0 = x0."""
    objective, x0, lr, beta, steps = case
    x0, grad_fn = np.array(x0), getattr(obj, f"{objective}_grad")
    label = _label(name, f"{objective}_grad", x0, lr, beta, steps)
    got = _run(getattr(learner, name), name, grad_fn, x0, lr, beta, steps)
    assert_close(
        got,
        _run(getattr(ref, name), name, grad_fn, x0, lr, beta, steps),
        f"{name}: the trajectory",
        on=label,
        hint=f"{OPTIMIZERS[name]}; return every x from x0 on, each row a new array",
    )


@pytest.mark.parametrize("name", _opt_params(0.5))
def test_trajectory_from_float32_start(learner, ref, name):
    """A float32 x0 gives the same trajectory (at float32 precision or better)."""
    x0, lr, beta, steps = np.array([-1.5, 2.0], dtype=np.float32), 0.05, 0.9, 4
    label = _label(name, "bowl_grad", x0, lr, beta, steps)
    got = _run(getattr(learner, name), name, obj.bowl_grad, x0, lr, beta, steps)
    assert_close(
        got,
        _run(getattr(ref, name), name, obj.bowl_grad, x0, lr, beta, steps),
        f"{name}: the trajectory",
        on=label,
        inputs={"x0": x0},  # a float32 question: compared at float32 precision
    )


CONVERGENCE = {
    # name: (lr, beta, steps) on the bowl; (lr, beta, steps, target loss) on Rosenbrock.
    # The reference reaches 1e-6 on the bowl in 230-310 steps; on Rosenbrock it reaches a
    # loss of 1e-4 in ~6200 steps of gradient descent (lr = 1.5e-3; 2e-3 is unstable near the
    # minimum), and 1e-6 in ~1400 steps with momentum or Nesterov (lr = 1e-3, beta = 0.9).
    "gradient_descent": ((0.09, None, 400), (1.5e-3, None, 7000, 1e-4)),
    "momentum": ((0.02, 0.9, 400), (1e-3, 0.9, 2000, 1e-6)),
    "nesterov": ((0.02, 0.9, 400), (1e-3, 0.9, 2000, 1e-6)),
}


@pytest.mark.parametrize("name", _opt_params(1))
def test_converges_on_ill_conditioned_bowl(learner, ref, name):
    """From (-3, 4) the iterates get within 1e-6 of the bowl's minimum (1, -2) within 400 steps."""
    lr, beta, steps = CONVERGENCE[name][0]
    x0 = np.array([-3.0, 4.0])
    label = _label(name, "bowl_grad", x0, lr, beta, steps)
    traj = assert_shape(
        _run(getattr(learner, name).with_timeout(30), name, obj.bowl_grad, x0, lr, beta, steps),
        (steps + 1, 2),
        f"{name}: the trajectory",
        on=label,
    )
    reference = _run(getattr(ref, name), name, obj.bowl_grad, x0, lr, beta, steps)
    assert_converges(
        np.linalg.norm(traj - obj.BOWL_MIN, axis=1),
        1e-6,
        f"{name}: distance to the minimum of bowl",
        budget=steps + 1,
        on=label,
        reference=np.linalg.norm(reference - obj.BOWL_MIN, axis=1),
        hint=OPTIMIZERS[name],
    )


def _rosenbrock_rows(traj):
    x, y = traj[:, 0], traj[:, 1]
    return 100.0 * (y - x**2) ** 2 + (1.0 - x) ** 2


@pytest.mark.parametrize("name", _opt_params(1))
def test_converges_on_rosenbrock(learner, ref, name):
    """From (-1.2, 1) the loss gets down the curved valley to the minimum (1, 1) within the step budget."""
    lr, beta, steps, target = CONVERGENCE[name][1]
    x0 = np.array([-1.2, 1.0])
    label = _label(name, "rosenbrock_grad", x0, lr, beta, steps)
    traj = assert_shape(
        _run(
            getattr(learner, name).with_timeout(30), name, obj.rosenbrock_grad, x0, lr, beta, steps
        ),
        (steps + 1, 2),
        f"{name}: the trajectory",
        on=label,
    )
    # A diverging trajectory is reported by assert_converges; its overflow is no warning.
    with np.errstate(over="ignore", invalid="ignore"):
        losses = _rosenbrock_rows(np.asarray(traj, dtype=np.float64))
    reference = _rosenbrock_rows(
        _run(getattr(ref, name), name, obj.rosenbrock_grad, x0, lr, beta, steps)
    )
    assert_converges(
        losses,
        target,
        f"{name}: rosenbrock(x) along the trajectory",
        budget=steps + 1,
        on=label,
        reference=reference,
        hint=OPTIMIZERS[name],
    )
