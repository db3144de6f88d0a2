"""A correct gru in another factorisation: one matmul per gate, the state written as an
interpolation h_prev + (1 - z) (n - h_prev), and the parameter count in closed form."""

import numpy as np


def _sigmoid(v):
    e = np.exp(-np.abs(v))
    return np.where(v >= 0, 1 / (1 + e), e / (1 + e))


def gru_cell(x, h_prev, Wx, Wh, bx, bh):
    H = h_prev.shape[1]
    cols = [slice(k * H, (k + 1) * H) for k in range(3)]  # r, z, n
    r = _sigmoid(x @ Wx[:, cols[0]] + bx[cols[0]] + h_prev @ Wh[:, cols[0]] + bh[cols[0]])
    z = _sigmoid(x @ Wx[:, cols[1]] + bx[cols[1]] + h_prev @ Wh[:, cols[1]] + bh[cols[1]])
    hidden_part = h_prev @ Wh[:, cols[2]] + bh[cols[2]]
    n = np.tanh(x @ Wx[:, cols[2]] + bx[cols[2]] + r * hidden_part)
    return h_prev + (1 - z) * (n - h_prev)


def gru_forward(x, h0, Wx, Wh, bx, bh):
    out = np.empty(x.shape[:2] + (h0.shape[1],), dtype=np.result_type(x, h0, Wx))
    h = h0
    for t in range(x.shape[1]):
        h = gru_cell(x[:, t, :], h, Wx, Wh, bx, bh)
        out[:, t, :] = h
    return out, h


def gru_from_torch(weight_ih, weight_hh, bias_ih, bias_hh):
    return (
        np.ascontiguousarray(weight_ih.T),
        np.ascontiguousarray(weight_hh.T),
        np.array(bias_ih),
        np.array(bias_hh),
    )


def rnn_param_count(kind, input_size, hidden_size, num_layers=1, bidirectional=False, bias=True):
    g = {"rnn": 1, "gru": 3, "lstm": 4}[kind]
    d = 2 if bidirectional else 1
    b = 2 if bias else 0
    first = g * hidden_size * (input_size + hidden_size + b)
    upper = g * hidden_size * (d * hidden_size + hidden_size + b)
    return d * (first + (num_layers - 1) * upper)
