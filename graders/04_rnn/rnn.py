"""Grader for rnn: the vanilla cell, the sequence forward, PyTorch's layout, stacked layers.

Layers, for each function: shapes (batch 1, length 1, D != H, N == T where a time-first
stack keeps the shape) -> values against the reference (float64, float32; tanh and relu)
-> values against `torch.nn.RNNCell` / `torch.nn.RNN(batch_first=True)` with the same
weights, mapped from PyTorch's (out, in) layout and two biases -> saturation for large
inputs. torch is imported lazily, inside the tests that use it.
"""

import numpy as np
import pytest

from nnfs_cli.checks import DTYPES, as_tuple, assert_close, assert_shape, describe

NONLINEARITIES = pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])

# (N, D, H): batch 1, D != H both ways, square (Wx and Wh have one shape: only values tell
# them apart).
CELL_CASES = [(1, 3, 4), (5, 2, 3), (4, 6, 2), (3, 4, 4)]
# (N, T, D, H): length 1, batch 1, N == T (a time-first stack keeps the shape), a longer run.
SEQ_CASES = [(2, 1, 3, 4), (1, 5, 2, 3), (3, 3, 2, 4), (4, 7, 3, 3)]

HINTS = {
    "rnn_cell": "h = f(x @ Wx + h_prev @ Wh + b), f = np.tanh or np.maximum(z, 0) as `nonlinearity` says",
    "rnn_forward": "h = h0; for t in range(T): h = rnn_cell(x[:, t], h, ...); keep every h; "
    "np.stack(list, axis=1) gives (N, T, H)",
    "rnn_from_torch": "PyTorch stores (out, in) weights: Wx = weight_ih.T, Wh = weight_hh.T; "
    "its two biases are added to the same sum: b = bias_ih + bias_hh",
    "stacked_rnn_forward": "layer l + 1 reads layer l's hidden states (N, T, H) as its input "
    "sequence and starts from its own h0[l]; h_n stacks each layer's last state",
}


def cell_data(n, d, h, seed, dtype=np.float64, scale=1.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=scale, size=(n, d))
    h_prev = np.tanh(rng.normal(size=(n, h)))
    Wx = rng.normal(scale=1 / np.sqrt(d), size=(d, h))
    Wh = rng.normal(scale=1 / np.sqrt(h), size=(h, h))
    b = rng.normal(scale=0.5, size=h)
    return tuple(a.astype(dtype) for a in (x, h_prev, Wx, Wh, b))


def seq_data(n, t, d, h, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, t, d))
    h0 = np.tanh(rng.normal(size=(n, h)))  # not zeros: h0 is an input the first step uses
    Wx = rng.normal(scale=1 / np.sqrt(d), size=(d, h))
    Wh = rng.normal(scale=0.9 / np.sqrt(h), size=(h, h))
    b = rng.normal(scale=0.5, size=h)
    return tuple(a.astype(dtype) for a in (x, h0, Wx, Wh, b))


def torch_rnn(d, h, seed, nonlinearity, num_layers=1):
    """A float64 `nn.RNN(batch_first=True)` with PyTorch's own initialisation, and its raw
    parameters per layer: (weight_ih (H, D_l), weight_hh (H, H), bias_ih (H,), bias_hh (H,))."""
    import torch

    torch.manual_seed(seed)
    rnn = torch.nn.RNN(d, h, num_layers=num_layers, nonlinearity=nonlinearity,
                       batch_first=True, dtype=torch.float64)  # fmt: skip
    raw = tuple(
        tuple(
            getattr(rnn, f"{p}_l{k}").detach().numpy().copy()
            for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        )  # fmt: skip
        for k in range(num_layers)
    )
    return rnn, raw


def run_torch(rnn, x, h0):
    import torch

    with torch.no_grad():
        out, h_n = rnn(torch.tensor(x), torch.tensor(h0))
    return out.numpy(), h_n.numpy()


def ours(raw_layer):
    """PyTorch's layer parameters in this exercise's layout (the grader's own mapping)."""
    w_ih, w_hh, b_ih, b_hh = raw_layer
    return w_ih.T.copy(), w_hh.T.copy(), b_ih + b_hh


