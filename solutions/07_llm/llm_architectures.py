"""# Modern LLM architectures: RMSNorm, SwiGLU, rotary embeddings, grouped-query attention, mixture of experts, retrieval, patch embeddings

The GPT-2 block of Phase 6 became, in LLaMA (Touvron et al. 2023), Mistral and their
descendants, a block with four changed parts; a fifth, mixture of experts, replaces the
MLP in Switch Transformer, Mixtral and DeepSeek. Every array has its features last.

**RMSNorm** (Zhang & Sennrich 2019) drops LayerNorm's mean and bias: over the last axis,

    rms(x) = sqrt(mean(x^2) + eps)          (eps INSIDE the root, eps = 1e-6 by default)
    y = x / rms(x) * gamma                  x (..., d), gamma (d,)

`rms_norm_backward` is its gradient by hand: with g = dy * gamma and xhat = x / rms(x),

    dx = (g - xhat * mean(g * xhat)) / rms(x)      dgamma = sum of dy * xhat over every axis but the last

**SwiGLU** (Shazeer 2020), LLaMA's MLP, with weights **(in, out)** and no biases:

    swiglu(x) = (silu(x @ W1) * (x @ W3)) @ W2,     silu(z) = z * sigmoid(z)
    W1 (d, h) the gate (the branch that goes through SiLU), W3 (d, h) the up projection,
    W2 (h, d) the down projection: LLaMA's w1, w3, w2 (HF's gate_proj, up_proj, down_proj)

**Rotary position embeddings** (RoPE, Su et al. 2021, "RoFormer") rotate pairs of
features by an angle proportional to the position, so that a rotated query and key have a
dot product that depends only on their *offset*. For x (..., T, d), d even, position
p = offset + t of row t, and frequencies theta_i = base^(-2i / d) for i < d/2:

    angle = p * theta_i
    out[..., i]       = x[..., i] cos(angle) - x[..., i + d/2] sin(angle)
    out[..., i + d/2] = x[..., i + d/2] cos(angle) + x[..., i] sin(angle)

This is the **half-split** pairing (feature i with feature i + d/2) of GPT-NeoX and
Hugging Face's LLaMA: out = x cos + rotate_half(x) sin with rotate_half(x) = [-x2, x1].
RoFormer and Meta's original LLaMA pair *adjacent* features (2i, 2i + 1) instead (the
**interleaved** pairing): the same rotation on a permuted feature order, not this one.
`offset` is the position of the first row: when a KV cache feeds one new token at
position 37, it is rotated by 37, not 0. Compute the angles in float64 whatever x's
dtype (a float32 angle at position 4000 is off by ~2e-4 radians), then cast cos and sin
to x's dtype.

**Grouped-query attention** (GQA, Ainslie et al. 2023) keeps n_head query heads but only
n_kv_head key/value heads; each group of n_head / n_kv_head consecutive query heads
shares one: query head h reads key/value head h // (n_head // n_kv_head) (HF's
`repeat_kv`, `repeat_interleave` on the head axis). n_kv_head = n_head is multi-head
attention; n_kv_head = 1 is multi-query attention (Shazeer 2019). For x (N, T, d) with
d_head = d / n_head, no biases (LLaMA):

    q = x @ Wq  (N, T, n_head d_head),   k = x @ Wk, v = x @ Wv  (N, T, n_kv_head d_head)
    each split into heads: (N, T, heads, d_head) -> transpose to (N, heads, T, d_head)
    per query head: softmax(q k^T / sqrt(d_head) + causal mask) v, keys j <= i only
    out = merge_heads(...) @ Wo           Wq (d, d), Wk and Wv (d, n_kv_head d_head), Wo (d, d)

**Mixture of experts, top-k routing** (Shazeer et al. 2017; Fedus et al. 2021, "Switch
Transformer"; Mixtral): router logits (T, E) for T tokens and E experts.
probs = softmax over the experts (last axis). Each token goes to exactly k experts, its k
highest probabilities, highest first (ties: the lower expert index first). Its gates are
those k probabilities **renormalised to sum to 1** (Mixtral). Each expert accepts at most
`capacity` assignments; the others are *dropped* (the token skips that expert, as the
residual connection carries it). Priority, as in GShard: every token's first choice
before any second choice; within a rank, tokens in order (token 0 first).

**Load-balancing loss** (Switch Transformer, eq. 4), for the router's choices `experts`
(T, k), dropped or not:

    f_i = (number of the T k assignments to expert i) / (T k)     (a count: no gradient)
    P_i = mean over tokens of probs[:, i]                          (differentiable)
    loss = E * sum_i f_i P_i

A uniform router (every P_i = 1/E) or a perfectly balanced routing (every f_i = 1/E)
gives exactly 1; the gradient flows through P only.

**Retrieval-augmented generation** (Lewis et al. 2020) puts the chunks of a corpus most
similar to a question into the prompt. The tokens are cut into chunks of `size` tokens
with stride s = size - overlap: chunk c covers tokens [c s, c s + size), and the last
chunk is the first one that reaches the end (it may be shorter; no chunk lies inside the
one before it). Thanks to the overlap, every span of overlap + 1 tokens lies whole in
some chunk. Each chunk is embedded as a vector (here, by the grader: its word counts),
and the query's vector picks the k chunks of highest **cosine similarity**

    cos(q, v) = q . v / (|q| |v|)          (0 when q or v is the zero vector)

highest first, the lower chunk index on a tie. The cosine ignores the lengths of the
vectors: a raw dot product would favour long chunks.

**Patch embedding** (Dosovitskiy et al. 2021, "An Image Is Worth 16x16 Words", ViT) turns
an image into tokens: images (N, C, H, W_img), NCHW, are cut into (H/P)(W_img/P) squares
of P x P pixels, each flattened in **(channel, row, column)** order to C P^2 numbers and
projected: token = patch @ W + b, W (C P^2, d). The patches come in reading order (left
to right, then top to bottom). This is exactly a convolution with kernel P and stride P
whose weight (d, C, P, P) is W^T reshaped (the grader checks it so). Code that rearranges
NHWC images (vit-pytorch's einops `(p1 p2 c)`) flattens (row, column, channel) instead:
the same model with W's rows permuted, not this exercise's layout.

## Conventions this exercise holds (the grader checks each)

- Features last; batch axes first. Linear weights **(in, out)**: `x @ W` (`nn.Linear`
  stores (out, in): the grader transposes when it copies weights into PyTorch).
- RMSNorm: eps inside the root. RoPE: half-split pairing, theta_i = base^(-2i/d), the
  first row at position `offset`. Masks: causal, query i sees keys j <= i.
- MoE: softmax over the experts, top-k ordered by probability (lower index on a tie),
  gates renormalised over the k, capacity filled rank by rank then token by token.
- Chunks: stride size - overlap, the last chunk the first to reach the end. Retrieval:
  cosine similarity, highest first, lower index on a tie. Patches: NCHW images, each patch
  flattened (channel, row, column), patches in reading order.
- You may compute with **torch tensors and autograd** (a tensor you return reaches the
  grader as an array), but not with the functions that do the exercise's job:
  `F.rms_norm`, `nn.RMSNorm`, `F.scaled_dot_product_attention`, `nn.MultiheadAttention`,
  `F.cosine_similarity`, `F.conv2d`, `nn.Conv2d`, `F.unfold`, `nn.Unfold`, the
  `transformers` library are refused.
- Return the inputs' dtype (float32 in, float32 out). Never modify an input in place.

Read: Zhang & Sennrich (2019), "Root Mean Square Layer Normalization"; Shazeer (2020),
"GLU Variants Improve Transformer"; Su et al. (2021), "RoFormer"; Ainslie et al. (2023),
"GQA"; Fedus et al. (2021), "Switch Transformers" (section 2.2); Jiang et al. (2024),
"Mixtral of Experts"; Lewis et al. (2020), "Retrieval-Augmented Generation";
Dosovitskiy et al. (2021), "An Image Is Worth 16x16 Words"; HF `modeling_llama.py`.
"""

