"""Known bugs of transformer: each an edit of the reference function as the solution file has it."""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

_PE = reference_function(__file__, "positional_encoding")
_LN = reference_function(__file__, "layer_norm_forward")
_LNB = reference_function(__file__, "layer_norm_backward")
_MASK = reference_function(__file__, "causal_mask")
_MHA = reference_function(__file__, "multi_head_attention")
_FFN = reference_function(__file__, "feed_forward")
_ENC = reference_function(__file__, "encoder_block")
_DEC = reference_function(__file__, "decoder_block")
_MODEL_CODE = reference_function(__file__, "transformer_forward")
_TRAIN = reference_function(__file__, "train_transformer")
_MODEL = ("transformer_forward", "train_transformer")  # every piece the model uses
_BLOCKS = ("encoder_block", "decoder_block", *_MODEL)
_POST_LN = (
    "this is the post-LN block of the original paper (x = LN(x + sublayer(x)), PyTorch's "
    "norm_first=False); this exercise is pre-LN (x = x + sublayer(LN(x)), norm_first=True), "
    "which trains stably without a learning-rate warm-up"
)

BUGS = [
    KnownBug(
        # The pair index i used as the exponent's numerator (10000^(i/d)) instead of the
        # even column index 2i: a recurring slip in blog reimplementations of the paper's
        # formula (and its reverse, 2i used as the column of both sin and cos).
        name="pe-exponent-i-not-2i",
        function="positional_encoding",
        hint="the exponent is 2i / d_model with i the pair index (the even column 2i), "
        "not i / d_model: the wavelengths go up to 10000 * 2pi across the d_model columns",
        code=edited(_PE, ("np.arange(0, d_model, 2) / d_model", "np.arange((d_model + 1) // 2) / d_model")),
        fails=("positional_encoding", *_MODEL),
    ),
    KnownBug(
        # The exp-log form div_term = exp(arange(0, d, 2) * -(log(10000) / d)) (the
        # Annotated Transformer's) typed without its minus: the angles grow with the column
        # instead of shrinking, pos * 10000^(2i/d) for pos / 10000^(2i/d).
        name="pe-frequency-inverted",
        function="positional_encoding",
        hint="angle = p / 10000**(2i / d_model): divide by the power (in the exp-log form, "
        "exp(2i * -(log(10000) / d_model)), mind the minus)",
        code=edited(_PE, ("angles = pos / 10000", "angles = pos * 10000")),
        fails=("positional_encoding", *_MODEL),
    ),
    KnownBug(
        # sin and cos swapped between the even and the odd columns.
        name="pe-cos-on-even-dims",
        function="positional_encoding",
        hint="sin goes on the EVEN columns (0, 2, 4, ...) and cos on the odd ones",
        code=edited(
            _PE,
            ("pe[:, 0::2] = np.sin(angles)", "pe[:, 0::2] = np.cos(angles)"),
            ("np.cos(angles[:, : d_model // 2])", "np.sin(angles[:, : d_model // 2])"),
        ),
        fails=("positional_encoding", *_MODEL),
    ),
    KnownBug(
        # tensor2tensor's get_timing_signal_1d and many tutorials concatenate [sin | cos].
        name="pe-concatenated-sin-cos",
        kind="convention",
        function="positional_encoding",
        hint="this is the concatenated layout [sin ... | cos ...] (tensor2tensor's timing "
        "signal); this exercise uses the paper's interleaved layout, sin in column 2i and cos "
        "in column 2i+1, as the docstring says",
        code=edited(
            _PE,
            ("pe[:, 0::2] = np.sin(angles)", "pe[:, : angles.shape[1]] = np.sin(angles)"),
            ("pe[:, 1::2] = np.cos(angles[:, : d_model // 2])",
             "pe[:, angles.shape[1] :] = np.cos(angles[:, : d_model // 2])"),
        ),  # fmt: skip
        fails=("positional_encoding", *_MODEL),
    ),
    KnownBug(
        # x.std() in torch is unbiased by default: the Annotated Transformer's LayerNorm
        # divides by x.std(-1), N - 1 (a frequent question on its issue tracker).
        name="ln-unbiased-variance",
        function="layer_norm_forward",
        hint="layer norm uses the biased variance, mean((x - mu)**2) (divide by d), as "
        "torch.nn.LayerNorm does; torch's x.std() / x.var() default to N - 1",
        code=edited(
            _LN,
            ("((x - mu) ** 2).mean(axis=-1, keepdims=True)",
             "((x - mu) ** 2).sum(axis=-1, keepdims=True) / (x.shape[-1] - 1)"),
        ),  # fmt: skip
        fails=("layer_norm_forward", *_BLOCKS),
    ),
    KnownBug(
        # The Annotated Transformer: (x - mean) / (std + eps).
        name="ln-eps-outside-root",
        kind="convention",
        function="layer_norm_forward",
        hint="this is the (x - mu) / (std + eps) placement (the Annotated Transformer's); this "
        "exercise puts eps inside the root, (x - mu) / sqrt(var + eps), as torch.nn.LayerNorm "
        "does: the two differ where the variance is near eps",
        code=edited(_LN, ("(var + eps) ** 0.5", "(var**0.5 + eps)")),
        fails=("layer_norm_forward", *_BLOCKS),
    ),
    KnownBug(
        # The square root forgotten: (x - mu) / (var + eps), dividing by the variance where
        # the standard deviation belongs (a slip CS231n's batch-norm assignment threads report).
        name="ln-divides-by-variance",
        function="layer_norm_forward",
        hint="divide by the standard deviation, sqrt(var + eps), not by the variance: "
        "(x - mu) / (var + eps) ** 0.5",
        code=edited(_LN, ("(var + eps) ** 0.5", "(var + eps)")),
        fails=("layer_norm_forward", *_BLOCKS),
    ),
    KnownBug(
        # Batch norm's axis: statistics over the batch (axis 0) instead of the features.
        name="ln-over-batch-axis",
        function="layer_norm_forward",
        hint="layer norm normalises each position over its own features (axis=-1); over the "
        "batch (axis 0) is batch norm",
        code=edited(
            _LN,
            ("mu = x.mean(axis=-1, keepdims=True)", "mu = x.mean(axis=0, keepdims=True)"),
            ("((x - mu) ** 2).mean(axis=-1, keepdims=True)", "((x - mu) ** 2).mean(axis=0, keepdims=True)"),
        ),
        fails=("layer_norm_forward", *_BLOCKS),
    ),
    KnownBug(
        # axis=1 written for "the feature axis", right for a (N, d) input only: on (N, T, d)
        # it normalises over time (the same slip as dim=1 in a 2-D-only tutorial's code).
        name="ln-axis-1-not-last",
        function="layer_norm_forward",
        hint="normalise over the LAST axis, axis=-1: axis=1 is the features only for a 2-D "
        "(N, d) input; for (N, T, d) it is time",
        code=edited(
            _LN,
            ("mu = x.mean(axis=-1, keepdims=True)", "mu = x.mean(axis=1, keepdims=True)"),
            ("((x - mu) ** 2).mean(axis=-1, keepdims=True)", "((x - mu) ** 2).mean(axis=1, keepdims=True)"),
        ),
        fails=("layer_norm_forward", *_BLOCKS),
    ),
    KnownBug(
        # mu subtracted inside the variance only: x / std, the numerator left uncentred.
        name="ln-numerator-not-centred",
        function="layer_norm_forward",
        hint="subtract the mean in the numerator too: (x - mu) / sqrt(var + eps), not x / sqrt(var + eps)",
        code=edited(_LN, ("return (x - mu) / (var + eps)", "return x / (var + eps)")),
        fails=("layer_norm_forward", *_BLOCKS),
    ),
    KnownBug(
        # axis=-1 written on the mean and forgotten on the variance: one variance for the
        # whole batch.
        name="ln-variance-without-axis",
        function="layer_norm_forward",
        hint="both statistics are per position: var = ((x - mu) ** 2).mean(axis=-1, "
        "keepdims=True); without an axis it is one number for the whole array",
        code=edited(_LN, ("((x - mu) ** 2).mean(axis=-1, keepdims=True)", "((x - mu) ** 2).mean(keepdims=True)")),
        fails=("layer_norm_forward", *_BLOCKS),
    ),
    KnownBug(
        # mu and var treated as constants: dx = dout * gamma / std (CS231n's batch-norm
        # assignment reports the same slip for batch norm).
        name="ln-backward-stats-as-constants",
        function="layer_norm_backward",
        hint="mu and var depend on x: dx = (g - mean(g) - xhat * mean(g * xhat)) / sqrt(var + eps), "
        "not just g / sqrt(var + eps)",
        code=edited(
            _LNB,
            ("g - g.mean(axis=-1, keepdims=True) - xhat * (g * xhat).mean(axis=-1, keepdims=True)", "g"),
        ),
    ),
    KnownBug(
        # xhat taken as the centred x, x - mu, without the division by the standard deviation
        # (the two names blur in hand-derived backward passes).
        name="ln-backward-xhat-not-normalized",
        function="layer_norm_backward",
        hint="xhat is the NORMALIZED x, (x - mu) / sqrt(var + eps), not just x - mu: it enters "
        "dgamma and the variance term of dx",
        code=edited(_LNB, ("xhat = (x - mu) * inv_std", "xhat = x - mu")),
    ),
    KnownBug(
        # gamma left out of the upstream gradient: g = dout instead of dout * gamma (the
        # CS231n batch-norm backward's most asked-about slip).
        name="ln-backward-gamma-forgotten",
        function="layer_norm_backward",
        hint="y = xhat * gamma + beta, so the gradient reaching xhat is g = dout * gamma, and "
        "dx is built from g, not from dout",
        code=edited(_LNB, ("g = dout * gamma", "g = dout")),
    ),
    KnownBug(
        # dgamma = sum(xhat): the upstream gradient dout forgotten in the product.
        name="ln-backward-dgamma-without-dout",
        function="layer_norm_backward",
        hint="dgamma = sum of dout * xhat (the chain rule's upstream gradient times d y / d gamma "
        "= xhat), not the sum of xhat alone",
        code=edited(_LNB, ("(dout * xhat).reshape(-1, d)", "xhat.reshape(-1, d)")),
    ),
    KnownBug(
        # The variance's path kept, the mean's forgotten (the twin of the next one).
        name="ln-backward-misses-mean-term",
        function="layer_norm_backward",
        hint="mu depends on x too: subtract mean(g) as well as xhat * mean(g * xhat)",
        code=edited(_LNB, ("g - g.mean(axis=-1, keepdims=True) - xhat", "g - xhat")),
    ),
    KnownBug(
        # The bias gradient averaged over the rows instead of summed (a frequent slip for
        # every bias: the loss already carries its own 1/N).
        name="ln-backward-dbeta-averaged",
        function="layer_norm_backward",
        hint="beta is added to every row, so dbeta is the SUM of dout over every axis but the "
        "last, not its mean (the loss's own 1/N is already in dout)",
        code=edited(_LNB, ("dout.reshape(-1, d).sum(axis=0)", "dout.reshape(-1, d).mean(axis=0)")),
    ),
    KnownBug(
        # The mean's path kept, the variance's path forgotten.
        name="ln-backward-misses-variance-term",
        function="layer_norm_backward",
        hint="var depends on x too: subtract xhat * mean(g * xhat) as well as mean(g)",
        code=edited(_LNB, (" - xhat * (g * xhat).mean(axis=-1, keepdims=True)", "")),
    ),
    KnownBug(
        # np.tril(..., k=1) or triu/tril mixed up by one diagonal: the decoder sees the next
        # token, its training loss collapses and generation fails.
        name="causal-mask-leaks-one-future",
        function="causal_mask",
        hint="query i may see keys j <= i only: np.tril with k=0; k=1 lets it see the next position",
        code=edited(_MASK, ("np.tril(np.ones((T, T), dtype=bool))", "np.tril(np.ones((T, T), dtype=bool), k=1)")),
        fails=("causal_mask", "decoder_block", *_MODEL),
    ),
    KnownBug(
        # nn.Transformer.generate_square_subsequent_mask / nn.MultiheadAttention's boolean
        # attn_mask: True = NOT allowed.
        name="causal-mask-true-is-masked",
        kind="convention",
        function="causal_mask",
        hint="this is nn.MultiheadAttention's polarity (True = not allowed, np.triu(k=1)); this "
        "exercise's masks use True = attend, as F.scaled_dot_product_attention: np.tril(k=0)",
        code=edited(_MASK, ("np.tril(np.ones((T, T), dtype=bool))", "np.triu(np.ones((T, T), dtype=bool), k=1)")),
        fails=("causal_mask", "decoder_block", *_MODEL),
    ),
    KnownBug(
        # Scores divided by sqrt(d_model) instead of sqrt(d_head).
        name="mha-scale-sqrt-d-model",
        function="multi_head_attention",
        hint="each head's scores are divided by sqrt(d_head) = sqrt(d / n_heads), the size of "
        "the vectors whose dot product it is, not sqrt(d_model)",
        code=edited(_MHA, ("/ dh**0.5", "/ d**0.5")),
        fails=("multi_head_attention", *_BLOCKS),
    ),
    KnownBug(
        # "Divide by d^-0.5": the scores multiplied by sqrt(d_head) (a sign slip in the
        # exponent, reported with q * d**-0.5 written as q / d**-0.5).
        name="mha-multiplies-by-sqrt-d-head",
        function="multi_head_attention",
        hint="DIVIDE the scores by sqrt(d_head) (or multiply by d_head ** -0.5): multiplying by "
        "sqrt(d_head) sharpens the softmax instead of calming it",
        code=edited(_MHA, ("/ dh**0.5", "* dh**0.5")),
        fails=("multi_head_attention", *_BLOCKS),
    ),
    KnownBug(
        # A reshape straight to (N, H, T, dh): heads built from mixed positions.
        name="mha-heads-without-transpose",
        function="multi_head_attention",
        hint="split the features, not the positions: reshape (N, T, H, d_head) THEN transpose(1, 2)",
        code=edited(_MHA, ("t.reshape(N, T, n_heads, dh).transpose(1, 2)", "t.reshape(N, n_heads, T, dh)")),
        fails=("multi_head_attention", *_BLOCKS),
    ),
    KnownBug(
        # The merge's twin of the split slip: (N, H, Tq, dh) reshaped straight to (N, Tq, d).
        name="mha-merge-without-transpose",
        function="multi_head_attention",
        hint="merge the heads back position by position: (N, H, Tq, d_head) -> transpose(1, 2) "
        "-> (N, Tq, H, d_head) -> reshape (N, Tq, d); a reshape alone mixes positions",
        code=edited(_MHA, ("(weights @ v).transpose(1, 2).reshape(N, Tq, d)", "(weights @ v).reshape(N, Tq, d)")),
        fails=("multi_head_attention", *_BLOCKS),
    ),
    KnownBug(
        # softmax over dim=-2 (the queries) instead of the keys.
        name="mha-softmax-over-queries",
        function="multi_head_attention",
        hint="normalise over the keys (the last axis): each query's weights sum to 1",
        code=edited(
            _MHA,
            ("scores.amax(dim=-1, keepdim=True)", "scores.amax(dim=-2, keepdim=True)"),
            ("e.sum(dim=-1, keepdim=True)", "e.sum(dim=-2, keepdim=True)"),
        ),
        fails=("multi_head_attention", *_BLOCKS),
    ),
    KnownBug(
        # masked_fill(mask, -inf) with our True = attend mask: the kept keys are hidden.
        name="mha-mask-polarity-reversed",
        kind="convention",
        function="multi_head_attention",
        hint="you masked where the mask is True (nn.MultiheadAttention's polarity); here True "
        "means attend (F.scaled_dot_product_attention's): hide the keys where it is False",
        code=edited(_MHA, ("scores.masked_fill(~keep,", "scores.masked_fill(keep,")),
        fails=("multi_head_attention", "decoder_block", *_MODEL),
    ),
    KnownBug(
        # A ReLU after the second linear layer too (the FFN's output is a residual update
        # and must be able to be negative).
        name="ffn-relu-on-output",
        function="feed_forward",
        hint="only the hidden layer has a ReLU: relu(x @ W1 + b1) @ W2 + b2",
        code=edited(_FFN, ("return torch.relu(torch.as_tensor(x) @ W1 + b1) @ W2 + b2",
                           "return torch.relu(torch.relu(torch.as_tensor(x) @ W1 + b1) @ W2 + b2)")),  # fmt: skip
        fails=("feed_forward", *_BLOCKS),
    ),
    KnownBug(
        # The original paper's block: x = LN(x + sublayer(x)), PyTorch's norm_first=False.
        name="encoder-post-ln",
        kind="convention",
        function="encoder_block",
        hint=_POST_LN,
        code=edited(
            _ENC,
            ("""    h = layer_norm_forward(x, p["ln1_gamma"], p["ln1_beta"])
    x = x + multi_head_attention(h, h, attn, n_heads)[0]
    h = layer_norm_forward(x, p["ln2_gamma"], p["ln2_beta"])
    return x + feed_forward(h, p["ffn_W1"], p["ffn_b1"], p["ffn_W2"], p["ffn_b2"])""",
             """    x = layer_norm_forward(x + multi_head_attention(x, x, attn, n_heads)[0], p["ln1_gamma"], p["ln1_beta"])
    f = feed_forward(x, p["ffn_W1"], p["ffn_b1"], p["ffn_W2"], p["ffn_b2"])
    return layer_norm_forward(x + f, p["ln2_gamma"], p["ln2_beta"])"""),
        ),  # fmt: skip
        fails=("encoder_block", *_MODEL),
    ),
    KnownBug(
        # Pre-LN with the residual taken from the normalized copy: x = LN(x); x = x + f(x).
        name="encoder-residual-after-norm",
        function="encoder_block",
        hint="in a pre-LN block the residual adds the block's input x, not its normalized copy: "
        "x = x + MHA(LN1(x)), never h = LN1(x); x = h + MHA(h)",
        code=edited(_ENC, ("x = x + multi_head_attention(h, h, attn", "x = h + multi_head_attention(h, h, attn")),
        fails=("encoder_block", *_MODEL),
    ),
    KnownBug(
        # Cross-attention's keys and values taken from the decoder's own sequence.
        name="decoder-cross-attention-keys-from-decoder",
        function="decoder_block",
        hint="cross-attention: queries from the decoder (LN2(x)), keys AND values from the "
        "encoder's memory: multi_head_attention(h, memory, ...)",
        code=edited(_DEC, ("multi_head_attention(h, memory, ca", "multi_head_attention(h, h, ca")),
        fails=("decoder_block", *_MODEL),
    ),
    KnownBug(
        # A GPT-style decoder-only block (masked self-attention and FFN): the encoder's memory
        # never used.
        name="decoder-no-cross-attention",
        function="decoder_block",
        hint="an encoder-decoder's decoder block has THREE sublayers: causal self-attention, "
        "cross-attention on the memory (x = x + MHA(LN2(x), memory)), then the FFN on LN3(x)",
        code=edited(_DEC, ("    x = x + multi_head_attention(h, memory, ca, n_heads)[0]\n", "")),
        fails=("decoder_block", *_MODEL),
    ),
    KnownBug(
        # The decoder's self-attention left unmasked.
        name="decoder-self-attention-not-causal",
        function="decoder_block",
        hint="the decoder's self-attention takes causal_mask(T): position i may not see i + 1, ...",
        code=edited(_DEC, ("sa, n_heads, causal_mask(x.shape[1]))", "sa, n_heads)")),
        fails=("decoder_block", *_MODEL),
    ),
    KnownBug(
        # The FFN sublayer's residual forgotten: the block returns FFN(LN(x)) alone, so
        # everything the attentions added is lost.
        name="decoder-ffn-residual-missing",
        function="decoder_block",
        hint="every sublayer of a pre-LN block is residual, the FFN too: return x + FFN(LN3(x))",
        code=edited(_DEC, ("    return x + feed_forward(h, p", "    return feed_forward(h, p")),
        fails=("decoder_block", *_MODEL),
    ),
    KnownBug(
        # The post-LN decoder block of the original paper.
        name="decoder-post-ln",
        kind="convention",
        function="decoder_block",
        hint=_POST_LN,
        code=edited(
            _DEC,
            ("""    h = layer_norm_forward(x, p["ln1_gamma"], p["ln1_beta"])
    x = x + multi_head_attention(h, h, sa, n_heads, causal_mask(x.shape[1]))[0]
    h = layer_norm_forward(x, p["ln2_gamma"], p["ln2_beta"])
    x = x + multi_head_attention(h, memory, ca, n_heads)[0]
    h = layer_norm_forward(x, p["ln3_gamma"], p["ln3_beta"])
    return x + feed_forward(h, p["ffn_W1"], p["ffn_b1"], p["ffn_W2"], p["ffn_b2"])""",
             """    s = multi_head_attention(x, x, sa, n_heads, causal_mask(x.shape[1]))[0]
    x = layer_norm_forward(x + s, p["ln1_gamma"], p["ln1_beta"])
    x = layer_norm_forward(x + multi_head_attention(x, memory, ca, n_heads)[0], p["ln2_gamma"], p["ln2_beta"])
    f = feed_forward(x, p["ffn_W1"], p["ffn_b1"], p["ffn_W2"], p["ffn_b2"])
    return layer_norm_forward(x + f, p["ln3_gamma"], p["ln3_beta"])"""),
        ),  # fmt: skip
        fails=("decoder_block", *_MODEL),
    ),
    KnownBug(
        # The paper multiplies the embeddings by sqrt(d_model) before adding PE
        # (section 3.4; the Annotated Transformer's Embeddings module does too).
        name="embeddings-scaled-by-sqrt-d-model",
        kind="convention",
        function="transformer_forward",
        hint="this is the paper's scaling, embeddings * sqrt(d_model) before adding PE; this "
        "exercise adds the positional encoding to the unscaled embeddings, as the docstring says",
        code=edited(_MODEL_CODE, ("return table[tokens] + torch", "return table[tokens] * table.shape[1] ** 0.5 + torch")),
        fails=_MODEL,
    ),
    KnownBug(
        # Positions forgotten: attention sees a set, so reversal cannot be learned.
        name="no-positional-encoding",
        function="transformer_forward",
        hint="add positional_encoding(T, d_model) to both embeddings: attention alone cannot tell positions apart",
        code=edited(_MODEL_CODE, ("return table[tokens] + torch.as_tensor(pe, dtype=table.dtype)", "return table[tokens]")),
        fails=_MODEL,
    ),
    KnownBug(
        # Adam's bias correction left out (the first steps of m and s, started at 0, are then
        # too small by 1 - beta^t): a classic of hand-written Adam, CS231n's optim.py included.
        name="adam-without-bias-correction",
        function="train_transformer",
        hint="divide m by (1 - 0.9**t) and s by (1 - 0.999**t), t counting steps from 1: "
        "without it the first steps use moments biased towards 0",
        code=edited(_TRAIN, ("(m_w / (1 - 0.9**t)) / ((s_w / (1 - 0.999**t)).sqrt() + 1e-8)",
                             "m_w / (s_w.sqrt() + 1e-8)")),  # fmt: skip
    ),
    KnownBug(
        # Teacher forcing without the shift: the decoder is fed the token it must predict.
        name="decoder-input-not-shifted",
        function="train_transformer",
        hint="the decoder's input at position t is the PREVIOUS target token: tgt_in = [0, tgt[:, :-1]], "
        "else it learns to copy its input and fails when it has to predict",
        code=edited(_TRAIN, ("tgt_in = torch.cat([torch.zeros_like(tgt_t[:, :1]), tgt_t[:, :-1]], dim=1)", "tgt_in = tgt_t")),
    ),
]

