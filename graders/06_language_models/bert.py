"""Grader for bert: MLM masking, the masked-position loss, NSP pairs, a bidirectional encoder.

Layers: mlm_mask's shapes -> its exact invariants (labels, unchosen positions, specials and
padding never chosen) -> its rates over many draws (chosen 15% of the eligible tokens, then
80/10/10) -> the random replacements uniform over the non-special words (chi-square) ->
seeding; mlm_loss against F.cross_entropy(ignore_index=-100) (float64, float32, large
logits); nsp_pairs' layout exactly, its labels against the true next sentence, its 50/50
rate; encoder_layer against nn.TransformerEncoderLayer(norm_first=False, gelu) with copied
weights, with and without a padding mask, and its bidirectionality; bert_forward against a
PyTorch model with copied weights, bidirectional and blind to padding.
Statistical checks allow 5 standard errors: a correct implementation fails one with
probability < 1e-6; each bug named in a comment misses by far more.
torch is imported inside the tests that use it.
"""

import numpy as np
import pytest

from nnfs_cli import corpus
from nnfs_cli.checks import (
    DTYPES,
    as_tuple,
    assert_close,
    assert_shape,
    assert_true,
    describe,
)

SPECIALS = ("[PAD]", "[CLS]", "[SEP]", "[MASK]")
PAD, CLS, SEP, MASK, N_SPECIAL, IGNORE = 0, 1, 2, 3, 4, -100
VOCAB = corpus.vocabulary(SPECIALS)
V = len(VOCAB)
K = V - N_SPECIAL  # the words a random replacement is drawn from
EPS = 1e-12
QKVO = ("Wq", "bq", "Wk", "bk", "Wv", "bv", "Wo", "bo")
HINTS = {
    "mlm_mask": "chosen = (ids >= N_SPECIAL) & (draw < mask_prob); of those, [MASK] 80%, a random word id in "
    "N_SPECIAL..V-1 10%, unchanged 10%; labels = ids where chosen, -100 elsewhere",
    "mlm_loss": "keep = labels != -100; the mean of -log_softmax(logits)[label] over the kept positions only",
    "nsp_pairs": "row i: [CLS] A [SEP] B [SEP] then [PAD]; segments 0 up to and including the first [SEP], "
    "1 for B and its [SEP], 0 on the padding",
    "encoder_layer": "post-LN: x = LN1(x + MHA(x, x, mask)); x = LN2(x + gelu(x @ W1 + b1) @ W2 + b2), exact "
    "(erf) GELU, the padding mask as (N, 1, 1, T), no causal mask",
    "bert_forward": "x = layer_norm(tok_embed[ids] + pos_embed[:T] + seg_embed[segments]) with emb_ln; the "
    "layers; logits = x @ tok_embed.T + mlm_bias",
}


# ---------------------------------------------------------------------------------------
# data from the generated corpus
# ---------------------------------------------------------------------------------------


def encoded(n, seed):
    return [corpus.encode(s, VOCAB) for s in corpus.sentences(n, seed)]


def unique_sentences(n, seed):
    """n distinct sentences (the corpus repeats some), so that a B names its index."""
    seen = {}
    for s in encoded(3 * n + 20, seed):
        seen.setdefault(tuple(s), None)
    assert len(seen) >= n, "the corpus has too few distinct sentences for this test"
    return [list(s) for s in list(seen)[:n]]


def mlm_batch(n, seed):
    """(n, T) rows [CLS] sentence [SEP] [PAD]..., T the longest row: specials and padding."""
    rows = [[CLS, *s, SEP] for s in encoded(n, seed)]
    ids = np.full((n, max(map(len, rows))), PAD, dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
    return ids


def call_mask(learner, ids, seed, mask_prob=0.15):
    on = describe(ids=ids, vocab_size=V, seed=seed, mask_prob=mask_prob)
    inputs, labels = as_tuple(learner.mlm_mask(ids, V, seed, mask_prob), 2,
                              "mlm_mask(ids, vocab_size, seed, mask_prob)", on)  # fmt: skip
    inputs = assert_shape(inputs, ids.shape, "mlm_mask: inputs (shaped like ids)", on=on)
    labels = assert_shape(labels, ids.shape, "mlm_mask: labels (shaped like ids)", on=on)
    for name, a in (("inputs", inputs), ("labels", labels)):
        assert_true(np.issubdtype(a.dtype, np.integer), f"mlm_mask: {name} dtype",
                    f"expected integer token ids, got {a.dtype}", on=on,
                    hint="return int arrays (ids.copy() keeps the dtype; np.where(chosen, ids, -100) too)")  # fmt: skip
    return inputs, labels, on


def within(observed, expected, n, what, on, hint, slack=0.0):
    """A proportion over n Bernoulli trials within 5 standard errors (+ slack) of expected."""
    se = np.sqrt(expected * (1 - expected) / n)
    assert_true(abs(observed - expected) <= 5 * se + slack, what,
                f"{observed:.4f} over {n} tokens; expected {expected:.4f} +- {5 * se + slack:.4f} "
                "(5 standard errors: a correct draw misses with probability < 1e-6)", on=on, hint=hint)  # fmt: skip


# ---------------------------------------------------------------------------------------
# mlm_mask
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 3, 8])
@pytest.mark.part("mlm_mask", points=0.25)
def test_mlm_mask_shapes(learner, n):
    """(inputs, labels), both shaped like ids (N, T), integer, for batches of 1, 3 and 8."""
    call_mask(learner, mlm_batch(n, seed=n), seed=0)


