"""Grader for basic-attention: the masked softmax, additive and multiplicative scores, the
context vectors, each forward and backward.

Layers, per function: shapes on several sizes (batch 1, Tq != Tk, odd dims) -> values
against a float64 torch re-implementation (torch has no Bahdanau module: the oracle is
written here) or `F.scaled_dot_product_attention`, with `nn.Linear` weights copied in ->
float32 inputs -> every backward against float64 central differences and torch.autograd
(`assert_backward`) -> masks (exact zeros, rows summing to 1, masked keys and values
changing nothing) -> stability (scores of 1e4, fully masked rows). torch is imported
inside the tests that use it.
"""

import numpy as np
import pytest

from nnfs_cli.checks import (
    DTYPES,
    as_tuple,
    assert_backward,
    assert_close,
    assert_shape,
    assert_true,
    describe,
)

# (N, Tq, Tk, dq, dk, dv, h): batch 1, Tq != Tk both ways, one query, odd dims, and a square
# case (dq == dk == h) where the (out, in) weight layout runs without a shape error.
SIZES = [(1, 3, 4, 5, 3, 2, 4), (2, 1, 5, 3, 3, 4, 3), (3, 4, 2, 2, 5, 3, 5), (2, 5, 5, 3, 3, 3, 3)]
SIZE_IDS = ["N1_Tq3_Tk4", "N2_Tq1_Tk5", "N3_Tq4_Tk2", "N2_square"]
SQUARE = SIZES[3]
MASKS = ["none", "key_padding", "full", "pattern"]
SCORES = ["dot", "general", "additive"]
SOFTMAX_HINT = (
    "s = np.where(mask, scores, -np.inf) (True = keep), subtract each row's max over the "
    "kept scores, exponentiate, divide by the row's sum, over the last axis (the keys)"
)
HINTS = {
    "additive": "a = np.tanh((q @ Wq)[:, :, None, :] + (k @ Wk)[:, None, :, :]) is (N, Tq, Tk, h); scores = a @ v",
    "dot": "scores = q @ k.transpose(0, 2, 1), no scaling",
    "general": "scores = (q @ W) @ k.transpose(0, 2, 1), W (dq, dk) used as x @ W",
    "scores": "ds = w * (dw - (dw * w).sum(axis=-1, keepdims=True)): the full softmax Jacobian, not its diagonal",
    "q": "dq gathers every key's contribution: sum the (N, Tq, Tk, ...) gradient over the keys",
    "k": "dk gathers every query's contribution: sum over the queries",
    "values": "dvalues = weights.transpose(0, 2, 1) @ dcontext",
    "Wq": "dWq = sum over the batch of q^T @ dhq: a weight is shared by every sample",
    "Wk": "dWk = sum over the batch of k^T @ dhk",
    "v": "dv = (dscores[..., None] * a).sum(axis=(0, 1, 2))",
    "W": "dW = sum over the batch of q^T @ (dscores @ k): a weight is shared by every sample",
}
PARAMS = {"dot": (), "general": ("W",), "additive": ("Wq", "Wk", "v")}


def case(size, seed, dtype=np.float64, scale=1.0):
    """Queries, keys, values and every score's parameters, (in, out) layout."""
    n, tq, tk, dq, dk, dv, h = size
    rng = np.random.default_rng(seed)
    a = {
        "q": rng.normal(scale=scale, size=(n, tq, dq)),
        "k": rng.normal(scale=scale, size=(n, tk, dk)),
        "values": rng.normal(size=(n, tk, dv)),
        "Wq": rng.normal(scale=1 / np.sqrt(dq), size=(dq, h)),
        "Wk": rng.normal(scale=1 / np.sqrt(dk), size=(dk, h)),
        "v": rng.normal(size=h),
        "W": rng.normal(scale=1 / np.sqrt(dq), size=(dq, dk)),
    }
    return {name: x.astype(dtype) for name, x in a.items()}


def make_mask(kind, n, tq, tk, seed, fully_masked=False):
    """A boolean mask, True = keep: None, padded keys (N, 1, Tk), a random (N, Tq, Tk), or one
    (Tq, Tk) pattern for the batch. Every row keeps a key unless `fully_masked`, which masks
    the first query's row entirely."""
    rng = np.random.default_rng(seed)
    if kind == "none":
        return None
    if kind == "key_padding":
        lengths = rng.integers(1, tk + 1, size=n)
        lengths[0] = max(1, tk - 1) if tk > 1 else 1
        mask = (np.arange(tk)[None, :] < lengths[:, None])[:, None, :]
    elif kind == "full":
        mask = rng.random((n, tq, tk)) < 0.6
        mask[..., rng.integers(tk)] = True  # every row keeps at least one key
        if tk > 1:
            mask[0, 0, :] = [j % 2 == 0 for j in range(tk)]  # and one row masks a key for sure
    else:
        mask = np.tril(np.ones((tq, tk), bool), k=max(tk - tq, 0))  # causal, aligned at the end
    if fully_masked:
        mask = np.broadcast_to(mask, (n, tq, tk)).copy()
        mask[:, 0, :] = False
    return mask


