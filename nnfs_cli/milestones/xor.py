"""Phase 1: XOR defeats the learner's perceptron; a 2-layer network of their sigmoids learns it."""

from __future__ import annotations

import numpy as np

from nnfs_cli.milestones import Outcome

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([0.0, 1.0, 1.0, 0.0])


def _train_two_layer(theory, epochs: int = 300, lr: float = 5.0, hidden: int = 3):
    """Full-batch gradient descent on squared error with the learner's sigmoid and sigmoid_grad."""
    rng = np.random.default_rng(1)  # a start known to escape XOR's flat regions
    W1, b1 = rng.normal(0, 1.0, (2, hidden)), np.zeros(hidden)
    W2, b2 = rng.normal(0, 1.0, hidden), 0.0
    losses = []
    for _ in range(epochs):
        z1 = X @ W1 + b1
        h = np.asarray(theory.sigmoid(z1), dtype=float)
        z2 = h @ W2 + b2
        out = np.asarray(theory.sigmoid(z2), dtype=float)
        losses.append(float(np.mean((out - Y) ** 2)))
        # both layers' derivatives in one call (it is elementwise): one round trip, not two
        grads = np.asarray(theory.sigmoid_grad(np.concatenate([z1.ravel(), z2])), dtype=float)
        g1, g2 = grads[: z1.size].reshape(z1.shape), grads[z1.size :]
        d2 = 2 * (out - Y) / len(Y) * g2
        d1 = np.outer(d2, W2) * g1
        W2, b2 = W2 - lr * h.T @ d2, b2 - lr * d2.sum()
        W1, b1 = W1 - lr * X.T @ d1, b1 - lr * d1.sum(axis=0)
    return out, losses


def run(code) -> Outcome:
    _, _, mistakes = code["perceptron"].xor_experiment(epochs=30)
    perceptron_fails = len(mistakes) == 30 and min(mistakes) >= 1
    out, losses = _train_two_layer(code["perceptron-theory"])
    network_learns = bool(np.all((out >= 0.5) == (Y == 1)))
    passed = perceptron_fails and network_learns
    if passed:
        verdict = (f"your perceptron still makes {mistakes[-1]} mistake(s) after 30 epochs; your 2-layer "
                   f"network outputs {np.round(out, 2).tolist()} for XOR's [0, 1, 1, 0]")  # fmt: skip
    elif not perceptron_fails:
        verdict = f"your perceptron's mistakes per epoch on XOR were {mistakes}: it cannot separate XOR, so every epoch must have one"
    else:
        verdict = f"the 2-layer network built on your sigmoid and sigmoid_grad outputs {np.round(out, 2).tolist()}, not XOR's [0, 1, 1, 0]"
    figures = [
        {"kind": "curves", "title": "xor: your perceptron's mistakes vs your 2-layer network's loss",
         "curves": {"perceptron mistakes / 4": [m / 4 for m in mistakes], "2-layer network loss": losses},
         "xlabel": "epoch", "ylabel": "error"},
    ]  # fmt: skip
    return Outcome(passed, verdict, figures)
