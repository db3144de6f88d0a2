"""Grader for transformer: positional encoding, layer norm, attention, FFN, pre-LN blocks.

Layers: the positional encoding's shapes -> values (interleaved sin/cos, odd widths);
layer norm's shapes -> values against `F.layer_norm` (float64, float32, eps given, rows of
tiny variance, a huge offset); its backward's shapes -> values -> central differences and
torch.autograd of `F.layer_norm`; the causal mask's values; multi-head attention against
`nn.MultiheadAttention` with copied weights (no mask, causal, padding, a fully masked row)
and its causality; the FFN; the encoder and decoder blocks against PyTorch's
`TransformerEncoderLayer` / `TransformerDecoderLayer` (norm_first=True) with copied
weights, and the decoder's causality (a future position must not change the past).
"""

import numpy as np
import pytest

# Imported while pytest collects, not lazily in the first test that needs it: every full
# check needs torch here (the reference itself computes with it), and the learner's worker,
# started before collection, is importing it at the same time: the two ~3 s imports overlap
# on two cores instead of running one after the other.
import torch

from nnfs_cli.checks import (
    ADAM_HINT,
    DTYPES,
    LOSS_TOL,
    as_tuple,
    assert_backward,
    assert_close,
    assert_converges,
    assert_shape,
    assert_true,
    describe,
)

EPS = 1e-5
QKVO = ("Wq", "bq", "Wk", "bk", "Wv", "bv", "Wo", "bo")
HINTS = {
    "positional_encoding": "angle[p, i] = p / 10000**(2i / d_model) for the pair i; column 2i is sin(angle), "
    "column 2i+1 cos(angle) (interleaved, not [sin | cos])",
    "layer_norm_forward": "over the LAST axis: mu = x.mean(axis=-1, keepdims=True), var = ((x - mu)**2).mean(...) "
    "(divide by d), y = (x - mu) / (var + eps)**0.5 * gamma + beta",
    "x": "dx = (g - mean(g) - xhat * mean(g * xhat)) / sqrt(var + eps) with g = dout * gamma, means over the last axis",
    "gamma": "dgamma = (dout * xhat) summed over every axis but the last",
    "beta": "dbeta = dout summed over every axis but the last",
    "causal_mask": "True where query i may look at key j, i.e. j <= i: np.tril(np.ones((T, T), dtype=bool))",
    "multi_head_attention": "project, reshape (N, T, H, d_head) then transpose to (N, H, T, d_head); "
    "softmax(Q K^T / sqrt(d_head)) over the keys (last axis); merge heads back, then @ Wo + bo",
    "feed_forward": "relu(x @ W1 + b1) @ W2 + b2: one ReLU, between the two layers",
    "encoder_block": "pre-LN: h = LN1(x); x = x + MHA(h, h); x = x + FFN(LN2(x)): the residual adds the "
    "block's INPUT, not its normalized copy",
    "decoder_block": "pre-LN: causal self-attention on LN1(x), then cross-attention with queries LN2(x) "
    "and keys/values from the encoder's memory, then the FFN on LN3(x), each added to x",
}


# ---------------------------------------------------------------------------------------
# cases and PyTorch layers with their weights in this exercise's layout
# ---------------------------------------------------------------------------------------


def ln_case(shape, seed, dtype=np.float64, scale=1.0, offset=0.0):
    rng = np.random.default_rng(seed)
    d = shape[-1]
    a = {
        "x": offset + scale * rng.normal(size=shape),
        "gamma": rng.normal(1.0, 0.5, size=d),
        "beta": rng.normal(0.0, 0.5, size=d),
    }
    return {k: v.astype(dtype) for k, v in a.items()}


def torch_layer_norm(x, gamma, beta, eps=EPS):
    t = torch.as_tensor(x)
    return torch.nn.functional.layer_norm(
        t, (t.shape[-1],), torch.as_tensor(gamma), torch.as_tensor(beta), eps
    )


def numpy_of(t):
    return t.detach().numpy().copy()


def attn_params(mha, prefix=""):
    """nn.MultiheadAttention's stacked (3d, d) in_proj and (out, in) out_proj as (in, out)."""
    d = mha.embed_dim
    W, b = numpy_of(mha.in_proj_weight), numpy_of(mha.in_proj_bias)
    p = {}
    for i, n in enumerate("qkv"):
        p[f"{prefix}W{n}"], p[f"{prefix}b{n}"] = W[i * d : (i + 1) * d].T.copy(), b[i * d : (i + 1) * d]
    p[f"{prefix}Wo"], p[f"{prefix}bo"] = numpy_of(mha.out_proj.weight).T.copy(), numpy_of(mha.out_proj.bias)
    return p


def ln_params(norm, prefix):
    return {f"{prefix}gamma": numpy_of(norm.weight), f"{prefix}beta": numpy_of(norm.bias)}


def ffn_params(layer):
    return {
        "ffn_W1": numpy_of(layer.linear1.weight).T.copy(), "ffn_b1": numpy_of(layer.linear1.bias),
        "ffn_W2": numpy_of(layer.linear2.weight).T.copy(), "ffn_b2": numpy_of(layer.linear2.bias),
    }  # fmt: skip