def dot_keys(size, seed, dtype):
    """Keys with dk == dq, as the dot score needs."""
    n, _, tk, dq = size[:4]
    return np.random.default_rng(seed + 100).normal(size=(n, tk, dq)).astype(dtype)


def assert_float32_backward(got, expected, names, what, on, inputs):
    """Each gradient of a float32 question against the float64 reference, at float32 precision."""
    got = as_tuple(got, len(names), what, on)
    for name, g, exp in zip(names, got, expected):
        assert_close(g, exp, f"{what}: d{name} (float32)", on=on, inputs=inputs, hint=HINTS.get(name, ""))


def full_mask(mask, shape):
    return np.ones(shape, bool) if mask is None else np.broadcast_to(mask, shape)


def mask_on(mask):
    return "mask=None" if mask is None else f"mask {tuple(mask.shape)} bool (True = keep)"


# torch re-implementations, float64, for the values and for torch.autograd -----------------


def torch_masked_softmax(scores, mask):
    """Weights 0 on masked positions and on fully masked rows, differentiable everywhere."""
    import torch

    if mask is None:
        return torch.softmax(scores, dim=-1)
    keep = torch.as_tensor(np.broadcast_to(mask, scores.shape).copy())
    any_kept = keep.any(dim=-1, keepdim=True)
    # a fully masked row gets scores 0 then weights 0: no -inf - -inf, no NaN gradient
    s = torch.where(any_kept, scores.masked_fill(~keep, float("-inf")), torch.zeros_like(scores))
    return torch.softmax(s, dim=-1) * keep


def torch_additive(q, k, Wq, Wk, v):
    import torch

    return torch.tanh((q @ Wq)[:, :, None, :] + (k @ Wk)[:, None, :, :]) @ v


def torch_scores(score, q, k, **params):
    if score == "additive":
        return torch_additive(q, k, params["Wq"], params["Wk"], params["v"])
    qw = q @ params["W"] if score == "general" else q
    return qw @ k.transpose(1, 2)


def torch_attention(score, mask):
    def forward(q, k, values, **params):
        return torch_masked_softmax(torch_scores(score, q, k, **params), mask) @ values

    return forward


def ref_attention(ref, score, mask):
    def forward(q, k, values, **params):
        return ref.attention_forward(q, k, values, params, score, mask)[0]

    return forward


# ---------------------------------------------------------------------------------------
# masked_softmax
# ---------------------------------------------------------------------------------------


def softmax_case(size, kind, seed, dtype=np.float64, scale=2.0, fully_masked=False):
    n, tq, tk = size[:3]
    scores = np.random.default_rng(seed).normal(scale=scale, size=(n, tq, tk)).astype(dtype)
    return scores, make_mask(kind, n, tq, tk, seed, fully_masked)


@pytest.mark.parametrize("size", SIZES[:3], ids=SIZE_IDS[:3])
@pytest.mark.part("masked_softmax", points=0.2)
def test_masked_softmax_shapes(learner, size):
    """The weights are shaped like the scores, for every mask shape."""
    for kind in MASKS:
        scores, mask = softmax_case(size, kind, seed=1)
        on = describe(scores=scores) + ", " + mask_on(mask)
        assert_shape(learner.masked_softmax(scores, mask), scores.shape, "masked_softmax(scores, mask)", on=on)


@DTYPES
@pytest.mark.parametrize("kind", MASKS)
@pytest.mark.part("masked_softmax", points=0.2)
def test_masked_softmax_matches_torch(learner, ref, kind, dtype):
    """Equals torch.softmax of the scores with masked positions filled with -inf (float32
    inputs at float32 precision)."""
    from nnfs_cli.checks import torch_oracle

    scores, mask = softmax_case(SIZES[0], kind, seed=2, dtype=dtype)
    on = describe(scores=scores) + ", " + mask_on(mask)
    expected, _ = torch_oracle(lambda s: torch_masked_softmax(s, mask), scores)
    assert_close(learner.masked_softmax(scores, mask), expected, "masked_softmax(scores, mask)",
                 on=on, inputs={"scores": scores}, hint=SOFTMAX_HINT)  # fmt: skip


