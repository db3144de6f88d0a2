"""Grader for llm-architectures: RMSNorm and its backward, SwiGLU, rotary embeddings,
grouped-query attention, mixture-of-experts routing and the load-balancing loss, chunking
and cosine retrieval, ViT patch embeddings.

Trusted references: PyTorch's own operations wherever it has them (`F.rms_norm`,
`F.silu` and `F.linear` with the weights transposed, a strided `F.conv2d` for patches, `F.scaled_dot_product_attention`
with `enable_gqa` and with repeated key/value heads, `nn.MultiheadAttention` with the
weights copied in), torch.autograd and float64 central differences for every gradient, a
complex-number NumPy form of RoPE (the half-split pair (i, i + d/2) is the complex number
x_i + i x_{i+d/2}, multiplied by e^{i p theta_i}), and NumPy for the MoE parts (PyTorch
has no router). torch is imported inside the tests that use it.
"""

import numpy as np
import pytest

from nnfs_cli.checks import (
    DTYPES,
    LOSS_TOL,
    as_tuple,
    assert_backward,
    assert_close,
    assert_shape,
    assert_true,
    describe,
)

HINTS = {
    "rms_norm": "rms = sqrt(mean(x**2 over the last axis) + eps), eps inside the root; y = x / rms * gamma; "
    "no mean subtraction, no bias",
    "rms_norm_backward": "with g = dy * gamma and xhat = x / rms: dx = (g - xhat * mean(g * xhat, last axis)) / "
    "rms; dgamma = (dy * xhat) summed over every axis but the last",
    "swiglu": "(silu(x @ W1) * (x @ W3)) @ W2 with silu(z) = z * sigmoid(z): W1 is the gate (through SiLU), W3 "
    "the linear branch",
    "rope": "half-split: angle = (offset + t) * base**(-2i/d) for i < d/2; out = x * cos + rotate_half(x) * sin "
    "with rotate_half(x) = [-x[d/2:], x[:d/2]] and cos, sin repeated for both halves",
    "grouped_query_attention": "q (N, n_head, T, d_head), k and v (N, n_kv_head, T, d_head); repeat each kv "
    "head n_head // n_kv_head times side by side (repeat_interleave on the head axis); causal softmax of "
    "q k^T / sqrt(d_head); merge the heads; @ Wo",
    "moe_route": "probs = softmax(logits over the experts); the k largest per token (stable sort, descending); "
    "gates = those k probabilities / their sum; accept first choices for every token, then second choices, "
    "each while the expert has room",
    "chunk_tokens": "start = 0; repeat: append tokens[start:start + size]; stop once start + size >= "
    "len(tokens), else start += size - overlap",
    "rag_retrieve": "cosine = (M @ q) / (|M_i| |q|), 0 where a norm is 0; a stable descending sort; the first k "
    "indices and their scores",
    "patch_embed": "reshape (N, C, H/P, P, W/P, P), permute to (N, H/P, W/P, C, P, P), reshape (N, patches, "
    "C P P), then @ W + b",
    "load_balancing_loss": "f_i = count of expert i in `experts` / (T k); P_i = mean over tokens of "
    "softmax(logits)[:, i]; loss = E * sum(f * P); the gradient flows through P only",
}
EPS = 1e-6


def as_dtype(arrays, dtype):
    return {k: v.astype(dtype) for k, v in arrays.items()}


def numpy_of(t):
    return t.detach().numpy().astype(np.float64)


def t64(a):
    import torch

    return torch.as_tensor(np.asarray(a, dtype=np.float64))


# ---------------------------------------------------------------------------------------
# rms_norm and its backward
# ---------------------------------------------------------------------------------------

# (shape): batch 1, one feature, odd and non-square sizes, 3-D (batch, positions, features)
RMS_SHAPES = [(1, 4), (3, 5), (2, 3, 7), (4, 1), (1, 1, 6)]