def randomize(module, seed):
    """Every parameter redrawn (biases and layer norms included: PyTorch's are 0 and 1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, w in module.named_parameters():
            if "norm" in name and name.endswith("weight"):
                w.copy_(1 + 0.3 * torch.randn(w.shape, generator=g, dtype=w.dtype))
            else:
                w.copy_(torch.randn(w.shape, generator=g, dtype=w.dtype) / (w.shape[-1] ** 0.5 if w.dim() == 2 else 3))
    return module


def torch_mha(d, h, seed):
    return randomize(torch.nn.MultiheadAttention(d, h, batch_first=True, dtype=torch.float64), seed)


def torch_block(kind, d, h, d_ff, seed):
    """A PyTorch pre-LN block (dropout 0, relu) with random weights, and its weights as ours."""
    cls = torch.nn.TransformerEncoderLayer if kind == "encoder" else torch.nn.TransformerDecoderLayer
    layer = randomize(cls(d, h, d_ff, dropout=0.0, activation="relu", batch_first=True,
                          norm_first=True, dtype=torch.float64), seed)  # fmt: skip
    if kind == "encoder":
        p = {**ln_params(layer.norm1, "ln1_"), **attn_params(layer.self_attn, "attn_"),
             **ln_params(layer.norm2, "ln2_"), **ffn_params(layer)}  # fmt: skip
    else:
        p = {**ln_params(layer.norm1, "ln1_"), **attn_params(layer.self_attn, "self_"),
             **ln_params(layer.norm2, "ln2_"), **attn_params(layer.multihead_attn, "cross_"),
             **ln_params(layer.norm3, "ln3_"), **ffn_params(layer)}  # fmt: skip
    return layer, p


def as_dtype(arrays, dtype):
    return {k: v.astype(dtype) for k, v in arrays.items()}


def ref_array(t):
    """The reference computes with torch: its results as float64 arrays."""
    return np.asarray(t.detach().numpy() if hasattr(t, "detach") else t, dtype=np.float64)


# ---------------------------------------------------------------------------------------
# positional_encoding
# ---------------------------------------------------------------------------------------

PE_SIZES = [(1, 4), (7, 6), (5, 5), (12, 16), (50, 32)]


@pytest.mark.parametrize("size", PE_SIZES[:4], ids=str)
@pytest.mark.part("positional_encoding", points=0.25)
def test_positional_encoding_shapes(learner, size):
    """Returns (T, d_model)."""
    T, d = size
    assert_shape(learner.positional_encoding(T, d), (T, d), f"positional_encoding({T}, {d})")


@pytest.mark.parametrize("size", PE_SIZES, ids=str)
@pytest.mark.part("positional_encoding", points=0.5)
def test_positional_encoding_values(learner, ref, size):
    """PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(same); an odd d ends with a sin."""
    T, d = size
    assert_close(learner.positional_encoding(T, d), ref.positional_encoding(T, d),
                 f"positional_encoding({T}, {d})", on=f"T={T}, d_model={d}",
                 hint=HINTS["positional_encoding"])  # fmt: skip


# ---------------------------------------------------------------------------------------
# layer_norm_forward
# ---------------------------------------------------------------------------------------

LN_SHAPES = [(1, 4), (5, 3), (2, 3, 6), (4, 7, 5)]


@pytest.mark.parametrize("shape", LN_SHAPES, ids=str)
@pytest.mark.part("layer_norm_forward", points=0.25)
def test_layer_norm_forward_shapes(learner, shape):
    """y is shaped like x, for (N, d) and (N, T, d)."""
    a = ln_case(shape, seed=1)
    assert_shape(learner.layer_norm_forward(**a), shape, "layer_norm_forward(x, gamma, beta)",
                 on=describe(**a))  # fmt: skip


@DTYPES
@pytest.mark.parametrize("shape", LN_SHAPES, ids=str)
@pytest.mark.part("layer_norm_forward", points=0.25)
def test_layer_norm_forward_matches_torch(learner, shape, dtype):
    """Equals torch.nn.functional.layer_norm over the last axis (biased variance, eps = 1e-5
    inside the root), in float64 and float32."""
    a = ln_case(shape, seed=2 + len(shape), dtype=dtype)
    assert_close(learner.layer_norm_forward(**a), numpy_of(torch_layer_norm(**as_dtype(a, np.float64))),
                 "layer_norm_forward vs F.layer_norm", on=describe(**a), inputs=a,
                 hint=HINTS["layer_norm_forward"])  # fmt: skip


@pytest.mark.parametrize("eps", [0.1, 1e-3])
@pytest.mark.part("layer_norm_forward", points=0.5)
def test_layer_norm_forward_uses_eps(learner, eps):
    """The eps you are given, inside the root: F.layer_norm(eps=0.1) and (eps=1e-3)."""
    a = ln_case((3, 4, 6), seed=4)
    assert_close(learner.layer_norm_forward(**a, eps=eps), numpy_of(torch_layer_norm(**a, eps=eps)),
                 f"layer_norm_forward(x, gamma, beta, eps={eps})", on=describe(**a, eps=eps),
                 inputs=a, hint="(x - mu) / (var + eps) ** 0.5: eps inside the square root")  # fmt: skip


@pytest.mark.part("layer_norm_forward", points=1)
def test_layer_norm_forward_tiny_variance(learner):
    """Rows whose variance is near eps (scale 1e-3) and a constant row (y = beta, no NaN):
    where eps sits matters most there."""
    a = ln_case((4, 8), seed=5, scale=1e-3)
    a["x"][0] = 0.25
    assert_close(learner.layer_norm_forward(**a), numpy_of(torch_layer_norm(**a)),
                 "layer_norm_forward on rows of variance ~1e-6 (and a constant row 0)", on=describe(**a),
                 inputs=a, hint=HINTS["layer_norm_forward"])  # fmt: skip


@pytest.mark.part("layer_norm_forward", points=0.5)
def test_layer_norm_forward_large_offset(learner):
    """x = 1e6 + N(0, 1): the mean first, then the squared deviations (E[x^2] - E[x]^2 loses
    every digit of a variance of 1 under a mean square of 1e12)."""
    a = ln_case((3, 5, 8), seed=6, offset=1e6)
    # the reference itself rounds x - mu at 1e6 * 2e-16 ~ 2e-10 absolute, ~1e-10 relative
    assert_close(learner.layer_norm_forward(**a), numpy_of(torch_layer_norm(**a)),
                 "layer_norm_forward for x ~ 1e6 + N(0, 1)", on=describe(**a), inputs=a, rtol=1e-6,
                 hint="subtract the mean first, then average (x - mu)**2 (two passes)")  # fmt: skip


# ---------------------------------------------------------------------------------------
# layer_norm_backward
# ---------------------------------------------------------------------------------------


def ln_backward_case(shape, seed, dtype=np.float64):
    a = ln_case(shape, seed, dtype)
    dout = np.random.default_rng(seed + 100).normal(size=shape).astype(dtype)
    return dout, a


@pytest.mark.parametrize("shape", LN_SHAPES, ids=str)
@pytest.mark.part("layer_norm_backward", points=0.25)
def test_layer_norm_backward_shapes(learner, shape):
    """(dx, dgamma, dbeta) shaped like x, (d,), (d,): dgamma, dbeta summed over batch AND time."""
    dout, a = ln_backward_case(shape, seed=7)
    on = describe(dout=dout, **a)
    got = as_tuple(learner.layer_norm_backward(dout, **a), 3, "layer_norm_backward(dout, x, gamma, beta)", on)
    for name, g in zip(("x", "gamma", "beta"), got):
        assert_shape(g, a[name].shape, f"layer_norm_backward: d{name} (shaped like {name})", on=on,
                     hint=HINTS[name])  # fmt: skip


@DTYPES
@pytest.mark.parametrize("shape", LN_SHAPES, ids=str)
@pytest.mark.part("layer_norm_backward", points=0.25)
def test_layer_norm_backward_values(learner, ref, shape, dtype):
    """Every gradient equals the reference's, in float64 and float32."""
    dout, a = ln_backward_case(shape, seed=8 + len(shape), dtype=dtype)
    on = describe(dout=dout, **a)
    got = as_tuple(learner.layer_norm_backward(dout, **a), 3, "layer_norm_backward(dout, x, gamma, beta)", on)
    exp = dict(zip(("x", "gamma", "beta"), ref.layer_norm_backward(
        dout.astype(np.float64), **as_dtype(a, np.float64))))  # fmt: skip
    for name, g in zip(exp, got):
        others = {f"d{k}": v for k, v in exp.items() if k != name}
        assert_close(g, exp[name], f"layer_norm_backward: d{name}", on=on, others=others,
                     inputs={"dout": dout, **a}, hint=HINTS[name])  # fmt: skip


