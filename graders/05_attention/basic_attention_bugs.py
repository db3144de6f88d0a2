"""Known bugs of basic-attention: each an edit of the reference function as the solution
file has it."""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

_SM = reference_function(__file__, "masked_softmax")
_SM_BACK = reference_function(__file__, "masked_softmax_backward")
_ADD = reference_function(__file__, "additive_scores")
_ADD_BACK = reference_function(__file__, "additive_scores_backward")
_MUL = reference_function(__file__, "multiplicative_scores")
_MUL_BACK = reference_function(__file__, "multiplicative_scores_backward")
_FWD = reference_function(__file__, "attention_forward")
_BACK = reference_function(__file__, "attention_backward")
# masked_softmax is called by its backward and by both attention functions; a score by both
# attention functions (through attention_scores)
_SM_FAILS = ("masked_softmax", "masked_softmax_backward", "attention_forward", "attention_backward")
_STABLE_SOFTMAX = (
    "    s = scores if mask is None else np.where(mask, scores, -np.inf)\n"
    "    m = s.max(axis=-1, keepdims=True)\n"
    "    m = np.where(np.isfinite(m), m, 0.0)  # a fully masked row: its max is -inf\n"
    "    e = np.exp(s - m)\n"
    "    z = e.sum(axis=-1, keepdims=True)\n"
    "    return e / np.where(z > 0, z, 1.0)\n"
)


def _softmax_body(body: str) -> str:
    return edited(_SM, (_STABLE_SOFTMAX, body))


