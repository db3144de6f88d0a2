"""Grader for perceptron: prediction, the training loop, decision boundary and grid, XOR.

Layers: shapes and dtypes -> values against the reference (exact ties at z = 0 included)
-> the exact training trajectory -> convergence on separable data -> what the boundary
means (points on the line, the line separates the data) -> XOR never reaches zero mistakes.

Most data are multiples of 1/4 (and learning rates powers of 2): every dot product and
update is then exact in float32 and float64 whatever the summation order, so any correct
implementation reproduces the reference's trajectory exactly, ties at z = 0 included.
"""

import numpy as np
import pytest

from nnfs_cli.checks import assert_close, assert_converges, assert_shape, assert_true, describe


def quarters(rng, shape, scale=1.5):
    """Normal values rounded to multiples of 1/4 (exact arithmetic in float32 and float64)."""
    return np.round(rng.normal(scale=scale, size=shape) * 4) / 4


def dyadic_separable(n, d, seed):
    """n samples of multiples of 1/4, labelled by a hyperplane they all miss by >= 1/4."""
    rng = np.random.default_rng(seed)
    u = np.round(rng.normal(size=d) * 4) / 4
    X = quarters(rng, (8 * n, d))
    z = X @ u
    c = -np.round(np.median(z) * 4) / 4  # about half the samples on each side
    keep = np.abs(z + c) >= 0.25
    X = X[keep][:n]
    return X, (X @ u + c > 0).astype(np.int64)


def blobs(n, d, seed, margin=0.5, gap=1.0):
    """Two Gaussian blobs on either side of a random hyperplane, with a margin: separable.

    The blobs sit around a random centre c (so the bias matters); every sample is at least
    `margin` away from the hyperplane through c normal to the unit vector u.
    """
    rng = np.random.default_rng(seed)
    u = rng.normal(size=d)
    u /= np.linalg.norm(u)
    c = rng.normal(scale=2.0, size=d)
    y = rng.permutation(np.arange(n) % 2)
    sign = 2 * y - 1
    X = c + rng.normal(size=(n, d)) + (sign * gap)[:, None] * u
    s = (X - c) @ u
    push = np.where(y == 1, np.maximum(margin - s, 0), -np.maximum(margin + s, 0))
    return X + push[:, None] * u, y


def unpack_run(got, what, on):
    """The (w, b, mistakes_per_epoch) triple of a training run, or a clear failure."""
    assert_true(
        isinstance(got, tuple | list) and len(got) == 3,
        what,
        f"expected a triple (w, b, mistakes_per_epoch), got {type(got).__name__}"
        + (f" of length {len(got)}" if isinstance(got, tuple | list) else ""),
        on=on,
        hint="return w, b, history",
    )
    return got


def _counts(values, limit=15):
    text = str([int(v) if float(v).is_integer() else float(v) for v in values[:limit]])
    return text[:-1] + ", ...]" if len(values) > limit else text


def check_history(got_hist, exp_hist, epochs, what, on, hint):
    """Mistakes per epoch: first the epochs both runs have (where the rule shows), then the length.

    Counts are small integers: they are compared exactly with assert_true, which names the first
    epoch that differs (assert_close's shape stories, e.g. "off-by-one", mislead on 3 counts).
    """
    got = np.ravel(np.asarray(got_hist, dtype=np.float64))
    exp = np.asarray(exp_hist, dtype=np.float64)
    n = min(got.size, exp.size)
    differ = np.flatnonzero(got[:n] != exp[:n])
    first = int(differ[0]) if differ.size else 0
    assert_true(
        differ.size == 0,
        f"{what}: wrong mistakes per epoch",
        f"epoch {first + 1}: expected {int(exp[first])}, got {got[first]:g} mistakes\n"
        f"  expected: {_counts(exp)}\n  got:      {_counts(got)}",
        on=on,
        hint=hint,
    )
    if got.size > exp.size:
        hint = (
            f"epoch {exp.size} had no mistake, so the data are separated: stop right after it "
            "(the history then ends with that 0)"
        )
    elif exp.size == epochs:
        hint = f"the data were never separated, so all {epochs} epochs run: one entry per epoch"
    else:
        hint = "record every epoch, including the last, mistake-free one: append its count (0), then stop"
    assert_true(
        got.size == exp.size,
        f"{what}: wrong number of epochs",
        f"expected {exp.size} epochs, got {got.size}\n  expected: {_counts(exp)}\n  got:      {_counts(got)}",
        on=on,
        hint=hint,
    )


