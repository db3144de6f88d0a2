"""Known bugs of calculus: mistakes learners make, each a replaced function."""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

_NUMGRAD = reference_function(__file__, "numerical_gradient")
_CHAIN = reference_function(__file__, "chain_rule_grad")

BUGS = [
    KnownBug(
        # The one-sided formula from the definition of the derivative; CS231n's gradient-check
        # notes single it out ("use the centered formula").
        name="forward-difference",
        function="numerical_gradient",
        hint="use the central difference (f(x + h e_i) - f(x - h e_i)) / (2h): its error is ~h^2, the forward one's ~h",
        code="""
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    f0 = float(f(x))
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        grad[i] = (float(f(x)) - f0) / h
        x[i] = old
    return grad
""",
    ),
    KnownBug(
        # The forward difference's numerator over the central difference's 2h: the two
        # formulas of the lesson mixed (CS231n's gradient-check notes show both side by side),
        # or the x - h e_i probe forgotten; every entry is about half the derivative.
        name="forward-difference-over-2h",
        function="numerical_gradient",
        hint="f(x + h e_i) - f(x) spans h, not 2h: evaluate f at both x + h e_i and x - h e_i and divide their difference by 2h",
        code=edited(_NUMGRAD, ("x[i] = old - h\n", "x[i] = old\n")),
    ),
    KnownBug(
        # The mirror slip: the x + h e_i probe forgotten, so the first
        # evaluation is at x itself and (f(x) - f(x - h e_i)) / (2h) is half a derivative.
        name="backward-difference-over-2h",
        function="numerical_gradient",
        hint="f(x) - f(x - h e_i) spans h, not 2h: set x[i] = old + h before the first evaluation, so the two probes are x + h e_i and x - h e_i",
        code=edited(_NUMGRAD, ("x[i] = old + h\n", "x[i] = old\n")),
    ),
    KnownBug(
        # x[i] never put back after the two evaluations: every later coordinate is probed at a
        # point that drifted by -h in the earlier ones (CS231n: "restore the original value").
        name="numgrad-not-restored",
        function="numerical_gradient",
        hint="after evaluating f(x + h e_i) and f(x - h e_i), set x[i] back to its old value before the next coordinate",
        code="""
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = float(f(x))
        x[i] = old - h
        f_minus = float(f(x))
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad
""",
    ),
    KnownBug(
        # The two points are 2h apart; dividing by h doubles every entry (a classic typo).
        name="central-difference-over-h",
        function="numerical_gradient",
        hint="x + h and x - h are 2h apart: divide the difference by 2h, not h",
        code="""
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = float(f(x))
        x[i] = old - h
        fm = float(f(x))
        x[i] = old
        grad[i] = (fp - fm) / h
    return grad
""",
    ),
    KnownBug(
        # A loop over i that forgets the unit vector e_i: every entry is the derivative along
        # (1, 1, ..., 1), i.e. the sum of the partial derivatives.
        name="perturb-all-coordinates",
        function="numerical_gradient",
        hint="perturb only coordinate i (x + h e_i): x + h moves every coordinate at once",
        code="""
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        grad[i] = (float(f(x + h)) - float(f(x - h))) / (2 * h)
    return grad
""",
    ),
    KnownBug(
        # x.copy() keeps float32 (or int), so x[i] = old + 1e-5 is rounded (or truncated).
        name="perturbs-in-input-dtype",
        function="numerical_gradient",
        hint="copy x to float64 (np.array(x, dtype=np.float64)): float32 and integer arrays cannot hold x + 1e-5",
        code="""
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x)
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = float(f(x))
        x[i] = old - h
        fm = float(f(x))
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad
""",
    ),
    KnownBug(
        # The matrix-cookbook rule d/dx x^T A x = 2 A x (with the 1/2: A x) holds only for a
        # symmetric A; a very common slip in hand derivations.
        name="quadratic-assumes-symmetric",
        function="quadratic_grad",
        hint="d/dx (x^T A x) = (A + A^T) x; A x + b is right only when A is symmetric",
        code="""
def quadratic_grad(A, b, x):
    return A @ x + b
""",
    ),
    KnownBug(
        # Symmetrising correctly but dropping the 1/2 in front of the quadratic form.
        name="quadratic-missing-half",
        function="quadratic_grad",
        hint="keep the 1/2 of the objective: the gradient is 1/2 (A + A^T) x + b",
        code="""
def quadratic_grad(A, b, x):
    return (A + A.T) @ x + b
""",
    ),
    KnownBug(
        # The textbook formula on probabilities: log(1 - sigmoid(1000)) = log(0) = -inf and
        # 0 * log(0) = NaN (the "loss is nan" question asked daily on StackOverflow).
        name="logistic-loss-naive-log",
        function="logistic_loss",
        hint="never take log of a sigmoid that may be 0 or 1: use log(1 + exp(z)) - y z, i.e. np.logaddexp(0, z) - y z",
        code="""
def logistic_loss(w, X, y):
    p = 1 / (1 + np.exp(-(X @ w)))
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
""",
    ),
    KnownBug(
        # Label minus prediction is the *descent direction*; the gradient is prediction minus label.
        name="logistic-grad-sign-flipped",
        function="logistic_loss_grad",
        hint="the gradient is X^T (p - y) / N, prediction minus label; y - p points downhill",
        code="""
def logistic_loss_grad(w, X, y):
    p = 1 / (1 + np.exp(-(X @ w)))
    return X.T @ (y - p) / X.shape[0]
""",
    ),
    KnownBug(
        # The loss is a mean, so its gradient is too; forgetting 1/N is the most common scaling bug.
        name="logistic-grad-missing-mean",
        function="logistic_loss_grad",
        hint="the loss is the mean over N samples, so divide X^T (p - y) by N",
        code="""
def logistic_loss_grad(w, X, y):
    p = 1 / (1 + np.exp(-(X @ w)))
    return X.T @ (p - y)
""",
    ),
    KnownBug(
        # Applying the chain rule to the outer function only: d/dz tanh(z)^2 taken as 2 tanh(z).
        name="chain-missing-tanh-derivative",
        function="chain_rule_grad",
        hint="the chain passes through tanh too: delta = 2a * (1 - a^2), not just 2a",
        code="""
def chain_rule_grad(x, W):
    a = np.tanh(W @ x)
    delta = 2 * a
    return W.T @ delta, np.outer(delta, x)
""",
    ),
    KnownBug(
        # d/da a^2 taken as a instead of 2a: the power rule's factor dropped (the most common
        # slip when differentiating a squared term by hand, e.g. the 1/2 in 1/2 (y - t)^2 that
        # usually cancels it is not there here).
        name="chain-missing-square-factor",
        function="chain_rule_grad",
        hint="d/da a^2 = 2a: delta = 2a (1 - a^2), with the 2 from the square",
        code=edited(_CHAIN, ("2 * a * (1 - a**2)", "a * (1 - a**2)")),
    ),
    KnownBug(
        # grad_W must have W's shape (M, D); outer(x, delta) has the transpose.
        name="chain-grad-W-transposed",
        function="chain_rule_grad",
        hint="a gradient has the shape of its variable: grad_W = outer(delta, x) is (M, D) like W",
        code="""
def chain_rule_grad(x, W):
    a = np.tanh(W @ x)
    delta = 2 * a * (1 - a**2)
    return W.T @ delta, np.outer(x, delta)
""",
    ),
    KnownBug(
        # Stepping along +gradient climbs the hill (gradient ascent).
        name="gd-ascent",
        function="gradient_descent",
        hint="descend: x <- x - lr grad f(x); the gradient points uphill",
        code="""
def gradient_descent(grad_fn, x0, lr, steps):
    x = np.array(x0, dtype=np.float64)
    path = [x]
    for _ in range(steps):
        x = x + lr * grad_fn(x)
        path.append(x)
    return np.array(path)
""",
    ),
    KnownBug(
        # Appending the array object and then updating it in place (x -= ...): every row of
        # the list is the same array, so the trajectory is the final point repeated.
        name="trajectory-aliasing",
        function="gradient_descent",
        hint="x -= ... changes the array already stored in the list: append x.copy(), or write x = x - lr * g",
        code="""
def gradient_descent(grad_fn, x0, lr, steps):
    x = np.array(x0, dtype=np.float64)
    path = [x]
    for _ in range(steps):
        x -= lr * grad_fn(x)
        path.append(x)
    return np.array(path)
""",
    ),
    KnownBug(
        # An off-by-one: the trajectory misses its starting point.
        name="trajectory-missing-start",
        function="gradient_descent",
        hint="row 0 of the trajectory is x0: steps + 1 rows in all",
        code="""
def gradient_descent(grad_fn, x0, lr, steps):
    x = np.array(x0, dtype=np.float64)
    path = []
    for _ in range(steps):
        x = x - lr * grad_fn(x)
        path.append(x)
    return np.array(path).reshape(steps, x.size)
""",
    ),
    KnownBug(
        # The exponentially-averaged form from Andrew Ng's deep-learning course; a different
        # convention from torch.optim.SGD's, with steps (1 - beta) times smaller.
        name="momentum-ema-convention",
        function="momentum",
        kind="convention",
        hint=(
            "you used the moving-average form v <- beta v + (1 - beta) g (Andrew Ng's course); "
            "this exercise uses torch.optim.SGD's v <- beta v + g, whose steps are 1 / (1 - beta) "
            "times larger, so learning rates carry over from PyTorch"
        ),
        code="""
def momentum(grad_fn, x0, lr, beta, steps):
    x = np.array(x0, dtype=np.float64)
    v = np.zeros_like(x)
    path = [x]
    for _ in range(steps):
        v = beta * v + (1 - beta) * grad_fn(x)
        x = x - lr * v
        path.append(x)
    return np.array(path)
""",
    ),
    KnownBug(
        # Moving x with the previous velocity and updating v afterwards: the step lags a gradient.
        name="momentum-step-before-velocity",
        function="momentum",
        hint="update the velocity first (v <- beta v + grad f(x)), then step with the new v",
        code="""
def momentum(grad_fn, x0, lr, beta, steps):
    x = np.array(x0, dtype=np.float64)
    v = np.zeros_like(x)
    path = [x]
    for _ in range(steps):
        x = x - lr * v
        v = beta * v + grad_fn(x)
        path.append(x)
    return np.array(path)
""",
    ),
    KnownBug(
        # Nesterov written as plain momentum: the gradient is taken at x, not at the look-ahead.
        name="nesterov-without-lookahead",
        function="nesterov",
        hint="evaluate the gradient at the look-ahead point x - lr beta v, where the velocity is taking x",
        code="""
def nesterov(grad_fn, x0, lr, beta, steps):
    x = np.array(x0, dtype=np.float64)
    v = np.zeros_like(x)
    path = [x]
    for _ in range(steps):
        v = beta * v + grad_fn(x)
        x = x - lr * v
        path.append(x)
    return np.array(path)
""",
    ),
    KnownBug(
        # Copying torch.optim.SGD(nesterov=True): v <- beta v + g(x); x <- x - lr (g + beta v).
        # Its iterates are the look-ahead points, not the x of the form asked for (the
        # mismatch comes up repeatedly on the PyTorch issue tracker and forums).
        name="nesterov-pytorch-form",
        function="nesterov",
        kind="convention",
        hint=(
            "you followed PyTorch's reformulation (SGD(nesterov=True)), whose iterates are the "
            "look-ahead points; this exercise asks for Sutskever's form v <- beta v + grad f(x - "
            "lr beta v), x <- x - lr v, whose iterates are x itself"
        ),
        code="""
def nesterov(grad_fn, x0, lr, beta, steps):
    x = np.array(x0, dtype=np.float64)
    v = np.zeros_like(x)
    path = [x]
    for _ in range(steps):
        g = grad_fn(x)
        v = beta * v + g
        x = x - lr * (g + beta * v)
        path.append(x)
    return np.array(path)
""",
    ),
]