BUGS = [
    KnownBug(
        # Zeroing the weights after a plain softmax (D2L forum threads on masked_softmax):
        # the kept weights no longer sum to 1.
        name="mask-after-softmax",
        function="masked_softmax",
        hint="mask the scores (-inf) before the softmax; zeroing weights after it leaves rows "
        "that do not sum to 1",
        code=_softmax_body(
            "    e = np.exp(scores - scores.max(axis=-1, keepdims=True))\n"
            "    w = e / e.sum(axis=-1, keepdims=True)\n"
            "    return w if mask is None else w * mask\n"
        ),
        fails=_SM_FAILS,
    ),
    KnownBug(
        # ... and renormalised: right in exact arithmetic, but a masked score that dominates
        # the row underflows every kept weight to 0, and a fully masked row is 0 / 0.
        name="mask-after-softmax-renormalised",
        function="masked_softmax",
        hint="renormalising after the softmax divides 0 by 0 when a masked score dominates the "
        "row (or every key is masked): mask the scores with -inf before the softmax",
        code=_softmax_body(
            "    e = np.exp(scores - scores.max(axis=-1, keepdims=True))\n"
            "    w = e / e.sum(axis=-1, keepdims=True)\n"
            "    if mask is None:\n"
            "        return w\n"
            "    w = w * mask\n"
            "    return w / w.sum(axis=-1, keepdims=True)\n"
        ),
        fails=_SM_FAILS,
    ),
    KnownBug(
        # The -1e9 fill of many tutorials (Annotated Transformer, D2L's -1e6): a fully masked
        # row becomes uniform 1/Tk, and -1e9 overflows to -inf in float16.
        name="mask-fill-minus-1e9",
        function="masked_softmax",
        hint="a finite fill such as -1e9 gives a fully masked row uniform weights 1/Tk (and "
        "overflows in float16): fill with -np.inf and return 0 for a fully masked row",
        code=edited(
            _SM,
("np.where(mask, scores, -np.inf)", "np.where(mask, scores, -1e9)")),
        fails=_SM_FAILS,
    ),
    KnownBug(
        # -inf without a guard: exp(-inf - -inf) = NaN on a fully masked row (PyTorch issue
        # 41508, "softmax of all -inf gives NaN"; SDPA returns NaN there too).
        name="fully-masked-row-nan",
        function="masked_softmax",
        hint="a fully masked row has max -inf: -inf - (-inf) is NaN. Use 0 as that row's max "
        "and divide by 1 where the sum is 0, so the row's weights are 0",
        code=edited(
            _SM,
            ("    m = np.where(np.isfinite(m), m, 0.0)  # a fully masked row: its max is -inf\n", ""),
            ("e / np.where(z > 0, z, 1.0)", "e / z"),
        ),
        fails=_SM_FAILS,
    ),
    KnownBug(
        # nn.MultiheadAttention's key_padding_mask / attn_mask: True = ignore.
        name="mask-polarity-true-means-ignore",
        kind="convention",
        function="masked_softmax",
        hint="you read True as 'masked out', nn.MultiheadAttention's convention; this exercise "
        "uses True = keep, like F.scaled_dot_product_attention's boolean attn_mask: "
        "np.where(mask, scores, -np.inf)",
        code=edited(_SM, ("np.where(mask, scores, -np.inf)", "np.where(mask, -np.inf, scores)")),
        fails=_SM_FAILS,
    ),
    KnownBug(
        # The softmax taken over the queries (axis=1 / -2), a classic with (N, Tq, Tk) scores.
        name="softmax-over-queries",
        function="masked_softmax",
        hint="each query's weights are a distribution over the keys: the softmax runs over the "
        "last axis (axis=-1), not over the queries",
        code=edited(
            _SM,
            ("s.max(axis=-1, keepdims=True)", "s.max(axis=-2, keepdims=True)"),
            ("e.sum(axis=-1, keepdims=True)", "e.sum(axis=-2, keepdims=True)"),
        ),
        fails=_SM_FAILS,
    ),
    KnownBug(
        # No max subtraction: exp(1e4) = inf, inf / inf = NaN.
        name="softmax-without-max-shift",
        function="masked_softmax",
        hint="exp overflows for scores of 1e4: subtract each row's max (over the kept scores) first",
        code=edited(_SM, ("e = np.exp(s - m)", "e = np.exp(s)")),
        fails=("masked_softmax", "masked_softmax_backward"),
    ),
    KnownBug(
        # Only the Jacobian's diagonal w (1 - w), as if each weight depended on its own score.
        name="softmax-grad-diagonal-only",
        function="masked_softmax_backward",
        hint="each weight depends on every score of its row: ds = w * (dw - (dw * w).sum(-1)), "
        "not dw * w * (1 - w)",
        code=edited(
            _SM_BACK,
            ("w * (dweights - (dweights * w).sum(axis=-1, keepdims=True))", "dweights * w * (1 - w)"),
        ),
        fails=("masked_softmax_backward", "attention_backward"),
    ),
    KnownBug(
        # v^T (q Wq + k Wk): the nonlinearity forgotten, so the score is linear in q and k.
        name="additive-without-tanh",
        function="additive_scores",
        hint="Bahdanau's score is v . tanh(q Wq + k Wk): the tanh is what makes it more than "
        "a bilinear score",
        code=edited(_ADD, ("a = np.tanh((q @ Wq)[:, :, None, :] + (k @ Wk)[:, None, :, :])",
                           "a = (q @ Wq)[:, :, None, :] + (k @ Wk)[:, None, :, :]")),  # fmt: skip
        fails=("additive_scores", "attention_forward", "attention_backward"),
    ),
    KnownBug(
        # nn.Linear's (out, in) weights used as they are stored.
        name="additive-weights-out-in",
        kind="convention",
        function="additive_scores",
        hint="you used Wq and Wk as (out, in), nn.Linear's storage (q @ Wq.T); this exercise "
        "keeps weights as (in, out) and applies them as q @ Wq, as the lesson states",
        code=edited(_ADD, ("(q @ Wq)[:, :, None, :] + (k @ Wk)", "(q @ Wq.T)[:, :, None, :] + (k @ Wk.T)")),
        fails=("additive_scores", "attention_forward", "attention_backward"),
    ),
    KnownBug(
        # tanh' taken of the activated value: 1 - tanh(a)**2 where a = tanh(.) already.
        name="additive-tanh-grad-of-activated",
        function="additive_scores_backward",
        hint="a = tanh(z) is already activated: its derivative is 1 - a**2, not 1 - tanh(a)**2",
        code=edited(_ADD_BACK, ("v * (1 - a**2)", "v * (1 - np.tanh(a) ** 2)")),
        fails=("additive_scores_backward", "attention_backward"),
    ),
    KnownBug(
        # q W^T k: W read as (out, in), as nn.Linear stores it.
        name="general-weight-out-in",
        kind="convention",
        function="multiplicative_scores",
        hint="you used W as (out, in), nn.Linear's storage (q @ W.T); this exercise keeps W as "
        "(dq, dk) and scores (q @ W) . k, as the lesson states",
        code=edited(_MUL, ("q = q @ W", "q = q @ W.T")),
        fails=("multiplicative_scores", "attention_forward", "attention_backward"),
    ),
    KnownBug(
        # dW averaged over the batch instead of summed (CS231n forum: "should I divide by N?").
        name="general-weight-grad-averaged-over-batch",
        function="multiplicative_scores_backward",
        hint="W is shared by every sample: its gradient is the sum over the batch, not the mean",
        code=edited(_MUL_BACK, ("(q.transpose(0, 2, 1) @ dqw).sum(axis=0)", "(q.transpose(0, 2, 1) @ dqw).mean(axis=0)")),
        fails=("multiplicative_scores_backward", "attention_backward"),
    ),
    KnownBug(
        # The mask computed and then never passed on (the forward ignores it).
        name="attention-mask-not-passed",
        function="attention_forward",
        hint="pass the mask on: weights = masked_softmax(scores, mask)",
        code=edited(_FWD, ("attention_scores(q, k, params, score), mask)", "attention_scores(q, k, params, score))")),
    ),
    KnownBug(
        # The softmax skipped on the way back: dL/dweights used as dL/dscores.
        name="attention-backward-skips-softmax",
        function="attention_backward",
        hint="the scores reach the context through the softmax: dscores = "
        "masked_softmax_backward(dweights, scores, mask), not dweights",
        code=edited(_BACK, ("masked_softmax_backward(dcontext @ values.transpose(0, 2, 1), scores, mask)",
                            "dcontext @ values.transpose(0, 2, 1)")),  # fmt: skip
    ),
]

# Audit mutants reviewed as equivalent to the reference (no input can tell them apart).
EQUIVALENT = {
    "masked_softmax/constant/0.0->1#0": "a fully masked row's max replaced by 1 instead of 0: "
    "exp(-inf - 1) is still exactly 0, so the row is still 0",
    "masked_softmax/constant/1.0->2#0": "a fully masked row divides e = 0 by 2 instead of 1: still 0",
    "masked_softmax/constant/0->1#0": "np.where(z > 1, z, 1.0): a row with a kept key has z >= 1 "
    "(its max contributes exp(0) = 1), and z == 1 gives 1.0 == z; an empty row gives 1.0 as before",
    "additive_scores/transpose/add .T to right operand#2": "v is the 1-D score vector (d_attn,), "
    "and .T of a 1-D array is the same array",
}
