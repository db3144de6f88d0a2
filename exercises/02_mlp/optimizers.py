"""# Advanced optimizers: AdaGrad, RMSprop, Adam, AdamW and learning-rate decay

Plain gradient descent uses one learning rate for every parameter. On a badly scaled
problem that rate must be small enough for the steepest direction, and the flat
directions then crawl. **Adaptive** methods divide each coordinate's step by a running
measure of its own gradient size, so every coordinate moves at a similar pace.

Every update below acts elementwise on one parameter array `p` (any shape) with its
gradient `g` (same shape). A model with many arrays keeps one state per array.
`t` counts the steps taken, *including the current one*: it is 1 on the first step.

## AdaGrad (Duchi, Hazan & Singer, 2011)

    s   <- s + g^2                       sum of every squared gradient so far (s starts at 0)
    lr_t = lr / (1 + (t - 1) lr_decay)    torch's optional inverse-time decay, lr on step 1
    p   <- p - lr_t g / (sqrt(s) + eps)

`s` only grows, so AdaGrad's steps shrink forever: good for sparse features, too timid
for long non-convex training.

## RMSprop (Hinton, Coursera lecture 6e, 2012)

    s <- alpha s + (1 - alpha) g^2        an exponential moving *average* (s starts at 0)
    p <- p - lr g / (sqrt(s) + eps)

The average forgets old gradients, so the step size does not die out.

## Adam (Kingma & Ba, 2015)

    m <- beta1 m + (1 - beta1) g          first moment (m, v start at 0)
    v <- beta2 v + (1 - beta2) g^2        second moment
    m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)     bias correction, t = 1, 2, ...
    p <- p - lr m_hat / (sqrt(v_hat) + eps)

Because m and v start at 0 they are biased towards 0 early on; dividing by
`1 - beta^t` removes that bias (at t = 1, m_hat = g and v_hat = g^2 exactly, so the first
step moves every coordinate by about lr). In every method here **eps sits outside the
square root**, as in torch.optim: `sqrt(v_hat) + eps`, not `sqrt(v_hat + eps)`.

## Weight decay: L2 (Adam) versus decoupled (AdamW)

`torch.optim.Adagrad`, `RMSprop` and `Adam` implement `weight_decay` as an **L2 penalty**:
the gradient becomes `g + weight_decay p` *before* anything else, so the decay also passes
through the adaptive scaling (and through m and v).

`torch.optim.AdamW` (Loshchilov & Hutter, 2019) **decouples** it: first shrink the
parameter, `p <- p - lr weight_decay p`, then take the plain Adam step with the raw
gradient `g`. The adaptive scaling never sees the decay, which is why AdamW regularises
as intended. For SGD the two are the same; for Adam they are not.

## State (plain dicts, returned and passed back in)

Each step function takes the state returned by its previous call (`{}` before the first
step) and returns `(new_param, new_state)`, both new objects; never modify the inputs.

| optimizer | state keys (arrays shaped like p, t an int) | torch's names |
|-----------|---------------------------------------------|---------------|
| AdaGrad   | `t`, `sum`                                  | step, sum |
| RMSprop   | `square_avg`                                | square_avg |
| Adam(W)   | `t`, `m`, `v` (m, v *before* bias correction) | step, exp_avg, exp_avg_sq |

## Learning-rate decay

Inverse-time decay (Robbins & Monro's 1/t family): `lr_t = lr0 / (1 + k t)` for
t = 0, 1, 2, ... (closed form; do not apply it recursively to the previous rate).

Reduce on plateau (torch `ReduceLROnPlateau`, mode "min", relative threshold): after each
epoch's loss L, if `L < best (1 - threshold)` it is an improvement (best <- L, bad <- 0),
otherwise bad <- bad + 1; when `bad > patience`, lr <- lr factor and bad <- 0. best starts
at +infinity, so the first loss is always an improvement.

**Inputs are read-only.** No function here modifies an array (or a dict) it is given:
copy first (`x = np.array(x, dtype=np.float64)`) and return new objects. The grader
checks every call, because a caller that reuses its array would be silently wrong.

Read: Goodfellow, Bengio & Courville, *Deep Learning*, section 8.5; Kingma & Ba (2015),
"Adam: a method for stochastic optimization"; Loshchilov & Hutter (2019), "Decoupled
weight decay regularization"; the PyTorch documentation of `torch.optim`.
"""

import numpy as np


def adagrad_step(
    param: np.ndarray,
    grad: np.ndarray,
    state: dict,
    lr: float = 0.01,
    eps: float = 1e-10,
    weight_decay: float = 0.0,
    lr_decay: float = 0.0,
) -> tuple[np.ndarray, dict]:
    """One AdaGrad step, exactly as torch.optim.Adagrad (initial_accumulator_value = 0).

    param, grad: arrays of the same shape (any shape).
    state: {} before the first step, else the state this function returned last time:
        {"t": steps taken so far (an int), "sum": running sum of squared gradients, param's shape}.
    With t = old t + 1 and g = grad + weight_decay * param (L2, added first):
        sum_new = sum + g**2
        lr_t    = lr / (1 + (t - 1) * lr_decay)      (inverse_time_decay(lr, t - 1, lr_decay))
        p_new   = param - lr_t * g / (sqrt(sum_new) + eps)     eps outside the sqrt
    Returns (p_new, {"t": t, "sum": sum_new}), new objects; the inputs stay unchanged.
    Ref: Duchi, Hazan & Singer (2011), "Adaptive subgradient methods".
    """
    # YOUR CODE HERE
    raise NotImplementedError("optimizers: implement adagrad_step")


