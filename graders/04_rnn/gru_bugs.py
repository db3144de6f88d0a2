"""Known bugs of gru: each an edit of the reference function as the solution file has it."""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

_CELL = reference_function(__file__, "gru_cell")
_LAYER = reference_function(__file__, "gru_forward")
_FROM = reference_function(__file__, "gru_from_torch")
_COUNT = reference_function(__file__, "rnn_param_count")
_CELL_FAILS = ("gru_cell", "gru_forward")

BUGS = [
    KnownBug(
        # Cho et al. (2014) and d2l.ai apply the reset gate to h before the matmul.
        name="gru-reset-before-matmul",
        kind="convention",
        function="gru_cell",
        hint="this is the reset-before convention of Cho et al. and d2l.ai, n = tanh(... + (r * h_prev) @ Wh_n + bh_n); "
        "this exercise applies r after the hidden matmul, as PyTorch and cuDNN do, so torch.nn.GRU's weights "
        "give the same numbers: n = tanh(gx_n + r * (h_prev @ Wh_n + bh_n))",
        code=edited(
            _CELL,
            (
                "n = np.tanh(gx[:, 2 * H :] + r * gh[:, 2 * H :])",
                "n = np.tanh(gx[:, 2 * H :] + (r * h_prev) @ Wh[:, 2 * H :] + bh[2 * H :])",
            ),
        ),  # fmt: skip
        fails=_CELL_FAILS,
    ),
    KnownBug(
        # h = z * n + (1 - z) * h_prev, as in some textbooks and Wikipedia's "fully gated unit".
        name="gru-update-gate-swapped",
        kind="convention",
        function="gru_cell",
        hint="this is the swapped convention h = z * n + (1 - z) * h_prev; here, as in PyTorch and Cho et al., "
        "z is the share of the OLD state kept: h = (1 - z) * n + z * h_prev",
        code=edited(_CELL, ("return (1 - z) * n + z * h_prev", "return z * n + (1 - z) * h_prev")),
        fails=_CELL_FAILS,
    ),
    KnownBug(
        # Keras stacks its GRU kernel as (z, r, h): read with PyTorch's stacking, r and z trade places.
        name="gru-gate-order-zrn",
        kind="convention",
        function="gru_cell",
        hint="this is Keras's gate order (z, r, n); the weights here are stacked like PyTorch's, (r, z, n)",
        code=edited(
            _CELL,
            (
                "r = sig(gx[:, :H] + gh[:, :H])\n    z = sig(gx[:, H : 2 * H] + gh[:, H : 2 * H])",
                "z = sig(gx[:, :H] + gh[:, :H])\n    r = sig(gx[:, H : 2 * H] + gh[:, H : 2 * H])",
            ),
        ),  # fmt: skip
        fails=_CELL_FAILS,
    ),
    KnownBug(
        # sigmoid(v) written 1 / (1 + exp(v)): the minus in the exponent lost, so every gate
        # is 1 - sigmoid (a common slip in from-scratch sigmoids; the reference's own form,
        # 0.5 (1 + tanh(v / 2)), with the sign flipped is the same function).
        name="gru-sigmoid-exponent-sign",
        function="gru_cell",
        hint="sigmoid(v) = 1 / (1 + exp(-v)) (a minus in the exponent): yours is 1 / (1 + exp(v)) "
        "= 1 - sigmoid(v), so r and z are both flipped",
        code=edited(_CELL, ("0.5 * (1 + np.tanh(0.5 * v))", "0.5 * (1 - np.tanh(0.5 * v))")),
        fails=_CELL_FAILS,
    ),
    *(
        KnownBug(
            # The interpolation h' = (1 - z) n + z h_prev typed from memory with one gate
            # only: a residual-like sum instead of a weighted average.
            name=f"gru-interpolation-{side}-ungated",
            function="gru_cell",
            hint="h = (1 - z) * n + z * h_prev is a weighted average: both terms carry their gate "
            f"(yours adds {side} without its factor)",
            code=edited(_CELL, ("return (1 - z) * n + z * h_prev", f"return {wrong}")),
            fails=_CELL_FAILS,
        )
        for side, wrong in (("n", "n + z * h_prev"), ("h_prev", "(1 - z) * n + h_prev"))
    ),
    KnownBug(
        # Both biases merged as for the LSTM: b_hn then escapes the reset gate.
        name="gru-candidate-biases-merged",
        function="gru_cell",
        hint="bh_n is inside the reset gate's product: n = tanh(x Wx_n + bx_n + r * (h_prev Wh_n + bh_n)); "
        "the biases cannot be added together for the candidate",
        code=edited(
            _CELL,
            (
                "n = np.tanh(gx[:, 2 * H :] + r * gh[:, 2 * H :])",
                "n = np.tanh(gx[:, 2 * H :] + bh[2 * H :] + r * (h_prev @ Wh[:, 2 * H :]))",
            ),
        ),  # fmt: skip
        fails=_CELL_FAILS,
    ),
    KnownBug(
        # One of PyTorch's two bias vectors dropped: b_hh read as redundant next to b_ih
        # (PyTorch-forum threads on porting nn.GRU weights to a hand-written cell).
        name="gru-hidden-bias-dropped",
        function="gru_cell",
        hint="the GRU keeps two biases: gh = h_prev @ Wh + bh (bh_n sits inside the reset "
        "gate's product, so it cannot be folded into bx)",
        code=edited(_CELL, ("h_prev @ Wh + bh", "h_prev @ Wh")),
        fails=_CELL_FAILS,
    ),
    KnownBug(
        # The state never carried: every step starts from h0.
        name="gru-state-not-carried",
        function="gru_forward",
        hint="feed each step the previous state: h = gru_cell(x[:, t], h, ...), not h0",
        code=edited(_LAYER, ("gru_cell(x[:, t], h, Wx", "gru_cell(x[:, t], h0, Wx")),
    ),
    KnownBug(
        # h0 replaced by zeros.
        name="gru-h0-ignored",
        function="gru_forward",
        hint="start from the h0 you are given; zeros are only its usual value",
        code=edited(_LAYER, ("h, hs = h0, []", "h, hs = np.zeros_like(h0), []")),
    ),
    KnownBug(
        # The biases summed into one, as the RNN and LSTM layouts allow but the GRU's does not.
        name="gru-from-torch-biases-summed",
        function="gru_from_torch",
        hint="keep bias_ih and bias_hh apart (bx, bh): the GRU's b_hn is multiplied by the reset gate",
        code=edited(
            _FROM, ("bias_ih.copy(), bias_hh.copy()", "bias_ih + bias_hh, np.zeros_like(bias_hh)")
        ),
    ),
    KnownBug(
        # One bias vector per gate block: PyTorch keeps two (b_ih and b_hh).
        name="param-count-one-bias",
        function="rnn_param_count",
        hint="PyTorch keeps two bias vectors per layer and direction, b_ih and b_hh: 2 * G * H",
        code=edited(
            _COUNT,
            ("2 * gates * hidden_size if bias else 0", "gates * hidden_size if bias else 0"),
        ),
    ),
    KnownBug(
        # Layers above the first given input_size inputs (or H, ignoring the two directions).
        name="param-count-upper-layer-inputs",
        function="rnn_param_count",
        hint="a layer above the first reads the layer below's output: hidden_size * num_directions features",
        code=edited(_COUNT, ("hidden_size * directions", "hidden_size")),
    ),
]
