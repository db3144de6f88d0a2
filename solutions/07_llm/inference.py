"""# Inference: int8 quantization, KV-cache decoding, speculative decoding, memory estimates

Serving a language model is bounded by memory: the weights, and for every sequence the
keys and values of every past token. Four tools make it cheaper.

**int8 quantization** stores x as integers q and a float scale (and a zero point z):
x ~ dequantize(q) = (q - z) * scale. Two schemes (Dettmers et al. 2022, "LLM.int8()";
Jacob et al. 2018, "Quantization and training of neural networks for efficient
integer-arithmetic-only inference"):

- **absmax** (symmetric, z = 0): scale = max|x| / 127, q = clamp(round(x / scale), -127, 127).
- **zero-point** (asymmetric): the range [lo, hi] = [min(min x, 0), max(max x, 0)] (widened
  to include 0, as PyTorch's observers do, so that 0 is exactly representable: padding, a
  ReLU's zeros) maps onto [-128, 127]: scale = (hi - lo) / 255, z = -128 - round(lo / scale)
  (an integer in [-128, 127]), q = clamp(round(x / scale) + z, -128, 127).

round is to the nearest integer (np.round / torch.round; the grader's inputs have no exact
.5 ties), never truncation (astype(int8) truncates toward 0). A zero range (all zeros)
gets scale 1. **Per-tensor**: one scale (and z) for the whole array, returned as 0-d
arrays. **Per-channel** along `axis`: one scale per index along `axis`, the statistics taken
over every *other* axis; scale and z keep x's number of dimensions with size 1 on the
reduced axes (`keepdims=True`), so `(q - z) * scale` broadcasts. A Linear weight W (out, in)
quantized with axis=0 has one scale per output row, shape (out, 1).
The statistics come from `calib` when it is given (calibration data: same number of
dimensions, same size along `axis`), else from x itself; values of x outside the calibrated
range are **clamped**. Bound: for x inside the range, |dequantize(q) - x| <= scale / 2 per
element (the rounding error); outside it the error is the clamped distance.
q is **int8**; scale has x's float dtype; z is an integer array (int64). Compute (q - z) in
a wide integer or float type: int8 arithmetic wraps (100 - (-100) = -56 in int8).

**KV cache** on the GPT you built in the gpt topic (GPT-2's layout and parameter names;
`lm_forward`, `layer_norm` and `gelu` given): tokens (T,) -> h = wte[tokens] +
wpe[start .. start + T - 1] -> n_layer pre-LN blocks -> logits ln_f(h) @ wte^T (T, V). Block
l (its parameters are named "h{l}_" + the name below): a = ln_1(h); q, k, v = the three d
columns of a @ attn_c_attn_W + attn_c_attn_b (q first, then k, then v), each split into
n_head heads of d_head = d / n_head; h = h + attention @ attn_c_proj_W + attn_c_proj_b;
h = h + gelu(ln_2(h) @ mlp_c_fc_W + mlp_c_fc_b) @ mlp_c_proj_W + mlp_c_proj_b. Weights are
(in, out); query i sees key j when j <= i; scores / sqrt(d_head). A layer's keys and values
of past tokens never change, so decoding keeps them: the cache is
{"k": (n_layer, n_head, t, d_head), "v": same} for the t tokens seen so far (t = 0: empty).
`kv_cache_step` takes only the NEW tokens and their first position `start` (= t, the
number of cached tokens), **appends their keys and values to the cache first, then**
attends each new query over all t + T_new keys (so a token sees itself), with the causal
mask shifted by start: new token i (position start + i) sees key j when j <= start + i.
The layer norms and the MLP act on each position alone, so they need no cache. Its logits
equal `lm_forward` of the whole sequence at those positions.

**Speculative decoding** (Leviathan et al. 2023; Chen et al. 2023): a cheap draft model q
proposes gamma tokens, the target p checks them. Here both are bigram tables P, Q (V, V),
P[a, b] = p(next = b | previous = a). A round from the last token `prev`: draft
x_1..x_gamma from Q one after the other; then for i = 1..gamma accept x_i when
u < p(x_i) / q(x_i) (probability min(1, p/q)), p and q taken at x_i's own context (the
previous token, x_{i-1} or prev); at the first rejection emit a token from the **normalised
residual** max(0, p - q) / sum(max(0, p - q)) at that context and end the round; when all
gamma are accepted emit a **bonus token** from p at the context x_gamma. A round emits
accepted + 1 tokens, and every token is distributed exactly as the target's p (the draft
only changes the speed).
Randomness is given, so the result is exact: u (n_rounds, 2 gamma + 1), round r uses
u[r, i] to draw x_{i+1}, u[r, gamma + i] to test x_{i+1}, u[r, 2 gamma] for the emitted
residual or bonus token. Drawing token b from a distribution d with a uniform v is the
inverse CDF: the smallest b with cumsum(d)[b] > v (the last token if rounding leaves none).

**Memory** of a LLaMA-style model (RMSNorm, no biases, SwiGLU MLP, grouped-query attention):
parameters = V d (embedding) + n_layers (d d (Wq) + 2 d n_kv_heads d_head (Wk, Wv) + d d (Wo)
+ 3 d d_ff (SwiGLU's gate, up, down) + 2 d (two RMSNorms)) + d (final norm) + V d (the
output layer, unless tied to the embedding), with d_head = d / n_heads; bytes = parameters
times the bytes of the dtype (float32 4, float16 and bfloat16 2, int8 1, int4 1/2, rounded
up to whole bytes). KV cache bytes = 2 (keys and values) n_layers n_kv_heads d_head seq_len
batch bytes. LLaMA-2-7B has 6,738,415,616 parameters (13.5 GB in float16) and its cache
for 4096 tokens is 2 GiB in float16.

## Conventions this exercise holds (the grader checks each)
- q int8; absmax clamps to [-127, 127], zero-point to [-128, 127]; per-channel shapes keepdims.
- Weights (in, out), `x @ W`; c_attn's 3d columns are q, then k, then v (GPT-2's); the
  output layer is wte itself (tied); the cache's layout (n_layer, n_head, t, d_head).
- Greedy decoding takes the argmax of the last logits (the lowest id on a tie).
- NumPy or torch tensors (a returned tensor reaches the grader as an array); not the
  modules that do the exercise's job (torch's quantize_per_tensor / per_channel,
  torch.ao, scaled_dot_product_attention, nn.MultiheadAttention, transformers).
- Never modify an input in place (the cache included: return a new one).

Read: Dettmers et al. (2022) LLM.int8(); Radford et al. (2019) GPT-2 (the layout); Pope
et al. (2022) "Efficiently scaling Transformer inference" (the KV cache and its memory);
Leviathan, Kalman & Matias (2023) "Fast inference from Transformers via speculative
decoding" (Algorithm 1, Theorem 3.5); Ainslie et al. (2023) GQA; Touvron et al. (2023)
LLaMA 2.
"""

