"""# Specialized CNN techniques: batch norm, transfer learning, detection and segmentation

Never modify an input in place: every function returns new arrays.

## 1. Batch normalization (Ioffe & Szegedy, 2015)

Normalise each **channel** over every axis but the channel axis 1, then scale and shift:
`x` is `(N, C)` (as `torch.nn.BatchNorm1d`), `(N, C, L)` or `(N, C, H, W)` (NCHW, as
`torch.nn.BatchNorm2d`); `gamma`, `beta`, `running_mean`, `running_var` are `(C,)`. With
`m = N * H * W` values per channel (`N` for `(N, C)`):

    mu    = mean of x over the m values            var = mean of (x - mu)**2   (biased: / m)
    x_hat = (x - mu) / sqrt(var + eps)             eps inside the square root, default 1e-5
    out   = gamma * x_hat + beta

**Training** (`training=True`) normalises with the batch statistics `mu`, `var` and updates
the running statistics, exactly as PyTorch (`momentum` default 0.1):

    running_mean <- (1 - momentum) * running_mean + momentum * mu
    running_var  <- (1 - momentum) * running_var  + momentum * var * m / (m - 1)

PyTorch normalises with the **biased** variance (`/ m`) but stores the **unbiased** one
(`/ (m - 1)`) in `running_var` (its documentation says so). Training needs `m > 1`.
Keras names the other fraction "momentum" (0.99 keeps 99% of the old statistic) and stores
the biased variance: this exercise follows PyTorch.

**Evaluation** (`training=False`) normalises with `running_mean` and `running_var`
instead, and returns them unchanged (as copies): one sample's output no longer depends on
the rest of its batch.

Backward, with `dxhat = dout * gamma` and `mean_m` the mean over the `m` values:

    dbeta  = sum of dout            dgamma = sum of dout * x_hat     (over all axes but 1)
    eval:  dx = dxhat / sqrt(running_var + eps)                     (statistics are constants)
    train: dx = (dxhat - mean_m(dxhat) - x_hat * mean_m(dxhat * x_hat)) / sqrt(var + eps)

In training `mu` and `var` are functions of `x`: the two extra terms are the gradient
flowing through them. Dropping them gives the evaluation formula, which is wrong there.

## 2. Transfer learning

A network trained on one task keeps its **feature extractor** and gets a **new head** for
the new task. Here the extractor is a two-layer ReLU network given as arrays,
`backbone = {"W1": (D, H1), "b1": (H1,), "W2": (H1, H2), "b2": (H2,), "W_head": (H2, K),
"b_head": (K,)}`, samples in rows:

    features = relu(relu(X @ W1 + b1) @ W2 + b2)          (N, H2); the old head is not used

The backbone is **frozen**: its parameters come back unchanged, bit for bit. Only the new
head `W_head (H2, C)`, `b_head (C,)` learns, by full-batch gradient descent on the mean
softmax cross-entropy, starting from zeros (a linear softmax model on fixed features has a
convex loss, so zeros are a fine start).

## 3. Boxes: IoU and non-maximum suppression

A box is `(x1, y1, x2, y2)` with `x1 <= x2`, `y1 <= y2`, in **continuous** coordinates
(as torchvision): its area is `(x2 - x1) * (y2 - y1)`, so a box of zero width has area 0.

    inter = max(0, min(x2, x2') - max(x1, x1')) * max(0, min(y2, y2') - max(y1, y1'))
    IoU   = inter / (area + area' - inter)                     0 when that union is 0

Clamp each side at 0 before multiplying: two negative overlaps make a positive product.
Boxes that only touch share an edge of area 0: IoU 0. (Older pixel-index code such as
the PASCAL VOC devkit counts both end pixels, `x2 - x1 + 1`: that "+1 pixel" convention
gives other values; this exercise uses continuous coordinates.)

**Non-maximum suppression** (torchvision's `nms`): visit the boxes by descending score
(equal scores: the lower index first); keep a box unless its IoU with an already kept box
is **strictly above** the threshold. Return the kept indices in that visiting order.
**Batched NMS** runs NMS separately for each class: boxes of different classes never
suppress each other; the result is sorted by descending score (ties: lower index first).

## 4. Segmentation

Per-pixel classification: logits `(N, C, H, W)`, integer targets `(N, H, W)` in `0..C-1`.
The loss is the cross-entropy of every pixel, **averaged over all N * H * W pixels**
(`torch.nn.functional.cross_entropy`'s `reduction="mean"`); the softmax runs over the class
axis 1. Its gradient is `(softmax(logits) - onehot(target)) / (N * H * W)`.

**Mean IoU** over classes, from all pixels of the batch together: for each class `c`,
`IoU_c = |pred == c and target == c| / |pred == c or target == c|`; the mean runs over
the classes that appear in the prediction or in the target. A class absent from both has
no IoU (0 / 0): it is left out, neither 0 nor 1.

Read: Ioffe & Szegedy, "Batch Normalization" (2015); Yosinski et al., "How transferable
are features in deep neural networks?" (2014); Girshick, "Fast R-CNN" (2015) and the
torchvision `box_iou` / `nms` documentation; Long, Shelhamer & Darrell, "Fully
Convolutional Networks for Semantic Segmentation" (2015); CS231n assignment 2.
"""

