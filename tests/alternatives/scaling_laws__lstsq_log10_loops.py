"""A correct scaling-laws in another style: products through np.multiply with a float
dtype, the line by np.linalg.lstsq on a design matrix [1, log10 N] in base 10 (a =
10**intercept), the grid from np.linspace(..., endpoint=False) walked in a Python loop, and
the compute-optimal size as (C / 6 / r) ** 0.5."""

import numpy as np


def training_flops(n_params, n_tokens):
    return np.multiply(n_params, n_tokens, dtype=np.float64) * 6


def inference_flops(n_params, n_tokens):
    return np.multiply(n_params, n_tokens, dtype=np.float64) * 2


def fit_power_law(N, L, c=None, n_grid=1000):
    N = np.array(N, dtype=np.float64)
    L = np.array(L, dtype=np.float64)
    design = np.stack([np.ones_like(N), np.log10(N)], axis=1)

    def fit(c_):
        (intercept, slope), *_ = np.linalg.lstsq(design, np.log10(L - c_), rcond=None)
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
