"""# Backpropagation: the chain rule, one layer at a time

A network is a chain of simple functions, and its loss `L` is one number. Backpropagation
gets `dL/dtheta` for every parameter in one backward sweep: each layer receives the
gradient of the loss with respect to its **output** (the *upstream* gradient, `dout`) and
turns it into the gradient with respect to its **input** (passed further down) and to its
**parameters** (kept). Every gradient has the shape of the thing it differentiates.

## A dense layer: `Y = X @ W + b`

`X` is `(N, D_in)` (N samples in rows), `W` is `(D_in, D_out)`, `b` is `(D_out,)`, and
`dout = dL/dY` is `(N, D_out)`:

    dX = dout @ W.T          (N, D_in)
    dW = X.T @ dout          (D_in, D_out)
    db = dout.sum(axis=0)    (D_out,)      b is added to every row, so its gradient sums them

With a square `W` the wrong products `dout @ W` and `dout.T @ X` have the right shapes
too: shapes alone do not prove a backward pass correct (the grader uses square layers).

## Activations: `a = f(z)`, elementwise

A backward takes the upstream `dout = dL/da` and the activation's **input** `z`, and
returns `dL/dz = dout * f'(z)`, of `z`'s shape:

| f                   | f'(z)                                         |
|---------------------|-----------------------------------------------|
| relu                | 1 where z > 0, else 0 (0 at z = 0, as PyTorch) |
| leaky relu, slope a | 1 where z > 0, else a (a at z = 0, as PyTorch) |
| tanh                | 1 - tanh(z)^2                                 |
| sigmoid             | s (1 - s) with s = sigmoid(z)                 |

Textbooks often write `1 - a^2` and `a (1 - a)`: those use the *output* `a`. Here you get
`z`, so compute `a` from it first; `1 - z^2` is a different (wrong) function.

## Softmax cross-entropy

Logits `Z` `(N, C)`, integer labels `y` `(N,)` in `0..C-1`, loss averaged over the batch:

    log p = Z - logsumexp(Z, axis=1)     logsumexp(z) = max(z) + log(sum(exp(z - max(z))))
    L     = -(1/N) sum_n log p[n, y_n]
    dL/dZ = (softmax(Z) - onehot(y)) / N

Subtracting each row's maximum keeps `exp` finite for logits like 1000.

## A whole MLP

`params = {"W1": (D, H1), "b1": (H1,), "W2": (H1, H2), ..., "WL": (H_{L-1}, C), "bL": (C,)}`,
`L = len(params) // 2` layers, ReLU after every layer but the last:

    h0 = X;   z_l = h_{l-1} @ W_l + b_l;   h_l = relu(z_l) for l < L;   logits = z_L

Backward: `dz_L = dL/dlogits` from the softmax cross-entropy; then for `l = L, ..., 1`,
`dense_backward(dz_l, h_{l-1}, W_l)` gives `dh_{l-1}`, `dW_l`, `db_l`, and below the first
layer `dz_{l-1} = relu_backward(dh_{l-1}, z_{l-1})`. Keep every `h_{l-1}` and `z_l` from
the forward pass: the backward pass needs them.

## How the grader checks a gradient

Against central differences `(L(theta + h e_i) - L(theta - h e_i)) / 2h` in float64, one
coordinate at a time, and against `torch.autograd` with the same weights; it reports the
parameter and the relative error `|a - b| / (|a| + |b|)`.

**Inputs are read-only.** No function here modifies an array (or a dict) it is given:
copy first (`x = np.array(x, dtype=np.float64)`) and return new objects. The grader
checks every call, because a caller that reuses its array would be silently wrong.

Read: Rumelhart, Hinton & Williams (1986), "Learning representations by back-propagating
errors"; Goodfellow, Bengio & Courville, *Deep Learning*, section 6.5; Nielsen, *Neural
Networks and Deep Learning*, chapter 2; the CS231n notes "Backpropagation, Intuitions".
"""

import numpy as np


