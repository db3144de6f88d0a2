"""Grader for self-attention: masks, scaled dot-product attention and its backward, heads, MHA.

Layers: the masks' dtype, shape and values; attention's shapes (batch 1, one key, Tq != Tk,
a head axis) -> values (float64, float32, with and without masks) -> exactly 0 on masked
keys -> `F.scaled_dot_product_attention` (float64, its own boolean masks: True = keep) -> a
fully masked row -> saturating scores; the backward's shapes -> values -> central
differences and torch.autograd; split and merge; multi-head self-attention against
`nn.MultiheadAttention(batch_first=True)` with the learner's weights copied in (PyTorch's
masks are True = ignore: the grader inverts ours), and its backward against central
differences and autograd through `F.multi_head_attention_forward`. PyTorch is the oracle
only: torch is imported inside the tests that use it.
"""

import numpy as np
import pytest

from nnfs_cli.checks import (
    DTYPES,
    as_array,
    as_tuple,
    assert_backward,
    assert_close,
    assert_shape,
    assert_true,
    describe,
)

PARAMS = ("W_q", "b_q", "W_k", "b_k", "W_v", "b_v", "W_o", "b_o")
SCORES = "scores = q @ k^T / sqrt(d) (d = q.shape[-1]); softmax over the keys (the last axis)"
HINTS = {
    "attention": f"{SCORES}; masked scores -> -inf before the softmax (True = keep); out = weights @ v",
    "q": "dq = scale * dS @ k, with dS = P * (dP - sum(dP * P, axis=-1)) and dP = dout @ v^T",
    "k": "dk = scale * dS^T @ q (keys are on the other side of the scores)",
    "v": "dv = P^T @ dout, P the attention weights",
    "split_heads": "reshape (N, T, D) to (N, T, H, d_head), then move the head axis forward: "
    "transpose(0, 2, 1, 3)",
    "merge_heads": "undo split_heads in reverse order: transpose(0, 2, 1, 3) back to (N, T, H, d_head), "
    "then reshape to (N, T, H * d_head)",
    "mha_forward": "q, k, v = x @ W + b; split each into heads; attention with scale 1 / sqrt(d_head) "
    "and the mask broadcast over the head axis; merge; @ W_o + b_o",
    "x": "x feeds the queries, the keys and the values: dx = dQ @ W_q^T + dK @ W_k^T + dV @ W_v^T",
    "W": "a weight's gradient has its (in, out) layout: dW = x^T @ d(projection), summed over every (n, t)",
    "b": "a bias's gradient sums the projection's gradient over the batch and the positions",
}
MHA_HINTS = {
    "x": HINTS["x"],
    **{p: HINTS["W"] for p in PARAMS if p[0] == "W"},
    **{p: HINTS["b"] for p in PARAMS if p[0] == "b"},
}


def qkv(shape_q, tk, dv, seed, dtype=np.float64, scale=1.0):
    """q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv), normal, seeded."""
    rng = np.random.default_rng(seed)
    *lead, _, d = shape_q
    q = rng.normal(scale=scale, size=shape_q)
    k = rng.normal(size=(*lead, tk, d))
    v = rng.normal(size=(*lead, tk, dv))
    return {"q": q.astype(dtype), "k": k.astype(dtype), "v": v.astype(dtype)}


def mixed_mask(n, tq, tk, seed, full_row=False):
    """Random keep/mask booleans (n, tq, tk), every row keeping at least one key unless
    full_row, which masks query 1 of sample 0 entirely."""
    rng = np.random.default_rng(seed)
    mask = rng.random((n, tq, tk)) < 0.6
    mask[..., rng.integers(tk)] = True
    if full_row:
        mask[0, 1] = False
    return mask


def lengths_mask(lengths, t):
    return (np.arange(t)[None, :] < np.asarray(lengths)[:, None])[:, None, :]


def causal(t):
    return np.tril(np.ones((t, t), dtype=bool))


def mha_params(d, seed, dtype=np.float64):
    """Weights (D, D) in the (in, out) layout, biases (D,), all non-zero."""
    rng = np.random.default_rng(seed)
    return {
        p: rng.normal(scale=(1 / np.sqrt(d)) if p[0] == "W" else 0.3, size=(d, d) if p[0] == "W" else d).astype(dtype)
        for p in PARAMS
    }  # fmt: skip