# Audit mutants reviewed as equivalent (`nnfs audit transformer`, 361 mutants, 2026-11-30).
EQUIVALENT = {
    "positional_encoding/sibling/zeros->ones#0": "every entry of pe is overwritten by the sin and cos slices",
    "layer_norm_backward/constant/1->2#6": "NumPy reads any negative size in reshape as 'infer it': -2 works as -1",
    "layer_norm_backward/constant/1->2#7": "NumPy reads any negative size in reshape as 'infer it': -2 works as -1",
    "multi_head_attention/swap-args/swap first two arguments#0": "transpose(2, 1) swaps the same two axes as transpose(1, 2)",
    "multi_head_attention/arith/Add->Sub#1": "a key bias adds q.bk to every score of a query's row: softmax cancels it (bk has no effect on any output)",
    "multi_head_attention/swap-args/swap first two arguments#5": "transpose(-1, -2) swaps the same two axes as transpose(-2, -1)",
    "multi_head_attention/arith/drop unary minus#0": "on the 4-D (N, H, T, d_head) scores axis 2 is axis -2: the same transpose",
    "multi_head_attention/sibling/zeros_like->ones_like#0": "only used where a row's max is -inf (every key masked): exp(-inf - 1) is 0 as exp(-inf - 0)",
    "multi_head_attention/constant/0->1#0": "after subtracting the row max one term is exp(0) = 1, so a sum is 0 or >= 1: dividing by 1 where it is exactly 1 changes nothing",
    "multi_head_attention/swap-args/swap first two arguments#10": "transpose(2, 1) swaps the same two axes as transpose(1, 2)",
    "train_transformer/arith/Add->Sub#1": "Adam's eps (1e-8) against sqrt(v) ~ 1e-3 or more on this task: the loss curve moves below the training test's tolerance",
}