def rms_case(shape, seed):
    """x with a clear nonzero mean per row (so a mean subtracted shows) and gamma != 1."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape) + 1.5, rng.normal(size=shape[-1]) + 1.0


def torch_rms_norm(x, gamma, eps=EPS):
    import torch

    xt = x if isinstance(x, torch.Tensor) else t64(x)
    gt = gamma if isinstance(gamma, torch.Tensor) else t64(gamma)
    return torch.nn.functional.rms_norm(xt, (xt.shape[-1],), gt, eps)


def numpy_rms_norm(x, gamma, eps=EPS):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * gamma


def check_rms(learner, x, gamma, eps, what, **tol):
    on = describe(x=x, gamma=gamma) + f", eps={eps:g}"
    exp = numpy_of(torch_rms_norm(x, gamma, eps))
    got = learner.rms_norm(x, gamma, eps)
    assert_shape(got, x.shape, "rms_norm: y (shaped like x)", on=on)
    assert_close(
        got,
        exp,
        f"rms_norm vs F.rms_norm ({what})",
        on=on,
        inputs={"x": x},
        hint=HINTS["rms_norm"],
        **tol,
    )


@pytest.mark.parametrize("shape", RMS_SHAPES, ids=str)
@pytest.mark.part("rms_norm", points=0.2)
def test_rms_norm_matches_torch(learner, shape):
    """Equals F.rms_norm(x, (d,), gamma, eps=1e-6) on rows whose mean is not 0."""
    x, gamma = rms_case(shape, seed=len(shape) + shape[-1])
    check_rms(learner, x, gamma, EPS, "float64")


@DTYPES
@pytest.mark.part("rms_norm", points=0.25)
def test_rms_norm_dtypes(learner, dtype):
    """float64 and float32 inputs, (3, 4, 8): float32 answers at float32 precision."""
    x, gamma = rms_case((3, 4, 8), seed=3)
    check_rms(learner, x.astype(dtype), gamma.astype(dtype), EPS, np.dtype(dtype).name)


@pytest.mark.part("rms_norm", points=0.5)
def test_rms_norm_eps_inside_the_root(learner):
    """Rows of size ~1e-3 (mean x^2 ~ eps) and eps = 0.1: eps goes inside the root, and
    the eps argument is used."""
    x, gamma = rms_case((3, 6), seed=4)
    check_rms(learner, 1e-3 * (x - 1.5), gamma, EPS, "rows of size 1e-3, eps 1e-6")
    check_rms(learner, x, gamma, 0.1, "eps = 0.1")


@pytest.mark.part("rms_norm", points=0.5)
def test_rms_norm_extreme_rows(learner):
    """A row of zeros gives zeros (eps keeps it finite); rows of size 1e-150 and 1e150
    are finite and equal the reference (x / rms is scale-free: only eps breaks that)."""
    x, gamma = rms_case((4, 5), seed=5)
    x[0] = 0.0
    check_rms(learner, x, gamma, EPS, "a row of zeros")
    big = np.random.default_rng(5).normal(size=(2, 5)) * 1e100
    check_rms(learner, big, gamma, EPS, "rows of size 1e100")


def rms_backward_case(shape, seed):
    x, gamma = rms_case(shape, seed)
    return {"x": x, "gamma": gamma}, np.random.default_rng(seed + 100).normal(size=shape)


def torch_rms_forward(x, gamma):
    return torch_rms_norm(x, gamma)


def numpy_rms_forward(x, gamma):
    return numpy_rms_norm(x, gamma)


# d = 1 left out: its dx is ~eps-sized (y = sign(x) gamma almost), below central differences' noise
@pytest.mark.parametrize("shape", [(1, 4), (3, 5), (2, 3, 7), (4, 2), (1, 1, 6)], ids=str)
@pytest.mark.parametrize("oracle", ["numerical", "torch"])
@pytest.mark.part("rms_norm_backward", points=0.2)
def test_rms_norm_backward(learner, shape, oracle):
    """(dx, dgamma) equal the gradients of sum(dy * rms_norm(x, gamma)) by float64
    central differences and by torch.autograd through F.rms_norm."""
    inputs, dy = rms_backward_case(shape, seed=6 + shape[-1])
    on = describe(dy=dy, **inputs) + f", eps={EPS:g}"
    got = learner.rms_norm_backward(dy, inputs["x"], inputs["gamma"], EPS)
    forward = torch_rms_forward if oracle == "torch" else numpy_rms_forward
    assert_backward(got, forward, inputs, dy, ("x", "gamma"), "rms_norm_backward(dy, x, gamma, eps)",
                    oracle=oracle, on=on, hints=dict.fromkeys(("x", "gamma"), HINTS["rms_norm_backward"]))  # fmt: skip


@pytest.mark.part("rms_norm_backward", points=0.5)
def test_rms_norm_backward_float32(learner):
    """float32 dy, x, gamma (2, 3, 6): both gradients at float32 precision against
    torch.autograd in float64."""

    inputs, dy = rms_backward_case((2, 3, 6), seed=7)
    leaves = {k: t64(v).requires_grad_(True) for k, v in inputs.items()}
    (torch_rms_norm(leaves["x"], leaves["gamma"]) * t64(dy)).sum().backward()
    x32, g32, dy32 = (
        inputs["x"].astype(np.float32),
        inputs["gamma"].astype(np.float32),
        dy.astype(np.float32),
    )
    on = describe(dy=dy32, x=x32, gamma=g32)
    dx, dgamma = as_tuple(
        learner.rms_norm_backward(dy32, x32, g32, EPS), 2, "rms_norm_backward", on
    )
    for name, got in (("x", dx), ("gamma", dgamma)):
        assert_close(got, leaves[name].grad.numpy(), f"rms_norm_backward: d{name} (float32)", on=on,
                     inputs={"x": x32}, hint=HINTS["rms_norm_backward"])  # fmt: skip


# ---------------------------------------------------------------------------------------
# swiglu
# ---------------------------------------------------------------------------------------

# (x shape, hidden h)
SWIGLU_CASES = [((1, 4), 6), ((3, 5), 7), ((2, 3, 6), 16), ((4, 1), 3)]


def swiglu_case(shape, h, seed):
    rng = np.random.default_rng(seed)
    d = shape[-1]
    x = rng.normal(size=shape)
    return x, {
        name: rng.normal(size=s) / np.sqrt(s[0])
        for name, s in (("W1", (d, h)), ("W3", (d, h)), ("W2", (h, d)))
    }


def torch_swiglu(x, w):
    """F.silu and F.linear with the (in, out) weights as nn.Linear's (out, in)."""
    import torch

    F = torch.nn.functional
    t = {k: t64(v) for k, v in w.items()}
    xt = t64(x)
    return numpy_of(F.linear(F.silu(F.linear(xt, t["W1"].T)) * F.linear(xt, t["W3"].T), t["W2"].T))


