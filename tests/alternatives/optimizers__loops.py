"""A correct optimizers in another style: element-by-element loops with the math module,
Adam in the paper's "efficient" form (lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t), eps scaled
to match), AdamW as a multiplicative shrink, and a plateau rule written with counters."""

import math

import numpy as np


def adagrad_step(param, grad, state, lr=0.01, eps=1e-10, weight_decay=0.0, lr_decay=0.0):
    t = int(state["t"]) + 1 if state else 1
    p = np.array(param, dtype=np.float64)
    total = np.array(state["sum"], dtype=np.float64) if state else np.zeros(p.shape)
    new_p = np.empty_like(p)
    clr = lr / (1.0 + (t - 1) * lr_decay)
    for i in np.ndindex(p.shape):
        g = float(grad[i]) + weight_decay * p[i]
        total[i] = total[i] + g * g
        new_p[i] = p[i] - clr * g / (math.sqrt(total[i]) + eps)
    return new_p, {"t": t, "sum": total}


def rmsprop_step(param, grad, state, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0):
    p = np.array(param, dtype=np.float64)
    avg = np.array(state["square_avg"], dtype=np.float64) if state else np.zeros(p.shape)
    new_p = np.empty_like(p)
    for i in np.ndindex(p.shape):
        g = float(grad[i]) + weight_decay * p[i]
        avg[i] = avg[i] + (1.0 - alpha) * (g * g - avg[i])
        new_p[i] = p[i] - lr * g / (math.sqrt(avg[i]) + eps)
    return new_p, {"square_avg": avg}


def _adam_loop(p, grad, state, lr, betas, eps, l2):
    b1, b2 = betas
    t = int(state["t"]) + 1 if state else 1
    m = np.array(state["m"], dtype=np.float64) if state else np.zeros(p.shape)
    v = np.array(state["v"], dtype=np.float64) if state else np.zeros(p.shape)
    c2 = math.sqrt(1.0 - b2**t)
    step = lr * c2 / (1.0 - b1**t)
    new_p = np.empty_like(p)
    for i in np.ndindex(p.shape):
        g = float(grad[i]) + l2 * p[i]
        m[i] = b1 * m[i] + (1.0 - b1) * g
        v[i] = b2 * v[i] + (1.0 - b2) * g * g
        new_p[i] = p[i] - step * m[i] / (math.sqrt(v[i]) + eps * c2)
    return new_p, {"t": t, "m": m, "v": v}


def adam_step(param, grad, state, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    return _adam_loop(np.array(param, dtype=np.float64), grad, state, lr, betas, eps, weight_decay)


def adamw_step(param, grad, state, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    shrunk = np.array(param, dtype=np.float64) * (1.0 - lr * weight_decay)
    return _adam_loop(shrunk, grad, state, lr, betas, eps, 0.0)


def inverse_time_decay(lr0, t, k):
    return lr0 * (1.0 / (1.0 + k * t))


def reduce_on_plateau(losses, lr0, factor=0.1, patience=10, threshold=1e-4):
    rates, lr, best, since_best = [], lr0, None, 0
    for loss in losses:
        if best is None or loss < best - best * threshold:
            best, since_best = loss, 0
        else:
            since_best += 1
            if since_best == patience + 1:
                lr, since_best = lr * factor, 0
        rates.append(lr)
    return np.asarray(rates)