@pytest.mark.parametrize("kind", ["key_padding", "full", "pattern"])
@pytest.mark.part("masked_softmax", points=0.3)
def test_masked_softmax_respects_the_mask(learner, kind):
    """Exactly 0 on every masked position, and each row sums to 1 over its kept positions."""
    scores, mask = softmax_case(SIZES[2], kind, seed=3)
    on = describe(scores=scores) + ", " + mask_on(mask)
    w = assert_shape(learner.masked_softmax(scores, mask), scores.shape, "masked_softmax", on=on)
    keep = full_mask(mask, scores.shape)
    # exact: exp(-inf) is exactly 0; a 1e-9 weight there is the -1e9 fill's leak
    assert_close(np.where(keep, 0.0, w), np.zeros(scores.shape), "masked_softmax: weights on masked positions",
                 on=on, rtol=0, atol=0, hint="masked positions get exactly 0: fill their scores with -inf "
                 "before the softmax (True = keep)")  # fmt: skip
    assert_close(np.asarray(w, np.float64).sum(axis=-1), np.ones(scores.shape[:-1]),
                 "masked_softmax: each query's weights summed over the keys", on=on,
                 hint="the softmax normalises over the last axis (the keys) and over the kept "
                 "positions only: mask before the softmax, not after")  # fmt: skip


@pytest.mark.part("masked_softmax", points=0.5)
def test_masked_softmax_is_stable_for_extreme_scores(learner, ref):
    """Scores of size 1e4, the largest on masked positions: no overflow, no NaN, masked keys
    ignored."""
    scores, mask = softmax_case(SIZES[2], "full", seed=4, scale=1e4)
    scores = np.where(mask, scores, np.abs(scores) + 2e4)  # the masked scores are the largest
    on = describe(scores=scores) + " of size ~1e4, " + mask_on(mask)
    assert_close(learner.masked_softmax(scores, mask), ref.masked_softmax(scores, mask),
                 "masked_softmax for scores of size ~1e4", on=on, large_input=True,
                 hint="subtract each row's max over the kept scores before np.exp, and mask "
                 "before the softmax: a masked score must not take part at all")  # fmt: skip


@pytest.mark.parametrize("kind", ["key_padding", "pattern"])
@pytest.mark.part("masked_softmax", points=0.5)
def test_masked_softmax_fully_masked_row_is_zero(learner, ref, kind):
    """A fully masked row gives weights 0, never NaN (another row masks a key of score 1e4)."""
    scores, mask = softmax_case(SIZES[0], kind, seed=5, fully_masked=True)
    scores[0, 1, ~mask[0, 1]] = 1e4
    on = describe(scores=scores) + ", " + mask_on(mask) + ", row [n, 0] fully masked"
    assert_close(learner.masked_softmax(scores, mask), ref.masked_softmax(scores, mask),
                 "masked_softmax with a fully masked row", on=on,
                 hint="a fully masked row has max -inf and sum 0: replace that max by 0 and "
                 "divide by 1 where the sum is 0, so its weights are 0, not NaN or 1/Tk")  # fmt: skip


# ---------------------------------------------------------------------------------------
# masked_softmax_backward
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES[:3], ids=SIZE_IDS[:3])
@pytest.mark.part("masked_softmax_backward", points=0.1)
def test_masked_softmax_backward_shapes(learner, size):
    """dscores is shaped like the scores."""
    scores, mask = softmax_case(size, "key_padding", seed=6)
    dw = np.random.default_rng(6).normal(size=scores.shape)
    on = describe(dweights=dw, scores=scores) + ", " + mask_on(mask)
    assert_shape(learner.masked_softmax_backward(dw, scores, mask), scores.shape,
                 "masked_softmax_backward(dweights, scores, mask)", on=on)  # fmt: skip


@pytest.mark.parametrize("kind", MASKS)
@pytest.mark.part("masked_softmax_backward", points=0.4)
def test_masked_softmax_backward_matches_oracles(learner, ref, kind):
    """dscores of sum(dweights * weights), by float64 central differences and torch.autograd
    (the random mask has a fully masked row)."""
    scores, mask = softmax_case(SIZES[0], kind, seed=7, fully_masked=kind == "full")
    dw = np.random.default_rng(7).normal(size=scores.shape)
    on = describe(dweights=dw, scores=scores) + ", " + mask_on(mask)
    got = learner.masked_softmax_backward(dw, scores, mask)
    for oracle, forward in (("numerical", lambda scores: ref.masked_softmax(scores, mask)),
                            ("torch", lambda scores: torch_masked_softmax(scores, mask))):  # fmt: skip
        assert_backward(got, forward, {"scores": scores}, dw, ("scores",),
                        "masked_softmax_backward(dweights, scores, mask)", oracle=oracle, on=on, hints=HINTS)  # fmt: skip


