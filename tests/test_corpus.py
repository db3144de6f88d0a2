"""The generated corpus: seeded, inside its vocabulary, and as structured as its docstring says."""

from nnfs_cli import corpus


def test_the_same_seed_gives_the_same_corpus_and_another_seed_another():
    assert corpus.sentences(50, seed=3) == corpus.sentences(50, seed=3)
    assert corpus.sentences(50, seed=3) != corpus.sentences(50, seed=4)


def test_every_word_is_in_the_vocabulary_and_ids_round_trip():
    vocab = corpus.vocabulary(["<pad>", "<eos>"])
    assert vocab["<pad>"] == 0 and vocab["<eos>"] == 1 and len(vocab) == len(corpus.WORDS) + 2
    for words in corpus.sentences(300, seed=0):
        assert corpus.decode(corpus.encode(words, vocab), vocab) == words


def test_verbs_agree_with_the_head_noun_and_facts_are_true():
    plural_verbs, singular_verbs = set(corpus.VERBS.values()), set(corpus.VERBS)
    plural_nouns = set(corpus.NOUNS.values())
    kinds = {"fact": 0, "clause": 0}
    for words in corpus.sentences(500, seed=1):
        if words[1] in corpus.ARITHMETIC:
            a, op, b, _, c = (corpus.NUMBERS.index(w) if w in corpus.NUMBERS else w for w in words)
            assert (a + b if op == "plus" else a - b) == c, words
            kinds["fact"] += 1
            continue
        head = next(w for w in words if w in corpus.NOUNS or w in plural_nouns)
        verb = next(w for w in words if w in plural_verbs | singular_verbs)
        assert (verb in plural_verbs) == (head in plural_nouns), words
        kinds["clause"] += 1
    assert 80 < kinds["fact"] < 170 and kinds["clause"] > 300, kinds  # 25% facts


def test_specials_may_not_shadow_a_word():
    try:
        corpus.vocabulary(["the"])
    except ValueError as e:
        assert "the" in str(e)
    else:
        raise AssertionError("a special equal to a word was accepted")
