"""# The Transformer: positions, layer norm, encoder and decoder blocks, a model that reverses

A Transformer (Vaswani et al. 2017) replaces recurrence with attention. Its pieces:

**Sinusoidal positional encoding** (T, d_model), added to the token embeddings so that
attention, which sees a set, can tell positions apart. For position p and i = 0, 1, ...:

    PE[p, 2i]   = sin(p / 10000^(2i / d_model))      even dimensions: sin
    PE[p, 2i+1] = cos(p / 10000^(2i / d_model))      odd dimensions: cos, same frequency

This is the **interleaved** layout of the paper (sin and cos alternate). Many codebases
(tensor2tensor, some tutorials) concatenate instead, `[sin ... | cos ...]`: another
convention, not the one graded here. For an odd d_model the last (even) column is a sin.

**Layer normalization** (Ba et al. 2016) over the **last axis** (the features of one
position), never over the batch:

    mu = mean(x, -1);  var = mean((x - mu)^2, -1)       biased variance (divide by d)
    y  = (x - mu) / sqrt(var + eps) * gamma + beta       eps INSIDE the root, eps = 1e-5

as `torch.nn.LayerNorm(d)` does; gamma, beta are (d,). Its backward, with xhat the
normalized x and g = dout * gamma:

    dx = (g - mean(g, -1) - xhat * mean(g * xhat, -1)) / sqrt(var + eps)
    dgamma = sum of dout * xhat over every axis but the last;  dbeta = sum of dout likewise

**Multi-head attention**: queries from `x_q` (N, Tq, d), keys and values from `x_kv`
(N, Tk, d); project (Q = x_q @ Wq + bq, ...), split d into H heads of d_head = d / H
(reshape (N, T, H, d_head), then transpose to (N, H, T, d_head)), per head
softmax(Q K^T / sqrt(d_head)) V, merge the heads back (N, T, d) and project with Wo, bo.

**Position-wise feed-forward**: relu(x @ W1 + b1) @ W2 + b2, the same for every position.

**Blocks, pre-LN** (layer norm *before* each sub-layer, inside the residual branch; GPT-2,
and PyTorch's `norm_first=True`):

    encoder:  x = x + MHA(LN1(x), LN1(x));  x = x + FFN(LN2(x))
    decoder:  x = x + MHA(LN1(x), LN1(x), causal mask)       masked self-attention
              x = x + MHA(LN2(x), memory)                      cross-attention: keys and
                                                               values from the encoder
              x = x + FFN(LN3(x))

The original paper is **post-LN** (`x = LN(x + sublayer(x))`, PyTorch's default
`norm_first=False`): another convention. Pre-LN trains stably without a warm-up, which is
why this exercise uses it. The memory enters cross-attention as it is (no norm on it in
the block).

**The model** (encoder-decoder, teacher forcing; `init_transformer` is given and fixes
every parameter's name and shape): src tokens -> `src_embed[src] + PE` ->
encoder blocks -> `enc_ln` = memory; target input `tgt_in` (a BOS token 0, then the target
shifted right) -> `tgt_embed[tgt_in] + PE` -> decoder blocks -> `dec_ln` -> `@ W_out + b_out`
= logits (N, T, V). Embeddings are not scaled by sqrt(d_model) here (the paper scales them:
another convention). `train_transformer` fits it with Adam and the mean cross-entropy; the
grader trains yours to **reverse** sequences of 5 symbols (1..5) and wants at least 85%
of the held-out tokens right after 50 steps (the reference: 95-99%), under teacher forcing.

## Conventions this exercise holds (the grader checks each)

- Batch first: `x` (N, T, d); queries (N, Tq, d), keys/values (N, Tk, d).
- Weights (in, out) and `x @ W + b`: Wq, Wk, Wv, Wo (d, d), W1 (d, d_ff), W2 (d_ff, d).
  PyTorch's layers store (out, in) (and one stacked `in_proj_weight` (3d, d) for q, k, v):
  the grader transposes when it copies weights between the two.
- Masks are boolean, **True = attend (keep)**, False = masked out, broadcastable to the
  scores (N, H, Tq, Tk) (the polarity of `F.scaled_dot_product_attention`'s `attn_mask`;
  `nn.MultiheadAttention`'s masks use True = ignore). A causal mask keeps key j <= query i.
  Masked keys get exactly 0 weight; a fully masked row gives weights 0 and output bo
  (nothing attended), never NaN.
- Parameters are dicts of arrays, named as `init_transformer` names them.
- You may compute with **torch tensors and autograd** (`torch.as_tensor(a)` takes a NumPy
  array or a tensor alike; a tensor you return reaches the grader as an array), but not
  with the modules that do the job: `nn.MultiheadAttention`, `nn.Transformer*`,
  `nn.LayerNorm`, `F.layer_norm`, `F.scaled_dot_product_attention` are refused.
  `layer_norm_forward` is graded on NumPy arrays; write it with what NumPy and torch share
  (`x.mean(axis=-1, keepdims=True)`, `** 0.5`) and your blocks can reuse it on tensors.
- Never modify an input in place.

Read: Vaswani et al. (2017), "Attention is all you need"; Ba, Kiros & Hinton (2016),
"Layer normalization"; Xiong et al. (2020), "On layer normalization in the Transformer
architecture" (pre-LN vs post-LN); "The Annotated Transformer" (Harvard NLP).
"""

