"""# Basic attention: scores, a masked softmax, context vectors

A decoder state (the **query**) looks at every encoder state (the **keys**) and mixes
their **values** by how well each key matches. For each query position i and key j:

    score[i, j]   = how well query i matches key j                    (N, Tq, Tk)
    weights[i, :] = softmax over the keys j of score[i, :]            each row sums to 1
    context[i]    = sum_j weights[i, j] * values[j]                   (N, Tq, dv)

## Three scores

    additive (Bahdanau)      score = v . tanh(q @ Wq + k @ Wk)    Wq (dq, h), Wk (dk, h), v (h,)
    dot (Luong)              score = q . k                        needs dq == dk
    general (Luong)          score = (q @ W) . k                  W (dq, dk)

The additive score forms, for every pair (i, j), `a = tanh(q_i Wq + k_j Wk)` of shape
(N, Tq, Tk, h) by broadcasting `(N, Tq, 1, h) + (N, 1, Tk, h)`, then `a @ v`.
`attention_scores(q, k, params, score)` is given: it picks one of your score functions by
name ("dot", "general", "additive"), so the two attention functions take the kind as a string.

## The masked softmax

`mask` is boolean, **True = attend (keep)**, False = masked out, broadcastable to the
scores' shape (N, Tq, Tk): (N, 1, Tk) masks padded keys, (Tq, Tk) is one pattern for the
whole batch. Put -inf on masked scores *before* the softmax and subtract each row's max
(over the kept scores) so exp never overflows, even for scores of 1e4:

    s = where(mask, scores, -inf);  e = exp(s - max(s));  weights = e / sum(e)

Masked positions then get exactly 0 (exp(-inf) = 0) and the kept ones sum to 1. A
**fully masked row** has no key to look at: this exercise returns weights 0 there (so its
context is 0 too), never NaN. That is a choice: PyTorch's `F.scaled_dot_product_attention`
returns NaN on such rows. A big finite value such as -1e9 instead of -inf is *not* the same:
a fully masked row then gets uniform weights 1/Tk, and -1e9 overflows to -inf in float16.

## Backward

With w = masked_softmax(s) and upstream dw (the softmax's Jacobian is diag(w) - w w^T,
not its diagonal alone):

    ds = w * (dw - sum_j(dw * w))                    masked and fully masked rows get 0

    dot:      dq = ds @ k;   dk = ds^T @ q           (^T: the last two axes swapped)
    general:  dq = (ds @ k) @ W.T;  dk = ds^T @ (q @ W);  dW = sum over n of q^T @ (ds @ k)
    additive: da = ds[..., None] * v * (1 - a**2)    (N, Tq, Tk, h)
              dv = sum of ds[..., None] * a over n, i, j
              dq = da.sum(keys) @ Wq.T;  dk = da.sum(queries) @ Wk.T
              dWq = sum over n of q^T @ da.sum(keys);  dWk likewise with k
    context:  dvalues = weights^T @ dcontext;  dweights = dcontext @ values^T

A weight is shared by every sample of the batch: its gradient is **summed** over the batch.

## Conventions this exercise holds (the grader checks each)

- Batch first: queries (N, Tq, dq), keys (N, Tk, dk), values (N, Tk, dv).
- Weights are (in, out) and applied as `x @ W` (Wq (dq, h), Wk (dk, h), W (dq, dk));
  PyTorch's `nn.Linear` stores (out, in), so copy `linear.weight.T` in.
- Mask: True = keep (the polarity of `F.scaled_dot_product_attention`'s boolean
  `attn_mask`); `nn.MultiheadAttention`'s `key_padding_mask` and `attn_mask` use the
  opposite, True = ignore. `mask=None` means nothing is masked.
- The softmax runs over the keys (the last axis): each query's weights sum to 1.
- No scaling: Luong's scores are not divided by sqrt(d) (that is the Transformer's).
- Every backward takes its forward's inputs and recomputes what it needs.
- Never modify an input in place.

Read: Bahdanau, Cho & Bengio (2015), "Neural machine translation by jointly learning to
align and translate" (the additive score); Luong, Pham & Manning (2015), "Effective
approaches to attention-based neural machine translation" (dot and general); Zhang et
al., *Dive into Deep Learning*, chapter 11 (masked softmax, additive attention).
"""

import numpy as np


