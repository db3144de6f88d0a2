"""# Transfer learning: a frozen encoder and a linear probe, fine-tuning with per-layer rates

A network trained on a big **source** task learns features that help on a related
**target** task that has few labels. Two ways to reuse them (Howard & Ruder 2018, ULMFiT;
Peters, Ruder & Smith 2019, "To tune or not to tune?"):

**Feature extraction (a linear probe).** Freeze the pretrained encoder, compute its
features once, and train only a new head on them:

    features = encoder(x)                 no gradient, the encoder never changes
    logits   = features @ W_head + b_head

**Fine-tuning.** Train the encoder too, starting from the pretrained weights, with smaller
learning rates for the lower layers (they hold the most general features, which a few
target labels should barely move). ULMFiT's **discriminative learning rates**, with L
encoder layers numbered 1 (bottom, next to the input) to L (top):

    rate(head)    = base_lr                      the top gets the base rate
    rate(layer l) = base_lr * decay ** (L + 1 - l)   each layer below: one more factor decay

so with decay = 0.5 the top encoder layer trains at base_lr / 2, the one below at
base_lr / 4, ... (ULMFiT uses decay = 1 / 2.6). The lowest `n_frozen` encoder layers may be
**frozen**: left out of the optimizer entirely, so that they stay bit-for-bit unchanged.
Setting `requires_grad = False` on them is fine; zeroing their gradients is not (AdamW's
weight decay still shrinks them, and momentum still moves them).

**The model** is a dict of arrays, float64 (see `init_model`, given):

    "W1" (d_in, h1), "b1" (h1,), ..., "WL" (h_{L-1}, hL), "bL" (hL,)    the encoder
    "W_head" (hL, C), "b_head" (C,)                                   the head

    h = x;  h = relu(h @ W_l + b_l) for l = 1..L     features (N, hL): ReLU on EVERY layer
    logits = h @ W_head + b_head                      (N, C): no ReLU on the head

L is the number of keys "W1", "W2", ...; the head is never part of the features (a
pretrained model still carries its source head: the features stop before it).

**Training** (both functions): full batch, `steps` steps, each one optimizer step on the
mean cross-entropy of the logits against the labels y (N,) in 0..C-1; the loss recorded
is the one BEFORE each step (`steps` floats). The probe uses `torch.optim.Adam(lr=lr)` on
W_head and b_head only, on features computed once by `extract_features`. Fine-tuning uses
`torch.optim.AdamW` with default betas and eps, `weight_decay` (decoupled, as AdamW does:
not an L2 term in the loss) on every trained parameter, biases and head included, and one
parameter group per trained layer with its rate from `layer_learning_rates`.

## Conventions this exercise holds (the grader checks each)

- Weights (in, out) and `x @ W + b`; x (N, d_in); labels int in 0..C-1.
- Rates are listed bottom to top: `[layer 1, ..., layer L, head]`, the head last at base_lr.
- A frozen layer (the lowest `n_frozen`) and, in the probe, the whole encoder come back
  bit-for-bit equal to the input; every returned dict has every key of the input.
- You may compute with **torch tensors and autograd** and use `torch.optim`; a tensor you
  return reaches the grader as an array. scikit-learn and libraries that fine-tune for you
  (transformers, peft) are refused.
- Never modify an input in place.

The grader pretrains a small encoder on handwritten digits (scikit-learn's 8x8 digits,
half of them, all ten classes), then transfers it to a related task on the other half,
"digit mod 5" (5 classes, each two digits), from 4 labels per class: your fine-tuning has
to beat training the same network from scratch on those 20 labels.

Read: Howard & Ruder (2018), "Universal language model fine-tuning for text
classification" (discriminative fine-tuning, gradual unfreezing); Yosinski et al. (2014),
"How transferable are features in deep neural networks?"; Loshchilov & Hutter (2019),
"Decoupled weight decay regularization" (AdamW).
"""

import numpy as np
import torch


def init_model(sizes: tuple[int, ...], n_classes: int, seed: int) -> dict[str, np.ndarray]:
    """Given: a model with encoder layer sizes `sizes` = (d_in, h1, ..., hL) and a head to
    `n_classes`, float64, seeded: W_l ~ N(0, 2 / fan_in) (He), W_head ~ N(0, 1 / fan_in),
    biases 0. Names as the lesson says."""
    rng = np.random.default_rng(seed)
    p = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        p[f"W{layer}"] = rng.normal(scale=(2 / fan_in) ** 0.5, size=(fan_in, fan_out))
        p[f"b{layer}"] = np.zeros(fan_out)
    p["W_head"] = rng.normal(scale=sizes[-1] ** -0.5, size=(sizes[-1], n_classes))
    p["b_head"] = np.zeros(n_classes)
    return p


def extract_features(model: dict, x) -> np.ndarray:
    """The frozen encoder's features, without gradient.

    model: as init_model (a head, if present, is ignored); x (N, d_in). Returns (N, hL):
    relu(... relu(x @ W1 + b1) ... @ WL + bL), in x's dtype.
    """
    # YOUR CODE HERE
    raise NotImplementedError("transfer-learning: implement extract_features")


def model_forward(model: dict, x):
    """The logits, differentiable: the encoder's features @ W_head + b_head.

    model: as init_model, arrays or tensors (tensors that require grad: gradients flow to
    every one of them); x (N, d_in). Returns logits (N, C).
    """
    # YOUR CODE HERE
    raise NotImplementedError("transfer-learning: implement model_forward")


def layer_learning_rates(n_layers: int, base_lr: float, decay: float) -> list[float]:
    """Discriminative learning rates, bottom to top: [layer 1, ..., layer n_layers, head].

    The head gets base_lr; encoder layer l (1 = bottom) gets base_lr * decay ** (n_layers + 1 - l).
    Returns n_layers + 1 floats.
    """
    # YOUR CODE HERE
    raise NotImplementedError("transfer-learning: implement layer_learning_rates")


def train_linear_probe(model: dict, x, y, steps: int, lr: float) -> tuple[dict, list[float]]:
    """A linear probe: the encoder frozen, only W_head and b_head trained.

    Features computed once (extract_features); `steps` full-batch torch.optim.Adam(lr=lr)
    steps on the mean cross-entropy, starting from the model's W_head, b_head. Returns (the
    model: the encoder as given, bit for bit, and the trained head; the loss before each
    step: `steps` floats).
    """
    # YOUR CODE HERE
    raise NotImplementedError("transfer-learning: implement train_linear_probe")


def fine_tune(
    model: dict,
    x,
    y,
    steps: int,
    base_lr: float,
    decay: float,
    weight_decay: float,
    n_frozen: int,
) -> tuple[dict, list[float]]:
    """Fine-tune every layer but the lowest `n_frozen`, with discriminative learning rates.

    One AdamW parameter group per trained layer (W_l and b_l together; W_head and b_head
    together), its lr from layer_learning_rates(L, base_lr, decay), weight_decay on every
    group; frozen layers are not in the optimizer. `steps` full-batch steps on the mean
    cross-entropy of model_forward. Returns (every parameter, the frozen ones bit-for-bit
    as given; the loss before each step: `steps` floats).
    """
    # YOUR CODE HERE
    raise NotImplementedError("transfer-learning: implement fine_tune")