def check_swiglu(learner, x, w, what, **tol):
    on = describe(x=x, **w)
    exp = torch_swiglu(x, w)
    got = learner.swiglu(x, w["W1"], w["W3"], w["W2"])
    assert_shape(got, x.shape, "swiglu: output (..., d)", on=on)
    assert_close(got, exp, f"swiglu vs F.linear(F.silu(F.linear(x, W1.T)) * F.linear(x, W3.T), W2.T) ({what})",
                 on=on, inputs={"x": x}, hint=HINTS["swiglu"], **tol)  # fmt: skip


@pytest.mark.parametrize(("shape", "h"), SWIGLU_CASES, ids=str)
@pytest.mark.part("swiglu", points=0.3)
def test_swiglu_matches_torch(learner, shape, h):
    """Equals PyTorch's SiLU-gated MLP (LLaMA's w1, w3, w2) for 2-D and 3-D x, h != d."""
    x, w = swiglu_case(shape, h, seed=8 + h)
    check_swiglu(learner, x, w, "float64")


@pytest.mark.part("swiglu", points=0.5)
def test_swiglu_float32(learner):
    """float32 x and weights give float32-accurate results."""
    x, w = swiglu_case((3, 4, 6), 10, seed=9)
    check_swiglu(learner, x.astype(np.float32), as_dtype(w, np.float32), "float32")


@pytest.mark.part("swiglu", points=0.5)
def test_swiglu_large_inputs(learner):
    """x scaled by 300 (gate pre-activations of +-1e3): silu saturates to z or 0, never NaN."""
    x, w = swiglu_case((2, 5), 8, seed=10)
    check_swiglu(learner, 300 * x, w, "x scaled by 300")


# ---------------------------------------------------------------------------------------
# rope
# ---------------------------------------------------------------------------------------


def numpy_rope(x, offset=0, base=10000.0):
    """RoPE as complex multiplication: (x_i + i x_{i+d/2}) e^{i (offset + t) theta_i}."""
    x = np.asarray(x, dtype=np.float64)
    T, d = x.shape[-2:]
    half = d // 2
    theta = base ** (-2.0 * np.arange(half) / d)
    z = (x[..., :half] + 1j * x[..., half:]) * np.exp(1j * np.outer(offset + np.arange(T), theta))
    return np.concatenate([z.real, z.imag], axis=-1)


# (x shape (..., T, d), offset, base): one position, batch and heads, odd T, a small base
ROPE_CASES = [((1, 4), 0, 10000.0), ((5, 8), 0, 10000.0), ((2, 3, 7, 6), 0, 10000.0), ((3, 4), 2, 10000.0),
              ((2, 5, 8), 3, 100.0), ((1, 2, 16), 9, 10000.0)]  # fmt: skip


def check_rope(learner, x, offset, base, what, **tol):
    on = describe(x=x) + f", offset={offset}, base={base:g}"
    got = learner.rope(x, offset, base)
    assert_shape(got, x.shape, "rope: output (shaped like x)", on=on)
    assert_close(got, numpy_rope(x, offset, base), f"rope ({what})", on=on, inputs={"x": x}, hint=HINTS["rope"],
                 **tol)  # fmt: skip
    return got


@pytest.mark.parametrize(("shape", "offset", "base"), ROPE_CASES, ids=str)
@pytest.mark.part("rope", points=0.25)
def test_rope_values(learner, shape, offset, base):
    """Equals the complex form (x_i + i x_{i+d/2}) e^{i (offset + t) theta_i},
    theta_i = base^(-2i/d): the half-split pairing."""
    x = np.random.default_rng(11 + shape[-1]).normal(size=shape)
    check_rope(learner, x, offset, base, "half-split pairs (i, i + d/2)")


@pytest.mark.part("rope", points=0.5)
def test_rope_float32(learner):
    """float32 x (2, 6, 8), offset 4: float32-accurate (positions small enough for float32 angles)."""
    x = np.random.default_rng(12).normal(size=(2, 6, 8)).astype(np.float32)
    check_rope(learner, x, 4, 10000.0, "float32")


@pytest.mark.part("rope", points=0.75)
def test_rope_offset_is_a_position(learner):
    """Rotating rows 5..8 with offset 5 equals rows 5..8 of rotating the whole sequence
    from 0, as a KV cache needs; at offset 4000 too (angles computed in float64)."""
    x = np.random.default_rng(13).normal(size=(2, 9, 8))
    full = np.asarray(learner.rope(x, 0, 10000.0), dtype=np.float64)
    tail = learner.rope(x[:, 5:], 5, 10000.0)
    assert_close(tail, full[:, 5:], "rope(x[:, 5:], offset=5) vs rope(x, offset=0)[:, 5:]", on=describe(x=x),
                 hint="row t of the input is at position offset + t: the cos and sin tables start at `offset`, "
                 "not 0")  # fmt: skip
    check_rope(learner, x[:, :3], 4000, 10000.0, "offset 4000")


@pytest.mark.part("rope", points=0.75)
def test_rope_dot_product_depends_on_the_offset_only(learner):
    """For a query at position m and a key at n, rope(q) . rope(k) is the same for
    (m, n) = (0, 3), (5, 8), (20, 23), and the reference value for an offset of -3."""
    rng = np.random.default_rng(14)
    q, k = rng.normal(size=(1, 8)), rng.normal(size=(1, 8))
    exp = float(numpy_rope(q, 0)[0] @ numpy_rope(k, 3)[0])
    for m in (0, 5, 20):
        rq = np.asarray(learner.rope(q, m, 10000.0), dtype=np.float64)[0]
        rk = np.asarray(learner.rope(k, m + 3, 10000.0), dtype=np.float64)[0]
        assert_close(rq @ rk, exp, f"rope(q, {m}) . rope(k, {m + 3}): the score of a key 3 positions after its "
                     "query", on=describe(q=q, k=k), hint=HINTS["rope"])  # fmt: skip


