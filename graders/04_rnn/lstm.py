"""Grader for lstm: the cell forward and backward, one layer over sequences, PyTorch's layout.

Layers: the cell's shapes -> values (float64, float32) -> `torch.nn.LSTMCell` with copied
weights -> saturation for large inputs; the backward's shapes -> values -> every gradient
against float64 central differences and torch.autograd (upstream on h only, on c only, on
both); the layer against `torch.nn.LSTM(batch_first=True)` for lengths 1 to 8; the
layout mapping. torch is imported inside the tests that use it.
"""

import numpy as np
import pytest

from nnfs_cli.checks import DTYPES, as_tuple, assert_backward, assert_close, assert_shape, describe

# (N, D, H): batch 1, D != H both ways, square.
CASES = [(1, 3, 2), (4, 2, 3), (3, 5, 4), (2, 3, 3)]
CELL_ARGS = ("x", "h_prev", "c_prev", "Wx", "Wh", "b")
GATES = (
    "a = x @ Wx + h_prev @ Wh + b, split in four blocks of H columns: i, f, g, o (PyTorch's order)"
)
HINTS = {
    "lstm_cell_forward": f"{GATES}; i, f, o sigmoid, g tanh; c = f * c_prev + i * g; h = o * tanh(c)",
    "x": "dx = da @ Wx.T with da the four gate gradients times their activations' derivatives",
    "h_prev": "dh_prev = da @ Wh.T",
    "c_prev": "dc_prev = dc_total * f, with dc_total = dc + dh * o * (1 - tanh(c)**2)",
    "Wx": "dWx = x.T @ da, da (N, 4H) in the gate order i, f, g, o",
    "Wh": "dWh = h_prev.T @ da",
    "b": "db = da.sum(axis=0)",
}


def cell_case(n, d, h, seed, dtype=np.float64, scale=1.0):
    rng = np.random.default_rng(seed)
    arrays = {
        "x": rng.normal(scale=scale, size=(n, d)),
        "h_prev": np.tanh(rng.normal(size=(n, h))),
        "c_prev": rng.normal(size=(n, h)),
        "Wx": rng.normal(scale=1 / np.sqrt(d), size=(d, 4 * h)),
        "Wh": rng.normal(scale=1 / np.sqrt(h), size=(h, 4 * h)),
        "b": rng.normal(scale=0.5, size=4 * h),
    }
    return {k: v.astype(dtype) for k, v in arrays.items()}


def torch_layer(d, h, seed):
    import torch

    torch.manual_seed(seed)
    lstm = torch.nn.LSTM(d, h, batch_first=True, dtype=torch.float64)
    raw = tuple(
        getattr(lstm, f"{p}_l0").detach().numpy().copy()
        for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    )
    return lstm, raw


def ours(raw):
    w_ih, w_hh, b_ih, b_hh = raw
    return w_ih.T.copy(), w_hh.T.copy(), b_ih + b_hh


def torch_cell(x, h_prev, c_prev, Wx, Wh, b):
    """The cell with torch operations, for torch.autograd; returns [h, c] side by side."""
    import torch

    H = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b
    i, f = torch.sigmoid(a[:, :H]), torch.sigmoid(a[:, H : 2 * H])
    g, o = torch.tanh(a[:, 2 * H : 3 * H]), torch.sigmoid(a[:, 3 * H :])
    c = f * c_prev + i * g
    return torch.cat([o * torch.tanh(c), c], dim=1)


# ---------------------------------------------------------------------------------------
# lstm_cell_forward
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.part("lstm_cell_forward", points=0.25)
def test_lstm_cell_forward_shapes(learner, case):
    """Returns (h, c), each (N, H)."""
    n, d, h = case
    a = cell_case(n, d, h, seed=1)
    on = describe(**a)
    h_new, c_new = as_tuple(learner.lstm_cell_forward(*a.values()), 2, "lstm_cell_forward(...)", on)
    assert_shape(h_new, (n, h), "lstm_cell_forward: h", on=on)
    assert_shape(c_new, (n, h), "lstm_cell_forward: c", on=on)


@DTYPES
@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.part("lstm_cell_forward", points=0.25)
def test_lstm_cell_forward_values(learner, ref, case, dtype):
    """h and c equal the reference (float64 exactly, float32 at float32 precision)."""
    a = cell_case(*case, seed=2 + case[0], dtype=dtype)
    on = describe(**a)
    got = as_tuple(learner.lstm_cell_forward(*a.values()), 2, "lstm_cell_forward(...)", on)
    expected = ref.lstm_cell_forward(*(v.astype(np.float64) for v in a.values()))
    for name, g, exp, other in zip("hc", got, expected, ({"c": expected[1]}, {"h": expected[0]})):
        assert_close(g, exp, f"lstm_cell_forward: {name}", on=on, others=other,
                     inputs={"h_prev": a["h_prev"], "c_prev": a["c_prev"]}, hint=HINTS["lstm_cell_forward"])  # fmt: skip


