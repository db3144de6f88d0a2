"""# Calculus and optimisation: gradients by hand, by differences, and downhill

Training a network is minimising a scalar loss f(x) over many parameters x. The
**gradient** collects the partial derivatives, `grad f(x)[i] = d f / d x[i]`, and has the
shape of x; it points uphill, so we step the other way.

**Checking a gradient numerically.** With e_i the i-th unit vector,

    d f / d x[i]  ~  (f(x + h e_i) - f(x - h e_i)) / (2h)      error O(h^2)
    d f / d x[i]  ~  (f(x + h e_i) - f(x)) / h                 error O(h)   (forward: avoid)

One coordinate at a time (2 evaluations of f per coordinate), in float64: with h = 1e-5
the truncation error (~h^2) and the rounding error (~1e-16 |f| / h) are both tiny. This
"gradient check" is how every hand-written backward pass is tested.

**Gradients by hand.** Two results used everywhere:

    f(x) = 1/2 x^T A x + b^T x          grad f = 1/2 (A + A^T) x + b
    L(w) = mean BCE(sigmoid(X w), y)    grad L = X^T (sigmoid(X w) - y) / N

A x + b is the first gradient only when A is symmetric; the 1/N of the second comes from
the mean over the N samples.

**The chain rule.** For a composition, multiply the local derivatives from the outside in.
With z = W x, a = tanh(z), f = sum(a^2):

    df/da = 2a,   da/dz = 1 - a^2,   delta = df/dz = 2a (1 - a^2)
    grad_x f = W^T delta   (shape (D,)),      grad_W f = outer(delta, x)   (shape (M, D))

This is backpropagation in miniature: a vector flows backwards and meets each local
derivative in turn.

**Gradient descent and momentum.** From x_0, with learning rate lr and v_0 = 0:

    gradient descent:  x <- x - lr grad f(x)
    momentum:          v <- beta v + grad f(x);                 x <- x - lr v
    Nesterov:          v <- beta v + grad f(x - lr beta v);      x <- x - lr v

Momentum accumulates a velocity that damps the zig-zag across a narrow valley and speeds
up the walk along it; Nesterov measures the gradient where the velocity is about to carry
x (the look-ahead point). Down Rosenbrock's curved valley, momentum needs several times
fewer steps than gradient descent. The grader's test functions are in `nnfs_cli.objectives`
(`bowl`, `rosenbrock`, `wavy`, each with its `_grad`): try them.

**Inputs are read-only.** No function here modifies an array (or a dict) it is given:
copy first (`x = np.array(x, dtype=np.float64)`) and return new objects. The grader
checks every call, because a caller that reuses its array would be silently wrong.

Read: Goodfellow, Bengio, Courville, *Deep Learning*, sections 4.3, 6.5.2 and 8.3.2-8.3.3;
CS231n notes "Optimization" and "Neural Networks 3" (gradient checks); Sutskever et al.
(2013), "On the importance of initialization and momentum in deep learning".
"""

from collections.abc import Callable

import numpy as np


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Gradient of a scalar function f at x by central differences.

    f: takes an array shaped like x and returns a number.
    x: an array of any shape and any real dtype (float64, float32, int). Work on a float64
       copy: perturbing a float32 or integer array by h = 1e-5 loses the perturbation.
    Returns a float64 array shaped like x whose entry i is
    (f(x + h e_i) - f(x - h e_i)) / (2h), e_i the unit vector of coordinate i.
    Perturb one coordinate at a time, and leave x itself unchanged.
    """
    # YOUR CODE HERE
    raise NotImplementedError("calculus: implement numerical_gradient")


def quadratic_grad(A: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Gradient of f(x) = 1/2 x^T A x + b^T x at x.

    A: (D, D), not necessarily symmetric; b: (D,); x: (D,). Returns (D,):
    1/2 (A + A^T) x + b. (A x + b is right only when A is symmetric.)
    """
    # YOUR CODE HERE
    raise NotImplementedError("calculus: implement quadratic_grad")


def logistic_loss(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """Mean binary cross-entropy of a logistic-regression model, a number.

    w: (D,) weights; X: (N, D) inputs, one sample a row; y: (N,) labels in {0, 1}.
    With z = X w and p = sigmoid(z):  L = -mean(y log p + (1 - y) log(1 - p)).
    Must stay finite for |z| up to 1000: use the identity
    -(y log p + (1 - y) log(1 - p)) = log(1 + exp(z)) - y z, with
    log(1 + exp(z)) = max(z, 0) + log(1 + exp(-|z|))   (np.logaddexp(0, z) does this).
    """
    # YOUR CODE HERE
    raise NotImplementedError("calculus: implement logistic_loss")


def logistic_loss_grad(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient of `logistic_loss` with respect to w: X^T (sigmoid(X w) - y) / N, shape (D,).

    w: (D,); X: (N, D); y: (N,) labels in {0, 1}. The 1/N comes from the mean.
    """
    # YOUR CODE HERE
    raise NotImplementedError("calculus: implement logistic_loss_grad")


def chain_rule_grad(x: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both gradients of f(x, W) = sum(tanh(W x)^2), by the chain rule.

    x: (D,); W: (M, D). With z = W x, a = tanh(z), delta = 2a (1 - a^2) of shape (M,),
    return the pair (grad_x, grad_W) = (W^T delta of shape (D,), outer(delta, x) of shape (M, D)).
    """
    # YOUR CODE HERE
    raise NotImplementedError("calculus: implement chain_rule_grad")


def gradient_descent(
    grad_fn: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, lr: float, steps: int
) -> np.ndarray:
    """Run `steps` steps of x <- x - lr grad_fn(x) from x0; return the trajectory.

    grad_fn: takes x of shape (D,) and returns the gradient, shape (D,).
    x0: (D,) start (float64 or float32; do not modify it).
    Returns a float64 array of shape (steps + 1, D): row 0 is x0, row t is x after t steps.
    """
    # YOUR CODE HERE
    raise NotImplementedError("calculus: implement gradient_descent")


def momentum(
    grad_fn: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, lr: float, beta: float, steps: int
) -> np.ndarray:
    """Gradient descent with (heavy-ball) momentum; the trajectory as in `gradient_descent`.

    The convention of torch.optim.SGD(momentum=beta): v starts at 0 and, each step,
        v <- beta v + grad_fn(x),    x <- x - lr v.
    (Not the averaged form v <- beta v + (1 - beta) g: that rescales every step.)
    Returns a float64 array of shape (steps + 1, D); row 0 is x0.
    """
    # YOUR CODE HERE
    raise NotImplementedError("calculus: implement momentum")


def nesterov(
    grad_fn: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, lr: float, beta: float, steps: int
) -> np.ndarray:
    """Nesterov's accelerated gradient, in the look-ahead form of Sutskever et al. (2013).

    v starts at 0 and, each step, the gradient is taken at the look-ahead point:
        v <- beta v + grad_fn(x - lr beta v),    x <- x - lr v.
    Returns the trajectory of x, float64 of shape (steps + 1, D); row 0 is x0.
    (torch.optim.SGD(nesterov=True) rewrites this update so that its variable *is* the
    look-ahead point; the points differ, so implement the form given here.)
    """
    # YOUR CODE HERE
    raise NotImplementedError("calculus: implement nesterov")
