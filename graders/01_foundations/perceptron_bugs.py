"""Known bugs of perceptron: mistakes learners make, each a replaced function."""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

_TRAIN = reference_function(__file__, "train_perceptron")
_PREDICTION = "y_hat = 1 if float(x_i @ w) + b >= 0 else 0"
_W_UPDATE = "w = w + lr * (y_i - y_hat) * x_i"

BUGS = [
    KnownBug(
        # Writing the step as z > 0 (np.heaviside(z, 0) does the same) labels boundary points 0.
        name="predict-strict-at-zero",
        function="predict",
        kind="convention",
        hint=(
            "you label a point on the boundary 0 (z > 0, as np.heaviside(z, 0)); this exercise "
            "labels it 1 (z >= 0), the classic perceptron convention its docstring states"
        ),
        code="""
def predict(X, w, b):
    return (np.asarray(X) @ np.asarray(w) + b > 0).astype(np.int64)
""",
        fails=("predict", "decision_grid"),
    ),
    KnownBug(
        # Many texts (Bishop 4.1.7, Wikipedia) use labels -1/+1 and np.sign; this exercise uses 0/1.
        name="predict-plus-minus-one-labels",
        function="predict",
        kind="convention",
        hint=(
            "you used labels -1/+1 and sign(z) (the convention of Bishop and Wikipedia); this "
            "exercise uses labels 0 and 1: the step, 1 where z >= 0"
        ),
        code="""
def predict(X, w, b):
    return np.where(np.asarray(X) @ np.asarray(w) + b >= 0, 1, -1)
""",
        fails=("predict", "decision_grid"),
    ),
    KnownBug(
        # The threshold form of the neuron: fire when w . x >= theta, i.e. step(w . x - theta)
        # (McCulloch-Pitts, Rosenblatt; Rojas' "Neural Networks" ch. 3), with b read as theta.
        name="predict-threshold-form",
        function="predict",
        kind="convention",
        hint=(
            "you used b as a threshold, step(X @ w - b) (the McCulloch-Pitts form w . x >= "
            "theta); this exercise uses a bias, step(X @ w + b), i.e. b = -theta, so the "
            "training rule b <- b + lr (y - y_hat) has the same form as the weights'"
        ),
        code=edited(
            reference_function(__file__, "predict"),
            ("np.asarray(w) + b", "np.asarray(w) - b"),
        ),
        fails=("predict", "decision_grid"),
    ),
    KnownBug(
        name="predict-without-bias",
        function="predict",
        hint="the score is X @ w + b: add the bias",
        code="""
def predict(X, w, b):
    return (np.asarray(X) @ np.asarray(w) >= 0).astype(np.int64)
""",
        fails=("predict", "decision_grid"),
    ),
    KnownBug(
        # Dropping the mistake test and using the -1/+1 form w += lr y x with 0/1 labels: every
        # sample moves w (a slip seen when the +-1 textbook rule meets 0/1 labels).
        name="update-without-mistake-check",
        function="train_perceptron",
        hint="update only on a mistake: the step is lr (y - y_hat) x, which is 0 when the prediction is right",
        code="""
def train_perceptron(X, y, lr=1.0, epochs=100, w0=None, b0=0.0):
    X, y = np.asarray(X), np.asarray(y)
    w = np.zeros(X.shape[1]) if w0 is None else np.array(w0, dtype=np.float64)
    b = float(b0)
    history = []
    for _ in range(epochs):
        mistakes = 0
        for x_i, y_i in zip(X, y):
            y_hat = 1 if float(x_i @ w) + b >= 0 else 0
            mistakes += int(y_hat != y_i)
            w = w + lr * y_i * x_i
            b = b + lr * y_i
        history.append(mistakes)
        if mistakes == 0:
            break
    return w, float(b), history
""",
        fails=("train_perceptron", "xor_experiment"),
    ),
    KnownBug(
        name="update-sign-flipped",
        function="train_perceptron",
        hint="move w towards x when the target is 1: w + lr (y - y_hat) x, not (y_hat - y)",
        code="""
def train_perceptron(X, y, lr=1.0, epochs=100, w0=None, b0=0.0):
    X, y = np.asarray(X), np.asarray(y)
    w = np.zeros(X.shape[1]) if w0 is None else np.array(w0, dtype=np.float64)
    b = float(b0)
    history = []
    for _ in range(epochs):
        mistakes = 0
        for x_i, y_i in zip(X, y):
            y_hat = 1 if float(x_i @ w) + b >= 0 else 0
            if y_hat != y_i:
                w = w + lr * (y_hat - y_i) * x_i
                b = b + lr * (y_hat - y_i)
                mistakes += 1
        history.append(mistakes)
        if mistakes == 0:
            break
    return w, float(b), history
""",
        fails=("train_perceptron", "xor_experiment"),
    ),
    KnownBug(
        name="bias-not-updated",
        function="train_perceptron",
        hint="the bias learns too: b <- b + lr (y - y_hat), otherwise the line must pass through b0's level",
        code="""
def train_perceptron(X, y, lr=1.0, epochs=100, w0=None, b0=0.0):
    X, y = np.asarray(X), np.asarray(y)
    w = np.zeros(X.shape[1]) if w0 is None else np.array(w0, dtype=np.float64)
    b = float(b0)
    history = []
    for _ in range(epochs):
        mistakes = 0
        for x_i, y_i in zip(X, y):
            y_hat = 1 if float(x_i @ w) + b >= 0 else 0
            if y_hat != y_i:
                w = w + lr * (y_i - y_hat) * x_i
                mistakes += 1
        history.append(mistakes)
        if mistakes == 0:
            break
    return w, float(b), history
""",
        fails=("train_perceptron", "xor_experiment"),
    ),
    KnownBug(
        # A fixed `for epoch in range(epochs)` with the early stop forgotten.
        name="no-early-stop",
        function="train_perceptron",
        hint="stop after the first epoch with no mistake: the data are separated and nothing would change",
        code="""
def train_perceptron(X, y, lr=1.0, epochs=100, w0=None, b0=0.0):
    X, y = np.asarray(X), np.asarray(y)
    w = np.zeros(X.shape[1]) if w0 is None else np.array(w0, dtype=np.float64)
    b = float(b0)
    history = []
    for _ in range(epochs):
        mistakes = 0
        for x_i, y_i in zip(X, y):
            y_hat = 1 if float(x_i @ w) + b >= 0 else 0
            if y_hat != y_i:
                w = w + lr * (y_i - y_hat) * x_i
                b = b + lr * (y_i - y_hat)
                mistakes += 1
        history.append(mistakes)
    return w, float(b), history
""",
    ),
    KnownBug(
        # `if mistakes == 0: break` placed before `history.append(mistakes)`: the final 0 is lost.
        name="break-before-recording",
        function="train_perceptron",
        hint="append the epoch's count before you stop: the history of a separated run ends with 0",
        code="""
def train_perceptron(X, y, lr=1.0, epochs=100, w0=None, b0=0.0):
    X, y = np.asarray(X), np.asarray(y)
    w = np.zeros(X.shape[1]) if w0 is None else np.array(w0, dtype=np.float64)
    b = float(b0)
    history = []
    for _ in range(epochs):
        mistakes = 0
        for x_i, y_i in zip(X, y):
            y_hat = 1 if float(x_i @ w) + b >= 0 else 0
            if y_hat != y_i:
                w = w + lr * (y_i - y_hat) * x_i
                b = b + lr * (y_i - y_hat)
                mistakes += 1
        if mistakes == 0:
            break
        history.append(mistakes)
    return w, float(b), history
""",
    ),
    KnownBug(
        # Recording the training error of the end-of-epoch weights (what a Keras-style loop
        # reports) instead of the mistakes the online rule made during the epoch.
        name="mistakes-counted-after-epoch",
        function="train_perceptron",
        hint="count the mistakes as they happen, while updating; not the errors of the weights after the epoch",
        code="""
def train_perceptron(X, y, lr=1.0, epochs=100, w0=None, b0=0.0):
    X, y = np.asarray(X), np.asarray(y)
    w = np.zeros(X.shape[1]) if w0 is None else np.array(w0, dtype=np.float64)
    b = float(b0)
    history = []
    for _ in range(epochs):
        for x_i, y_i in zip(X, y):
            y_hat = 1 if float(x_i @ w) + b >= 0 else 0
            if y_hat != y_i:
                w = w + lr * (y_i - y_hat) * x_i
                b = b + lr * (y_i - y_hat)
        mistakes = int(((X @ w + b >= 0).astype(int) != y).sum())
        history.append(mistakes)
        if mistakes == 0:
            break
    return w, float(b), history
""",
        fails=("train_perceptron", "xor_experiment"),
    ),
    KnownBug(
        # Solving w0 x + w1 y + b = 0 and losing the minus sign.
        name="boundary-sign-flipped",
        function="decision_boundary",
        hint="w[1] y = -(w[0] x + b), so y = -(w[0] x + b) / w[1]: keep the minus sign",
        code="""
def decision_boundary(w, b, xs):
    return (w[0] * np.asarray(xs) + b) / w[1]
""",
    ),
    KnownBug(
        name="boundary-weights-swapped",
        function="decision_boundary",
        hint="w[0] multiplies x and w[1] multiplies y: y = -(w[0] x + b) / w[1]",
        code="""
def decision_boundary(w, b, xs):
    return -(w[1] * np.asarray(xs) + b) / w[0]
""",
    ),
    KnownBug(
        # meshgrid(..., indexing="ij") (or building the grid as grid[j, i]) puts x along the rows:
        # the usual meshgrid "xy" vs "ij" confusion.
        name="grid-ij-indexing",
        function="decision_grid",
        hint="row i is y = ys[i] and column j is x = xs[j]: np.meshgrid(xs, ys) with the default 'xy' indexing",
        code="""
def decision_grid(w, b, x_range, y_range, n):
    xs = np.linspace(x_range[0], x_range[1], n)
    ys = np.linspace(y_range[0], y_range[1], n)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    return predict(np.column_stack([gx.ravel(), gy.ravel()]), w, b).reshape(n, n)
""",
    ),
    KnownBug(
        # np.arange(lo, hi, (hi - lo) / n) in place of linspace: n points, but hi is never reached.
        name="grid-endpoint-excluded",
        function="decision_grid",
        hint="use np.linspace(lo, hi, n): both ends of each range are grid points",
        code="""
def decision_grid(w, b, x_range, y_range, n):
    xs = x_range[0] + np.arange(n) * (x_range[1] - x_range[0]) / n
    ys = y_range[0] + np.arange(n) * (y_range[1] - y_range[0]) / n
    gx, gy = np.meshgrid(xs, ys)
    return predict(np.column_stack([gx.ravel(), gy.ravel()]), w, b).reshape(n, n)
""",
    ),
    KnownBug(
        # The bias is learned but left out of the score while training (`w @ x >= 0`): the
        # same slip as predict-without-bias, made inside the training loop.
        name="train-predicts-without-bias",
        function="train_perceptron",
        hint="while training, predict with the score w . x_i + b: the bias belongs in it too",
        code=edited(_TRAIN, (_PREDICTION, "y_hat = 1 if float(x_i @ w) >= 0 else 0")),
        fails=("train_perceptron", "xor_experiment"),
    ),
    KnownBug(
        # The step written z > 0 inside the loop, as sklearn's Perceptron predicts
        # (decision_function > 0) and np.heaviside(z, 0) does.
        name="train-strict-at-zero",
        function="train_perceptron",
        kind="convention",
        hint=(
            "while training you label a point with score exactly 0 as 0 (z > 0, as sklearn's "
            "Perceptron does); this exercise labels it 1 (z >= 0), the convention its docstring "
            "states: starting from w = 0, b = 0 every first score is 0"
        ),
        code=edited(_TRAIN, (_PREDICTION, "y_hat = 1 if float(x_i @ w) + b > 0 else 0")),
        fails=("train_perceptron", "xor_experiment"),
    ),
    KnownBug(
        # `=` where `+=` belongs (w = lr (y - y_hat) x): each mistake replaces the weights
        # instead of adding to them, the assignment-for-accumulation slip of issue 18.
        name="weights-overwritten",
        function="train_perceptron",
        hint="the update adds to the weights: w <- w + lr (y - y_hat) x_i (+=, not =)",
        code=edited(_TRAIN, (_W_UPDATE, "w = lr * (y_i - y_hat) * x_i")),
        fails=("train_perceptron", "xor_experiment"),
    ),
    KnownBug(
        # The bias rule copied for the weights: w <- w + lr (y - y_hat), without the input.
        name="weight-update-without-input",
        function="train_perceptron",
        hint="the weight step is lr (y - y_hat) times the input x_i; only the bias step has no x_i",
        code=edited(_TRAIN, (_W_UPDATE, "w = w + lr * (y_i - y_hat)")),
        fails=("train_perceptron", "xor_experiment"),
    ),
    KnownBug(
        # The OR truth table typed for XOR: OR is linearly separable, so training stops.
        name="xor-labels-are-or",
        function="xor_experiment",
        hint="XOR is 1 when the inputs differ: y = [0, 1, 1, 0] (OR would be [0, 1, 1, 1])",
        code="""
def xor_experiment(epochs=20, lr=1.0, w0=None, b0=0.0):
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 1])
    return train_perceptron(X, y, lr=lr, epochs=epochs, w0=w0, b0=b0)
""",
    ),
]

EQUIVALENT = {
    "predict/transpose/add .T to right operand#0": "w is one-dimensional (D,) and .T of a 1-D array is the same array",
    "train_perceptron/transpose/add .T to right operand#0": "w is always 1-D (zeros(D) or a copy of w0 of shape (D,)), and .T of a 1-D array is the same array",
    "train_perceptron/arith/Mult->Div#1": "the update runs only on a mistake, where y_i - y_hat is +1 or -1 (labels in {0, 1}), and lr * (+-1) == lr / (+-1) exactly",
    "train_perceptron/arith/Mult->Div#2": "the update runs only on a mistake, where y_i - y_hat is +1 or -1 (labels in {0, 1}), and lr * (+-1) == lr / (+-1) exactly",
}
