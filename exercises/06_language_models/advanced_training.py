"""# Advanced training: accumulation, loss scaling, data parallelism, LoRA, adapters

Five tricks that train big models on small hardware, each an identity you can check.

**Gradient accumulation.** A batch of N examples too big for memory is cut into
micro-batches of `micro_batch` examples (the last one may be smaller: N = 10 in windows of
4 gives 4, 4, 2). The big batch's loss is the per-example mean over all N, so micro-batch j,
of n_j examples with mean loss L_j, enters with weight n_j / N:

    L = sum_j (n_j / N) L_j        grad L = sum_j (n_j / N) grad L_j

`backward()` adds into `.grad`, so scale each micro-batch loss by n_j / N before its
backward and the accumulated gradient equals the big batch's to float rounding. Dividing by
the number of windows (the usual `loss / accum_steps`) is the same only when every window
is full; not dividing at all multiplies the gradient by the number of windows.

**Dynamic loss scaling** (mixed precision; Micikevicius et al. 2018): float16 gradients
underflow, so the loss is multiplied by a scale S before backward, and the gradients are
divided by S before the step. If any gradient is inf or NaN the scale was too large: the
step is **skipped** and S backs off. The rule of `torch.amp.GradScaler`, with state
(scale S, growth_tracker t), growth factor g = 2, backoff b = 0.5, growth interval n:

    found inf/NaN:  S <- S * b,  t <- 0,  no parameter update
    all finite:     t <- t + 1;  if t == n: S <- S * g (kept only if finite), t <- 0

A scale grows only after n clean steps in a row; a skipped step never counts as clean.
GradScaler starts from S = 2**16, t = 0 (n = 2000 by default).

**Data parallelism** (simulated): K workers each hold a shard of n_k examples and compute
the gradient g_k of their own mean loss; the all-reduce combines them into the full
batch's gradient, weighted by shard size:

    g = sum_k (n_k / N) g_k,   N = sum_k n_k

On equal shards this is the plain average (what `DistributedDataParallel` does: it
divides the summed gradients by the number of workers); on unequal shards only the
weighted form equals the full batch.

**LoRA** (Hu et al. 2021): a frozen linear layer y = x @ W + b, W (d_in, d_out), gets a
trainable low-rank update of rank r:

    y = x @ W + b + (alpha / r) * (x @ A) @ B      A (d_in, r), B (r, d_out)

A is random and **B starts at zero**, so the layer starts equal to the base and training
moves only A and B. The scaling is alpha / r (not alpha), so changing r does not change the
update's size. Merging folds the update into the weight for free inference:
W_merged = W + (alpha / r) A @ B (the same outputs, no extra matmul); unmerging subtracts
the same product and restores W to float rounding, however often you merge and unmerge.

**Bottleneck adapters** (Houlsby et al. 2019): a small residual MLP inserted after a frozen
layer's output h (N, d), with a bottleneck of m << d units:

    adapter(h) = h + relu(h @ W_down + b_down) @ W_up + b_up
    W_down (d, m), b_down (m,), W_up (m, d), b_up (d,)

W_up and b_up start at zero, so the adapter starts as the identity.

## Conventions this exercise holds (the grader checks each)

- Weights are (in, out) and applied as `x @ W + b`; LoRA's A is (d_in, r), B (r, d_out)
  (PyTorch and PEFT store the transposes, (out, in)).
- The model of accumulation and data parallelism is `mlp_loss` (given): a one-hidden-layer
  tanh MLP, mean softmax cross-entropy. Gradients are returned as a dict named like the
  parameters, each shaped like its parameter, in the parameters' dtype.
- Losses are per-example means over the whole batch; returned losses are Python floats.
- The scaler's state is a dict {"scale": float, "growth_tracker": int}; functions return a
  new state dict. `found_inf` is True when any gradient entry is inf **or NaN**.
- Training functions use plain SGD (p <- p - lr * grad) on the trainable parameters only,
  full batch, and return the loss **before** each step; frozen parameters are returned
  bit-for-bit unchanged.
- You may compute with **torch tensors and autograd** (`torch.tensor(a, requires_grad=True)`
  takes a NumPy array; a tensor you return reaches the grader as an array), but not with
  what does the job: `torch.amp.GradScaler` and PEFT are refused.
- Never modify an input in place.

Read: Micikevicius et al. (2018), "Mixed precision training"; Goyal et al. (2017),
"Accurate, large minibatch SGD"; Hu et al. (2021), "LoRA: Low-rank adaptation of large
language models"; Houlsby et al. (2019), "Parameter-efficient transfer learning for NLP";
the `torch.amp.GradScaler` documentation.
"""

