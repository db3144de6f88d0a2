"""A correct inference exercise in another style: torch tensors throughout, per-channel
statistics by moving the channel axis first and flattening, the zero point as round((x -
lo) / scale) - 128 rearranged, the KV-cache step of the GPT with a loop over heads (each
head's columns cut from c_attn's thirds), torch's var_mean for the layer norms and an
additive -inf mask, speculative decoding with a running sum for the inverse CDF and the
acceptance test as u q < p, and the memory estimates from a table of matrix shapes."""

import math

import numpy as np
import torch

BITS = {"float32": 32, "float16": 16, "bfloat16": 16, "int8": 8, "int4": 4}


def _stats(c, axis, fn):
    c = torch.as_tensor(c)
    if axis is None:
        return fn(c.reshape(1, -1)).reshape(())
    front = torch.movedim(c, axis, 0).reshape(c.shape[axis], -1)
    shape = [1] * c.ndim
    shape[axis] = c.shape[axis]
    return fn(front).reshape(shape)


def quantize_absmax(x, axis=None, calib=None):
    x = torch.as_tensor(x)
    amax = _stats(x if calib is None else calib, axis, lambda m: m.abs().amax(dim=1))
    scale = torch.where(amax > 0, amax / 127, torch.ones_like(amax))
    return torch.clamp(torch.round(x / scale), -127, 127).to(torch.int8), scale


def quantize_zeropoint(x, axis=None, calib=None):
    x = torch.as_tensor(x)
    c = x if calib is None else calib
    lo = torch.clamp(_stats(c, axis, lambda m: m.amin(dim=1)), max=0)
    hi = torch.clamp(_stats(c, axis, lambda m: m.amax(dim=1)), min=0)
    scale = torch.where(hi > lo, (hi - lo) / 255, torch.ones_like(hi))
    zero_point = -128 - torch.round(lo / scale).to(torch.int64)
    q = torch.round(x / scale).to(torch.int64) + zero_point
    return torch.clamp(q, -128, 127).to(torch.int8), scale, zero_point


def dequantize(q, scale, zero_point=0):
    scale = torch.as_tensor(scale)
    shifted = torch.as_tensor(q).to(torch.int32) - torch.as_tensor(zero_point).to(torch.int32)
    return shifted.to(scale.dtype) * scale


def init_cache(n_layer, n_head, d_head):
    empty = np.zeros((n_layer, n_head, 0, d_head))
    return {"k": empty, "v": empty.copy()}


def layer_norm(x, gamma, beta, eps=1e-5):
    x = torch.as_tensor(x)
    var, mu = torch.var_mean(x, dim=-1, unbiased=False, keepdim=True)
    return (x - mu) * torch.rsqrt(var + eps) * torch.as_tensor(gamma) + torch.as_tensor(beta)


