"""Phase 2: the learner's forward pass, backprop and Adam train an MLP on real handwritten digits."""

from __future__ import annotations

import numpy as np

from nnfs_cli.data import load_digits
from nnfs_cli.milestones import Outcome

TARGET = 0.95


def _split(seed: int = 0):
    X, y = load_digits()
    order = np.random.default_rng(seed).permutation(len(y))
    X, y = np.asarray(X)[order] / 16.0, np.asarray(y)[order]
    n_test = len(y) // 4
    return X[n_test:], y[n_test:], X[:n_test], y[:n_test]


def _accuracy(forward, X, y, params: dict) -> float:
    layers = [(params[f"W{i}"], params[f"b{i}"]) for i in range(1, len(params) // 2 + 1)]
    logits, _ = forward.mlp_forward(X, layers, "relu")
    return float(np.mean(np.argmax(np.asarray(logits), axis=1) == y))


def _unflatten(flat: np.ndarray, shapes: dict) -> dict:
    out, at = {}, 0
    for k, shape in shapes.items():
        n = int(np.prod(shape))
        out[k] = flat[at : at + n].reshape(shape)
        at += n
    return out


def run(code, epochs: int = 20, batch: int = 64) -> Outcome:
    Xtr, ytr, Xte, yte = _split()
    rng = np.random.default_rng(0)
    sizes = [64, 64, 10]
    params = {}
    for i, (a, b) in enumerate(zip(sizes, sizes[1:]), start=1):
        params[f"W{i}"] = rng.normal(0, np.sqrt(2 / a), (a, b))  # He initialisation for ReLU
        params[f"b{i}"] = np.zeros(b)
    backprop, adam, forward = code["backprop"], code["optimizers"], code["forward-propagation"]
    # Adam is elementwise: one step on every parameter flattened together is the same as one
    # step per parameter, and costs one call into the sandbox instead of four
    shapes = {k: v.shape for k, v in params.items()}
    flat, state = np.concatenate([v.ravel() for v in params.values()]), {}
    losses, accuracies = [], []
    for _ in range(epochs):
        order = rng.permutation(len(ytr))
        epoch_loss = []
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            loss, grads = backprop.mlp_backward(Xtr[idx], ytr[idx], params)
            epoch_loss.append(float(loss))
            g = np.concatenate([np.asarray(grads[k], dtype=float).ravel() for k in params])
            flat, state = adam.adam_step(flat, g, state, lr=3e-3)
            params = _unflatten(np.asarray(flat, dtype=float), shapes)
        losses.append(float(np.mean(epoch_loss)))
        accuracies.append(_accuracy(forward, Xte, yte, params))
    acc = accuracies[-1]
    passed = acc >= TARGET
    verdict = (
        f"your MLP reads {acc:.1%} of {len(yte)} unseen handwritten digits correctly "
        f"({'>=' if passed else 'below'} the {TARGET:.0%} goal) after {epochs} epochs"
    )
    figures = [
        {"kind": "curves", "title": "digits-mlp: training loss and test accuracy",
         "curves": {"training loss": losses, "test error": [1 - a for a in accuracies]},
         "xlabel": "epoch", "ylabel": "loss / error"},
    ]  # fmt: skip
    return Outcome(passed, verdict, figures)
