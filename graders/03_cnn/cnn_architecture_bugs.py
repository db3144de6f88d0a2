"""Known bugs of cnn-architecture: mistakes learners make in pooling, flatten, LeNet-5 and a CNN.

Pooling backwards are the CS231n assignment-2 functions (`max_pool_backward_naive`) people
most often ask for help with; the bugs below are the ones those threads and the d2l forum
show. A bug in a layer also breaks cnn_loss and train_cnn when the reference's CNN (as a
learner's) is built from that layer, on the inputs where the layer is wrong.
"""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

MAXPOOL_BACKWARD = reference_function(__file__, "maxpool_backward")
AVGPOOL_BACKWARD = reference_function(__file__, "avgpool_backward")
FLATTEN_FORWARD = reference_function(__file__, "flatten_forward")
FLATTEN_BACKWARD = reference_function(__file__, "flatten_backward")
LENET5_FORWARD = reference_function(__file__, "lenet5_forward")
CNN_LOSS = reference_function(__file__, "cnn_loss")
TRAIN_CNN = reference_function(__file__, "train_cnn")


def loop_pool(name: str, reduce: str, size: str) -> str:
    """A loop over output positions, `size` the output height and width it believes in."""
    return f"""
def {name}(x, pool=2, stride=2):
    n, c, h, w = x.shape
    ho, wo = {size}
    out = np.zeros((n, c, ho, wo), dtype=x.dtype)
    for i in range(ho):
        for j in range(wo):
            window = x[:, :, i * stride : i * stride + pool, j * stride : j * stride + pool]
            out[:, :, i, j] = {reduce}
    return out
"""


def mask_backward(mask: str) -> str:
    """The mask formulation of max pooling's backward: dout times a 0/1 (or weight) mask per window."""
    return f"""
def maxpool_backward(dout, x, pool=2, stride=2):
    dx = np.zeros(x.shape, dtype=np.result_type(dout, x))
    ho, wo = dout.shape[2:]
    for i in range(ho):
        for j in range(wo):
            window = x[:, :, i * stride : i * stride + pool, j * stride : j * stride + pool]
            mask = {mask}
            dx[:, :, i * stride : i * stride + pool, j * stride : j * stride + pool] += (
                mask * dout[:, :, i, j][:, :, None, None]
            )
    return dx
"""