@pytest.mark.parametrize("oracle", ["numerical", "torch"])
@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 4)], ids=str)
@pytest.mark.part("layer_norm_backward", points=1)
def test_layer_norm_backward_matches_oracles(learner, ref, shape, oracle):
    """Every gradient of sum(dout * layer_norm(x)), by float64 central differences of the
    reference and by torch.autograd of F.layer_norm."""
    dout, a = ln_backward_case(shape, seed=9)
    forward = torch_layer_norm if oracle == "torch" else ref.layer_norm_forward
    assert_backward(learner.layer_norm_backward(dout, **a), forward, a, dout, ("x", "gamma", "beta"),
                    "layer_norm_backward(dout, x, gamma, beta)", oracle=oracle,
                    on=describe(dout=dout, **a), hints=HINTS)  # fmt: skip


# ---------------------------------------------------------------------------------------
# causal_mask
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("T", [1, 2, 5, 8])
@pytest.mark.part("causal_mask", points=0.5)
def test_causal_mask_values(learner, ref, T):
    """(T, T) booleans, True on and below the diagonal (key j <= query i): a mask that lets
    one future position through, or uses True = masked, fails here."""
    got = np.asarray(learner.causal_mask(T))
    assert_true(got.dtype == bool, f"causal_mask({T}): dtype", f"expected bool, got {got.dtype}",
                hint="np.tril(np.ones((T, T), dtype=bool)): masks are boolean, True = attend")  # fmt: skip
    assert_close(got.astype(np.float64), ref.causal_mask(T).astype(np.float64), f"causal_mask({T}) (1 = True)",
                 on=f"T={T}", hint=HINTS["causal_mask"])  # fmt: skip