@pytest.mark.parametrize("d,h", [(3, 4), (4, 4)], ids=["D3_H4", "D4_H4"])
@pytest.mark.part("lstm_cell_forward", points=1)
def test_lstm_cell_forward_matches_torch_lstmcell(learner, d, h):
    """Equals `torch.nn.LSTMCell` with the same weights (mapped from its (4H, in) layout,
    gates i, f, g, o, and its two biases)."""
    import torch

    torch.manual_seed(d + h)
    cell = torch.nn.LSTMCell(d, h, dtype=torch.float64)
    raw = [
        getattr(cell, p).detach().numpy().copy()
        for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    ]
    rng = np.random.default_rng(d)
    x, h_prev, c_prev = (
        rng.normal(size=(3, d)),
        np.tanh(rng.normal(size=(3, h))),
        rng.normal(size=(3, h)),
    )
    with torch.no_grad():
        h_t, c_t = (
            t.numpy() for t in cell(torch.tensor(x), (torch.tensor(h_prev), torch.tensor(c_prev)))
        )
    Wx, Wh, b = ours(raw)
    on = describe(x=x, h_prev=h_prev, c_prev=c_prev, Wx=Wx, Wh=Wh, b=b)
    h_new, c_new = as_tuple(
        learner.lstm_cell_forward(x, h_prev, c_prev, Wx, Wh, b), 2, "lstm_cell_forward", on
    )
    assert_close(
        h_new,
        h_t,
        "lstm_cell_forward: h vs torch.nn.LSTMCell",
        on=on,
        hint=HINTS["lstm_cell_forward"],
    )
    assert_close(
        c_new,
        c_t,
        "lstm_cell_forward: c vs torch.nn.LSTMCell",
        on=on,
        hint=HINTS["lstm_cell_forward"],
    )


@pytest.mark.part("lstm_cell_forward", points=1)
def test_lstm_cell_forward_is_stable_for_large_inputs(learner, ref):
    """Pre-activations of size ~1000 saturate the gates at 0 and 1 with no overflow (NaN)."""
    a = cell_case(3, 4, 2, seed=5, scale=1000.0)
    on = describe(**a)
    got = as_tuple(learner.lstm_cell_forward(*a.values()), 2, "lstm_cell_forward(...)", on)
    for name, g, exp in zip("hc", got, ref.lstm_cell_forward(*a.values())):
        assert_close(g, exp, f"lstm_cell_forward: {name} for inputs of size ~1000", on=on, large_input=True,
                     hint="1 / (1 + np.exp(-z)) warns and can give NaN downstream for z ~ -1000; "
                     "0.5 * (1 + np.tanh(0.5 * z)) is the same function and never overflows")  # fmt: skip


# ---------------------------------------------------------------------------------------
# lstm_cell_backward
# ---------------------------------------------------------------------------------------


def upstream(n, h, seed, which="both", dtype=np.float64):
    rng = np.random.default_rng(seed)
    dh, dc = rng.normal(size=(n, h)), rng.normal(size=(n, h))
    if which == "h":
        dc[:] = 0.0
    if which == "c":
        dh[:] = 0.0
    return dh.astype(dtype), dc.astype(dtype)


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.part("lstm_cell_backward", points=0.25)
def test_lstm_cell_backward_shapes(learner, case):
    """(dx, dh_prev, dc_prev, dWx, dWh, db) are shaped like x, h_prev, c_prev, Wx, Wh, b."""
    n, d, h = case
    a = cell_case(n, d, h, seed=6)
    dh, dc = upstream(n, h, seed=6)
    on = describe(dh=dh, dc=dc, **a)
    got = as_tuple(
        learner.lstm_cell_backward(dh, dc, *a.values()), 6, "lstm_cell_backward(dh, dc, ...)", on
    )
    for name, g in zip(CELL_ARGS, got):
        assert_shape(g, a[name].shape, f"lstm_cell_backward: d{name} (shaped like {name})", on=on)


@DTYPES
@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.part("lstm_cell_backward", points=0.25)
def test_lstm_cell_backward_values(learner, ref, case, dtype):
    """Every gradient equals the reference's."""
    n, _, h = case
    a = cell_case(*case, seed=7 + n, dtype=dtype)
    dh, dc = upstream(n, h, seed=7, dtype=dtype)
    on = describe(dh=dh, dc=dc, **a)
    got = as_tuple(
        learner.lstm_cell_backward(dh, dc, *a.values()), 6, "lstm_cell_backward(dh, dc, ...)", on
    )
    expected = dict(
        zip(
            CELL_ARGS,
            ref.lstm_cell_backward(*(v.astype(np.float64) for v in (dh, dc, *a.values()))),
        )
    )
    for name, g in zip(CELL_ARGS, got):
        others = {f"d{k}": v for k, v in expected.items() if k != name}
        assert_close(g, expected[name], f"lstm_cell_backward: d{name}", on=on, others=others, batch=n,
                     inputs={"dh": dh, "dc": dc, **a}, hint=HINTS[name])  # fmt: skip