import numpy as np
import torch


def positional_encoding(T: int, d_model: int) -> np.ndarray:
    """Sinusoidal positional encoding, interleaved: sin on even, cos on odd dimensions.

    Returns PE (T, d_model) float64 with PE[p, 2i] = sin(p / 10000^(2i/d_model)) and
    PE[p, 2i+1] = cos(p / 10000^(2i/d_model)).
    """
    # YOUR CODE HERE
    raise NotImplementedError("transformer: implement positional_encoding")


def layer_norm_forward(x, gamma, beta, eps: float = 1e-5):
    """Layer normalization over the last axis, as torch.nn.LayerNorm(d, eps).

    x: (..., d); gamma, beta: (d,). Returns y shaped like x: biased variance, eps inside
    the square root.
    """
    # YOUR CODE HERE
    raise NotImplementedError("transformer: implement layer_norm_forward")


def layer_norm_backward(
    dout: np.ndarray, x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward of layer_norm_forward, in NumPy.

    dout: dL/dy, shaped like x (..., d). Returns (dx shaped like x, dgamma (d,), dbeta (d,)),
    dgamma and dbeta summed over every axis but the last.
    """
    # YOUR CODE HERE
    raise NotImplementedError("transformer: implement layer_norm_backward")


def causal_mask(T: int) -> np.ndarray:
    """The causal mask (T, T), bool: True where query i may attend to key j, i.e. j <= i."""
    # YOUR CODE HERE
    raise NotImplementedError("transformer: implement causal_mask")


def multi_head_attention(x_q, x_kv, p: dict, n_heads: int, mask=None):
    """Multi-head attention with (in, out) projections.

    x_q: (N, Tq, d); x_kv: (N, Tk, d); p: "Wq", "Wk", "Wv", "Wo" (d, d) and "bq", "bk",
    "bv", "bo" (d,); n_heads divides d; mask: None or bool, True = attend, broadcastable
    to (N, n_heads, Tq, Tk). Returns (out (N, Tq, d), weights (N, n_heads, Tq, Tk)).
    """
    # YOUR CODE HERE
    raise NotImplementedError("transformer: implement multi_head_attention")


def feed_forward(x, W1, b1, W2, b2):
    """Position-wise feed-forward: relu(x @ W1 + b1) @ W2 + b2.

    x: (N, T, d); W1: (d, d_ff); b1: (d_ff,); W2: (d_ff, d); b2: (d,). Returns (N, T, d).
    """
    # YOUR CODE HERE
    raise NotImplementedError("transformer: implement feed_forward")


def encoder_block(x, p: dict, n_heads: int):
    """One pre-LN encoder block: x + MHA(LN1(x)), then + FFN(LN2(x)).

    x: (N, T, d); p: "ln1_gamma", "ln1_beta", "attn_Wq" ... "attn_bo" (the eight of
    multi_head_attention, prefixed "attn_"), "ln2_gamma", "ln2_beta", "ffn_W1", "ffn_b1",
    "ffn_W2", "ffn_b2". Layer norms with eps = 1e-5. Returns (N, T, d).
    """
    # YOUR CODE HERE
    raise NotImplementedError("transformer: implement encoder_block")


def decoder_block(x, memory, p: dict, n_heads: int):
    """One pre-LN decoder block: causal self-attention, cross-attention on `memory`, FFN.

    x: (N, T, d) the decoder's sequence; memory: (N, S, d) the encoder's output. p:
    "ln1_*", "self_Wq" ... "self_bo", "ln2_*", "cross_Wq" ... "cross_bo", "ln3_*", "ffn_*"
    (ln*_gamma, ln*_beta (d,)). Returns (N, T, d).
    """
    # YOUR CODE HERE
    raise NotImplementedError("transformer: implement decoder_block")


def init_transformer(
    vocab_size: int, d_model: int, d_ff: int, n_layers: int, seed: int
) -> dict[str, np.ndarray]:
    """Given: the parameters of the model, float64, seeded; every name the model uses.

    "src_embed", "tgt_embed" (V, d); "enc{l}_" + encoder_block's names and "dec{l}_" +
    decoder_block's names for l < n_layers; "enc_ln_gamma", "enc_ln_beta", "dec_ln_gamma",
    "dec_ln_beta" (d,); "W_out" (d, V), "b_out" (V,). Linear weights ~ N(0, 1/fan_in),
    biases 0, gammas 1, betas 0, embeddings ~ N(0, 1).
    """
    rng = np.random.default_rng(seed)
    d = d_model

    def linear(prefix, names, fan_in, fan_out):  # "Wq" -> "Wq" and its bias "bq"
        p = {}
        for w in names:
            p[prefix + w] = rng.normal(scale=fan_in**-0.5, size=(fan_in, fan_out))
            p[prefix + w.replace("W", "b", 1)] = np.zeros(fan_out)
        return p

    def norm(prefix):
        return {f"{prefix}gamma": np.ones(d), f"{prefix}beta": np.zeros(d)}

    def ffn(prefix):
        return linear(prefix + "ffn_", ["W1"], d, d_ff) | linear(prefix + "ffn_", ["W2"], d_ff, d)

    qkvo = ["Wq", "Wk", "Wv", "Wo"]
    p = {"src_embed": rng.normal(size=(vocab_size, d)), "tgt_embed": rng.normal(size=(vocab_size, d))}
    for layer in range(n_layers):
        e, c = f"enc{layer}_", f"dec{layer}_"
        p |= norm(e + "ln1_") | linear(e + "attn_", qkvo, d, d) | norm(e + "ln2_") | ffn(e)
        p |= norm(c + "ln1_") | linear(c + "self_", qkvo, d, d) | norm(c + "ln2_")
        p |= linear(c + "cross_", qkvo, d, d) | norm(c + "ln3_") | ffn(c)
    return p | norm("enc_ln_") | norm("dec_ln_") | linear("", ["W_out"], d, vocab_size)


def transformer_forward(p: dict, src, tgt_in, n_heads: int, n_layers: int):
    """The encoder-decoder's logits, with teacher forcing.

    p: as init_transformer; src: (N, S) int tokens; tgt_in: (N, T) int tokens (BOS = 0
    first, then the target shifted right). Returns logits (N, T, V): embeddings + PE ->
    encoder blocks -> layer norm "enc_ln" = memory; embeddings + PE -> decoder blocks on
    the memory -> layer norm "dec_ln" -> @ W_out + b_out.
    """
    # YOUR CODE HERE
    raise NotImplementedError("transformer: implement transformer_forward")


def train_transformer(
    src: np.ndarray,
    tgt: np.ndarray,
    vocab_size: int,
    d_model: int,
    n_heads: int,
    d_ff: int,
    n_layers: int,
    steps: int,
    lr: float,
    seed: int,
) -> tuple[dict[str, np.ndarray], list[float]]:
    """Train the model from init_transformer(vocab_size, d_model, d_ff, n_layers, seed).

    src, tgt: (N, S) and (N, T) int tokens in 1..V-1 (0 is BOS). Each step: the whole batch,
    tgt_in = [0, tgt[:, :-1]], mean cross-entropy of transformer_forward's logits against
    tgt, one Adam step (betas 0.9, 0.999, eps 1e-8; torch.optim.Adam(lr=lr) is allowed, but
    its first use imports torch.compile's machinery, ~2 s here: Adam on tensors is five
    lines). Returns (the trained parameters as NumPy arrays, the loss before each step: a
    list of `steps` floats).
    """
    # YOUR CODE HERE
    raise NotImplementedError("transformer: implement train_transformer")