# ---------------------------------------------------------------------------------------
# grouped_query_attention
# ---------------------------------------------------------------------------------------

# (N, T, d, n_head, n_kv_head): batch 1, T 1, MQA (1 kv head), MHA (kv = heads), groups of 2 and 3
GQA_CASES = [
    (1, 4, 8, 4, 2),
    (2, 5, 12, 6, 3),
    (3, 1, 8, 2, 1),
    (2, 6, 8, 4, 4),
    (1, 3, 6, 3, 1),
    (2, 4, 12, 6, 2),
]


def gqa_params(d, n_head, n_kv_head, seed):
    rng = np.random.default_rng(seed)
    kv = d // n_head * n_kv_head
    return {name: rng.normal(size=(d, cols)) / np.sqrt(d) for name, cols in
            (("Wq", d), ("Wk", kv), ("Wv", kv), ("Wo", d))}  # fmt: skip


def gqa_case(case, seed):
    n, t, d, h, g = case
    return np.random.default_rng(seed).normal(size=(n, t, d)), gqa_params(d, h, g, seed + 1)


def torch_gqa(x, p, n_head, n_kv_head, repeat=False):
    """F.scaled_dot_product_attention, causal: with enable_gqa, or (repeat=True) with each
    key/value head repeated n_head // n_kv_head times side by side."""
    import torch

    F = torch.nn.functional
    t = {k: t64(v) for k, v in p.items()}
    xt = t64(x)
    N, T, d = xt.shape
    dh = d // n_head
    q = (xt @ t["Wq"]).reshape(N, T, n_head, dh).transpose(1, 2)
    k, v = ((xt @ t[n]).reshape(N, T, n_kv_head, dh).transpose(1, 2) for n in ("Wk", "Wv"))
    if repeat:
        k, v = (a.repeat_interleave(n_head // n_kv_head, dim=1) for a in (k, v))
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=not repeat)
    return numpy_of(out.transpose(1, 2).reshape(N, T, d) @ t["Wo"])


def torch_mha(x, p, n_head):
    """nn.MultiheadAttention without biases, in_proj = [Wq | Wk | Wv] transposed, causal."""
    import torch

    d, T = x.shape[-1], x.shape[1]
    mha = torch.nn.MultiheadAttention(d, n_head, bias=False, batch_first=True, dtype=torch.float64)
    t = {k: t64(v) for k, v in p.items()}
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([t["Wq"], t["Wk"], t["Wv"]], dim=1).T)
        mha.out_proj.weight.copy_(t["Wo"].T)
        xt = t64(x)
        future = torch.ones(T, T, dtype=torch.bool).triu(
            1
        )  # PyTorch's polarity: True = NOT allowed
        return numpy_of(mha(xt, xt, xt, attn_mask=future, need_weights=False)[0])


def check_gqa(learner, x, p, h, g, expected, what, **tol):
    on = describe(x=x, **p) + f", n_head={h}, n_kv_head={g}"
    got = learner.grouped_query_attention(x, p, h, g)
    assert_shape(got, x.shape, "grouped_query_attention: out (N, T, d)", on=on)
    assert_close(got, expected, f"grouped_query_attention ({what})", on=on, inputs={"x": x},
                 hint=HINTS["grouped_query_attention"], **tol)  # fmt: skip


@pytest.mark.parametrize("case", GQA_CASES, ids=str)
@pytest.mark.part("grouped_query_attention", points=0.25)
def test_gqa_matches_sdpa(learner, case):
    """Equals F.scaled_dot_product_attention(is_causal=True, enable_gqa=True) on the
    projected heads, then @ Wo."""
    x, p = gqa_case(case, seed=15 + case[1])
    check_gqa(
        learner,
        x,
        p,
        case[3],
        case[4],
        torch_gqa(x, p, case[3], case[4]),
        "vs SDPA with enable_gqa",
    )


@pytest.mark.part("grouped_query_attention", points=0.5)
def test_gqa_repeated_kv_heads(learner):
    """6 query heads, 3 kv heads: equals SDPA with each kv head repeated twice side by side
    (query heads 0, 1 read kv head 0; 2, 3 read 1; 4, 5 read 2)."""
    x, p = gqa_case((2, 5, 12, 6, 3), seed=16)
    check_gqa(
        learner,
        x,
        p,
        6,
        3,
        torch_gqa(x, p, 6, 3, repeat=True),
        "vs SDPA with repeat_interleave'd kv heads",
    )


@pytest.mark.part("grouped_query_attention", points=0.5)
def test_gqa_is_mha_when_groups_equal_heads(learner):
    """n_kv_head = n_head: multi-head attention, equal to nn.MultiheadAttention(bias=False)
    with [Wq | Wk | Wv] as its in_proj and a causal mask."""
    x, p = gqa_case((2, 5, 8, 4, 4), seed=17)
    check_gqa(
        learner, x, p, 4, 4, torch_mha(x, p, 4), "n_kv_head = n_head vs nn.MultiheadAttention"
    )


@pytest.mark.part("grouped_query_attention", points=0.5)
def test_gqa_is_mqa_when_one_group(learner):
    """n_kv_head = 1: multi-query attention, every query head reads the same key and value
    (SDPA with one kv head broadcast over the heads)."""
    x, p = gqa_case((2, 5, 8, 4, 1), seed=18)
    check_gqa(learner, x, p, 4, 1, torch_gqa(x, p, 4, 1, repeat=True), "n_kv_head = 1: multi-query")


