"""Grader for gru: the cell, one layer over sequences, PyTorch's layout, parameter counts.

Layers: the cell's shapes -> values (float64, float32) -> `torch.nn.GRUCell` with copied
weights -> saturation for large inputs; the layer against `torch.nn.GRU(batch_first=True)`
for lengths 1 to 9; the layout mapping; parameter counts against PyTorch's own for RNN,
GRU and LSTM, stacked and bidirectional, with and without biases. torch is imported
inside the tests that use it.
"""

import numpy as np
import pytest

from nnfs_cli.checks import DTYPES, as_tuple, assert_close, assert_shape, assert_true, describe

CASES = [(1, 3, 2), (4, 2, 3), (3, 5, 4), (2, 3, 3)]  # (N, D, H)
HINT = (
    "gx = x @ Wx + bx and gh = h_prev @ Wh + bh, each split (r, z, n); r, z = sigmoid(gx + gh) "
    "blockwise; n = tanh(gx_n + r * gh_n); h = (1 - z) * n + z * h_prev"
)
NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def cell_case(n, d, h, seed, dtype=np.float64, scale=1.0):
    rng = np.random.default_rng(seed)
    arrays = {
        "x": rng.normal(scale=scale, size=(n, d)),
        "h_prev": np.tanh(rng.normal(size=(n, h))),
        "Wx": rng.normal(scale=1 / np.sqrt(d), size=(d, 3 * h)),
        "Wh": rng.normal(scale=1 / np.sqrt(h), size=(h, 3 * h)),
        "bx": rng.normal(scale=0.5, size=3 * h),
        "bh": rng.normal(scale=0.5, size=3 * h),
    }
    return {k: v.astype(dtype) for k, v in arrays.items()}


def torch_params(module, suffix=""):
    return tuple(getattr(module, p + suffix).detach().numpy().copy() for p in NAMES)


def ours(raw):
    w_ih, w_hh, b_ih, b_hh = raw
    return w_ih.T.copy(), w_hh.T.copy(), b_ih.copy(), b_hh.copy()


# ---------------------------------------------------------------------------------------
# gru_cell
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.part("gru_cell", points=0.25)
def test_gru_cell_shape(learner, case):
    """Returns the new state, (N, H)."""
    a = cell_case(*case, seed=1)
    assert_shape(learner.gru_cell(*a.values()), (case[0], case[2]), "gru_cell(x, h_prev, Wx, Wh, bx, bh)",
                 on=describe(**a), hint=HINT)  # fmt: skip


@DTYPES
@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.part("gru_cell", points=0.25)
def test_gru_cell_values(learner, ref, case, dtype):
    """The new state equals the reference (float64 exactly, float32 at float32 precision)."""
    a = cell_case(*case, seed=2 + case[0], dtype=dtype)
    assert_close(learner.gru_cell(*a.values()), ref.gru_cell(*(v.astype(np.float64) for v in a.values())),
                 "gru_cell(x, h_prev, Wx, Wh, bx, bh)", on=describe(**a), inputs={"h_prev": a["h_prev"]}, hint=HINT)  # fmt: skip


@pytest.mark.parametrize("d,h", [(3, 4), (4, 4)], ids=["D3_H4", "D4_H4"])
@pytest.mark.part("gru_cell", points=1)
def test_gru_cell_matches_torch_grucell(learner, d, h):
    """Equals `torch.nn.GRUCell` with the same weights (its (3H, in) layout transposed, both
    biases kept apart)."""
    import torch

    torch.manual_seed(d * h)
    cell = torch.nn.GRUCell(d, h, dtype=torch.float64)
    Wx, Wh, bx, bh = ours(torch_params(cell))
    rng = np.random.default_rng(d)
    x, h_prev = rng.normal(size=(3, d)), np.tanh(rng.normal(size=(3, h)))
    with torch.no_grad():
        expected = cell(torch.tensor(x), torch.tensor(h_prev)).numpy()
    assert_close(learner.gru_cell(x, h_prev, Wx, Wh, bx, bh), expected, "gru_cell vs torch.nn.GRUCell",
                 on=describe(x=x, h_prev=h_prev, Wx=Wx, Wh=Wh, bx=bx, bh=bh), hint=HINT)  # fmt: skip


@pytest.mark.part("gru_cell", points=1)
def test_gru_cell_is_stable_for_large_inputs(learner, ref):
    """Pre-activations of size ~1000 saturate the gates at 0 and 1 with no overflow (NaN)."""
    a = cell_case(3, 4, 2, seed=5, scale=1000.0)
    assert_close(learner.gru_cell(*a.values()), ref.gru_cell(*a.values()), "gru_cell for inputs of size ~1000",
                 on=describe(**a), large_input=True,
                 hint="0.5 * (1 + np.tanh(0.5 * z)) is the sigmoid with no exp to overflow")  # fmt: skip


