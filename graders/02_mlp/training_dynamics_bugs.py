"""Known bugs of training-dynamics: mistakes learners make, each a replaced function."""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

# The reference training loop, for the train_mlp bugs below that change one line of it.
_TRAIN_MLP = reference_function(__file__, "train_mlp")


def _train_mlp_with(*edits: tuple[str, str]) -> str:
    return edited(_TRAIN_MLP, *edits)


BUGS = [
    KnownBug(
        # The loss is averaged but its gradient is not: the single most common hand-derived MSE
        # slip (StackOverflow "my gradient descent explodes with more data").
        name="mse-grad-missing-mean",
        function="mse_loss",
        hint="the loss is a mean, so its gradient carries the same 1/M: 2 (y_pred - y) / y_pred.size",
        code="""
def mse_loss(y_pred, y):
    diff = np.asarray(y_pred) - np.asarray(y)
    return float(np.mean(diff**2)), 2 * diff
""",
    ),
    KnownBug(
        # np.sum(...) / len(y): a mean over the rows only, which is right for (N,) targets and
        # wrong for (N, K) ones (torch's F.mse_loss averages over every element).
        name="mse-mean-over-rows-only",
        function="mse_loss",
        hint="divide by y_pred.size (every element), not by len(y_pred) (the rows)",
        code="""
def mse_loss(y_pred, y):
    diff = np.asarray(y_pred) - np.asarray(y)
    return float(np.sum(diff**2) / len(diff)), 2 * diff / len(diff)
""",
    ),
    KnownBug(
        # Textbook softmax exp(z) / sum exp(z) without the max shift: inf / inf = NaN for big logits
        # (CS231n notes, "Practical issues: numeric stability").
        name="ce-softmax-overflow",
        function="cross_entropy_loss",
        hint="exp(1000) overflows: subtract each row's maximum before exp and use log p = z - logsumexp(z)",
        code="""
def cross_entropy_loss(logits, y):
    logits = np.asarray(logits)
    n = logits.shape[0]
    rows = np.arange(n)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        loss = float(-np.log(p[rows, y]).mean())
    grad = p.copy()
    grad[rows, y] -= 1
    return loss, grad / n
""",
    ),
    KnownBug(
        # softmax - onehot is the gradient of the *summed* loss; with a mean loss it needs / N
        # (CS231n assignment 1 softmax: the most asked-about gradient check failure).
        name="ce-grad-missing-1/N",
        function="cross_entropy_loss",
        hint="the loss is a mean over the batch, so the gradient is (softmax - onehot) / N",
        code="""
def cross_entropy_loss(logits, y):
    logits = np.asarray(logits)
    n = logits.shape[0]
    rows = np.arange(n)
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    grad = np.exp(log_p)
    grad[rows, y] -= 1
    return float(-log_p[rows, y].mean()), grad
""",
        fails=("cross_entropy_loss", "train_mlp"),
    ),
    KnownBug(
        # Gradient *ascent*: "w += lr * dw" copied from an update written for a negated gradient.
        name="sgd-ascent",
        function="sgd_step",
        hint="step against the gradient: param - lr * grad",
        code="""
def sgd_step(params, grads, lr):
    return {k: params[k] + lr * grads[k] for k in params}
""",
    ),
    KnownBug(
        # The exponential-moving-average form of momentum from Andrew Ng's deep learning course;
        # torch.optim.SGD does not dampen (dampening = 0), so these steps are 10x smaller.
        name="momentum-ema-dampening",
        function="momentum_step",
        kind="convention",
        hint=(
            "you used the moving-average form v <- beta v + (1 - beta) grad (Andrew Ng's course); "
            "this exercise uses torch.optim.SGD's v <- beta v + grad, whose steps are 1 / (1 - "
            "beta) times larger, so learning rates carry over from PyTorch"
        ),
        code="""
def momentum_step(params, grads, velocity, lr, beta):
    velocity = {k: beta * velocity[k] + (1 - beta) * grads[k] for k in params}
    return {k: params[k] - lr * velocity[k] for k in params}, velocity
""",
        fails=("momentum_step", "train_mlp"),
    ),
    KnownBug(
        # CS231n's form v = mu v - lr dx; x += v: the same steps at a constant lr, but v is
        # -lr times PyTorch's buffer, and the steps differ as soon as the lr changes.
        name="momentum-lr-inside-velocity",
        function="momentum_step",
        hint="this exercise keeps PyTorch's velocity v <- beta v + grad and applies lr in the step p - lr v",
        code="""
def momentum_step(params, grads, velocity, lr, beta):
    velocity = {k: beta * velocity[k] - lr * grads[k] for k in params}
    return {k: params[k] + velocity[k] for k in params}, velocity
""",
    ),
    KnownBug(
        # Steps with the old velocity, then updates it: the momentum lags one step behind.
        name="momentum-stale-velocity",
        function="momentum_step",
        hint="update the velocity first, then step with the new one: p - lr (beta v + grad)",
        code="""
def momentum_step(params, grads, velocity, lr, beta):
    new_params = {k: params[k] - lr * velocity[k] for k in params}
    return new_params, {k: beta * velocity[k] + grads[k] for k in params}
""",
        # train_mlp calls it, so the seeded training run differs too
        fails=("momentum_step", "train_mlp"),
    ),
    KnownBug(
        # Counting epochs from 1 (or decaying after the step is taken): the rate drops one step early.
        name="step-decay-off-by-one",
        function="step_decay",
        hint="the first decay happens at step == step_size: use step // step_size, not (step + 1) // step_size",
        code="""
def step_decay(lr0, step, step_size, gamma):
    return float(lr0 * gamma ** ((step + 1) // step_size))
""",
    ),
    KnownBug(
        # TF's exponential_decay with staircase=False: a smooth curve instead of a staircase.
        name="step-decay-not-floored",
        function="step_decay",
        hint="step decay is a staircase: integer division step // step_size, not step / step_size",
        code="""
def step_decay(lr0, step, step_size, gamma):
    return float(lr0 * gamma ** (step / step_size))
""",
    ),
    KnownBug(
        # The CS231n notes write exponential decay as lr0 exp(-k t); here gamma is a factor per step.
        name="exp-decay-natural-exp",
        function="exponential_decay",
        hint="gamma multiplies the rate once per step: lr0 * gamma ** step, not lr0 * exp(-gamma * step)",
        code="""
def exponential_decay(lr0, step, gamma):
    return float(lr0 * np.exp(-gamma * step))
""",
    ),
    KnownBug(
        # lr_max (1 + cos) / 2 anneals to 0 whatever lr_min is.
        name="cosine-ignores-lr-min",
        function="cosine_decay",
        hint="anneal between the two rates: lr_min + (lr_max - lr_min) (1 + cos(pi t / T)) / 2",
        code="""
def cosine_decay(lr_max, lr_min, step, total_steps):
    if step >= total_steps:
        return float(lr_min)
    return float(lr_max * (1 + np.cos(np.pi * step / total_steps)) / 2)
""",
        fails=("cosine_decay", "warmup_cosine"),
    ),
    KnownBug(
        # Evaluating the formula past T: cos comes back up, the rate grows again (SGDR restarts by accident).
        name="cosine-not-clamped-after-T",
        function="cosine_decay",
        kind="convention",
        hint=(
            "your rate rises again after total_steps, as the bare formula does (and torch's "
            "CosineAnnealingLR, whose curve is periodic); this exercise holds lr_min for t >= T, "
            "so a schedule that has ended never restarts by accident"
        ),
        code="""
def cosine_decay(lr_max, lr_min, step, total_steps):
    return float(lr_min + (lr_max - lr_min) * (1 + np.cos(np.pi * step / total_steps)) / 2)
""",
        fails=("cosine_decay", "warmup_cosine"),
    ),
    KnownBug(
        # Cosine over the whole run instead of the steps after warm-up: the rate jumps down at t = W
        # and never restarts from lr_max (a common slip when bolting warm-up onto a cosine schedule).
        name="warmup-cosine-not-shifted",
        function="warmup_cosine",
        hint="after warm-up, run the cosine on step - warmup_steps over total_steps - warmup_steps",
        code="""
def warmup_cosine(lr_max, lr_min, step, warmup_steps, total_steps):
    if step < warmup_steps:
        return float(lr_max * step / warmup_steps)
    return cosine_decay(lr_max, lr_min, step, total_steps)
""",
    ),
    KnownBug(
        # (step + 1) / W: warm-up reaches lr_max one step early and never starts at 0.
        name="warmup-off-by-one",
        function="warmup_cosine",
        hint="warm-up is lr_max * step / warmup_steps: 0 at step 0 and lr_max exactly at step == warmup_steps",
        code="""
def warmup_cosine(lr_max, lr_min, step, warmup_steps, total_steps):
    if step < warmup_steps:
        return float(lr_max * (step + 1) / warmup_steps)
    return cosine_decay(lr_max, lr_min, step - warmup_steps, total_steps - warmup_steps)
""",
    ),
    KnownBug(
        # range(0, n - batch_size + 1, batch_size), or n // batch_size batches: the remainder is lost.
        name="minibatches-drop-last",
        function="minibatches",
        hint="keep the last, smaller batch: range(0, n, batch_size), so every sample is seen each epoch",
        code="""
def minibatches(n, batch_size, seed, shuffle=True):
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    return [order[i * batch_size:(i + 1) * batch_size] for i in range(max(n // batch_size, 1))]
""",
        # train_mlp walks minibatches(), so its seeded run differs too
        fails=("minibatches", "train_mlp"),
    ),
    KnownBug(
        # rng.integers / np.random.choice(n, batch_size) per batch: sampling with replacement,
        # so some samples repeat and others are skipped in an epoch.
        name="minibatches-with-replacement",
        function="minibatches",
        hint="an epoch is a permutation: shuffle all n indices once, then slice; do not draw each batch at random",
        code="""
def minibatches(n, batch_size, seed, shuffle=True):
    if not shuffle:
        order = np.arange(n)
        return [order[i:i + batch_size] for i in range(0, n, batch_size)]
    rng = np.random.default_rng(seed)
    return [rng.integers(0, n, size=min(batch_size, n - i)) for i in range(0, n, batch_size)]
""",
        # train_mlp walks minibatches(), so its seeded run differs too
        fails=("minibatches", "train_mlp"),
    ),
    KnownBug(
        # Forgetting the shuffle (or the flag): batches always come in the data's order. On data
        # sorted by class every batch holds one class, and the spiral is never learned.
        name="minibatches-never-shuffled",
        function="minibatches",
        hint="when shuffle is True, order = np.random.default_rng(seed).permutation(n)",
        code="""
def minibatches(n, batch_size, seed, shuffle=True):
    order = np.arange(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]
""",
        fails=("minibatches", "train_mlp"),
    ),
    KnownBug(
        # All-zero initial weights: every hidden unit computes the same thing and gets the same
        # gradient, so the symmetry never breaks (CS231n notes, "Pitfall: all zero initialization").
        name="train-zero-init",
        function="train_mlp",
        hint="initialise W1 and W2 with small random numbers (e.g. normal * sqrt(2 / fan_in)); only biases start at 0",
        code=_train_mlp_with(
            (
                '"W1": rng.normal(size=(d, hidden)) * np.sqrt(2.0 / d)',
                '"W1": np.zeros((d, hidden))',
            ),
            (
                '"W2": rng.normal(size=(hidden, classes)) * np.sqrt(2.0 / hidden)',
                '"W2": np.zeros((hidden, classes))',
            ),
        ),
    ),
    KnownBug(
        # Unscaled standard-normal weights (np.random.randn without the sqrt(2 / fan_in)): the
        # classic first attempt; activations grow with the fan-in and the run differs from step 0.
        name="train-init-unscaled",
        function="train_mlp",
        hint="scale each weight matrix by sqrt(2 / fan_in) (He initialisation): W1 by sqrt(2 / D), W2 by sqrt(2 / hidden)",
        code=_train_mlp_with(
            (
                '"W1": rng.normal(size=(d, hidden)) * np.sqrt(2.0 / d)',
                '"W1": rng.normal(size=(d, hidden))',
            ),
            (
                '"W2": rng.normal(size=(hidden, classes)) * np.sqrt(2.0 / hidden)',
                '"W2": rng.normal(size=(hidden, classes))',
            ),
        ),
    ),
    KnownBug(
        # CS231n's "0.01 * randn" small-random-numbers init: fine for a tiny net, but not the
        # recipe, and it shrinks activations layer after layer in deeper ones.
        name="train-init-0.01",
        function="train_mlp",
        hint="use He initialisation, not 0.01 * normal: W = rng.normal(size=(fan_in, fan_out)) * sqrt(2 / fan_in)",
        code=_train_mlp_with(
            (
                '"W1": rng.normal(size=(d, hidden)) * np.sqrt(2.0 / d)',
                '"W1": rng.normal(size=(d, hidden)) * 0.01',
            ),
            (
                '"W2": rng.normal(size=(hidden, classes)) * np.sqrt(2.0 / hidden)',
                '"W2": rng.normal(size=(hidden, classes)) * 0.01',
            ),
        ),
    ),
    KnownBug(
        # fan_out instead of fan_in in the He scale (a transposed reading of the formula).
        name="train-init-fan-out",
        function="train_mlp",
        hint="He initialisation divides by the fan-IN, the number of inputs of the layer: sqrt(2 / D) for W1, sqrt(2 / hidden) for W2",
        code=_train_mlp_with(
            (
                '"W1": rng.normal(size=(d, hidden)) * np.sqrt(2.0 / d)',
                '"W1": rng.normal(size=(d, hidden)) * np.sqrt(2.0 / hidden)',
            ),
            (
                '"W2": rng.normal(size=(hidden, classes)) * np.sqrt(2.0 / hidden)',
                '"W2": rng.normal(size=(hidden, classes)) * np.sqrt(2.0 / classes)',
            ),
        ),
    ),
    KnownBug(
        # Back-propagating through ReLU without its mask: the hidden layer learns as if it were linear
        # (the backward of an activation multiplies by its derivative at the pre-activation).
        name="train-relu-backward-missing",
        function="train_mlp",
        hint="in the backward pass multiply by relu'(pre) = (pre > 0) before computing dW1 and db1",
        code=_train_mlp_with(
            ('dpre = (dlogits @ params["W2"].T) * (pre > 0)', 'dpre = dlogits @ params["W2"].T')
        ),
    ),
    KnownBug(
        # "Average over the batch" applied twice: dlogits already carries the 1/N of the mean
        # loss, and db = dlogits.mean(axis=0) divides by N again (a CS231n two-layer-net slip).
        name="train-bias-grad-mean",
        function="train_mlp",
        hint="the upstream gradient already holds the 1/N of the mean loss: db = dout.sum(axis=0), not .mean(axis=0)",
        code=_train_mlp_with(
            ('"b1": dpre.sum(axis=0)', '"b1": dpre.mean(axis=0)'),
            ('"b2": dlogits.sum(axis=0)', '"b2": dlogits.mean(axis=0)'),
        ),
    ),
    KnownBug(
        # Passing the same seed every epoch: minibatches(n, batch_size, seed) gives every epoch
        # the same batches in the same order, instead of a fresh shuffle per epoch.
        name="train-same-batches-every-epoch",
        function="train_mlp",
        hint="reshuffle every epoch: iterate over minibatches(N, batch_size, seed + epoch)",
        code=_train_mlp_with(
            ("minibatches(n, batch_size, seed + epoch)", "minibatches(n, batch_size, seed)")
        ),
    ),
]

# Mutants of the reference that no allowed input can tell apart from it.
EQUIVALENT = {
    "cross_entropy_loss/axis/axis=1->-1#0": "logits are 2-D (N, C): axis -1 is axis 1",
    "cross_entropy_loss/axis/axis=1->-1#1": "logits are 2-D (N, C): axis -1 is axis 1",
    "cosine_decay/compare/GtE->Gt#0": "at step == total_steps the formula gives lr_min exactly "
    "(np.cos(np.pi) == -1.0, so 1 + cos = 0.0)",
    "train_mlp/swap-args/swap first two arguments#1": "np.maximum is symmetric: maximum(0, pre) == maximum(pre, 0)",
    "train_mlp/swap-args/swap first two arguments#4": "np.maximum is symmetric: maximum(0, z) == maximum(z, 0)",
    "train_mlp/axis/axis=1->-1#0": "the final logits are 2-D (N, C): argmax over axis -1 is axis 1",
}
