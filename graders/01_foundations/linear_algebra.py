"""Grader for linear-algebra: matrix products, broadcasting, power iteration, eigenpair checks.

Layers per function: shapes -> values against the reference (float64, float32, integers) ->
errors on invalid inputs -> stability -> from-scratch integrity. Power iteration is
compared with np.linalg.eigh on seeded random symmetric matrices with a spectral gap;
eigenvectors are compared up to sign (v and -v are the same eigenvector).
"""

import ast

import numpy as np
import pytest

from nnfs_cli.checks import (
    FLOAT32_ATOL,
    FLOAT32_RTOL,
    assert_close,
    assert_does_the_work,
    assert_not_using,
    assert_shape,
    assert_true,
    calls_in_function,
    describe,
    fail,
)
from nnfs_cli.grading.result import Diagnosis
from nnfs_cli.sandbox.client import LearnerRaised

# ---------------------------------------------------------------------------------------
# helpers (inputs and small local checks; every comparison goes through nnfs_cli.checks)
# ---------------------------------------------------------------------------------------

LIBRARY_PRODUCTS = ["matmul", "dot", "vdot", "inner", "einsum", "tensordot", "multi_dot", "@"]
LOOP_NODES = (
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


def expect_value_error(call, what: str, on: str, hint: str, diagnose=None) -> None:
    """The learner's call must raise ValueError; NotImplementedError passes through (stub).

    `diagnose(result)` may name the mistake behind a result returned where an error was due
    (the known-bug matching cannot: the reference raises on these inputs).
    """
    try:
        got = call()
    except LearnerRaised as e:
        if e.exc_type == "ValueError":
            return
        if e.not_implemented or e.forbidden:
            raise
        raise fail(
            f"{what}: raised {e.exc_type}, expected ValueError",
            f"the error type ({e})",
            on=on,
            hint="raise ValueError(...) yourself after checking the shapes, before any indexing "
            "(an assert or an IndexError is not the documented error)",
        ) from None
    summary = f"shape {np.shape(got)}" if isinstance(got, np.ndarray) else repr(got)
    diagnosis = diagnose(got) if diagnose else None
    raise fail(
        f"{what}: no error",
        f"expected a ValueError, but it returned {summary}",
        on=on,
        hint=hint,
        diagnosis=diagnosis,
    )


def call_or_fail(call, what: str, on: str, hint: str = ""):
    """A call on valid inputs: an exception the learner raises becomes a graded failure."""
    try:
        return call()
    except LearnerRaised as e:
        if e.not_implemented or e.forbidden:
            raise
        raise fail(
            f"{what}: raised {e.exc_type} on valid inputs", str(e), on=on, hint=hint
        ) from None


def _functions(source: str, name: str) -> list[ast.FunctionDef]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name]


def loop_lines(source: str, name: str, follow_calls: bool = False) -> list[int]:
    """Lines of the loops (for, while, comprehensions) in function `name`.

    With follow_calls, loops of the module's functions that `name` calls by simple name count
    too (a matmul_loops that delegates to a looping helper of its own is still loops).
    """
    defs = _functions(source, name)
    if follow_calls:
        called = {c for c in calls_in_function(source, name) if "." not in c and c != name}
        defs += [d for c in sorted(called) for d in _functions(source, c)]
    return sorted({n.lineno for d in defs for n in ast.walk(d) if isinstance(n, LOOP_NODES)})


def normal_pair(n, k, m, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, k)).astype(dtype), rng.normal(size=(k, m)).astype(dtype)


def dyadic_pair(n, k, m, seed, dtype):
    """Multiples of 1/4 in [-2, 2]: every product and sum is exact in float32 (no rounding)."""
    rng = np.random.default_rng(seed)
    A = rng.integers(-8, 9, size=(n, k)) / 4
    B = rng.integers(-8, 9, size=(k, m)) / 4
    return A.astype(dtype), B.astype(dtype)


def symmetric(eigenvalues, seed):
    """A random symmetric matrix Q diag(eigenvalues) Q^T (Q a seeded random rotation)."""
    eigenvalues = np.asarray(eigenvalues, dtype=np.float64)
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(eigenvalues.size, eigenvalues.size)))
    A = (Q * eigenvalues) @ Q.T
    return (A + A.T) / 2


def gapped_symmetric(n, seed, lam1, ratio=0.5):
    """Symmetric (n, n) with dominant eigenvalue lam1; every other |eigenvalue| <= ratio |lam1|."""
    rng = np.random.default_rng(seed)
    others = rng.uniform(-ratio, ratio, size=n - 1) * abs(lam1)
    return symmetric(np.concatenate([[lam1], others]), seed + 1000), rng.normal(size=n)


def dominant(A):
    """(lam, u): the eigenpair of largest |lam| by np.linalg.eigh (the oracle)."""
    w, U = np.linalg.eigh(np.asarray(A, dtype=np.float64))
    i = int(np.argmax(np.abs(w)))
    return float(w[i]), U[:, i]


