"""Known bugs of linear-algebra: mistakes learners make, each a replaced function."""

from nnfs_cli.grading.bugs import KnownBug

BUGS = [
    KnownBug(
        # `=` where `+=` belongs: each entry keeps only the last product. A perennial
        # StackOverflow question ("my matrix multiplication only uses the last element").
        name="overwrite-instead-of-accumulate",
        function="matmul_loops",
        hint="C[i, j] is a sum over p: accumulate with +=, do not assign each product",
        code="""
def matmul_loops(A, B):
    n, k = A.shape
    if k != B.shape[0]:
        raise ValueError("inner dimensions differ")
    C = np.zeros((n, B.shape[1]))
    for i in range(n):
        for j in range(B.shape[1]):
            for p in range(k):
                C[i, j] = A[i, p] * B[p, j]
    return C
""",
    ),
    KnownBug(
        # The accumulator is initialised once, outside the loops, so entries add up the
        # previous entries' sums: the C-style loop mistake every intro course warns about.
        name="sum-not-reset",
        function="matmul_loops",
        hint="start the sum at 0 for every (i, j): put total = 0 inside the j loop",
        code="""
def matmul_loops(A, B):
    n, k = A.shape
    if k != B.shape[0]:
        raise ValueError("inner dimensions differ")
    C = np.zeros((n, B.shape[1]))
    total = 0.0
    for i in range(n):
        for j in range(B.shape[1]):
            for p in range(k):
                total += A[i, p] * B[p, j]
            C[i, j] = total
    return C
""",
    ),
    KnownBug(
        # No shape check: with more rows in B than columns in A the loops run and silently
        # drop the extra rows (the missing "inner dimensions must agree" check).
        name="no-inner-dim-check",
        function="matmul_loops",
        hint="compare A.shape[1] with B.shape[0] first and raise ValueError when they differ",
        code="""
def matmul_loops(A, B):
    n, k = A.shape
    C = np.zeros((n, B.shape[1]))
    for i in range(n):
        for j in range(B.shape[1]):
            for p in range(k):
                C[i, j] += A[i, p] * B[p, j]
    return C
""",
    ),
    KnownBug(
        # NumPy's `*` is elementwise (MATLAB's `.*`): the most common NumPy confusion on
        # StackOverflow ("numpy matrix multiplication gives wrong result").
        name="elementwise-product",
        function="matmul",
        hint="A * B multiplies entry by entry; the matrix product is A @ B (np.matmul)",
        code="""
def matmul(A, B):
    return A * B
""",
    ),
    KnownBug(
        # Taking the larger size per position after the compatibility check: right except
        # for 0-sized dimensions, where 1 must stretch to 0 (NumPy issue discussions on
        # empty arrays; many hand-written broadcast helpers online use max()).
        name="max-instead-of-stretch",
        function="broadcast_shape",
        hint="the result is the size that is not 1, not the maximum: 1 against 0 gives 0",
        code="""
def broadcast_shape(shape_a, shape_b):
    n = max(len(shape_a), len(shape_b))
    a = (1,) * (n - len(shape_a)) + tuple(shape_a)
    b = (1,) * (n - len(shape_b)) + tuple(shape_b)
    out = []
    for x, y in zip(a, b):
        if x != y and x != 1 and y != 1:
            raise ValueError("shapes do not broadcast")
        out.append(max(x, y))
    return tuple(out)
""",
    ),
    KnownBug(
        # zip() stops at the shorter shape, and pairs the *leading* sizes: different ranks
        # are truncated and aligned on the left.
        name="zip-without-padding",
        function="broadcast_shape",
        hint="zip stops at the shorter tuple and pairs from the left: pad the shorter shape with 1s on the left first",
        code="""
def broadcast_shape(shape_a, shape_b):
    out = []
    for x, y in zip(shape_a, shape_b):
        if x != y and x != 1 and y != 1:
            raise ValueError("shapes do not broadcast")
        out.append(y if x == 1 else x)
    return tuple(out)
""",
    ),
    KnownBug(
        # Padding on the right (as if shapes were aligned from the first axis): the
        # "why can't I add a (5,) vector to a (5, 4) matrix" confusion.
        name="aligned-left",
        function="broadcast_shape",
        hint="shapes align on the right (trailing axes): pad the shorter one with 1s on the left",
        code="""
def broadcast_shape(shape_a, shape_b):
    n = max(len(shape_a), len(shape_b))
    a = tuple(shape_a) + (1,) * (n - len(shape_a))
    b = tuple(shape_b) + (1,) * (n - len(shape_b))
    out = []
    for x, y in zip(a, b):
        if x != y and x != 1 and y != 1:
            raise ValueError("shapes do not broadcast")
        out.append(y if x == 1 else x)
    return tuple(out)
""",
    ),
    KnownBug(
        # lam = ||A v|| is the usual shortcut; it is |lam| and loses the sign of a negative
        # dominant eigenvalue (the norm is also not the Rayleigh quotient before convergence).
        name="eigenvalue-from-norm",
        function="power_iteration",
        hint="||A v|| is |lam|: use the Rayleigh quotient lam = v . A v, which keeps the sign",
        code="""
def power_iteration(A, v0, num_iters=1000, tol=1e-10):
    v = np.asarray(v0) / np.linalg.norm(v0)
    lam = np.linalg.norm(A @ v)
    for _ in range(num_iters):
        w = A @ v
        lam = np.linalg.norm(w)
        v = w / lam
        if np.linalg.norm(A @ v - lam * v) <= tol * lam:
            break
    return float(lam), v
""",
    ),
    KnownBug(
        # Computing A^k v0 and normalising once at the end is the same vector in exact
        # arithmetic, but overflows or underflows (Golub and Van Loan stress the per-step scaling).
        name="normalised-only-at-end",
        function="power_iteration",
        hint="normalise v after every product: A^k v0 overflows (|lam| > 1) or underflows (|lam| < 1)",
        code="""
def power_iteration(A, v0, num_iters=1000, tol=1e-10):
    w = np.asarray(v0, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for _ in range(num_iters):
            w = A @ w
        v = w / np.linalg.norm(w)
        lam = v @ A @ v
    return float(lam), v
""",
    ),
    KnownBug(
        # Burden and Faires' textbook power method scales by the largest entry (infinity
        # norm) and reads lam off that entry: the vector is not unit length in the 2-norm.
        name="infinity-norm-scaling",
        function="power_iteration",
        hint="divide by the Euclidean norm ||A v||_2 so that ||v||_2 = 1, not by the largest entry",
        code="""
def power_iteration(A, v0, num_iters=1000, tol=1e-10):
    v = np.asarray(v0, dtype=np.float64)
    v = v / v[np.argmax(np.abs(v))]
    lam = 0.0
    for _ in range(num_iters):
        w = A @ v
        lam = w[np.argmax(np.abs(w))]
        v = w / lam
        if np.linalg.norm(A @ v - lam * v) <= tol * abs(lam) * np.linalg.norm(v):
            break
    return float(lam), v
""",
    ),
    KnownBug(
        # The natural loop order w = A v; lam = v . w; v = w / ||w|| returns the Rayleigh
        # quotient of the *previous* vector next to the new one: an inconsistent pair.
        name="rayleigh-of-previous-vector",
        function="power_iteration",
        hint="compute lam = v . A v with the v you return (after normalising), not with the previous v",
        code="""
def power_iteration(A, v0, num_iters=1000, tol=1e-10):
    v = np.asarray(v0) / np.linalg.norm(v0)
    lam = v @ A @ v
    for _ in range(num_iters):
        w = A @ v
        lam = v @ w
        v = w / np.linalg.norm(w)
        if np.linalg.norm(A @ v - lam * v) <= tol * abs(lam):
            break
    return float(lam), v
""",
    ),
    KnownBug(
        # The loop normalises every iterate, so learners skip normalising v0 before it: the
        # same result for num_iters >= 1, but zero iterations return v0 as given (not unit)
        # with lam = v0 . A v0 (not the Rayleigh quotient of a unit vector).
        name="start-not-normalised",
        function="power_iteration",
        hint="normalise the start too: v = v0 / ||v0|| before the loop, then lam = v . A v",
        code="""
def power_iteration(A, v0, num_iters=1000, tol=1e-10):
    A = np.asarray(A)
    v = np.asarray(v0)
    Av = A @ v
    lam = v @ Av
    for _ in range(num_iters):
        v = Av / np.linalg.norm(Av)
        Av = A @ v
        lam = v @ Av
        if np.linalg.norm(Av - lam * v) <= tol * abs(lam):
            break
    return float(lam), v
""",
    ),
    KnownBug(
        # An absolute threshold on the residual: scale-dependent, so large matrices always
        # fail and tiny ones always pass (a classic floating-point comparison pitfall).
        name="absolute-residual",
        function="is_eigenpair",
        hint="compare the residual with tol times the sizes involved, (||A||_F + |lam|) ||v||, not with tol alone",
        code="""
def is_eigenpair(A, v, lam, tol=1e-8):
    v = np.asarray(v, dtype=np.float64)
    if not np.any(v):
        return False
    return bool(np.linalg.norm(A @ v - lam * v) <= tol)
""",
    ),
    KnownBug(
        # A v = lam v holds trivially for v = 0; the definition excludes it (Strang 6.1).
        name="zero-vector-accepted",
        function="is_eigenpair",
        hint="an eigenvector is nonzero by definition: return False when v is the zero vector",
        code="""
def is_eigenpair(A, v, lam, tol=1e-8):
    A, v = np.asarray(A, dtype=np.float64), np.asarray(v, dtype=np.float64)
    residual = np.linalg.norm(A @ v - lam * v)
    return bool(residual <= tol * (np.linalg.norm(A) + abs(lam)) * np.linalg.norm(v))
""",
    ),
    KnownBug(
        # The backward-error habit tol * ||A|| * ||v|| (as in LAPACK's residual checks) drops
        # the |lam| term: pairs with a large |lam| and a residual between the two scales fail.
        name="relative-to-matrix-only",
        function="is_eigenpair",
        hint="the scale is (||A||_F + |lam|) ||v||: add |lam| to ||A||_F",
        code="""
def is_eigenpair(A, v, lam, tol=1e-8):
    A, v = np.asarray(A, dtype=np.float64), np.asarray(v, dtype=np.float64)
    if not np.any(v):
        return False
    return bool(np.linalg.norm(A @ v - lam * v) <= tol * np.linalg.norm(A) * np.linalg.norm(v))
""",
    ),
    KnownBug(
        # "Relative" to the eigenvalue alone: lam = 0 (a singular A's null vectors) can then
        # never pass, since any rounding in A v exceeds tol * 0.
        name="relative-to-eigenvalue-only",
        function="is_eigenpair",
        hint="lam = 0 is a valid eigenvalue: scale the tolerance by (||A||_F + |lam|) ||v||, not by |lam| ||v||",
        code="""
def is_eigenpair(A, v, lam, tol=1e-8):
    A, v = np.asarray(A, dtype=np.float64), np.asarray(v, dtype=np.float64)
    if not np.any(v):
        return False
    return bool(np.linalg.norm(A @ v - lam * v) <= tol * abs(lam) * np.linalg.norm(v))
""",
    ),
]

# Mutants that cannot change any result for an input the docstrings allow (nnfs audit).
EQUIVALENT = {
    "matmul_loops/sibling/zeros->ones#0": "every entry C[i, j] is assigned (=, not +=) in the loops, so the initial fill never shows",
    "matmul_loops/swap-args/swap first two arguments#0": "np.result_type is symmetric in its arguments",
    "broadcast_shape/swap-args/swap first two arguments#0": "max of two lengths is symmetric in its arguments",
    "broadcast_shape/swap-args/swap first two arguments#1": "the check is symmetric in (x, y), and on a compatible pair 'y if x == 1 else x' equals 'x if y == 1 else y'",
    "power_iteration/transpose/add .T to right operand#0": "v is one-dimensional and .T of a 1-D array is the same array",
    "power_iteration/transpose/add .T to right operand#1": "A v is one-dimensional and .T of a 1-D array is the same array",
    "power_iteration/transpose/add .T to right operand#2": "v is one-dimensional and .T of a 1-D array is the same array",
    "power_iteration/transpose/add .T to right operand#3": "A v is one-dimensional and .T of a 1-D array is the same array",
    "is_eigenpair/transpose/add .T to right operand#0": "v is one-dimensional and .T of a 1-D array is the same array",
}
