"""# GPT: causal self-attention, pre-LN blocks, tied embeddings, parameter counts, generation

A GPT (Radford et al. 2018; GPT-2, 2019) is a stack of Transformer *decoder* blocks
without cross-attention, trained to predict the next token. Its pieces, in GPT-2's layout:

**Causal self-attention** on x (N, T, d) with H heads of d_head = d / H. One fused
projection gives queries, keys and values at once, as GPT-2's `c_attn`:

    qkv = x @ c_attn_W + c_attn_b          c_attn_W (d, 3d), c_attn_b (3d,)
    q, k, v = qkv[..., :d], qkv[..., d:2d], qkv[..., 2d:]     in that order: q, k, v

each reshaped (N, T, H, d_head) then transposed to (N, H, T, d_head). Per head,
weights = softmax(q k^T / sqrt(d_head) + causal mask) over the keys, and
out = merge_heads(weights @ v) @ c_proj_W + c_proj_b (c_proj_W (d, d)). The causal mask
is boolean, **True = attend**: query i may see key j when j <= i (np.tril), as in Phase 5
and `F.scaled_dot_product_attention`; a masked key gets weight exactly 0.

**GELU**, GPT-2's **tanh approximation** (Hendrycks & Gimpel 2016):

    gelu(x) = 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))

`torch.nn.functional.gelu(x, approximate="tanh")`. The exact form 0.5 x (1 + erf(x / sqrt 2))
(PyTorch's default, BERT's) differs by up to ~5e-4: another convention, not this one.

**The block, pre-LN** (GPT-2; GPT-1 was post-LN):

    x = x + attn(ln_1(x))
    x = x + mlp(ln_2(x)),    mlp(h) = gelu(h @ c_fc_W + c_fc_b) @ c_proj_W + c_proj_b

with the hidden width 4d (c_fc_W (d, 4d), c_proj_W (4d, d)). Layer norms over the last
axis, biased variance, eps = 1e-5 inside the root (`layer_norm` is given).

**The model**: tokens idx (N, T) -> h = wte[idx] + wpe[0..T-1] (token and *learned*
position embeddings, wte (V, d), wpe (n_ctx, d)) -> n_layer blocks -> ln_f ->
logits = h @ wte^T (N, T, V). The output layer is **tied** to the input embedding: it
has no weights of its own (and no bias). T may not exceed n_ctx, the rows of wpe.

**Parameters** (GPT-2 small: n_layer 12, n_head 12, d 768, V 50257, n_ctx 1024): wte V d,
wpe n_ctx d, per block 12 d^2 + 13 d (ln_1 and ln_2 2d each, c_attn 3d^2 + 3d, attn
c_proj d^2 + d, c_fc 4d^2 + 4d, mlp c_proj 4d^2 + d), ln_f 2d: 124,439,808 in all. An
untied output layer (tie_embeddings False) adds its own V d weights, no bias.

**Generation** (greedy): repeat max_new_tokens times: keep only the last n_ctx tokens
(the model has no position embedding beyond its context), run the model, append the
argmax of the last position's logits (the lowest id on a tie); stop right after
appending eos_id.

**Training**: windows of T + 1 tokens of the token stream; inputs w[:-1], targets w[1:]
(the next token); the loss is the mean cross-entropy over every position; one new batch
of windows per Adam step. The grader trains yours (d 32, one layer, 2 heads) on 80
batches of 16 windows of a generated English-like corpus (`nnfs_cli.corpus`, word-level,
`<eos>` after each sentence) and wants a held-out loss below 2.6 nats (a unigram model:
3.64; the reference: ~2.3).

## Conventions this exercise holds (the grader checks each)

- Batch first, (N, T, d); linear weights **(in, out)**, `x @ W + b`, as GPT-2's `Conv1D`
  stores them (`nn.Linear` stores (out, in): the grader transposes when it copies).
- Parameters are dicts of arrays named as `init_gpt` names them ("wte", "wpe",
  "h{l}_ln_1_gamma", "h{l}_attn_c_attn_W", ..., "ln_f_gamma", "ln_f_beta").
- Masks: True = attend. Tokens are integer ids.
- You may compute with **torch tensors and autograd** (`torch.as_tensor(a)` takes a NumPy
  array or a tensor; a tensor you return reaches the grader as an array), but not with
  the modules that do the job: `nn.MultiheadAttention`, `nn.Transformer*`,
  `F.scaled_dot_product_attention`, the `transformers` library are refused.
- Never modify an input in place.

Read: Radford et al. (2019), "Language models are unsupervised multitask learners"
(GPT-2, section 2.3: pre-LN, 1/sqrt(N) residual init); Press & Wolf (2017), "Using the
output embedding to improve language models" (tying); Karpathy's nanoGPT `model.py`.
"""

import math

import numpy as np
import torch


def layer_norm(x, gamma, beta, eps: float = 1e-5):
    """Given: layer normalization over the last axis (biased variance, eps inside the root).

    x: (..., d) array or tensor; gamma, beta: (d,). Returns y shaped like x.
    """
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / (var + eps) ** 0.5 * gamma + beta