@pytest.mark.parametrize("mask_prob", [0.15, 0.5])
@pytest.mark.part("mlm_mask", points=0.5)
def test_mlm_mask_labels_and_unchosen(learner, mask_prob):
    """Exactly: a label is -100 or the original id; where it is the id (chosen), the input is
    [MASK], a word or the id itself; where it is -100 the input is the id unchanged."""
    ids = mlm_batch(500, seed=1)
    inputs, labels, on = call_mask(learner, ids, seed=11, mask_prob=mask_prob)
    chosen = labels != IGNORE
    assert_true(chosen.any(), "mlm_mask: no position chosen", f"every label is -100 at mask_prob={mask_prob}",
                on=on, hint=HINTS["mlm_mask"])  # fmt: skip
    assert_close(labels[chosen], ids[chosen], "mlm_mask: labels at the chosen positions (label != -100)",
                 on=on, rtol=0, atol=0, hint="a chosen position's label is its ORIGINAL id (before any replacement); "
                 "every other label is -100")  # fmt: skip
    assert_close(inputs[~chosen], ids[~chosen], "mlm_mask: inputs where the label is -100", on=on, rtol=0, atol=0,
                 hint="only chosen positions change: a position you replace must get its label, and a position "
                 "with label -100 keeps its token")  # fmt: skip
    fates = inputs[chosen]
    assert_true(bool(np.all((fates == MASK) | (fates >= N_SPECIAL))), "mlm_mask: chosen inputs",
                "a chosen position became a special other than [MASK]", on=on, hint=HINTS["mlm_mask"])  # fmt: skip


@pytest.mark.part("mlm_mask", points=1)
def test_mlm_mask_never_chooses_specials_or_padding(learner):
    """Over 2000 rows of [CLS] sentence [SEP] [PAD]... at mask_prob = 0.5: no [CLS], [SEP] or
    [PAD] position is ever chosen (label -100, input unchanged)."""
    ids = mlm_batch(2000, seed=2)
    inputs, labels, on = call_mask(learner, ids, seed=12, mask_prob=0.5)
    chosen = (labels != IGNORE) | (inputs != ids)
    for token, name in ((PAD, "[PAD]"), (CLS, "[CLS]"), (SEP, "[SEP]")):
        bad = int((chosen & (ids == token)).sum())
        assert_true(bad == 0, f"mlm_mask: {name} positions chosen",
                    f"{bad} of {int((ids == token).sum())} {name} positions were chosen or changed", on=on,
                    hint="choose among the NON-special tokens only (ids >= N_SPECIAL): "
                    + ("padding is not text; 15% of every position, padding included, is a known slip"
                       if token == PAD else "[CLS] and [SEP] are structure, never a word to predict"))  # fmt: skip


