"""# Overfitting prevention: penalties, dropout, early stopping, augmentation

A network with enough parameters can memorise its training set. Four standard remedies:

## 1. Parameter norm penalties

Add a penalty on the **weights** to the data loss, `L = L_data + R(params)`:

| penalty | R, summed over the weight matrices W | dR / dW       |
|---------|--------------------------------------|---------------|
| L2      | (lam / 2) * sum(W ** 2)              | lam * W       |
| L1      | lam * sum(abs(W))                    | lam * sign(W) |

**Biases are not penalised** (they multiply no input, so they cannot make the fit wiggle):
with `params = [(W1, b1), ..., (WL, bL)]`, as in forward-propagation, every bias gets a zero
gradient. The 1/2 in L2 makes its gradient `lam * W`, exactly what
`torch.optim.SGD(weight_decay=lam)` adds ("weight decay": a plain SGD step shrinks W by the
factor 1 - lr * lam). `abs` has no derivative at 0; we use `sign(0) = 0`, as `np.sign` and
PyTorch do. L1 drives weights to exactly 0 (sparsity); L2 only shrinks them.

## 2. Inverted dropout

During training each unit is **dropped** (set to 0) with probability `p` and each kept unit
is scaled by `1 / (1 - p)`, so the expectation is unchanged: `E[out] = x`. At evaluation
nothing is dropped and nothing is scaled: the layer is the identity. (The original paper
scaled by `1 - p` at test time instead; "inverted" dropout moves that scale into training.)

    keep = rng.random(x.shape) >= p          rng = np.random.default_rng(seed)
    out  = x * keep / (1 - p)                dx  = dout * keep / (1 - p)

Here `p` is the probability of **dropping**, as in `torch.nn.Dropout(p)` (CS231n's notes
use the keep probability instead: read the convention before you copy code).

## 3. Early stopping

Watch the validation loss after every epoch `t = 0, 1, 2, ...`. Epoch `t` is an
**improvement** when `val[t] < best - min_delta` (strictly: a tie is not an improvement);
then `best = val[t]`, `best_epoch = t` and the wait counter resets to 0. Otherwise the
counter grows by 1, and training stops after the epoch where it reaches `patience`, so
`stop_epoch = best_epoch + patience` unless the losses run out first. Finally restore the
weights of `best_epoch`, not those of the last epoch.

## 4. Data augmentation

New training samples from old ones, by transformations that keep the label: Gaussian
noise `x + std * z` with `z ~ N(0, 1)`, horizontal flips (reverse the width axis), and
shifts by a few pixels with **zero fill** (pixels that come in from outside are 0; nothing
wraps around). Images are `(N, H, W)` or `(N, C, H, W)`: the last two axes are height and
width. Positive `dx` moves the content right, positive `dy` moves it down.

Every random function takes a `seed` and draws exactly as its docstring says, so your
result can be checked value by value. No function modifies its inputs.

**Inputs are read-only.** No function here modifies an array (or a dict) it is given:
copy first (`x = np.array(x, dtype=np.float64)`) and return new objects. The grader
checks every call, because a caller that reuses its array would be silently wrong.

Read: Goodfellow, Bengio and Courville, *Deep Learning* (2016), sections 7.1 (norm
penalties), 7.4 (dataset augmentation), 7.8 (early stopping) and 7.12 (dropout);
Srivastava et al., "Dropout: a simple way to prevent neural networks from overfitting",
JMLR 15 (2014); Prechelt, "Early stopping - but when?" (1998).
"""

import numpy as np


def l2_penalty(
    params: list[tuple[np.ndarray, np.ndarray]], lam: float
) -> tuple[float, list[tuple[np.ndarray, np.ndarray]]]:
    """L2 penalty (lam / 2) * sum over layers of sum(W**2), and its gradient.

    params: a list (or tuple) of L >= 1 pairs (W_l, b_l), W_l of shape (D_{l-1}, D_l) and
    b_l of shape (D_l,). Only the weights are penalised, not the biases.
    lam: the regularisation strength (a number >= 0).
    Returns (penalty, grads): penalty a number; grads a list of L pairs (dW_l, db_l) of
    the shapes of (W_l, b_l): dW_l = lam * W_l and db_l = zeros.
    """
    # YOUR CODE HERE
    raise NotImplementedError("regularization: implement l2_penalty")


def l1_penalty(
    params: list[tuple[np.ndarray, np.ndarray]], lam: float
) -> tuple[float, list[tuple[np.ndarray, np.ndarray]]]:
    """L1 penalty lam * sum over layers of sum(|W|), and its (sub)gradient.

    params: a list (or tuple) of L pairs (W_l, b_l) as in l2_penalty; only the weights are
    penalised. Returns (penalty, grads): penalty a number; grads a list of L pairs
    (dW_l, db_l) of the shapes of (W_l, b_l): dW_l = lam * sign(W_l), with sign(0) = 0,
    and db_l = zeros.
    """
    # YOUR CODE HERE
    raise NotImplementedError("regularization: implement l1_penalty")


