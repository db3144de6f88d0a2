"""Known bugs of bptt: each an edit of the reference function as the solution file has it."""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

_BACKWARD = reference_function(__file__, "rnn_backward")
_NORM = reference_function(__file__, "clip_grad_norm")
_NORMS = reference_function(__file__, "hidden_grad_norms")
_TRAIN = reference_function(__file__, "train_rnn")

BUGS = [
    KnownBug(
        # Only the local gradient at each step: the gradient through h_{t+1} never flows back
        # (the most asked-about slip in CS231n assignment 3's rnn_backward).
        name="bptt-hidden-grad-not-carried",
        function="rnn_backward",
        hint="each step's dh is dhs[:, t] PLUS the gradient carried back from step t + 1 (dh_next = dz @ Wh.T)",
        code=edited(_BACKWARD, ("dz = (dhs[:, t] + dh_next) *", "dz = dhs[:, t] *")),
        fails=("rnn_backward", "train_rnn"),
    ),
    KnownBug(
        # h_t where h_{t-1} belongs in dWh (the state after the step instead of before it).
        name="bptt-h-t-for-h-prev",
        function="rnn_backward",
        hint="dWh += h_prev.T @ dz with h_prev the state BEFORE step t: hs[:, t - 1], or h0 at t = 0",
        code=edited(_BACKWARD, ("h_prev = hs[:, t - 1] if t > 0 else h0", "h_prev = hs[:, t]")),
        fails=("rnn_backward", "train_rnn"),
    ),
    KnownBug(
        # tanh' taken of an already-activated value: 1 - tanh(h)^2 where h = tanh(z) already.
        name="bptt-tanh-grad-of-activated",
        function="rnn_backward",
        hint="hs already holds tanh(z): tanh'(z) = 1 - hs[:, t]**2, not 1 - tanh(hs[:, t])**2",
        code=edited(_BACKWARD, ("(1 - hs[:, t] ** 2)", "(1 - np.tanh(hs[:, t]) ** 2)")),
        fails=("rnn_backward", "train_rnn"),
    ),
    KnownBug(
        # `=` where `+=` belongs: the shared weight keeps only one step's contribution.
        name="bptt-dWh-assigned-not-accumulated",
        function="rnn_backward",
        hint="Wh is used at every step, so dWh SUMS h_prev.T @ dz over all steps (+=, not =)",
        code=edited(_BACKWARD, ("dWh = dWh + h_prev.T @ dz", "dWh = h_prev.T @ dz")),
        fails=("rnn_backward", "train_rnn"),
    ),
    KnownBug(
        # The tanh Jacobian left out of the step: dz = dh (the gradient w.r.t. the state used
        # as the gradient w.r.t. the pre-activation; "forgot the derivative of tanh" is a
        # standard answer on CS231n rnn_step_backward threads).
        name="bptt-tanh-derivative-missing",
        function="rnn_backward",
        hint="h_t = tanh(z_t): multiply by tanh'(z_t) = 1 - h_t**2 before the weights, "
        "dz = (dhs[:, t] + dh_next) * (1 - hs[:, t]**2)",
        code=edited(_BACKWARD, ("(dhs[:, t] + dh_next) * (1 - hs[:, t] ** 2)", "(dhs[:, t] + dh_next)")),
        fails=("rnn_backward", "train_rnn"),
    ),
    KnownBug(
        # tanh' written 1 - h: the square dropped (the sigmoid-style s(1 - s) pattern half
        # remembered; a recurring correction in from-scratch RNN posts).
        name="bptt-tanh-derivative-not-squared",
        function="rnn_backward",
        hint="tanh'(z) = 1 - tanh(z)**2: with h = tanh(z), that is 1 - h**2, not 1 - h",
        code=edited(_BACKWARD, ("(1 - hs[:, t] ** 2)", "(1 - hs[:, t])")),
        fails=("rnn_backward", "train_rnn"),
    ),
    KnownBug(
        # The recurrent weight not transposed on the way back: with a square Wh no shape
        # error says so (the CS231n rnn_step_backward "dprev_h = dz @ Wh" slip).
        name="bptt-Wh-not-transposed",
        function="rnn_backward",
        hint="the forward computes h_prev @ Wh, so the gradient flowing back is dz @ Wh.T; Wh is "
        "square, so the shapes cannot tell you",
        code=edited(_BACKWARD, ("dh_next = dz @ Wh.T", "dh_next = dz @ Wh")),
        fails=("rnn_backward", "train_rnn"),
    ),
    KnownBug(
        # `=` where `+=` belongs, for the input weight (the same slip as dWh's).
        name="bptt-dWx-assigned-not-accumulated",
        function="rnn_backward",
        hint="Wx is used at every step, so dWx SUMS x[:, t].T @ dz over all steps (+=, not =)",
        code=edited(_BACKWARD, ("dWx = dWx + x[:, t].T @ dz", "dWx = x[:, t].T @ dz")),
        fails=("rnn_backward", "train_rnn"),
    ),
    KnownBug(
        # `=` where `+=` belongs, for the bias.
        name="bptt-db-assigned-not-accumulated",
        function="rnn_backward",
        hint="b is used at every step, so db SUMS dz.sum(axis=0) over all steps (+=, not =)",
        code=edited(_BACKWARD, ("db = db + dz.sum(axis=0)", "db = dz.sum(axis=0)")),
        fails=("rnn_backward", "train_rnn"),
    ),
    KnownBug(
        # Clipping only the upper side (np.minimum), a frequent hand-rolled clip.
        name="clip-value-one-sided",
        function="clip_grad_value",
        hint="clip both sides: np.clip(g, -clip, clip)",
        code="""
def clip_grad_value(grads, clip):
    return {k: np.minimum(g, clip) for k, g in grads.items()}
""",
    ),
    KnownBug(
        # Each parameter clipped by its own norm: the update changes direction (Pascanu et al.
        # 2013 clip the global norm; a common misreading of clip_grad_norm_).
        name="clip-norm-per-parameter",
        function="clip_grad_norm",
        hint="one norm over ALL gradients together: total = sqrt(sum of every g**2), one factor for all",
        code="""
def clip_grad_norm(grads, max_norm):
    out = {}
    for k, g in grads.items():
        n = float(np.sqrt(np.sum(g * g)))
        out[k] = g * min(1.0, max_norm / (n + 1e-6))
    total = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))
    return out, total
""",
        fails=("clip_grad_norm", "train_rnn"),
    ),
    KnownBug(
        # The factor applied even below max_norm: small gradients are scaled UP to max_norm.
        name="clip-norm-scales-up",
        function="clip_grad_norm",
        hint="only shrink: the factor is min(1, max_norm / (total + 1e-6)); below max_norm nothing changes",
        code=edited(_NORM, ("min(1.0, max_norm / (total + 1e-6))", "max_norm / (total + 1e-6)")),
        fails=("clip_grad_norm", "train_rnn"),
    ),
    KnownBug(
        # The Jacobian of tanh left out: the norms then follow Wh alone.
        name="grad-norms-without-tanh-derivative",
        function="hidden_grad_norms",
        hint="going back one step multiplies by tanh'(z_t) = 1 - h_t**2 before Wh.T",
        code=edited(_NORMS, ("dh = (dh * (1 - hs[:, t] ** 2)) @ Wh.T", "dh = dh @ Wh.T")),
    ),
    KnownBug(
        # Norms listed in the order they were computed (last step first).
        name="grad-norms-reversed",
        function="hidden_grad_norms",
        hint="norms[t] belongs to step t: norms[T-1] is ||dh_last||, norms[0] the furthest back",
        code=edited(
            _NORMS, ("norms[t] = np.linalg.norm(dh)", "norms[T - 1 - t] = np.linalg.norm(dh)")
        ),
    ),
    KnownBug(
        # Clipping computed and thrown away (the clipped dict never used).
        name="train-clipping-not-applied",
        function="train_rnn",
        hint="use what clip_grad_norm returns: grads, _ = clip_grad_norm(grads, max_norm)",
        code=edited(
            _TRAIN,
            ("grads, _ = clip_grad_norm(grads, max_norm)", "clip_grad_norm(grads, max_norm)"),
        ),
    ),
    KnownBug(
        # d(mean squared error) without the 1/size of the mean: steps K*N times too large.
        name="train-mse-grad-not-averaged",
        function="train_rnn",
        hint="the loss is a mean over N*K entries: dpred = 2 (pred - Y) / pred.size",
        code=edited(_TRAIN, ("dpred = 2 * (pred - Y) / pred.size", "dpred = 2 * (pred - Y)")),
    ),
]

# Audit mutants reviewed as equivalent: they cannot change any result.
EQUIVALENT = {
    "rnn_backward/sibling/zeros_like->ones_like#0": "every dx[:, t] is assigned before dx is returned",
    "rnn_backward/swap-args/swap first two arguments#0": "np.result_type is symmetric",
    "rnn_backward/constant/0->1#0": "Wh is square: Wh.shape[1] == Wh.shape[0]",
    "clip_grad_value/swap-args/swap first two arguments#0": "np.clip(-c, g, c) = minimum(maximum(-c, g), c) = np.clip(g, -c, c)",
    "clip_grad_norm/swap-args/swap first two arguments#0": "min is symmetric",
    "hidden_grad_norms/sibling/zeros->ones#0": "every norms[t] is assigned before norms is returned",
}
