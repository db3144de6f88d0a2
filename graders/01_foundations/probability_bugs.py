"""Known bugs of probability: mistakes learners make, each a replaced function."""

from nnfs_cli.grading.bugs import KnownBug

BUGS = [
    KnownBug(
        # The definition typed as is; exp(1000) = inf gives log(inf) = inf, exp(-1000) = 0 gives -inf.
        name="logsumexp-no-max-shift",
        function="logsumexp",
        hint="exp overflows above ~709: compute m + log(sum(exp(z - m))) with m the max along axis",
        code="""
def logsumexp(z, axis=-1):
    with np.errstate(over="ignore", divide="ignore"):
        return np.log(np.sum(np.exp(z), axis=axis))
""",
    ),
    KnownBug(
        # Half of the max trick: the shift is applied inside the exp and never undone.
        name="logsumexp-max-not-added-back",
        function="logsumexp",
        hint="log sum exp(z) = m + log sum exp(z - m): add the max back after the log",
        code="""
def logsumexp(z, axis=-1):
    m = np.max(z, axis=axis, keepdims=True)
    return np.log(np.sum(np.exp(z - m), axis=axis))
""",
    ),
    KnownBug(
        # The textbook formula: NaN (inf / inf) as soon as a logit passes ~709.
        name="softmax-no-max-shift",
        function="softmax",
        hint="subtract the max along axis before exp: softmax(z) = softmax(z - max z)",
        code="""
def softmax(z, axis=-1):
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(z)
        return e / np.sum(e, axis=axis, keepdims=True)
""",
    ),
    KnownBug(
        # The accepted answer of the StackOverflow question "How to implement the Softmax function
        # in Python" normalises over axis 0, which is wrong for a batch of rows.
        name="softmax-ignores-axis",
        function="softmax",
        hint="reduce over the `axis` argument (max and sum with axis=axis, keepdims=True), not axis 0",
        code="""
def softmax(z, axis=-1):
    e = np.exp(z - np.max(z, axis=0))
    return e / np.sum(e, axis=0)
""",
    ),
    KnownBug(
        # Stable only when every row has the same scale: rows 2000 below the global max are 0 / 0.
        name="softmax-global-max",
        function="softmax",
        hint="subtract each slice's own max (np.max(z, axis=axis, keepdims=True)), not the max of the whole array",
        code="""
def softmax(z, axis=-1):
    with np.errstate(invalid="ignore"):
        e = np.exp(z - np.max(z))
        return e / np.sum(e, axis=axis, keepdims=True)
""",
    ),
    KnownBug(
        # The definition log(softmax) composed from a (stable) softmax: softmax underflows to 0.
        name="log-of-softmax",
        function="log_softmax",
        hint="log(softmax(z)) is -inf where softmax underflows to 0: compute z - logsumexp(z)",
        code="""
def log_softmax(z, axis=-1):
    z = np.asarray(z)
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    with np.errstate(divide="ignore"):
        return np.log(e / np.sum(e, axis=axis, keepdims=True))
""",
    ),
    KnownBug(
        name="log-softmax-no-max-shift",
        function="log_softmax",
        hint="log sum exp(z) overflows at z = 1000: subtract the max along axis first",
        code="""
def log_softmax(z, axis=-1):
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))
""",
    ),
    KnownBug(
        # -sum(p * log p) as written: 0 * log(0) = 0 * -inf = NaN for every p with a zero.
        name="entropy-nan-at-zero",
        function="entropy",
        hint="0 log 0 = 0 by convention, but 0 * np.log(0) is NaN: compute p log p only where p > 0",
        code="""
def entropy(p, axis=-1):
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.sum(p * np.log(p), axis=axis)
""",
    ),
    KnownBug(
        name="entropy-missing-minus",
        function="entropy",
        hint="log p <= 0, so sum p log p is negative: H(p) = -sum p log p",
        code="""
def entropy(p, axis=-1):
    p = np.asarray(p)
    return np.sum(p * np.log(np.where(p > 0, p, 1)), axis=axis)
""",
    ),
    KnownBug(
        # Information-theory texts (Cover and Thomas, MacKay) use bits; the losses of deep learning use nats.
        name="cross-entropy-in-bits",
        function="cross_entropy",
        kind="convention",
        hint=(
            "you measured in bits (np.log2, the information-theory convention); this exercise "
            "uses nats (the natural log, np.log), as the losses of deep learning do"
        ),
        code="""
def cross_entropy(p, q, axis=-1):
    p, q = np.asarray(p), np.asarray(q)
    with np.errstate(divide="ignore"):
        logq = np.log2(np.where(p > 0, q, 1))
    return -np.sum(np.where(p > 0, p * logq, 0), axis=axis)
""",
    ),
    KnownBug(
        # Target and prediction confused: -sum q log p (the argument order of loss functions differs by library).
        name="cross-entropy-arguments-swapped",
        function="cross_entropy",
        hint="H(p, q) = -sum p log q: p (the target) weighs the log of q (the prediction)",
        code="""
def cross_entropy(p, q, axis=-1):
    p, q = np.asarray(p), np.asarray(q)
    with np.errstate(divide="ignore", invalid="ignore"):
        logp = np.log(np.where(q > 0, p, 1))
    return -np.sum(np.where(q > 0, q * logp, 0), axis=axis)
""",
    ),
    KnownBug(
        name="kl-nan-at-zero",
        function="kl_divergence",
        hint="a term with p = 0 is 0, but 0 * np.log(0 / q) is NaN: sum only where p > 0",
        code="""
def kl_divergence(p, q, axis=-1):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sum(p * np.log(p / q), axis=axis)
""",
    ),
    KnownBug(
        # KL is not symmetric; forward and reverse KL are a classic confusion (Bishop 10.1.2).
        name="kl-arguments-swapped",
        function="kl_divergence",
        hint="KL(p || q) = sum p log(p / q) weighs by p; you computed KL(q || p)",
        code="""
def kl_divergence(p, q, axis=-1):
    p, q = np.asarray(p), np.asarray(q)
    pos = q > 0
    with np.errstate(divide="ignore"):
        log_ratio = np.log(np.where(pos, q, 1)) - np.log(np.where(pos, p, 1))
    return np.sum(np.where(pos, q * log_ratio, 0), axis=axis)
""",
    ),
    KnownBug(
        # The unbiased sample variance (np.cov, pandas .var() and torch.var divide by N - 1 by default).
        name="variance-divides-by-n-minus-1",
        function="gaussian_mle",
        kind="convention",
        hint=(
            "you divided by N - 1, the unbiased sample variance (the default of pandas .var(), "
            "torch.var and np.cov); the maximum-likelihood estimate asked for here divides by N "
            "(np.var's default, ddof=0)"
        ),
        code="""
def gaussian_mle(x):
    x = np.asarray(x)
    mean = np.mean(x, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return mean, np.sum((x - mean) ** 2, axis=0) / (x.shape[0] - 1)
""",
    ),
    KnownBug(
        # np.std where np.var was meant (and libraries parameterise the Gaussian by its std, 'scale').
        name="std-instead-of-variance",
        function="gaussian_mle",
        hint="return the variance sigma^2 = mean((x - mean)**2), not its square root",
        code="""
def gaussian_mle(x):
    x = np.asarray(x)
    return np.mean(x, axis=0), np.std(x, axis=0)
""",
    ),
    KnownBug(
        # The textbook shortcut E[x^2] - E[x]^2: catastrophic cancellation (Chan, Golub and LeVeque 1983).
        name="variance-one-pass-cancellation",
        function="gaussian_mle",
        hint="mean(x**2) - mean(x)**2 cancels catastrophically when |mean| >> std: use mean((x - mean)**2)",
        code="""
def gaussian_mle(x):
    x = np.asarray(x)
    mean = np.mean(x, axis=0)
    return mean, np.mean(x * x, axis=0) - mean * mean
""",
    ),
    KnownBug(
        # Laplace's rule of succession (k + 1) / (N + 2) is the posterior mean under a uniform prior, not the MLE.
        name="bernoulli-laplace-smoothing",
        function="bernoulli_mle",
        hint="the MLE is k / N; (k + 1) / (N + 2) adds pseudo-counts (a Bayesian estimate)",
        code="""
def bernoulli_mle(x):
    x = np.asarray(x, dtype=np.float64)
    return (np.sum(x, axis=0) + 1) / (x.shape[0] + 2)
""",
    ),
    KnownBug(
        name="posterior-not-normalised",
        function="bayes_posterior",
        hint="divide prior * likelihood by its sum (the evidence P(data)) so the posterior sums to 1",
        code="""
def bayes_posterior(prior, likelihood):
    return np.asarray(prior) * np.asarray(likelihood)
""",
    ),
    KnownBug(
        # Base-rate neglect (Kahneman and Tversky): judging by the likelihood alone, ignoring the prior.
        name="base-rate-neglect",
        function="bayes_posterior",
        hint="the prior matters: posterior is proportional to prior * likelihood, not to the likelihood alone",
        code="""
def bayes_posterior(prior, likelihood):
    likelihood = np.asarray(likelihood)
    return likelihood / np.sum(likelihood, axis=-1, keepdims=True)
""",
    ),
    KnownBug(
        # sum() without axis: right for one observation, wrong for a batch of them.
        name="posterior-normalised-over-everything",
        function="bayes_posterior",
        hint="normalise each row separately: np.sum(joint, axis=-1, keepdims=True)",
        code="""
def bayes_posterior(prior, likelihood):
    joint = np.asarray(prior) * np.asarray(likelihood)
    return joint / np.sum(joint)
""",
    ),
]

