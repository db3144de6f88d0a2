"""# CNN architecture: pooling, flatten, LeNet-5, and a small CNN trained from scratch

A convolutional network stacks **convolutions** (local filters shared over the image),
**nonlinearities**, and **pooling** (downsampling), then **flattens** the last feature maps
into a vector for dense layers. Every array is **NCHW**: `(N, C, H, W)` = (batch, channels,
height, width), as in PyTorch. Never modify an input in place.

## Given (not graded): convolution and cross-entropy

`conv2d_forward` / `conv2d_backward` (im2col through a strided view, stride and zero
padding; weights `(C_out, C_in, kH, kW)`, cross-correlation as every framework computes
it), `softmax_cross_entropy` and the small CNN's initialisation `init_cnn` are given below,
so you can focus on what is new. The `convolution` topic is where you write your own.

## Pooling: window `k`, stride `s`

Each channel of each sample is pooled on its own. Windows start at `0, s, 2s, ...` and
must fit inside the input (no padding, the last incomplete window is dropped):

    H_out = (H - k) // s + 1        W_out = (W - k) // s + 1
    max:     out[n, c, i, j] = max  of x[n, c, i*s : i*s + k, j*s : j*s + k]
    average: out[n, c, i, j] = mean of the same window (k*k values)

Backward, `dout` of shape `(N, C, H_out, W_out)`, `dx` of `x`'s shape:
- average: every position of window (i, j) receives `dout[n, c, i, j] / (k*k)`;
- max: only the window's maximum receives `dout[n, c, i, j]`; the others get 0.

With `s < k` windows **overlap**: one input position belongs to several windows and
collects the gradient of each of them, so the gradient is **accumulated** (`+=`), never
assigned. Max pooling is not differentiable where a window holds two equal maxima; this
exercise routes the gradient to the **first maximum in row-major order** (the smallest row,
then the smallest column), exactly what PyTorch's CPU `max_pool2d` and `np.argmax` do.
(Splitting it among the tied maxima is another valid subgradient; the grader names it.)

## Flatten

`(N, C, H, W) -> (N, C*H*W)` in C order: feature `c*H*W + h*W + w`, like
`torch.flatten(x, 1)` (channel-major, not the channels-last order of NHWC frameworks).
Its backward reshapes `dout` back to `x`'s shape.

## LeNet-5 (LeCun et al. 1998), simplified as most textbooks show it

Input `(N, C_in, 32, 32)` (C_in = 1 for the paper's digits), tanh after every layer but
the last, average pooling 2x2 stride 2 for the paper's subsampling (no trainable
coefficient), every C3 map connected to every S2 map, a linear output (no RBF units):

    C1 conv 6@5x5  -> (N, 6, 28, 28), tanh     S2 avg pool 2/2 -> (N, 6, 14, 14)
    C3 conv 16@5x5 -> (N, 16, 10, 10), tanh    S4 avg pool 2/2 -> (N, 16, 5, 5)
    flatten        -> (N, 400)
    C5 dense       -> (N, 120), tanh           F6 dense -> (N, 84), tanh
    output dense   -> (N, 10) logits

`params = {"W1": (6, C_in, 5, 5), "b1": (6,), "W2": (16, 6, 5, 5), "b2": (16,),
"W3": (400, 120), "b3": (120,), "W4": (120, 84), "b4": (84,), "W5": (84, 10), "b5": (10,)}`;
convolutions have stride 1 and no padding; a dense layer is `h @ W + b` with `W` of shape
`(D_in, D_out)`, as in Phase 2.

## A small CNN on 8x8 digits

    conv F@3x3, stride 1, padding 1 -> (N, F, H, W), ReLU -> max pool 2/2 -> (N, F, H/2, W/2)
    -> flatten (N, F*H/2*W/2) -> dense (D, C) -> logits -> mean softmax cross-entropy

`params = {"W1": (F, C_in, 3, 3), "b1": (F,), "W2": (F*(H//2)*(W//2), C), "b2": (C,)}`.
Backward: the cross-entropy gradient, the dense layer, flatten, max pool, ReLU (derivative 0
at 0), then `conv2d_backward`. `train_cnn` runs minibatch SGD with these gradients from the
given He initialisation `init_cnn`.

Read: LeCun, Bottou, Bengio & Haffner (1998), "Gradient-based learning applied to document
recognition"; Goodfellow, Bengio & Courville, *Deep Learning*, chapter 9; the CS231n notes
"Convolutional Neural Networks".
"""

