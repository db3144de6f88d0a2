"""Known bugs of advanced-training: each an edit of the reference function as the solution file has it.

The reference's scaled_sgd_step calls unscale_grads and scaler_update, and its lora_train
and adapter_train call lora_forward and adapter_forward, as a learner's usually do: a bug in
the piece also fails the whole.
"""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

_ACC = reference_function(__file__, "accumulated_gradients")
_DP = reference_function(__file__, "data_parallel_gradients")
_UNSCALE = reference_function(__file__, "unscale_grads")
_UPDATE = reference_function(__file__, "scaler_update")
_STEP = reference_function(__file__, "scaled_sgd_step")
_INIT = reference_function(__file__, "lora_init")
_LORA = reference_function(__file__, "lora_forward")
_MERGE = reference_function(__file__, "lora_merge")
_UNMERGE = reference_function(__file__, "lora_unmerge")
_LORA_TRAIN = reference_function(__file__, "lora_train")
_ADAPTER = reference_function(__file__, "adapter_forward")
_ADAPTER_TRAIN = reference_function(__file__, "adapter_train")
_WINDOW_LOSS = "loss = mlp_loss(leaves, xb, yb) * (len(xb) / N)"

BUGS = [
    KnownBug(
        # loss.backward() on each micro-batch's mean, never divided: the accumulated
        # gradient is k times the big batch's (the first question of every "gradient
        # accumulation in PyTorch" forum thread; the HF docs warn about it).
        name="accumulation-loss-not-divided",
        function="accumulated_gradients",
        hint="each window's mean loss must be weighted by len(window) / N before its backward: "
        "summing the windows' means gives (number of windows) times the big batch's gradient",
        code=edited(_ACC, (_WINDOW_LOSS, "loss = mlp_loss(leaves, xb, yb)")),
    ),
    KnownBug(
        # loss / accumulation_steps: right for full windows, wrong for a short last one (the
        # gradient-accumulation bug fixed in Hugging Face transformers 4.46, Oct 2024: mean
        # losses of unequal windows averaged as if equal).
        name="accumulation-divided-by-window-count",
        function="accumulated_gradients",
        hint="dividing by the number of windows is right only when every window is full: a short "
        "last window must weigh len(window) / N, so each EXAMPLE counts 1 / N",
        code=edited(_ACC, (_WINDOW_LOSS, "loss = mlp_loss(leaves, xb, yb) / -(-N // micro_batch)")),
    ),
    KnownBug(
        # optimizer.zero_grad() left inside the accumulation loop: only the last window's
        # gradient survives (a classic of the PyTorch forums' accumulation threads).
        name="accumulation-grads-zeroed-each-window",
        function="accumulated_gradients",
        hint="zero the gradients once before the windows, not before each backward: backward() "
        "adds into .grad, and that sum is the accumulation",
        code=edited(_ACC, ("loss.backward()  # adds into .grad",
                           "for v in leaves.values():\n            v.grad = None\n        loss.backward()")),  # fmt: skip
    ),
    KnownBug(
        # The all-reduce mean over workers, DistributedDataParallel's division by the world
        # size: right for equal shards only (uneven inputs are DDP's documented caveat).
        name="dp-unweighted-average",
        kind="convention",
        function="data_parallel_gradients",
        hint="this is DistributedDataParallel's average over the workers, which assumes every "
        "worker has the same batch size; this exercise's shards differ in size and the result "
        "must be the full batch's gradient, so worker k weighs n_k / N",
        code=edited(_DP, ("weight = len(Xs) / N", "weight = 1 / len(X_shards)")),
    ),
    KnownBug(
        # dist.all_reduce(grad, op=SUM) without dividing: the from-scratch DDP slip.
        name="dp-summed-not-averaged",
        function="data_parallel_gradients",
        hint="all-reducing with SUM gives K times too much: each worker's gradient is of its own "
        "mean loss, so weight it by n_k / N",
        code=edited(_DP, ("weight = len(Xs) / N", "weight = 1.0")),
    ),
    KnownBug(
        # `grads[k] = weight * g` where the sum belongs: each worker overwrites the one
        # before, only the last shard's gradient is left (the all-reduce step forgotten, a
        # from-scratch DDP simulation's usual slip).
        name="dp-keeps-the-last-worker",
        function="data_parallel_gradients",
        hint="add every worker's weighted gradient into the total (grads[k] = grads[k] + ...): "
        "assigning keeps only the last worker's",
        code=edited(_DP, ("grads[k] = grads[k] + weight * g", "grads[k] = weight * g")),
    ),
    KnownBug(
        # torch.isinf / np.isinf as the overflow test: a NaN (inf - inf, 0 * inf) slips by
        # and poisons the weights (GradScaler checks isfinite for this reason).
        name="unscale-misses-nan",
        function="unscale_grads",
        hint="np.isinf misses NaN: an overflow often shows as NaN (inf - inf); test "
        "not np.isfinite(g).all()",
        code=edited(_UNSCALE, ("not np.isfinite(g).all()", "np.isinf(g).any()")),
        fails=("unscale_grads", "scaled_sgd_step"),
    ),
    KnownBug(
        # The loss was multiplied by the scale, so the gradient is too: multiplying again
        # instead of dividing.
        name="unscale-multiplies-by-scale",
        function="unscale_grads",
        hint="the gradients carry the factor S of the scaled loss: divide by the scale to remove it",
        code=edited(_UNSCALE, ("np.asarray(g) / scale", "np.asarray(g) * scale")),
        fails=("unscale_grads", "scaled_sgd_step"),
    ),
    KnownBug(
        # Backing off without restarting the count of clean steps: the scale then grows again
        # too soon after an overflow.
        name="scaler-tracker-not-reset-on-overflow",
        function="scaler_update",
        hint="an overflow restarts the count of clean steps: growth_tracker = 0 as well as scale * backoff",
        code=edited(_UPDATE, ('return {"scale": scale * backoff_factor, "growth_tracker": 0}',
                              'return {"scale": scale * backoff_factor, "growth_tracker": tracker}')),  # fmt: skip
        fails=("scaler_update", "scaled_sgd_step"),
    ),
    KnownBug(
        # Comparing before counting, or with >: growth after n + 1 clean steps, not n.
        name="scaler-grows-one-step-late",
        function="scaler_update",
        hint="count the clean step first, then grow when the count EQUALS growth_interval: "
        "n clean steps in a row, not n + 1",
        code=edited(_UPDATE, ("if tracker == growth_interval:", "if tracker > growth_interval:")),
        fails=("scaler_update", "scaled_sgd_step"),
    ),
    KnownBug(
        # The step is skipped but the scaler is told all was well: the count goes on and the
        # scale still grows after an overflow (issue 24's "skipping the update but still
        # growing the scale").
        name="scaler-grows-on-skipped-step",
        function="scaled_sgd_step",
        hint="a skipped step is an overflow, not a clean step: pass the found_inf you found to "
        "scaler_update, so the scale backs off instead of growing",
        code=edited(_STEP, ("scaler_update(state, found_inf,", "scaler_update(state, False,")),
    ),
    KnownBug(
        # The overflow detected but the optimizer stepped anyway: the weights become inf/NaN.
        name="scaler-steps-on-overflow",
        function="scaled_sgd_step",
        hint="when found_inf the step is skipped: return the parameters unchanged (and back off)",
        code=edited(_STEP, ("new_params = {k: np.array(v) for k, v in params.items()}",
                            "new_params = {k: v - lr * grads[k] for k, v in params.items()}")),  # fmt: skip
    ),
    KnownBug(
        # Stepping with the scaled gradients (unscaling only for the inf check): a step S
        # times too large, the reason scaler.step unscales first.
        name="step-with-scaled-grads",
        function="scaled_sgd_step",
        hint="step with the UNSCALED gradients, grads = scaled_grads / scale: the scaled ones are "
        "S times too large",
        code=edited(_STEP, ("v - lr * grads[k]", "v - lr * scaled_grads[k]")),
    ),
    KnownBug(
        # Both factors random, as for any linear layer: the adapted layer no longer starts
        # equal to the pretrained one (the paper initialises B to zero for this).
        name="lora-b-random-init",
        function="lora_init",
        hint="B starts at zero so that (alpha / r) A @ B = 0 and the fine-tuning starts from the "
        "pretrained layer; only A is random",
        code=edited(_INIT, ("np.zeros((r, d_out))", "rng.normal(scale=r**-0.5, size=(r, d_out))")),
    ),
    KnownBug(
        # PEFT initialises lora_A with nn.init.kaiming_uniform_(a=sqrt(5)), the default of
        # nn.Linear: U(-1/sqrt(d_in), 1/sqrt(d_in)), a standard deviation 1/sqrt(3 d_in).
        name="lora-a-kaiming-uniform",
        kind="convention",
        function="lora_init",
        hint="this is PEFT's initialisation of A (nn.Linear's kaiming-uniform, U(-1/sqrt(d_in), "
        "1/sqrt(d_in))); this exercise draws A from the paper's Gaussian, N(0, 1/d_in), as the "
        "docstring says, so its scale can be checked",
        code=edited(_INIT, ("rng.normal(scale=d_in**-0.5, size=(d_in, r))", "rng.uniform(-(d_in**-0.5), d_in**-0.5, size=(d_in, r))")),
    ),
    KnownBug(
        # Both factors zero ("start with no update"): the gradients of A and B are then both
        # zero and nothing ever trains.
        name="lora-both-factors-zero",
        function="lora_init",
        hint="with A and B both zero neither gets a gradient (dA involves B, dB involves A): "
        "A must be random, only B zero",
        code=edited(_INIT, ("rng.normal(scale=d_in**-0.5, size=(d_in, r))", "np.zeros((d_in, r))")),
    ),
    KnownBug(
        # lora_alpha used as the multiplier (issue 24; the rsLoRA discussion in PEFT shows how
        # often the scaling is mixed up).
        name="lora-scaled-by-alpha",
        function="lora_forward",
        hint="the update is scaled by alpha / r, not alpha: then changing the rank r does not "
        "change the update's size",
        code=edited(_LORA, ("(alpha / r) * ((x @ A) @ B)", "alpha * ((x @ A) @ B)")),
        fails=("lora_forward", "lora_train"),
    ),
    KnownBug(
        # Merging A @ B without the scaling the forward uses: the merged layer computes
        # something else than the trained one (issue 24).
        name="lora-merge-forgets-scaling",
        function="lora_merge",
        hint="merge adds exactly what the forward adds: (alpha / r) * A @ B, scaling included",
        code=edited(_MERGE, ("W + (alpha / A.shape[1]) * (A @ B)", "W + A @ B")),
        fails=("lora_merge", "lora_unmerge"),
    ),
    KnownBug(
        # The merge scaled by lora_alpha alone, the forward's mix-up again (issue 24: "LoRA
        # scaled by alpha instead of alpha / r"): the merged layer is r times too far off.
        name="lora-merge-scaled-by-alpha",
        function="lora_merge",
        hint="merge adds exactly what the forward adds: (alpha / r) * A @ B, not alpha * A @ B",
        code=edited(_MERGE, ("W + (alpha / A.shape[1]) * (A @ B)", "W + alpha * (A @ B)")),
        fails=("lora_merge", "lora_unmerge"),
    ),
    KnownBug(
        # The update subtracted at a lower precision than the weight (an adapter kept in
        # float32 or half on a wider base, as PEFT's merge warnings about dtypes describe):
        # each round leaves the same rounding error behind, and it accumulates.
        name="lora-unmerge-drifts",
        function="lora_unmerge",
        hint="compute the product you subtract exactly as merge computed the one it added, in W's "
        "dtype: a lower-precision delta leaves an error behind that grows with every round",
        code=edited(_UNMERGE, ("(A @ B)", "(A.astype(np.float32) @ B.astype(np.float32)).astype(W_merged.dtype)")),
    ),
    KnownBug(
        # requires_grad left on the base weight (or every parameter given to the optimizer):
        # the base moves, which LoRA exists to avoid.
        name="lora-base-trained-too",
        function="lora_train",
        hint="the base is frozen: W and b are constants (no requires_grad); only A and B get "
        "gradients and steps",
        code=edited(
            _LORA_TRAIN,
            ("Wt, bt = torch.as_tensor(W), torch.as_tensor(b)", "Wt, bt = torch.tensor(W, requires_grad=True), torch.as_tensor(b)"),
            ("gA, gB = torch.autograd.grad(loss, [At, Bt])", "gA, gB, gW = torch.autograd.grad(loss, [At, Bt, Wt])"),
            ("Bt -= lr * gB", "Bt -= lr * gB\n            Wt -= lr * gW"),
            ('"W": np.array(W)', '"W": Wt.detach().numpy()'),
        ),  # fmt: skip
    ),
    KnownBug(
        # The bottleneck MLP without its skip connection: the adapter replaces the hidden
        # features instead of adjusting them, and cannot start as the identity.
        name="adapter-not-residual",
        function="adapter_forward",
        hint="an adapter is residual: return h + the bottleneck's output, so zero W_up and b_up "
        "give the identity",
        code=edited(_ADAPTER, ("return h + torch.relu", "return torch.relu")),
        fails=("adapter_forward", "adapter_train"),
    ),
    KnownBug(
        # Every parameter of the model handed to the optimizer: the base trains too.
        name="adapter-base-trained-too",
        function="adapter_train",
        hint="the base is frozen: only the adapter's four arrays are leaves that get gradients and steps",
        code=edited(
            _ADAPTER_TRAIN,
            ("fixed = {k: torch.as_tensor(v) for", "fixed = {k: torch.tensor(v, requires_grad=True) for"),
            ("torch.autograd.grad(loss, list(train.values()))", "torch.autograd.grad(loss, [*train.values(), *fixed.values()])"),
            ("zip(train.values(), grads)", "zip([*train.values(), *fixed.values()], grads)"),
            ("{k: np.array(v) for k, v in base.items()}", "{k: v.detach().numpy() for k, v in fixed.items()}"),
        ),  # fmt: skip
    ),
]