# ---------------------------------------------------------------------------------------
# causal_mask and padding_mask
# ---------------------------------------------------------------------------------------


def check_bool_mask(got, expected, what, on, hint):
    got = as_array(got, what, on=on)
    assert_true(got.dtype == np.bool_, f"{what}: dtype", f"expected booleans, got dtype {got.dtype}",
                on=on, hint="a comparison (or np.tril of a boolean array) gives booleans")  # fmt: skip
    # booleans have no arithmetic: compared as 0/1
    assert_close(
        got.astype(np.int64), expected.astype(np.int64), f"{what} (1 = attend)", on=on, hint=hint
    )


@pytest.mark.parametrize("t", [1, 2, 5])
@pytest.mark.part("causal_mask", points=1)
def test_causal_mask_values(learner, t):
    """(T, T) booleans, True exactly on and below the diagonal (key j <= query i)."""
    on = f"T={t}"
    got = as_array(learner.causal_mask(t), f"causal_mask({t})", on=on)
    assert_shape(got.astype(np.int64), (t, t), f"causal_mask({t})", on=on)
    check_bool_mask(got, causal(t), f"causal_mask({t})", on,
                    "query i may see keys 0..i (itself included), never j > i: np.tril of ones, True = attend")  # fmt: skip


PADDING_CASES = [([3, 1, 4], 4), ([0, 2], 3), ([1], 1), ([5, 5, 2, 3, 1], 5)]


@pytest.mark.parametrize("lengths,t", PADDING_CASES, ids=str)
@pytest.mark.part("padding_mask", points=1)
def test_padding_mask_values(learner, lengths, t):
    """(N, 1, T) booleans, True exactly where key j < lengths[n] (a length 0 masks every key)."""
    lengths = np.array(lengths)
    on = describe(lengths=lengths, T=t)
    got = as_array(learner.padding_mask(lengths, t), f"padding_mask(lengths, {t})", on=on)
    assert_shape(got.astype(np.int64), (len(lengths), 1, t), f"padding_mask(lengths, {t})", on=on,
                 hint="(N, 1, T): the middle axis of size 1 is the query axis, so the mask broadcasts "
                 "over the scores (N, Tq, T)")  # fmt: skip
    check_bool_mask(got, lengths_mask(lengths, t), f"padding_mask(lengths, {t})", on,
                    "key j of sequence n is real when j < lengths[n] (positions count from 0); True = attend")  # fmt: skip


# ---------------------------------------------------------------------------------------
# attention
# ---------------------------------------------------------------------------------------

# (q shape (..., Tq, d), Tk, dv): batch 1 with one key, Tq != Tk, dv != d, a head axis.
SHAPES = [((1, 1, 2), 1, 3), ((2, 3, 4), 5, 2), ((3, 4, 2), 4, 3), ((2, 3, 5, 4), 6, 2)]


@pytest.mark.parametrize("case", SHAPES, ids=str)
@pytest.mark.part("attention", points=0.25)
def test_attention_shapes(learner, case):
    """Returns (out (..., Tq, dv), weights (..., Tq, Tk)) for any leading axes."""
    shape_q, tk, dv = case
    a = qkv(shape_q, tk, dv, seed=1)
    on = describe(**a)
    out, weights = as_tuple(learner.attention(**a), 2, "attention(q, k, v)", on)
    assert_shape(out, (*shape_q[:-1], dv), "attention: out (..., Tq, dv)", on=on)
    assert_shape(weights, (*shape_q[:-1], tk), "attention: weights (..., Tq, Tk)", on=on)


def check_attention(learner, ref, a, mask, what, scale=None):
    kwargs = {} if scale is None else {"scale": scale}
    on = describe(**a, mask=mask) + (f", scale={scale}" if scale is not None else "")
    got = as_tuple(learner.attention(**a, mask=mask, **kwargs), 2, what, on)
    exp = ref.attention(*(x.astype(np.float64) for x in a.values()), mask, scale)
    for name, g, e, other in zip(
        ("out", "weights"), got, exp, ({"weights": exp[1]}, {"out": exp[0]})
    ):
        assert_close(
            g, e, f"{what}: {name}", on=on, others=other, inputs=a, hint=HINTS["attention"]
        )
    return got, on


MASKS = {
    "no_mask": lambda n, t: None,
    "causal": lambda n, t: causal(t),
    "padding": lambda n, t: lengths_mask([t, max(1, t - 2), 1][:n], t),
    "mixed": lambda n, t: mixed_mask(n, t, t, seed=t),
}


