"""Grader for inference: int8 quantization (absmax, zero-point, per-tensor and per-channel)
and dequantization, KV-cache decoding, speculative decoding, memory estimates.

References: the closed forms of the lesson (the reference module `ref`) on inputs built so
that the exact answer is known: quantization inputs are integer grids plus fractions kept
0.05 away from a .5 tie, with each channel's extreme placed exactly, so q is exact in
float64 and float32 alike; the KV cache against the full recomputation `lm_forward` (what a
cache must reproduce); speculative decoding token for token on given uniforms, and its
output distribution against the target's table with a chi-square test; the memory
formulas against published sizes (LLaMA-2 7B and 70B, Mistral 7B). The grader is NumPy
only: no torch import.
"""

import math

import numpy as np
import pytest

from nnfs_cli.checks import (
    GradeFailure,
    assert_close,
    assert_count,
    assert_not_using,
    assert_shape,
    assert_true,
    describe,
    tolerances,
)
from nnfs_cli.grading.result import Diagnosis

HINTS = {
    "quantize_absmax": "scale = max|x| / 127 over the reduced axes (keepdims per channel); "
    "q = clip(round(x / scale), -127, 127).astype(int8)",
    "quantize_zeropoint": "lo = min(min x, 0), hi = max(max x, 0); scale = (hi - lo) / 255; "
    "z = -128 - round(lo / scale); q = clip(round(x / scale) + z, -128, 127).astype(int8)",
    "dequantize": "(q - zero_point) * scale, the subtraction in a wide type (int8 - int8 wraps around)",
    "kv_cache_step": "positions start .. start + T_new - 1; per block: ln_1, c_attn, append the new k, v "
    "to the cache, the new queries attend over every cached key j <= start + i; then c_proj, ln_2 and the "
    "MLP on the new positions alone",
    "kv_cache_decode": "prefill the prompt at start 0; then each new token alone at start = its position "
    "(the number of tokens before it)",
    "speculative_decode": "accept x when u < p(x) / q(x) at x's own context; on rejection draw from "
    "max(0, p - q) normalised; after gamma acceptances draw a bonus token from p",
    "model_memory": "V d + n_layers (2 d^2 + 2 d n_kv_heads d_head + 3 d d_ff + 2 d) + d (+ V d untied), "
    "times the bytes per parameter",
    "kv_cache_memory": "2 (K and V) * n_layers * n_kv_heads * d_head * seq_len * batch * bytes",
}


# ---------------------------------------------------------------------------------------
# quantization inputs whose exact answer is known
# ---------------------------------------------------------------------------------------


def away_from_ties(t):
    """Move every value within 0.05 of a .5 tie 0.1 toward the integer nearer 0 (|t| shrinks)."""
    frac = t - np.floor(t)
    return np.where(np.abs(frac - 0.5) < 0.05, t - 0.1 * np.sign(t), t)


def channels(shape, axis):
    """(number of channels, the shape that broadcasts one value per channel)."""
    if axis is None:
        return 1, (1,) * len(shape)
    return shape[axis], tuple(n if i == axis % len(shape) else 1 for i, n in enumerate(shape))


def place(t, axis, values, rng):
    """Write values[c, j] into channel c of t at distinct random positions (j < values' width)."""
    front = np.moveaxis(t, axis, 0) if axis is not None else t.reshape(1, -1)
    flat = front.reshape(front.shape[0], -1)
    for c in range(flat.shape[0]):
        where = rng.choice(flat.shape[1], size=values.shape[1], replace=False)
        flat[c, where] = values[c]
    out = flat.reshape(front.shape)
    return np.moveaxis(out, 0, axis) if axis is not None else out.reshape(t.shape)


def absmax_case(shape, axis, seed, dtype=np.float64, spread=1.0):
    """(x, calib): calib's channels have max|.| = 127 s_c exactly, the first one at a negative
    entry (max(x) != max|x| there); x = calib, or values up to `spread` times the range."""
    rng = np.random.default_rng(seed)
    n, bshape = channels(shape, axis)
    s = rng.uniform(0.01, 2.0, n)
    signs = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    signs[0] = -1.0
    t = place(away_from_ties(rng.uniform(-126.9, 126.9, shape)), axis, (127 * signs)[:, None], rng)
    calib = (t * s.reshape(bshape)).astype(dtype)
    if spread == 1.0:
        return calib, None
    x = away_from_ties(rng.uniform(-127 * spread, 127 * spread, shape)) * s.reshape(bshape)
    return x.astype(dtype), calib


def zeropoint_case(shape, axis, seed, dtype=np.float64, positive=False, spread=1.0):
    """(x, calib): each channel spans [-a s_c, (255 - a) s_c] exactly (a integer, 0 when positive:
    every value > 0, the range widened to 0)."""
    rng = np.random.default_rng(seed)
    n, bshape = channels(shape, axis)
    s = rng.uniform(0.01, 2.0, n)
    a = np.zeros(n, dtype=np.int64) if positive else rng.integers(1, 255, n)
    a_b = a.reshape(bshape)
    t = (
        away_from_ties(rng.uniform(-a_b + 0.3, 255 - a_b - 0.3, shape) + 256) - 256
    )  # ties of a positive t
    ends = np.stack([-a, 255 - a], axis=1) if not positive else (255 - a)[:, None]
    calib = (place(t, axis, ends.astype(np.float64), rng) * s.reshape(bshape)).astype(dtype)
    if spread == 1.0:
        return calib, None
    mid, half = (255 / 2 - a_b), 255 / 2 * spread
    x = (away_from_ties(rng.uniform(mid - half, mid + half, shape) + 512) - 512) * s.reshape(bshape)
    return x.astype(dtype), calib


def quant_args(x, axis, calib):
    kw = {} if axis is None else {"axis": axis}
    return kw if calib is None else kw | {"calib": calib}


def on_quant(x, axis, calib):
    return (
        describe(x=x) + f", axis={axis}" + ("" if calib is None else ", " + describe(calib=calib))
    )


def check_int8(q, what, on, hint):
    assert_true(np.asarray(q).dtype == np.int8, f"{what}: dtype", f"expected int8, got {np.asarray(q).dtype}",
                on=on, hint=hint)  # fmt: skip


def expected_scale_shape(shape, axis):
    return () if axis is None else channels(shape, axis)[1]


