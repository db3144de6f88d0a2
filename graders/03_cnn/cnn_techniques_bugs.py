"""Known bugs of cnn-techniques: mistakes learners make, most of them one edit of the reference.

The reference's nms calls box_iou and batched_nms calls nms, as a learner's usually do, so
a bug in box_iou also fails both NMS parts. Conventions that other well-known code follows
(Keras' batch-norm momentum and biased moving variance, the "+1 pixel" box area) are
declared here too; their hints say which convention it is and why this exercise uses
PyTorch's and torchvision's.
"""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

_BN_FORWARD = reference_function(__file__, "batchnorm_forward")
_BN_BACKWARD = reference_function(__file__, "batchnorm_backward")
_TRAIN_HEAD = reference_function(__file__, "train_new_head")
_BOX_IOU = reference_function(__file__, "box_iou")
_NMS = reference_function(__file__, "nms")
_PIXEL_CE = reference_function(__file__, "pixel_cross_entropy")
_MEAN_IOU = reference_function(__file__, "mean_iou")

BOX_PARTS = ("box_iou", "nms", "batched_nms")

BUGS = [
    # ------------------------------------------------------------------ batchnorm_forward
    KnownBug(
        # np.var(..., ddof=1) or torch.var's default (unbiased=True) used to normalise: a
        # recurring question on the PyTorch forums ("BatchNorm output differs from my
        # implementation") and in CS231n assignment-2 threads.
        name="bn-normalises-with-unbiased-variance",
        function="batchnorm_forward",
        hint="normalise with the biased batch variance (divide by m); only running_var stores the unbiased one",
        code=edited(
            _BN_FORWARD,
            ("var = x.var(axis=axes)  #", "var = x.var(axis=axes, ddof=1)  #"),
            ("unbiased = var * m / (m - 1)", "unbiased = var"),
        ),
    ),
    KnownBug(
        # Keras' BatchNormalization stores the batch's (biased) variance in moving_variance;
        # PyTorch stores the unbiased one (its BatchNorm docs say so; a recurring surprise in
        # PyTorch-forum threads about weights ported between the two).
        name="bn-running-var-biased",
        kind="convention",
        function="batchnorm_forward",
        hint="this is Keras' convention (moving_variance holds the biased batch variance); this exercise follows PyTorch, which stores the unbiased var * m / (m - 1) in running_var",
        code=edited(_BN_FORWARD, ("unbiased = var * m / (m - 1)", "unbiased = var")),
    ),
    KnownBug(
        # Keras' momentum=0.99 is the fraction of the *old* statistic kept; PyTorch's
        # momentum=0.1 is the weight of the *new* batch statistic (torch.nn.BatchNorm2d docs:
        # "different from the momentum concept used in optimizer classes").
        name="bn-momentum-keras-convention",
        kind="convention",
        function="batchnorm_forward",
        hint="this is Keras' convention (momentum = the fraction of the old statistic kept); PyTorch, which this exercise follows, weights the new batch statistic by momentum: (1 - momentum) * running + momentum * batch",
        code=edited(
            _BN_FORWARD,
            (
                "(1 - momentum) * running_mean + momentum * mean",
                "momentum * running_mean + (1 - momentum) * mean",
            ),
            (
                "(1 - momentum) * running_var + momentum * unbiased",
                "momentum * running_var + (1 - momentum) * unbiased",
            ),
        ),
    ),
    KnownBug(
        # The training flag ignored for the normalisation ("my model is bad in eval mode" /
        # "model.eval() changes nothing" threads on the PyTorch forums).
        name="bn-eval-uses-batch-statistics",
        function="batchnorm_forward",
        hint="training=False normalises with running_mean and running_var: the batch's own statistics are for training only",
        code=edited(
            _BN_FORWARD,
            (
                "mean, var = running_mean, running_var",
                "mean, var = x.mean(axis=axes), x.var(axis=axes)",
            ),
        ),
    ),
    KnownBug(
        # x_hat = (x - mu) / (std + eps): eps outside the square root, as in several blog
        # implementations; PyTorch and the paper use sqrt(var + eps).
        name="bn-eps-outside-sqrt",
        function="batchnorm_forward",
        hint="eps goes inside the square root: (x - mean) / sqrt(var + eps), as PyTorch and the paper",
        code=edited(
            _BN_FORWARD,
            ("np.sqrt(var.reshape(shape) + eps)", "(np.sqrt(var.reshape(shape)) + eps)"),
        ),
    ),
    # ------------------------------------------------------------------ batchnorm_backward
    KnownBug(
        # Treating the batch mean and variance as constants: the most common wrong batch-norm
        # backward (CS231n assignment 2, "batchnorm_backward gradient check fails").
        name="bn-backward-without-statistics-paths",
        function="batchnorm_backward",
        hint="in training the batch mean and variance depend on x: dx = (dxhat - mean(dxhat) - x_hat * mean(dxhat * x_hat)) / sqrt(var + eps)",
        code=edited(
            _BN_BACKWARD,
            (
                "dx = (dxhat - mean_dxhat - x_hat * mean_dxhat_xhat) * inv_std",
                "dx = dxhat * inv_std",
            ),
        ),
    ),
    KnownBug(
        # Only the mean's path remembered (the "centering" term), the variance's forgotten:
        # the half-derivation seen in CS231n assignment-2 help threads.
        name="bn-backward-without-variance-path",
        function="batchnorm_backward",
        hint="the variance depends on x too: subtract x_hat * mean(dxhat * x_hat) as well as mean(dxhat)",
        code=edited(
            _BN_BACKWARD,
            (" - x_hat * mean_dxhat_xhat", ""),
        ),
    ),
    KnownBug(
        # One backward for both modes: the training formula with batch statistics even in
        # evaluation, where the running statistics are constants.
        name="bn-backward-ignores-eval-mode",
        function="batchnorm_backward",
        hint="in evaluation the forward used the running statistics, which do not depend on x: dx = dout * gamma / sqrt(running_var + eps)",
        code=edited(
            _BN_BACKWARD,
            ("if training:  # normalised", "if True:  # normalised"),
            ("if training:  # mean and var", "if True:  # mean and var"),
        ),
    ),
    # ------------------------------------------------------------------ transfer learning
    KnownBug(
        # The feature layer used without its ReLU (features taken from the pre-activation).
        name="features-without-last-relu",
        function="extract_features",
        hint="the features are the second hidden layer's activations: apply ReLU after X @ W1 + b1 and after h @ W2 + b2",
        code="""
def extract_features(X, backbone):
    h = np.maximum(X @ backbone["W1"] + backbone["b1"], 0)
    return h @ backbone["W2"] + backbone["b2"]
""",
        fails=("extract_features", "train_new_head"),
    ),
    KnownBug(
        # Forgetting to freeze: the whole network is trained on the new task (in PyTorch,
        # passing model.parameters() to the optimizer instead of model.fc.parameters(): the
        # transfer-learning tutorial's most asked question).
        name="backbone-not-frozen",
        function="train_new_head",
        hint="freeze the backbone: compute the features once and update only W_head and b_head; W1, b1, W2, b2 must come back unchanged",
        code="""
def train_new_head(X, y, backbone, n_classes, lr, steps):
    p = {k: v.copy() for k, v in backbone.items() if k not in ("W_head", "b_head")}
    p["W_head"], p["b_head"] = np.zeros((p["W2"].shape[1], n_classes)), np.zeros(n_classes)
    onehot = np.eye(n_classes)[np.asarray(y)]
    n, losses = len(y), []
    for _ in range(steps):
        z1 = X @ p["W1"] + p["b1"]
        h1 = np.maximum(z1, 0)
        z2 = h1 @ p["W2"] + p["b2"]
        h2 = np.maximum(z2, 0)
        z = h2 @ p["W_head"] + p["b_head"]
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        losses.append(float(-(log_p * onehot).sum() / n))
        dz = (np.exp(log_p) - onehot) / n
        dz2 = (dz @ p["W_head"].T) * (z2 > 0)
        dz1 = (dz2 @ p["W2"].T) * (z1 > 0)
        grads = {"W_head": h2.T @ dz, "b_head": dz.sum(0), "W2": h1.T @ dz2, "b2": dz2.sum(0),
                 "W1": X.T @ dz1, "b1": dz1.sum(0)}
        p = {k: v - lr * grads[k] for k, v in p.items()}
    return p, losses
""",
    ),
    KnownBug(
        # The loss is a mean but the head's gradient is not divided by N (CS231n softmax
        # questions): each step is N times too large.
        name="head-grad-not-averaged",
        function="train_new_head",
        hint="the loss is a mean over the N samples, so its gradient carries the 1/N: dz = (softmax - onehot) / N",
        code=edited(
            _TRAIN_HEAD, ("dz = (np.exp(log_p) - onehot) / n", "dz = np.exp(log_p) - onehot")
        ),
    ),
    # ------------------------------------------------------------------ box_iou
    KnownBug(
        # No clamp at all: disjoint boxes get a negative (or, apart on both axes, positive)
        # "intersection" (a classic in YOLO-from-scratch tutorials' comment sections).
        name="iou-intersection-not-clamped",
        function="box_iou",
        hint="clamp each side of the overlap at 0 before multiplying: disjoint boxes have intersection 0",
        code=edited(_BOX_IOU, ("wh = np.clip(rb - lt, 0, None)", "wh = rb - lt")),
        fails=BOX_PARTS,
    ),
    KnownBug(
        # max(0, w * h): the clamp applied to the product, so two negative sides (boxes apart
        # in x and in y) multiply to a positive area.
        name="iou-clamp-after-product",
        function="box_iou",
        hint="clamp each side separately, max(0, w) * max(0, h): boxes apart in x and in y make two negative sides whose product is positive",
        code=edited(
            _BOX_IOU,
            ("wh = np.clip(rb - lt, 0, None)", "wh = rb - lt"),
            ("inter = wh[..., 0] * wh[..., 1]", "inter = np.maximum(wh[..., 0] * wh[..., 1], 0)"),
        ),
        fails=BOX_PARTS,
    ),
    KnownBug(
        # The PASCAL VOC devkit and older detectors (py-faster-rcnn's bbox_overlaps) count
        # pixels: w = x2 - x1 + 1.
        name="iou-plus-one-pixel",
        kind="convention",
        function="box_iou",
        hint='this is the "+1 pixel" convention of integer pixel indices (PASCAL VOC devkit, py-faster-rcnn); this exercise uses continuous coordinates, as torchvision: area (x2 - x1) * (y2 - y1), overlap min(x2) - max(x1)',
        code=edited(
            _BOX_IOU,
            (
                "area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])",
                "area1 = (boxes1[:, 2] - boxes1[:, 0] + 1) * (boxes1[:, 3] - boxes1[:, 1] + 1)",
            ),
            (
                "area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])",
                "area2 = (boxes2[:, 2] - boxes2[:, 0] + 1) * (boxes2[:, 3] - boxes2[:, 1] + 1)",
            ),
            ("wh = np.clip(rb - lt, 0, None)", "wh = np.clip(rb - lt + 1, 0, None)"),
        ),
        fails=BOX_PARTS,
    ),
    KnownBug(
        # Union = area1 + area2: the intersection counted twice.
        name="iou-union-counts-intersection-twice",
        function="box_iou",
        hint="the union is area1 + area2 - inter: the overlap is inside both areas",
        code=edited(
            _BOX_IOU,
            (
                "union = area1[:, None] + area2[None, :] - inter",
                "union = area1[:, None] + area2[None, :]",
            ),
        ),
        fails=BOX_PARTS,
    ),
    # ------------------------------------------------------------------ nms
    KnownBug(
        # `>=` where torchvision's rule is `>`: a box exactly at the threshold is dropped.
        name="nms-drops-at-threshold",
        function="nms",
        hint="drop a box only when its IoU is strictly greater than the threshold (torchvision's rule): IoU == threshold keeps it",
        code=edited(_NMS, ("iou[i] > iou_threshold", "iou[i] >= iou_threshold")),
        fails=("nms", "batched_nms"),
    ),
    KnownBug(
        # np.argsort(scores)[::-1]: the usual idiom for "descending", which reverses the order
        # of equal scores too (a NumPy FAQ: argsort is ascending and reversing breaks ties).
        name="nms-ties-by-higher-index",
        function="nms",
        hint='np.argsort(scores)[::-1] visits the later of two equal scores first; use np.argsort(-scores, kind="stable") so equal scores keep index order',
        code=edited(
            _NMS,
            (
                'order = np.argsort(-scores, kind="stable")',
                'order = np.argsort(scores, kind="stable")[::-1]',
            ),
        ),
        fails=("nms", "batched_nms"),
    ),
    KnownBug(
        # Boxes visited in the order given, not by score: the sort forgotten.
        name="nms-not-sorted-by-score",
        function="nms",
        hint='visit the boxes from the highest score down: order = np.argsort(-scores, kind="stable")',
        code=edited(
            _NMS, ('order = np.argsort(-scores, kind="stable")', "order = np.arange(len(scores))")
        ),
        fails=("nms", "batched_nms"),
    ),
    # ------------------------------------------------------------------ batched_nms
    KnownBug(
        # The class labels ignored: a high-scoring "dog" suppresses an overlapping "person"
        # (torchvision added batched_nms for exactly this; a frequent detectron question).
        name="batched-nms-across-classes",
        function="batched_nms",
        hint="boxes of different classes never suppress each other: run NMS within each class, then sort the kept indices by score",
        code="""
def batched_nms(boxes, scores, classes, iou_threshold):
    return nms(boxes, scores, iou_threshold)
""",
    ),
    KnownBug(
        # Per-class results concatenated class by class, never re-sorted by score.
        name="batched-nms-grouped-by-class",
        function="batched_nms",
        hint="after NMS per class, sort all kept indices by descending score (equal scores: lower index first)",
        code="""
def batched_nms(boxes, scores, classes, iou_threshold):
    keep = []
    for c in np.unique(classes):
        idx = np.flatnonzero(classes == c)
        keep.extend(idx[nms(boxes[idx], scores[idx], iou_threshold)])
    return np.array(keep, dtype=np.int64)
""",
    ),
    # ------------------------------------------------------------------ pixel_cross_entropy
    KnownBug(
        # The classification code's axis=-1 (or axis=1 after a transpose) kept for NCHW
        # logits: the softmax runs over the width (PyTorch forum: "CrossEntropyLoss for
        # segmentation, which dim?").
        name="seg-softmax-over-last-axis",
        function="pixel_cross_entropy",
        hint="in NCHW the classes are axis 1: take max, exp-sum and softmax over axis=1, not over the last (width) axis",
        code=edited(
            _PIXEL_CE,
            (
                "shifted = logits - logits.max(axis=1, keepdims=True)",
                "shifted = logits - logits.max(axis=-1, keepdims=True)",
            ),
            (
                "np.exp(shifted).sum(axis=1, keepdims=True)",
                "np.exp(shifted).sum(axis=-1, keepdims=True)",
            ),
        ),
    ),
    KnownBug(
        # "Mean over the batch" from classification code: divided by N, not by every pixel.
        name="seg-mean-over-batch-only",
        function="pixel_cross_entropy",
        hint='reduction="mean" averages over every pixel of every image: divide by N * H * W, not by N',
        code=edited(_PIXEL_CE, ("pixels = target.size", "pixels = target.shape[0]")),
    ),
    # ------------------------------------------------------------------ mean_iou
    KnownBug(
        # Every class averaged, an absent one as IoU 0: the default of older torchmetrics'
        # jaccard_index (absent_score=0.0), a frequent source of "mIoU too low" reports.
        name="miou-absent-class-as-zero",
        function="mean_iou",
        hint="a class in neither map has no IoU (0 / 0): leave it out of the mean instead of counting 0",
        code=edited(
            _MEAN_IOU,
            ("            continue\n", "            ious.append(0.0)\n            continue\n"),
        ),
    ),
    KnownBug(
        # The other fix for 0 / 0: counting an absent class as a perfect 1 (absent_score=1.0,
        # or a smoothing (inter + 1) / (union + 1) in hand-written metrics).
        name="miou-absent-class-as-one",
        function="mean_iou",
        hint="a class in neither map has no IoU (0 / 0): leave it out of the mean instead of counting 1",
        code=edited(
            _MEAN_IOU,
            ("            continue\n", "            ious.append(1.0)\n            continue\n"),
        ),
    ),
]

