"""A correct attention-intuition written with loops: one query (one target) at a time, a
softmax through logsumexp, the backward by the product rule on the unnormalised kernels,
and the read-outs by the normal equations instead of lstsq. Computes in the inputs' dtype."""

import numpy as np


def _softmax(row):
    shifted = row - row.max()
    return np.exp(shifted - np.log(np.sum(np.exp(shifted))))


def kernel_regression(queries, keys, values, sigma):
    weights = np.stack([_softmax(-((q - keys) ** 2) / (2 * sigma * sigma)) for q in queries])
    preds = [sum(w * v for w, v in zip(row, values)) for row in weights]
    return np.stack(preds).astype(weights.dtype), weights


def kernel_regression_backward(dpred, queries, keys, values, sigma):
    _, weights = kernel_regression(queries, keys, values, sigma)
    dq, dk = np.zeros_like(queries), np.zeros_like(keys)
    dv, ds = np.zeros_like(values), 0.0
    for i, q in enumerate(queries):
        w = weights[i]
        dw = np.array([np.sum(dpred[i] * v) for v in values])
        mean_dw = np.sum(w * dw)
        for j, k in enumerate(keys):
            dscore = w[j] * (dw[j] - mean_dw)
            dq[i] -= dscore * (q - k) / sigma**2
            dk[j] += dscore * (q - k) / sigma**2
            ds += dscore * (q - k) ** 2 / sigma**3
            dv[j] += w[j] * dpred[i]
    return dq, dk, dv, ds


def fit_bandwidth(x_train, y_train, x_val, y_val, sigma0, lr, steps):
    sigma, losses = sigma0, np.zeros(steps)
    for step in range(steps):
        pred, _ = kernel_regression(x_val, x_train, y_train, sigma)
        losses[step] = np.mean((pred - y_val) ** 2)
        grads = kernel_regression_backward(
            2 * (pred - y_val) / len(y_val), x_val, x_train, y_train, sigma
        )
        sigma -= lr * grads[3]
    return sigma, losses


def alignment(encoder_states, decoder_states):
    weights = np.stack([_softmax(encoder_states @ s) for s in decoder_states])
    hard = np.array([int(np.argmax(row)) for row in weights])
    return weights, hard


def recall_errors(x, queries, keys):
    S, T, d = x.shape
    A, _ = alignment(keys, queries)
    mean = x.sum(axis=1) / T
    errors = []
    for context_of in (lambda t: mean, lambda t: sum(A[t, s] * x[:, s] for s in range(T))):
        total = 0.0
        for t in range(T):
            c = context_of(t)
            W = np.linalg.solve(c.T @ c, c.T @ x[:, t])
            total += np.sum((c @ W - x[:, t]) ** 2)
        errors.append(total / (S * T * d))
    return errors[0], errors[1]
