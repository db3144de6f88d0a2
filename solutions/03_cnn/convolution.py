"""# Convolution: a 2-D convolution layer, with loops and vectorised, and its backward

A convolution layer slides a small kernel over an image and takes, at every position, the
sum of products of the kernel with the patch of image under it. One kernel per output
channel; each kernel spans every input channel.

## Shapes and conventions (the grader holds you to every one)

- **NCHW**: `x` is `(N, C_in, H, W)` (batch, channels, height, width), as PyTorch.
- Weights `w` are `(C_out, C_in, kH, kW)` and the bias `b` is `(C_out,)`, as PyTorch.
- `stride`, `padding` and `dilation` are **pairs** `(for H, for W)`: `stride=(2, 1)` steps
  two rows down but one column across. The first number always goes with H, the second
  with W.
- Padding adds `ph` rows of **zeros** above and below and `pw` columns left and right.
- **Cross-correlation**: the kernel is *not* flipped. This is what PyTorch, TensorFlow and
  every framework call "convolution". The convolution of signal processing flips the
  kernel first (`w[..., ::-1, ::-1]`); it is a different, equally valid convention, but
  not the one used here (nor the one whose weights you will load later).
- Never modify an input in place (the grader checks every call).

## The forward pass

With `xp` the zero-padded input, `(sh, sw)`, `(ph, pw)`, `(dh, dw)` the stride, padding
and dilation:

    out[n, o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] * xp[n, c, i*sh + p*dh, j*sw + q*dw]

Dilation `d` spaces the kernel's taps `d` pixels apart: a 3x3 kernel with dilation 2 sees
a 5x5 patch. The output size, per axis (H with `kH, sh, ph, dh`; W with `kW, sw, pw, dw`):

    H_out = floor((H + 2 ph - dh (kH - 1) - 1) / sh) + 1

`out` is `(N, C_out, H_out, W_out)`.

**Naive** (`conv2d_naive`): Python loops over every output number `(n, o, i, j)`; each one
is `(window * w[o]).sum() + b[o]` for its window `xp[n, :, rows, cols]` (rows and columns
sliced with the stride's start and the dilation's step). The loops are the point: no
matrix product (`@`, `np.dot`, `np.matmul`, `np.tensordot`, `np.einsum`), no window views
(`sliding_window_view`, `as_strided`), no library convolution.

**Vectorised** (`conv2d`): no Python loop over output positions. Two classic ways:
*im2col* gathers every window into one row of a matrix `(N H_out W_out, C_in kH kW)`,
then one matrix product with `w` reshaped to `(C_out, C_in kH kW)` does every window at
once; *stride tricks* (`np.lib.stride_tricks.sliding_window_view`) view the windows
without copying. A loop over the `kH kW` kernel taps is fine (a few iterations, each a
whole-array operation). The grader times it on a moderate input, generously.

## The backward pass

Given `dout = dL/dout` `(N, C_out, H_out, W_out)`, the same `x`, `w`, stride, padding and
dilation:

    db[o]          = sum_{n, i, j} dout[n, o, i, j]                           (C_out,)
    dw[o, c, p, q] = sum_{n, i, j} dout[n, o, i, j] * xp[n, c, i*sh + p*dh, j*sw + q*dw]
    dxp[n, c, i*sh + p*dh, j*sw + q*dw]  +=  dout[n, o, i, j] * w[o, c, p, q]   (every n, o, i, j, p, q)

`dx` is `dxp` with the padding cut off: rows `ph .. ph + H - 1`, columns `pw .. pw + W - 1`
(careful with `p = 0`: `a[0:-0]` is empty). Windows overlap when the stride is smaller than
the kernel, so the scatter into `dxp` must *add* (`+=`), never assign. With stride 1 and
no dilation, `dx` is the "full" cross-correlation of `dout` with the kernel rotated by 180
degrees: the flip belongs to the backward's dx only.

Read: Dumoulin & Visin (2016), "A guide to convolution arithmetic for deep learning"
(every output-size case, with pictures); Goodfellow, Bengio & Courville, *Deep Learning*,
chapter 9; the CS231n notes "Convolutional Neural Networks"; Chellapilla, Puri & Simard
(2006), "High performance convolutional neural networks for document processing" (im2col).
"""

import numpy as np