# ---------------------------------------------------------------------------------------
# multi_head_attention
# ---------------------------------------------------------------------------------------

# (N, Tq, Tk, d, heads): batch 1, Tq != Tk both ways, one head, d_head 1.
MHA_CASES = [(1, 3, 3, 4, 2), (2, 4, 6, 6, 3), (3, 5, 2, 8, 1), (2, 3, 4, 4, 4)]


def mha_case(n, tq, tk, d, heads, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    p = {k: rng.normal(scale=d**-0.5 if k[0] == "W" else 0.3, size=(d, d) if k[0] == "W" else d) for k in QKVO}
    x_q, x_kv = rng.normal(size=(n, tq, d)), rng.normal(size=(n, tk, d))
    return x_q.astype(dtype), x_kv.astype(dtype), as_dtype(p, dtype)


def call_mha(learner, x_q, x_kv, p, heads, mask=None):
    on = describe(x_q=x_q, x_kv=x_kv, **p, n_heads=heads) + ("" if mask is None else f", mask {mask.shape}")
    out = as_tuple(learner.multi_head_attention(x_q, x_kv, p, heads, mask), 2,
                   "multi_head_attention(x_q, x_kv, p, n_heads, mask)", on)  # fmt: skip
    return out, on


@pytest.mark.parametrize("case", MHA_CASES, ids=str)
@pytest.mark.part("multi_head_attention", points=0.25)
def test_multi_head_attention_shapes(learner, case):
    """(out (N, Tq, d), weights (N, H, Tq, Tk))."""
    n, tq, tk, d, heads = case
    (out, w), on = call_mha(learner, *mha_case(*case, seed=10), heads)
    assert_shape(out, (n, tq, d), "multi_head_attention: out", on=on)
    assert_shape(w, (n, heads, tq, tk), "multi_head_attention: weights (N, H, Tq, Tk)", on=on)


def torch_mha_case(case, seed, mask=None):
    """PyTorch's MHA on the case, weights copied; our mask (True = attend) passed as its
    attn_mask with True = not allowed."""
    n, tq, tk, d, heads = case
    mha = torch_mha(d, heads, seed)
    rng = np.random.default_rng(seed)
    x_q, x_kv = rng.normal(size=(n, tq, d)), rng.normal(size=(n, tk, d))
    kwargs = {}
    if mask is not None:
        full = np.broadcast_to(mask, (n, heads, tq, tk)).reshape(n * heads, tq, tk)
        kwargs["attn_mask"] = torch.as_tensor(~full)
    with torch.no_grad():
        out, w = mha(torch.as_tensor(x_q), torch.as_tensor(x_kv), torch.as_tensor(x_kv),
                     need_weights=True, average_attn_weights=False, **kwargs)  # fmt: skip
    return x_q, x_kv, attn_params(mha), numpy_of(out), numpy_of(w)


def check_mha_vs_torch(learner, case, seed, mask, label):
    x_q, x_kv, p, out_t, w_t = torch_mha_case(case, seed, mask)
    (out, w), on = call_mha(learner, x_q, x_kv, p, case[4], mask)
    hint = HINTS["multi_head_attention"]
    assert_close(w, w_t, f"multi_head_attention: weights vs nn.MultiheadAttention ({label})", on=on,
                 others={"out": out_t}, hint=hint)  # fmt: skip
    assert_close(out, out_t, f"multi_head_attention: out vs nn.MultiheadAttention ({label})", on=on,
                 hint=hint)  # fmt: skip


@pytest.mark.parametrize("case", MHA_CASES, ids=str)
@pytest.mark.part("multi_head_attention", points=0.5)
def test_multi_head_attention_matches_torch(learner, case):
    """out and the per-head weights equal nn.MultiheadAttention(batch_first=True) with the
    same weights (its stacked (3d, d) in_proj split and transposed to (in, out))."""
    check_mha_vs_torch(learner, case, seed=11, mask=None, label="no mask")


@pytest.mark.parametrize("case", [(2, 5, 5, 4, 2), (1, 6, 6, 6, 3)], ids=str)
@pytest.mark.part("multi_head_attention", points=0.5)
def test_multi_head_attention_causal(learner, ref, case):
    """With the causal mask (T, T) (True = attend) the weights of future keys are exactly 0,
    and out equals nn.MultiheadAttention with the equivalent attn_mask (True = not allowed)."""
    mask = ref.causal_mask(case[1])
    check_mha_vs_torch(learner, case, seed=12, mask=mask, label="causal mask, True = attend")


@pytest.mark.part("multi_head_attention", points=0.5)
def test_multi_head_attention_padding_mask(learner):
    """A padding mask (N, 1, 1, Tk) hides each sequence's last keys: weights exactly 0 there."""
    case = (3, 4, 5, 6, 2)
    lengths = np.array([5, 3, 1])
    mask = (np.arange(5)[None, :] < lengths[:, None])[:, None, None, :]
    check_mha_vs_torch(learner, case, seed=13, mask=mask, label="padding mask (N, 1, 1, Tk)")
    x_q, x_kv, p, _, _ = torch_mha_case(case, 13, mask)
    (_, w), on = call_mha(learner, x_q, x_kv, p, 2, mask)
    hidden = np.asarray(w)[~np.broadcast_to(mask, np.shape(w))]
    assert_true(np.all(hidden == 0), "multi_head_attention: weights on masked keys",
                f"expected exactly 0, got values up to {np.abs(hidden).max():.3g}", on=on,
                hint="set masked scores to -inf before the softmax (or zero the weights with a where): "
                "a large finite negative leaves tiny weights")  # fmt: skip


@pytest.mark.part("multi_head_attention", points=0.5)
def test_multi_head_attention_fully_masked_row(learner, ref):
    """A query whose keys are all masked gets weights 0 and out = bo, never NaN (PyTorch's
    SDPA gives NaN there: this exercise chooses 0)."""
    x_q, x_kv, p = mha_case(2, 3, 4, 4, 2, seed=14)
    mask = np.ones((2, 1, 3, 4), dtype=bool)
    mask[1, 0, 2] = False
    (out, w), on = call_mha(learner, x_q, x_kv, p, 2, mask)
    exp_out, exp_w = (ref_array(t) for t in ref.multi_head_attention(x_q, x_kv, p, 2, mask))
    hint = "a row with every key masked: exp gives all zeros; divide by the sum only where it is > 0"
    assert_close(w, exp_w, "multi_head_attention: weights with a fully masked row", on=on, hint=hint)
    assert_close(out, exp_out, "multi_head_attention: out with a fully masked row (= bo there)", on=on,
                 hint=hint)  # fmt: skip


@pytest.mark.part("multi_head_attention", points=0.25)
def test_multi_head_attention_large_scores(learner, ref):
    """Inputs 30x larger: scores reach the thousands, past where exp overflows (709). The
    softmax subtracts each row's max first, so the weights stay finite and sum to 1."""
    x_q, x_kv, p = mha_case(2, 3, 4, 4, 2, seed=16)
    x_q, x_kv = 30 * x_q, 30 * x_kv
    (out, w), on = call_mha(learner, x_q, x_kv, p, 2)
    exp_out, exp_w = (ref_array(t) for t in ref.multi_head_attention(x_q, x_kv, p, 2))
    hint = "exp of a score in the thousands is inf: subtract each row's max score before exp (softmax is unchanged by it)"
    assert_close(w, exp_w, "multi_head_attention: weights with scores in the thousands", on=on, hint=hint)
    assert_close(out, exp_out, "multi_head_attention: out with scores in the thousands", on=on, hint=hint)


@pytest.mark.parametrize("case", MHA_CASES[1:3], ids=str)
@pytest.mark.part("multi_head_attention", points=0.25)
def test_multi_head_attention_float32(learner, ref, case):
    """float32 inputs give float32-accurate results."""
    x_q, x_kv, p = mha_case(*case, seed=15, dtype=np.float32)
    (out, w), on = call_mha(learner, x_q, x_kv, p, case[4])
    exp_out, exp_w = (ref_array(t) for t in ref.multi_head_attention(
        x_q.astype(np.float64), x_kv.astype(np.float64), as_dtype(p, np.float64), case[4]))  # fmt: skip
    inputs = {"x_q": x_q, "x_kv": x_kv}
    assert_close(w, exp_w, "multi_head_attention: weights (float32)", on=on, inputs=inputs,
                 hint=HINTS["multi_head_attention"])  # fmt: skip
    assert_close(out, exp_out, "multi_head_attention: out (float32)", on=on, inputs=inputs,
                 hint=HINTS["multi_head_attention"])  # fmt: skip


# ---------------------------------------------------------------------------------------
# feed_forward
# ---------------------------------------------------------------------------------------


@DTYPES
@pytest.mark.parametrize("dims", [(1, 1, 3, 5), (2, 4, 6, 8), (3, 2, 4, 3)], ids=str)
@pytest.mark.part("feed_forward", points=0.5)
def test_feed_forward_matches_torch(learner, dims, dtype):
    """relu(x @ W1 + b1) @ W2 + b2 on (N, T, d), against torch's linear layers (W.T)."""
    n, t, d, d_ff = dims
    rng = np.random.default_rng(16)
    a = {"x": rng.normal(size=(n, t, d)), "W1": rng.normal(size=(d, d_ff)), "b1": rng.normal(size=d_ff),
         "W2": rng.normal(size=(d_ff, d)), "b2": rng.normal(size=d)}  # fmt: skip
    F, T = torch.nn.functional, {k: torch.as_tensor(v) for k, v in a.items()}
    exp = numpy_of(F.linear(F.relu(F.linear(T["x"], T["W1"].T, T["b1"])), T["W2"].T, T["b2"]))
    a = as_dtype(a, dtype)
    on = describe(**a)
    got = learner.feed_forward(*a.values())
    assert_shape(got, (n, t, d), "feed_forward: output", on=on)
    assert_close(got, exp, "feed_forward(x, W1, b1, W2, b2)", on=on, inputs=a, hint=HINTS["feed_forward"])


# ---------------------------------------------------------------------------------------
# encoder_block and decoder_block
# ---------------------------------------------------------------------------------------

# (N, T, S, d, heads, d_ff): batch 1, S != T both ways.
BLOCK_CASES = [(1, 4, 3, 4, 2, 6), (2, 5, 7, 6, 3, 10), (3, 3, 4, 8, 2, 12)]


def block_inputs(n, t, s, d, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, t, d)), rng.normal(size=(n, s, d))


