"""Known bugs of optimizers: mistakes learners make, each a replaced function.

The reference's adamw_step calls adam_step, as a learner's usually does, so a bug in
adam_step's shared update also fails adamw_step.
"""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

# The reference steps, for the bugs below that each change one line of one of them.
_ADAM = reference_function(__file__, "adam_step")
_RMSPROP = reference_function(__file__, "rmsprop_step")

BUGS = [
    # ------------------------------------------------------------------ AdaGrad
    KnownBug(
        # "Adaptive = average": learners store the mean of g^2 (RMSprop without forgetting)
        # instead of AdaGrad's ever-growing sum (Duchi et al. 2011 use the sum).
        name="adagrad-average-not-sum",
        function="adagrad_step",
        hint="AdaGrad accumulates the sum of squared gradients, sum + g**2, never divided by t",
        code="""
def adagrad_step(param, grad, state, lr=0.01, eps=1e-10, weight_decay=0.0, lr_decay=0.0):
    t = state.get("t", 0) + 1
    g = grad + weight_decay * param
    total = state.get("sum", np.zeros_like(g)) * (t - 1) / t + g * g / t
    lr_t = lr / (1 + (t - 1) * lr_decay)
    return param - lr_t * g / (np.sqrt(total) + eps), {"t": t, "sum": total}
""",
    ),
    KnownBug(
        # Many blog implementations write np.sqrt(cache + eps) (Keras' old K.epsilon style).
        name="adagrad-eps-inside-sqrt",
        function="adagrad_step",
        kind="convention",
        hint=(
            "you put eps inside the root, g / sqrt(sum + eps) (the Keras and many-tutorials "
            "convention); this exercise follows torch.optim.Adagrad, g / (sqrt(sum) + eps), so "
            "your steps can be checked against PyTorch's"
        ),
        code="""
def adagrad_step(param, grad, state, lr=0.01, eps=1e-10, weight_decay=0.0, lr_decay=0.0):
    t = state.get("t", 0) + 1
    g = grad + weight_decay * param
    total = state.get("sum", np.zeros_like(g)) + g * g
    lr_t = lr / (1 + (t - 1) * lr_decay)
    return param - lr_t * g / np.sqrt(total + eps), {"t": t, "sum": total}
""",
    ),
    KnownBug(
        # Off by one: torch decays with (step - 1), so the first step uses the full lr.
        name="adagrad-lr-decay-off-by-one",
        function="adagrad_step",
        hint="the decayed rate is lr / (1 + (t - 1) lr_decay): the first step (t = 1) uses lr itself",
        code="""
def adagrad_step(param, grad, state, lr=0.01, eps=1e-10, weight_decay=0.0, lr_decay=0.0):
    t = state.get("t", 0) + 1
    g = grad + weight_decay * param
    total = state.get("sum", np.zeros_like(g)) + g * g
    lr_t = lr / (1 + t * lr_decay)
    return param - lr_t * g / (np.sqrt(total) + eps), {"t": t, "sum": total}
""",
    ),
    # ------------------------------------------------------------------ RMSprop
    KnownBug(
        # RMSprop written from AdaGrad code keeps the running sum (no alpha, no 1 - alpha).
        name="rmsprop-sum-not-average",
        function="rmsprop_step",
        hint="RMSprop keeps a moving average, alpha square_avg + (1 - alpha) g**2, not a growing sum",
        code="""
def rmsprop_step(param, grad, state, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0):
    g = grad + weight_decay * param
    avg = state.get("square_avg", np.zeros_like(g)) + g * g
    return param - lr * g / (np.sqrt(avg) + eps), {"square_avg": avg}
""",
    ),
    KnownBug(
        # Ascending the loss: the update written as param + lr * ... (a classic sign slip).
        name="rmsprop-sign-flipped",
        function="rmsprop_step",
        hint="step against the gradient: param - lr g / (sqrt(square_avg) + eps)",
        code="""
def rmsprop_step(param, grad, state, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0):
    g = grad + weight_decay * param
    avg = alpha * state.get("square_avg", np.zeros_like(g)) + (1 - alpha) * g * g
    return param + lr * g / (np.sqrt(avg) + eps), {"square_avg": avg}
""",
    ),
    KnownBug(
        # Weight decay applied after the adaptive step (p -= lr wd p) instead of added to g:
        # learners who know AdamW apply its decoupled form everywhere.
        name="rmsprop-decay-after-step",
        function="rmsprop_step",
        hint="torch.optim.RMSprop's weight decay is L2: add weight_decay * param to the gradient before "
        "square_avg and the step",
        code="""
def rmsprop_step(param, grad, state, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0):
    avg = alpha * state.get("square_avg", np.zeros_like(grad)) + (1 - alpha) * grad * grad
    return param - lr * grad / (np.sqrt(avg) + eps) - lr * weight_decay * param, {"square_avg": avg}
""",
    ),
    KnownBug(
        # The root forgotten: g / (square_avg + eps) divides by a mean square, so the step
        # scales like 1 / g instead of being normalised to about lr.
        name="rmsprop-no-sqrt",
        function="rmsprop_step",
        hint="divide by the root mean square: g / (sqrt(square_avg) + eps), not by square_avg itself",
        code=edited(_RMSPROP, ("g / (np.sqrt(avg) + eps)", "g / (avg + eps)")),
    ),
    KnownBug(
        # sqrt(square_avg + eps), as in Keras and many tutorials: another convention.
        name="rmsprop-eps-inside-sqrt",
        function="rmsprop_step",
        kind="convention",
        hint=(
            "you put eps inside the root, g / sqrt(square_avg + eps) (the Keras and "
            "many-tutorials convention); this exercise follows torch.optim.RMSprop, g / "
            "(sqrt(square_avg) + eps), so your steps can be checked against PyTorch's"
        ),
        code=edited(_RMSPROP, ("g / (np.sqrt(avg) + eps)", "g / np.sqrt(avg + eps)")),
    ),
    # ------------------------------------------------------------------ Adam
    KnownBug(
        # Skipping bias correction (Kingma & Ba, section 3): the first steps are ~sqrt(1 - beta2) / (1 - beta1) off.
        name="adam-no-bias-correction",
        function="adam_step",
        hint="divide m by (1 - beta1**t) and v by (1 - beta2**t) before the step",
        code="""
def adam_step(param, grad, state, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    g = grad + weight_decay * param
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", np.zeros_like(g)) + (1 - beta1) * g
    v = beta2 * state.get("v", np.zeros_like(g)) + (1 - beta2) * g * g
    return param - lr * m / (np.sqrt(v) + eps), {"t": t, "m": m, "v": v}
""",
        fails=("adam_step", "adamw_step"),
    ),
    KnownBug(
        # v <- beta2 v + g^2: the (1 - beta2) weight of the new term forgotten, so v is a sum
        # that grows ~1 / (1 - beta2) times too large and the steps shrink by ~sqrt of that.
        name="adam-v-not-weighted",
        function="adam_step",
        hint="v is an exponential moving average: v = beta2 v + (1 - beta2) g**2 (and m = beta1 m + (1 - beta1) g)",
        code=edited(_ADAM, ("+ (1 - beta2) * g * g", "+ g * g")),
        fails=("adam_step", "adamw_step"),
    ),
    KnownBug(
        # m computed from this step's gradient only: the stored first moment is never read, so
        # Adam loses its momentum (and the first step still looks right).
        name="adam-m-not-accumulated",
        function="adam_step",
        hint="read the stored moment: m = beta1 * state['m'] + (1 - beta1) g (zeros at the first step), then return it in the new state",
        code=edited(
            _ADAM, ('beta1 * state.get("m", np.zeros_like(g)) + (1 - beta1) * g', "(1 - beta1) * g")
        ),
        fails=("adam_step", "adamw_step"),
    ),
    KnownBug(
        # sqrt(v_hat + eps): common in tutorials and in TF1's "epsilon hat" confusion.
        name="adam-eps-inside-sqrt",
        function="adam_step",
        kind="convention",
        hint=(
            "you put eps inside the root, m_hat / sqrt(v_hat + eps) (a convention of tutorials "
            "and old TF code); this exercise follows torch.optim.Adam, m_hat / (sqrt(v_hat) + "
            "eps), so your steps can be checked against PyTorch's"
        ),
        code=edited(_ADAM, ("m_hat / (np.sqrt(v_hat) + eps)", "m_hat / np.sqrt(v_hat + eps)")),
        fails=("adam_step", "adamw_step"),
    ),
    KnownBug(
        # The step counter is used before it is incremented: 1 - beta**0 = 0 on the first step.
        name="adam-bias-correction-t-from-0",
        function="adam_step",
        hint="increment t first: t = 1 on the first step, so 1 - beta1**t is never 0",
        code="""
def adam_step(param, grad, state, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    g = grad + weight_decay * param
    t = state.get("t", 0)
    m = beta1 * state.get("m", np.zeros_like(g)) + (1 - beta1) * g
    v = beta2 * state.get("v", np.zeros_like(g)) + (1 - beta2) * g * g
    with np.errstate(divide="ignore", invalid="ignore"):
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t + 1, "m": m, "v": v}
""",
        fails=("adam_step", "adamw_step"),
    ),
    KnownBug(
        # The counter's default written as 1 (the first step "is step 1"), then incremented:
        # the first step uses t = 2 and every bias correction is one step late.
        name="adam-t-starts-at-1",
        function="adam_step",
        hint="the counter starts at 0 in an empty state and is incremented before use: t = state.get('t', 0) + 1, so the first step has t = 1",
        code=edited(_ADAM, ('t = state.get("t", 0) + 1', 't = state.get("t", 1) + 1')),
        fails=("adam_step", "adamw_step"),
    ),
    KnownBug(
        # t computed but the old one stored (or t = 1 hard-coded): the bias correction of the
        # first step is applied at every step.
        name="adam-t-never-advances",
        function="adam_step",
        hint="return the incremented counter in the new state, {'t': t, ...}, so the next step uses t + 1",
        code=edited(_ADAM, ('t = state.get("t", 0) + 1', "t = 1")),
        fails=("adam_step", "adamw_step"),
    ),
    KnownBug(
        # Adam given AdamW's decoupled decay: the two are often believed to be the same
        # (Loshchilov & Hutter 2019 show they are not for adaptive methods).
        name="adam-decay-decoupled",
        function="adam_step",
        hint="torch.optim.Adam's weight decay is L2: g = grad + weight_decay * param, before m and v "
        "(the decoupled p -= lr * wd * p is AdamW's)",
        code="""
def adam_step(param, grad, state, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    param = param - lr * weight_decay * param
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", np.zeros_like(grad)) + (1 - beta1) * grad
    v = beta2 * state.get("v", np.zeros_like(grad)) + (1 - beta2) * grad * grad
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}
""",
    ),
    # ------------------------------------------------------------------ AdamW
    KnownBug(
        # AdamW implemented as Adam with weight_decay (the L2 form): exactly what AdamW fixes.
        name="adamw-decay-as-l2",
        function="adamw_step",
        hint="AdamW decouples the decay: p <- p - lr * weight_decay * p, and m, v see the raw gradient",
        code="""
def adamw_step(param, grad, state, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    return adam_step(param, grad, state, lr, betas, eps, weight_decay)
""",
    ),
    KnownBug(
        # Decay applied to the already-updated parameter: (p - lr u)(1 - lr wd).
        name="adamw-decay-after-step",
        function="adamw_step",
        hint="shrink the parameter first, p - lr * wd * p, then apply the Adam update to it (torch's order)",
        code="""
def adamw_step(param, grad, state, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    new_param, new_state = adam_step(param, grad, state, lr, betas, eps, 0.0)
    return new_param - lr * weight_decay * new_param, new_state
""",
    ),
    KnownBug(
        # The paper's algorithm writes the decay as eta_t * lambda * theta with a schedule
        # multiplier eta_t, so learners drop lr: torch multiplies the decay by lr.
        name="adamw-decay-without-lr",
        function="adamw_step",
        hint="torch.optim.AdamW scales the decay by the learning rate: p <- p - lr * weight_decay * p",
        code="""
def adamw_step(param, grad, state, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    return adam_step(param - weight_decay * param, grad, state, lr, betas, eps, 0.0)
""",
    ),
    # ------------------------------------------------------------------ schedules
    KnownBug(
        # "Divide by (1 + k) every step" (a recursive update) is exponential, not inverse-time, decay.
        name="inverse-time-applied-recursively",
        function="inverse_time_decay",
        hint="lr0 / (1 + k t) is a closed form; dividing by (1 + k) at every step gives lr0 / (1 + k)**t",
        fails=("inverse_time_decay", "adagrad_step"),  # adagrad_step uses it for lr_decay
        code="""
def inverse_time_decay(lr0, t, k):
    return float(lr0 / (1 + k) ** t)
""",
    ),
    KnownBug(
        # Patience off by one: reducing at bad == patience (torch waits for bad > patience).
        name="plateau-patience-off-by-one",
        function="reduce_on_plateau",
        hint="patience bad epochs are tolerated: reduce when bad > patience, not bad >= patience",
        code="""
def reduce_on_plateau(losses, lr0, factor=0.1, patience=10, threshold=1e-4):
    lr, best, bad, out = lr0, np.inf, 0, []
    for loss in losses:
        if loss < best * (1 - threshold):
            best, bad = loss, 0
        else:
            bad += 1
        if bad >= patience:
            lr, bad = lr * factor, 0
        out.append(lr)
    return np.array(out)
""",
    ),
    KnownBug(
        # Forgetting to reset the counter: after the first cut, every further bad epoch cuts again.
        name="plateau-counter-not-reset",
        function="reduce_on_plateau",
        hint="after reducing the rate, set bad = 0: the next reduction waits another patience + 1 bad epochs",
        code="""
def reduce_on_plateau(losses, lr0, factor=0.1, patience=10, threshold=1e-4):
    lr, best, bad, out = lr0, np.inf, 0, []
    for loss in losses:
        if loss < best * (1 - threshold):
            best, bad = loss, 0
        else:
            bad += 1
        if bad > patience:
            lr = lr * factor
        out.append(lr)
    return np.array(out)
""",
    ),
]

# Mutants reviewed as equivalent: they cannot change any result (nnfs audit leaves them out).
EQUIVALENT = {
    "reduce_on_plateau/constant/0->1#0": "the first loss always beats best = +inf and resets bad to 0, "
    "so bad's starting value never matters",
}
