"""# Modern CNNs: counting, skipping, concatenating, separating, scaling

Five ideas carried CNNs from AlexNet (2012) to EfficientNet (2019). You will count what
each architecture costs, then build the blocks that made them cheaper and deeper.
Layout everywhere: **NCHW** arrays, conv weights `(C_out, C_in / groups, kH, kW)` exactly
like PyTorch, and "convolution" means cross-correlation (no kernel flip), as in every
framework. Never modify an input in place.

## 1. What a layer costs: parameters and MACs

| layer | parameters | MACs (multiply-accumulates) |
|---|---|---|
| conv, `groups` g | `C_out (C_in/g) kH kW` + `C_out` if bias | `C_out H_out W_out (C_in/g) kH kW` |
| linear | `D_in D_out` + `D_out` if bias | `D_in D_out` |
| batch norm over C | `2 C` (gamma and beta) | 0 |
| pooling, activation, dropout, flatten, add, multiply | 0 | 0 |

A convolution with `groups = g` splits the channels into g groups, each seeing only
`C_in/g` input channels. Batch norm's `running_mean` and `running_var` are *buffers*:
stored, never trained, not parameters (PyTorch's `parameters()` excludes them).
**MAC convention** (the one of torchvision's published "GFLOPS" and of fvcore): one MAC
per multiply-add of a conv or linear layer; biases, batch norm, activations, pooling and
additions are not counted. Output size of a conv or pool with kernel k, stride s, padding
p (floor, as PyTorch's default `ceil_mode=False`): `H_out = (H + 2p - k) // s + 1`.

## 2. An architecture as a list of layer dicts

`count_parameters(layers)`, `output_shape(layers, (C, H, W))` and
`count_macs(layers, (C, H, W))` (one image; no batch axis) walk a list of dicts (defaults
in brackets; `kernel`, `stride`, `padding` are ints, the same for h and w):

    {"type": "conv", "in": C_in, "out": C_out, "kernel": k, "stride": [1], "padding": [0],
     "groups": [1], "bias": [True]}
    {"type": "linear", "in": D_in, "out": D_out, "bias": [True]}
    {"type": "batchnorm", "channels": C}
    {"type": "maxpool" | "avgpool", "kernel": k, "stride": [k], "padding": [0]}
    {"type": "adaptive_avgpool", "output": (h, w)}   output size fixed, channels kept
    {"type": "flatten"}                                (C, H, W) -> (C H W,)
    {"type": "relu" | "relu6" | "silu" | "sigmoid" | "dropout"}   shape kept, nothing to count
    {"type": "residual", "body": [...], "shortcut": [...]}   body(x) + shortcut(x);
                                                       "shortcut": [] is the identity
    {"type": "scale", "body": [...]}      x * body(x): squeeze-and-excitation, the body
                                          ends in a (C, 1, 1) gate broadcast over x

A block's lists are architectures themselves: count them the same way (recursion), on
the block's input shape. The counters are built from the per-layer functions: call them. The output shape of "residual" is its body's, of "scale" its
input's. With these, torchvision's counts come out exactly: AlexNet 61,100,840 parameters,
VGG-16 138,357,544, ResNet-18 11,689,512 (1.81 GMACs at 224 x 224), ResNet-50 25,557,032,
MobileNetV2 3,504,872, EfficientNet-B0 5,288,548.

## 3. The residual block (He et al. 2016)

With two given 1 x 1 convolutions (`pointwise_conv`, a conv with a (C_out, C_in, 1, 1)
weight, and its backward `pointwise_conv_backward`), so that only the skip is new:

    z1 = conv(x, w1, b1);  h = relu(z1);  z2 = conv(h, w2, b2)
    s  = x                        identity shortcut (C_out = C_in)
    s  = conv(x, ws)              projection shortcut, no bias, when params has "ws"
    out = relu(z2 + s)            ResNet v1: add first, then the ReLU

Backward with `dout = dL/dout`: `dz = dout * (z2 + s > 0)` flows into *both* branches,
and the input's gradient is their sum: `dx = dx_body + dx_shortcut`, where
`dx_shortcut = dz` (identity) or the projection's input gradient (which also gives `dws`).
That sum is why deep ResNets train: the gradient always has a short path home.

## 4. The dense block (Huang et al. 2017)

Each layer sees the concatenation of everything before it, along the channel axis, and
adds k (the growth rate) new channels: with `H_l(z) = conv(relu(z), w_l, b_l)`,

    x_l = H_l(concat[x_0, x_1, ..., x_{l-1}])       w_l: (k, C_0 + l k, 1, 1)
    out = concat[x_0, x_1, ..., x_L]                 (N, C_0 + L k, H, W)

**Channel order**: the block's input first, then each layer's output in order (as
torchvision's DenseNet `torch.cat(features, 1)`).

## 5. Depthwise-separable convolution (MobileNet, Howard et al. 2017)

A k x k conv costs `C_out C_in k^2` weights. Split it in two: a *depthwise* conv, one
k x k filter per channel (`groups = C_in`, weight `(C_in, 1, k, k)`), then a *pointwise*
1 x 1 conv mixing the channels (weight `(C_out, C_in, 1, 1)`): `C_in k^2 + C_in C_out`
weights, about `1/C_out + 1/k^2` of the original. Zero padding; no biases here.

## 6. EfficientNet compound scaling (Tan & Le 2019)

One coefficient phi scales depth, width and resolution together:
`d = alpha^phi, w = beta^phi, r = gamma^phi` with alpha = 1.2, beta = 1.1, gamma = 1.15,
chosen so that `alpha beta^2 gamma^2 ~ 2` (FLOPs grow ~2^phi). Rounding (torchvision's
rules, which give its B1-B7 counts):

    round_filters(c, w, divisor=8): v = max(divisor, int(c w + divisor / 2) // divisor * divisor);
                                    if v < 0.9 c w: v += divisor  (never lose > 10%)
    round_repeats(n, d) = ceil(n d)  (depth never rounds down)

The published B1-B7 use hand-picked (w, d, resolution), e.g. B1 = (1.0, 1.1, 240),
B2 = (1.1, 1.2, 260); the rounding rules are the same.

Read: Krizhevsky et al. 2012 (AlexNet); Simonyan & Zisserman 2015 (VGG); He et al. 2016,
"Deep Residual Learning" (ResNet); Huang et al. 2017 (DenseNet); Sandler et al. 2018
(MobileNetV2); Tan & Le 2019 (EfficientNet); d2l.ai chapter 8, "Modern CNNs".
"""