BUGS = [
    KnownBug(
        # Output size H // stride, the formula for non-overlapping windows on divisible sizes;
        # with a 6-wide input, pool 3 and stride 2 it makes a third, truncated window
        # (CS231n forum threads on pooling output sizes; d2l chapter 7.5 discussion).
        name="maxpool-output-size-h-over-stride",
        function="maxpool_forward",
        hint="H_out = (H - pool) // stride + 1: the last window must fit inside x; H // stride counts "
        "windows that run past the edge",
        code=loop_pool("maxpool_forward", "window.max(axis=(2, 3))", "h // stride, w // stride"),
    ),
    KnownBug(
        # The same output-size slip in average pooling.
        name="avgpool-output-size-h-over-stride",
        function="avgpool_forward",
        hint="H_out = (H - pool) // stride + 1: the last window must fit inside x; H // stride counts "
        "windows that run past the edge",
        code=loop_pool("avgpool_forward", "window.mean(axis=(2, 3))", "h // stride, w // stride"),
    ),
    KnownBug(
        # A running maximum started at 0 (out = np.zeros(...); out = max(out, value)): right
        # after a ReLU, wrong for any window of negative values (Stack Overflow "max pooling
        # returns zeros" questions on from-scratch CNNs).
        name="maxpool-max-starts-at-zero",
        function="maxpool_forward",
        hint="start the running maximum at the window's first value (or -inf), not at 0: a window of "
        "negative numbers has a negative maximum",
        code=loop_pool(
            "maxpool_forward",
            "np.maximum(window.max(axis=(2, 3)), 0)",
            "(h - pool) // stride + 1, (w - pool) // stride + 1",
        ),
    ),
    KnownBug(
        # dx[window] = ... instead of +=: right while windows do not overlap (the CS231n
        # default 2x2 stride 2), wrong as soon as stride < pool (a recurring CS231n question).
        name="maxpool-backward-assigns",
        function="maxpool_backward",
        hint="with stride < pool windows overlap: accumulate each window's gradient (+= or np.add.at), "
        "assignment keeps only the last window's",
        code=edited(MAXPOOL_BACKWARD, ("np.add.at(dx, index, dout)", "dx[index] = dout")),
    ),
    KnownBug(
        # window.max() without axis=(2, 3): one maximum for the whole (N, C) block of windows,
        # so only one sample and channel gets each window's gradient (CS231n vectorised attempts).
        name="maxpool-backward-max-over-batch",
        function="maxpool_backward",
        hint="take each window's maximum per sample and per channel: window.max(axis=(2, 3), keepdims=True); "
        "window.max() is one number for the whole batch",
        code=mask_backward("window == window.max()"),
        fails=("maxpool_backward", "cnn_loss"),
    ),
    KnownBug(
        # The mask formulation (window == max) gives the whole gradient to every tied maximum,
        # so a window with two maxima passes dout on twice (CS231n max_pool_backward threads).
        name="maxpool-backward-ties-all-get-gradient",
        function="maxpool_backward",
        hint="with equal maxima, window == max marks all of them, and each gets the whole dout (counted "
        "twice); route it to the first maximum only (np.argmax of the flattened window)",
        code=mask_backward("window == window.max(axis=(2, 3), keepdims=True)"),
    ),
    KnownBug(
        # Splitting dout evenly among tied maxima: a valid subgradient, another convention.
        name="maxpool-backward-ties-split",
        kind="convention",
        function="maxpool_backward",
        hint="this splits dout among tied maxima, a valid subgradient convention; this exercise (like "
        "PyTorch's CPU max_pool2d) gives the whole dout to the first maximum in row-major order",
        code=mask_backward(
            "(window == window.max(axis=(2, 3), keepdims=True)) / "
            "(window == window.max(axis=(2, 3), keepdims=True)).sum(axis=(2, 3), keepdims=True)"
        ),
    ),
    KnownBug(
        # dout copied to every position of the window without the 1/k^2 of the mean
        # (CS231n and d2l forum questions on average-pooling backward).
        name="avgpool-grad-not-divided",
        function="avgpool_backward",
        hint="the output is the mean of pool**2 values, so each receives dout / pool**2",
        code=edited(AVGPOOL_BACKWARD, ("share = dout / (pool * pool)", "share = dout")),
    ),
    KnownBug(
        # dx[window] = dout / k^2: right without overlap, loses gradients when stride < pool.
        name="avgpool-backward-assigns",
        function="avgpool_backward",
        hint="with stride < pool windows overlap: add each window's share (+=), assignment keeps only the "
        "last window's",
        code=edited(AVGPOOL_BACKWARD, ("] += share", "] = share")),
    ),
    KnownBug(
        # Channels-last flattening, as Keras (NHWC) does it, ported into an NCHW network.
        name="flatten-channels-last",
        function="flatten_forward",
        hint="this is the channels-last (NHWC, Keras) order; with NCHW, torch.flatten(x, 1) keeps "
        "(C, H, W) order: x.reshape(N, -1)",
        code=edited(
            FLATTEN_FORWARD,
            ("x.reshape(x.shape[0], -1)", "x.transpose(0, 2, 3, 1).reshape(x.shape[0], -1)"),
        ),
        fails=("flatten_forward", "lenet5_forward", "cnn_loss", "train_cnn"),
    ),
    KnownBug(
        # The backward of a channels-last flatten: reshape to (N, H, W, C), then move C forward.
        name="unflatten-channels-last",
        function="flatten_backward",
        hint="this undoes a channels-last (NHWC) flatten; the forward keeps NCHW order, so dout.reshape(x.shape)",
        code=edited(
            FLATTEN_BACKWARD,
            (
                "dout.reshape(x.shape)",
                "dout.reshape(x.shape[0], x.shape[2], x.shape[3], x.shape[1]).transpose(0, 3, 1, 2)",
            ),
        ),  # fmt: skip
        fails=("flatten_backward", "cnn_loss"),
    ),
    KnownBug(
        # The hidden-layer nonlinearity applied to the output layer too.
        name="lenet5-tanh-on-logits",
        function="lenet5_forward",
        hint="the output layer is linear: logits = h @ W5 + b5, no tanh (the loss applies the softmax)",
        code=edited(
            LENET5_FORWARD,
            (
                'return h @ params["W5"] + params["b5"]',
                'return np.tanh(h @ params["W5"] + params["b5"])',
            ),
        ),
    ),
    KnownBug(
        # The modern LeNet (ReLU, max pooling) most tutorials train today.
        name="lenet5-relu-maxpool",
        kind="convention",
        function="lenet5_forward",
        hint="this is the modern LeNet variant (ReLU, max pooling); this exercise follows the 1998 paper: "
        "tanh, and average pooling for its subsampling layers",
        code=LENET5_FORWARD.replace("np.tanh(", "np.maximum(0, ").replace(
            "avgpool_forward", "maxpool_forward"
        ),
    ),
    KnownBug(
        # The ReLU between the convolution and the pooling forgotten on the way back.
        name="cnn-relu-backward-missing",
        function="cnn_loss",
        hint="between max pooling and the convolution sits a ReLU: multiply by (z > 0) before conv2d_backward",
        code=edited(CNN_LOSS, (" * (z > 0)", "")),
        fails=("cnn_loss",),
    ),
    KnownBug(
        # (z >= 0) for ReLU's derivative: a valid subgradient at 0 that from-scratch code
        # writes as often as (z > 0) (pytorch/tutorials PR 269, uptake/numpynet PR 35,
        # trusthlt/nlp-with-deep-learning-lectures PR 4). It differs only where z == 0
        # exactly: a zero-padded blank background under a zero bias, as training starts.
        name="relu-derivative-one-at-zero",
        kind="convention",
        function="cnn_loss",
        hint="(z >= 0) takes ReLU's derivative at 0 to be 1, also a valid subgradient; this exercise "
        "takes 0, as PyTorch does, so that an input that never reached above 0 gets no gradient: "
        "use (z > 0)",
        code=edited(CNN_LOSS, (" * (z > 0)", " * (z >= 0)")),
    ),
    KnownBug(
        # The batch loop started at 1 (`range(1, n, batch_size)`): the first example of each
        # shuffled epoch is never trained on, a 1-based habit (wichtounet/frameworks issue 4:
        # an index started at 1 trained on 127 of every 128 images).
        name="train-cnn-batches-skip-first-example",
        function="train_cnn",
        hint="for start in range(0, n, batch_size): Python indexes from 0, and every example "
        "belongs to one batch of each epoch",
        code=edited(TRAIN_CNN, ("range(0, n, batch_size)", "range(1, n, batch_size)")),
    ),
    KnownBug(
        # All-zero initial weights: every filter and unit stays identical (and here, with ReLU
        # and zero biases, no gradient reaches W1 or W2 at all); a classic (CS231n notes).
        name="train-cnn-zero-init",
        function="train_cnn",
        hint="start from random weights (the given init_cnn: He, normal with std sqrt(2 / fan_in)); "
        "all-zero weights never break the symmetry between filters",
        code=edited(
            TRAIN_CNN,
            (
                "params = init_cnn(rng, X.shape[1:], n_filters, int(np.max(y)) + 1)",
                "params = {k: np.zeros_like(v) for k, v in "
                "init_cnn(rng, X.shape[1:], n_filters, int(np.max(y)) + 1).items()}",
            ),
        ),
    ),
]

EQUIVALENT = {
    "cnn_loss/swap-args/swap first two arguments#1": "np.maximum(0, z) is np.maximum(z, 0): "
    "an elementwise maximum is symmetric",
    "maxpool_backward/swap-args/swap first two arguments#2": "np.result_type is symmetric: "
    "the same dtype for dx",
    "avgpool_backward/swap-args/swap first two arguments#0": "np.result_type is symmetric: "
    "the same dtype for dx",
    "flatten_forward/constant/1->2#0": "NumPy's reshape reads any negative size as the one to "
    "infer: x.reshape(N, -2) is x.reshape(N, -1) (NumPy 2.4, no warning)",
}