@pytest.mark.parametrize("mask_prob", [0.15, 0.3])
@pytest.mark.part("mlm_mask", points=1)
def test_mlm_mask_rates(learner, mask_prob):
    """Over 20,000 rows (~136,000 words): the chosen share of the words is mask_prob, and of the
    chosen ~80% are [MASK], ~10% another word, ~10% unchanged (a random draw may give the
    original back: 10% + 10%/K unchanged, K = 49 words), each to 5 standard errors."""
    ids = mlm_batch(20000, seed=3)
    inputs, labels, on = call_mask(learner, ids, seed=13, mask_prob=mask_prob)
    words = ids >= N_SPECIAL
    chosen = (labels != IGNORE) & words
    n, m = int(words.sum()), int(chosen.sum())
    # The chosen count is Binomial(n, p): SE ~0.001 at p = 0.15; choosing among every
    # position (padding included) then dropping the specials, or a fixed count of the
    # padded length, misses by > 0.02 (20 SE).
    within(m / n, mask_prob, n, "mlm_mask: the share of words chosen", on,
           "each non-special token is chosen with probability mask_prob")  # fmt: skip
    # Every word that occurs 200 times or more is chosen at least once: a correct draw
    # misses one with probability < 0.85^200 ~ 1e-14 (a bound one off, ids > N_SPECIAL,
    # never chooses the first word).
    seen, picked = np.bincount(ids[words], minlength=V), np.bincount(ids[chosen], minlength=V)
    never = np.flatnonzero((seen >= 200) & (picked == 0))
    assert_true(never.size == 0, "mlm_mask: some words are never chosen",
                f"word ids {never.tolist()} occur {seen[never].tolist()} times and are never chosen", on=on,
                hint="every word id, N_SPECIAL..V-1, may be chosen: ids >= N_SPECIAL")  # fmt: skip
    # Of the m ~20,000 chosen: SE ~0.003 for 80% and ~0.002 for 10%. Excluding the original
    # from the random draw moves the shares by 0.1 / K = 0.002 (the slack). The classic slip
    # random = (draw < 0.1) & ~masked gives 2% random (35 SE off).
    masked, kept = inputs[chosen] == MASK, inputs[chosen] == ids[chosen]
    hint = ("of the chosen: one draw u, u < 0.8 -> [MASK], 0.8 <= u < 0.9 -> a random word, else unchanged "
            "(10% random of ALL chosen: half of the 20% not masked)")
    within(masked.mean(), 0.8, m, "mlm_mask: the share of chosen tokens replaced by [MASK]", on, hint)
    within(kept.mean(), 0.1 + 0.1 / K, m, "mlm_mask: the share of chosen tokens left unchanged", on, hint,
           slack=0.1 / K)  # fmt: skip
    within((~masked & ~kept).mean(), 0.1 - 0.1 / K, m, "mlm_mask: the share of chosen tokens replaced by "
           "another word", on, hint, slack=0.1 / K)  # fmt: skip


# scipy.stats.chi2.ppf(1 - 1e-6, 47): a uniform draw exceeds it with probability 1e-6 (scipy is
# not a dependency of nnfs, and importing scipy.stats costs a second)
CHI2_47_AT_1E6 = 108.177


@pytest.mark.part("mlm_mask", points=1)
def test_mlm_mask_random_words_uniform(learner):
    """Rows of one repeated word w at mask_prob = 0.5 (~56,000 chosen, ~5,600 random draws):
    no replacement is a special, every other word appears, and the counts pass a chi-square
    test of uniformity over the K - 1 = 48 other words at p = 1e-6."""
    w = VOCAB["the"]
    ids = np.full((4000, 30), w, dtype=np.int64)
    ids[:, 0], ids[:, -1] = CLS, PAD
    ids[np.arange(4000), 20 + np.arange(4000) % 9] = SEP
    ids[np.arange(30)[None, :] > (20 + np.arange(4000) % 9)[:, None]] = PAD
    inputs, labels, on = call_mask(learner, ids, seed=14, mask_prob=0.5)
    on += f" (every word is {w}, 'the')"
    replaced = inputs[(labels != IGNORE) & (inputs != MASK) & (inputs != ids)]
    specials = int((replaced < N_SPECIAL).sum())
    assert_true(specials == 0, "mlm_mask: random replacements that are specials",
                f"{specials} of {replaced.size} random replacements are special ids (< {N_SPECIAL})", on=on,
                hint="draw the random token from the WORDS only, ids N_SPECIAL..V-1 (Hugging Face's collator "
                "draws from the whole vocabulary; a random [PAD] or [CLS] in a sentence teaches nothing)")  # fmt: skip
    counts = np.bincount(replaced, minlength=V)[N_SPECIAL:]
    others = np.delete(counts, w - N_SPECIAL)
    # Each of the 48 other words is expected ~115 times: P(a correct draw misses one) < 48 e^-115.
    assert_true(bool(np.all(others > 0)), "mlm_mask: random replacements never give some words",
                f"{int((others == 0).sum())} of the {others.size} other words never appear among {replaced.size} "
                f"random replacements (ids never drawn: {(np.flatnonzero(counts == 0) + N_SPECIAL).tolist()})",
                on=on, hint="rng.integers(N_SPECIAL, vocab_size): the upper bound is exclusive, so V itself is "
                "not drawn but V - 1 is")  # fmt: skip
    expected = others.sum() / others.size
    statistic = float(((others - expected) ** 2 / expected).sum())
    assert others.size - 1 == 47, "the corpus changed: recompute CHI2_47_AT_1E6"
    assert_true(statistic <= CHI2_47_AT_1E6, "mlm_mask: random replacements not uniform over the words",
                f"chi-square statistic {statistic:.1f} > {CHI2_47_AT_1E6:.1f} (p < 1e-6, 47 degrees of freedom) "
                f"for {replaced.size} draws over {others.size} words (counts from {others.min()} to {others.max()})", on=on,
                hint="every word id N_SPECIAL..V-1 equally likely")  # fmt: skip