def reaches_zero(curve, what, *, budget, on, reference, hint):
    """assert_converges to 0 mistakes; if its terminal plot breaks, the same verdict without the plot.

    Work-around: nnfs_cli.checks.loss_plot calls plotext.clear_figure, which plotext 6 no longer
    has, so a failing assert_converges raised AttributeError instead of GradeFailure.
    """
    try:
        return assert_converges(
            curve, 0, what, budget=budget, on=on, reference=reference, hint=hint
        )
    except AttributeError:
        assert_true(
            False,
            f"{what}: did not converge",
            f"best {min(curve[:budget], default=float('nan')):g} in {len(curve[:budget])} epochs; needed to get "
            f"down to 0 within {budget}; yours: {curve[:12]}, reference: {list(reference)[:12]}",
            on=on,
            hint=hint,
        )


# --------------------------------------------------------------------------- predict


@pytest.mark.parametrize("shape", [(1, 1), (1, 3), (7, 2), (10, 5)], ids=str)
@pytest.mark.part("predict", points=0.25)
def test_predict_shape_and_dtype(learner, shape):
    """predict returns (N,) numbers (integers or floats, not booleans) for several (N, D)."""
    rng = np.random.default_rng(sum(shape))
    X, w, b = rng.normal(size=shape), rng.normal(size=shape[1]), float(rng.normal())
    on = describe(X=X, w=w, b=b)
    got = learner.predict(X, w, b)
    assert_true(
        not (isinstance(got, np.ndarray) and got.dtype == bool),
        "predict(X, w, b): wrong dtype",
        "returned booleans; expected the labels 0 and 1 as numbers",
        on=on,
        hint="convert the comparison: (X @ w + b >= 0).astype(int)",
    )
    assert_shape(got, (shape[0],), "predict(X, w, b)", on=on)


