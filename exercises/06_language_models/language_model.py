"""# Language models: n-grams, smoothing, perplexity, sampling

A language model gives a probability to every sentence by the chain rule,
P(w_1 .. w_T) = prod_t P(w_t | w_1 .. w_{t-1}). An **n-gram model** keeps only the last
n - 1 tokens as the context: P(w_t | w_{t-n+1} .. w_{t-1}).

**Tokens.** Words are integer ids 0 .. V-1. Two ids are special: `BOS = 0` (begin of
sentence) and `EOS = 1` (end of sentence); a sentence is a list of word ids (never 0 or
1). Every sentence is padded with **n - 1 BOS in front and one EOS at the end**:
`[BOS] * (n - 1) + sentence + [EOS]`. The model predicts every word **and the EOS** (it
must learn where sentences stop), never a BOS: a sentence of L words has L + 1 predicted
tokens. A unigram model (n = 1) gets no BOS.

**Counts** are a dense array of shape (V,) * n: `counts[c_1, ..., c_{n-1}, w]` is how often
w followed the context (c_1 .. c_{n-1}) in the padded sentences. A model is an array of
the same shape, `probs[c_1, ..., c_{n-1}, w] = P(w | c_1 .. c_{n-1})`: every slice
`probs[c_1, ..., c_{n-1}, :]` sums to 1.

**Maximum likelihood** divides each count by its context's total, c(ctx, w) / c(ctx). An
n-gram never seen gets probability 0, and one zero makes a held-out sentence impossible.

**Add-k (Lidstone) smoothing** adds k to every count, over all V ids of the vocabulary
(BOS included, as NLTK's `Laplace` / `Lidstone` do once `<s>` is in the vocabulary):

    P(w | ctx) = (c(ctx, w) + k) / (c(ctx) + k V)            k = 1 is Laplace's add-one

**Interpolated (Jelinek-Mercer) smoothing** mixes the maximum-likelihood estimates of
every order 1 .. n with weights lambda_1 .. lambda_n that sum to 1:

    P(w | w_{-n+1} .. w_{-1}) = sum_j lambda_j P_ML(w | the last j - 1 tokens)

`lambdas[0]` weighs the unigram, `lambdas[-1]` the n-gram. The order-j estimate uses the
counts of an order-j model (`ngram_counts(sentences, j, V)`), and a context never seen
(c(ctx) = 0) gives the **uniform** 1 / V for that order, so the mix always sums to 1.
(NumPy broadcasting lines an order-j array (V,) * j up with the last j axes of the n-gram
array: exactly "the last j - 1 tokens of the context".)

**Perplexity** is exp of the **mean** negative log-likelihood per predicted token, in
nats, over every predicted token of every sentence (the EOS included, no BOS):

    PPL = exp( -(1 / N) sum_t ln P(w_t | context_t) ),       N = sum over sentences of (L + 1)

A uniform model over V tokens has perplexity V; lower is better. exp of the *summed* NLL
is not a perplexity, and neither is 2 ** (a mean in nats) (base 2 goes with log2).

## Decoding: from a distribution over the next token to a token

- **Greedy**: the most probable token, argmax of the logits (ties: the lowest id, as
  `np.argmax` returns).
- **Temperature**: softmax(logits / T), T > 0. T < 1 sharpens, T > 1 flattens, T -> 0 is
  greedy. The temperature divides the **logits**, before the softmax.
- **Top-k**: keep the k most probable tokens, zero the rest, renormalise. **Ties**: keep
  every token at least as probable as the k-th largest probability (so ties at the k-th
  place are all kept and more than k tokens may survive; Hugging Face's `TopKLogitsWarper`
  does the same).
- **Top-p (nucleus; Holtzman et al. 2020)**: sort the probabilities in **descending**
  order, keep the smallest prefix whose mass **reaches p**, i.e. up to and INCLUDING the
  token at which the cumulative sum first becomes >= p (the Hugging Face convention), zero
  the rest, renormalise. At least one token always survives. **Ties**: every token as
  probable as that crossing token is kept too (the rule depends on no sort order).
- **Sampling** draws one token per distribution, token i with probability probs[i]; a
  token of probability 0 must never come out.

The filters take probabilities (..., V) and return the renormalised distribution, same
shape: every function works on a batch of distributions along the last axis.

## The neural language model (Bengio et al. 2003)

Count tables cannot generalise from "the dog chases" to "the cat chases". A neural LM
embeds each of the `context` previous tokens, concatenates the embeddings, and predicts
the next token with an MLP:

    x = concat(E[c_1], ..., E[c_n])              (N, n d)     E: (V, d)
    h = tanh(x @ W1 + b1)                        (N, H)       W1: (n d, H)
    logits = h @ W2 + b2                         (N, V)       W2: (H, V)

Parameters are a dict of arrays: "E", "W1", "b1", "W2", "b2" (weights (in, out), used as
`x @ W + b`). The training windows come from `context_windows` (given): the same padding
as the n-gram model, n BOS in front and one EOS at the end, so its perplexity is directly
comparable to an (n + 1)-gram's. `train_neural_lm` fits it with full-batch Adam on the
mean cross-entropy; the grader trains yours on 500 generated sentences
(`nnfs_cli.corpus`) and wants its perplexity on 300 other sentences at least 5% below
the add-0.01 bigram's (the reference: ~7.9 against ~9.95).

You may use torch tensors and autograd here (nn.Embedding, nn.Linear, torch.optim are
fine; `import torch` inside the two neural functions, so the other parts stay fast); the
language-modelling libraries (nltk, transformers) are not.

**Never modify an input in place.** Inputs are read-only: return new arrays.

Read: Jurafsky & Martin, *Speech and Language Processing* (3rd ed.), chapter 3 (n-grams,
smoothing, perplexity); Bengio et al. (2003), "A neural probabilistic language model";
Holtzman et al. (2020), "The curious case of neural text degeneration" (nucleus sampling).
"""