@DTYPES
@pytest.mark.parametrize("mask_kind", list(MASKS))
@pytest.mark.part("attention", points=0.25)
def test_attention_values(learner, ref, mask_kind, dtype):
    """out and weights equal the reference (float64 exactly, float32 at float32 precision),
    without a mask, with a causal (T, T), a padding (N, 1, T) and a random (N, T, T) mask."""
    a = qkv((3, 5, 4), 5, 3, seed=2, dtype=dtype)
    check_attention(
        learner, ref, a, MASKS[mask_kind](3, 5), f"attention(q, k, v, mask={mask_kind})"
    )


@pytest.mark.part("attention", points=0.5)
def test_attention_masked_weights_are_exactly_zero(learner):
    """Every masked key's weight is exactly 0 (not 1e-9): a random mask, float32 and float64."""
    for dtype in (np.float64, np.float32):
        a = qkv((2, 4, 3), 5, 2, seed=3, dtype=dtype)
        mask = mixed_mask(2, 4, 5, seed=3)
        on = describe(**a, mask=mask)
        _, weights = as_tuple(learner.attention(**a, mask=mask), 2, "attention(q, k, v, mask)", on)
        weights = assert_shape(weights, mask.shape, "attention: weights", on=on)
        # exact: -inf before the softmax gives exp(-inf) = 0, whatever the dtype
        assert_close(weights[~mask], np.zeros(int((~mask).sum())), "attention: the weights of masked keys",
                     on=on, rtol=0, atol=0,
                     hint="set masked scores to -inf before the softmax (np.where(mask, scores, -np.inf)); "
                     "a large finite negative leaves tiny non-zero weights")  # fmt: skip


@pytest.mark.parametrize("mask_kind", ["no_mask", "causal", "padding", "mixed", "scale"])
@pytest.mark.part("attention", points=0.5)
def test_attention_matches_torch_sdpa(learner, mask_kind):
    """out equals `F.scaled_dot_product_attention(q, k, v, attn_mask=mask)` in float64 (its
    boolean attn_mask is True = keep, as ours), and with an explicit `scale`."""
    import torch
    import torch.nn.functional as F

    a = qkv((2, 4, 3), 4, 5, seed=4)
    scale = 0.3 if mask_kind == "scale" else None
    mask = MASKS["mixed" if mask_kind == "scale" else mask_kind](2, 4)
    kwargs = {} if scale is None else {"scale": scale}
    on = describe(**a, mask=mask) + (f", scale={scale}" if scale is not None else "")
    got = as_tuple(learner.attention(**a, mask=mask, **kwargs), 2, "attention(q, k, v, mask)", on)
    t_mask = None if mask is None else torch.tensor(mask)
    with torch.no_grad():
        expected = F.scaled_dot_product_attention(*(torch.tensor(x) for x in a.values()),
                                                  attn_mask=t_mask, scale=scale).numpy()  # fmt: skip
    assert_close(got[0], expected, "attention: out vs F.scaled_dot_product_attention", on=on,
                 hint=HINTS["attention"])  # fmt: skip


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.part("attention", points=1)
def test_attention_fully_masked_row_is_zero_not_nan(learner, ref, dtype):
    """A query whose every key is masked (a padding length of 0, or a masked row) gets weights
    0 and an output of 0, never NaN; every other row still matches
    `F.scaled_dot_product_attention`."""
    import torch
    import torch.nn.functional as F

    a = qkv((3, 3, 4), 3, 2, seed=5, dtype=dtype)
    mask = lengths_mask([3, 0, 2], 3) & mixed_mask(3, 3, 3, seed=5, full_row=True)
    got, on = check_attention(
        learner, ref, a, mask, "attention(q, k, v, mask) with fully masked rows"
    )
    full = ~mask.any(axis=-1)  # (N, Tq): rows with no key to attend
    with torch.no_grad():  # SDPA's fully masked rows are NaN in some torch versions: not compared
        expected = F.scaled_dot_product_attention(*(torch.tensor(x.astype(np.float64)) for x in a.values()),
                                                  attn_mask=torch.tensor(mask)).numpy()  # fmt: skip
    assert_close(np.asarray(got[0])[~full], expected[~full], "attention: the rows with a key to attend "
                 "vs F.scaled_dot_product_attention", on=on, inputs=a, hint=HINTS["attention"])  # fmt: skip


