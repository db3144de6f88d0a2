"""Phase 6: the learner's tiny GPT, trained on the generated corpus, writes with their samplers.

Corpus: `nnfs_cli.corpus` (3,000 training sentences, 300 held out), ids from
`corpus.vocabulary(["<bos>", "<eos>"])`: BOS = 0 and EOS = 1, as the language-model
exercise numbers them. The learner's `train_gpt` fits a GPT (d 32, 1 layer, 2 heads) on
windows of the training stream (sentences joined by EOS); their `ngram_counts`,
`add_k_probs` (k = 0.01) and `perplexity` make the bigram baseline. Both are scored on the
held-out sentences per predicted token (every word and the EOS), the GPT reading each
sentence after an EOS as the bigram reads it after a BOS. Then the GPT writes sentences
with the learner's `temperature_probs`, `top_p_filter` and `sample`.
Measured when written with the references (seeds 0-2, 200 steps): GPT 6.55-6.76 against
the bigram's 9.07 held-out perplexity.
"""

from __future__ import annotations

import numpy as np

from nnfs_cli.milestones import Outcome

N_TRAIN, N_TEST, WINDOW, BATCH, STEPS = 3000, 300, 16, 32, 200
MODEL = {"n_embd": 32, "n_layer": 1, "n_head": 2}
LR, K, TEMPERATURE, TOP_P, N_WRITTEN, MAX_WORDS = 0.01, 0.01, 0.8, 0.9, 5, 20
BOS, EOS = 0, 1
SEED = 0


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _gpt_perplexity(gpt, params: dict, sentences: list[list[int]]) -> float:
    """Per-token perplexity of the learner's GPT on sentences read after an EOS, by length."""
    nll, count = 0.0, 0
    for length in sorted({len(s) for s in sentences}):
        group = np.array([s for s in sentences if len(s) == length], dtype=np.int64)
        inputs = np.concatenate([np.full((len(group), 1), EOS), group], axis=1)
        targets = np.concatenate([group, np.full((len(group), 1), EOS)], axis=1)
        logits = np.asarray(gpt.gpt_forward(params, inputs, MODEL["n_layer"], MODEL["n_head"]), dtype=float)
        logp = _log_softmax(logits)
        nll -= float(np.take_along_axis(logp, targets[..., None], axis=-1).sum())
        count += targets.size
    return float(np.exp(nll / count))


def _write(gpt, lm, params: dict, seed: int) -> list[int]:
    """One sentence from the learner's GPT and samplers, after an EOS, up to its own EOS."""
    tokens = [EOS]
    for step in range(MAX_WORDS + 1):
        context = np.array([tokens[-WINDOW:]], dtype=np.int64)
        logits = np.asarray(gpt.gpt_forward(params, context, MODEL["n_layer"], MODEL["n_head"]), dtype=float)[0, -1]
        probs = lm.top_p_filter(lm.temperature_probs(logits, TEMPERATURE), TOP_P)
        token = int(np.asarray(lm.sample(np.asarray(probs, dtype=float), seed * 1000 + step)))
        if token == EOS:
            break
        tokens.append(token)
    return tokens[1:]


def run(code, seed: int = SEED) -> Outcome:
    from nnfs_cli import corpus

    lm, gpt = code["language-model"], code["gpt"]
    vocab = corpus.vocabulary(["<bos>", "<eos>"])
    V = len(vocab)
    train = [corpus.encode(s, vocab) for s in corpus.sentences(N_TRAIN, seed=seed)]
    test = [corpus.encode(s, vocab) for s in corpus.sentences(N_TEST, seed=1000 + seed)]
    stream = np.array([t for s in train for t in [*s, EOS]], dtype=np.int64)
    starts = np.random.default_rng(seed).integers(0, len(stream) - WINDOW - 1, size=(STEPS, BATCH))
    batches = stream[starts[..., None] + np.arange(WINDOW + 1)]
    params, losses = gpt.with_timeout(600).train_gpt(batches, V, *MODEL.values(), LR, seed)
    params = {k: np.asarray(v, dtype=float) for k, v in params.items()}
    bigram = float(lm.perplexity(lm.add_k_probs(lm.ngram_counts(train, 2, V), K), test))
    ppl = _gpt_perplexity(gpt, params, test)
    written = [" ".join(corpus.decode(_write(gpt, lm, params, seed * 10 + i), vocab)) for i in range(N_WRITTEN)]
    passed = ppl < bigram
    verdict = (
        f"your GPT's held-out perplexity is {ppl:.2f} against your add-{K:g} bigram's {bigram:.2f} "
        f"({'below' if passed else 'not below'} it); with your samplers (T={TEMPERATURE}, top-p {TOP_P}) "
        f"it writes: '{written[0]}'"
    )
    figures = [
        {"kind": "curves", "title": "gpt-writes: your GPT's training loss, and your bigram on held-out text",
         "curves": {"GPT training batch (nats/token)": [float(v) for v in losses],
                    "bigram held-out (nats/token)": [float(np.log(bigram))] * len(losses)},
         "xlabel": "Adam step", "ylabel": "cross-entropy"},
    ]  # fmt: skip
    return Outcome(passed, verdict + " | also: " + " / ".join(f"'{w}'" for w in written[1:]), figures)
