"""Grader for convolution: output shape, naive and vectorised conv2d, and conv2d's backward.

Layers: output shapes -> forward shapes -> forward values against torch.nn.functional.conv2d
with the same weights (float64 and float32) -> from-scratch integrity -> dx, dw, db against
float64 central differences of the reference forward and against torch.autograd -> float32
gradients -> the vectorised forward's speed (last: a conv2d that times out is not called
again). Every case grid holds the inputs that catch real mistakes: padding 0 (an un-pad by
`[p:-p]` is empty), H != W with asymmetric strides (h and w swapped), dilation > 1, channels
> 1 on both sides, batch 1, kernels as large as the input. torch is imported lazily.
"""

import ast
import time

import numpy as np
import pytest

from nnfs_cli.checks import (
    as_tuple,
    assert_backward,
    assert_close,
    assert_does_the_work,
    assert_gradient,
    assert_not_using,
    assert_shape,
    assert_true,
    describe,
    numerical_gradient,
    torch_oracle,
)
from nnfs_cli.sandbox.client import LearnerRaised

# (N, C_in, H, W, C_out, kH, kW, stride, padding, dilation): each case's id says what it catches
CASES = {
    "batch1_3x3": (1, 1, 5, 5, 1, 3, 3, (1, 1), (0, 0), (1, 1)),
    "nonsquare_stride2x1_pad1x0": (2, 3, 7, 5, 4, 3, 2, (2, 1), (1, 0), (1, 1)),
    "wide_stride1x3_pad0x2": (3, 2, 6, 9, 3, 2, 3, (1, 3), (0, 2), (1, 1)),
    "dilation2_pad1": (2, 3, 9, 8, 2, 3, 3, (1, 1), (1, 1), (2, 2)),
    "all_asymmetric": (1, 2, 10, 7, 3, 3, 2, (2, 3), (2, 1), (2, 1)),
    "dilation1x2_stride3x2": (1, 3, 11, 6, 2, 3, 3, (3, 2), (1, 2), (1, 2)),
    "1x1_kernel_stride2": (2, 4, 6, 6, 5, 1, 1, (2, 2), (0, 0), (1, 1)),
    "kernel_fills_input": (2, 2, 5, 6, 2, 5, 6, (1, 1), (0, 0), (1, 1)),
}
IDS = list(CASES)
HINT = (
    "out[n, o, i, j] = b[o] + sum over (c, p, q) of w[o, c, p, q] * xp[n, c, i*sh + p*dh, j*sw + q*dw], "
    "with xp the zero-padded x; the first number of each pair goes with H, the second with W"
)
BACKWARD_HINTS = {
    "x": "scatter dout[n, o, i, j] * w[o] back onto the padded window it came from with +=, then cut "
    "the padding off with [ph:ph + H, pw:pw + W] (a[0:-0] is empty)",
    "w": "dw[o, c, p, q] = sum over (n, i, j) of dout[n, o, i, j] * xp[n, c, i*sh + p*dh, j*sw + q*dw]",
    "b": "db = dout.sum(axis=(0, 2, 3)): the bias is added at every sample and every position",
}


