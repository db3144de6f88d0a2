"""# The perceptron: training, decision boundaries and XOR

Rosenblatt's perceptron classifies a sample `x` (shape `(D,)`) with a hyperplane:

    y_hat = step(w . x + b),      step(z) = 1 if z >= 0 else 0,      labels y in {0, 1}

For a batch `X` of shape `(N, D)` the predictions are `step(X @ w + b)`, shape `(N,)`.

**Training.** Start from `w0` (zeros by default) and `b0`. One *epoch* visits the samples
once, in the order given. For each sample, predict with the *current* `(w, b)`; if the
prediction is wrong, update

    w <- w + lr (y - y_hat) x,        b <- b + lr (y - y_hat),

and count a mistake. A right prediction changes nothing. The number of mistakes made
during an epoch is that epoch's entry in the history. An epoch without a mistake means
every sample is classified correctly by the current `(w, b)`: training stops there, so
the history of a run that separated the data ends with 0.

**Convergence (Novikoff, 1962).** If some unit vector separates the data with margin
`gamma` and every (x, 1) has norm at most `R`, the perceptron started from zero makes at
most `(R / gamma)^2` mistakes in total, whatever the order of the samples. So it separates
separable data in finitely many epochs. (Starting from zero, `lr` only rescales `w` and
`b`: the predictions, and hence the mistakes, are the same for every `lr > 0`.)

**The decision boundary** is the set `w . x + b = 0`: in 2-D the line
`w[0] x + w[1] y + b = 0`, i.e. `y = -(w[0] x + b) / w[1]` when `w[1] != 0`. Points with
`w . x + b >= 0` are labelled 1. For a filled plot, predict on a grid:
`xs = linspace(x_min, x_max, n)`, `ys = linspace(y_min, y_max, n)` and
`grid[i, j] = prediction at (xs[j], ys[i])` (rows follow y, columns follow x, which is
what `np.meshgrid(xs, ys)` gives and what `plt.contourf(xs, ys, grid)` expects).

**XOR.** The points (0,0), (1,1) with label 0 and (0,1), (1,0) with label 1 cannot be
split by one line: `w . x + b` would need (0,0): b < 0, (1,1): w0 + w1 + b < 0, yet
(0,1): w1 + b >= 0 and (1,0): w0 + b >= 0; adding the last two gives w0 + w1 + 2b >= 0,
which contradicts the first two added. An epoch without a mistake would be such a line, so
on XOR every epoch has at least one mistake, forever (Minsky and Papert, 1969). A hidden
layer fixes this: Phase 2.

**Inputs are read-only.** No function here modifies an array (or a dict) it is given:
copy first (`x = np.array(x, dtype=np.float64)`) and return new objects. The grader
checks every call, because a caller that reuses its array would be silently wrong.

Read: Rosenblatt (1958); Novikoff (1962), *On convergence proofs for perceptrons*;
Minsky and Papert (1969), *Perceptrons*; Bishop, *Pattern Recognition and Machine
Learning*, section 4.1.7; Goodfellow et al., *Deep Learning*, section 6.1 (learning XOR).
"""

import numpy as np


def predict(X: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """Perceptron predictions step(X @ w + b) for a batch.

    X: (N, D) samples; w: (D,) weights; b: a number.
    Returns (N,) labels in {0, 1} as integers (or floats 0.0 / 1.0, not booleans);
    the label is 1 where X @ w + b >= 0, so a point exactly on the boundary gets 1.
    """
    # YOUR CODE HERE
    raise NotImplementedError("perceptron: implement predict")


def train_perceptron(
    X: np.ndarray,
    y: np.ndarray,
    lr: float = 1.0,
    epochs: int = 100,
    w0: np.ndarray | None = None,
    b0: float = 0.0,
) -> tuple[np.ndarray, float, list[int]]:
    """Train a perceptron with the mistake-driven rule; return (w, b, mistakes_per_epoch).

    X: (N, D) samples; y: (N,) labels in {0, 1}; lr > 0; w0: (D,) initial weights
    (None means zeros); b0: initial bias.
    Each epoch visits the samples in the given order (no shuffling). For each sample,
    predict y_hat = step(w . x_i + b) with the current (w, b) (step(0) = 1); only if
    y_hat != y_i: w <- w + lr (y_i - y_hat) x_i, b <- b + lr (y_i - y_hat), and count a
    mistake. Append the epoch's count to the history (mistakes made *during* the epoch);
    stop after the first epoch with 0 mistakes, or after `epochs` epochs.
    Returns w: (D,) floats, b: a float, mistakes_per_epoch: a list of ints with one entry
    per epoch run (at most `epochs`; it ends with 0 if the data were separated).
    Do not modify X, y or w0.
    """
    # YOUR CODE HERE
    raise NotImplementedError("perceptron: implement train_perceptron")


def decision_boundary(w: np.ndarray, b: float, xs: np.ndarray) -> np.ndarray:
    """The 2-D decision boundary w[0] x + w[1] y + b = 0 solved for y at each x in xs.

    w: (2,) weights with w[1] != 0; b: a number; xs: (M,) x-coordinates.
    Returns ys: (M,) with ys = -(w[0] xs + b) / w[1], so every (xs[k], ys[k]) is on the line.
    """
    # YOUR CODE HERE
    raise NotImplementedError("perceptron: implement decision_boundary")


def decision_grid(
    w: np.ndarray, b: float, x_range: tuple[float, float], y_range: tuple[float, float], n: int
) -> np.ndarray:
    """Predictions of a 2-D perceptron on an n-by-n grid, for plotting its decision regions.

    w: (2,); b: a number; x_range = (x_min, x_max), y_range = (y_min, y_max); n >= 1.
    With xs = np.linspace(x_min, x_max, n) and ys = np.linspace(y_min, y_max, n),
    returns grid: (n, n) with grid[i, j] = prediction (0 or 1, step(0) = 1) at the point
    (xs[j], ys[i]): row i is the horizontal line y = ys[i] (np.meshgrid's default "xy"
    indexing, ready for plt.contourf(xs, ys, grid)).
    """
    # YOUR CODE HERE
    raise NotImplementedError("perceptron: implement decision_grid")


def xor_experiment(
    epochs: int = 20, lr: float = 1.0, w0: np.ndarray | None = None, b0: float = 0.0
) -> tuple[np.ndarray, float, list[int]]:
    """Train a perceptron on XOR for `epochs` epochs; return (w, b, mistakes_per_epoch).

    The data, in this order: X = [[0, 0], [0, 1], [1, 0], [1, 1]], y = [0, 1, 1, 0]
    (1 when the two inputs differ). Train with the rule of train_perceptron from w0 (zeros
    if None) and b0, and return what it returns: w (2,), b a float, and the mistakes per
    epoch. XOR is not linearly separable, so whatever the start and the learning rate no
    epoch is mistake-free and training never stops early: the history is a list of
    `epochs` ints, each >= 1.
    """
    # YOUR CODE HERE
    raise NotImplementedError("perceptron: implement xor_experiment")
