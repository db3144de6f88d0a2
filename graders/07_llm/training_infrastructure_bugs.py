"""Known bugs of training-infrastructure: each an edit of the reference function as the
solution file has it."""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

_TRAIN = reference_function(__file__, "bpe_train")
_ENCODE = reference_function(__file__, "bpe_encode")
_DECODE = reference_function(__file__, "bpe_decode")
_PACK = reference_function(__file__, "pack_sequences")
_COL = reference_function(__file__, "column_parallel_linear")
_COL_BACK = reference_function(__file__, "column_parallel_backward")
_ROW = reference_function(__file__, "row_parallel_linear")
_ROW_BACK = reference_function(__file__, "row_parallel_backward")
_PIPE = reference_function(__file__, "pipeline_schedule")
_CKPT = reference_function(__file__, "checkpointed_forward_backward")

BUGS = [
    KnownBug(
        # minbpe's `max(stats, key=stats.get)`: a tie goes to the pair met first, so the
        # merges depend on the corpus's order (minbpe's issues, HF forum threads on
        # "my merges differ from the reference").
        name="bpe-ties-by-first-seen",
        function="bpe_train",
        hint="when two pairs are equally frequent, take the lexicographically smallest (bytes(left), "
        "bytes(right)), not the one your loop met first (max over a dict keeps the first)",
        code=edited(
            _TRAIN,
            (
                "best = min(pairs, key=lambda p: (-pairs[p], vocab[p[0]], vocab[p[1]], p))",
                "best = max(pairs, key=pairs.get)",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # Ties broken by the ids (min over the pairs themselves): the same as the bytes'
        # order for single bytes, not once merged tokens (id >= 256) tie.
        name="bpe-ties-by-token-id",
        function="bpe_train",
        hint="break ties by the pairs' byte strings (bytes(left), then bytes(right)), not by their ids: "
        "a merged token's id (>= 256) says nothing about its bytes",
        code=edited(
            _TRAIN,
            (
                "best = min(pairs, key=lambda p: (-pairs[p], vocab[p[0]], vocab[p[1]], p))",
                "best = min(pairs, key=lambda p: (-pairs[p], p))",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # The whole text trained as one sequence: merges span the space between words
        # (Sennrich et al.'s reference code works per word; skipping pre-tokenization is
        # the classic first-attempt mistake in minbpe-style exercises).
        name="bpe-merges-cross-pretokens",
        function="bpe_train",
        hint="count pairs inside each pre-token only (pretokenize(text)): a pair of the last byte of a word "
        "and the space of the next one is never counted",
        code=edited(
            _TRAIN, ("for piece in pretokenize(text):", 'for piece in [text.encode("utf-8")]:')
        ),
    ),
    KnownBug(
        # Sennrich et al.'s and minbpe's counting: every adjacent pair, so a run "aaa"
        # counts (a, a) twice although one merge of it is possible.
        name="bpe-overlapping-pairs-counted-twice",
        kind="convention",
        function="bpe_train",
        hint="you counted every adjacent pair, so 'aaa' counts (a, a) twice (the counting of Sennrich et "
        "al.'s and minbpe's code); this exercise counts the occurrences a merge actually replaces, "
        "'aaa' once, so that a pair's count is the number of symbols its merge saves",
        code=edited(
            _TRAIN,
            (
                """                if pair == last:  # overlaps the occurrence just counted
                    last = None
                    continue
""",
                "",
            ),
        ),
    ),
    KnownBug(
        # Distinct words counted once each: the text's frequencies are lost.
        name="bpe-word-counts-ignored",
        function="bpe_train",
        hint="weight each pre-token's pairs by how often the pre-token occurs in the text",
        code=edited(
            _TRAIN,
            (
                "pairs[pair] = pairs.get(pair, 0) + counts[piece]",
                "pairs[pair] = pairs.get(pair, 0) + 1",
            ),
        ),
    ),
    KnownBug(
        # tiktoken's and HF's docs warn about it: special tokens encoded as ordinary text.
        name="special-tokens-split",
        function="bpe_encode",
        hint="cut the text at the special tokens first: each occurrence of specials[j] is the single id "
        "256 + len(merges) + j, never merged from its characters",
        code=edited(_ENCODE, ("    if specials:\n", "    if False:\n")),
    ),
    KnownBug(
        # The first mergeable pair from the left merged, whatever its rank: the merges
        # applied in the text's order, not the training order.
        name="encode-leftmost-pair-not-lowest-rank",
        function="bpe_encode",
        hint="merge the pair with the LOWEST merge index first (the order training learned them), not the "
        "leftmost mergeable pair",
        code=edited(
            _ENCODE,
            (
                "pair = min(zip(symbols, symbols[1:]), key=lambda p: rank.get(p, len(rank)))",
                "pair = next((p for p in zip(symbols, symbols[1:]) if p in rank), (-1, -1))",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # Each token decoded by itself: a character whose bytes lie in two tokens turns
        # into two U+FFFD (tiktoken's docs: decode_single_token_bytes is lossy per token).
        name="decode-per-token",
        function="bpe_decode",
        hint="join all the tokens' bytes first and decode the whole byte string once: a character's UTF-8 "
        "bytes may be spread over two tokens",
        code=edited(
            _DECODE,
            (
                'return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")',
                'return "".join(vocab[i].decode("utf-8", errors="replace") for i in ids)',
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # Positions 0..L-1 along the whole row: the usual causal-LM batch code left as is
        # (Krell et al. 2021 section 3; HF's DataCollatorWithFlattening added position_ids
        # for this reason).
        name="pack-positions-not-restarted",
        function="pack_sequences",
        hint="position_ids count from 0 at each document's first token, not along the row",
        code=edited(
            _PACK,
            (
                "positions[r, start : start + n] = np.arange(n)",
                "positions[r, start : start + n] = np.arange(start, start + n)",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # A plain causal mask over the packed row: documents attend to earlier documents
        # ("cross-contamination", Krell et al. 2021).
        name="pack-mask-crosses-documents",
        function="pack_sequences",
        hint="a token may only attend to earlier tokens of its OWN document: and the causal mask with "
        "doc_ids[i] == doc_ids[j]",
        code=edited(
            _PACK,
            (
                "same = (doc_ids[:, :, None] == doc_ids[:, None, :]) & (doc_ids[:, :, None] >= 0)",
                "same = (doc_ids[:, :, None] >= 0) & (doc_ids[:, None, :] >= 0)",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # The document mask without the causal part: a bidirectional (encoder) mask.
        name="pack-mask-not-causal",
        function="pack_sequences",
        hint="inside a document the mask is still causal: query i sees key j only when j <= i",
        code=edited(
            _PACK, ("mask = same & np.tril(np.ones((seq_len, seq_len), dtype=bool))", "mask = same")
        ),
    ),
    KnownBug(
        # nn.MultiheadAttention's boolean attn_mask: True = NOT allowed.
        name="pack-mask-true-means-blocked",
        kind="convention",
        function="pack_sequences",
        hint="your mask is True where attention is blocked (nn.MultiheadAttention's attn_mask polarity); "
        "this exercise's mask is True = may attend, as F.scaled_dot_product_attention's boolean mask",
        code=edited(
            _PACK,
            ("return tokens, positions, doc_ids, mask", "return tokens, positions, doc_ids, ~mask"),
        ),
    ),
    KnownBug(
        # np.split of a (d_in, P, k) reshape the wrong way round: rank r holds every P-th
        # column, so the gathered output's features come out permuted.
        name="column-shards-strided",
        function="column_parallel_linear",
        hint="rank r holds the contiguous block of columns r k .. (r+1) k - 1, not every world_size-th column",
        code=edited(
            _COL,
            (
                "x @ W[:, r * k : (r + 1) * k] + b[r * k : (r + 1) * k]",
                "x @ W[:, r::world_size] + b[r::world_size]",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # Megatron's f operator forgotten: the input's gradient taken from one rank only.
        name="column-backward-no-all-reduce",
        function="column_parallel_backward",
        hint="x feeds every rank, so dx is the SUM over ranks of dy_r @ W_r^T (an all-reduce), not one rank's part",
        code=edited(
            _COL_BACK,
            (
                "dx = sum(dy[:, c] @ W[:, c].T for c in blocks)",
                "dx = dy[:, blocks[0]] @ W[:, blocks[0]].T",
            ),
        ),
    ),
    KnownBug(
        # Megatron's g operator forgotten: one rank's partial sum taken as the output.
        name="row-parallel-no-all-reduce",
        function="row_parallel_linear",
        hint="each rank's x_r @ W_r is only a partial sum: y is the SUM over ranks (all-reduce), plus b",
        code=edited(
            _ROW, ("return partials.sum(axis=0) + b, partials", "return partials[0] + b, partials")
        ),
    ),
    KnownBug(
        # The bias kept in every rank's layer: added world_size times by the all-reduce
        # (Megatron's RowParallelLinear adds it after the reduction for this reason).
        name="row-bias-added-per-rank",
        function="row_parallel_linear",
        hint="add b once, after the all-reduce: a bias on every rank is summed world_size times",
        code=edited(
            _ROW,
            ("@ W[r * k : (r + 1) * k] for r", "@ W[r * k : (r + 1) * k] + b for r"),
            ("return partials.sum(axis=0) + b, partials", "return partials.sum(axis=0), partials"),
        ),  # fmt: skip
    ),
    KnownBug(
        # The bias's gradient all-reduced like dx: every rank's copy of db summed.
        name="row-bias-grad-times-world-size",
        function="row_parallel_backward",
        hint="the bias is added once, after the all-reduce: db = dy summed over the batch, once (not once per rank)",
        code=edited(
            _ROW_BACK,
            ("return dx, dW, dy.sum(axis=0)", "return dx, dW, world_size * dy.sum(axis=0)"),
        ),
    ),
    KnownBug(
        # GPipe's schedule (Huang et al. 2019): every forward, then every backward. Valid,
        # with the same bubble, but stage s holds all M micro-batches' activations.
        name="pipeline-gpipe-order",
        kind="convention",
        function="pipeline_schedule",
        hint="this is GPipe's schedule (all forwards, then all backwards); this exercise asks for 1F1B "
        "(S - s - 1 warm-up forwards, then one forward one backward), which has the same bubble but holds "
        "at most S - s micro-batches' activations instead of M",
        code=edited(_PIPE, ("warm = min(S - s - 1, M)", "warm = M")),
    ),
    KnownBug(
        # One warm-up forward too many (S - s instead of S - s - 1): a stage holds one more
        # micro-batch than 1F1B needs (a frequent slip when porting Megatron's schedule,
        # whose ranks count from 0).
        name="pipeline-warmup-off-by-one",
        function="pipeline_schedule",
        hint="stage s runs S - s - 1 warm-up forwards (the last stage none: it starts its first backward "
        "right after its first forward)",
        code=edited(_PIPE, ("warm = min(S - s - 1, M)", "warm = min(S - s, M)")),
    ),
    KnownBug(
        # Narayanan et al. 2021 define the bubble as bubble time over ideal time, (p - 1) / m.
        name="bubble-over-ideal-time",
        kind="convention",
        function="pipeline_schedule",
        hint="(S - 1) / M is the bubble time divided by the ideal (bubble-free) time, as Narayanan et al. "
        "(2021) define it; this exercise asks for the share of the whole step's time, (S - 1) / (M + S - 1)",
        code=edited(_PIPE, ("return order, (S - 1) / (M + S - 1)", "return order, (S - 1) / M")),
    ),
    KnownBug(
        # The step counted as M + S slots instead of M + S - 1.
        name="bubble-off-by-one",
        function="pipeline_schedule",
        hint="the step lasts M + S - 1 forward (and backward) slots: M micro-batches plus S - 1 to fill "
        "and drain the pipeline, so the bubble is (S - 1) / (M + S - 1)",
        code=edited(
            _PIPE, ("return order, (S - 1) / (M + S - 1)", "return order, (S - 1) / (M + S)")
        ),
    ),
    KnownBug(
        # torch.utils.checkpoint's classic pitfall: a recomputed segment whose input does
        # not require grad gives no gradient to anything before it (the "None of the inputs
        # have requires_grad=True" warning; PyTorch forum threads).
        name="checkpoint-gradient-stops-at-segment",
        function="checkpointed_forward_backward",
        hint="the gradient reaching a segment's checkpoint must flow on into the segment before it: carry g "
        "across segments (dx and the earlier layers' dW depend on it)",
        code=edited(
            _CKPT,
            (
                "        end = min(start + segment, L)\n",
                "        end = min(start + segment, L)\n        g = g if end == L else 0 * g\n",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # tanh's derivative taken at the layer's input instead of its output: the index
        # into the recomputed activations off by one.
        name="checkpoint-activation-off-by-one",
        function="checkpointed_forward_backward",
        hint="layer l's tanh derivative is 1 - h_{l+1}^2 (its OUTPUT); its dW uses h_l (its input): mind "
        "the offset of the recomputed list",
        code=edited(
            _CKPT,
            ("dz = g * (1 - hs[layer - start + 1] ** 2)", "dz = g * (1 - hs[layer - start] ** 2)"),
        ),
    ),
    KnownBug(
        # torch.utils.checkpoint re-runs the whole segment, its last layer included.
        name="checkpoint-recomputes-whole-segment",
        kind="convention",
        function="checkpointed_forward_backward",
        hint="you re-ran every layer of each segment, as torch.utils.checkpoint re-runs the whole function; "
        "this exercise reuses the next checkpoint (or the output) as a segment's last activation, so a "
        "segment of n layers re-runs n - 1 (L - ceil(L / segment) in all)",
        code=edited(
            _CKPT,
            (
                "        for layer in range(start, end - 1):\n",
                "        for layer in range(start, end):\n",
            ),
            ("        hs.append(out if end == L else checkpoints[end])\n", ""),
        ),  # fmt: skip
    ),
    KnownBug(
        # Every activation kept anyway (checkpointing switched off), the count honest.
        name="checkpoint-stores-everything",
        function="checkpointed_forward_backward",
        hint="keep only the checkpoints h_0, h_segment, h_2 segment, ... (and the output): the activations "
        "in between are recomputed in the backward pass, that is the memory saving",
        code=edited(
            _CKPT,
            ("        if layer % segment == 0:\n", "        if True:\n"),
            ("end = min(start + segment, L)", "end = start + 1"),
        ),  # fmt: skip
    ),
]

EQUIVALENT = {
    "pipeline_schedule/sibling/zeros->ones#0": "order's every row is assigned (order[s] = steps, 2 M "
    "steps per stage) before it is returned: its initial values are never seen",
    "checkpointed_forward_backward/sibling/zeros_like->ones_like#0": "every dWs[layer] is assigned "
    "(each layer lies in exactly one segment) before dWs is returned: its initial values are never seen",
    "column_parallel_linear/axis/axis=-1->1#0": "the outputs are 2-d (N, k): axis 1 is axis -1",
    "row_parallel_backward/axis/axis=1->-1#0": "the pieces are 2-d (N, k): axis -1 is axis 1",
    "pipeline_schedule/swap-args/swap first two arguments#0": "min(M, S - s - 1) = min(S - s - 1, M)",
    "checkpointed_forward_backward/swap-args/swap first two arguments#0": "min(L, start + segment) = "
    "min(start + segment, L)",
    "bpe_train/constant/1->2#0": "every pre-token counted twice: every pair's count doubles, so the most "
    "frequent pair and the ties are the same",
    "bpe_train/constant/0->1#1": "pairs.get(pair, 1): every pair met gets one more, so the counts' order "
    "and the ties are the same",
    "bpe_train/constant/256->255#0": "vocab without byte 255: a str's UTF-8 bytes never hold 0xFF, so no "
    "pair ever looks it up",
}
