"""Grader for modern-cnn: per-layer costs, architecture counters, residual and dense blocks,
depthwise-separable convolution, EfficientNet compound scaling.

Layers: each layer formula against the parameters of the matching torch.nn module (built
on the meta device: no memory, no initialisation) -> output shapes and counts on small
architectures (every layer type, odd and non-square inputs) against the reference ->
the published counts of six real networks -> residual block forward against torch,
backward against central differences and torch.autograd -> dense block and depthwise
convolution against torch.nn.functional -> compound scaling against torchvision's
published EfficientNet-B1..B4 counts. torch is imported lazily.

Where the numbers come from: parameter counts are the `num_params` of torchvision's
weight metadata (torchvision.models.*_Weights.IMAGENET1K_V1.meta, as printed in its
"Table of all available classification weights"); MACs are its `_ops` (GFLOPS, rounded to
3 decimals: AlexNet 0.714, VGG-16 15.47, ResNet-18 1.814, ResNet-50 4.089, MobileNetV2
0.301, EfficientNet-B0 0.386, B1 at 240 x 240 0.687). The descriptions below are written
from the papers and torchvision's model code; the reference's exact MACs on them equal
torch.utils.flop_counter.FlopCounterMode / 2 on the same networks rebuilt in torch (checked
when the grader was written, at 224 x 224, 240 x 240 and 199 x 257), and round to `_ops`.
"""

import numpy as np
import pytest

from nnfs_cli.checks import (
    DTYPES,
    assert_backward,
    assert_close,
    assert_shape,
    assert_true,
    describe,
)

# Counts are integers computed exactly: any difference, even 1 parameter, is a wrong formula.
EXACT = {"rtol": 0.0, "atol": 0.0}


def assert_count(got, expected, what, on="", hint=""):
    """An exact integer count (an int or a NumPy integer, not a float like 1.2e6)."""
    assert_true(
        isinstance(got, int | np.integer) and not isinstance(got, bool),
        f"{what}: expected an integer",
        f"got {type(got).__name__} {got!r}",
        on=on,
        hint="a count is a whole number: use // for divisions and return int(...)",
    )
    assert_close(int(got), int(expected), what, on=on, hint=hint, **EXACT)


def as_shape(got):
    """The learner's shape as a tuple of ints, or None when it is not one."""
    try:
        flat = np.ravel(np.asarray(got))
        return tuple(int(n) for n in flat) if np.all(flat == np.round(flat)) else None
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------------------
# Architecture descriptions (the lesson's layer dicts), written from the papers and
# torchvision's model definitions.
# ---------------------------------------------------------------------------------------


def conv(c_in, c_out, k, stride=1, padding=None, groups=1, bias=False):
    padding = (k - 1) // 2 if padding is None else padding
    return {"type": "conv", "in": c_in, "out": c_out, "kernel": k, "stride": stride,
            "padding": padding, "groups": groups, "bias": bias}  # fmt: skip


def conv_bn(c_in, c_out, k, stride=1, groups=1, act="relu"):
    """torchvision's conv (no bias) + BatchNorm2d (+ activation) unit."""
    layers = [conv(c_in, c_out, k, stride, groups=groups), {"type": "batchnorm", "channels": c_out}]
    return layers + ([{"type": act}] if act else [])


def head(c, pool, hidden=(), dropout_first=False):
    """Global pooling, flatten, then linear layers down to 1000 classes."""
    layers = [{"type": "adaptive_avgpool", "output": (pool, pool)}, {"type": "flatten"}]
    d = c * pool * pool
    for h in hidden:
        layers += [{"type": "dropout"}, {"type": "linear", "in": d, "out": h}, {"type": "relu"}]
        d = h
    return layers + ([{"type": "dropout"}] if dropout_first else []) + [
        {"type": "linear", "in": d, "out": 1000}]  # fmt: skip


def alexnet():
    """torchvision's AlexNet (the one-GPU variant of Krizhevsky et al. 2012, 64-192-384-256-256)."""
    pool = {"type": "maxpool", "kernel": 3, "stride": 2}
    relu = {"type": "relu"}
    return [conv(3, 64, 11, 4, 2, bias=True), relu, pool, conv(64, 192, 5, 1, 2, bias=True), relu,
            pool, conv(192, 384, 3, bias=True), relu, conv(384, 256, 3, bias=True), relu,
            conv(256, 256, 3, bias=True), relu, pool] + head(256, 6, (4096, 4096))  # fmt: skip


def vgg16():
    """Configuration D of Simonyan & Zisserman 2015: 13 biased 3x3 convs, 3 linear layers."""
    layers, c = [], 3
    for v in [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        "M",
    ]:
        if v == "M":
            layers.append({"type": "maxpool", "kernel": 2, "stride": 2})
        else:
            layers += [conv(c, v, 3, bias=True), {"type": "relu"}]
            c = v
    return layers + head(512, 7, (4096, 4096))