def unpack_eigenpair(got, n: int, what: str, on: str):
    """The learner's (lam, v): a pair, lam a number, v of shape (n,)."""
    if not (isinstance(got, tuple | list) and len(got) == 2):
        raise fail(
            f"{what}: expected a pair (lam, v)",
            f"got {type(got).__name__}"
            + (f" of length {len(got)}" if isinstance(got, tuple | list) else ""),
            on=on,
            hint="return lam, v  (the eigenvalue first, as np.linalg.eigh orders its results)",
        )
    assert_true(
        not (np.ndim(got[1]) == 0 and np.shape(got[0]) == (n,)),
        f"{what}: the pair is in the wrong order",
        f"the first item has shape {np.shape(got[0])} and the second is a number",
        on=on,
        hint="return lam, v: the eigenvalue first, then the eigenvector",
    )
    lam = np.asarray(got[0])
    assert_true(
        lam.size == 1 and np.issubdtype(lam.dtype, np.number),
        f"{what}: lam is not a number",
        f"the first item has shape {lam.shape} and dtype {lam.dtype}",
        on=on,
        hint="the first item is the eigenvalue, a float (e.g. float(v @ A @ v))",
    )
    v = assert_shape(got[1], (n,), f"{what}: eigenvector v", on=on)
    return lam.reshape(()), v


def up_to_sign(v, u):
    """v times the sign that best matches u (an eigenvector is defined up to sign)."""
    s = np.sign(float(np.asarray(v, dtype=np.float64) @ u)) or 1.0
    return v * np.asarray(s, dtype=v.dtype)


def check_eigenpair(got, n, lam_exp, u_exp, what, on, hint, **tol):
    lam, v = unpack_eigenpair(got, n, what, on)
    if v.dtype == np.float32 and not tol:
        # a float32 iteration returns lam as a Python float: judge it at v's precision too
        tol = {"rtol": FLOAT32_RTOL, "atol": FLOAT32_ATOL}
    assert_close(lam, lam_exp, f"{what}: eigenvalue", on=on, hint=hint, **tol)
    assert_close(
        up_to_sign(v, u_exp),
        u_exp,
        f"{what}: eigenvector (either sign accepted)",
        on=on,
        hint=hint,
        **tol,
    )


def check_shape_tuple(got, expected: tuple, what: str, on: str, hint: str) -> None:
    """broadcast_shape's result: a tuple (or list) of ints equal to `expected`."""
    ok_type = isinstance(got, tuple | list) and all(
        isinstance(d, int | np.integer) and not isinstance(d, bool | np.bool_) for d in got
    )
    if not ok_type:
        raise fail(
            f"{what}: expected a tuple of ints",
            f"got {got!r} ({type(got).__name__})",
            on=on,
            hint="return tuple(sizes), each size an int",
        )
    assert_true(
        tuple(int(d) for d in got) == tuple(expected),
        f"{what}: wrong shape",
        f"expected {tuple(expected)}, got {tuple(int(d) for d in got)}",
        on=on,
        hint=hint,
    )


def check_verdict(got, expected: bool, what: str, on: str, hint: str) -> None:
    assert_true(
        isinstance(got, bool | np.bool_),
        f"{what}: expected a bool",
        f"got {got!r} ({type(got).__name__})",
        on=on,
        hint="return True or False, e.g. bool(residual <= tol * scale)",
    )
    assert_true(
        bool(got) == expected,
        f"{what}: wrong answer",
        f"expected {expected}, got {bool(got)}",
        on=on,
        hint=hint,
    )


# ---------------------------------------------------------------------------------------
# matmul_loops
# ---------------------------------------------------------------------------------------

# (n, k, m): 1 x 1, a row times a column (a dot product), a column times a row (an outer
# product), odd rectangular sizes.
PRODUCT_SHAPES = [(1, 1, 1), (1, 4, 1), (4, 1, 3), (3, 5, 2), (2, 7, 6)]
# a square case first: it is where elementwise A * B does not crash and can be recognised
VALUE_SHAPES = [(3, 3, 3), (4, 5, 2), (1, 6, 3), (7, 1, 4), (5, 8, 5)]
PRODUCT_HINT = (
    "C[i, j] = sum over p of A[i, p] * B[p, j]: start each (i, j) at 0 and accumulate with +="
)
MISMATCHED = [((2, 3), (4, 2)), ((2, 4), (3, 2)), ((2, 3), (2, 3))]


@pytest.mark.part("matmul_loops", points=1)
def test_matmul_loops_shapes(learner):
    """The product of (n, k) and (k, m) has shape (n, m), for row, column, outer and odd sizes."""
    for n, k, m in PRODUCT_SHAPES:
        A, B = normal_pair(n, k, m, seed=n * 100 + k * 10 + m)
        assert_shape(
            learner.matmul_loops(A, B), (n, m), "matmul_loops(A, B)", on=describe(A=A, B=B)
        )


@pytest.mark.part("matmul_loops", points=2)
def test_matmul_loops_values(learner, ref):
    """Values equal np.matmul on random float64 matrices of several sizes."""
    for n, k, m in VALUE_SHAPES:
        A, B = normal_pair(n, k, m, seed=n + 10 * k + 100 * m)
        assert_close(
            learner.matmul_loops(A, B),
            ref.matmul(A, B),
            "matmul_loops(A, B)",
            on=describe(A=A, B=B),
            inputs={"A": A, "B": B},
            hint=PRODUCT_HINT,
        )


