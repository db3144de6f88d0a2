"""Real data sets, offline: the small UCI sets that scikit-learn ships as files.

They are read straight from scikit-learn's package folder with NumPy (importing sklearn
itself costs about a second, too much for a grader's start-up). Origin and licence:
UCI Machine Learning Repository (digits: "Optical Recognition of Handwritten Digits",
Alpaydin & Kaynak 1998; iris: Fisher 1936), CC BY 4.0, as bundled by scikit-learn (BSD-3).
"""

from __future__ import annotations

import gzip
import importlib.util
from functools import cache
from pathlib import Path

import numpy as np

from nnfs_cli.errors import NnfsError


def _sklearn_file(name: str) -> Path:
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise NnfsError(
            "scikit-learn is not installed: it ships the data sets (pip install scikit-learn)"
        )
    path = Path(next(iter(spec.submodule_search_locations)), "datasets", "data", name)
    if not path.is_file():
        raise NnfsError(f"scikit-learn's data file {name} is missing from {path.parent}")
    return path


@cache
def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """1797 handwritten digits: X (1797, 64) float64 pixel values 0..16 (8x8, row-major), y (1797,) int64 in 0..9."""
    with gzip.open(_sklearn_file("digits.csv.gz"), "rt") as f:
        data = np.loadtxt(f, delimiter=",")
    X, y = data[:, :-1], data[:, -1].astype(np.int64)
    X.flags.writeable = y.flags.writeable = False  # cached: nobody may change the shared copy
    return X, y


@cache
def load_iris() -> tuple[np.ndarray, np.ndarray]:
    """150 iris flowers: X (150, 4) float64 (sepal/petal length and width, cm), y (150,) int64 in 0..2."""
    data = np.loadtxt(_sklearn_file("iris.csv"), delimiter=",", skiprows=1)
    X, y = data[:, :-1], data[:, -1].astype(np.int64)
    X.flags.writeable = y.flags.writeable = False
    return X, y