@pytest.mark.part("grouped_query_attention", points=0.5)
def test_gqa_is_causal(learner):
    """Changing x at positions >= t leaves the outputs before t unchanged."""
    x, p = gqa_case((2, 5, 8, 4, 2), seed=19)
    base = np.asarray(learner.grouped_query_attention(x, p, 4, 2), dtype=np.float64)
    for t in range(1, 5):
        changed = x.copy()
        changed[:, t:] += 1.0
        out = learner.grouped_query_attention(changed, p, 4, 2)
        assert_close(np.asarray(out)[:, :t], base[:, :t], f"grouped_query_attention: outputs before position {t} "
                     f"after changing x at positions {t}..4", on=describe(x=x) + ", n_head=4, n_kv_head=2",
                     hint="query i may only see keys j <= i: -inf above the diagonal before the softmax")  # fmt: skip


@pytest.mark.part("grouped_query_attention", points=0.5)
def test_gqa_float32(learner):
    """float32 x and weights give float32-accurate results."""
    x, p = gqa_case((2, 4, 12, 6, 2), seed=20)
    exp = torch_gqa(x, p, 6, 2)
    check_gqa(learner, x.astype(np.float32), as_dtype(p, np.float32), 6, 2, exp, "float32")


# ---------------------------------------------------------------------------------------
# moe_route
# ---------------------------------------------------------------------------------------


def numpy_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def numpy_route(logits, k, capacity):
    """An independent router: stable descending order, renormalised top-k, capacity rank by rank."""
    probs = numpy_softmax(np.asarray(logits, dtype=np.float64))
    experts = np.argsort(-probs, axis=-1, kind="stable")[:, :k]
    top = np.take_along_axis(probs, experts, axis=-1)
    load = np.zeros(probs.shape[1], dtype=int)
    keep = np.zeros(experts.shape, dtype=bool)
    for rank in range(k):
        for t in range(len(experts)):
            keep[t, rank] = load[experts[t, rank]] < capacity
            load[experts[t, rank]] += keep[t, rank]
    return experts, top / top.sum(axis=-1, keepdims=True), keep


def call_route(learner, logits, k, capacity):
    on = describe(logits=logits) + f", k={k}, capacity={capacity}"
    experts, gates, keep = as_tuple(
        learner.moe_route(logits, k, capacity), 3, "moe_route(logits, k, capacity)", on
    )
    for name, a, kind in (("experts", experts, np.integer), ("keep", keep, np.bool_)):
        assert_true(np.issubdtype(np.asarray(a).dtype, kind), f"moe_route: {name} dtype",
                    f"expected {kind.__name__} values, got {np.asarray(a).dtype}", on=on,
                    hint="experts are integer indices (argsort / topk indices); keep is a boolean mask")  # fmt: skip
    keep = np.asarray(keep).astype(int)  # assert_shape takes numbers
    for name, a in (("experts", experts), ("gates", gates), ("keep", keep)):
        assert_shape(a, (logits.shape[0], k), f"moe_route: {name} (T, k)", on=on)
    return np.asarray(experts), gates, keep, on


def check_route(learner, logits, k, capacity, what):
    exp_e, exp_g, exp_keep = numpy_route(logits, k, capacity)
    experts, gates, keep, on = call_route(learner, logits, k, capacity)
    hint = HINTS["moe_route"]
    assert_close(experts, exp_e, f"moe_route: experts ({what})", on=on, rtol=0, atol=0, hint=hint)
    assert_close(
        gates, exp_g, f"moe_route: gates ({what})", on=on, inputs={"logits": logits}, hint=hint
    )
    assert_close(keep, exp_keep.astype(int), f"moe_route: keep ({what})", on=on, rtol=0, atol=0,
                 hint=hint)  # fmt: skip


# (T, E, k): one token, top-1 (Switch), top-2 (Mixtral), k = E
ROUTE_CASES = [(1, 4, 1), (6, 4, 2), (9, 8, 2), (7, 5, 3), (5, 3, 3), (12, 8, 1)]


@pytest.mark.parametrize("case", ROUTE_CASES, ids=str)
@pytest.mark.part("moe_route", points=0.25)
def test_moe_route_top_k(learner, case):
    """Without a binding capacity (capacity = T k): each token's k most probable experts,
    highest first, gates renormalised to sum to 1, every assignment kept."""
    T, E, k = case
    logits = np.random.default_rng(21 + T).normal(size=(T, E)) * 2
    check_route(learner, logits, k, T * k, "capacity T k: nothing dropped")


@pytest.mark.part("moe_route", points=0.5)
def test_moe_route_ties_and_top_1(learner):
    """Ties go to the lower expert index; with k = 1 every gate is exactly 1."""
    logits = np.array(
        [[1.0, 3.0, 3.0, 0.0, 3.0], [0.0, 0.0, 0.0, 0.0, 0.0], [2.0, -1.0, 2.0, 2.0, 5.0]]
    )
    check_route(learner, logits, 2, 6, "tied logits")
    check_route(learner, logits, 1, 3, "k = 1, tied logits")


@pytest.mark.parametrize(("T", "E", "k", "capacity"), [(8, 4, 1, 2), (10, 4, 2, 3), (9, 3, 2, 4), (6, 4, 2, 1)],
                         ids=str)  # fmt: skip
