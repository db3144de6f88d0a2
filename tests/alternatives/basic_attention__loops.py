"""A correct basic-attention written with loops over the batch, the queries and the keys:
the masked softmax gathers each row's kept scores (no -inf at all), the additive score
visits every (query, key) pair, and every backward accumulates pair by pair."""

import math

import numpy as np


def _rows(scores, mask):
    """(scores, keep) as (R, Tk) rows, keep boolean, the mask broadcast to the scores."""
    keep = np.ones(scores.shape, bool) if mask is None else np.broadcast_to(mask, scores.shape)
    tk = scores.shape[-1]
    return scores.reshape(-1, tk), keep.reshape(-1, tk)


def masked_softmax(scores, mask=None):
    s, keep = _rows(np.asarray(scores), mask)
    out = np.zeros(s.shape, dtype=s.dtype)
    for r in range(s.shape[0]):
        kept = [j for j in range(s.shape[1]) if keep[r, j]]
        if not kept:
            continue  # a fully masked row stays 0
        top = max(float(s[r, j]) for j in kept)
        ex = {j: math.exp(float(s[r, j]) - top) for j in kept}
        total = sum(ex.values())
        for j in kept:
            out[r, j] = ex[j] / total
    return out.reshape(scores.shape)


def masked_softmax_backward(dweights, scores, mask=None):
    w = masked_softmax(scores, mask)
    tk = w.shape[-1]
    w2, dw2 = w.reshape(-1, tk), np.asarray(dweights).reshape(-1, tk)
    out = np.zeros(w2.shape, dtype=np.result_type(w2, dw2))
    for r in range(w2.shape[0]):
        inner = sum(float(dw2[r, j]) * float(w2[r, j]) for j in range(tk))
        for j in range(tk):
            out[r, j] = w2[r, j] * (dw2[r, j] - inner)
    return out.reshape(w.shape)


def additive_scores(q, k, Wq, Wk, v):
    n, tq, tk = q.shape[0], q.shape[1], k.shape[1]
    out = np.empty((n, tq, tk), dtype=np.result_type(q, k, Wq, Wk, v))
    for b in range(n):
        for i in range(tq):
            pq = q[b, i] @ Wq
            for j in range(tk):
                out[b, i, j] = np.dot(v, np.tanh(pq + k[b, j] @ Wk))
    return out


def additive_scores_backward(dscores, q, k, Wq, Wk, v):
    dq, dk = np.zeros_like(q), np.zeros_like(k)
    dWq, dWk, dv = np.zeros_like(Wq), np.zeros_like(Wk), np.zeros_like(v)
    for b in range(q.shape[0]):
        for i in range(q.shape[1]):
            for j in range(k.shape[1]):
                a = np.tanh(q[b, i] @ Wq + k[b, j] @ Wk)
                dv += dscores[b, i, j] * a
                dz = dscores[b, i, j] * v * (1 - a * a)
                dq[b, i] += Wq @ dz
                dk[b, j] += Wk @ dz
                dWq += np.outer(q[b, i], dz)
                dWk += np.outer(k[b, j], dz)
    return dq, dk, dWq, dWk, dv


def multiplicative_scores(q, k, W=None):
    out = np.empty((q.shape[0], q.shape[1], k.shape[1]), dtype=np.result_type(q, k))
    for b in range(q.shape[0]):
        for i in range(q.shape[1]):
            qi = q[b, i] if W is None else q[b, i] @ W
            for j in range(k.shape[1]):
                out[b, i, j] = np.dot(qi, k[b, j])
    return out


def multiplicative_scores_backward(dscores, q, k, W=None):
    dq, dk = np.zeros_like(q), np.zeros_like(k)
    dW = None if W is None else np.zeros_like(W)
    for b in range(q.shape[0]):
        for i in range(q.shape[1]):
            qi = q[b, i] if W is None else q[b, i] @ W
            for j in range(k.shape[1]):
                g = dscores[b, i, j]
                dqi = g * k[b, j]
                dq[b, i] += dqi if W is None else W @ dqi
                dk[b, j] += g * qi
                if W is not None:
                    dW += np.outer(q[b, i], dqi)
    return (dq, dk) if W is None else (dq, dk, dW)


def attention_scores(q, k, params, score):
    if score == "additive":
        return additive_scores(q, k, params["Wq"], params["Wk"], params["v"])
    if score in ("dot", "general"):
        return multiplicative_scores(q, k, params["W"] if score == "general" else None)
    raise ValueError(score)


def attention_forward(q, k, values, params, score="dot", mask=None):
    w = masked_softmax(attention_scores(q, k, params, score), mask)
    context = np.zeros((q.shape[0], q.shape[1], values.shape[2]), dtype=np.result_type(w, values))
    for b in range(q.shape[0]):
        for i in range(q.shape[1]):
            for j in range(k.shape[1]):
                context[b, i] += w[b, i, j] * values[b, j]
    return context, w


def attention_backward(dcontext, q, k, values, params, score="dot", mask=None):
    scores = attention_scores(q, k, params, score)
    w = masked_softmax(scores, mask)
    dvalues = np.zeros_like(values)
    dw = np.zeros_like(w)
    for b in range(q.shape[0]):
        for i in range(q.shape[1]):
            for j in range(k.shape[1]):
                dvalues[b, j] += w[b, i, j] * dcontext[b, i]
                dw[b, i, j] = np.dot(dcontext[b, i], values[b, j])
    ds = masked_softmax_backward(dw, scores, mask)
    if score == "additive":
        dq, dk, dWq, dWk, dv = additive_scores_backward(ds, q, k, params["Wq"], params["Wk"], params["v"])
        return dq, dk, dvalues, {"Wq": dWq, "Wk": dWk, "v": dv}
    if score == "general":
        dq, dk, dW = multiplicative_scores_backward(ds, q, k, params["W"])
        return dq, dk, dvalues, {"W": dW}
    dq, dk = multiplicative_scores_backward(ds, q, k)
    return dq, dk, dvalues, {}