def check_absmax(learner, ref, x, axis, calib=None, what="quantize_absmax"):
    on = on_quant(x, axis, calib)
    hint = HINTS["quantize_absmax"]
    q, scale = call_n(learner.quantize_absmax(x, **quant_args(x, axis, calib)), 2, what, on)
    exp_q, exp_scale = ref.quantize_absmax(x, **quant_args(x, axis, calib))
    assert_shape(q, x.shape, f"{what}: q", on=on, expected=exp_q)
    check_int8(q, f"{what}: q", on, hint)
    assert_close(scale, exp_scale, f"{what}: scale", on=on, hint=hint)
    assert_close(q, exp_q, f"{what}: q", on=on, rtol=0, atol=0, inputs={"x": x}, hint=hint)
    return q, scale


def check_zeropoint(learner, ref, x, axis, calib=None, what="quantize_zeropoint"):
    on = on_quant(x, axis, calib)
    hint = HINTS["quantize_zeropoint"]
    q, scale, z = call_n(learner.quantize_zeropoint(x, **quant_args(x, axis, calib)), 3, what, on)
    exp_q, exp_scale, exp_z = ref.quantize_zeropoint(x, **quant_args(x, axis, calib))
    assert_shape(q, x.shape, f"{what}: q", on=on, expected=exp_q)
    check_int8(q, f"{what}: q", on, hint)
    assert_close(scale, exp_scale, f"{what}: scale", on=on, hint=hint)
    assert_close(z, exp_z, f"{what}: zero_point", on=on, rtol=0, atol=0, hint=hint)
    assert_close(q, exp_q, f"{what}: q", on=on, rtol=0, atol=0, inputs={"x": x}, hint=hint)
    return q, scale, z


def call_n(got, n, what, on):
    from nnfs_cli.checks import as_tuple

    return as_tuple(got, n, f"{what}(...)", on)


def check_bound(ref, x, q, scale, z, what, on):
    """|dequantize(q) - x| <= scale / 2 per element (with float rounding slack)."""
    x64 = np.asarray(x, dtype=np.float64)
    err = np.abs(ref.dequantize(np.asarray(q), np.asarray(scale, np.float64), z) - x64)
    bound = np.broadcast_to(np.asarray(scale, np.float64) / 2, x64.shape)
    # float32 inputs carry ~1e-7 relative error in x and in the scale
    slack = (
        1e-6 * np.abs(x64) + 1e-12
        if np.asarray(x).dtype == np.float32
        else 1e-12 * (1 + np.abs(x64))
    )
    worst = int(np.argmax(err - bound))
    assert_true(bool(np.all(err <= bound + slack)), f"{what}: round-trip error",
                f"|dequantize(q) - x| must be <= scale / 2 everywhere; at flat index {worst} it is "
                f"{err.ravel()[worst]:.4g} > {bound.ravel()[worst]:.4g}", on=on,
                hint="round to the NEAREST integer (np.round), not toward 0; take the scale from the range")  # fmt: skip


# (shape, axis): per-tensor on odd and one-element sizes; per-channel on non-square
# matrices along either axis, a negative axis, 3-d, one channel, one value per channel.
ABSMAX_CASES = [((7,), None), ((3, 5), None), ((1, 1), None), ((4, 6), 0), ((6, 4), 1), ((2, 3, 5), 1),
                ((3, 4, 5), -1), ((1, 9), 0), ((5, 5), 0), ((5, 5), 1)]  # fmt: skip


@pytest.mark.parametrize("case", ABSMAX_CASES, ids=str)
@pytest.mark.part("quantize_absmax", points=0.2)
def test_quantize_absmax_values(learner, ref, case):
    """q (int8, x's shape) and scale (0-d, or keepdims per channel) equal the closed form:
    scale = max|x| / 127 over every axis but `axis`, q = round(x / scale)."""
    shape, axis = case
    x, _ = absmax_case(shape, axis, seed=len(shape) + 3 * (axis or 0) + shape[-1])
    q, scale = check_absmax(learner, ref, x, axis)
    assert_shape(
        scale,
        expected_scale_shape(shape, axis),
        "quantize_absmax: scale",
        on=on_quant(x, axis, None),
    )


@pytest.mark.parametrize("case", [((3, 5), None), ((4, 6), 0), ((2, 3, 5), 2)], ids=str)
@pytest.mark.part("quantize_absmax", points=0.3)
def test_quantize_absmax_round_trip_bound(learner, ref, case):
    """The learner's own q and scale give back x within scale / 2 per element, and +-127 at
    each channel's max|x| (the range is used in full)."""
    shape, axis = case
    x, _ = absmax_case(shape, axis, seed=20 + shape[0])
    on = on_quant(x, axis, None)
    q, scale = call_n(
        learner.quantize_absmax(x, **quant_args(x, axis, None)), 2, "quantize_absmax", on
    )
    check_bound(ref, x, q, scale, 0, "quantize_absmax", on)
    others = None if axis is None else tuple(i for i in range(len(shape)) if i != axis % len(shape))
    assert_close(np.abs(np.asarray(q, np.int64)).max(axis=others), np.full(channels(shape, axis)[0] if axis is
                 not None else (), 127), "quantize_absmax: max|q| per channel", on=on, rtol=0, atol=0,
                 hint="the channel's largest |x| maps to +-127: scale = max|x| / 127")  # fmt: skip


@pytest.mark.parametrize("case", [((3, 5), None), ((4, 6), 0)], ids=str)
@pytest.mark.part("quantize_absmax", points=0.3)
def test_quantize_absmax_float32(learner, ref, case):
    """float32 inputs: the same q, and the scale at float32 precision."""
    shape, axis = case
    x, _ = absmax_case(shape, axis, seed=30, dtype=np.float32)
    q, scale = check_absmax(learner, ref, x, axis, what="quantize_absmax (float32)")
    check_bound(ref, x, q, scale, 0, "quantize_absmax (float32)", on_quant(x, axis, None))


@pytest.mark.parametrize("case", [((4, 6), None), ((4, 6), 0)], ids=str)
@pytest.mark.part("quantize_absmax", points=0.4)
def test_quantize_absmax_calibrated_range_clamps(learner, ref, case):
    """With calib, the scale comes from calib, and values of x beyond +-max|calib| clamp to
    +-127 (no int8 wrap-around)."""
    shape, axis = case
    x, calib = absmax_case(shape, axis, seed=40, spread=1.6)
    check_absmax(learner, ref, x, axis, calib, what="quantize_absmax with calib")


