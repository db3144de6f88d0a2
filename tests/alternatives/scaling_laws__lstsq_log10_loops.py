"""A correct scaling-laws in another style: products through np.multiply with a float
dtype, the line by np.linalg.lstsq on a design matrix [1, x] (2-D y: one
line per column), the power law in base 10 (a = 10**intercept), the grid from np.linspace(..., endpoint=False) walked in a Python loop, and
the compute-optimal size as (C / 6 / r) ** 0.5."""

import numpy as np


def training_flops(n_params, n_tokens):
    return np.multiply(n_params, n_tokens, dtype=np.float64) * 6


def inference_flops(n_params, n_tokens):
    return np.multiply(n_params, n_tokens, dtype=np.float64) * 2


def fit_line(x, y):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    design = np.stack([np.ones_like(x), x], axis=1)
    (intercept, slope), *_ = np.linalg.lstsq(design, y, rcond=None)
    return slope, intercept


def fit_power_law(N, L, c=None, n_grid=1000):
    N = np.array(N, dtype=np.float64)
    L = np.array(L, dtype=np.float64)

    def fit(c_):
        slope, intercept = fit_line(np.log10(N), np.log10(L - c_))
        return 10.0**intercept, -slope

    if c is not None:
        a, alpha = fit(c)
        return a, alpha, c
    best_sse, best = np.inf, None
    for c_ in np.linspace(0.0, L.min(), n_grid, endpoint=False):
        a, alpha = fit(c_)
        sse = 0.0
        for n, loss in zip(N, L):
            sse += (a * n**-alpha + c_ - loss) ** 2
        if sse < best_sse:
            best_sse, best = sse, (a, alpha, c_)
    return best


def compute_optimal(C, tokens_per_param=20.0):
    n = (np.asarray(C, dtype=np.float64) / 6 / tokens_per_param) ** 0.5
    return n, n * tokens_per_param
