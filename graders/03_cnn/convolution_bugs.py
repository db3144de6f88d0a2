"""Known bugs of convolution: mistakes learners make, each an edit of the reference function.

The reference's conv2d_naive calls conv2d_output_shape (as a learner's often does), so an
output-size bug also fails conv2d_naive. Sources: the CS231n assignment-2 conv_forward_naive /
conv_backward_naive threads (Stack Overflow, r/cs231n, course forums), and the PyTorch
forum's "my numpy conv2d does not match F.conv2d" questions.
"""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

SHAPE = reference_function(__file__, "conv2d_output_shape")
NAIVE = reference_function(__file__, "conv2d_naive")
FAST = reference_function(__file__, "conv2d")
BACKWARD = reference_function(__file__, "conv2d_backward")
SHAPE_AND_NAIVE = ("conv2d_output_shape", "conv2d_naive")
CONVENTION = (
    "this is true convolution (the kernel flipped), the signal-processing convention; this "
    "exercise, like PyTorch and every framework, computes cross-correlation: apply w as stored, "
    "so weights trained or loaded elsewhere mean the same thing"
)

BUGS = [
    # ------------------------------------------------------------------ output shape
    KnownBug(
        # Width's stride/padding used for the height: invisible on square inputs with equal
        # pairs, the usual test case in tutorials.
        name="output-size-h-w-swapped",
        function="conv2d_output_shape",
        hint="H_out uses the first number of each pair (sh, ph, dh) and kH; W_out the second ones and kW",
        code=edited(
            SHAPE,
            (
                "h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0]",
                "h + 2 * padding[1] - dilation[1] * (kh - 1) - 1) // stride[1]",
            ),
            (
                "w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1]",
                "w + 2 * padding[0] - dilation[0] * (kw - 1) - 1) // stride[0]",
            ),
        ),  # fmt: skip
        fails=SHAPE_AND_NAIVE,
    ),
    KnownBug(
        # The textbook (H + 2p - k) / s + 1 applied with dilation: the dilated kernel spans
        # d (k - 1) + 1 pixels, not k (Dumoulin & Visin, relationship 15).
        name="output-size-ignores-dilation",
        function="conv2d_output_shape",
        hint="a dilated kernel spans dh (kH - 1) + 1 rows: H_out = floor((H + 2 ph - dh (kH - 1) - 1) / sh) + 1",
        code=edited(
            SHAPE,
            ("dilation[0] * (kh - 1) - 1", "kh"),
            ("dilation[1] * (kw - 1) - 1", "kw"),
        ),
        fails=SHAPE_AND_NAIVE,
    ),
    KnownBug(
        # "(H + 2p - k) / s" without the + 1: counts the steps, not the positions.
        name="output-size-missing-plus-one",
        function="conv2d_output_shape",
        hint="count positions, not steps: floor((H + 2 ph - dh (kH - 1) - 1) / sh) + 1",
        code=edited(
            SHAPE,
            ("// stride[0] + 1", "// stride[0]"),
            ("// stride[1] + 1", "// stride[1]"),
        ),
        fails=SHAPE_AND_NAIVE,
    ),
    # ------------------------------------------------------------------ naive forward
    KnownBug(
        # The signal-processing definition copied from a textbook: a named convention.
        name="naive-true-convolution",
        kind="convention",
        function="conv2d_naive",
        hint=CONVENTION,
        code=edited(NAIVE, ("cols] * w[o]", "cols] * w[o, :, ::-1, ::-1]")),
    ),
    KnownBug(
        # The window starts at (i, j) instead of (i*sh, j*sw): the output has the strided size
        # but samples the top-left corner densely (CS231n conv_forward_naive threads).
        name="naive-window-not-strided",
        function="conv2d_naive",
        hint="output (i, j) reads the window starting at row i*sh and column j*sw",
        code=edited(
            NAIVE,
            ("slice(i * sh, i * sh +", "slice(i, i +"),
            ("slice(j * sw, j * sw +", "slice(j, j +"),
        ),
    ),
    KnownBug(
        # Dilation applied to the output size but not to the taps: a dense kH x kW window.
        name="naive-dilation-ignored",
        function="conv2d_naive",
        hint="the taps of a dilated kernel are dh rows and dw columns apart: slice(i*sh, i*sh + dh (kH - 1) + 1, dh)",
        code=edited(
            NAIVE,
            ("i * sh + dh * (kh - 1) + 1, dh)", "i * sh + kh)"),
            ("j * sw + dw * (kw - 1) + 1, dw)", "j * sw + kw)"),
        ),
    ),
    # ------------------------------------------------------------------ vectorised forward
    KnownBug(
        name="im2col-true-convolution",
        kind="convention",
        function="conv2d",
        hint=CONVENTION,
        code=edited(
            FAST, ("np.tensordot(windows, w,", "np.tensordot(windows, w[:, :, ::-1, ::-1],")
        ),
    ),
    KnownBug(
        # The H and W strides swapped when slicing the window grid.
        name="im2col-stride-h-w-swapped",
        function="conv2d",
        hint="the first stride is for H (axis 2), the second for W (axis 3): windows[:, :, ::sh, ::sw]",
        code=edited(FAST, ("windows[:, :, ::sh, ::sw,", "windows[:, :, ::sw, ::sh,")),
    ),
    KnownBug(
        # The bias added along the last axis (W_out) instead of the channel axis: NCHW needs
        # b reshaped to (C_out, 1, 1). Runs silently when W_out == C_out.
        name="bias-on-last-axis",
        function="conv2d",
        hint="in NCHW the channel is axis 1: add b[:, None, None] (or b.reshape(1, -1, 1, 1)), not b",
        code=edited(FAST, ("+ b[:, None, None]", "+ b")),
    ),
    # ------------------------------------------------------------------ backward
    KnownBug(
        # Cropping the padding with [p:-p]: with p = 0 that is [0:0], an empty array
        # (CS231n conv_backward_naive, a classic "dx has shape (N, C, 0, 0)" question).
        name="unpad-negative-slice",
        function="conv2d_backward",
        hint="with padding 0, a[0:-0] is empty: crop with [ph:ph + H, pw:pw + W] instead of [ph:-ph, pw:-pw]",
        code=edited(
            BACKWARD, ("dxp[:, :, ph : ph + h, pw : pw + wd]", "dxp[:, :, ph:-ph, pw:-pw]")
        ),
    ),
    KnownBug(
        # The padded gradient cropped from its top-left corner: right only when padding is 0.
        name="unpad-wrong-offset",
        function="conv2d_backward",
        hint="the input sits ph rows and pw columns inside the padded grid: crop [ph:ph + H, pw:pw + W]",
        code=edited(BACKWARD, ("dxp[:, :, ph : ph + h, pw : pw + wd]", "dxp[:, :, :h, :wd]")),
    ),
    KnownBug(
        # The dense layer's db = dout.sum(axis=0) carried over: it forgets the positions.
        name="db-summed-over-batch-only",
        function="conv2d_backward",
        hint="each bias is added at every sample and every output position: db = dout.sum(axis=(0, 2, 3))",
        code=edited(BACKWARD, ("db = dout.sum(axis=(0, 2, 3))", "db = dout.sum(axis=0)")),
    ),
    KnownBug(
        # Dilation handled in the forward but forgotten when scattering dx back.
        name="backward-dilation-ignored",
        function="conv2d_backward",
        hint="in the backward the taps are dh rows and dw columns apart too: tap (p, q) lands at row i*sh + p*dh",
        code=edited(
            BACKWARD,
            ("slice(p * dh, p * dh +", "slice(p, p +"),
            ("slice(q * dw, q * dw +", "slice(q, q +"),
        ),
    ),
    KnownBug(
        # dx derived as "a full convolution with the rotated kernel", rotated once too often.
        name="dx-kernel-flipped",
        function="conv2d_backward",
        hint="dx sends dout[n, o, i, j] * w[o] back onto the window it came from, w as stored; "
        "the 180-degree rotation appears only if you write dx as a full cross-correlation of dout",
        code=edited(
            BACKWARD, ("np.tensordot(dout, w, axes", "np.tensordot(dout, w[:, :, ::-1, ::-1], axes")
        ),
    ),
    KnownBug(
        # The scatter into dxp assigns: windows that overlap (stride < kernel) keep only the last.
        name="dx-assigned-not-accumulated",
        function="conv2d_backward",
        hint="windows overlap when the stride is smaller than the kernel: accumulate with +=, never assign",
        code=edited(BACKWARD, ("dxp[:, :, rows, cols] +=", "dxp[:, :, rows, cols] =")),
    ),
]

EQUIVALENT = {
    "conv2d_naive/constant/0->1#1": "an extra zero sample padded after the batch is never read: the loops stop at N",
    "conv2d_naive/sibling/zeros->ones#0": "every entry of out is assigned in the loops, so its initial value never shows",
    "conv2d_naive/swap-args/swap first two arguments#2": "np.result_type is symmetric in its arguments",
}
