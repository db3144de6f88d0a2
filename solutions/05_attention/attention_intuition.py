"""# Attention intuition: a soft lookup, an alignment, and the bottleneck it removes

A Python dict answers a query with the value of the one key equal to it. **Attention** is
the soft version: every key gets a weight saying how well it matches the query, the
weights are a softmax (positive, summing to 1 over the keys), and the answer is the
weighted average of the values. Three views of that one idea:

## 1. Nadaraya-Watson kernel regression (1964): attention before deep learning

Training points `(keys[j], values[j])`, `j < n`; a prediction at each query `queries[i]`:

    scores[i, j]  = -(queries[i] - keys[j])**2 / (2 * sigma**2)       (M, n)
    weights[i, :] = softmax(scores[i, :])      over the KEYS (axis 1): each row sums to 1
    predictions   = weights @ values           (M,) for values (n,), (M, d) for values (n, d)

This is a Gaussian kernel `exp(-u**2 / 2)` with `u = (q - k) / sigma`, normalised: **sigma
is the kernel's standard deviation** (the bandwidth). Some texts write `exp(-(q - k)**2 /
sigma**2)` or `exp(-gamma (q - k)**2)`: the same family with another scale, not this
exercise's convention. A small sigma copies the nearest key's value, a large one averages
everything.

**Stability.** A query far from every key has all scores hugely negative: `np.exp` gives
0 for each and `0 / 0` is NaN. softmax(s) = softmax(s - max(s)) for any row constant, so
subtract each row's maximum first (the largest term is then exp(0) = 1).

**Learning the bandwidth.** The bandwidth is a parameter like any other: with keys and
values from a training set and queries from a *held-out* set, minimise the held-out mean
squared error by gradient descent on sigma. (Fitted on the training points themselves the
loss goes to 0 as sigma -> 0: every query finds itself.) The backward, with `dp = dL/dpred`:

    dweights[i, j] = dp[i] . values[j]
    dscores        = weights * (dweights - sum_j weights * dweights)    the softmax's Jacobian, row by row
    dqueries[i] = -sum_j dscores[i, j] (q_i - k_j) / sigma**2
    dkeys[j]    =  sum_i dscores[i, j] (q_i - k_j) / sigma**2
    dvalues     =  weights.T @ dp
    dsigma      =  sum_ij dscores[i, j] (q_i - k_j)**2 / sigma**3

## 2. An alignment matrix (Bahdanau et al. 2015; Luong et al. 2015)

A seq2seq decoder producing target position `t` asks the encoder's states `(Ts, d)` which
source positions matter. With Luong's *dot* score and the decoder's states `(Tt, d)`:

    scores    = decoder_states @ encoder_states.T     (Tt, Ts)
    alignment = softmax(scores) over SOURCE positions (axis 1): row t is where target t looks
    hard      = argmax of each row                     (Tt,) integer source positions

Rows are targets, columns sources (Bahdanau's figures plot it the same way). No
`1 / sqrt(d)`: that is the Transformer's *scaled* dot product (next topics), which changes
the weights, not the argmax. Unbatched here: one sentence pair at a time.

## 3. The bottleneck (Cho et al. 2014; Bahdanau et al. 2015)

An encoder-decoder without attention squeezes the whole source into one fixed-size
vector. Measure it on a copy task: sequences `x` `(S, T, d)` (S sequences of T vectors),
the decoder must give back `x[:, t]` for every position `t`.

- **Fixed context**: `c = x.mean(axis=1)` `(S, d)`, the same for every `t`.
- **Attention context**: the alignment of part 2 with `queries` `(T, P)` (what target t asks
  for) and `keys` `(T, P)` (what source s offers): `context[:, t] = sum_s A[t, s] x[:, s]`.
- **Read-out**: for each position `t` separately, the best linear map `W_t` `(d, d)` from
  the context to `x[:, t]`, fitted by least squares over the S sequences
  (`np.linalg.lstsq(context_t, x[:, t])`); the error is the mean of `(context_t @ W_t -
  x[:, t])**2` over all `S * T * d` numbers (in-sample: the same sequences fit and score).

A d-vector cannot hold T * d numbers: the fixed context's error grows towards the data's
variance as T grows (about `1 - 1/T` for unit-variance data), while attention, which reads
every source position, keeps its error near 0.

## Conventions this exercise holds (the grader checks each)

- Kernel `exp(-(q - k)**2 / (2 sigma**2))`, sigma the standard deviation; softmax over keys.
- Alignment `(Tt, Ts)`: rows targets, columns sources; unscaled dot product.
- Fixed context = the **mean** of the encoder states (the last state, as in Sutskever et
  al. 2014, is another choice this exercise does not take); errors are means per number.
- Read-outs are (d_in, d_out) and applied as `context @ W`, like every weight in Phase 5.
- No masks yet (basic-attention adds them: boolean, True = attend).
- Compute in the inputs' dtype (float64 or float32). Never modify an input in place.

Read: Nadaraya (1964), Watson (1964); d2l.ai chapter 11.2 "Attention pooling by
similarity"; Bahdanau, Cho & Bengio (2015), "Neural machine translation by jointly
learning to align and translate"; Luong, Pham & Manning (2015).
"""

