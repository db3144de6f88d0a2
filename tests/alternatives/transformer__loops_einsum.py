"""A correct transformer in another style: the positional encoding and the layer norm's
statistics with loops, a NumPy-only layer norm (np.var) with a separate torch one for the
blocks, the backward as sums over d, attention with per-head weight slices and einsum, and
torch's softmax with the fully masked rows zeroed by a where; the given initialisation
restyled as a table of draws; the model trained in float32 with torch.optim.Adam and
log_softmax for the loss."""

import math

import numpy as np
import torch


def positional_encoding(T, d_model):
    pe = np.empty((T, d_model))
    for p in range(T):
        for j in range(d_model):
            angle = p / 10000 ** ((j - j % 2) / d_model)
            pe[p, j] = math.sin(angle) if j % 2 == 0 else math.cos(angle)
    return pe


def layer_norm_forward(x, gamma, beta, eps=1e-5):
    x = np.asarray(x)
    flat = x.reshape(-1, x.shape[-1])
    out = np.empty_like(flat)
    for r, row in enumerate(flat):
        out[r] = (row - row.mean()) / np.sqrt(np.var(row) + eps)
    return out.reshape(x.shape) * gamma + beta


def layer_norm_backward(dout, x, gamma, beta, eps=1e-5):
    d = x.shape[-1]
    std = np.sqrt(np.var(x, axis=-1, keepdims=True) + eps)
    xhat = (x - x.mean(axis=-1, keepdims=True)) / std
    g = dout * gamma
    dx = (d * g - g.sum(axis=-1, keepdims=True) - xhat * (g * xhat).sum(axis=-1, keepdims=True)) / (d * std)
    axes = tuple(range(x.ndim - 1))
    return dx, (dout * xhat).sum(axis=axes), dout.sum(axis=axes)


def causal_mask(T):
    i = np.arange(T)
    return i[None, :] <= i[:, None]


def _ln_t(x, gamma, beta, eps=1e-5):
    mu = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, keepdim=True, correction=0)
    return (x - mu) * torch.rsqrt(var + eps) * gamma + beta


def multi_head_attention(x_q, x_kv, p, n_heads, mask=None):
    x_q, x_kv = torch.as_tensor(x_q), torch.as_tensor(x_kv)
    w = {k: torch.as_tensor(v) for k, v in p.items()}
    d = x_q.shape[-1]
    dh = d // n_heads
    outs, weights = [], []
    for h in range(n_heads):
        cols = slice(h * dh, (h + 1) * dh)
        q = x_q @ w["Wq"][:, cols] + w["bq"][cols]
        k = x_kv @ w["Wk"][:, cols] + w["bk"][cols]
        v = x_kv @ w["Wv"][:, cols] + w["bv"][cols]
        s = torch.einsum("nqe,nke->nqk", q, k) / math.sqrt(dh)
        if mask is not None:
            keep = torch.as_tensor(np.asarray(mask) if not torch.is_tensor(mask) else mask)
            keep = keep.expand(x_q.shape[0], n_heads, x_q.shape[1], x_kv.shape[1])[:, h]
            s = s.masked_fill(~keep, -math.inf)
            a = torch.softmax(s, dim=-1)
            a = torch.where(keep.any(dim=-1, keepdim=True), a, torch.zeros_like(a))
        else:
            a = torch.softmax(s, dim=-1)
        weights.append(a)
        outs.append(torch.einsum("nqk,nke->nqe", a, v))
    out = torch.cat(outs, dim=-1) @ w["Wo"] + w["bo"]
    return out, torch.stack(weights, dim=1)


def feed_forward(x, W1, b1, W2, b2):
    x, W1, b1, W2, b2 = (torch.as_tensor(a) for a in (x, W1, b1, W2, b2))
    return torch.clamp(torch.einsum("ntd,df->ntf", x, W1) + b1, min=0) @ W2 + b2


def _sub(p, prefix):
    return {k[len(prefix) :]: torch.as_tensor(v) for k, v in p.items() if k.startswith(prefix)}


def encoder_block(x, p, n_heads):
    x = torch.as_tensor(x)
    ln1, ln2, ffn = _sub(p, "ln1_"), _sub(p, "ln2_"), _sub(p, "ffn_")
    h = _ln_t(x, ln1["gamma"], ln1["beta"])
    a = x + multi_head_attention(h, h, _sub(p, "attn_"), n_heads)[0]
    return a + feed_forward(_ln_t(a, ln2["gamma"], ln2["beta"]), ffn["W1"], ffn["b1"], ffn["W2"], ffn["b2"])


