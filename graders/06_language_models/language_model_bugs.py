"""Known bugs of language-model: each an edit of the reference function as the solution file has it."""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

_COUNTS = reference_function(__file__, "ngram_counts")
_ADD_K = reference_function(__file__, "add_k_probs")
_INTERP = reference_function(__file__, "interpolated_probs")
_PPL = reference_function(__file__, "perplexity")
_GREEDY = reference_function(__file__, "greedy")
_TEMP = reference_function(__file__, "temperature_probs")
_TOP_K = reference_function(__file__, "top_k_filter")
_TOP_P = reference_function(__file__, "top_p_filter")
_SAMPLE = reference_function(__file__, "sample")
_FORWARD = reference_function(__file__, "neural_lm_forward")
_TRAIN = reference_function(__file__, "train_neural_lm")
_NEURAL = ("neural_lm_forward", "train_neural_lm")

BUGS = [
    KnownBug(
        # The end-of-sentence token forgotten: J&M ch. 3 insists on </s> because without
        # it the model's sentence probabilities do not sum to 1 over sentences of all lengths.
        name="no-end-token",
        function="ngram_counts",
        hint="append one EOS to every sentence and count it: the model must predict where a sentence ends",
        code=edited(_COUNTS, ("list(sentence) + [EOS]", "list(sentence)")),
    ),
    KnownBug(
        # One BOS whatever the order ("<s> w1 w2 ... </s>" reused for trigrams; J&M ch. 3
        # notes that a trigram model needs two): the first word loses its trigram.
        name="one-bos-for-every-order",
        function="ngram_counts",
        hint="an n-gram model needs n - 1 BOS in front, so the first word has a full context of n - 1 tokens",
        code=edited(_COUNTS, ("tokens = [BOS] * (n - 1) + list", "tokens = [BOS] + list")),
    ),
    KnownBug(
        # Add-one with the denominator left as c(ctx) + 1 (Jurafsky & Martin's exercise 3.x
        # is about this: the V in the denominator keeps the row normalised).
        name="add-k-denominator-without-v",
        function="add_k_probs",
        hint="k is added to each of the V counts of a context, so the denominator grows by k * V, not k",
        code=edited(_ADD_K, ("+ k * c.shape[-1])", "+ k)")),
    ),
    KnownBug(
        # Normalised over the whole table (a joint probability) instead of per context.
        name="add-k-joint-not-conditional",
        function="add_k_probs",
        hint="normalise each context's row over the LAST axis: P(w | ctx) sums to 1 over w for every ctx",
        code=edited(_ADD_K, ("c.sum(axis=-1, keepdims=True) + k * c.shape[-1]", "c.sum() + k * c.size")),
    ),
    KnownBug(
        # The lambdas taken highest order first (SRILM and many write-ups list them that way).
        name="lambdas-reversed",
        function="interpolated_probs",
        hint="lambdas[0] weighs the unigram and lambdas[-1] the n-gram, in the order of counts_by_order",
        code=edited(_INTERP, ("zip(lambdas, counts_by_order)", "zip(lambdas[::-1], counts_by_order)")),
    ),
    KnownBug(
        # 0 / 0 patched to 0 (np.nan_to_num): an unseen context's row then sums to less than 1.
        name="unseen-context-zero",
        function="interpolated_probs",
        hint="a context never seen has no maximum-likelihood estimate: use the uniform 1 / V for that order, "
        "so the mix still sums to 1",
        code=edited(_INTERP, ("(c + unseen) / (total + unseen * c.shape[-1])", "c / (total + unseen)")),
    ),
    KnownBug(
        # exp of the total NLL: the "perplexity" then grows with the length of the text.
        name="perplexity-of-summed-nll",
        function="perplexity",
        hint="perplexity is exp of the MEAN negative log-likelihood per token: divide the sum by the number "
        "of predicted tokens",
        code=edited(_PPL, ("np.exp(nll / count)", "np.exp(nll)")),
    ),
    KnownBug(
        # 2 ** (entropy in nats): the base-2 formula PPL = 2^H with H measured by np.log.
        name="perplexity-base-2-with-nats",
        function="perplexity",
        hint="2 ** H goes with H in bits (log2); with np.log (nats) the perplexity is exp(H)",
        code=edited(_PPL, ("np.exp(nll / count)", "2 ** (nll / count)")),
    ),
    KnownBug(
        # EOS dropped from the evaluation (count and sum), an easy way to a better number.
        name="perplexity-without-end-token",
        function="perplexity",
        hint="the EOS of every sentence is a predicted token: count its -ln P and count it in N",
        code=edited(_PPL, ("list(sentence) + [EOS]", "list(sentence)")),
    ),
    KnownBug(
        # np.argmax without an axis: the index into the flattened batch.
        name="greedy-argmax-without-axis",
        function="greedy",
        hint="np.argmax(logits, axis=-1): without the axis np.argmax flattens the whole batch",
        code=edited(_GREEDY, ("np.argmax(logits, axis=-1)", "np.argmax(logits)")),
    ),
    KnownBug(
        # Temperature applied to the probabilities and renormalised: it cancels out
        # (issue 24 lists "temperature after the softmax").
        name="temperature-after-softmax",
        function="temperature_probs",
        hint="divide the logits by T BEFORE the softmax; dividing the probabilities and renormalising "
        "cancels the temperature",
        code=edited(_TEMP, ("z = np.asarray(logits) / temperature", "z = np.asarray(logits)"),
                    ("return e / e.sum(axis=-1, keepdims=True)",
                     "q = e / e.sum(axis=-1, keepdims=True) / temperature\n    return q / q.sum(axis=-1, keepdims=True)")),
    ),
    KnownBug(
        # logits * T: the temperature's direction inverted.
        name="temperature-multiplies",
        function="temperature_probs",
        hint="softmax(logits / T): T < 1 must sharpen the distribution, so divide by it",
        code=edited(_TEMP, ("np.asarray(logits) / temperature", "np.asarray(logits) * temperature")),
    ),
    KnownBug(
        # The filtered probabilities returned without renormalising.
        name="top-k-not-renormalised",
        function="top_k_filter",
        hint="after zeroing, divide by the kept mass so the distribution sums to 1 again",
        code=edited(_TOP_K, ("return kept / kept.sum(axis=-1, keepdims=True)", "return kept")),
    ),
    KnownBug(
        # probs > kth: the k-th token itself dropped (k - 1 kept).
        name="top-k-keeps-k-minus-1",
        function="top_k_filter",
        hint="keep the k-th largest too: probs >= the k-th largest value",
        code=edited(_TOP_K, ("probs >= kth", "probs > kth")),
    ),
    KnownBug(
        # Keeping only tokens whose cumulative mass stays below p: the crossing token is
        # dropped (issue 24; Hugging Face's TopPLogitsWarper keeps it).
        name="top-p-drops-crossing-token",
        function="top_p_filter",
        hint="keep the token at which the cumulative sum reaches p as well (the smallest set whose mass "
        "is >= p), not only the tokens before it",
        code=edited(_TOP_P, ("np.minimum((cum < p).sum(axis=-1, keepdims=True),",
                             "np.minimum(np.maximum((cum < p).sum(axis=-1, keepdims=True) - 1, 0),")),
    ),
    KnownBug(
        # Sorted ascending (np.sort's default order) before the cumulative sum.
        name="top-p-sorted-ascending",
        function="top_p_filter",
        hint="sort the probabilities in DESCENDING order: the nucleus is made of the most probable tokens",
        code=edited(_TOP_P, ("desc = -np.sort(-probs, axis=-1)", "desc = np.sort(probs, axis=-1)")),
    ),
    KnownBug(
        # One random number for the whole batch (rng.random() without a shape).
        name="sample-one-draw-for-the-batch",
        function="sample",
        hint="draw one random number per distribution: rng.random(probs.shape[:-1] + (1,))",
        code=edited(_SAMPLE, ("rng.random(cdf.shape[:-1] + (1,))", "rng.random()")),
    ),
    KnownBug(
        # Top-k "sampling" that picks uniformly among the allowed tokens, ignoring their weights.
        name="sample-uniform-over-support",
        function="sample",
        hint="token i must come out with probability probs[i], not uniformly among the tokens allowed",
        code=edited(_SAMPLE, ("cdf = np.cumsum(probs, axis=-1)", "cdf = np.cumsum(probs > 0, axis=-1)")),
    ),
    KnownBug(
        # The (N, n, d) embeddings transposed before flattening: features interleaved across
        # positions instead of one position's embedding after the other (a reshape slip
        # PyTorch forum threads on Bengio-style models keep meeting).
        name="neural-concat-interleaved",
        function="neural_lm_forward",
        hint="E[contexts] is (N, context, d): reshape(N, context * d) as it is puts E[c_1] first, then E[c_2], ...; "
        "do not transpose before flattening",
        code=edited(_FORWARD, ('p["E"][ids].reshape(', 'p["E"][ids].transpose(1, 2).reshape(')),
        fails=_NEURAL,
    ),
    KnownBug(
        # The hidden layer's nonlinearity forgotten: the model collapses to a linear map.
        name="neural-no-tanh",
        function="neural_lm_forward",
        hint="h = tanh(x @ W1 + b1): without the tanh two linear layers are one linear layer",
        code=edited(_FORWARD, ('torch.tanh(x @ p["W1"] + p["b1"])', '(x @ p["W1"] + p["b1"])')),
        fails=_NEURAL,
    ),
    KnownBug(
        # optimizer.zero_grad() forgotten: gradients pile up across steps (the most asked
        # question of the PyTorch forums' beginner category).
        name="gradients-never-zeroed",
        function="train_neural_lm",
        hint="call opt.zero_grad() before each loss.backward(): backward ADDS to .grad, so the steps use the "
        "sum of every gradient so far",
        code=edited(_TRAIN, ("        opt.zero_grad()\n", "")),
    ),
    KnownBug(
        # F.cross_entropy given probabilities: it applies log_softmax itself, so the model's
        # outputs go through a softmax twice and learning nearly stops.
        name="softmax-before-cross-entropy",
        function="train_neural_lm",
        hint="F.cross_entropy takes the raw logits (it applies log_softmax itself): do not softmax them first",
        code=edited(_TRAIN, ("cross_entropy(neural_lm_forward(params, contexts), y)",
                             "cross_entropy(torch.softmax(neural_lm_forward(params, contexts), dim=-1), y)")),
    ),
]

EQUIVALENT = {
    "top_p_filter/swap-args/swap first two arguments#0": "np.minimum is symmetric: the same crossing index",
    "top_k_filter/axis/drop axis#0": "np.sort sorts along the last axis by default: axis=-1 is only explicit",
    "top_p_filter/axis/drop axis#0": "np.sort sorts along the last axis by default: axis=-1 is only explicit",
    "top_p_filter/axis/drop axis#3": "np.take_along_axis's axis defaults to -1 (NumPy >= 2.3): the same lookup",
    "sample/arith/Mult->Div#0": "probs are distributions (the docstring's contract), so the total is 1 and "
    "u * 1 = u / 1; the scaling only guards a float sum a hair off 1",
    "sample/drop-term/keep left#0": "probs are distributions, so cdf[..., -1:] is 1 to rounding: the "
    "scaling only guards a float sum a hair off 1 (as Mult->Div above)",
    "sample/compare/LtE->Lt#0": "u is a continuous uniform draw: cdf == u has probability ~2^-53 per draw",
    "add_k_probs/constant/1->0#1": "a count table has length V along every axis: shape[0] is shape[-1]",
    "interpolated_probs/constant/1->0#1": "a count table has length V along every axis: shape[0] is shape[-1]",
}
