"""A correct modern-cnn in another style: explicit loops, an explicit stack in place of
recursion, float32 arithmetic in the blocks for float32 questions, and other (equal) formulas
for the counts.

count_parameters flattens the nested blocks with a work list; output_shape and count_macs
walk the layers with per-type small functions; the residual and dense blocks compute
pixel by pixel; the depthwise conv loops over output positions; compound scaling
uses exp(phi log a); round_repeats uses integer ceiling division on a Fraction.
"""

import math
from fractions import Fraction

import numpy as np


def pointwise_conv(x, w, b=None):
    out = np.einsum("oc,nchw->nohw", w[:, :, 0, 0], x)
    return out if b is None else out + b[None, :, None, None]


def pointwise_conv_backward(dout, x, w):
    dx = np.einsum("oc,nohw->nchw", w[:, :, 0, 0], dout)
    dw = np.einsum("nohw,nchw->oc", dout, x)[:, :, None, None]
    return dx, dw, dout.sum(axis=(0, 2, 3))


def conv2d_params(c_in, c_out, kh, kw, groups=1, bias=True):
    per_group = (c_out // groups) * (c_in // groups) * kh * kw  # each group is its own conv
    return groups * per_group + int(bool(bias)) * c_out


def conv2d_macs(c_in, c_out, kh, kw, h_out, w_out, groups=1):
    return conv2d_params(c_in, c_out, kh, kw, groups, bias=False) * h_out * w_out


def linear_params(d_in, d_out, bias=True):
    return (d_in + (1 if bias else 0)) * d_out


def batchnorm_params(channels):
    return channels + channels  # gamma, beta


def count_parameters(layers):
    todo, total = list(layers), 0
    while todo:
        layer = todo.pop()
        t = layer["type"]
        if t == "conv":
            total += conv2d_params(layer["in"], layer["out"], layer["kernel"], layer["kernel"],
                                   layer.get("groups", 1), layer.get("bias", True))  # fmt: skip
        elif t == "linear":
            total += linear_params(layer["in"], layer["out"], layer.get("bias", True))
        elif t == "batchnorm":
            total += batchnorm_params(layer["channels"])
        elif t in ("residual", "scale"):
            todo += layer["body"] + layer.get("shortcut", [])
    return total


def _spatial(size, k, s, p):
    return math.floor((size + 2 * p - k) / s) + 1


def output_shape(layers, input_shape):
    shape = list(input_shape)
    for layer in layers:
        t = layer["type"]
        if t == "conv":
            s, p, k = layer.get("stride", 1), layer.get("padding", 0), layer["kernel"]
            shape = [layer["out"], _spatial(shape[1], k, s, p), _spatial(shape[2], k, s, p)]
        elif t in ("maxpool", "avgpool"):
            k = layer["kernel"]
            s, p = layer.get("stride", k), layer.get("padding", 0)
            shape = [shape[0], _spatial(shape[1], k, s, p), _spatial(shape[2], k, s, p)]
        elif t == "adaptive_avgpool":
            shape = [shape[0], layer["output"][0], layer["output"][1]]
        elif t == "flatten":
            shape = [int(np.prod(shape))]
        elif t == "linear":
            shape = [layer["out"]]
        elif t == "residual":
            shape = list(output_shape(layer["body"], tuple(shape)))
    return tuple(shape)


def count_macs(layers, input_shape):
    total, shape = 0, tuple(input_shape)
    for layer in layers:
        t = layer["type"]
        nxt = output_shape([layer], shape)
        if t == "conv":
            total += conv2d_macs(layer["in"], layer["out"], layer["kernel"], layer["kernel"],
                                 nxt[1], nxt[2], layer.get("groups", 1))  # fmt: skip
        elif t == "linear":
            total += layer["in"] * layer["out"]
        elif t in ("residual", "scale"):
            for branch in (layer["body"], layer.get("shortcut", [])):
                total += count_macs(branch, shape)
        shape = nxt
    return total


def _conv1x1_loops(x, w, b=None):
    # float32 arithmetic when the question is float32, float64 otherwise
    dt = np.result_type(x, np.float32)
    n, _, h, wd = x.shape
    w2 = w[:, :, 0, 0].astype(dt)
    out = np.zeros((n, w.shape[0], h, wd), dtype=dt)
    for i in range(h):
        for j in range(wd):
            out[:, :, i, j] = x[:, :, i, j].astype(dt) @ w2.T
    return out if b is None else out + b.astype(dt)[None, :, None, None]


def residual_block_forward(x, params):
    h = np.maximum(_conv1x1_loops(x, params["w1"], params["b1"]), 0)
    z2 = _conv1x1_loops(h, params["w2"], params["b2"])
    s = _conv1x1_loops(x, params["ws"]) if "ws" in params else x
    return np.maximum(z2 + s, 0)


def residual_block_backward(dout, x, params):
    x64 = x.astype(np.float64)
    p = {k: v.astype(np.float64) for k, v in params.items()}
    z1 = pointwise_conv(x64, p["w1"], p["b1"])
    z2 = pointwise_conv(np.maximum(z1, 0), p["w2"], p["b2"])
    s = pointwise_conv(x64, p["ws"]) if "ws" in p else x64
    dz = np.where(z2 + s > 0, dout, 0.0)
    dh, dw2, db2 = pointwise_conv_backward(dz, np.maximum(z1, 0), p["w2"])
    dz1 = np.where(z1 > 0, dh, 0.0)
    dx, dw1, db1 = pointwise_conv_backward(dz1, x64, p["w1"])
    grads = {"w1": dw1, "b1": db1, "w2": dw2, "b2": db2}
    if "ws" in p:
        dxs, grads["ws"], _ = pointwise_conv_backward(dz, x64, p["ws"])
        dx = dx + dxs
    else:
        dx = dx + dz
    grads["x"] = dx
    return {k: v.astype(x.dtype) for k, v in grads.items()}


def dense_block_forward(x, weights, biases):
    n, c0, h, w = x.shape
    k = weights[0].shape[0] if weights else 0
    out = np.zeros((n, c0 + len(weights) * k, h, w), dtype=np.result_type(x, np.float32))
    out[:, :c0] = x
    for layer, (wl, bl) in enumerate(zip(weights, biases)):
        c = c0 + layer * k
        out[:, c : c + k] = _conv1x1_loops(np.maximum(out[:, :c], 0), wl, bl)
    return out


def depthwise_conv2d(x, w, stride=1, padding=0):
    n, c, h, wd = x.shape
    kh, kw = w.shape[2], w.shape[3]
    xp = np.zeros((n, c, h + 2 * padding, wd + 2 * padding), dtype=np.float64)
    xp[:, :, padding : padding + h, padding : padding + wd] = x
    h_out, w_out = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    out = np.zeros((n, c, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            window = xp[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[:, :, i, j] = (window * w[None, :, 0]).sum(axis=(2, 3))
    return out


def depthwise_separable_conv(x, w_depthwise, w_pointwise, stride=1, padding=0):
    return _conv1x1_loops(depthwise_conv2d(x, w_depthwise, stride, padding), w_pointwise)


def compound_scaling(phi, alpha=1.2, beta=1.1, gamma=1.15):
    return tuple(math.exp(phi * math.log(c)) for c in (alpha, beta, gamma))


def round_filters(channels, width_mult, divisor=8):
    scaled = channels * width_mult
    v = divisor * int((scaled + divisor / 2) // divisor)
    v = max(v, divisor)
    if v < 0.9 * scaled:
        v += divisor
    return int(v)


def round_repeats(repeats, depth_mult):
    product = Fraction(repeats) * Fraction(depth_mult)  # the float's exact value
    return -(-product.numerator // product.denominator)
