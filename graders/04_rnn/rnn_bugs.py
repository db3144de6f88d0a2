"""Known bugs of rnn: each an edit of the reference function as the solution file has it."""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

_CELL = reference_function(__file__, "rnn_cell")
_FORWARD = reference_function(__file__, "rnn_forward")
_FROM_TORCH = reference_function(__file__, "rnn_from_torch")
_STACKED = reference_function(__file__, "stacked_rnn_forward")

BUGS = [
    KnownBug(
        # The nonlinearity argument read nowhere: tanh always (a frequent port of CS231n's
        # tanh-only rnn_step_forward to torch.nn.RNN's nonlinearity="relu").
        name="rnn-nonlinearity-ignored",
        function="rnn_cell",
        hint="apply the activation `nonlinearity` names: np.maximum(z, 0) for 'relu', np.tanh for 'tanh'",
        code=edited(
            _CELL, ('np.tanh(z) if nonlinearity == "tanh" else np.maximum(z, 0.0)', "np.tanh(z)")
        ),
        fails=("rnn_cell", "rnn_forward", "stacked_rnn_forward"),
    ),
    KnownBug(
        # The bias inside the activation forgotten (seen in "RNN from scratch" blog posts
        # that follow h = tanh(Wx x + Wh h) without b).
        name="rnn-cell-no-bias",
        function="rnn_cell",
        hint="h = f(x @ Wx + h_prev @ Wh + b): the bias b belongs inside the activation",
        code=edited(_CELL, ("z = x @ Wx + h_prev @ Wh + b", "z = x @ Wx + h_prev @ Wh")),
        fails=("rnn_cell", "rnn_forward", "stacked_rnn_forward"),
    ),
    KnownBug(
        # PyTorch's (out, in) habit, h @ W_hh.T, applied to this exercise's (in, out) Wh:
        # Wh is square, so no shape error says so (the layout confusion behind many "my RNN
        # does not match nn.RNN" threads on the PyTorch forums).
        name="rnn-Wh-transposed",
        function="rnn_cell",
        hint="Wh is already (H_in, H_out) here: z = x @ Wx + h_prev @ Wh + b, no .T (the .T "
        "belongs to PyTorch's (out, in) weight_hh, which rnn_from_torch maps once)",
        code=edited(_CELL, ("z = x @ Wx + h_prev @ Wh + b", "z = x @ Wx + h_prev @ Wh.T + b")),
        fails=("rnn_cell", "rnn_forward", "stacked_rnn_forward"),
    ),
    KnownBug(
        # h0 replaced by zeros: "the hidden state starts at zero" read as a rule, not a default.
        name="rnn-h0-ignored",
        function="rnn_forward",
        hint="start from the h0 you are given (h = h0); zeros are only its usual value",
        code=edited(_FORWARD, ("h, hs = h0, []", "h, hs = np.zeros_like(h0), []")),
        fails=("rnn_forward", "stacked_rnn_forward"),
    ),
    KnownBug(
        # Every step fed h0 instead of the previous state: the recurrence never recurs
        # (passes at T = 1; a classic in CS231n assignment 3 questions).
        name="rnn-state-not-carried",
        function="rnn_forward",
        hint="feed each step the state of the step before: h = rnn_cell(x[:, t], h, ...), not h0",
        code=edited(_FORWARD, ("rnn_cell(x[:, t], h, Wx", "rnn_cell(x[:, t], h0, Wx")),
        fails=("rnn_forward", "stacked_rnn_forward"),
    ),
    KnownBug(
        # np.stack's default axis 0 gives PyTorch's default time-first layout (T, N, H).
        name="hs-stacked-time-first",
        kind="convention",
        function="rnn_forward",
        hint="this is the time-first (T, N, H) layout, PyTorch's default; this exercise is "
        "batch-first (N, T, H), like batch_first=True: np.stack(states, axis=1)",
        code=edited(_FORWARD, ("np.stack(hs, axis=1)", "np.stack(hs)")),
        fails=("rnn_forward", "stacked_rnn_forward"),
    ),
    KnownBug(
        # The state stored before the update: hs[:, t] = h_t instead of h_{t+1}, one step late.
        name="hs-one-step-late",
        function="rnn_forward",
        hint="append the state after the update: hs[:, t] is the state once x[:, t] has been read",
        code=edited(
            _FORWARD,
            (
                "h = rnn_cell(x[:, t], h, Wx, Wh, b, nonlinearity)\n        hs.append(h)",
                "hs.append(h)\n        h = rnn_cell(x[:, t], h, Wx, Wh, b, nonlinearity)",
            ),
        ),  # fmt: skip
        fails=("rnn_forward", "stacked_rnn_forward"),
    ),
    KnownBug(
        # PyTorch's second bias dropped: the most common slip when porting nn.RNN weights.
        name="torch-bias-hh-dropped",
        function="rnn_from_torch",
        hint="PyTorch adds two biases inside the activation: b = bias_ih + bias_hh",
        code=edited(_FROM_TORCH, ("bias_ih + bias_hh", "bias_ih.copy()")),
    ),
    KnownBug(
        # PyTorch's (out, in) layout kept where this exercise uses (in, out).
        name="torch-weights-not-transposed",
        function="rnn_from_torch",
        hint="PyTorch stores weights as (out, in), this exercise as (in, out): Wx = weight_ih.T, Wh = weight_hh.T",
        code=edited(
            _FROM_TORCH,
            ("weight_ih.T.copy(), weight_hh.T.copy()", "weight_ih.copy(), weight_hh.copy()"),
        ),
    ),
    KnownBug(
        # Every layer fed the original x: the stack is L parallel RNNs, not a deep one.
        name="stacked-layers-read-x",
        function="stacked_rnn_forward",
        hint="layer l + 1 reads the hidden states of layer l, not x: seq = rnn_forward(seq, ...)",
        code=edited(
            _STACKED, ("seq = rnn_forward(seq, h0[layer]", "seq = rnn_forward(x, h0[layer]")
        ),
    ),
    KnownBug(
        # One initial state for every layer (h0[0]), where PyTorch gives each layer its own.
        name="stacked-h0-shared",
        function="stacked_rnn_forward",
        hint="h0 is (L, N, H): layer l starts from its own h0[l]",
        code=edited(_STACKED, ("h0[layer]", "h0[0]")),
    ),
]

# Audit mutants reviewed as equivalent: they cannot change any result.
EQUIVALENT = {
    "rnn_cell/swap-args/swap first two arguments#0": "np.maximum is symmetric",
}