@pytest.mark.part("matmul_loops", points=1)
def test_matmul_loops_float32_and_integers(learner):
    """Exact values for float32 inputs (dyadic, so no rounding) and for integer inputs."""
    for dtype in (np.float32, np.int64):
        A, B = dyadic_pair(3, 4, 5, seed=3, dtype=np.float32)
        if dtype is np.int64:
            A, B = (4 * A).astype(np.int64), (4 * B).astype(np.int64)
        exact = A.astype(np.float64) @ B.astype(np.float64)
        assert_close(
            learner.matmul_loops(A, B),
            exact,
            f"matmul_loops(A, B) for {np.dtype(dtype).name} inputs",
            on=describe(A=A, B=B),
            hint="do not round or cast to int; start the sum at 0",
        )


@pytest.mark.part("matmul_loops", points=1)
def test_matmul_loops_rejects_mismatched_inner_dimensions(learner):
    """ValueError when A.shape[1] != B.shape[0], including (2, 3) @ (2, 3)."""
    for sa, sb in MISMATCHED:
        A, B = np.ones(sa), np.ones(sb)
        expect_value_error(
            lambda A=A, B=B: learner.matmul_loops(A, B),
            f"matmul_loops(A, B) with A {sa} and B {sb}",
            on=describe(A=A, B=B),
            hint="check A.shape[1] == B.shape[0] first and raise ValueError otherwise; looping over "
            "p in range(A.shape[1]) silently ignores the extra rows of B",
            diagnose=lambda got: Diagnosis(
                "known-bug",
                "no-inner-dim-check",
                "compare the inner dimensions and raise ValueError when they differ",
            ),
        )


@pytest.mark.part("matmul_loops", points=1)
def test_matmul_loops_is_written_with_loops(learner, learner_source):
    """matmul_loops uses explicit Python loops and no library product (np.dot, @, einsum...)."""
    A, B = normal_pair(2, 3, 2, seed=0)
    learner.matmul_loops(A, B)  # a stub fails here, as "not implemented"
    why = "this part is about writing the product yourself: three nested loops and +=; matmul is the vectorised part"
    assert_not_using(learner_source, "matmul_loops", LIBRARY_PRODUCTS, why)
    linalg = sorted(
        c for c in calls_in_function(learner_source, "matmul_loops") if "linalg" in c.split(".")
    )
    assert_true(
        not linalg,
        f"matmul_loops: uses {', '.join(linalg)}",
        "matmul_loops must not call np.linalg",
        hint=why,
    )
    assert_true(
        bool(loop_lines(learner_source, "matmul_loops", follow_calls=True)),
        "matmul_loops: no Python loop found",
        "matmul_loops (or a helper it calls) must contain for/while loops or comprehensions",
        hint="loop over i in range(n), j in range(m) and p in range(k)",
    )
    # the same rule watched at run time: a product reached by a computed name, or loops
    # that do nothing around one, shows up here; n*m*k scalar steps run as lines of yours
    A, B = normal_pair(4, 7, 5, seed=1)
    assert_does_the_work(
        learner.matmul_loops, (A, B), at_least=4 * 7 * 5,
        forbidden=[p for p in LIBRARY_PRODUCTS if p != "@"] + ["linalg"],
        why=why, on=describe(A=A, B=B),
        hint="each of the n*m*k products A[i, p] * B[p, j] is a step of your innermost loop",
    )  # fmt: skip


# ---------------------------------------------------------------------------------------
# matmul (vectorised)
# ---------------------------------------------------------------------------------------


@pytest.mark.part("matmul", points=2)
def test_matmul_shapes_and_values(learner, ref):
    """Shape (n, m) and values equal np.matmul for float64 matrices of several sizes."""
    for n, k, m in VALUE_SHAPES + PRODUCT_SHAPES:
        A, B = normal_pair(n, k, m, seed=n + 10 * k + 100 * m)
        on = describe(A=A, B=B)
        got = call_or_fail(
            lambda A=A, B=B: learner.matmul(A, B),
            "matmul(A, B)",
            on,
            hint="A * B is elementwise (it needs broadcastable shapes); the matrix product is A @ B",
        )
        assert_close(
            got,
            ref.matmul(A, B),
            "matmul(A, B)",
            on=on,
            inputs={"A": A, "B": B},
            hint="the matrix product is A @ B (np.matmul); A * B is elementwise",
        )


@pytest.mark.part("matmul", points=1)
def test_matmul_float32_and_integers(learner):
    """Exact values for float32 inputs (dyadic, so no rounding) and for integer inputs."""
    for dtype in (np.float32, np.int64):
        A, B = dyadic_pair(6, 5, 4, seed=4, dtype=np.float32)
        if dtype is np.int64:
            A, B = (4 * A).astype(np.int64), (4 * B).astype(np.int64)
        exact = A.astype(np.float64) @ B.astype(np.float64)
        assert_close(
            learner.matmul(A, B),
            exact,
            f"matmul(A, B) for {np.dtype(dtype).name} inputs",
            on=describe(A=A, B=B),
        )


