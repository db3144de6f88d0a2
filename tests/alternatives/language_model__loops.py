"""A correct language-model in another style: counts through a Counter of tuples, smoothing
and interpolation context by context with itertools.product, perplexity in bits (2 to the
mean log2, the same number), the filters row by row with a stable argsort, and sampling
with rng.choice one row at a time; the neural LM as torch's own modules (nn.Embedding,
nn.Linear with the (in, out) weights transposed in and out), trained in float32."""

import itertools
import math
from collections import Counter

import numpy as np

BOS, EOS = 0, 1


def ngram_counts(sentences, n, vocab_size):
    seen = Counter()
    for sentence in sentences:
        padded = (BOS,) * (n - 1) + tuple(sentence) + (EOS,)
        seen.update(padded[i : i + n] for i in range(len(padded) - n + 1))
    counts = np.zeros((vocab_size,) * n, dtype=int)
    for gram, c in seen.items():
        counts[gram] = c
    return counts


def add_k_probs(counts, k):
    V = counts.shape[-1]
    out = np.empty(counts.shape)
    for ctx in itertools.product(range(V), repeat=counts.ndim - 1):
        row = counts[ctx]
        out[ctx] = [(c + k) / (row.sum() + k * V) for c in row]
    return out


def interpolated_probs(counts_by_order, lambdas):
    n = len(counts_by_order)
    V = counts_by_order[0].shape[0]
    out = np.zeros((V,) * n)
    for ctx in itertools.product(range(V), repeat=n - 1):
        for j, (lam, counts) in enumerate(zip(lambdas, counts_by_order)):
            row = counts[ctx[len(ctx) - j :]] if j else counts
            total = row.sum()
            out[ctx] += lam * (row / total if total else np.full(V, 1 / V))
    return out


def perplexity(probs, sentences):
    n = probs.ndim
    bits = []
    for sentence in sentences:
        padded = [BOS] * (n - 1) + list(sentence) + [EOS]
        bits += [-math.log2(probs[tuple(padded[i - n + 1 : i + 1])]) for i in range(n - 1, len(padded))]
    return 2 ** (sum(bits) / len(bits))


def greedy(logits):
    z = np.asarray(logits)
    flat = z.reshape(-1, z.shape[-1])
    ids = [max(range(len(row)), key=lambda i, row=row: (row[i], -i)) for row in flat]
    return np.array(ids).reshape(z.shape[:-1])


def temperature_probs(logits, temperature):
    z = np.asarray(logits, dtype=np.float64)
    flat = z.reshape(-1, z.shape[-1])
    rows = []
    for row in flat:
        scaled = [v / temperature for v in row]
        top = max(scaled)
        e = [math.exp(s - top) for s in scaled]
        rows.append([x / sum(e) for x in e])
    return np.array(rows).reshape(z.shape)


def _rows(probs, keep_row):
    p = np.asarray(probs, dtype=np.float64)
    flat = p.reshape(-1, p.shape[-1])
    out = np.zeros_like(flat)
    for r, row in enumerate(flat):
        order = np.argsort(-row, kind="stable")
        last = keep_row(row[order])  # index into the descending order of the last kept token
        threshold = row[order][last]
        kept = np.where(row >= threshold, row, 0.0)
        out[r] = kept / kept.sum()
    return out.reshape(p.shape)


def top_k_filter(probs, k):
    return _rows(probs, lambda desc: k - 1)


def top_p_filter(probs, p):
    def crossing(desc):
        mass = 0.0
        for i, q in enumerate(desc):
            mass += q
            if mass >= p:
                return i
        return len(desc) - 1

    return _rows(probs, crossing)


def sample(probs, seed):
    rng = np.random.default_rng(seed)
    p = np.asarray(probs, dtype=np.float64)
    flat = p.reshape(-1, p.shape[-1])
    ids = [rng.choice(len(row), p=row / row.sum()) for row in flat]
    return np.array(ids, dtype=np.int64).reshape(p.shape[:-1])


def context_windows(sentences, context):
    padded = [(BOS,) * context + tuple(s) + (EOS,) for s in sentences]
    pairs = [(t[i : i + context], t[i + context]) for t in padded for i in range(len(t) - context)]
    return np.array([c for c, _ in pairs], dtype=np.int64).reshape(-1, context), np.array(
        [w for _, w in pairs], dtype=np.int64)


def init_neural_lm(vocab_size, context, d_embed, d_hidden, seed):
    draw = np.random.default_rng(seed).normal
    shapes = {"E": (vocab_size, d_embed), "W1": (context * d_embed, d_hidden), "W2": (d_hidden, vocab_size)}
    params = {}
    for name, shape in shapes.items():  # the order of the draws is the reference's: E, W1, W2
        params[name] = draw(size=shape) if name == "E" else draw(scale=shape[0] ** -0.5, size=shape)
    return {"E": params["E"], "W1": params["W1"], "b1": np.zeros(d_hidden), "W2": params["W2"],
            "b2": np.zeros(vocab_size)}


def _modules(params, dtype):
    import torch

    t = {k: torch.as_tensor(np.asarray(v), dtype=dtype) for k, v in params.items()}
    embed = torch.nn.Embedding.from_pretrained(t["E"], freeze=False)
    hidden = torch.nn.Linear(*t["W1"].shape, dtype=dtype)
    out = torch.nn.Linear(*t["W2"].shape, dtype=dtype)
    with torch.no_grad():
        for layer, w, b in ((hidden, "W1", "b1"), (out, "W2", "b2")):
            layer.weight.copy_(t[w].T)
            layer.bias.copy_(t[b])
    return embed, hidden, out


def _logits(modules, contexts):
    import torch

    embed, hidden, out = modules
    x = embed(torch.as_tensor(np.asarray(contexts), dtype=torch.long)).flatten(start_dim=1)
    return out(torch.tanh(hidden(x)))


def neural_lm_forward(params, contexts):
    import torch

    dtype = torch.float32 if np.asarray(params["E"]).dtype == np.float32 else torch.float64
    with torch.no_grad():
        return _logits(_modules(params, dtype), contexts).numpy()


def train_neural_lm(contexts, targets, vocab_size, d_embed, d_hidden, steps, lr, seed):
    import torch

    modules = _modules(init_neural_lm(vocab_size, contexts.shape[1], d_embed, d_hidden, seed), torch.float32)
    opt = torch.optim.Adam([w for m in modules for w in m.parameters()], lr=lr)
    y = torch.as_tensor(targets)
    losses = []
    for _ in range(steps):
        log_p = torch.log_softmax(_logits(modules, contexts), dim=-1)
        loss = -log_p[torch.arange(len(y)), y].mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    embed, hidden, out = modules
    weights = {"E": embed.weight, "W1": hidden.weight.T, "b1": hidden.bias, "W2": out.weight.T, "b2": out.bias}
    return {k: v.detach().numpy().astype(np.float64) for k, v in weights.items()}, losses