def masked_softmax(scores: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Softmax over the last axis (the keys), masked positions excluded.

    scores: (..., Tk), e.g. (N, Tq, Tk); mask: boolean, True = keep, broadcastable to
    scores (or None: keep all). Returns weights shaped like scores: exactly 0 where masked,
    summing to 1 over the kept positions of each row; a fully masked row is all 0, never
    NaN. Stable for scores of any size (no overflow for 1e4).
    """
    ### BEGIN SOLUTION
    s = scores if mask is None else np.where(mask, scores, -np.inf)
    m = s.max(axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)  # a fully masked row: its max is -inf
    e = np.exp(s - m)
    z = e.sum(axis=-1, keepdims=True)
    return e / np.where(z > 0, z, 1.0)
    ### END SOLUTION


def masked_softmax_backward(
    dweights: np.ndarray, scores: np.ndarray, mask: np.ndarray | None = None
) -> np.ndarray:
    """Backward of masked_softmax: dL/dscores given dL/dweights.

    dweights: shaped like the weights; scores, mask: as masked_softmax. Returns dscores
    shaped like scores (0 on masked positions and on fully masked rows).
    """
    ### BEGIN SOLUTION
    w = masked_softmax(scores, mask)
    return w * (dweights - (dweights * w).sum(axis=-1, keepdims=True))
    ### END SOLUTION


def additive_scores(
    q: np.ndarray, k: np.ndarray, Wq: np.ndarray, Wk: np.ndarray, v: np.ndarray
) -> np.ndarray:
    """Bahdanau's additive scores v . tanh(q_i @ Wq + k_j @ Wk) for every query/key pair.

    q: (N, Tq, dq); k: (N, Tk, dk); Wq: (dq, h); Wk: (dk, h); v: (h,).
    Returns scores (N, Tq, Tk).
    """
    ### BEGIN SOLUTION
    a = np.tanh((q @ Wq)[:, :, None, :] + (k @ Wk)[:, None, :, :])  # (N, Tq, Tk, h)
    return a @ v
    ### END SOLUTION


def additive_scores_backward(
    dscores: np.ndarray,
    q: np.ndarray,
    k: np.ndarray,
    Wq: np.ndarray,
    Wk: np.ndarray,
    v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward of additive_scores.

    dscores: (N, Tq, Tk); the rest as additive_scores.
    Returns (dq, dk, dWq, dWk, dv) shaped like q, k, Wq, Wk, v.
    """
    ### BEGIN SOLUTION
    a = np.tanh((q @ Wq)[:, :, None, :] + (k @ Wk)[:, None, :, :])
    da = dscores[..., None] * v * (1 - a**2)  # (N, Tq, Tk, h)
    dhq, dhk = da.sum(axis=2), da.sum(axis=1)  # (N, Tq, h), (N, Tk, h)
    dWq = (q.transpose(0, 2, 1) @ dhq).sum(axis=0)
    dWk = (k.transpose(0, 2, 1) @ dhk).sum(axis=0)
    dv = (dscores[..., None] * a).sum(axis=(0, 1, 2))
    return dhq @ Wq.T, dhk @ Wk.T, dWq, dWk, dv
    ### END SOLUTION


def multiplicative_scores(q: np.ndarray, k: np.ndarray, W: np.ndarray | None = None) -> np.ndarray:
    """Luong's scores: dot q . k when W is None, general (q @ W) . k otherwise.

    q: (N, Tq, dq); k: (N, Tk, dk) (dk == dq for dot); W: (dq, dk) or None.
    Returns scores (N, Tq, Tk), not scaled.
    """
    ### BEGIN SOLUTION
    if W is not None:
        q = q @ W
    return q @ k.transpose(0, 2, 1)
    ### END SOLUTION


def multiplicative_scores_backward(
    dscores: np.ndarray, q: np.ndarray, k: np.ndarray, W: np.ndarray | None = None
) -> tuple[np.ndarray, ...]:
    """Backward of multiplicative_scores.

    dscores: (N, Tq, Tk); the rest as multiplicative_scores.
    Returns (dq, dk) for the dot score (W None), (dq, dk, dW) for the general one.
    """
    ### BEGIN SOLUTION
    qw = q if W is None else q @ W
    dqw = dscores @ k  # (N, Tq, dk)
    dk = dscores.transpose(0, 2, 1) @ qw
    if W is None:
        return dqw, dk
    dW = (q.transpose(0, 2, 1) @ dqw).sum(axis=0)
    return dqw @ W.T, dk, dW
    ### END SOLUTION


def attention_scores(q: np.ndarray, k: np.ndarray, params: dict, score: str) -> np.ndarray:
    """Given: the scores of one kind, from your score functions.

    score: "dot" (params {}), "general" (params {"W"}) or "additive" (params {"Wq", "Wk",
    "v"}). Returns scores (N, Tq, Tk).
    """
    if score == "additive":
        return additive_scores(q, k, params["Wq"], params["Wk"], params["v"])
    if score in ("dot", "general"):
        return multiplicative_scores(q, k, params["W"] if score == "general" else None)
    raise ValueError(f"score must be 'dot', 'general' or 'additive', not {score!r}")


def attention_forward(
    q: np.ndarray,
    k: np.ndarray,
    values: np.ndarray,
    params: dict,
    score: str = "dot",
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Attention of queries over keys and values, with one kind of score.

    q: (N, Tq, dq); k: (N, Tk, dk); values: (N, Tk, dv); params and score as
    attention_scores; mask as masked_softmax.
    Returns (context (N, Tq, dv), weights (N, Tq, Tk)); a fully masked row's context is 0.
    """
    ### BEGIN SOLUTION
    weights = masked_softmax(attention_scores(q, k, params, score), mask)
    return weights @ values, weights
    ### END SOLUTION


def attention_backward(
    dcontext: np.ndarray,
    q: np.ndarray,
    k: np.ndarray,
    values: np.ndarray,
    params: dict,
    score: str = "dot",
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Backward of attention_forward's context (the weights are an output to look at only).

    dcontext: (N, Tq, dv); the rest as attention_forward.
    Returns (dq, dk, dvalues, dparams): dparams has the keys of params, each gradient
    shaped like its parameter ({} for the dot score).
    """
    ### BEGIN SOLUTION
    scores = attention_scores(q, k, params, score)
    weights = masked_softmax(scores, mask)
    dvalues = weights.transpose(0, 2, 1) @ dcontext
    dscores = masked_softmax_backward(dcontext @ values.transpose(0, 2, 1), scores, mask)
    if score == "additive":
        dq, dk, dWq, dWk, dv = additive_scores_backward(
            dscores, q, k, params["Wq"], params["Wk"], params["v"]
        )
        return dq, dk, dvalues, {"Wq": dWq, "Wk": dWk, "v": dv}
    if score == "general":
        dq, dk, dW = multiplicative_scores_backward(dscores, q, k, params["W"])
        return dq, dk, dvalues, {"W": dW}
    dq, dk = multiplicative_scores_backward(dscores, q, k)
    return dq, dk, dvalues, {}
    ### END SOLUTION