def resnet(block, stages):
    """He et al. 2016; torchvision's v1.5 bottleneck (the stride in the 3x3 conv)."""
    layers = conv_bn(3, 64, 7, 2) + [{"type": "maxpool", "kernel": 3, "stride": 2, "padding": 1}]
    c = 64
    for i, (planes, n) in enumerate(zip([64, 128, 256, 512], stages)):
        for j in range(n):
            stride = 2 if i > 0 and j == 0 else 1
            if block == "basic":
                out = planes
                body = conv_bn(c, planes, 3, stride) + conv_bn(planes, planes, 3, act=None)
            else:
                out = 4 * planes
                body = (conv_bn(c, planes, 1) + conv_bn(planes, planes, 3, stride)
                        + conv_bn(planes, out, 1, act=None))  # fmt: skip
            shortcut = conv_bn(c, out, 1, stride, act=None) if stride != 1 or c != out else []
            layers += [{"type": "residual", "body": body, "shortcut": shortcut}, {"type": "relu"}]
            c = out
    return layers + head(c, 1)


def inverted_residual(c, out, hidden, k, stride, act, se=None):
    """MobileNetV2 / EfficientNet block: expand 1x1, depthwise kxk, (SE), project 1x1."""
    body = conv_bn(c, hidden, 1, act=act) if hidden != c else []
    body += conv_bn(hidden, hidden, k, stride, groups=hidden, act=act)
    if se:
        body.append({"type": "scale", "body": [
            {"type": "adaptive_avgpool", "output": (1, 1)}, conv(hidden, se, 1, bias=True),
            {"type": "silu"}, conv(se, hidden, 1, bias=True), {"type": "sigmoid"}]})  # fmt: skip
    body += conv_bn(hidden, out, 1, act=None)
    if stride == 1 and c == out:
        return [{"type": "residual", "body": body, "shortcut": []}]
    return body


def mobilenet_v2():
    """Sandler et al. 2018, Table 2 (t, c, n, s), width 1.0."""
    layers, c = conv_bn(3, 32, 3, 2, act="relu6"), 32
    for t, out, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                         (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:  # fmt: skip
        for j in range(n):
            layers += inverted_residual(c, out, c * t, 3, s if j == 0 else 1, "relu6")
            c = out
    return layers + conv_bn(c, 1280, 1, act="relu6") + head(1280, 1, dropout_first=True)


# EfficientNet-B0 stages (Tan & Le 2019, Table 1): expand ratio, kernel, stride, in, out, layers
B0_STAGES = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
             (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)]  # fmt: skip


