"""A correct convolution in another style: explicit im2col matrix, per-position backward.

conv2d_output_shape uses math.floor on a true division; conv2d_naive sums the products one
tap at a time in pure Python; conv2d builds the im2col matrix (N H_out W_out, C_in kH kW)
with one strided slice per kernel tap and does a single matrix product; conv2d_backward
loops over output positions and scatters each one's gradient (CS231n style), in float32
when the inputs are float32.
"""

import math

import numpy as np


def conv2d_output_shape(x_shape, w_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    if x_shape[1] != w_shape[1]:
        raise ValueError("channel mismatch")
    sizes = []
    for axis in range(2):
        size, k = x_shape[2 + axis], w_shape[2 + axis]
        span = dilation[axis] * (k - 1) + 1
        out = math.floor((size + 2 * padding[axis] - span) / stride[axis]) + 1
        if out < 1:
            raise ValueError("kernel larger than the padded input")
        sizes.append(out)
    return (x_shape[0], w_shape[0], sizes[0], sizes[1])


def _padded(x, padding):
    ph, pw = padding
    n, c, h, w = x.shape
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    xp[:, :, ph : ph + h, pw : pw + w] = x
    return xp


def conv2d_naive(x, w, b, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    n_, c_out, h_out, w_out = conv2d_output_shape(x.shape, w.shape, stride, padding, dilation)
    xp = _padded(x, padding)
    c_in, kh, kw = w.shape[1:]
    out = np.empty((n_, c_out, h_out, w_out), dtype=np.result_type(x, w))
    for n in range(n_):
        for o in range(c_out):
            for i in range(h_out):
                for j in range(w_out):
                    total = b[o]
                    for c in range(c_in):
                        for p in range(kh):
                            for q in range(kw):
                                r = i * stride[0] + p * dilation[0]
                                s = j * stride[1] + q * dilation[1]
                                total += xp[n, c, r, s] * w[o, c, p, q]
                    out[n, o, i, j] = total
    return out


def _im2col(xp, kh, kw, h_out, w_out, stride, dilation):
    """(N * H_out * W_out, C * kH * kW), columns ordered (c, p, q) like w.reshape(C_out, -1)."""
    n, c = xp.shape[:2]
    cols = np.empty((n, c, kh, kw, h_out, w_out), dtype=xp.dtype)
    for p in range(kh):
        for q in range(kw):
            r0, s0 = p * dilation[0], q * dilation[1]
            cols[:, :, p, q] = xp[
                :, :,
                r0 : r0 + stride[0] * (h_out - 1) + 1 : stride[0],
                s0 : s0 + stride[1] * (w_out - 1) + 1 : stride[1],
            ]  # fmt: skip
    return cols.transpose(0, 4, 5, 1, 2, 3).reshape(n * h_out * w_out, -1)


def conv2d(x, w, b, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    n, c_out, h_out, w_out = conv2d_output_shape(x.shape, w.shape, stride, padding, dilation)
    cols = _im2col(_padded(x, padding), w.shape[2], w.shape[3], h_out, w_out, stride, dilation)
    out = cols @ w.reshape(c_out, -1).T + b  # (N H_out W_out, C_out)
    return out.reshape(n, h_out, w_out, c_out).transpose(0, 3, 1, 2)


def conv2d_backward(dout, x, w, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    xp = _padded(x, padding)
    dxp = np.zeros_like(xp, dtype=np.result_type(dout, x, w))
    dw = np.zeros_like(w, dtype=dxp.dtype)
    kh, kw = w.shape[2:]
    n_, c_out, h_out, w_out = dout.shape
    for n in range(n_):
        for i in range(h_out):
            for j in range(w_out):
                r = slice(i * stride[0], i * stride[0] + dilation[0] * (kh - 1) + 1, dilation[0])
                s = slice(j * stride[1], j * stride[1] + dilation[1] * (kw - 1) + 1, dilation[1])
                g = dout[n, :, i, j]  # (C_out,)
                dw += g[:, None, None, None] * xp[n, :, r, s][None]
                dxp[n, :, r, s] += np.tensordot(g, w, axes=1)
    ph, pw = padding
    h, wd = x.shape[2:]
    return dxp[:, :, ph : ph + h, pw : pw + wd], dw, dout.sum(axis=(0, 2, 3))
