"""# BERT: masked language modelling, next-sentence pairs, a bidirectional encoder

BERT (Devlin et al. 2018) pre-trains a Transformer **encoder** to fill in blanks: every
position sees the whole sentence, left and right (no causal mask), so a token cannot be
predicted by looking at itself; it is hidden first. The vocabulary starts with four
specials, then the words (`nnfs_cli.corpus.vocabulary(SPECIALS)`):

    [PAD] = 0   [CLS] = 1   [SEP] = 2   [MASK] = 3          ids 0..3 are special (N_SPECIAL = 4)

**Masked language modelling** (`mlm_mask`). Of the *non-special* tokens (ids >= 4: never
[PAD], [CLS], [SEP] or [MASK]) each is **chosen independently with probability
mask_prob = 0.15** (a per-token Bernoulli draw, as Hugging Face's
`DataCollatorForLanguageModeling`). A chosen token is then, with one more draw,

    80%  replaced by [MASK]
    10%  replaced by a random token, uniform over the NON-special ids 4..V-1 (it may draw
         the original token back, as Hugging Face's may)
    10%  left unchanged

labels = the original id at the chosen positions, **-100 elsewhere** (-100 is PyTorch's
default `ignore_index`). The [MASK]-only alternative would teach the model that a visible
token is never the one to predict; the 10% random and 10% kept make it model every token.
The grader checks the rates statistically over many draws, so your random stream is
yours: any generator made from the seed (`np.random.default_rng(seed)`, a
`torch.Generator`). Google's `create_pretraining_data.py` instead masks a fixed count,
max(1, round(0.15 n)), per sequence: on short sentences that is more than 15%, so the
per-token draw is the one graded here.

**The loss** counts the chosen positions only (`mlm_loss`):

    loss = - (1 / M) * sum over the M positions with label != -100 of log softmax(logits)[label]

what `F.cross_entropy(logits.reshape(-1, V), labels.reshape(-1), ignore_index=-100)`
computes (use log-sum-exp: logits may be large). Dividing by every position instead of M
makes the loss depend on how much padding and how many unchosen tokens there are.

**Next-sentence pairs** (`nsp_pairs`): for every sentence i but the last, A = sentence i;
with probability 1/2 B = sentence i + 1 (is_next = 1), else B = a sentence drawn uniformly
from the others, **never sentence i + 1** (is_next = 0). Each pair is

    ids       [CLS] A... [SEP] B... [SEP] [PAD]...     padded with [PAD] (0) to the longest pair
    segments    0   0...   0   1...   1     0...       0 for [CLS] A [SEP], 1 for B [SEP], pads 0

is_next = 1 means "B follows A" (Hugging Face's `next_sentence_label` is the other way:
0 = continuation).

**The encoder** (`encoder_layer`, `bert_forward`). Embeddings are the sum of three tables,
then a layer norm:

    x = LN_emb(tok_embed[ids] + pos_embed[0..T-1] + seg_embed[segments])

Each layer is **post-LN**, as BERT and the original Transformer (PyTorch's
`norm_first=False`), with the **exact GELU**, gelu(z) = z * (1 + erf(z / sqrt(2))) / 2:

    x = LN1(x + MHA(x, x, padding mask));   x = LN2(x + gelu(x @ W1 + b1) @ W2 + b2)

Layer norms use eps = 1e-12 (BERT's). The MLM head here is tied to the token embedding:
logits = x_final @ tok_embed.T + mlm_bias (BERT puts one more dense + GELU + LN transform
before it; left out here).

## Conventions this exercise holds (the grader checks each)

- Batch first: ids (N, T) int; hidden states (N, T, d); logits (N, T, V).
- Weights (in, out) and `x @ W + b`, as in the transformer topic; parameters are dicts
  of arrays named as `init_bert` names them.
- `attention_mask` (N, T) bool, **True = a real token (attend to it)**, False = padding;
  a padded position is never attended to as a key, but its own output is computed like any
  other (its query attends to the real tokens); the loss ignores it. There is no causal
  mask: position t sees t + 1.
- `layer_norm` and `multi_head_attention` are given (you wrote them in `transformer`).
- You may compute with **torch tensors and autograd**, not with the modules that do the
  job: `nn.TransformerEncoder*`, `nn.MultiheadAttention`, `nn.LayerNorm`, `F.layer_norm`,
  `F.scaled_dot_product_attention`, `F.cross_entropy`, `F.nll_loss` and `transformers` are
  refused.
- Never modify an input in place.

Read: Devlin et al. (2018), "BERT: Pre-training of deep bidirectional Transformers for
language understanding" (section 3.1 and appendix A.1); Hendrycks & Gimpel (2016),
"Gaussian error linear units".
"""