import math

import numpy as np


def quantize_absmax(x, axis: int | None = None, calib=None):
    """Symmetric int8 quantization: scale = max|c| / 127, q = clamp(round(x / scale), -127, 127).

    x: any shape, float; axis: None (per-tensor) or the channel axis; calib: None or the
    calibration array c (default x). Returns (q int8 shaped like x, scale): scale 0-d for
    per-tensor, keepdims shape (size 1 except along axis) per-channel; scale 1 where max|c| = 0.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x)
    c = x if calib is None else np.asarray(calib)
    others = None if axis is None else tuple(i for i in range(c.ndim) if i != axis % c.ndim)
    amax = np.abs(c).max(axis=others, keepdims=axis is not None)
    scale = amax / 127 + (amax == 0)
    q = np.clip(np.round(x / scale), -127, 127).astype(np.int8)
    return q, scale
    ### END SOLUTION


def quantize_zeropoint(x, axis: int | None = None, calib=None):
    """Asymmetric int8 quantization of the range [min(min c, 0), max(max c, 0)] onto [-128, 127].

    scale = (hi - lo) / 255, z = -128 - round(lo / scale), q = clamp(round(x / scale) + z,
    -128, 127). Shapes as quantize_absmax. Returns (q int8, scale, zero_point int64);
    scale 1 where hi = lo.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x)
    c = x if calib is None else np.asarray(calib)
    others = None if axis is None else tuple(i for i in range(c.ndim) if i != axis % c.ndim)
    lo = np.minimum(c.min(axis=others, keepdims=axis is not None), 0)
    hi = np.maximum(c.max(axis=others, keepdims=axis is not None), 0)
    scale = (hi - lo) / 255
    scale = scale + (scale == 0)
    zero_point = (-128 - np.round(lo / scale)).astype(np.int64)
    q = np.clip(np.round(x / scale) + zero_point, -128, 127).astype(np.int8)
    return q, scale, zero_point
    ### END SOLUTION