# ---------------------------------------------------------------------------------------
# gru_forward and gru_from_torch
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 4, 9])
@pytest.mark.part("gru_forward", points=1.5)
def test_gru_forward_matches_torch_gru(learner, length):
    """(out, h_n) equal `torch.nn.GRU(batch_first=True)` with the same weights and h0 (not
    zeros), for lengths 1, 4 and 9."""
    import torch

    torch.manual_seed(length)
    gru = torch.nn.GRU(3, 4, batch_first=True, dtype=torch.float64)
    Wx, Wh, bx, bh = ours(torch_params(gru, "_l0"))
    rng = np.random.default_rng(length)
    x, h0 = rng.normal(size=(2, length, 3)), np.tanh(rng.normal(size=(2, 4)))
    with torch.no_grad():
        out_t, hn_t = (t.numpy() for t in gru(torch.tensor(x), torch.tensor(h0[None])))
    on = describe(x=x, h0=h0, Wx=Wx, Wh=Wh, bx=bx, bh=bh)
    out, h_n = as_tuple(
        learner.gru_forward(x, h0, Wx, Wh, bx, bh), 2, "gru_forward(x, h0, Wx, Wh, bx, bh)", on
    )
    hint = "h = h0; at each step h = gru_cell(x[:, t], h, ...); stack every h on axis=1; h_n is the last"
    assert_shape(out, (2, length, 4), "gru_forward: out (batch-first)", on=on, hint=hint)
    assert_close(out, out_t, "gru_forward: out vs torch.nn.GRU", on=on, hint=hint)
    assert_close(h_n, hn_t[0], "gru_forward: h_n", on=on, hint=hint)


@pytest.mark.parametrize("d,h", [(5, 3), (3, 3)], ids=["D5_H3", "D3_H3"])
@pytest.mark.part("gru_from_torch", points=1)
def test_gru_from_torch_values(learner, d, h):
    """Wx = weight_ih.T (D, 3H), Wh = weight_hh.T (H, 3H), bx = bias_ih, bh = bias_hh."""
    import torch

    torch.manual_seed(7)
    raw = torch_params(torch.nn.GRU(d, h, dtype=torch.float64), "_l0")
    on = describe(**dict(zip(NAMES, raw)))
    got = as_tuple(
        learner.gru_from_torch(*raw),
        4,
        "gru_from_torch(weight_ih, weight_hh, bias_ih, bias_hh)",
        on,
    )
    for name, g, exp in zip(("Wx", "Wh", "bx", "bh"), got, ours(raw)):
        assert_close(g, exp, f"gru_from_torch: {name}", on=on, inputs=dict(zip(NAMES, raw)),
                     hint="transpose both weights; keep the two biases apart: b_hn sits inside r * (...)")  # fmt: skip


# ---------------------------------------------------------------------------------------
# rnn_param_count
# ---------------------------------------------------------------------------------------

COUNT_CASES = [
    ("rnn", 10, 20, 1, False, True),
    ("gru", 10, 20, 1, False, True),
    ("lstm", 10, 20, 1, False, True),
    ("gru", 7, 5, 2, False, True),
    ("lstm", 7, 5, 3, True, True),
    ("gru", 4, 6, 2, True, True),
    ("rnn", 3, 8, 2, True, False),
    ("lstm", 16, 32, 1, False, False),
]


@pytest.mark.parametrize("case", COUNT_CASES, ids=lambda c: "{}_I{}_H{}_L{}_{}_{}".format(
    c[0], c[1], c[2], c[3], "bi" if c[4] else "uni", "bias" if c[5] else "nobias"))  # fmt: skip
@pytest.mark.part("rnn_param_count", points=0.5)
def test_rnn_param_count_matches_pytorch(learner, case):
    """Equals sum(p.numel() for p in torch.nn.<RNN|GRU|LSTM>(...).parameters())."""
    import torch

    kind, i, h, layers, bi, bias = case
    module = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[kind]
    expected = sum(
        p.numel() for p in module(i, h, num_layers=layers, bias=bias, bidirectional=bi).parameters()
    )
    on = f"kind={kind!r}, input_size={i}, hidden_size={h}, num_layers={layers}, bidirectional={bi}, bias={bias}"
    assert_close(learner.rnn_param_count(kind, i, h, layers, bi, bias), expected, "rnn_param_count(...)", on=on,
                 hint="per layer and direction: G*H*(inputs + H) weights (G = 1, 3, 4) and 2*G*H biases; "
                 "a layer above the first reads H * num_directions inputs")  # fmt: skip


@pytest.mark.part("rnn_param_count", points=1)
def test_a_gru_has_three_quarters_of_an_lstm(learner):
    """For any sizes, a GRU has exactly 3/4 of the parameters of the LSTM of the same sizes."""
    for i, h, layers, bi in [(10, 20, 1, False), (3, 7, 2, True)]:
        gru = learner.rnn_param_count("gru", i, h, layers, bi, True)
        lstm = learner.rnn_param_count("lstm", i, h, layers, bi, True)
        assert_true(4 * int(gru) == 3 * int(lstm), "rnn_param_count: GRU vs LSTM",
                    f"gru={gru}, lstm={lstm}: 4 * gru should equal 3 * lstm (3 gate blocks against 4)",
                    on=f"input_size={i}, hidden_size={h}, num_layers={layers}, bidirectional={bi}")  # fmt: skip