import numpy as np
import torch


def mlp_loss(params: dict, X, y):
    """Given: the mean cross-entropy of a one-hidden-layer tanh MLP, as a torch scalar.

    params: "W1" (D, H), "b1" (H,), "W2" (H, C), "b2" (C,), arrays or tensors (tensors that
    require grad keep their graph); X (N, D); y (N,) int labels in 0..C-1.
    logits = tanh(X @ W1 + b1) @ W2 + b2; loss = mean over the N examples of
    -log softmax(logits)[y].
    """
    p = {k: torch.as_tensor(v) for k, v in params.items()}
    X = torch.as_tensor(X, dtype=p["W1"].dtype)
    logits = torch.tanh(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
    return torch.nn.functional.cross_entropy(logits, torch.as_tensor(y, dtype=torch.long))


def accumulated_gradients(params: dict, X: np.ndarray, y: np.ndarray, micro_batch: int):
    """The big batch's loss and gradient, computed one micro-batch at a time.

    params: as mlp_loss; X (N, D); y (N,); micro_batch >= 1: windows X[0:m], X[m:2m], ...
    (the last may be shorter), one at a time: a forward and a backward per window, never
    the whole batch at once. Each window's mean loss is weighted by n_j / N and its
    backward accumulates. Returns (loss: float, the mean loss over all N; grads: dict
    {name: (shape of params[name])}), equal to mlp_loss's on the whole batch.
    """
    # YOUR CODE HERE
    raise NotImplementedError("advanced-training: implement accumulated_gradients")


def data_parallel_gradients(params: dict, X_shards: list, y_shards: list):
    """Simulated data-parallel workers: each computes its own shard's gradient, then the
    gradients are combined, weighted by shard size, into the full batch's.

    params: as mlp_loss; X_shards: K arrays (n_k, D); y_shards: K arrays (n_k,).
    Returns (loss: float, the full batch's mean loss; grads: dict shaped like params),
    with grads = sum_k (n_k / N) g_k, g_k the gradient of worker k's mean loss.
    """
    # YOUR CODE HERE
    raise NotImplementedError("advanced-training: implement data_parallel_gradients")


def unscale_grads(grads: dict, scale: float):
    """Divide every (scaled) gradient by the loss scale and check that all are finite.

    grads: dict of arrays; scale > 0. Returns (unscaled: dict of arrays shaped like grads,
    found_inf: bool, True when any entry of any gradient is inf or NaN).
    """
    # YOUR CODE HERE
    raise NotImplementedError("advanced-training: implement unscale_grads")


def scaler_update(
    state: dict,
    found_inf: bool,
    growth_factor: float = 2.0,
    backoff_factor: float = 0.5,
    growth_interval: int = 2000,
) -> dict:
    """One update of the dynamic loss scale, as torch.amp.GradScaler.update() does.

    state: {"scale": float, "growth_tracker": int}. Returns a new state: on found_inf the
    scale times backoff_factor and the tracker 0; else the tracker plus one, and when it
    reaches growth_interval the scale times growth_factor (unless that is inf) and the
    tracker 0.
    """
    # YOUR CODE HERE
    raise NotImplementedError("advanced-training: implement scaler_update")


def scaled_sgd_step(
    params: dict,
    scaled_grads: dict,
    state: dict,
    lr: float,
    growth_factor: float = 2.0,
    backoff_factor: float = 0.5,
    growth_interval: int = 2000,
):
    """One mixed-precision SGD step: what scaler.step(optimizer); scaler.update() do.

    params: dict of arrays; scaled_grads: the gradients of (loss * state["scale"]), shaped
    like params; state: as scaler_update. Unscale; if every gradient is finite, step
    p - lr * grad, else skip (parameters unchanged); then update the scale.
    Returns (new_params: dict, new_state: dict, step_taken: bool).
    """
    # YOUR CODE HERE
    raise NotImplementedError("advanced-training: implement scaled_sgd_step")


def lora_init(d_in: int, d_out: int, r: int, seed: int) -> dict:
    """LoRA's starting factors: {"A": (d_in, r) random, "B": (r, d_out) zeros}.

    A ~ N(0, 1 / d_in), drawn with np.random.default_rng(seed) (the same seed gives the
    same A); B exactly zero, so the adapted layer starts equal to the base. float64.
    """
    # YOUR CODE HERE
    raise NotImplementedError("advanced-training: implement lora_init")


def lora_forward(x, W, b, A, B, alpha: float):
    """A LoRA linear layer: x @ W + b + (alpha / r) * (x @ A) @ B, r = A.shape[1].

    x (N, d_in); W (d_in, d_out); b (d_out,); A (d_in, r); B (r, d_out). Returns (N, d_out).
    """
    # YOUR CODE HERE
    raise NotImplementedError("advanced-training: implement lora_forward")


def lora_merge(W, A, B, alpha: float):
    """The merged weight W + (alpha / r) * A @ B, (d_in, d_out): x @ merged + b equals
    lora_forward. Returns a new array (W is not modified)."""
    # YOUR CODE HERE
    raise NotImplementedError("advanced-training: implement lora_merge")


def lora_unmerge(W_merged, A, B, alpha: float):
    """Undo lora_merge: W_merged - (alpha / r) * A @ B, (d_in, d_out); equals the base W to
    float rounding, after any number of merge/unmerge rounds."""
    # YOUR CODE HERE
    raise NotImplementedError("advanced-training: implement lora_unmerge")


def lora_train(W, b, A, B, X, Y, alpha: float, lr: float, steps: int):
    """Fine-tune only A and B of a LoRA layer to regress Y from X; W and b stay frozen.

    W (d_in, d_out), b (d_out,) the frozen base; A (d_in, r), B (r, d_out) the starting
    factors; X (N, d_in); Y (N, d_out). Loss: the mean over all N * d_out entries of
    (lora_forward(X, W, b, A, B, alpha) - Y)**2. Each of `steps` steps: full-batch SGD,
    A <- A - lr dL/dA, B <- B - lr dL/dB. Returns ({"W", "b", "A", "B"}: W and b bit-for-bit
    the inputs, A and B trained; losses: the loss before each step, `steps` floats).
    """
    # YOUR CODE HERE
    raise NotImplementedError("advanced-training: implement lora_train")


def adapter_forward(h, p: dict):
    """A bottleneck adapter: h + relu(h @ W_down + b_down) @ W_up + b_up.

    h (N, d); p: "W_down" (d, m), "b_down" (m,), "W_up" (m, d), "b_up" (d,). Returns (N, d).
    """
    # YOUR CODE HERE
    raise NotImplementedError("advanced-training: implement adapter_forward")


def adapter_train(base: dict, adapter: dict, X, y, lr: float, steps: int):
    """Train an adapter inserted after the hidden layer of a frozen MLP; the base is frozen.

    base: mlp_loss's "W1", "b1", "W2", "b2"; adapter: adapter_forward's four arrays (the
    starting point); X (N, D); y (N,) int labels. The model:
    logits = adapter_forward(tanh(X @ W1 + b1), adapter) @ W2 + b2, mean cross-entropy.
    Each step: full-batch SGD on the adapter's four arrays only. Returns (base: the same
    four arrays bit-for-bit, adapter: the trained four, losses: the loss before each step).
    """
    # YOUR CODE HERE
    raise NotImplementedError("advanced-training: implement adapter_train")