def dequantize(q, scale, zero_point=0):
    """x_hat = (q - zero_point) * scale, in scale's float dtype.

    q: int8, any shape; scale, zero_point: 0-d or broadcastable to q (zero_point any integer
    dtype, int8 included). Returns x_hat shaped like q.
    """
    ### BEGIN SOLUTION
    scale = np.asarray(scale)
    diff = np.asarray(q).astype(np.int64) - np.asarray(zero_point).astype(np.int64)
    return diff.astype(scale.dtype) * scale
    ### END SOLUTION


def init_cache(n_layer: int, n_head: int, d_head: int) -> dict[str, np.ndarray]:
    """Given: an empty KV cache, {"k", "v"} each (n_layer, n_head, 0, d_head), float64."""
    empty = np.zeros((n_layer, n_head, 0, d_head))
    return {"k": empty, "v": empty.copy()}


def layer_norm(x, gamma, beta, eps: float = 1e-5):
    """Given (as in the gpt topic): layer normalization over the last axis (biased
    variance, eps inside the root). x: (..., d); gamma, beta: (d,)."""
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / (var + eps) ** 0.5 * gamma + beta


def gelu(x):
    """Given (as in the gpt topic): GPT-2's tanh approximation of GELU, any shape."""
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def lm_forward(p: dict, tokens, n_layer: int, n_head: int):
    """Given: the full forward of the GPT (the recomputation a cache must match).

    p: the gpt topic's names: "wte" (V, d), "wpe" (n_ctx, d), "h{l}_ln_1_gamma",
    "h{l}_ln_1_beta", "h{l}_attn_c_attn_W" (d, 3d), "h{l}_attn_c_attn_b",
    "h{l}_attn_c_proj_W" (d, d), "h{l}_attn_c_proj_b", "h{l}_ln_2_gamma", "h{l}_ln_2_beta",
    "h{l}_mlp_c_fc_W" (d, 4d), "h{l}_mlp_c_fc_b", "h{l}_mlp_c_proj_W" (4d, d),
    "h{l}_mlp_c_proj_b" for l < n_layer, "ln_f_gamma", "ln_f_beta"; tokens (T,) ints,
    T <= n_ctx. Returns logits (T, V).
    """
    tokens = np.asarray(tokens, dtype=np.int64)
    T, d = len(tokens), p["wte"].shape[1]
    dh = d // n_head
    h = p["wte"][tokens] + p["wpe"][:T]
    future = ~np.tril(np.ones((T, T), dtype=bool))
    for layer in range(n_layer):
        w = {name[len(f"h{layer}_") :]: v for name, v in p.items() if name.startswith(f"h{layer}_")}
        qkv = layer_norm(h, w["ln_1_gamma"], w["ln_1_beta"]) @ w["attn_c_attn_W"] + w["attn_c_attn_b"]
        q, k, v = (qkv[:, i * d : (i + 1) * d].reshape(T, n_head, dh).transpose(1, 0, 2) for i in range(3))
        scores = np.where(future, -np.inf, q @ k.transpose(0, 2, 1) / math.sqrt(dh))
        weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
        weights /= weights.sum(axis=-1, keepdims=True)
        h = h + (weights @ v).transpose(1, 0, 2).reshape(T, d) @ w["attn_c_proj_W"] + w["attn_c_proj_b"]
        hidden = gelu(layer_norm(h, w["ln_2_gamma"], w["ln_2_beta"]) @ w["mlp_c_fc_W"] + w["mlp_c_fc_b"])
        h = h + hidden @ w["mlp_c_proj_W"] + w["mlp_c_proj_b"]
    return layer_norm(h, p["ln_f_gamma"], p["ln_f_beta"]) @ p["wte"].T