import numpy as np
import torch

SPECIALS = ("[PAD]", "[CLS]", "[SEP]", "[MASK]")
PAD, CLS, SEP, MASK = 0, 1, 2, 3
N_SPECIAL = 4
IGNORE = -100  # the label of a position the loss skips (PyTorch's default ignore_index)


def layer_norm(x, gamma, beta, eps: float = 1e-12):
    """Given: layer normalization over the last axis (biased variance, eps inside the root).

    x: (..., d) array or tensor; gamma, beta: (d,). Returns y shaped like x.
    """
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / (var + eps) ** 0.5 * gamma + beta


def multi_head_attention(x_q, x_kv, p: dict, n_heads: int, mask=None):
    """Given: multi-head attention with (in, out) projections, as in the transformer topic.

    x_q: (N, Tq, d); x_kv: (N, Tk, d); p: "Wq", "Wk", "Wv", "Wo" (d, d), "bq", "bk", "bv",
    "bo" (d,); mask: None or bool, True = attend, broadcastable to (N, n_heads, Tq, Tk).
    Returns (out (N, Tq, d) tensor, weights (N, n_heads, Tq, Tk)).
    """
    x_q, x_kv = torch.as_tensor(x_q), torch.as_tensor(x_kv)
    w = {k: torch.as_tensor(v) for k, v in p.items()}
    N, Tq, d = x_q.shape
    Tk, dh = x_kv.shape[1], d // n_heads

    def heads(t, T):
        return t.reshape(N, T, n_heads, dh).transpose(1, 2)  # (N, H, T, dh)

    q = heads(x_q @ w["Wq"] + w["bq"], Tq)
    k = heads(x_kv @ w["Wk"] + w["bk"], Tk)
    v = heads(x_kv @ w["Wv"] + w["bv"], Tk)
    scores = q @ k.transpose(-2, -1) / dh**0.5
    if mask is not None:
        keep = torch.as_tensor(mask, dtype=torch.bool).expand(scores.shape)
        scores = scores.masked_fill(~keep, float("-inf"))
    top = scores.amax(dim=-1, keepdim=True)
    e = torch.exp(scores - torch.where(torch.isfinite(top), top, torch.zeros_like(top)))
    total = e.sum(dim=-1, keepdim=True)
    weights = e / torch.where(total > 0, total, torch.ones_like(total))  # a full mask: 0
    out = (weights @ v).transpose(1, 2).reshape(N, Tq, d)
    return out @ w["Wo"] + w["bo"], weights


