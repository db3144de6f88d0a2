"""# Self-attention: scaled dot-product attention, masks, and multiple heads

In self-attention every position of a sequence looks at every other position of the same
sequence. Each position's vector `x_t` is projected three ways: a **query** (what am I
looking for?), a **key** (what do I offer?) and a **value** (what do I hand over?):

    q = x @ W_q + b_q,   k = x @ W_k + b_k,   v = x @ W_v + b_v

**Scaled dot-product attention** (Vaswani et al. 2017) scores every query against every
key, turns each query's row of scores into weights with a softmax over the **keys**, and
returns the weighted average of the values:

    scores  = q @ k^T / sqrt(d)          (..., Tq, Tk), d = the query/key size
    weights = softmax(scores, over Tk)   each row sums to 1
    out     = weights @ v                (..., Tq, dv)

Why `/ sqrt(d)`: a dot product of d unit-variance numbers has variance d, so without the
scale the scores grow with d, the softmax saturates to one-hot and its gradient vanishes.

**Masks** remove keys a query must not see: a *causal* mask (position t sees 0..t, never
the future: lower-triangular, the diagonal included) and a *padding* mask (keys past a
sequence's length are not real). Masked scores become -inf **before** the softmax, so
their weights are exactly 0 and the others still sum to 1.

**Backward** (upstream `dout`, same shape as out; `P` = weights, `s` = scale):

    dv = P^T @ dout;   dP = dout @ v^T
    dS = P * (dP - sum(dP * P, over Tk))       the softmax's Jacobian, row by row
    dq = s * dS @ k;   dk = s * dS^T @ q

**Multi-head attention** runs H attentions side by side on slices of size d_head = D / H:
split (N, T, D) into (N, T, H, d_head) and move the head axis forward, (N, H, T, d_head);
attend in every head at once (the head is one more batch axis); merge back with the
inverse transpose and reshape; project with W_o:

    out = merge(attention(split(q), split(k), split(v), scale = 1 / sqrt(d_head))) @ W_o + b_o

## Conventions this exercise holds (the grader checks each)

- **Batch first**: q (N, Tq, d), k and v (N, Tk, d) - or with a head axis, (N, H, T, d):
  `attention` works on any leading axes.
- **Masks are boolean, True = attend (keep)**, False = masked out, broadcastable to the
  scores' shape (N, [H,] Tq, Tk). This is the polarity of PyTorch's
  `F.scaled_dot_product_attention(attn_mask=...)`; `nn.MultiheadAttention`'s `attn_mask`
  and `key_padding_mask` use the opposite one (True = ignore).
- Masked positions get **exactly 0** weight (-inf before the softmax, never a large finite
  negative such as -1e9, which float16 cannot hold and which leaves a fully masked row
  uniform instead of empty).
- **A fully masked row** (a query that may see no key) gets weights 0 and an output of 0,
  never NaN. This is this exercise's choice: `softmax` of a row of -inf is 0/0, and
  PyTorch's `nn.MultiheadAttention` returns NaN there.
- **(in, out) weights**: W_q, W_k, W_v, W_o are (D, D) and applied as `x @ W + b`.
  PyTorch's `nn.MultiheadAttention` stores (out, in): its `in_proj_weight` (3D, D) stacks
  W_q.T, W_k.T, W_v.T, and `out_proj.weight` is W_o.T.
- Heads own **contiguous** slices of the features: head h uses columns h*d_head to
  (h+1)*d_head - 1 (PyTorch's layout).
- Backward functions take the forward's **inputs** and recompute what they need.
- Never modify an input in place.

Read: Vaswani et al. (2017), "Attention is all you need", sections 3.2.1-3.2.2; the
PyTorch documentation of `torch.nn.functional.scaled_dot_product_attention` and
`torch.nn.MultiheadAttention`; Karpathy, "Let's build GPT" (2023), the causal mask.
"""

import numpy as np


def causal_mask(T: int) -> np.ndarray:
    """The causal mask for a sequence of length T: (T, T) booleans.

    mask[i, j] is True (query i may attend key j) exactly when j <= i: the diagonal and
    below are kept, the future (j > i) is masked.
    """
    ### BEGIN SOLUTION
    return np.tril(np.ones((T, T), dtype=bool))
    ### END SOLUTION


def padding_mask(lengths: np.ndarray, T: int) -> np.ndarray:
    """The key padding mask of a batch of sequences padded to length T: (N, 1, T) booleans.

    lengths: (N,) integers in 0..T. mask[n, 0, j] is True exactly when key j is a real
    position of sequence n (j < lengths[n]). The axis of size 1 is the query axis, so the
    mask broadcasts against scores (N, Tq, T): every query of sequence n sees the same keys.
    """
    ### BEGIN SOLUTION
    return (np.arange(T)[None, :] < np.asarray(lengths)[:, None])[:, None, :]
    ### END SOLUTION