def gelu(x):
    x = torch.as_tensor(x)
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def lm_forward(p, tokens, n_layer, n_head):
    return kv_cache_step(
        p, tokens, init_cache(n_layer, n_head, p["wte"].shape[1] // n_head), 0, n_layer, n_head
    )[0]


def kv_cache_step(p, tokens, cache, start, n_layer, n_head):
    p = {k: torch.as_tensor(v) for k, v in p.items()}
    tokens = torch.as_tensor(np.asarray(tokens), dtype=torch.long)
    T, d = tokens.shape[0], p["wte"].shape[1]
    dh = d // n_head
    h = p["wte"][tokens] + p["wpe"][start + torch.arange(T)]
    total = start + T
    mask = torch.zeros(T, total, dtype=h.dtype)
    for i in range(T):
        mask[i, start + i + 1 :] = float("-inf")
    ks, vs = [], []
    for layer in range(n_layer):
        w = {name.split("_", 1)[1]: t for name, t in p.items() if name.startswith(f"h{layer}_")}
        a = layer_norm(h, w["ln_1_gamma"], w["ln_1_beta"])
        heads, layer_k, layer_v = [], [], []
        for head in range(n_head):
            # the head's columns inside each of c_attn's q, k and v thirds
            q, k, v = (
                a @ w["attn_c_attn_W"][:, part * d + head * dh : part * d + (head + 1) * dh]
                + w["attn_c_attn_b"][part * d + head * dh : part * d + (head + 1) * dh]
                for part in range(3)
            )
            k = torch.cat([torch.as_tensor(cache["k"][layer, head]).to(h.dtype), k])
            v = torch.cat([torch.as_tensor(cache["v"][layer, head]).to(h.dtype), v])
            weights = torch.softmax(q @ k.T / math.sqrt(dh) + mask, dim=-1)
            heads.append(weights @ v)
            layer_k.append(k)
            layer_v.append(v)
        ks.append(torch.stack(layer_k))
        vs.append(torch.stack(layer_v))
        h = h + torch.cat(heads, dim=-1) @ w["attn_c_proj_W"] + w["attn_c_proj_b"]
        m = gelu(layer_norm(h, w["ln_2_gamma"], w["ln_2_beta"]) @ w["mlp_c_fc_W"] + w["mlp_c_fc_b"])
        h = h + m @ w["mlp_c_proj_W"] + w["mlp_c_proj_b"]
    logits = layer_norm(h, p["ln_f_gamma"], p["ln_f_beta"]) @ p["wte"].T
    return logits, {"k": torch.stack(ks), "v": torch.stack(vs)}


def kv_cache_decode(p, prompt, max_new_tokens, n_layer, n_head):
    tokens = [int(t) for t in prompt]
    cache = init_cache(n_layer, n_head, p["wte"].shape[1] // n_head)
    pending, position = list(tokens), 0
    while len(tokens) < len(prompt) + max_new_tokens:
        logits, cache = kv_cache_step(p, pending, cache, position, n_layer, n_head)
        position += len(pending)
        pending = [int(torch.argmax(logits[-1]))]
        tokens += pending
    return tokens


def _draw(dist, v):
    running = 0.0
    for b, mass in enumerate(dist):
        running += float(mass)
        if running > v:
            return b
    return len(dist) - 1


def speculative_decode(P, Q, prev, n_rounds, gamma, u):
    tokens, accepted = [], []
    for r in range(n_rounds):
        draft = []
        for i in range(gamma):
            draft.append(_draw(Q[draft[-1] if draft else prev], u[r, i]))
        contexts = [prev] + draft
        n_ok = 0
        while (
            n_ok < gamma
            and u[r, gamma + n_ok] * Q[contexts[n_ok], draft[n_ok]] < P[contexts[n_ok], draft[n_ok]]
        ):
            n_ok += 1
        tokens += draft[:n_ok]
        ctx = contexts[n_ok]
        if n_ok < gamma:
            residual = [max(0.0, a - b) for a, b in zip(P[ctx], Q[ctx])]
            total = sum(residual)
            final = _draw([m / total for m in residual], u[r, 2 * gamma])
        else:
            final = _draw(P[ctx], u[r, 2 * gamma])
        tokens.append(final)
        accepted.append(n_ok)
        prev = final
    return np.array(tokens), np.array(accepted)


def model_memory(config, dtype):
    V, d, L, d_ff = config["vocab_size"], config["d_model"], config["n_layers"], config["d_ff"]
    kv = config["n_kv_heads"] * d // config["n_heads"]
    shapes = [(V, d), (d,)] + L * [
        (d, d),
        (d, kv),
        (d, kv),
        (d, d),
        (d, d_ff),
        (d, d_ff),
        (d_ff, d),
        (d,),
        (d,),
    ]
    if not config["tie_embeddings"]:
        shapes.append((d, V))
    params = sum(math.prod(s) for s in shapes)
    return math.ceil(params * BITS[dtype] / 8)


def kv_cache_memory(config, seq_len, batch, dtype):
    per_token = (
        2 * config["n_layers"] * config["n_kv_heads"] * (config["d_model"] // config["n_heads"])
    )
    return math.ceil(per_token * seq_len * batch * BITS[dtype] / 8)
