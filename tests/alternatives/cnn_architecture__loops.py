"""A correct cnn-architecture in another style: loops over output positions, einsum convolution.

Pooling loops over windows with a strict `>` running maximum (the first maximum wins),
flatten goes sample by sample, the CNN's dense layer is written with einsum, and train_cnn
draws its random numbers in another order (W2 before W1, rng.shuffle): the accuracy target
must hold for any correct code, not only the reference's random stream.
"""

import numpy as np


def conv2d_forward(x, w, b, stride=1, padding=0):
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    f, _, kh, kw = w.shape
    ho = (xp.shape[2] - kh) // stride + 1
    wo = (xp.shape[3] - kw) // stride + 1
    out = np.zeros((x.shape[0], f, ho, wo), dtype=np.result_type(x, w))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i : i + stride * ho : stride, j : j + stride * wo : stride]
            out += np.einsum("nchw,fc->nfhw", patch, w[:, :, i, j])
    return out + b[None, :, None, None]


def conv2d_backward(dout, x, w, stride=1, padding=0):
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    _, _, kh, kw = w.shape
    ho, wo = dout.shape[2:]
    dxp = np.zeros(xp.shape, dtype=np.result_type(dout, x, w))
    dw = np.zeros(w.shape, dtype=dxp.dtype)
    for i in range(kh):
        for j in range(kw):
            sl = (
                slice(None),
                slice(None),
                slice(i, i + stride * ho, stride),
                slice(j, j + stride * wo, stride),
            )
            dw[:, :, i, j] = np.einsum("nfhw,nchw->fc", dout, xp[sl])
            dxp[sl] += np.einsum("nfhw,fc->nchw", dout, w[:, :, i, j])
    h, wd = x.shape[2:]
    return dxp[:, :, padding : padding + h, padding : padding + wd], dw, dout.sum(axis=(0, 2, 3))


def softmax_cross_entropy(logits, y):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    d = np.exp(log_p)
    d[np.arange(n), y] -= 1
    return float(-log_p[np.arange(n), y].mean()), d / n


def _out(size, pool, stride):
    return (size - pool) // stride + 1


def _argmax_window(win):
    best, bi, bj = win[0, 0], 0, 0
    for a in range(win.shape[0]):
        for b in range(win.shape[1]):
            if win[a, b] > best:  # strict: the first maximum in row-major order stays
                best, bi, bj = win[a, b], a, b
    return bi, bj


def maxpool_forward(x, pool=2, stride=2):
    n, c, h, w = x.shape
    out = np.empty((n, c, _out(h, pool, stride), _out(w, pool, stride)), dtype=x.dtype)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            win = x[:, :, i * stride : i * stride + pool, j * stride : j * stride + pool]
            out[:, :, i, j] = win.reshape(n, c, -1).max(axis=2)
    return out


def maxpool_backward(dout, x, pool=2, stride=2):
    n, c = x.shape[:2]
    dx = np.zeros(x.shape, dtype=np.result_type(dout, x))
    for s in range(n):
        for ch in range(c):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    a, b = _argmax_window(
                        x[s, ch, i * stride : i * stride + pool, j * stride : j * stride + pool]
                    )
                    dx[s, ch, i * stride + a, j * stride + b] += dout[s, ch, i, j]
    return dx


def avgpool_forward(x, pool=2, stride=2):
    n, c, h, w = x.shape
    out = np.empty((n, c, _out(h, pool, stride), _out(w, pool, stride)), dtype=x.dtype)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            win = x[:, :, i * stride : i * stride + pool, j * stride : j * stride + pool]
            out[:, :, i, j] = win.sum(axis=(2, 3)) / (pool * pool)
    return out


def avgpool_backward(dout, x, pool=2, stride=2):
    dx = np.zeros(x.shape, dtype=np.result_type(dout, x))
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            share = dout[:, :, i, j] / (pool * pool)
            dx[:, :, i * stride : i * stride + pool, j * stride : j * stride + pool] += share[
                :, :, None, None
            ]
    return dx


def flatten_forward(x):
    return np.stack([x[s].ravel() for s in range(x.shape[0])])


def flatten_backward(dout, x):
    return np.stack([dout[s].reshape(x.shape[1:]) for s in range(x.shape[0])])


def lenet5_forward(x, params):
    h = x
    for k in ("1", "2"):
        h = avgpool_forward(np.tanh(conv2d_forward(h, params["W" + k], params["b" + k])), 2, 2)
    h = flatten_forward(h)
    for k in ("3", "4"):
        h = np.tanh(np.einsum("nd,de->ne", h, params["W" + k]) + params["b" + k])
    return np.einsum("nd,de->ne", h, params["W5"]) + params["b5"]


def cnn_loss(X, y, params):
    z = conv2d_forward(X, params["W1"], params["b1"], 1, 1)
    a = np.where(z > 0, z, 0.0)
    p = maxpool_forward(a, 2, 2)
    f = flatten_forward(p)
    logits = np.einsum("nd,dc->nc", f, params["W2"]) + params["b2"]
    loss, dlogits = softmax_cross_entropy(logits, y)
    dW2 = np.einsum("nd,nc->dc", f, dlogits)
    df = np.einsum("nc,dc->nd", dlogits, params["W2"])
    dz = np.where(z > 0, maxpool_backward(flatten_backward(df, p), a, 2, 2), 0.0)
    _, dW1, db1 = conv2d_backward(dz, X, params["W1"], 1, 1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": dlogits.sum(axis=0)}


def train_cnn(X, y, n_filters=8, epochs=5, lr=0.1, batch_size=32, seed=0):
    rng = np.random.default_rng(seed)
    n, c_in, h, w = X.shape
    d, k = n_filters * (h // 2) * (w // 2), int(np.max(y)) + 1
    W2 = rng.standard_normal((d, k)) * np.sqrt(2 / d)
    W1 = rng.standard_normal((n_filters, c_in, 3, 3)) * np.sqrt(2 / (c_in * 9))
    params = {"W1": W1, "b1": np.zeros(n_filters), "W2": W2, "b2": np.zeros(k)}
    losses = []
    order = np.arange(n)
    for _ in range(epochs):
        rng.shuffle(order)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            loss, grads = cnn_loss(X[idx], y[idx], params)
            for name in params:
                params[name] = params[name] - lr * grads[name]
            total += loss
        losses.append(total / -(-n // batch_size))
    return params, losses