@pytest.mark.part("masked_softmax_backward", points=0.3)
def test_masked_softmax_backward_float32(learner, ref):
    """float32 inputs: dscores at float32 precision."""
    scores, mask = softmax_case(SIZES[1], "key_padding", seed=8, dtype=np.float32)
    dw = np.random.default_rng(8).normal(size=scores.shape).astype(np.float32)
    on = describe(dweights=dw, scores=scores) + ", " + mask_on(mask)
    expected = ref.masked_softmax_backward(dw.astype(np.float64), scores.astype(np.float64), mask)
    assert_close(learner.masked_softmax_backward(dw, scores, mask), expected,
                 "masked_softmax_backward (float32)", on=on, inputs={"dweights": dw, "scores": scores},
                 hint=HINTS["scores"])  # fmt: skip


@pytest.mark.part("masked_softmax_backward", points=0.4)
def test_masked_softmax_backward_is_stable_for_extreme_scores(learner, ref):
    """Scores of size 1e4 (the largest masked): finite gradients equal to the reference's."""
    scores, mask = softmax_case(SIZES[2], "full", seed=9, scale=1e4)
    scores = np.where(mask, scores, np.abs(scores) + 2e4)
    dw = np.random.default_rng(9).normal(size=scores.shape)
    on = describe(dweights=dw, scores=scores) + " of size ~1e4, " + mask_on(mask)
    assert_close(learner.masked_softmax_backward(dw, scores, mask), ref.masked_softmax_backward(dw, scores, mask),
                 "masked_softmax_backward for scores of size ~1e4", on=on, large_input=True,
                 hint="recompute the weights with the stable masked softmax, then " + HINTS["scores"])  # fmt: skip


# ---------------------------------------------------------------------------------------
# additive_scores and additive_scores_backward
# ---------------------------------------------------------------------------------------

ADDITIVE = ("q", "k", "Wq", "Wk", "v")


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.part("additive_scores", points=0.1)
def test_additive_scores_shapes(learner, size):
    """Scores (N, Tq, Tk) from q (N, Tq, dq), k (N, Tk, dk), Wq (dq, h), Wk (dk, h), v (h,)."""
    a = {x: case(size, seed=10)[x] for x in ADDITIVE}
    assert_shape(learner.additive_scores(*a.values()), size[:3], "additive_scores(q, k, Wq, Wk, v)",
                 on=describe(**a), hint=HINTS["additive"])  # fmt: skip


@DTYPES
@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.part("additive_scores", points=0.1)
def test_additive_scores_values(learner, ref, size, dtype):
    """Equals a float64 torch implementation of v . tanh(q Wq + k Wk) (float32 inputs at
    float32 precision)."""
    from nnfs_cli.checks import torch_oracle

    a = {x: case(size, seed=11, dtype=dtype)[x] for x in ADDITIVE}
    expected, _ = torch_oracle(torch_additive, *a.values())
    assert_close(learner.additive_scores(*a.values()), expected, "additive_scores(q, k, Wq, Wk, v)",
                 on=describe(**a), inputs=a, hint=HINTS["additive"])  # fmt: skip


@pytest.mark.part("additive_scores", points=0.5)
def test_additive_scores_match_torch_linear_layers(learner):
    """With the weights of nn.Linear(dq, h), nn.Linear(dk, h), nn.Linear(h, 1) (no bias)
    copied in: Wq = weight.T, Wk = weight.T, v = weight[0]; square sizes."""
    import torch

    n, tq, tk, dq, dk, _, h = SQUARE
    torch.manual_seed(12)
    lq, lk, lv = (torch.nn.Linear(i, o, bias=False, dtype=torch.float64) for i, o in ((dq, h), (dk, h), (h, 1)))
    a = case(SQUARE, seed=12)
    q, k = a["q"], a["k"]
    with torch.no_grad():
        expected = lv(torch.tanh(lq(torch.tensor(q))[:, :, None] + lk(torch.tensor(k))[:, None]))[..., 0].numpy()
    Wq, Wk, v = lq.weight.detach().numpy().T.copy(), lk.weight.detach().numpy().T.copy(), lv.weight.detach().numpy()[0].copy()
    on = describe(q=q, k=k, Wq=Wq, Wk=Wk, v=v)
    assert_close(learner.additive_scores(q, k, Wq, Wk, v), expected, "additive_scores vs torch nn.Linear layers",
                 on=on, hint=HINTS["additive"] + "; Wq is (in, out): q @ Wq, not q @ Wq.T")  # fmt: skip


