"""A correct GPT in another style: attention with a loop over heads (column slices of
c_attn, an explicit additive -inf mask, a hand-written stable softmax), the GELU through
the identity 0.5 (1 + tanh(u)) = sigmoid(2u), parameters counted from a table of shapes,
generation with a while loop, the given initialisation as a table of draws, and training in float32 with
torch.optim.Adam and log_softmax for the loss."""

import math

import numpy as np
import torch


def layer_norm(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / (var + eps) ** 0.5 * gamma + beta


def causal_self_attention(x, p, n_head):
    x = torch.as_tensor(x)
    W, b = torch.as_tensor(p["c_attn_W"]), torch.as_tensor(p["c_attn_b"])
    N, T, d = x.shape
    dh = d // n_head
    future = torch.triu(torch.full((T, T), float("-inf"), dtype=x.dtype), diagonal=1)
    outs, weights = [], []
    for h in range(n_head):
        cols = [slice(part * d + h * dh, part * d + (h + 1) * dh) for part in range(3)]
        q, k, v = (x @ W[:, c] + b[c] for c in cols)
        s = torch.einsum("nid,njd->nij", q, k) / math.sqrt(dh) + future
        e = torch.exp(s - s.max(dim=-1, keepdim=True).values)
        a = e / e.sum(dim=-1, keepdim=True)
        weights.append(a)
        outs.append(a @ v)
    out = torch.cat(outs, dim=-1) @ torch.as_tensor(p["c_proj_W"]) + torch.as_tensor(p["c_proj_b"])
    return out, torch.stack(weights, dim=1)


def gelu(x):
    x = torch.as_tensor(x)
    return x * torch.sigmoid(2 * math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x))


def gpt_block(x, p, n_head):
    t = {k: torch.as_tensor(v) for k, v in p.items()}
    x = torch.as_tensor(x)
    h = layer_norm(x, t["ln_1_gamma"], t["ln_1_beta"])
    x = x + causal_self_attention(h, {k[5:]: v for k, v in t.items() if k.startswith("attn_")}, n_head)[0]
    h = layer_norm(x, t["ln_2_gamma"], t["ln_2_beta"])
    return x + gelu(h @ t["mlp_c_fc_W"] + t["mlp_c_fc_b"]) @ t["mlp_c_proj_W"] + t["mlp_c_proj_b"]


def init_gpt(vocab_size, n_ctx, n_embd, n_layer, seed):
    # the given initialisation, restyled as a table of draws (same order, same numbers)
    rng = np.random.default_rng(seed)
    d, residual = n_embd, 0.02 / math.sqrt(2 * n_layer)
    table = [("wte", (vocab_size, d), 0.02), ("wpe", (n_ctx, d), 0.02)]
    for layer in range(n_layer):
        table += [(f"h{layer}_attn_c_attn", (d, 3 * d), 0.02), (f"h{layer}_attn_c_proj", (d, d), residual),
                  (f"h{layer}_mlp_c_fc", (d, 4 * d), 0.02), (f"h{layer}_mlp_c_proj", (4 * d, d), residual)]
    p = {}
    for name, shape, std in table:
        linear = name not in ("wte", "wpe")
        p[name + "_W" if linear else name] = rng.normal(0, std, shape)
        if linear:
            p[name + "_b"] = np.zeros(shape[1])
    norms = [f"h{layer}_ln_{i}" for layer in range(n_layer) for i in (1, 2)] + ["ln_f"]
    return p | {f"{n}_gamma": np.ones(d) for n in norms} | {f"{n}_beta": np.zeros(d) for n in norms}


def gpt_forward(p, idx, n_layer, n_head):
    t = {k: torch.as_tensor(v) for k, v in p.items()}
    idx = torch.as_tensor(np.asarray(idx), dtype=torch.long)
    x = torch.nn.functional.embedding(idx, t["wte"]) + t["wpe"][torch.arange(idx.shape[1])]
    for layer in range(n_layer):
        x = gpt_block(x, {k.split("_", 1)[1]: v for k, v in t.items() if k.startswith(f"h{layer}_")}, n_head)
    return torch.einsum("ntd,vd->ntv", layer_norm(x, t["ln_f_gamma"], t["ln_f_beta"]), t["wte"])


def count_parameters(config):
    V, T, d, L = (config[k] for k in ("vocab_size", "n_ctx", "n_embd", "n_layer"))
    per_block = [(d,), (d,), (d, 3 * d), (3 * d,), (d, d), (d,), (d,), (d,), (d, 4 * d), (4 * d,), (4 * d, d), (d,)]
    shapes = [(V, d), (T, d)] + per_block * L + [(d,), (d,)]
    if not config["tie_embeddings"]:
        shapes.append((d, V))
    return sum(math.prod(s) for s in shapes)


def generate(p, prompt, n_layer, n_head, n_ctx, max_new_tokens, eos_id):
    out = list(map(int, prompt))
    new = 0
    while new < max_new_tokens:
        with torch.no_grad():
            logits = gpt_forward(p, np.array([out[max(0, len(out) - n_ctx):]]), n_layer, n_head)
        out.append(int(np.argmax(logits[0, -1].numpy())))
        new += 1
        if out[-1] == eos_id:
            break
    return out


def train_gpt(batches, vocab_size, n_embd, n_layer, n_head, lr, seed):
    batches = np.asarray(batches)
    init = init_gpt(vocab_size, batches.shape[2] - 1, n_embd, n_layer, seed)
    params = {k: torch.tensor(v, dtype=torch.float32, requires_grad=True) for k, v in init.items()}
    opt = torch.optim.Adam(params.values(), lr=lr)
    losses = []
    for batch in torch.as_tensor(batches, dtype=torch.long):
        logits = gpt_forward(params, batch[:, :-1], n_layer, n_head)
        logp = torch.log_softmax(logits, dim=-1)
        loss = -logp.gather(-1, batch[:, 1:, None]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return {k: q.detach().numpy().astype(np.float64) for k, q in params.items()}, losses