import math

import numpy as np


def pointwise_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Given: a 1 x 1 convolution. x (N, C_in, H, W), w (C_out, C_in, 1, 1), b (C_out,) or None.

    Returns (N, C_out, H, W): out[n, o] = sum_c w[o, c] x[n, c] + b[o].
    """
    out = np.einsum("oc,nchw->nohw", w[:, :, 0, 0], x)
    return out if b is None else out + b[None, :, None, None]


def pointwise_conv_backward(
    dout: np.ndarray, x: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Given: the backward of pointwise_conv. dout (N, C_out, H, W), x (N, C_in, H, W),
    w (C_out, C_in, 1, 1). Returns (dx (N, C_in, H, W), dw (C_out, C_in, 1, 1), db (C_out,)).
    """
    dx = np.einsum("oc,nohw->nchw", w[:, :, 0, 0], dout)
    dw = np.einsum("nohw,nchw->oc", dout, x)[:, :, None, None]
    return dx, dw, dout.sum(axis=(0, 2, 3))


def conv2d_params(
    c_in: int, c_out: int, kh: int, kw: int, groups: int = 1, bias: bool = True
) -> int:
    """Parameters of a conv layer: c_out * (c_in / groups) * kh * kw, plus c_out if bias.

    c_in and c_out are divisible by groups. Returns a Python int.
    """
    ### BEGIN SOLUTION
    return c_out * (c_in // groups) * kh * kw + (c_out if bias else 0)
    ### END SOLUTION


def conv2d_macs(
    c_in: int, c_out: int, kh: int, kw: int, h_out: int, w_out: int, groups: int = 1
) -> int:
    """Multiply-accumulates of a conv layer producing a (c_out, h_out, w_out) output:
    c_out * h_out * w_out * (c_in / groups) * kh * kw (the bias is not counted). Returns an int.
    """
    ### BEGIN SOLUTION
    return c_out * h_out * w_out * (c_in // groups) * kh * kw
    ### END SOLUTION


def linear_params(d_in: int, d_out: int, bias: bool = True) -> int:
    """Parameters of a linear layer: d_in * d_out weights, plus d_out if bias. Returns an int."""
    ### BEGIN SOLUTION
    return d_in * d_out + (d_out if bias else 0)
    ### END SOLUTION


def batchnorm_params(channels: int) -> int:
    """Trainable parameters of batch norm over `channels`: gamma and beta, one each per
    channel. The running mean and variance are buffers, not parameters. Returns an int."""
    ### BEGIN SOLUTION
    return 2 * channels
    ### END SOLUTION


def count_parameters(layers: list[dict]) -> int:
    """Total trainable parameters of an architecture: a list of layer dicts (lesson, part 2).

    "residual" blocks count their body and their shortcut, "scale" blocks their body.
    Returns a Python int.
    """
    ### BEGIN SOLUTION
    total = 0
    for layer in layers:
        kind = layer["type"]
        if kind == "conv":
            k = layer["kernel"]
            total += conv2d_params(layer["in"], layer["out"], k, k, layer.get("groups", 1),
                                   layer.get("bias", True))  # fmt: skip
        elif kind == "linear":
            total += linear_params(layer["in"], layer["out"], layer.get("bias", True))
        elif kind == "batchnorm":
            total += batchnorm_params(layer["channels"])
        elif kind == "residual":
            total += count_parameters(layer["body"]) + count_parameters(layer["shortcut"])
        elif kind == "scale":
            total += count_parameters(layer["body"])
    return total
    ### END SOLUTION


def output_shape(layers: list[dict], input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of one image after `layers` (lesson, part 2), starting from input_shape
    (C, H, W): (C, H, W) tuples, or (D,) after "flatten" and "linear".

    conv and pooling: H_out = (H + 2 padding - kernel) // stride + 1 (likewise W); a
    "residual" block has its body's output shape, a "scale" block its input's.
    Returns a tuple of Python ints.
    """
    ### BEGIN SOLUTION
    shape = tuple(input_shape)
    for layer in layers:
        kind = layer["type"]
        if kind in ("conv", "maxpool", "avgpool"):
            k = layer["kernel"]
            s, p = layer.get("stride", 1 if kind == "conv" else k), layer.get("padding", 0)
            c = layer["out"] if kind == "conv" else shape[0]
            shape = (c, *((n + 2 * p - k) // s + 1 for n in shape[1:]))
        elif kind == "linear":
            shape = (layer["out"],)
        elif kind == "adaptive_avgpool":
            shape = (shape[0], *layer["output"])
        elif kind == "flatten":
            shape = (math.prod(shape),)
        elif kind == "residual":
            shape = output_shape(layer["body"], shape)
    return tuple(int(n) for n in shape)
    ### END SOLUTION


def count_macs(layers: list[dict], input_shape: tuple[int, int, int]) -> int:
    """Total multiply-accumulates of one forward pass of one image of shape input_shape
    (C, H, W) through `layers` (lesson, part 2): conv and linear layers only.

    A conv's MACs need its output size: track the shape with output_shape. A "residual"
    block costs its body plus its shortcut, both run on the block's input; a "scale" block
    costs its body on its input. Returns a Python int.
    """
    ### BEGIN SOLUTION
    total, shape = 0, tuple(input_shape)
    for layer in layers:
        kind = layer["type"]
        out = output_shape([layer], shape)
        if kind == "conv":
            k = layer["kernel"]
            total += conv2d_macs(layer["in"], layer["out"], k, k, out[1], out[2],
                                 layer.get("groups", 1))  # fmt: skip
        elif kind == "linear":
            total += layer["in"] * layer["out"]
        elif kind == "residual":
            total += count_macs(layer["body"], shape) + count_macs(layer["shortcut"], shape)
        elif kind == "scale":
            total += count_macs(layer["body"], shape)
        shape = out
    return total
    ### END SOLUTION


def residual_block_forward(x: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    """ResNet v1 residual block on x (N, C_in, H, W) (lesson, part 3):
    relu(conv(relu(conv(x, w1, b1)), w2, b2) + shortcut(x)).

    params: "w1" (C_mid, C_in, 1, 1), "b1" (C_mid,), "w2" (C_out, C_mid, 1, 1), "b2" (C_out,),
    and optionally "ws" (C_out, C_in, 1, 1): the projection shortcut conv(x, ws) (no bias);
    without "ws" the shortcut is the identity (C_out == C_in). Use pointwise_conv.
    Returns (N, C_out, H, W).
    """
    ### BEGIN SOLUTION
    h = np.maximum(pointwise_conv(x, params["w1"], params["b1"]), 0)
    z2 = pointwise_conv(h, params["w2"], params["b2"])
    s = pointwise_conv(x, params["ws"]) if "ws" in params else x
    return np.maximum(z2 + s, 0)
    ### END SOLUTION


def residual_block_backward(
    dout: np.ndarray, x: np.ndarray, params: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Gradients of sum(dout * residual_block_forward(x, params)).

    dout (N, C_out, H, W), x and params as in residual_block_forward. Returns a dict with
    "x" (shaped like x) and one entry per key of params, shaped like it ("w1", "b1", "w2",
    "b2", and "ws" for a projection shortcut). Recompute the forward pass inside; use
    pointwise_conv_backward. ReLU's derivative is 0 at 0 (as in PyTorch): a block's input is
    often a ReLU's output, whose zeros under a zero bias give z == 0 exactly.
    """
    ### BEGIN SOLUTION
    z1 = pointwise_conv(x, params["w1"], params["b1"])
    h = np.maximum(z1, 0)
    z2 = pointwise_conv(h, params["w2"], params["b2"])
    s = pointwise_conv(x, params["ws"]) if "ws" in params else x
    dz = dout * (z2 + s > 0)
    grads = {}
    dh, grads["w2"], grads["b2"] = pointwise_conv_backward(dz, h, params["w2"])
    dx, grads["w1"], grads["b1"] = pointwise_conv_backward(dh * (z1 > 0), x, params["w1"])
    if "ws" in params:
        dx_s, grads["ws"], _ = pointwise_conv_backward(dz, x, params["ws"])
    else:
        dx_s = dz
    grads["x"] = dx + dx_s
    return grads
    ### END SOLUTION


def dense_block_forward(
    x: np.ndarray, weights: list[np.ndarray], biases: list[np.ndarray]
) -> np.ndarray:
    """A dense block of L = len(weights) layers on x (N, C_0, H, W) (lesson, part 4).

    Layer l (from 0) gets z = concat[x, x_1, ..., x_l] along axis 1 (C_0 + l k channels) and
    returns x_{l+1} = pointwise_conv(relu(z), weights[l], biases[l]), weights[l] of shape
    (k, C_0 + l k, 1, 1), biases[l] (k,). Returns concat[x, x_1, ..., x_L] along axis 1,
    in this order: (N, C_0 + L k, H, W).
    """
    ### BEGIN SOLUTION
    features = [x]
    for w, b in zip(weights, biases):
        z = np.concatenate(features, axis=1)
        features.append(pointwise_conv(np.maximum(z, 0), w, b))
    return np.concatenate(features, axis=1)
    ### END SOLUTION


def depthwise_conv2d(x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Depthwise convolution (groups = C): channel c of the output is channel c of x
    cross-correlated with its own filter w[c, 0].

    x (N, C, H, W); w (C, 1, kH, kW); zero padding on every side, then
    H_out = (H + 2 padding - kH) // stride + 1 (likewise W_out).
    Returns (N, C, H_out, W_out), like torch.nn.functional.conv2d(x, w, stride=stride,
    padding=padding, groups=C).
    """
    ### BEGIN SOLUTION
    n, c, h, wd = x.shape
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    h_out, w_out = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    out = np.zeros((n, c, h_out, w_out), dtype=np.result_type(x, w))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i : i + stride * h_out : stride, j : j + stride * w_out : stride]
            out += patch * w[None, :, 0, i, j, None, None]
    return out
    ### END SOLUTION


def depthwise_separable_conv(
    x: np.ndarray, w_depthwise: np.ndarray, w_pointwise: np.ndarray, stride: int = 1,
    padding: int = 0,
) -> np.ndarray:  # fmt: skip
    """Depthwise conv (w_depthwise (C_in, 1, kH, kW), stride, padding), then the pointwise
    1 x 1 conv (w_pointwise (C_out, C_in, 1, 1)); no biases.

    x (N, C_in, H, W). Returns (N, C_out, H_out, W_out).
    """
    ### BEGIN SOLUTION
    return pointwise_conv(depthwise_conv2d(x, w_depthwise, stride, padding), w_pointwise)
    ### END SOLUTION


def compound_scaling(
    phi: float, alpha: float = 1.2, beta: float = 1.1, gamma: float = 1.15
) -> tuple[float, float, float]:
    """EfficientNet's multipliers for compound coefficient phi.

    Returns (depth, width, resolution) = (alpha**phi, beta**phi, gamma**phi), floats.
    """
    ### BEGIN SOLUTION
    return alpha**phi, beta**phi, gamma**phi
    ### END SOLUTION


def round_filters(channels: int, width_mult: float, divisor: int = 8) -> int:
    """Channels after width scaling, rounded to a multiple of divisor (torchvision's rule):
    v = max(divisor, int(channels * width_mult + divisor / 2) // divisor * divisor), then
    v += divisor if v < 0.9 * channels * width_mult. Returns an int.
    """
    ### BEGIN SOLUTION
    scaled = channels * width_mult
    v = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return v + divisor if v < 0.9 * scaled else v
    ### END SOLUTION


def round_repeats(repeats: int, depth_mult: float) -> int:
    """Layers in a stage after depth scaling: ceil(repeats * depth_mult). Returns an int."""
    ### BEGIN SOLUTION
    return int(math.ceil(repeats * depth_mult))
    ### END SOLUTION