# ---------------------------------------------------------------------------------------
# rnn_cell
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CELL_CASES, ids=str)
@pytest.mark.part("rnn_cell", points=0.25)
def test_rnn_cell_shape(learner, case):
    """rnn_cell returns one hidden state per sample: (N, H)."""
    n, d, h = case
    x, h_prev, Wx, Wh, b = cell_data(n, d, h, seed=1)
    assert_shape(learner.rnn_cell(x, h_prev, Wx, Wh, b), (n, h), "rnn_cell(x, h_prev, Wx, Wh, b)",
                 on=describe(x=x, h_prev=h_prev, Wx=Wx, Wh=Wh, b=b), hint=HINTS["rnn_cell"])  # fmt: skip


@DTYPES
@NONLINEARITIES
@pytest.mark.parametrize("case", CELL_CASES, ids=str)
@pytest.mark.part("rnn_cell", points=0.25)
def test_rnn_cell_values(learner, ref, case, nonlinearity, dtype):
    """The new hidden state equals the reference, for tanh and relu, float64 and float32."""
    x, h_prev, Wx, Wh, b = cell_data(*case, seed=2 + case[0], dtype=dtype)
    on = describe(x=x, h_prev=h_prev, Wx=Wx, Wh=Wh, b=b, nonlinearity=nonlinearity)
    args64 = (a.astype(np.float64) for a in (x, h_prev, Wx, Wh, b))
    assert_close(
        learner.rnn_cell(x, h_prev, Wx, Wh, b, nonlinearity),
        ref.rnn_cell(*args64, nonlinearity),
        f"rnn_cell(..., nonlinearity={nonlinearity!r})",
        on=on,
        inputs={"h_prev": h_prev},
        hint=HINTS["rnn_cell"],
    )


@NONLINEARITIES
@pytest.mark.part("rnn_cell", points=1)
def test_rnn_cell_matches_torch_rnncell(learner, nonlinearity):
    """Equals `torch.nn.RNNCell` with the same weights (its (out, in) layout and two biases
    mapped by the grader onto Wx, Wh, b)."""
    import torch

    torch.manual_seed(3)
    cell = torch.nn.RNNCell(5, 3, nonlinearity=nonlinearity, dtype=torch.float64)
    raw = [
        getattr(cell, p).detach().numpy().copy()
        for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    ]
    rng = np.random.default_rng(3)
    x, h_prev = rng.normal(size=(4, 5)), np.tanh(rng.normal(size=(4, 3)))
    with torch.no_grad():
        expected = cell(torch.tensor(x), torch.tensor(h_prev)).numpy()
    Wx, Wh, b = ours(raw)
    assert_close(
        learner.rnn_cell(x, h_prev, Wx, Wh, b, nonlinearity),
        expected,
        f"rnn_cell vs torch.nn.RNNCell(nonlinearity={nonlinearity!r})",
        on=describe(x=x, h_prev=h_prev, Wx=Wx, Wh=Wh, b=b),
        hint=HINTS["rnn_cell"],
    )


@pytest.mark.part("rnn_cell", points=1)
def test_rnn_cell_saturates_without_overflow(learner, ref):
    """Inputs of size 1000 saturate tanh at +-1 exactly; nothing overflows to NaN."""
    x, h_prev, Wx, Wh, b = cell_data(3, 4, 5, seed=4, scale=1000.0)
    assert_close(
        learner.rnn_cell(x, h_prev, Wx, Wh, b),
        ref.rnn_cell(x, h_prev, Wx, Wh, b),
        "rnn_cell for inputs of size ~1000",
        on=describe(x=x, h_prev=h_prev, Wx=Wx, Wh=Wh, b=b),
        large_input=True,
        hint="np.tanh is stable for any size; (e^z - e^-z) / (e^z + e^-z) overflows to NaN",
    )