@pytest.mark.part("mlm_mask", points=0.5)
def test_mlm_mask_is_seeded(learner):
    """The same seed gives the same (inputs, labels); another seed gives another masking."""
    ids = mlm_batch(200, seed=4)
    a_in, a_lab, on = call_mask(learner, ids, seed=5)
    b_in, b_lab, _ = call_mask(learner, ids, seed=5)
    c_in, c_lab, _ = call_mask(learner, ids, seed=6)
    hint = "draw everything from a generator made from the seed: rng = np.random.default_rng(seed)"
    assert_close(b_in, a_in, "mlm_mask: inputs of a second call with the same seed", on=on, rtol=0, atol=0, hint=hint)
    assert_close(b_lab, a_lab, "mlm_mask: labels of a second call with the same seed", on=on, rtol=0, atol=0,
                 hint=hint)  # fmt: skip
    assert_true(not np.array_equal(c_lab, a_lab), "mlm_mask: seeds 5 and 6 give the same labels",
                "two seeds chose exactly the same positions", on=on, hint=hint)  # fmt: skip


# ---------------------------------------------------------------------------------------
# mlm_loss
# ---------------------------------------------------------------------------------------


def loss_case(shape, seed, dtype=np.float64, scale=2.0):
    n, t, v = shape
    rng = np.random.default_rng(seed)
    logits = (scale * rng.normal(size=shape)).astype(dtype)
    labels = rng.integers(0, v, size=(n, t))
    labels[rng.random((n, t)) > 0.3] = IGNORE
    labels[0, 0] = v - 1  # at least one position counts
    return logits, labels


def torch_mlm_loss(logits, labels):
    import torch

    t = torch.as_tensor(np.asarray(logits, dtype=np.float64))
    return float(torch.nn.functional.cross_entropy(t.reshape(-1, t.shape[-1]),
                                                   torch.as_tensor(labels).reshape(-1), ignore_index=IGNORE))  # fmt: skip


LOSS_SHAPES = [(1, 5, 7), (3, 4, 11), (2, 9, V)]


@DTYPES
@pytest.mark.parametrize("shape", LOSS_SHAPES, ids=str)
@pytest.mark.part("mlm_loss", points=0.5)
def test_mlm_loss_matches_torch(learner, shape, dtype):
    """Equals F.cross_entropy(ignore_index=-100): the mean over the ~30% of positions whose
    label is not -100 (float64 and float32 logits)."""
    logits, labels = loss_case(shape, seed=20 + shape[2], dtype=dtype)
    on = describe(logits=logits, labels=labels) + f", {int((labels != IGNORE).sum())} labels not -100"
    got = learner.mlm_loss(logits, labels)
    assert_close(got, torch_mlm_loss(logits, labels), "mlm_loss(logits, labels)", on=on,
                 inputs={"logits": logits}, batch=int((labels != IGNORE).sum()),
                 hint=HINTS["mlm_loss"])  # fmt: skip


@pytest.mark.part("mlm_loss", points=0.5)
def test_mlm_loss_one_position(learner):
    """A single counted position: the loss is that position's cross-entropy, whatever the
    other (ignored) labels would have said."""
    logits, labels = loss_case((2, 6, 9), seed=21)
    labels[:] = IGNORE
    labels[1, 4] = 2
    on = describe(logits=logits, labels=labels) + ", one label not -100 (at [1, 4])"
    assert_close(learner.mlm_loss(logits, labels), torch_mlm_loss(logits, labels), "mlm_loss with one counted position",
                 on=on, hint=HINTS["mlm_loss"])  # fmt: skip


@pytest.mark.part("mlm_loss", points=0.5)
def test_mlm_loss_large_logits(learner):
    """Logits of size ~1000 (a confident model): finite and exact (log-sum-exp, not
    log(sum(exp)))."""
    logits, labels = loss_case((3, 5, 8), seed=22, scale=800.0)
    on = describe(logits=logits, labels=labels) + " (logits ~ N(0, 800^2))"
    assert_close(learner.mlm_loss(logits, labels), torch_mlm_loss(logits, labels), "mlm_loss with logits ~ 1e3",
                 on=on, hint="log_softmax (or subtract each row's max before exp): exp(800) overflows")  # fmt: skip


# ---------------------------------------------------------------------------------------
# nsp_pairs
# ---------------------------------------------------------------------------------------


def call_nsp(learner, sentences, seed):
    on = f"{len(sentences)} distinct sentences (word ids), seed={seed}"
    ids, segments, is_next = as_tuple(learner.nsp_pairs(sentences, seed), 3, "nsp_pairs(sentences, seed)", on)
    n = len(sentences) - 1
    ids = np.asarray(ids)
    length = ids.shape[1] if ids.ndim == 2 else 0
    ids = assert_shape(ids, (n, length), "nsp_pairs: ids (one row per pair, n - 1 rows)", on=on)
    segments = assert_shape(segments, (n, length), "nsp_pairs: segments (shaped like ids)", on=on)
    is_next = assert_shape(is_next, (n,), "nsp_pairs: is_next (n - 1,)", on=on)
    return ids, segments, is_next, on


