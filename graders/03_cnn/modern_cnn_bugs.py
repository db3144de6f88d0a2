"""Known bugs of modern-cnn: each one edit of the reference function it names.

Bugs in the per-layer formulas and in output_shape also fail the counters built on them
(the reference's counters call them, as a learner's do).
"""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function


def bug(name, function, hint, *edits, fails=(), why="", kind="known-bug"):
    """A known bug (or another convention: kind="convention") that is `edits` of the
    reference's `function`."""
    del why  # where the mistake is reported: kept next to each bug below, for reviewers
    return KnownBug(
        name=name,
        function=function,
        hint=hint,
        code=edited(reference_function(__file__, function), *edits),
        fails=fails,
        kind=kind,
    )


BUGS = [
    # ---------------------------------------------------------------- per-layer formulas
    bug(
        "conv-params-bias-forgotten",
        "conv2d_params",
        "a conv with a bias has c_out more parameters: one bias per output channel",
        (
            "c_out * (c_in // groups) * kh * kw + (c_out if bias else 0)",
            "c_out * (c_in // groups) * kh * kw",
        ),
        fails=("conv2d_params", "count_parameters"),
        why="the '+1 for the bias' of the CS231n notes on conv layers is the step most often "
        "missed in 'count the parameters of this CNN' questions (Stack Overflow, Cross Validated)",
    ),
    bug(
        "conv-params-bias-always-counted",
        "conv2d_params",
        "count the bias only when bias is True: torchvision's convs followed by batch norm have "
        "bias=False (the norm's beta does its job)",
        ("(c_out if bias else 0)", "c_out"),
        fails=("conv2d_params", "count_parameters"),
        why="hand counts of ResNet that come out ~9,600 too high: the 'why does my count differ "
        "from torchvision' threads on the PyTorch forums",
    ),
    bug(
        "conv-params-groups-ignored",
        "conv2d_params",
        "with groups g each filter sees only c_in / g input channels: a depthwise conv "
        "(g = c_in) has c_out * kh * kw weights",
        ("c_out * (c_in // groups) * kh * kw", "c_out * c_in * kh * kw"),
        fails=("conv2d_params", "count_parameters"),
        why="MobileNet counts off by millions when the depthwise layer is counted as a full "
        "conv (issues on model-summary tools, e.g. pytorch-summary / thop grouped-conv reports)",
    ),
    bug(
        "conv-params-input-channels-forgotten",
        "conv2d_params",
        "each filter spans every input channel it sees: c_out * (c_in // groups) * kh * kw "
        "weights, not c_out * kh * kw",
        ("c_out * (c_in // groups) * kh * kw", "c_out * kh * kw"),
        fails=("conv2d_params", "count_parameters"),
        why="a filter counted as a flat kh x kw patch: the CS231n notes stress that 'every filter "
        "extends through the full depth of the input volume', the step most answers to 'number of "
        "parameters of a conv layer' questions (Stack Overflow, Cross Validated) correct",
    ),
    bug(
        "conv-macs-input-channels-forgotten",
        "conv2d_macs",
        "each output value sums over (c_in // groups) * kh * kw products, every input channel of "
        "its group included",
        ("c_out * h_out * w_out * (c_in // groups) * kh * kw", "c_out * h_out * w_out * kh * kw"),
        fails=("conv2d_macs", "count_macs"),
        why="the same flat-filter slip as for the parameters, in hand-made FLOP tables",
    ),
    bug(
        "conv-macs-groups-ignored",
        "conv2d_macs",
        "with groups g each output value sums over c_in / g channels only: "
        "(c_in // groups) * kh * kw MACs each",
        (
            "c_out * h_out * w_out * (c_in // groups) * kh * kw",
            "c_out * h_out * w_out * c_in * kh * kw",
        ),
        fails=("conv2d_macs", "count_macs"),
        why="grouped/depthwise FLOPs overcounted: early FLOP-counter issues (thop, ptflops) on "
        "MobileNet and ResNeXt",
    ),
    bug(
        "conv-macs-bias-counted",
        "conv2d_macs",
        "counting the bias add as one more MAC per output is ptflops' convention; this exercise "
        "uses torchvision's and fvcore's (products only), which its published GFLOPS follow",
        ("(c_in // groups) * kh * kw", "((c_in // groups) * kh * kw + 1)"),
        fails=("conv2d_macs", "count_macs"),
        why="ptflops and fvcore disagree by exactly the bias term (ptflops README, fvcore "
        "issues comparing the two)",
        kind="convention",
    ),
    bug(
        "linear-params-bias-forgotten",
        "linear_params",
        "a linear layer with a bias has d_out more parameters",
        ("d_in * d_out + (d_out if bias else 0)", "d_in * d_out"),
        fails=("linear_params", "count_parameters"),
        why="the same '+1 for the bias' slip as for convs, on the classifier layers",
    ),
    bug(
        "batchnorm-running-stats-counted",
        "batchnorm_params",
        "running_mean and running_var are buffers, never trained: only gamma and beta count",
        ("2 * channels", "4 * channels"),
        fails=("batchnorm_params", "count_parameters"),
        why="Keras' model.summary() lists BN's moving statistics as 'non-trainable params', so "
        "totals copied from it include them (Keras issues on BatchNormalization counts)",
    ),
    # ---------------------------------------------------------------- counters
    bug(
        "residual-shortcut-params-forgotten",
        "count_parameters",
        "a residual block's projection shortcut (1 x 1 conv + batch norm) has parameters too",
        (
            'count_parameters(layer["body"]) + count_parameters(layer["shortcut"])',
            'count_parameters(layer["body"])',
        ),
        why="ResNet counts a few hundred thousand short: the downsample branch is easy to miss "
        "when reading the architecture table of He et al., which does not list it",
    ),
    bug(
        "output-size-rounded-up",
        "output_shape",
        "rounding the output size up is Caffe's pooling convention (ceil_mode=True); this "
        "exercise and PyTorch's default round down: (H + 2p - k) // s + 1",
        ("(n + 2 * p - k) // s + 1", "math.ceil((n + 2 * p - k) / s) + 1"),
        fails=("output_shape", "count_macs"),
        why="Caffe and PyTorch disagree on pooling output sizes (ceil_mode); a classic source "
        "of 'my feature map is one pixel larger' questions when porting models",
        kind="convention",
    ),
    bug(
        "output-size-padding-ignored",
        "output_shape",
        "padding adds p zeros on each side: H + 2p - k, not H - k",
        ("(n + 2 * p - k) // s + 1", "(n - k) // s + 1"),
        fails=("output_shape", "count_macs"),
        why="the output-size formula copied without its padding term (CS231n's 'W - F + 2P' "
        "questions)",
    ),
    bug(
        "pool-stride-defaults-to-one",
        "output_shape",
        "a pooling layer's stride defaults to its kernel size (as torch.nn.MaxPool2d), not 1",
        ('layer.get("stride", 1 if kind == "conv" else k)', 'layer.get("stride", 1)'),
        fails=("output_shape",),
        why="nn.MaxPool2d(2) without stride: learners expect stride 1 like a conv (PyTorch "
        "forum questions on MaxPool2d output sizes)",
    ),
    bug(
        "residual-shortcut-macs-forgotten",
        "count_macs",
        "a residual block costs its body plus its shortcut: the projection is a conv too",
        (
            'count_macs(layer["body"], shape) + count_macs(layer["shortcut"], shape)',
            'count_macs(layer["body"], shape)',
        ),
        why="the same missed downsample branch as for the parameters, in FLOP tables",
    ),
    # ---------------------------------------------------------------- residual block
    bug(
        "skip-added-after-relu",
        "residual_block_forward",
        "the original ResNet (v1) adds the shortcut first and applies the ReLU to the sum: "
        "relu(z2 + s); relu(z2) + s is a different block",
        ("np.maximum(z2 + s, 0)", "np.maximum(z2, 0) + s"),
        why="where the ReLU goes relative to the add is the difference between ResNet v1, v2 "
        "(pre-activation, He et al. 2016b) and ad-hoc blocks; blog implementations mix them",
    ),
    bug(
        "skip-gradient-missing",
        "residual_block_backward",
        "x feeds both the body and the shortcut: dx is the sum of both paths' gradients",
        ('grads["x"] = dx + dx_s', 'grads["x"] = dx'),
        why="the 'gradient highway' forgotten: backprop through the body only (a recurring "
        "question in from-scratch ResNet implementations)",
    ),
    bug(
        "skip-gradient-bypasses-relu",
        "residual_block_backward",
        "the final ReLU comes after the add: the shortcut gets dz = dout * (z2 + s > 0), "
        "not dout itself (identity or projection alike)",
        ("        dx_s = dz\n", "        dx_s = dout\n"),
        (
            'pointwise_conv_backward(dz, x, params["ws"])',
            'pointwise_conv_backward(dout, x, params["ws"])',
        ),
        why="'the skip passes the gradient unchanged' read too literally, past the ReLU",
    ),
    bug(
        "residual-relu-derivative-one-at-zero",
        "residual_block_backward",
        "(z1 >= 0) takes ReLU's derivative at 0 to be 1, also a valid subgradient; this exercise "
        "takes 0, as PyTorch does: use (z1 > 0)",
        ("dh * (z1 > 0)", "dh * (z1 >= 0)"),
        kind="convention",
        why="(z >= 0) is written as often as (z > 0) in from-scratch backward passes "
        "(pytorch/tutorials PR 269, uptake/numpynet PR 35); it shows where a ReLU output's "
        "zeros meet a zero bias",
    ),
    bug(
        "projection-gradient-missing",
        "residual_block_backward",
        "the projection conv is trained too: dws = pointwise_conv_backward(dz, x, ws)[1]",
        (
            'dx_s, grads["ws"], _ = pointwise_conv_backward(dz, x, params["ws"])',
            'dx_s, _, _ = pointwise_conv_backward(dz, x, params["ws"])\n'
            '        grads["ws"] = np.zeros_like(params["ws"])',
        ),
        why="the downsample branch treated as fixed: its weights never learn",
    ),
    # ---------------------------------------------------------------- dense block
    bug(
        "dense-concat-reversed",
        "dense_block_forward",
        "concatenate in the stated order: the block's input first, then each layer's output "
        "(torchvision's torch.cat(features, 1))",
        ("z = np.concatenate(features, axis=1)", "z = np.concatenate(features[::-1], axis=1)"),
        (
            "return np.concatenate(features, axis=1)",
            "return np.concatenate(features[::-1], axis=1)",
        ),
        why="x = cat([layer(x), x]) puts the new features first: same shape, other channels",
    ),
    bug(
        "dense-block-returns-new-features-only",
        "dense_block_forward",
        "the block returns its input too: concat[x, x_1, ..., x_L]",
        ("return np.concatenate(features, axis=1)", "return np.concatenate(features[1:], axis=1)"),
        why="the FC-DenseNet up-path returns only the new features; DenseNet's blocks do not",
    ),
    # ---------------------------------------------------------------- depthwise
    bug(
        "depthwise-kernel-flipped",
        "depthwise_conv2d",
        "this flips the kernel: that is true convolution (the signal-processing convention); "
        "every framework, and this exercise, computes cross-correlation (no flip)",
        ("w[None, :, 0, i, j, None, None]", "w[None, :, 0, kh - 1 - i, kw - 1 - j, None, None]"),
        fails=("depthwise_conv2d", "depthwise_separable_conv"),
        why="scipy.signal.convolve2d flips, F.conv2d does not (CS231n and PyTorch forum threads)",
        kind="convention",
    ),
    bug(
        "separable-padding-dropped",
        "depthwise_separable_conv",
        "pass the padding (and the stride) to the depthwise conv",
        (
            "depthwise_conv2d(x, w_depthwise, stride, padding)",
            "depthwise_conv2d(x, w_depthwise, stride)",
        ),
        why="an argument dropped when composing two layers",
    ),
    # ---------------------------------------------------------------- compound scaling
    bug(
        "compound-scaling-linear",
        "compound_scaling",
        "each multiplier grows geometrically: alpha ** phi, not alpha * phi",
        ("return alpha**phi, beta**phi, gamma**phi", "return alpha * phi, beta * phi, gamma * phi"),
        why="'scale by phi' read as multiplication (Tan & Le's equation 3 uses powers)",
    ),
    bug(
        "round-filters-truncated",
        "round_filters",
        "round to the nearest multiple of divisor: add divisor / 2 before the floor division",
        ("int(scaled + divisor / 2)", "int(scaled)"),
        fails=("round_filters",),
        why="floor to a multiple of 8 instead of nearest (differences between EfficientNet "
        "ports: lukemelas/EfficientNet-PyTorch vs the TF reference's round_filters)",
    ),
    bug(
        "round-filters-no-ten-percent-guard",
        "round_filters",
        "if rounding lost more than 10% of channels * width, add one divisor back",
        ("return v + divisor if v < 0.9 * scaled else v", "return v"),
        why="the second step of _make_divisible (MobileNet / EfficientNet reference code) is "
        "often left out",
    ),
    bug(
        "round-repeats-rounded-to-nearest",
        "round_repeats",
        "depth rounds up: math.ceil(repeats * depth), so no stage loses a layer",
        ("int(math.ceil(repeats * depth_mult))", "int(round(repeats * depth_mult))"),
        why="round() where the TF reference's round_repeats uses ceil",
    ),
]