# ---------------------------------------------------------------------------------------
# rnn_forward
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", SEQ_CASES, ids=str)
@pytest.mark.part("rnn_forward", points=0.5)
def test_rnn_forward_shape(learner, case):
    """hs is batch-first: (N, T, H), one hidden state per sample and step."""
    n, t, d, h = case
    x, h0, Wx, Wh, b = seq_data(n, t, d, h, seed=5)
    assert_shape(
        learner.rnn_forward(x, h0, Wx, Wh, b),
        (n, t, h),
        "rnn_forward(x, h0, Wx, Wh, b)",
        on=describe(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b),
        hint="batch-first: hs[:, t] is the state after step t; np.stack(states, axis=1)",
    )


@DTYPES
@NONLINEARITIES
@pytest.mark.parametrize("case", SEQ_CASES, ids=str)
@pytest.mark.part("rnn_forward", points=0.25)
def test_rnn_forward_values(learner, ref, case, nonlinearity, dtype):
    """Every hidden state equals the reference (the state is carried from step to step)."""
    x, h0, Wx, Wh, b = seq_data(*case, seed=6 + case[1], dtype=dtype)
    on = describe(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b, nonlinearity=nonlinearity)
    args64 = (a.astype(np.float64) for a in (x, h0, Wx, Wh, b))
    assert_close(
        learner.rnn_forward(x, h0, Wx, Wh, b, nonlinearity),
        ref.rnn_forward(*args64, nonlinearity),
        f"rnn_forward(..., nonlinearity={nonlinearity!r})",
        on=on,
        inputs={"x": x, "h0": h0},
        hint=HINTS["rnn_forward"],
    )


@NONLINEARITIES
@pytest.mark.parametrize("length", [1, 2, 9])
@pytest.mark.part("rnn_forward", points=0.5)
def test_rnn_forward_matches_torch_rnn(learner, nonlinearity, length):
    """Equals `torch.nn.RNN(batch_first=True)` with the same weights and h0, for lengths 1,
    2 and 9."""
    rnn, (raw,) = torch_rnn(3, 4, seed=7 + length, nonlinearity=nonlinearity)
    rng = np.random.default_rng(length)
    x, h0 = rng.normal(size=(2, length, 3)), np.tanh(rng.normal(size=(2, 4)))
    expected, _ = run_torch(rnn, x, h0[None])
    Wx, Wh, b = ours(raw)
    assert_close(
        learner.rnn_forward(x, h0, Wx, Wh, b, nonlinearity),
        expected,
        f"rnn_forward vs torch.nn.RNN(nonlinearity={nonlinearity!r}, batch_first=True), T={length}",
        on=describe(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b),
        hint=HINTS["rnn_forward"],
    )


# ---------------------------------------------------------------------------------------
# rnn_from_torch
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("d,h", [(5, 3), (4, 4)], ids=["D5_H3", "D4_H4"])
@pytest.mark.part("rnn_from_torch", points=1)
def test_rnn_from_torch_values(learner, d, h):
    """Wx = weight_ih.T, Wh = weight_hh.T, b = bias_ih + bias_hh (exact: no arithmetic but
    one sum)."""
    _, (raw,) = torch_rnn(d, h, seed=8, nonlinearity="tanh")
    on = describe(weight_ih=raw[0], weight_hh=raw[1], bias_ih=raw[2], bias_hh=raw[3])
    got = as_tuple(
        learner.rnn_from_torch(*raw),
        3,
        "rnn_from_torch(weight_ih, weight_hh, bias_ih, bias_hh)",
        on,
    )
    for name, g, exp in zip(("Wx", "Wh", "b"), got, ours(raw)):
        assert_close(g, exp, f"rnn_from_torch: {name}", on=on, inputs=dict(zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), raw)),
                     hint=HINTS["rnn_from_torch"])  # fmt: skip


