"""Known bugs of scaling-laws: each an edit of the reference function as the solution file has it."""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

_TRAIN = reference_function(__file__, "training_flops")
_INFER = reference_function(__file__, "inference_flops")
_LINE = reference_function(__file__, "fit_line")
_FIT = reference_function(__file__, "fit_power_law")
_OPT = reference_function(__file__, "compute_optimal")

_TRAIN_PRODUCT = (
    "6.0 * np.asarray(n_params, dtype=np.float64) * np.asarray(n_tokens, dtype=np.float64)"
)
_LOG_Y = "np.log(L[:, None] - cs)"
_SSE = "sse = np.sum((a * N[:, None] ** (-alpha) + cs - L[:, None]) ** 2, axis=0)"
_SQRT = "n_opt = np.sqrt(C / (6.0 * tokens_per_param))"

BUGS = [
    KnownBug(
        # The forward-pass count 2 N D used for training (Kaplan et al.'s C_forward is 2N per
        # token; blog posts and forum answers quote it for training): the backward is left out.
        name="training-flops-forward-only",
        function="training_flops",
        hint="training runs a forward (2 N D) AND a backward pass (twice the forward, 4 N D): 6 N D in all",
        code=edited(_TRAIN, ("6.0 *", "2.0 *")),
    ),
    KnownBug(
        # np.prod / a product of int64 arrays of parameter and token counts wraps around without
        # an error (NumPy issues on silent integer overflow; common in FLOP calculators).
        name="flops-int64-overflow",
        function="training_flops",
        hint="N and D as int64 multiply in int64, which wraps around past 9.2e18 without a warning; "
        "convert to float64 first (np.asarray(n, dtype=np.float64))",
        code=edited(_TRAIN, (_TRAIN_PRODUCT, "6 * np.asarray(n_params) * np.asarray(n_tokens)")),
    ),
    KnownBug(
        # The training rule 6 N D reused for generation: inference has no backward pass.
        name="inference-flops-with-backward",
        function="inference_flops",
        hint="inference is a forward pass only: 2 N D; 6 N D is training (forward + backward)",
        code=edited(_INFER, ("2.0 *", "6.0 *")),
    ),
    KnownBug(
        # Fitting L - c against log N (a semi-log plot's straight line), without the log of the
        # loss: a frequent first attempt when the plot "looks straight enough".
        name="fit-loss-not-logged",
        function="fit_power_law",
        hint="a power law is a straight line on log-log axes: take the log of L - c as well as of N",
        code=edited(_FIT, (_LOG_Y, "L[:, None] - cs")),
    ),
    KnownBug(
        # The irreducible loss left in: log L against log N bends, and alpha comes out too
        # small (Kaplan et al.'s c = 0 form applied to losses with a floor; the issue's list).
        name="irreducible-loss-not-subtracted",
        function="fit_power_law",
        hint="subtract the irreducible loss before the log: log(L - c) = log a - alpha log N is the "
        "straight line; log L is not",
        code=edited(_FIT, (_LOG_Y, "np.log(L)[:, None] + 0 * cs")),
    ),
    KnownBug(
        # log10 for the fit, then np.exp for a: the slope is base-free, the intercept is not.
        name="log10-intercept-exponentiated",
        function="fit_power_law",
        hint="the intercept is log a in the base you used: with np.log10, a = 10**intercept; this "
        "exercise uses np.log, with a = np.exp(intercept)",
        code=edited(
            _FIT,
            (
                "fit_line(np.log(N), np.log(L[:, None] - cs))",
                "fit_line(np.log10(N), np.log10(L[:, None] - cs))",
            ),
        ),
    ),
    KnownBug(
        # The fitted slope returned as alpha: the law's exponent is -alpha.
        name="alpha-sign-flipped",
        function="fit_power_law",
        hint="the line's slope is -alpha (the loss falls with N): return alpha = -slope, a positive number",
        code=edited(_FIT, ("float(alpha[k])", "float(-alpha[k])")),
    ),
    KnownBug(
        # np.polyfit(y, x, 1) / regressing log N on log(L - c): the same line only when the
        # points lie exactly on it.
        name="fit-regression-swapped",
        function="fit_line",
        hint="regress y on x (minimise the vertical distances): the slope is cov(x, y) / var(x), "
        "not var(y) / cov(x, y)",
        code=edited(
            _LINE,
            (
                "slope = xc @ y / np.sum(xc**2)",
                "slope = np.sum((y - y.mean(axis=0)) ** 2, axis=0) / (xc @ y)",
            ),
        ),
        fails=("fit_line", "fit_power_law"),
    ),
    KnownBug(
        # np.linalg.lstsq(x[:, None], y) without the column of ones (or sum(x y) / sum(x^2)):
        # the line is forced through the origin (a classic of regression forums and of
        # "why is my intercept zero" questions).
        name="line-through-origin",
        function="fit_line",
        hint="the design matrix needs a column of ones for the intercept: centre x (x - mean x) in the "
        "slope and take intercept = mean y - slope * mean x",
        code=edited(
            _LINE,
            ("xc = x - x.mean()", "xc = x"),
            ("intercept = y.mean(axis=0) - slope * x.mean()", "intercept = 0 * slope"),
        ),
        fails=("fit_line", "fit_power_law"),
    ),
    KnownBug(
        # Each candidate c scored by its own log-space residuals: those are on a different
        # scale for each c, and the search drifts to a wrong c.
        name="grid-scored-in-log-space",
        function="fit_power_law",
        hint="compare the candidates on L itself: sum((a N^-alpha + c - L)^2); log(L - c) stretches "
        "differently for each c, so its residuals do not compare across candidates",
        code=edited(
            _FIT,
            (
                _SSE,
                "sse = np.sum((np.log(a) - alpha * np.log(N)[:, None] - np.log(L[:, None] - cs)) ** 2, axis=0)",
            ),
        ),
    ),
    KnownBug(
        # The forward-only 2 N D in the budget: every model comes out sqrt 3 too big.
        name="budget-with-2nd",
        function="compute_optimal",
        hint="a training budget is C = 6 N D (forward and backward): N = sqrt(C / (6 r))",
        code=edited(_OPT, (_SQRT, "n_opt = np.sqrt(C / (2.0 * tokens_per_param))")),
    ),
    KnownBug(
        # Solving C = 6 r N^2 as if it were linear in N.
        name="optimal-n-without-square-root",
        function="compute_optimal",
        hint="C = 6 N D with D = r N is C = 6 r N^2: N is the square root of C / (6 r)",
        code=edited(_OPT, (_SQRT, "n_opt = C / (6.0 * tokens_per_param)")),
    ),
    KnownBug(
        # N = sqrt(C / 6) (as if N = D), then D = r N: the ratio enters once, and the budget
        # is overspent r times.
        name="ratio-missing-from-root",
        function="compute_optimal",
        hint="both N and D depend on r: C = 6 N (r N) = 6 r N^2, so N = sqrt(C / (6 r)), not sqrt(C / 6)",
        code=edited(_OPT, (_SQRT, "n_opt = np.sqrt(C / 6.0)")),
    ),
    KnownBug(
        # The two results in the other order. Reading r as parameters per token (D = N / r)
        # gives exactly this pair too: C = 6 N^2 / r puts sqrt(C r / 6), the right D_opt, in N.
        name="optimal-n-d-swapped",
        function="compute_optimal",
        hint="return (N_opt, D_opt): parameters first, then tokens; and r is tokens per parameter, D = r N",
        code=edited(
            _OPT,
            ("return n_opt, tokens_per_param * n_opt", "return tokens_per_param * n_opt, n_opt"),
        ),
    ),
]

EQUIVALENT = {
    "fit_power_law/sibling/sum->mean#0": "the mean squared error is the SSE divided by the same K "
    "for every candidate: the argmin over the grid, and so every result, is the same",
}