@pytest.mark.part("additive_scores", points=0.3)
def test_additive_scores_saturate_for_large_inputs(learner, ref):
    """Queries and keys of size ~1e3: tanh saturates at +-1, scores stay finite and exact."""
    a = {x: case(SIZES[2], seed=13, scale=1e3)[x] for x in ADDITIVE}
    assert_close(learner.additive_scores(*a.values()), ref.additive_scores(*a.values()),
                 "additive_scores for q, k of size ~1e3", on=describe(**a), large_input=True,
                 hint="np.tanh saturates by itself; (e^x - e^-x) / (e^x + e^-x) overflows")  # fmt: skip


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.part("additive_scores_backward", points=0.1)
def test_additive_scores_backward_shapes(learner, size):
    """(dq, dk, dWq, dWk, dv) are shaped like q, k, Wq, Wk, v."""
    a = {x: case(size, seed=14)[x] for x in ADDITIVE}
    ds = np.random.default_rng(14).normal(size=size[:3])
    on = describe(dscores=ds, **a)
    got = as_tuple(learner.additive_scores_backward(ds, *a.values()), 5, "additive_scores_backward(dscores, ...)", on)
    for name, g in zip(ADDITIVE, got):
        assert_shape(g, a[name].shape, f"additive_scores_backward: d{name} (shaped like {name})", on=on)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.part("additive_scores_backward", points=0.4)
def test_additive_scores_backward_matches_oracles(learner, ref, size):
    """Every gradient of sum(dscores * scores), by float64 central differences and torch.autograd."""
    a = {x: case(size, seed=15)[x] for x in ADDITIVE}
    ds = np.random.default_rng(15).normal(size=size[:3])
    got = learner.additive_scores_backward(ds, *a.values())
    for oracle, forward in (("numerical", ref.additive_scores), ("torch", torch_additive)):
        assert_backward(got, forward, a, ds, ADDITIVE, "additive_scores_backward(dscores, q, k, Wq, Wk, v)",
                        oracle=oracle, on=describe(dscores=ds, **a), hints=HINTS, batch=size[0])  # fmt: skip


@pytest.mark.part("additive_scores_backward", points=0.4)
def test_additive_scores_backward_float32(learner, ref):
    """float32 inputs: every gradient at float32 precision."""
    a = {x: case(SIZES[2], seed=16, dtype=np.float32)[x] for x in ADDITIVE}
    ds = np.random.default_rng(16).normal(size=SIZES[2][:3]).astype(np.float32)
    expected = ref.additive_scores_backward(*(x.astype(np.float64) for x in (ds, *a.values())))
    assert_float32_backward(learner.additive_scores_backward(ds, *a.values()), expected, ADDITIVE,
                            "additive_scores_backward", describe(dscores=ds, **a), {"dscores": ds, **a})  # fmt: skip


# ---------------------------------------------------------------------------------------
# multiplicative_scores and multiplicative_scores_backward
# ---------------------------------------------------------------------------------------


def luong_inputs(size, kind, seed, dtype=np.float64):
    """q, k (and W for "general")."""
    a = case(size, seed, dtype)
    if kind == "dot":
        return {"q": a["q"], "k": dot_keys(size, seed, dtype)}
    return {"q": a["q"], "k": a["k"], "W": a["W"]}


LUONG = pytest.mark.parametrize("kind", ["dot", "general"])


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.part("multiplicative_scores", points=0.2)
def test_multiplicative_scores_shapes(learner, size):
    """Scores (N, Tq, Tk), dot (W None) and general (W (dq, dk))."""
    for kind in ("dot", "general"):
        a = luong_inputs(size, kind, seed=20)
        assert_shape(learner.multiplicative_scores(*a.values()), size[:3], f"multiplicative_scores ({kind})",
                     on=describe(**a), hint=HINTS[kind])  # fmt: skip


@DTYPES
@LUONG
@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.part("multiplicative_scores", points=0.1)
def test_multiplicative_scores_values(learner, size, kind, dtype):
    """Equals torch's (q W) k^T in float64 (float32 inputs at float32 precision)."""
    from nnfs_cli.checks import torch_oracle

    a = luong_inputs(size, kind, seed=21, dtype=dtype)
    expected, _ = torch_oracle(lambda q, k, *W: torch_scores(kind, q, k, **dict(zip(("W",), W))), *a.values())
    assert_close(learner.multiplicative_scores(*a.values()), expected, f"multiplicative_scores ({kind})",
                 on=describe(**a), inputs=a, hint=HINTS[kind])  # fmt: skip