@pytest.mark.part("rnn_from_torch", points=1)
def test_rnn_from_torch_reproduces_torch(learner, ref):
    """The reference forward with your mapped weights equals torch.nn.RNN itself."""
    rnn, (raw,) = torch_rnn(3, 5, seed=9, nonlinearity="tanh")
    rng = np.random.default_rng(9)
    x, h0 = rng.normal(size=(2, 4, 3)), np.tanh(rng.normal(size=(2, 5)))
    expected, _ = run_torch(rnn, x, h0[None])
    on = describe(x=x, h0=h0, weight_ih=raw[0], weight_hh=raw[1])
    Wx, Wh, b = as_tuple(learner.rnn_from_torch(*raw), 3, "rnn_from_torch(...)", on)
    shapes = {"Wx": (3, 5), "Wh": (5, 5), "b": (5,)}
    for name, arr in zip(shapes, (Wx, Wh, b)):
        assert_shape(
            arr, shapes[name], f"rnn_from_torch: {name}", on=on, hint=HINTS["rnn_from_torch"]
        )
    assert_close(
        ref.rnn_forward(
            x, h0, np.asarray(Wx, np.float64), np.asarray(Wh, np.float64), np.asarray(b, np.float64)
        ),
        expected,
        "rnn_forward(x, h0, *rnn_from_torch(...)) vs torch.nn.RNN",
        on=on,
        hint=HINTS["rnn_from_torch"],
    )


# ---------------------------------------------------------------------------------------
# stacked_rnn_forward
# ---------------------------------------------------------------------------------------

STACKS = [(2, 3, 4, "tanh"), (3, 4, 4, "relu"), (2, 5, 3, "relu")]  # (L, D, H, f)


@pytest.mark.parametrize("stack", STACKS, ids=lambda s: f"L{s[0]}_D{s[1]}_H{s[2]}_{s[3]}")
@pytest.mark.part("stacked_rnn_forward", points=1.5)
def test_stacked_rnn_forward_matches_torch(learner, stack):
    """(out, h_n) equal `torch.nn.RNN(num_layers=L, batch_first=True)` with the same weights:
    out is the last layer's states (N, T, H), h_n every layer's last state (L, N, H)."""
    layers_n, d, h, f = stack
    rnn, raw = torch_rnn(d, h, seed=10 + layers_n, nonlinearity=f, num_layers=layers_n)
    rng = np.random.default_rng(layers_n)
    n, t = 3, 5
    x, h0 = rng.normal(size=(n, t, d)), np.tanh(rng.normal(size=(layers_n, n, h)))
    out_t, hn_t = run_torch(rnn, x, h0)
    layers = tuple(ours(r) for r in raw)
    on = describe(x=x, h0=h0) + f", {layers_n} layers (Wx, Wh, b) with H={h}, nonlinearity={f!r}"
    out, h_n = as_tuple(
        learner.stacked_rnn_forward(x, h0, layers, f), 2, "stacked_rnn_forward(x, h0, layers)", on
    )
    assert_close(out, out_t, "stacked_rnn_forward: out (the last layer's states)", on=on, others={"h_n": hn_t},
                 hint=HINTS["stacked_rnn_forward"])  # fmt: skip
    assert_close(h_n, hn_t, "stacked_rnn_forward: h_n (each layer's last state)", on=on, others={"out": out_t},
                 hint=HINTS["stacked_rnn_forward"])  # fmt: skip


@pytest.mark.part("stacked_rnn_forward", points=1)
def test_stacked_rnn_with_one_layer_is_rnn_forward(learner, ref):
    """With L = 1 the stack is rnn_forward, and h_n[0] is its last state."""
    x, h0, Wx, Wh, b = seq_data(2, 4, 3, 5, seed=12)
    on = describe(x=x, h0=h0[None], Wx=Wx, Wh=Wh, b=b)
    out, h_n = as_tuple(
        learner.stacked_rnn_forward(x, h0[None], ((Wx, Wh, b),)), 2, "stacked_rnn_forward", on
    )
    hs = ref.rnn_forward(x, h0, Wx, Wh, b)
    assert_close(
        out, hs, "stacked_rnn_forward with one layer: out", on=on, hint=HINTS["stacked_rnn_forward"]
    )
    assert_shape(h_n, (1, 2, 5), "stacked_rnn_forward with one layer: h_n", on=on)
    assert_close(h_n, hs[:, -1][None], "stacked_rnn_forward with one layer: h_n", on=on,
                 hint="h_n[l] is layer l's state after the LAST step: seq[:, -1]")  # fmt: skip
