"""A correct perceptron-theory in another style: explicit loops, math module, float32 where natural."""

import math

import numpy as np


def _map(f, z):
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    for idx in np.ndindex(z.shape):
        out[idx] = f(float(z[idx]))
    return out


def step(z):
    return _map(lambda v: 1.0 if v >= 0 else 0.0, z)


def step_grad(z):
    return _map(lambda v: 0.0, z)


def _sig(v):
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


def sigmoid(z):
    return _map(_sig, z)


def sigmoid_grad(z):
    return _map(lambda v: _sig(v) * (1.0 - _sig(v)), z)


def relu(z):
    return _map(lambda v: v if v > 0 else 0.0, z)


def relu_grad(z):
    return _map(lambda v: 1.0 if v > 0 else 0.0, z)


def neuron(x, w, b, activation="sigmoid"):
    f = {"step": step, "sigmoid": sigmoid, "relu": relu, "linear": lambda v: np.asarray(v, dtype=np.float64)}[activation]
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        return f(np.float64(sum(xi * wi for xi, wi in zip(x, w)) + b))
    return f(np.array([sum(xi * wi for xi, wi in zip(row, w)) + b for row in x]))


def perceptron_update(w, b, x, y, lr=1.0):
    z = sum(float(a) * float(c) for a, c in zip(w, x)) + b
    y_hat = 1 if z >= 0 else 0
    if y_hat == y:
        return np.array(w, dtype=np.float64), float(b)
    new_w = np.array([wi + lr * (y - y_hat) * xi for wi, xi in zip(w, x)])
    return new_w, float(b + lr * (y - y_hat))