@pytest.mark.parametrize("case", BLOCK_CASES, ids=str)
@pytest.mark.part("encoder_block", points=0.75)
def test_encoder_block_matches_torch(learner, case):
    """Equals nn.TransformerEncoderLayer(norm_first=True, dropout=0, relu, batch_first=True)
    with its weights copied in (every weight, bias and layer norm random)."""
    n, t, s, d, heads, d_ff = case
    layer, p = torch_block("encoder", d, heads, d_ff, seed=17 + d)
    x, _ = block_inputs(n, t, s, d, seed=17)
    with torch.no_grad():
        exp = numpy_of(layer(torch.as_tensor(x)))
    on = describe(x=x) + f", n_heads={heads}, d_ff={d_ff}"
    got = learner.encoder_block(x, p, heads)
    assert_shape(got, (n, t, d), "encoder_block: output", on=on)
    assert_close(got, exp, "encoder_block vs nn.TransformerEncoderLayer(norm_first=True)", on=on,
                 inputs={"x": x}, hint=HINTS["encoder_block"])  # fmt: skip


@pytest.mark.part("encoder_block", points=0.5)
def test_encoder_block_float32(learner, ref):
    """float32 inputs and weights give float32-accurate results."""
    _, p = torch_block("encoder", 6, 2, 8, seed=18)
    x, _ = block_inputs(2, 5, 1, 6, seed=18)
    exp = ref_array(ref.encoder_block(x, p, 2))
    x32, p32 = x.astype(np.float32), as_dtype(p, np.float32)
    assert_close(learner.encoder_block(x32, p32, 2), exp, "encoder_block (float32)",
                 on=describe(x=x32) + ", n_heads=2", inputs={"x": x32}, hint=HINTS["encoder_block"])  # fmt: skip


