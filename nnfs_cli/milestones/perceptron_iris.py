"""Phase 1: the learner's perceptron separates two species of iris (real measurements)."""

from __future__ import annotations

import numpy as np

from nnfs_cli.data import load_iris
from nnfs_cli.milestones import Outcome


def run(code) -> Outcome:
    X, y = load_iris()
    keep = y < 2  # setosa (0) and versicolor (1) are linearly separable
    X, y = np.array(X[keep][:, [0, 2]]), np.array(y[keep])  # sepal and petal length, cm
    order = np.random.default_rng(0).permutation(len(y))  # the file lists one species first
    X, y = X[order], y[order]
    mine = code["perceptron"]
    w, b, mistakes = mine.train_perceptron(X, y, lr=0.1, epochs=100)
    correct = int(np.sum(np.asarray(mine.predict(X, w, b)) == y))
    xs = np.linspace(X[:, 0].min() - 0.2, X[:, 0].max() + 0.2, 50)
    ys = np.asarray(mine.decision_boundary(w, b, xs), dtype=float)
    passed = correct == len(y)
    verdict = (
        f"your perceptron separates setosa from versicolor: {correct}/{len(y)} flowers right "
        f"after {len(mistakes)} epochs"
        if passed
        else f"your perceptron gets {correct}/{len(y)} flowers right; this data is separable, so it should get all"
    )
    figures = [
        {"kind": "boundary", "title": "perceptron-separates: your boundary on iris",
         "X": X.tolist(), "y": y.tolist(), "line_x": xs.tolist(), "line_y": ys.tolist(),
         "xlabel": "sepal length (cm)", "ylabel": "petal length (cm)", "labels": ["setosa", "versicolor"]}
    ]  # fmt: skip
    return Outcome(passed, verdict, figures)
