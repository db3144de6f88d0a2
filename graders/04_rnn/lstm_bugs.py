"""Known bugs of lstm: each an edit of the reference function as the solution file has it."""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

_CELL = reference_function(__file__, "lstm_cell_forward")
_BACK = reference_function(__file__, "lstm_cell_backward")
_LAYER = reference_function(__file__, "lstm_forward")
_FROM = reference_function(__file__, "lstm_from_torch")
_CELL_FAILS = ("lstm_cell_forward", "lstm_forward")

BUGS = [
    KnownBug(
        # CS231n assignment 3 splits the gates as (i, f, o, g): correct there, not with
        # PyTorch's stacked weights (i, f, g, o).
        name="lstm-gate-order-ifog",
        kind="convention",
        function="lstm_cell_forward",
        hint="this is CS231n's gate order (i, f, o, g); this exercise stacks the gates like "
        "PyTorch, (i, f, g, o): g is the third block of H columns, o the fourth",
        code=edited(
            _CELL,
            (
                "np.tanh(a[:, 2 * H : 3 * H]),\n        sig(a[:, 3 * H :]),",
                "np.tanh(a[:, 3 * H :]),\n        sig(a[:, 2 * H : 3 * H]),",
            ),
        ),  # fmt: skip
        fails=_CELL_FAILS,
    ),
    KnownBug(
        # Four sigmoids: the candidate squashed to (0, 1), so the cell can only grow.
        name="lstm-candidate-sigmoid",
        function="lstm_cell_forward",
        hint="the candidate g uses tanh (values in (-1, 1)); only i, f and o are sigmoids",
        code=edited(_CELL, ("np.tanh(a[:, 2 * H : 3 * H])", "sig(a[:, 2 * H : 3 * H])")),
        fails=_CELL_FAILS,
    ),
    KnownBug(
        # h = o * c: the tanh on the cell state forgotten.
        name="lstm-h-without-tanh",
        function="lstm_cell_forward",
        hint="h = o * tanh(c): the cell state goes through tanh before the output gate",
        code=edited(_CELL, ("return o * np.tanh(c), c", "return o * c, c")),
        fails=_CELL_FAILS,
    ),
    KnownBug(
        # The 1997 LSTM (Hochreiter & Schmidhuber) has no forget gate: c = c_prev + i g;
        # Gers et al. (2000) added f. Learners who read the original paper write this.
        name="lstm-no-forget-gate",
        kind="convention",
        function="lstm_cell_forward",
        hint="this is the original 1997 LSTM, c = c_prev + i * g, with no forget gate; this "
        "exercise (like PyTorch and every LSTM since Gers et al. 2000) gates the old cell state: "
        "c = f * c_prev + i * g",
        code=edited(_CELL, ("c = f * c_prev + i * g", "c = c_prev + i * g")),
        fails=_CELL_FAILS,
    ),
    KnownBug(
        # The backward recomputes the forward and drops f there (the forward itself is
        # right): the cell state it differentiates through is not the one the forward made.
        name="lstm-backward-cell-without-forget-gate",
        function="lstm_cell_backward",
        hint="recompute the cell state exactly as the forward does, c = f * c_prev + i * g "
        "(the forget gate included): tanh(c) and dc_total depend on it",
        code=edited(_BACK, ("c = f * c_prev + i * g", "c = c_prev + i * g")),
    ),
    *(
        KnownBug(
            # sigma'(a) = sigma (1 - sigma) written as sigma alone (as if the derivative
            # were exp's, itself): a slip of hand-written LSTM backward passes.
            name=f"lstm-{gate}-gate-sigmoid-grad-missing-1-minus",
            function="lstm_cell_backward",
            hint=f"the {gate} gate is a sigmoid: its derivative is {gate} * (1 - {gate}), "
            f"so d{gate}'s pre-activation gradient is d{gate} * {gate} * (1 - {gate})",
            code=edited(_BACK, (f"d{gate} * {gate} * (1 - {gate})", f"d{gate} * {gate}")),
        )
        for gate in ("i", "f", "o")
    ),
    KnownBug(
        # The candidate's tanh' left out: dg passed straight to the pre-activation.
        name="lstm-candidate-tanh-grad-missing",
        function="lstm_cell_backward",
        hint="g = tanh(a_g): its pre-activation gradient is dg * (1 - g**2)",
        code=edited(_BACK, ("dg * (1 - g**2)", "dg")),
    ),
    KnownBug(
        # tanh' = 1 + tanh**2: the derivative of tan (1 + tan**2) taken for tanh's
        # (1 - tanh**2) - a sign slip between the two identities.
        name="lstm-tanh-grad-plus-sign",
        function="lstm_cell_backward",
        hint="d/dc tanh(c) = 1 - tanh(c)**2 (a minus: 1 + tan**2 is the derivative of tan)",
        code=edited(_BACK, ("dh * o * (1 - tc**2)", "dh * o * (1 + tc**2)")),
    ),
    KnownBug(
        # The input gate's gradient built with i where g belongs (dc * i for both).
        name="lstm-input-gate-grad-uses-i",
        function="lstm_cell_backward",
        hint="c = f c_prev + i g: di = dc_total * g and dg = dc_total * i",
        code=edited(
            _BACK,
            (
                "dc_total * c_prev, dc_total * g, dc_total * i",
                "dc_total * c_prev, dc_total * i, dc_total * i",
            ),
        ),
    ),
    KnownBug(
        # tanh' taken of an already-activated value: 1 - tanh(tanh(c))**2.
        name="lstm-tanh-grad-of-activated",
        function="lstm_cell_backward",
        hint="tc = tanh(c) is already activated: its derivative is 1 - tc**2, not 1 - tanh(tc)**2",
        code=edited(_BACK, ("dh * o * (1 - tc**2)", "dh * o * (1 - np.tanh(tc) ** 2)")),
    ),
    KnownBug(
        # Only the upstream dc: the cell state's gradient through h = o tanh(c) left out.
        name="lstm-cell-grad-misses-h-path",
        function="lstm_cell_backward",
        hint="c reaches the loss through h too: dc_total = dc + dh * o * (1 - tanh(c)**2)",
        code=edited(_BACK, ("dc_total = dc + dh * o * (1 - tc**2)", "dc_total = dc")),
    ),
    KnownBug(
        # dc_prev = dc_total: the forget gate left out of the cell state's way back.
        name="lstm-dc-prev-not-gated",
        function="lstm_cell_backward",
        hint="c = f * c_prev + ..., so dc_prev = dc_total * f",
        code=edited(_BACK, ("dc_total * f, x.T @ da", "dc_total, x.T @ da")),
    ),
    KnownBug(
        # Each step starts from c0: the cell state (the LSTM's memory) is never carried.
        name="lstm-cell-state-not-carried",
        function="lstm_forward",
        hint="carry both states: (h, c) = lstm_cell_forward(x[:, t], h, c, ...), not c0 at every step",
        code=edited(
            _LAYER, ("lstm_cell_forward(x[:, t], h, c, Wx", "lstm_cell_forward(x[:, t], h, c0, Wx")
        ),
    ),
    KnownBug(
        # c0 replaced by zeros.
        name="lstm-c0-ignored",
        function="lstm_forward",
        hint="start from the c0 you are given (c = c0); zeros are only its usual value",
        code=edited(_LAYER, ("h, c, hs = h0, c0, []", "h, c, hs = h0, np.zeros_like(c0), []")),
    ),
    KnownBug(
        # One of PyTorch's two biases dropped when copying weights in.
        name="lstm-torch-bias-hh-dropped",
        function="lstm_from_torch",
        hint="PyTorch adds two biases inside the gates: b = bias_ih + bias_hh",
        code=edited(_FROM, ("bias_ih + bias_hh", "bias_ih.copy()")),
    ),
]

EQUIVALENT = {
    "lstm_cell_backward/axis/axis=1->-1#0": "the gate gradients are 2-D (N, H): axis -1 is axis 1",
}