EQUIVALENT = {
    "entropy/constant/1->2#0": "the placeholder only replaces p = 0 entries, which are then multiplied by p = 0: any positive placeholder gives 0",
    "cross_entropy/compare/Gt->GtE#0": "p >= 0 only adds the p = 0 entries (p is nonnegative), whose log q the outer np.where(p > 0, ..., 0) discards",
    "cross_entropy/constant/1->0#0": "the placeholder log value at p = 0 is discarded by the outer np.where(p > 0, ..., 0)",
    "cross_entropy/constant/1->2#0": "the placeholder log value at p = 0 is discarded by the outer np.where(p > 0, ..., 0)",
    "cross_entropy/compare/Gt->GtE#1": "p >= 0 only adds the p = 0 entries, where p * log(1) = 0 equals the fallback 0",
    "kl_divergence/constant/1->0#0": "the placeholder at p = 0 only changes log_ratio there, which the outer np.where(pos, ..., 0) discards",
    "kl_divergence/constant/1->2#0": "the placeholder at p = 0 only changes log_ratio there, which the outer np.where(pos, ..., 0) discards",
    "kl_divergence/constant/1->0#1": "the placeholder at p = 0 only changes log_ratio there, which the outer np.where(pos, ..., 0) discards",
    "kl_divergence/constant/1->2#1": "the placeholder at p = 0 only changes log_ratio there, which the outer np.where(pos, ..., 0) discards",
}