@pytest.mark.part("moe_route", points=0.5)
def test_moe_route_capacity(learner, T, E, k, capacity):
    """A binding capacity on a router that prefers the first experts: at most `capacity`
    assignments kept per expert, first choices of every token before any second choice,
    token 0 first; gates as without a capacity."""
    rng = np.random.default_rng(22 + capacity)
    logits = rng.normal(size=(T, E)) - np.arange(E)  # expert 0 popular: it overflows
    check_route(learner, logits, k, capacity, f"capacity {capacity}")


@pytest.mark.part("moe_route", points=0.5)
def test_moe_route_float32(learner):
    """float32 logits: gates float32-accurate, the same experts and keep."""
    logits = (np.random.default_rng(23).normal(size=(8, 6)) * 2).astype(np.float32)
    check_route(learner, logits, 2, 3, "float32")


@pytest.mark.part("moe_route", points=0.5)
def test_moe_route_large_logits(learner):
    """Logits of +-1e3: the softmax stays finite (subtract the max), the gates are exact."""
    logits = np.random.default_rng(24).normal(size=(5, 4)) * 1e3
    check_route(learner, logits, 2, 10, "logits ~1e3")


# ---------------------------------------------------------------------------------------
# load_balancing_loss
# ---------------------------------------------------------------------------------------


def numpy_balance_loss(logits, experts):
    E = logits.shape[1]
    f = np.bincount(np.asarray(experts).ravel(), minlength=E) / np.asarray(experts).size
    return E * float(np.sum(f * numpy_softmax(logits).mean(axis=0)))


def torch_balance_loss(logits, experts):
    import torch

    E = logits.shape[1]
    f = torch.as_tensor(
        np.bincount(np.asarray(experts).ravel(), minlength=E) / np.asarray(experts).size
    )
    return E * (f * torch.softmax(logits, dim=-1).mean(dim=0)).sum()


def balance_case(T, E, k, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(T, E)) * 1.5
    return logits, numpy_route(logits, k, T * k)[0]


def call_balance(learner, logits, experts):
    on = describe(logits=logits, experts=experts)
    loss, dlogits = as_tuple(
        learner.load_balancing_loss(logits, experts), 2, "load_balancing_loss", on
    )
    return loss, dlogits, on


@pytest.mark.parametrize(
    ("T", "E", "k"), [(1, 4, 1), (6, 4, 2), (9, 5, 1), (10, 8, 2), (7, 3, 3)], ids=str
)
@pytest.mark.part("load_balancing_loss", points=0.25)
def test_balance_loss_value(learner, T, E, k):
    """The loss equals E * sum_i f_i P_i for the router's top-k choices."""
    logits, experts = balance_case(T, E, k, seed=25 + T)
    loss, _, on = call_balance(learner, logits, experts)
    assert_close(loss, numpy_balance_loss(logits, experts), "load_balancing_loss: loss", on=on,
                 hint=HINTS["load_balancing_loss"])  # fmt: skip


@pytest.mark.part("load_balancing_loss", points=0.75)
def test_balance_loss_is_one_when_uniform(learner):
    """A uniform router (all logits equal) gives exactly 1 whatever the routing, k = 1 and
    k = 2; so does a perfectly balanced routing (each expert chosen equally often)."""
    rng = np.random.default_rng(26)
    for k in (1, 2):
        experts = np.stack([rng.permutation(4)[:k] for _ in range(6)])
        loss, _, on = call_balance(learner, np.zeros((6, 4)), experts)
        assert_close(loss, 1.0, f"load_balancing_loss of a uniform router (k = {k})", on=on,
                     hint="E * sum_i f_i P_i with P_i = 1/E and f summing to 1 over the T k assignments")  # fmt: skip
    experts = np.array([[0, 1], [2, 3], [1, 0], [3, 2]])
    loss, _, on = call_balance(learner, rng.normal(size=(4, 4)), experts)
    assert_close(loss, 1.0, "load_balancing_loss of a balanced routing (each expert 2 of the 8 assignments)", on=on,
                 hint=HINTS["load_balancing_loss"])  # fmt: skip


@pytest.mark.parametrize(("T", "E", "k"), [(6, 4, 2), (5, 3, 1)], ids=str)
@pytest.mark.parametrize("oracle", ["numerical", "torch"])
@pytest.mark.part("load_balancing_loss", points=0.4)
def test_balance_loss_gradient(learner, T, E, k, oracle):
    """dlogits equals the gradient of the loss (f held constant) by float64 central
    differences and by torch.autograd."""
    logits, experts = balance_case(T, E, k, seed=27 + T)
    _, dlogits, on = call_balance(learner, logits, experts)
    if oracle == "torch":
        forward = lambda logits: torch_balance_loss(logits, experts)  # noqa: E731
    else:
        forward = lambda logits: numpy_balance_loss(logits, experts)  # noqa: E731
    assert_backward(dlogits, forward, {"logits": logits}, np.array(1.0), ("logits",), "load_balancing_loss",
                    oracle=oracle, on=on, hints={"logits": "f_i is a count (no gradient); the gradient reaches the "
                    "logits through P_i = mean of the softmax probabilities"})  # fmt: skip


@pytest.mark.part("load_balancing_loss", points=0.5)
def test_balance_loss_float32(learner):
    """float32 logits: the loss and its gradient at float32 precision."""
    logits, experts = balance_case(8, 4, 2, seed=28)
    l32 = logits.astype(np.float32)
    loss, dlogits, on = call_balance(learner, l32, experts)
    assert_close(loss, numpy_balance_loss(logits, experts), "load_balancing_loss: loss (float32)", on=on, **LOSS_TOL,
                 hint=HINTS["load_balancing_loss"])  # fmt: skip

    lt = t64(logits).requires_grad_(True)
    torch_balance_loss(lt, experts).backward()
    assert_close(dlogits, lt.grad.numpy(), "load_balancing_loss: dlogits (float32)", on=on, inputs={"logits": l32},
                 hint=HINTS["load_balancing_loss"])  # fmt: skip


