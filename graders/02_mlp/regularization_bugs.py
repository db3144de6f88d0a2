"""Known bugs of regularization: mistakes learners make, each a replaced function."""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

BUGS = [
    KnownBug(
        # CS231n's assignments write the L2 term as reg * np.sum(W * W) with dW += 2 * reg * W;
        # copied into the lam / 2 convention (PyTorch's weight decay) it is twice too strong.
        name="l2-without-half",
        function="l2_penalty",
        hint="the convention is lam / 2 * sum(W**2), whose gradient is lam * W (not lam * sum(W**2) and 2 lam W)",
        code="""
def l2_penalty(params, lam):
    penalty, grads = 0.0, []
    for W, b in params:
        penalty = penalty + lam * np.sum(W * W)
        grads.append((2 * lam * W, np.zeros_like(b)))
    return penalty, grads
""",
    ),
    KnownBug(
        # Looping over every parameter array ("for p in all params: penalty += ...") decays the
        # biases too; Goodfellow et al. 7.1 explain why they are left out.
        name="l2-penalises-biases",
        function="l2_penalty",
        hint="only the weights are penalised: the biases add nothing and get a zero gradient",
        code="""
def l2_penalty(params, lam):
    penalty, grads = 0.0, []
    for W, b in params:
        penalty = penalty + 0.5 * lam * (np.sum(W * W) + np.sum(b * b))
        grads.append((lam * W, lam * b))
    return penalty, grads
""",
    ),
    KnownBug(
        # A sign built from a comparison: np.where(W >= 0, 1, -1) gives +1 at W = 0.
        name="l1-grad-one-at-zero",
        function="l1_penalty",
        kind="convention",
        hint=(
            "you gave W = 0 the gradient +1 (a comparison W >= 0); this exercise uses np.sign(W), "
            "0 at W = 0 (the subgradient torch.sign gives), so a weight that is exactly 0 stays "
            "there"
        ),
        code="""
def l1_penalty(params, lam):
    penalty, grads = 0.0, []
    for W, b in params:
        penalty = penalty + lam * np.sum(np.abs(W))
        grads.append((lam * np.where(W >= 0, 1.0, -1.0), np.zeros_like(b)))
    return penalty, grads
""",
    ),
    KnownBug(
        # sign(W) written as W / |W| (the derivative of |W| as taught in calculus): 0 / 0 = NaN.
        name="l1-sign-by-division",
        function="l1_penalty",
        hint="W / |W| is 0 / 0 = NaN at W = 0: use np.sign(W), which is 0 there",
        code="""
def l1_penalty(params, lam):
    penalty, grads = 0.0, []
    for W, b in params:
        penalty = penalty + lam * np.sum(np.abs(W))
        with np.errstate(invalid="ignore", divide="ignore"):
            grads.append((lam * W / np.abs(W), np.zeros_like(b)))
    return penalty, grads
""",
    ),
    KnownBug(
        # "Dropout keeps (1 - p) of the units, so multiply by (1 - p)": the test-time weight
        # scaling of the original paper applied in training, the wrong way round.
        name="dropout-scale-by-keep-prob",
        function="dropout_forward",
        hint="inverted dropout DIVIDES the kept units by the keep probability: x * mask / (1 - p)",
        code="""
def dropout_forward(x, p, train=True, seed=0):
    x = np.asarray(x)
    if not train:
        return x, np.ones_like(x)
    mask = (np.random.default_rng(seed).random(x.shape) >= p).astype(x.dtype)
    return x * mask * (1 - p), mask
""",
    ),
    KnownBug(
        # CS231n's dropout notes and assignment use p as the probability of KEEPING a unit
        # (mask = (rand < p) / p); PyTorch's p, used here, is the probability of dropping it.
        name="dropout-p-as-keep-probability",
        function="dropout_forward",
        kind="convention",
        hint=(
            "you used p as the probability of KEEPING a unit (CS231n's convention); this exercise "
            "uses p as the probability of DROPPING it, as torch.nn.Dropout(p) does: keep where "
            "random() >= p, scale by 1 / (1 - p)"
        ),
        code="""
def dropout_forward(x, p, train=True, seed=0):
    x = np.asarray(x)
    if not train:
        return x, np.ones_like(x)
    mask = (np.random.default_rng(seed).random(x.shape) < p).astype(x.dtype)
    return x * mask / p, mask
""",
    ),
    KnownBug(
        # keep = random() > p: the strict comparison drops a unit whose draw equals p exactly.
        name="dropout-keeps-draw-above-p",
        function="dropout_forward",
        hint="keep where random() >= p: a draw equal to p is kept (with p = 0 everything is kept)",
        code=edited(
            reference_function(__file__, "dropout_forward"), (">= p).astype", "> p).astype")
        ),
    ),
    KnownBug(
        # The train flag is forgotten: the network stays random at evaluation time
        # (the classic "forgot model.eval()" symptom in PyTorch).
        name="dropout-active-at-eval",
        function="dropout_forward",
        hint="at evaluation (train=False) dropout is the identity: return x and a mask of ones",
        code="""
def dropout_forward(x, p, train=True, seed=0):
    x = np.asarray(x)
    mask = (np.random.default_rng(seed).random(x.shape) >= p).astype(x.dtype)
    return x * mask / (1 - p), mask
""",
    ),
    KnownBug(
        # The scheme of the original paper (Srivastava et al. 2014): no scaling in training,
        # activations multiplied by the keep probability at test time. Mixed with the
        # inverted-dropout convention of this exercise, evaluation is no longer the identity.
        name="dropout-not-inverted",
        function="dropout_forward",
        hint="inverted dropout scales by 1 / (1 - p) during training so that evaluation is the plain identity",
        code="""
def dropout_forward(x, p, train=True, seed=0):
    x = np.asarray(x)
    if not train:
        return x * (1 - p), np.ones_like(x)
    mask = (np.random.default_rng(seed).random(x.shape) >= p).astype(x.dtype)
    return x * mask, mask
""",
    ),
    KnownBug(
        # The forward's 1 / (1 - p) is forgotten in the backward (CS231n assignment 2 forum).
        name="dropout-backward-unscaled",
        function="dropout_backward",
        hint="the forward multiplied the kept units by 1 / (1 - p): so does the backward, dx = dout * mask / (1 - p)",
        code="""
def dropout_backward(dout, mask, p):
    return dout * mask
""",
    ),
    KnownBug(
        # Off by one: the counter must pass patience ("wait > patience") before stopping.
        name="patience-off-by-one",
        function="early_stopping",
        hint="stop after the epoch at which the wait counter REACHES patience (wait >= patience)",
        code="""
def early_stopping(val_losses, patience, min_delta=0.0):
    best, best_epoch, wait = np.inf, 0, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best - min_delta:
            best, best_epoch, wait = loss, epoch, 0
        else:
            wait += 1
            if wait > patience:
                return epoch, best_epoch
    return len(val_losses) - 1, best_epoch
""",
        fails=("early_stopping", "restore_best"),
    ),
    KnownBug(
        # "<=" instead of "<": a plateau keeps resetting the counter and training never stops.
        name="tie-counts-as-improvement",
        function="early_stopping",
        kind="convention",
        hint=(
            "you counted an equal loss as an improvement (<=); this exercise uses the strict rule "
            "of Keras' EarlyStopping, loss < best - min_delta, so that a plateau runs the "
            "patience out"
        ),
        code="""
def early_stopping(val_losses, patience, min_delta=0.0):
    best, best_epoch, wait = np.inf, 0, 0
    for epoch, loss in enumerate(val_losses):
        if loss <= best - min_delta:
            best, best_epoch, wait = loss, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch, best_epoch
    return len(val_losses) - 1, best_epoch
""",
        fails=("early_stopping", "restore_best"),
    ),
    KnownBug(
        # "Stop when the validation loss has gone up patience epochs in a row": comparing with
        # the previous epoch instead of the best one lets a slow drift upwards run forever.
        name="counter-resets-on-any-decrease",
        function="early_stopping",
        hint="compare with the BEST loss so far, not with the previous epoch: a small rebound is not an improvement",
        code="""
def early_stopping(val_losses, patience, min_delta=0.0):
    best, best_epoch, wait, previous = np.inf, 0, 0, np.inf
    for epoch, loss in enumerate(val_losses):
        if loss < best - min_delta:
            best, best_epoch = loss, epoch
        if loss < previous - min_delta:
            wait = 0
        else:
            wait += 1
            if wait >= patience:
                return epoch, best_epoch
        previous = loss
    return len(val_losses) - 1, best_epoch
""",
        fails=("early_stopping", "restore_best"),
    ),
    KnownBug(
        # Keras' EarlyStopping keeps the LAST weights unless restore_best_weights=True.
        name="restore-last-epoch",
        function="restore_best",
        hint="restore the weights of best_epoch, not those of the last epoch trained (stop_epoch)",
        code="""
def restore_best(weights_per_epoch, val_losses, patience, min_delta=0.0):
    stop_epoch, _ = early_stopping(val_losses, patience, min_delta)
    return [(np.array(W), np.array(b)) for W, b in weights_per_epoch[stop_epoch]]
""",
    ),
    KnownBug(
        # np.argmin over the whole list looks at epochs after the stop, which never ran.
        name="best-over-all-epochs",
        function="restore_best",
        hint="only epochs up to stop_epoch were trained: take best_epoch from early_stopping, not argmin of the whole list",
        code="""
def restore_best(weights_per_epoch, val_losses, patience, min_delta=0.0):
    best = int(np.argmin(val_losses))
    return [(np.array(W), np.array(b)) for W, b in weights_per_epoch[best]]
""",
    ),
    KnownBug(
        # np.random.normal's scale is the standard deviation; passing the variance is a common
        # StackOverflow confusion (N(0, sigma^2) written as normal(0, sigma**2)).
        name="noise-variance-as-scale",
        function="add_noise",
        hint="std is the standard deviation: multiply standard normal draws by std, not std**2",
        code="""
def add_noise(x, std, seed):
    x = np.asarray(x)
    return x + np.random.default_rng(seed).normal(0.0, std**2, size=x.shape)
""",
    ),
    KnownBug(
        # np.fliplr reverses axis 1: the width of one 2-D image, but the height (or the
        # channels) of a batch.
        name="fliplr-on-batch",
        function="flip_horizontal",
        hint="np.fliplr reverses axis 1, which is H in (N, H, W) and C in (N, C, H, W): reverse the last axis, images[..., ::-1]",
        code="""
def flip_horizontal(images):
    return np.fliplr(np.asarray(images)).copy()
""",
    ),
    KnownBug(
        # np.roll is the first "shift" one finds, but it wraps the pixels around the border.
        name="shift-wraps-around",
        function="shift",
        hint="np.roll wraps pixels around the border; a shift fills the uncovered rows and columns with 0",
        code="""
def shift(images, dx, dy):
    return np.roll(np.asarray(images), (dy, dx), axis=(-2, -1))
""",
        fails=("shift", "random_shift"),
    ),
    KnownBug(
        # (x, y) versus (row, column): dx applied to the rows, the usual image-coordinate mix-up.
        name="shift-axes-swapped",
        function="shift",
        hint="dx moves along the width (the last axis), dy along the height (the second-to-last)",
        code="""
def shift(images, dx, dy):
    images = np.asarray(images)
    out = np.zeros_like(images)
    height, width = images.shape[-2:]
    if abs(dy) >= width or abs(dx) >= height:
        return out
    rows_to, rows_from = slice(max(dx, 0), height + min(dx, 0)), slice(max(-dx, 0), height - max(dx, 0))
    cols_to, cols_from = slice(max(dy, 0), width + min(dy, 0)), slice(max(-dy, 0), width - max(dy, 0))
    out[..., rows_to, cols_to] = images[..., rows_from, cols_from]
    return out
""",
        fails=("shift", "random_shift"),
    ),
    KnownBug(
        # rng.integers(low, high) excludes high (like range), unlike the old random.randint.
        name="random-shift-excludes-max",
        function="random_shift",
        hint="rng.integers(low, high) excludes high: draw with integers(-max_shift, max_shift + 1, size=(N, 2))",
        code="""
def random_shift(images, max_shift, seed):
    images = np.asarray(images)
    shifts = np.random.default_rng(seed).integers(-max_shift, max_shift, size=(len(images), 2))
    out = np.zeros_like(images)
    for n, (dx, dy) in enumerate(shifts):
        out[n] = shift(images[n : n + 1], int(dx), int(dy))[0]
    return out, shifts
""",
    ),
]

