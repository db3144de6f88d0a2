"""Known bugs of transfer-learning: each an edit of the reference function as the solution file has it."""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

_FEATURES = reference_function(__file__, "extract_features")
_FORWARD = reference_function(__file__, "model_forward")
_RATES = reference_function(__file__, "layer_learning_rates")
_PROBE = reference_function(__file__, "train_linear_probe")
_TUNE = reference_function(__file__, "fine_tune")

BUGS = [
    KnownBug(
        # The pretrained model still carries its source head; running every "W" layer
        # probes the source logits instead of the penultimate features (a recurring
        # question on the PyTorch forums: "features from model(x) are the class scores").
        name="features-include-the-source-head",
        function="extract_features",
        hint="the features stop at the last ENCODER layer: W_head (the source task's head) is not part of them",
        code=edited(
            _FEATURES,
            ("        return h.numpy()",
             "        return (h @ torch.as_tensor(model['W_head']) + torch.as_tensor(model['b_head'])).numpy()"),
        ),  # fmt: skip
        fails=("extract_features", "train_linear_probe"),
    ),
    KnownBug(
        # The last encoder layer's ReLU dropped: the features are pre-activations.
        name="features-before-the-last-relu",
        function="extract_features",
        hint="a ReLU after EVERY encoder layer, the last one too: the features are its activations",
        code=edited(
            _FEATURES,
            ("            h = torch.relu(h @ W + b)",
             "            h = h @ W + b if layer == n_layers else torch.relu(h @ W + b)"),
        ),  # fmt: skip
        fails=("extract_features", "train_linear_probe"),
    ),
    KnownBug(
        # A ReLU on the logits too (the head treated like one more hidden layer).
        name="relu-on-the-logits",
        function="model_forward",
        hint="no ReLU on the head: the logits are features @ W_head + b_head and may be negative",
        code=edited(_FORWARD, ('return h @ p["W_head"] + p["b_head"]', 'return torch.relu(h @ p["W_head"] + p["b_head"])')),
        fails=("model_forward", "fine_tune"),
    ),
    KnownBug(
        # The decay applied from the bottom up: the lowest layer, whose general features
        # should barely move, gets the largest rate.
        name="rates-in-the-wrong-order",
        function="layer_learning_rates",
        hint="the TOP gets the base rate and each layer below one more factor decay; you gave the "
        "bottom layer the largest rate",
        code=edited(_RATES, ("decay ** (n_layers + 1 - layer)", "decay ** (layer - 1)")),
        fails=("layer_learning_rates", "fine_tune"),
    ),
    KnownBug(
        # The top encoder layer given the head's rate: decay ** (L - l) instead of
        # decay ** (L + 1 - l).
        name="rates-top-layer-gets-base-rate",
        function="layer_learning_rates",
        hint="the head is the top: it alone gets base_lr; the top encoder layer gets base_lr * decay",
        code=edited(_RATES, ("decay ** (n_layers + 1 - layer)", "decay ** (n_layers - layer)")),
        fails=("layer_learning_rates", "fine_tune"),
    ),
    KnownBug(
        # Only the encoder's rates: the head (the new layer, trained at the base rate)
        # forgotten, so zipping the rates to the layers leaves the head out of the
        # optimizer (ULMFiT's discriminative rates as usually written, one per encoder
        # layer: a frequent slip when porting fastai's `slice(lr/2.6**L, lr)` by hand).
        name="rates-without-the-head",
        function="layer_learning_rates",
        hint="n_layers + 1 rates: the encoder's L, then the head's base_lr last (the head trains too)",
        code=edited(_RATES, (" + [base_lr]", "")),
        fails=("layer_learning_rates", "fine_tune"),
    ),
    KnownBug(
        # range(1, n_layers): range's end is exclusive, the top encoder layer's rate is
        # missing (Python's most common off-by-one). Without decay every rate is base_lr and
        # this is indistinguishable from rates-without-the-head: neither is named there.
        name="rates-miss-the-top-layer",
        function="layer_learning_rates",
        hint="range(1, n_layers) stops at n_layers - 1: the encoder's rates are for layers 1..n_layers, "
        "range(1, n_layers + 1)",
        code=edited(_RATES, ("range(1, n_layers + 1)]", "range(1, n_layers)]")),
        fails=("layer_learning_rates", "fine_tune"),
    ),
    KnownBug(
        # Probe trained on features computed inside the loop with the encoder in the
        # optimizer: the "frozen" encoder moves (Peters et al. 2019 contrast the two; the
        # mix-up is a frequent forum question "my feature extractor's weights changed").
        name="probe-trains-the-encoder",
        function="train_linear_probe",
        hint="a probe trains W_head and b_head only: compute the features once, without gradient, "
        "and give only the head to the optimizer",
        code=edited(
            _PROBE,
            ("    features = torch.as_tensor(extract_features(model, x))\n", ""),
            ("    opt = torch.optim.Adam([W, b], lr=lr)",
             "    enc = {k: torch.tensor(v, requires_grad=True) for k, v in model.items() if k[1:].isdigit()}\n"
             "    opt = torch.optim.Adam([W, b, *enc.values()], lr=lr)"),
            ("cross_entropy(features @ W + b, y)", "cross_entropy(model_forward({**enc, 'W_head': W, 'b_head': b}, x), y)"),
            ("return {**model, ", "return {**model, **{k: v.detach().numpy() for k, v in enc.items()}, "),
        ),  # fmt: skip
    ),
    KnownBug(
        # Frozen layers kept in the optimizer with their gradients zeroed after backward
        # (or requires_grad turned off after gradients existed): AdamW's decoupled weight
        # decay still shrinks them every step (PyTorch forum: "frozen layers still change").
        name="frozen-layers-moved-by-weight-decay",
        function="fine_tune",
        hint="leave frozen layers out of the optimizer: with a zeroed gradient AdamW's weight decay "
        "still multiplies them by (1 - lr * weight_decay) every step",
        code=edited(
            _TUNE,
            ("        if layer > n_frozen:\n            for k in pair:\n                params[k].requires_grad_(True)\n"
             "            groups.append(",
             "        for k in pair:\n            params[k].requires_grad_(True)\n        groups.append("),
            ("        loss.backward()\n",
             "        loss.backward()\n        for k in [n for pair in names[:n_frozen] for n in pair]:\n"
             "            params[k].grad.zero_()\n"),
        ),  # fmt: skip
    ),
    KnownBug(
        # The rates zipped to the layers from the top down.
        name="rates-assigned-top-down",
        function="fine_tune",
        hint="layer_learning_rates lists the rates bottom to top: rates[0] is for W1/b1, rates[-1] for the head",
        code=edited(_TUNE, ("zip(names, rates)", "zip(names, reversed(rates))")),
    ),
    KnownBug(
        # One learning rate for every layer: the parameter groups forgotten.
        name="one-rate-for-every-layer",
        function="fine_tune",
        hint="one parameter group per layer, each with its own lr from layer_learning_rates",
        code=edited(_TUNE, ('"lr": lr}', '"lr": base_lr}')),
    ),
    KnownBug(
        # Adam's weight_decay is an L2 term added to the gradient, not AdamW's decoupled decay.
        name="adam-l2-instead-of-adamw",
        kind="convention",
        function="fine_tune",
        hint="this is Adam with an L2 penalty (torch.optim.Adam(weight_decay=...), the decay goes "
        "through Adam's normalisation); this exercise uses AdamW's decoupled weight decay "
        "(Loshchilov & Hutter), as the docstring says",
        code=edited(_TUNE, ("torch.optim.AdamW(groups", "torch.optim.Adam(groups")),
    ),
    KnownBug(
        # The pretrained weights thrown away: the model rebuilt from a fresh initialisation.
        name="pretrained-encoder-reinitialised",
        function="fine_tune",
        hint="start from the model you are given: re-initialising it throws the pretraining away",
        code=edited(
            _TUNE,
            ("params = {k: torch.tensor(v) for k, v in model.items()}",
             "sizes = (model['W1'].shape[0], *(v.shape[1] for k, v in model.items() if k[0] == 'W' and k[1:].isdigit()))\n"
             "    params = {k: torch.tensor(v) for k, v in init_model(sizes, model['W_head'].shape[1], 0).items()}"),
        ),  # fmt: skip
    ),
    KnownBug(
        # The frozen count taken from the top: the head side frozen, the bottom trained.
        name="frozen-from-the-top",
        function="fine_tune",
        hint="freeze the LOWEST n_frozen encoder layers (next to the input), train the ones above",
        code=edited(_TUNE, ("if layer > n_frozen:", "if layer <= n_layers - n_frozen or layer == n_layers + 1:")),
    ),
]

# The model dict holds W{l} and b{l} for every layer l (the docstring's layout): counting the
# keys that are not W's but end in a number counts the b's, as many as the layers.
_COUNTS_THE_BIASES = "a model holds W{l} and b{l} for each layer: the b keys are as many as the layers"
EQUIVALENT = {
    "extract_features/compare/Eq->NotEq#0": _COUNTS_THE_BIASES,
    "model_forward/compare/Eq->NotEq#0": _COUNTS_THE_BIASES,
    "fine_tune/compare/Eq->NotEq#0": _COUNTS_THE_BIASES,
}