@pytest.mark.part("attention", points=0.5)
def test_attention_is_stable_for_large_scores(learner, ref):
    """Scores of size ~1e4 saturate the softmax to (near) one-hot with no overflow."""
    a = qkv((2, 3, 4), 5, 2, seed=6, scale=3000.0)
    on = describe(**a)
    got = as_tuple(learner.attention(**a), 2, "attention(q, k, v)", on)
    for name, g, e in zip(("out", "weights"), got, ref.attention(**a)):
        assert_close(g, e, f"attention: {name} for scores of size ~1e4", on=on, large_input=True,
                     hint="exp(1e4) overflows: subtract each row's maximum score before np.exp")  # fmt: skip


# ---------------------------------------------------------------------------------------
# attention_backward
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", SHAPES, ids=str)
@pytest.mark.part("attention_backward", points=0.25)
def test_attention_backward_shapes(learner, case):
    """(dq, dk, dv) are shaped like q, k and v."""
    shape_q, tk, dv = case
    a = qkv(shape_q, tk, dv, seed=7)
    dout = np.random.default_rng(7).normal(size=(*shape_q[:-1], dv))
    on = describe(dout=dout, **a)
    got = as_tuple(
        learner.attention_backward(dout, **a), 3, "attention_backward(dout, q, k, v)", on
    )
    for name, g in zip("qkv", got):
        assert_shape(g, a[name].shape, f"attention_backward: d{name} (shaped like {name})", on=on)


@DTYPES
@pytest.mark.parametrize("mask_kind", ["no_mask", "causal", "mixed"])
@pytest.mark.part("attention_backward", points=0.25)
def test_attention_backward_values(learner, ref, mask_kind, dtype):
    """Every gradient equals the reference's (float64 exactly, float32 at float32 precision)."""
    a = qkv((2, 4, 3), 4, 5, seed=8, dtype=dtype)
    mask = MASKS[mask_kind](2, 4)
    dout = np.random.default_rng(8).normal(size=(2, 4, 5)).astype(dtype)
    on = describe(dout=dout, **a, mask=mask)
    got = as_tuple(
        learner.attention_backward(dout, **a, mask=mask),
        3,
        "attention_backward(dout, q, k, v, mask)",
        on,
    )
    expected = dict(
        zip(
            "qkv",
            ref.attention_backward(*(x.astype(np.float64) for x in (dout, *a.values())), mask),
        )
    )
    for name, g in zip("qkv", got):
        others = {f"d{o}": e for o, e in expected.items() if o != name}
        assert_close(g, expected[name], f"attention_backward: d{name}", on=on, others=others,
                     inputs={"dout": dout, **a}, hint=HINTS[name])  # fmt: skip


def torch_sdpa(mask, scale):
    """SDPA's output as a function of (q, k, v) tensors, for torch.autograd."""
    import torch
    import torch.nn.functional as F

    t_mask = None if mask is None else torch.tensor(mask)
    return lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=t_mask, scale=scale)


def oracle_cases(*cases):
    """(oracle, case) parameters from (oracle, case, label) triples, with readable ids."""
    return [pytest.param(oracle, case, id=f"{oracle}-{label}") for oracle, case, label in cases]


BACKWARD_CASES = oracle_cases(
    ("numerical", "no_mask", "no_mask"),
    ("numerical", "full_row", "fully_masked_row"),
    ("numerical", "scale", "scale"),
    ("torch", "no_mask", "no_mask"),
    ("torch", "causal_padding", "causal_and_padding"),
    ("torch", "scale", "scale"),
)