def conv_data(case, seed, dtype=np.float64):
    """x, w, b and an upstream dout for one case, seeded, standard normal."""
    n, c_in, h, w_, c_out, kh, kw, stride, padding, dilation = case
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c_in, h, w_))
    w = rng.normal(size=(c_out, c_in, kh, kw))
    b = rng.normal(size=c_out)
    h_out = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    w_out = (w_ + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    dout = rng.normal(size=(n, c_out, h_out, w_out))
    return tuple(a.astype(dtype) for a in (x, w, b, dout))


def geometry(case):
    """The (stride, padding, dilation) pairs of a case."""
    return case[7:]


def conv_on(x, w, case, **more):
    stride, padding, dilation = geometry(case)
    return describe(x=x, w=w, **more) + f", stride={stride}, padding={padding}, dilation={dilation}"


def torch_conv(x, w, b, case):
    """torch.nn.functional.conv2d in float64 with the same weights: the trusted forward."""
    import torch.nn.functional as F

    stride, padding, dilation = geometry(case)
    out, _ = torch_oracle(
        lambda xt, wt, bt: F.conv2d(xt, wt, bt, stride, padding, dilation), x, w, b
    )
    return out


def loop_lines(source, name):
    """Lines of the for/while loops and comprehensions inside function `name`."""
    loops = (ast.For, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
    return sorted(
        sub.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef) and node.name == name
        for sub in ast.walk(node)
        if isinstance(sub, loops)
    )


# ---------------------------------------------------------------------------------------
# conv2d_output_shape
# ---------------------------------------------------------------------------------------


@pytest.mark.part("conv2d_output_shape", points=2)
def test_output_shape_grid(learner, ref):
    """(N, C_out, H_out, W_out) for every case of the grid (asymmetric pairs, dilation, 1x1)."""
    for case in CASES.values():
        x, w, _, _ = conv_data(case, seed=0)
        on = conv_on(x, w, case)
        got = as_tuple(
            learner.conv2d_output_shape(x.shape, w.shape, *geometry(case)), 4,
            "conv2d_output_shape(x.shape, w.shape, stride, padding, dilation)", on,
        )  # fmt: skip
        expected = ref.conv2d_output_shape(x.shape, w.shape, *geometry(case))
        assert_close(
            np.asarray(got, dtype=np.float64),
            np.asarray(expected, dtype=np.float64),
            "conv2d_output_shape: (N, C_out, H_out, W_out)",
            on=on,
            hint="H_out = floor((H + 2 ph - dh (kH - 1) - 1) / sh) + 1, and W_out with the second "
            "number of each pair",
        )


@pytest.mark.part("conv2d_output_shape", points=1)
def test_output_shape_rejects_impossible_shapes(learner):
    """ValueError when x and w disagree on C_in, or when the dilated kernel is larger than the
    padded input."""
    impossible = [
        ((2, 3, 8, 8), (4, 2, 3, 3), (1, 1), (0, 0), (1, 1), "x has 3 channels, w expects 2"),
        ((1, 1, 4, 9), (1, 1, 5, 3), (1, 1), (0, 0), (1, 1), "a 5-row kernel on 4 rows"),
        ((1, 1, 9, 4), (1, 1, 3, 3), (1, 1), (0, 0), (1, 2), "3 taps 2 apart span 5 of 4 columns"),
    ]
    for x_shape, w_shape, stride, padding, dilation, why in impossible:
        try:
            got = learner.conv2d_output_shape(x_shape, w_shape, stride, padding, dilation)
        except LearnerRaised as exc:
            if exc.exc_type == "ValueError":
                continue
            if exc.not_implemented or exc.forbidden:
                raise
            got = f"{exc.exc_type}: {exc.detail}"
        assert_true(
            False,
            "conv2d_output_shape: no ValueError for an impossible convolution",
            f"{why}: expected ValueError, got {got!r}",
            on=f"x_shape={x_shape}, w_shape={w_shape}, stride={stride}, padding={padding}, dilation={dilation}",
            hint="check x_shape[1] == w_shape[1], and that H_out and W_out are at least 1; raise "
            "ValueError otherwise",
        )


# ---------------------------------------------------------------------------------------
# conv2d_naive and conv2d: shapes, values, integrity
# ---------------------------------------------------------------------------------------

FORWARDS = ["conv2d_naive", "conv2d"]


def each_forward(points):
    """Parametrise over the two forwards, each case graded as its own function's part."""
    return pytest.mark.parametrize(
        "name", [pytest.param(f, marks=pytest.mark.part(f, points=points), id=f) for f in FORWARDS]
    )


CHEAP = ["batch1_3x3", "nonsquare_stride2x1_pad1x0", "all_asymmetric", "kernel_fills_input"]


@each_forward(points=1)
def test_forward_shapes(learner, name):
    """The forward returns (N, C_out, H_out, W_out) on batch 1, non-square and 1x1 cases."""
    for case_id in CHEAP + ["1x1_kernel_stride2"]:
        case = CASES[case_id]
        x, w, b, dout = conv_data(case, seed=1)
        assert_shape(
            getattr(learner, name)(x, w, b, *geometry(case)),
            dout.shape,
            f"{name}(x, w, b, stride, padding, dilation)",
            on=conv_on(x, w, case, b=b) + f" [{case_id}]",
        )


@pytest.mark.parametrize("case_id", IDS)
@each_forward(points=0.5)  # 4 points over the 8 cases
def test_forward_values(learner, name, case_id):
    """Values equal torch.nn.functional.conv2d with the same weights, for float64 and float32
    inputs (float32 at float32 precision)."""
    case = CASES[case_id]
    for dtype in (np.float64, np.float32):
        x, w, b, _ = conv_data(case, seed=2 + IDS.index(case_id), dtype=dtype)
        assert_close(
            getattr(learner, name)(x, w, b, *geometry(case)),
            torch_conv(x, w, b, case),
            f"{name}(x, w, b, stride, padding, dilation) vs torch.nn.functional.conv2d",
            on=conv_on(x, w, case, b=b),
            inputs={"x": x},
            hint=HINT,
        )


@each_forward(points=0.5)
def test_forward_is_cross_correlation(learner, name):
    """An asymmetric kernel on a ramp image: the kernel is applied as stored, not flipped."""
    x = np.arange(20.0).reshape(1, 1, 4, 5)
    w = np.array([[[[1.0, 0.0], [0.0, 0.0]]]])  # picks the window's top-left pixel
    b = np.zeros(1)
    case = (1, 1, 4, 5, 1, 2, 2, (1, 1), (0, 0), (1, 1))
    assert_close(
        getattr(learner, name)(x, w, b, (1, 1), (0, 0), (1, 1)),
        x[:, :, :3, :4],
        f"{name}: a kernel with a single 1 in its top-left corner",
        on=conv_on(x, w, case, b=b) + " (x = 0..19, row by row)",
        hint="out[i, j] = sum w[p, q] x[i + p, j + q]: the kernel is not flipped (cross-correlation, "
        "what PyTorch calls convolution); this kernel copies each window's top-left pixel",
    )


NAIVE_FORBIDDEN = [
    "@", "matmul", "dot", "vdot", "inner", "tensordot", "einsum",
    "sliding_window_view", "as_strided", "convolve", "correlate", "convolve2d", "correlate2d",
    "fftconvolve", "conv2d",
]  # fmt: skip


@pytest.mark.part("conv2d_naive", points=1)
def test_naive_is_written_with_loops(learner, ref, learner_source):
    """conv2d_naive loops over the output and uses no matrix product, window view or library
    convolution (the docstring's rule)."""
    x, w, b, _ = conv_data(CASES["batch1_3x3"], seed=3)
    learner.conv2d_naive(x, w, b, (1, 1), (0, 0), (1, 1))  # a stub fails here, as not implemented
    why = "the naive version is about the loops: each output number is (window * w[o]).sum() + b[o]"
    assert_not_using(learner_source, "conv2d_naive", NAIVE_FORBIDDEN, why)
    assert_true(
        bool(loop_lines(learner_source, "conv2d_naive")),
        "conv2d_naive: no Python loop found",
        "conv2d_naive must loop over the output positions (for or while loops)",
        hint="for n, for o, for i, for j: take the window at (i*sh, j*sw) and multiply it with w[o]",
    )
    # watched at run time too: one step of the loops per output number, no product or
    # window view reached by a computed name
    x, w, b, _ = conv_data(CASES["batch1_3x3"], seed=4)
    out_size = int(np.prod(ref.conv2d_output_shape(x.shape, w.shape, (1, 1), (0, 0), (1, 1))))
    assert_does_the_work(
        learner.conv2d_naive, (x, w, b, (1, 1), (0, 0), (1, 1)), at_least=out_size,
        forbidden=[f for f in NAIVE_FORBIDDEN if f not in ("@", "conv2d")], why=why,
        on=describe(x=x, w=w, b=b) + ", stride (1, 1), padding (0, 0), dilation (1, 1)",
        hint="for n, for o, for i, for j: one output number per step of the innermost loop",
    )  # fmt: skip


@pytest.mark.part("conv2d", points=0.5)
def test_vectorised_does_not_call_naive(learner, learner_source):
    """conv2d does not call conv2d_naive (the vectorised version is its own code)."""
    x, w, b, _ = conv_data(CASES["batch1_3x3"], seed=3)
    learner.conv2d(x, w, b, (1, 1), (0, 0), (1, 1))  # a stub fails here, as not implemented
    assert_not_using(
        learner_source,
        "conv2d",
        ["conv2d_naive"],
        "conv2d is the vectorised version: gather the windows (im2col or sliding_window_view) and "
        "do one product",
    )


# ---------------------------------------------------------------------------------------
# conv2d_backward
# ---------------------------------------------------------------------------------------

BACKWARD_NUMERICAL = [
    "batch1_3x3",
    "nonsquare_stride2x1_pad1x0",
    "dilation2_pad1",
    "all_asymmetric",
]


@pytest.mark.part("conv2d_backward", points=1)
def test_backward_shapes(learner):
    """(dx, dw, db) shaped like x, w and b, also with padding 0 (where [p:-p] is empty)."""
    for case_id in CHEAP + ["dilation2_pad1"]:
        case = CASES[case_id]
        x, w, b, dout = conv_data(case, seed=4)
        on = conv_on(x, w, case, dout=dout) + f" [{case_id}]"
        got = as_tuple(
            learner.conv2d_backward(dout, x, w, *geometry(case)), 3,
            "conv2d_backward(dout, x, w, stride, padding, dilation)", on,
        )  # fmt: skip
        for g, name, a in zip(got, ("dx", "dw", "db"), (x, w, b)):
            assert_shape(g, a.shape, f"conv2d_backward: {name} (shaped like {name[1:]})", on=on)


def oracle_case(case_id, oracle, points):
    return pytest.param(
        case_id,
        oracle,
        marks=pytest.mark.part("conv2d_backward", points=points),
        id=f"{oracle}-{case_id}",
    )


# central differences (3 points) on the cases that catch un-pad, swap and dilation mistakes,
# at sizes they handle quickly; torch.autograd (4 points) on every case
ORACLE_CASES = [oracle_case(c, "numerical", 0.75) for c in BACKWARD_NUMERICAL] + [
    oracle_case(c, "torch", 0.5) for c in IDS
]


@pytest.mark.parametrize(("case_id", "oracle"), ORACLE_CASES)
def test_backward_matches_oracles(learner, ref, case_id, oracle):
    """dx, dw, db are the gradients of sum(dout * conv2d(x, w, b)): by float64 central
    differences of the reference forward, and by torch.autograd through F.conv2d."""
    case = CASES[case_id]
    x, w, b, dout = conv_data(case, seed=(5 if oracle == "numerical" else 20) + IDS.index(case_id))
    stride, padding, dilation = geometry(case)
    if oracle == "torch":
        import torch.nn.functional as F

        forward = lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation)  # noqa: E731
    else:
        forward = lambda x, w, b: ref.conv2d(x, w, b, stride, padding, dilation)  # noqa: E731
    assert_backward(
        learner.conv2d_backward(dout, x, w, stride, padding, dilation),
        forward,
        {"x": x, "w": w, "b": b},
        dout,
        ("x", "w", "b"),
        "conv2d_backward(dout, x, w, stride, padding, dilation)",
        oracle=oracle,
        on=conv_on(x, w, case, dout=dout) + " (the loss is sum(dout * conv2d(x, w, b)))",
        hints=BACKWARD_HINTS,
        batch=case[0],
    )