import numpy as np

BOS, EOS = 0, 1  # the special ids: every vocabulary here starts with them


def ngram_counts(sentences: list[list[int]], n: int, vocab_size: int) -> np.ndarray:
    """How often each n-gram occurs in the padded sentences.

    sentences: lists of word ids (2 .. V-1); each is padded [BOS] * (n - 1) + s + [EOS].
    Returns counts (V,) * n, integers: counts[c_1, ..., c_{n-1}, w] for every predicted w.
    """
    # YOUR CODE HERE
    raise NotImplementedError("language-model: implement ngram_counts")


def add_k_probs(counts: np.ndarray, k: float) -> np.ndarray:
    """Add-k smoothed conditional probabilities, k > 0.

    counts: (V,) * n. Returns probs, same shape, float64: (c(ctx, w) + k) / (c(ctx) + k V),
    each slice over the last axis summing to 1.
    """
    # YOUR CODE HERE
    raise NotImplementedError("language-model: implement add_k_probs")


def interpolated_probs(counts_by_order: list[np.ndarray], lambdas: np.ndarray) -> np.ndarray:
    """Jelinek-Mercer interpolation of the maximum-likelihood estimates of orders 1 .. n.

    counts_by_order: [counts of order 1 (V,), order 2 (V, V), ..., order n (V,) * n];
    lambdas: (n,), summing to 1, lambdas[j] weighing order j + 1. An unseen context gives
    the uniform 1 / V for its order. Returns probs (V,) * n, float64.
    """
    # YOUR CODE HERE
    raise NotImplementedError("language-model: implement interpolated_probs")


def perplexity(probs: np.ndarray, sentences: list[list[int]]) -> float:
    """Perplexity of an n-gram model (n = probs.ndim) on sentences, in nats inside.

    probs: (V,) * n conditional probabilities; sentences: lists of word ids, each padded
    [BOS] * (n - 1) + s + [EOS]. Returns exp(mean over every predicted token, EOS included,
    of -ln P(token | its context)) as a float.
    """
    # YOUR CODE HERE
    raise NotImplementedError("language-model: implement perplexity")


def greedy(logits: np.ndarray) -> np.ndarray:
    """The most probable token of each distribution: logits (..., V) -> ids (...), ints;
    ties go to the lowest id."""
    # YOUR CODE HERE
    raise NotImplementedError("language-model: implement greedy")


