"""A correct bptt in another style: one sample at a time with outer products, norms by hand,
the recipe written as one flat parameter list."""

import math

import numpy as np


def rnn_forward(x, h0, Wx, Wh, b):
    h, hs = h0, []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ Wx + h @ Wh + b)
        hs.append(h)
    return np.stack(hs, axis=1)


def rnn_backward(dhs, x, h0, hs, Wx, Wh):
    N, T, _ = x.shape
    dx = np.zeros(x.shape)
    dh0 = np.zeros(h0.shape)
    dWx, dWh, db = np.zeros(Wx.shape), np.zeros(Wh.shape), np.zeros(Wh.shape[0])
    for n in range(N):  # samples are independent given the weights
        carried = np.zeros(Wh.shape[0])
        for t in range(T - 1, -1, -1):
            h_t = hs[n, t]
            before = hs[n, t - 1] if t else h0[n]
            dz = (dhs[n, t] + carried) * (1.0 - h_t * h_t)
            dx[n, t] = Wx.dot(dz)
            dWx += np.outer(x[n, t], dz)
            dWh += np.outer(before, dz)
            db += dz
            carried = Wh.dot(dz)
        dh0[n] = carried
    return dx, dh0, dWx, dWh, db


def clip_grad_value(grads, clip):
    return {k: np.where(g > clip, clip, np.where(g < -clip, -clip, g)) for k, g in grads.items()}


def clip_grad_norm(grads, max_norm):
    squares = 0.0
    for g in grads.values():
        for v in np.asarray(g, dtype=np.float64).ravel():
            squares += v * v
    total = math.sqrt(squares)
    factor = max_norm / (total + 1e-6)
    if factor >= 1.0:
        return {k: np.array(g, copy=True) for k, g in grads.items()}, total
    return {k: factor * g for k, g in grads.items()}, total


def hidden_grad_norms(dh_last, hs, Wh):
    T = hs.shape[1]
    out, dh = [], dh_last
    for t in range(T - 1, -1, -1):
        out.append(math.sqrt(float((dh * dh).sum())))
        dh = (dh * (1.0 - hs[:, t] * hs[:, t])).dot(Wh.T)
    return np.array(out[::-1])


def train_rnn(X, Y, hidden, steps, lr, max_norm, seed):
    N, T, D = X.shape
    K = Y.shape[1]
    rng = np.random.default_rng(seed)
    Wx = rng.normal(size=(D, hidden)) / math.sqrt(D)
    Wh = rng.normal(size=(hidden, hidden)) / math.sqrt(hidden)
    Wy = rng.normal(size=(hidden, K)) / math.sqrt(hidden)
    b, by = np.zeros(hidden), np.zeros(K)
    h0 = np.zeros((N, hidden))
    losses = []
    for _ in range(steps):
        hs = rnn_forward(X, h0, Wx, Wh, b)
        err = hs[:, -1].dot(Wy) + by - Y
        losses.append(float((err * err).sum() / err.size))
        dpred = err * (2.0 / err.size)
        dhs = np.zeros(hs.shape)
        dhs[:, -1] = dpred.dot(Wy.T)
        _, _, dWx, dWh, db = rnn_backward(dhs, X, h0, hs, Wx, Wh)
        grads = {
            "Wx": dWx,
            "Wh": dWh,
            "b": db,
            "Wy": hs[:, -1].T.dot(dpred),
            "by": dpred.sum(axis=0),
        }
        grads, _ = clip_grad_norm(grads, max_norm)
        Wx, Wh, b = Wx - lr * grads["Wx"], Wh - lr * grads["Wh"], b - lr * grads["b"]
        Wy, by = Wy - lr * grads["Wy"], by - lr * grads["by"]
    return {"Wx": Wx, "Wh": Wh, "b": b, "Wy": Wy, "by": by}, losses