@pytest.mark.part("conv2d_backward", points=1)
def test_backward_float32(learner, ref):
    """float32 inputs give dx, dw, db at float32 precision (central differences in float64)."""
    case = CASES["all_asymmetric"]
    x, w, b, dout = conv_data(case, seed=30, dtype=np.float32)
    x64, w64, b64, d64 = (a.astype(np.float64) for a in (x, w, b, dout))
    stride, padding, dilation = geometry(case)
    on = conv_on(x, w, case, dout=dout)
    got = as_tuple(
        learner.conv2d_backward(dout, x, w, stride, padding, dilation), 3,
        "conv2d_backward(dout, x, w, stride, padding, dilation)", on,
    )  # fmt: skip
    inputs = {"x": x64, "w": w64, "b": b64}
    for g, name in zip(got, inputs):
        numeric = numerical_gradient(
            lambda v, name=name: np.sum(
                d64
                * ref.conv2d(
                    **{**inputs, name: v}, stride=stride, padding=padding, dilation=dilation
                )
            ),
            inputs[name],
        )
        # a float64 result from float32 inputs is checked at float32 precision too
        assert_gradient(
            np.asarray(g, dtype=np.float32), numeric, f"conv2d_backward: d{name} in float32",
            on=on, hint=BACKWARD_HINTS[name], batch=case[0],
        )  # fmt: skip


