"""Grader for training-infrastructure: byte-level BPE (training, encoding, decoding),
sequence packing with document masks, column- and row-parallel linear layers, the 1F1B
pipeline schedule and its bubble, gradient checkpointing.

Trusted references: the tokenizer against the reference module `ref` on a generated corpus
(`nnfs_cli.corpus`) and on small texts built so that each rule (ties, overlapping pairs,
pre-token boundaries, merge order, special tokens) decides the answer, plus properties
that need no reference (round trips on hypothesis-generated strings, derandomized; every
merge inside one pre-token). The parallel layers against the full layer (F.linear with the
weights copied in, and its gradients by torch.autograd and float64 central differences),
each rank's shard against its block. The pipeline schedule against Megatron's 1F1B order,
and run by a small simulator (dependencies, micro-batches held, the idle share it really
has). Checkpointing against plain backprop's gradients (torch.autograd and central
differences) and the counts' closed forms. torch is imported inside the tests that use it.
"""

import functools

import numpy as np
import pytest

from nnfs_cli.checks import (
    DTYPES,
    GradeFailure,
    as_tuple,
    assert_backward,
    assert_close,
    assert_shape,
    assert_true,
    describe,
    fail,
)
from nnfs_cli.corpus import sentences
from nnfs_cli.grading.result import Diagnosis
from nnfs_cli.sandbox.client import LearnerRaised

HINTS = {
    "bpe_train": "per step: count the pairs inside each pre-token (weighted by its count, an overlapping "
    "(a, a) in 'aaa' once), take the most frequent, ties to the smallest (bytes(left), bytes(right)), "
    "then replace it left to right in every pre-token",
    "bpe_encode": "cut at the specials first; each pre-token starts as its bytes and merges the pair of "
    "lowest merge index until none of its pairs is a merge",
    "bpe_decode": "b''.join(the tokens' bytes).decode('utf-8', errors='replace'): join first, decode once",
    "pack_sequences": "next-fit in order; position_ids restart at 0 per document; mask[r, i, j] = same "
    "document and j <= i (True = may attend); padding: pad_id, position 0, doc -1, mask False",
    "column_parallel_linear": "rank r: x @ W[:, r k:(r+1) k] + b[r k:(r+1) k]; y = the ranks' outputs "
    "concatenated along the features",
    "column_parallel_backward": "dy_r = dy[:, block r]; dW[r] = x.T @ dy_r, db[r] = dy_r.sum(0); dx = "
    "the SUM over ranks of dy_r @ W_r.T (all-reduce)",
    "row_parallel_linear": "rank r: x[:, block r] @ W[block r] (no bias); y = the SUM of the partials + b",
    "row_parallel_backward": "dx = concat over ranks of dy @ W_r.T; dW[r] = x_r.T @ dy; db = dy.sum(0) once",
    "pipeline_schedule": "stage s: min(S - s - 1, M) warm-up forwards, then F_(w+i), B_i pairs, then the last "
    "backwards; +(m + 1) for F_m, -(m + 1) for B_m",
    "checkpointed_forward_backward": "keep h_0, h_k, h_2k, ... and the output; backward segment by segment "
    "from the last: recompute the segment's inner activations from its checkpoint, backprop through it, "
    "carry the gradient into the segment before",
}

SPECIAL = "<|endoftext|>"