def second_sentence(row, a_len):
    """B as the learner's row has it: after [CLS] A [SEP], up to the next [SEP]."""
    rest = list(row[a_len + 2 :])
    return rest[: rest.index(SEP)] if SEP in rest else rest


def expected_layout(sentences, bs, length):
    ids = np.full((len(bs), length), PAD, dtype=np.int64)
    segments = np.zeros((len(bs), length), dtype=np.int64)
    for i, b in enumerate(bs):
        row = [CLS, *sentences[i], SEP, *b, SEP][:length]
        ids[i, : len(row)] = row
        segments[i, len(sentences[i]) + 2 : len(row)] = 1
    return ids, segments


@pytest.mark.parametrize("n", [2, 7, 40])
@pytest.mark.part("nsp_pairs", points=0.5)
def test_nsp_pairs_layout(learner, n):
    """Row i is [CLS] sentence i [SEP] B [SEP] [PAD]..., B one of the sentences, padded to the
    longest row; segments 0 for [CLS] A [SEP], 1 for B [SEP], 0 on the padding."""
    sentences = unique_sentences(n, seed=30 + n)
    ids, segments, _, on = call_nsp(learner, sentences, seed=n)
    bs = [second_sentence(row, len(sentences[i])) for i, row in enumerate(ids)]
    exp_ids, exp_seg = expected_layout(sentences, bs, max(len(sentences[i]) + len(b) + 3 for i, b in enumerate(bs)))
    assert_close(ids, exp_ids, "nsp_pairs: ids ([CLS] A [SEP] B [SEP] [PAD]...)", on=on, rtol=0, atol=0,
                 hint=HINTS["nsp_pairs"])  # fmt: skip
    known = {tuple(s) for s in sentences}
    strangers = [i for i, b in enumerate(bs) if tuple(b) not in known]
    assert_true(not strangers, "nsp_pairs: B is not a sentence of the input",
                f"{len(strangers)} pairs, first row {strangers[:1]}", on=on, hint=HINTS["nsp_pairs"])  # fmt: skip
    assert_close(segments, exp_seg, "nsp_pairs: segments", on=on, rtol=0, atol=0, hint=HINTS["nsp_pairs"])


@pytest.mark.part("nsp_pairs", points=1)
def test_nsp_pairs_labels_tell_the_truth(learner):
    """Over 60 documents of 5 sentences: is_next = 1 exactly when B is sentence i + 1; a
    NotNext B is never the true next sentence, and can be any other (each of the 5 turns up)."""
    drawn = set()  # positions of the NotNext B's in their documents
    for seed in range(60):
        sentences = unique_sentences(5, seed=100 + seed)
        ids, _, is_next, on = call_nsp(learner, sentences, seed=seed)
        bs = [second_sentence(row, len(sentences[i])) for i, row in enumerate(ids)]
        truth = np.array([b == list(sentences[i + 1]) for i, b in enumerate(bs)], dtype=np.int64)
        listed = [list(s) for s in sentences]
        drawn |= {listed.index(b) for b, t in zip(bs, truth) if not t and b in listed}
        assert_close(is_next, truth, "nsp_pairs: is_next (1 = B is the next sentence)", on=on, rtol=0, atol=0,
                     hint="a NotNext B is drawn from the OTHER sentences (never i + 1: with a short document "
                     "a random pick is often the true next one); is_next = 1 means B follows A "
                     "(Hugging Face's next_sentence_label uses 0 for that)")  # fmt: skip
    # ~120 NotNext draws, each sentence a candidate in most: a uniform draw misses one with
    # probability < 1e-9; a range cut short by one (integers(n - 2)) never reaches the last
    missing = sorted(set(range(5)) - drawn)
    assert_true(not missing, "nsp_pairs: every sentence can be a NotNext B",
                f"over 60 documents of 5 sentences, B was never sentence {missing}",
                on="60 documents of 5 sentences, seeds 0-59",
                hint="draw j uniformly from ALL the indices other than i + 1 (n - 1 of them), then skip i + 1")  # fmt: skip