def dropout_forward(
    x: np.ndarray, p: float, train: bool = True, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Inverted dropout on activations x of any shape; p is the probability of DROPPING a unit.

    Training (train=True): draw exactly
        keep = np.random.default_rng(seed).random(x.shape) >= p
    and return (x * keep / (1 - p), mask) with mask = keep as 0.0 / 1.0 numbers of x's dtype.
    Evaluation (train=False): return (x, ones of x's shape): no drop, no scaling, no draw.
    0 <= p < 1. out and mask have x's shape; x is not modified.
    """
    # YOUR CODE HERE
    raise NotImplementedError("regularization: implement dropout_forward")


def dropout_backward(dout: np.ndarray, mask: np.ndarray, p: float) -> np.ndarray:
    """Gradient of training-mode inverted dropout: dx = dout * mask / (1 - p).

    dout: the upstream gradient dL/dout, of x's shape; mask: the 0/1 mask that
    dropout_forward returned for the same call; p: the same drop probability.
    Returns dx, of dout's shape.
    """
    # YOUR CODE HERE
    raise NotImplementedError("regularization: implement dropout_backward")


def early_stopping(
    val_losses: list[float], patience: int, min_delta: float = 0.0
) -> tuple[int, int]:
    """Where early stopping stops on a sequence of validation losses, one per epoch.

    Epochs are numbered from 0 (the index in val_losses). Epoch 0 always improves on
    best = +inf. Epoch t improves when val_losses[t] < best - min_delta (strict: a tie is
    not an improvement); then best = val_losses[t], best_epoch = t and the wait counter
    resets to 0; otherwise the counter grows by 1. Training stops after the first epoch at
    which the counter equals patience (patience >= 1). Returns (stop_epoch, best_epoch):
    the last epoch trained (len(val_losses) - 1 if the counter never reaches patience) and
    the last epoch that improved.
    """
    # YOUR CODE HERE
    raise NotImplementedError("regularization: implement early_stopping")


def restore_best(
    weights_per_epoch: list[list[tuple[np.ndarray, np.ndarray]]],
    val_losses: list[float],
    patience: int,
    min_delta: float = 0.0,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The weights early stopping restores: those saved at best_epoch (see early_stopping).

    weights_per_epoch[t] is the parameter list [(W_1, b_1), ...] saved after epoch t, one per
    val_losses entry. Only the epochs up to stop_epoch were trained: later entries must not
    influence the choice. Returns that epoch's parameter list (same pairs, same arrays).
    """
    # YOUR CODE HERE
    raise NotImplementedError("regularization: implement restore_best")


def add_noise(x: np.ndarray, std: float, seed: int) -> np.ndarray:
    """Gaussian noise augmentation: x + std * z, z drawn exactly as
    np.random.default_rng(seed).standard_normal(x.shape) (or, the same numbers,
    rng.normal(0.0, std, size=x.shape)): std is a standard deviation, not a variance.
    x: any shape; returns an array of x's shape; x is not modified.
    """
    # YOUR CODE HERE
    raise NotImplementedError("regularization: implement add_noise")


def flip_horizontal(images: np.ndarray) -> np.ndarray:
    """Mirror every image left to right: reverse the width (last) axis.

    images: (N, H, W) or (N, C, H, W). Returns an array of the same shape with
    out[..., i, j] = images[..., i, W - 1 - j]. The batch, channel and height axes are untouched.
    """
    # YOUR CODE HERE
    raise NotImplementedError("regularization: implement flip_horizontal")


def shift(images: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """Translate every image by dx pixels right and dy pixels down, filling with zeros.

    images: (N, H, W) or (N, C, H, W). out[..., i, j] = images[..., i - dy, j - dx] when
    0 <= i - dy < H and 0 <= j - dx < W, else 0 (nothing wraps around). Negative dx moves
    left, negative dy moves up; |dx| >= W or |dy| >= H gives all zeros. Same shape as images.
    """
    # YOUR CODE HERE
    raise NotImplementedError("regularization: implement shift")


def random_shift(images: np.ndarray, max_shift: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shift each image by its own random (dx, dy), each uniform on {-max_shift, ..., max_shift}.

    Draw all shifts in one call:
        shifts = np.random.default_rng(seed).integers(-max_shift, max_shift + 1, size=(N, 2))
    (column 0 is dx, column 1 is dy; the upper bound of integers is exclusive), then
    out[n] = image n shifted as in shift(), with zero fill.
    images: (N, H, W) or (N, C, H, W). Returns (out of images' shape, shifts of shape (N, 2)).
    """
    # YOUR CODE HERE
    raise NotImplementedError("regularization: implement random_shift")