def corpus_text(n, seed):
    """Generated English-like sentences, one per line, with a few non-ASCII words."""
    lines = [" ".join(words) for words in sentences(n, seed)]
    return "\n".join(lines[: n // 2] + ["naïve café — 東京 über 😀"] + lines[n // 2 :])


def show(text, limit=60):
    return repr(text if len(text) <= limit else text[:limit] + "...")


def token_bytes(merges):
    vocab = [bytes([i]) for i in range(256)]
    for left, right in merges:
        vocab.append(vocab[left] + vocab[right])
    return vocab


def spelled(merges, limit=8):
    """The first merges as byte strings, for a message."""
    vocab = token_bytes(merges)
    return ", ".join(f"{vocab[a]!r}+{vocab[b]!r}" for a, b in merges[:limit]) + (
        " ..." if len(merges) > limit else ""
    )


def as_id_list(got, what, on):
    assert_true(isinstance(got, list | tuple) and all(isinstance(i, int | np.integer) for i in got),
                f"{what}: expected a list of int ids", f"got {type(got).__name__}", on=on,
                hint="return a list of Python ints")  # fmt: skip
    return [int(i) for i in got]


def first_difference(a, b):
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def assert_same_ids(got, exp, what, on, hint):
    """Two lists of ids (or merges) equal exactly; the message shows where they part."""
    if list(got) == list(exp):
        return
    i = first_difference(got, exp)
    raise fail(f"{what}: wrong result",
               f"{len(got)} items, expected {len(exp)}; they differ first at index {i}: expected "
               f"{list(exp[i : i + 4])}, got {list(got[i : i + 4])}", on=on, hint=hint)  # fmt: skip


# ---------------------------------------------------------------------------------------
# bpe_train
# ---------------------------------------------------------------------------------------


def learner_merges(learner, text, n):
    on = f"text={show(text)}, n_merges={n}"
    got = learner.bpe_train(text, n)
    assert_true(isinstance(got, list | tuple), "bpe_train: expected a list of (left, right) pairs",
                f"got {type(got).__name__}", on=on, hint="return a list of (int, int) tuples")  # fmt: skip
    for i, pair in enumerate(got):
        ok = (
            isinstance(pair, list | tuple)
            and len(pair) == 2
            and all(isinstance(t, int | np.integer) for t in pair)
        )
        assert_true(ok and all(0 <= t < 256 + i for t in pair), f"bpe_train: merge {i} is not a pair of known ids",
                    f"got {pair!r}; merge {i} may only use the bytes 0..255 and the tokens 256..{255 + i} made "
                    "before it", on=on, hint="each merge is (left id, right id); merge i makes id 256 + i")  # fmt: skip
    return [(int(a), int(b)) for a, b in got], on


def check_merges(learner, ref, text, n, what, hint=HINTS["bpe_train"]):
    got, on = learner_merges(learner, text, n)
    exp = ref.bpe_train(text, n)
    if got != exp:
        i = first_difference(got, exp)
        vocab_got, vocab_exp = token_bytes(got), token_bytes(exp)
        detail = f"{len(got)} merges, expected {len(exp)}"
        if i < min(len(got), len(exp)):
            (a, b), (c, d) = exp[i], got[i]
            detail += (f"; merge {i} should be {vocab_exp[a]!r} + {vocab_exp[b]!r}, got {vocab_got[c]!r} + "
                       f"{vocab_got[d]!r} (expected merges start {spelled(exp)})")  # fmt: skip
        raise fail(f"bpe_train: wrong merges ({what})", detail, on=on, hint=hint)


@pytest.mark.parametrize("n", [1, 5], ids=lambda n: f"n_merges={n}")
@pytest.mark.part("bpe_train", points=0.25)
def test_bpe_train_returns_n_pairs_of_ids(learner, n):
    """A list of n_merges (left, right) pairs of ints, merge i using only ids below 256 + i."""
    text = corpus_text(20, 0)
    got, on = learner_merges(learner, text, n)
    assert_true(len(got) == n, "bpe_train: number of merges", f"expected {n}, got {len(got)}", on=on,
                hint="one merge per step, n_merges steps (fewer only when no pair is left)")  # fmt: skip


@pytest.mark.parametrize(("n_sentences", "seed", "n"), [(200, 0, 40), (60, 3, 25)], ids=str)
@pytest.mark.part("bpe_train", points=1)
def test_bpe_train_matches_reference_on_corpus(learner, ref, n_sentences, seed, n):
    """The merges, in order, on a generated corpus (with a few non-ASCII words)."""
    check_merges(learner, ref, corpus_text(n_sentences, seed), n, f"{n_sentences} sentences")


# Each text makes one rule decide a merge: ties between single bytes met in the opposite
# order; ties between merged tokens whose ids and bytes order disagree (on the left, then,
# the left tokens equal, on the right; two tokens of distinct bytes, "cb" before "ca"); runs of one byte
# ("aaa" holds one (a, a), "aaaa" two) against a pair that wins or ties only when
# overlaps are not counted twice.
RULE_CASES = {
    "tie between single bytes": ("ba\nab\nzy\nyz", 4),
    "tie between merged tokens": (
        "\n".join(["cb"] * 4 + ["ca"] * 3 + ["cbx", "cax", "xcb", "xca"]),
        5,
    ),
    "overlapping pairs": ("\n".join(["aaa"] * 3 + ["bc"] * 6 + ["aaaa"]), 3),
    "runs of one byte": ("\n".join(["zzzz"] * 3 + ["bb"] * 6), 3),
}


@pytest.mark.parametrize("case", list(RULE_CASES), ids=str)
@pytest.mark.part("bpe_train", points=0.5)
def test_bpe_train_ties_and_overlaps(learner, ref, case):
    """Texts where the tie rule (smallest bytes) or the overlap rule (a run of n equal bytes
    holds n // 2 pairs) decides which pair merges."""
    text, n = RULE_CASES[case]
    check_merges(learner, ref, text, n, case)


@pytest.mark.part("bpe_train", points=0.5)
def test_bpe_train_merges_stay_inside_pretokens(learner, ref):
    """No merged token spans two pre-tokens: each token's bytes lie inside one pre-token."""
    text = corpus_text(80, 5)
    got, on = learner_merges(learner, text, 40)
    pieces = set(ref.pretokenize(text))
    for i, token in enumerate(token_bytes(got)[256:]):
        assert_true(any(token in piece for piece in pieces), f"bpe_train: merge {i} crosses a pre-token boundary",
                    f"the token {token!r} occurs in no single pre-token", on=on,
                    hint="count pairs inside each pre-token of pretokenize(text), never across two")  # fmt: skip
    check_merges(learner, ref, text, 40, "80 sentences")


@pytest.mark.part("bpe_train", points=0.5)
def test_bpe_train_stops_when_no_pair_is_left(learner, ref):
    """'ab ab' has 2 possible merges: asked for 10, it returns those 2."""
    check_merges(learner, ref, "ab ab", 10, "no pair left",
                 hint="stop when no pre-token has two symbols left")  # fmt: skip


# ---------------------------------------------------------------------------------------
# bpe_encode
# ---------------------------------------------------------------------------------------


@functools.cache
def trained(ref, with_special=False):
    """Merges trained on the corpus (the special token's characters in the text, so that
    they merge when the special is not kept whole)."""
    text = corpus_text(200, 0)
    if with_special:
        text = text.replace("\n", SPECIAL)
    return ref.bpe_train(text, 60)


def check_encode(learner, ref, text, merges, specials, what, hint=HINTS["bpe_encode"]):
    on = f"text={show(text)}, {len(merges)} merges, specials={specials}"
    got = as_id_list(learner.bpe_encode(text, merges, specials), "bpe_encode", on)
    assert_same_ids(got, ref.bpe_encode(text, merges, specials), f"bpe_encode ({what})", on, hint)
    return got


@pytest.mark.part("bpe_encode", points=1)
def test_bpe_encode_matches_reference(learner, ref):
    """The ids of a corpus text (non-ASCII words included) under 60 trained merges."""
    check_encode(learner, ref, corpus_text(40, 7), trained(ref), [], "corpus")


@pytest.mark.part("bpe_encode", points=0.5)
def test_bpe_encode_lowest_rank_first(learner, ref):
    """Merges (b, c) then (a, b): 'abc' is [a, bc], the lower merge index first, not the
    leftmost pair; and a chain of merges builds one token."""
    merges = [(98, 99), (97, 98), (97, 256), (256, 256)]
    for text in ["abc", "abcabc ab", "bcbc"]:
        check_encode(learner, ref, text, merges, [], "merge order",
                     hint="merge the adjacent pair with the LOWEST merge index first, repeatedly")  # fmt: skip


SPECIAL_TEXTS = [
    f"{SPECIAL}the cat sees a dog{SPECIAL}{SPECIAL} two plus two is four{SPECIAL}",
    f"a<|end|>b{SPECIAL}c <|end|>",
    "<|endof" + SPECIAL + "text|>",
]


@pytest.mark.parametrize("k", range(len(SPECIAL_TEXTS)))
@pytest.mark.part("bpe_encode", points=0.5)
def test_bpe_encode_special_tokens_never_split(learner, ref, k):
    """Each occurrence of a special token is its one id (at the start, the end, twice in a
    row, '<|end|>' beside '<|endoftext|>'), though merges trained on text full of it would
    merge its characters."""
    text, specials = SPECIAL_TEXTS[k], [SPECIAL, "<|end|>"]
    merges = trained(ref, with_special=True)
    got = check_encode(learner, ref, text, merges, specials, "special tokens",
                       hint="cut the text at the specials first (leftmost, then longest); specials[j] is the "
                       "single id 256 + len(merges) + j")  # fmt: skip
    for j, s in enumerate(specials):
        assert_true(got.count(256 + len(merges) + j) == text.count(s), f"bpe_encode: the id of {s!r}",
                    f"expected it {text.count(s)} times, got it {got.count(256 + len(merges) + j)} times",
                    on=show(text), hint="specials[j] is the single id 256 + len(merges) + j")  # fmt: skip


@pytest.mark.part("bpe_encode", points=0.25)
def test_bpe_encode_longest_special_first(learner, ref):
    """Where two specials start at one place, the longer is the token: '<|end|>' is one id
    though '<|end' is a special too."""
    check_encode(learner, ref, "a<|end|>b <|end", trained(ref, with_special=True), ["<|end", "<|end|>"],
                 "longest special first", hint="at a place where several specials match, the longest one is the "
                 "token: try the specials longest first")  # fmt: skip


def round_trip_texts(check):
    """`check(text)` on explicit strings and on 25 derandomized hypothesis strings.

    The strings are lists of code points drawn evenly from the 1-, 2-, 3- and 4-byte UTF-8
    ranges (surrogates excluded: they are not text), joined: any Unicode string, without
    `st.text()`'s table of Unicode categories (seconds to build in a fresh folder).
    Shrinking is off (each example is a call into the sandbox); hypothesis's files go to a
    temporary folder, never the learner's.
    """
    import tempfile

    from hypothesis import Phase, configuration, example, given, settings
    from hypothesis import strategies as st

    utf8_widths = (st.integers(0, 0x7F), st.integers(0x80, 0x7FF), st.integers(0x800, 0xD7FF),
                   st.integers(0xE000, 0x10FFFF))  # fmt: skip
    texts = st.lists(st.one_of(*utf8_widths), max_size=30).map(lambda cps: "".join(map(chr, cps)))

    @settings(derandomize=True, max_examples=25, database=None, deadline=None, report_multiple_bugs=False,
              phases=(Phase.explicit, Phase.generate))  # fmt: skip
    @given(texts)
    @example("")
    @example("héllo wörld 😀 東京")
    @example("  two  spaces\tand\ttabs\n\nnewlines ")
    @example("the cat\u00a0sees a dog\u200b.")
    def run(text):
        check(text)

    with tempfile.TemporaryDirectory(prefix="nnfs-hypothesis-") as home:
        configuration.set_hypothesis_home_dir(home)
        try:
            run()
        finally:
            configuration.set_hypothesis_home_dir(None)


@pytest.mark.part("bpe_encode", points=1)
def test_bpe_encode_round_trips(learner, ref):
    """decode(your encode(t)) == t for hypothesis-generated strings (derandomized, 25 of
    them) and for whitespace runs, accents, emoji."""
    merges = trained(ref)

    def check(text):
        ids = as_id_list(learner.bpe_encode(text, merges, []), "bpe_encode", show(text))
        back = ref.bpe_decode(ids, merges, [])
        assert_true(back == text, "bpe_encode: the ids do not decode to the text",
                    f"decoded {show(back)}", on=f"text={show(text)}",
                    hint="every byte of every pre-token must be kept: pretokenize covers the whole text")  # fmt: skip

    round_trip_texts(check)


# ---------------------------------------------------------------------------------------
# bpe_decode
# ---------------------------------------------------------------------------------------


def check_decode(learner, ref, ids, merges, specials, what, hint=HINTS["bpe_decode"]):
    on = f"{len(ids)} ids starting {ids[:6]}, {len(merges)} merges, specials={specials}"
    got = learner.bpe_decode(ids, merges, specials)
    exp = ref.bpe_decode(ids, merges, specials)
    assert_true(isinstance(got, str), f"bpe_decode ({what}): expected a str", f"got {type(got).__name__}", on=on,
                hint="return the decoded text")  # fmt: skip
    if got != exp:
        i = first_difference(got, exp)
        raise fail(f"bpe_decode ({what}): wrong text", f"differs from character {i}: expected "
                   f"{show(exp[i:], 30)}, got {show(got[i:], 30)}", on=on, hint=hint)  # fmt: skip


@pytest.mark.part("bpe_decode", points=1)
def test_bpe_decode_matches_reference(learner, ref):
    """The text of a corpus's ids (non-ASCII words and a special token included)."""
    merges = trained(ref)
    text = corpus_text(40, 8) + SPECIAL + "fin"
    check_decode(learner, ref, ref.bpe_encode(text, merges, [SPECIAL]), merges, [SPECIAL], "corpus")


@pytest.mark.part("bpe_decode", points=0.5)
def test_bpe_decode_invalid_utf8(learner, ref):
    """Bytes that are not UTF-8 (a lone 0xFF, a cut 3-byte character) become U+FFFD."""
    for ids in ([0xFF], [0xE2, 0x82, 65], [72, 0xC3]):
        check_decode(learner, ref, ids, [], [], "invalid UTF-8",
                     hint="decode with errors='replace': invalid bytes become U+FFFD")  # fmt: skip


@pytest.mark.part("bpe_decode", points=1)
def test_bpe_decode_round_trips(learner, ref):
    """your decode(encode(t)) == t for hypothesis-generated strings (derandomized, 25 of
    them), accents and emoji whose bytes the merges split over several tokens."""
    merges = trained(ref)

    def check(text):
        check_decode(
            learner, ref, ref.bpe_encode(text, merges, []), merges, [], f"text={show(text)}"
        )

    round_trip_texts(check)


# ---------------------------------------------------------------------------------------
# pack_sequences
# ---------------------------------------------------------------------------------------

# (document lengths, seq_len): one document; rows filled exactly; a document of exactly
# seq_len; next-fit leaving a gap a later short document would have filled; seq_len 1.
PACK_CASES = [
    ([3], 5),
    ([2, 3, 5, 1, 4], 5),
    ([4, 2, 1, 3, 3, 2], 6),
    ([1, 1, 1], 1),
    ([5, 1, 2], 7),
]


def documents(lengths, seed):
    rng = np.random.default_rng(seed)
    return [[int(t) for t in rng.integers(1, 50, size=n)] for n in lengths]


def call_pack(learner, docs, seq_len, pad_id=0):
    on = f"docs of lengths {[len(d) for d in docs]}, seq_len={seq_len}, pad_id={pad_id}"
    got = as_tuple(learner.pack_sequences(docs, seq_len, pad_id), 4, "pack_sequences", on)
    return got, on


@pytest.mark.parametrize("case", PACK_CASES, ids=str)
@pytest.mark.part("pack_sequences", points=0.25)
def test_pack_sequences_shapes(learner, ref, case):
    """(tokens, position_ids, doc_ids) (R, L) integers and mask (R, L, L) bool."""
    lengths, L = case
    docs = documents(lengths, 1)
    (tokens, positions, doc_ids, mask), on = call_pack(learner, docs, L)
    R = ref.pack_sequences(docs, L, 0)[0].shape[0]
    for name, a in (("tokens", tokens), ("position_ids", positions), ("doc_ids", doc_ids)):
        assert_shape(a, (R, L), f"pack_sequences: {name} (rows, seq_len)", on=on)
        assert_true(np.asarray(a).dtype.kind in "iu", f"pack_sequences: {name} dtype",
                    f"expected integers, got {np.asarray(a).dtype}", on=on, hint="np.int64 arrays")  # fmt: skip
    assert_true(np.shape(mask) == (R, L, L), "pack_sequences: mask shape",
                f"expected (rows, seq_len, seq_len) = {(R, L, L)}, got {np.shape(mask)}", on=on,
                hint=HINTS["pack_sequences"])  # fmt: skip
    assert_true(np.asarray(mask).dtype == bool, "pack_sequences: mask dtype",
                f"expected bool, got {np.asarray(mask).dtype}", on=on, hint="True = may attend")  # fmt: skip


@pytest.mark.parametrize("case", PACK_CASES, ids=str)
@pytest.mark.part("pack_sequences", points=0.5)
def test_pack_sequences_values(learner, ref, case):
    """Tokens, positions restarting at each document, document ids (-1 in padding) and
    the causal block-diagonal mask, pad_id 99."""
    lengths, L = case
    docs = documents(lengths, 2)
    got, on = call_pack(learner, docs, L, pad_id=99)
    exp = ref.pack_sequences(docs, L, 99)
    names = ("tokens", "position_ids", "doc_ids", "mask (True = may attend)")
    for name, g, e in zip(names, got, exp):
        assert_close(np.asarray(g).astype(np.int64), e.astype(np.int64), f"pack_sequences: {name}", on=on,
                     rtol=0, atol=0, hint=HINTS["pack_sequences"])  # fmt: skip


@pytest.mark.part("pack_sequences", points=0.5)
def test_pack_sequences_no_cross_document_attention(learner, ref):
    """No query sees a key of another document or a later key; every token sees itself;
    padding is seen by nobody."""
    docs = documents([3, 2, 4, 1, 2], 3)
    (_, _, doc_ids, mask), on = call_pack(learner, docs, 6)
    mask, doc_ids = np.asarray(mask, dtype=bool), np.asarray(doc_ids)
    same = doc_ids[:, :, None] == doc_ids[:, None, :]
    later = ~np.tril(np.ones((6, 6), dtype=bool))
    assert_true(not (mask & ~same).any(), "pack_sequences: attention across documents",
                f"{int((mask & ~same).sum())} (query, key) pairs of different documents are True", on=on,
                hint="mask[r, i, j] needs doc_ids[r, i] == doc_ids[r, j]")  # fmt: skip
    assert_true(not (mask & later).any(), "pack_sequences: attention to later tokens",
                f"{int((mask & later).sum())} pairs with key j > query i are True", on=on,
                hint="the mask is causal inside a document: j <= i")  # fmt: skip
    real = doc_ids >= 0
    diag = np.diagonal(mask, axis1=1, axis2=2)
    assert_true(np.array_equal(diag, real), "pack_sequences: a token attends to itself",
                "mask[r, i, i] must be True exactly at the real tokens", on=on,
                hint="True = may attend; padding rows and columns are all False")  # fmt: skip


@pytest.mark.part("pack_sequences", points=0.25)
def test_pack_sequences_rejects_a_long_document(learner):
    """A document longer than seq_len raises ValueError (it would have to be split)."""
    on = "docs of lengths [2, 6], seq_len=4"
    try:
        got = learner.pack_sequences([[1, 2], [1, 2, 3, 4, 5, 6]], 4, 0)
    except LearnerRaised as e:
        if e.exc_type == "ValueError":
            return
        if e.not_implemented or e.forbidden:
            raise
        raise fail("pack_sequences: wrong error", f"raised {e.exc_type}, expected ValueError", on=on,
                   hint="raise ValueError(...) for a document longer than seq_len") from None  # fmt: skip
    raise fail("pack_sequences: no error for a document longer than seq_len",
               f"expected ValueError, got a result of type {type(got).__name__}", on=on,
               hint="documents are never split: raise ValueError when len(doc) > seq_len")  # fmt: skip


# ---------------------------------------------------------------------------------------
# column- and row-parallel linear layers
# ---------------------------------------------------------------------------------------

# (N, d_in, d_out, world_size): batch 1, one rank, as many ranks as features, odd sizes.
COLUMN_CASES = [(4, 3, 6, 2), (1, 5, 6, 3), (3, 4, 4, 1), (2, 3, 4, 4), (5, 7, 9, 3)]
ROW_CASES = [(4, 6, 3, 2), (1, 6, 5, 3), (3, 4, 4, 1), (2, 4, 3, 4), (5, 9, 7, 3)]


def layer(n, d_in, d_out, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x, W, b = rng.normal(size=(n, d_in)), rng.normal(size=(d_in, d_out)), rng.normal(size=d_out)
    return x.astype(dtype), W.astype(dtype), b.astype(dtype)


def full_linear(x, W, b):
    """F.linear with W copied in (transposed: PyTorch stores (out, in))."""
    import torch

    with torch.no_grad():
        t = [torch.as_tensor(np.asarray(a, dtype=np.float64)) for a in (x, W, b)]
        return torch.nn.functional.linear(t[0], t[1].T, t[2]).numpy()


def call_parallel(learner, name, x, W, b, P):
    on = describe(x=x, W=W, b=b) + f", world_size={P}"
    return as_tuple(getattr(learner, name)(x, W, b, P), 2, f"{name}(x, W, b, world_size)", on), on


def check_parallel_forward(learner, name, case, seed, dtype):
    n, d_in, d_out, P = case
    x, W, b = layer(n, d_in, d_out, seed, dtype)
    (y, parts), on = call_parallel(learner, name, x, W, b, P)
    exp = full_linear(x, W, b)
    if name == "column_parallel_linear":
        k = d_out // P
        exp_parts = np.stack([exp[:, r * k : (r + 1) * k] for r in range(P)])
    else:
        k = d_in // P
        exp_parts = np.stack(
            [
                full_linear(x[:, r * k : (r + 1) * k], W[r * k : (r + 1) * k], 0 * b)
                for r in range(P)
            ]
        )
    assert_close(
        y, exp, f"{name}: y vs the full layer F.linear", on=on, inputs={"x": x}, hint=HINTS[name]
    )
    assert_close(parts, exp_parts, f"{name}: the ranks' outputs (world_size, N, ...)", on=on, inputs={"x": x},
                 hint=HINTS[name])  # fmt: skip


@pytest.mark.parametrize("case", COLUMN_CASES, ids=str)
@pytest.mark.part("column_parallel_linear", points=0.4)
def test_column_parallel_linear(learner, case):
    """y equals the full layer; rank r's output is its block of columns of y."""
    check_parallel_forward(learner, "column_parallel_linear", case, 10, np.float64)


@DTYPES
@pytest.mark.part("column_parallel_linear", points=0.25)
def test_column_parallel_linear_dtypes(learner, dtype):
    """float64 and float32 inputs."""
    check_parallel_forward(learner, "column_parallel_linear", (3, 4, 6, 3), 11, dtype)


@pytest.mark.parametrize("case", ROW_CASES, ids=str)
@pytest.mark.part("row_parallel_linear", points=0.4)
def test_row_parallel_linear(learner, case):
    """y equals the full layer; rank r's partial is x_r @ W_r, without the bias."""
    check_parallel_forward(learner, "row_parallel_linear", case, 12, np.float64)


@DTYPES
@pytest.mark.part("row_parallel_linear", points=0.25)
def test_row_parallel_linear_dtypes(learner, dtype):
    """float64 and float32 inputs."""
    check_parallel_forward(learner, "row_parallel_linear", (3, 6, 4, 3), 13, dtype)


def linear_forward(x, W, b):
    """The full layer for the gradient oracles (NumPy arrays or torch tensors)."""
    return x @ W + b


def check_parallel_backward(learner, name, case, seed, dtype=np.float64):
    """The learner's gradients, shards put back together, against torch.autograd and
    central differences of the full layer; each shard against its block."""
    n, d_in, d_out, P = case
    x, W, b = layer(n, d_in, d_out, seed, dtype)
    dy = np.random.default_rng(seed + 1).normal(size=(n, d_out)).astype(dtype)
    on = describe(x=x, W=W, dy=dy) + f", world_size={P}"
    dx, dW, db = as_tuple(
        getattr(learner, name)(x, W, dy, P), 3, f"{name}(x, W, dy, world_size)", on
    )
    column = name == "column_parallel_backward"
    k = d_out // P if column else d_in // P
    assert_shape(
        dW, (P, d_in, k) if column else (P, k, d_out), f"{name}: dW (world_size, ...)", on=on
    )
    assert_shape(db, (P, k) if column else (d_out,), f"{name}: db", on=on)
    dW, db = np.asarray(dW), np.asarray(db)
    full_dW = np.concatenate(list(dW), axis=1 if column else 0)
    full_db = np.concatenate(list(db)) if column else db
    inputs = {"x": x, "W": W, "b": b}
    # float32 gradients: central differences only (assert_gradient allows float32's
    # precision; the torch oracle's comparison holds a float64 question to float64)
    for oracle in ("torch", "numerical") if dtype == np.float64 else ("numerical",):
        assert_backward((dx, full_dW, full_db), linear_forward, inputs, dy, ["x", "W", "b"],
                        f"{name} (shards put together)", oracle=oracle, on=on, batch=n,
                        hints={"x": HINTS[name], "W": HINTS[name], "b": HINTS[name]})  # fmt: skip


@pytest.mark.parametrize("case", COLUMN_CASES, ids=str)
@pytest.mark.part("column_parallel_backward", points=0.5)
def test_column_parallel_backward(learner, case):
    """dx, dW (per rank, its columns) and db (per rank) are the full layer's gradients:
    torch.autograd and float64 central differences."""
    check_parallel_backward(learner, "column_parallel_backward", case, 20)


@pytest.mark.part("column_parallel_backward", points=0.25)
def test_column_parallel_backward_float32(learner):
    """float32 inputs."""
    check_parallel_backward(learner, "column_parallel_backward", (3, 4, 6, 2), 21, np.float32)


@pytest.mark.parametrize("case", ROW_CASES, ids=str)
@pytest.mark.part("row_parallel_backward", points=0.5)
def test_row_parallel_backward(learner, case):
    """dx (the ranks' parts concatenated), dW (per rank, its rows) and db (once) are the
    full layer's gradients: torch.autograd and float64 central differences."""
    check_parallel_backward(learner, "row_parallel_backward", case, 22)


@pytest.mark.part("row_parallel_backward", points=0.25)
def test_row_parallel_backward_float32(learner):
    """float32 inputs."""
    check_parallel_backward(learner, "row_parallel_backward", (3, 6, 4, 2), 23, np.float32)


# ---------------------------------------------------------------------------------------
# pipeline_schedule
# ---------------------------------------------------------------------------------------

# (S, M): more micro-batches than stages, as many, fewer, one stage, one micro-batch.
PIPELINE_CASES = [(4, 8), (3, 3), (4, 2), (1, 5), (5, 1), (2, 7)]


def simulate_pipeline(order):
    """Run each stage's steps in its order, every step one unit of time, as soon as the
    stage is free and its inputs are ready (F_m after the previous stage's F_m, B_m after
    this stage's F_m and the next stage's B_m). Returns (the step's time, each stage's
    largest number of micro-batches forwarded but not yet backwarded), or a string saying
    why the schedule cannot run."""
    S, width = order.shape
    M = width // 2
    for s in range(S):
        if sorted(order[s].tolist()) != sorted(
            [m + 1 for m in range(M)] + [-(m + 1) for m in range(M)]
        ):
            return f"stage {s} must run each F_m and each B_m exactly once, got {order[s].tolist()}"
    done, at, free = {}, [0] * S, [0] * S
    held, most = [0] * S, [0] * S
    moved = True
    while moved:
        moved = False
        for s in range(S):
            while at[s] < width:
                step = int(order[s, at[s]])
                m = abs(step) - 1
                needs = [("F", s - 1, m)] if step > 0 and s > 0 else []
                if step < 0:
                    needs = [("F", s, m)] + ([("B", s + 1, m)] if s < S - 1 else [])
                if any(n not in done for n in needs):
                    break
                free[s] = max([free[s]] + [done[n] for n in needs]) + 1
                done[("F" if step > 0 else "B", s, m)] = free[s]
                held[s] += 1 if step > 0 else -1
                most[s] = max(most[s], held[s])
                at[s] += 1
                moved = True
    stuck = [s for s in range(S) if at[s] < width]
    if stuck:
        s = stuck[0]
        return (f"stage {s} waits forever at step {at[s]} ({int(order[s, at[s]])}): a backward before its own "
                "forward, or an order the neighbouring stages cannot serve")  # fmt: skip
    return max(free), most


def ids_off_story(order, exp):
    """A Diagnosis when every step of order that differs from 1F1B's names the right kind
    (forward or backward) of a micro-batch whose number is off by the same 1: 0-based ids
    where F_m is +(m + 1), B_m -(m + 1) (so that F_0 and B_0 differ in sign)."""
    order, exp = np.asarray(order), np.asarray(exp)
    if order.shape != exp.shape or order.dtype.kind not in "iu":
        return None
    wrong = order != exp
    if not wrong.any():
        return None
    got, want = order[wrong].astype(np.int64), exp[wrong]
    off = set((np.abs(got) - np.abs(want)).tolist())
    same_kind = np.all((got == 0) | (np.sign(got) == np.sign(want)))
    if not same_kind or off not in ({-1}, {1}):
        return None
    (delta,) = off
    return Diagnosis("signature", "micro-batch-id-off-by-one",
                     f"where your order differs from 1F1B's, every step names its micro-batch one "
                     f"{'too low' if delta < 0 else 'too high'} (F_m as {'+m' if delta < 0 else '+(m + 2)'}, B_m as "
                     f"{'-m' if delta < 0 else '-(m + 2)'}): micro-batch m (from 0) is +(m + 1) for its forward and "
                     "-(m + 1) for its backward, so that no step is 0")  # fmt: skip


def call_pipeline(learner, S, M):
    on = f"n_stages={S}, n_micro={M}"
    order, bubble = as_tuple(learner.pipeline_schedule(S, M), 2, "pipeline_schedule", on)
    assert_shape(order, (S, 2 * M), "pipeline_schedule: order (n_stages, 2 n_micro)", on=on)
    order = np.asarray(order)
    assert_true(order.dtype.kind in "iu", "pipeline_schedule: order dtype", f"expected integers, got {order.dtype}",
                on=on, hint="+(m + 1) for F_m, -(m + 1) for B_m, as int64")  # fmt: skip
    return order, bubble, on


@pytest.mark.parametrize("case", PIPELINE_CASES, ids=str)
@pytest.mark.part("pipeline_schedule", points=0.25)
def test_pipeline_schedule_runs(learner, ref, case):
    """Every stage runs each F_m and B_m once, in an order the pipeline can execute."""
    S, M = case
    order, _, on = call_pipeline(learner, S, M)
    run = simulate_pipeline(order)
    if isinstance(run, str):
        raise fail("pipeline_schedule: the schedule cannot run", run, on=on, hint=HINTS["pipeline_schedule"],
                   diagnosis=ids_off_story(order, ref.pipeline_schedule(S, M)[0]))  # fmt: skip


@pytest.mark.parametrize("case", PIPELINE_CASES, ids=str)
@pytest.mark.part("pipeline_schedule", points=0.5)
def test_pipeline_schedule_is_1f1b(learner, ref, case):
    """The 1F1B order (Megatron's): S - s - 1 warm-up forwards, one forward one backward,
    then the last backwards; stage s holds at most min(S - s, M) micro-batches."""
    S, M = case
    order, _, on = call_pipeline(learner, S, M)
    run = simulate_pipeline(order)
    if not isinstance(run, str):
        for s, held in enumerate(run[1]):
            assert_true(held <= min(S - s, M), f"pipeline_schedule: stage {s} holds too many micro-batches",
                        f"{held} micro-batches forwarded and not yet backwarded at once; 1F1B holds at most "
                        f"min(S - s, M) = {min(S - s, M)}", on=on, hint=HINTS["pipeline_schedule"])  # fmt: skip
    exp = ref.pipeline_schedule(S, M)[0]
    try:
        assert_close(order, exp, "pipeline_schedule: order", on=on, rtol=0, atol=0,
                     hint=HINTS["pipeline_schedule"])  # fmt: skip
    except GradeFailure as e:
        # exact evidence on every differing step: before a pattern the array may imitate
        e.diagnosis = ids_off_story(order, exp) or e.diagnosis
        raise


@pytest.mark.parametrize("case", PIPELINE_CASES, ids=str)
@pytest.mark.part("pipeline_schedule", points=0.4)
def test_pipeline_bubble_fraction(learner, case):
    """bubble = (S - 1) / (M + S - 1), the idle share of the step's time: also what the
    simulated schedule idles."""
    S, M = case
    order, bubble, on = call_pipeline(learner, S, M)
    assert_close(bubble, (S - 1) / (M + S - 1), "pipeline_schedule: bubble fraction", on=on,
                 hint="idle time over the whole step's time: (S - 1) / (M + S - 1) for equal forward and backward "
                 "times")  # fmt: skip
    run = simulate_pipeline(order)
    if not isinstance(run, str):
        measured = 1 - 2 * M / run[0]
        assert_close(bubble, measured, "pipeline_schedule: bubble vs your schedule's idle share", on=on,
                     hint="your schedule idles more than 1F1B's bubble: a stage waits where it need not")  # fmt: skip


# ---------------------------------------------------------------------------------------
# checkpointed_forward_backward
# ---------------------------------------------------------------------------------------

# (N, d, L, segment): plain backprop (segment 1), one segment, uneven last segment, batch 1.
CHECKPOINT_CASES = [
    (3, 4, 6, 2),
    (2, 3, 7, 3),
    (1, 4, 5, 1),
    (3, 2, 5, 5),
    (2, 5, 9, 4),
    (3, 3, 1, 1),
]


def tanh_stack(x, Ws):
    """The plain forward (NumPy arrays or torch tensors): h_{l+1} = tanh(h_l @ Ws[l])."""
    h = x
    for layer in range(Ws.shape[0]):
        h = (np.tanh if isinstance(h, np.ndarray) else type(h).tanh)(h @ Ws[layer])
    return h


def call_checkpoint(learner, N, d, L, k, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, d)).astype(dtype)
    Ws = (rng.normal(size=(L, d, d)) / np.sqrt(d)).astype(dtype)
    dout = rng.normal(size=(N, d)).astype(dtype)
    on = describe(x=x, Ws=Ws, dout=dout) + f", segment={k}"
    got = as_tuple(
        learner.checkpointed_forward_backward(x, Ws, dout, k),
        5,
        "checkpointed_forward_backward",
        on,
    )
    return (x, Ws, dout), got, on


@pytest.mark.parametrize("case", CHECKPOINT_CASES, ids=str)
@pytest.mark.part("checkpointed_forward_backward", points=0.5)
def test_checkpointing_gradients_equal_backprop(learner, case):
    """out, dx and dWs equal plain backprop's: the forward itself, torch.autograd and
    float64 central differences."""
    N, d, L, k = case
    (x, Ws, dout), (out, dx, dWs, _, _), on = call_checkpoint(learner, N, d, L, k, 30 + L)
    assert_close(out, tanh_stack(x, Ws), "checkpointed_forward_backward: out = h_L", on=on,
                 hint=HINTS["checkpointed_forward_backward"])  # fmt: skip
    for oracle in ("torch", "numerical"):
        assert_backward((dx, dWs), tanh_stack, {"x": x, "Ws": Ws}, dout, ["x", "Ws"],
                        "checkpointed_forward_backward", oracle=oracle, on=on,
                        hints={"x": HINTS["checkpointed_forward_backward"],
                               "Ws": HINTS["checkpointed_forward_backward"]})  # fmt: skip


@pytest.mark.part("checkpointed_forward_backward", points=0.25)
def test_checkpointing_float32(learner):
    """float32 inputs: float32-accurate gradients (central differences in float64)."""
    (x, Ws, dout), (_, dx, dWs, _, _), on = call_checkpoint(learner, 2, 3, 6, 2, 40, np.float32)
    assert_backward((dx, dWs), tanh_stack, {"x": x, "Ws": Ws}, dout, ["x", "Ws"],
                    "checkpointed_forward_backward (float32)", on=on)  # fmt: skip


@pytest.mark.parametrize("case", CHECKPOINT_CASES, ids=str)
@pytest.mark.part("checkpointed_forward_backward", points=0.4)
def test_checkpointing_counts(learner, case):
    """stored = ceil(L / segment) + 1 (checkpoints and output, against plain backprop's
    L + 1) and recomputed = L - ceil(L / segment)."""
    N, d, L, k = case
    _, (_, _, _, stored, recomputed), on = call_checkpoint(learner, N, d, L, k, 50)
    n_checkpoints = -(-L // k)
    for name, got, exp in (
        ("stored", stored, n_checkpoints + 1),
        ("recomputed", recomputed, L - n_checkpoints),
    ):
        assert_true(isinstance(got, int | np.integer), f"checkpointed_forward_backward: {name}",
                    f"expected an int, got {type(got).__name__}", on=on, hint="count as you go: an int")  # fmt: skip
        assert_close(got, exp, f"checkpointed_forward_backward: {name} (L={L}, segment={k})", on=on, rtol=0, atol=0,
                     hint=HINTS["checkpointed_forward_backward"])  # fmt: skip
