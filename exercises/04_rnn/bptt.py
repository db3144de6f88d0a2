"""# Backpropagation through time, clipping, and why plain RNNs forget

An RNN unrolled over T steps is a deep network whose layers share their weights:

    z_t = x_t @ Wx + h_{t-1} @ Wh + b,     h_t = tanh(z_t),     t = 1..T,  h_0 = h0

Backpropagation through time (BPTT) is ordinary backpropagation on that unrolled graph.
The loss reaches `h_t` by two roads: directly (`dhs[:, t]`, e.g. a prediction made at step
t) and through the future (`h_t` feeds `z_{t+1}`). Walk the steps **backwards**, carrying
the second road in `dh_next`:

    dh_t   = dhs[:, t] + dh_next                 (dh_next = 0 after the last step)
    dz_t   = dh_t * (1 - h_t**2)                 tanh'(z_t) from the OUTPUT h_t
    dx_t   = dz_t @ Wx.T
    dWx   += x_t.T @ dz_t;   dWh += h_{t-1}.T @ dz_t;   db += dz_t.sum(axis=0)
    dh_next = dz_t @ Wh.T                        ... becomes dh0 after the first step

The weights are shared, so their gradients are **sums** over the steps (`+=`). `h_{t-1}` is
the state *before* step t (h0 at the first step), not `h_t`.

## Vanishing and exploding gradients

Going back one step multiplies the gradient by `diag(1 - h_t**2) @ Wh.T`. Over k steps
that is a product of k such matrices: with `Wh`'s largest singular value below 1 the
gradient shrinks geometrically (the network cannot learn long-range dependencies); above 1
(and tanh not saturated) it grows geometrically. `hidden_grad_norms` measures this.

## Clipping, exactly as PyTorch

- By value (`torch.nn.utils.clip_grad_value_`): every entry clipped to `[-clip, clip]`.
- By global norm (`torch.nn.utils.clip_grad_norm_`): `total = sqrt(sum over ALL gradients
  of sum(g**2))` - one norm for all parameters together, not one per parameter - then every
  gradient is multiplied by `min(1, max_norm / (total + 1e-6))`. The direction of the whole
  update is kept. The function returns the total norm **before** clipping, as PyTorch does.

## Conventions this exercise holds

Batch-first `(N, T, ...)`, weights `(in, out)` and one bias, tanh, as in the `rnn`
exercise. Gradients are returned as new arrays (or a new dict): never modify an input in
place - not `x`, not the weights, not the gradients you clip.

Given: `rnn_forward` (you wrote it in `rnn`); it is the forward your backward inverts.

Read: Werbos (1990), "Backpropagation through time: what it does and how to do it";
Bengio, Simard & Frasconi (1994), "Learning long-term dependencies with gradient descent
is difficult"; Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent
neural networks" (clipping by norm); Goodfellow et al., *Deep Learning*, 10.2.2 and 10.7.
"""

import numpy as np


def rnn_forward(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """Given (the `rnn` exercise): hs (N, T, H), hs[:, t] = tanh(x[:, t] @ Wx + h_prev @ Wh + b)."""
    h, hs = h0, []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ Wx + h @ Wh + b)
        hs.append(h)
    return np.stack(hs, axis=1)


def rnn_backward(
    dhs: np.ndarray, x: np.ndarray, h0: np.ndarray, hs: np.ndarray, Wx: np.ndarray, Wh: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """BPTT for the tanh RNN of `rnn_forward`.

    dhs: (N, T, H), the loss's direct gradient on every hidden state; x: (N, T, D);
    h0: (N, H); hs: (N, T, H), rnn_forward's output; Wx: (D, H); Wh: (H, H).
    Returns (dx, dh0, dWx, dWh, db) shaped like x, h0, Wx, Wh and b (H,).
    """
    # YOUR CODE HERE
    raise NotImplementedError("bptt: implement rnn_backward")


def clip_grad_value(grads: dict, clip: float) -> dict:
    """Every entry of every gradient clipped to [-clip, clip], as torch.nn.utils.clip_grad_value_.

    grads: {name: array}; returns a new dict of new arrays with the same keys and shapes.
    """
    # YOUR CODE HERE
    raise NotImplementedError("bptt: implement clip_grad_value")


def clip_grad_norm(grads: dict, max_norm: float) -> tuple[dict, float]:
    """Clip by the global L2 norm, as torch.nn.utils.clip_grad_norm_.

    grads: {name: array}. total = sqrt(sum of g**2 over every entry of every gradient);
    each gradient is multiplied by min(1, max_norm / (total + 1e-6)).
    Returns (a new dict of the clipped gradients, total) with total the norm BEFORE clipping.
    """
    # YOUR CODE HERE
    raise NotImplementedError("bptt: implement clip_grad_norm")


def hidden_grad_norms(dh_last: np.ndarray, hs: np.ndarray, Wh: np.ndarray) -> np.ndarray:
    """How a gradient on the last hidden state fades (or grows) going back in time.

    dh_last: (N, H), dL/dh_T for a loss that reads only the last state; hs: (N, T, H) from
    rnn_forward; Wh: (H, H). Going back one step: dh_{t-1} = (dh_t * (1 - h_t**2)) @ Wh.T.
    Returns norms: (T,), norms[t] = the L2 norm of dL/dh_t over all its N*H entries, so
    norms[T-1] = ||dh_last|| and norms[0] is the furthest back.
    """
    # YOUR CODE HERE
    raise NotImplementedError("bptt: implement hidden_grad_norms")


def train_rnn(
    X: np.ndarray, Y: np.ndarray, hidden: int, steps: int, lr: float, max_norm: float, seed: int
) -> tuple[dict, list]:
    """Train a tanh RNN with a linear read-out of its last state, by full-batch SGD + BPTT.

    X: (N, T, D) sequences; Y: (N, K) targets; the prediction is hs[:, -1] @ Wy + by and
    the loss the mean over all N*K entries of (prediction - Y)**2.
    The recipe (the grader replays it step by step):
      rng = np.random.default_rng(seed); draw, in this order,
      Wx = rng.normal(size=(D, hidden)) / sqrt(D), Wh = rng.normal(size=(hidden, hidden)) / sqrt(hidden),
      Wy = rng.normal(size=(hidden, K)) / sqrt(hidden); b, by zeros; h0 = zeros (N, hidden).
      Each step: forward, loss, gradients of all five parameters (BPTT for Wx, Wh, b),
      clip_grad_norm of the five together with max_norm, then p = p - lr * g.
    Returns (params, losses): params {"Wx", "Wh", "b", "Wy", "by"} after training, losses
    the `steps` losses, each computed before that step's update.
    """
    # YOUR CODE HERE
    raise NotImplementedError("bptt: implement train_rnn")
