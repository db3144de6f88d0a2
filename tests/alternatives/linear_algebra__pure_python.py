"""A correct linear-algebra in another style: i-p-j loop order, broadcasting instead of @,
zip_longest for shapes, the residual tested before each product, the spectral norm of A."""

import math
from itertools import zip_longest

import numpy as np


def matmul_loops(A, B):
    A, B = np.asarray(A), np.asarray(B)
    if A.shape[1] != B.shape[0]:
        raise ValueError("A's columns must match B's rows")
    rows = [[0.0] * B.shape[1] for _ in range(A.shape[0])]
    for i in range(A.shape[0]):
        for p in range(A.shape[1]):
            a = float(A[i, p])
            for j in range(B.shape[1]):
                rows[i][j] += a * float(B[p, j])
    return np.array(rows, dtype=np.float64).reshape(A.shape[0], B.shape[1])


def matmul(A, B):
    A, B = np.asarray(A), np.asarray(B)
    return (A[:, :, None] * B[None, :, :]).sum(axis=1)


def broadcast_shape(shape_a, shape_b):
    out = []
    for x, y in zip_longest(reversed(shape_a), reversed(shape_b), fillvalue=1):
        if x == 1:
            out.append(y)
        elif y == 1 or y == x:
            out.append(x)
        else:
            raise ValueError(f"cannot broadcast {shape_a} with {shape_b}")
    return tuple(reversed(out))


def power_iteration(A, v0, num_iters=1000, tol=1e-10):
    A = np.asarray(A, dtype=np.float64)
    v = np.asarray(v0, dtype=np.float64)
    v = v / math.sqrt(float(v @ v))
    w = A @ v
    for t in range(num_iters + 1):
        lam = float(v @ w)
        if t > 0 and math.sqrt(float((w - lam * v) @ (w - lam * v))) <= tol * abs(lam):
            break
        if t == num_iters:
            break
        v = w / math.sqrt(float(w @ w))
        w = A @ v
    return lam, v


def is_eigenpair(A, v, lam, tol=1e-8):
    A = np.asarray(A, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    norm_v = math.sqrt(float(v @ v))
    if norm_v == 0:
        return False
    r = A @ v - lam * v
    return math.sqrt(float(r @ r)) / ((math.sqrt(float((A * A).sum())) + abs(lam)) * norm_v) <= tol
