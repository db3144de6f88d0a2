"""Known bugs of backprop: mistakes learners make, each a replaced function.

A bug in dense_backward, relu_backward or softmax_cross_entropy also breaks mlp_backward,
which the reference builds from them (as a learner's does).
"""

from nnfs_cli.grading.bugs import KnownBug

# The forward pass with its cache, for the mlp_backward bugs below (the reference inlines it).
FORWARD = """
def _forward(X, params):
    n_layers = len(params) // 2
    h, cache = X, []
    for i in range(1, n_layers + 1):
        z = h @ params[f"W{i}"] + params[f"b{i}"]
        cache.append((h, z))
        h = np.maximum(z, 0) if i < n_layers else z
    return h, cache
"""

BUGS = [
    KnownBug(
        # Averaging "because the loss is a mean" a second time; a recurring question on the
        # CS231n assignment-2 forums (affine_backward) and in the nnfs book's comments.
        name="bias-grad-averaged",
        function="dense_backward",
        hint="db = dout.sum(axis=0): the 1/N of the mean loss is already inside dout",
        code="""
def dense_backward(dout, X, W):
    return dout @ W.T, X.T @ dout, dout.mean(axis=0)
""",
        fails=("dense_backward", "mlp_backward"),
    ),
    KnownBug(
        # Code written for one sample (db = dout) "fixed" for a batch by taking the first row.
        name="bias-grad-first-sample",
        function="dense_backward",
        hint="db sums dout over every sample of the batch: dout.sum(axis=0), not dout[0]",
        code="""
def dense_backward(dout, X, W):
    return dout @ W.T, X.T @ dout, dout[0]
""",
        fails=("dense_backward", "mlp_backward"),
    ),
    KnownBug(
        # The forward uses W, so the backward "uses W" too; runs silently for square layers.
        name="dX-weight-not-transposed",
        function="dense_backward",
        hint="dX = dout @ W.T: the weight goes back transposed (D_out -> D_in)",
        code="""
def dense_backward(dout, X, W):
    return dout @ W, X.T @ dout, dout.sum(axis=0)
""",
        fails=("dense_backward", "mlp_backward"),
    ),
    KnownBug(
        # The operands of dW in the wrong order: dout.T @ X is dW.T, the shape of W only if square.
        name="dW-transposed",
        function="dense_backward",
        hint="dW = X.T @ dout, of W's shape (D_in, D_out); dout.T @ X is its transpose",
        code="""
def dense_backward(dout, X, W):
    return dout @ W.T, dout.T @ X, dout.sum(axis=0)
""",
        fails=("dense_backward", "mlp_backward"),
    ),
    KnownBug(
        # Returning the local derivative and forgetting the chain rule's upstream factor.
        name="relu-backward-without-upstream",
        function="relu_backward",
        hint="multiply by the upstream gradient: dout * (z > 0), not (z > 0) alone",
        code="""
def relu_backward(dout, z):
    return (z > 0).astype(float)
""",
        fails=("relu_backward", "mlp_backward"),
    ),
    KnownBug(
        # z >= 0 in the mask: the subgradient 1 at the kink, where PyTorch (and the docstring) use 0.
        name="relu-backward-one-at-zero",
        function="relu_backward",
        kind="convention",
        hint=(
            "you took the derivative 1 at z = 0 (a mask z >= 0); this exercise takes 0 there "
            "(mask z > 0), as PyTorch does: any value in [0, 1] is a valid subgradient at the "
            "kink, so one must be chosen"
        ),
        code="""
def relu_backward(dout, z):
    return dout * (z >= 0)
""",
    ),
    KnownBug(
        # Copied from relu_backward: the negative side's slope alpha is lost.
        name="leaky-relu-backward-zero-slope",
        function="leaky_relu_backward",
        hint="on the negative side the slope is alpha, not 0: dout * np.where(z > 0, 1, alpha)",
        code="""
def leaky_relu_backward(dout, z, alpha=0.01):
    return dout * (z > 0)
""",
    ),
    KnownBug(
        # The textbook tanh' = 1 - a^2 (a the output) applied to the input z.
        name="tanh-grad-on-input",
        function="tanh_backward",
        hint="tanh'(z) = 1 - tanh(z)**2; 1 - z**2 uses the input where the formula wants the output",
        code="""
def tanh_backward(dout, z):
    return dout * (1 - z**2)
""",
    ),
    KnownBug(
        # The textbook sigmoid' = a (1 - a) (a the output) applied to the input z.
        name="sigmoid-grad-on-input",
        function="sigmoid_backward",
        hint="sigmoid'(z) = s (1 - s) with s = sigmoid(z); z (1 - z) uses the input in place of the output",
        code="""
def sigmoid_backward(dout, z):
    return dout * z * (1 - z)
""",
    ),
    KnownBug(
        # The loss is a mean but its gradient is not divided by N (CS231n softmax_loss questions).
        name="ce-grad-not-averaged",
        function="softmax_cross_entropy",
        hint="the loss is a mean over the batch, so its gradient carries the 1/N too: divide dlogits by N",
        code="""
def softmax_cross_entropy(logits, y):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dlogits = np.exp(log_p)
    dlogits[np.arange(n), y] -= 1
    return float(-log_p[np.arange(n), y].mean()), dlogits
""",
        fails=("softmax_cross_entropy", "mlp_backward"),
    ),
    KnownBug(
        # The derivative of softmax alone, without the -1 at the true class.
        name="ce-grad-without-onehot",
        function="softmax_cross_entropy",
        hint="subtract 1 at each sample's true class: (softmax(logits) - onehot(y)) / N",
        code="""
def softmax_cross_entropy(logits, y):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(n), y].mean()), np.exp(log_p) / n
""",
        fails=("softmax_cross_entropy", "mlp_backward"),
    ),
    KnownBug(
        # onehot - softmax: the direction that *increases* the loss (descent applied twice).
        name="ce-grad-sign-flipped",
        function="softmax_cross_entropy",
        hint="the gradient is softmax - onehot (the loss grows with the wrong classes' scores), not onehot - softmax",
        code="""
def softmax_cross_entropy(logits, y):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dlogits = -np.exp(log_p)
    dlogits[np.arange(n), y] += 1
    return float(-log_p[np.arange(n), y].mean()), dlogits / n
""",
        fails=("softmax_cross_entropy", "mlp_backward"),
    ),
    KnownBug(
        # Two recipes mixed: probs - onehot, and then probs[range(N), y] -= 1 on top of it.
        name="ce-grad-onehot-twice",
        function="softmax_cross_entropy",
        hint="subtract the one-hot target once: (softmax(logits) - onehot(y)) / N",
        code="""
def softmax_cross_entropy(logits, y):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dlogits = np.exp(log_p) - np.eye(logits.shape[1])[y]
    dlogits[np.arange(n), y] -= 1
    return float(-log_p[np.arange(n), y].mean()), dlogits / n
""",
        fails=("softmax_cross_entropy", "mlp_backward"),
    ),
    KnownBug(
        # exp of raw logits: inf / inf = NaN once a logit passes ~710.
        name="softmax-overflow",
        function="softmax_cross_entropy",
        hint="subtract each row's maximum from the logits before exp; the softmax does not change",
        code="""
def softmax_cross_entropy(logits, y):
    n = logits.shape[0]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        loss = float(-np.log(p[np.arange(n), y]).mean())
    dlogits = p.copy()
    dlogits[np.arange(n), y] -= 1
    return loss, dlogits / n
""",
    ),
    KnownBug(
        # logits.max(axis=0): the max over the batch (per class) is not constant along a row,
        # so it changes every row's softmax; the shift must be each row's own maximum.
        name="softmax-shift-over-batch-axis",
        function="softmax_cross_entropy",
        hint="subtract each row's own maximum: logits - logits.max(axis=1, keepdims=True); a per-column max changes the softmax",
        code="""
def softmax_cross_entropy(logits, y):
    n = logits.shape[0]
    rows, y = np.arange(n), np.asarray(y).astype(np.int64)
    shifted = logits - logits.max(axis=0, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dlogits = np.exp(log_p)
    dlogits[rows, y] -= 1
    return float(-log_p[rows, y].mean()), dlogits / n
""",
        fails=("softmax_cross_entropy", "mlp_backward"),
    ),
    KnownBug(
        # An activation after the output layer too: the logits lose their negative part.
        name="relu-on-logits",
        function="mlp_forward",
        hint="no ReLU after the last layer: the logits are the last dense layer's output",
        code="""
def mlp_forward(X, params):
    h = X
    for i in range(1, len(params) // 2 + 1):
        h = np.maximum(h @ params[f"W{i}"] + params[f"b{i}"], 0)
    return h
""",
    ),
    KnownBug(
        # The error goes straight from one dense layer to the one below, skipping the ReLU.
        name="mlp-backward-skips-relu",
        function="mlp_backward",
        hint="between two dense layers multiply by the ReLU's derivative: dz = relu_backward(dh, z) of the layer below",
        code=FORWARD
        + """
def mlp_backward(X, y, params):
    logits, cache = _forward(X, params)
    loss, dz = softmax_cross_entropy(logits, y)
    grads = {}
    for i in range(len(cache), 0, -1):
        dz, grads[f"W{i}"], grads[f"b{i}"] = dense_backward(dz, cache[i - 1][0], params[f"W{i}"])
    return loss, grads
""",
    ),
    KnownBug(
        # One uniform loop "ReLU backward, then dense backward" for every layer, the output
        # layer included, although the forward has no ReLU on the logits.
        name="relu-mask-on-logits-gradient",
        function="mlp_backward",
        hint="the last layer has no ReLU: its dz is dL/dlogits itself; apply relu_backward only below hidden layers",
        code=FORWARD
        + """
def mlp_backward(X, y, params):
    logits, cache = _forward(X, params)
    loss, dout = softmax_cross_entropy(logits, y)
    grads = {}
    for i in range(len(cache), 0, -1):
        h, z = cache[i - 1]
        dz = relu_backward(dout, z)
        dout, grads[f"W{i}"], grads[f"b{i}"] = dense_backward(dz, h, params[f"W{i}"])
    return loss, grads
""",
    ),
    KnownBug(
        # Only the weights are returned: the biases are never trained.
        name="mlp-backward-no-bias-grads",
        function="mlp_backward",
        hint="return a gradient for every parameter: db_l = dz_l.sum(axis=0) at each layer",
        code=FORWARD
        + """
def mlp_backward(X, y, params):
    logits, cache = _forward(X, params)
    loss, dz = softmax_cross_entropy(logits, y)
    grads = {}
    for i in range(len(cache), 0, -1):
        dh, grads[f"W{i}"], _ = dense_backward(dz, cache[i - 1][0], params[f"W{i}"])
        if i > 1:
            dz = relu_backward(dh, cache[i - 2][1])
    return loss, grads
""",
    ),
]

EQUIVALENT = {
    "softmax_cross_entropy/axis/axis=1->-1#0": "logits are 2-D (N, C), so axis=-1 is axis=1",
    "softmax_cross_entropy/axis/axis=1->-1#1": "logits are 2-D (N, C), so axis=-1 is axis=1",
    "mlp_forward/swap-args/swap first two arguments#1": "np.maximum is symmetric in its arguments (only the sign of a zero output can differ, and -0.0 == 0.0)",
    "mlp_backward/swap-args/swap first two arguments#1": "np.maximum is symmetric in its arguments (only the sign of a zero output can differ, and -0.0 == 0.0)",
}