def decoder_block(x, memory, p, n_heads):
    x, memory = torch.as_tensor(x), torch.as_tensor(memory)
    ln = [_sub(p, f"ln{i}_") for i in (1, 2, 3)]
    ffn = _sub(p, "ffn_")
    h = _ln_t(x, ln[0]["gamma"], ln[0]["beta"])
    x = x + multi_head_attention(h, h, _sub(p, "self_"), n_heads, causal_mask(x.shape[1]))[0]
    x = x + multi_head_attention(_ln_t(x, ln[1]["gamma"], ln[1]["beta"]), memory, _sub(p, "cross_"), n_heads)[0]
    h = _ln_t(x, ln[2]["gamma"], ln[2]["beta"])
    return x + feed_forward(h, ffn["W1"], ffn["b1"], ffn["W2"], ffn["b2"])


def transformer_forward(p, src, tgt_in, n_heads, n_layers):
    t = {k: torch.as_tensor(v) for k, v in p.items()}
    src, tgt_in = torch.as_tensor(np.asarray(src)).long(), torch.as_tensor(np.asarray(tgt_in)).long()
    d = t["src_embed"].shape[1]
    pe = torch.as_tensor(positional_encoding(max(src.shape[1], tgt_in.shape[1]), d), dtype=t["src_embed"].dtype)
    x = torch.nn.functional.embedding(src, t["src_embed"]) + pe[: src.shape[1]]
    for layer in range(n_layers):
        x = encoder_block(x, _sub(t, f"enc{layer}_"), n_heads)
    memory = _ln_t(x, t["enc_ln_gamma"], t["enc_ln_beta"])
    y = torch.nn.functional.embedding(tgt_in, t["tgt_embed"]) + pe[: tgt_in.shape[1]]
    for layer in range(n_layers):
        y = decoder_block(y, memory, _sub(t, f"dec{layer}_"), n_heads)
    return torch.einsum("ntd,dv->ntv", _ln_t(y, t["dec_ln_gamma"], t["dec_ln_beta"]), t["W_out"]) + t["b_out"]


def init_transformer(vocab_size, d_model, d_ff, n_layers, seed):
    """The given initialisation rewritten as a table: every random weight in the order the
    given one draws it (a learner may restyle a given function; the draws must match)."""
    rng = np.random.default_rng(seed)
    d = d_model
    drawn = [("src_embed", (vocab_size, d)), ("tgt_embed", (vocab_size, d))]
    norms = []
    for layer in range(n_layers):
        e, c = f"enc{layer}_", f"dec{layer}_"
        drawn += [(f"{e}attn_W{n}", (d, d)) for n in "qkvo"]
        drawn += [(f"{e}ffn_W1", (d, d_ff)), (f"{e}ffn_W2", (d_ff, d))]
        drawn += [(f"{c}{kind}_W{n}", (d, d)) for kind in ("self", "cross") for n in "qkvo"]
        drawn += [(f"{c}ffn_W1", (d, d_ff)), (f"{c}ffn_W2", (d_ff, d))]
        norms += [e + "ln1_", e + "ln2_", c + "ln1_", c + "ln2_", c + "ln3_"]
    drawn.append(("W_out", (d, vocab_size)))
    p = {}
    for name, shape in drawn:
        z = rng.standard_normal(shape)
        if name.endswith("_embed"):
            p[name] = z
        else:  # N(0, 1/fan_in) and a zero bias named like the weight, its last W -> b
            p[name] = z * shape[0] ** -0.5
            p["b".join(name.rsplit("W", 1))] = np.zeros(shape[1])
    for prefix in norms + ["enc_ln_", "dec_ln_"]:
        p[prefix + "gamma"], p[prefix + "beta"] = np.ones(d), np.zeros(d)
    return p


def train_transformer(src, tgt, vocab_size, d_model, n_heads, d_ff, n_layers, steps, lr, seed):
    """Trained in float32, with torch.optim.Adam (the reference writes Adam by hand)."""
    params = {k: torch.tensor(v, dtype=torch.float32, requires_grad=True)
              for k, v in init_transformer(vocab_size, d_model, d_ff, n_layers, seed).items()}  # fmt: skip
    tgt = np.asarray(tgt)
    tgt_in = np.concatenate([np.zeros((len(tgt), 1), dtype=tgt.dtype), tgt[:, :-1]], axis=1)
    target = torch.as_tensor(tgt).long().reshape(-1)
    opt = torch.optim.Adam(list(params.values()), lr=lr)
    losses = []
    for _ in range(steps):
        logits = transformer_forward(params, src, tgt_in, n_heads, n_layers)
        logp = torch.log_softmax(logits.reshape(-1, vocab_size), dim=-1)
        loss = -logp[torch.arange(len(target)), target].mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return {k: v.detach().numpy().astype(np.float64) for k, v in params.items()}, losses
