"""# GRU: two gates, no separate cell state

The gated recurrent unit (Cho et al. 2014) keeps the LSTM's idea - an additive path for
the state, opened and closed by gates - with two gates and one state:

    r = sigmoid(x @ Wx_r + bx_r + h_prev @ Wh_r + bh_r)          reset gate
    z = sigmoid(x @ Wx_z + bx_z + h_prev @ Wh_z + bh_z)          update gate
    n = tanh(x @ Wx_n + bx_n + r * (h_prev @ Wh_n + bh_n))       candidate
    h = (1 - z) * n + z * h_prev

With `z` near 1 the state is copied forward unchanged (and so is its gradient).

## Layout: PyTorch's, with (in, out) weights

`Wx` is `(D, 3H)` and `Wh` is `(H, 3H)`, the gates side by side in the order **(r, z, n)**;
`bx` and `bh` are `(3H,)` each. Unlike the LSTM, the two biases cannot be merged into one:
`bh_n` sits inside the product with `r`. PyTorch keeps `weight_ih_l0` `(3H, D)`,
`weight_hh_l0` `(3H, H)`, `bias_ih_l0`, `bias_hh_l0`: `Wx = weight_ih.T`,
`Wh = weight_hh.T`, `bx = bias_ih`, `bh = bias_hh`.

## Two other well-known conventions (named kindly if you follow one)

- **Reset before the matmul**: Cho et al. (2014) and d2l.ai write `(r * h_prev) @ Wh_n`.
  This exercise applies `r` *after* the hidden matmul, `r * (h_prev @ Wh_n + bh_n)`, as
  PyTorch, cuDNN and Keras's `reset_after=True` do, so that weights copied from
  `torch.nn.GRU` give the same numbers.
- **Which side z keeps**: some texts write `h = z * n + (1 - z) * h_prev`. Here `z` is the
  share of the **old** state kept, as in PyTorch and in Cho et al.
- Keras stacks its gates (z, r, n); here it is PyTorch's (r, z, n).

## Counting parameters

A recurrent layer with G gate blocks (RNN 1, GRU 3, LSTM 4), input size I and hidden size H
has `G*H*I + G*H*H` weights and, with biases, `2*G*H` more (PyTorch's two bias vectors).
A layer above the first reads `H * num_directions` inputs; a bidirectional layer has
those parameters twice. This is what `sum(p.numel() for p in nn.GRU(...).parameters())`
gives. A GRU has 3/4 of an LSTM's parameters of the same sizes.

Batch-first sequences `(N, T, D)`. Never modify an input in place.

Read: Cho et al. (2014), "Learning phrase representations using RNN encoder-decoder for
statistical machine translation"; Chung et al. (2014), "Empirical evaluation of gated
recurrent neural networks on sequence modeling"; the documentation of `torch.nn.GRU`.
"""

import numpy as np


def gru_cell(
    x: np.ndarray,
    h_prev: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    bx: np.ndarray,
    bh: np.ndarray,
) -> np.ndarray:
    """One GRU step, PyTorch's equations.

    x: (N, D); h_prev: (N, H); Wx: (D, 3H); Wh: (H, 3H); bx, bh: (3H,); gates (r, z, n).
    Returns h: (N, H).
    """
    ### BEGIN SOLUTION
    H = h_prev.shape[1]
    gx, gh = x @ Wx + bx, h_prev @ Wh + bh
    sig = lambda v: 0.5 * (1 + np.tanh(0.5 * v))  # noqa: E731  (the sigmoid, no exp to overflow)
    r = sig(gx[:, :H] + gh[:, :H])
    z = sig(gx[:, H : 2 * H] + gh[:, H : 2 * H])
    n = np.tanh(gx[:, 2 * H :] + r * gh[:, 2 * H :])
    return (1 - z) * n + z * h_prev
    ### END SOLUTION


def gru_forward(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, bx: np.ndarray, bh: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One GRU layer over a batch of sequences, as torch.nn.GRU(batch_first=True).

    x: (N, T, D); h0: (N, H); weights as gru_cell.
    Returns (out, h_n): out (N, T, H) the state after every step, h_n (N, H) the last one.
    """
    ### BEGIN SOLUTION
    h, hs = h0, []
    for t in range(x.shape[1]):
        h = gru_cell(x[:, t], h, Wx, Wh, bx, bh)
        hs.append(h)
    return np.stack(hs, axis=1), h
    ### END SOLUTION


def gru_from_torch(
    weight_ih: np.ndarray, weight_hh: np.ndarray, bias_ih: np.ndarray, bias_hh: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """PyTorch's nn.GRU layer parameters in this exercise's layout.

    weight_ih: (3H, D), weight_hh: (3H, H), bias_ih, bias_hh: (3H,), gates (r, z, n).
    Returns (Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,)): the biases stay apart.
    """
    ### BEGIN SOLUTION
    return weight_ih.T.copy(), weight_hh.T.copy(), bias_ih.copy(), bias_hh.copy()
    ### END SOLUTION


def rnn_param_count(
    kind: str,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    bias: bool = True,
) -> int:
    """The number of parameters of torch.nn.RNN / GRU / LSTM with these arguments.

    kind: "rnn", "gru" or "lstm". Returns an int equal to
    sum(p.numel() for p in torch.nn.<KIND>(input_size, hidden_size, num_layers,
    bias=bias, bidirectional=bidirectional).parameters()).
    """
    ### BEGIN SOLUTION
    gates = {"rnn": 1, "gru": 3, "lstm": 4}[kind]
    directions = 2 if bidirectional else 1
    total = 0
    for layer in range(num_layers):
        inputs = input_size if layer == 0 else hidden_size * directions
        per_direction = gates * hidden_size * (inputs + hidden_size) + (
            2 * gates * hidden_size if bias else 0
        )
        total += directions * per_direction
    return total
    ### END SOLUTION