@pytest.mark.part("predict", points=1)
def test_predict_values(learner, ref):
    """Labels equal the reference on random float64 data (D = 4, N = 9), bias included."""
    rng = np.random.default_rng(1)
    X, w, b = rng.normal(size=(9, 4)), rng.normal(size=4), 0.7
    assert_close(
        learner.predict(X, w, b),
        ref.predict(X, w, b),
        "predict(X, w, b)",
        on=describe(X=X, w=w, b=b),
        hint="y_hat = 1 where X @ w + b >= 0, else 0 (labels are 0 and 1, not -1 and +1)",
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.part("predict", points=1)
def test_predict_on_the_boundary(learner, ref, dtype):
    """Points exactly on the boundary (X @ w + b == 0) get label 1, in float64 and float32."""
    rng = np.random.default_rng(2)
    w = np.array([0.5, -0.5, 1.0], dtype=dtype)
    X = (np.round(rng.normal(size=(11, 3))) / 2).astype(dtype)
    X[::3, 2] = (X[::3, 1] - X[::3, 0]) / 2 + 0.25  # X @ w - 0.25 == 0 exactly on these rows
    b = -0.25
    expected = ref.predict(X, w, b)
    assert_close(
        learner.predict(X, w, b),
        expected,
        "predict(X, w, b) with points on the boundary",
        on=describe(X=X, w=w, b=b) + f"; X @ w + b = {(X @ w + b).tolist()}",
        hint="step(0) = 1: compare with >= 0, not > 0",
    )


# --------------------------------------------------------------------------- train_perceptron


@pytest.mark.parametrize("n,d", [(1, 1), (5, 1), (6, 3)], ids=str)
@pytest.mark.part("train_perceptron", points=0.5)
def test_train_returns_w_b_history(learner, n, d):
    """train_perceptron returns (w of shape (D,), a number b, a 1-D history of at most `epochs` counts)."""
    X, y = dyadic_separable(n, d, seed=n + d)
    on = describe(X=X, y=y, epochs=5)
    w, b, hist = unpack_run(
        learner.train_perceptron(X, y, epochs=5), "train_perceptron(X, y, epochs=5)", on
    )
    assert_shape(w, (d,), "train_perceptron: w", on=on)
    assert_shape(b, (), "train_perceptron: b", on=on)
    hist = np.asarray(hist)
    assert_true(
        hist.ndim == 1 and 1 <= hist.size <= 5,
        "train_perceptron: mistakes_per_epoch",
        f"expected a list of 1 to 5 counts (one per epoch run), got shape {hist.shape}",
        on=on,
        hint="append one count per epoch: history.append(mistakes)",
    )


def trajectory_cases():
    """(id, X, y, kwargs): small runs whose whole trajectory is checked."""
    cases = []
    X, y = dyadic_separable(9, 2, seed=3)
    cases.append(("2-D from zeros", X, y, {}))
    X = np.array([[0.5, -1.25, 2.0]])
    cases.append(("one sample, label 0", X, np.array([0]), {"epochs": 10}))
    X, y = dyadic_separable(7, 1, seed=5)
    cases.append(
        ("D=1 with w0, b0, lr=0.5", X, y, {"lr": 0.5, "w0": np.array([0.75]), "b0": -0.25})
    )
    X, y = dyadic_separable(13, 4, seed=1)
    cases.append(("4-D, 13 samples", X, y, {"epochs": 50}))
    rng = np.random.default_rng(7)
    X, y = quarters(rng, (11, 2)), rng.integers(0, 2, size=11)
    cases.append(("random labels: all 6 epochs run", X, y, {"epochs": 6}))
    X, y = dyadic_separable(8, 3, seed=4)
    cases.append(
        (
            "float32, lr=0.25, w0 given",
            X.astype(np.float32),
            y,
            {"lr": 0.25, "w0": np.array([0.5, -0.25, 1.0], dtype=np.float32), "b0": 0.5},
        )
    )
    return cases


TRAJECTORIES = trajectory_cases()


@pytest.mark.parametrize("case", TRAJECTORIES, ids=[c[0] for c in TRAJECTORIES])
@pytest.mark.part("train_perceptron", points=1)
def test_train_trajectory(learner, ref, case):
    """The mistakes per epoch, the final w and the final b equal the reference's exactly."""
    name, X, y, kwargs = case
    epochs = kwargs.get("epochs", 100)
    settings = [f"{k}={v.tolist() if isinstance(v, np.ndarray) else v}" for k, v in kwargs.items()]
    on = ", ".join([describe(X=X, y=y), f"y = {y.tolist()}", *settings]) + f" ({name})"
    what = "train_perceptron(" + ", ".join(["X", "y", *(f"{k}=..." for k in kwargs)]) + ")"
    w, b, hist = unpack_run(learner.train_perceptron.with_timeout(30)(X, y, **kwargs), what, on)
    exp_w, exp_b, exp_hist = ref.train_perceptron(X, y, **kwargs)
    check_history(
        hist,
        exp_hist,
        epochs,
        what,
        on,
        hint="for each sample in order, predict with the current (w, b) (step(0) = 1); on a mistake "
        "count it and update w += lr (y - y_hat) x, b += lr (y - y_hat); nothing else changes w",
    )
    assert_close(
        w,
        exp_w,
        f"{what}: final w",
        on=on,
        inputs={"w0": kwargs.get("w0", np.zeros(X.shape[1]))},
        hint="on a mistake w <- w + lr (y - y_hat) x; start from w0 (zeros if None)",
    )
    assert_close(
        b,
        exp_b,
        f"{what}: final b",
        on=on,
        hint="the bias learns too: b <- b + lr (y - y_hat), from b0",
    )


CONVERGENCE = [
    (25, 1, 3, np.float64),
    (51, 2, 2, np.float64),
    (51, 2, 2, np.float32),
    (101, 5, 5, np.float64),
    (77, 10, 4, np.float64),
    (1, 3, 0, np.float64),
]


@pytest.mark.parametrize(
    "n,d,seed,dtype",
    CONVERGENCE,
    ids=[f"N={n},D={d},{np.dtype(t).name}" for n, d, seed, t in CONVERGENCE],
)
@pytest.mark.part("train_perceptron", points=1)
def test_train_separates_blobs(learner, ref, n, d, seed, dtype):
    """On separable Gaussian blobs, training reaches an epoch with zero mistakes within 100 epochs."""
    X, y = blobs(n, d, seed)
    X = X.astype(dtype)
    on = describe(X=X, y=y, epochs=100) + " (two Gaussian blobs, margin 0.5)"
    w, b, hist = unpack_run(
        learner.train_perceptron.with_timeout(30)(X, y, epochs=100),
        "train_perceptron(X, y, epochs=100)",
        on,
    )
    ref_hist = ref.train_perceptron(X, y, epochs=100)[2]  # 20 epochs or fewer on these data
    hist = reaches_zero(
        np.ravel(np.asarray(hist, dtype=np.float64)).tolist(),
        "train_perceptron: mistakes per epoch",
        budget=100,
        on=on,
        reference=ref_hist,
        hint="the data are separable: the perceptron must find a separating line; "
        "check the update's sign, that the bias is learned, and that the 0 is recorded",
    )
    shown = f"mistakes per epoch {hist[:12]}{'...' if len(hist) > 12 else ''}"
    assert_true(
        hist[-1] == 0,
        "train_perceptron: the history does not end with the mistake-free epoch",
        f"{shown} do not end with 0",
        on=on,
        hint="append the epoch's count before stopping: the last, mistake-free epoch is recorded as 0",
    )
    assert_true(
        0 not in hist[:-1],
        "train_perceptron: kept training after separating the data",
        f"{shown}: epoch {hist.index(0) + 1 if 0 in hist else 0} had no mistake, yet training went on",
        on=on,
        hint="stop right after the first epoch with no mistake",
    )
    X64 = X.astype(np.float64)
    errors = int((ref.predict(X64, np.asarray(w, dtype=np.float64), float(b)) != y).sum())
    assert_true(
        errors == 0,
        "train_perceptron: the returned (w, b) do not separate the data",
        f"{errors} of {n} training samples misclassified by step(X @ w + b)",
        on=on,
        hint="return the final w and b, the ones of the mistake-free epoch",
    )


# --------------------------------------------------------------------------- decision_boundary


@pytest.mark.parametrize(
    "m,dtype", [(2, np.float64), (7, np.float64), (6, np.float32)], ids=["M=2", "M=7", "float32"]
)
@pytest.mark.part("decision_boundary", points=1)
def test_decision_boundary_values(learner, ref, m, dtype):
    """ys = -(w[0] xs + b) / w[1] equals the reference, for M points, float64 and float32."""
    rng = np.random.default_rng(m + 20)  # seeds where neither weight is near 0
    w, b = rng.normal(size=2).astype(dtype), 0.8
    xs = np.linspace(-2, 3, m).astype(dtype)
    assert_close(
        learner.decision_boundary(w, b, xs),
        ref.decision_boundary(w, b, xs),
        "decision_boundary(w, b, xs)",
        on=describe(w=w, b=b, xs=xs) + f", w = {w.tolist()}",
        inputs={"xs": xs},
        hint="solve w[0] x + w[1] y + b = 0 for y: y = -(w[0] x + b) / w[1]",
    )


@pytest.mark.part("decision_boundary", points=1)
def test_decision_boundary_points_are_on_the_line(learner):
    """Every returned (x, y) satisfies w[0] x + w[1] y + b = 0."""
    # Dyadic w, b and xs: the line's points are y = 3 x - 0.5, exact in float32 and float64 alike.
    w, b, xs = np.array([1.5, -0.5]), -0.25, np.linspace(-3, 3, 9)
    ys = assert_shape(
        learner.decision_boundary(w, b, xs),
        xs.shape,
        "decision_boundary(w, b, xs)",
        on=describe(w=w, b=b, xs=xs),
    )
    ys = ys.astype(np.float64)
    assert_close(
        w[0] * xs + w[1] * ys + b,
        np.zeros_like(xs),
        "w[0] x + w[1] y + b at the returned points",
        on=f"w = {w.tolist()}, b = {b}, xs = {xs.tolist()}",
        hint="the points (x, y) must lie on the line where w . (x, y) + b = 0",
    )


@pytest.mark.part("decision_boundary", points=1)
def test_decision_boundary_separates_trained_data(learner, ref, report):
    """For a trained 2-D perceptron, class-1 points lie on one side of the line and class-0 on the other."""
    X, y = blobs(41, 2, seed=8)
    w, b, _ = ref.train_perceptron(X, y)
    ys = np.asarray(learner.decision_boundary(w, b, X[:, 0]), dtype=np.float64)
    if ys.shape == (41,):  # for `nnfs plot`: your line over the data it should separate
        report["figure"] = {"kind": "boundary", "title": "perceptron: your decision boundary on trained blobs",
                            "X": X.tolist(), "y": y.tolist(), "line_x": X[:, 0].tolist(), "line_y": ys.tolist()}
    on = describe(X=X, y=y) + f", w = {w.round(4).tolist()}, b = {b:.4f} (trained on the blobs)"
    assert_shape(ys, (41,), "decision_boundary(w, b, X[:, 0])", on=on)
    above = (X[:, 1] - ys) * np.sign(w[1]) > 0  # the side where w . x + b > 0
    wrong = int((above != (y == 1)).sum())
    assert_true(
        wrong == 0,
        "decision_boundary: the line does not separate the classes",
        f"{wrong} of 41 points are on the wrong side of your line (class 1 should be where w . x + b > 0)",
        on=on,
        hint="y = -(w[0] x + b) / w[1]: mind both signs and which weight goes where",
    )


# --------------------------------------------------------------------------- decision_grid


@pytest.mark.parametrize("n", [1, 4, 7])
@pytest.mark.part("decision_grid", points=0.25)
def test_decision_grid_shape(learner, n):
    """decision_grid returns an (n, n) array of numbers."""
    w, b = np.array([1.0, 2.0]), -0.5
    on = describe(w=w, b=b, x_range=(-1.0, 2.0), y_range=(0.0, 1.0), n=n)
    got = learner.decision_grid(w, b, (-1.0, 2.0), (0.0, 1.0), n)
    assert_true(
        not (isinstance(got, np.ndarray) and got.dtype == bool),
        "decision_grid: wrong dtype",
        "returned booleans; expected the labels 0 and 1 as numbers",
        on=on,
        hint="use .astype(int)",
    )
    assert_shape(got, (n, n), "decision_grid(w, b, x_range, y_range, n)", on=on)


GRIDS = [
    ("generic", np.array([0.8, -1.3]), 0.4, (-2.0, 3.0), (-1.0, 1.5), 6),
    ("steep", np.array([-2.0, 0.3]), 0.9, (0.0, 1.0), (-5.0, 5.0), 9),
    ("one point", np.array([1.0, 1.0]), -1.0, (2.0, 3.0), (-4.0, 0.0), 1),
]


@pytest.mark.parametrize("case", GRIDS, ids=[g[0] for g in GRIDS])
@pytest.mark.part("decision_grid", points=1)
def test_decision_grid_values(learner, ref, case):
    """grid[i, j] is the prediction at (xs[j], ys[i]), with different x and y ranges."""
    _, w, b, xr, yr, n = case
    on = f"w = {w.tolist()}, b = {b}, x_range = {xr}, y_range = {yr}, n = {n}"
    assert_close(
        learner.decision_grid(w, b, xr, yr, n),
        ref.decision_grid(w, b, xr, yr, n),
        "decision_grid(w, b, x_range, y_range, n)",
        on=on,
        hint="xs = linspace(*x_range, n), ys = linspace(*y_range, n); row i is y = ys[i], column j is "
        "x = xs[j] (np.meshgrid(xs, ys), default indexing)",
    )


@pytest.mark.parametrize(
    "w,b", [([1.0, -1.0], 0.0), ([0.5, 0.25], -0.25)], ids=["diagonal", "dyadic"]
)
@pytest.mark.part("decision_grid", points=1)
def test_decision_grid_on_the_boundary(learner, ref, w, b):
    """Grid points exactly on the boundary get label 1, like predict."""
    w = np.array(w)
    on = f"w = {w.tolist()}, b = {b}, x_range = y_range = (-1, 1), n = 5 (some grid points have w . p + b == 0)"
    assert_close(
        learner.decision_grid(w, b, (-1.0, 1.0), (-1.0, 1.0), 5),
        ref.decision_grid(w, b, (-1.0, 1.0), (-1.0, 1.0), 5),
        "decision_grid on a grid through the boundary",
        on=on,
        hint="step(0) = 1: a point on the line is labelled 1",
    )


# --------------------------------------------------------------------------- xor_experiment

XOR_RUNS = [
    (1, 1.0, None, 0.0),
    (10, 0.1, None, 0.0),
    (60, 2.0, [-0.5, 1.0], -0.25),
    (25, 0.3, [2.0, -1.0], 0.7),
]


@pytest.mark.parametrize(
    "epochs,lr,w0,b0",
    XOR_RUNS,
    ids=[
        f"{e} epochs, lr={lr}, {'zeros' if w is None else 'w0=' + str(w)}"
        for e, lr, w, _ in XOR_RUNS
    ],
)
@pytest.mark.part("xor_experiment", points=1)
def test_xor_never_separated(learner, epochs, lr, w0, b0):
    """On XOR every one of the `epochs` epochs makes at least one mistake, and all of them run."""
    w0 = None if w0 is None else np.array(w0)
    on = f"xor_experiment(epochs={epochs}, lr={lr}, w0={None if w0 is None else w0.tolist()}, b0={b0})"
    _, _, hist = unpack_run(
        learner.xor_experiment.with_timeout(30)(epochs, lr, w0, b0), "xor_experiment", on
    )
    hist = np.ravel(np.asarray(hist, dtype=np.float64))
    assert_true(
        bool((hist >= 1).all()),
        "xor_experiment: an epoch without a mistake on XOR",
        f"mistakes per epoch {hist[:12].astype(int).tolist()}: epoch {int(np.argmin(hist >= 1)) + 1} has none, "
        "but no line separates XOR",
        on=on,
        hint="check the data: X = [[0,0],[0,1],[1,0],[1,1]], y = [0,1,1,0] (1 when the inputs differ)",
    )
    assert_true(
        hist.size == epochs,
        "xor_experiment: wrong number of epochs",
        f"expected {epochs} counts, got {hist.size}: {hist[:12].astype(int).tolist()}",
        on=on,
        hint="XOR is never separated, so training never stops early: one count per epoch",
    )


@pytest.mark.part("xor_experiment", points=2)
def test_xor_trajectory(learner, ref):
    """The XOR run (w, b and mistakes per epoch) equals the reference's, from zeros and from two other starts."""
    # One test for the three runs, all called before any check: from zeros, several wrong
    # rules give identical XOR runs; the other starts tell them apart, so a diagnosis
    # (which needs every recorded call) names the right one.
    starts = [
        (1.0, None, 0.0),
        (0.5, np.array([0.25, -0.5]), 0.25),
        (1.0, np.array([-0.5, 1.0]), -0.25),
    ]
    runs = [learner.xor_experiment.with_timeout(30)(12, lr, w0, b0) for lr, w0, b0 in starts]
    hint = (
        "rows in the order [0,0], [0,1], [1,0], [1,1] with labels [0, 1, 1, 0], from w0 (zeros if None) "
        "and b0, with the same rule as train_perceptron"
    )
    for (lr, w0, b0), got in zip(starts, runs):
        on = (
            f"xor_experiment(epochs=12, lr={lr}, w0={None if w0 is None else w0.tolist()}, b0={b0})"
        )
        w, b, hist = unpack_run(got, "xor_experiment", on)
        exp_w, exp_b, exp_hist = ref.xor_experiment(12, lr, w0, b0)
        check_history(hist, exp_hist, 12, "xor_experiment", on, hint)
        assert_close(w, exp_w, "xor_experiment: final w", on=on, hint=hint)
        assert_close(b, exp_b, "xor_experiment: final b", on=on, hint=hint)
