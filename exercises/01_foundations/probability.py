"""# Probability for neural networks: softmax, information, likelihood, Bayes

A classifier's last layer turns a vector of **logits** `z` (any real numbers) into a
probability distribution with the **softmax**, and it is trained by minimising a
**cross-entropy**. Both rest on a handful of formulas, and all of them hide a numerical trap.

## Softmax, log-softmax and log-sum-exp

Along one axis with K entries (the classes):

    logsumexp(z) = log sum_k exp(z_k)
    softmax(z)_k = exp(z_k) / sum_j exp(z_j)          (positive, sums to 1)
    log_softmax(z)_k = z_k - logsumexp(z)

`exp(1000)` is `inf` in float64 (anything above ~709.8 overflows) and `exp(-1000)` is
0. The cure is one identity: for any constant `c`,

    logsumexp(z) = c + log sum_k exp(z_k - c),    softmax(z) = softmax(z - c).

Take `c = max_k z_k` *along the axis you reduce*: every exponent is then <= 0 (no
overflow) and the largest is exactly 0 (the sum is >= 1, so its log is finite). Compute
`log_softmax` as `z - logsumexp(z)`, never as `log(softmax(z))`: a probability of
`exp(-1000)` underflows to 0 and its log is `-inf`, while the exact answer is a finite
number. The gradient of `logsumexp` is the softmax.

Every function takes an `axis` (default -1, the last): a batch of N logit vectors is an
array of shape (N, K) and each row is handled separately. `logsumexp` removes that axis
from the shape (like `np.sum`); `softmax` and `log_softmax` keep the input's shape.

## Entropy, cross-entropy, KL divergence (in nats)

For distributions p and q over the same K outcomes, with the natural logarithm:

    H(p)     = - sum_k p_k log p_k              entropy
    H(p, q)  = - sum_k p_k log q_k              cross-entropy
    KL(p||q) =   sum_k p_k log(p_k / q_k)       Kullback-Leibler divergence
             =   H(p, q) - H(p)  >= 0,  and 0 exactly when p = q (Gibbs' inequality).

Convention: a term with p_k = 0 is 0 (the limit of t log t as t -> 0), whatever q_k is.
`np.log(0)` is `-inf` and `0 * -inf` is NaN, so the zeros need care. With a one-hot p
(the true class y), H(p, q) = -log q_y: the classification loss.

## Maximum likelihood

Given N independent samples, the maximum-likelihood estimate maximises sum_i log p(x_i):

    Gaussian:   mean = (1/N) sum_i x_i,    var = (1/N) sum_i (x_i - mean)^2   (divide by N)
    Bernoulli:  p = (1/N) sum_i x_i        (the fraction of ones)

The MLE of the variance is biased (its expectation is (N-1)/N times the true variance);
dividing by N - 1 gives the unbiased estimate, which is *not* the MLE. Compute the variance
from the deviations `x - mean`: the one-pass formula `mean(x**2) - mean**2` subtracts two
huge, nearly equal numbers when |mean| >> std and loses every significant digit.

## Bayes' theorem

Over K hypotheses h_k with prior P(h_k) and likelihood P(data | h_k):

    P(h_k | data) = P(data | h_k) P(h_k) / sum_j P(data | h_j) P(h_j).

The denominator (the evidence) weighs every likelihood by its prior. Forgetting the prior
altogether is the *base-rate fallacy*: a test that is 99% sensitive with a 5% false-positive
rate, for a disease 1 in 100 people have, leaves a positive patient only a 1 in 6 chance of
being ill.

**Inputs are read-only.** No function here modifies an array (or a dict) it is given:
copy first (`x = np.array(x, dtype=np.float64)`) and return new objects. The grader
checks every call, because a caller that reuses its array would be silently wrong.

Read: Bishop, *Pattern Recognition and Machine Learning*, sections 1.2 (probability, Bayes,
the Gaussian MLE and its bias), 1.6 (entropy and KL) and 2.1 (Bernoulli); Goodfellow et
al., *Deep Learning*, sections 3.13 (information theory) and 4.1 (overflow, underflow and
the stable softmax); Cover and Thomas, *Elements of Information Theory*, chapter 2.
"""