def dense_backward(
    dout: np.ndarray, X: np.ndarray, W: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of a dense layer Y = X @ W + b (samples in rows, W of shape (D_in, D_out)).

    dout: (N, D_out), the gradient dL/dY; X: (N, D_in), the layer's input; W: (D_in, D_out).
    (b is not an input: none of the three gradients depends on its value.)
    Returns (dX, dW, db) in this order: dX = dout @ W.T of shape (N, D_in),
    dW = X.T @ dout of shape (D_in, D_out), db = dout summed over the batch, shape (D_out,).
    """
    # YOUR CODE HERE
    raise NotImplementedError("backprop: implement dense_backward")


def relu_backward(dout: np.ndarray, z: np.ndarray) -> np.ndarray:
    """dL/dz for a = relu(z) = max(0, z): dout * (1 where z > 0, else 0).

    dout: dL/da, any shape; z: the ReLU's input, same shape. Returns an array of z's shape.
    The derivative at z = 0 is taken as 0 (PyTorch's choice).
    """
    # YOUR CODE HERE
    raise NotImplementedError("backprop: implement relu_backward")


def leaky_relu_backward(dout: np.ndarray, z: np.ndarray, alpha: float = 0.01) -> np.ndarray:
    """dL/dz for a = leaky_relu(z) = z where z > 0, else alpha * z.

    dout: dL/da, any shape; z: the input, same shape; alpha: the slope for z <= 0.
    Returns dout * (1 where z > 0, else alpha), of z's shape (alpha at z = 0, as PyTorch).
    """
    # YOUR CODE HERE
    raise NotImplementedError("backprop: implement leaky_relu_backward")


def tanh_backward(dout: np.ndarray, z: np.ndarray) -> np.ndarray:
    """dL/dz for a = tanh(z): dout * (1 - tanh(z)**2).

    dout: dL/da, any shape; z: the tanh's *input* (not its output), same shape.
    Returns an array of z's shape. Must stay finite for z = +-1000: np.tanh(z) does, while
    (exp(z) - exp(-z)) / (exp(z) + exp(-z)) overflows to inf / inf = NaN.
    """
    # YOUR CODE HERE
    raise NotImplementedError("backprop: implement tanh_backward")


def sigmoid_backward(dout: np.ndarray, z: np.ndarray) -> np.ndarray:
    """dL/dz for a = sigmoid(z) = 1 / (1 + exp(-z)): dout * s * (1 - s) with s = sigmoid(z).

    dout: dL/da, any shape; z: the sigmoid's *input*, same shape. Returns z's shape.
    Must stay finite for z = +-1000: compute s from exp(-|z|), which never overflows.
    """
    # YOUR CODE HERE
    raise NotImplementedError("backprop: implement sigmoid_backward")


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy over the batch, and its gradient with respect to the logits.

    logits: (N, C) scores; y: (N,) integer labels in 0..C-1.
    Returns (loss, dlogits): loss = -(1/N) sum_n log softmax(logits)[n, y_n], a number;
    dlogits = (softmax(logits) - onehot(y)) / N, of shape (N, C).
    Must stay finite and exact for logits like +-1000: subtract each row's maximum first.
    """
    # YOUR CODE HERE
    raise NotImplementedError("backprop: implement softmax_cross_entropy")


def mlp_forward(X: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    """Logits of a ReLU MLP: ReLU after every dense layer except the last.

    X: (N, D). params: {"W1": (D, H1), "b1": (H1,), ..., "WL": (H_{L-1}, C), "bL": (C,)},
    L = len(params) // 2 layers (L = 1 is a linear model). Returns logits of shape (N, C).
    """
    # YOUR CODE HERE
    raise NotImplementedError("backprop: implement mlp_forward")


def mlp_backward(
    X: np.ndarray, y: np.ndarray, params: dict[str, np.ndarray]
) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and every gradient of a ReLU MLP (as mlp_forward) with softmax cross-entropy on top.

    X: (N, D); y: (N,) integer labels; params as in mlp_forward.
    Returns (loss, grads), in this order.
    loss = softmax_cross_entropy(mlp_forward(X, params), y)[0], a number;
    grads = {"W1": dL/dW1, "b1": dL/db1, ..., "WL": ..., "bL": ...}, exactly the keys
    of params, each gradient of its parameter's shape. Build it from the functions above: run
    the forward pass keeping each layer's input and pre-activation, then walk back from the
    top (the lesson gives the loop). Do not modify params.
    """
    # YOUR CODE HERE
    raise NotImplementedError("backprop: implement mlp_backward")
