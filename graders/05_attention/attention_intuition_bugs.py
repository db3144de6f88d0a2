"""Known bugs of attention-intuition: each an edit of the reference function as the solution
file has it.

The reference's kernel_regression_backward recomputes its weights with kernel_regression,
fit_bandwidth calls both, and recall_errors calls alignment (as a learner's code usually
does), so a bug in the forward also fails the functions built on it.
"""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

_KR = reference_function(__file__, "kernel_regression")
_BACK = reference_function(__file__, "kernel_regression_backward")
_FIT = reference_function(__file__, "fit_bandwidth")
_ALIGN = reference_function(__file__, "alignment")
_RECALL = reference_function(__file__, "recall_errors")
_KR_FAILS = ("kernel_regression", "kernel_regression_backward", "fit_bandwidth")
_ALIGN_FAILS = ("alignment", "recall_errors")

BUGS = [
    # ------------------------------------------------------------------ kernel_regression
    KnownBug(
        # The softmax's axis: with (M, n) scores, axis=0 normalises over the queries; the
        # most asked question about softmax(dim=...) on the PyTorch forums and in d2l's
        # attention-pooling discussion.
        name="kr-softmax-over-queries",
        function="kernel_regression",
        hint="each query's weights are a distribution over the keys: max and sum along axis 1 "
        "(rows), not axis 0",
        code=edited(
            _KR,
            ("scores.max(axis=1, keepdims=True)", "scores.max(axis=0, keepdims=True)"),
            ("weights.sum(axis=1, keepdims=True)", "weights.sum(axis=0, keepdims=True)"),
        ),
        fails=_KR_FAILS,
    ),
    KnownBug(
        # exp without the max shift: fine near the keys, 0 / 0 = NaN far from them (CS231n's
        # notes on the softmax, "practical issues: numeric stability").
        name="kr-softmax-no-max-subtraction",
        function="kernel_regression",
        hint="for a query far from every key each exp(score) underflows to 0 and 0 / 0 is NaN: "
        "subtract each row's maximum score before np.exp",
        code=edited(_KR, ("    scores = scores - scores.max(axis=1, keepdims=True)\n", "")),
    ),
    KnownBug(
        # RBF kernels are often written exp(-d**2 / sigma**2) (and d2l's first pooling uses
        # exp(-d**2 / 2)): the same family, another scale.
        name="kr-bandwidth-without-2",
        kind="convention",
        function="kernel_regression",
        hint="you wrote exp(-(q - k)**2 / sigma**2), a common way to write an RBF kernel; this "
        "exercise uses the Gaussian density's exp(-(q - k)**2 / (2 sigma**2)), so that sigma is "
        "the kernel's standard deviation",
        code=edited(_KR, ("/ (2 * sigma**2)", "/ sigma**2")),
        fails=_KR_FAILS,
    ),
    KnownBug(
        # sigma taken for the variance: exp(-d**2 / (2 sigma)).
        name="kr-bandwidth-as-variance",
        function="kernel_regression",
        hint="sigma is the kernel's standard deviation: divide by 2 * sigma**2 (the variance is "
        "sigma**2), not by 2 * sigma",
        code=edited(_KR, ("/ (2 * sigma**2)", "/ (2 * sigma)")),
        fails=_KR_FAILS,
    ),
    KnownBug(
        # exp(scores) used as weights: the kernel without its normalisation (Nadaraya-Watson
        # divides by the sum of the kernels).
        name="kr-weights-not-normalised",
        function="kernel_regression",
        hint="divide each row of exp(scores) by its sum: the weights of a query sum to 1",
        code=edited(_KR, ("    weights = weights / weights.sum(axis=1, keepdims=True)\n", "")),
        fails=_KR_FAILS,
    ),
    # ------------------------------------------------------------------ the backward
    KnownBug(
        # The softmax's backward as if it were elementwise, dscores = w * dw: the off-diagonal
        # terms of its Jacobian forgotten (a classic "softmax derivative" question).
        name="krb-softmax-jacobian-diagonal-only",
        function="kernel_regression_backward",
        hint="each weight depends on every score of its row: dscores = w * (dw - sum_j w * dw), "
        "not w * dw",
        code=edited(
            _BACK,
            (
                "weights * (dweights - (weights * dweights).sum(axis=1, keepdims=True))",
                "weights * dweights",
            ),
        ),
        fails=("kernel_regression_backward", "fit_bandwidth"),
    ),
    KnownBug(
        # The other half of the same Jacobian slip: dw - sum_j w dw, the outer factor w_i of
        # d w_i / d s_j = w_i (delta_ij - w_j) forgotten.
        name="krb-softmax-jacobian-missing-weights",
        function="kernel_regression_backward",
        hint="d w_i / d s_j = w_i (delta_ij - w_j): dscores = w * (dw - sum_j w * dw), the "
        "leading w included",
        code=edited(
            _BACK,
            (
                "weights * (dweights - (weights * dweights).sum(axis=1, keepdims=True))",
                "dweights - (weights * dweights).sum(axis=1, keepdims=True)",
            ),
        ),
        fails=("kernel_regression_backward", "fit_bandwidth"),
    ),
    KnownBug(
        # dkeys copied from dqueries: (q - k) differentiates with opposite signs in q and k.
        name="krb-dkeys-sign",
        function="kernel_regression_backward",
        hint="the score depends on q - k: its derivative in k is minus its derivative in q, "
        "dk_j = +sum_i dscores[i, j] (q_i - k_j) / sigma**2",
        code=edited(_BACK, ("dkeys = (dscores * diff)", "dkeys = -(dscores * diff)")),
    ),
    # ------------------------------------------------------------------ fit_bandwidth
    KnownBug(
        # Fitting the bandwidth on the training points themselves: the loss goes to 0 with
        # sigma (every query finds itself); d2l's trainable pooling excludes each query's own key.
        name="fit-on-training-points",
        function="fit_bandwidth",
        hint="the queries and targets of the loss are the held-out x_val, y_val; on the training "
        "points each query finds its own key and sigma -> 0 wins",
        code=edited(
            _FIT,
            ("pred, _ = kernel_regression(x_val,", "pred, _ = kernel_regression(x_train,"),
            ("residual = pred - y_val", "residual = pred - y_train"),
            ("(dpred, x_val, x_train", "(dpred, x_train, x_train"),
        ),
    ),
    KnownBug(
        # The step added instead of subtracted: gradient ascent.
        name="fit-gradient-ascent",
        function="fit_bandwidth",
        hint="descend: sigma = sigma - lr * dsigma",
        code=edited(_FIT, ("sigma = sigma - lr *", "sigma = sigma + lr *")),
    ),
    # ------------------------------------------------------------------ alignment
    KnownBug(
        # The alignment stored (Ts, Tt), sources in rows, as some plotting code does.
        name="alignment-transposed",
        function="alignment",
        hint="rows are target positions, columns source positions: weights (Tt, Ts), each row a "
        "distribution over the sources",
        code=edited(
            _ALIGN,
            ("return weights, weights.argmax(axis=1)", "return weights.T, weights.argmax(axis=1)"),
        ),
        fails=_ALIGN_FAILS,
    ),
    KnownBug(
        # The softmax normalised over the targets (axis 0) instead of the sources.
        name="alignment-softmax-over-targets",
        function="alignment",
        hint="each target's weights are a distribution over the source positions: max and sum "
        "along axis 1",
        code=edited(
            _ALIGN,
            ("scores.max(axis=1, keepdims=True)", "scores.max(axis=0, keepdims=True)"),
            ("weights.sum(axis=1, keepdims=True)", "weights.sum(axis=0, keepdims=True)"),
        ),
        fails=_ALIGN_FAILS,
    ),
    KnownBug(
        # The Transformer's 1 / sqrt(d) (Vaswani et al. 2017) carried back to Luong's dot score.
        name="alignment-scaled-dot-product",
        kind="convention",
        function="alignment",
        hint="you divided the scores by sqrt(d), the Transformer's scaled dot product; this "
        "exercise uses Luong's plain dot score, decoder_states @ encoder_states.T (the scaling "
        "comes with self-attention, where it keeps the softmax from saturating)",
        code=edited(
            _ALIGN,
            (
                "scores = decoder_states @ encoder_states.T",
                "scores = decoder_states @ encoder_states.T / np.sqrt(decoder_states.shape[1])",
            ),
        ),
        fails=_ALIGN_FAILS,
    ),
    # ------------------------------------------------------------------ recall_errors
    KnownBug(
        # Sutskever et al. (2014) pass the encoder's last state as the context.
        name="recall-last-state-context",
        kind="convention",
        function="recall_errors",
        hint="you used the last encoder state as the fixed context (Sutskever et al. 2014's "
        "seq2seq); this exercise uses the mean of the states, so that every position counts",
        code=edited(_RECALL, ("x.mean(axis=1, keepdims=True)", "x[:, -1:]")),
    ),
    KnownBug(
        # The mean over the batch axis (sequences) instead of the time axis.
        name="recall-mean-over-sequences",
        function="recall_errors",
        hint="the fixed context of a sequence is the mean over its T positions, x.mean(axis=1), "
        "(S, d); axis 0 averages across the sequences",
        code=edited(_RECALL, ("x.mean(axis=1, keepdims=True)", "x.mean(axis=0, keepdims=True)")),
    ),
    KnownBug(
        # The squared error summed over the d features of each vector, then averaged.
        name="recall-error-summed-over-features",
        function="recall_errors",
        hint="the error is the mean over all S * T * d numbers: divide the total by x.size",
        code=edited(
            _RECALL,
            ("errors.append(total / x.size)", "errors.append(total / (x.size // x.shape[2]))"),
        ),
    ),
]

# Reviewed: each mutant computes the same arrays as the reference on every input.
_LAST_AXIS = "the array is 2-D: axis=-1 is axis=1"
EQUIVALENT = {
    "kernel_regression/axis/axis=1->-1#0": _LAST_AXIS,
    "kernel_regression/axis/axis=1->-1#1": _LAST_AXIS,
    "kernel_regression_backward/axis/axis=1->-1#0": _LAST_AXIS,
    "kernel_regression_backward/axis/axis=1->-1#1": _LAST_AXIS,
    "alignment/axis/axis=1->-1#0": _LAST_AXIS,
    "alignment/axis/axis=1->-1#1": _LAST_AXIS,
    "alignment/axis/axis=1->-1#2": _LAST_AXIS,
    "recall_errors/sibling/mean->sum#0": "the sum is T times the mean, and a least-squares "
    "read-out absorbs the factor (W / T): the same predictions, the same errors",
}
