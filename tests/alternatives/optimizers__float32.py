"""[Computed in the question's dtype: float32 when every floating input is float32, else
float64; a float32 answer to a float64 question is graded at float64.] A correct optimizers computed in float32 throughout (vectorised, state in float32),
AdamW delegating to Adam, AdaGrad's decayed rate from inverse_time_decay."""

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

def inverse_time_decay(lr0, t, k):
    return float(F32(lr0) / (F32(1) + F32(k) * F32(t)))


def adagrad_step(param, grad, state, lr=0.01, eps=1e-10, weight_decay=0.0, lr_decay=0.0):
    p, g = np.asarray(param, F32), np.asarray(grad, F32)
    t = state.get("t", 0) + 1
    g = g + F32(weight_decay) * p
    total = np.asarray(state.get("sum", np.zeros_like(p)), F32) + g * g
    lr_t = F32(inverse_time_decay(lr, t - 1, lr_decay))
    return p - lr_t * g / (np.sqrt(total) + F32(eps)), {"t": t, "sum": total}


def rmsprop_step(param, grad, state, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0):
    p, g = np.asarray(param, F32), np.asarray(grad, F32)
    g = g + F32(weight_decay) * p
    avg = F32(alpha) * np.asarray(state.get("square_avg", np.zeros_like(p)), F32) + F32(
        1 - alpha
    ) * np.square(g)
    return p - F32(lr) * g / (np.sqrt(avg) + F32(eps)), {"square_avg": avg}


def adam_step(param, grad, state, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    p, g = np.asarray(param, F32), np.asarray(grad, F32)
    b1, b2 = betas
    g = g + F32(weight_decay) * p
    t = state.get("t", 0) + 1
    m = F32(b1) * np.asarray(state.get("m", np.zeros_like(p)), F32) + F32(1 - b1) * g
    v = F32(b2) * np.asarray(state.get("v", np.zeros_like(p)), F32) + F32(1 - b2) * g * g
    m_hat = m / F32(1 - b1**t)
    v_hat = v / F32(1 - b2**t)
    return p - F32(lr) * m_hat / (np.sqrt(v_hat) + F32(eps)), {"t": t, "m": m, "v": v}


def adamw_step(param, grad, state, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    p = np.asarray(param, F32)
    return adam_step(p - F32(lr * weight_decay) * p, grad, state, lr, betas, eps, 0.0)


def reduce_on_plateau(losses, lr0, factor=0.1, patience=10, threshold=1e-4):
    lr, best, bad, out = lr0, np.inf, 0, []
    for loss in losses:
        if loss < best * (1 - threshold):
            best, bad = loss, 0
        else:
            bad += 1
        if bad > patience:
            lr, bad = lr * factor, 0
        out.append(lr)
    return np.array(out, dtype=F32)


# every exercise function computes in its question's dtype
for _name, _fn in list(globals().items()):
    if not _name.startswith("_") and getattr(_fn, "__module__", None) == __name__:
        globals()[_name] = _in_inputs_dtype(_fn)
