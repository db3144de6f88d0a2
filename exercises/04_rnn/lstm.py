"""# LSTM: a cell state that gradients can travel along

A vanilla RNN multiplies its gradient by `Wh` at every step back, so it vanishes or
explodes. The LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al.
2000) adds a **cell state** `c` that is updated by addition, under three gates:

    a = x @ Wx + h_prev @ Wh + b                   (N, 4H): all four pre-activations at once
    i = sigmoid(a[:, 0H:1H])    input gate          how much of the candidate to write
    f = sigmoid(a[:, 1H:2H])    forget gate         how much of the old cell to keep
    g = tanh   (a[:, 2H:3H])    candidate ("cell gate")
    o = sigmoid(a[:, 3H:4H])    output gate         how much of the cell to show
    c = f * c_prev + i * g
    h = o * tanh(c)

Along `c`, going back one step multiplies the gradient by `f` alone (no weight matrix):
with `f` near 1 the gradient survives many steps.

## Backward of one cell

Given the upstream `dh` and `dc` (the cell state's gradient from the next step):

    tc  = tanh(c)
    dc_total = dc + dh * o * (1 - tc**2)          the cell is reached through h too
    do = dh * tc;   df = dc_total * c_prev;   di = dc_total * g;   dg = dc_total * i
    da = [di * i (1 - i), df * f (1 - f), dg * (1 - g**2), do * o (1 - o)]   (N, 4H)
    dx = da @ Wx.T;  dh_prev = da @ Wh.T;  dc_prev = dc_total * f
    dWx = x.T @ da;  dWh = h_prev.T @ da;  db = da.sum(axis=0)

## Conventions this exercise holds (the grader checks each)

- **Gate order (i, f, g, o)** along the 4H axis, PyTorch's order. CS231n's assignment
  uses (i, f, o, g), and Keras (i, f, c, o) with its own layout: both are other
  conventions, not mistakes, but the weights here are laid out as PyTorch's.
- **(in, out) weights and one bias**: `Wx` (D, 4H), `Wh` (H, 4H), `b` (4H,). PyTorch keeps
  `weight_ih_l0` (4H, D), `weight_hh_l0` (4H, H) and two biases: `Wx = weight_ih.T`,
  `Wh = weight_hh.T`, `b = bias_ih + bias_hh`.
- **Batch-first** sequences `(N, T, D)`; `lstm_forward` returns PyTorch's three results
  `(out (N, T, H), h_n (N, H), c_n (N, H))` for one layer.
- The backward takes the cell's **inputs** and recomputes what it needs (no cache object
  crosses between your functions and the grader).
- Never modify an input in place.

Read: Hochreiter & Schmidhuber (1997), "Long short-term memory"; Gers, Schmidhuber &
Cummins (2000), "Learning to forget"; Olah, "Understanding LSTM networks" (2015); the
PyTorch documentation of `torch.nn.LSTM` (gate equations and layout).
"""

import numpy as np


def lstm_cell_forward(
    x: np.ndarray,
    h_prev: np.ndarray,
    c_prev: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One LSTM step.

    x: (N, D); h_prev, c_prev: (N, H); Wx: (D, 4H); Wh: (H, 4H); b: (4H,), gates (i, f, g, o).
    Returns (h, c), each (N, H). sigmoid(z) = 1 / (1 + exp(-z)); keep it finite for |z| ~ 1000.
    """
    # YOUR CODE HERE
    raise NotImplementedError("lstm: implement lstm_cell_forward")


def lstm_cell_backward(
    dh: np.ndarray,
    dc: np.ndarray,
    x: np.ndarray,
    h_prev: np.ndarray,
    c_prev: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward of lstm_cell_forward, given the cell's inputs and the upstream gradients.

    dh, dc: (N, H), dL/dh and dL/dc of this step's outputs; the rest as lstm_cell_forward.
    Returns (dx, dh_prev, dc_prev, dWx, dWh, db) shaped like x, h_prev, c_prev, Wx, Wh, b.
    """
    # YOUR CODE HERE
    raise NotImplementedError("lstm: implement lstm_cell_backward")


def lstm_forward(
    x: np.ndarray, h0: np.ndarray, c0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One LSTM layer over a batch of sequences (batch-first), as torch.nn.LSTM(batch_first=True).

    x: (N, T, D); h0, c0: (N, H); Wx, Wh, b as lstm_cell_forward.
    Returns (out, h_n, c_n): out (N, T, H) the hidden state after every step, and the last
    hidden and cell states, each (N, H).
    """
    # YOUR CODE HERE
    raise NotImplementedError("lstm: implement lstm_forward")


def lstm_from_torch(
    weight_ih: np.ndarray, weight_hh: np.ndarray, bias_ih: np.ndarray, bias_hh: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PyTorch's nn.LSTM layer parameters in this exercise's layout.

    weight_ih: (4H, D), weight_hh: (4H, H) (out, in), bias_ih, bias_hh: (4H,); gates (i, f, g, o)
    in both. Returns (Wx (D, 4H), Wh (H, 4H), b (4H,)).
    """
    # YOUR CODE HERE
    raise NotImplementedError("lstm: implement lstm_from_torch")
