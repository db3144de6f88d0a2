"""A correct training-dynamics in another style: explicit loops and other valid formulas.

cross-entropy through log-sum-exp per row, cosine as a squared cosine of half the angle,
decays by repeated multiplication, batches cut with a while loop from rng.shuffle, a
training loop (the docstring's recipe) with per-sample backward passes summed.
"""

import math

import numpy as np


def mse_loss(y_pred, y):
    flat_p = np.asarray(y_pred, dtype=np.float64).ravel()
    flat_y = np.asarray(y, dtype=np.float64).ravel()
    m = flat_p.size
    total = 0.0
    grad = np.empty(m)
    for i in range(m):
        d = flat_p[i] - flat_y[i]
        total += d * d
        grad[i] = 2.0 * d / m
    return total / m, grad.reshape(np.shape(y_pred))


def cross_entropy_loss(logits, y):
    logits = np.asarray(logits, dtype=np.float64)
    n, c = logits.shape
    total = 0.0
    grad = np.empty((n, c))
    for i in range(n):
        row = logits[i]
        top = max(row)
        lse = top + math.log(sum(math.exp(v - top) for v in row))
        total += lse - row[int(y[i])]
        for j in range(c):
            grad[i, j] = (math.exp(row[j] - lse) - (1.0 if j == int(y[i]) else 0.0)) / n
    return total / n, grad


def sgd_step(params, grads, lr):
    new = {}
    for name in sorted(params):
        p = np.array(params[name], dtype=np.float64, copy=True)
        for idx in np.ndindex(p.shape):
            p[idx] -= lr * grads[name][idx]
        new[name] = p
    return new


def momentum_step(params, grads, velocity, lr, beta):
    new_p, new_v = {}, {}
    for name in params:
        v = np.empty(np.shape(params[name]))
        p = np.empty(np.shape(params[name]))
        for idx in np.ndindex(p.shape):
            v[idx] = beta * velocity[name][idx] + grads[name][idx]
            p[idx] = params[name][idx] - lr * v[idx]
        new_p[name], new_v[name] = p, v
    return new_p, new_v


def step_decay(lr0, step, step_size, gamma):
    lr = lr0
    for _ in range(step // step_size):
        lr *= gamma
    return lr


def exponential_decay(lr0, step, gamma):
    lr = lr0
    for _ in range(step):
        lr *= gamma
    return lr


def cosine_decay(lr_max, lr_min, step, total_steps):
    t = min(step, total_steps)
    half = math.cos(math.pi * t / (2 * total_steps))
    return lr_min + (lr_max - lr_min) * half * half  # (1 + cos x) / 2 = cos^2(x / 2)


def warmup_cosine(lr_max, lr_min, step, warmup_steps, total_steps):
    if step < warmup_steps:
        return lr_max / warmup_steps * step
    return cosine_decay(lr_max, lr_min, step - warmup_steps, total_steps - warmup_steps)


def minibatches(n, batch_size, seed, shuffle=True):
    order = np.arange(n)
    if shuffle:
        np.random.default_rng(seed).shuffle(order)  # the same draw as permutation(n)
    out, start = [], 0
    while start < n:
        out.append(order[start : min(start + batch_size, n)].copy())
        start += batch_size
    return out


def train_mlp(X, y, hidden, lr, epochs, batch_size, seed, beta=0.9):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).astype(int)
    n, d = X.shape
    c = int(max(y)) + 1
    # the recipe's draws, in its order; the training below is written sample by sample
    rng = np.random.default_rng(seed)
    params = {"W1": rng.normal(size=(d, hidden)) * math.sqrt(2 / d), "b1": np.zeros(hidden)}
    params["W2"] = rng.normal(size=(hidden, c)) * math.sqrt(2 / hidden)
    params["b2"] = np.zeros(c)
    vel = {k: np.zeros_like(v) for k, v in params.items()}
    losses = []
    for epoch in range(epochs):
        epoch_losses = []
        for idx in minibatches(n, batch_size, seed + epoch):
            grads = {k: np.zeros_like(v) for k, v in params.items()}
            batch_loss = 0.0
            for i in idx:  # one sample at a time, the gradient of the batch mean summed up
                pre = X[i] @ params["W1"] + params["b1"]
                h = np.maximum(pre, 0)
                loss, dz = cross_entropy_loss(
                    (h @ params["W2"] + params["b2"])[None, :], y[i : i + 1]
                )
                dz = dz[0] / len(idx)
                batch_loss += loss / len(idx)
                dpre = (params["W2"] @ dz) * (pre > 0)
                grads["W2"] += np.outer(h, dz)
                grads["b2"] += dz
                grads["W1"] += np.outer(X[i], dpre)
                grads["b1"] += dpre
            params, vel = momentum_step(params, grads, vel, lr, beta)
            epoch_losses.append(batch_loss)
        losses.append(sum(epoch_losses) / len(epoch_losses))
    correct = 0
    for i in range(n):
        scores = np.maximum(X[i] @ params["W1"] + params["b1"], 0) @ params["W2"] + params["b2"]
        correct += int(np.argmax(scores) == y[i])
    return params, losses, correct / n