def kv_cache_step(p: dict, tokens, cache: dict, start: int, n_layer: int, n_head: int):
    """Run the NEW tokens (T_new,) at positions start .. start + T_new - 1 against the cache.

    p: as lm_forward; cache: {"k", "v"} (n_layer, n_head, start, d_head). Appends the new
    keys and values, then attends (causal, shifted by start). Returns (logits (T_new, V),
    the new cache with start + T_new positions). The cache given is not modified.
    """
    ### BEGIN SOLUTION
    tokens = np.asarray(tokens, dtype=np.int64)
    T, d = len(tokens), p["wte"].shape[1]
    dh = d // n_head
    h = p["wte"][tokens] + p["wpe"][start : start + T]
    past = cache["k"].shape[2]  # = start; the mask counts keys, the position table positions
    keep = np.arange(past + T)[None, :] <= past + np.arange(T)[:, None]
    keys, values = [], []
    for layer in range(n_layer):
        w = {name[len(f"h{layer}_") :]: v for name, v in p.items() if name.startswith(f"h{layer}_")}
        qkv = layer_norm(h, w["ln_1_gamma"], w["ln_1_beta"]) @ w["attn_c_attn_W"] + w["attn_c_attn_b"]
        q, k, v = (qkv[:, i * d : (i + 1) * d].reshape(T, n_head, dh).transpose(1, 0, 2) for i in range(3))
        k = np.concatenate([cache["k"][layer], k], axis=1)
        v = np.concatenate([cache["v"][layer], v], axis=1)
        keys.append(k)
        values.append(v)
        scores = np.where(keep, q @ k.transpose(0, 2, 1) / math.sqrt(dh), -np.inf)
        weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
        weights /= weights.sum(axis=-1, keepdims=True)
        h = h + (weights @ v).transpose(1, 0, 2).reshape(T, d) @ w["attn_c_proj_W"] + w["attn_c_proj_b"]
        hidden = gelu(layer_norm(h, w["ln_2_gamma"], w["ln_2_beta"]) @ w["mlp_c_fc_W"] + w["mlp_c_fc_b"])
        h = h + hidden @ w["mlp_c_proj_W"] + w["mlp_c_proj_b"]
    logits = layer_norm(h, p["ln_f_gamma"], p["ln_f_beta"]) @ p["wte"].T
    return logits, {"k": np.stack(keys), "v": np.stack(values)}
    ### END SOLUTION