# ---------------------------------------------------------------------------------------
# chunk_tokens and rag_retrieve
# ---------------------------------------------------------------------------------------


def corpus_stream(n, seed):
    """The generated corpus as one array of ids, <eos> (id 0) after every sentence."""
    from nnfs_cli import corpus

    vocab = corpus.vocabulary(["<eos>"])
    ids = []
    for sentence in corpus.sentences(n, seed):
        ids += corpus.encode(sentence, vocab) + [0]
    return np.asarray(ids), vocab


def numpy_chunks(n, size, overlap):
    """The windows of range(n): starts 0, s, 2s, ... (s = size - overlap) up to the first
    window that reaches the end."""
    starts = [0] if n else []
    while starts and starts[-1] + size < n:
        starts.append(starts[-1] + size - overlap)
    return [list(range(s, min(s + size, n))) for s in starts]


def check_chunks(learner, tokens, size, overlap, expected, what):
    on = f"tokens of length {len(tokens)}, size={size}, overlap={overlap}"
    got = learner.chunk_tokens(tokens, size, overlap)
    hint = HINTS["chunk_tokens"]
    assert_true(isinstance(got, list | tuple) and len(got) == len(expected), f"chunk_tokens: number of chunks ({what})",
                f"expected {len(expected)} chunks, got "
                + (f"{len(got)}" if isinstance(got, list | tuple) else type(got).__name__), on=on, hint=hint)  # fmt: skip
    for c, (g, e) in enumerate(zip(got, expected)):
        assert_close(np.asarray(g, dtype=np.int64), np.asarray(e, dtype=np.int64), f"chunk_tokens: chunk {c} "
                     f"({what})", on=on, rtol=0, atol=0, hint=hint)  # fmt: skip
    return got


# (length, size, overlap): exact fits, a short tail, no overlap, stride 1, shorter than one chunk
CHUNK_CASES = [(10, 4, 1), (12, 4, 0), (9, 5, 2), (11, 4, 3), (3, 5, 2), (16, 6, 2), (1, 3, 1)]


@pytest.mark.parametrize(("n", "size", "overlap"), CHUNK_CASES, ids=str)
@pytest.mark.part("chunk_tokens", points=0.25)
def test_chunk_tokens_windows(learner, n, size, overlap):
    """The windows of tokens 100..100+n-1: start c (size - overlap), the last the first
    that reaches the end (never a window that lies inside the previous one)."""
    tokens = list(range(100, 100 + n))
    expected = [[100 + t for t in c] for c in numpy_chunks(n, size, overlap)]
    check_chunks(learner, tokens, size, overlap, expected, "consecutive ids")


@pytest.mark.part("chunk_tokens", points=0.5)
def test_chunk_tokens_spans_and_empty(learner):
    """On 50 corpus tokens (size 8, overlap 3): every span of overlap + 1 = 4 tokens lies
    whole in some chunk, the chunks concatenated without their overlaps give the tokens
    back; no tokens give no chunks; a NumPy array of ids is accepted."""
    stream, _ = corpus_stream(10, seed=3)
    tokens = stream[:50]
    got = check_chunks(learner, tokens, 8, 3, [list(tokens[s]) for s in map(np.asarray, numpy_chunks(50, 8, 3))],
                       "corpus ids, an int array")  # fmt: skip
    back = list(got[0]) + [t for c in got[1:] for t in list(c)[3:]]
    assert_close(np.asarray(back), tokens, "chunk_tokens: the chunks without their overlaps, concatenated",
                 on="50 tokens, size=8, overlap=3", rtol=0, atol=0, hint=HINTS["chunk_tokens"])  # fmt: skip
    check_chunks(learner, [], 4, 1, [], "no tokens")


def numpy_retrieve(query, vectors, k):
    q, M = np.asarray(query, dtype=np.float64), np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(M, axis=1) * np.linalg.norm(q)
    sims = np.divide(M @ q, norms, out=np.zeros(len(M)), where=norms > 0)
    order = np.argsort(-sims, kind="stable")[:k]
    return order, sims[order]


def check_retrieve(learner, query, vectors, k, what):
    on = describe(query=query, chunk_vectors=vectors) + f", k={k}"
    exp_i, exp_s = numpy_retrieve(query, vectors, k)
    idx, scores = as_tuple(
        learner.rag_retrieve(query, vectors, k), 2, "rag_retrieve(query, chunk_vectors, k)", on
    )
    hint = HINTS["rag_retrieve"]
    assert_close(idx, exp_i, f"rag_retrieve: indices ({what})", on=on, rtol=0, atol=0, hint=hint)
    assert_close(
        scores, exp_s, f"rag_retrieve: scores ({what})", on=on, inputs={"query": query}, hint=hint
    )
    return np.asarray(idx)


