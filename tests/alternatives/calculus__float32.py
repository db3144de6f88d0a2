"""[Computed in the question's dtype: float32 when every floating input is float32, else
float64; a float32 answer to a float64 question is graded at float64.] A correct calculus computed in float32 wherever the exercise allows it.

Only numerical_gradient stays in float64 (its docstring requires it: x + 1e-5 is rounded
in float32). The hand-derived gradients use other valid formulas (1 - tanh^2 as 1/cosh^2,
the sigmoid as (1 + tanh(z/2)) / 2), and the optimisers keep float32 iterates.
"""

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

def numerical_gradient(f, x, h=1e-5):
    base = np.asarray(x, dtype=np.float64)
    units = np.eye(base.size).reshape((base.size, *base.shape))
    return np.array([(f(base + h * e) - f(base - h * e)) / (2 * h) for e in units]).reshape(
        base.shape
    )


def quadratic_grad(A, b, x):
    A, b, x = (np.asarray(v, dtype=F32) for v in (A, b, x))
    return (A @ x + x @ A) / F32(2) + b


def logistic_loss(w, X, y):
    X, w, y = (np.asarray(v, dtype=F32) for v in (X, w, y))
    z = X @ w
    # -(y log p + (1 - y) log(1 - p)) = softplus(-z) for y = 1 and softplus(z) for y = 0
    s = np.where(y == 1, -z, z)
    return F32(np.mean(np.maximum(s, 0) + np.log1p(np.exp(-np.abs(s)))))


def logistic_loss_grad(w, X, y):
    X, w, y = (np.asarray(v, dtype=F32) for v in (X, w, y))
    p = (F32(1) + np.tanh(X @ w / F32(2))) / F32(2)
    return (p - y) @ X / F32(len(y))


def chain_rule_grad(x, W):
    x, W = np.asarray(x, dtype=F32), np.asarray(W, dtype=F32)
    z = W @ x
    delta = F32(2) * np.tanh(z) / np.cosh(z) ** 2
    return delta @ W, delta[:, None] * x[None, :]


def _descend(grad_fn, x0, lr, beta, steps, lookahead):
    x = np.asarray(x0, dtype=F32).copy()
    v = np.zeros_like(x)
    rows = [x.copy()]
    for _ in range(steps):
        at = x - F32(lr * beta) * v if lookahead else x
        v = F32(beta) * v + np.asarray(grad_fn(at), dtype=F32)
        x = x - F32(lr) * v
        rows.append(x.copy())
    return np.stack(rows)


def gradient_descent(grad_fn, x0, lr, steps):
    return _descend(grad_fn, x0, lr, 0.0, steps, lookahead=False)


def momentum(grad_fn, x0, lr, beta, steps):
    return _descend(grad_fn, x0, lr, beta, steps, lookahead=False)


def nesterov(grad_fn, x0, lr, beta, steps):
    return _descend(grad_fn, x0, lr, beta, steps, lookahead=True)


# every exercise function computes in its question's dtype
for _name, _fn in list(globals().items()):
    if not _name.startswith("_") and getattr(_fn, "__module__", None) == __name__:
        globals()[_name] = _in_inputs_dtype(_fn)
