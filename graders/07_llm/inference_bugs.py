"""Known bugs of inference: each an edit of the reference function as the solution file has it."""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

_ABSMAX = reference_function(__file__, "quantize_absmax")
_ZP = reference_function(__file__, "quantize_zeropoint")
_DEQ = reference_function(__file__, "dequantize")
_STEP = reference_function(__file__, "kv_cache_step")
_DECODE = reference_function(__file__, "kv_cache_decode")
_SPEC = reference_function(__file__, "speculative_decode")
_MODEL = reference_function(__file__, "model_memory")
_KV = reference_function(__file__, "kv_cache_memory")

BUGS = [
    KnownBug(
        # Issue 25's: the scale from the largest value, not the largest magnitude (x.max()
        # where abs(x).max() is meant): a weight row whose extreme is negative then clips.
        name="absmax-scale-from-max-not-abs",
        function="quantize_absmax",
        hint="absmax scales by the largest MAGNITUDE: scale = max|x| / 127 (np.abs first), so that the most "
        "negative value fits too",
        code=edited(_ABSMAX, ("amax = np.abs(c).max(", "amax = c.max(")),
    ),
    KnownBug(
        # Issue 25's rounding by truncation: astype(np.int8) on floats truncates toward 0.
        name="absmax-truncates-not-rounds",
        function="quantize_absmax",
        hint="round to the nearest integer before the cast: astype(np.int8) truncates toward 0, which doubles "
        "the error bound",
        code=edited(
            _ABSMAX, ("np.clip(np.round(x / scale), -127, 127)", "np.clip(x / scale, -127, 127)")
        ),
    ),
    KnownBug(
        # No clamp: values beyond the calibrated range wrap around in int8 (128 -> -128).
        name="absmax-no-clamp",
        function="quantize_absmax",
        hint="clamp round(x / scale) to [-127, 127] before casting: a value beyond the calibrated range would "
        "wrap around in int8 (128 becomes -128)",
        code=edited(_ABSMAX, ("np.clip(np.round(x / scale), -127, 127)", "np.round(x / scale)")),
    ),
    KnownBug(
        # Issue 25's: the channel axis read as the axis to reduce (max(axis=axis)): one
        # scale per input column of a weight instead of one per output row.
        name="per-channel-wrong-axis",
        function="quantize_absmax",
        hint="`axis` is the CHANNEL axis: one scale per index along it, the max taken over every OTHER axis "
        "(for W (out, in) with axis=0: over each row)",
        code=edited(_ABSMAX, ("tuple(i for i in range(c.ndim) if i != axis % c.ndim)", "axis")),
    ),
    KnownBug(
        # The same reading of `axis` in the zero-point scheme (min and max taken along the
        # channel axis): one range per input column of a weight instead of one per output row.
        name="zeropoint-per-channel-wrong-axis",
        function="quantize_zeropoint",
        hint="`axis` is the CHANNEL axis: one range [lo, hi] per index along it, min and max taken over "
        "every OTHER axis (for W (out, in) with axis=0: over each row)",
        code=edited(_ZP, ("tuple(i for i in range(c.ndim) if i != axis % c.ndim)", "axis")),
    ),
    KnownBug(
        # Issue 25's: the zero-point code without clamping to [-128, 127].
        name="zeropoint-no-clamp",
        function="quantize_zeropoint",
        hint="clamp round(x / scale) + zero_point to [-128, 127] before casting: values beyond the calibrated "
        "range would wrap around in int8",
        code=edited(
            _ZP,
            (
                "np.clip(np.round(x / scale) + zero_point, -128, 127)",
                "np.round(x / scale) + zero_point",
            ),
        ),
    ),
    KnownBug(
        # The tutorial form that maps [min, max] without widening it to 0.
        name="zeropoint-range-not-widened-to-zero",
        kind="convention",
        function="quantize_zeropoint",
        hint="you mapped [min x, max x] itself (many tutorials do); this exercise widens the range to include "
        "0 (lo = min(min x, 0), hi = max(max x, 0)), as PyTorch's observers do, so that 0 (padding, a ReLU's "
        "zeros) is exactly representable and the zero point is a valid int8",
        code=edited(
            _ZP,
            (
                "lo = np.minimum(c.min(axis=others, keepdims=axis is not None), 0)",
                "lo = c.min(axis=others, keepdims=axis is not None)",
            ),
            (
                "hi = np.maximum(c.max(axis=others, keepdims=axis is not None), 0)",
                "hi = c.max(axis=others, keepdims=axis is not None)",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # The zero point kept as a float (not rounded): 0 is no longer exactly representable.
        name="zeropoint-not-rounded",
        function="quantize_zeropoint",
        hint="the zero point is an INTEGER: zero_point = -128 - round(lo / scale), so that q = zero_point "
        "means exactly 0",
        code=edited(_ZP, ("(-128 - np.round(lo / scale)).astype(np.int64)", "-128 - lo / scale")),
    ),
    KnownBug(
        # int8 - int8 wraps around silently in NumPy and torch alike (NumPy's documented
        # fixed-width integer overflow): q and an int8 zero point subtracted as they are.
        name="dequantize-int8-overflow",
        function="dequantize",
        hint="subtract in a wide type: np.asarray(q).astype(np.int64) - zero_point; int8 - int8 wraps around "
        "(127 - (-128) gives -1)",
        code=edited(
            _DEQ,
            (
                "np.asarray(q).astype(np.int64) - np.asarray(zero_point).astype(np.int64)",
                "np.asarray(q) - np.asarray(zero_point)",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # The zero point added instead of subtracted (the quantize formula's sign kept).
        name="dequantize-adds-zero-point",
        function="dequantize",
        hint="undo the shift: x_hat = (q - zero_point) * scale; quantizing ADDED the zero point",
        code=edited(
            _DEQ,
            (
                "np.asarray(q).astype(np.int64) - np.asarray(zero_point)",
                "np.asarray(q).astype(np.int64) + np.asarray(zero_point)",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # The position table indexed from 0 on every call: each new token gets position
        # 0 (the "rotary cache ignoring the offset" of issue 25, with learned positions).
        name="kv-positions-restart-at-zero",
        function="kv_cache_step",
        hint="new tokens sit at positions start .. start + T_new - 1: wpe[start : start + T_new], not wpe[:T_new]",
        code=edited(_STEP, ('p["wpe"][start : start + T]', 'p["wpe"][:T]')),
        fails=("kv_cache_step", "kv_cache_decode"),
    ),
    KnownBug(
        # The cache appended after attention: a new token attends to the past only, not to
        # itself (and the first prompt token to nothing at all).
        name="kv-cache-appended-after-attention",
        function="kv_cache_step",
        hint="append the new keys and values to the cache FIRST, then attend: token i sees every key j <= "
        "start + i, its own included",
        code=edited(_STEP, ("<= past + np.arange(T)", "< past + np.arange(T)")),
        fails=("kv_cache_step", "kv_cache_decode"),
    ),
    KnownBug(
        # No mask in the cached step ("one new token needs no mask"), also applied to a
        # prompt or chunk of several tokens: they see each other's future.
        name="kv-step-without-causal-mask",
        function="kv_cache_step",
        hint="a step of several new tokens (the prompt, a chunk) still needs the causal mask, shifted by "
        "start: token i sees keys j <= start + i",
        code=edited(
            _STEP,
            (
                "np.where(keep, q @ k.transpose(0, 2, 1) / math.sqrt(dh), -np.inf)",
                "q @ k.transpose(0, 2, 1) / math.sqrt(dh)",
            ),
        ),  # fmt: skip
        # only the prefill lacks its mask: it changes the cached keys of the second layer
        # on, which the greedy tokens of the decode cases survive; the step's logits show it
        fails=("kv_cache_step",),
    ),
    KnownBug(
        # Issue 25's: the offset counted twice after the prompt (start = len(prompt) + the
        # length of a list that already holds the prompt).
        name="kv-offset-counted-twice",
        function="kv_cache_decode",
        hint="the token you feed sits at position len(tokens) - 1, where tokens already holds the prompt: "
        "do not add len(prompt) again",
        code=edited(_DECODE, ("cache, len(tokens) - 1,", "cache, len(prompt) + len(tokens) - 1,")),
    ),
    KnownBug(
        # Leviathan et al.'s ratio inverted: accept with q / p.
        name="spec-accept-ratio-inverted",
        function="speculative_decode",
        hint="accept x with probability min(1, p(x) / q(x)): target over draft, so that tokens the draft "
        "over-proposes are thinned out",
        code=edited(_SPEC, ("P[ctx, x] / Q[ctx, x]", "Q[ctx, x] / P[ctx, x]")),
    ),
    KnownBug(
        # max(0, p - q) used as it is: its mass is below 1, and the inverse CDF then falls
        # past its end onto the last token (np.random.choice would refuse it).
        name="spec-residual-not-normalised",
        function="speculative_decode",
        hint="after a rejection draw from max(0, p - q) / sum(max(0, p - q)): the residual must be renormalised",
        code=edited(_SPEC, ("                dist = dist / dist.sum()\n", "")),
    ),
    KnownBug(
        # The round ends after gamma acceptances with no bonus token (correct in
        # distribution, one target call wasted per round).
        name="spec-no-bonus-token",
        function="speculative_decode",
        hint="when every draft is accepted, the target's distribution at the last one is already computed: "
        "draw a bonus token from it, so a round emits accepted + 1 tokens",
        code=edited(
            _SPEC,
            (
                """        else:
            dist = P[ctx]
        tokens.append(""",
                """        else:
            dist = None
        if dist is not None:
            tokens.append(""",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # p and q read at prev for every draft: the context not advanced along the draft.
        name="spec-context-not-advanced",
        function="speculative_decode",
        hint="draft token i is judged at ITS context, the token before it (x_{i-1}, or prev for the first): "
        "advance ctx after each acceptance",
        code=edited(
            _SPEC,
            (
                "                accepted[r] += 1\n                ctx = x\n",
                "                accepted[r] += 1\n",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # Ainslie et al.'s GQA ignored: Wk and Wv counted d x d.
        name="model-memory-ignores-gqa",
        function="model_memory",
        hint="with grouped-query attention Wk and Wv are d x (n_kv_heads d_head), smaller than Wq",
        code=edited(_MODEL, ('kv = config["n_kv_heads"] * (d // config["n_heads"])', "kv = d")),
    ),
    KnownBug(
        # The classic two-matrix MLP counted for LLaMA's SwiGLU.
        name="model-memory-mlp-two-matrices",
        function="model_memory",
        hint="SwiGLU has THREE matrices (gate, up: d x d_ff; down: d_ff x d)",
        code=edited(_MODEL, ('3 * d * config["d_ff"]', '2 * d * config["d_ff"]')),
    ),
    KnownBug(
        # The norms' weights left out of the count, as the usual estimate 12 n_layers d^2
        # does (Kaplan et al. 2020, section 2.1, count only the matrices; EleutherAI's
        # "Transformer Math 101" likewise): the two RMSNorms of each layer forgotten.
        name="model-memory-norms-forgotten",
        function="model_memory",
        hint="each layer has two RMSNorms, d weights each: 2 d per layer (and d for the final norm); an "
        "exact count includes them",
        code=edited(_MODEL, (' + 3 * d * config["d_ff"] + 2 * d', ' + 3 * d * config["d_ff"]')),
    ),
    KnownBug(
        # The output layer counted whether or not it is tied.
        name="model-memory-tied-head-counted",
        function="model_memory",
        hint="a tied output layer IS the embedding: count V d once",
        code=edited(_MODEL, ('(0 if config["tie_embeddings"] else V * d)', "V * d")),
    ),
    KnownBug(
        # The KV cache sized with the query heads (MHA's formula kept for a GQA model).
        name="kv-memory-uses-query-heads",
        function="kv_cache_memory",
        hint="the cache stores n_kv_heads heads, not n_heads: grouped-query attention shares each KV head",
        code=edited(_KV, ('config["n_kv_heads"] * d_head', 'config["n_heads"] * d_head')),
    ),
    KnownBug(
        # Keys counted, values forgotten.
        name="kv-memory-keys-only",
        function="kv_cache_memory",
        hint="the cache holds keys AND values: the factor 2",
        code=edited(_KV, ('values = 2 * config["n_layers"]', 'values = config["n_layers"]')),
    ),
]

# a decode that runs one more kv_cache_step (or all of them) after its last token: those
# logits are never used, so no token changes (wasted steps, still within the context)
_WASTED_STEP = "one more kv_cache_step after the last token: its logits are never used"
EQUIVALENT = {
    "kv_cache_decode/compare/Lt->LtE#0": "one more kv_cache_step after the last token: its logits are "
    "never used, so no token changes (a wasted step, still within the context)",
    "quantize_absmax/swap-args/swap first two arguments#0": "np.clip(-127, r, 127) = min(max(-127, r), 127) "
    "= np.clip(r, -127, 127)",
    "kv_cache_memory/arith/FloorDiv->Div#0": "d_model is a multiple of n_heads in every configuration: "
    "d_model / n_heads is the same whole number, and the bytes are returned through int()",
    "model_memory/arith/FloorDiv->Div#0": "d_model is a multiple of n_heads in every configuration: "
    "d_model / n_heads is the same whole number (a float, exact below 2**53), and the bytes go through int()",
    "kv_cache_memory/arith/FloorDiv->Div#1": "the value count 2 L n_kv d_head T B is even, so its bits "
    "are a multiple of 8 for every dtype (int4 included): / 8 is exact and rounding up changes nothing",
    "kv_cache_decode/arith/Add->Sub#0": _WASTED_STEP,
    "kv_cache_decode/drop-term/keep left#0": _WASTED_STEP,
    "kv_cache_decode/drop-term/keep right#0": _WASTED_STEP,
    "kv_cache_decode/constant/1->0#2": _WASTED_STEP,
    "quantize_zeropoint/swap-args/swap first two arguments#0": "np.minimum is symmetric",
    "quantize_zeropoint/swap-args/swap first two arguments#1": "np.maximum is symmetric",
    "quantize_zeropoint/swap-args/swap first two arguments#2": "np.clip(-128, r, 127) = min(max(-128, r), 127) "
    "= np.clip(r, -128, 127)",
    "speculative_decode/constant/1->0#0": "P is a (V, V) bigram table: shape[0] is shape[1]",
    "speculative_decode/swap-args/swap first two arguments#0": "min is symmetric",
    "speculative_decode/swap-args/swap first two arguments#2": "np.maximum is symmetric",
    "speculative_decode/swap-args/swap first two arguments#3": "min is symmetric",
    "speculative_decode/compare/Lt->LtE#0": "u is a continuous uniform draw: u == p / q has probability "
    "~2^-53",
}
