"""Grader for probability: stable softmax family, information measures, MLE, Bayes.

Layers, per function: shapes and dtypes -> values against the float64 reference (float64
and float32 inputs, several sizes and axes) -> properties and closed forms (rows sum to 1,
KL >= 0, KL(p, p) = 0, known entropies, the likelihood is maximal, the medical test) ->
the gradient of logsumexp is the softmax -> numerical stability (logits of +-1000, zeros in
p, data far from the origin).
"""

import numpy as np
import pytest

from nnfs_cli.checks import (
    assert_close,
    assert_gradient,
    assert_shape,
    assert_true,
    describe,
    numerical_gradient,
)

# (shape, axis): a batch, 1-D, a batch of one, odd sizes, a single class, 3-D, axes other
# than -1. A batch comes first: a mistake shows on many values at once, and the diagnosis
# can tell a consistent story (a scalar fits any "scale factor").
LOGIT_CASES = [
    ((4, 3), -1),
    ((1,), -1),
    ((7,), -1),
    ((7,), 0),
    ((1, 5), -1),
    ((4, 3), 0),
    ((5, 1), -1),
    ((2, 3, 4), -1),
    ((2, 3, 4), 1),
    ((2, 3, 4), 0),
]
DIST_CASES = [
    ((5, 3), -1),
    ((1,), -1),
    ((6,), -1),
    ((6,), 0),
    ((1, 4), -1),
    ((5, 3), 0),
    ((2, 3, 4), 1),
]
SOFTMAX_FAMILY = ["logsumexp", "softmax", "log_softmax"]
INFO = ["entropy", "cross_entropy", "kl_divergence"]
DTYPES = [(np.float64, 2), (np.float32, 1)]  # (input dtype, points)
DTYPE_IDS = ["float64", "float32"]

SOFTMAX_HINTS = {
    "logsumexp": "m = max(z, axis, keepdims=True); m + log(sum(exp(z - m), axis)), with m squeezed",
    "softmax": "e = exp(z - max(z, axis, keepdims=True)); e / sum(e, axis, keepdims=True)",
    "log_softmax": "z - logsumexp(z, axis) with the reduced axis kept (keepdims=True)",
}
INFO_HINTS = {
    "entropy": "H(p) = -sum p log p over `axis` (natural log), terms with p = 0 are 0",
    "cross_entropy": "H(p, q) = -sum p log q over `axis`: p is the target, q the prediction",
    "kl_divergence": "KL(p || q) = sum p log(p / q) = H(p, q) - H(p); the order of p and q matters",
}


def reduced(shape, axis):
    """The shape of a reduction over `axis`."""
    return tuple(s for i, s in enumerate(shape) if i != axis % len(shape))


def logits(shape, seed, dtype=np.float64):
    """Normal logits with scale 3 (probabilities from ~1e-4 to ~1)."""
    return np.random.default_rng(seed).normal(scale=3.0, size=shape).astype(dtype)


def distribution(shape, axis, seed, zeros=True, dtype=np.float64):
    """Random distributions along `axis`; with `zeros`, about a third of the entries are 0."""
    rng = np.random.default_rng(seed)
    w = rng.gamma(0.8, size=shape) + 1e-3
    if zeros:
        keep = np.argmax(w, axis=axis)  # each distribution keeps its largest entry
        w[rng.random(shape) < 0.35] = 0.0
        np.put_along_axis(w, np.expand_dims(keep, axis), 1.0, axis=axis)
    return (w / w.sum(axis=axis, keepdims=True)).astype(dtype)


def as64(a):
    return np.asarray(a, dtype=np.float64)


def show(**arrays):
    """describe(...), followed by the values of the small arrays (a learner can redo them by hand)."""
    small = [
        f"{k} = {np.round(as64(v), 4).tolist()}"
        for k, v in arrays.items()
        if isinstance(v, np.ndarray) and v.size <= 8
    ]
    return describe(**arrays) + (": " + ", ".join(small) if small else "")


# ---------------------------------------------------------------- softmax family: shapes


