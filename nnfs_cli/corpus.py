"""A small English-like corpus made in code, for the language-model topics (nothing is downloaded).

Sentences come from a seeded probabilistic grammar with structure a model can learn and a
bigram cannot fully capture: the verb agrees in number with the subject's head noun
across adjectives and a prepositional phrase ("the old dogs near the cat chase a bird"),
and arithmetic facts are exact ("two plus three is five"), so the answer depends on three
earlier words. Word-level: a sentence is a list of words, specials are the caller's.

Only `random.Random.random()` draws are used: Python guarantees that stream across
versions, so a seed gives the same corpus everywhere.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

NOUNS = {"cat": "cats", "dog": "dogs", "bird": "birds", "child": "children", "teacher": "teachers",
         "robot": "robots"}
VERBS = {"sees": "see", "chases": "chase", "likes": "like", "follows": "follow", "helps": "help"}
ADJECTIVES = ("small", "big", "old", "red", "happy", "quiet")
PREPOSITIONS = ("near", "behind", "with")
DETERMINERS = {"singular": ("a", "the", "every"), "plural": ("the", "some", "many")}
NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ARITHMETIC = ("plus", "minus", "is")

WORDS: tuple[str, ...] = tuple(sorted(
    set(NOUNS) | set(NOUNS.values()) | set(VERBS) | set(VERBS.values()) | set(ADJECTIVES)
    | set(PREPOSITIONS) | {d for ds in DETERMINERS.values() for d in ds} | set(NUMBERS) | set(ARITHMETIC)
))

ARITHMETIC_SHARE = 0.25  # a quarter of the sentences are arithmetic facts
PP_SHARE = 0.3           # a subject carries a prepositional phrase this often


def _pick(rng: random.Random, options: Sequence[str]) -> str:
    return options[int(rng.random() * len(options))]


def _noun_phrase(rng: random.Random, plural: bool) -> list[str]:
    words = [_pick(rng, DETERMINERS["plural" if plural else "singular"])]
    r = rng.random()
    n_adjectives = 0 if r < 0.5 else 1 if r < 0.85 else 2
    words += [_pick(rng, ADJECTIVES) for _ in range(n_adjectives)]
    noun = _pick(rng, tuple(NOUNS))
    words.append(NOUNS[noun] if plural else noun)
    return words


def _clause(rng: random.Random) -> list[str]:
    plural = rng.random() < 0.5
    words = _noun_phrase(rng, plural)
    if rng.random() < PP_SHARE:  # the PP's own noun may disagree: only the head noun counts
        words += [_pick(rng, PREPOSITIONS), *_noun_phrase(rng, rng.random() < 0.5)]
    verb = _pick(rng, tuple(VERBS))
    words.append(VERBS[verb] if plural else verb)
    return words + _noun_phrase(rng, rng.random() < 0.5)


def _fact(rng: random.Random) -> list[str]:
    a, b = int(rng.random() * 10), int(rng.random() * 10)
    if rng.random() < 0.5 and a + b <= 9:
        return [NUMBERS[a], "plus", NUMBERS[b], "is", NUMBERS[a + b]]
    a, b = max(a, b), min(a, b)
    return [NUMBERS[a], "minus", NUMBERS[b], "is", NUMBERS[a - b]]


def sentences(n: int, seed: int = 0) -> list[list[str]]:
    """n sentences (lists of words, no specials); the same seed gives the same corpus."""
    rng = random.Random(seed)
    return [_fact(rng) if rng.random() < ARITHMETIC_SHARE else _clause(rng) for _ in range(n)]


def vocabulary(specials: Iterable[str] = ()) -> dict[str, int]:
    """Token -> id: the specials first, in the order given, then every word of WORDS."""
    tokens = list(dict.fromkeys(specials))
    clash = set(tokens) & set(WORDS)
    if clash:
        raise ValueError(f"specials {sorted(clash)} are words of the corpus")
    return {token: i for i, token in enumerate([*tokens, *WORDS])}


def encode(words: Iterable[str], vocab: dict[str, int]) -> list[int]:
    """Ids of the words; a word missing from vocab raises KeyError naming it."""
    return [vocab[w] for w in words]


def decode(ids: Iterable[int], vocab: dict[str, int]) -> list[str]:
    """Words of the ids (the inverse of encode)."""
    inverse = {i: token for token, i in vocab.items()}
    return [inverse[int(i)] for i in ids]