def torch_decoder(layer, x, memory):
    T = x.shape[1]
    causal = torch.nn.Transformer.generate_square_subsequent_mask(T, dtype=torch.float64)
    with torch.no_grad():
        return numpy_of(layer(torch.as_tensor(x), torch.as_tensor(memory), tgt_mask=causal, tgt_is_causal=True))


@pytest.mark.parametrize("case", BLOCK_CASES, ids=str)
@pytest.mark.part("decoder_block", points=0.75)
def test_decoder_block_matches_torch(learner, case):
    """Equals nn.TransformerDecoderLayer(norm_first=True, dropout=0, relu, batch_first=True)
    with its weights copied in, a causal tgt_mask and an encoder memory of another length."""
    n, t, s, d, heads, d_ff = case
    layer, p = torch_block("decoder", d, heads, d_ff, seed=19 + d)
    x, memory = block_inputs(n, t, s, d, seed=19)
    on = describe(x=x, memory=memory) + f", n_heads={heads}, d_ff={d_ff}"
    got = learner.decoder_block(x, memory, p, heads)
    assert_shape(got, (n, t, d), "decoder_block: output (N, T, d), T of the decoder", on=on)
    assert_close(got, torch_decoder(layer, x, memory), "decoder_block vs nn.TransformerDecoderLayer(norm_first=True)",
                 on=on, inputs={"x": x, "memory": memory}, hint=HINTS["decoder_block"])  # fmt: skip


@pytest.mark.part("decoder_block", points=1)
def test_decoder_block_is_causal(learner):
    """Changing the decoder input at positions >= t leaves the outputs before t unchanged
    (a mask that lets one future position through fails here), for every t."""
    _, p = torch_block("decoder", 6, 2, 8, seed=20)
    x, memory = block_inputs(2, 6, 4, 6, seed=20)
    base = np.asarray(learner.decoder_block(x, memory, p, 2), dtype=np.float64)
    for t in range(1, 6):
        changed = x.copy()
        changed[:, t:] += np.random.default_rng(t).normal(size=changed[:, t:].shape)
        out = np.asarray(learner.decoder_block(changed, memory, p, 2), dtype=np.float64)
        assert_close(out[:, :t], base[:, :t], f"decoder_block: outputs before position {t} after changing "
                     f"positions {t}..5", on=describe(x=x, memory=memory) + ", n_heads=2",
                     hint="the self-attention of position i may only see keys j <= i: apply causal_mask(T), "
                     "True = attend")  # fmt: skip


@pytest.mark.part("decoder_block", points=0.5)
def test_decoder_block_float32(learner, ref):
    """float32 inputs and weights give float32-accurate results."""
    _, p = torch_block("decoder", 6, 3, 8, seed=21)
    x, memory = block_inputs(2, 4, 5, 6, seed=21)
    exp = ref_array(ref.decoder_block(x, memory, p, 3))
    x32, m32, p32 = x.astype(np.float32), memory.astype(np.float32), as_dtype(p, np.float32)
    assert_close(learner.decoder_block(x32, m32, p32, 3), exp, "decoder_block (float32)",
                 on=describe(x=x32, memory=m32) + ", n_heads=3", inputs={"x": x32, "memory": m32},
                 hint=HINTS["decoder_block"])  # fmt: skip


