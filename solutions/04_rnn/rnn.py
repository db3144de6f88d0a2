"""# Recurrent networks: one cell, applied at every step

A sequence `x_1, ..., x_T` is read one step at a time. A vanilla (Elman) RNN keeps a
hidden state `h` that summarises what it has read so far, and updates it with the **same**
weights at every step:

    h_t = f(x_t @ Wx + h_{t-1} @ Wh + b)        f = tanh (default) or relu

| name | shape | meaning |
|------|-------|---------|
| `x`  | `(N, T, D)` | N sequences of T steps of D features: **batch-first** |
| `h0` | `(N, H)`    | the hidden state before the first step |
| `Wx` | `(D, H)`    | input-to-hidden weights, **(in, out)** like every dense layer here |
| `Wh` | `(H, H)`    | hidden-to-hidden weights, (in, out) |
| `b`  | `(H,)`      | one bias |
| `hs` | `(N, T, H)` | every hidden state, `hs[:, t] = h_{t+1}`; the last one is `hs[:, -1]` |

Weight sharing is the point: the number of parameters does not grow with T, and what the
cell learns at one position applies at every position.

## Conventions this exercise holds (the grader checks each)

- **Batch-first** `(N, T, ...)`, as `torch.nn.RNN(batch_first=True)`. PyTorch's default
  is time-first `(T, N, ...)`; `np.stack(list_of_h)` stacks along a new *first* axis and
  gives that time-first layout, so stack along `axis=1`.
- **(in, out) weights and one bias.** PyTorch keeps `weight_ih_l0` as `(H, D)` and
  `weight_hh_l0` as `(H, H)` (out, in), and **two** biases `bias_ih_l0` and `bias_hh_l0`
  that are simply added: `Wx = weight_ih.T`, `Wh = weight_hh.T`, `b = bias_ih + bias_hh`.
  `rnn_from_torch` does exactly this mapping.
- `h0` is an input: the first step uses it (zeros are only the usual *value* of h0).
- Stacked RNNs: layer `l + 1` reads the hidden states of layer `l` as its inputs, and each
  layer starts from its own initial state.
- Never modify an input in place (`x`, `h0`, the weights): the grader checks every call.

Read: Elman (1990), "Finding structure in time"; Goodfellow, Bengio & Courville, *Deep
Learning*, sections 10.1-10.2; Karpathy, "The unreasonable effectiveness of recurrent
neural networks" (2015); the CS231n assignment 3 notes on RNNs (`rnn_step_forward`).
"""

import numpy as np


def rnn_cell(
    x: np.ndarray,
    h_prev: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
    nonlinearity: str = "tanh",
) -> np.ndarray:
    """One step of a vanilla RNN: h = f(x @ Wx + h_prev @ Wh + b).

    x: (N, D) the inputs of this step; h_prev: (N, H); Wx: (D, H); Wh: (H, H); b: (H,).
    nonlinearity: "tanh" or "relu". Returns h: (N, H).
    """
    ### BEGIN SOLUTION
    z = x @ Wx + h_prev @ Wh + b
    return np.tanh(z) if nonlinearity == "tanh" else np.maximum(z, 0.0)
    ### END SOLUTION


def rnn_forward(
    x: np.ndarray,
    h0: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
    nonlinearity: str = "tanh",
) -> np.ndarray:
    """Run the cell over a whole batch of sequences, batch-first.

    x: (N, T, D); h0: (N, H); Wx: (D, H); Wh: (H, H); b: (H,); nonlinearity as rnn_cell.
    Returns hs: (N, T, H), the hidden state after each step (hs[:, t] is h_{t+1}).
    """
    ### BEGIN SOLUTION
    h, hs = h0, []
    for t in range(x.shape[1]):
        h = rnn_cell(x[:, t], h, Wx, Wh, b, nonlinearity)
        hs.append(h)
    return np.stack(hs, axis=1)
    ### END SOLUTION


def rnn_from_torch(
    weight_ih: np.ndarray, weight_hh: np.ndarray, bias_ih: np.ndarray, bias_hh: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Map one layer of PyTorch's `nn.RNN` parameters onto this exercise's layout.

    weight_ih: (H, D) and weight_hh: (H, H), PyTorch's (out, in); bias_ih, bias_hh: (H,).
    Returns (Wx, Wh, b) with Wx: (D, H), Wh: (H, H), b: (H,), such that rnn_forward with
    them equals PyTorch's RNN with those parameters.
    """
    ### BEGIN SOLUTION
    return weight_ih.T.copy(), weight_hh.T.copy(), bias_ih + bias_hh
    ### END SOLUTION


def stacked_rnn_forward(
    x: np.ndarray, h0: np.ndarray, layers: tuple, nonlinearity: str = "tanh"
) -> tuple[np.ndarray, np.ndarray]:
    """A stack of L vanilla RNN layers (PyTorch's `num_layers=L`), batch-first.

    x: (N, T, D); h0: (L, N, H), one initial state per layer (PyTorch's layout);
    layers: a tuple of L tuples (Wx, Wh, b): the first Wx is (D, H), the others (H, H).
    Layer l + 1 reads the hidden states of layer l as its input sequence.
    Returns (out, h_n): out (N, T, H), the hidden states of the last layer, and
    h_n (L, N, H), every layer's last hidden state (PyTorch's two outputs).
    """
    ### BEGIN SOLUTION
    seq, last = x, []
    for layer, (Wx, Wh, b) in enumerate(layers):
        seq = rnn_forward(seq, h0[layer], Wx, Wh, b, nonlinearity)
        last.append(seq[:, -1])
    return seq, np.stack(last)
    ### END SOLUTION
