"""A correct linear-algebra computed in float32 (products, power iteration); is_eigenpair in float64 as its docstring asks."""

import numpy as np


def matmul_loops(A, B):
    A, B = np.asarray(A, np.float32), np.asarray(B, np.float32)
    n, k = A.shape
    if k != B.shape[0]:
        raise ValueError("bad")
    C = np.zeros((n, B.shape[1]), np.float32)
    for i in range(n):
        for j in range(B.shape[1]):
            s = np.float32(0)
            for p in range(k):
                s += A[i, p] * B[p, j]
            C[i, j] = s
    return C


def matmul(A, B):
    A, B = np.asarray(A, np.float32), np.asarray(B, np.float32)
    return A @ B


def broadcast_shape(a, b):
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + tuple(a)
    b = (1,) * (n - len(b)) + tuple(b)
    out = []
    for x, y in zip(a, b):
        if x != y and x != 1 and y != 1:
            raise ValueError("no")
        out.append(y if x == 1 else x)
    return tuple(out)


def power_iteration(A, v0, num_iters=1000, tol=1e-10):
    A = np.asarray(A, np.float32)
    v = np.asarray(v0, np.float32)
    v = v / np.linalg.norm(v)
    Av = A @ v
    lam = v @ Av
    for _ in range(num_iters):
        v = Av / np.linalg.norm(Av)
        Av = A @ v
        lam = v @ Av
        if np.linalg.norm(Av - lam * v) <= tol * abs(lam):
            break
    return float(lam), v


def is_eigenpair(A, v, lam, tol=1e-8):
    A, v = np.asarray(A, np.float64), np.asarray(v, np.float64)
    if not np.any(v):
        return False
    return bool(
        np.linalg.norm(A @ v - lam * v) <= tol * (np.linalg.norm(A) + abs(lam)) * np.linalg.norm(v)
    )