EQUIVALENT = {
    "numerical_gradient/sibling/zeros_like->ones_like#0": "np.ndindex visits every index of x (also for 0-d and empty x), so every entry of the initial array is overwritten",
    "quadratic_grad/transpose/add .T to right operand#0": "x is one-dimensional (D,) and .T of a 1-D array is the same array",
    "logistic_loss/transpose/add .T to right operand#0": "w is one-dimensional (D,) and .T of a 1-D array is the same array",
    "logistic_loss/swap-args/swap first two arguments#0": "np.logaddexp is symmetric in its arguments (bit for bit)",
    "logistic_loss_grad/transpose/add .T to right operand#0": "w is one-dimensional (D,) and .T of a 1-D array is the same array",
    "logistic_loss_grad/compare/GtE->Gt#0": "at z = 0, e = 1 and both branches give 1/2, so the branch choice at 0 does not matter",
    "logistic_loss_grad/transpose/add .T to right operand#1": "p - y is one-dimensional (N,) and .T of a 1-D array is the same array",
    "chain_rule_grad/transpose/add .T to right operand#0": "x is one-dimensional (D,) and .T of a 1-D array is the same array",
    "chain_rule_grad/transpose/add .T to right operand#1": "delta is one-dimensional (M,) and .T of a 1-D array is the same array",
}