_SYMMETRIC = (
    "np.maximum is symmetric in its arguments (only the sign of a zero can differ, and -0.0 == 0.0)"
)
EQUIVALENT = {
    "count_macs/swap-args/swap first two arguments#1": "c_out * (c_in // g) equals "
    "c_in * (c_out // g) whenever groups g divides both, which every valid conv requires "
    "(torch raises otherwise): the MAC count is symmetric in c_in and c_out",
    "residual_block_forward/swap-args/swap first two arguments#0": _SYMMETRIC,
    "residual_block_forward/swap-args/swap first two arguments#4": _SYMMETRIC,
    "residual_block_backward/swap-args/swap first two arguments#1": _SYMMETRIC,
    "dense_block_forward/swap-args/swap first two arguments#2": _SYMMETRIC,
    "depthwise_conv2d/swap-args/swap first two arguments#1": "np.result_type is symmetric: "
    "the output dtype is the same",
    "round_filters/swap-args/swap first two arguments#0": "max is symmetric",
    "round_filters/compare/Lt->LtE#0": "differs only when v equals 0.9 * channels * width "
    "exactly, a float tie that needs a contrived width (e.g. 80 / 9); the grader does not test "
    "it, because equally correct forms of the rule (v / scaled < 0.9) disagree there by rounding",
}
