"""A correct perceptron in another style: plain Python loops and lists, unconditional (y - y_hat) update."""

import numpy as np


def _score(x, w, b):
    return sum(float(xi) * float(wi) for xi, wi in zip(x, w)) + float(b)


def predict(X, w, b):
    return np.array([1 if _score(x, w, b) >= 0 else 0 for x in np.asarray(X)])


def train_perceptron(X, y, lr=1.0, epochs=100, w0=None, b0=0.0):
    X = [[float(v) for v in row] for row in np.asarray(X)]
    w = [0.0] * len(X[0]) if w0 is None else [float(v) for v in w0]
    b = float(b0)
    history = []
    for _epoch in range(epochs):
        mistakes = 0
        for x, target in zip(X, [int(t) for t in y]):
            error = target - (1 if _score(x, w, b) >= 0 else 0)
            # (y - y_hat) is 0 on a right prediction, so updating every time is the same rule.
            w = [wi + lr * error * xi for wi, xi in zip(w, x)]
            b += lr * error
            mistakes += error != 0
        history.append(mistakes)
        if mistakes == 0:
            break
    return np.array(w), b, history


def decision_boundary(w, b, xs):
    return np.array([(-b - w[0] * x) / w[1] for x in np.ravel(xs)]).reshape(np.shape(xs))


def decision_grid(w, b, x_range, y_range, n):
    def axis(lo, hi):
        return [lo] if n == 1 else [lo + (hi - lo) * k / (n - 1) for k in range(n)]

    xs, ys = axis(*x_range), axis(*y_range)
    return np.array([[1 if w[0] * x + w[1] * y + b >= 0 else 0 for x in xs] for y in ys])


def xor_experiment(epochs=20, lr=1.0, w0=None, b0=0.0):
    X = [[a, c] for a in (0, 1) for c in (0, 1)]
    y = [a ^ c for a, c in X]
    return train_perceptron(np.array(X, dtype=float), y, lr, epochs, w0, b0)
