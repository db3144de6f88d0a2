"""[Computed in the question's dtype: float32 when every floating input is float32, else
float64.] A correct basic-attention with other valid formulas: np.einsum for every product,
the masked softmax as exp(s - logsumexp(s)) with masked weights set by np.where on the
result, the softmax's backward through the explicit (Tk, Tk) Jacobian, and the additive
score's gradients as contractions of one (N, Tq, Tk, h) array."""

import numpy as np


def _dtype(*arrays):
    floats = [a.dtype for a in arrays if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating)]
    return np.float32 if floats and all(d == np.float32 for d in floats) else np.float64


def masked_softmax(scores, mask=None):
    dt = _dtype(scores)
    s = np.asarray(scores, dt)
    keep = np.ones(s.shape, bool) if mask is None else np.broadcast_to(mask, s.shape)
    kept = np.where(keep, s, np.finfo(dt).min)  # finite stand-in, discarded below
    top = kept.max(axis=-1, keepdims=True)
    lse = top + np.log(np.where(keep, np.exp(kept - top), 0).sum(axis=-1, keepdims=True) + (~keep.any(-1, keepdims=True)))
    with np.errstate(over="ignore", invalid="ignore"):
        w = np.exp(kept - lse)
    return np.where(keep, w, 0).astype(dt)


def masked_softmax_backward(dweights, scores, mask=None):
    dt = _dtype(dweights, scores)
    w = masked_softmax(scores, mask).astype(dt)
    jac = np.einsum("...i,ij->...ij", w, np.eye(w.shape[-1], dtype=dt)) - np.einsum("...i,...j->...ij", w, w)
    return np.einsum("...ij,...i->...j", jac, np.asarray(dweights, dt))


def _pairs(q, k, Wq, Wk):
    return np.tanh(np.einsum("nid,dh->nih", q, Wq)[:, :, None] + np.einsum("njd,dh->njh", k, Wk)[:, None])


def additive_scores(q, k, Wq, Wk, v):
    dt = _dtype(q, k, Wq, Wk, v)
    q, k, Wq, Wk, v = (np.asarray(x, dt) for x in (q, k, Wq, Wk, v))
    return np.einsum("nijh,h->nij", _pairs(q, k, Wq, Wk), v)


def additive_scores_backward(dscores, q, k, Wq, Wk, v):
    dt = _dtype(dscores, q, k, Wq, Wk, v)
    ds, q, k, Wq, Wk, v = (np.asarray(x, dt) for x in (dscores, q, k, Wq, Wk, v))
    a = _pairs(q, k, Wq, Wk)
    dz = np.einsum("nij,h,nijh->nijh", ds, v, 1 - a * a)
    return (
        np.einsum("nijh,dh->nid", dz, Wq),
        np.einsum("nijh,dh->njd", dz, Wk),
        np.einsum("nid,nijh->dh", q, dz),
        np.einsum("njd,nijh->dh", k, dz),
        np.einsum("nij,nijh->h", ds, a),
    )


def multiplicative_scores(q, k, W=None):
    if W is None:
        dt = _dtype(q, k)
        return np.einsum("nid,njd->nij", np.asarray(q, dt), np.asarray(k, dt))
    dt = _dtype(q, k, W)
    return np.einsum("nid,de,nje->nij", np.asarray(q, dt), np.asarray(W, dt), np.asarray(k, dt))


def multiplicative_scores_backward(dscores, q, k, W=None):
    if W is None:
        dt = _dtype(dscores, q, k)
        ds, q, k = (np.asarray(x, dt) for x in (dscores, q, k))
        return np.einsum("nij,njd->nid", ds, k), np.einsum("nij,nid->njd", ds, q)
    dt = _dtype(dscores, q, k, W)
    ds, q, k, W = (np.asarray(x, dt) for x in (dscores, q, k, W))
    return (
        np.einsum("nij,nje,de->nid", ds, k, W),
        np.einsum("nij,nid,de->nje", ds, q, W),
        np.einsum("nid,nij,nje->de", q, ds, k),
    )


def attention_scores(q, k, params, score):
    if score == "additive":
        return additive_scores(q, k, params["Wq"], params["Wk"], params["v"])
    if score in ("dot", "general"):
        return multiplicative_scores(q, k, params["W"] if score == "general" else None)
    raise ValueError(score)


def attention_forward(q, k, values, params, score="dot", mask=None):
    w = masked_softmax(attention_scores(q, k, params, score), mask)
    return np.einsum("nij,njd->nid", w, values), w


def attention_backward(dcontext, q, k, values, params, score="dot", mask=None):
    scores = attention_scores(q, k, params, score)
    w = masked_softmax(scores, mask)
    dvalues = np.einsum("nij,nid->njd", w, dcontext)
    ds = masked_softmax_backward(np.einsum("nid,njd->nij", dcontext, values), scores, mask)
    if score == "additive":
        dq, dk, dWq, dWk, dv = additive_scores_backward(ds, q, k, params["Wq"], params["Wk"], params["v"])
        return dq, dk, dvalues, {"Wq": dWq, "Wk": dWk, "v": dv}
    if score == "general":
        dq, dk, dW = multiplicative_scores_backward(ds, q, k, params["W"])
        return dq, dk, dvalues, {"W": dW}
    dq, dk = multiplicative_scores_backward(ds, q, k)
    return dq, dk, dvalues, {}
