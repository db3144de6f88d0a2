"""A correct backprop in another style: explicit loops, the math module, per-sample backprop.

mlp_backward runs the chain rule one sample at a time (vectors, not matrices) and averages
the per-sample gradients, instead of backpropagating the whole batch at once.
"""

import math

import numpy as np


def dense_backward(dout, X, W):
    dout, X, W = (np.asarray(a, dtype=np.float64) for a in (dout, X, W))
    n, d_in = X.shape
    d_out = W.shape[1]
    dX, dW, db = np.zeros((n, d_in)), np.zeros((d_in, d_out)), np.zeros(d_out)
    for s in range(n):
        for i in range(d_in):
            for j in range(d_out):
                dX[s, i] += dout[s, j] * W[i, j]
                dW[i, j] += X[s, i] * dout[s, j]
        for j in range(d_out):
            db[j] += dout[s, j]
    return dX, dW, db


def _elementwise(f, dout, z):
    dout, z = np.asarray(dout, dtype=np.float64), np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    for idx in np.ndindex(z.shape):
        out[idx] = dout[idx] * f(float(z[idx]))
    return out


def relu_backward(dout, z):
    return _elementwise(lambda v: 1.0 if v > 0 else 0.0, dout, z)


def leaky_relu_backward(dout, z, alpha=0.01):
    return _elementwise(lambda v: 1.0 if v > 0 else alpha, dout, z)


def tanh_backward(dout, z):
    return _elementwise(lambda v: 1.0 - math.tanh(v) ** 2, dout, z)


def _sigmoid(v):
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


def sigmoid_backward(dout, z):
    return _elementwise(lambda v: _sigmoid(v) * (1.0 - _sigmoid(v)), dout, z)


def _log_softmax_row(row):
    m = max(row)
    lse = m + math.log(sum(math.exp(v - m) for v in row))
    return [v - lse for v in row]


def softmax_cross_entropy(logits, y):
    logits = np.asarray(logits, dtype=np.float64)
    n, c = logits.shape
    loss, grad = 0.0, np.zeros((n, c))
    for s in range(n):
        log_p = _log_softmax_row(list(logits[s]))
        loss -= log_p[int(y[s])] / n
        for k in range(c):
            grad[s, k] = (math.exp(log_p[k]) - (1.0 if k == int(y[s]) else 0.0)) / n
    return loss, grad


def _layers(params):
    return [
        (np.asarray(params[f"W{i}"], np.float64), np.asarray(params[f"b{i}"], np.float64))
        for i in range(1, len(params) // 2 + 1)
    ]


def mlp_forward(X, params):
    layers = _layers(params)
    h = np.asarray(X, dtype=np.float64)
    for i, (W, b) in enumerate(layers):
        h = h @ W + b
        if i < len(layers) - 1:
            h = np.where(h > 0, h, 0.0)
    return h


def mlp_backward(X, y, params):
    layers = _layers(params)
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    grads = [[np.zeros_like(W), np.zeros_like(b)] for W, b in layers]
    total = 0.0
    for s in range(n):
        # forward for one sample, keeping every layer's input and pre-activation
        h, inputs, pre = X[s], [], []
        for i, (W, b) in enumerate(layers):
            inputs.append(h)
            z = h @ W + b
            pre.append(z)
            h = np.where(z > 0, z, 0.0) if i < len(layers) - 1 else z
        log_p = np.array(_log_softmax_row(list(h)))
        total -= log_p[int(y[s])]
        delta = np.exp(log_p)
        delta[int(y[s])] -= 1.0
        # backward for one sample: outer products and vector-matrix products
        for i in range(len(layers) - 1, -1, -1):
            W, _ = layers[i]
            grads[i][0] += np.outer(inputs[i], delta) / n
            grads[i][1] += delta / n
            if i > 0:
                delta = (W @ delta) * (pre[i - 1] > 0)
    out = {}
    for i, (gW, gb) in enumerate(grads, start=1):
        out[f"W{i}"], out[f"b{i}"] = gW, gb
    return total / n, out
