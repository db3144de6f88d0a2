"""A correct cnn-architecture in float32 arithmetic whenever the question is float32, with other valid formulas:
max pooling forward and backward through reshaped windows and np.take_along_axis, average
pooling by a cumulative-sum box filter, flatten by np.ravel per sample, the CNN's dense layer
and its gradients by einsum, and SGD in float32 (a float32 random stream for the weights)."""

import numpy as np

F32 = np.float32


def _f32(*arrays):
    """float32 whenever the question is float32 (a float64 question keeps float64: a float32
    answer to it is held to float64 precision)."""
    dtype = np.result_type(*(np.asarray(a).dtype for a in arrays), F32)
    return [np.asarray(a, dtype=dtype) for a in arrays]


def conv2d_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1, padding: int = 0
) -> np.ndarray:
    """Given. Cross-correlation: x (N, C_in, H, W), w (C_out, C_in, kH, kW), b (C_out,).

    Zero padding `padding` on every side, the same `stride` along H and W.
    Returns (N, C_out, H_out, W_out), H_out = (H + 2 padding - kH) // stride + 1.
    """
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    kh, kw = w.shape[2:]
    # im2col without copying: every (kH, kW) window of every channel, at the stride
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]  # (N, C_in, H_out, W_out, kH, kW)
    out = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3]))  # (N, H_out, W_out, C_out)
    return out.transpose(0, 3, 1, 2) + b[None, :, None, None]