# Mutants reviewed as equivalent (nnfs audit): they cannot change a result for any input the
# docstrings allow (checked by brute force over shifts -8..8 on several image shapes).
EQUIVALENT = {
    "early_stopping/constant/0->1#0": "initial best_epoch is overwritten: epoch 0 always improves on best = +inf (docstring)",
    "early_stopping/constant/0->1#1": "initial wait counter is reset to 0: epoch 0 always improves on best = +inf (docstring)",
    "shift/compare/GtE->Gt#0": "at |dx| == width both branches agree: the slices are empty and out stays all zeros",
    "shift/compare/GtE->Gt#1": "at |dy| == height both branches agree: the slices are empty and out stays all zeros",
    "shift/swap-args/swap first two arguments#1": "max(0, dy) == max(dy, 0): max is symmetric",
    "shift/swap-args/swap first two arguments#2": "min(0, dy) == min(dy, 0): min is symmetric",
    "shift/swap-args/swap first two arguments#4": "max(0, -dy) == max(-dy, 0): max is symmetric",
    "shift/swap-args/swap first two arguments#5": "max(0, dy) == max(dy, 0): max is symmetric",
    "shift/swap-args/swap first two arguments#7": "max(0, dx) == max(dx, 0): max is symmetric",
    "shift/swap-args/swap first two arguments#8": "min(0, dx) == min(dx, 0): min is symmetric",
    "shift/swap-args/swap first two arguments#10": "max(0, -dx) == max(-dx, 0): max is symmetric",
    "shift/swap-args/swap first two arguments#11": "max(0, dx) == max(dx, 0): max is symmetric",
    "shift/constant/0->1#1": "min(dy, 1) differs from min(dy, 0) only for integer dy >= 1, where the stop height + 1 is clipped to height",
    "shift/constant/0->1#5": "min(dx, 1) differs from min(dx, 0) only for integer dx >= 1, where the stop width + 1 is clipped to width",
    "random_shift/sibling/zeros_like->ones_like#0": "every out[n] is overwritten by the loop, so the initial fill never shows",
    "random_shift/constant/1->2#1": "shift treats images independently: [0] of the shift of images[n:n+2] is the shift of image n",
}
