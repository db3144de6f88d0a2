"""A correct cnn-techniques in another style: loops per channel, pair and pixel, other formulas.

Batch norm works channel by channel on a (C, m) view and backpropagates through the staged
graph (mean -> centred -> variance -> inverse std), as CS231n's derivation does; IoU loops
over pairs; NMS removes candidates from a list; batched NMS uses torchvision's trick of
offsetting each class's boxes so that classes cannot overlap; mean IoU comes from a
confusion matrix.
"""

import numpy as np


def _channels_last(x):
    """(N, C, ...) -> (C, m): each row one channel's m values."""
    return np.moveaxis(x, 1, 0).reshape(x.shape[1], -1)


def _channels_back(rows, shape):
    moved = (shape[1], shape[0]) + tuple(shape[2:])
    return np.moveaxis(rows.reshape(moved), 0, 1)


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    rows = _channels_last(x)
    c, m = rows.shape
    out = np.empty_like(rows)
    new_mean, new_var = np.array(running_mean, copy=True), np.array(running_var, copy=True)
    for k in range(c):
        if training:
            mu = sum(rows[k]) / m
            var = sum((v - mu) ** 2 for v in rows[k]) / m
            new_mean[k] = (1 - momentum) * running_mean[k] + momentum * mu
            new_var[k] = (1 - momentum) * running_var[k] + momentum * var * m / (m - 1)
        else:
            mu, var = running_mean[k], running_var[k]
        out[k] = gamma[k] * (rows[k] - mu) / np.sqrt(var + eps) + beta[k]
    return _channels_back(out, x.shape), new_mean, new_var


def batchnorm_backward(dout, x, gamma, running_mean, running_var, training, eps=1e-5):
    rows, drows = _channels_last(x), _channels_last(dout)
    c, m = rows.shape
    dx, dgamma, dbeta = (
        np.empty_like(rows),
        np.empty(c, dtype=rows.dtype),
        np.empty(c, dtype=rows.dtype),
    )
    for k in range(c):
        mu = rows[k].mean() if training else running_mean[k]
        xc = rows[k] - mu
        var = (xc**2).mean() if training else running_var[k]
        istd = 1.0 / np.sqrt(var + eps)
        xhat = xc * istd
        dbeta[k], dgamma[k] = drows[k].sum(), (drows[k] * xhat).sum()
        dxhat = drows[k] * gamma[k]
        if not training:
            dx[k] = dxhat * istd
            continue
        # staged graph: xhat = xc * istd, istd = (var + eps)^-1/2, var = mean(xc^2), xc = x - mu
        distd = (dxhat * xc).sum()
        dvar = distd * -0.5 * istd**3
        dxc = dxhat * istd + dvar * 2 * xc / m
        dx[k] = dxc - dxc.sum() / m
    return _channels_back(dx, x.shape), dgamma, dbeta


def extract_features(X, backbone):
    h = np.dot(X, backbone["W1"]) + backbone["b1"]
    h = np.where(h > 0, h, 0)
    f = np.dot(h, backbone["W2"]) + backbone["b2"]
    return np.where(f > 0, f, 0)


def train_new_head(X, y, backbone, n_classes, lr, steps):
    feats = extract_features(X, backbone)
    n, d = feats.shape
    W, b = np.zeros((d, n_classes)), np.zeros(n_classes)
    losses = []
    for _ in range(steps):
        dW, db, total = np.zeros_like(W), np.zeros_like(b), 0.0
        for i in range(n):  # one sample at a time
            z = feats[i] @ W + b
            lse = z.max() + np.log(np.exp(z - z.max()).sum())
            total += lse - z[y[i]]
            p = np.exp(z - lse)
            p[y[i]] -= 1
            dW += np.outer(feats[i], p)
            db += p
        losses.append(total / n)
        W, b = W - lr * dW / n, b - lr * db / n
    params = {k: np.array(v, copy=True) for k, v in backbone.items()}
    params["W_head"], params["b_head"] = W, b
    return params, losses


def box_iou(boxes1, boxes2):
    out = np.zeros((len(boxes1), len(boxes2)), dtype=np.result_type(boxes1, boxes2))
    for i, (ax1, ay1, ax2, ay2) in enumerate(boxes1):
        for j, (bx1, by1, bx2, by2) in enumerate(boxes2):
            w = max(0.0, min(ax2, bx2) - max(ax1, bx1))
            h = max(0.0, min(ay2, by2) - max(ay1, by1))
            inter = w * h
            union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
            out[i, j] = inter / union if union > 0 else 0.0
    return out


def nms(boxes, scores, iou_threshold):
    candidates = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    keep = []
    while candidates:
        best, candidates = candidates[0], candidates[1:]
        keep.append(best)
        ious = box_iou(boxes[best : best + 1], boxes[candidates])[0] if candidates else []
        candidates = [c for c, v in zip(candidates, ious) if not v > iou_threshold]
    return np.array(keep, dtype=np.int64)


def batched_nms(boxes, scores, classes, iou_threshold):
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    # torchvision's trick: shift each class's boxes far apart, then one plain NMS
    offset = np.asarray(classes, dtype=boxes.dtype)[:, None] * (boxes.max() - boxes.min() + 1)
    return nms(boxes - boxes.min() + offset, scores, iou_threshold)


def pixel_cross_entropy(logits, target):
    c = logits.shape[1]
    z = np.moveaxis(logits, 1, -1).reshape(-1, c)  # one row per pixel
    t = np.asarray(target).reshape(-1)
    zmax = z.max(axis=1, keepdims=True)
    lse = zmax + np.log(np.exp(z - zmax).sum(axis=1, keepdims=True))
    loss = float(np.mean(lse[:, 0] - z[np.arange(len(t)), t]))
    grad = np.exp(z - lse)
    grad[np.arange(len(t)), t] -= 1
    grad = grad / len(t)
    moved = (logits.shape[0],) + logits.shape[2:] + (c,)
    return loss, np.moveaxis(grad.reshape(moved), -1, 1)


def mean_iou(pred, target, n_classes):
    confusion = np.bincount(
        np.asarray(target).ravel() * n_classes + np.asarray(pred).ravel(), minlength=n_classes**2
    ).reshape(n_classes, n_classes)
    inter = np.diag(confusion)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - inter
    present = union > 0
    return float(np.mean(inter[present] / union[present]))