import numpy as np


def conv2d_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1, padding: int = 0
) -> np.ndarray:
    """Given. Cross-correlation: x (N, C_in, H, W), w (C_out, C_in, kH, kW), b (C_out,).

    Zero padding `padding` on every side, the same `stride` along H and W.
    Returns (N, C_out, H_out, W_out), H_out = (H + 2 padding - kH) // stride + 1.
    """
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    kh, kw = w.shape[2:]
    # im2col without copying: every (kH, kW) window of every channel, at the stride
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]  # (N, C_in, H_out, W_out, kH, kW)
    out = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3]))  # (N, H_out, W_out, C_out)
    return out.transpose(0, 3, 1, 2) + b[None, :, None, None]


def conv2d_backward(
    dout: np.ndarray, x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Given. Gradients of conv2d_forward: dout (N, C_out, H_out, W_out).

    Returns (dx, dw, db) shaped like x, w and b.
    """
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    kh, kw = w.shape[2:]
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]
    ho, wo = dout.shape[2:]
    dw = np.tensordot(dout, win, axes=([0, 2, 3], [0, 2, 3]))  # (C_out, C_in, kH, kW)
    db = dout.sum(axis=(0, 2, 3))
    cols = np.tensordot(dout, w, axes=([1], [0]))  # (N, H_out, W_out, C_in, kH, kW)
    cols = cols.transpose(0, 3, 4, 5, 1, 2)  # (N, C_in, kH, kW, H_out, W_out)
    dxp = np.zeros(xp.shape, dtype=np.result_type(dout, x, w))
    for i in range(kh):  # col2im: each kernel offset adds back into one strided slice of x
        for j in range(kw):
            rows, columns = slice(i, i + stride * ho, stride), slice(j, j + stride * wo, stride)
            dxp[:, :, rows, columns] += cols[:, :, i, j]
    h, wd = x.shape[2:]
    return dxp[:, :, padding : padding + h, padding : padding + wd], dw, db


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Given (the backprop topic). Mean cross-entropy of logits (N, C) with labels y (N,).

    Returns (loss, dlogits) with dlogits = (softmax(logits) - onehot(y)) / N, shape (N, C).
    """
    n = logits.shape[0]
    rows, y = np.arange(n), np.asarray(y).astype(np.int64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dlogits = np.exp(log_p)
    dlogits[rows, y] -= 1
    return float(-log_p[rows, y].mean()), dlogits / n


def maxpool_forward(x: np.ndarray, pool: int = 2, stride: int = 2) -> np.ndarray:
    """Max pooling over pool x pool windows at `stride`, per sample and per channel.

    x: (N, C, H, W). Returns (N, C, (H - pool) // stride + 1, (W - pool) // stride + 1),
    in x's dtype: out[n, c, i, j] = max of x[n, c, i*stride : i*stride + pool, j*stride : ...].
    """
    # YOUR CODE HERE
    raise NotImplementedError("cnn-architecture: implement maxpool_forward")


def maxpool_backward(dout: np.ndarray, x: np.ndarray, pool: int = 2, stride: int = 2) -> np.ndarray:
    """Gradient of maxpool_forward with respect to x.

    dout: (N, C, H_out, W_out), dL/d(output); x: (N, C, H, W), the forward's input.
    Returns dx of x's shape: each dout[n, c, i, j] goes to the first maximum (row-major)
    of its window; windows overlap when stride < pool, and their gradients add up.
    """
    # YOUR CODE HERE
    raise NotImplementedError("cnn-architecture: implement maxpool_backward")


def avgpool_forward(x: np.ndarray, pool: int = 2, stride: int = 2) -> np.ndarray:
    """Average pooling over pool x pool windows at `stride`, per sample and per channel.

    x: (N, C, H, W). Returns (N, C, (H - pool) // stride + 1, (W - pool) // stride + 1):
    out[n, c, i, j] = mean of the pool * pool values of window (i, j).
    """
    # YOUR CODE HERE
    raise NotImplementedError("cnn-architecture: implement avgpool_forward")


def avgpool_backward(dout: np.ndarray, x: np.ndarray, pool: int = 2, stride: int = 2) -> np.ndarray:
    """Gradient of avgpool_forward with respect to x.

    dout: (N, C, H_out, W_out); x: (N, C, H, W), the forward's input (only its shape matters).
    Returns dx of x's shape: every position of window (i, j) receives dout[n, c, i, j] / pool**2,
    summed over the windows that contain it.
    """
    # YOUR CODE HERE
    raise NotImplementedError("cnn-architecture: implement avgpool_backward")


def flatten_forward(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> (N, C*H*W), feature index c*H*W + h*W + w (torch.flatten(x, 1))."""
    # YOUR CODE HERE
    raise NotImplementedError("cnn-architecture: implement flatten_forward")


def flatten_backward(dout: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Gradient of flatten_forward: dout (N, C*H*W) back to x's shape (N, C, H, W)."""
    # YOUR CODE HERE
    raise NotImplementedError("cnn-architecture: implement flatten_backward")


def lenet5_forward(x: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    """Logits of LeNet-5 as the lesson gives it (tanh, average pooling, linear output).

    x: (N, C_in, 32, 32); params: "W1" (6, C_in, 5, 5), "b1" (6,), "W2" (16, 6, 5, 5),
    "b2" (16,), "W3" (400, 120), "b3" (120,), "W4" (120, 84), "b4" (84,), "W5" (84, 10),
    "b5" (10,). Returns (N, 10). Use conv2d_forward, your avgpool_forward and flatten_forward.
    """
    # YOUR CODE HERE
    raise NotImplementedError("cnn-architecture: implement lenet5_forward")


def cnn_loss(
    X: np.ndarray, y: np.ndarray, params: dict[str, np.ndarray]
) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and gradients of the small CNN: conv 3x3 pad 1 -> ReLU -> max pool 2/2 -> flatten -> dense.

    X: (N, C_in, H, W) with H and W even; y: (N,) integer labels in 0..C-1;
    params: "W1" (F, C_in, 3, 3), "b1" (F,), "W2" (F*(H//2)*(W//2), C), "b2" (C,).
    Returns (loss, grads): the mean softmax cross-entropy, a number, and
    {"W1": ..., "b1": ..., "W2": ..., "b2": ...}, each of its parameter's shape.
    The ReLU's derivative is 0 at z == 0 (as in PyTorch), and z == 0 exactly does happen:
    a zero-padded patch of blank background under a zero bias. Do not modify params.
    """
    # YOUR CODE HERE
    raise NotImplementedError("cnn-architecture: implement cnn_loss")


def init_cnn(
    rng: np.random.Generator, image_shape: tuple[int, int, int], n_filters: int, n_classes: int
) -> dict[str, np.ndarray]:
    """Given. He-initialised parameters of the small CNN for images (C_in, H, W), biases 0.

    W1 ~ normal(0, sqrt(2 / (C_in * 9))) of shape (n_filters, C_in, 3, 3);
    W2 ~ normal(0, sqrt(2 / D)) of shape (D, n_classes), D = n_filters * (H // 2) * (W // 2).
    """
    c_in, h, w = image_shape
    d = n_filters * (h // 2) * (w // 2)
    return {
        "W1": rng.normal(0, np.sqrt(2 / (c_in * 9)), size=(n_filters, c_in, 3, 3)),
        "b1": np.zeros(n_filters),
        "W2": rng.normal(0, np.sqrt(2 / d), size=(d, n_classes)),
        "b2": np.zeros(n_classes),
    }


def train_cnn(
    X: np.ndarray,
    y: np.ndarray,
    n_filters: int = 8,
    epochs: int = 5,
    lr: float = 0.1,
    batch_size: int = 32,
    seed: int = 0,
) -> tuple[dict[str, np.ndarray], list[float]]:
    """Train the small CNN of cnn_loss from scratch with minibatch SGD.

    X: (N, C_in, H, W) images, H and W even; y: (N,) labels in 0..C-1 (C = y.max() + 1).
    With rng = np.random.default_rng(seed), start from the given init_cnn(rng, ...). Each
    epoch visits every sample once in a new random order (rng.permutation), in batches of
    batch_size (the last may be smaller), with params <- params - lr * grads after each batch.
    Returns (params, losses): the trained params (keys as cnn_loss) and the mean batch loss
    of each epoch, a list of `epochs` numbers.
    """
    # YOUR CODE HERE
    raise NotImplementedError("cnn-architecture: implement train_cnn")
