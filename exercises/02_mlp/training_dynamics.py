"""# Training dynamics: losses, steps, schedules, batches, a training loop

Training a network repeats one move: measure a **loss**, take its **gradient**, **step**
the parameters against it, with a **learning rate** that may change over time, on a
**batch** of samples drawn from the training set.

## Losses (each returns the loss and its gradient with respect to the prediction)

Mean squared error, averaged over *every element* (as `torch.nn.functional.mse_loss`):

    L = (1/M) sum_i (y_pred_i - y_i)^2          M = y_pred.size
    dL/dy_pred = 2 (y_pred - y) / M

Softmax cross-entropy for logits `Z` of shape `(N, C)` and integer labels `y` of shape
`(N,)`, averaged over the batch (as `torch.nn.functional.cross_entropy`):

    log p = Z - logsumexp(Z, axis=1)            logsumexp(z) = max z + log sum exp(z - max z)
    L = -(1/N) sum_n log p[n, y_n]
    dL/dZ = (softmax(Z) - onehot(y)) / N

Subtracting the row maximum before `exp` keeps it finite for logits in the thousands.

## Steps (on a model's dict of parameter arrays; build new ones, never modify the inputs)

    SGD:       p <- p - lr g                         for every parameter p with gradient g
    momentum:  v <- beta v + g,   p <- p - lr v      (PyTorch's SGD(momentum=beta), v starts at 0)

Other texts write momentum as `v <- beta v - lr g, p <- p + v` (the lr inside v), or as an
average `v <- beta v + (1 - beta) g`. The first gives the same steps for a constant lr but
a different `v`; the second takes steps `1 - beta` times smaller. This exercise uses
PyTorch's form and checks `v` too.

## Learning-rate schedules (`t` = 0, 1, 2, ... counts steps, or epochs)

    step decay:    lr0 gamma^floor(t / step_size)                     (torch StepLR)
    exponential:   lr0 gamma^t                                        (torch ExponentialLR)
    cosine:        lr_min + (lr_max - lr_min) (1 + cos(pi t / T)) / 2  for t <= T, then lr_min
    warm-up + cosine:  lr_max t / W for t < W, then the cosine above run from t = W to t = T

Cosine annealing is Loshchilov & Hutter (2017, SGDR); the linear warm-up is Goyal et al.
(2017). At the boundaries: step decay changes *at* t = step_size (not one step later),
cosine equals lr_max at t = 0 and lr_min at t = T, warm-up starts at 0 and reaches lr_max
at t = W exactly.

## Batches

Full-batch gradient descent uses all `n` samples per step, online (stochastic) learning
one sample, mini-batch learning `batch_size` samples. An epoch visits every sample once:
shuffle the indices with `np.random.default_rng(seed).permutation(n)`, then cut them into
consecutive slices of `batch_size`; the last slice holds the remainder. Shuffle every
epoch: on data sorted by class, unshuffled batches each hold one class, and each step
undoes part of the last one.

## The training loop

A one-hidden-layer MLP `logits = relu(X W1 + b1) W2 + b2` trained with the pieces above:
for every epoch, for every mini-batch: forward, loss, backward, then one momentum step on
the dict {W1, b1, W2, b2}. On a two-dimensional three-class spiral it reaches over 95% training
accuracy in a fraction of a second. The grader's spiral is built like this, if you want to
try it:

    rng = np.random.default_rng(0)
    r = np.tile(np.linspace(0.05, 1, 100), 3);  y = np.repeat(np.arange(3), 100)
    theta = 2 * np.pi * (y / 3 + r) + rng.normal(scale=0.2, size=300)
    X = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)

**Inputs are read-only.** No function here modifies an array (or a dict) it is given:
copy first (`x = np.array(x, dtype=np.float64)`) and return new objects. The grader
checks every call, because a caller that reuses its array would be silently wrong.

Read: Goodfellow, Bengio & Courville, *Deep Learning*, sections 6.2.2, 8.1.3 and 8.3;
Sutskever et al. (2013), "On the importance of initialization and momentum in deep
learning"; the PyTorch documentation of `torch.optim.SGD` and `torch.optim.lr_scheduler`.
"""

import numpy as np


