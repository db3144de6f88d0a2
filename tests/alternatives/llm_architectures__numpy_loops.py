"""A correct llm-architectures in another style: NumPy throughout (no torch in the
forward passes), RMSNorm through a reciprocal root, its backward by torch.autograd, the
SiLU through tanh (sigmoid(z) = (1 + tanh(z / 2)) / 2), RoPE as complex multiplication,
attention with a loop over the query heads, routing with a per-row argsort and a
capacity table, the balancing loss's gradient written out by hand, chunks from a list of
start positions, retrieval with pre-normalised vectors and Python's sort, and patches cut
out one by one with loops."""

import numpy as np
import torch


def rms_norm(x, gamma, eps=1e-6):
    x = np.asarray(x)
    inv = 1.0 / np.sqrt(np.mean(np.square(x), axis=-1, keepdims=True) + eps)
    return (x * inv * gamma).astype(x.dtype)


def rms_norm_backward(dy, x, gamma, eps=1e-6):
    xt = torch.tensor(np.asarray(x), requires_grad=True)
    gt = torch.tensor(np.asarray(gamma), requires_grad=True)
    y = xt * torch.rsqrt(xt.pow(2).mean(-1, keepdim=True) + eps) * gt
    dx, dgamma = torch.autograd.grad(y, [xt, gt], grad_outputs=torch.as_tensor(np.asarray(dy)))
    return dx.numpy(), dgamma.numpy()


def swiglu(x, W1, W3, W2):
    x = np.asarray(x)
    a = x @ W1
    silu = a * (1 + np.tanh(a / 2)) / 2
    return ((silu * (x @ W3)) @ W2).astype(x.dtype)


def rope(x, offset=0, base=10000.0):
    x = np.asarray(x)
    T, d = x.shape[-2:]
    h = d // 2
    freqs = np.power(float(base), -np.arange(h) * 2.0 / d)
    turn = np.exp(1j * (np.arange(T)[:, None] + offset) * freqs[None, :])
    z = (x[..., :h] + 1j * x[..., h:]) * turn
    return np.concatenate([z.real, z.imag], axis=-1).astype(x.dtype)


def grouped_query_attention(x, p, n_head, n_kv_head):
    x = np.asarray(x)
    N, T, d = x.shape
    dh = d // n_head
    q, k, v = x @ p["Wq"], x @ p["Wk"], x @ p["Wv"]
    group = n_head // n_kv_head
    out = np.zeros((N, T, d), dtype=np.result_type(x, p["Wq"]))
    future = np.triu(np.ones((T, T), dtype=bool), 1)
    for h in range(n_head):
        g = h // group
        qh, kh, vh = (
            q[..., h * dh : (h + 1) * dh],
            k[..., g * dh : (g + 1) * dh],
            v[..., g * dh : (g + 1) * dh],
        )
        s = np.einsum("nid,njd->nij", qh, kh) / np.sqrt(dh)
        s = np.where(future, -np.inf, s)
        w = np.exp(s - s.max(axis=-1, keepdims=True))
        w /= w.sum(axis=-1, keepdims=True)
        out[..., h * dh : (h + 1) * dh] = w @ vh
    return out @ p["Wo"]


def moe_route(logits, k, capacity):
    logits = np.asarray(logits)
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = z / z.sum(axis=1, keepdims=True)
    T, E = probs.shape
    experts = np.empty((T, k), dtype=np.int64)
    gates = np.empty((T, k), dtype=probs.dtype)
    for t in range(T):
        order = sorted(range(E), key=lambda e: (-probs[t, e], e))[:k]
        experts[t] = order
        gates[t] = probs[t, order] / probs[t, order].sum()
    room = {e: capacity for e in range(E)}
    keep = np.zeros((T, k), dtype=bool)
    for rank in range(k):
        for t in range(T):
            e = int(experts[t, rank])
            if room[e] > 0:
                room[e] -= 1
                keep[t, rank] = True
    return experts, gates, keep


def load_balancing_loss(logits, experts):
    logits = np.asarray(logits)
    experts = np.asarray(experts)
    T, E = logits.shape
    f = np.array([(experts == i).sum() for i in range(E)], dtype=logits.dtype) / experts.size
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = z / z.sum(axis=1, keepdims=True)
    loss = E * float(f @ probs.mean(axis=0))
    # d loss / d logits[t, j] = (E / T) p_tj (f_j - sum_i f_i p_ti)
    dlogits = E / T * probs * (f[None, :] - (probs @ f)[:, None])
    return loss, dlogits.astype(logits.dtype)


def chunk_tokens(tokens, size, overlap):
    tokens = list(np.asarray(tokens, dtype=np.int64).tolist())
    if not tokens:
        return []
    starts = [0]
    while starts[-1] + size < len(tokens):
        starts.append(starts[-1] + size - overlap)
    return [tokens[s : s + size] for s in starts]


def rag_retrieve(query, chunk_vectors, k):
    q = np.asarray(query)
    M = np.asarray(chunk_vectors)
    qn = np.linalg.norm(q)
    sims = []
    for v in M:
        vn = np.linalg.norm(v)
        sims.append(float(v @ q) / (vn * qn) if vn > 0 and qn > 0 else 0.0)
    order = sorted(range(len(M)), key=lambda i: (-sims[i], i))[:k]
    return np.array(order, dtype=np.int64), np.array(
        [sims[i] for i in order], dtype=np.result_type(q, M)
    )


def patch_embed(images, W, b, patch):
    images = np.asarray(images)
    N, C, H, Wi = images.shape
    rows = []
    for n in range(N):
        flat = []
        for r in range(0, H, patch):
            for c in range(0, Wi, patch):
                flat.append(images[n, :, r : r + patch, c : c + patch].reshape(-1))
        rows.append(np.stack(flat))
    return np.stack(rows) @ W + b
