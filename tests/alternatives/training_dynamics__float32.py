"""[Computed in the question's dtype: float32 when every floating input is float32, else
float64; a float32 answer to a float64 question is graded at float64.] A correct training-dynamics computed in float32 throughout (losses, steps, step decay, training)."""

import functools

import numpy as np

F32 = np.float32  # the dtype of the current call, set by _in_inputs_dtype


def _floating(x):
    if isinstance(x, np.ndarray | np.floating):
        return [x.dtype] if np.issubdtype(x.dtype, np.floating) else []
    if isinstance(x, list | tuple | dict):
        return [d for v in (x.values() if isinstance(x, dict) else x) for d in _floating(v)]
    return []


def _in_inputs_dtype(fn):
    """Run `fn` in float32 when its floating inputs are all float32, else in float64."""

    @functools.wraps(fn)
    def call(*args, **kwargs):
        global F32
        saved, found = F32, _floating([args, kwargs])
        F32 = np.float32 if found and all(d == np.float32 for d in found) else np.float64
        try:
            return fn(*args, **kwargs)
        finally:
            F32 = saved

    return call


def mse_loss(y_pred: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over all elements, and its gradient with respect to y_pred.

    y_pred, y: arrays of the same shape (any shape, e.g. (N,) or (N, K)).
    Returns (loss, grad): loss = mean((y_pred - y)**2), a number; grad = 2 (y_pred - y) / M
    with M = y_pred.size (every element, not only the N rows), of y_pred's shape.
    """
    y_pred, y = np.asarray(y_pred, dtype=F32), np.asarray(y, dtype=F32)
    diff = y_pred - y
    return float(np.mean(diff**2)), 2 * diff / diff.size


def cross_entropy_loss(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy averaged over the batch, and its gradient with respect to logits.

    logits: (N, C) scores; y: (N,) integer labels in 0..C-1.
    Returns (loss, grad): loss = -mean_n log softmax(logits)[n, y_n], a number;
    grad = (softmax(logits) - onehot(y)) / N, of shape (N, C).
    Must stay finite for logits of any size: subtract each row's maximum before exp.
    """
    logits = np.asarray(logits, dtype=F32)
    n = logits.shape[0]
    rows, y = np.arange(n), np.asarray(y, dtype=np.int64)
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    grad = np.exp(log_p)
    grad[rows, y] -= 1
    return float(-log_p[rows, y].mean()), grad / n


def sgd_step(
    params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lr: float
) -> dict[str, np.ndarray]:
    """One plain gradient-descent step on every parameter: params[k] - lr * grads[k].

    params, grads: dicts with the same keys (e.g. "W1", "b1"), each grads[k] of
    params[k]'s shape; lr > 0. Returns a new dict with the same keys and shapes.
    Do not modify params in place (no `params[k] -= ...` and no `params[k] = ...`).
    """
    lr = F32(lr)
    return {k: F32(params[k]) - lr * F32(grads[k]) for k in params}


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
    lr, beta = F32(lr), F32(beta)
    new_velocity = {k: beta * F32(velocity[k]) + F32(grads[k]) for k in params}
    return {k: F32(params[k]) - lr * new_velocity[k] for k in params}, new_velocity


def step_decay(lr0: float, step: int, step_size: int, gamma: float) -> float:
    """Step decay (torch StepLR): lr0 * gamma ** (step // step_size), a number.

    step = 0, 1, 2, ...; the rate is lr0 for steps 0..step_size-1 and first changes at
    step == step_size.
    """
    return F32(lr0) * F32(gamma) ** F32(step // step_size)


def exponential_decay(lr0: float, step: int, gamma: float) -> float:
    """Exponential decay (torch ExponentialLR): lr0 * gamma ** step, a number (lr0 at step 0).

    gamma is the factor per step (e.g. 0.95), not a rate inside exp(-k t).
    """
    return float(lr0 * gamma**step)


def cosine_decay(lr_max: float, lr_min: float, step: int, total_steps: int) -> float:
    """Cosine annealing from lr_max at step 0 to lr_min at step total_steps, a number.

    lr = lr_min + (lr_max - lr_min) * (1 + cos(pi * step / total_steps)) / 2 for
    0 <= step <= total_steps (torch CosineAnnealingLR with T_max = total_steps,
    eta_min = lr_min), and lr_min for every step > total_steps. total_steps >= 1.
    """
    if step >= total_steps:
        return float(lr_min)
    return float(lr_min + (lr_max - lr_min) * (1 + np.cos(np.pi * step / total_steps)) / 2)


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
    if step < warmup_steps:
        return float(lr_max * step / warmup_steps)
    return cosine_decay(lr_max, lr_min, step - warmup_steps, total_steps - warmup_steps)


def minibatches(n: int, batch_size: int, seed: int, shuffle: bool = True) -> list[np.ndarray]:
    """The index batches of one epoch over n samples, as a list of integer arrays.

    Order: np.random.default_rng(seed).permutation(n) when shuffle, else 0, 1, ..., n-1.
    Cut it into consecutive slices order[0:batch_size], order[batch_size:2*batch_size], ...;
    every index appears exactly once, all batches have batch_size indices except the last,
    which has the remainder (n % batch_size) when it is not 0. batch_size = n gives one
    batch (full-batch descent), batch_size = 1 gives n batches (online learning);
    batch_size > n gives one batch of all n.
    """
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


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
    The recipe of the exercise, computed in float32.
    Returns (params, losses, accuracy):
      params   {"W1", "b1", "W2", "b2"} after training;
      losses   a list of `epochs` numbers, losses[e] = the mean of epoch e's batch losses;
      accuracy the fraction of X classified correctly by the final params (argmax of logits).
    Same arguments, same result: seed every random choice.
    """
    X, y = np.asarray(X, dtype=F32), np.asarray(y, dtype=np.int64)
    n, d = X.shape
    classes = int(y.max()) + 1
    rng = np.random.default_rng(seed)
    params = {
        "W1": (rng.normal(size=(d, hidden)) * np.sqrt(2.0 / d)).astype(F32),
        "b1": np.zeros(hidden, F32),
        "W2": (rng.normal(size=(hidden, classes)) * np.sqrt(2.0 / hidden)).astype(F32),
        "b2": np.zeros(classes, F32),
    }
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    losses = []
    for epoch in range(epochs):
        batch_losses = []
        for idx in minibatches(n, batch_size, seed + epoch):
            xb, yb = X[idx], y[idx]
            pre = xb @ params["W1"] + params["b1"]
            h = np.maximum(pre, 0)
            loss, dlogits = cross_entropy_loss(h @ params["W2"] + params["b2"], yb)
            dpre = (dlogits @ params["W2"].T) * (pre > 0)
            grads = {
                "W1": xb.T @ dpre,
                "b1": dpre.sum(axis=0),
                "W2": h.T @ dlogits,
                "b2": dlogits.sum(axis=0),
            }
            params, velocity = momentum_step(params, grads, velocity, lr, beta)
            batch_losses.append(loss)
        losses.append(float(np.mean(batch_losses)))
    logits = np.maximum(X @ params["W1"] + params["b1"], 0) @ params["W2"] + params["b2"]
    return params, losses, float(np.mean(logits.argmax(axis=1) == y))


# every exercise function computes in its question's dtype
for _name, _fn in list(globals().items()):
    if not _name.startswith("_") and getattr(_fn, "__module__", None) == __name__:
        globals()[_name] = _in_inputs_dtype(_fn)