def efficientnet(width, depth, round_filters, round_repeats):
    """EfficientNet-B0 scaled by (width, depth) with the given rounding functions, as
    torchvision builds B0-B7 (SE squeeze = input channels // 4, head 4 x last channels)."""
    layers, c = None, None
    for e, k, s, c_in, c_out, n in B0_STAGES:
        c_in, c_out = round_filters(c_in, width), round_filters(c_out, width)
        if layers is None:
            layers, c = conv_bn(3, c_in, 3, 2, act="silu"), c_in
        for j in range(round_repeats(n, depth)):
            hidden = round_filters(c, e)
            layers += inverted_residual(c, c_out, hidden, k, s if j == 0 else 1, "silu",
                                        se=max(1, c // 4))  # fmt: skip
            c = c_out
    return layers + conv_bn(c, 4 * c, 1, act="silu") + head(4 * c, 1, dropout_first=True)


def published_nets(ref):
    """(name, description, torchvision's num_params)."""
    return [
        ("AlexNet", alexnet(), 61_100_840),
        ("VGG-16", vgg16(), 138_357_544),
        ("ResNet-18", resnet("basic", [2, 2, 2, 2]), 11_689_512),
        ("ResNet-50", resnet("bottleneck", [3, 4, 6, 3]), 25_557_032),
        ("MobileNetV2", mobilenet_v2(), 3_504_872),
        (
            "EfficientNet-B0",
            efficientnet(1.0, 1.0, ref.round_filters, ref.round_repeats),
            5_288_548,
        ),
    ]


NET_NAMES = ["AlexNet", "VGG-16", "ResNet-18", "ResNet-50", "MobileNetV2", "EfficientNet-B0"]


def net(ref, name):
    return next((layers, count) for n, layers, count in published_nets(ref) if n == name)


# Small architectures: every layer type and default, odd and non-square inputs.
TOY = {
    "conv-defaults": ([{"type": "conv", "in": 3, "out": 5, "kernel": 3}], (3, 9, 7)),
    "conv-stride-pad-nobias": ([conv(4, 6, 5, 2, 1), {"type": "relu"}], (4, 13, 10)),
    "grouped-and-depthwise": (
        [conv(6, 9, 3, groups=3, bias=True), conv(9, 9, 3, 2, groups=9)],
        (6, 11, 8),
    ),  # fmt: skip
    "pools-and-linear": (
        [
            conv(2, 4, 3, bias=True),
            {"type": "maxpool", "kernel": 2},
            {"type": "avgpool", "kernel": 3, "stride": 2, "padding": 1},
            {"type": "flatten"},
            {"type": "linear", "in": 4 * 2 * 2, "out": 7},
            {"type": "relu"},
            {"type": "linear", "in": 7, "out": 3, "bias": False},
        ],
        (2, 9, 6),
    ),  # fmt: skip
    "pools": (
        [
            conv(2, 3, 2, bias=True),
            {"type": "maxpool", "kernel": 2},
            {"type": "avgpool", "kernel": 3, "stride": 1, "padding": 1},
            {"type": "maxpool", "kernel": 3, "stride": 2},
        ],
        (2, 12, 17),
    ),
    # a size that does not divide reaches flatten: (9 - 2) / 2 + 1 = 4.5 is not 4 rows
    "pool-then-flatten": ([conv(2, 3, 3, bias=True), {"type": "maxpool", "kernel": 2},
                           {"type": "flatten"}], (2, 9, 7)),  # fmt: skip
    # global pooling keeps the channels (5), not a spatial size (9)
    "adaptive-pool": ([conv(3, 5, 3), {"type": "adaptive_avgpool", "output": (2, 2)}], (3, 9, 7)),
    "batchnorm": (
        conv_bn(3, 8, 3)
        + [
            {"type": "adaptive_avgpool", "output": (2, 3)},
            {"type": "flatten"},
            {"type": "linear", "in": 48, "out": 5},
        ],
        (3, 10, 12),
    ),  # fmt: skip
    "residual-identity": (
        [
            {"type": "residual", "body": conv_bn(4, 4, 3) + [conv(4, 4, 1)], "shortcut": []},
            {"type": "relu"},
        ],
        (4, 7, 5),
    ),  # fmt: skip
    "residual-projection": (
        [
            {
                "type": "residual",
                "body": conv_bn(4, 6, 3, 2) + [conv(6, 6, 3)],
                "shortcut": conv_bn(4, 6, 1, 2, act=None),
            }
        ],
        (4, 9, 6),
    ),  # fmt: skip
    "squeeze-excitation": (inverted_residual(8, 8, 16, 3, 1, "silu", se=2), (8, 5, 7)),
}


# ---------------------------------------------------------------------------------------
# Per-layer formulas, against torch.nn modules
# ---------------------------------------------------------------------------------------

CONV_CASES = [  # c_in, c_out, kh, kw, groups, bias
    (3, 64, 11, 11, 1, True),
    (7, 5, 2, 3, 1, False),
    (16, 48, 1, 3, 4, True),
    (32, 32, 3, 3, 32, False),
    (12, 24, 5, 5, 12, True),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
@pytest.mark.part("conv2d_params", points=1)
def test_conv2d_params(learner, case):
    """Equals the parameter count of torch.nn.Conv2d with the same arguments."""
    from torch import nn

    c_in, c_out, kh, kw, g, bias = case
    m = nn.Conv2d(c_in, c_out, (kh, kw), groups=g, bias=bias, device="meta")
    assert_count(
        learner.conv2d_params(c_in, c_out, kh, kw, g, bias),
        sum(p.numel() for p in m.parameters()),
        f"conv2d_params({c_in}, {c_out}, {kh}, {kw}, groups={g}, bias={bias})",
        hint="c_out * (c_in // groups) * kh * kw weights, plus c_out biases only when bias is True",
    )


MAC_CASES = [  # c_in, c_out, kh, kw, h_out, w_out, groups
    (3, 64, 7, 7, 112, 112, 1),
    (5, 4, 2, 3, 9, 6, 1),
    (16, 48, 3, 1, 5, 7, 4),
    (32, 32, 3, 3, 14, 14, 32),
]


@pytest.mark.parametrize("case", MAC_CASES, ids=str)
@pytest.mark.part("conv2d_macs", points=1)
def test_conv2d_macs(learner, case):
    """Equals the number of products torch's conv2d makes: with every input and weight 1
    and no padding, each output value is the count of its own products, so the output's
    sum is the layer's MACs (the bias excluded)."""
    import torch
    import torch.nn.functional as F

    c_in, c_out, kh, kw, h, w, g = case
    x = torch.ones(1, c_in, h + kh - 1, w + kw - 1, dtype=torch.float64)  # (h, w) out
    products = F.conv2d(x, torch.ones(c_out, c_in // g, kh, kw, dtype=torch.float64), groups=g)
    assert_count(
        learner.conv2d_macs(c_in, c_out, kh, kw, h, w, g),
        round(float(products.sum())),
        f"conv2d_macs({c_in}, {c_out}, {kh}, {kw}, h_out={h}, w_out={w}, groups={g})",
        hint="every output value (c_out * h_out * w_out of them) costs (c_in // groups) * kh * kw MACs",
    )


@pytest.mark.parametrize("case", [(9216, 4096, True), (7, 3, False), (1, 1, True)], ids=str)
@pytest.mark.part("linear_params", points=1)
def test_linear_params(learner, case):
    """Equals the parameter count of torch.nn.Linear."""
    from torch import nn

    d_in, d_out, bias = case
    m = nn.Linear(d_in, d_out, bias=bias, device="meta")
    assert_count(
        learner.linear_params(d_in, d_out, bias),
        sum(p.numel() for p in m.parameters()),
        f"linear_params({d_in}, {d_out}, bias={bias})",
        hint="d_in * d_out weights, plus d_out biases only when bias is True",
    )


@pytest.mark.parametrize("channels", [1, 64, 1280])
@pytest.mark.part("batchnorm_params", points=1)
def test_batchnorm_params(learner, channels):
    """Equals the trainable parameters of torch.nn.BatchNorm2d (its buffers excluded)."""
    from torch import nn

    m = nn.BatchNorm2d(channels, device="meta")
    assert_count(
        learner.batchnorm_params(channels),
        sum(p.numel() for p in m.parameters()),
        f"batchnorm_params({channels})",
        hint="gamma and beta are trained; running_mean and running_var are buffers, not parameters",
    )


# ---------------------------------------------------------------------------------------
# Counters on small architectures
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(TOY))
@pytest.mark.part("output_shape", points=1)
def test_output_shape_small(learner, ref, name):
    """The shape after every layer type, on odd and non-square inputs."""
    layers, shape = TOY[name]
    got = learner.output_shape(layers, shape)
    expected = ref.output_shape(layers, shape)
    assert_true(
        as_shape(got) == expected,
        f"output_shape({name} architecture, {shape}): wrong shape",
        f"expected {expected}, got {got!r}",
        on=f"layers = {layers}",
        hint="(H + 2 padding - kernel) // stride + 1 for conv and pooling (pool stride defaults "
        "to its kernel); a residual block's shape is its body's",
    )


@pytest.mark.parametrize("name", list(TOY))
@pytest.mark.part("count_parameters", points=1)
def test_count_parameters_small(learner, ref, name):
    """Parameters of small architectures: every layer type, residual and scale blocks."""
    layers, _ = TOY[name]
    assert_count(
        learner.count_parameters(layers),
        ref.count_parameters(layers),
        f"count_parameters({name} architecture)",
        on=f"layers = {layers}",
        hint="sum the per-layer formulas; a residual block counts its body and its shortcut",
    )


@pytest.mark.parametrize("name", list(TOY))
@pytest.mark.part("count_macs", points=1)
def test_count_macs_small(learner, ref, name):
    """MACs of small architectures on odd and non-square inputs."""
    layers, shape = TOY[name]
    assert_count(
        learner.count_macs(layers, shape),
        ref.count_macs(layers, shape),
        f"count_macs({name} architecture, {shape})",
        on=f"layers = {layers}",
        hint="only conv and linear layers cost MACs; a conv's output size comes from output_shape",
    )


@pytest.mark.part("count_parameters", points=1)
def test_count_parameters_small_matches_torch(learner):
    """The projection-residual and SE architectures rebuilt as torch modules give the same count."""
    import torch
    from torch import nn

    class Residual(nn.Module):
        def __init__(self, body, shortcut):
            super().__init__()
            self.body, self.shortcut = body, shortcut

    def build(layers):
        mods = []
        for layer in layers:
            kind = layer["type"]
            if kind == "conv":
                mods.append(nn.Conv2d(layer["in"], layer["out"], layer["kernel"],
                                      groups=layer.get("groups", 1), bias=layer.get("bias", True),
                                      device="meta"))  # fmt: skip
            elif kind == "batchnorm":
                mods.append(nn.BatchNorm2d(layer["channels"], device="meta"))
            elif kind == "residual":
                mods.append(Residual(build(layer["body"]), build(layer["shortcut"])))
            elif kind == "scale":
                mods.append(build(layer["body"]))
        return nn.Sequential(*mods)

    for name in ("residual-projection", "squeeze-excitation"):
        layers = TOY[name][0]
        with torch.device("meta"):
            expected = sum(p.numel() for p in build(layers).parameters())
        assert_count(
            learner.count_parameters(layers),
            expected,
            f"count_parameters({name} architecture) vs torch.nn modules",
            on=f"layers = {layers}",
        )


# ---------------------------------------------------------------------------------------
# Counters on the real networks: torchvision's published numbers
# ---------------------------------------------------------------------------------------

FEATURE_SHAPES = [  # the shape before the classifier head, at 224 x 224 and non-square
    ("AlexNet", (3, 224, 224), (256, 6, 6)),
    ("VGG-16", (3, 224, 224), (512, 7, 7)),
    ("ResNet-18", (3, 199, 257), (512, 7, 9)),
    ("MobileNetV2", (3, 224, 224), (1280, 7, 7)),
]


@pytest.mark.parametrize("case", FEATURE_SHAPES, ids=[c[0] for c in FEATURE_SHAPES])
@pytest.mark.part("output_shape", points=1)
def test_output_shape_real_networks(learner, ref, case):
    """The feature map before the head: AlexNet's 256 x 6 x 6, VGG's 512 x 7 x 7, ..."""
    name, shape, expected = case
    layers, _ = net(ref, name)
    features = layers[: next(i for i, x in enumerate(layers) if x["type"] == "adaptive_avgpool")]
    got = learner.output_shape(features, shape)
    assert_true(
        as_shape(got) == expected,
        f"output_shape({name} without its head, {shape}): wrong shape",
        f"expected {expected}, got {got!r}",
        hint="floor division in (H + 2 padding - kernel) // stride + 1, layer after layer",
    )


@pytest.mark.parametrize("name", NET_NAMES)
@pytest.mark.part("count_parameters", points=2)
def test_count_parameters_real_networks(learner, ref, name):
    """The published parameter count (torchvision's num_params)."""
    layers, published = net(ref, name)
    assert_count(
        learner.count_parameters(layers),
        published,
        f"count_parameters({name})",
        on=f"{name} as a list of {len(layers)} layer dicts (torchvision's definition)",
        hint="torchvision reports this number; compare layer by layer on a small piece of it",
    )


MAC_NETS = [("ResNet-18", (3, 224, 224)), ("ResNet-18", (3, 199, 257)), ("AlexNet", (3, 224, 224)),
            ("VGG-16", (3, 224, 224)), ("ResNet-50", (3, 224, 224)), ("MobileNetV2", (3, 224, 224)),
            ("EfficientNet-B0", (3, 224, 224))]  # fmt: skip


@pytest.mark.parametrize("case", MAC_NETS, ids=[f"{n}-{s[1]}x{s[2]}" for n, s in MAC_NETS])
@pytest.mark.part("count_macs", points=1)
def test_count_macs_real_networks(learner, ref, case):
    """MACs of a forward pass, e.g. ResNet-18's 1,814,073,344 at 224 x 224 (torchvision: 1.814
    GFLOPS); the exact values equal torch's FLOP counter (module docstring)."""
    name, shape = case
    layers, _ = net(ref, name)
    assert_count(
        learner.count_macs(layers, shape),
        ref.count_macs(layers, shape),
        f"count_macs({name}, {shape})",
        on=f"{name} as a list of {len(layers)} layer dicts",
        hint="conv: c_out h_out w_out (c_in / groups) kh kw; linear: d_in d_out; nothing else",
    )


# ---------------------------------------------------------------------------------------
# Residual block
# ---------------------------------------------------------------------------------------

RES_CASES = [  # N, C_in, C_mid, C_out, H, W (C_out != C_in: projection shortcut)
    (1, 3, 4, 3, 2, 3),
    (2, 4, 5, 4, 3, 3),
    (3, 3, 2, 5, 2, 4),
    (1, 2, 3, 4, 1, 1),
]
RES_IDS = ["identity-N1", "identity-N2", "projection-N3", "projection-1x1"]
KINK_MARGIN = 1e-3  # no ReLU input this close to 0: central differences stay smooth


def res_data(case, seed, dtype=np.float64, project=None):
    """x, params, dout with every ReLU input at least KINK_MARGIN away from 0 (seeds tried
    in order, so a case always gets the same data)."""
    n, c_in, c_mid, c_out, h, w = case
    project = c_in != c_out if project is None else project
    for s in range(seed, seed + 1000):
        rng = np.random.default_rng(s)
        x = rng.normal(size=(n, c_in, h, w))
        params = {"w1": rng.normal(size=(c_mid, c_in, 1, 1)), "b1": rng.normal(size=c_mid),
                  "w2": rng.normal(size=(c_out, c_mid, 1, 1)), "b2": rng.normal(size=c_out)}  # fmt: skip
        if project:
            params["ws"] = rng.normal(size=(c_out, c_in, 1, 1))
        z1 = np.einsum("oc,nchw->nohw", params["w1"][:, :, 0, 0], x) + params["b1"][:, None, None]
        h1 = np.maximum(z1, 0)
        z2 = np.einsum("oc,nchw->nohw", params["w2"][:, :, 0, 0], h1) + params["b2"][:, None, None]
        skip = np.einsum("oc,nchw->nohw", params["ws"][:, :, 0, 0], x) if project else x
        if min(np.abs(z1).min(), np.abs(z2 + skip).min()) > KINK_MARGIN:
            dout = rng.normal(size=z2.shape)
            cast = {k: v.astype(dtype) for k, v in params.items()}
            return x.astype(dtype), cast, dout.astype(dtype)
    raise RuntimeError("no seed gives data away from the ReLU kinks")  # never: a grader bug


def torch_residual(params_keys):
    """The block written with torch ops, for the torch oracles (keyword tensors)."""
    import torch
    import torch.nn.functional as F

    def forward(x, w1, b1, w2, b2, ws=None):
        out = F.conv2d(torch.relu(F.conv2d(x, w1, b1)), w2, b2)
        return torch.relu(out + (F.conv2d(x, ws) if ws is not None else x))

    return forward


def numpy_residual(ref):
    def forward(x, **params):
        return ref.residual_block_forward(x, params)

    return forward


@pytest.mark.parametrize("case", RES_CASES, ids=RES_IDS)
@pytest.mark.part("residual_block_forward", points=0.5)
def test_residual_block_forward_shapes(learner, case):
    """The output is (N, C_out, H, W) for identity and projection shortcuts."""
    x, params, dout = res_data(case, seed=1)
    assert_shape(learner.residual_block_forward(x, params), dout.shape,
                 "residual_block_forward(x, params)", on=describe(x=x, **params))  # fmt: skip


@DTYPES
@pytest.mark.parametrize("case", RES_CASES, ids=RES_IDS)
@pytest.mark.part("residual_block_forward", points=1)
def test_residual_block_forward_matches_torch(learner, case, dtype):
    """Equals relu(conv(relu(conv(x))) + shortcut(x)) written with torch.nn.functional."""
    import torch

    x, params, _ = res_data(case, seed=2, dtype=dtype)
    expected = torch_residual(params)(
        torch.tensor(x, dtype=torch.float64),
        **{k: torch.tensor(v, dtype=torch.float64) for k, v in params.items()},
    ).numpy()
    assert_close(
        learner.residual_block_forward(x, params),
        expected,
        "residual_block_forward(x, params) (vs torch)",
        on=describe(x=x, **params),
        inputs={"x": x},
        hint="ResNet v1: add the shortcut to the second conv's output, then apply the ReLU"
        + (
            "; the shortcut is conv(x, ws) here" if "ws" in params else "; the shortcut is x itself"
        ),
    )


@pytest.mark.parametrize("case", RES_CASES, ids=RES_IDS)
@pytest.mark.part("residual_block_backward", points=0.5)
def test_residual_block_backward_keys_and_shapes(learner, case):
    """Returns a dict with "x" and every key of params, each shaped like what it differentiates."""
    x, params, dout = res_data(case, seed=3)
    on = describe(dout=dout, x=x, **params)
    grads = learner.residual_block_backward(dout, x, params)
    want = {"x", *params}
    assert_true(isinstance(grads, dict) and set(grads) == want,
                "residual_block_backward: wrong keys",
                f"expected a dict with keys {sorted(want)}, got "
                + (f"keys {sorted(grads)}" if isinstance(grads, dict) else type(grads).__name__),
                on=on, hint="one gradient per input: 'x' and each parameter (with 'ws' only "
                "for a projection shortcut)")  # fmt: skip
    for k, v in grads.items():
        assert_shape(v, (x if k == "x" else params[k]).shape,
                     f"residual_block_backward: gradient of {k}", on=on)  # fmt: skip


BACKWARD_HINTS = {
    "x": "dx sums both paths: the body's input gradient plus the shortcut's (dz itself, or "
    "the projection's input gradient)",
    "ws": "the projection gets dz, the gradient after the final ReLU: dws from "
    "pointwise_conv_backward(dz, x, ws)",
    "w2": "the final ReLU's mask applies first: dz = dout * (z2 + s > 0)",
    "b2": "the final ReLU's mask applies first: dz = dout * (z2 + s > 0)",
}


@pytest.mark.parametrize("oracle", ["numerical", "torch"])
@pytest.mark.parametrize("case", RES_CASES, ids=RES_IDS)
@pytest.mark.part("residual_block_backward", points=1)
def test_residual_block_backward(learner, ref, case, oracle):
    """Every gradient of sum(dout * block(x)), by central differences and by torch.autograd."""
    x, params, dout = res_data(case, seed=4 if oracle == "numerical" else 5)
    wrt = ["x", *params]
    grads = learner.residual_block_backward(dout, x, params)
    assert_true(isinstance(grads, dict) and set(grads) == set(wrt),
                "residual_block_backward: wrong keys", f"expected keys {sorted(wrt)}",
                on=describe(x=x, **params))  # fmt: skip
    forward = numpy_residual(ref) if oracle == "numerical" else torch_residual(params)
    assert_backward(
        tuple(grads[k] for k in wrt),
        forward,
        {"x": x, **params},
        dout,
        wrt,
        "residual_block_backward(dout, x, params)",
        oracle=oracle,
        on=describe(dout=dout, x=x, **params),
        hints=BACKWARD_HINTS,
    )


@pytest.mark.parametrize("zero_biases", [("b1",), ("b1", "b2")], ids=["z1", "z1-and-out"])
@pytest.mark.part("residual_block_backward", points=0.5)
def test_residual_block_backward_relu_derivative_is_zero_at_zero(learner, zero_biases):
    """A block's input is often a ReLU's output: where x is 0 in every channel and b1 = 0,
    z1 == 0 exactly (and with b2 = 0 too, z2 + s == 0): ReLU's derivative there is 0 (as in
    torch.autograd), for the inner ReLU and the final one."""
    x, params, dout = res_data(RES_CASES[2], seed=7)
    x = np.maximum(x, 0) * (np.arange(x.shape[3]) % 2)  # whole zero columns, as after a ReLU
    params = params | {k: np.zeros_like(params[k]) for k in zero_biases}
    wrt = ["x", *params]
    grads = learner.residual_block_backward(dout, x, params)
    assert_true(isinstance(grads, dict) and set(grads) == set(wrt),
                "residual_block_backward: wrong keys", f"expected keys {sorted(wrt)}",
                on=describe(x=x, **params))  # fmt: skip
    assert_backward(tuple(grads[k] for k in wrt), torch_residual(params), {"x": x, **params}, dout,
                    wrt, "residual_block_backward(dout, x, params) where z1 == 0", oracle="torch",
                    on=describe(dout=dout, x=x, **params) + f" (x >= 0 with zero columns, {' = '.join(zero_biases)} = 0)",
                    hints=BACKWARD_HINTS | {"b1": "the ReLU's derivative at z1 == 0 is 0: mask with (z1 > 0)"})  # fmt: skip


@pytest.mark.part("residual_block_backward", points=1)
def test_residual_block_backward_float32(learner, ref):
    """float32 inputs give the gradients at float32 precision."""
    x, params, dout = res_data(RES_CASES[2], seed=6, dtype=np.float32)
    grads = learner.residual_block_backward(dout, x, params)
    expected = ref.residual_block_backward(
        dout.astype(np.float64), x.astype(np.float64),
        {k: v.astype(np.float64) for k, v in params.items()},
    )  # fmt: skip
    for k in ["x", *params]:
        assert_true(isinstance(grads, dict) and k in grads, "residual_block_backward: wrong keys",
                    f"no gradient for {k!r}")  # fmt: skip
        assert_close(grads[k], expected[k], f"residual_block_backward: gradient of {k} in float32",
                     on=describe(dout=dout, x=x, **params), inputs={"x": x, "dout": dout},
                     hint=BACKWARD_HINTS.get(k, ""))  # fmt: skip


# ---------------------------------------------------------------------------------------
# Dense block
# ---------------------------------------------------------------------------------------

DENSE_CASES = [(1, 3, 2, 1, 2, 3), (2, 4, 3, 3, 3, 2), (3, 2, 1, 4, 1, 5)]  # N, C0, k, L, H, W
DENSE_IDS = ["N1_C3_k2_L1", "N2_C4_k3_L3", "N3_C2_k1_L4"]


def dense_data(case, seed, dtype=np.float64):
    n, c0, k, n_layers, h, w = case
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c0, h, w)).astype(dtype)
    weights = [rng.normal(size=(k, c0 + i * k, 1, 1)).astype(dtype) for i in range(n_layers)]
    biases = [rng.normal(size=k).astype(dtype) for _ in range(n_layers)]
    return x, weights, biases


@pytest.mark.parametrize("case", DENSE_CASES, ids=DENSE_IDS)
@pytest.mark.part("dense_block_forward", points=0.5)
def test_dense_block_forward_shapes(learner, case):
    """The output has C_0 + L k channels."""
    n, c0, k, n_layers, h, w = case
    x, weights, biases = dense_data(case, seed=10)
    assert_shape(learner.dense_block_forward(x, weights, biases), (n, c0 + n_layers * k, h, w),
                 "dense_block_forward(x, weights, biases)",
                 on=describe(x=x) + f", {n_layers} layers of growth rate {k}",
                 hint="return the concatenation of the input and every layer's output")  # fmt: skip


@DTYPES
@pytest.mark.parametrize("case", DENSE_CASES, ids=DENSE_IDS)
@pytest.mark.part("dense_block_forward", points=1)
def test_dense_block_forward_matches_torch(learner, case, dtype):
    """Equals the block written with torch.cat and F.conv2d, channels in the stated order."""
    import torch
    import torch.nn.functional as F

    x, weights, biases = dense_data(case, seed=11, dtype=dtype)
    features = [torch.tensor(x, dtype=torch.float64)]
    for w, b in zip(weights, biases):
        z = torch.relu(torch.cat(features, 1))
        features.append(F.conv2d(z, torch.tensor(w, dtype=torch.float64),
                                 torch.tensor(b, dtype=torch.float64)))  # fmt: skip
    assert_close(
        learner.dense_block_forward(x, weights, biases),
        torch.cat(features, 1).numpy(),
        "dense_block_forward(x, weights, biases) (vs torch)",
        on=describe(x=x) + f", {len(weights)} layers",
        inputs={"x": x},
        hint="channel order: the input first, then each layer's new features in order; layer l "
        "sees the concatenation of everything before it",
    )


# ---------------------------------------------------------------------------------------
# Depthwise and depthwise-separable convolution
# ---------------------------------------------------------------------------------------

DW_CASES = [  # N, C, H, W, kh, kw, stride, padding
    (1, 1, 5, 5, 3, 3, 1, 0),
    (2, 3, 7, 6, 3, 3, 1, 1),
    (2, 4, 9, 8, 3, 2, 2, 0),
    (1, 5, 6, 11, 5, 3, 2, 2),
    (3, 2, 4, 4, 1, 1, 1, 0),
]
DW_IDS = ["C1_3x3", "C3_pad1", "C4_3x2_s2", "C5_5x3_s2_p2", "C2_1x1"]


def dw_data(case, seed, dtype=np.float64, c_out=4):
    n, c, h, w, kh, kw, *_ = case
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c, h, w)).astype(dtype)
    w_dw = rng.normal(size=(c, 1, kh, kw)).astype(dtype)
    w_pw = rng.normal(size=(c_out, c, 1, 1)).astype(dtype)
    return x, w_dw, w_pw