@pytest.mark.parametrize(
    ("M", "D", "k", "scale"),
    [(5, 3, 2, 3.0), (12, 8, 4, 3.0), (4, 6, 4, 3.0), (7, 2, 1, 3.0), (6, 4, 3, 0.01)],
    ids=str,
)
@pytest.mark.part("rag_retrieve", points=0.25)
def test_rag_retrieve_cosine_top_k(learner, M, D, k, scale):
    """Vectors of very different lengths: the k highest cosine similarities (not dot
    products), highest first, with their scores; a short query too (norms below 1)."""
    rng = np.random.default_rng(30 + M)
    vectors = rng.normal(size=(M, D)) * rng.uniform(0.1, 10, size=(M, 1))
    check_retrieve(learner, rng.normal(size=D) * scale, vectors, k, f"random vectors, query scaled by {scale:g}")


@pytest.mark.part("rag_retrieve", points=0.5)
def test_rag_retrieve_ties_zero_vectors_float32(learner):
    """Equal similarities tie (the lower index first), a zero vector scores 0, float32
    vectors give float32-accurate scores."""
    # 1 and 3 tie exactly (unit vectors, the same dot product with the query)
    vectors = np.array(
        [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [-1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [0.0, -1.0, 0.5]]
    )
    check_retrieve(learner, np.array([1.0, 1.0, -1.0]), vectors, 5, "ties and a zero vector")
    rng = np.random.default_rng(31)
    check_retrieve(learner, rng.normal(size=6).astype(np.float32), rng.normal(size=(9, 6)).astype(np.float32), 3,
                   "float32")  # fmt: skip


@pytest.mark.part("rag_retrieve", points=1)
def test_rag_retrieve_finds_the_chunk_on_the_corpus(learner):
    """A generated corpus of 470 tokens in chunks of 16 overlapping by 4, each embedded as
    its word counts; a query made of 10 consecutive words of chunk c: the top chunk
    contains those words (the reference finds the right chunk for each of 39 queries)."""
    stream, vocab = corpus_stream(60, seed=1)
    chunks = numpy_chunks(len(stream), 16, 4)
    texts = [stream[c] for c in map(np.asarray, chunks)]
    vectors = np.stack([np.bincount(t, minlength=len(vocab)) for t in texts]).astype(np.float64)
    rng = np.random.default_rng(0)
    for c, text in enumerate(texts):
        if len(text) < 10:
            continue
        start = int(rng.integers(0, len(text) - 9))
        span = text[start : start + 10]
        query = np.bincount(span, minlength=len(vocab)).astype(np.float64)
        top = int(
            check_retrieve(
                learner, query, vectors, 3, f"the words of chunk {c}, tokens {start}..{start + 9}"
            )[0]
        )
        found = any(
            np.array_equal(texts[top][j : j + 10], span) for j in range(len(texts[top]) - 9)
        )
        assert_true(found, f"rag_retrieve: the top chunk for a query taken from chunk {c}",
                    f"chunk {top} does not contain the query's 10 words", on=describe(query=query, chunk_vectors=vectors),
                    hint=HINTS["rag_retrieve"])  # fmt: skip


# ---------------------------------------------------------------------------------------
# patch_embed
# ---------------------------------------------------------------------------------------


def torch_patch_embed(images, W, b, patch):
    """F.conv2d with kernel = stride = patch, its weight W^T reshaped (d, C, P, P),
    then flatten(2).transpose(1, 2): (N, patches, d)."""
    import torch

    d, C = W.shape[1], images.shape[1]
    weight = t64(W).T.reshape(d, C, patch, patch)
    out = torch.nn.functional.conv2d(t64(images), weight, t64(b), stride=patch)
    return numpy_of(out.flatten(2).transpose(1, 2))


def patch_case(shape, patch, d, seed):
    rng = np.random.default_rng(seed)
    C = shape[1]
    return rng.normal(size=shape), rng.normal(size=(C * patch * patch, d)), rng.normal(size=d)


def check_patches(learner, images, W, b, patch, what):
    on = describe(images=images, W=W, b=b) + f", patch={patch}"
    N, _, H, Wi = images.shape
    exp = torch_patch_embed(images, W, b, patch)
    got = learner.patch_embed(images, W, b, patch)
    assert_shape(
        got, (N, (H // patch) * (Wi // patch), W.shape[1]), "patch_embed: (N, patches, d)", on=on
    )
    assert_close(got, exp, f"patch_embed vs a strided F.conv2d with W copied in ({what})", on=on,
                 inputs={"images": images}, hint=HINTS["patch_embed"])  # fmt: skip


# (N, C, H, W), patch, d: one channel, RGB, non-square images and grids, patch 1, one patch
PATCH_CASES = [((1, 1, 4, 4), 2, 3), ((2, 3, 8, 6), 2, 5), ((1, 3, 6, 9), 3, 4), ((2, 2, 3, 2), 1, 3),
               ((3, 3, 4, 4), 4, 6)]  # fmt: skip


@pytest.mark.parametrize(("shape", "patch", "d"), PATCH_CASES, ids=str)
@pytest.mark.part("patch_embed", points=0.3)
def test_patch_embed_matches_conv(learner, shape, patch, d):
    """Equals F.conv2d(images, W.T.reshape(d, C, P, P), b, stride=P), flattened to
    (N, patches, d) in reading order."""
    images, W, b = patch_case(shape, patch, d, seed=32 + shape[2])
    check_patches(learner, images, W, b, patch, "float64")


@pytest.mark.part("patch_embed", points=0.5)
def test_patch_embed_float32(learner):
    """float32 images and weights give float32-accurate embeddings."""
    images, W, b = patch_case((2, 3, 6, 4), 2, 5, seed=33)
    check_patches(
        learner, images.astype(np.float32), W.astype(np.float32), b.astype(np.float32), 2, "float32"
    )
