"""A correct optimizers computed in float32 throughout (vectorised, state in float32),
AdamW delegating to Adam, AdaGrad's decayed rate from inverse_time_decay."""

import numpy as np

F = np.float32


def inverse_time_decay(lr0, t, k):
    return float(F(lr0) / (F(1) + F(k) * F(t)))


def adagrad_step(param, grad, state, lr=0.01, eps=1e-10, weight_decay=0.0, lr_decay=0.0):
    p, g = np.asarray(param, F), np.asarray(grad, F)
    t = state.get("t", 0) + 1
    g = g + F(weight_decay) * p
    total = np.asarray(state.get("sum", np.zeros_like(p)), F) + g * g
    lr_t = F(inverse_time_decay(lr, t - 1, lr_decay))
    return p - lr_t * g / (np.sqrt(total) + F(eps)), {"t": t, "sum": total}


def rmsprop_step(param, grad, state, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0):
    p, g = np.asarray(param, F), np.asarray(grad, F)
    g = g + F(weight_decay) * p
    avg = F(alpha) * np.asarray(state.get("square_avg", np.zeros_like(p)), F) + F(
        1 - alpha
    ) * np.square(g)
    return p - F(lr) * g / (np.sqrt(avg) + F(eps)), {"square_avg": avg}


def adam_step(param, grad, state, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    p, g = np.asarray(param, F), np.asarray(grad, F)
    b1, b2 = betas
    g = g + F(weight_decay) * p
    t = state.get("t", 0) + 1
    m = F(b1) * np.asarray(state.get("m", np.zeros_like(p)), F) + F(1 - b1) * g
    v = F(b2) * np.asarray(state.get("v", np.zeros_like(p)), F) + F(1 - b2) * g * g
    m_hat = m / F(1 - b1**t)
    v_hat = v / F(1 - b2**t)
    return p - F(lr) * m_hat / (np.sqrt(v_hat) + F(eps)), {"t": t, "m": m, "v": v}


def adamw_step(param, grad, state, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    p = np.asarray(param, F)
    return adam_step(p - F(lr * weight_decay) * p, grad, state, lr, betas, eps, 0.0)


def reduce_on_plateau(losses, lr0, factor=0.1, patience=10, threshold=1e-4):
    lr, best, bad, out = lr0, np.inf, 0, []
    for loss in losses:
        if loss < best * (1 - threshold):
            best, bad = loss, 0
        else:
            bad += 1
        if bad > patience:
            lr, bad = lr * factor, 0
        out.append(lr)
    return np.array(out, dtype=F)