def rmsprop_step(
    param: np.ndarray,
    grad: np.ndarray,
    state: dict,
    lr: float = 0.01,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
) -> tuple[np.ndarray, dict]:
    """One RMSprop step, exactly as torch.optim.RMSprop (no momentum, not centered).

    param, grad: arrays of the same shape (any shape).
    state: {} before the first step, else {"square_avg": array of param's shape}.
    With g = grad + weight_decay * param (L2, added first):
        square_avg_new = alpha * square_avg + (1 - alpha) * g**2     (square_avg starts at 0)
        p_new          = param - lr * g / (sqrt(square_avg_new) + eps)
    Returns (p_new, {"square_avg": square_avg_new}), new objects; the inputs stay unchanged.
    Ref: Hinton, Srivastava & Swersky, Coursera "Neural networks for machine learning", lecture 6e.
    """
    # YOUR CODE HERE
    raise NotImplementedError("optimizers: implement rmsprop_step")


def adam_step(
    param: np.ndarray,
    grad: np.ndarray,
    state: dict,
    lr: float = 0.001,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
) -> tuple[np.ndarray, dict]:
    """One Adam step, exactly as torch.optim.Adam (weight decay as L2, amsgrad off).

    param, grad: arrays of the same shape (any shape); betas = (beta1, beta2).
    state: {} before the first step, else {"t": int, "m": array, "v": array} (param's shape).
    With t = old t + 1 (so t = 1 on the first step) and g = grad + weight_decay * param:
        m_new = beta1 * m + (1 - beta1) * g            (m, v start at 0)
        v_new = beta2 * v + (1 - beta2) * g**2
        m_hat = m_new / (1 - beta1**t),  v_hat = v_new / (1 - beta2**t)
        p_new = param - lr * m_hat / (sqrt(v_hat) + eps)
    Returns (p_new, {"t": t, "m": m_new, "v": v_new}); the state keeps m and v uncorrected.
    New objects: param and state stay unchanged (no param -= ..., no state["m"] = ...).
    Ref: Kingma & Ba (2015), "Adam: a method for stochastic optimization", Algorithm 1.
    """
    # YOUR CODE HERE
    raise NotImplementedError("optimizers: implement adam_step")


def adamw_step(
    param: np.ndarray,
    grad: np.ndarray,
    state: dict,
    lr: float = 0.001,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.01,
) -> tuple[np.ndarray, dict]:
    """One AdamW step, exactly as torch.optim.AdamW: decoupled weight decay, then Adam.

    Same arguments and state as adam_step. The decay is applied to the parameter first,
    and the Adam moments see the raw gradient:
        p_decayed = param - lr * weight_decay * param
        then adam_step's update with g = grad (no weight_decay term) applied to p_decayed:
        p_new = p_decayed - lr * m_hat / (sqrt(v_hat) + eps)
    Returns (p_new, {"t": t, "m": m_new, "v": v_new}), new objects; the inputs stay unchanged.
    Ref: Loshchilov & Hutter (2019), "Decoupled weight decay regularization", Algorithm 2.
    """
    # YOUR CODE HERE
    raise NotImplementedError("optimizers: implement adamw_step")


def inverse_time_decay(lr0: float, t: int, k: float) -> float:
    """Inverse-time decay: lr0 / (1 + k * t), a number, for t = 0, 1, 2, ... (lr0 at t = 0).

    A closed form of t (not the previous rate divided again). k >= 0; k = 0 keeps lr0.
    """
    # YOUR CODE HERE
    raise NotImplementedError("optimizers: implement inverse_time_decay")


def reduce_on_plateau(
    losses: list[float],
    lr0: float,
    factor: float = 0.1,
    patience: int = 10,
    threshold: float = 1e-4,
) -> np.ndarray:
    """The learning rates torch's ReduceLROnPlateau(mode="min") sets after each epoch's loss.

    losses: the validation loss of each epoch, L_0, L_1, ... (positive numbers).
    Start with lr = lr0, best = +inf, bad = 0; for each loss L, in order:
        if L < best * (1 - threshold):  best = L; bad = 0     (a relative improvement)
        else:                           bad = bad + 1
        if bad > patience:              lr = lr * factor; bad = 0
        record lr
    Returns a float array of shape (len(losses),): entry i is the rate after loss i.
    (torch's cooldown = 0 and min_lr = 0 here.)
    """
    # YOUR CODE HERE
    raise NotImplementedError("optimizers: implement reduce_on_plateau")
