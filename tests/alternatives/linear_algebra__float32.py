"""[Computed in the question's dtype: float32 when every floating input is float32, else
float64; a float32 answer to a float64 question is graded at float64.] A correct linear-algebra computed in float32 (products, power iteration); is_eigenpair in float64 as its docstring asks."""

import functools

import numpy as np

F32 = np.float32  # the dtype of the current call, set by _in_inputs_dtype


def _floating(x):
    if isinstance(x, np.ndarray | np.floating):
        return [x.dtype] if np.issubdtype(x.dtype, np.floating) else []
    if isinstance(x, list | tuple | dict):
        return [d for v in (x.values() if isinstance(x, dict) else x) for d in _floating(v)]
    return []


def _in_inputs_dtype(fn):
    """Run `fn` in float32 when its floating inputs are all float32, else in float64."""

    @functools.wraps(fn)
    def call(*args, **kwargs):
        global F32
        saved, found = F32, _floating([args, kwargs])
        F32 = np.float32 if found and all(d == np.float32 for d in found) else np.float64
        try:
            return fn(*args, **kwargs)
        finally:
            F32 = saved

    return call


def matmul_loops(A, B):
    A, B = np.asarray(A, F32), np.asarray(B, F32)
    n, k = A.shape
    if k != B.shape[0]:
        raise ValueError("bad")
    C = np.zeros((n, B.shape[1]), F32)
    for i in range(n):
        for j in range(B.shape[1]):
            s = F32(0)
            for p in range(k):
                s += A[i, p] * B[p, j]
            C[i, j] = s
    return C


def matmul(A, B):
    A, B = np.asarray(A, F32), np.asarray(B, F32)
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
    A = np.asarray(A, F32)
    v = np.asarray(v0, F32)
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


# every exercise function computes in its question's dtype
for _name, _fn in list(globals().items()):
    if not _name.startswith("_") and getattr(_fn, "__module__", None) == __name__:
        globals()[_name] = _in_inputs_dtype(_fn)
