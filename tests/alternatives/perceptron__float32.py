"""A correct perceptron in another style: float32 throughout, broadcasting, float labels, while loops."""

import numpy as np


def predict(X, w, b):
    X = np.asarray(X, dtype=np.float32)
    return np.heaviside(X @ np.asarray(w, dtype=np.float32) + np.float32(b), np.float32(1.0))


def train_perceptron(X, y, lr=1.0, epochs=100, w0=None, b0=0.0):
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    w = np.zeros(X.shape[1], np.float32) if w0 is None else np.asarray(w0, np.float32).copy()
    b = np.float32(b0)
    lr = np.float32(lr)
    history = []
    epoch = 0
    while epoch < epochs:
        errors = 0
        i = 0
        while i < len(X):
            error = y[i] - np.float32(np.dot(X[i], w) + b >= 0)
            if error:  # the update is zero when the prediction is right anyway
                w += lr * error * X[i]
                b += lr * error
                errors += 1
            i += 1
        history.append(errors)
        epoch += 1
        if not errors:
            break
    return w, b, history


def decision_boundary(w, b, xs):
    slope, intercept = -np.float32(w[0]) / np.float32(w[1]), -np.float32(b) / np.float32(w[1])
    return slope * np.asarray(xs, dtype=np.float32) + intercept


def decision_grid(w, b, x_range, y_range, n):
    xs = np.linspace(*x_range, n)
    ys = np.linspace(*y_range, n)
    z = w[1] * ys[:, None] + w[0] * xs[None, :] + b
    return np.where(z >= 0, 1.0, 0.0).astype(np.float32)


def xor_experiment(epochs=20, lr=1.0, w0=None, b0=0.0):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.logical_xor(X[:, 0], X[:, 1]).astype(np.float32)
    return train_perceptron(X, y, lr, epochs, w0, b0)
