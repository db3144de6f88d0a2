"""A correct calculus in another style: explicit loops, the math module, other valid formulas.

numerical_gradient perturbs a flattened copy with rows of h * I; the optimisers keep the
velocity in Sutskever's form (v <- beta v - lr g, x <- x + v), which gives the same iterates
as the torch convention for a constant learning rate; the trajectory is preallocated.
"""

import math

import numpy as np


def numerical_gradient(f, x, h=1e-5):
    x = np.asarray(x, dtype=np.float64)
    flat = x.ravel().copy()
    steps = h * np.eye(flat.size)
    grad = np.empty(flat.size)
    for i in range(flat.size):
        up = f((flat + steps[i]).reshape(x.shape))
        down = f((flat - steps[i]).reshape(x.shape))
        grad[i] = 0.5 * (up - down) / h
    return grad.reshape(x.shape)


def quadratic_grad(A, b, x):
    d = len(x)
    g = np.zeros(d)
    for i in range(d):
        total = float(b[i])
        for j in range(d):
            total += 0.5 * (float(A[i][j]) + float(A[j][i])) * float(x[j])
        g[i] = total
    return g


def _softplus(z):
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def _sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def logistic_loss(w, X, y):
    total = 0.0
    for row, label in zip(X, y):
        z = sum(float(a) * float(c) for a, c in zip(row, w))
        # -log sigmoid(z) = softplus(-z); -log(1 - sigmoid(z)) = softplus(z)
        total += _softplus(-z) if label == 1 else _softplus(z)
    return total / len(y)


def logistic_loss_grad(w, X, y):
    n, d = len(X), len(w)
    g = [0.0] * d
    for row, label in zip(X, y):
        err = _sigmoid(sum(float(a) * float(c) for a, c in zip(row, w))) - float(label)
        for j in range(d):
            g[j] += err * float(row[j]) / n
    return np.array(g)


def chain_rule_grad(x, W):
    m, d = len(W), len(x)
    delta = []
    for i in range(m):
        z = sum(float(W[i][j]) * float(x[j]) for j in range(d))
        t = math.tanh(z)
        delta.append(2.0 * t * (1.0 - t * t))
    gx = np.array([sum(float(W[i][j]) * delta[i] for i in range(m)) for j in range(d)])
    gW = np.array([[delta[i] * float(x[j]) for j in range(d)] for i in range(m)])
    return gx, gW


def gradient_descent(grad_fn, x0, lr, steps):
    path = np.empty((steps + 1, len(x0)))
    path[0] = x0
    for t in range(steps):
        path[t + 1] = path[t] - lr * np.asarray(grad_fn(path[t].copy()))
    return path


def momentum(grad_fn, x0, lr, beta, steps):
    path = np.empty((steps + 1, len(x0)))
    path[0] = x0
    v = np.zeros(len(x0))
    for t in range(steps):
        v = beta * v - lr * np.asarray(grad_fn(path[t].copy()))
        path[t + 1] = path[t] + v
    return path


def nesterov(grad_fn, x0, lr, beta, steps):
    path = np.empty((steps + 1, len(x0)))
    path[0] = x0
    v = np.zeros(len(x0))
    for t in range(steps):
        v = beta * v - lr * np.asarray(grad_fn(path[t] + beta * v))
        path[t + 1] = path[t] + v
    return path