import math

import numpy as np
import torch


def rms_norm(x, gamma, eps: float = 1e-6):
    """RMSNorm over the last axis: x / sqrt(mean(x^2) + eps) * gamma (no mean, no bias).

    x: (..., d); gamma: (d,). Returns y shaped like x.
    """
    ### BEGIN SOLUTION
    x, gamma = torch.as_tensor(x), torch.as_tensor(gamma)
    rms = torch.sqrt((x * x).mean(dim=-1, keepdim=True) + eps)
    return x / rms * gamma
    ### END SOLUTION


def rms_norm_backward(dy, x, gamma, eps: float = 1e-6):
    """The gradients of rms_norm: (dx, dgamma) for the upstream gradient dy.

    dy, x: (..., d); gamma: (d,). Returns dx shaped like x and dgamma (d,) (dy * x / rms
    summed over every axis but the last).
    """
    ### BEGIN SOLUTION
    dy, x, gamma = torch.as_tensor(dy), torch.as_tensor(x), torch.as_tensor(gamma)
    rms = torch.sqrt((x * x).mean(dim=-1, keepdim=True) + eps)
    xhat = x / rms
    g = dy * gamma
    dx = (g - xhat * (g * xhat).mean(dim=-1, keepdim=True)) / rms
    dgamma = (dy * xhat).reshape(-1, x.shape[-1]).sum(dim=0)
    return dx, dgamma
    ### END SOLUTION