# ---------------------------------------------------------------------------------------
# transformer_forward and train_transformer
# ---------------------------------------------------------------------------------------

# The reversal task: sequences of 5 symbols (1..5; 0 is BOS), length 5, reversed.
VOCAB, LENGTH = 6, 5
# One setting for the grader's training run: d_model 16, 2 heads, d_ff 32, one layer, 50
# full-batch Adam steps at lr 0.015 (0.03 overshot: one init seed in six ended at 85%).
TRAIN = {"d_model": 16, "n_heads": 2, "d_ff": 32, "n_layers": 1, "steps": 50, "lr": 0.015, "seed": 0}
# Measured over init seeds 0-5, float64 (the reference) and float32 (the alternative) alike:
# held-out token accuracy 0.950-0.994 (seed 0: 0.992), last loss 0.004-0.019. The targets
# leave 10 points of accuracy and a loss 15 times the worst seed's for any correct learner.
ACCURACY, LOSS_TARGET = 0.85, 0.3
# The first losses must follow Adam step for step (its bias correction shows at once).
ADAM_STEPS = 5


def reverse_task(n, seed):
    src = np.random.default_rng(seed).integers(1, VOCAB, size=(n, LENGTH))
    return src, src[:, ::-1].copy()


def shifted(tgt):
    """Teacher forcing: BOS (0), then the target without its last token."""
    return np.concatenate([np.zeros_like(tgt[:, :1]), tgt[:, :-1]], axis=1)


def model_params(ref, d, d_ff, n_layers, seed):
    """init_transformer's parameters with every entry perturbed (biases, norms included)."""
    rng = np.random.default_rng(seed)
    return {k: v + 0.3 * rng.normal(size=v.shape) for k, v in ref.init_transformer(VOCAB, d, d_ff, n_layers, seed).items()}


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.part("transformer_forward", points=1)
def test_transformer_forward_values(learner, ref, layers):
    """Logits (N, T, V) equal the reference's for a source of 4 tokens and a target of 3,
    with 1 and 2 layers of each kind."""
    p = model_params(ref, 8, 12, layers, seed=22 + layers)
    rng = np.random.default_rng(22)
    src, tgt_in = rng.integers(1, VOCAB, size=(3, 4)), shifted(rng.integers(1, VOCAB, size=(3, 3)))
    on = describe(src=src, tgt_in=tgt_in) + f", d_model=8, n_heads=2, n_layers={layers}"
    got = learner.transformer_forward(p, src, tgt_in, 2, layers)
    assert_shape(got, (3, 3, VOCAB), "transformer_forward: logits (N, T, V)", on=on)
    assert_close(got, ref_array(ref.transformer_forward(p, src, tgt_in, 2, layers)), "transformer_forward: logits",
                 on=on, hint="src_embed[src] + PE -> encoder blocks -> enc_ln = memory; tgt_embed[tgt_in] + PE -> "
                 "decoder blocks -> dec_ln -> @ W_out + b_out")  # fmt: skip


@pytest.mark.part("transformer_forward", points=1)
def test_transformer_forward_is_causal(learner, ref):
    """Changing the target input at positions >= t leaves the logits before t unchanged."""
    p = model_params(ref, 8, 12, 1, seed=23)
    rng = np.random.default_rng(23)
    src, tgt_in = rng.integers(1, VOCAB, size=(2, 5)), shifted(rng.integers(1, VOCAB, size=(2, 5)))
    base = np.asarray(learner.transformer_forward(p, src, tgt_in, 2, 1), dtype=np.float64)
    for t in range(1, 5):
        changed = tgt_in.copy()
        changed[:, t:] = VOCAB - changed[:, t:]  # a different token everywhere from t on
        out = np.asarray(learner.transformer_forward(p, src, changed, 2, 1), dtype=np.float64)
        assert_close(out[:, :t], base[:, :t], f"transformer_forward: logits before position {t} after "
                     f"changing tgt_in from position {t} on", on=describe(src=src, tgt_in=tgt_in),
                     hint="the decoder's self-attention must use causal_mask(T)")  # fmt: skip


def cross_attention_map(ref, p, src, tgt_in):
    """The trained model's cross-attention weights (first example), recomputed by the
    reference on the learner's parameters: (H, T, S)."""
    as_tensor, no_grad = torch.as_tensor, torch.no_grad
    with no_grad():
        sub = lambda pre: {k[len(pre):]: as_tensor(v) for k, v in p.items() if k.startswith(pre)}  # noqa: E731
        pe = as_tensor(ref.positional_encoding(LENGTH, TRAIN["d_model"]))
        x = ref.encoder_block(as_tensor(p["src_embed"])[as_tensor(src)] + pe, sub("enc0_"), TRAIN["n_heads"])
        memory = ref.layer_norm_forward(x, as_tensor(p["enc_ln_gamma"]), as_tensor(p["enc_ln_beta"]))
        y, d = as_tensor(p["tgt_embed"])[as_tensor(tgt_in)] + pe, sub("dec0_")
        h = ref.layer_norm_forward(y, d["ln1_gamma"], d["ln1_beta"])
        y = y + ref.multi_head_attention(h, h, sub("dec0_self_"), TRAIN["n_heads"], ref.causal_mask(LENGTH))[0]
        h = ref.layer_norm_forward(y, d["ln2_gamma"], d["ln2_beta"])
        return ref.multi_head_attention(h, memory, sub("dec0_cross_"), TRAIN["n_heads"])[1][0].numpy()