def conv2d_output_shape(
    x_shape: tuple[int, int, int, int],
    w_shape: tuple[int, int, int, int],
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
) -> tuple[int, int, int, int]:
    """The output shape (N, C_out, H_out, W_out) of conv2d(x, w, b, stride, padding, dilation).

    x_shape: (N, C_in, H, W); w_shape: (C_out, C_in, kH, kW); stride, padding, dilation:
    pairs (for H, for W). H_out = floor((H + 2 ph - dh (kH - 1) - 1) / sh) + 1, W_out alike.
    Raises ValueError when the channels of x and w differ, or when the dilated kernel does not
    fit in the padded input (an output size below 1).
    """
    ### BEGIN SOLUTION
    n, c_in, h, w = x_shape
    c_out, c_w, kh, kw = w_shape
    if c_in != c_w:
        raise ValueError(f"x has {c_in} channels but the kernels expect {c_w}")
    h_out = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    w_out = (w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    if h_out < 1 or w_out < 1:
        raise ValueError("the dilated kernel is larger than the padded input")
    return (n, c_out, h_out, w_out)
    ### END SOLUTION


def conv2d_naive(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
) -> np.ndarray:
    """Cross-correlation with explicit loops over every output number (n, o, i, j).

    x: (N, C_in, H, W); w: (C_out, C_in, kH, kW); b: (C_out,); stride, padding, dilation:
    pairs (for H, for W). Returns out of shape (N, C_out, H_out, W_out), out[n, o, i, j] =
    (window * w[o]).sum() + b[o]. No matrix product, einsum, tensordot, window view or
    library convolution inside: loops and elementwise products only.
    """
    ### BEGIN SOLUTION
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    shape = conv2d_output_shape(x.shape, w.shape, stride, padding, dilation)
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros(shape, dtype=np.result_type(x, w))
    for n in range(shape[0]):
        for o in range(shape[1]):
            for i in range(shape[2]):
                for j in range(shape[3]):
                    rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
                    cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
                    out[n, o, i, j] = (xp[n, :, rows, cols] * w[o]).sum() + b[o]
    return out
    ### END SOLUTION


def conv2d(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
) -> np.ndarray:
    """The same cross-correlation as conv2d_naive, vectorised (im2col or stride tricks).

    x: (N, C_in, H, W); w: (C_out, C_in, kH, kW); b: (C_out,); stride, padding, dilation:
    pairs (for H, for W). Returns (N, C_out, H_out, W_out). No Python loop over output
    positions (a loop over the kH kW kernel taps is fine), and do not call conv2d_naive.
    """
    ### BEGIN SOLUTION
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    # every dilated patch, then every stride-th position and every dilation-th tap:
    # (N, C_in, H_out, W_out, kH, kW), a view (no copy yet)
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    windows = np.lib.stride_tricks.sliding_window_view(xp, span, axis=(2, 3))
    windows = windows[:, :, ::sh, ::sw, ::dh, ::dw]
    # sum over (C_in, kH, kW): tensordot copies the windows into an im2col matrix
    out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3]))  # (N, H_out, W_out, C_out)
    return out.transpose(0, 3, 1, 2) + b[:, None, None]
    ### END SOLUTION


def conv2d_backward(
    dout: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of conv2d: (dx, dw, db), in this order.

    dout: (N, C_out, H_out, W_out), dL/dout; x: (N, C_in, H, W) and w: (C_out, C_in, kH, kW),
    the forward's inputs; stride, padding, dilation: the forward's pairs (for H, for W).
    (b is not an input: no gradient depends on its value.) Returns dx (N, C_in, H, W),
    dw (C_out, C_in, kH, kW), db (C_out,). Any style (loops or vectorised) is accepted.
    """
    ### BEGIN SOLUTION
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    kh, kw = w.shape[2:]
    h, wd = x.shape[2:]
    h_out, w_out = dout.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    windows = np.lib.stride_tricks.sliding_window_view(xp, span, axis=(2, 3))
    windows = windows[:, :, ::sh, ::sw, ::dh, ::dw]  # (N, C_in, H_out, W_out, kH, kW)
    db = dout.sum(axis=(0, 2, 3))
    dw_ = np.tensordot(dout, windows, axes=([0, 2, 3], [0, 2, 3]))  # (C_out, C_in, kH, kW)
    dcols = np.tensordot(dout, w, axes=([1], [0]))  # (N, H_out, W_out, C_in, kH, kW)
    dxp = np.zeros(xp.shape, dtype=dcols.dtype)
    for p in range(kh):  # scatter each kernel tap back; += because windows overlap
        for q in range(kw):
            rows = slice(p * dh, p * dh + sh * (h_out - 1) + 1, sh)
            cols = slice(q * dw, q * dw + sw * (w_out - 1) + 1, sw)
            dxp[:, :, rows, cols] += dcols[:, :, :, :, p, q].transpose(0, 3, 1, 2)
    return dxp[:, :, ph : ph + h, pw : pw + wd], dw_, db
    ### END SOLUTION
