"""A correct lstm in another factorisation: four separate weight blocks, one matmul per gate,
a sigmoid split by sign, and the backward written gate by gate."""

import numpy as np


def _sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _blocks(W, H):
    return [W[..., k * H : (k + 1) * H] for k in range(4)]  # i, f, g, o


def _gates(x, h_prev, Wx, Wh, b):
    H = h_prev.shape[1]
    pre = [xw + hw + bb for xw, hw, bb in zip(
        (x @ w for w in _blocks(Wx, H)), (h_prev @ w for w in _blocks(Wh, H)), _blocks(b, H))]  # fmt: skip
    return _sigmoid(pre[0]), _sigmoid(pre[1]), np.tanh(pre[2]), _sigmoid(pre[3])


def lstm_cell_forward(x, h_prev, c_prev, Wx, Wh, b):
    i, f, g, o = _gates(x, h_prev, Wx, Wh, b)
    c = f * c_prev + i * g
    return o * np.tanh(c), c


def lstm_cell_backward(dh, dc, x, h_prev, c_prev, Wx, Wh, b):
    i, f, g, o = _gates(x, h_prev, Wx, Wh, b)
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    d_cell = dc + dh * o * (1.0 - tanh_c * tanh_c)
    d_pre = [
        d_cell * g * i * (1.0 - i),  # input gate
        d_cell * c_prev * f * (1.0 - f),  # forget gate
        d_cell * i * (1.0 - g * g),  # candidate
        dh * tanh_c * o * (1.0 - o),  # output gate
    ]
    H = h_prev.shape[1]
    dx = sum(d @ w.T for d, w in zip(d_pre, _blocks(Wx, H)))
    dh_prev = sum(d @ w.T for d, w in zip(d_pre, _blocks(Wh, H)))
    dWx = np.concatenate([x.T @ d for d in d_pre], axis=1)
    dWh = np.concatenate([h_prev.T @ d for d in d_pre], axis=1)
    db = np.concatenate([d.sum(axis=0) for d in d_pre])
    return dx, dh_prev, d_cell * f, dWx, dWh, db


def lstm_forward(x, h0, c0, Wx, Wh, b):
    N, T, _ = x.shape
    out = np.empty((N, T, h0.shape[1]), dtype=np.result_type(x, h0, Wx))
    h, c = h0, c0
    for t in range(T):
        h, c = lstm_cell_forward(x[:, t, :], h, c, Wx, Wh, b)
        out[:, t, :] = h
    return out, h, c


def lstm_from_torch(weight_ih, weight_hh, bias_ih, bias_hh):
    return np.transpose(weight_ih).copy(), np.transpose(weight_hh).copy(), np.add(bias_ih, bias_hh)
