"""A correct forward-propagation computed entirely in float32, whatever dtype comes in."""

import numpy as np

f32 = np.float32


def dense_forward(X, W, b):
    return np.asarray(X, f32) @ np.asarray(W, f32) + np.asarray(b, f32)


def tanh(x):
    return np.tanh(np.asarray(x, f32))


def relu(x):
    x = np.asarray(x, f32)
    return x * (x > 0)


def leaky_relu(x, negative_slope=0.01):
    x = np.asarray(x, f32)
    return np.where(x < 0, f32(negative_slope) * x, x)


def gelu(x):
    x = np.asarray(x, f32)
    c = f32(np.sqrt(2 / np.pi))
    return f32(0.5) * x * (f32(1) + np.tanh(c * (x + f32(0.044715) * x * x * x)))


def mlp_forward(X, params, activation="relu"):
    f = globals()[activation]
    h = np.asarray(X, f32)
    hiddens = []
    for i, (W, b) in enumerate(params):
        h = dense_forward(h, W, b)
        if i < len(params) - 1:
            h = f(h)
            hiddens.append(h)
    return h, hiddens
