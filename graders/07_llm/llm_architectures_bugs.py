"""Known bugs of llm-architectures: each an edit of the reference function as the solution file has it."""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

_RMS = reference_function(__file__, "rms_norm")
_RMS_BACK = reference_function(__file__, "rms_norm_backward")
_SWIGLU = reference_function(__file__, "swiglu")
_ROPE = reference_function(__file__, "rope")
_GQA = reference_function(__file__, "grouped_query_attention")
_ROUTE = reference_function(__file__, "moe_route")
_BALANCE = reference_function(__file__, "load_balancing_loss")
_CHUNK = reference_function(__file__, "chunk_tokens")
_RETRIEVE = reference_function(__file__, "rag_retrieve")
_PATCH = reference_function(__file__, "patch_embed")

BUGS = [
    KnownBug(
        # Issue 25: RMSNorm written from a LayerNorm by removing only the bias (the mean is
        # still subtracted); Zhang & Sennrich's point is precisely that it is not.
        name="rms-norm-subtracts-mean",
        function="rms_norm",
        hint="RMSNorm does not centre x: divide x itself by sqrt(mean(x^2) + eps); subtracting the mean "
        "makes it a LayerNorm without bias",
        code=edited(
            _RMS,
            (
                "    rms = torch.sqrt(",
                "    x = x - x.mean(dim=-1, keepdim=True)\n    rms = torch.sqrt(",
            ),
        ),
    ),
    KnownBug(
        # x / (sqrt(mean x^2) + eps): the form of some RMSNorm ports (e.g. the original
        # `rmsnorm_torch` of Zhang & Sennrich's repository adds eps to the norm).
        name="rms-eps-outside-root",
        kind="convention",
        function="rms_norm",
        hint="this adds eps outside the root, x / (sqrt(mean(x^2)) + eps); this exercise (as LLaMA and "
        "F.rms_norm) puts it inside, x / sqrt(mean(x^2) + eps), which bounds the gain at 1/sqrt(eps)",
        code=edited(
            _RMS,
            (
                "torch.sqrt((x * x).mean(dim=-1, keepdim=True) + eps)",
                "torch.sqrt((x * x).mean(dim=-1, keepdim=True)) + eps",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # The mean taken over the whole array, not each row (a forgotten dim=-1).
        name="rms-over-whole-array",
        function="rms_norm",
        hint="each row (the last axis) has its own rms: mean over dim=-1 with keepdim=True",
        code=edited(_RMS, ("(x * x).mean(dim=-1, keepdim=True)", "(x * x).mean()")),
    ),
    KnownBug(
        # The backward of x / rms with rms treated as a constant (the path through the
        # mean forgotten), the usual first attempt at a normalisation's backward (CS231n's
        # batch-norm assignment reports the same for the variance).
        name="rms-backward-rms-as-constant",
        function="rms_norm_backward",
        hint="rms depends on x too: dx = (g - xhat * mean(g * xhat)) / rms, not g / rms",
        code=edited(
            _RMS_BACK,
            ("dx = (g - xhat * (g * xhat).mean(dim=-1, keepdim=True)) / rms", "dx = g / rms"),
        ),
    ),
    KnownBug(
        # dgamma summed over the first axis only: right for 2-D x, wrong for (N, T, d).
        name="rms-backward-dgamma-first-axis-only",
        function="rms_norm_backward",
        hint="gamma is shared by every position of every batch: sum dy * xhat over ALL axes but the last",
        code=edited(
            _RMS_BACK, ("(dy * xhat).reshape(-1, x.shape[-1]).sum(dim=0)", "(dy * xhat).sum(dim=0)")
        ),
    ),
    KnownBug(
        # Phase 6's GELU MLP kept inside the gate ("GeGLU").
        name="swiglu-gelu-not-silu",
        function="swiglu",
        hint="SwiGLU's gate is SiLU, z * sigmoid(z) (Swish with beta 1); GELU in the gate makes GeGLU",
        code=edited(_SWIGLU, ("gate * torch.sigmoid(gate)", "torch.nn.functional.gelu(gate)")),
    ),
    KnownBug(
        # The original Transformer's ReLU in the gate ("ReGLU").
        name="swiglu-relu-not-silu",
        function="swiglu",
        hint="SwiGLU's gate is SiLU, z * sigmoid(z); ReLU in the gate makes ReGLU",
        code=edited(_SWIGLU, ("gate * torch.sigmoid(gate)", "torch.relu(gate)")),
    ),
    KnownBug(
        # The sigmoid alone as the gate: Dauphin et al.'s GLU, not SwiGLU.
        name="swiglu-sigmoid-gate",
        function="swiglu",
        hint="the gate is silu(x W1) = (x W1) * sigmoid(x W1), not sigmoid(x W1) alone (that is the plain GLU)",
        code=edited(_SWIGLU, ("gate * torch.sigmoid(gate)", "torch.sigmoid(gate)")),
    ),
    KnownBug(
        # w1 and w3 swapped: the SiLU on the up projection (HF's gate_proj / up_proj names
        # mixed up when porting LLaMA's w1, w3).
        name="swiglu-gate-on-wrong-branch",
        function="swiglu",
        hint="W1 is the gate (x @ W1 goes through SiLU); W3 is the linear branch it multiplies",
        code=edited(
            _SWIGLU,
            (
                "gate = x @ W1\n    return (gate * torch.sigmoid(gate) * (x @ W3)) @ W2",
                "gate = x @ W3\n    return (gate * torch.sigmoid(gate) * (x @ W1)) @ W2",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # Issue 25: RoFormer's / Meta's original LLaMA pairing (2i, 2i + 1); weights from one
        # convention loaded into the other's code is a reported HF LLaMA conversion issue.
        name="rope-interleaved-pairs",
        kind="convention",
        function="rope",
        hint="this is the interleaved pairing of RoFormer and Meta's original LLaMA (features 2i and 2i + 1 "
        "rotate together); this exercise uses the half-split pairing of GPT-NeoX and Hugging Face's LLaMA "
        "(feature i with i + d/2), which rotates with two contiguous halves: x cos + rotate_half(x) sin",
        code=edited(
            _ROPE,
            (
                "cos = torch.cat([angle.cos(), angle.cos()], dim=-1).to(x.dtype)",
                "cos = angle.cos().repeat_interleave(2, dim=-1).to(x.dtype)",
            ),
            (
                "sin = torch.cat([angle.sin(), angle.sin()], dim=-1).to(x.dtype)",
                "sin = angle.sin().repeat_interleave(2, dim=-1).to(x.dtype)",
            ),
            (
                "x1, x2 = x[..., : d // 2], x[..., d // 2 :]\n    return x * cos + torch.cat([-x2, x1], dim=-1) * sin",
                "x1, x2 = x[..., 0::2], x[..., 1::2]\n    return x * cos + torch.stack([-x2, x1], dim=-1).flatten(-2) * sin",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # Issue 25: the rotary cache indexed from 0 whatever the position of the first row
        # (the KV-cache decoding bug: every new token rotated as if at position 0).
        name="rope-ignores-offset",
        function="rope",
        hint="row t is at position offset + t: build the angles from arange(offset, offset + T), so a "
        "token decoded after a prompt of 37 tokens is rotated by 37",
        code=edited(
            _ROPE,
            (
                "torch.arange(offset, offset + T, dtype=torch.float64)",
                "torch.arange(T, dtype=torch.float64)",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # theta_i = base^(-i/d) over i < d/2 (the 2 of 2i/d lost): frequencies decay half as fast.
        name="rope-frequency-exponent",
        function="rope",
        hint="theta_i = base ** (-2 i / d) for i = 0 .. d/2 - 1, i.e. base ** (-arange(0, d, 2) / d)",
        code=edited(
            _ROPE,
            (
                "-torch.arange(0, d, 2, dtype=torch.float64) / d",
                "-torch.arange(d // 2, dtype=torch.float64) / d",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # rotate_half written as [x2, -x1]: every pair rotated the other way.
        name="rope-rotation-direction",
        function="rope",
        hint="rotate_half(x) = [-x2, x1] (x1 the first half): out_i = x_i cos - x_{i+d/2} sin",
        code=edited(_ROPE, ("torch.cat([-x2, x1], dim=-1)", "torch.cat([x2, -x1], dim=-1)")),
    ),
    KnownBug(
        # .repeat(1, groups, 1, 1) for repeat_interleave: query head h paired with kv head
        # h % n_kv_head (HF's repeat_kv comment warns about exactly this).
        name="gqa-kv-heads-tiled",
        function="grouped_query_attention",
        hint="consecutive query heads share a kv head: repeat_interleave(n_head // n_kv_head, dim=1) "
        "(0, 0, 1, 1, ...), not .repeat (0, 1, 0, 1, ...)",
        code=edited(
            _GQA,
            (
                "k = k.repeat_interleave(n_head // n_kv_head, dim=1)",
                "k = k.repeat(1, n_head // n_kv_head, 1, 1)",
            ),
            (
                "v = v.repeat_interleave(n_head // n_kv_head, dim=1)",
                "v = v.repeat(1, n_head // n_kv_head, 1, 1)",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # A decoder's attention left unmasked.
        name="gqa-not-causal",
        function="grouped_query_attention",
        hint="LLaMA's attention is causal: -inf above the diagonal before the softmax",
        code=edited(_GQA, ('scores.masked_fill(~keep, float("-inf"))', "scores")),
    ),
    KnownBug(
        # Scores scaled by the kv width or d instead of d_head.
        name="gqa-scale-sqrt-d-model",
        function="grouped_query_attention",
        hint="each head's scores are divided by sqrt(d_head) = sqrt(d / n_head), not sqrt(d)",
        code=edited(_GQA, ("/ math.sqrt(dh)", "/ math.sqrt(d)")),
    ),
    KnownBug(
        # Issue 25: the top-k probabilities used as gates as they are (Switch's top-1 gate
        # is the raw probability; with k >= 2 Mixtral renormalises).
        name="moe-gates-not-renormalised",
        function="moe_route",
        hint="divide each token's k chosen probabilities by their sum, so its gates add up to 1 (Mixtral); "
        "the raw probability is Switch's top-1 gate, not this exercise's",
        code=edited(_ROUTE, ("gates = top / top.sum(dim=-1, keepdim=True)", "gates = top")),
    ),
    KnownBug(
        # softmax over dim=0 (the tokens): the router normalised the wrong way.
        name="moe-softmax-over-tokens",
        function="moe_route",
        hint="each token's router probabilities sum to 1 over the EXPERTS: softmax over the last axis",
        code=edited(
            _ROUTE,
            (
                "torch.softmax(torch.as_tensor(logits), dim=-1)",
                "torch.softmax(torch.as_tensor(logits), dim=0)",
            ),
        ),
    ),
    KnownBug(
        # Capacity filled token by token (each token's choices in turn): a token's first
        # choice can then be dropped for an earlier token's second choice.
        name="moe-capacity-token-major",
        kind="convention",
        function="moe_route",
        hint="this fills the capacity token by token; this exercise (as GShard) accepts every token's "
        "first choice before any second choice, so that a second choice never pushes out a first one",
        code=edited(
            _ROUTE,
            (
                "    for rank in range(k):\n        for t in range(experts.shape[0]):",
                "    for t in range(experts.shape[0]):\n        for rank in range(k):",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # load <= capacity: one assignment too many per expert.
        name="moe-capacity-off-by-one",
        function="moe_route",
        hint="an expert accepts at most `capacity` assignments: keep one while its load is < capacity",
        code=edited(_ROUTE, ("if load[e] < capacity:", "if load[e] <= capacity:")),
    ),
    KnownBug(
        # Issue 25: the balancing loss built from the routing mask alone (P_i taken from the
        # hard top-k counts): the value is wrong and no gradient reaches the router.
        name="balance-loss-hard-counts-only",
        function="load_balancing_loss",
        hint="P_i is the mean router PROBABILITY of expert i (softmax of the logits), the differentiable "
        "factor; from the top-k counts alone the loss gives the router no gradient",
        code=edited(
            _BALANCE, ("P = torch.softmax(logits, dim=-1).mean(dim=0)", "P = f + 0 * logits.sum()")
        ),
    ),
    KnownBug(
        # f counted per token (divided by T, not T k): the loss is k at balance, as
        # reported for HF's Mixtral load_balancing_loss_func with top-2.
        name="balance-loss-counts-per-token",
        function="load_balancing_loss",
        hint="f_i is a fraction of the T k assignments (divide the counts by T k), so the loss is 1 "
        "for a uniform router whatever k",
        code=edited(_BALANCE, ("/ experts.numel()", "/ experts.shape[0]")),
    ),
    KnownBug(
        # The factor E forgotten: the loss is 1/E at balance.
        name="balance-loss-without-expert-count",
        function="load_balancing_loss",
        hint="multiply by the number of experts E: E * sum_i f_i P_i is 1 at balance, whatever E",
        code=edited(_BALANCE, ("loss = E * (f * P).sum()", "loss = (f * P).sum()")),
    ),
    KnownBug(
        # Chunks laid end to end: the overlap argument read but never used in the stride.
        name="chunk-stride-ignores-overlap",
        function="chunk_tokens",
        hint="consecutive chunks share `overlap` tokens: the next chunk starts size - overlap tokens later",
        code=edited(_CHUNK, ("start += size - overlap", "start += size")),
    ),
    KnownBug(
        # The overlap used as the stride (LangChain's chunk_size / chunk_overlap confusion
        # shows up in its issue tracker as "chunks repeat almost everything").
        name="chunk-stride-is-overlap",
        function="chunk_tokens",
        hint="the stride is size - overlap (a new chunk every size - overlap tokens), not overlap",
        code=edited(_CHUNK, ("start += size - overlap", "start += overlap")),
    ),
    KnownBug(
        # for start in range(0, len(tokens), step): a last chunk that lies inside the one
        # before it (the tail repeated as a chunk of its own).
        name="chunk-redundant-tail",
        function="chunk_tokens",
        hint="stop after the first chunk that reaches the end of the tokens: a chunk after it would only "
        "repeat that chunk's tail",
        code=edited(
            _CHUNK, ("if start + size >= len(tokens):", "if start + size - overlap >= len(tokens):")
        ),
    ),
    KnownBug(
        # for start in range(0, len(tokens) - size + 1, step): the tokens after the last
        # full window silently lost.
        name="chunk-drops-the-tail",
        function="chunk_tokens",
        hint="keep a last, shorter chunk when the tokens do not end on a full window: every token must be in "
        "some chunk",
        code=edited(
            _CHUNK,
            (
                "        chunks.append(tokens[start : start + size])\n        if start + size >= len(tokens):",
                "        if start + size <= len(tokens):\n            chunks.append(tokens[start : start + size])\n"
                "        if start + size >= len(tokens):",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # Retrieval by the raw dot product (an inner-product index over unnormalised
        # embeddings): long vectors win whatever their direction.
        name="rag-dot-product-not-cosine",
        function="rag_retrieve",
        hint="divide each dot product by |q| |v|: cosine similarity compares directions, not lengths",
        code=edited(_RETRIEVE, ("M @ q / torch.where(norms > 0, norms, 1)", "M @ q")),
    ),
    KnownBug(
        # argsort ascending: the least similar chunks returned first.
        name="rag-least-similar-first",
        function="rag_retrieve",
        hint="sort the similarities in DESCENDING order: the most similar chunk first",
        code=edited(_RETRIEVE, ("descending=True", "descending=False")),
    ),
    KnownBug(
        # vit-pytorch's `Rearrange("b c (h p1) (w p2) -> b (h w) (p1 p2 c)")`: the patch
        # flattened channels last.
        name="patch-flattened-channels-last",
        kind="convention",
        function="patch_embed",
        hint="this flattens each patch as (row, column, channel), vit-pytorch's einops layout; this exercise "
        "flattens (channel, row, column), so that W is the strided convolution's weight (d, C, P, P) "
        "reshaped to (d, C P P) and transposed",
        code=edited(_PATCH, (".permute(0, 2, 4, 1, 3, 5)", ".permute(0, 2, 4, 3, 5, 1)")),
    ),
    KnownBug(
        # The patch grid read column by column.
        name="patch-order-column-major",
        function="patch_embed",
        hint="patches come in reading order: along a row of patches first (left to right), then the next row",
        code=edited(_PATCH, (".permute(0, 2, 4, 1, 3, 5)", ".permute(0, 4, 2, 1, 3, 5)")),
    ),
    KnownBug(
        # images.reshape(N, -1, C * P * P) straight away: "patches" of consecutive pixels
        # of one row, not squares.
        name="patch-reshape-without-permute",
        function="patch_embed",
        hint="a patch is a P x P square: reshape to (N, C, H/P, P, W/P, P) and permute the grid axes "
        "before the pixel axes; a plain reshape cuts rows of consecutive pixels",
        code=edited(_PATCH, (".permute(0, 2, 4, 1, 3, 5)", "")),
    ),
]

EQUIVALENT = {
    "rag_retrieve/constant/1->2#1": "the inner where's fallback divides only where the outer where "
    "returns 0 anyway",
    "rag_retrieve/compare/Gt->GtE#1": "the inner where's condition matters only where the outer where "
    "returns 0 anyway",
    "rag_retrieve/transpose/add .T to right operand#0": "q is 1-D: q.T is q",
    "load_balancing_loss/arith/drop unary minus#1": "logits are 2-D: dim=1 is dim=-1",
    "moe_route/constant/True->False#1": "torch's CPU sort returns tied values in index order with "
    "stable=False too (the tie test catches a sort that does not)",
    "rag_retrieve/compare/Gt->GtE#0": "a zero norm means a zero row (or query): M @ q is 0 there, "
    "divided by the inner where's 1",
    "rag_retrieve/constant/1->0#1": "the inner where's fallback divides only where the outer where "
    "returns 0 anyway",
    "rope/arith/drop unary minus#3": "angle is 2-D (T, d/2): dim=1 is dim=-1",
    "rope/arith/drop unary minus#4": "angle is 2-D (T, d/2): dim=1 is dim=-1",
    "grouped_query_attention/swap-args/swap first two arguments#0": "transpose(2, 1) swaps the same "
    "two axes as transpose(1, 2)",
    "grouped_query_attention/swap-args/swap first two arguments#2": "transpose(2, 1) swaps the same "
    "two axes as transpose(1, 2)",
    "grouped_query_attention/swap-args/swap first two arguments#4": "transpose(-1, -2) swaps the same "
    "two axes as transpose(-2, -1)",
    "grouped_query_attention/arith/drop unary minus#0": "k is 4-D (N, heads, T, d_head): axis 2 is axis -2",
    "grouped_query_attention/swap-args/swap first two arguments#7": "transpose(2, 1) swaps the same "
    "two axes as transpose(1, 2)",
    "moe_route/arith/drop unary minus#0": "router logits are 2-D (tokens, experts): dim=1 is dim=-1",
    "moe_route/arith/drop unary minus#1": "probs are 2-D (tokens, experts): dim=1 is dim=-1",
    "moe_route/arith/drop unary minus#2": "top is 2-D (tokens, k): dim=1 is dim=-1",
}