def mlm_mask(ids, vocab_size: int, seed: int, mask_prob: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """BERT's masking of a batch of token ids.

    ids: (N, T) int, specials are ids < N_SPECIAL ([PAD] 0, [CLS] 1, [SEP] 2, [MASK] 3);
    vocab_size V: words are ids N_SPECIAL..V-1. Each non-special token is chosen with
    probability mask_prob; a chosen one becomes [MASK] (80%), a uniform random word id in
    N_SPECIAL..V-1 (10%), or stays (10%). Returns (inputs, labels), both (N, T) int:
    inputs = ids with those replacements; labels = ids where chosen, IGNORE (-100) elsewhere.
    Seeded: the same seed gives the same result.
    """
    # YOUR CODE HERE
    raise NotImplementedError("bert: implement mlm_mask")


def mlm_loss(logits, labels):
    """Mean cross-entropy over the positions whose label is not IGNORE (-100).

    logits: (N, T, V) array or tensor; labels: (N, T) int, a word id or -100; at least one
    label is not -100. Returns a scalar (a 0-d tensor, so that training can backpropagate).
    """
    # YOUR CODE HERE
    raise NotImplementedError("bert: implement mlm_loss")


def nsp_pairs(sentences: list[list[int]], seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Next-sentence-prediction pairs from a list of consecutive sentences (word ids).

    For i = 0..n-2: A = sentences[i]; with probability 1/2 B = sentences[i + 1] and
    is_next = 1, else B = sentences[j] for j drawn uniformly from the indices other than
    i + 1, and is_next = 0. Returns (ids (n-1, L), segments (n-1, L), is_next (n-1,)), all
    int: row i is [CLS] A [SEP] B [SEP] then [PAD] up to L, the longest row's length;
    segments 0 for [CLS] A [SEP], 1 for B [SEP], 0 on the padding.
    """
    # YOUR CODE HERE
    raise NotImplementedError("bert: implement nsp_pairs")


def encoder_layer(x, p: dict, n_heads: int, attention_mask=None):
    """One post-LN BERT encoder layer (bidirectional: no causal mask).

    x: (N, T, d); p: "attn_Wq" ... "attn_bo" (multi_head_attention's eight, prefixed
    "attn_"), "ln1_gamma", "ln1_beta", "ffn_W1" (d, d_ff), "ffn_b1", "ffn_W2" (d_ff, d),
    "ffn_b2", "ln2_gamma", "ln2_beta"; attention_mask: None (attend everywhere) or (N, T)
    bool, True = a real token. Returns x = LN1(x + MHA(x)); LN2(x + gelu(x W1 + b1) W2 + b2),
    (N, T, d), with the exact (erf) GELU and layer_norm's eps = 1e-12.
    """
    # YOUR CODE HERE
    raise NotImplementedError("bert: implement encoder_layer")


def init_bert(
    vocab_size: int, max_len: int, d_model: int, d_ff: int, n_layers: int, seed: int
) -> dict[str, np.ndarray]:
    """Given: the parameters of a small BERT, float64, seeded; every name bert_forward uses.

    "tok_embed" (V, d), "pos_embed" (max_len, d), "seg_embed" (2, d), "emb_ln_gamma",
    "emb_ln_beta" (d,), "layer{l}_" + encoder_layer's names for l < n_layers, "mlm_bias"
    (V,). Embeddings ~ N(0, 1/d) (the tied logits start small), linear weights
    ~ N(0, 1/fan_in), biases 0, gammas 1, betas 0.
    """
    rng = np.random.default_rng(seed)
    d = d_model

    def linear(prefix, fan_in, fan_out):  # "attn_Wq" -> its bias "attn_bq"
        w = prefix.replace("W", "b")
        return {prefix: rng.normal(scale=fan_in**-0.5, size=(fan_in, fan_out)), w: np.zeros(fan_out)}

    def norm(prefix):
        return {f"{prefix}gamma": np.ones(d), f"{prefix}beta": np.zeros(d)}

    p = {name: rng.normal(scale=d**-0.5, size=(rows, d))
         for name, rows in (("tok_embed", vocab_size), ("pos_embed", max_len), ("seg_embed", 2))}  # fmt: skip
    p |= norm("emb_ln_")
    for layer in range(n_layers):
        e = f"layer{layer}_"
        for w in ("Wq", "Wk", "Wv", "Wo"):
            p |= linear(f"{e}attn_{w}", d, d)
        p |= norm(e + "ln1_") | linear(e + "ffn_W1", d, d_ff) | linear(e + "ffn_W2", d_ff, d) | norm(e + "ln2_")
    return p | {"mlm_bias": np.zeros(vocab_size)}


def bert_forward(p: dict, ids, segments, attention_mask, n_heads: int, n_layers: int):
    """The MLM logits of a small BERT.

    p: as init_bert; ids, segments: (N, T) int (T <= max_len); attention_mask: (N, T) bool,
    True = a real token. x = layer_norm(tok_embed[ids] + pos_embed[:T] + seg_embed[segments])
    with "emb_ln"; then encoder_layer with "layer{l}_" for l < n_layers; returns logits
    (N, T, V) = x @ tok_embed.T + mlm_bias (the output layer tied to the token embedding).
    """
    # YOUR CODE HERE
    raise NotImplementedError("bert: implement bert_forward")