def attention(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    mask: np.ndarray | None = None,
    scale: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Scaled dot-product attention, as F.scaled_dot_product_attention (but with the weights).

    q: (..., Tq, d); k: (..., Tk, d); v: (..., Tk, dv) with the same leading axes (e.g. (N,)
    or (N, H)). mask: None or booleans broadcastable to (..., Tq, Tk), True = attend.
    scale: the factor on the scores; None means 1 / sqrt(d).
    Returns (out (..., Tq, dv), weights (..., Tq, Tk)): each row of weights sums to 1 over
    its unmasked keys, is exactly 0 on masked keys, and is all 0 (with out 0) when the whole
    row is masked. Computes in the inputs' dtype.
    """
    ### BEGIN SOLUTION
    d = q.shape[-1]
    scale = d**-0.5 if scale is None else scale  # a Python float keeps float32 float32
    scores = (q @ np.swapaxes(k, -1, -2)) * scale
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    top = scores.max(axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)  # a fully masked row: nothing to shift by
    e = np.exp(scores - top)
    total = e.sum(axis=-1, keepdims=True)
    weights = e / np.where(total > 0, total, 1.0)
    return weights @ v, weights
    ### END SOLUTION


def attention_backward(
    dout: np.ndarray,
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    mask: np.ndarray | None = None,
    scale: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward of `attention`'s output, given its inputs and the upstream gradient.

    dout: (..., Tq, dv), dL/d out; q, k, v, mask, scale as `attention`.
    Returns (dq, dk, dv), shaped like q, k and v. Masked keys get no gradient from the
    queries that may not see them; a fully masked row passes no gradient at all.
    """
    ### BEGIN SOLUTION
    d = q.shape[-1]
    scale = d**-0.5 if scale is None else scale  # a Python float keeps float32 float32
    _, weights = attention(q, k, v, mask, scale)
    dv = np.swapaxes(weights, -1, -2) @ dout
    dw = dout @ np.swapaxes(v, -1, -2)
    ds = weights * (dw - np.sum(dw * weights, axis=-1, keepdims=True))
    dq = (ds @ k) * scale
    dk = (np.swapaxes(ds, -1, -2) @ q) * scale
    return dq, dk, dv
    ### END SOLUTION


def split_heads(x: np.ndarray, num_heads: int) -> np.ndarray:
    """(N, T, D) -> (N, H, T, D // H): head h gets features h*d_head to (h+1)*d_head - 1.

    D is a multiple of num_heads = H. Every position keeps its own row in every head.
    """
    ### BEGIN SOLUTION
    N, T, D = x.shape
    return x.reshape(N, T, num_heads, D // num_heads).transpose(0, 2, 1, 3)
    ### END SOLUTION


def merge_heads(x: np.ndarray) -> np.ndarray:
    """(N, H, T, d_head) -> (N, T, H * d_head): the inverse of split_heads."""
    ### BEGIN SOLUTION
    N, H, T, d_head = x.shape
    return x.transpose(0, 2, 1, 3).reshape(N, T, H * d_head)
    ### END SOLUTION


def mha_forward(
    x: np.ndarray, params: dict, num_heads: int, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Multi-head self-attention, as nn.MultiheadAttention(D, H, batch_first=True)(x, x, x).

    x: (N, T, D). params: {"W_q", "W_k", "W_v", "W_o"}: (D, D) each, (in, out), applied as
    x @ W + b; {"b_q", "b_k", "b_v", "b_o"}: (D,) each. num_heads = H divides D.
    mask: None or booleans broadcastable to (N, T, T) (e.g. causal_mask(T) or
    padding_mask(lengths, T)), True = attend; the same mask holds in every head.
    Returns (out (N, T, D), weights (N, H, T, T), every head's attention weights).
    """
    ### BEGIN SOLUTION
    N, T, D = x.shape
    d_head = D // num_heads
    q = x @ params["W_q"] + params["b_q"]
    k = x @ params["W_k"] + params["b_k"]
    v = x @ params["W_v"] + params["b_v"]
    if mask is not None:
        mask = np.expand_dims(mask, -3)  # (..., T, T) -> (..., 1, T, T): one mask for all heads
    heads, weights = attention(
        split_heads(q, num_heads),
        split_heads(k, num_heads),
        split_heads(v, num_heads),
        mask,
        scale=d_head**-0.5,
    )
    return merge_heads(heads) @ params["W_o"] + params["b_o"], weights
    ### END SOLUTION


def mha_backward(
    dout: np.ndarray, x: np.ndarray, params: dict, num_heads: int, mask: np.ndarray | None = None
) -> tuple[np.ndarray, dict]:
    """Backward of mha_forward's output, given its inputs and the upstream gradient.

    dout: (N, T, D), dL/d out; x, params, num_heads, mask as mha_forward.
    Returns (dx (N, T, D), grads): grads has the keys of params, each gradient shaped like
    its parameter ((D, D) in the (in, out) layout, (D,) for a bias). x reaches the output
    through the queries, the keys and the values: dx sums the three.
    """
    ### BEGIN SOLUTION
    N, T, D = x.shape
    scale = (D // num_heads) ** -0.5
    if mask is not None:
        mask = np.expand_dims(mask, -3)
    q, k, v = (split_heads(x @ params[f"W_{n}"] + params[f"b_{n}"], num_heads) for n in "qkv")
    merged = merge_heads(attention(q, k, v, mask, scale)[0])
    dheads = split_heads(dout @ params["W_o"].T, num_heads)
    dQ, dK, dV = (merge_heads(g) for g in attention_backward(dheads, q, k, v, mask, scale))
    flat = lambda a: a.reshape(N * T, D)  # noqa: E731  (every (n, t) row is one sample)
    grads = {"W_o": flat(merged).T @ flat(dout), "b_o": dout.sum(axis=(0, 1))}
    for n, g in zip("qkv", (dQ, dK, dV)):
        grads[f"W_{n}"] = flat(x).T @ flat(g)
        grads[f"b_{n}"] = g.sum(axis=(0, 1))
    dx = dQ @ params["W_q"].T + dK @ params["W_k"].T + dV @ params["W_v"].T
    return dx, grads
    ### END SOLUTION