@pytest.mark.part("multiplicative_scores", points=0.5)
def test_multiplicative_general_matches_torch_linear(learner):
    """General score with nn.Linear(dq, dk, bias=False)'s weight copied in as W = weight.T:
    scores = linear(q) @ k^T; square sizes."""
    import torch

    n, tq, tk, dq, dk, _, _ = SQUARE
    torch.manual_seed(22)
    lin = torch.nn.Linear(dq, dk, bias=False, dtype=torch.float64)
    a = case(SQUARE, seed=22)
    q, k, W = a["q"], a["k"], lin.weight.detach().numpy().T.copy()
    with torch.no_grad():
        expected = (lin(torch.tensor(q)) @ torch.tensor(k).transpose(1, 2)).numpy()
    assert_close(learner.multiplicative_scores(q, k, W), expected, "multiplicative_scores (general) vs nn.Linear",
                 on=describe(q=q, k=k, W=W), hint=HINTS["general"])  # fmt: skip


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.part("multiplicative_scores_backward", points=0.2)
def test_multiplicative_scores_backward_shapes(learner, size):
    """(dq, dk) for the dot score, (dq, dk, dW) for the general one, shaped like q, k, W."""
    for kind in ("dot", "general"):
        a = luong_inputs(size, kind, seed=23)
        ds = np.random.default_rng(23).normal(size=size[:3])
        on = describe(dscores=ds, **a)
        got = as_tuple(learner.multiplicative_scores_backward(ds, *a.values()), len(a),
                       f"multiplicative_scores_backward ({kind})", on)  # fmt: skip
        for name, g in zip(a, got):
            assert_shape(g, a[name].shape, f"multiplicative_scores_backward: d{name} (shaped like {name})", on=on)


@LUONG
@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.part("multiplicative_scores_backward", points=0.2)
def test_multiplicative_scores_backward_matches_oracles(learner, ref, size, kind):
    """Every gradient of sum(dscores * scores), by float64 central differences and torch.autograd."""
    a = luong_inputs(size, kind, seed=24)
    ds = np.random.default_rng(24).normal(size=size[:3])
    got = learner.multiplicative_scores_backward(ds, *a.values())
    oracles = (("numerical", lambda q, k, W=None: ref.multiplicative_scores(q, k, W)),
               ("torch", lambda q, k, **W: torch_scores(kind, q, k, **W)))  # fmt: skip
    for oracle, forward in oracles:
        assert_backward(got, forward, a, ds, tuple(a), f"multiplicative_scores_backward ({kind})",
                        oracle=oracle, on=describe(dscores=ds, **a), hints=HINTS, batch=size[0])  # fmt: skip


@LUONG
@pytest.mark.part("multiplicative_scores_backward", points=0.3)
def test_multiplicative_scores_backward_float32(learner, ref, kind):
    """float32 inputs: every gradient at float32 precision."""
    a = luong_inputs(SIZES[2], kind, seed=25, dtype=np.float32)
    ds = np.random.default_rng(25).normal(size=SIZES[2][:3]).astype(np.float32)
    expected = ref.multiplicative_scores_backward(*(x.astype(np.float64) for x in (ds, *a.values())))
    assert_float32_backward(learner.multiplicative_scores_backward(ds, *a.values()), expected, tuple(a),
                            f"multiplicative_scores_backward ({kind})", describe(dscores=ds, **a),
                            {"dscores": ds, **a})  # fmt: skip


# ---------------------------------------------------------------------------------------
# attention_forward and attention_backward
# ---------------------------------------------------------------------------------------


def attention_inputs(size, score, seed, dtype=np.float64):
    """(q, k, values, params) for one score kind."""
    a = case(size, seed, dtype)
    k = dot_keys(size, seed, dtype) if score == "dot" else a["k"]
    return a["q"], k, a["values"], {p: a[p] for p in PARAMS[score]}


def call_forward(learner, q, k, values, params, score, mask):
    on = describe(q=q, k=k, values=values, **params) + f", score={score!r}, " + mask_on(mask)
    got = learner.attention_forward(q, k, values, params, score, mask)
    context, weights = as_tuple(got, 2, "attention_forward(q, k, values, params, score, mask)", on)
    return context, weights, on


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.part("attention_forward", points=0.2)
def test_attention_forward_shapes(learner, size):
    """(context (N, Tq, dv), weights (N, Tq, Tk)) for every score."""
    n, tq, tk, _, _, dv, _ = size
    for score in SCORES:
        q, k, values, params = attention_inputs(size, score, seed=30)
        mask = make_mask("key_padding", *size[:3], seed=30)
        context, weights, on = call_forward(learner, q, k, values, params, score, mask)
        assert_shape(context, (n, tq, dv), "attention_forward: context", on=on)
        assert_shape(weights, (n, tq, tk), "attention_forward: weights", on=on)