EQUIVALENT = {
    "batchnorm_forward/arith/FloorDiv->Div#0": "x.size is a multiple of x.shape[1], so m is the same whole number as a float, and m / (m - 1) is unchanged",
    "mean_iou/swap-args/swap first two arguments#1": "logical_and is symmetric",
    "box_iou/drop-term/keep right#11": "where the union is 0 the intersection is 0 too (inter <= min(area1, area2) <= union), so returning inter there returns 0",
    "train_new_head/axis/axis=1->-1#1": "z is 2-D (N, C), so axis=-1 is axis=1",
    "train_new_head/axis/axis=1->-1#0": "z is 2-D (N, C), so axis=-1 is axis=1",
    "box_iou/drop-term/keep left#11": "0 * inter is 0 wherever the where picks it (inter is finite): "
    "the same zeros, and the result is float either way",
    "box_iou/constant/1->0#3": "where union is 0 the division by 0 is computed but never picked "
    "by the outer where (a RuntimeWarning only): the same result",
    "box_iou/compare/Gt->GtE#0": "where the union is 0 the intersection is 0 too, and inter / 1 "
    "there is that 0",
    "box_iou/swap-args/swap first two arguments#2": "np.clip(0, rb - lt, None) is "
    "max(0, rb - lt) broadcast to rb - lt's shape: the same clamp",
    "extract_features/swap-args/swap first two arguments#0": "np.maximum is symmetric",
    "extract_features/swap-args/swap first two arguments#1": "np.maximum is symmetric",
    "box_iou/swap-args/swap first two arguments#0": "np.maximum is symmetric",
    "box_iou/swap-args/swap first two arguments#1": "np.minimum is symmetric",
    "mean_iou/swap-args/swap first two arguments#0": "logical_or is symmetric",
    "batchnorm_forward/constant/1->2#1": "NumPy's reshape reads any negative size as the one "
    "inferred dimension: (1, -2, 1, 1) is (1, -1, 1, 1)",
    "batchnorm_backward/constant/1->2#1": "NumPy's reshape reads any negative size as the one "
    "inferred dimension: (1, -2, 1, 1) is (1, -1, 1, 1)",
    "pixel_cross_entropy/constant/1->2#4": "NumPy's reshape reads any negative size as the one "
    "inferred dimension: (1, -2, 1) is (1, -1, 1)",
    "box_iou/compare/Gt->GtE#1": "the inner where only guards the division: where union is 0 "
    "its result is never picked by the outer where (a RuntimeWarning only)",
    "box_iou/constant/1->2#3": "the inner where's fallback divides only where union is 0, "
    "which the outer where never picks",
    "box_iou/constant/0->1#6": "the outer where picks 1 * inter only where the union is 0, "
    "and there the intersection is 0 too",
}