def conv2d_backward(
    dout: np.ndarray, x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Given. Gradients of conv2d_forward: dout (N, C_out, H_out, W_out).

    Returns (dx, dw, db) shaped like x, w and b.
    """
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    kh, kw = w.shape[2:]
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]
    ho, wo = dout.shape[2:]
    dw = np.tensordot(dout, win, axes=([0, 2, 3], [0, 2, 3]))  # (C_out, C_in, kH, kW)
    db = dout.sum(axis=(0, 2, 3))
    cols = np.tensordot(dout, w, axes=([1], [0]))  # (N, H_out, W_out, C_in, kH, kW)
    cols = cols.transpose(0, 3, 4, 5, 1, 2)  # (N, C_in, kH, kW, H_out, W_out)
    dxp = np.zeros(xp.shape, dtype=np.result_type(dout, x, w))
    for i in range(kh):  # col2im: each kernel offset adds back into one strided slice of x
        for j in range(kw):
            dxp[:, :, i : i + stride * ho : stride, j : j + stride * wo : stride] += cols[
                :, :, i, j
            ]
    h, wd = x.shape[2:]
    return dxp[:, :, padding : padding + h, padding : padding + wd], dw, db


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Given (the backprop topic). Mean cross-entropy of logits (N, C) with labels y (N,).

    Returns (loss, dlogits) with dlogits = (softmax(logits) - onehot(y)) / N, shape (N, C).
    """
    n = logits.shape[0]
    rows, y = np.arange(n), np.asarray(y).astype(np.int64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dlogits = np.exp(log_p)
    dlogits[rows, y] -= 1
    return float(-log_p[rows, y].mean()), dlogits / n


def _windows(x, pool, stride):
    win = np.lib.stride_tricks.sliding_window_view(x, (pool, pool), axis=(2, 3))[
        :, :, ::stride, ::stride
    ]
    return win.reshape(*win.shape[:4], pool * pool)


def maxpool_forward(x, pool=2, stride=2):
    (x,) = _f32(x)
    return np.take_along_axis(
        _windows(x, pool, stride), _windows(x, pool, stride).argmax(-1)[..., None], -1
    )[..., 0]


def maxpool_backward(dout, x, pool=2, stride=2):
    dout, x = _f32(dout, x)
    n, c, h, w = x.shape
    ho, wo = dout.shape[2:]
    k = _windows(x, pool, stride).argmax(-1)  # np.argmax: the first maximum, row-major
    dx = np.zeros((n, c, h, w), dtype=x.dtype)
    for a in range(pool):  # each offset inside the window, added back where it won
        for b in range(pool):
            dx[:, :, a : a + stride * ho : stride, b : b + stride * wo : stride] += np.where(
                k == a * pool + b, dout, F32(0)
            )
    return dx


def avgpool_forward(x, pool=2, stride=2):
    (x,) = _f32(x)
    # a box filter from cumulative sums (float64 sums: float32 cumsums lose digits), at the stride
    c = np.pad(np.asarray(x, np.float64).cumsum(2).cumsum(3), ((0, 0), (0, 0), (1, 0), (1, 0)))
    box = (
        c[:, :, pool:, pool:]
        - c[:, :, :-pool, pool:]
        - c[:, :, pool:, :-pool]
        + c[:, :, :-pool, :-pool]
    )
    return (box[:, :, ::stride, ::stride] / (pool * pool)).astype(x.dtype)


def avgpool_backward(dout, x, pool=2, stride=2):
    dout, x = _f32(dout, x)
    ho, wo = dout.shape[2:]
    dx = np.zeros(x.shape, dtype=x.dtype)
    share = dout / F32(pool * pool)
    for i in range(ho):
        for j in range(wo):
            dx[:, :, i * stride : i * stride + pool, j * stride : j * stride + pool] += share[
                :, :, i, j, None, None
            ]
    return dx


def flatten_forward(x):
    (x,) = _f32(x)
    return np.stack([np.ravel(s) for s in x])


def flatten_backward(dout, x):
    (dout,) = _f32(dout)
    return np.reshape(dout, np.shape(x))


def lenet5_forward(x, params):
    (x,) = _f32(x)
    p = {k: v.astype(x.dtype) for k, v in params.items()}
    h = avgpool_forward(np.tanh(conv2d_forward(x, p["W1"], p["b1"])))
    h = avgpool_forward(np.tanh(conv2d_forward(h, p["W2"], p["b2"])))
    h = flatten_forward(h)
    h = np.tanh(np.einsum("nd,de->ne", h, p["W3"]) + p["b3"])
    h = np.tanh(np.einsum("nd,de->ne", h, p["W4"]) + p["b4"])
    return np.einsum("nd,de->ne", h, p["W5"]) + p["b5"]


def cnn_loss(X, y, params):
    (X,) = _f32(X)
    p = {k: v.astype(X.dtype) for k, v in params.items()}
    z = conv2d_forward(X, p["W1"], p["b1"], 1, 1)
    a = np.where(z > 0, z, F32(0))
    pooled = maxpool_forward(a)
    f = flatten_forward(pooled)
    loss, dlogits = softmax_cross_entropy(np.einsum("nd,dc->nc", f, p["W2"]) + p["b2"], y)
    dlogits = dlogits.astype(X.dtype)
    grads = {"W2": np.einsum("nd,nc->dc", f, dlogits), "b2": dlogits.sum(0)}
    da = maxpool_backward(flatten_backward(np.einsum("nc,dc->nd", dlogits, p["W2"]), pooled), a)
    _, grads["W1"], grads["b1"] = conv2d_backward(np.where(z > 0, da, F32(0)), X, p["W1"], 1, 1)
    return loss, grads


def train_cnn(X, y, n_filters=8, epochs=5, lr=0.1, batch_size=32, seed=0):
    (X,) = _f32(X)
    rng = np.random.default_rng(seed)
    n, c_in, h, w = X.shape
    d, k = n_filters * (h // 2) * (w // 2), int(np.max(y)) + 1
    params = {
        "W1": rng.standard_normal((n_filters, c_in, 3, 3), dtype=F32)
        * F32(np.sqrt(2 / (c_in * 9))),
        "b1": np.zeros(n_filters, F32),
        "W2": rng.standard_normal((d, k), dtype=F32) * F32(np.sqrt(2 / d)),
        "b2": np.zeros(k, F32),
    }
    losses = []
    for _ in range(epochs):
        order, total, count = rng.permutation(n), 0.0, 0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            loss, grads = cnn_loss(X[idx], y[idx], params)
            params = {name: v - F32(lr) * grads[name] for name, v in params.items()}
            total, count = total + loss, count + 1
        losses.append(total / count)
    return params, losses