import numpy as np


def logsumexp(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """log(sum(exp(z))) along `axis`, finite for every finite z (subtract the max first).

    z: an array of any shape, e.g. (K,) or (N, K). The result has z's shape without `axis`:
    () for (K,), (N,) for (N, K) with axis=-1, (K,) for (N, K) with axis=0.
    """
    # YOUR CODE HERE
    raise NotImplementedError("probability: implement logsumexp")


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(z) / sum(exp(z)) along `axis`: same shape as z, every slice along `axis` sums to 1.

    Subtract the max along `axis` before exp so that logits of +-1000 give exact results.
    """
    # YOUR CODE HERE
    raise NotImplementedError("probability: implement softmax")


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """log(softmax(z)) along `axis`, computed as z - logsumexp(z): same shape as z.

    Finite wherever z is finite, even where softmax(z) underflows to 0 (e.g. z = [0, -1000]).
    """
    # YOUR CODE HERE
    raise NotImplementedError("probability: implement log_softmax")


def entropy(p: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shannon entropy H(p) = -sum p log p along `axis`, in nats (natural log).

    p: probabilities (nonnegative, summing to 1 along `axis`), e.g. (K,) or (N, K).
    Terms with p = 0 count as 0. The result has p's shape without `axis` (() for (K,)).
    """
    # YOUR CODE HERE
    raise NotImplementedError("probability: implement entropy")


def cross_entropy(p: np.ndarray, q: np.ndarray, axis: int = -1) -> np.ndarray:
    """Cross-entropy H(p, q) = -sum p log q along `axis`, in nats; p is the target.

    p, q: probabilities of the same shape, e.g. (K,) or (N, K); q > 0 wherever p > 0.
    Terms with p = 0 count as 0, even where q = 0. Result: the shape without `axis`.
    """
    # YOUR CODE HERE
    raise NotImplementedError("probability: implement cross_entropy")


def kl_divergence(p: np.ndarray, q: np.ndarray, axis: int = -1) -> np.ndarray:
    """KL(p || q) = sum p log(p / q) along `axis`, in nats: >= 0, and 0 when p == q.

    p, q: probabilities of the same shape, e.g. (K,) or (N, K); q > 0 wherever p > 0.
    Terms with p = 0 count as 0, even where q = 0. Result: the shape without `axis`.
    Not symmetric: KL(p || q) != KL(q || p) in general.
    """
    # YOUR CODE HERE
    raise NotImplementedError("probability: implement kl_divergence")


def gaussian_mle(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood (mean, var) of a Gaussian from N samples, over axis 0.

    x: (N,) samples of one variable, or (N, D) samples of D variables (one row a sample).
    Returns (mean, var), each of shape () for (N,) and (D,) for (N, D).
    var = mean((x - mean)**2): divide by N (the MLE), not N - 1 (so N = 1 gives var = 0).
    Compute it from the deviations, in the input's precision: float64 data must give a
    float64-accurate variance even when |mean| is a million times the standard deviation.
    """
    # YOUR CODE HERE
    raise NotImplementedError("probability: implement gaussian_mle")


def bernoulli_mle(x: np.ndarray) -> np.ndarray:
    """Maximum-likelihood success probability of a Bernoulli from N samples, over axis 0.

    x: (N,) or (N, D) outcomes, each 0 or 1 (ints, floats or booleans).
    Returns p, the fraction of ones: shape () for (N,), (D,) for (N, D). All zeros give 0.
    """
    # YOUR CODE HERE
    raise NotImplementedError("probability: implement bernoulli_mle")


def bayes_posterior(prior: np.ndarray, likelihood: np.ndarray) -> np.ndarray:
    """Posterior over K discrete hypotheses: prior * likelihood, normalised to sum to 1.

    prior: (K,), P(h_k), nonnegative and summing to 1.
    likelihood: (K,), P(data | h_k) for one observation; or (M, K), one row per
    alternative observation (each row gives its own posterior).
    Returns the posterior with likelihood's shape; each row (along the last axis) sums to 1.
    """
    # YOUR CODE HERE
    raise NotImplementedError("probability: implement bayes_posterior")