def temperature_probs(logits: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits / temperature) over the last axis, stable for any temperature > 0.

    logits: (..., V). Returns probs, same shape.
    """
    # YOUR CODE HERE
    raise NotImplementedError("language-model: implement temperature_probs")


def top_k_filter(probs: np.ndarray, k: int) -> np.ndarray:
    """Keep every token at least as probable as the k-th largest, zero the rest, renormalise.

    probs: (..., V) distributions; 1 <= k <= V. Returns the filtered distributions, same shape.
    """
    # YOUR CODE HERE
    raise NotImplementedError("language-model: implement top_k_filter")


def top_p_filter(probs: np.ndarray, p: float) -> np.ndarray:
    """Nucleus filter: the smallest most-probable set whose mass reaches p, renormalised.

    probs: (..., V) distributions; 0 < p <= 1. Sorted descending, the tokens up to and
    including the one where the cumulative sum first reaches p are kept (and every token
    tied with that one); the rest are zeroed. Returns the filtered distributions, same shape.
    """
    # YOUR CODE HERE
    raise NotImplementedError("language-model: implement top_p_filter")


def sample(probs: np.ndarray, seed: int) -> np.ndarray:
    """One token drawn from each distribution: probs (..., V) -> ids (...), ints.

    Token i comes out with probability probs[..., i]; use np.random.default_rng(seed) (any
    correct way of drawing is accepted: the grader checks the frequencies).
    """
    # YOUR CODE HERE
    raise NotImplementedError("language-model: implement sample")


def context_windows(sentences: list[list[int]], context: int) -> tuple[np.ndarray, np.ndarray]:
    """Given: the training pairs of a neural LM with `context` previous tokens.

    Each sentence is padded [BOS] * context + s + [EOS]; every predicted token (the words
    and the EOS) gives one pair. Returns (contexts (M, context) int64, targets (M,) int64).
    """
    contexts, targets = [], []
    for sentence in sentences:
        tokens = [BOS] * context + list(sentence) + [EOS]
        for i in range(context, len(tokens)):
            contexts.append(tokens[i - context : i])
            targets.append(tokens[i])
    return np.array(contexts, dtype=np.int64).reshape(-1, context), np.array(targets, dtype=np.int64)


def init_neural_lm(vocab_size: int, context: int, d_embed: int, d_hidden: int, seed: int) -> dict[str, np.ndarray]:
    """Given: the parameters of the neural LM, float64, seeded.

    "E" (V, d_embed) ~ N(0, 1); "W1" (context * d_embed, d_hidden) and "W2" (d_hidden, V)
    ~ N(0, 1 / fan_in); "b1" (d_hidden,) and "b2" (V,) zeros.
    """
    rng = np.random.default_rng(seed)
    fan_in = context * d_embed
    return {
        "E": rng.normal(size=(vocab_size, d_embed)),
        "W1": rng.normal(scale=fan_in**-0.5, size=(fan_in, d_hidden)),
        "b1": np.zeros(d_hidden),
        "W2": rng.normal(scale=d_hidden**-0.5, size=(d_hidden, vocab_size)),
        "b2": np.zeros(vocab_size),
    }


def neural_lm_forward(params: dict, contexts):
    """The logits of the next token: contexts (N, context) int ids -> logits (N, V).

    x = the embeddings E[c_1], ..., E[c_n] concatenated in context order (N, n * d);
    h = tanh(x @ W1 + b1); logits = h @ W2 + b2. Works on arrays or torch tensors.
    """
    # YOUR CODE HERE
    raise NotImplementedError("language-model: implement neural_lm_forward")


def train_neural_lm(
    contexts: np.ndarray,
    targets: np.ndarray,
    vocab_size: int,
    d_embed: int,
    d_hidden: int,
    steps: int,
    lr: float,
    seed: int,
) -> tuple[dict[str, np.ndarray], list[float]]:
    """Train the model from init_neural_lm(vocab_size, contexts.shape[1], d_embed, d_hidden, seed).

    contexts (M, context), targets (M,): from context_windows. Each step: the whole batch,
    the mean cross-entropy of neural_lm_forward's logits against the targets, one Adam step
    (torch.optim.Adam(lr=lr) is fine). Returns (the trained parameters as NumPy arrays, the
    loss before each step: a list of `steps` floats).
    """
    # YOUR CODE HERE
    raise NotImplementedError("language-model: implement train_neural_lm")