def mse_loss(y_pred: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over all elements, and its gradient with respect to y_pred.

    y_pred, y: arrays of the same shape (any shape, e.g. (N,) or (N, K)).
    Returns (loss, grad): loss = mean((y_pred - y)**2), a number; grad = 2 (y_pred - y) / M
    with M = y_pred.size (every element, not only the N rows), of y_pred's shape.
    """
    # YOUR CODE HERE
    raise NotImplementedError("training-dynamics: implement mse_loss")


def cross_entropy_loss(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy averaged over the batch, and its gradient with respect to logits.

    logits: (N, C) scores; y: (N,) integer labels in 0..C-1.
    Returns (loss, grad): loss = -mean_n log softmax(logits)[n, y_n], a number;
    grad = (softmax(logits) - onehot(y)) / N, of shape (N, C).
    Must stay finite for logits of any size: subtract each row's maximum before exp.
    """
    # YOUR CODE HERE
    raise NotImplementedError("training-dynamics: implement cross_entropy_loss")


def sgd_step(
    params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lr: float
) -> dict[str, np.ndarray]:
    """One plain gradient-descent step on every parameter: params[k] - lr * grads[k].

    params, grads: dicts with the same keys (e.g. "W1", "b1"), each grads[k] of
    params[k]'s shape; lr > 0. Returns a new dict with the same keys and shapes.
    Do not modify params in place (no `params[k] -= ...` and no `params[k] = ...`).
    """
    # YOUR CODE HERE
    raise NotImplementedError("training-dynamics: implement sgd_step")


def momentum_step(
    params: dict[str, np.ndarray],
    grads: dict[str, np.ndarray],
    velocity: dict[str, np.ndarray],
    lr: float,
    beta: float,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One step of SGD with momentum in PyTorch's convention (torch.optim.SGD(momentum=beta)).

    params, grads, velocity: dicts with the same keys and shapes; before the first step
    every velocity[k] is zeros. For every key k:
        new_velocity[k] = beta * velocity[k] + grads[k]
        new_params[k]   = params[k] - lr * new_velocity[k]
    Returns (new_params, new_velocity), two new dicts (the inputs stay unchanged).
    """
    # YOUR CODE HERE
    raise NotImplementedError("training-dynamics: implement momentum_step")


def step_decay(lr0: float, step: int, step_size: int, gamma: float) -> float:
    """Step decay (torch StepLR): lr0 * gamma ** (step // step_size), a number.

    step = 0, 1, 2, ...; the rate is lr0 for steps 0..step_size-1 and first changes at
    step == step_size.
    """
    # YOUR CODE HERE
    raise NotImplementedError("training-dynamics: implement step_decay")


def exponential_decay(lr0: float, step: int, gamma: float) -> float:
    """Exponential decay (torch ExponentialLR): lr0 * gamma ** step, a number (lr0 at step 0).

    gamma is the factor per step (e.g. 0.95), not a rate inside exp(-k t).
    """
    # YOUR CODE HERE
    raise NotImplementedError("training-dynamics: implement exponential_decay")


def cosine_decay(lr_max: float, lr_min: float, step: int, total_steps: int) -> float:
    """Cosine annealing from lr_max at step 0 to lr_min at step total_steps, a number.

    lr = lr_min + (lr_max - lr_min) * (1 + cos(pi * step / total_steps)) / 2 for
    0 <= step <= total_steps (torch CosineAnnealingLR with T_max = total_steps,
    eta_min = lr_min), and lr_min for every step > total_steps. total_steps >= 1.
    """
    # YOUR CODE HERE
    raise NotImplementedError("training-dynamics: implement cosine_decay")


def warmup_cosine(
    lr_max: float, lr_min: float, step: int, warmup_steps: int, total_steps: int
) -> float:
    """Linear warm-up from 0 to lr_max, then cosine annealing to lr_min, a number.

    step < warmup_steps:  lr = lr_max * step / warmup_steps  (0 at step 0);
    step >= warmup_steps: cosine_decay(lr_max, lr_min, step - warmup_steps,
                          total_steps - warmup_steps), so lr = lr_max at step == warmup_steps,
                          lr_min at step == total_steps and after.
    0 <= warmup_steps < total_steps; warmup_steps = 0 is plain cosine decay.
    """
    # YOUR CODE HERE
    raise NotImplementedError("training-dynamics: implement warmup_cosine")


def minibatches(n: int, batch_size: int, seed: int, shuffle: bool = True) -> list[np.ndarray]:
    """The index batches of one epoch over n samples, as a list of integer arrays.

    Order: np.random.default_rng(seed).permutation(n) when shuffle, else 0, 1, ..., n-1.
    Cut it into consecutive slices order[0:batch_size], order[batch_size:2*batch_size], ...;
    every index appears exactly once, all batches have batch_size indices except the last,
    which has the remainder (n % batch_size) when it is not 0. batch_size = n gives one
    batch (full-batch descent), batch_size = 1 gives n batches (online learning);
    batch_size > n gives one batch of all n.
    """
    # YOUR CODE HERE
    raise NotImplementedError("training-dynamics: implement minibatches")


def train_mlp(
    X: np.ndarray,
    y: np.ndarray,
    hidden: int,
    lr: float,
    epochs: int,
    batch_size: int,
    seed: int,
    beta: float = 0.9,
) -> tuple[dict[str, np.ndarray], list[float], float]:
    """Train a one-hidden-layer ReLU MLP classifier with mini-batch SGD + momentum.

    X: (N, D) inputs; y: (N,) integer labels in 0..C-1 with C = y.max() + 1.
    Model: logits = relu(X @ W1 + b1) @ W2 + b2, with W1 (D, hidden), b1 (hidden,),
    W2 (hidden, C), b2 (C,); loss: cross_entropy_loss on each mini-batch.
    Recipe (follow it exactly: the grader replays your run step by step, which is how a
    training loop is debugged, since any seeded run can be reproduced):
      rng = np.random.default_rng(seed)
      W1 = rng.normal(size=(D, hidden)) * sqrt(2 / D), drawn first, then
      W2 = rng.normal(size=(hidden, C)) * sqrt(2 / hidden)   (He initialisation: the
        variance 2 / fan_in keeps ReLU activations from shrinking or exploding);
      b1, b2 and every velocity start at zero;
      epoch e iterates over minibatches(N, batch_size, seed + e) (a new order each epoch);
      each batch: forward, cross_entropy_loss, backward, then
      momentum_step(params, grads, velocity, lr, beta).
    Returns (params, losses, accuracy):
      params   {"W1", "b1", "W2", "b2"} after training;
      losses   a list of `epochs` numbers, losses[e] = the mean of epoch e's batch losses;
      accuracy the fraction of X classified correctly by the final params (argmax of logits).
    Same arguments, same result: seed every random choice.
    """
    # YOUR CODE HERE
    raise NotImplementedError("training-dynamics: implement train_mlp")
