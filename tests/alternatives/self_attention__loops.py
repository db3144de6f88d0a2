"""A correct self-attention in another style: one query row at a time, masked keys dropped
from the row (no -inf at all), heads by explicit slicing in a loop over heads, and the
backward through a per-row softmax Jacobian. Computes in the inputs' dtype."""

import numpy as np


def causal_mask(T):
    i, j = np.indices((T, T))
    return j <= i


def padding_mask(lengths, T):
    lengths = np.asarray(lengths)
    mask = np.zeros((len(lengths), 1, T), dtype=bool)
    for n, length in enumerate(lengths):
        mask[n, 0, :length] = True
    return mask


def _rows(q, k, v, mask):
    """(q, k, v, keep) per (leading index, query), keep a boolean (Tk,) row."""
    lead = q.shape[:-2]
    keep = np.ones(q.shape[:-1] + (k.shape[-2],), dtype=bool)
    if mask is not None:
        keep = np.broadcast_to(mask, keep.shape)
    for idx in np.ndindex(*lead):
        for i in range(q.shape[-2]):
            yield idx, i, q[idx][i], k[idx], v[idx], keep[idx][i]


def _row_weights(qi, k, keep, scale):
    w = np.zeros(k.shape[0], dtype=np.result_type(qi, k))
    if keep.any():
        s = (k[keep] @ qi) * scale
        e = np.exp(s - s.max())
        w[keep] = e / e.sum()
    return w


def _scale(q, scale):
    return q.dtype.type(1) / np.sqrt(q.dtype.type(q.shape[-1])) if scale is None else scale


def attention(q, k, v, mask=None, scale=None):
    scale = _scale(q, scale)
    dtype = np.result_type(q, k, v)
    out = np.zeros(q.shape[:-1] + (v.shape[-1],), dtype=dtype)
    weights = np.zeros(q.shape[:-1] + (k.shape[-2],), dtype=dtype)
    for idx, i, qi, ki, vi, keep in _rows(q, k, v, mask):
        w = _row_weights(qi, ki, keep, scale)
        weights[idx][i] = w
        out[idx][i] = w @ vi
    return out, weights


def attention_backward(dout, q, k, v, mask=None, scale=None):
    scale = _scale(q, scale)
    dq, dk, dv = np.zeros_like(q), np.zeros_like(k), np.zeros_like(v)
    for idx, i, qi, ki, vi, keep in _rows(q, k, v, mask):
        w = _row_weights(qi, ki, keep, scale)
        g = dout[idx][i]
        dv[idx] += np.outer(w, g)
        jac = np.diag(w) - np.outer(w, w)  # the softmax's Jacobian for this row
        ds = jac @ (vi @ g)
        dq[idx][i] = scale * (ds @ ki)
        dk[idx] += scale * np.outer(ds, qi)
    return dq, dk, dv


def split_heads(x, num_heads):
    d = x.shape[-1] // num_heads
    return np.stack([x[:, :, h * d : (h + 1) * d] for h in range(num_heads)], axis=1)


def merge_heads(x):
    return np.concatenate([x[:, h] for h in range(x.shape[1])], axis=-1)


def mha_forward(x, params, num_heads, mask=None):
    D = x.shape[-1]
    d = D // num_heads
    proj = {n: x @ params[f"W_{n}"] + params[f"b_{n}"] for n in "qkv"}
    outs, maps = [], []
    full = None if mask is None else np.broadcast_to(mask, x.shape[:1] + (x.shape[1],) * 2)
    for h in range(num_heads):
        cols = slice(h * d, (h + 1) * d)
        o, w = attention(proj["q"][..., cols], proj["k"][..., cols], proj["v"][..., cols], full,
                         d**-0.5)  # fmt: skip
        outs.append(o)
        maps.append(w)
    return np.concatenate(outs, axis=-1) @ params["W_o"] + params["b_o"], np.stack(maps, axis=1)


def mha_backward(dout, x, params, num_heads, mask=None):
    N, T, D = x.shape
    d = D // num_heads
    full = None if mask is None else np.broadcast_to(mask, (N, T, T))
    proj = {n: x @ params[f"W_{n}"] + params[f"b_{n}"] for n in "qkv"}
    heads = np.zeros_like(proj["q"])
    dproj = {n: np.zeros_like(proj[n]) for n in "qkv"}
    dheads = dout @ params["W_o"].T
    for h in range(num_heads):
        cols = slice(h * d, (h + 1) * d)
        q, k, v = (proj[n][..., cols] for n in "qkv")
        heads[..., cols] = attention(q, k, v, full, d**-0.5)[0]
        for n, g in zip("qkv", attention_backward(dheads[..., cols], q, k, v, full, d**-0.5)):
            dproj[n][..., cols] = g
    grads = {"W_o": np.einsum("ntd,nte->de", heads, dout), "b_o": dout.sum(axis=(0, 1))}
    dx = np.zeros_like(x)
    for n in "qkv":
        grads[f"W_{n}"] = np.einsum("ntd,nte->de", x, dproj[n])
        grads[f"b_{n}"] = dproj[n].sum(axis=(0, 1))
        dx += dproj[n] @ params[f"W_{n}"].T
    return dx, grads
