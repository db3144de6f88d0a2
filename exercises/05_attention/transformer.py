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

**The model** (encoder-decoder, teacher forcing): src tokens -> `src_embed[src] + PE` ->
encoder blocks -> `enc_ln` = memory; target input `tgt_in` (a BOS token 0, then the target
shifted right) -> `tgt_embed[tgt_in] + PE` -> decoder blocks -> `dec_ln` -> `@ W_out + b_out`
= logits (N, T, V). Embeddings are not scaled by sqrt(d_model) here.

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