def torch_depthwise(x, w_dw, stride, padding, w_pw=None):
    import torch
    import torch.nn.functional as F

    t = lambda a: torch.tensor(np.asarray(a, dtype=np.float64))  # noqa: E731
    out = F.conv2d(t(x), t(w_dw), stride=stride, padding=padding, groups=x.shape[1])
    return (out if w_pw is None else F.conv2d(out, t(w_pw))).numpy()


DW_HINT = ("out[:, c] is x[:, c] cross-correlated with w[c, 0] alone (no sum over channels, "
           "no kernel flip); H_out = (H + 2 padding - kH) // stride + 1")  # fmt: skip


@pytest.mark.parametrize("case", DW_CASES, ids=DW_IDS)
@pytest.mark.part("depthwise_conv2d", points=0.5)
def test_depthwise_conv2d_shapes(learner, case):
    """(N, C, H_out, W_out) with stride and padding, non-square kernels and inputs."""
    n, c, h, w, kh, kw, s, p = case
    x, w_dw, _ = dw_data(case, seed=20)
    assert_shape(learner.depthwise_conv2d(x, w_dw, s, p),
                 (n, c, (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1),
                 f"depthwise_conv2d(x, w, stride={s}, padding={p})", on=describe(x=x, w=w_dw))  # fmt: skip


@DTYPES
@pytest.mark.parametrize("case", DW_CASES, ids=DW_IDS)
@pytest.mark.part("depthwise_conv2d", points=1)
def test_depthwise_conv2d_matches_torch(learner, case, dtype):
    """Equals torch.nn.functional.conv2d(x, w, stride, padding, groups=C)."""
    *_, s, p = case
    x, w_dw, _ = dw_data(case, seed=21, dtype=dtype)
    assert_close(learner.depthwise_conv2d(x, w_dw, s, p), torch_depthwise(x, w_dw, s, p),
                 f"depthwise_conv2d(x, w, stride={s}, padding={p}) (vs torch, groups=C)",
                 on=describe(x=x, w=w_dw), inputs={"x": x}, hint=DW_HINT)  # fmt: skip


@DTYPES
@pytest.mark.parametrize("case", DW_CASES[1:4], ids=DW_IDS[1:4])
@pytest.mark.part("depthwise_separable_conv", points=1)
def test_depthwise_separable_conv_matches_torch(learner, case, dtype):
    """Equals torch's depthwise conv (groups=C_in) followed by a 1 x 1 conv."""
    *_, s, p = case
    x, w_dw, w_pw = dw_data(case, seed=22, dtype=dtype, c_out=5)
    assert_close(
        learner.depthwise_separable_conv(x, w_dw, w_pw, s, p),
        torch_depthwise(x, w_dw, s, p, w_pw),
        f"depthwise_separable_conv(x, w_depthwise, w_pointwise, stride={s}, padding={p}) (vs torch)",
        on=describe(x=x, w_depthwise=w_dw, w_pointwise=w_pw),
        inputs={"x": x},  # the question's dtype: float32 inputs are checked at float32 precision
        hint="first the depthwise conv (with the stride and padding), then the 1 x 1 pointwise conv",
    )


# ---------------------------------------------------------------------------------------
# EfficientNet compound scaling
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", [(0, ()), (1, ()), (2.5, ()), (3, (1.3, 1.05, 1.2))], ids=str)
@pytest.mark.part("compound_scaling", points=1)
def test_compound_scaling(learner, case):
    """(alpha^phi, beta^phi, gamma^phi), with the paper's defaults and with others."""
    phi, coefficients = case
    alpha, beta, gamma = coefficients or (1.2, 1.1, 1.15)
    got = learner.compound_scaling(phi, *coefficients)
    on = f"phi={phi}, alpha={alpha}, beta={beta}, gamma={gamma}"
    assert_true(isinstance(got, tuple | list) and len(got) == 3,
                "compound_scaling: expected (depth, width, resolution)", f"got {got!r}", on=on)  # fmt: skip
    assert_close(np.asarray(got, dtype=np.float64), [alpha**phi, beta**phi, gamma**phi],
                 "compound_scaling(phi) = (depth, width, resolution)", on=on,
                 hint="each multiplier is its coefficient to the power phi, in the order "
                 "depth (alpha), width (beta), resolution (gamma)")  # fmt: skip


ROUND_CASES = [(32, 1.0), (32, 1.1), (16, 1.4), (40, 1.8), (24, 6), (112, 1.2), (3, 1.0), (7, 1.25),
               (10, 1.0), (60, 0.75)]  # fmt: skip


@pytest.mark.parametrize("case", ROUND_CASES, ids=str)
@pytest.mark.part("round_filters", points=0.5)
def test_round_filters(learner, ref, case):
    """Nearest multiple of 8, at least 8, never more than 10% below channels * width."""
    c, w = case
    assert_count(learner.round_filters(c, w), ref.round_filters(c, w),
                 f"round_filters({c}, {w})", on=f"channels * width = {c * w:g}",
                 hint="int(v + 4) // 8 * 8 rounds v to the nearest multiple of 8; then at least 8, "
                 "and add 8 if that fell below 0.9 v")  # fmt: skip


@pytest.mark.parametrize("case", [(1, 1.0), (2, 1.1), (3, 1.4), (4, 1.8), (3, 2.2), (4, 3.1), (1, 1.0000001)],
                         ids=str)  # fmt: skip
@pytest.mark.part("round_repeats", points=0.5)
def test_round_repeats(learner, ref, case):
    """ceil(repeats * depth): a stage never gets fewer layers than asked."""
    n, d = case
    assert_count(learner.round_repeats(n, d), ref.round_repeats(n, d),
                 f"round_repeats({n}, {d})", on=f"repeats * depth = {n * d!r}",
                 hint="round up: math.ceil(repeats * depth)")  # fmt: skip


# torchvision's num_params for EfficientNet-B1..B4 and their (width, depth) (Tan & Le 2019)
SCALED = [("B1", 1.0, 1.1, 7_794_184), ("B2", 1.1, 1.2, 9_109_994), ("B3", 1.2, 1.4, 12_233_232),
          ("B4", 1.4, 1.8, 19_341_616)]  # fmt: skip


@pytest.mark.parametrize("case", SCALED, ids=[s[0] for s in SCALED])
@pytest.mark.parametrize(
    "part",
    [pytest.param("round_filters", marks=pytest.mark.part("round_filters", points=1)),
     pytest.param("round_repeats", marks=pytest.mark.part("round_repeats", points=1))],
)  # fmt: skip
def test_scaled_efficientnet_published_counts(learner, ref, case, part):
    """B0 scaled with your rounding (the other function the reference's) has torchvision's
    published parameter count."""
    name, width, depth, published = case
    cache = {}

    def mine(*args):  # one sandbox call per distinct argument tuple
        if args not in cache:
            got = getattr(learner, part)(*args)
            assert_true(isinstance(got, int | np.integer), f"{part}{args}: expected an integer",
                        f"got {type(got).__name__} {got!r}", hint="return int(...)")  # fmt: skip
            cache[args] = int(got)
        return cache[args]

    rf = mine if part == "round_filters" else ref.round_filters
    rr = mine if part == "round_repeats" else ref.round_repeats
    assert_count(
        ref.count_parameters(efficientnet(width, depth, rf, rr)),
        published,
        f"EfficientNet-{name} (width {width}, depth {depth}) built with your {part}: parameters",
        on=f"B0's stages {B0_STAGES} scaled; rounded channels and repeats: "
        + ", ".join(f"{k} -> {v}" for k, v in sorted(cache.items())),
        hint="torchvision's rules: channels to the nearest multiple of 8 (at least 8, never "
        "10% below), repeats rounded up",
    )
