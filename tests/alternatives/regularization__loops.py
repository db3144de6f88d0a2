"""A correct regularization in another style: explicit loops, other valid formulas
(early stopping as epoch - best_epoch >= patience, np.where dropout, rng.normal noise,
per-image shift draws), lists instead of tuples."""

import math

import numpy as np


def l2_penalty(params, lam):
    penalty, grads = 0.0, []
    for W, b in params:
        W = np.asarray(W, dtype=np.float64)
        dW = np.empty_like(W)
        for idx in np.ndindex(W.shape):
            penalty += lam * W[idx] ** 2 / 2
            dW[idx] = lam * W[idx]
        grads.append([dW, np.zeros(np.shape(b))])
    return penalty, grads


def l1_penalty(params, lam):
    penalty, grads = 0.0, []
    for W, b in params:
        W = np.asarray(W, dtype=np.float64)
        dW = np.zeros_like(W)
        for idx in np.ndindex(W.shape):
            w = W[idx]
            penalty += lam * math.fabs(w)
            if w > 0:
                dW[idx] = lam
            elif w < 0:
                dW[idx] = -lam
        grads.append([dW, np.zeros(np.shape(b))])
    return penalty, grads


def dropout_forward(x, p, train=True, seed=0):
    x = np.asarray(x)
    if not train:
        return x.copy(), np.ones(x.shape)
    keep = np.random.default_rng(seed).uniform(size=x.shape) >= p
    return np.where(keep, x / (1 - p), 0.0), keep.astype(np.float64)


def dropout_backward(dout, mask, p):
    scale = 1.0 / (1.0 - p)
    return np.where(np.asarray(mask) != 0, np.asarray(dout) * scale, 0.0)


def early_stopping(val_losses, patience, min_delta=0.0):
    best, best_epoch = math.inf, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best - min_delta:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch >= patience:
            return epoch, best_epoch
    return len(val_losses) - 1, best_epoch


def restore_best(weights_per_epoch, val_losses, patience, min_delta=0.0):
    stop, best = early_stopping(val_losses, patience, min_delta)
    return [[W.copy(), b.copy()] for W, b in weights_per_epoch[best]]


def add_noise(x, std, seed):
    x = np.asarray(x)
    return x + np.random.default_rng(seed).normal(0.0, std, size=x.shape)


def flip_horizontal(images):
    images = np.asarray(images)
    width = images.shape[-1]
    out = np.empty_like(images)
    for j in range(width):
        out[..., j] = images[..., width - 1 - j]
    return out


def shift(images, dx, dy):
    images = np.asarray(images)
    height, width = images.shape[-2:]
    out = np.zeros_like(images)
    for i in range(height):
        for j in range(width):
            si, sj = i - dy, j - dx
            if 0 <= si < height and 0 <= sj < width:
                out[..., i, j] = images[..., si, sj]
    return out


def random_shift(images, max_shift, seed):
    images = np.asarray(images)
    rng = np.random.default_rng(seed)
    out, shifts = [], []
    for image in images:
        dx, dy = rng.integers(-max_shift, max_shift + 1, size=2)
        shifts.append([int(dx), int(dy)])
        out.append(shift(image[None], int(dx), int(dy))[0])
    return np.stack(out), np.array(shifts)
