"""Known bugs of bert: each an edit of the reference function as the solution file has it."""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

_MASK = reference_function(__file__, "mlm_mask")
_LOSS = reference_function(__file__, "mlm_loss")
_NSP = reference_function(__file__, "nsp_pairs")
_LAYER = reference_function(__file__, "encoder_layer")
_MODEL = reference_function(__file__, "bert_forward")
_CHOSEN = "chosen = (ids >= N_SPECIAL) & (rng.random(ids.shape) < mask_prob)"

BUGS = [
    KnownBug(
        # Issue 24: "BERT masking special tokens"; Hugging Face's collator needs the
        # special_tokens_mask for this, and forum threads report [CLS]/[SEP] being masked
        # when it is not passed.
        name="mlm-masks-special-tokens",
        function="mlm_mask",
        hint="[CLS], [SEP] (and [PAD]) are never chosen: choose among ids >= N_SPECIAL only",
        code=edited(_MASK, (_CHOSEN, "chosen = (ids != PAD) & (rng.random(ids.shape) < mask_prob)")),
    ),
    KnownBug(
        # Issue 24: "choosing 15% of all positions including padding".
        name="mlm-chooses-padding",
        function="mlm_mask",
        hint="padding is not text: choose 15% of the non-special tokens, never a [PAD] (or [CLS]/[SEP])",
        code=edited(_MASK, (_CHOSEN, "chosen = rng.random(ids.shape) < mask_prob")),
    ),
    KnownBug(
        # Google's create_pretraining_data.py: num_to_predict = max(1, round(len * 0.15))
        # tokens per sequence, sampled without replacement.
        name="mlm-fixed-count-per-sequence",
        kind="convention",
        function="mlm_mask",
        hint="this is Google's create_pretraining_data.py (max(1, round(0.15 n)) tokens per sequence); this "
        "exercise chooses each word independently with probability mask_prob, as Hugging Face's collator: "
        "the fixed count is more than 15% of short sentences",
        code=edited(_MASK, (_CHOSEN, """chosen = np.zeros(ids.shape, dtype=bool)
    for row in range(ids.shape[0]):
        words = np.flatnonzero(ids[row] >= N_SPECIAL)
        count = min(len(words), max(1, round(mask_prob * len(words))))
        chosen[row, rng.choice(words, size=count, replace=False)] = True""")),
    ),
    KnownBug(
        # The 10% random drawn as an independent Bernoulli(0.1) of the tokens left after the
        # 80% (2% of the chosen instead of 10%): the reason Hugging Face's collator draws
        # 0.5 of the remainder, discussed in its issue tracker.
        name="mlm-random-10pct-of-remainder",
        function="mlm_mask",
        hint="10% of ALL chosen tokens get a random word: that is half of the 20% not masked, not 10% of them",
        code=edited(_MASK, ("randomized = chosen & (u >= 0.8) & (u < 0.9)",
                            "randomized = chosen & (u >= 0.8) & (rng.random(ids.shape) < 0.1)")),  # fmt: skip
    ),
    KnownBug(
        # Hugging Face's DataCollatorForLanguageModeling draws randint(len(tokenizer)),
        # specials included.
        name="mlm-random-token-may-be-special",
        function="mlm_mask",
        hint="draw the random replacement among the words, ids N_SPECIAL..V-1 (Hugging Face's collator "
        "draws from the whole vocabulary; this exercise never puts a special inside a sentence)",
        code=edited(_MASK, ("rng.integers(N_SPECIAL, vocab_size,", "rng.integers(0, vocab_size,")),
    ),
    KnownBug(
        # Every chosen token replaced by [MASK] (no 80/10/10): the pre-train/fine-tune
        # mismatch the BERT paper's appendix A.1 explains.
        name="mlm-always-mask",
        function="mlm_mask",
        hint="only 80% of the chosen tokens become [MASK]; 10% get a random word and 10% stay as they are",
        code=edited(_MASK, ("inputs[chosen & (u < 0.8)] = MASK", "inputs[chosen] = MASK")),
    ),
    KnownBug(
        # Labels only where [MASK] was put: the random and kept 20% are then never learned.
        name="mlm-labels-only-at-mask",
        function="mlm_mask",
        hint="every chosen position has its label, also those given a random word or left unchanged",
        code=edited(_MASK, ("labels = np.where(chosen, ids, IGNORE)", "labels = np.where(inputs == MASK, ids, IGNORE)")),
    ),
    KnownBug(
        # Issue 24: "the loss averaged over all positions".
        name="mlm-loss-mean-over-all-positions",
        function="mlm_loss",
        hint="divide by the number of positions whose label is not -100, not by N * T",
        code=edited(_LOSS, ("return -log_probs.gather(-1, labels[keep][:, None]).mean()",
                            "return -log_probs.gather(-1, labels[keep][:, None]).sum() / labels.numel()")),  # fmt: skip
    ),
    KnownBug(
        # -100 clamped to 0 so that the gather works, and every position counted.
        name="mlm-loss-ignored-as-token-0",
        function="mlm_loss",
        hint="positions labelled -100 are skipped, not scored as token 0: select labels != -100 first",
        code=edited(_LOSS, ("keep = labels != IGNORE", "keep = labels == labels"),
                    ("labels[keep][:, None]", "labels[keep].clamp(min=0)[:, None]")),  # fmt: skip
    ),
    KnownBug(
        # The NotNext B drawn from every sentence, the true next included (issue 24).
        name="nsp-random-may-be-next",
        function="nsp_pairs",
        hint="a NotNext B is drawn from the sentences OTHER than i + 1, else some 'NotNext' pairs are next",
        code=edited(_NSP, ("j, label = int(rng.integers(n - 1)), 0", "j, label = int(rng.integers(n)), 0"),
                    ("            j += j >= i + 1  # skip i + 1: uniform over the other n - 1 indices\n", "")),
    ),
    KnownBug(
        # Hugging Face's BertForPreTraining: next_sentence_label 0 = B continues A.
        name="nsp-label-hf-polarity",
        kind="convention",
        function="nsp_pairs",
        hint="this is Hugging Face's next_sentence_label (0 = B continues A); this exercise returns "
        "is_next = 1 when B follows A, as the name says",
        code=edited(_NSP, ("j, label = i + 1, 1", "j, label = i + 1, 0"), ("int(rng.integers(n - 1)), 0", "int(rng.integers(n - 1)), 1")),
    ),
    KnownBug(
        # The first [SEP] given segment 1 (it closes A, so it belongs to segment 0).
        name="nsp-first-sep-in-segment-b",
        function="nsp_pairs",
        hint="segment 0 covers [CLS] A [SEP], the first [SEP] included; segment 1 is B and its [SEP]",
        code=edited(_NSP, ("[0] * (len(a) + 2) + [1] * (len(b) + 1)", "[0] * (len(a) + 1) + [1] * (len(b) + 2)")),
    ),
    KnownBug(
        # Phase 5's pre-LN block reused: GPT-2's layout, not BERT's.
        name="encoder-pre-ln",
        kind="convention",
        function="encoder_layer",
        hint="this is the pre-LN block (GPT-2, the transformer topic: x + sublayer(LN(x))); BERT is post-LN "
        "as the original Transformer: x = LN(x + sublayer(x)), PyTorch's norm_first=False",
        code=edited(
            _LAYER,
            ("""    x = layer_norm(x + multi_head_attention(x, x, attn, n_heads, mask)[0], p["ln1_gamma"], p["ln1_beta"])
    z = x @ p["ffn_W1"] + p["ffn_b1"]
    h = 0.5 * z * (1 + torch.erf(z / 2**0.5)) @ p["ffn_W2"] + p["ffn_b2"]
    return layer_norm(x + h, p["ln2_gamma"], p["ln2_beta"])""",
             """    h = layer_norm(x, p["ln1_gamma"], p["ln1_beta"])
    x = x + multi_head_attention(h, h, attn, n_heads, mask)[0]
    z = layer_norm(x, p["ln2_gamma"], p["ln2_beta"]) @ p["ffn_W1"] + p["ffn_b1"]
    return x + 0.5 * z * (1 + torch.erf(z / 2**0.5)) @ p["ffn_W2"] + p["ffn_b2"]"""),
        ),  # fmt: skip
        fails=("encoder_layer", "bert_forward"),
    ),
    KnownBug(
        # GPT-2's (and Hugging Face's gelu_new) tanh approximation.
        name="gelu-tanh-approximation",
        kind="convention",
        function="encoder_layer",
        hint="this is the tanh approximation of GELU (GPT-2, gelu_new); BERT and PyTorch's default use the "
        "exact z * (1 + erf(z / sqrt(2))) / 2",
        code=edited(_LAYER, ("0.5 * z * (1 + torch.erf(z / 2**0.5))",
                             "0.5 * z * (1 + torch.tanh((2 / torch.pi) ** 0.5 * (z + 0.044715 * z**3)))")),  # fmt: skip
        fails=("encoder_layer", "bert_forward"),
    ),
    KnownBug(
        # A causal mask kept from the decoder: BERT would then be a left-to-right model.
        name="encoder-causal-mask",
        function="encoder_layer",
        hint="BERT's encoder is bidirectional: only the padding mask hides keys, no causal mask",
        code=edited(_LAYER, ("multi_head_attention(x, x, attn, n_heads, mask)",
                             "multi_head_attention(x, x, attn, n_heads, torch.tril(torch.ones(x.shape[1], "
                             "x.shape[1], dtype=torch.bool)) if mask is None else mask & torch.tril(torch.ones("
                             "x.shape[1], x.shape[1], dtype=torch.bool)))")),  # fmt: skip
        fails=("encoder_layer", "bert_forward"),
    ),
    KnownBug(
        # The padding mask never passed on: real tokens attend to [PAD].
        name="encoder-ignores-padding-mask",
        function="encoder_layer",
        hint="pass the padding mask to the attention, shaped (N, 1, 1, T): padded keys get weight 0",
        code=edited(_LAYER, ("multi_head_attention(x, x, attn, n_heads, mask)", "multi_head_attention(x, x, attn, n_heads)")),
        fails=("encoder_layer", "bert_forward"),
    ),
    KnownBug(
        # Segment embeddings forgotten (the GPT habit: token + position only).
        name="bert-no-segment-embedding",
        function="bert_forward",
        hint="BERT's input is the sum of THREE embeddings: token, position and segment",
        code=edited(_MODEL, (' + p["seg_embed"][segments]', "")),
    ),
    KnownBug(
        # The embedding layer norm left out (the sum goes straight into the first layer).
        name="bert-no-embedding-layer-norm",
        function="bert_forward",
        hint="the summed embeddings go through a layer norm (emb_ln) before the first layer",
        code=edited(_MODEL, ('    x = layer_norm(x, p["emb_ln_gamma"], p["emb_ln_beta"])\n', "")),
    ),
]

# Comparisons on a continuous uniform draw: u == 0.8, u == 0.9 or a draw equal to mask_prob
# has probability ~2^-53 per token, so < and <= (>= and >) choose the same tokens.
_CONTINUOUS = "a comparison with a continuous uniform draw: equality has probability ~2^-53 per token"
EQUIVALENT = {
    "mlm_mask/compare/Lt->LtE#0": _CONTINUOUS,
    "mlm_mask/compare/Lt->LtE#1": _CONTINUOUS,
    "mlm_mask/compare/Lt->LtE#2": _CONTINUOUS,
    "mlm_mask/compare/GtE->Gt#1": _CONTINUOUS,
    "nsp_pairs/compare/Lt->LtE#0": _CONTINUOUS,
    "mlm_loss/arith/drop unary minus#0": "logits[keep] is 2-D (masked positions, V): dim=1 is dim=-1",
    "mlm_loss/arith/drop unary minus#2": "log_probs is 2-D (masked positions, V): gather(1, ...) is gather(-1, ...)",
}