def swiglu(x, W1, W3, W2):
    """LLaMA's MLP: (silu(x @ W1) * (x @ W3)) @ W2, silu(z) = z * sigmoid(z), no biases.

    x: (..., d); W1, W3: (d, h) (W1 the gate, through SiLU); W2: (h, d). Returns (..., d).
    """
    ### BEGIN SOLUTION
    x, W1, W3, W2 = (torch.as_tensor(a) for a in (x, W1, W3, W2))
    gate = x @ W1
    return (gate * torch.sigmoid(gate) * (x @ W3)) @ W2
    ### END SOLUTION


def rope(x, offset: int = 0, base: float = 10000.0):
    """Rotary position embedding, half-split pairing (feature i with i + d/2).

    x: (..., T, d), d even; row t is at position offset + t; theta_i = base^(-2i/d);
    angles in float64. Returns the rotated array shaped like x, in x's dtype.
    """
    ### BEGIN SOLUTION
    x = torch.as_tensor(x)
    T, d = x.shape[-2], x.shape[-1]
    theta = base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    angle = torch.outer(torch.arange(offset, offset + T, dtype=torch.float64), theta)
    cos = torch.cat([angle.cos(), angle.cos()], dim=-1).to(x.dtype)
    sin = torch.cat([angle.sin(), angle.sin()], dim=-1).to(x.dtype)
    x1, x2 = x[..., : d // 2], x[..., d // 2 :]
    return x * cos + torch.cat([-x2, x1], dim=-1) * sin
    ### END SOLUTION


def grouped_query_attention(x, p: dict, n_head: int, n_kv_head: int):
    """Causal grouped-query self-attention; query head h reads key/value head
    h // (n_head // n_kv_head).

    x: (N, T, d); p: "Wq" (d, d), "Wk" (d, n_kv_head * d_head), "Wv" (same), "Wo" (d, d),
    d_head = d // n_head, n_kv_head divides n_head. Returns out (N, T, d).
    """
    ### BEGIN SOLUTION
    x = torch.as_tensor(x)
    w = {k: torch.as_tensor(v) for k, v in p.items()}
    N, T, d = x.shape
    dh = d // n_head
    q = (x @ w["Wq"]).reshape(N, T, n_head, dh).transpose(1, 2)
    k, v = ((x @ w[name]).reshape(N, T, n_kv_head, dh).transpose(1, 2) for name in ("Wk", "Wv"))
    k = k.repeat_interleave(n_head // n_kv_head, dim=1)
    v = v.repeat_interleave(n_head // n_kv_head, dim=1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(dh)
    keep = torch.ones(T, T, dtype=torch.bool).tril()
    weights = torch.softmax(scores.masked_fill(~keep, float("-inf")), dim=-1)
    return (weights @ v).transpose(1, 2).reshape(N, T, d) @ w["Wo"]
    ### END SOLUTION


def moe_route(logits, k: int, capacity: int):
    """Top-k routing with renormalised gates and an expert capacity.

    logits: (T, E) router logits. Returns (experts (T, k) int, each token's k experts by
    decreasing probability, lower index on a tie; gates (T, k), those probabilities
    divided by their sum; keep (T, k) bool, False where the expert was already full:
    assignments are accepted rank by rank (all first choices, then all second choices...),
    token 0 first, at most `capacity` per expert).
    """
    ### BEGIN SOLUTION
    probs = torch.softmax(torch.as_tensor(logits), dim=-1)
    top, experts = torch.sort(probs, dim=-1, descending=True, stable=True)
    top, experts = top[:, :k], experts[:, :k]
    gates = top / top.sum(dim=-1, keepdim=True)
    keep = np.zeros(experts.shape, dtype=bool)
    load = np.zeros(probs.shape[1], dtype=int)
    for rank in range(k):
        for t in range(experts.shape[0]):
            e = int(experts[t, rank])
            if load[e] < capacity:
                keep[t, rank] = True
                load[e] += 1
    return experts, gates, keep
    ### END SOLUTION


def load_balancing_loss(logits, experts):
    """The Switch Transformer load-balancing loss E * sum_i f_i P_i and its gradient.

    logits: (T, E) router logits; experts: (T, k) int, the router's choices. f_i: the
    fraction of the T k assignments that go to expert i (a constant); P_i: the mean over
    tokens of softmax(logits)[:, i]. Returns (loss, a float; dlogits (T, E), its gradient).
    """
    ### BEGIN SOLUTION
    logits = torch.as_tensor(logits).detach().requires_grad_(True)
    experts = torch.as_tensor(experts, dtype=torch.long)
    E = logits.shape[1]
    f = torch.bincount(experts.reshape(-1), minlength=E).to(logits.dtype) / experts.numel()
    P = torch.softmax(logits, dim=-1).mean(dim=0)
    loss = E * (f * P).sum()
    (dlogits,) = torch.autograd.grad(loss, [logits])
    return loss.item(), dlogits
    ### END SOLUTION


def chunk_tokens(tokens, size: int, overlap: int) -> list[list[int]]:
    """Split a token sequence into windows of `size` tokens, each sharing `overlap` tokens
    with the previous one.

    tokens: a 1-D sequence of ints; 0 <= overlap < size. Window c starts at
    c * (size - overlap); the last window is the first that reaches the end (it may be
    shorter). Returns a list of lists of int ([] for no tokens).
    """
    ### BEGIN SOLUTION
    tokens = [int(t) for t in tokens]
    chunks, start = [], 0
    while tokens:
        chunks.append(tokens[start : start + size])
        if start + size >= len(tokens):
            break
        start += size - overlap
    return chunks
    ### END SOLUTION


def rag_retrieve(query, chunk_vectors, k: int):
    """The k chunks most similar to the query by cosine similarity.

    query: (D,); chunk_vectors: (M, D), one embedding per chunk; 1 <= k <= M. Returns
    (indices (k,) int, most similar first, the lower index on a tie; scores (k,), their
    cosine similarities; a zero vector's similarity is 0).
    """
    ### BEGIN SOLUTION
    q, M = torch.as_tensor(query), torch.as_tensor(chunk_vectors)
    norms = M.norm(dim=1) * q.norm()
    sims = torch.where(norms > 0, M @ q / torch.where(norms > 0, norms, 1), 0)
    scores, order = torch.sort(sims, descending=True, stable=True)
    return order[:k], scores[:k]
    ### END SOLUTION


def patch_embed(images, W, b, patch: int):
    """ViT's patch embedding: cut each image into patch x patch squares, flatten each
    (channel, row, column) and project it.

    images: (N, C, H, W_img) (NCHW), H and W_img divisible by `patch`; W: (C patch patch, d),
    b: (d,). Returns (N, (H / patch) (W_img / patch), d), patches in reading order (left
    to right, then top to bottom).
    """
    ### BEGIN SOLUTION
    x = torch.as_tensor(images)
    N, C, H, Wi = x.shape
    P = patch
    W, b = torch.as_tensor(W), torch.as_tensor(b)
    patches = x.reshape(N, C, H // P, P, Wi // P, P).permute(0, 2, 4, 1, 3, 5)
    return patches.reshape(N, (H // P) * (Wi // P), C * P * P) @ W + b
    ### END SOLUTION