@pytest.mark.part("matmul", points=1)
def test_matmul_larger_matrices(learner, ref):
    """A (64, 129) @ (129, 33) product, the size of a small dense layer, equals np.matmul."""
    A, B = normal_pair(64, 129, 33, seed=5)
    got = learner.matmul(A, B)
    # a float32 sum of 129 products of O(1) numbers rounds at ~sqrt(129) * 6e-8 * 4 sigma ~ 3e-6:
    # entries that cancel to near 0 need that absolute floor (a float64 result keeps the default)
    atol = 1e-5 if np.asarray(got).dtype == np.float32 else 1e-10
    assert_close(got, ref.matmul(A, B), "matmul(A, B)", on=describe(A=A, B=B), atol=atol)


@pytest.mark.part("matmul", points=1)
def test_matmul_rejects_mismatched_inner_dimensions(learner):
    """ValueError when A.shape[1] != B.shape[0], including (2, 3) @ (2, 3)."""
    for sa, sb in MISMATCHED:
        A, B = np.ones(sa), np.ones(sb)
        expect_value_error(
            lambda A=A, B=B: learner.matmul(A, B),
            f"matmul(A, B) with A {sa} and B {sb}",
            on=describe(A=A, B=B),
            hint="(2, 3) times (2, 3) is not a matrix product; A * B accepts it because it is elementwise",
        )


@pytest.mark.part("matmul", points=1)
def test_matmul_is_vectorised(learner, learner_source):
    """matmul has no Python loop or comprehension and does not call matmul_loops."""
    A, B = normal_pair(2, 3, 2, seed=0)
    learner.matmul(A, B)  # a stub fails here, as "not implemented"
    assert_not_using(
        learner_source,
        "matmul",
        ["matmul_loops"],
        "matmul is the vectorised version: let NumPy do the loops (A @ B)",
    )
    lines = loop_lines(learner_source, "matmul")
    assert_true(
        not lines,
        "matmul: uses a Python loop",
        f"loops or comprehensions at line(s) {lines}",
        hint="one vectorised expression such as A @ B does the whole product in compiled code",
    )


# ---------------------------------------------------------------------------------------
# broadcast_shape
# ---------------------------------------------------------------------------------------

BROADCAST_HINT = "align the shapes on the right, pad the shorter with 1s on the left; per position a 1 takes the other size"
EXAMPLES = [
    ((4, 1), (1, 3), (4, 3)),
    ((1, 3), (3,), (1, 3)),  # aligned right: (3,) is (1, 3), not (3, 1)
    ((5, 3), (3,), (5, 3)),  # a bias row added to a batch
    ((8, 1, 6, 1), (7, 1, 5), (8, 7, 6, 5)),
    ((), (2, 3), (2, 3)),  # a scalar
    ((2, 3), (), (2, 3)),
    ((2, 1, 3), (2, 3), (2, 2, 3)),
    ((7,), (7,), (7,)),
    ((1,), (1, 1, 1), (1, 1, 1)),
    ((3, 1), (1,), (3, 1)),
]


def random_compatible(rng):
    """Two compatible shapes: a target of rank 0-5, some sizes set to 1, leading sizes dropped."""
    target = list(rng.choice([1, 2, 3, 4, 7], size=int(rng.integers(0, 6))))
    shapes = []
    for _ in range(2):
        s = [1 if rng.random() < 0.35 else int(d) for d in target]
        shapes.append(tuple(int(d) for d in s[int(rng.integers(0, len(s) + 1)) :]))
    return shapes


def random_mismatched(rng):
    """Two incompatible shapes: a compatible pair with one shared position set to 2 vs 3 (or 5)."""
    while True:
        a, b = random_compatible(rng)
        common = min(len(a), len(b))
        if common:
            break
    pos = int(rng.integers(1, common + 1))
    a, b = list(a), list(b)
    a[-pos], b[-pos] = 2, int(rng.choice([3, 5]))
    if rng.random() < 0.5:
        a, b = b, a
    return tuple(a), tuple(b)