def kv_cache_decode(p: dict, prompt, max_new_tokens: int, n_layer: int, n_head: int) -> list[int]:
    """Greedy decoding with the KV cache: the prompt in one kv_cache_step, then one token a step.

    prompt: (T0,) ints, T0 >= 1, T0 + max_new_tokens <= n_ctx. Returns prompt + the
    max_new_tokens argmax tokens (ints), the same as recomputing lm_forward every step.
    """
    ### BEGIN SOLUTION
    d_head = p["wte"].shape[1] // n_head
    tokens = [int(t) for t in prompt]
    logits, cache = kv_cache_step(
        p, tokens, init_cache(n_layer, n_head, d_head), 0, n_layer, n_head
    )
    for step in range(max_new_tokens):
        tokens.append(int(np.argmax(np.asarray(logits)[-1])))
        if step + 1 < max_new_tokens:
            logits, cache = kv_cache_step(p, tokens[-1:], cache, len(tokens) - 1, n_layer, n_head)
    return tokens
    ### END SOLUTION


def speculative_decode(P, Q, prev: int, n_rounds: int, gamma: int, u):
    """n_rounds rounds of speculative decoding with target P and draft Q (V, V) bigram tables.

    prev: the last token before the first round; u (n_rounds, 2 gamma + 1) uniforms in
    [0, 1), used as the lesson says. Returns (tokens (sum(accepted) + n_rounds,) ints, the
    emitted tokens in order; accepted (n_rounds,) ints, the draft tokens accepted per round).
    """
    ### BEGIN SOLUTION
    P, Q, u = np.asarray(P), np.asarray(Q), np.asarray(u)
    V = P.shape[1]
    tokens, accepted = [], np.zeros(n_rounds, dtype=np.int64)
    for r in range(n_rounds):
        draft, ctx = [], prev
        for i in range(gamma):
            ctx = min(int(np.searchsorted(np.cumsum(Q[ctx]), u[r, i], side="right")), V - 1)
            draft.append(ctx)
        ctx = prev
        for x in draft:
            if u[r, gamma + accepted[r]] < P[ctx, x] / Q[ctx, x]:
                tokens.append(x)
                accepted[r] += 1
                ctx = x
            else:
                dist = np.maximum(P[ctx] - Q[ctx], 0)
                dist = dist / dist.sum()
                break
        else:
            dist = P[ctx]
        tokens.append(
            min(int(np.searchsorted(np.cumsum(dist), u[r, 2 * gamma], side="right")), V - 1)
        )
        prev = tokens[-1]
    return np.array(tokens, dtype=np.int64), accepted
    ### END SOLUTION


def model_memory(config: dict, dtype: str) -> int:
    """Bytes of a LLaMA-style model's parameters in `dtype`.

    config: "vocab_size", "d_model", "n_layers", "n_heads", "n_kv_heads", "d_ff",
    "tie_embeddings" (bool); dtype: "float32", "float16", "bfloat16", "int8" or "int4".
    Returns an int (bytes, rounded up).
    """
    ### BEGIN SOLUTION
    bits = {"float32": 32, "float16": 16, "bfloat16": 16, "int8": 8, "int4": 4}[dtype]
    V, d, L = config["vocab_size"], config["d_model"], config["n_layers"]
    kv = config["n_kv_heads"] * (d // config["n_heads"])
    layer = 2 * d * d + 2 * d * kv + 3 * d * config["d_ff"] + 2 * d
    params = V * d + L * layer + d + (0 if config["tie_embeddings"] else V * d)
    return int(-(-params * bits // 8))
    ### END SOLUTION


def kv_cache_memory(config: dict, seq_len: int, batch: int, dtype: str) -> int:
    """Bytes of the KV cache: 2 n_layers n_kv_heads d_head seq_len batch bytes(dtype).

    config as model_memory's (d_head = d_model / n_heads). Returns an int (bytes, rounded up).
    """
    ### BEGIN SOLUTION
    bits = {"float32": 32, "float16": 16, "bfloat16": 16, "int8": 8, "int4": 4}[dtype]
    d_head = config["d_model"] // config["n_heads"]
    values = 2 * config["n_layers"] * config["n_kv_heads"] * d_head * seq_len * batch
    return int(-(-values * bits // 8))
    ### END SOLUTION