def causal_self_attention(x, p: dict, n_head: int):
    """Masked multi-head self-attention with GPT-2's fused q, k, v projection.

    x: (N, T, d); p: "c_attn_W" (d, 3d), "c_attn_b" (3d,) (columns q, then k, then v),
    "c_proj_W" (d, d), "c_proj_b" (d,); n_head divides d. Returns (out (N, T, d),
    weights (N, n_head, T, T)), weights[..., i, j] = 0 for every key j > i.
    """
    # YOUR CODE HERE
    raise NotImplementedError("gpt: implement causal_self_attention")


def gelu(x):
    """GELU, GPT-2's tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    x: any shape (array or tensor). Returns the same shape.
    """
    # YOUR CODE HERE
    raise NotImplementedError("gpt: implement gelu")


def gpt_block(x, p: dict, n_head: int):
    """One pre-LN GPT-2 block: x + attn(ln_1(x)), then x + mlp(ln_2(x)).

    x: (N, T, d); p: "ln_1_gamma", "ln_1_beta", "attn_c_attn_W" (d, 3d), "attn_c_attn_b",
    "attn_c_proj_W" (d, d), "attn_c_proj_b", "ln_2_gamma", "ln_2_beta", "mlp_c_fc_W"
    (d, 4d), "mlp_c_fc_b", "mlp_c_proj_W" (4d, d), "mlp_c_proj_b". Returns (N, T, d).
    """
    # YOUR CODE HERE
    raise NotImplementedError("gpt: implement gpt_block")


def init_gpt(vocab_size: int, n_ctx: int, n_embd: int, n_layer: int, seed: int) -> dict[str, np.ndarray]:
    """Given: GPT-2's initialisation, float64, seeded; every name the model uses.

    "wte" (V, d), "wpe" (n_ctx, d), "h{l}_" + gpt_block's names for l < n_layer,
    "ln_f_gamma", "ln_f_beta" (d,). Weights ~ N(0, 0.02^2), the residual projections
    (c_proj) ~ N(0, (0.02 / sqrt(2 n_layer))^2), biases 0, gammas 1, betas 0.
    """
    rng = np.random.default_rng(seed)
    d = n_embd
    p = {"wte": rng.normal(0, 0.02, (vocab_size, d)), "wpe": rng.normal(0, 0.02, (n_ctx, d))}
    shapes = {"attn_c_attn": (d, 3 * d), "attn_c_proj": (d, d), "mlp_c_fc": (d, 4 * d), "mlp_c_proj": (4 * d, d)}
    for layer in range(n_layer):
        h = f"h{layer}_"
        for norm in ("ln_1", "ln_2"):
            p[h + norm + "_gamma"], p[h + norm + "_beta"] = np.ones(d), np.zeros(d)
        for name, shape in shapes.items():
            std = 0.02 / math.sqrt(2 * n_layer) if name.endswith("c_proj") else 0.02
            p[h + name + "_W"], p[h + name + "_b"] = rng.normal(0, std, shape), np.zeros(shape[1])
    return p | {"ln_f_gamma": np.ones(d), "ln_f_beta": np.zeros(d)}


def gpt_forward(p: dict, idx, n_layer: int, n_head: int):
    """The logits of a GPT for every position.

    p: as init_gpt; idx: (N, T) int tokens, T <= n_ctx = p["wpe"].shape[0]. Returns
    logits (N, T, V): wte[idx] + wpe[:T] -> n_layer gpt_blocks -> ln_f -> @ wte^T (tied).
    """
    # YOUR CODE HERE
    raise NotImplementedError("gpt: implement gpt_forward")


def count_parameters(config: dict) -> int:
    """The number of trainable parameters of a GPT-2 model.

    config: "vocab_size", "n_ctx", "n_embd", "n_layer", "n_head", "tie_embeddings" (bool:
    the output layer is wte itself; else it has its own (d, V) weights, no bias).
    Returns an int (GPT-2 small: 124,439,808).
    """
    # YOUR CODE HERE
    raise NotImplementedError("gpt: implement count_parameters")


def generate(p: dict, prompt, n_layer: int, n_head: int, n_ctx: int, max_new_tokens: int, eos_id: int) -> list[int]:
    """Greedy generation with a context window.

    p: as init_gpt; prompt: a 1-D sequence of token ids (may be longer than n_ctx);
    n_ctx <= p["wpe"].shape[0]: the model sees at most the last n_ctx tokens. Appends the
    argmax of the last position's logits (lowest id on a tie) up to max_new_tokens times,
    stopping right after eos_id. Returns the prompt followed by the new tokens (a list of int).
    """
    # YOUR CODE HERE
    raise NotImplementedError("gpt: implement generate")


def train_gpt(
    batches: np.ndarray, vocab_size: int, n_embd: int, n_layer: int, n_head: int, lr: float, seed: int
) -> tuple[dict[str, np.ndarray], list[float]]:
    """Train a GPT from init_gpt(vocab_size, T, n_embd, n_layer, seed) on next-token prediction.

    batches: (S, B, T + 1) int tokens, one batch of B windows per step (S steps); for a
    window w, inputs w[:-1] and targets w[1:]. Step s: the mean cross-entropy of
    gpt_forward's logits on batches[s] over all B T positions, then one Adam step
    (torch.optim.Adam(lr=lr) is fine). Returns (the trained parameters as NumPy arrays,
    the loss of each step's batch before its update: a list of S floats).
    """
    # YOUR CODE HERE
    raise NotImplementedError("gpt: implement train_gpt")