@pytest.mark.part("quantize_absmax", points=0.3)
def test_quantize_absmax_zero_channel(learner, ref):
    """A channel of zeros (a pruned row) quantizes to q = 0 with no NaN (scale 1 there)."""
    x, _ = absmax_case((4, 5), 0, seed=50)
    x[2] = 0.0
    check_absmax(learner, ref, x, 0, what="quantize_absmax, row 2 all zeros")


# ---------------------------------------------------------------------------------------
# quantize_zeropoint
# ---------------------------------------------------------------------------------------

ZP_CASES = [((7,), None), ((3, 5), None), ((4, 6), 0), ((6, 4), 1), ((2, 3, 5), 1), ((3, 4, 5), -1),
            ((5, 5), 0), ((5, 5), 1)]  # fmt: skip


@pytest.mark.parametrize("case", ZP_CASES, ids=str)
@pytest.mark.part("quantize_zeropoint", points=0.25)
def test_quantize_zeropoint_values(learner, ref, case):
    """q (int8), scale and zero_point (0-d, or keepdims per channel) equal the closed form on
    ranges [lo, hi] that contain 0."""
    shape, axis = case
    x, _ = zeropoint_case(shape, axis, seed=60 + len(shape) + shape[-1] + 7 * (axis or 0))
    q, scale, z = check_zeropoint(learner, ref, x, axis)
    assert_shape(
        scale,
        expected_scale_shape(shape, axis),
        "quantize_zeropoint: scale",
        on=on_quant(x, axis, None),
    )
    assert_shape(
        z,
        expected_scale_shape(shape, axis),
        "quantize_zeropoint: zero_point",
        on=on_quant(x, axis, None),
    )


@pytest.mark.parametrize("case", [((3, 5), None), ((4, 6), 1)], ids=str)
@pytest.mark.part("quantize_zeropoint", points=0.4)
def test_quantize_zeropoint_positive_range_widens_to_zero(learner, ref, case):
    """All values > 0 (post-ReLU activations): the range is [0, max], zero_point -128, and
    0 itself dequantizes to exactly 0."""
    shape, axis = case
    x, _ = zeropoint_case(shape, axis, seed=70, positive=True)
    q, scale, z = check_zeropoint(learner, ref, x, axis, what="quantize_zeropoint, every x > 0")
    assert_close(ref.dequantize(np.asarray(z, np.int64), np.asarray(scale), z), np.zeros(np.shape(z)),
                 "quantize_zeropoint: 0 (q = zero_point) dequantizes to", on=on_quant(x, axis, None),
                 hint="widen the range to include 0: lo = min(min x, 0)")  # fmt: skip


@pytest.mark.parametrize("case", [((3, 5), None), ((4, 6), 0), ((2, 3, 5), 2)], ids=str)
@pytest.mark.part("quantize_zeropoint", points=0.3)
def test_quantize_zeropoint_round_trip_bound(learner, ref, case):
    """The learner's own q, scale and zero_point give back x within scale / 2, with
    zero_point in [-128, 127] and q using both ends -128 and 127 in every channel."""
    shape, axis = case
    x, _ = zeropoint_case(shape, axis, seed=80 + shape[0])
    on = on_quant(x, axis, None)
    q, scale, z = call_n(
        learner.quantize_zeropoint(x, **quant_args(x, axis, None)), 3, "quantize_zeropoint", on
    )
    z = np.asarray(z)
    assert_true(bool(np.all((z >= -128) & (z <= 127))), "quantize_zeropoint: zero_point range",
                f"expected integers in [-128, 127], got values from {z.min()} to {z.max()}", on=on,
                hint=HINTS["quantize_zeropoint"])  # fmt: skip
    check_bound(ref, x, q, scale, z, "quantize_zeropoint", on)
    others = None if axis is None else tuple(i for i in range(len(shape)) if i != axis % len(shape))
    q64 = np.asarray(q, np.int64)
    ends = np.stack([q64.min(axis=others), q64.max(axis=others)], axis=-1)
    n = channels(shape, axis)[0] if axis is not None else None
    assert_close(ends, np.array([-128, 127]) if n is None else np.tile([-128, 127], (n, 1)),
                 "quantize_zeropoint: (min q, max q) per channel", on=on, rtol=0, atol=0,
                 hint="the range [lo, hi] maps onto the whole of [-128, 127]")  # fmt: skip


@pytest.mark.part("quantize_zeropoint", points=0.3)
def test_quantize_zeropoint_float32(learner, ref):
    """float32 inputs: the same q and zero_point, the scale at float32 precision."""
    x, _ = zeropoint_case((4, 6), 0, seed=90, dtype=np.float32)
    q, scale, z = check_zeropoint(learner, ref, x, 0, what="quantize_zeropoint (float32)")
    check_bound(ref, x, q, scale, z, "quantize_zeropoint (float32)", on_quant(x, 0, None))


@pytest.mark.parametrize("case", [((4, 6), None), ((4, 6), 0)], ids=str)
@pytest.mark.part("quantize_zeropoint", points=0.4)
def test_quantize_zeropoint_calibrated_range_clamps(learner, ref, case):
    """With calib, values of x beyond the calibrated range clamp to -128 and 127 (no int8
    wrap-around)."""
    shape, axis = case
    x, calib = zeropoint_case(shape, axis, seed=100, spread=1.6)
    check_zeropoint(learner, ref, x, axis, calib, what="quantize_zeropoint with calib")


@pytest.mark.part("quantize_zeropoint", points=0.2)
def test_quantize_zeropoint_zero_channel(learner, ref):
    """A channel of zeros quantizes to q = zero_point with no NaN (scale 1 there)."""
    x, _ = zeropoint_case((4, 5), 0, seed=110)
    x[1] = 0.0
    check_zeropoint(learner, ref, x, 0, what="quantize_zeropoint, row 1 all zeros")


# ---------------------------------------------------------------------------------------
# dequantize
# ---------------------------------------------------------------------------------------


def check_dequantize(learner, ref, q, scale, z, label, **kw):
    on = describe(q=q, scale=np.asarray(scale), zero_point=np.asarray(z))
    args = (q, scale) if z is None else (q, scale, z)
    exp = ref.dequantize(q, scale, 0 if z is None else z)
    got = learner.dequantize(*args)
    assert_shape(got, q.shape, f"dequantize: {label}", on=on, expected=exp)
    assert_close(
        got, exp, f"dequantize: {label}", on=on, inputs={"q": q}, hint=HINTS["dequantize"], **kw
    )