@pytest.mark.part("nsp_pairs", points=1)
def test_nsp_pairs_half_are_next(learner):
    """Over 3000 pairs: half are IsNext (to 5 standard errors, +-0.046), and the NotNext B's are
    spread over the document (fewer than 5% within 3 sentences of i + 1)."""
    sentences = unique_sentences(3001, seed=40)
    ids, _, is_next, on = call_nsp(learner, sentences, seed=41)
    within(float(np.mean(np.asarray(is_next) == 1)), 0.5, 3000, "nsp_pairs: the share of IsNext pairs", on,
           "one fair coin per pair: B = the next sentence with probability 1/2")  # fmt: skip
    index = {tuple(s): j for j, s in enumerate(sentences)}
    near = [abs(index.get(tuple(second_sentence(row, len(sentences[i]))), -99) - (i + 1)) <= 3
            for i, row in enumerate(ids) if is_next[i] == 0]  # fmt: skip
    # A uniform j over 3000 sentences lands within 3 of i + 1 with probability ~0.002.
    assert_true(np.mean(near) < 0.05 if near else False, "nsp_pairs: NotNext B's are not random sentences",
                f"{int(np.sum(near))} of {len(near)} NotNext B's are within 3 sentences of the true next one",
                on=on, hint="draw j uniformly from all the other sentences")  # fmt: skip


# ---------------------------------------------------------------------------------------
# encoder_layer
# ---------------------------------------------------------------------------------------


def numpy_of(t):
    return t.detach().numpy().copy()