@pytest.mark.parametrize("oracle,case", BACKWARD_CASES)
@pytest.mark.part("attention_backward", points=1)
def test_attention_backward_matches_oracles(learner, ref, oracle, case):
    """dq, dk, dv of sum(dout * out), by float64 central differences (of the reference) and by
    torch.autograd through `F.scaled_dot_product_attention`; with masks (a fully masked row:
    central differences only, SDPA may give NaN there) and an explicit scale."""
    a = qkv((2, 3, 4), 4, 2, seed=9)
    mask = {
        "no_mask": None,
        "full_row": mixed_mask(2, 3, 4, seed=9, full_row=True),
        "scale": mixed_mask(2, 3, 4, seed=10),
        "causal_padding": np.tril(np.ones((3, 4), bool), k=1) & lengths_mask([4, 2], 4),
    }[case]
    scale = 0.7 if case == "scale" else None
    dout = np.random.default_rng(9).normal(size=(2, 3, 2))
    kwargs = {} if scale is None else {"scale": scale}
    on = describe(dout=dout, **a, mask=mask) + (f", scale={scale}" if scale is not None else "")
    forward = (
        torch_sdpa(mask, scale)
        if oracle == "torch"
        else (lambda q, k, v: ref.attention(q, k, v, mask, scale)[0])
    )
    assert_backward(learner.attention_backward(dout, **a, mask=mask, **kwargs), forward, a, dout, "qkv",
                    "attention_backward(dout, q, k, v, mask)", oracle=oracle, on=on, hints=HINTS)  # fmt: skip


# ---------------------------------------------------------------------------------------
# split_heads and merge_heads
# ---------------------------------------------------------------------------------------

# (N, T, D, H): one position, one head, T == H (a missing transpose keeps the shape), others.
HEAD_CASES = [(1, 1, 4, 2), (2, 3, 6, 3), (1, 4, 4, 1), (3, 5, 8, 2), (2, 2, 6, 2)]


def counting(shape):
    """0, 1, 2, ... in the given shape: every entry tells where it came from."""
    return np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)