@pytest.mark.part("dequantize", points=0.5)
def test_dequantize_absmax(learner, ref):
    """zero_point omitted (absmax): q * scale, per tensor and per channel."""
    rng = np.random.default_rng(120)
    q = rng.integers(-127, 128, (4, 6)).astype(np.int8)
    check_dequantize(learner, ref, q, np.float64(0.037), None, "per tensor, no zero_point")
    check_dequantize(learner, ref, q, rng.uniform(0.01, 1, (4, 1)), None, "per row (scale (4, 1))")


@pytest.mark.part("dequantize", points=0.5)
def test_dequantize_zeropoint(learner, ref):
    """(q - zero_point) * scale, per tensor and per channel (scale, zero_point (1, 5))."""
    rng = np.random.default_rng(121)
    q = rng.integers(-128, 128, (3, 5)).astype(np.int8)
    check_dequantize(learner, ref, q, np.float64(0.02), np.int64(-17), "per tensor")
    check_dequantize(
        learner, ref, q, rng.uniform(0.01, 1, (1, 5)), rng.integers(-128, 128, (1, 5)), "per column"
    )


@pytest.mark.part("dequantize", points=0.5)
def test_dequantize_int8_zero_point_does_not_wrap(learner, ref):
    """q and zero_point both int8 with q - zero_point beyond [-128, 127] (e.g. 127 - (-128) =
    255): the subtraction must not wrap around."""
    q = np.array([[127, -128, 100, 0], [-100, 5, 127, -128]], dtype=np.int8)
    z = np.array([[-128], [100]], dtype=np.int8)
    check_dequantize(learner, ref, q, np.array([[0.5], [0.25]]), z, "int8 zero_point")


@pytest.mark.part("dequantize", points=0.5)
def test_dequantize_float32_scale(learner, ref):
    """A float32 scale gives float32-accurate values."""
    q = np.random.default_rng(122).integers(-128, 128, (2, 3, 4)).astype(np.int8)
    check_dequantize(
        learner,
        ref,
        q,
        np.full((1, 3, 1), 0.013, np.float32),
        np.full((1, 3, 1), 9),
        "float32 scale",
    )


@pytest.mark.part("dequantize", points=0.5)
def test_dequantize_inverts_quantize(learner, ref):
    """dequantize(*quantize_zeropoint(x)) is within scale / 2 of x (the reference's q)."""
    x, _ = zeropoint_case((5, 7), 1, seed=123)
    q, scale, z = ref.quantize_zeropoint(x, axis=1)
    got = np.asarray(learner.dequantize(q, scale, z), dtype=np.float64)
    on = describe(x=x) + ", axis=1"
    assert_true(bool(np.all(np.abs(got - x) <= scale / 2 + 1e-12)), "dequantize: round trip",
                f"|dequantize(q, scale, z) - x| must be <= scale / 2, got up to {np.abs(got - x).max():.4g}",
                on=on, hint=HINTS["dequantize"])  # fmt: skip


# ---------------------------------------------------------------------------------------
# kv_cache_step, kv_cache_decode: a GPT (the gpt topic's layout) against the full
# recomputation lm_forward
# ---------------------------------------------------------------------------------------

V_LM, N_CTX = 9, 16


def lm_params(d, n_layer, seed, dtype=np.float64):
    """A random GPT (the gpt topic's names) whose norms are not the identity and whose
    biases are not zero, so that a step that skips one is seen; every matrix scaled by
    1/sqrt(its fan-in) so that softmaxes stay soft."""
    rng = np.random.default_rng(seed)
    # positions weigh more than tokens: with wte and wpe alike a random tied GPT predicts its
    # own input token again, and a greedy decoding that repeats one token is blind to where
    # its positions went
    p = {"wte": 0.3 * rng.normal(size=(V_LM, d)), "wpe": 2 * rng.normal(size=(N_CTX, d))}
    shapes = {"attn_c_attn": (d, 3 * d), "attn_c_proj": (d, d), "mlp_c_fc": (d, 4 * d),
              "mlp_c_proj": (4 * d, d)}  # fmt: skip
    for layer in range(n_layer):
        h = f"h{layer}_"
        for norm in ("ln_1", "ln_2"):
            p[h + norm + "_gamma"] = 1 + 0.2 * rng.normal(size=d)
            p[h + norm + "_beta"] = 0.2 * rng.normal(size=d)
        for name, (fan_in, fan_out) in shapes.items():
            p[h + name + "_W"] = rng.normal(size=(fan_in, fan_out)) / math.sqrt(fan_in)
            p[h + name + "_b"] = 0.2 * rng.normal(size=fan_out)
    p["ln_f_gamma"], p["ln_f_beta"] = 1 + 0.2 * rng.normal(size=d), 0.2 * rng.normal(size=d)
    return {k: v.astype(dtype) for k, v in p.items()}


def lm_on(p, n_layer, n_head):
    return f"V={V_LM}, n_ctx={N_CTX}, d={p['wte'].shape[1]}, n_layer={n_layer}, n_head={n_head}"


def call_step(learner, p, tokens, cache, start, n_layer, n_head):
    on = (
        describe(tokens=tokens)
        + f", start={start}, cache t={cache['k'].shape[2]}, "
        + lm_on(p, n_layer, n_head)
    )
    got = call_n(
        learner.kv_cache_step(p, tokens, cache, start, n_layer, n_head), 2, "kv_cache_step", on
    )
    logits, new = got
    assert_true(isinstance(new, dict) and {"k", "v"} <= set(new), "kv_cache_step: the new cache",
                f"expected a dict with 'k' and 'v', got {type(new).__name__}"
                f"{' with keys ' + str(sorted(new)) if isinstance(new, dict) else ''}", on=on,
                hint="return (logits, {'k': ..., 'v': ...})")  # fmt: skip
    return logits, new, on


