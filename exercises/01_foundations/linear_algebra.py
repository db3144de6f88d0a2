"""# Linear algebra for neural networks: products, broadcasting, eigenvectors

**The matrix product.** For `A` of shape `(n, k)` and `B` of shape `(k, m)`,

    C = A B,        C[i, j] = sum_p A[i, p] * B[p, j],        C has shape (n, m).

Entry `(i, j)` is the dot product of row `i` of `A` with column `j` of `B`, so the
*inner* dimensions must agree (`k` both times); `(2, 3) @ (2, 3)` is undefined. It costs
`n k m` multiply-adds. A dense layer is one product: a batch `X (N, D)` times weights
`W (D, H)` gives `(N, H)`. NumPy's `*` is *elementwise*, not this product.

**Vectorisation.** A Python loop pays ~50-100 ns of interpreter work per step; `A @ B`
hands the whole product to compiled BLAS code. Write the triple loop once to know what
the product is, then never again.

**Broadcasting** lets arrays of different shapes combine elementwise. NumPy's rule:

1. align the two shapes on the right, padding the shorter one with 1s on the left;
2. in each position the sizes must be equal, or one of them must be 1;
3. the result takes the other size: a 1 *stretches* to match (even to 0).

For example:

    (5, 3)    with (3,)        -> (5, 3)       a bias added to every row
    (4, 1)    with (1, 3)      -> (4, 3)       an "outer" combination
    (0,)      with (1,)        -> (0,)         1 stretches to 0 (it is not max(0, 1))
    (2, 3)    with (3, 2)      -> error        3 vs 2 in the last position
    (5, 4)    with (5,)        -> error        (5,) aligns with the 4, not the 5

**Eigenpairs.** `v != 0` is an eigenvector of a square `A` with eigenvalue `lam` when
`A v = lam v`. Any nonzero multiple of `v` is one too, so `v` is known only up to scale
and sign. A real symmetric `A (n, n)` has `n` real eigenvalues and orthonormal
eigenvectors (the spectral theorem). Numerically we test a candidate pair with the
*relative residual*

    ||A v - lam v|| <= tol * (||A||_F + |lam|) * ||v||,

which does not change when `A`, `lam` or `v` are rescaled, and accepts `lam = 0` (a null
vector of a singular `A`).

**Power iteration** finds the dominant eigenpair (largest `|lam|`). Start from a unit
`v0` and repeat

    v <- A v / ||A v||,        lam = v . A v   (the Rayleigh quotient of the unit v).

Write `v0` in the eigenbasis: `A^t v0 = sum_i c_i lam_i^t u_i`, so when `|lam_1| > |lam_2|`
(and `c_1 != 0`) the direction converges to `u_1` with error `O(|lam_2 / lam_1|^t)`.
Normalise every step: `A^t v0` alone overflows (or underflows) within a few hundred steps.
If `lam_1 < 0` the sign of `v` flips every step while its direction converges, so stop on
the residual, which ignores the sign: after each step, stop as soon as
`||A v - lam v|| <= tol * |lam|`. The eigenvalue must come from the Rayleigh quotient,
not from `||A v||` (which has lost the sign of `lam`).

**Inputs are read-only.** No function here modifies an array (or a dict) it is given:
copy first (`x = np.array(x, dtype=np.float64)`) and return new objects. The grader
checks every call, because a caller that reuses its array would be silently wrong.

Read: Strang, *Introduction to Linear Algebra*, chapters 2 and 6; Goodfellow et al.,
*Deep Learning*, chapter 2; Golub and Van Loan, *Matrix Computations*, sections 7.3.1
and 8.2.1 (the power method); the NumPy user guide, "Broadcasting".
"""

import numpy as np


def matmul_loops(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """The matrix product C = A B with explicit Python loops over i, j and the inner index p.

    A: (n, k), B: (k, m), both 2-D. Returns C of shape (n, m) with
    C[i, j] = sum_p A[i, p] * B[p, j].
    Raises ValueError when the inner dimensions differ (A.shape[1] != B.shape[0]).
    From scratch: no np.matmul, np.dot, `@`, np.einsum, np.tensordot, np.inner, np.vdot or
    np.linalg inside this function; scalar products and additions only.
    """
    # YOUR CODE HERE
    raise NotImplementedError("linear-algebra: implement matmul_loops")


def matmul(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """The same product C = A B, vectorised: no Python loops or comprehensions in here.

    A: (n, k), B: (k, m), both 2-D. Returns C of shape (n, m).
    Any vectorised NumPy way is fine (`A @ B` included); it must not call matmul_loops.
    Raises ValueError when the inner dimensions differ.
    """
    # YOUR CODE HERE
    raise NotImplementedError("linear-algebra: implement matmul")


def broadcast_shape(shape_a: tuple[int, ...], shape_b: tuple[int, ...]) -> tuple[int, ...]:
    """The shape NumPy gives to an elementwise operation on arrays of these two shapes.

    shape_a, shape_b: tuples of non-negative ints, of any lengths (() is a scalar's shape).
    Returns a tuple of ints of length max(len(shape_a), len(shape_b)): align on the right,
    pad the shorter with 1s on the left; per position the sizes must be equal or one must
    be 1, and the result is the other size (a 1 stretches, even to 0: (0,) with (1,) is (0,)).
    Raises ValueError when some position has two different sizes, neither of them 1.
    Shape arithmetic only: no arrays, no np.broadcast_shapes / np.broadcast / np.broadcast_to.
    """
    # YOUR CODE HERE
    raise NotImplementedError("linear-algebra: implement broadcast_shape")


def power_iteration(
    A: np.ndarray, v0: np.ndarray, num_iters: int = 1000, tol: float = 1e-10
) -> tuple[float, np.ndarray]:
    """The dominant eigenpair (largest |lam|) of a square A by power iteration.

    A: (n, n); v0: (n,) nonzero start vector (assume A v0 != 0 and v0 not orthogonal to
    the dominant eigenvector). Start with v = v0 / ||v0||; each iteration sets
    v <- A v / ||A v|| (one product by A) and lam = v . A v for that new v. Stop after
    num_iters iterations, or earlier, right after the first iteration whose v satisfies
    ||A v - lam v|| <= tol * |lam| (tol = 0 runs all num_iters).
    Returns (lam, v): lam a float (the Rayleigh quotient of the returned v), v of shape
    (n,) with ||v||_2 = 1. Either sign of v is accepted.
    From scratch: no np.linalg.eig / eigh / eigvals / eigvalsh / svd in here.
    v0 is not modified: normalise a copy (v = v0 / ||v0||), never v0 /= ... in place.
    """
    # YOUR CODE HERE
    raise NotImplementedError("linear-algebra: implement power_iteration")


def is_eigenpair(A: np.ndarray, v: np.ndarray, lam: float, tol: float = 1e-8) -> bool:
    """Whether (lam, v) is an eigenpair of the square A up to a relative residual tol.

    A: (n, n), v: (n,), lam: a number. Returns a bool: True when v is not the zero vector
    and ||A v - lam v|| <= tol * (||A||_F + |lam|) * ||v|| (2-norms, Frobenius norm of A).
    The test is scale-free: rescaling v, or A and lam together, never changes the answer.
    Compute in float64 (convert float32 inputs): a tol of 1e-8 is below float32's resolution.
    """
    # YOUR CODE HERE
    raise NotImplementedError("linear-algebra: implement is_eigenpair")
