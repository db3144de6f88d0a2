"""Test functions that graders pass *to* learner code (e.g. a function to differentiate).

They live in an importable module because only plain data and importable functions can
cross into the sandboxed learner process. Each objective `f(x) -> float` comes with its
exact gradient `f_grad(x) -> array shaped like x`; both compute in float64.

| objective    | x                  | minimum                     |
|--------------|--------------------|-----------------------------|
| `bowl`       | shape (2,)         | BOWL_MIN = (1, -2), value 0 |
| `rosenbrock` | shape (D,), D >= 2 | (1, ..., 1), value 0        |
| `wavy`       | any shape          | (not used for optimisation) |
"""

from __future__ import annotations

import numpy as np

# An ill-conditioned quadratic: eigenvalues of BOWL_H are ~10.95 and ~0.55 (condition
# number ~20), and its axes are rotated, so plain gradient descent zig-zags.
BOWL_H = np.array([[10.0, 3.0], [3.0, 1.5]])
BOWL_MIN = np.array([1.0, -2.0])


def bowl(x: np.ndarray) -> float:
    """f(x) = 1/2 (x - m)^T H (x - m) with H = BOWL_H, m = BOWL_MIN; x of shape (2,)."""
    d = np.asarray(x, dtype=np.float64) - BOWL_MIN
    return float(0.5 * d @ BOWL_H @ d)


def bowl_grad(x: np.ndarray) -> np.ndarray:
    """Gradient of `bowl`: H (x - m), shape (2,)."""
    return BOWL_H @ (np.asarray(x, dtype=np.float64) - BOWL_MIN)


def rosenbrock(x: np.ndarray) -> float:
    """Rosenbrock's valley, sum_i 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2; x of shape (D,), D >= 2."""
    x = np.asarray(x, dtype=np.float64)
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))


def rosenbrock_grad(x: np.ndarray) -> np.ndarray:
    """Gradient of `rosenbrock`, shape (D,)."""
    x = np.asarray(x, dtype=np.float64)
    g = np.zeros_like(x)
    inner = x[1:] - x[:-1] ** 2
    g[:-1] = -400.0 * x[:-1] * inner - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * inner
    return g


def wavy(x: np.ndarray) -> float:
    """f(x) = sum(x sin x) + log(1 + sum(x^2)) for x of any shape (every coordinate is coupled)."""
    x = np.asarray(x, dtype=np.float64)
    return float(np.sum(x * np.sin(x)) + np.log1p(np.sum(x * x)))


def wavy_grad(x: np.ndarray) -> np.ndarray:
    """Gradient of `wavy`: sin x + x cos x + 2 x / (1 + sum(x^2)), shaped like x."""
    x = np.asarray(x, dtype=np.float64)
    return np.sin(x) + x * np.cos(x) + 2.0 * x / (1.0 + np.sum(x * x))