@pytest.mark.part("train_transformer", points=3)
def test_train_transformer_learns_to_reverse(learner, ref, report):
    """Your transformer_forward is right (training uses it); the first loss is the mean
    cross-entropy at init_transformer's parameters and the next four follow Adam; within 50
    steps the loss gets below 0.3 and the trained model gets at least 85% of the tokens of
    256 unseen sequences right (the reference: 99%)."""
    # Training runs your transformer_forward: check it first, on a small case (a wrong model
    # is then named at once, and training is not replayed to explain it).
    p = model_params(ref, 8, 12, 1, seed=24)
    small_src, small_tgt = reverse_task(2, seed=24)
    assert_close(learner.transformer_forward(p, small_src, shifted(small_tgt), 2, 1),
                 ref_array(ref.transformer_forward(p, small_src, shifted(small_tgt), 2, 1)),
                 "train_transformer needs transformer_forward: logits", on=describe(src=small_src),
                 hint="fix transformer_forward (and the parts it uses) first: training runs it")  # fmt: skip
    src, tgt = reverse_task(128, seed=0)
    on = describe(src=src, tgt=tgt) + ", " + ", ".join(f"{k}={v}" for k, v in TRAIN.items())
    # First a short run, step for step against the reference's from the same init: a wrong
    # update is named here (a known bug is replayed on this short call, not on a long run
    # whose last steps amplify rounding); float32 and float64 runs agree to ~1e-7 relative
    # over these steps (measured), well inside LOSS_TOL (float32's).
    short = TRAIN | {"steps": ADAM_STEPS}
    on_short = on.replace(f"steps={TRAIN['steps']}", f"steps={ADAM_STEPS}")
    # a long limit here too: the first call may pay imports (torch.optim's first step: ~2 s)
    _, first = as_tuple(learner.train_transformer.with_timeout(120)(src, tgt, VOCAB, *short.values()), 2,
                        "train_transformer(...)", on_short)  # fmt: skip
    first = np.asarray(as_tuple(first, ADAM_STEPS, "train_transformer: the losses (one per step)", on_short))
    ref_first = np.asarray(ref.train_transformer(src, tgt, VOCAB, *short.values())[1])
    assert_close(first[0], ref_first[0], "train_transformer: the first loss (before any step)", on=on_short,
                 **LOSS_TOL, hint="start from init_transformer(vocab_size, d_model, d_ff, n_layers, seed); the loss "
                 "is the mean cross-entropy of the logits for tgt_in = [0, tgt[:, :-1]] against tgt")  # fmt: skip
    assert_close(first, ref_first, "train_transformer: the loss before each step (Adam from init_transformer)",
                 on=on_short, **LOSS_TOL, hint=ADAM_HINT)  # fmt: skip
    params, losses = as_tuple(learner.train_transformer.with_timeout(120)(src, tgt, VOCAB, *TRAIN.values()), 2,
                              "train_transformer(...)", on)  # fmt: skip
    curve = np.asarray(as_tuple(losses, TRAIN["steps"], "train_transformer: the losses (one per step)", on))
    assert_converges(curve, LOSS_TARGET, "train_transformer on reversing sequences", budget=TRAIN["steps"], on=on,
                     hint="check the blocks' tests first; then one Adam step per step on every parameter")  # fmt: skip
    test_src, test_tgt = reverse_task(256, seed=1)
    logits = np.asarray(learner.transformer_forward(params, test_src, shifted(test_tgt), TRAIN["n_heads"],
                                                    TRAIN["n_layers"]))  # fmt: skip
    accuracy = float((logits.argmax(axis=-1) == test_tgt).mean())
    assert_true(accuracy >= ACCURACY, "train_transformer: accuracy on 256 unseen sequences",
                f"{accuracy:.1%} of the tokens right; needed {ACCURACY:.0%} (the loss went down to {curve.min():.3g}: "
                "a low loss with a low accuracy is memorising, or the forward differs between training and use)",
                on=on, hint="train on tgt_in = [0, tgt[:, :-1]] and predict tgt")  # fmt: skip
    weights = cross_attention_map(ref, params, test_src[:1], shifted(test_tgt[:1]))
    report["figure"] = {"kind": "heatmap", "title": f"Your transformer reverses {test_src[0].tolist()}: cross-attention, head 1",
                        "matrix": weights[0].tolist(), "xticks": [f"src {t}" for t in test_src[0]],
                        "yticks": [f"out {t}" for t in test_tgt[0]], "xlabel": "source position (key)",
                        "ylabel": "output position (query)"}  # fmt: skip
    report["title"] = "train_transformer on reversal"
    report["table"] = f"held-out token accuracy {accuracy:.1%} (needed {ACCURACY:.0%}); last loss {curve[-1]:.3g}"
