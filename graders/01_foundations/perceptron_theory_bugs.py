"""Known bugs of perceptron-theory: mistakes learners make, each a replaced function."""

from nnfs_cli.grading.bugs import KnownBug

BUGS = [
    KnownBug(
        name="step-strict-at-zero",
        function="step",
        kind="convention",
        hint=(
            "your step is 0 at z = 0 (z > 0, as np.heaviside(z, 0)); this exercise's step is 1 at "
            "z = 0 (z >= 0), the classic perceptron convention its docstring states"
        ),
        code="""
def step(z):
    return (np.asarray(z) > 0).astype(float)
""",
    ),
    KnownBug(
        # The textbook form exp(z) / (1 + exp(z)) is inf / inf = NaN for z >= 710.
        name="sigmoid-overflow",
        function="sigmoid",
        hint="exp(z) overflows for large z: use exp(-|z|) and pick the form by the sign of z",
        code="""
def sigmoid(z):
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(z) / (1 + np.exp(z))
""",
        fails=("sigmoid", "sigmoid_grad"),
    ),
    KnownBug(
        # The derivative in terms of the *output* a = sigmoid(z) is a (1 - a); applied to z it is wrong.
        name="sigmoid-grad-on-input",
        function="sigmoid_grad",
        hint="sigmoid'(z) = s (1 - s) where s = sigmoid(z); z (1 - z) uses the input in place of the output",
        code="""
def sigmoid_grad(z):
    return z * (1 - z)
""",
    ),
    KnownBug(
        name="relu-grad-one-at-zero",
        function="relu_grad",
        kind="convention",
        hint=(
            "you took relu'(0) = 1 (z >= 0); this exercise takes 0 at z = 0 (z > 0), as PyTorch "
            "does: any value in [0, 1] is a valid subgradient at the kink, so one must be chosen"
        ),
        code="""
def relu_grad(z):
    return (np.asarray(z) >= 0).astype(float)
""",
    ),
    KnownBug(
        name="neuron-without-bias",
        function="neuron",
        hint="the pre-activation is x @ w + b: add the bias",
        code="""
def neuron(x, w, b, activation="sigmoid"):
    z = np.asarray(x) @ np.asarray(w)
    return {"step": step, "sigmoid": sigmoid, "relu": relu, "linear": lambda v: v}[activation](z)
""",
    ),
    KnownBug(
        name="update-sign-flipped",
        function="perceptron_update",
        hint="move w towards x when the target is 1: w + lr (y - y_hat) x, not y_hat - y",
        code="""
def perceptron_update(w, b, x, y, lr=1.0):
    error = float(np.asarray(x) @ w + b >= 0) - y
    return w + lr * error * np.asarray(x), float(b + lr * error)
""",
    ),
    KnownBug(
        # The {-1, +1} form w + lr y x is applied on every sample, with 0/1 labels.
        name="update-without-mistake-check",
        function="perceptron_update",
        hint="update only on a mistake: the factor is (y - y_hat), which is 0 when the prediction is right",
        code="""
def perceptron_update(w, b, x, y, lr=1.0):
    return w + lr * y * np.asarray(x), float(b + lr * y)
""",
    ),
    KnownBug(
        name="bias-not-updated",
        function="perceptron_update",
        hint="the bias learns too: b <- b + lr (y - y_hat)",
        code="""
def perceptron_update(w, b, x, y, lr=1.0):
    error = y - float(np.asarray(x) @ w + b >= 0)
    return w + lr * error * np.asarray(x), float(b)
""",
    ),
]

# Mutants reviewed as equivalent: they cannot change any result (nnfs audit leaves them out).
EQUIVALENT = {
    "step/swap-args/swap first two arguments#0": "np.result_type is symmetric in its arguments",
    "step_grad/swap-args/swap first two arguments#0": "np.result_type is symmetric in its arguments",
    "relu_grad/swap-args/swap first two arguments#0": "np.result_type is symmetric in its arguments",
    "relu/swap-args/swap first two arguments#0": "np.maximum is symmetric in its arguments",
    "sigmoid/compare/GtE->Gt#0": "at z = 0 both branches give 1/2, so the branch choice at 0 does not matter",
    "neuron/transpose/add .T to right operand#0": "w is one-dimensional and .T of a 1-D array is the same array",
    "perceptron_update/transpose/add .T to right operand#0": "w is one-dimensional and .T of a 1-D array is the same array",
}
