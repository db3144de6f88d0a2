"""# Forward propagation: dense layers, activations, a multi-layer perceptron

A **dense** (fully connected) layer mixes every input feature into every output feature.
For a batch `X` of shape `(N, D_in)` (one sample per row):

    Y = X @ W + b          W: (D_in, D_out),  b: (D_out,),  Y: (N, D_out)

The bias is broadcast: the same `b` is added to every row. A single sample is a batch of
one, `X` of shape `(1, D_in)`.

**Convention.** This exercise stores `W` as `(D_in, D_out)`, so a layer is `X @ W`.
PyTorch's `nn.Linear` stores its weight the other way round, `(D_out, D_in)`, and computes
`X @ weight.T + bias`; so `torch.nn.functional.linear(X, W.T, b)` equals our `X @ W + b`.
Mixing the two up is a common dense-layer bug, and when `W` is square the shapes
do not reveal it.

## Activations (elementwise, any shape)

| name       | f(x)                                                        |
|------------|-------------------------------------------------------------|
| tanh       | (e^x - e^-x) / (e^x + e^-x), values in (-1, 1)              |
| ReLU       | max(0, x)                                                   |
| leaky ReLU | x for x >= 0, negative_slope * x for x < 0 (default 0.01)   |
| GELU       | 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))             |

GELU is `x * Phi(x)` with `Phi` the standard normal CDF (Hendrycks & Gimpel, 2016). Its
exact form `0.5 x (1 + erf(x / sqrt(2)))` needs `erf`, which NumPy lacks; this exercise
uses the **tanh approximation** above (the one in GPT-2 and BERT, and PyTorch's
`F.gelu(x, approximate="tanh")`). The two differ by up to 4.7e-4, far more than rounding,
so the grader accepts only the tanh form.

Numerical care: the textbook tanh formula computes `e^x`, which overflows to `inf` for
x > 709 in float64, and `inf / inf` is NaN. `np.tanh` stays finite, and so does
`1 - 2 / (e^(2x) + 1)` (where `2 / inf` is simply 0).

## The multi-layer perceptron

With `params = [(W1, b1), ..., (WL, bL)]` and an activation `f`:

    h_0 = X
    h_l = f(h_{l-1} @ W_l + b_l)       for l = 1, ..., L-1   (the hidden layers)
    output = h_{L-1} @ W_L + b_L                              (no activation on the last layer)

The last layer stays linear: its output is a regression value or the logits a softmax /
cross-entropy turns into probabilities later. `mlp_forward` returns the output and the
list `[h_1, ..., h_{L-1}]` of hidden activations (after `f`), which backpropagation needs.
The input `X` and the output are not in that list, so it has `L - 1` arrays: none for a
single layer.

**Inputs are read-only.** No function here modifies an array (or a dict) it is given:
copy first (`x = np.array(x, dtype=np.float64)`) and return new objects. The grader
checks every call, because a caller that reuses its array would be silently wrong.

Read: Goodfellow, Bengio & Courville, *Deep Learning*, section 6.1-6.3 (the XOR network and
hidden units); Nielsen, *Neural Networks and Deep Learning*, chapter 1; Maas et al. (2013)
for the leaky ReLU; Hendrycks & Gimpel (2016), *Gaussian Error Linear Units*.
"""

import numpy as np


def dense_forward(X: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A dense layer: Y = X @ W + b.

    X: (N, D_in), a batch of N samples (N = 1 for one sample, still 2-D).
    W: (D_in, D_out), stored input-major (PyTorch's nn.Linear stores the transpose).
    b: (D_out,), added to every row.
    Returns Y of shape (N, D_out).
    """
    # YOUR CODE HERE
    raise NotImplementedError("forward-propagation: implement dense_forward")


def tanh(x: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent (e^x - e^-x) / (e^x + e^-x), elementwise; same shape as x.

    Must stay finite for every finite x (tanh(1000) = 1, not NaN).
    """
    # YOUR CODE HERE
    raise NotImplementedError("forward-propagation: implement tanh")


def relu(x: np.ndarray) -> np.ndarray:
    """Rectified linear unit max(0, x), elementwise; same shape as x."""
    # YOUR CODE HERE
    raise NotImplementedError("forward-propagation: implement relu")


def leaky_relu(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """Leaky ReLU, elementwise; same shape as x.

    f(x) = x for x >= 0 and negative_slope * x for x < 0, for any negative_slope
    (PyTorch's F.leaky_relu; the default slope is 0.01, as there).
    """
    # YOUR CODE HERE
    raise NotImplementedError("forward-propagation: implement leaky_relu")


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), elementwise.

    Same shape as x. This is PyTorch's F.gelu(x, approximate="tanh"); the exact erf form
    0.5 x (1 + erf(x / sqrt(2))) differs by up to 4.7e-4 and is not accepted.
    """
    # YOUR CODE HERE
    raise NotImplementedError("forward-propagation: implement gelu")


def mlp_forward(
    X: np.ndarray, params: list[tuple[np.ndarray, np.ndarray]], activation: str = "relu"
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Forward pass of a multi-layer perceptron.

    X: (N, D_0). params: a list (or tuple) of L >= 1 pairs (W_l, b_l), W_l of shape
    (D_{l-1}, D_l) and b_l of shape (D_l,). activation: "tanh", "relu", "leaky_relu" (slope 0.01) or "gelu",
    applied after every layer except the last, which stays linear.

    Returns (output, hiddens): output of shape (N, D_L) and hiddens, a list of the L - 1
    hidden activations h_l = f(h_{l-1} @ W_l + b_l) of shapes (N, D_l), taken *after* the
    activation, in layer order. Neither X nor the output is in hiddens (a single layer
    gives []).
    """
    # YOUR CODE HERE
    raise NotImplementedError("forward-propagation: implement mlp_forward")
