"""A correct rnn in another style: time-first internally, one sample at a time, math.tanh per unit."""

import math

import numpy as np


def _act(v, nonlinearity):
    return math.tanh(v) if nonlinearity == "tanh" else max(v, 0.0)


def rnn_cell(x, h_prev, Wx, Wh, b, nonlinearity="tanh"):
    out = np.empty((len(x), len(b)), dtype=np.result_type(x, h_prev, Wx, Wh, b))
    for i in range(len(x)):
        z = np.dot(Wx.T, x[i]) + np.dot(Wh.T, h_prev[i]) + b  # one sample, as a column
        out[i] = [_act(float(v), nonlinearity) for v in z]
    return out


def rnn_forward(x, h0, Wx, Wh, b, nonlinearity="tanh"):
    time_first = np.transpose(x, (1, 0, 2))  # (T, N, D): a view, x itself is untouched
    states = np.empty((time_first.shape[0],) + np.shape(h0), dtype=np.result_type(x, h0, Wx))
    h = h0
    for t, x_t in enumerate(time_first):
        h = rnn_cell(x_t, h, Wx, Wh, b, nonlinearity)
        states[t] = h
    return np.ascontiguousarray(states.transpose(1, 0, 2))


def rnn_from_torch(weight_ih, weight_hh, bias_ih, bias_hh):
    Wx = np.array(
        [[weight_ih[j][k] for j in range(len(weight_ih))] for k in range(len(weight_ih[0]))]
    )
    Wh = np.array(
        [[weight_hh[j][k] for j in range(len(weight_hh))] for k in range(len(weight_hh[0]))]
    )
    return Wx, Wh, np.array([bi + bh for bi, bh in zip(bias_ih, bias_hh)])


def stacked_rnn_forward(x, h0, layers, nonlinearity="tanh"):
    outputs, finals = x, []
    for k in range(len(layers)):
        Wx, Wh, b = layers[k]
        outputs = rnn_forward(outputs, h0[k], Wx, Wh, b, nonlinearity)
        finals.append(outputs[:, outputs.shape[1] - 1, :])
    return outputs, np.array(finals)
