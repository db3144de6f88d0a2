"""A correct bidirectional-rnn in another style: one sequence at a time, each cut to its own
length, so padding never enters a computation."""

import numpy as np


def rnn_cell(x, h_prev, Wx, Wh, b):
    return np.tanh(x @ Wx + h_prev @ Wh + b)


def length_mask(lengths, T):
    mask = np.zeros((len(lengths), T), dtype=bool)
    for n, length in enumerate(lengths):
        mask[n, : int(length)] = True
    return mask


def reverse_padded(x, lengths):
    y = np.array(x, copy=True)
    for n, length in enumerate(lengths):
        y[n, : int(length)] = x[n, : int(length)][::-1]
    return y


def _run(seq, h, Wx, Wh, b):
    states = []
    for x_t in seq:
        h = rnn_cell(x_t[None], h[None], Wx, Wh, b)[0]
        states.append(h)
    return np.array(states), h


def masked_rnn_forward(x, h0, Wx, Wh, b, lengths):
    N, T, _ = x.shape
    hs, last = np.zeros((N, T, Wh.shape[0])), np.zeros((N, Wh.shape[0]))
    for n in range(N):
        states, last[n] = _run(x[n, : int(lengths[n])], h0[n], Wx, Wh, b)
        hs[n, : int(lengths[n])] = states
    return hs, last


def birnn_forward(x, h0, fwd, bwd, lengths):
    N, T, _ = x.shape
    H = fwd[1].shape[0]
    out, h_n = np.zeros((N, T, 2 * H)), np.zeros((2, N, H))
    for n in range(N):
        real = x[n, : int(lengths[n])]
        states_f, h_n[0, n] = _run(real, h0[0, n], *fwd)
        states_b, h_n[1, n] = _run(real[::-1], h0[1, n], *bwd)
        out[n, : int(lengths[n]), :H] = states_f
        out[n, : int(lengths[n]), H:] = states_b[::-1]
    return out, h_n
