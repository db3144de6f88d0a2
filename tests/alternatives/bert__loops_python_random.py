"""A correct bert in another style: masking and next-sentence pairs with Python's
random.Random and loops (another random stream than the reference's), the loss as
logsumexp minus the picked logit, attention written per head with einsum and a large
negative fill, F.gelu, and F.embedding for the three embeddings."""

import random

import numpy as np
import torch
import torch.nn.functional as F

PAD, CLS, SEP, MASK, N_SPECIAL, IGNORE = 0, 1, 2, 3, 4, -100


def mlm_mask(ids, vocab_size, seed, mask_prob=0.15):
    rng = random.Random(seed)
    ids = np.asarray(ids)
    inputs, labels = ids.copy(), np.full_like(ids, IGNORE)
    for index in np.ndindex(ids.shape):
        token = int(ids[index])
        if token < N_SPECIAL or rng.random() >= mask_prob:
            continue
        labels[index] = token
        u = rng.random()
        if u < 0.8:
            inputs[index] = MASK
        elif u < 0.9:
            inputs[index] = rng.randrange(N_SPECIAL, vocab_size)
    return inputs, labels


def mlm_loss(logits, labels):
    logits = torch.as_tensor(logits)
    labels = torch.as_tensor(labels).long().reshape(-1)
    flat = logits.reshape(-1, logits.shape[-1])
    rows = torch.nonzero(labels != IGNORE).squeeze(1)
    picked = flat[rows, labels[rows]]
    return (torch.logsumexp(flat[rows], dim=1) - picked).sum() / len(rows)


def nsp_pairs(sentences, seed):
    rng = random.Random(seed)
    rows, segs, is_next = [], [], []
    for i in range(len(sentences) - 1):
        if rng.random() < 0.5:
            j = i + 1
        else:
            j = i + 1
            while j == i + 1:
                j = rng.randrange(len(sentences))
        a, b = list(sentences[i]), list(sentences[j])
        rows.append([CLS] + a + [SEP] + b + [SEP])
        segs.append([0] * (len(a) + 2) + [1] * (len(b) + 1))
        is_next.append(int(j == i + 1))
    width = max(len(r) for r in rows)
    ids = np.array([r + [PAD] * (width - len(r)) for r in rows])
    segments = np.array([s + [0] * (width - len(s)) for s in segs])
    return ids, segments, np.array(is_next)


def _norm(x, gamma, beta):
    var = x.var(dim=-1, unbiased=False, keepdim=True)
    return (x - x.mean(dim=-1, keepdim=True)) * torch.rsqrt(var + 1e-12) * gamma + beta


def encoder_layer(x, p, n_heads, attention_mask=None):
    x = torch.as_tensor(x)
    p = {k: torch.as_tensor(v) for k, v in p.items()}
    n, t, d = x.shape
    dh = d // n_heads
    q, k, v = (x @ p[f"attn_W{c}"] + p[f"attn_b{c}"] for c in "qkv")
    heads = []
    for h in range(n_heads):
        cols = slice(h * dh, (h + 1) * dh)
        scores = torch.einsum("ntd,nsd->nts", q[..., cols], k[..., cols]) / dh**0.5
        if attention_mask is not None:
            hide = ~torch.as_tensor(np.asarray(attention_mask, dtype=bool))[:, None, :]
            scores = scores.masked_fill(hide, -1e30)
        heads.append(torch.einsum("nts,nsd->ntd", torch.softmax(scores, dim=-1), v[..., cols]))
    attn = torch.cat(heads, dim=-1) @ p["attn_Wo"] + p["attn_bo"]
    x = _norm(x + attn, p["ln1_gamma"], p["ln1_beta"])
    ffn = F.gelu(x @ p["ffn_W1"] + p["ffn_b1"]) @ p["ffn_W2"] + p["ffn_b2"]
    return _norm(x + ffn, p["ln2_gamma"], p["ln2_beta"])


def bert_forward(p, ids, segments, attention_mask, n_heads, n_layers):
    p = {k: torch.as_tensor(v) for k, v in p.items()}
    ids, segments = torch.as_tensor(ids).long(), torch.as_tensor(segments).long()
    positions = torch.arange(ids.shape[1])
    x = F.embedding(ids, p["tok_embed"]) + F.embedding(positions, p["pos_embed"]) + F.embedding(segments, p["seg_embed"])
    x = _norm(x, p["emb_ln_gamma"], p["emb_ln_beta"])
    for layer in range(n_layers):
        sub = {name[len(f"layer{layer}_"):]: w for name, w in p.items() if name.startswith(f"layer{layer}_")}
        x = encoder_layer(x, sub, n_heads, attention_mask)
    return torch.einsum("ntd,vd->ntv", x, p["tok_embed"]) + p["mlm_bias"]
