"""[Computed in the question's dtype: float32 when every floating input is float32, else
float64; a float32 answer to a float64 question is graded at float64.] A correct perceptron in another style: float32 throughout, broadcasting, float labels, while loops."""

import functools

import numpy as np

F32 = np.float32  # the dtype of the current call, set by _in_inputs_dtype


def _floating(x):
    if isinstance(x, np.ndarray | np.floating):
        return [x.dtype] if np.issubdtype(x.dtype, np.floating) else []
    if isinstance(x, list | tuple | dict):
        return [d for v in (x.values() if isinstance(x, dict) else x) for d in _floating(v)]
    return []


def _in_inputs_dtype(fn):
    """Run `fn` in float32 when its floating inputs are all float32, else in float64."""

    @functools.wraps(fn)
    def call(*args, **kwargs):
        global F32
        saved, found = F32, _floating([args, kwargs])
        F32 = np.float32 if found and all(d == np.float32 for d in found) else np.float64
        try:
            return fn(*args, **kwargs)
        finally:
            F32 = saved

    return call


def predict(X, w, b):
    X = np.asarray(X, dtype=F32)
    return np.heaviside(X @ np.asarray(w, dtype=F32) + F32(b), F32(1.0))


def train_perceptron(X, y, lr=1.0, epochs=100, w0=None, b0=0.0):
    X = np.asarray(X, dtype=F32)
    y = np.asarray(y, dtype=F32)
    w = np.zeros(X.shape[1], F32) if w0 is None else np.asarray(w0, F32).copy()
    b = F32(b0)
    lr = F32(lr)
    history = []
    epoch = 0
    while epoch < epochs:
        errors = 0
        i = 0
        while i < len(X):
            error = y[i] - F32(np.dot(X[i], w) + b >= 0)
            if error:  # the update is zero when the prediction is right anyway
                w += lr * error * X[i]
                b += lr * error
                errors += 1
            i += 1
        history.append(errors)
        epoch += 1
        if not errors:
            break
    return w, b, history


def decision_boundary(w, b, xs):
    slope, intercept = -F32(w[0]) / F32(w[1]), -F32(b) / F32(w[1])
    return slope * np.asarray(xs, dtype=F32) + intercept


def decision_grid(w, b, x_range, y_range, n):
    xs = np.linspace(*x_range, n)
    ys = np.linspace(*y_range, n)
    z = w[1] * ys[:, None] + w[0] * xs[None, :] + b
    return np.where(z >= 0, 1.0, 0.0).astype(F32)


def xor_experiment(epochs=20, lr=1.0, w0=None, b0=0.0):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=F32)
    y = np.logical_xor(X[:, 0], X[:, 1]).astype(F32)
    return train_perceptron(X, y, lr, epochs, w0, b0)


# every exercise function computes in its question's dtype
for _name, _fn in list(globals().items()):
    if not _name.startswith("_") and getattr(_fn, "__module__", None) == __name__:
        globals()[_name] = _in_inputs_dtype(_fn)