def where_the_step_parts(new, exp_cache, n_layer, wte, tol):
    """Wrong logits located by the cache the step returned: the first block whose keys or
    values differ says where the mistake is (None when the cache's shape is wrong: no
    evidence then)."""
    try:
        got = {n: np.asarray(new[n], dtype=np.float64) for n in ("k", "v")}
    except (TypeError, ValueError, KeyError):
        return None
    if any(got[n].shape != exp_cache[n].shape for n in got):
        return None
    rtol, atol = tolerances(exp_cache["k"], wte, rtol=tol.get("rtol", 1e-7), atol=tol.get("atol", 1e-10))
    wrong = [(layer, n) for layer in range(n_layer) for n in ("k", "v")
             if not np.allclose(got[n][layer], exp_cache[n][layer], rtol=rtol, atol=atol)]  # fmt: skip
    if not wrong:
        return Diagnosis("signature", "kv-step-wrong-after-the-last-keys",
                         "every block's cached keys and values are right, the logits are not: the mistake is after "
                         "the last block's keys and values: its queries, mask (shifted by start), softmax or "
                         "1/sqrt(d_head), c_proj, ln_2, the MLP, ln_f, or the tied output layer (@ wte.T)")  # fmt: skip
    layer, name = wrong[0]
    if layer == 0:
        which = "keys and values" if (0, "k") in wrong and (0, "v") in wrong else {"k": "keys", "v": "values"}[name]
        return Diagnosis("signature", "kv-step-wrong-before-the-first-attention",
                         f"block 0's cached {which} already differ: the mistake is in what block 0 caches: the "
                         "embedding (wte[tokens] + wpe[start : start + T_new]), ln_1, c_attn and its split into q, "
                         "k, v (q first, then k, then v; then the heads), or the append (the new keys after the "
                         "cached ones, along the positions axis)")  # fmt: skip
    return Diagnosis("signature", "kv-step-wrong-inside-a-block",
                     f"block {layer - 1}'s cached keys and values are right and block {layer}'s differ: the mistake "
                     f"is in block {layer - 1} after its keys and values: its queries, mask (shifted by start), "
                     "softmax or 1/sqrt(d_head), c_proj, ln_2, the MLP, or a residual")  # fmt: skip


def check_steps(learner, ref, p, seq, chunks, n_layer, n_head, dtype_label="", tol=None):
    """Feed seq in chunks (the first is the prompt): each chunk's logits equal lm_forward's
    at those positions, and the cache equals the one the whole sequence gives."""
    d_head = p["wte"].shape[1] // n_head
    full = ref.lm_forward({k: v.astype(np.float64) for k, v in p.items()}, seq, n_layer, n_head)
    cache, start = ref.init_cache(n_layer, n_head, d_head), 0
    cache = {k: v.astype(p["wte"].dtype) for k, v in cache.items()}
    for size in chunks:
        tokens = np.asarray(seq[start : start + size])
        logits, new, on = call_step(learner, p, tokens, cache, start, n_layer, n_head)
        label = f"positions {start}..{start + size - 1}{dtype_label}"
        assert_shape(
            logits,
            (size, V_LM),
            f"kv_cache_step: logits ({label})",
            on=on,
            expected=full[start : start + size],
        )
        _, exp_cache = ref.kv_cache_step(p, seq[: start + size], ref.init_cache(n_layer, n_head, d_head), 0,
                                         n_layer, n_head)  # fmt: skip
        try:
            assert_close(logits, full[start : start + size], f"kv_cache_step: logits ({label}) vs lm_forward of "
                         f"the whole sequence", on=on, inputs={"wte": p["wte"]}, hint=HINTS["kv_cache_step"],
                         **(tol or {}))  # fmt: skip
        except GradeFailure as failure:
            if failure.diagnosis is None:
                failure.diagnosis = where_the_step_parts(new, exp_cache, n_layer, p["wte"], tol or {})
            raise
        for name in ("k", "v"):
            exp = exp_cache[name]
            assert_shape(new[name], exp.shape, f"kv_cache_step: cache['{name}'] after {label} "
                         "(n_layer, n_head, t, d_head)", on=on, expected=exp)  # fmt: skip
            assert_close(new[name], exp, f"kv_cache_step: cache['{name}'] after {label}", on=on, inputs={"wte": p["wte"]},
                         hint="the cache holds every layer's keys and values of every token so far, in order")  # fmt: skip
        cache, start = {k: np.asarray(v) for k, v in new.items()}, start + size


# (d, n_layer, n_head, prompt length): one head, d_head 1, one layer, a one-token prompt
STEP_CASES = [(8, 1, 2, 4), (8, 2, 2, 5), (6, 2, 3, 1), (4, 1, 4, 3), (6, 1, 1, 6)]


@pytest.mark.parametrize("case", STEP_CASES, ids=str)
@pytest.mark.part("kv_cache_step", points=0.2)
def test_kv_cache_step_prefill(learner, ref, case):
    """The prompt through an empty cache: logits (T, V) equal lm_forward(prompt), the cache
    holds (n_layer, n_head, T, d_head) keys and values."""
    d, n_layer, n_head, t0 = case
    p = lm_params(d, n_layer, seed=130 + d + n_layer)
    seq = np.random.default_rng(131).integers(0, V_LM, t0)
    check_steps(learner, ref, p, seq, [t0], n_layer, n_head)


@pytest.mark.parametrize("case", STEP_CASES, ids=str)
@pytest.mark.part("kv_cache_step", points=0.4)
def test_kv_cache_step_one_token_at_a_time(learner, ref, case):
    """After the prompt, one token per call at start = its position: every step's logits
    equal the full recomputation's last row (the position offset included)."""
    d, n_layer, n_head, t0 = case
    p = lm_params(d, n_layer, seed=140 + d + n_layer)
    seq = np.random.default_rng(141 + t0).integers(0, V_LM, t0 + 6)
    check_steps(learner, ref, p, seq, [t0] + [1] * 6, n_layer, n_head)


@pytest.mark.part("kv_cache_step", points=0.5)
def test_kv_cache_step_chunks(learner, ref):
    """Chunks of 3 and 4 new tokens after a prompt (speculative decoding verifies chunks):
    the causal mask is shifted by start, each new token sees the cache and the new tokens
    up to itself."""
    p = lm_params(8, 2, seed=150)
    seq = np.random.default_rng(151).integers(0, V_LM, 14)
    check_steps(learner, ref, p, seq, [3, 3, 4, 1, 3], 2, 2)


@pytest.mark.part("kv_cache_step", points=0.4)
def test_kv_cache_step_float32(learner, ref):
    """float32 weights and cache give float32-accurate logits."""
    p = lm_params(8, 2, seed=160, dtype=np.float32)
    seq = np.random.default_rng(161).integers(0, V_LM, 8)
    check_steps(learner, ref, p, seq, [4, 1, 1, 2], 2, 2, dtype_label=", float32")