@pytest.mark.parametrize("kind", MASKS)
@pytest.mark.parametrize("score", ["dot", "general"])
@pytest.mark.part("attention_forward", points=0.15)
def test_attention_forward_matches_sdpa(learner, score, kind):
    """Context and weights equal F.scaled_dot_product_attention with scale=1 and the same
    boolean attn_mask (True = keep); the general score's query is q @ W."""
    import torch
    import torch.nn.functional as F

    size = SIZES[0]
    q, k, values, params = attention_inputs(size, score, seed=31)
    mask = make_mask(kind, *size[:3], seed=31)
    context, weights, on = call_forward(learner, q, k, values, params, score, mask)
    qw = q @ params["W"] if score == "general" else q
    t = {name: torch.tensor(x) for name, x in (("q", qw), ("k", k), ("v", values))}
    attn_mask = None if mask is None else torch.tensor(mask)
    with torch.no_grad():
        expected = F.scaled_dot_product_attention(t["q"], t["k"], t["v"], attn_mask=attn_mask, scale=1.0).numpy()
        expected_w = torch_masked_softmax(t["q"] @ t["k"].transpose(1, 2), mask).numpy()
    hint = f"weights = masked_softmax(scores, mask) with {HINTS[score]}; context = weights @ values"
    assert_close(context, expected, "attention_forward: context vs F.scaled_dot_product_attention", on=on,
                 others={"weights": expected_w}, hint=hint)  # fmt: skip
    assert_close(weights, expected_w, "attention_forward: weights", on=on, hint=hint)


@DTYPES
@pytest.mark.parametrize("size", SIZES[1:], ids=SIZE_IDS[1:])
@pytest.mark.part("attention_forward", points=0.3)
def test_attention_forward_additive_matches_torch(learner, size, dtype):
    """Additive attention, every mask shape: context and weights equal a float64 torch
    implementation (float32 inputs at float32 precision)."""
    from nnfs_cli.checks import torch_oracle

    q, k, values, params = attention_inputs(size, "additive", seed=32, dtype=dtype)
    scores, _ = torch_oracle(torch_additive, q, k, *params.values())
    hint = "weights = masked_softmax(additive_scores(q, k, Wq, Wk, v), mask); context = weights @ values"
    inputs = {"q": q, "k": k, "values": values}
    for kind in MASKS:
        mask = make_mask(kind, *size[:3], seed=32)
        context, weights, on = call_forward(learner, q, k, values, params, "additive", mask)
        expected_w, _ = torch_oracle(lambda s, mask=mask: torch_masked_softmax(s, mask), scores)
        assert_close(context, expected_w @ values.astype(np.float64), "attention_forward: context (additive)",
                     on=on, others={"weights": expected_w}, inputs=inputs, hint=hint)  # fmt: skip
        assert_close(weights, expected_w, "attention_forward: weights (additive)", on=on, inputs=inputs, hint=hint)


@pytest.mark.parametrize("score", SCORES)
@pytest.mark.part("attention_forward", points=0.3)
def test_attention_forward_masked_keys_and_values_change_nothing(learner, score):
    """Masked keys and values replaced by huge numbers: the context and the weights do not
    change, the weights are exactly 0 there and sum to 1 over the kept keys."""
    size = SIZES[2]
    q, k, values, params = attention_inputs(size, score, seed=33)
    mask = make_mask("key_padding", *size[:3], seed=33)
    context, weights, on = call_forward(learner, q, k, values, params, score, mask)
    padded = ~mask[:, 0, :]  # (N, Tk): the masked keys
    rng = np.random.default_rng(33)
    k2, values2 = k.copy(), values.copy()
    k2[padded] = rng.normal(scale=1e3, size=k2[padded].shape)
    values2[padded] = rng.normal(scale=1e6, size=values2[padded].shape)
    context2, weights2, on2 = call_forward(learner, q, k2, values2, params, score, mask)
    keep = full_mask(mask, weights.shape)
    hint = "mask the scores with -inf before the softmax: a masked key then has weight exactly 0 and its value is multiplied by 0"
    # exact: exp(-inf) is exactly 0, whatever the masked key was
    assert_close(np.where(keep, 0.0, weights2), np.zeros(keep.shape), "attention_forward: weights on masked keys",
                 on=on2, rtol=0, atol=0, hint=hint)  # fmt: skip
    assert_close(np.asarray(weights2, np.float64).sum(axis=-1), np.ones(keep.shape[:-1]),
                 "attention_forward: each query's weights summed over the keys", on=on2, hint=hint)  # fmt: skip
    assert_close(weights2, weights, "attention_forward: weights after changing masked keys", on=on2, hint=hint)
    assert_close(context2, context, "attention_forward: context after changing masked keys and values",
                 on=on2 + " (masked values of size ~1e6)", hint=hint)  # fmt: skip