def max_story(got, a, b):
    """Names a result returned for incompatible shapes when it is the per-position maximum
    of the right-aligned shapes: the compatibility check is missing."""
    n = max(len(a), len(b))
    biggest = tuple(map(max, (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b))
    try:
        same = tuple(int(d) for d in got) == biggest
    except (TypeError, ValueError):
        same = False
    if not same:
        return None
    return Diagnosis(
        "signature",
        "no-mismatch-error",
        f"the result {biggest} is the larger size per position, taken without checking: two "
        "different sizes, neither of them 1, must raise ValueError",
    )


def learner_shape(learner, a, b):
    return call_or_fail(
        lambda: learner.broadcast_shape(a, b),
        f"broadcast_shape({a}, {b})",
        on=f"{a} and {b}",
        hint="these shapes are compatible: " + BROADCAST_HINT,
    )


@pytest.mark.part("broadcast_shape", points=2)
def test_broadcast_shape_examples(learner):
    """Hand-picked pairs: equal ranks, a row against a batch, scalars, different ranks."""
    for a, b, expected in EXAMPLES:
        check_shape_tuple(
            learner_shape(learner, a, b),
            expected,
            f"broadcast_shape({a}, {b})",
            on=f"shape_a={a}, shape_b={b}",
            hint=BROADCAST_HINT,
        )


@pytest.mark.part("broadcast_shape", points=2)
def test_broadcast_shape_matches_numpy_on_random_pairs(learner):
    """Equals np.broadcast_shapes on 100 seeded random compatible pairs of ranks 0 to 5."""
    rng = np.random.default_rng(7)
    for _ in range(100):
        a, b = random_compatible(rng)
        check_shape_tuple(
            learner_shape(learner, a, b),
            np.broadcast_shapes(a, b),
            f"broadcast_shape({a}, {b})",
            on=f"shape_a={a}, shape_b={b}",
            hint=BROADCAST_HINT,
        )


@pytest.mark.part("broadcast_shape", points=1)
def test_broadcast_shape_zero_sizes(learner):
    """A size of 1 stretches to 0, as NumPy does: (0,) with (1,) is (0,), not (1,)."""
    for a, b in [
        ((0,), (1,)),
        ((1,), (0,)),
        ((1, 0), (5, 1)),
        ((0, 3), (3,)),
        ((2, 0), (2, 1)),
        ((0,), (0,)),
    ]:
        check_shape_tuple(
            learner_shape(learner, a, b),
            np.broadcast_shapes(a, b),
            f"broadcast_shape({a}, {b})",
            on=f"shape_a={a}, shape_b={b}",
            hint="the result is the size that is not 1 (not the maximum): 1 against 0 gives 0",
        )


@pytest.mark.part("broadcast_shape", points=2)
def test_broadcast_shape_rejects_mismatches(learner):
    """ValueError for incompatible pairs: hand-picked ones, then 40 seeded random ones."""
    cases = [
        ((3,), (4,)),
        ((2, 3), (3, 2)),
        ((5, 4), (5,)),
        ((0,), (3,)),
        ((1, 3), (3, 1, 2)),
        ((2, 1), (8, 4, 3)),
    ]
    rng = np.random.default_rng(8)
    cases += [random_mismatched(rng) for _ in range(40)]
    for a, b in cases:
        expect_value_error(
            lambda a=a, b=b: learner.broadcast_shape(a, b),
            f"broadcast_shape({a}, {b})",
            on=f"shape_a={a}, shape_b={b}",
            hint="after aligning on the right, two different sizes neither of which is 1 cannot broadcast: "
            "raise ValueError (taking the max hides the error)",
            diagnose=lambda got, a=a, b=b: max_story(got, a, b),
        )


@pytest.mark.part("broadcast_shape", points=1)
def test_broadcast_shape_is_shape_arithmetic(learner, learner_source):
    """Shapes of arrays too big to allocate still work, and no np.broadcast_* helper is called."""
    huge = [
        ((10**12, 1), (1, 10**12), (10**12, 10**12)),
        ((2**40,), (3, 1), (3, 2**40)),
        ((1, 10**9, 1), (10**9, 1, 10**9), (10**9, 10**9, 10**9)),
    ]
    for a, b, expected in huge:
        check_shape_tuple(
            learner_shape(learner, a, b),
            expected,
            f"broadcast_shape({a}, {b})",
            on=f"shape_a={a}, shape_b={b}",
            hint="work on the tuples of sizes only; do not build arrays of these shapes",
        )
    assert_not_using(
        learner_source,
        "broadcast_shape",
        ["broadcast_shapes", "broadcast", "broadcast_to", "broadcast_arrays"],
        "this part is about implementing NumPy's rule yourself, on the tuples of sizes",
    )


# ---------------------------------------------------------------------------------------
# power_iteration
# ---------------------------------------------------------------------------------------

POWER_HINT = (
    "repeat v <- A v / ||A v||; lam is the Rayleigh quotient v . A v of the unit v you return"
)
# (n, seed, dominant eigenvalue): 1 x 1, both signs, odd and even sizes
POWER_CASES = [(1, 1, -3.0), (2, 2, 5.0), (3, 3, -7.0), (5, 4, 2.5), (6, 5, 4.0), (10, 6, -9.0)]


@pytest.mark.part("power_iteration", points=1)
def test_power_iteration_returns_a_unit_eigenvector(learner):
    """Returns a pair (lam, v) with v of shape (n,) and ||v||_2 = 1, for n = 1, 2, 5, 10."""
    for n, seed, lam1 in [POWER_CASES[i] for i in (0, 1, 3, 5)]:
        A, v0 = gapped_symmetric(n, seed, lam1)
        v0 = 3.0 * v0  # a start vector that is not unit: the result must be
        on = describe(A=A, v0=v0, num_iters=1000, tol=1e-12)
        _, v = unpack_eigenpair(
            learner.power_iteration(A, v0, num_iters=1000, tol=1e-12), n, "power_iteration", on
        )
        assert_close(
            np.linalg.norm(v),
            1.0,
            "power_iteration: ||v||_2",
            on=on,
            hint="after every product divide by the Euclidean norm sqrt(sum v_i^2) "
            "(not by the largest entry, and not only once at the end)",
        )


@pytest.mark.part("power_iteration", points=1)
def test_power_iteration_zero_iterations(learner, ref):
    """num_iters = 0 returns the normalised start v0 / ||v0|| and its Rayleigh quotient."""
    A = symmetric([3.0, -2.8, 1.5, 0.4], seed=9)
    v0 = np.array([2.0, -1.0, 0.5, 3.0])  # not unit: the start must be normalised first
    on = describe(A=A, v0=v0, num_iters=0, tol=0.0)
    lam, v = ref.power_iteration(A, v0, num_iters=0, tol=0.0)
    got = call_or_fail(
        lambda: learner.power_iteration(A, v0, num_iters=0, tol=0.0),
        "power_iteration with num_iters=0",
        on,
        hint="set v = v0 / ||v0|| and lam = v . A v before the loop, so that zero iterations "
        "return the start",
    )
    check_eigenpair(
        got,
        4,
        lam,
        v,
        "power_iteration after 0 iterations",
        on,
        "start with v = v0 / ||v0|| (and lam = v . A v) before the first iteration: "
        "the loop's normalisation does not cover num_iters = 0",
    )


@pytest.mark.part("power_iteration", points=2)
def test_power_iteration_first_iterations(learner, ref):
    """With tol = 0, exactly num_iters = 1, 2, 5 steps: v = A^k v0 / ||A^k v0||, lam = v . A v."""
    A = symmetric([3.0, -2.8, 1.5, 0.4], seed=9)  # |lam2 / lam1| = 0.93: far from converged
    v0 = np.array([1.0, 2.0, -1.0, 0.5])
    for k in (1, 2, 5):
        on = describe(A=A, v0=v0, num_iters=k, tol=0.0)
        lam, v = ref.power_iteration(A, v0, num_iters=k, tol=0.0)
        check_eigenpair(
            learner.power_iteration(A, v0, num_iters=k, tol=0.0),
            4,
            lam,
            v,
            f"power_iteration after {k} iteration(s)",
            on,
            POWER_HINT,
        )


@pytest.mark.part("power_iteration", points=3)
def test_power_iteration_finds_the_dominant_eigenpair(learner):
    """Agrees with np.linalg.eigh's largest-|lam| pair on random symmetric matrices (lam of either sign)."""
    for n, seed, lam1 in POWER_CASES:
        A, v0 = gapped_symmetric(n, seed, lam1)
        lam_exp, u = dominant(A)
        on = (
            describe(A=A, v0=v0, num_iters=1000, tol=1e-12)
            + f"; eigenvalues {np.round(np.linalg.eigvalsh(A), 3).tolist()}"
        )
        # tol = 1e-12 and |lam2 / lam1| <= 0.5: exact to ~1e-12, inside the default tolerances
        check_eigenpair(
            learner.power_iteration(A, v0, num_iters=1000, tol=1e-12),
            n,
            lam_exp,
            u,
            "power_iteration(A, v0)",
            on,
            "the dominant eigenvalue can be negative: take lam = v . A v, not ||A v||; "
            "and stop on the residual ||A v - lam v||, which ignores the sign flips of v",
        )


@pytest.mark.part("power_iteration", points=1)
def test_power_iteration_stops_at_tol(learner, ref):
    """With tol = 1e-4 it stops right after the first iterate whose residual is <= tol |lam|; also at equality."""
    # |lam2 / lam1| = 0.9: the residual shrinks ~10% per step, so the stopping step is not borderline
    A = symmetric([4.0, 3.6, -1.0, 2.0, 0.5], seed=11)
    v0 = np.array([1.0, -1.0, 0.5, 2.0, 1.0])
    on = describe(A=A, v0=v0, num_iters=1000, tol=1e-4)
    lam, v = ref.power_iteration(A, v0, num_iters=1000, tol=1e-4)
    hint = (
        "after each step stop as soon as ||A v - lam v|| <= tol * |lam| (the docstring's rule); "
        "a test on ||v_new - v_old|| or on the change of lam stops at another iteration"
    )
    check_eigenpair(
        learner.power_iteration(A, v0, num_iters=1000, tol=1e-4),
        5,
        lam,
        v,
        "power_iteration with tol=1e-4 (the iterate where it stops)",
        on,
        hint,
    )
    # The boundary, in exact arithmetic (dyadic numbers): from e1 the first iterate is
    # v = (1, 1, 1, 1) / 2 with A v = (2.5, 2.5, 1.5, 1.5), lam = 4 and residual exactly 1
    # = tol * |lam| for tol = 1/4. The rule is <=: it stops there, with (4, v).
    A = np.array([[5.0, 5, 5, 5], [5, 5, 5, 5], [5, 5, 1, 1], [5, 5, 1, 1]]) / 4
    v0 = np.array([1.0, 0.0, 0.0, 0.0])
    on = describe(A=A, v0=v0, num_iters=1000, tol=0.25)
    lam, v = ref.power_iteration(A, v0, num_iters=1000, tol=0.25)
    check_eigenpair(
        learner.power_iteration(A, v0, num_iters=1000, tol=0.25),
        4,
        lam,
        v,
        "power_iteration when the residual equals tol * |lam| after one step",
        on,
        hint + "; the test is <=, so a residual equal to tol * |lam| stops",
    )


@pytest.mark.part("power_iteration", points=1)
def test_power_iteration_float32(learner):
    """float32 A and v0: the dominant pair to float32 precision."""
    A64, v0 = gapped_symmetric(6, 12, -5.0)
    A, v0 = A64.astype(np.float32), v0.astype(np.float32)
    lam_exp, u = dominant(A)
    on = describe(A=A, v0=v0, num_iters=300, tol=1e-12)
    # float32 rounding (~6e-8 per operation) bounds the accuracy of any float32 iteration
    check_eigenpair(
        learner.power_iteration(A, v0, num_iters=300, tol=1e-12),
        6,
        lam_exp,
        u,
        "power_iteration(A, v0) in float32",
        on,
        POWER_HINT,
        rtol=FLOAT32_RTOL,
        atol=FLOAT32_ATOL,
    )


@pytest.mark.part("power_iteration", points=1)
def test_power_iteration_does_not_overflow(learner):
    """|lam| = 1e5 and 1e-5 for 100 steps: normalising every step keeps v finite (A^100 v0 would not be)."""
    for scale in (1e5, 1e-5):
        A, v0 = gapped_symmetric(4, 13, 2.0)
        A = A * (scale / 2.0)
        lam_exp, u = dominant(A)
        on = describe(A=A, v0=v0, num_iters=100, tol=0.0) + f"; dominant eigenvalue {lam_exp:.4g}"
        check_eigenpair(
            learner.power_iteration(A, v0, num_iters=100, tol=0.0),
            4,
            lam_exp,
            u,
            "power_iteration for a large or small |lam|",
            on,
            "normalise v after every product: (1e5)^100 overflows and (1e-5)^100 underflows",
        )


@pytest.mark.part("power_iteration", points=1)
def test_power_iteration_is_from_scratch(learner, learner_source):
    """power_iteration does not call np.linalg.eig, eigh, eigvals, eigvalsh or svd."""
    A, v0 = gapped_symmetric(3, 3, 2.0)
    learner.power_iteration(A, v0, num_iters=10, tol=0.0)  # a stub fails here, as "not implemented"
    assert_not_using(
        learner_source,
        "power_iteration",
        ["eig", "eigh", "eigvals", "eigvalsh", "svd"],
        "the point is to find the eigenpair by repeated products; np.linalg.norm is fine",
    )


# ---------------------------------------------------------------------------------------
# is_eigenpair
# ---------------------------------------------------------------------------------------

EIG_HINT = "compare ||A v - lam v|| with tol * (||A||_F + |lam|) * ||v||: a residual relative to the sizes involved"


def verdict(learner, A, v, lam, tol, expected, what, hint=EIG_HINT):
    on = describe(A=A, v=v, lam=float(lam), tol=tol)
    got = call_or_fail(
        lambda: learner.is_eigenpair(A, v, float(lam), tol), f"is_eigenpair for {what}", on
    )
    check_verdict(got, expected, f"is_eigenpair for {what}", on, hint)


@pytest.mark.part("is_eigenpair", points=1)
def test_is_eigenpair_returns_a_bool(learner):
    """Returns a bool (Python or NumPy), for a true and for a false pair."""
    A = np.array([[2.0, 1.0], [1.0, 2.0]])
    v = np.array([1.0, 1.0])
    for lam in (3.0, 1.0):
        on = describe(A=A, v=v, lam=lam, tol=1e-8)
        got = learner.is_eigenpair(A, v, lam, 1e-8)
        assert_true(
            isinstance(got, bool | np.bool_),
            "is_eigenpair: expected a bool",
            f"got {got!r} ({type(got).__name__})",
            on=on,
            hint="return True or False, e.g. bool(residual <= tol * scale)",
        )


@pytest.mark.part("is_eigenpair", points=2)
def test_is_eigenpair_accepts_true_pairs(learner):
    """True for every eigenpair of np.linalg.eigh (n = 1, 3, 6; float64 and float32) and of a triangular A."""
    for n, dtype, tol in [
        (1, np.float64, 1e-8),
        (3, np.float64, 1e-8),
        (6, np.float64, 1e-8),
        (4, np.float32, 1e-5),
    ]:
        M = np.random.default_rng(n).normal(size=(n, n))
        S = ((M + M.T) / 2).astype(dtype)
        w, U = np.linalg.eigh(S)
        for i in range(n):
            verdict(
                learner,
                S,
                U[:, i],
                w[i],
                tol,
                True,
                f"eigenpair {i} of a symmetric {S.dtype} matrix",
            )
    T = np.array([[2.0, 1.0], [0.0, 3.0]])  # not symmetric: eigenpairs (2, e1) and (3, (1, 1))
    verdict(learner, T, np.array([1.0, 0.0]), 2.0, 1e-8, True, "(2, e1) of a triangular matrix")
    verdict(learner, T, np.array([1.0, 1.0]), 3.0, 1e-8, True, "(3, (1, 1)) of a triangular matrix")


@pytest.mark.part("is_eigenpair", points=2)
def test_is_eigenpair_rejects_false_pairs(learner):
    """False for a wrong eigenvalue, a random vector, and eigenvalues paired with the wrong vectors."""
    A = symmetric([3.0, -2.0, 1.0, 0.5], seed=21)
    w, U = np.linalg.eigh(A)
    verdict(
        learner, A, U[:, 0], w[0] * 1.1, 1e-8, False, "an eigenvector with an eigenvalue 10% off"
    )
    verdict(
        learner, A, np.random.default_rng(22).normal(size=4), w[0], 1e-8, False, "a random vector"
    )
    for i in range(4):
        verdict(
            learner,
            A,
            U[:, i],
            w[(i + 1) % 4],
            1e-8,
            False,
            f"eigenvector {i} with eigenvalue {(i + 1) % 4}",
        )


@pytest.mark.part("is_eigenpair", points=1)
def test_is_eigenpair_uses_tol(learner):
    """A pair with relative residual ~1e-5 passes at tol = 1e-3 and fails at tol = 1e-7; an exact pair passes at tol = 0."""
    A = symmetric([3.0, -2.0, 1.0, 0.5, -0.5], seed=23)
    w, U = np.linalg.eigh(A)
    v = U[:, 4] + 1e-5 * U[:, 0]  # eigenvector of 3.0, tilted towards that of -2.0
    verdict(
        learner,
        A,
        v,
        w[4],
        1e-3,
        True,
        "a nearly exact pair at tol=1e-3",
        hint="compare the residual with tol, not 0",
    )
    verdict(
        learner,
        A,
        v,
        w[4],
        1e-7,
        False,
        "a nearly exact pair at tol=1e-7",
        hint="compare the residual with tol, not 0",
    )
    D = np.diag([2.0, -3.0, 0.5])  # an exact pair: A v - lam v is exactly 0 in floating point
    verdict(
        learner,
        D,
        np.array([0.0, 1.0, 0.0]),
        -3.0,
        0.0,
        True,
        "an exact pair at tol=0",
        hint="the test is residual <= tol * scale (<=, not <): a zero residual passes even at tol = 0",
    )


@pytest.mark.part("is_eigenpair", points=1)
def test_is_eigenpair_scale_has_both_terms(learner):
    """The tolerance scales with ||A||_F + |lam|: pairs whose residual needs both terms pass."""
    A = symmetric([3.0, -2.0, 0.5], seed=27)  # ||A||_F = 3.64
    w, U = np.linalg.eigh(A)  # w = (-2, 0.5, 3)
    hint = "the scale is (||A||_F + |lam|) ||v||: with ||A||_F alone or |lam| alone it is too small"
    # lam = 0.5 with residual 2 tol ||v||: inside (3.64 + 0.5) tol ||v||, outside 0.5 tol ||v||
    v = U[:, 1] + 8e-4 * U[:, 0]
    verdict(learner, A, v, w[1], 1e-3, True, "lam = 0.5 with a residual of 2 tol ||v||", hint)
    # lam = 3 with residual 5 tol ||v||: inside (3.64 + 3) tol ||v||, outside 3.64 tol ||v||
    v = U[:, 2] + 1e-3 * U[:, 0]
    verdict(learner, A, v, w[2], 1e-3, True, "lam = 3 with a residual of 5 tol ||v||", hint)


@pytest.mark.part("is_eigenpair", points=2)
def test_is_eigenpair_is_scale_free(learner):
    """The verdict does not change when v, or A and lam together, are scaled by 1e-12 to 1e12."""
    A = symmetric([3.0, -2.0, 1.0], seed=24)
    w, U = np.linalg.eigh(A)
    hint = "a residual ||A v - lam v|| <= tol is not scale-free: divide by (||A||_F + |lam|) ||v||"
    verdict(learner, A, 1e8 * U[:, 2], w[2], 1e-8, True, "1e8 times an eigenvector", hint)
    verdict(learner, A, 1e-8 * U[:, 2], w[2], 1e-8, True, "1e-8 times an eigenvector", hint)
    verdict(learner, 1e12 * A, U[:, 2], 1e12 * w[2], 1e-8, True, "an eigenpair of 1e12 A", hint)
    verdict(
        learner,
        1e-12 * A,
        U[:, 2],
        1.1e-12 * w[2],
        1e-8,
        False,
        "1e-12 A with an eigenvalue 10% off",
        hint,
    )
    verdict(
        learner,
        A,
        1e-10 * np.array([1.0, 2.0, 3.0]),
        w[2],
        1e-8,
        False,
        "1e-10 times a non-eigenvector",
        hint,
    )


@pytest.mark.part("is_eigenpair", points=1)
def test_is_eigenpair_rejects_the_zero_vector(learner):
    """The zero vector is never an eigenvector, even though A 0 = lam 0."""
    A = symmetric([3.0, -2.0, 1.0], seed=25)
    for lam in (3.0, 0.0):
        verdict(
            learner,
            A,
            np.zeros(3),
            lam,
            1e-8,
            False,
            f"v = 0 with lam = {lam}",
            "an eigenvector is nonzero by definition: return False when every entry of v is 0",
        )


@pytest.mark.part("is_eigenpair", points=1)
def test_is_eigenpair_accepts_a_zero_eigenvalue(learner):
    """A null vector of a singular A is an eigenvector for lam = 0."""
    A = symmetric([0.0, 2.0, -3.0], seed=26)
    w, U = np.linalg.eigh(A)
    i = int(np.argmin(np.abs(w)))
    verdict(
        learner,
        A,
        U[:, i],
        0.0,
        1e-8,
        True,
        "a null vector with lam = 0",
        "lam = 0 is a valid eigenvalue: do not divide by |lam| alone; scale by (||A||_F + |lam|) ||v||",
    )