@pytest.mark.part("kv_cache_step", points=0.4)
def test_kv_cache_step_large_scores(learner, ref):
    """The q and k columns of c_attn scaled by 30 (scores up to ~1e3, far apart between
    rows): the softmax of each query row stays finite and equals the reference's."""
    p = lm_params(8, 2, seed=167)
    for layer in range(2):  # c_attn's first 2d columns make q and k
        p[f"h{layer}_attn_c_attn_W"] = p[f"h{layer}_attn_c_attn_W"] * np.repeat([30.0, 30.0, 1.0], 8)
    seq = np.random.default_rng(168).integers(0, V_LM, 7)
    # scores of ~1e3 round at ~1e-13 absolute; the softmax and two layers amplify that
    check_steps(learner, ref, p, seq, [4, 1, 2], 2, 2, tol={"rtol": 1e-6, "atol": 1e-9})


@pytest.mark.part("kv_cache_step", points=0.3)
def test_kv_cache_step_calls_no_full_forward(learner, ref, learner_source):
    """kv_cache_step computes with the cache (one step checked first): it may not call lm_forward."""
    p = lm_params(6, 1, seed=165)
    check_steps(learner, ref, p, np.random.default_rng(166).integers(0, V_LM, 4), [3, 1], 1, 2)
    assert_not_using(learner_source, "kv_cache_step", ["lm_forward"],
                     "a KV-cache step runs only the new tokens, against the cached keys and values")  # fmt: skip


def greedy_full(ref, p, prompt, n_new, n_layer, n_head):
    tokens = [int(t) for t in prompt]
    for _ in range(n_new):
        tokens.append(int(np.argmax(ref.lm_forward(p, tokens, n_layer, n_head)[-1])))
    return tokens


# (d, n_layer, n_head, prompt, new tokens): a one-token prompt, the context filled exactly
DECODE_CASES = [(8, 2, 2, [3, 1, 4], 6), (6, 1, 3, [5], 7), (8, 2, 4, [2, 7, 1, 8, 2], N_CTX - 5)]


@pytest.mark.parametrize("case", DECODE_CASES, ids=lambda c: str(c[:4]))
@pytest.mark.part("kv_cache_decode", points=0.5)
def test_kv_cache_decode_equals_recomputation(learner, ref, case):
    """Greedy decoding with the cache returns prompt + new tokens, the same as recomputing
    lm_forward on the whole sequence at every step."""
    d, n_layer, n_head, prompt, n_new = case
    p = lm_params(d, n_layer, seed=170 + len(prompt))
    exp = greedy_full(ref, p, prompt, n_new, n_layer, n_head)
    on = f"prompt={prompt}, max_new_tokens={n_new}, " + lm_on(p, n_layer, n_head)
    got = learner.kv_cache_decode(p, np.array(prompt), n_new, n_layer, n_head)
    assert_shape(got, (len(exp),), "kv_cache_decode: tokens (prompt + new)", on=on, expected=exp)
    assert_close(got, exp, "kv_cache_decode: tokens vs greedy recomputation", on=on, rtol=0, atol=0,
                 hint=HINTS["kv_cache_decode"])  # fmt: skip


@pytest.mark.part("kv_cache_decode", points=0.5)
def test_kv_cache_decode_calls_no_full_forward(learner, ref, learner_source):
    """kv_cache_decode decodes with kv_cache_step (one decoding checked first): it may not
    call lm_forward."""
    test_kv_cache_decode_equals_recomputation(learner, ref, DECODE_CASES[0])
    assert_not_using(learner_source, "kv_cache_decode", ["lm_forward"],
                     "decode with kv_cache_step: the prompt once, then each new token alone")  # fmt: skip


# ---------------------------------------------------------------------------------------
# speculative_decode
# ---------------------------------------------------------------------------------------

# A target and a draft that disagree in every row, no zero entries (p / q and q / p finite).
P_TARGET = np.array([[0.50, 0.20, 0.20, 0.10], [0.10, 0.60, 0.20, 0.10], [0.30, 0.30, 0.20, 0.20],
                     [0.25, 0.25, 0.25, 0.25]])  # fmt: skip
Q_DRAFT = np.array([[0.10, 0.40, 0.40, 0.10], [0.40, 0.10, 0.10, 0.40], [0.25, 0.25, 0.25, 0.25],
                    [0.70, 0.10, 0.10, 0.10]])  # fmt: skip
# The distribution test: rounds, gamma, seed. Its statistic is Anderson & Goodman's (1957)
# chi-square of a Markov chain's transition counts against P: df = V (V - 1) = 12, and
# 32.909 is the 0.999 quantile of chi-square(12): a correct sampler fails with probability
# 0.001 over seeds (the reference: 0 of 200 seeds; 3.7 at this fixed seed).
# Power at this size, measured over 200 seeds (the fraction whose statistic exceeds
# 32.909; the smallest statistic seen): accept with q / p 1.00 (776.8), residual not
# normalised 1.00 (184.9), draft context not advanced 1.00 (52.9). A round without its
# bonus token is still distributed as P (it is only slower): the structure check
# (accepted + 1 tokens per round) catches it, not this test.
CHI2_ROUNDS, CHI2_GAMMA, CHI2_SEED, CHI2_CRITICAL = 400, 3, 190, 32.909


def spec_on(P, gamma, n_rounds, prev):
    return f"V={P.shape[0]}, gamma={gamma}, n_rounds={n_rounds}, prev={prev}"


def call_spec(learner, P, Q, prev, n_rounds, gamma, u):
    on = spec_on(P, gamma, n_rounds, prev)
    tokens, accepted = call_n(
        learner.speculative_decode(P, Q, prev, n_rounds, gamma, u), 2, "speculative_decode", on
    )
    return np.asarray(tokens), np.asarray(accepted), on