def randomize(module, seed):
    """Every parameter redrawn (biases and layer norms included: PyTorch's are 0 and 1)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, w in module.named_parameters():
            if "norm" in name and name.endswith("weight"):
                w.copy_(1 + 0.3 * torch.randn(w.shape, generator=g, dtype=w.dtype))
            else:
                w.copy_(torch.randn(w.shape, generator=g, dtype=w.dtype) / (w.shape[-1] ** 0.5 if w.dim() == 2 else 3))
    return module


def layer_params(layer):
    """nn.TransformerEncoderLayer's weights as this exercise's dict ((in, out) weights)."""
    d = layer.self_attn.embed_dim
    W, b = numpy_of(layer.self_attn.in_proj_weight), numpy_of(layer.self_attn.in_proj_bias)
    p = {}
    for i, n in enumerate("qkv"):
        p[f"attn_W{n}"], p[f"attn_b{n}"] = W[i * d : (i + 1) * d].T.copy(), b[i * d : (i + 1) * d]
    p["attn_Wo"], p["attn_bo"] = numpy_of(layer.self_attn.out_proj.weight).T.copy(), numpy_of(layer.self_attn.out_proj.bias)
    for k, lin in (("1", layer.linear1), ("2", layer.linear2)):
        p[f"ffn_W{k}"], p[f"ffn_b{k}"] = numpy_of(lin.weight).T.copy(), numpy_of(lin.bias)
    for k, norm in (("1", layer.norm1), ("2", layer.norm2)):
        p[f"ln{k}_gamma"], p[f"ln{k}_beta"] = numpy_of(norm.weight), numpy_of(norm.bias)
    return p


def torch_layer(d, h, d_ff, seed):
    """BERT's layer in PyTorch: post-LN, exact GELU, eps 1e-12, dropout 0. Left in training
    mode (dropout 0): evaluation mode may take the fast path, which zeroes padded outputs."""
    import torch

    layer = torch.nn.TransformerEncoderLayer(d, h, d_ff, dropout=0.0, activation="gelu", layer_norm_eps=EPS,
                                             batch_first=True, norm_first=False, dtype=torch.float64)  # fmt: skip
    return randomize(layer, seed)


def run_torch_layer(layer, x, mask):
    import torch

    kw = {} if mask is None else {"src_key_padding_mask": torch.as_tensor(~mask)}  # True = ignore there
    with torch.no_grad():
        return numpy_of(layer(torch.as_tensor(x), **kw))


def padding_mask(n, t, seed):
    lengths = np.random.default_rng(seed).integers(1, t + 1, size=n)
    lengths[0] = t
    return np.arange(t)[None, :] < lengths[:, None]


# (N, T, d, heads, d_ff): batch 1, odd T, one head, d_ff not a multiple of d.
LAYER_CASES = [(1, 4, 4, 2, 6), (2, 5, 6, 3, 10), (3, 7, 8, 1, 12)]


@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "padding-mask"])
@pytest.mark.parametrize("case", LAYER_CASES, ids=str)
@pytest.mark.part("encoder_layer", points=0.5)
def test_encoder_layer_matches_torch(learner, case, masked):
    """Equals nn.TransformerEncoderLayer(norm_first=False, activation="gelu", eps=1e-12,
    dropout=0) with its weights copied in, without a mask and with a padding mask (True = a
    real token, passed to PyTorch as src_key_padding_mask = ~mask)."""
    n, t, d, heads, d_ff = case
    layer = torch_layer(d, heads, d_ff, seed=50 + d)
    x = np.random.default_rng(50).normal(size=(n, t, d))
    mask = padding_mask(n, t, seed=51) if masked else None
    on = describe(x=x) + f", n_heads={heads}, d_ff={d_ff}" + (f", attention_mask rows of {mask.sum(1).tolist()}"
                                                              if masked else ", attention_mask=None")  # fmt: skip
    got = learner.encoder_layer(x, layer_params(layer), heads, mask)
    assert_shape(got, (n, t, d), "encoder_layer: output", on=on)
    assert_close(got, run_torch_layer(layer, x, mask), "encoder_layer vs nn.TransformerEncoderLayer(norm_first=False)",
                 on=on, inputs={"x": x}, hint=HINTS["encoder_layer"])  # fmt: skip


@pytest.mark.part("encoder_layer", points=0.5)
def test_encoder_layer_float32(learner, ref):
    """float32 inputs and weights give float32-accurate results."""
    layer = torch_layer(6, 2, 8, seed=52)
    x = np.random.default_rng(52).normal(size=(2, 5, 6))
    mask = padding_mask(2, 5, seed=52)
    exp = run_torch_layer(layer, x, mask)
    x32 = x.astype(np.float32)
    p32 = {k: v.astype(np.float32) for k, v in layer_params(layer).items()}
    assert_close(learner.encoder_layer(x32, p32, 2, mask), exp, "encoder_layer (float32)",
                 on=describe(x=x32) + ", n_heads=2, a padding mask", inputs={"x": x32},
                 hint=HINTS["encoder_layer"])  # fmt: skip


@pytest.mark.part("encoder_layer", points=0.5)
def test_encoder_layer_is_bidirectional(learner):
    """Changing only the LAST position changes the output at position 0 (BERT sees both
    sides: no causal mask), and changing a padded position changes no real position."""
    layer = torch_layer(6, 2, 8, seed=53)
    p = layer_params(layer)
    x = np.random.default_rng(53).normal(size=(2, 5, 6))
    base = np.asarray(learner.encoder_layer(x, p, 2, None), dtype=np.float64)
    later = x.copy()
    later[:, -1] += 1.0
    moved = np.abs(np.asarray(learner.encoder_layer(later, p, 2, None), dtype=np.float64)[:, 0] - base[:, 0]).max()
    on = describe(x=x) + ", n_heads=2"
    assert_true(moved > 1e-6, "encoder_layer: position 0 ignores the last position",
                f"changing x[:, -1] changed out[:, 0] by at most {moved:.2g}", on=on,
                hint="BERT's encoder is bidirectional: no causal mask (only the padding mask hides keys)")  # fmt: skip
    mask = np.array([[True] * 5, [True, True, True, False, False]])
    base = np.asarray(learner.encoder_layer(x, p, 2, mask), dtype=np.float64)
    padded = x.copy()
    padded[1, 3:] += 5.0
    out = np.asarray(learner.encoder_layer(padded, p, 2, mask), dtype=np.float64)
    assert_close(out[mask], base[mask], "encoder_layer: real positions after changing padded ones", on=on +
                 ", row 1 padded after 3 tokens", hint="a padded key gets weight 0: mask the scores where "
                 "attention_mask is False, as (N, 1, 1, T)")  # fmt: skip


# ---------------------------------------------------------------------------------------
# bert_forward
# ---------------------------------------------------------------------------------------


def torch_bert(p, ids, segments, mask, heads, n_layers):
    """The model with PyTorch's modules and p's weights copied in (LayerNorm, the layers)."""
    import torch

    T, d = ids.shape[1], p["tok_embed"].shape[1]
    t = {k: torch.as_tensor(v) for k, v in p.items()}
    ln = torch.nn.LayerNorm(d, eps=EPS, dtype=torch.float64)
    with torch.no_grad():
        ln.weight.copy_(t["emb_ln_gamma"])
        ln.bias.copy_(t["emb_ln_beta"])
        x = ln(t["tok_embed"][torch.as_tensor(ids)] + t["pos_embed"][:T] + t["seg_embed"][torch.as_tensor(segments)])
    for layer_index in range(n_layers):
        d_ff = p[f"layer{layer_index}_ffn_W1"].shape[1]
        layer = torch.nn.TransformerEncoderLayer(d, heads, d_ff, dropout=0.0, activation="gelu", layer_norm_eps=EPS,
                                                 batch_first=True, norm_first=False, dtype=torch.float64)  # fmt: skip
        q = {k: t[f"layer{layer_index}_{k}"] for k in layer_params(layer)}
        with torch.no_grad():
            layer.self_attn.in_proj_weight.copy_(torch.cat([q["attn_Wq"].T, q["attn_Wk"].T, q["attn_Wv"].T]))
            layer.self_attn.in_proj_bias.copy_(torch.cat([q["attn_bq"], q["attn_bk"], q["attn_bv"]]))
            layer.self_attn.out_proj.weight.copy_(q["attn_Wo"].T)
            layer.self_attn.out_proj.bias.copy_(q["attn_bo"])
            for k, lin in (("1", layer.linear1), ("2", layer.linear2)):
                lin.weight.copy_(q[f"ffn_W{k}"].T)
                lin.bias.copy_(q[f"ffn_b{k}"])
            for k, norm in (("1", layer.norm1), ("2", layer.norm2)):
                norm.weight.copy_(q[f"ln{k}_gamma"])
                norm.bias.copy_(q[f"ln{k}_beta"])
        x = torch.as_tensor(run_torch_layer(layer, numpy_of(x), mask))
    return numpy_of(x @ t["tok_embed"].T + t["mlm_bias"])


def bert_params(ref, d, d_ff, n_layers, seed, max_len=40):
    """init_bert's parameters with every entry perturbed (biases, norms, embeddings too)."""
    rng = np.random.default_rng(seed)
    return {k: v + 0.3 * rng.normal(size=v.shape) for k, v in ref.init_bert(V, max_len, d, d_ff, n_layers, seed).items()}