import numpy as np


def batchnorm_forward(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    training: bool,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch normalization of x over every axis but the channel axis 1, as torch.nn.BatchNorm.

    x: (N, C) or (N, C, H, W) (any (N, C, ...)); gamma, beta, running_mean, running_var: (C,).
    Returns (out, new_running_mean, new_running_var): out of x's shape, the others (C,).
    training=True: normalise with the batch mean and biased variance; update the running
    statistics with momentum, storing the unbiased variance (m / (m - 1), m values per
    channel). training=False: normalise with the running statistics; return copies of them.
    """
    ### BEGIN SOLUTION
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)  # a (C,) vector broadcast along the channel axis
    if training:
        mean = x.mean(axis=axes)
        var = x.var(axis=axes)  # biased (/ m): what the batch is normalised with
        m = x.size // x.shape[1]
        unbiased = var * m / (m - 1)  # what running_var stores
        new_mean = (1 - momentum) * running_mean + momentum * mean
        new_var = (1 - momentum) * running_var + momentum * unbiased
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean.copy(), running_var.copy()
    x_hat = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return gamma.reshape(shape) * x_hat + beta.reshape(shape), new_mean, new_var
    ### END SOLUTION


def batchnorm_backward(
    dout: np.ndarray,
    x: np.ndarray,
    gamma: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    training: bool,
    eps: float = 1e-5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of batchnorm_forward(x, gamma, beta, running_mean, running_var, training).

    dout: dL/dout, x's shape; x: (N, C, ...) the forward's input; gamma, running_mean,
    running_var: (C,) as given to the forward (beta does not enter any gradient).
    Returns (dx, dgamma, dbeta): dx of x's shape, dgamma and dbeta (C,). In training the
    batch mean and variance depend on x (the lesson's formula); in evaluation the running
    statistics are constants.
    """
    ### BEGIN SOLUTION
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if training:  # normalised by the batch statistics
        mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    else:
        mean, var = running_mean.reshape(shape), running_var.reshape(shape)
    inv_std = 1 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    dxhat = dout * gamma.reshape(shape)
    if training:  # mean and var depend on x: two more paths back to x
        mean_dxhat = dxhat.mean(axis=axes, keepdims=True)
        mean_dxhat_xhat = (dxhat * x_hat).mean(axis=axes, keepdims=True)
        dx = (dxhat - mean_dxhat - x_hat * mean_dxhat_xhat) * inv_std
    else:
        dx = dxhat * inv_std
    return dx, (dout * x_hat).sum(axis=axes), dout.sum(axis=axes)
    ### END SOLUTION


def extract_features(X: np.ndarray, backbone: dict[str, np.ndarray]) -> np.ndarray:
    """The frozen feature extractor: relu(relu(X @ W1 + b1) @ W2 + b2).

    X: (N, D); backbone: {"W1": (D, H1), "b1": (H1,), "W2": (H1, H2), "b2": (H2,), and the
    old head "W_head", "b_head", which is not used}. Returns features of shape (N, H2).
    """
    ### BEGIN SOLUTION
    h = np.maximum(X @ backbone["W1"] + backbone["b1"], 0)
    return np.maximum(h @ backbone["W2"] + backbone["b2"], 0)
    ### END SOLUTION


def train_new_head(
    X: np.ndarray,
    y: np.ndarray,
    backbone: dict[str, np.ndarray],
    n_classes: int,
    lr: float,
    steps: int,
) -> tuple[dict[str, np.ndarray], list[float]]:
    """Transfer learning: freeze the backbone, replace its head, train only the new head.

    X: (N, D); y: (N,) integer labels of the new task in 0..n_classes-1; backbone as in
    extract_features. The new head W_head (H2, n_classes), b_head (n_classes,) starts at
    zeros; each of `steps` full-batch gradient-descent steps with rate lr minimises the mean
    softmax cross-entropy of features @ W_head + b_head.
    Returns (params, losses): params has the backbone's keys, "W1", "b1", "W2", "b2"
    unchanged (bit for bit) and "W_head", "b_head" the trained new head; losses[i] is the
    loss before step i (a list of `steps` numbers).
    """
    ### BEGIN SOLUTION
    feats = extract_features(X, backbone)  # frozen: computed once, never updated
    n, d = feats.shape
    W, b = np.zeros((d, n_classes)), np.zeros(n_classes)
    onehot = np.eye(n_classes)[np.asarray(y)]
    losses = []
    for _ in range(steps):
        z = feats @ W + b
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        losses.append(float(-(log_p * onehot).sum() / n))
        dz = (np.exp(log_p) - onehot) / n
        W, b = W - lr * (feats.T @ dz), b - lr * dz.sum(axis=0)
    frozen = {k: v.copy() for k, v in backbone.items() if k not in ("W_head", "b_head")}
    return frozen | {"W_head": W, "b_head": b}, losses
    ### END SOLUTION


def box_iou(boxes1: np.ndarray, boxes2: np.ndarray) -> np.ndarray:
    """Pairwise intersection over union, as torchvision.ops.box_iou.

    boxes1: (N, 4), boxes2: (M, 4), rows (x1, y1, x2, y2) with x1 <= x2, y1 <= y2, in
    continuous coordinates (area (x2 - x1) * (y2 - y1)). Returns (N, M): entry [i, j] is the
    IoU of boxes1[i] and boxes2[j], in [0, 1]; 0 where the union is 0 (two zero-area boxes).
    """
    ### BEGIN SOLUTION
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    lt = np.maximum(boxes1[:, None, :2], boxes2[None, :, :2])  # (N, M, 2) top-left corners
    rb = np.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])  # (N, M, 2) bottom-right
    wh = np.clip(rb - lt, 0, None)  # each side clamped: no overlap is 0, never negative
    inter = wh[..., 0] * wh[..., 1]
    union = area1[:, None] + area2[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0 * inter)
    ### END SOLUTION


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression, as torchvision.ops.nms.

    boxes: (N, 4) as in box_iou; scores: (N,). Visit the boxes by descending score (equal
    scores: lower index first) and keep a box unless its IoU with a kept box is strictly
    greater than iou_threshold. Returns the kept indices, int64 (K,), in visiting order.
    """
    ### BEGIN SOLUTION
    order = np.argsort(-scores, kind="stable")  # stable: equal scores keep index order
    iou = box_iou(boxes, boxes)
    suppressed = np.zeros(len(scores), dtype=bool)
    keep = []
    for i in order:
        if not suppressed[i]:
            keep.append(i)
            suppressed |= iou[i] > iou_threshold
    return np.array(keep, dtype=np.int64)
    ### END SOLUTION


def batched_nms(
    boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou_threshold: float
) -> np.ndarray:
    """NMS within each class, as torchvision.ops.batched_nms: other classes never suppress.

    boxes: (N, 4); scores: (N,); classes: (N,) integer class of each box. Returns the kept
    indices, int64 (K,), sorted by descending score (equal scores: lower index first).
    """
    ### BEGIN SOLUTION
    keep = []
    for c in np.unique(classes):
        idx = np.flatnonzero(classes == c)
        keep.extend(idx[nms(boxes[idx], scores[idx], iou_threshold)])
    keep = np.sort(np.array(keep, dtype=np.int64))
    return keep[np.argsort(-scores[keep], kind="stable")]
    ### END SOLUTION


def pixel_cross_entropy(logits: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Per-pixel softmax cross-entropy, averaged over every pixel, and its gradient.

    logits: (N, C, H, W); target: (N, H, W) integer classes in 0..C-1. The softmax runs
    over the class axis 1. Returns (loss, dlogits): loss = mean over the N * H * W pixels of
    -log softmax(logits)[n, target[n, h, w], h, w] (a number, as F.cross_entropy's
    reduction="mean"); dlogits = (softmax - onehot(target)) / (N * H * W), logits' shape.
    """
    ### BEGIN SOLUTION
    target = np.asarray(target).astype(np.int64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    pixels = target.size  # every pixel of every image counts once
    classes = np.arange(logits.shape[1]).reshape((1, -1) + (1,) * (target.ndim - 1))
    onehot = target[:, None] == classes  # (N, C, H, W), True at each pixel's class
    return float(-(log_p * onehot).sum() / pixels), (np.exp(log_p) - onehot) / pixels
    ### END SOLUTION


def mean_iou(pred: np.ndarray, target: np.ndarray, n_classes: int) -> float:
    """Mean intersection over union of a segmentation, over all pixels of the batch together.

    pred, target: integer class maps of the same shape, e.g. (N, H, W), values in
    0..n_classes-1. IoU_c = |pred == c and target == c| / |pred == c or target == c|; the
    mean runs over the classes present in pred or target (absent from both: left out).
    Returns a number in [0, 1].
    """
    ### BEGIN SOLUTION
    ious = []
    for c in range(n_classes):
        p, t = pred == c, target == c
        union = np.logical_or(p, t).sum()
        if union == 0:  # absent from both: 0 / 0 says nothing about this class
            continue
        ious.append(np.logical_and(p, t).sum() / union)
    return float(np.mean(ious))
    ### END SOLUTION