@pytest.mark.parametrize("name", SOFTMAX_FAMILY)
def test_softmax_family_shapes(learner, name, request):
    """Output shape: logsumexp drops `axis`, softmax and log_softmax keep z's shape; floats."""
    request.node.add_marker(pytest.mark.part(name, points=1))
    for k, (shape, axis) in enumerate(LOGIT_CASES):
        z = logits(shape, seed=k)
        want = reduced(shape, axis) if name == "logsumexp" else shape
        got = assert_shape(
            getattr(learner, name)(z, axis=axis),
            want,
            f"{name}(z, axis={axis})",
            on=describe(z=z, axis=axis),
        )
        assert_true(
            np.issubdtype(got.dtype, np.floating),
            f"{name}(z, axis={axis}): wrong dtype",
            f"expected floating point numbers, got {got.dtype}",
            on=describe(z=z),
        )


# ---------------------------------------------------------------- softmax family: values


@pytest.mark.parametrize(("dtype", "points"), DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", SOFTMAX_FAMILY)
def test_softmax_family_values(learner, ref, name, dtype, points, request):
    """Values equal the float64 reference for every shape and axis (1-D, 2-D, 3-D)."""
    request.node.add_marker(pytest.mark.part(name, points=points))
    for k, (shape, axis) in enumerate(LOGIT_CASES):
        z = logits(shape, seed=10 + k, dtype=dtype)
        assert_close(
            getattr(learner, name)(z, axis=axis),
            getattr(ref, name)(as64(z), axis=axis),
            f"{name}(z, axis={axis})",
            on=show(z=z, axis=axis),
            inputs={"z": z},
            hint=SOFTMAX_HINTS[name] + "; reduce over `axis`, not always the last one",
        )


@pytest.mark.part("softmax", points=1)
def test_softmax_sums_to_one(learner):
    """Every slice of softmax(z, axis) along `axis` is positive and sums to 1."""
    for k, (shape, axis) in enumerate(LOGIT_CASES):
        z = logits(shape, seed=20 + k)
        on = show(z=z, axis=axis)
        got = assert_shape(learner.softmax(z, axis=axis), shape, f"softmax(z, axis={axis})", on=on)
        assert_close(
            np.sum(
                got, axis=axis
            ),  # float64 logits: a float32 answer is held to float64 (checks.tolerances)
            np.ones(reduced(shape, axis)),
            f"sum of softmax(z, axis={axis}) along axis {axis}",
            on=on,
            hint="normalise along the same axis you were given (keepdims=True), not the whole array",
        )
        assert_true(
            bool(np.all(got > 0)),
            f"softmax(z, axis={axis}): not positive",
            "every probability exp(z_k) / sum exp(z_j) is > 0 for these moderate logits",
            on=on,
        )


@pytest.mark.part("softmax", points=1)
def test_softmax_is_the_gradient_of_logsumexp(learner, ref):
    """softmax(z) equals the gradient of logsumexp(z), by central differences."""
    for n in (1, 2, 6):
        z = logits((n,), seed=30 + n)
        numeric = numerical_gradient(ref.logsumexp, z)
        assert_gradient(
            learner.softmax(z),
            numeric,
            "softmax(z) as the gradient of logsumexp(z)",
            on=show(z=z),
            hint="d/dz_k log sum_j exp(z_j) = exp(z_k) / sum_j exp(z_j)",
        )


# ---------------------------------------------------------------- softmax family: stability

BIG = np.array(
    [
        [1000.0, -1000.0, 0.0],
        [1000.0, 1000.0, 1000.0],
        [-1000.0, -1000.0, -1000.0],
        [-1000.0, -999.0, -998.0],
        [710.0, 0.0, -710.0],
        [0.0, -800.0, 1e-3],
    ]
)
# float32 overflows above exp(88.7) and underflows to 0 below exp(-103.9).
BIG32 = np.array(
    [[100.0, -100.0, 0.0], [100.0, 100.0, 100.0], [-100.0, -100.0, -100.0], [0.0, -200.0, 89.0]],
    dtype=np.float32,
)


@pytest.mark.parametrize("name", SOFTMAX_FAMILY)
def test_softmax_family_is_stable(learner, ref, name, request):
    """Exact and finite at logits of +-1000 (rows and columns) and +-100 in float32."""
    request.node.add_marker(pytest.mark.part(name, points=2))
    cases = [(BIG[0], -1), (BIG, -1), (BIG.T.copy(), 0), (BIG32, -1)]
    for z, axis in cases:
        z_text = np.array2string(z, separator=", ").replace("\n", "")
        assert_close(
            getattr(learner, name)(z, axis=axis),
            getattr(ref, name)(as64(z), axis=axis),
            f"{name}(z, axis={axis}) for large logits",
            on=f"z = {z_text} ({z.dtype}), axis={axis}",
            inputs={"z": z},
            large_input=True,
            hint={
                "logsumexp": "exp(1000) is inf: subtract the max along `axis` first, then add it back",
                "softmax": "subtract the max of each slice along `axis` (not the max of the whole array)",
                "log_softmax": "log(softmax(z)) is log(0) = -inf where softmax underflows: use z - logsumexp(z)",
            }[name],
        )


# ---------------------------------------------------------------- entropy family: shapes


def info_call(learner_or_ref, name, p, q, axis):
    fn = getattr(learner_or_ref, name)
    return fn(p, axis=axis) if name == "entropy" else fn(p, q, axis=axis)


def info_inputs(name, p, q, axis):
    return show(p=p, axis=axis) if name == "entropy" else show(p=p, q=q, axis=axis)


@pytest.mark.parametrize("name", INFO)
def test_information_shapes(learner, name, request):
    """The result drops `axis` from the shape: () for one distribution, (N,) for N rows."""
    request.node.add_marker(pytest.mark.part(name, points=1))
    for k, (shape, axis) in enumerate(DIST_CASES):
        p = distribution(shape, axis, seed=40 + k)
        q = distribution(shape, axis, seed=60 + k, zeros=False)
        assert_shape(
            info_call(learner, name, p, q, axis),
            reduced(shape, axis),
            f"{name}(..., axis={axis})",
            on=info_inputs(name, p, q, axis),
        )


# ---------------------------------------------------------------- entropy family: values


@pytest.mark.parametrize(("dtype", "points"), DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", INFO)
def test_information_values(learner, ref, name, dtype, points, request):
    """Values equal the reference in nats, with exact zeros in p (q > 0), every axis."""
    request.node.add_marker(pytest.mark.part(name, points=points))
    for k, (shape, axis) in enumerate(DIST_CASES):
        p = distribution(shape, axis, seed=80 + k, dtype=dtype)
        q = distribution(shape, axis, seed=100 + k, zeros=False, dtype=dtype)
        assert_close(
            info_call(learner, name, p, q, axis),
            info_call(ref, name, as64(p), as64(q), axis),
            f"{name}(..., axis={axis})",
            on=info_inputs(name, p, q, axis) + " (p has exact zeros: 0 log 0 counts as 0)",
            inputs={"p": p},
            hint=INFO_HINTS[name] + "; np.log(0) * 0 is NaN, so mask the zeros of p",
        )


# Closed forms, one distribution a row: (p, expected H(p)).
ENTROPY_CASES = [
    ([0.25, 0.25, 0.25, 0.25], np.log(4)),
    ([0.0, 1.0, 0.0, 0.0], 0.0),
    ([0.5, 0.5, 0.0, 0.0], np.log(2)),
    ([1 / 3, 0.0, 1 / 3, 1 / 3], np.log(3)),
]


@pytest.mark.part("entropy", points=1)
def test_entropy_closed_forms(learner):
    """H(uniform over K) = log K, H(one-hot) = 0, zeros add nothing (values in nats)."""
    p = np.array([c[0] for c in ENTROPY_CASES])
    expected = np.array([c[1] for c in ENTROPY_CASES])
    assert_close(
        learner.entropy(p, axis=-1),
        expected,
        "entropy(p) of known distributions",
        on=f"p = {p.round(4).tolist()} (one distribution a row)",
        hint="uniform over 4 outcomes has entropy log(4) = 1.386 nats (2 bits); use np.log, not np.log2",
    )


# (p, q, H(p, q), KL(p || q)): q may be 0 where p is 0 (that term is 0, not NaN).
PAIR_CASES = [
    ([0.5, 0.5, 0.0], [0.25, 0.25, 0.5], np.log(4), np.log(2)),
    ([0.0, 1.0, 0.0], [0.0, 1.0, 0.0], 0.0, 0.0),
    ([1.0, 0.0, 0.0], [0.5, 0.25, 0.25], np.log(2), np.log(2)),
    ([0.0, 0.0, 1.0], [0.2, 0.7, 0.1], np.log(10), np.log(10)),
    (
        [0.2, 0.3, 0.5],
        [0.2, 0.3, 0.5],
        -(0.2 * np.log(0.2) + 0.3 * np.log(0.3) + 0.5 * np.log(0.5)),
        0.0,
    ),
]


@pytest.mark.parametrize(("name", "column"), [("cross_entropy", 2), ("kl_divergence", 3)])
def test_information_closed_forms(learner, name, column, request):
    """Known pairs: one-hot targets give -log q_y, and q = 0 where p = 0 contributes 0."""
    request.node.add_marker(pytest.mark.part(name, points=1))
    p = np.array([c[0] for c in PAIR_CASES])
    q = np.array([c[1] for c in PAIR_CASES])
    expected = np.array([c[column] for c in PAIR_CASES])
    assert_close(
        getattr(learner, name)(p, q, axis=-1),
        expected,
        f"{name}(p, q) of known pairs",
        on=f"p = {p.tolist()}, q = {q.tolist()} (one pair a row)",
        hint="a term with p_k = 0 is 0 even where q_k = 0: compute p log q only where p > 0",
    )


# ---------------------------------------------------------------- KL: properties


@pytest.mark.part("kl_divergence", points=1)
def test_kl_is_nonnegative(learner):
    """KL(p || q) >= 0 on 600 seeded random pairs (Gibbs' inequality), some nearly equal."""
    rng = np.random.default_rng(7)
    p = distribution((600, 5), -1, seed=8)
    q = distribution((600, 5), -1, seed=9, zeros=False)
    p[:200] = q[:200]  # the first 200 pairs are nearly equal: KL ~1e-9, where rounding matters
    q[:200] *= 1 + 1e-4 * rng.normal(size=(200, 5))
    q[:200] /= q[:200].sum(axis=1, keepdims=True)
    got = np.asarray(learner.kl_divergence(p, q, axis=-1))
    # Rounding can make a KL of ~1e-9 come out slightly below zero: by ~1e-16 in float64, by
    # ~1e-7 when computed in float32 (the terms are ~0.5 and float32 keeps 7 digits).
    floor = -1e-6 if got.dtype in (np.float32, np.float16) else -1e-12
    kl = got.astype(np.float64)
    assert_true(
        kl.shape == (600,),
        "kl_divergence(p, q) for 600 pairs: wrong shape",
        f"expected (600,), got {kl.shape}",
        on=describe(p=p, q=q),
    )
    worst = int(np.nanargmin(np.where(np.isfinite(kl), kl, -np.inf)))
    assert_true(
        bool(np.all(np.isfinite(kl)) and np.all(kl >= floor)),
        "kl_divergence(p, q): negative or not finite",
        f"KL must be >= 0 (up to rounding, {floor:g}) for every pair; pair {worst} gave {kl[worst]:.6g}",
        on=f"p = {p[worst].tolist()}, q = {q[worst].tolist()}",
        hint="KL(p || q) = sum p log(p / q): the ratio is p / q, not q / p",
    )


@pytest.mark.part("kl_divergence", points=1)
def test_kl_of_a_distribution_with_itself_is_zero(learner):
    """KL(p || p) = 0 for 200 seeded random p, zeros included."""
    p = distribution((200, 6), -1, seed=11)
    assert_close(
        learner.kl_divergence(p, p.copy(), axis=-1),
        np.zeros(200),
        "kl_divergence(p, p)",
        on=describe(p=p) + " (p has exact zeros)",
        hint="log(p / p) = 0 where p > 0; where p = 0 the term is 0 by convention, not NaN",
    )


# ---------------------------------------------------------------- Gaussian MLE

GAUSS_SHAPES = [(9, 4), (1,), (2,), (7,), (1, 3), (6, 1)]  # a batch first (see LOGIT_CASES)


def gauss_data(shape, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    loc = rng.normal(scale=3.0, size=shape[1:])
    return (loc + rng.gamma(2.0, size=shape) * 1.5).astype(dtype)  # skewed, so mean != median


def pair(got, what, on):
    assert_true(
        isinstance(got, tuple | list) and len(got) == 2,
        f"{what}: expected a pair (mean, var)",
        f"got {type(got).__name__}"
        + (f" of length {len(got)}" if isinstance(got, tuple | list) else ""),
        on=on,
        hint="return mean, var",
    )
    return got


@pytest.mark.part("gaussian_mle", points=1)
def test_gaussian_mle_shapes(learner):
    """Returns (mean, var) of shape () for x of shape (N,), and (D,) each for (N, D)."""
    for k, shape in enumerate(GAUSS_SHAPES):
        x = gauss_data(shape, seed=k)
        on = describe(x=x)
        mean, var = pair(learner.gaussian_mle(x), "gaussian_mle(x)", on)
        assert_shape(mean, shape[1:], "gaussian_mle(x): mean", on=on)
        assert_shape(var, shape[1:], "gaussian_mle(x): var", on=on)


@pytest.mark.parametrize(("dtype", "points"), DTYPES, ids=DTYPE_IDS)
def test_gaussian_mle_values(learner, ref, dtype, points, request):
    """mean and var (divided by N) equal the closed form, N = 1 to 9, one or several columns."""
    request.node.add_marker(pytest.mark.part("gaussian_mle", points=points))
    for k, shape in enumerate(GAUSS_SHAPES):
        x = gauss_data(shape, seed=20 + k, dtype=dtype)
        on = show(x=x) + f" (N = {shape[0]} samples)"
        mean, var = pair(learner.gaussian_mle(x), "gaussian_mle(x)", on)
        exp_mean, exp_var = ref.gaussian_mle(as64(x))
        assert_close(
            mean,
            exp_mean,
            "gaussian_mle(x): mean",
            on=on,
            inputs={"x": x},
            batch=shape[0],
            others={"var": exp_var},
            hint="the mean over the samples, axis 0",
        )
        assert_close(
            var,
            exp_var,
            "gaussian_mle(x): var",
            on=on,
            inputs={"x": x},
            batch=shape[0],
            others={"mean": exp_mean},
            hint="var = mean((x - mean)**2) over axis 0: divide by N (the MLE), not N - 1",
        )


def gaussian_log_likelihood(x, mean, var):
    return float(-0.5 * np.sum(np.log(2 * np.pi * var) + (x - mean) ** 2 / var))


@pytest.mark.part("gaussian_mle", points=1)
def test_gaussian_mle_maximises_the_likelihood(learner):
    """No small change of the returned mean or var increases the log-likelihood of the data."""
    x = gauss_data((40,), seed=5)
    on = describe(x=x)
    mean, var = (float(v) for v in pair(learner.gaussian_mle(x), "gaussian_mle(x)", on))
    assert_true(
        np.isfinite(mean) and np.isfinite(var) and var > 0,
        "gaussian_mle(x): not a valid Gaussian",
        f"mean = {mean}, var = {var}: need finite numbers with var > 0",
        on=on,
    )
    best = gaussian_log_likelihood(x, mean, var)
    sd = np.sqrt(var)
    for dm, fv in [(0.01, 1), (-0.01, 1), (0, 1.01), (0, 0.99)]:
        other = gaussian_log_likelihood(x, mean + dm * sd, var * fv)
        assert_true(
            best >= other - 1e-9,
            "gaussian_mle(x): not the maximum of the likelihood",
            f"log-likelihood {best:.10g} at (mean={mean:.6g}, var={var:.6g}), but {other:.10g} at "
            f"(mean={mean + dm * sd:.6g}, var={var * fv:.6g})",
            on=on,
            hint="setting the derivative of sum log N(x_i; mean, var) to 0 gives var = (1/N) sum (x_i - mean)^2",
        )


@pytest.mark.part("gaussian_mle", points=2)
def test_gaussian_mle_is_stable_far_from_zero(learner, ref):
    """var stays accurate when |mean| >> std: 1e6 +- 1 in float64, 1e3 +- 1 in float32."""
    rng = np.random.default_rng(3)
    cases = [
        np.array([1e6, -2e6, 0.0]) + rng.normal(scale=[1.0, 0.5, 2.0], size=(500, 3)),
        1e6 + rng.normal(size=1000),
        (1e3 + rng.normal(size=1000)).astype(np.float32),
    ]
    for x in cases:
        on = (
            describe(x=x)
            + f" with mean ~{np.round(np.mean(as64(x), axis=0), 0).tolist()} and std ~1"
        )
        mean, var = pair(learner.gaussian_mle(x), "gaussian_mle(x)", on)
        exp_mean, exp_var = ref.gaussian_mle(as64(x))
        assert_close(mean, exp_mean, "gaussian_mle(x): mean far from zero", on=on, inputs={"x": x})
        assert_close(
            var,
            exp_var,
            "gaussian_mle(x): var far from zero",
            on=on,
            inputs={"x": x},
            hint="compute mean((x - mean)**2) in the input's precision: mean(x**2) - mean(x)**2 "
            "subtracts two numbers of ~1e12 (and float32 keeps 7 digits): the variance of ~1 is lost",
        )


# ---------------------------------------------------------------- Bernoulli MLE

BERNOULLI_CASES = [
    ("(N, D) = (20, 6)", np.random.default_rng(5).integers(0, 2, size=(20, 6))),
    ("one success", np.array([1])),
    ("one failure", np.array([0.0])),
    ("ints, N = 10", np.random.default_rng(1).integers(0, 2, size=10)),
    ("floats, N = 7", np.random.default_rng(2).integers(0, 2, size=7).astype(np.float64)),
    ("booleans, N = 9", np.random.default_rng(3).random(9) < 0.3),
    ("all zeros", np.zeros(5)),
    ("all ones", np.ones(4, dtype=np.int64)),
    ("float32, N = 11", (np.random.default_rng(4).random(11) < 0.6).astype(np.float32)),
    ("(N, D) = (1, 4)", np.array([[1.0, 0.0, 0.0, 1.0]])),
]


@pytest.mark.part("bernoulli_mle", points=1)
def test_bernoulli_mle_shapes(learner):
    """p has shape () for x of shape (N,), (D,) for (N, D)."""
    for label, x in BERNOULLI_CASES:
        assert_shape(
            learner.bernoulli_mle(x),
            x.shape[1:],
            "bernoulli_mle(x)",
            on=describe(x=x) + f" ({label})",
        )


@pytest.mark.part("bernoulli_mle", points=2)
def test_bernoulli_mle_values(learner, ref):
    """p is the fraction of ones (0 for all zeros, 1 for all ones), ints, floats and booleans."""
    for label, x in BERNOULLI_CASES:
        assert_close(
            learner.bernoulli_mle(x),
            ref.bernoulli_mle(x),
            "bernoulli_mle(x)",
            on=describe(x=x) + f" ({label}): x = {x.astype(int).tolist()}",
            batch=x.shape[0],
            hint="the MLE is (number of ones) / N over axis 0, with true division (/ not //) and no pseudo-counts",
        )


# ---------------------------------------------------------------- Bayes


def bayes_inputs(k, m, seed, dtype=np.float64):
    """A prior over k hypotheses (the last one 0 when k > 2) and likelihoods in (0, 1)."""
    rng = np.random.default_rng(seed)
    prior = rng.gamma(1.0, size=k) + 0.05
    if k > 2:
        prior[-1] = 0.0  # ruled out a priori: its posterior is 0 whatever the data
    prior /= prior.sum()
    likelihood = rng.uniform(0.05, 1.0, size=(k,) if m is None else (m, k))
    return prior.astype(dtype), likelihood.astype(dtype)


BAYES_CASES = [
    (3, 4),
    (2, None),
    (3, None),
    (7, None),
    (3, 1),
    (3, 3),
    (2, 5),
]  # (K, M), a batch first


@pytest.mark.part("bayes_posterior", points=1)
def test_bayes_posterior_shapes(learner):
    """The posterior has the likelihood's shape: (K,) or (M, K)."""
    for k, (kk, m) in enumerate(BAYES_CASES):
        prior, lik = bayes_inputs(kk, m, seed=k)
        assert_shape(
            learner.bayes_posterior(prior, lik),
            lik.shape,
            "bayes_posterior(prior, likelihood)",
            on=describe(prior=prior, likelihood=lik),
        )


@pytest.mark.part("bayes_posterior", points=1)
def test_bayes_posterior_sums_to_one(learner):
    """Each posterior (each row for an (M, K) likelihood) sums to 1."""
    for k, (kk, m) in enumerate(BAYES_CASES):
        prior, lik = bayes_inputs(kk, m, seed=10 + k)
        on = describe(prior=prior, likelihood=lik)
        got = assert_shape(
            learner.bayes_posterior(prior, lik),
            lik.shape,
            "bayes_posterior(prior, likelihood)",
            on=on,
        )
        assert_close(
            np.sum(as64(got), axis=-1),
            np.ones(lik.shape[:-1]),
            "sum of bayes_posterior(prior, likelihood) over the hypotheses",
            on=on,
            hint="divide prior * likelihood by its sum over the hypotheses (the evidence P(data)), row by row",
        )


@pytest.mark.parametrize(("dtype", "points"), DTYPES, ids=DTYPE_IDS)
def test_bayes_posterior_values(learner, ref, dtype, points, request):
    """Values equal prior * likelihood / evidence, one likelihood or a batch of M, zero priors."""
    request.node.add_marker(pytest.mark.part("bayes_posterior", points=points))
    for k, (kk, m) in enumerate(BAYES_CASES):
        prior, lik = bayes_inputs(kk, m, seed=20 + k, dtype=dtype)
        assert_close(
            learner.bayes_posterior(prior, lik),
            ref.bayes_posterior(as64(prior), as64(lik)),
            "bayes_posterior(prior, likelihood)",
            on=show(prior=prior, likelihood=lik),
            inputs={"likelihood": lik, "prior": prior},
            hint="posterior_k = prior_k likelihood_k / sum_j prior_j likelihood_j, along the last axis",
        )


MEDICAL = (
    "a disease 1 in 100 people have, a test 99% sensitive with a 5% false-positive rate; "
    "hypotheses [ill, healthy]"
)


@pytest.mark.part("bayes_posterior", points=2)
def test_bayes_posterior_medical_test(learner):
    """The classic medical test: a positive result leaves only a 1 in 6 chance of being ill."""
    prior = np.array([0.01, 0.99])
    positive, negative = [0.99, 0.05], [0.01, 0.95]
    cases = [
        ("one positive test", prior, np.array(positive), np.array([1 / 6, 5 / 6])),
        (
            "a positive and a negative test, as two rows",
            prior,
            np.array([positive, negative]),
            np.array([[1 / 6, 5 / 6], [0.0001 / 0.9406, 0.9405 / 0.9406]]),
        ),
        (
            "a second positive test, starting from the first posterior",
            np.array([1 / 6, 5 / 6]),
            np.array(positive),
            np.array([0.99 / 1.24, 0.25 / 1.24]),
        ),
    ]
    for label, pr, lik, expected in cases:
        assert_close(
            learner.bayes_posterior(pr, lik),
            expected,
            f"bayes_posterior: {label}",
            on=f"{MEDICAL}; prior = {pr.round(6).tolist()}, likelihood = {lik.tolist()}",
            hint="P(ill | +) = 0.99 * 0.01 / (0.99 * 0.01 + 0.05 * 0.99) = 1/6: the evidence weighs each "
            "likelihood by its prior (forgetting it is the base-rate fallacy)",
        )
