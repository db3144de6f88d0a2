"""Known bugs of self-attention: each an edit of the reference function as the solution file has it."""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

_CAUSAL = reference_function(__file__, "causal_mask")
_PADDING = reference_function(__file__, "padding_mask")
_ATT = reference_function(__file__, "attention")
_BACK = reference_function(__file__, "attention_backward")
_SPLIT = reference_function(__file__, "split_heads")
_MERGE = reference_function(__file__, "merge_heads")
_MHA = reference_function(__file__, "mha_forward")
_MHA_BACK = reference_function(__file__, "mha_backward")
_MASK_LINE = "scores = np.where(mask, scores, -np.inf)"
_SHIFT = "top = np.where(np.isfinite(top), top, 0.0)  # a fully masked row: nothing to shift by"

BUGS = [
    KnownBug(
        # tril(k=1) or a `<=` off by one: the next token leaks into training (nanoGPT and
        # "Let's build GPT" comment threads; the classic "my loss goes to 0" report).
        name="causal-mask-leaks-next-position",
        function="causal_mask",
        hint="query i may see keys 0..i only: key i + 1 is the future it must predict (np.tril with k=0)",
        code=edited(_CAUSAL, ("np.ones((T, T), dtype=bool))", "np.ones((T, T), dtype=bool), k=1)")),
    ),
    KnownBug(
        # A strict lower triangle: a position may not look at itself, and position 0 sees nothing.
        name="causal-mask-excludes-diagonal",
        function="causal_mask",
        hint="the diagonal is kept: query i attends key i (itself); only keys j > i are masked",
        code=edited(
            _CAUSAL, ("np.ones((T, T), dtype=bool))", "np.ones((T, T), dtype=bool), k=-1)")
        ),
    ),
    KnownBug(
        # nn.Transformer.generate_square_subsequent_mask and nn.MultiheadAttention's boolean
        # attn_mask mark the future (True = masked): the other polarity.
        name="causal-mask-true-means-masked",
        kind="convention",
        function="causal_mask",
        hint="this is nn.MultiheadAttention's polarity (True = ignore, the upper triangle); this "
        "exercise marks what a query may attend (True = keep, as F.scaled_dot_product_attention): "
        "the lower triangle with the diagonal",
        code=edited(
            _CAUSAL,
            ("np.tril(np.ones((T, T), dtype=bool))", "np.triu(np.ones((T, T), dtype=bool), k=1)"),
        ),
    ),
    KnownBug(
        # `<=` where `<` belongs: position `length` (the first pad) counted as real.
        name="padding-mask-off-by-one",
        function="padding_mask",
        hint="positions count from 0: a sequence of length L has keys 0..L-1, so key j is real when j < L",
        code=edited(_PADDING, ("np.arange(T)[None, :] <", "np.arange(T)[None, :] <=")),
    ),
    KnownBug(
        # key_padding_mask in nn.MultiheadAttention and HuggingFace's inverted masks mark the pads.
        name="padding-mask-true-means-pad",
        kind="convention",
        function="padding_mask",
        hint="this is nn.MultiheadAttention's key_padding_mask polarity (True = pad, ignore); this "
        "exercise marks the real keys (True = attend): key j is True when j < lengths[n]",
        code=edited(_PADDING, ("np.arange(T)[None, :] <", "np.arange(T)[None, :] >=")),
    ),
    KnownBug(
        # The 1/sqrt(d) left out: the "Attention is all you need" footnote most often skipped.
        name="attention-not-scaled",
        function="attention",
        hint="divide the scores by sqrt(d) (d = q.shape[-1]) before the softmax, or it saturates as d grows",
        code=edited(
            _ATT,
            (
                "scores = (q @ np.swapaxes(k, -1, -2)) * scale",
                "scores = q @ np.swapaxes(k, -1, -2)",
            ),
        ),
        fails=("attention", "attention_backward", "mha_forward", "mha_backward"),
    ),
    KnownBug(
        # d ** 0.5 where d ** -0.5 belongs (sign of the exponent lost).
        name="attention-scale-multiplied",
        function="attention",
        hint="the scale is 1 / sqrt(d): divide the scores by sqrt(d), do not multiply",
        code=edited(_ATT, ("scale = d**-0.5 if", "scale = d**0.5 if")),
    ),
    KnownBug(
        # softmax(axis=1) on (N, Tq, Tk) scores: each key's weights sum to 1 over the queries.
        name="softmax-over-queries",
        function="attention",
        hint="each query's weights sum to 1 over the keys: the softmax runs over the last axis (Tk), not Tq",
        code=edited(
            _ATT,
            (
                "top = scores.max(axis=-1, keepdims=True)",
                "top = scores.max(axis=-2, keepdims=True)",
            ),
            ("total = e.sum(axis=-1, keepdims=True)", "total = e.sum(axis=-2, keepdims=True)"),
        ),
        fails=("attention", "attention_backward", "mha_forward", "mha_backward"),
    ),
    KnownBug(
        # Zeroing the weights after the softmax: the kept weights no longer sum to 1
        # (d2l.ai forum, "masked_softmax" discussions).
        name="mask-after-softmax",
        function="attention",
        hint="mask the scores (set them to -inf) before the softmax; zeroing weights afterwards "
        "leaves rows that no longer sum to 1",
        code=edited(
            _ATT,
            (_MASK_LINE, "pass"),
            (
                "return weights @ v, weights",
                "if mask is not None:\n        weights = weights * mask\n"
                "    return weights @ v, weights",
            ),
        ),  # fmt: skip
        fails=("attention", "attention_backward", "mha_forward", "mha_backward"),
    ),
    KnownBug(
        # The mask used with nn.MultiheadAttention's polarity (True = ignore).
        name="attention-mask-true-means-masked",
        kind="convention",
        function="attention",
        hint="this is nn.MultiheadAttention's polarity (True = ignore); this exercise, like "
        "F.scaled_dot_product_attention, keeps where the mask is True: np.where(mask, scores, -np.inf)",
        code=edited(_ATT, (_MASK_LINE, "scores = np.where(mask, -np.inf, scores)")),
        fails=("attention", "attention_backward", "mha_forward", "mha_backward"),
    ),
    KnownBug(
        # softmax of a row of -inf: (-inf) - (-inf) = NaN (PyTorch issue #41508, SDPA/MHA NaNs).
        name="fully-masked-row-nan",
        function="attention",
        hint="a row with every key masked has max -inf, and -inf - (-inf) is NaN: shift by 0 where "
        "the max is not finite and divide by 1 where the sum is 0, so the row stays 0",
        code=edited(_ATT, (_SHIFT, ""), ("e / np.where(total > 0, total, 1.0)", "e / total")),
        fails=("attention", "attention_backward", "mha_forward", "mha_backward"),
    ),
    KnownBug(
        # masked_fill(mask, -1e9) (the Annotated Transformer): a fully masked row becomes uniform.
        name="mask-fill-finite-negative",
        function="attention",
        hint="-1e9 is not -inf: a fully masked row becomes uniform (the mean of v) instead of 0, and "
        "float16 cannot even hold it; use -np.inf and guard the empty row",
        code=edited(_ATT, (_MASK_LINE, "scores = np.where(mask, scores, -1e9)")),
        fails=("attention", "attention_backward", "mha_forward", "mha_backward"),
    ),
    KnownBug(
        # dS = P * dP: the softmax's Jacobian reduced to its diagonal (CS231n forum classic).
        name="softmax-backward-missing-row-sum",
        function="attention_backward",
        hint="the softmax couples a row: dS = P * (dP - sum(dP * P, axis=-1, keepdims=True)), not P * dP",
        code=edited(
            _BACK, ("weights * (dw - np.sum(dw * weights, axis=-1, keepdims=True))", "weights * dw")
        ),
        fails=("attention_backward", "mha_backward"),
    ),
    KnownBug(
        # The scale applied in the forward, forgotten in the backward.
        name="attention-backward-missing-scale",
        function="attention_backward",
        hint="the scores are q @ k^T * scale, so dq and dk carry the factor scale (1 / sqrt(d)) too",
        code=edited(
            _BACK,
            ("dq = (ds @ k) * scale", "dq = ds @ k"),
            ("dk = (np.swapaxes(ds, -1, -2) @ q) * scale", "dk = np.swapaxes(ds, -1, -2) @ q"),
        ),  # fmt: skip
        fails=("attention_backward", "mha_backward"),
    ),
    KnownBug(
        # x.reshape(N, H, T, d) (the first-listed mistake; "view vs transpose" threads).
        name="split-heads-without-transpose",
        function="split_heads",
        hint="reshaping straight to (N, H, T, d_head) mixes positions into heads: reshape to "
        "(N, T, H, d_head) first, then transpose(0, 2, 1, 3)",
        code=edited(
            _SPLIT,
            (
                ".reshape(N, T, num_heads, D // num_heads).transpose(0, 2, 1, 3)",
                ".reshape(N, num_heads, T, D // num_heads)",
            ),
        ),  # fmt: skip
        fails=("split_heads", "mha_forward", "mha_backward"),
    ),
    KnownBug(
        # reshape(N, T, d, H): heads take every H-th feature instead of a contiguous slice.
        name="split-heads-interleaved",
        function="split_heads",
        hint="head h owns the contiguous features h*d_head..(h+1)*d_head - 1 (PyTorch's layout): "
        "reshape to (N, T, H, d_head), not (N, T, d_head, H)",
        code=edited(
            _SPLIT,
            (
                ".reshape(N, T, num_heads, D // num_heads).transpose(0, 2, 1, 3)",
                ".reshape(N, T, D // num_heads, num_heads).transpose(0, 3, 1, 2)",
            ),
        ),  # fmt: skip
        fails=("split_heads", "mha_forward", "mha_backward"),
    ),
    KnownBug(
        # Merging by reshape alone: the head axis is not moved back first.
        name="merge-heads-without-transpose",
        function="merge_heads",
        hint="move the head axis back next to the features first, transpose(0, 2, 1, 3) to "
        "(N, T, H, d_head), then reshape",
        code=edited(
            _MERGE,
            ("x.transpose(0, 2, 1, 3).reshape(N, T, H * d_head)", "x.reshape(N, T, H * d_head)"),
        ),
        fails=("merge_heads", "mha_forward", "mha_backward"),
    ),
    KnownBug(
        # math.sqrt(self.d_model) in hand-written MHA classes (a frequent blog-post error).
        name="mha-scaled-by-d-model",
        function="mha_forward",
        hint="each head's dot products have d_head = D / H terms: scale by 1 / sqrt(d_head), not 1 / sqrt(D)",
        code=edited(_MHA, ("scale=d_head**-0.5", "scale=D**-0.5")),
    ),
    KnownBug(
        # nn.Linear's (out, in) layout: x @ W.T.
        name="mha-weights-out-in",
        kind="convention",
        function="mha_forward",
        hint="this is nn.Linear's (out, in) layout (x @ W.T); this exercise stores (in, out) weights "
        "applied as x @ W + b (the grader transposes them into PyTorch)",
        code=edited(
            _MHA,
            *((f'x @ params["W_{n}"]', f'x @ params["W_{n}"].T') for n in "qkv"),
            ('@ params["W_o"]', '@ params["W_o"].T'),
        ),  # fmt: skip
    ),
    KnownBug(
        # An (N, T, T) or (N, 1, T) mask used as is against (N, H, T, T) scores: it lines up with
        # the head axis (silently when N == H or N == 1).
        name="mha-mask-not-broadcast-over-heads",
        function="mha_forward",
        hint="the scores are (N, H, T, T): give the mask an axis for the heads, "
        "np.expand_dims(mask, -3), so it broadcasts over them",
        code=edited(_MHA, ("mask = np.expand_dims(mask, -3)", "pass")),
    ),
    KnownBug(
        # Self-attention's x feeds three projections; only the query path back-propagated.
        name="mha-backward-dx-only-through-queries",
        function="mha_backward",
        hint="x is used three times (queries, keys, values): dx = dQ @ W_q^T + dK @ W_k^T + dV @ W_v^T",
        code=edited(
            _MHA_BACK,
            (
                'dx = dQ @ params["W_q"].T + dK @ params["W_k"].T + dV @ params["W_v"].T',
                'dx = dQ @ params["W_q"].T',
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # dW = d(proj)^T @ x: the (out, in) formula of nn.Linear used with (in, out) weights.
        name="mha-weight-grads-transposed",
        function="mha_backward",
        hint="weights here are (in, out) (y = x @ W): dW = x^T @ dy; dy^T @ x is the gradient of "
        "the transposed, (out, in), layout",
        code=edited(
            _MHA_BACK,
            ("flat(merged).T @ flat(dout)", "flat(dout).T @ flat(merged)"),
            ("flat(x).T @ flat(g)", "flat(g).T @ flat(x)"),
        ),  # fmt: skip
    ),
]

EQUIVALENT = {
    "attention/constant/0->1#0": "total sums exp(s - max) over a row, whose maximum gives exp(0) "
    "= 1: total is 0 (a fully masked row) or >= 1, and dividing by 1 where total == 1 is the same",
    "attention/constant/0.0->1#0": "the row max is non-finite only for a fully masked row, whose "
    "scores are all -inf: exp(-inf - 1) is 0 as exp(-inf - 0) is",
    "attention/constant/1.0->2#0": "the fallback divides only a fully masked row, whose e is all 0: "
    "0 / 2 is 0 / 1",
    "mha_forward/arith/FloorDiv->Div#0": "D is a multiple of num_heads (a stated precondition), so "
    "D / num_heads is d_head as a float and the scale 1/sqrt(d_head) is unchanged",
    "mha_backward/arith/FloorDiv->Div#0": "D is a multiple of num_heads, so (D / num_heads) ** -0.5 "
    "is the same scale",
    "mha_forward/arith/Add->Sub#1": "the key bias adds q . b_k to every score of a query's row, a "
    "shift the softmax ignores: attention does not depend on b_k (its gradient is exactly 0)",
    "mha_forward/drop-term/keep left#1": "the key bias adds q . b_k to every score of a query's row, "
    "a shift the softmax ignores: attention does not depend on b_k (its gradient is exactly 0)",
}