import numpy as np


def kernel_regression(
    queries: np.ndarray, keys: np.ndarray, values: np.ndarray, sigma: float
) -> tuple[np.ndarray, np.ndarray]:
    """Nadaraya-Watson regression with a Gaussian kernel of bandwidth sigma.

    queries: (M,); keys: (n,); values: (n,) or (n, d); sigma > 0.
    weights = softmax over the keys of -(q - k)**2 / (2 sigma**2), row by row, stable for
    queries far from every key. Returns (predictions (M,) or (M, d), weights (M, n)).
    """
    ### BEGIN SOLUTION
    scores = -((queries[:, None] - keys[None, :]) ** 2) / (2 * sigma**2)
    scores = scores - scores.max(axis=1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=1, keepdims=True)
    return weights @ values, weights
    ### END SOLUTION


def kernel_regression_backward(
    dpred: np.ndarray, queries: np.ndarray, keys: np.ndarray, values: np.ndarray, sigma: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Backward of kernel_regression's predictions, given its inputs.

    dpred: (M,) or (M, d), dL/dpredictions; the rest as kernel_regression.
    Returns (dqueries (M,), dkeys (n,), dvalues (like values), dsigma (a scalar)).
    """
    ### BEGIN SOLUTION
    _, weights = kernel_regression(queries, keys, values, sigma)
    dweights = dpred @ values.T if values.ndim == 2 else dpred[:, None] * values[None, :]
    dscores = weights * (dweights - (weights * dweights).sum(axis=1, keepdims=True))
    diff = queries[:, None] - keys[None, :]
    dqueries = -(dscores * diff).sum(axis=1) / sigma**2
    dkeys = (dscores * diff).sum(axis=0) / sigma**2
    dsigma = (dscores * diff**2).sum() / sigma**3
    return dqueries, dkeys, weights.T @ dpred, dsigma
    ### END SOLUTION


def fit_bandwidth(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    sigma0: float,
    lr: float,
    steps: int,
) -> tuple[float, np.ndarray]:
    """Learn sigma by gradient descent on the held-out mean squared error.

    x_train, y_train: (n,), the keys and values; x_val, y_val: (M,), the queries and their
    targets. loss(sigma) = mean((kernel_regression(x_val, x_train, y_train, sigma)[0] - y_val)**2).
    Plain gradient descent from sigma0: sigma <- sigma - lr * dloss/dsigma, `steps` times.
    Returns (the final sigma, losses (steps,)), losses[k] the loss at the sigma before step k.
    """
    ### BEGIN SOLUTION
    sigma, losses = sigma0, []
    for _ in range(steps):
        pred, _ = kernel_regression(x_val, x_train, y_train, sigma)
        residual = pred - y_val
        losses.append(np.mean(residual**2))
        dpred = 2 * residual / residual.size
        sigma = sigma - lr * kernel_regression_backward(dpred, x_val, x_train, y_train, sigma)[3]
    return sigma, np.array(losses)
    ### END SOLUTION


def alignment(
    encoder_states: np.ndarray, decoder_states: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Dot-product alignment of each target position over the source positions.

    encoder_states: (Ts, d); decoder_states: (Tt, d).
    Returns (weights (Tt, Ts), each row a softmax over the source positions of
    decoder_states @ encoder_states.T; hard (Tt,) integers, the argmax of each row).
    """
    ### BEGIN SOLUTION
    scores = decoder_states @ encoder_states.T
    scores = scores - scores.max(axis=1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=1, keepdims=True)
    return weights, weights.argmax(axis=1)
    ### END SOLUTION


def recall_errors(x: np.ndarray, queries: np.ndarray, keys: np.ndarray) -> tuple[float, float]:
    """The copy task's reconstruction error from a fixed context and from attention.

    x: (S, T, d) sequences; queries, keys: (T, P), the decoder's query for each target
    position and the encoder's key for each source position.
    Fixed context: x.mean(axis=1), the same for every t. Attention context: alignment(keys,
    queries) weights (T, T) applied to x over the source positions. For each t a
    least-squares linear read-out (d, d) from the context to x[:, t].
    Returns (fixed_error, attention_error): mean squared errors over all S * T * d numbers.
    """
    ### BEGIN SOLUTION
    weights, _ = alignment(keys, queries)
    attended = np.einsum("ts,nsd->ntd", weights, x)
    fixed = np.broadcast_to(x.mean(axis=1, keepdims=True), x.shape)
    errors = []
    for context in (fixed, attended):
        total = 0.0
        for t in range(x.shape[1]):
            W = np.linalg.lstsq(context[:, t], x[:, t], rcond=None)[0]
            total += np.sum((context[:, t] @ W - x[:, t]) ** 2)
        errors.append(total / x.size)
    return errors[0], errors[1]
    ### END SOLUTION
