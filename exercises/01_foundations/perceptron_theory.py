"""# The neuron and its activations

A single artificial neuron weighs its inputs, adds a bias and passes the sum through an
**activation function**:

    z = w . x + b            (pre-activation, a number per sample)
    a = f(z)                 (the neuron's output)

For a batch `X` of shape `(N, D)`, `z = X @ w + b` has shape `(N,)`.

| activation | f(z)                     | f'(z)                          |
|------------|--------------------------|--------------------------------|
| step       | 1 if z >= 0 else 0       | 0 (undefined at 0)             |
| sigmoid    | 1 / (1 + exp(-z))        | f(z) (1 - f(z))                |
| ReLU       | max(0, z)                | 1 if z > 0 else 0 (0 at z = 0) |

The step function's derivative is zero almost everywhere, which is why Rosenblatt's
perceptron is not trained by gradient descent but by its own rule: on a mistake,

    w <- w + lr (y - y_hat) x,    b <- b + lr (y - y_hat),    labels y in {0, 1}.

Numerical care: in float64 `exp(-z)` overflows for z below about -709: NumPy returns
`inf` with "RuntimeWarning: overflow encountered in exp". 1 / (1 + inf) happens to be 0,
but the other textbook form exp(z) / (1 + exp(z)) gives inf / inf = NaN for large z, and
a warning on every batch hides the ones that matter. Compute the sigmoid from
`exp(-|z|)`, which never overflows, choosing the form by the sign of z.

**Inputs are read-only.** No function here modifies an array (or a dict) it is given:
copy first (`x = np.array(x, dtype=np.float64)`) and return new objects. The grader
checks every call, because a caller that reuses its array would be silently wrong.

Read: Rosenblatt (1958); Goodfellow et al., *Deep Learning*, sections 6.3.1-6.3.2.
"""

import numpy as np


def step(z: np.ndarray) -> np.ndarray:
    """Heaviside step: 1.0 where z >= 0, else 0.0. Same shape as z, float dtype."""
    # YOUR CODE HERE
    raise NotImplementedError("perceptron-theory: implement step")


def step_grad(z: np.ndarray) -> np.ndarray:
    """Derivative of the step function: 0.0 everywhere (we take 0 at z = 0). Same shape as z."""
    # YOUR CODE HERE
    raise NotImplementedError("perceptron-theory: implement step_grad")


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic sigmoid 1 / (1 + exp(-z)), elementwise, finite for every finite z.

    Hint for stability: with e = exp(-|z|), sigmoid(z) = 1 / (1 + e) for z >= 0 and
    e / (1 + e) for z < 0.
    """
    # YOUR CODE HERE
    raise NotImplementedError("perceptron-theory: implement sigmoid")


def sigmoid_grad(z: np.ndarray) -> np.ndarray:
    """d sigmoid / dz at z: sigmoid(z) * (1 - sigmoid(z)). Same shape as z.

    Even in z and finite for every finite z. s * (1 - s) is accepted; it rounds to 0 for
    large positive z (1 - s is 0 in float64 once s rounds to 1), while the exact value,
    s * sigmoid(-z) (since 1 - sigmoid(z) = sigmoid(-z)), is 1.93e-22 at z = +-50.
    """
    # YOUR CODE HERE
    raise NotImplementedError("perceptron-theory: implement sigmoid_grad")


def relu(z: np.ndarray) -> np.ndarray:
    """Rectified linear unit max(0, z), elementwise."""
    # YOUR CODE HERE
    raise NotImplementedError("perceptron-theory: implement relu")


def relu_grad(z: np.ndarray) -> np.ndarray:
    """d relu / dz at z: 1.0 where z > 0, else 0.0 (0 at z = 0, as PyTorch does)."""
    # YOUR CODE HERE
    raise NotImplementedError("perceptron-theory: implement relu_grad")


def neuron(x: np.ndarray, w: np.ndarray, b: float, activation: str = "sigmoid") -> np.ndarray:
    """One neuron: activation(x @ w + b).

    x: (D,) for one sample or (N, D) for a batch; w: (D,); b: a number.
    activation: "step", "sigmoid", "relu" or "linear" (no activation).
    Returns a number's array of shape () for one sample, (N,) for a batch.
    """
    # YOUR CODE HERE
    raise NotImplementedError("perceptron-theory: implement neuron")


def perceptron_update(
    w: np.ndarray, b: float, x: np.ndarray, y: int, lr: float = 1.0
) -> tuple[np.ndarray, float]:
    """One step of the perceptron learning rule on one sample (x of shape (D,), y in {0, 1}).

    Predict y_hat = step(w . x + b); return the new (w, b):
    w + lr (y - y_hat) x and b + lr (y - y_hat). Nothing changes when y_hat == y.
    Return new arrays; do not modify w in place.
    """
    # YOUR CODE HERE
    raise NotImplementedError("perceptron-theory: implement perceptron_update")
