"""Known bugs of forward-propagation: mistakes learners make, each a replaced function."""

from nnfs_cli.grading.bugs import KnownBug

BUGS = [
    KnownBug(
        # PyTorch's nn.Linear stores weight as (out, in) and computes x @ weight.T; learners who
        # know that convention carry the .T over (a frequent StackOverflow question). With a
        # square W the shapes agree and only the values are wrong.
        name="dense-weight-transposed",
        function="dense_forward",
        kind="convention",
        hint=(
            "you stored W as (out, in) and computed X @ W.T + b, the layout of PyTorch's "
            "nn.Linear; this exercise stores W as (in, out), the layer is X @ W + b, so it reads "
            "as the math on the page"
        ),
        code="""
def dense_forward(X, W, b):
    return np.asarray(X) @ np.asarray(W).T + np.asarray(b)
""",
        fails=("dense_forward", "mlp_forward"),
    ),
    KnownBug(
        # The bias is dropped when the layer is written as a bare matrix product (Nielsen's and
        # CS231n's early exercises start from w . x without b).
        name="dense-without-bias",
        function="dense_forward",
        hint="add the bias: Y = X @ W + b, with b broadcast over the rows",
        code="""
def dense_forward(X, W, b):
    return np.asarray(X) @ np.asarray(W)
""",
        fails=("dense_forward", "mlp_forward"),
    ),
    KnownBug(
        # The textbook definition typed in as it stands: e^1000 = inf and inf / inf = NaN.
        name="tanh-overflow",
        function="tanh",
        hint="e^x overflows for x > 709: use np.tanh, or 1 - 2 / (e^(2x) + 1), which stays finite",
        code="""
def tanh(x):
    x = np.asarray(x)
    with np.errstate(over="ignore", invalid="ignore"):
        return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))
""",
    ),
    KnownBug(
        # np.max(x, 0) reads like max(0, x) but reduces over axis 0 (a classic StackOverflow
        # confusion between np.max and np.maximum).
        name="relu-np-max-reduces",
        function="relu",
        hint="np.max(x, 0) is the maximum over axis 0; the elementwise max(0, x) is np.maximum(x, 0)",
        code="""
def relu(x):
    return np.max(x, 0)
""",
        fails=("relu", "mlp_forward"),
    ),
    KnownBug(
        # The one-liner np.maximum(alpha * x, x) from many tutorials: right only for alpha <= 1.
        name="leaky-relu-maximum-shortcut",
        function="leaky_relu",
        hint="np.maximum(negative_slope * x, x) picks negative_slope * x for x > 0 when the slope is above 1: "
        "use np.where(x >= 0, x, negative_slope * x)",
        code="""
def leaky_relu(x, negative_slope=0.01):
    return np.maximum(negative_slope * np.asarray(x), x)
""",
    ),
    KnownBug(
        # Hendrycks & Gimpel define GELU with erf (and torch's default is the erf form), so
        # learners implement it instead of the tanh form the exercise asks for.
        name="gelu-erf-form",
        function="gelu",
        kind="convention",
        hint=(
            "you implemented the exact erf form (torch's default F.gelu); this exercise uses the "
            "tanh approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), F.gelu(x, "
            "approximate='tanh'), the form of the GPT-2 and BERT code"
        ),
        code="""
def gelu(x):
    import math
    x = np.asarray(x, dtype=float)
    erf = np.vectorize(math.erf, otypes=[float])
    return 0.5 * x * (1 + erf(x / math.sqrt(2)))
""",
        fails=("gelu", "mlp_forward"),
    ),
    KnownBug(
        # Every layer goes through the same loop body, the output layer included: ReLU then
        # clips negative regression targets / logits to 0.
        name="activation-on-output",
        function="mlp_forward",
        hint="apply the activation after every layer except the last: the output layer stays linear",
        code="""
def mlp_forward(X, params, activation="relu"):
    f = {"tanh": tanh, "relu": relu, "leaky_relu": leaky_relu, "gelu": gelu}[activation]
    h, hiddens = np.asarray(X), []
    for W, b in params:
        h = f(dense_forward(h, W, b))
        hiddens.append(h)
    return h, hiddens[:-1]
""",
    ),
    KnownBug(
        # The pre-activation z is what gets cached (backprop needs z too), so it is stored in
        # place of the activation h = f(z).
        name="hiddens-before-activation",
        function="mlp_forward",
        hint="store each hidden layer after its activation: h_l = f(z_l), not z_l = h_(l-1) @ W_l + b_l",
        code="""
def mlp_forward(X, params, activation="relu"):
    f = {"tanh": tanh, "relu": relu, "leaky_relu": leaky_relu, "gelu": gelu}[activation]
    h, hiddens = np.asarray(X), []
    for W, b in params[:-1]:
        z = dense_forward(h, W, b)
        hiddens.append(z)
        h = f(z)
    return dense_forward(h, *params[-1]), hiddens
""",
    ),
    KnownBug(
        # Nielsen's network.py keeps activations = [x] and appends every layer: the input (and
        # output) end up in the list.
        name="hiddens-include-input",
        function="mlp_forward",
        hint="hiddens holds h_1, ..., h_(L-1) only: do not start the list with the input X",
        code="""
def mlp_forward(X, params, activation="relu"):
    f = {"tanh": tanh, "relu": relu, "leaky_relu": leaky_relu, "gelu": gelu}[activation]
    h = np.asarray(X)
    hiddens = [h]
    for W, b in params[:-1]:
        h = f(dense_forward(h, W, b))
        hiddens.append(h)
    return dense_forward(h, *params[-1]), hiddens
""",
    ),
    KnownBug(
        # An off-by-one in the loop bound (range(L - 2) for the hidden layers, from 1-based
        # lecture notation W^[1] ... W^[L]): the last hidden layer is treated as output.
        name="layer-loop-off-by-one",
        function="mlp_forward",
        hint="the hidden layers are l = 0, ..., L-2 (0-based): activate and store all L-1 of them; "
        "only the last layer, L-1, stays linear",
        code="""
def mlp_forward(X, params, activation="relu"):
    f = {"tanh": tanh, "relu": relu, "leaky_relu": leaky_relu, "gelu": gelu}[activation]
    h, hiddens = np.asarray(X), []
    L = len(params)
    for l in range(L):
        W, b = params[l]
        h = dense_forward(h, W, b)
        if l < L - 2:
            h = f(h)
            hiddens.append(h)
    return h, hiddens
""",
    ),
]

EQUIVALENT = {
    "relu/swap-args/swap first two arguments#0": "np.maximum is symmetric in its arguments (only the sign of a zero output can differ, and -0.0 == 0.0)",
    "leaky_relu/compare/GtE->Gt#0": "at x = 0 both branches give 0 (x and negative_slope * 0 for any finite slope), so the branch choice at 0 does not matter",
}
