"""A correct transfer-learning in another style: the encoder in NumPy for the features
(np.maximum, a loop over sorted layer names), the rates built top-down then reversed, a
probe and a fine-tuning with a hand-written Adam / AdamW (torch.autograd.grad, log_softmax
for the loss), the frozen layers never turned into tensors at all."""

import numpy as np
import torch


def init_model(sizes, n_classes, seed):
    rng = np.random.default_rng(seed)
    p = {}
    for layer in range(1, len(sizes)):
        p[f"W{layer}"] = rng.normal(scale=(2 / sizes[layer - 1]) ** 0.5, size=(sizes[layer - 1], sizes[layer]))
        p[f"b{layer}"] = np.zeros(sizes[layer])
    p["W_head"] = rng.normal(scale=sizes[-1] ** -0.5, size=(sizes[-1], n_classes))
    p["b_head"] = np.zeros(n_classes)
    return p


def encoder_layers(model):
    return sorted(int(k[1:]) for k in model if k.startswith("W") and k[1:].isdigit())


def extract_features(model, x):
    h = np.asarray(x)
    for layer in encoder_layers(model):
        h = np.maximum(h @ np.asarray(model[f"W{layer}"]) + np.asarray(model[f"b{layer}"]), 0)
    return h


def model_forward(model, x):
    h = torch.as_tensor(x)
    for layer in encoder_layers(model):
        h = (h @ torch.as_tensor(model[f"W{layer}"]) + torch.as_tensor(model[f"b{layer}"])).clamp(min=0)
    return h @ torch.as_tensor(model["W_head"]) + torch.as_tensor(model["b_head"])


def layer_learning_rates(n_layers, base_lr, decay):
    rates, lr = [], base_lr
    for _ in range(n_layers + 1):  # head first, then down the encoder
        rates.append(lr)
        lr *= decay
    return rates[::-1]


def mean_cross_entropy(logits, y):
    logp = torch.log_softmax(logits, dim=1)
    return -logp[torch.arange(len(logp)), torch.as_tensor(y).long()].mean()


def adam(params, lrs, loss_of, steps, weight_decay=0.0):
    """Adam (weight_decay 0) or AdamW by hand: decay p *= 1 - lr * wd before the Adam step."""
    m = {k: torch.zeros_like(v) for k, v in params.items()}
    s = {k: torch.zeros_like(v) for k, v in params.items()}
    losses = []
    for t in range(1, steps + 1):
        loss = loss_of(params)
        grads = torch.autograd.grad(loss, list(params.values()))
        losses.append(float(loss.detach()))
        with torch.no_grad():
            for (k, v), g in zip(params.items(), grads):
                v.mul_(1 - lrs[k] * weight_decay)
                m[k] = 0.9 * m[k] + 0.1 * g
                s[k] = 0.999 * s[k] + 0.001 * g * g
                v -= lrs[k] * (m[k] / (1 - 0.9**t)) / ((s[k] / (1 - 0.999**t)).sqrt() + 1e-8)
    return losses


def train_linear_probe(model, x, y, steps, lr):
    features = torch.as_tensor(extract_features(model, x))
    head = {k: torch.tensor(model[k], requires_grad=True) for k in ("W_head", "b_head")}
    losses = adam(head, {k: lr for k in head}, lambda p: mean_cross_entropy(features @ p["W_head"] + p["b_head"], y), steps)
    return dict(model) | {k: v.detach().numpy() for k, v in head.items()}, losses


def fine_tune(model, x, y, steps, base_lr, decay, weight_decay, n_frozen):
    layers = encoder_layers(model)
    rates = layer_learning_rates(len(layers), base_lr, decay)
    lrs = {"W_head": rates[-1], "b_head": rates[-1]}
    for layer, lr in zip(layers, rates):
        if layer > n_frozen:
            lrs[f"W{layer}"] = lrs[f"b{layer}"] = lr
    trained = {k: torch.tensor(model[k], requires_grad=True) for k in lrs}

    def loss_of(p):
        return mean_cross_entropy(model_forward(dict(model) | p, x), y)

    losses = adam(trained, lrs, loss_of, steps, weight_decay)
    return dict(model) | {k: v.detach().numpy() for k, v in trained.items()}, losses
