"""# Bidirectional RNNs and batches of sequences of different lengths

A forward RNN's state at step t has read `x_1..x_t` only. A **bidirectional** RNN runs a
second RNN over the reversed sequence and puts both states side by side, so the output at
step t has read the whole sequence (Schuster & Paliwal 1997):

    out[:, t] = [ h_fwd_t , h_bwd_t ]          (N, 2H): forward half first

where the backward RNN reads `x_T, ..., x_1` and `h_bwd_t` is its state after reading
`x_T .. x_t` - stored back at position t.

## Padding and lengths

A batch holds sequences of different lengths, padded at the end to a common T;
`lengths[n]` is sequence n's real length (1 <= lengths[n] <= T). Padding must change
nothing about a sequence's results, whatever the padded values are:

- the forward direction stops at its sequence's last real step: its **state stays
  frozen** there, and its outputs at padded positions are **0**;
- the backward direction starts at each sequence's **own last real step**, `lengths[n] - 1`,
  not at the padded end T - 1 (reversing the whole padded array would feed it the
  padding first);
- `h_n` holds each direction's state after its last real step.

This is what `torch.nn.utils.rnn.pack_padded_sequence` followed by `pad_packed_sequence`
gives with `torch.nn.RNN(bidirectional=True, batch_first=True)`.

## Conventions this exercise holds

Batch-first `(N, T, D)`, tanh, `(in, out)` weights and one bias per direction,
`params = (Wx (D, H), Wh (H, H), b (H,))` per direction; `h0` is `(2, N, H)` with the forward
direction's initial state first, as PyTorch's; outputs are concatenated **forward first**.
Never modify an input in place.

Given: `rnn_cell` (the `rnn` exercise's cell, tanh).

Read: Schuster & Paliwal (1997), "Bidirectional recurrent neural networks"; Graves &
Schmidhuber (2005), "Framewise phoneme classification with bidirectional LSTM"; the
documentation of `torch.nn.utils.rnn.pack_padded_sequence`.
"""

import numpy as np


def rnn_cell(
    x: np.ndarray, h_prev: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """Given (the `rnn` exercise): h = tanh(x @ Wx + h_prev @ Wh + b), (N, H)."""
    return np.tanh(x @ Wx + h_prev @ Wh + b)


def length_mask(lengths: np.ndarray, T: int) -> np.ndarray:
    """mask (N, T) of bools: mask[n, t] is True where t < lengths[n] (a real step), False on padding."""
    # YOUR CODE HERE
    raise NotImplementedError("bidirectional-rnn: implement length_mask")


def reverse_padded(x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Reverse each sequence within its own length, padding left where it is.

    x: (N, T, ...); lengths: (N,) ints. Returns y of x's shape with y[n, t] = x[n, lengths[n] - 1 - t]
    for t < lengths[n] and y[n, t] = x[n, t] on the padding. Applying it twice gives x back.
    """
    # YOUR CODE HERE
    raise NotImplementedError("bidirectional-rnn: implement reverse_padded")


def masked_rnn_forward(
    x: np.ndarray,
    h0: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
    lengths: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One direction over a padded batch.

    x: (N, T, D); h0: (N, H); Wx, Wh, b as rnn_cell; lengths: (N,) ints.
    Returns (hs, h_last): hs (N, T, H) the state after each real step and 0 on padding;
    h_last (N, H) each sequence's state after its last real step (frozen over the padding).
    """
    # YOUR CODE HERE
    raise NotImplementedError("bidirectional-rnn: implement masked_rnn_forward")


def birnn_forward(
    x: np.ndarray, h0: np.ndarray, fwd: tuple, bwd: tuple, lengths: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A bidirectional tanh RNN layer over a padded batch, as torch.nn.RNN(bidirectional=True)
    on a packed sequence.

    x: (N, T, D); h0: (2, N, H), the forward direction's first; fwd, bwd: (Wx, Wh, b) each;
    lengths: (N,) ints. Returns (out, h_n): out (N, T, 2H), [forward, backward] states at
    each step, 0 on padding; h_n (2, N, H), each direction's state after its last real step.
    """
    # YOUR CODE HERE
    raise NotImplementedError("bidirectional-rnn: implement birnn_forward")
