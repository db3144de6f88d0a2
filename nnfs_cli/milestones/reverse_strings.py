"""Phase 5: the learner's transformer learns to reverse strings; its cross-attention shows how.

The task: strings of 6 letters out of a-h (tokens 1-8; 0 is the decoder's BOS), the target
is the string reversed. The learner's `train_transformer` fits their encoder-decoder on 256
strings (teacher forcing, as the exercise says); then their `transformer_forward` decodes
256 unseen strings greedily, one letter at a time from BOS, feeding back its own output.
The figure is the decoder's cross-attention for one unseen string, recomputed with the
learner's own blocks: output letter i should look at source position 5 - i, the
anti-diagonal. Measured when written with the reference, greedy decoding, unseen strings
reversed letter for letter: after 100 steps 96, 99, 100, 82, 100, 100% for seeds 0-5
(seed 3 below the goal), hence 150 steps: 100, 98.4, 99.6, 98.8, 100, 99.6%.
"""

from __future__ import annotations

import numpy as np

from nnfs_cli.milestones import Outcome

ALPHABET = "abcdefgh"  # token t is ALPHABET[t - 1]; 0 is BOS
LENGTH, N_TRAIN, N_TEST = 6, 256, 256
MODEL = {"d_model": 16, "n_heads": 2, "d_ff": 32, "n_layers": 1}
STEPS, LR = 150, 0.03
TARGET = 0.9  # of unseen strings reversed exactly (the reference: see the docstring)
SEED = 0


def _strings(rng, n: int) -> np.ndarray:
    return rng.integers(1, len(ALPHABET) + 1, size=(n, LENGTH))


def _text(tokens) -> str:
    return "".join(ALPHABET[t - 1] if 1 <= t <= len(ALPHABET) else "?" for t in tokens)


def _decode(tr, params: dict, src: np.ndarray) -> np.ndarray:
    """Greedy decoding with the learner's forward: each step appends the likeliest letter."""
    out = np.zeros((len(src), 1), dtype=np.int64)
    for _ in range(LENGTH):
        logits = np.asarray(tr.transformer_forward(params, src, out, MODEL["n_heads"], MODEL["n_layers"]))
        out = np.concatenate([out, logits[:, -1].argmax(axis=-1)[:, None]], axis=1)
    return out[:, 1:]


def _cross_attention(tr, p: dict, src: np.ndarray, tgt_in: np.ndarray) -> np.ndarray:
    """The decoder's cross-attention weights (H, T, S) for one example, by the learner's blocks."""

    def sub(prefix: str) -> dict:
        return {k[len(prefix):]: v for k, v in p.items() if k.startswith(prefix)}

    H, d = MODEL["n_heads"], MODEL["d_model"]
    pe = np.asarray(tr.positional_encoding(LENGTH, d), dtype=float)
    x = np.asarray(tr.encoder_block(p["src_embed"][src] + pe, sub("enc0_"), H), dtype=float)
    memory = np.asarray(tr.layer_norm_forward(x, p["enc_ln_gamma"], p["enc_ln_beta"]), dtype=float)
    y, dec = p["tgt_embed"][tgt_in] + pe, sub("dec0_")
    h = np.asarray(tr.layer_norm_forward(y, dec["ln1_gamma"], dec["ln1_beta"]), dtype=float)
    mask = np.asarray(tr.causal_mask(LENGTH), dtype=bool)
    y = y + np.asarray(tr.multi_head_attention(h, h, sub("dec0_self_"), H, mask)[0], dtype=float)
    h = np.asarray(tr.layer_norm_forward(y, dec["ln2_gamma"], dec["ln2_beta"]), dtype=float)
    return np.asarray(tr.multi_head_attention(h, memory, sub("dec0_cross_"), H)[1], dtype=float)[0]


def run(code, seed: int = SEED) -> Outcome:
    tr = code["transformer"]
    rng = np.random.default_rng(seed)
    src = _strings(rng, N_TRAIN)
    params, losses = tr.with_timeout(180).train_transformer(
        src, src[:, ::-1].copy(), len(ALPHABET) + 1, *MODEL.values(), STEPS, LR, seed
    )
    params = {k: np.asarray(v, dtype=float) for k, v in params.items()}
    test = _strings(np.random.default_rng(1000 + seed), N_TEST)
    pred = _decode(tr, params, test)
    exact = float(np.mean((pred == test[:, ::-1]).all(axis=1)))
    passed = exact >= TARGET
    shown = test[:1]
    tgt_in = np.concatenate([np.zeros((1, 1), dtype=np.int64), pred[:1, :-1]], axis=1)
    heads = _cross_attention(tr, params, shown, tgt_in)  # (H, T, S)
    mirrored = float(heads.mean(axis=0)[np.arange(LENGTH), LENGTH - 1 - np.arange(LENGTH)].mean())
    verdict = (
        f"your transformer reverses {exact:.0%} of {N_TEST} unseen strings letter for letter "
        f"({'>=' if passed else 'below'} the {TARGET:.0%} goal), e.g. '{_text(test[0])}' -> "
        f"'{_text(pred[0])}'; its cross-attention puts {mirrored:.0%} of its weight on the mirrored letter"
    )
    figures = [
        {"kind": "curves", "title": "reverse-strings: your transformer's training loss",
         "curves": {"cross-entropy": [float(v) for v in losses]}, "xlabel": "Adam step", "ylabel": "loss"},
        {"kind": "heatmap",
         "title": f"reverse-strings: your transformer reverses '{_text(test[0])}': cross-attention (mean of {MODEL['n_heads']} heads)",
         "matrix": heads.mean(axis=0).tolist(), "xticks": [f"src {c}" for c in _text(test[0])],
         "yticks": [f"out {c}" for c in _text(pred[0])], "xlabel": "source letter (key)",
         "ylabel": "output letter (query)"},
    ]  # fmt: skip
    return Outcome(passed, verdict, figures)