def check_structure(tokens, accepted, n_rounds, gamma, V, on):
    assert_shape(accepted, (n_rounds,), "speculative_decode: accepted (one count per round)", on=on)
    assert_true(bool(np.all((accepted >= 0) & (accepted <= gamma))), "speculative_decode: accepted",
                f"each round accepts 0..{gamma} draft tokens, got values from {accepted.min()} to {accepted.max()}",
                on=on)  # fmt: skip
    n = int(accepted.sum()) + n_rounds
    assert_shape(tokens, (n,), "speculative_decode: tokens (each round emits accepted + 1: the accepted "
                 "drafts, then one residual or bonus token)", on=on,
                 hint="a round that accepts all gamma drafts still emits a bonus token drawn from p")  # fmt: skip
    assert_true(bool(np.all((tokens >= 0) & (tokens < V))), "speculative_decode: tokens",
                f"token ids must be in [0, {V}), got {tokens.min()}..{tokens.max()}", on=on,
                hint="draw with the inverse CDF of a normalised distribution")  # fmt: skip


# (V, gamma, n_rounds, seed)
SPEC_CASES = [(4, 3, 30, 180), (4, 1, 40, 181), (3, 4, 25, 182), (5, 2, 30, 183)]


def spec_tables(V, seed):
    if V == 4:
        return P_TARGET, Q_DRAFT
    rng = np.random.default_rng(seed)
    P, Q = rng.dirichlet(np.ones(V), V), rng.dirichlet(np.ones(V), V)
    return P, Q


@pytest.mark.parametrize("case", SPEC_CASES, ids=str)
@pytest.mark.part("speculative_decode", points=0.5)
def test_speculative_decode_matches_reference(learner, ref, case):
    """On given uniforms the rounds are exact: the same accepted counts and tokens as the
    reference (u[r, :gamma] draft, u[r, gamma:2 gamma] accept, u[r, 2 gamma] the last token)."""
    V, gamma, n_rounds, seed = case
    P, Q = spec_tables(V, seed)
    u = np.random.default_rng(seed).random((n_rounds, 2 * gamma + 1))
    tokens, accepted, on = call_spec(learner, P, Q, 1, n_rounds, gamma, u)
    exp_tokens, exp_accepted = ref.speculative_decode(P, Q, 1, n_rounds, gamma, u)
    check_structure(tokens, accepted, n_rounds, gamma, V, on)
    hint = HINTS["speculative_decode"]
    assert_close(
        accepted,
        exp_accepted,
        "speculative_decode: accepted per round",
        on=on,
        rtol=0,
        atol=0,
        hint=hint,
    )
    assert_close(tokens, exp_tokens, "speculative_decode: tokens", on=on, rtol=0, atol=0, hint=hint)


@pytest.mark.part("speculative_decode", points=0.5)
def test_speculative_decode_draft_equal_to_target(learner, ref):
    """Q = P: every draft is accepted (p / q = 1 > u), each round emits gamma + 1 tokens."""
    gamma, n_rounds = 3, 20
    u = np.random.default_rng(185).random((n_rounds, 2 * gamma + 1))
    tokens, accepted, on = call_spec(learner, P_TARGET, P_TARGET, 0, n_rounds, gamma, u)
    check_structure(tokens, accepted, n_rounds, gamma, 4, on + ", Q = P")
    assert_close(accepted, np.full(n_rounds, gamma), "speculative_decode: accepted per round with Q = P",
                 on=on + ", Q = P", rtol=0, atol=0, hint="accept when u < p(x) / q(x): always, when q = p")  # fmt: skip
    exp_tokens, _ = ref.speculative_decode(P_TARGET, P_TARGET, 0, n_rounds, gamma, u)
    assert_close(tokens, exp_tokens, "speculative_decode: tokens with Q = P", on=on + ", Q = P", rtol=0, atol=0,
                 hint=HINTS["speculative_decode"])  # fmt: skip


@pytest.mark.part("speculative_decode", points=0.4)
def test_speculative_decode_rounding_edge(learner, ref):
    """Rows of ten 0.1s, whose float cumsum ends at 1 - 2^-53, and every uniform at its
    largest value 1 - 2^-53: no cumsum entry exceeds u, so each draw is the last token (9),
    never an id out of range."""
    P = np.full((10, 10), 0.1)
    gamma, n_rounds = 2, 3
    u = np.full((n_rounds, 2 * gamma + 1), np.nextafter(1.0, 0.0))
    tokens, accepted, on = call_spec(learner, P, P, 0, n_rounds, gamma, u)
    on += ", P = Q = 0.1 everywhere, u = 1 - 2^-53"
    check_structure(tokens, accepted, n_rounds, gamma, 10, on)
    exp_tokens, _ = ref.speculative_decode(P, P, 0, n_rounds, gamma, u)
    assert_close(tokens, exp_tokens, "speculative_decode: tokens when rounding leaves no cumsum > u", on=on,
                 rtol=0, atol=0, hint="when no cumsum entry exceeds u (rounding), draw the last token")  # fmt: skip


def transition_chi2(prev, tokens, P):
    """Anderson & Goodman's chi-square: transition counts of prev, tokens... against P."""
    seq = np.concatenate([[prev], tokens]).astype(np.int64)
    counts = np.zeros_like(P)
    np.add.at(counts, (seq[:-1], seq[1:]), 1)
    expected = counts.sum(axis=1, keepdims=True) * P
    return float(((counts - expected) ** 2 / np.where(expected > 0, expected, 1)).sum()), counts


@pytest.mark.part("speculative_decode", points=1)
def test_speculative_decode_output_follows_the_target(learner, ref):
    """The emitted tokens are a Markov chain with the TARGET's transitions P (whatever the
    draft): chi-square of the transition counts, 400 rounds of gamma 3, below 32.909 (the
    0.999 quantile of chi-square with 12 degrees of freedom)."""
    u = np.random.default_rng(CHI2_SEED).random((CHI2_ROUNDS, 2 * CHI2_GAMMA + 1))
    tokens, accepted, on = call_spec(learner, P_TARGET, Q_DRAFT, 0, CHI2_ROUNDS, CHI2_GAMMA, u)
    check_structure(tokens, accepted, CHI2_ROUNDS, CHI2_GAMMA, 4, on)
    stat, counts = transition_chi2(0, tokens, P_TARGET)
    freq = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    assert_true(stat < CHI2_CRITICAL, "speculative_decode: the output distribution",
                f"chi-square of the {len(tokens)} transitions against the target's P is {stat:.1f} >= "
                f"{CHI2_CRITICAL} (df 12, p < 0.001); observed next-token frequencies per previous token:\n"
                f"{np.array2string(freq, precision=2)}\n    target P:\n{np.array2string(P_TARGET, precision=2)}",
                on=on, hint=HINTS["speculative_decode"])  # fmt: skip