@pytest.mark.parametrize("score", SCORES)
@pytest.mark.part("attention_forward", points=0.3)
def test_attention_forward_fully_masked_query_gives_zero(learner, ref, score):
    """A query whose keys are all masked gets weights 0 and context 0, never NaN."""
    size = SIZES[0]
    q, k, values, params = attention_inputs(size, score, seed=34)
    mask = make_mask("pattern", *size[:3], seed=34, fully_masked=True)
    context, weights, on = call_forward(learner, q, k, values, params, score, mask)
    exp_c, exp_w = ref.attention_forward(q, k, values, params, score, mask)
    hint = "a fully masked row: weights 0 (not NaN, not 1/Tk), so its context is 0"
    assert_close(weights, exp_w, "attention_forward: weights with a fully masked query", on=on, hint=hint)
    assert_close(context, exp_c, "attention_forward: context with a fully masked query", on=on, hint=hint)


def flat_backward(got, params, on):
    """(dq, dk, dvalues, *dparams in params' order), after checking dparams' keys."""
    dq, dk, dvalues, dparams = as_tuple(got, 4, "attention_backward(dcontext, ...)", on)
    assert_true(isinstance(dparams, dict) and set(dparams) == set(params),
                "attention_backward: dparams", f"expected a dict with keys {sorted(params)}, got "
                + (f"keys {sorted(dparams)}" if isinstance(dparams, dict) else type(dparams).__name__),
                on=on, hint="return the parameters' gradients as a dict with the keys of params")  # fmt: skip
    return (dq, dk, dvalues, *(dparams[p] for p in params))


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.part("attention_backward", points=0.2)
def test_attention_backward_shapes(learner, size):
    """(dq, dk, dvalues, dparams) shaped like q, k, values and each parameter, every score."""
    for score in SCORES:
        q, k, values, params = attention_inputs(size, score, seed=40)
        mask = make_mask("key_padding", *size[:3], seed=40)
        dc = np.random.default_rng(40).normal(size=(*size[:2], size[5]))
        on = describe(dcontext=dc, q=q, k=k, values=values, **params) + f", score={score!r}, " + mask_on(mask)
        got = flat_backward(learner.attention_backward(dc, q, k, values, params, score, mask), params, on)
        shapes = {"q": q.shape, "k": k.shape, "values": values.shape, **{p: x.shape for p, x in params.items()}}
        for (name, shape), g in zip(shapes.items(), got):
            assert_shape(g, shape, f"attention_backward: d{name} (shaped like {name})", on=on)


@pytest.mark.parametrize("kind", ["none", "full", "fully_masked"])
@pytest.mark.parametrize("score", SCORES)
@pytest.mark.part("attention_backward", points=0.3)
def test_attention_backward_matches_oracles(learner, ref, score, kind):
    """Every gradient of sum(dcontext * context), by float64 central differences and
    torch.autograd; no mask, a random mask, and a mask with a fully masked query."""
    size = SIZES[0] if kind != "full" else SIZES[3]
    q, k, values, params = attention_inputs(size, score, seed=41)
    mask = make_mask("full" if kind == "full" else "key_padding", *size[:3], seed=41,
                     fully_masked=kind == "fully_masked") if kind != "none" else None  # fmt: skip
    dc = np.random.default_rng(41).normal(size=(*size[:2], size[5]))
    inputs = {"q": q, "k": k, "values": values, **params}
    on = describe(dcontext=dc, **inputs) + f", score={score!r}, " + mask_on(mask)
    got = flat_backward(learner.attention_backward(dc, q, k, values, params, score, mask), params, on)
    for oracle, forward in (("numerical", ref_attention(ref, score, mask)), ("torch", torch_attention(score, mask))):
        assert_backward(got, forward, inputs, dc, tuple(inputs), f"attention_backward ({score})",
                        oracle=oracle, on=on, hints=HINTS, batch=size[0])  # fmt: skip


@pytest.mark.parametrize("score", SCORES)
@pytest.mark.part("attention_backward", points=0.3)
def test_attention_backward_float32(learner, ref, score):
    """float32 inputs: every gradient at float32 precision."""
    size = SIZES[2]
    q, k, values, params = attention_inputs(size, score, seed=42, dtype=np.float32)
    mask = make_mask("key_padding", *size[:3], seed=42)
    dc = np.random.default_rng(42).normal(size=(*size[:2], size[5])).astype(np.float32)
    inputs = {"q": q, "k": k, "values": values, **params}
    on = describe(dcontext=dc, **inputs) + f", score={score!r}, " + mask_on(mask)
    got = flat_backward(learner.attention_backward(dc, q, k, values, params, score, mask), params, on)
    f64 = {n: x.astype(np.float64) for n, x in inputs.items()}
    dq, dk, dvalues, dparams = ref.attention_backward(dc.astype(np.float64), f64["q"], f64["k"], f64["values"],
                                                      {p: f64[p] for p in params}, score, mask)  # fmt: skip
    expected = (dq, dk, dvalues, *(dparams[p] for p in params))
    assert_float32_backward(got, expected, tuple(inputs), f"attention_backward ({score})", on,
                            {"dcontext": dc, **inputs})  # fmt: skip