@pytest.mark.parametrize("oracle", ["numerical", "torch"])
@pytest.mark.parametrize("which", ["both", "h", "c"], ids=["dh_and_dc", "dh_only", "dc_only"])
@pytest.mark.part("lstm_cell_backward", points=1)
def test_lstm_cell_backward_matches_oracles(learner, ref, which, oracle):
    """Every gradient of sum(dh * h + dc * c), by float64 central differences and by
    torch.autograd; with the upstream on h only, on c only, and on both."""
    a = cell_case(3, 2, 4, seed=8)
    dh, dc = upstream(3, 4, seed=8, which=which)
    on = describe(dh=dh, dc=dc, **a) + {"both": "", "h": " (dc = 0)", "c": " (dh = 0)"}[which]
    forward = (
        torch_cell
        if oracle == "torch"
        else (lambda **k: np.concatenate(ref.lstm_cell_forward(**k), axis=1))
    )
    assert_backward(
        learner.lstm_cell_backward(dh, dc, *a.values()),
        forward,
        a,
        np.concatenate([dh, dc], axis=1),
        CELL_ARGS,
        "lstm_cell_backward(dh, dc, ...)",
        oracle=oracle,
        on=on,
        hints=HINTS,
        batch=3,
    )


# ---------------------------------------------------------------------------------------
# lstm_forward and lstm_from_torch
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 3, 8])
@pytest.mark.part("lstm_forward", points=1.5)
def test_lstm_forward_matches_torch_lstm(learner, length):
    """(out, h_n, c_n) equal `torch.nn.LSTM(batch_first=True)` with the same weights, h0 and c0
    (not zeros), for lengths 1, 3 and 8."""
    import torch

    lstm, raw = torch_layer(3, 4, seed=9 + length)
    rng = np.random.default_rng(length)
    x, h0, c0 = (
        rng.normal(size=(2, length, 3)),
        np.tanh(rng.normal(size=(2, 4))),
        rng.normal(size=(2, 4)),
    )
    with torch.no_grad():
        out_t, (hn_t, cn_t) = lstm(
            torch.tensor(x), (torch.tensor(h0[None]), torch.tensor(c0[None]))
        )
    Wx, Wh, b = ours(raw)
    on = describe(x=x, h0=h0, c0=c0, Wx=Wx, Wh=Wh, b=b)
    out, h_n, c_n = as_tuple(
        learner.lstm_forward(x, h0, c0, Wx, Wh, b), 3, "lstm_forward(x, h0, c0, Wx, Wh, b)", on
    )
    hint = "h, c = h0, c0; at each step (h, c) = lstm_cell_forward(x[:, t], h, c, ...); stack the h's on axis=1"
    assert_shape(out, (2, length, 4), "lstm_forward: out (batch-first)", on=on, hint=hint)
    assert_close(out, out_t.numpy(), "lstm_forward: out vs torch.nn.LSTM", on=on, hint=hint)
    assert_close(
        h_n, hn_t.numpy()[0], "lstm_forward: h_n", on=on, others={"c_n": cn_t.numpy()[0]}, hint=hint
    )
    assert_close(c_n, cn_t.numpy()[0], "lstm_forward: c_n (the cell state is carried too)", on=on,
                 others={"h_n": hn_t.numpy()[0]}, hint=hint)  # fmt: skip


@pytest.mark.parametrize("d,h", [(5, 3), (3, 3)], ids=["D5_H3", "D3_H3"])
@pytest.mark.part("lstm_from_torch", points=1)
def test_lstm_from_torch_values(learner, d, h):
    """Wx = weight_ih.T (D, 4H), Wh = weight_hh.T (H, 4H), b = bias_ih + bias_hh."""
    _, raw = torch_layer(d, h, seed=12)
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    on = describe(**dict(zip(names, raw)))
    got = as_tuple(
        learner.lstm_from_torch(*raw),
        3,
        "lstm_from_torch(weight_ih, weight_hh, bias_ih, bias_hh)",
        on,
    )
    for name, g, exp in zip(("Wx", "Wh", "b"), got, ours(raw)):
        assert_close(g, exp, f"lstm_from_torch: {name}", on=on, inputs=dict(zip(names, raw)),
                     hint="PyTorch's (4H, in) weights transposed to (in, 4H), gate order kept; b = bias_ih + bias_hh")  # fmt: skip
