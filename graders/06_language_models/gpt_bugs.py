"""Known bugs of gpt: each an edit of the reference function as the solution file has it."""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

_ATTN = reference_function(__file__, "causal_self_attention")
_GELU = reference_function(__file__, "gelu")
_BLOCK = reference_function(__file__, "gpt_block")
_MODEL_CODE = reference_function(__file__, "gpt_forward")
_COUNT = reference_function(__file__, "count_parameters")
_GEN = reference_function(__file__, "generate")
_TRAIN = reference_function(__file__, "train_gpt")
_MODEL = ("gpt_forward", "generate", "train_gpt")  # every part that runs the model
_BLOCKS = ("gpt_block", *_MODEL)
# a small change of the block's numbers (the GELU's form) moves no greedy choice of generate
_NUMBERS = ("gpt_block", "gpt_forward", "train_gpt")

BUGS = [
    KnownBug(
        # Issue 24's first GPT mistake: the decoder's self-attention left unmasked, as an
        # encoder's is (the training loss collapses because each position sees its target).
        name="attention-not-causal",
        function="causal_self_attention",
        hint="a GPT's attention is causal: query i may only see keys j <= i; fill the scores "
        "above the diagonal with -inf before the softmax",
        code=edited(_ATTN, ('scores.masked_fill(~keep, float("-inf"))', "scores")),
        fails=("causal_self_attention", "gpt_block", "gpt_forward", "train_gpt"),
    ),
    KnownBug(
        # torch.tril(..., diagonal=1) or triu/tril mixed up by one diagonal: each position
        # sees the next token (nanoGPT's issues report it as "loss too good to be true").
        name="causal-mask-leaks-one-future",
        function="causal_self_attention",
        hint="query i may see keys j <= i only: tril with diagonal 0; diagonal 1 lets it see the next token",
        code=edited(_ATTN, (".tril()", ".tril(1)")),
        fails=("causal_self_attention", "gpt_block", "gpt_forward", "train_gpt"),
    ),
    KnownBug(
        # Scores divided by sqrt(d_model) instead of sqrt(d_head).
        name="attention-scale-sqrt-d-model",
        function="causal_self_attention",
        hint="each head's scores are divided by sqrt(d_head) = sqrt(d / n_head), not sqrt(d)",
        code=edited(_ATTN, ("/ math.sqrt(dh)", "/ math.sqrt(d)")),
        fails=("causal_self_attention", *_BLOCKS),
    ),
    KnownBug(
        # A reshape straight to (N, H, T, dh): heads built from mixed positions.
        name="heads-without-transpose",
        function="causal_self_attention",
        hint="split the features, not the positions: reshape (N, T, H, d_head) THEN transpose(1, 2)",
        code=edited(_ATTN, ("t.reshape(N, T, n_head, dh).transpose(1, 2)", "t.reshape(N, n_head, T, dh)")),
        fails=("causal_self_attention", *_BLOCKS),
    ),
    KnownBug(
        # PyTorch's nn.GELU() / F.gelu default and BERT's: the exact erf form.
        name="gelu-exact-erf",
        kind="convention",
        function="gelu",
        hint="this is the exact GELU, 0.5 x (1 + erf(x / sqrt 2)) (PyTorch's default, BERT's); this "
        "exercise uses GPT-2's tanh approximation, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), "
        "so that its numbers match GPT-2's checkpoints",
        code=edited(_GELU, ("torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))",
                            "torch.erf(x / math.sqrt(2))")),  # fmt: skip
        fails=("gelu", *_NUMBERS),
    ),
    KnownBug(
        # The sigmoid approximation x * sigmoid(1.702 x) (OpenAI CLIP's QuickGELU).
        name="gelu-sigmoid-approximation",
        kind="convention",
        function="gelu",
        hint="this is the sigmoid approximation x * sigmoid(1.702 x) (CLIP's QuickGELU); this "
        "exercise uses GPT-2's tanh approximation, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))",
        code=edited(_GELU, ("return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))",
                            "return x * torch.sigmoid(1.702 * x)")),  # fmt: skip
        fails=("gelu", *_NUMBERS),
    ),
    KnownBug(
        # GPT-1 and the original Transformer normalise after the residual sum.
        name="block-post-ln",
        kind="convention",
        function="gpt_block",
        hint="this is the post-LN block (x = LN(x + sublayer(x)), GPT-1's and the original "
        "Transformer's); GPT-2 moved the layer norm to each sub-layer's input: x = x + "
        "sublayer(LN(x)), which trains deep stacks stably",
        code=edited(
            _BLOCK,
            ("""    x = x + torch.as_tensor(causal_self_attention(layer_norm(x, p["ln_1_gamma"], p["ln_1_beta"]), attn, n_head)[0])
    h = layer_norm(x, p["ln_2_gamma"], p["ln_2_beta"])
    h = torch.as_tensor(gelu(h @ p["mlp_c_fc_W"] + p["mlp_c_fc_b"]))
    return x + h @ p["mlp_c_proj_W"] + p["mlp_c_proj_b"]""",
             """    x = layer_norm(x + torch.as_tensor(causal_self_attention(x, attn, n_head)[0]), p["ln_1_gamma"], p["ln_1_beta"])
    h = torch.as_tensor(gelu(x @ p["mlp_c_fc_W"] + p["mlp_c_fc_b"]))
    return layer_norm(x + h @ p["mlp_c_proj_W"] + p["mlp_c_proj_b"], p["ln_2_gamma"], p["ln_2_beta"])"""),
        ),  # fmt: skip
        fails=_BLOCKS,
    ),
    KnownBug(
        # Pre-LN with the residual taken from the normalized copy: x = LN(x); x = x + f(x).
        name="block-residual-after-norm",
        function="gpt_block",
        hint="the residual adds the block's input x, not its normalized copy: x = x + attn(ln_1(x))",
        code=edited(
            _BLOCK,
            ("""    x = x + torch.as_tensor(causal_self_attention(layer_norm(x, p["ln_1_gamma"], p["ln_1_beta"]), attn, n_head)[0])""",
             """    x = layer_norm(x, p["ln_1_gamma"], p["ln_1_beta"])
    x = x + torch.as_tensor(causal_self_attention(x, attn, n_head)[0])"""),
        ),  # fmt: skip
        fails=_BLOCKS,
    ),
    KnownBug(
        # The Phase 5 feed-forward reused as it was: ReLU, the original Transformer's.
        name="mlp-relu-not-gelu",
        function="gpt_block",
        hint="GPT's MLP uses GELU (tanh form) between its two layers, not the original Transformer's ReLU",
        code=edited(_BLOCK, ('h = torch.as_tensor(gelu(h @ p["mlp_c_fc_W"] + p["mlp_c_fc_b"]))',
                             'h = torch.relu(h @ p["mlp_c_fc_W"] + p["mlp_c_fc_b"])')),  # fmt: skip
        fails=_BLOCKS,
    ),
    KnownBug(
        # GPT-2 added the final layer norm ln_f (section 2.3); GPT-1 code ported forgets it.
        name="no-final-layer-norm",
        function="gpt_forward",
        hint="GPT-2 normalises the last block's output with ln_f before the tied output layer",
        code=edited(_MODEL_CODE, ('layer_norm(x, p["ln_f_gamma"], p["ln_f_beta"]) @ p["wte"].T', 'x @ p["wte"].T')),
        fails=_MODEL,
    ),
    KnownBug(
        # Positions forgotten: the model sees a bag of earlier tokens.
        name="no-position-embeddings",
        function="gpt_forward",
        hint="add the learned position embeddings: h = wte[idx] + wpe[:T]",
        code=edited(_MODEL_CODE, ('x = p["wte"][idx] + p["wpe"][:T]', 'x = p["wte"][idx]')),
        fails=_MODEL,
    ),
    KnownBug(
        # The original Transformer scales the embeddings by sqrt(d_model) (section 3.4).
        name="embeddings-scaled-by-sqrt-d",
        kind="convention",
        function="gpt_forward",
        hint="this is the original Transformer's embedding scale, wte[idx] * sqrt(d); GPT-2 adds the "
        "token and position embeddings unscaled (its init, std 0.02, sets their size)",
        code=edited(_MODEL_CODE, ('x = p["wte"][idx] + p["wpe"][:T]', 'x = p["wte"][idx] * p["wte"].shape[1] ** 0.5 + p["wpe"][:T]')),
        fails=_MODEL,
    ),
    KnownBug(
        # Issue 24: the tied output layer counted as a matrix of its own (a model summary
        # that lists lm_head.weight next to wte.weight counts the shared tensor twice).
        name="tied-embeddings-counted-twice",
        function="count_parameters",
        hint="with tied embeddings the output layer IS wte: it adds no parameters; only an untied "
        "output layer adds its own V d",
        code=edited(_COUNT, ('head = 0 if config["tie_embeddings"] else V * d', "head = V * d")),
    ),
    KnownBug(
        # Only the weight matrices counted: every layer norm's gamma and beta forgotten.
        name="layer-norms-not-counted",
        function="count_parameters",
        hint="each layer norm has 2d parameters (gamma and beta): two per block and ln_f",
        code=edited(
            _COUNT,
            ("block = 2 * d + (3 * d * d + 3 * d) + (d * d + d) + 2 * d + (4 * d * d + 4 * d)",
             "block = (3 * d * d + 3 * d) + (d * d + d) + (4 * d * d + 4 * d)"),
            ("L * block + 2 * d + head", "L * block + head"),
        ),  # fmt: skip
    ),
    KnownBug(
        # The learned position table left out ("embeddings" read as the token table only).
        name="position-embeddings-not-counted",
        function="count_parameters",
        hint="GPT's positions are learned: wpe adds n_ctx d parameters",
        code=edited(_COUNT, ('embeddings = V * d + config["n_ctx"] * d', "embeddings = V * d")),
    ),
    KnownBug(
        # Issue 24: the whole sequence fed back each step; past the context the positions
        # have no embedding (an IndexError at wpe, or, under a wider table, untrained rows).
        name="generate-no-crop",
        function="generate",
        hint="feed the model only the last n_ctx tokens each step: tokens[-n_ctx:]",
        code=edited(_GEN, ("tokens[-n_ctx:]", "tokens")),
    ),
    KnownBug(
        # The context cropped from the wrong end: the first n_ctx tokens kept.
        name="generate-crops-the-start",
        function="generate",
        hint="keep the LAST n_ctx tokens (tokens[-n_ctx:]): the next token depends on the most recent ones",
        code=edited(_GEN, ("tokens[-n_ctx:]", "tokens[:n_ctx]")),
    ),
    KnownBug(
        # The end token never checked: generation runs to max_new_tokens.
        name="generate-ignores-eos",
        function="generate",
        hint="stop right after appending eos_id",
        code=edited(_GEN, ("""            if tokens[-1] == eos_id:
                break
""", "")),
    ),
    KnownBug(
        # Text-returning loops stop before appending the end token.
        name="generate-drops-eos",
        kind="convention",
        function="generate",
        hint="you stopped before appending the end token; this exercise appends it and then stops (as "
        "Hugging Face's generate does), so a finished sequence can be told from one cut at max_new_tokens",
        code=edited(_GEN, ("""            tokens.append(int(torch.argmax(logits)))
            if tokens[-1] == eos_id:
                break
""", """            if int(torch.argmax(logits)) == eos_id:
                break
            tokens.append(int(torch.argmax(logits)))
""")),
    ),
    KnownBug(
        # The inputs used as their own targets: the model learns to copy its input token.
        name="targets-not-shifted",
        function="train_gpt",
        hint="the target at position t is the NEXT token: inputs batch[:, :-1], targets batch[:, 1:]",
        code=edited(_TRAIN, ("batch[:, 1:].reshape(-1)", "batch[:, :-1].reshape(-1)")),
    ),
    KnownBug(
        # reduction="sum": the loss grows with B T (Adam hides most of it in training).
        name="loss-summed-over-positions",
        function="train_gpt",
        hint="the loss is the MEAN cross-entropy over the B T positions (F.cross_entropy's default "
        "reduction), not the sum",
        code=edited(_TRAIN, ("batch[:, 1:].reshape(-1))", 'batch[:, 1:].reshape(-1), reduction="sum")')),
    ),
]

EQUIVALENT = {
    "causal_self_attention/swap-args/swap first two arguments#0": "transpose(2, 1) swaps the same two "
    "axes as transpose(1, 2)",
    "causal_self_attention/swap-args/swap first two arguments#2": "transpose(-1, -2) swaps the same two "
    "axes as transpose(-2, -1)",
    "causal_self_attention/arith/drop unary minus#1": "k is 4-D (N, heads, T, d_head): axis 2 is axis -2",
    "causal_self_attention/swap-args/swap first two arguments#5": "transpose(2, 1) swaps the same two "
    "axes as transpose(1, 2)",
    "gpt_forward/constant/0->1#1": "only the words of the error for a sequence past the context change",
    "train_gpt/drop-term/keep left#5": "Adam's eps (1e-8) against sqrt(s_hat), which is |g| at step 1 and "
    "never near 1e-8 here: the losses agree far inside LOSS_TOL (a zero gradient would give 0/0)",
    "train_gpt/constant/1e-08->2e-08#0": "Adam's eps 1e-8 or 2e-8 against sqrt(s_hat), never near 1e-8 "
    "here: the losses agree far inside LOSS_TOL",
}