def bert_inputs(ref, n_sentences, seed):
    ids, segments, _ = ref.nsp_pairs(unique_sentences(n_sentences, seed), seed)
    return ids, segments, ids != PAD


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.part("bert_forward", points=1)
def test_bert_forward_matches_torch(learner, ref, layers):
    """Logits (N, T, V) of sentence pairs with padding equal a model built from PyTorch's
    LayerNorm and TransformerEncoderLayer(norm_first=False, gelu) with the weights copied in,
    with 1 and 2 layers."""
    p = bert_params(ref, 8, 12, layers, seed=60 + layers)
    ids, segments, mask = bert_inputs(ref, 4, seed=60)
    on = describe(ids=ids, segments=segments, attention_mask=mask) + f", d_model=8, n_heads=2, n_layers={layers}"
    got = learner.bert_forward(p, ids, segments, mask, 2, layers)
    assert_shape(got, (*ids.shape, V), "bert_forward: logits (N, T, V)", on=on)
    assert_close(got, torch_bert(p, ids, segments, mask, 2, layers), "bert_forward: logits", on=on,
                 hint=HINTS["bert_forward"])  # fmt: skip


@pytest.mark.part("bert_forward", points=0.5)
def test_bert_forward_uses_segments(learner, ref):
    """The same ids with every segment id flipped give other logits (seg_embed is added)."""
    p = bert_params(ref, 8, 12, 1, seed=62)
    ids, segments, mask = bert_inputs(ref, 3, seed=62)
    on = describe(ids=ids, segments=segments) + ", d_model=8, n_heads=2, n_layers=1"
    flipped = np.where(mask, 1 - segments, 0)
    assert_close(learner.bert_forward(p, ids, flipped, mask, 2, 1), torch_bert(p, ids, flipped, mask, 2, 1),
                 "bert_forward: logits with the segments flipped", on=on,
                 hint="add seg_embed[segments] to the token and position embeddings")  # fmt: skip


@pytest.mark.part("bert_forward", points=0.5)
def test_bert_forward_is_bidirectional(learner, ref):
    """Changing the last real token of each pair changes the logits at position 1 (the first
    word sees the end), and changing padded ids changes no real position's logits."""
    p = bert_params(ref, 8, 12, 1, seed=63)
    ids, segments, mask = bert_inputs(ref, 4, seed=63)
    on = describe(ids=ids, segments=segments, attention_mask=mask) + ", d_model=8, n_heads=2, n_layers=1"
    base = np.asarray(learner.bert_forward(p, ids, segments, mask, 2, 1), dtype=np.float64)
    changed = ids.copy()
    last = mask.sum(axis=1) - 2  # the last word of B, before its [SEP]
    changed[np.arange(len(ids)), last] = N_SPECIAL + (changed[np.arange(len(ids)), last] - N_SPECIAL + 1) % K
    moved = np.abs(np.asarray(learner.bert_forward(p, changed, segments, mask, 2, 1))[:, 1] - base[:, 1]).max()
    assert_true(moved > 1e-6, "bert_forward: the first word ignores the last one",
                f"changing each pair's last word changed the logits at position 1 by at most {moved:.2g}", on=on,
                hint="no causal mask in BERT: every position attends to every real token")  # fmt: skip
    if (~mask).any():
        padded = np.where(mask, ids, N_SPECIAL)
        out = np.asarray(learner.bert_forward(p, padded, segments, mask, 2, 1), dtype=np.float64)
        assert_close(out[mask], base[mask], "bert_forward: real positions' logits after changing padded ids",
                     on=on, hint="pass attention_mask to every layer: padded keys get weight 0")  # fmt: skip