@pytest.mark.parametrize("case", HEAD_CASES, ids=str)
@pytest.mark.part("split_heads", points=1)
def test_split_heads_values(learner, ref, case):
    """(N, T, D) -> (N, H, T, D // H): out[n, h, t] = x[n, t, h * d_head:(h + 1) * d_head]."""
    n, t, d, h = case
    x = counting((n, t, d))
    on = describe(x=x, num_heads=h)
    got = learner.split_heads(x, h)
    assert_shape(got, (n, h, t, d // h), f"split_heads(x, {h})", on=on, hint=HINTS["split_heads"])
    assert_close(got, ref.split_heads(x, h), f"split_heads(x, {h})", on=on, inputs={"x": x},
                 hint=HINTS["split_heads"])  # fmt: skip


@pytest.mark.parametrize("case", HEAD_CASES, ids=str)
@pytest.mark.part("merge_heads", points=1)
def test_merge_heads_values(learner, ref, case):
    """(N, H, T, d_head) -> (N, T, H * d_head), and merge_heads(split_heads(x)) == x."""
    n, t, d, h = case
    x = counting((n, t, d))
    heads = np.ascontiguousarray(ref.split_heads(x, h))
    on = describe(heads=heads)
    got = learner.merge_heads(heads)
    assert_shape(got, (n, t, d), "merge_heads(heads)", on=on, hint=HINTS["merge_heads"])
    assert_close(got, x, "merge_heads(heads): the x that split_heads(x) came from", on=on,
                 inputs={"heads": heads}, hint=HINTS["merge_heads"])  # fmt: skip


# ---------------------------------------------------------------------------------------
# mha_forward
# ---------------------------------------------------------------------------------------

# (N, T, D, H): one position, one head, N == H (a mask not broadcast over the heads fits
# the wrong axis silently), more heads than samples.
MHA_CASES = [(1, 1, 4, 2), (2, 5, 6, 3), (2, 3, 4, 1), (2, 4, 8, 2), (3, 4, 6, 2)]


@pytest.mark.parametrize("case", MHA_CASES, ids=str)
@pytest.mark.part("mha_forward", points=0.25)
def test_mha_forward_shapes(learner, case):
    """Returns (out (N, T, D), weights (N, H, T, T))."""
    n, t, d, h = case
    x = np.random.default_rng(11).normal(size=(n, t, d))
    params = mha_params(d, seed=11)
    on = describe(x=x, num_heads=h, **params)
    out, weights = as_tuple(
        learner.mha_forward(x, params, h), 2, f"mha_forward(x, params, {h})", on
    )
    assert_shape(out, (n, t, d), "mha_forward: out (N, T, D)", on=on)
    assert_shape(
        weights, (n, h, t, t), "mha_forward: weights (N, H, T, T), one map per head", on=on
    )


@DTYPES
@pytest.mark.parametrize("mask_kind", list(MASKS))
@pytest.mark.part("mha_forward", points=0.25)
def test_mha_forward_values(learner, ref, mask_kind, dtype):
    """out and weights equal the reference, with no mask, a (T, T), an (N, 1, T) and an
    (N, T, T) mask (float64 exactly, float32 at float32 precision)."""
    x = np.random.default_rng(12).normal(size=(2, 4, 6)).astype(dtype)
    params = mha_params(6, seed=12, dtype=dtype)
    mask = MASKS[mask_kind](2, 4)
    on = describe(x=x, **params, mask=mask) + ", num_heads=2"
    got = as_tuple(
        learner.mha_forward(x, params, 2, mask), 2, "mha_forward(x, params, 2, mask)", on
    )
    exp = ref.mha_forward(
        x.astype(np.float64), {p: w.astype(np.float64) for p, w in params.items()}, 2, mask
    )
    for name, g, e in zip(("out", "weights"), got, exp):
        assert_close(
            g, e, f"mha_forward: {name}", on=on, inputs={"x": x}, hint=HINTS["mha_forward"]
        )


def torch_mha(d, h, params):
    """A float64 nn.MultiheadAttention(batch_first=True) holding the (in, out) params,
    transposed to its (out, in) layout."""
    import torch

    mha = torch.nn.MultiheadAttention(d, h, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.tensor(np.concatenate([params[f"W_{n}"].T for n in "qkv"])))
        mha.in_proj_bias.copy_(torch.tensor(np.concatenate([params[f"b_{n}"] for n in "qkv"])))
        mha.out_proj.weight.copy_(torch.tensor(params["W_o"].T))
        mha.out_proj.bias.copy_(torch.tensor(params["b_o"]))
    return mha


def mha_oracle(mha, x, causal_t=None, lengths=None):
    """nn.MultiheadAttention's (out, per-head weights); our True = keep masks inverted to its
    True = ignore."""
    import torch

    t = x.shape[1]
    attn_mask = None if causal_t is None else torch.tensor(~causal(t))
    kpm = None if lengths is None else torch.tensor(~lengths_mask(lengths, t)[:, 0])
    xt = torch.tensor(x)
    with torch.no_grad():
        out, w = mha(xt, xt, xt, attn_mask=attn_mask, key_padding_mask=kpm, need_weights=True,
                     average_attn_weights=False)  # fmt: skip
    return out.numpy(), w.numpy()


TORCH_MHA = [
    pytest.param((2, 5, 6, 3), "no_mask", id="N2_T5_D6_H3-no_mask"),
    pytest.param((3, 4, 8, 2), "causal", id="N3_T4_D8_H2-causal"),
    pytest.param((2, 4, 6, 2), "padding", id="N2_T4_D6_H2-padding"),
    pytest.param((3, 5, 4, 4), "both", id="N3_T5_D4_H4-causal_and_padding_with_an_empty_sequence"),
]


@pytest.mark.parametrize("case,mask_kind", TORCH_MHA)
@pytest.mark.part("mha_forward", points=1)
def test_mha_forward_matches_torch_multihead_attention(learner, ref, case, mask_kind):
    """out and every head's weights equal `nn.MultiheadAttention(batch_first=True)` with the same
    weights (in_proj_weight = [W_q.T; W_k.T; W_v.T], out_proj.weight = W_o.T) and our masks
    inverted to its True = ignore; rows PyTorch leaves NaN (no key to attend) must be the
    reference's zeros-then-b_o."""
    n, t, d, h = case
    x = np.random.default_rng(13).normal(size=(n, t, d))
    params = mha_params(d, seed=13 + h)
    lengths = {"padding": [4, 2], "both": [5, 0, 3]}.get(mask_kind)
    causal_t = mask_kind in ("causal", "both")
    mask = None
    if causal_t or lengths is not None:
        mask = (causal(t) if causal_t else True) & (
            lengths_mask(lengths, t) if lengths is not None else True
        )
    on = describe(x=x, **params, mask=mask) + f", num_heads={h}"
    out, weights = as_tuple(
        learner.mha_forward(x, params, h, mask), 2, f"mha_forward(x, params, {h}, mask)", on
    )
    out_t, w_t = mha_oracle(torch_mha(d, h, params), x, causal_t if causal_t else None, lengths)
    rows = np.isfinite(out_t).all(axis=-1)  # (N, T): NaN rows in PyTorch are fully masked queries
    out = assert_shape(out, (n, t, d), "mha_forward: out", on=on)
    weights = assert_shape(weights, (n, h, t, t), "mha_forward: weights", on=on)
    assert_close(out[rows], out_t[rows], "mha_forward: out vs nn.MultiheadAttention", on=on,
                 hint=HINTS["mha_forward"])  # fmt: skip
    assert_close(weights.transpose(0, 2, 1, 3)[rows], w_t.transpose(0, 2, 1, 3)[rows],
                 "mha_forward: weights (per head) vs nn.MultiheadAttention(average_attn_weights=False)",
                 on=on, hint=HINTS["mha_forward"])  # fmt: skip
    exp_out, exp_w = ref.mha_forward(x, params, h, mask)
    assert_close(out, exp_out, "mha_forward: out, fully masked queries included (their heads give 0)",
                 on=on, hint=HINTS["mha_forward"])  # fmt: skip
    assert_close(weights, exp_w, "mha_forward: weights, fully masked queries included (all 0)",
                 on=on, hint=HINTS["mha_forward"])  # fmt: skip


@pytest.mark.part("mha_forward", points=1)
def test_mha_forward_causal_attention_map(learner, report):
    """With a causal mask, every head's weights are 0 above the diagonal and each row sums to 1,
    as `nn.MultiheadAttention` computes them; after a pass, head 0's map is shown."""
    n, t, d, h = 1, 8, 8, 2
    steps = np.arange(t)[:, None] * np.linspace(0.4, 1.6, d)[None, :]
    x = np.concatenate([np.sin(steps), np.cos(steps)], axis=1)[None, :, :d]  # a smooth sequence
    params = mha_params(d, seed=14)
    mask = causal(t)
    on = describe(x=x, **params, mask=mask) + f", num_heads={h}"
    _, weights = as_tuple(
        learner.mha_forward(x, params, h, mask), 2, f"mha_forward(x, params, {h}, causal)", on
    )
    _, w_t = mha_oracle(torch_mha(d, h, params), x, causal_t=True)
    weights = assert_shape(weights, (n, h, t, t), "mha_forward: weights", on=on)
    assert_close(weights, w_t, "mha_forward: causal weights vs nn.MultiheadAttention", on=on,
                 hint="key j > query i must get weight 0 in every head; the rest of the row sums to 1")  # fmt: skip
    labels = [f"t{i}" for i in range(t)]
    report["figure"] = {"kind": "heatmap", "title": "mha_forward: head 0's causal attention map",
                        "matrix": np.asarray(weights[0, 0], dtype=float).tolist(),
                        "xticks": labels, "yticks": labels}  # fmt: skip


# ---------------------------------------------------------------------------------------
# mha_backward
# ---------------------------------------------------------------------------------------


def learner_mha_grads(learner, dout, x, params, h, mask, on):
    """The learner's (dx, dW_q, db_q, ...), in the order of ("x", *PARAMS), checked for form."""
    dx, grads = as_tuple(learner.mha_backward(dout, x, params, h, mask), 2,
                         f"mha_backward(dout, x, params, {h}, mask)", on)  # fmt: skip
    assert_true(isinstance(grads, dict) and set(grads) == set(PARAMS), "mha_backward: grads",
                f"expected a dict with the keys {list(PARAMS)}, got "
                f"{sorted(grads) if isinstance(grads, dict) else type(grads).__name__}", on=on,
                hint="one gradient per parameter, under the parameter's own name")  # fmt: skip
    return (dx, *(grads[p] for p in PARAMS))


@pytest.mark.parametrize("case", MHA_CASES, ids=str)
@pytest.mark.part("mha_backward", points=0.25)
def test_mha_backward_shapes(learner, case):
    """dx is shaped like x and every gradient like its parameter."""
    n, t, d, h = case
    rng = np.random.default_rng(15)
    x, dout = rng.normal(size=(n, t, d)), rng.normal(size=(n, t, d))
    params = mha_params(d, seed=15)
    on = describe(dout=dout, x=x, **params) + f", num_heads={h}"
    got = learner_mha_grads(learner, dout, x, params, h, None, on)
    for name, g in zip(("x", *PARAMS), got):
        shape = x.shape if name == "x" else params[name].shape
        assert_shape(g, shape, f"mha_backward: d{name} (shaped like {name})", on=on)


@DTYPES
@pytest.mark.parametrize("mask_kind", ["no_mask", "causal", "padding"])
@pytest.mark.part("mha_backward", points=0.25)
def test_mha_backward_values(learner, ref, mask_kind, dtype):
    """Every gradient equals the reference's (float64 exactly, float32 at float32 precision)."""
    rng = np.random.default_rng(16)
    x, dout = rng.normal(size=(2, 4, 6)).astype(dtype), rng.normal(size=(2, 4, 6)).astype(dtype)
    params = mha_params(6, seed=16, dtype=dtype)
    mask = MASKS[mask_kind](2, 4)
    on = describe(dout=dout, x=x, **params, mask=mask) + ", num_heads=3"
    got = learner_mha_grads(learner, dout, x, params, 3, mask, on)
    dx, grads = ref.mha_backward(dout.astype(np.float64), x.astype(np.float64),
                                 {p: w.astype(np.float64) for p, w in params.items()}, 3, mask)  # fmt: skip
    expected = {"x": dx, **grads}
    for name, g in zip(("x", *PARAMS), got):
        others = {f"d{o}": e for o, e in expected.items() if o != name}
        assert_close(g, expected[name], f"mha_backward: d{name}", on=on, others=others,
                     inputs={"dout": dout, "x": x}, hint=MHA_HINTS[name])  # fmt: skip


def torch_mha_forward(h, mask):
    """F.multi_head_attention_forward (what nn.MultiheadAttention runs) as a function of x and
    the (in, out) params, for torch.autograd; mask: ours (True = keep), no fully masked row."""
    import torch
    import torch.nn.functional as F

    def forward(x, W_q, b_q, W_k, b_k, W_v, b_v, W_o, b_o):
        n, t, d = x.shape
        attn_mask = None
        if mask is not None:  # PyTorch's (N * H, T, T), True = ignore
            full = np.broadcast_to(np.expand_dims(mask, -3), (n, h, t, t)).reshape(n * h, t, t)
            attn_mask = torch.tensor(~full)
        xt = x.transpose(0, 1)  # the functional form is sequence-first
        out, _ = F.multi_head_attention_forward(
            xt, xt, xt, d, h, torch.cat([W_q.T, W_k.T, W_v.T]), torch.cat([b_q, b_k, b_v]),
            None, None, False, 0.0, W_o.T, b_o, training=False, need_weights=False,
            attn_mask=attn_mask)  # fmt: skip
        return out.transpose(0, 1)

    return forward


MHA_BACKWARD_CASES = oracle_cases(
    ("numerical", "no_mask", "no_mask"),
    ("numerical", "empty_sequence", "padding_with_an_empty_sequence"),
    ("torch", "no_mask", "no_mask"),
    ("torch", "causal_padding", "causal_and_padding"),
)


@pytest.mark.parametrize("oracle,case", MHA_BACKWARD_CASES)
@pytest.mark.part("mha_backward", points=1)
def test_mha_backward_matches_oracles(learner, ref, oracle, case):
    """dx and every parameter's gradient of sum(dout * out), by float64 central differences of
    the reference and by torch.autograd through `F.multi_head_attention_forward` with the
    weights in PyTorch's layout."""
    n, t, d, h = 2, 3, 4, 2
    rng = np.random.default_rng(17)
    x, dout = rng.normal(size=(n, t, d)), rng.normal(size=(n, t, d))
    params = mha_params(d, seed=17)
    mask = {"no_mask": None, "empty_sequence": lengths_mask([0, 2], t),
            "causal_padding": causal(t) & lengths_mask([3, 2], t)}[case]  # fmt: skip
    on = describe(dout=dout, x=x, **params, mask=mask) + f", num_heads={h}"
    inputs = {"x": x, **params}
    forward = (
        torch_mha_forward(h, mask)
        if oracle == "torch"
        else (lambda x, **p: ref.mha_forward(x, p, h, mask)[0])
    )
    got = dict(zip(("x", *PARAMS), learner_mha_grads(learner, dout, x, params, h, mask, on)))
    # db_k is exactly 0 (adding b_k to every key adds q . b_k to a whole row of scores, which
    # the softmax ignores): central differences leave ~1e-11 of noise there, far above the
    # relative check's floor, so db_k is checked by the other oracle and the values test
    wrt = [name for name in got if oracle == "torch" or name != "b_k"]
    assert_backward(tuple(got[name] for name in wrt), forward, inputs, dout, wrt,
                    f"mha_backward(dout, x, params, {h}, mask)", oracle=oracle, on=on, hints=MHA_HINTS,
                    batch=n)  # fmt: skip
