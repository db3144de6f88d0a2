"""A correct probability in another style: explicit loops over slices, the math module, other
valid formulas (softmax from log_softmax, KL as H(p, q) - H(p), Welford's variance, Bayes in
log space)."""

import math

import numpy as np


def _rows(a, axis):
    """The array with `axis` moved last and flattened to rows, and the shape of the rest."""
    moved = np.moveaxis(np.asarray(a, dtype=np.float64), axis, -1)
    return moved.reshape(-1, moved.shape[-1]), moved.shape[:-1]


def _reduce(f, arrays, axis):
    rows = [_rows(a, axis) for a in arrays]
    rest = rows[0][1]
    out = [f(*(r[0][i] for r in rows)) for i in range(rows[0][0].shape[0])]
    return np.array(out, dtype=np.float64).reshape(rest)


def _lse(row):
    m = max(row)
    return m + math.log(math.fsum(math.exp(v - m) for v in row))


def logsumexp(z, axis=-1):
    return _reduce(_lse, [z], axis)


def log_softmax(z, axis=-1):
    rows, rest = _rows(z, axis)
    out = np.array([[v - _lse(row) for v in row] for row in rows]).reshape(*rest, rows.shape[1])
    return np.moveaxis(out, -1, axis)


def softmax(z, axis=-1):
    return np.exp(log_softmax(z, axis))


def _plogq(p, q):
    return math.fsum(pk * math.log(qk) for pk, qk in zip(p, q) if pk > 0)


def entropy(p, axis=-1):
    return _reduce(lambda r: -_plogq(r, r), [p], axis)


def cross_entropy(p, q, axis=-1):
    return _reduce(lambda a, b: -_plogq(a, b), [p, q], axis)


def kl_divergence(p, q, axis=-1):
    return _reduce(lambda a, b: _plogq(a, a) - _plogq(a, b), [p, q], axis)


def gaussian_mle(x):
    """Welford's one-pass algorithm, column by column."""
    x = np.asarray(x, dtype=np.float64)
    cols = x.reshape(x.shape[0], -1)
    means, variances = [], []
    for j in range(cols.shape[1]):
        mean, m2 = 0.0, 0.0
        for n, v in enumerate(cols[:, j], start=1):
            delta = v - mean
            mean += delta / n
            m2 += delta * (v - mean)
        means.append(mean)
        variances.append(m2 / cols.shape[0])
    return np.array(means).reshape(x.shape[1:]), np.array(variances).reshape(x.shape[1:])


def bernoulli_mle(x):
    x = np.asarray(x)
    cols = x.reshape(x.shape[0], -1)
    ones = [sum(1 for v in cols[:, j] if v) for j in range(cols.shape[1])]
    return (np.array(ones, dtype=np.float64) / x.shape[0]).reshape(x.shape[1:])


def bayes_posterior(prior, likelihood):
    """log posterior = log prior + log likelihood - logsumexp(...)."""
    with np.errstate(divide="ignore"):
        log_joint = np.log(np.asarray(prior, dtype=np.float64)) + np.log(
            np.asarray(likelihood, dtype=np.float64)
        )
    return softmax(log_joint, axis=-1)