# ---------------------------------------------------------------------------------------
# speed of the vectorised forward (last: a conv2d that times out is not called again)
# ---------------------------------------------------------------------------------------

SPEED_CASE = (8, 3, 64, 64, 8, 3, 3, (1, 1), (1, 1), (1, 1))
# Generous on purpose (a timing must never flake on a busy machine): the reference takes
# ~0.03 s for this call, sandbox transfer included; one Python iteration per output number
# (8 * 8 * 64 * 64 = 262,144 windows) takes several seconds.
SPEED_LIMIT = 1.5


@pytest.mark.part("conv2d", points=1)
def test_vectorised_is_fast(learner, ref):
    """conv2d on (8, 3, 64, 64) with 8 filters of 3x3 answers within 1.5 s (the reference:
    ~0.03 s) with the right values: no Python loop over the output positions."""
    x, w, b, _ = conv_data(SPEED_CASE, seed=40)
    on = conv_on(x, w, SPEED_CASE, b=b)
    start = time.perf_counter()
    got = learner.conv2d(x, w, b, *geometry(SPEED_CASE))
    seconds = time.perf_counter() - start
    assert_close(
        got, ref.conv2d(x, w, b, *geometry(SPEED_CASE)), "conv2d on a moderate input", on=on
    )
    assert_true(
        seconds <= SPEED_LIMIT,
        "conv2d: too slow for a vectorised convolution",
        f"took {seconds:.2f} s; allowed {SPEED_LIMIT} s (the reference needs ~0.03 s)",
        on=on,
        hint="do not loop over output positions: gather every window at once (im2col or "
        "np.lib.stride_tricks.sliding_window_view) and contract with w in one product",
    )
