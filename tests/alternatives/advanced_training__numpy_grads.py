"""A correct advanced-training in another style: accumulation and data parallelism with
summed (not averaged) per-example losses divided by N, unscaling with torch as GradScaler
does (a multiplication by 1 / scale, torch.isfinite), the scaler as a counter in a loop-free
table of cases, LoRA's forward through the merged weight, merge and unmerge with einsum,
LoRA trained with gradients written by hand in NumPy, the adapter in NumPy and trained with
torch.optim.SGD on its parameters only."""

import numpy as np
import torch
import torch.nn.functional as F


def _logits(p, X):
    X = torch.as_tensor(X, dtype=p["W1"].dtype)
    return torch.tanh(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]


def mlp_loss(params, X, y):
    p = {k: torch.as_tensor(v) for k, v in params.items()}
    return F.cross_entropy(_logits(p, X), torch.as_tensor(y, dtype=torch.long))


def _summed_grads(params, pieces):
    """Sum over (X, y) pieces of the per-example losses, divided by the total N."""
    leaves = {k: torch.tensor(np.asarray(v), requires_grad=True) for k, v in params.items()}
    N = sum(len(y) for _, y in pieces)
    total = 0.0
    for X, y in pieces:
        loss = F.cross_entropy(_logits(leaves, X), torch.as_tensor(y, dtype=torch.long), reduction="sum") / N
        loss.backward()
        total += float(loss)
    return total, {k: v.grad.numpy() for k, v in leaves.items()}


def accumulated_gradients(params, X, y, micro_batch):
    return _summed_grads(params, [(X[i : i + micro_batch], y[i : i + micro_batch]) for i in range(0, len(X), micro_batch)])


def data_parallel_gradients(params, X_shards, y_shards):
    return _summed_grads(params, list(zip(X_shards, y_shards)))


def unscale_grads(grads, scale):
    inv = 1.0 / float(scale)
    out, found = {}, False
    for k, g in grads.items():
        t = torch.as_tensor(np.asarray(g)) * inv
        found = found or not bool(torch.isfinite(t).all())
        out[k] = t.numpy()
    return out, found


def scaler_update(state, found_inf, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000):
    scale, count = state["scale"], state["growth_tracker"]
    if found_inf:
        scale, count = scale * backoff_factor, 0
    elif count + 1 >= growth_interval:
        scale, count = (scale * growth_factor if np.isfinite(scale * growth_factor) else scale), 0
    else:
        count += 1
    return {"scale": float(scale), "growth_tracker": int(count)}


def scaled_sgd_step(params, scaled_grads, state, lr, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000):
    grads, bad = unscale_grads(scaled_grads, state["scale"])
    new = {k: np.array(v, copy=True) for k, v in params.items()}
    if not bad:
        for k in new:
            new[k] = new[k] - lr * grads[k]
    return new, scaler_update(state, bad, growth_factor, backoff_factor, growth_interval), not bad


def lora_init(d_in, d_out, r, seed):
    A = np.random.default_rng(seed).standard_normal((d_in, r)) / np.sqrt(d_in)
    return {"A": A, "B": np.zeros((r, d_out))}


def lora_forward(x, W, b, A, B, alpha):
    return x @ lora_merge(W, A, B, alpha) + b


def lora_merge(W, A, B, alpha):
    return W + np.einsum("ir,ro->io", A, B) * (alpha / A.shape[1])


def lora_unmerge(W_merged, A, B, alpha):
    return W_merged - np.einsum("ir,ro->io", A, B) * (alpha / A.shape[1])


def lora_train(W, b, A, B, X, Y, alpha, lr, steps):
    s = alpha / A.shape[1]
    A, B = A.copy(), B.copy()
    losses = []
    for _ in range(steps):
        H = X @ A  # (N, r)
        err = X @ W + b + s * H @ B - Y
        losses.append(float(np.mean(err**2)))
        G = 2 * err / err.size  # dL / d(output)
        dB = s * H.T @ G
        dA = s * X.T @ (G @ B.T)
        A, B = A - lr * dA, B - lr * dB
    return {"W": W.copy(), "b": b.copy(), "A": A, "B": B}, losses


def adapter_forward(h, p):
    return h + np.maximum(h @ p["W_down"] + p["b_down"], 0) @ p["W_up"] + p["b_up"]


def adapter_train(base, adapter, X, y, lr, steps):
    frozen = {k: torch.as_tensor(v) for k, v in base.items()}
    params = {k: torch.nn.Parameter(torch.tensor(v)) for k, v in adapter.items()}
    opt = torch.optim.SGD(params.values(), lr=lr)
    hidden = torch.tanh(torch.as_tensor(X) @ frozen["W1"] + frozen["b1"])
    target = torch.as_tensor(y, dtype=torch.long)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        h = hidden + torch.relu(hidden @ params["W_down"] + params["b_down"]) @ params["W_up"] + params["b_up"]
        loss = F.cross_entropy(h @ frozen["W2"] + frozen["b2"], target)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    return dict(base), {k: v.detach().numpy().copy() for k, v in params.items()}, losses