# ---------------------------------------------------------------------------------------
# model_memory, kv_cache_memory: published configurations
# ---------------------------------------------------------------------------------------

# Touvron et al. 2023 (LLaMA 2, table 1 and HF config.json); Jiang et al. 2023 (Mistral 7B).
LLAMA2_7B = {"vocab_size": 32000, "d_model": 4096, "n_layers": 32, "n_heads": 32, "n_kv_heads": 32,
             "d_ff": 11008, "tie_embeddings": False}  # fmt: skip
LLAMA2_70B = {"vocab_size": 32000, "d_model": 8192, "n_layers": 80, "n_heads": 64, "n_kv_heads": 8,
              "d_ff": 28672, "tie_embeddings": False}  # fmt: skip
MISTRAL_7B = {"vocab_size": 32000, "d_model": 4096, "n_layers": 32, "n_heads": 32, "n_kv_heads": 8,
              "d_ff": 14336, "tie_embeddings": False}  # fmt: skip
# A small tied model: a tied head, multi-query attention (3 heads, 1 KV head), an odd
# parameter count (int4 rounds half a byte up).
TINY = {"vocab_size": 1001, "d_model": 63, "n_layers": 3, "n_heads": 3, "n_kv_heads": 1, "d_ff": 171,
        "tie_embeddings": True}  # fmt: skip
# Parameter counts: HF `num_parameters()` of meta-llama/Llama-2-7b-hf (6,738,415,616) and
# Llama-2-70b-hf (68,976,648,192), mistralai/Mistral-7B-v0.1 (7,241,732,096).
PARAMS = {"LLaMA-2-7B": (LLAMA2_7B, 6_738_415_616), "LLaMA-2-70B": (LLAMA2_70B, 68_976_648_192),
          "Mistral-7B": (MISTRAL_7B, 7_241_732_096)}  # fmt: skip


def config_on(config):
    return ", ".join(f"{k}={v}" for k, v in config.items())


def check_bytes(got, expected, what, on, hint):
    assert_true(isinstance(got, int | np.integer), f"{what}: type", f"expected an int, got {type(got).__name__}",
                on=on, hint="return int(...) (bytes, rounded up)")  # fmt: skip
    assert_close(got, expected, what, on=on, rtol=0, atol=0, hint=hint)


BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}


def memory_terms(config, dtype):
    """model_memory's terms in bytes, for a wrong count told by the term it is off by (int4's
    half bytes are no whole terms: none)."""
    if dtype not in BYTES:
        return {}
    b, d, L = BYTES[dtype], config["d_model"], config["n_layers"]
    kv = config["n_kv_heads"] * (d // config["n_heads"])
    terms = {"V·d": (config["vocab_size"] * d * b, "the embedding, or the untied output layer"),
             "n_layers·d²": (L * d * d * b, "Wq or Wo over the layers" if kv != d else
                             "one attention matrix over the layers (Wk, Wv are d x d too: n_kv_heads = n_heads)"),
             "n_layers·d·d_ff": (L * d * config["d_ff"] * b, "one SwiGLU matrix over the layers"),
             "n_layers·d": (L * d * b, "one RMSNorm's weights over the layers"),
             "d": (d * b, "the final RMSNorm's weights")}  # fmt: skip
    if kv != d:
        terms["n_layers·d·n_kv_heads·d_head"] = (L * d * kv * b, "Wk or Wv over the layers")
    return {f"{n} x {b} bytes": t for n, t in terms.items()}


def check_model_bytes(got, expected, what, config, dtype):
    """model_memory's bytes, exactly; a wrong count told by the model term it is off by."""
    assert_count(got, expected, what, terms=memory_terms(config, dtype), on=config_on(config) +
                 f", dtype={dtype!r}", hint=HINTS["model_memory"])  # fmt: skip


@pytest.mark.parametrize("model", list(PARAMS))
@pytest.mark.part("model_memory", points=0.5)
def test_model_memory_published_models(learner, model):
    """float16 bytes = 2 x the published parameter count (LLaMA-2 7B 13,476,831,232 bytes);
    float32 4 x."""
    config, params = PARAMS[model]
    for dtype, size in (("float16", 2), ("float32", 4)):
        check_model_bytes(learner.model_memory(config, dtype), params * size, f"model_memory: {model} in "
                          f"{dtype}", config, dtype)  # fmt: skip


@pytest.mark.parametrize("dtype", ["bfloat16", "int8", "int4"])
@pytest.mark.part("model_memory", points=0.3)
def test_model_memory_dtypes_and_tied_head(learner, ref, dtype):
    """A tied model with GQA in bfloat16, int8 and int4 (1/2 byte each, rounded up)."""
    check_model_bytes(learner.model_memory(TINY, dtype), ref.model_memory(TINY, dtype), f"model_memory: tiny "
                      f"tied model in {dtype}", TINY, dtype)  # fmt: skip


# (model, seq_len, batch, dtype, bytes): LLaMA-2-7B at 4096 tokens in float16 is 2 GiB;
# LLaMA-2-70B's 8 KV heads make its cache 1.25 GiB per 4096 tokens.
KV_CASES = [("LLaMA-2-7B", 4096, 1, "float16", 2 * 1024**3), ("LLaMA-2-70B", 4096, 1, "float16", 1_342_177_280),
            ("Mistral-7B", 8192, 4, "bfloat16", 4 * 1024**3), ("LLaMA-2-7B", 1000, 3, "int8", 786_432_000),
            ("tiny", 7, 1, "int4", 441), ("Mistral-7B", 1, 1, "float32", 262_144)]  # fmt: skip


@pytest.mark.parametrize("case", KV_CASES, ids=lambda c: f"{c[0]}-{c[1]}x{c[2]}-{c[3]}")
@pytest.mark.part("kv_cache_memory", points=0.4)
def test_kv_cache_memory(learner, case):
    """2 n_layers n_kv_heads d_head seq_len batch bytes, on published configurations."""
    model, seq, batch, dtype, expected = case
    config = TINY if model == "tiny" else PARAMS[model][0]
    check_bytes(learner.kv_cache_memory(config, seq, batch, dtype), expected, f"kv_cache_memory: {model}",
                config_on(config) + f", seq_len={seq}, batch={batch}, dtype={dtype!r}", HINTS["kv_cache_memory"])  # fmt: skip
