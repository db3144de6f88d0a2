"""Signatures of wrong arrays: each story named on exact evidence, never on a near miss."""

import types

import numpy as np
import pytest

from nnfs_cli.checks import GradeFailure, assert_close, assert_gradient, assert_shape
from nnfs_cli.diagnosis import count_story, from_exception, shape_story, signature
from nnfs_cli.grading.call_stories import call_story

RNG = np.random.default_rng(0)
E = RNG.normal(size=(6, 5))
TOL = {"rtol": 1e-7, "atol": 1e-10}


def name(got, expected=E, **kw):
    d = signature(np.asarray(got), np.asarray(expected), **(TOL | kw))
    return d.name if d else None


@pytest.mark.parametrize(
    ("got", "kw", "expected_name"),
    [
        (E * 6, {"batch": 6}, "missing-1/N"),
        (E / 6, {"batch": 6}, "extra-1/N"),
        (E * 2, {}, "factor-2"),
        (E * 0.5, {}, "factor-0.5"),
        (E * 3.7, {}, "scale-factor"),
        (-E, {}, "sign-flipped"),
        (np.zeros_like(E), {}, "all-zeros"),
        (E.T, {}, "transposed"),
    ],
    ids=["N", "1/N", "2", "1/2", "3.7", "sign", "zeros", "transpose-shape"],
)
def test_each_signature_is_named(got, kw, expected_name):
    assert name(got, **kw) == expected_name


def test_square_transpose_and_input_returned_and_swapped_outputs():
    sq = RNG.normal(size=(5, 5))
    assert name(sq.T, sq) == "transposed"
    x = RNG.normal(size=(6, 5))
    assert name(x, E, inputs={"x": x}) == "input-returned"
    other = RNG.normal(size=(6, 5))
    assert name(other, E, others={"dW": other}) == "swapped-outputs"


def test_shift_by_one_and_border_only():
    seq = RNG.normal(size=(12, 3))
    assert name(np.roll(seq, 1, axis=0), seq) == "off-by-one"
    img = RNG.normal(size=(8, 8))
    bad = img.copy()
    bad[0, :] += 1.0
    bad[:, -1] -= 2.0
    assert name(bad, img) == "border-only"


def test_nan_only_on_large_inputs_is_overflow():
    expected = np.array([0.1, 0.2, 0.7])
    got = np.array([np.nan, 0.2, 0.7])
    assert name(got, expected, large_input=True) == "overflow"
    assert name(got, expected) == "nan-or-inf"


def test_reduction_over_the_wrong_axis():
    x = RNG.normal(size=(4, 7))
    assert name(x.sum(axis=0), x.sum(axis=1), inputs={"x": x}) == "wrong-axis"
    assert name(x.mean(axis=1), x.mean(axis=0), inputs={"x": x}) == "wrong-axis"


@pytest.mark.parametrize(
    "got",
    [
        E * 2 + RNG.normal(scale=1e-3, size=E.shape),  # a factor 2 plus noise: not exact
        -E + 1e-3,  # a sign flip plus an offset
        E * (1 + 1e-9),  # float rounding, not a factor
        E + RNG.normal(scale=0.5, size=E.shape),  # unrelated
        np.where(RNG.random(E.shape) < 0.5, E * 2, E),  # a factor on half the entries
    ],
    ids=["noisy-factor", "sign-plus-offset", "rounding", "unrelated", "half-scaled"],
)
def test_near_misses_get_no_name(got):
    assert name(got) is None


def test_tiny_arrays_get_no_coincidental_story():
    assert name(np.array([3.0]), np.array([1.3])) is None  # one value fits some factor by chance
    assert (
        name(np.array([1.0, 5.0, 3.0]), np.array([1.0, 2.0, 3.0])) is None
    )  # no border on 3 values
    assert (
        name(np.array([2.6]), np.array([0.325]), batch=8) == "missing-1/N"
    )  # the batch size is specific enough to name on one value
    assert name(np.array([0.65]), np.array([0.325]), batch=2) is None  # a factor 2 is not
    # * N where / N belongs: N^2 too large, named with the batch size on any number of values
    assert name(np.array([-8.3]), np.array([-0.083]), batch=10) == "times-N-for-1/N"
    assert name(E * 49, batch=7) == "times-N-for-1/N"
    assert name(E * 48, batch=7) == "scale-factor"  # near miss: not N^2


def test_correct_values_never_reach_a_diagnosis():
    out = assert_close(E.copy(), E, "x")
    assert out is not None
    assert_gradient(E.copy(), E, "g")


def test_failures_carry_the_diagnosis_and_a_teaching_message():
    with pytest.raises(GradeFailure) as info:
        assert_close(E * 6, E, "dW", on="x (6, 5)", batch=6, hint="divide by N")
    err = info.value
    assert err.diagnosis.name == "missing-1/N"
    text = str(err)
    for needle in (
        "dW: wrong values",
        "input: x (6, 5)",
        "expected at index",
        "relative error",
        "hint: divide by N",
    ):
        assert needle in text
    with pytest.raises(GradeFailure) as info:
        assert_shape(np.zeros((5, 6)), (6, 5), "W")
    assert info.value.diagnosis.name == "transposed"


def test_tolerances_follow_the_question_not_the_answer():
    off = (E * (1 + 5e-6)).astype(np.float32)  # wrong by more than float64 rounding
    assert_close(off, E.astype(np.float32), "float32 question")  # float32 precision there
    with pytest.raises(GradeFailure, match="float32 but the question is float64"):
        assert_close(off, E, "float32 answer to a float64 question")  # it cannot loosen one
    with pytest.raises(GradeFailure):
        assert_close(
            E * (1 + 1e-6), E, "float64 result off by 1e-6 relative"
        )  # float64 is held to 1e-7


# ------------------------------------------------------------ parameter-free stories, fills


@pytest.mark.parametrize(
    ("got", "expected_name"),
    [
        (1 - np.abs(E) / 10, "complement"),
        (10 / np.abs(E), "reciprocal"),
        ((np.abs(E) / 10) ** 2, "squared"),
        (np.sqrt(np.abs(E) / 10), "square-root"),
        (np.exp(np.abs(E) / 10), "exp-applied"),
        (np.log(np.abs(E) / 10), "log-applied"),
    ],
)
def test_parameter_free_stories(got, expected_name):
    assert name(got, np.abs(E) / 10) == expected_name


def test_a_single_number_needs_a_unique_story():
    assert name(np.array(0.3), np.array(0.7)) == "complement"
    # 0.25 = 0.5**2 = 0.5 / 2: the square and the missing factor 2 both fit, so no name
    assert name(np.array(0.25), np.array(0.5)) is None


def test_constant_offset_and_fill_value():
    assert name(E + 0.37) == "constant-offset"
    assert name(E + 0.37 + RNG.normal(scale=1e-3, size=E.shape)) is None  # not exact
    img = np.where(RNG.random((6, 6)) < 0.3, 0.0, RNG.normal(size=(6, 6)))
    filled = np.where(img == 0, 1.0, img)
    assert name(filled, img) == "fill-value"
    mixed = filled.copy()
    mixed[img == 0] = RNG.normal(size=int((img == 0).sum()))  # no single fill value
    assert name(mixed, img) is None


# ------------------------------------------------------------------------- shape stories


@pytest.mark.parametrize(
    ("got", "want", "story"),
    [
        ((5, 6), (6, 5), "transposed"),
        ((), (3, 5), None),  # without the values, a scalar branch fits as well
        ((1, 4), (4,), "size-1-axis"),
        ((4,), (4, 1), "size-1-axis"),
        ((4, 1), (4, 3), "reduced-axis"),
        ((4,), (4, 3), "reduced-axis"),
        ((5,), (4,), "off-by-one-length"),
        ((3, 7), (3,), "extra-axis"),  # X.T * r where X.T @ r belongs
        ((5, 5), (5,), "extra-axis"),
        ((2, 3, 4), (2, 4), "extra-axis"),
        ((3, 1), (3,), "size-1-axis"),  # a size-1 extra axis is the keepdims story
        ((3, 7), (4,), None),
        ((3, 7, 2), (3,), None),  # two extra axes: no claim
        ((3, 7), (3, 6), "off-by-one-length"),
        ((5,), (7,), None),
        ((2, 3), (4, 5), None),
    ],
)
def test_shape_stories(got, want, story):
    d = shape_story(got, want)
    assert (d.name if d else None) == story


# --------------------------------------------------------------------- exception stories


@pytest.mark.parametrize(
    ("exc", "detail", "story"),
    [
        (
            "ValueError",
            "matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature (n?,k),(k,m?)->(n?,m?) (size 5 is different from 3)",
            "matmul-shapes",
        ),
        (
            "ValueError",
            "shapes (4,3) and (4,3) not aligned: 3 (dim 1) != 4 (dim 0)",
            "matmul-shapes",
        ),
        (
            "ValueError",
            "operands could not be broadcast together with shapes (4,3) (4,) ",
            "broadcast-mismatch",
        ),
        (
            "ValueError",
            "could not broadcast input array from shape (2,3,5) into shape (2,4,5)",
            "slice-size",
        ),
        ("IndexError", "index 5 is out of bounds for axis 0 with size 5", "index-out-of-range"),
        ("IndexError", "tuple index out of range", "shape-index"),
        ("ZeroDivisionError", "float division by zero", "division-by-zero"),
        ("NameError", "name 'negative' is not defined", "undefined-name"),
        ("ValueError", "my own message", None),
        ("RuntimeError", "index 5 is out of bounds for axis 0 with size 5", None),
        # PyTorch's words for the same mistakes (Phase 5 on)
        (
            "RuntimeError",
            "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1",
            "broadcast-mismatch",
        ),
        (
            "RuntimeError",
            "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)",
            "matmul-shapes",
        ),
        (
            "RuntimeError",
            "Expected size for first two dimensions of batch2 tensor to be: [4, 3] but got: [4, 4].",
            "matmul-shapes",
        ),
        (
            "RuntimeError",
            "expected m1 and m2 to have the same dtype, but got: float != double",
            "dtype-mismatch",
        ),
        (
            "TypeError",
            "reshape(): argument 'shape' failed to unpack the object at pos 3 with error "
            '"type must be tuple of ints,but got float"',
            "float-as-index",
        ),
        ("RuntimeError", "shape '[2, 2, 2]' is invalid for input of size 10", "reshape-size"),
        (
            "IndexError",
            "Dimension out of range (expected to be in range of [-2, 1], but got 2)",
            "wrong-axis",
        ),
        (
            "RuntimeError",
            "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.",
            "numpy-on-autograd-tensor",
        ),
        (
            "TypeError",
            "unsupported operand type(s) for @: 'numpy.ndarray' and 'Tensor'",
            "numpy-meets-tensor",
        ),
        # gather(index, dim) for gather(dim, index); torch.erf of a Python float
        ("TypeError", "gather(): argument 'dim' (position 1) must be int, not Tensor", "argument-type"),
        ("TypeError", "erf(): argument 'input' (position 1) must be Tensor, not float", "argument-type"),
        ("IndexError", "list index out of range", "index-out-of-range"),
        ("TypeError", "'NoneType' object cannot be interpreted as an integer", "none-value"),
        ("TypeError", 'can only concatenate list (not "int") to list', "list-plus-number"),
        ("KeyError", "'c_attn_W'", "key-missing"),  # k[6:] of "attn_c_attn_W"
        # np.abs(c) of c = None (`calib if calib is None`); np.concatenate along the wrong axis;
        # np.where words a broadcast failure with remapped shapes
        (
            "RuntimeError",
            "The differentiated Tensor at index 0 appears to not have been used in the graph. Set "
            "allow_unused=True if this is the desired behavior.",
            "grad-input-unused",
        ),  # autograd.grad(new, loss) for autograd.grad(loss, new), one value in `new`
        (
            "RuntimeError",
            "grad can be implicitly created only for scalar outputs",
            "grad-of-non-scalar",
        ),
        (
            "RuntimeError",
            "index 1 is out of bounds for dimension 0 with size 1",
            "index-out-of-range",
        ),
        ("TypeError", "bad operand type for abs(): 'NoneType'", "none-value"),
        ("TypeError", "bad operand type for unary -: 'NoneType'", "none-value"),
        (
            "ValueError",
            "all the input array dimensions except for the concatenation axis must match exactly, but "
            "along dimension 1, the array at index 0 has size 0 and the array at index 1 has size 4",
            "concat-sizes",
        ),
        (
            "ValueError",
            "operands could not be broadcast together with remapped shapes [original->remapped]: "
            "(2,4,4)->(2,newaxis,newaxis) (4,4,2)->(4,newaxis,newaxis)  and requested shape (4,2)",
            "broadcast-mismatch",
        ),
        # bytes([i]) for i in range(257); np.stack of blocks sliced [r * k : 1 * k]
        ("ValueError", "bytes must be in range(0, 256)", "byte-out-of-range"),
        ("ValueError", "all input arrays must have the same shape", "stack-shapes"),
    ],
)
def test_exception_stories(exc, detail, story):
    d = from_exception(exc, detail)
    assert (d.name if d else None) == story
    if d:
        assert "{" not in d.hint  # every placeholder filled


def test_index_out_of_range_also_tells_of_an_array_made_too_small():
    # labels up to 2 index a (N, C) array built with C = y.min() + 1 = 1: nothing is off by
    # one, the size is computed from the wrong value; the story must not claim only a bound
    d = from_exception("IndexError", "index 2 is out of bounds for axis 1 with size 1")
    assert d.name == "index-out-of-range"
    assert "index 2 on axis 1 of size 1" in d.hint and "made too small" in d.hint


def test_slice_size_also_tells_of_an_unguarded_edge_case():
    # a shift by the whole width gives slices 0:0 and 3:-3 of different lengths: no start or
    # stop is off by one, the guard for the edge case is missing
    d = from_exception(
        "ValueError", "could not broadcast input array from shape (2,0,5) into shape (2,3,5)"
    )
    assert d.name == "slice-size"
    assert "off-by-one" in d.hint and "edge case" in d.hint


# -------------------------------------------------------------------------- call stories


def _reference():
    ref = types.ModuleType("reference_for_stories")
    code = (
        "import numpy as np\n"
        "def dense(x, W, b):\n    return x @ W + b\n"
        "def dense_backward(dout, x, W):\n    return dout @ W.T, x.T @ dout, dout.sum(axis=0)\n"
        "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n"
        "def sigmoid_grad(z):\n    s = sigmoid(z)\n    return s * (1 - s)\n"
        "def relu_backward(dout, z):\n    return dout * (z > 0)\n"
        "def sgd(param, grad, lr):\n    return param - lr * grad\n"
        "def count(x, threshold):\n    return int((x > threshold).sum())\n"
    )
    exec(code, ref.__dict__)
    for v in ref.__dict__.values():
        if isinstance(v, types.FunctionType):
            v.__module__ = ref.__name__
    return ref


def story(calls):
    d = call_story(_reference(), calls)
    return d.name if d else None


def test_call_stories_name_the_argument():
    ref = _reference()
    x, W, b = RNG.normal(size=(4, 3)), RNG.normal(size=(3, 2)), RNG.normal(size=2)
    assert story([("dense", (x, W, b), {}, x @ W)]) == "term-b"
    assert story([("dense", (x, W, b), {}, x @ W - b)]) == "term-b-sign"
    z, dout = RNG.normal(size=(5, 4)), RNG.normal(size=(5, 4))
    assert story([("relu_backward", (dout, z), {}, (z > 0) * 1.0)]) == "missing-factor-dout"
    assert story([("sigmoid_grad", (z,), {}, ref.sigmoid(z))]) == "is-sigmoid"
    p, g = RNG.normal(size=6), RNG.normal(size=6)
    assert story([("sgd", (p, g, 0.1), {}, p + 0.1 * g)]) == "step-reversed"
    assert story([("sgd", (p, g, 0.1), {}, p - g)]) == "step-missing-lr"
    kinked = z.copy()
    kinked[0, :2] = 0.0
    bad_neg = np.where(kinked < 0, 1.0 + kinked, ref.sigmoid_grad(kinked))
    assert story([("sigmoid_grad", (kinked,), {}, bad_neg)]) == "wrong-where-z<0"
    at_zero = np.where(kinked == 0, 0.7, ref.sigmoid_grad(kinked))
    assert story([("sigmoid_grad", (kinked,), {}, at_zero)]) == "wrong-where-z==0"
    dW = RNG.normal(size=(3, 2))
    d5 = RNG.normal(size=(5, 2))
    x5 = RNG.normal(size=(5, 3))
    dx, dw, _ = ref.dense_backward(d5, x5, dW)
    assert (
        story([("dense_backward", (d5, x5, dW), {}, (dx, dw, d5.sum(axis=1)))])
        == "reduced-over-axis-1"
    )


def test_call_stories_need_exact_unique_evidence():
    x, W, b = RNG.normal(size=(4, 3)), RNG.normal(size=(3, 2)), RNG.normal(size=2)
    noisy = x @ W + RNG.normal(scale=1e-3, size=(4, 2))
    assert story([("dense", (x, W, b), {}, noisy)]) is None  # no exact story
    right = x @ W + b
    assert story([("dense", (x, W, b), {}, right)]) is None  # nothing differs
    # the story must hold on every differing call of the test
    x2 = RNG.normal(size=(4, 3))
    assert (
        story([("dense", (x, W, b), {}, x @ W), ("dense", (x2, W, b), {}, x2 @ W + 0.5 * b)])
        is None
    )
    # integers (counts, labels, shapes) get no arithmetic story
    assert story([("count", (RNG.normal(size=9), 0.0), {}, 0)]) is None
    # one value is too little evidence
    assert story([("sgd", (np.array([1.0]), np.array([2.0]), 0.5), {}, np.array([2.0]))]) is None


# ------------------------------------------------- through the real grader, end to end


def _variant(topic_id: str, old: str, new: str):
    from nnfs_cli.catalog import load_catalog
    from tests.topic_harness import grade_source

    topic = load_catalog().get(topic_id)
    source = topic.solution_path.read_text(encoding="utf-8")
    assert source.count(old) == 1, old
    return grade_source(topic, source.replace(old, new))


def _names(result, part):
    return {
        t.diagnosis.name for t in result.tests if t.part == part and not t.passed and t.diagnosis
    }


def test_grader_names_another_function_an_axis_and_an_exception():
    result = _variant("perceptron-theory", "return s * sigmoid(-np.asarray(z))", "return s")
    assert "is-sigmoid" in _names(result, "sigmoid_grad")
    result = _variant("backprop", "dout.sum(axis=0)\n", "dout.sum(axis=1)\n")
    assert "reduced-over-axis-1" in _names(result, "dense_backward")
    result = _variant("backprop", "return dout @ W.T, X.T @ dout", "return dout @ W, X.T @ dout")
    assert "matmul-shapes" in _names(result, "dense_backward")


# ------------------------------------------- patterns before numbers, and near misses (issue 18)


def test_pattern_signatures():
    assert name(np.round(E, 5), E) == "rounded"
    assert name(np.round(E, 2), E) == "rounded"
    # a step counter one ahead: whole numbers one off, never "twice the expected value"
    assert name(np.array(2.0), np.array(1.0)) == "counter-off-by-one"
    assert name(np.arange(1.0, 7.0), np.arange(0.0, 6.0)) == "counter-off-by-one"
    assert name(np.clip(E, -1.0, 1.0), E) == "clipped"


def test_clipped_probabilities_are_not_a_fill_value():
    # entropy of rows, two of them one-hot: probabilities clipped to [1e-8, 1 - 1e-8] give
    # 5.6e-7 where the exact entropy is 0
    p = np.array([[1, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5], [0, 1, 0], [0.6, 0.2, 0.2]])
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = -np.sum(np.where(p > 0, p * np.log(p), 0.0), axis=1)
    q = np.clip(p, 1e-8, 1 - 1e-8)
    clipped = -np.sum(q * np.log(q), axis=1)
    assert name(clipped, exact, rtol=1e-7, atol=1e-10) != "fill-value"


def _scattered(shape, where):
    """`shape` random values, and a copy wrong only at the indices in `where`."""
    exact = np.random.default_rng(3).uniform(0.1, 1.0, size=shape)
    got = exact.copy()
    for idx in where:
        got[idx] = 0.0 if got[idx] > 0.5 else 1.0
    return got, exact


@pytest.mark.parametrize(
    "where",
    [[(0, 2)], [(0, 1), (3, 4)], [(3, 5)]],
    ids=["one-border-value", "two-border-values", "corner"],
)
def test_scattered_errors_on_a_small_array_are_not_a_border(where):
    # 16 of the 24 entries of a 4x6 array are on its border: one wrong value there (a
    # threshold > vs >=, a rounding) says nothing about edges
    got, exact = _scattered((4, 6), where)
    assert name(got, exact) is None


def test_near_misses_of_issue_18_get_no_wrong_name():
    rng = np.random.default_rng(5)
    # RMSprop with eps inside the root: off only where the gradient is tiny
    g = rng.normal(size=(4, 6))
    g[1, 2] = 1e-6
    avg = 0.01 * g * g
    ours, theirs = g / (np.sqrt(avg) + 1e-8), g / np.sqrt(avg + 1e-8)
    assert name(theirs, ours) not in ("border-only", "factor-2", "fill-value")
    # the rounding of a result to 5 decimals is named as such, not as an edge
    x = rng.normal(size=(4, 6))
    assert name(np.round(x, 5), x) == "rounded"
    # a whole edge wrong on a large array still is a border story
    img = rng.normal(size=(10, 10))
    bad = img.copy()
    bad[:, 0] = 0.0
    assert name(bad, img) == "border-only"


def test_a_one_dimensional_gradient_and_a_wrong_loop_bound_get_their_own_stories():
    flat = from_exception(
        "ValueError", "operands could not be broadcast together with shapes (3,4) (12,) "
    )
    assert flat.name == "flat-vs-nd" and "keepdims" not in flat.hint
    other = from_exception(
        "ValueError", "operands could not be broadcast together with shapes (3,4) (2,5) "
    )
    assert other.name == "broadcast-mismatch" and "keepdims" not in other.hint
    reduced = from_exception(
        "ValueError", "operands could not be broadcast together with shapes (4,3) (4,) "
    )
    assert "keepdims" in reduced.hint
    loop = from_exception("ValueError", "shapes (3,) and (4,) not aligned: 3 (dim 0) != 4 (dim 0)")
    assert loop.name == "dot-lengths"


def test_a_scalar_is_a_reduction_only_when_it_equals_one():
    want = np.array([1.0, 2.0, 3.5])
    assert shape_story((), (3,), values=(np.array(6.5), want)).name == "reduced-to-scalar"
    assert shape_story((), (3,), values=(np.array(3.5), want)).name == "reduced-to-scalar"
    assert shape_story((), (3,), values=(np.array(0.7), want)) is None  # a scalar-only branch
    with pytest.raises(GradeFailure) as info:
        assert_close(np.float64(0.7), want, "f(x)")
    assert info.value.diagnosis is None


def test_an_input_returned_unchanged_is_no_size_off_by_one():
    """A loop that never ran returns its input: (1, 4) for (1, 3) is no range bound off by
    one when it is the input itself (transfer-learning's features on a 4 -> 6 -> 3 encoder)."""
    x = np.arange(4.0).reshape(1, 4)
    with pytest.raises(GradeFailure) as info:
        assert_shape(x.copy(), (1, 3), "extract_features(model, x)", inputs={"x": x})
    assert info.value.diagnosis.name == "input-returned"
    with pytest.raises(GradeFailure) as info:
        assert_shape(x + 1, (1, 3), "extract_features(model, x)", inputs={"x": x})
    assert info.value.diagnosis.name == "off-by-one-length"  # not the input: the size story stands


def _threshold_reference():
    ref = types.ModuleType("reference_thresholds")
    code = (
        "import numpy as np\n"
        "def keep(x, p):\n    return (x >= p) * 1.0\n"
        "def shift(x, b0=0.37):\n    return x + b0\n"
    )
    exec(code, ref.__dict__)
    return ref


def test_threshold_story_and_no_story_about_a_default_argument():
    ref = _threshold_reference()
    x = np.random.default_rng(7).uniform(size=(5, 4))
    # p is a middle draw: with the largest, `x > p` is all zeros, which `p = 1` explains too
    p = float(np.sort(x, axis=None)[10])
    got = (x > p) * 1.0  # strict: wrong exactly at the draw equal to p
    d = call_story(ref, [("keep", (x, p), {}, got), ("keep", (x, p), {}, got)])
    assert d is not None and d.name == "threshold-x==p"
    # b0 passed at its default value: the call did not really have it, so no `b0` story
    d = call_story(ref, [("shift", (x,), {"b0": 0.37}, x)])
    assert d is None


def test_from_scratch_looks_inside_the_learners_helpers():
    from nnfs_cli.checks import assert_not_using, calls_in_function

    source = (
        "import numpy as np\n"
        "def _row_times_col(a, b):\n    return np.dot(a, b)\n"
        "def _entry(A, B, i, j):\n    return _row_times_col(A[i], B[:, j])\n"
        "def matmul_loops(A, B):\n"
        "    return [[_entry(A, B, i, j) for j in range(B.shape[1])] for i in range(len(A))]\n"
    )
    assert "np.dot" in calls_in_function(source, "matmul_loops")
    with pytest.raises(GradeFailure) as info:
        assert_not_using(source, "matmul_loops", ["dot", "@"], "write the loops")
    assert "in _row_times_col, which matmul_loops calls" in str(info.value)
    honest = source.replace("np.dot(a, b)", "sum(x * y for x, y in zip(a, b))")
    assert_not_using(honest, "matmul_loops", ["dot", "@"], "write the loops")


def test_a_convention_is_a_kind_of_its_own():
    from nnfs_cli.catalog import load_catalog
    from nnfs_cli.dev import grade_bug
    from nnfs_cli.grading.bugs import KnownBug, load_bugs

    with pytest.raises(ValueError):
        KnownBug("x", "f", "h", "def f(): pass", kind="mistake")
    topic = load_catalog().get("regularization")
    bug = next(b for b in load_bugs(topic) if b.name == "dropout-p-as-keep-probability")
    assert bug.kind == "convention"
    diags = [t.to_json()["diagnosis"] for t in grade_bug(topic, bug).tests if not t.passed]
    assert {"kind": "convention", "name": bug.name}.items() <= next(d for d in diags if d).items()


# ------------------------------------------- errors of one's own making (issue 18, session 4)


@pytest.mark.parametrize(
    ("exc", "detail", "code", "story"),
    [
        ("ValueError", "inner dimensions differ", "raise ValueError(f'inner {k}')", "own-check-fired"),
        ("TypeError", "bad", "    raise TypeError('bad')", "own-check-fired"),
        # a raise of another type than the one raised: a re-raise or a wrapper, no claim
        ("TypeError", "bad", "raise ValueError('bad')", None),
        # NumPy's own error on the learner's line is NumPy's story, not a check of theirs
        ("ValueError", "my own message", "C = A @ B", None),
        ("NotImplementedError", "", "raise NotImplementedError", None),
        ("TypeError", "only 0-dimensional arrays can be converted to Python scalars",
         "return float(lam), v", "array-not-scalar"),
        ("TypeError", "only length-1 arrays can be converted to Python scalars", "", "array-not-scalar"),
        ("ValueError", "The truth value of an array with more than one element is ambiguous. "
         "Use a.any() or a.all()", "if np.linalg.norm(r) <= tol:", "ambiguous-truth"),
        # the truth value of an *empty* array is another story (a deprecation), no claim
        ("ValueError", "The truth value of an empty array is ambiguous", "", None),
        ("AttributeError", "'NoneType' object has no attribute 'shape'", "", "none-value"),
        ("TypeError", "'NoneType' object is not subscriptable", "", "none-value"),
        ("AttributeError", "'bool' object has no attribute 'astype'", "", "number-not-array"),
        ("AttributeError", "'float' object has no attribute 'shape'", "", "number-not-array"),
        # an attribute missing from an array or a module is a name story, not these
        ("AttributeError", "'numpy.ndarray' object has no attribute 'append'", "", None),
        ("AttributeError", "module 'numpy' has no attribute 'sigmoid'", "", None),
    ],
)  # fmt: skip
def test_the_learners_own_check_and_array_for_a_number(exc, detail, code, story):
    d = from_exception(exc, detail, code)
    assert (d.name if d else None) == story


def test_an_own_check_is_named_only_on_valid_inputs():
    # matmul's own shape check inverted: it rejects every valid pair
    result = _variant(
        "linear-algebra", "if A.shape[1] != B.shape[0]:", "if A.shape[1] == B.shape[0]:"
    )
    assert "own-check-fired" in _names(result, "matmul")
    # an error where the grader expects one (ValueError) but of another type: the check
    # itself is right, so no story about it
    check = 'raise ValueError(f"inner dimensions differ: A is {A.shape}, B is {B.shape}")\n    return A @ B'
    result = _variant("linear-algebra", check, check.replace("ValueError", "TypeError"))
    assert "own-check-fired" not in _names(result, "matmul")


def _trajectory_reference():
    ref = types.ModuleType("reference_trajectories")
    code = (
        "import numpy as np\n"
        "def momentum(grad_fn, x0, lr, beta, steps):\n"
        "    x = np.array(x0, dtype=float); v = np.zeros_like(x); path = [x]\n"
        "    for _ in range(steps):\n"
        "        v = beta * v + grad_fn(x); x = x - lr * v; path.append(x)\n"
        "    return np.array(path)\n"
    )
    exec(code, ref.__dict__)
    return ref


def _momentum(x0, lr, beta, steps, *, scale=1.0, extra=0):
    x, v, path = np.array(x0, float), np.zeros(len(x0)), [np.array(x0, float)]
    for _ in range(steps + extra):
        v = scale * beta * v + 2 * x
        x = x - lr * v
        path.append(x)
    return np.array(path)


def _grad(x):
    return 2 * x


@pytest.mark.parametrize(
    ("kw", "story"),
    [
        ({"scale": 0.0}, "as-if-beta=0"),  # the velocity is never carried over
        ({"extra": 1}, "as-if-steps=steps+1"),  # range(steps + 1)
        ({"scale": 0.5}, None),  # half of beta: no usual value, no story
        ({"scale": 1.0 + 1e-3}, None),  # near miss
    ],
    ids=["beta-ignored", "one-step-more", "half-beta", "near-miss"],
)
def test_as_if_one_argument_had_another_usual_value(kw, story):
    x0 = np.array([1.0, -2.0, 0.5])
    calls = [("momentum", (_grad, x0, 0.1, 0.9, 6), {}, _momentum(x0, 0.1, 0.9, 6, **kw))]
    d = call_story(_trajectory_reference(), calls)
    assert (d.name if d else None) == story


def test_as_if_must_hold_on_every_call_of_the_test():
    x0 = np.array([1.0, -2.0, 0.5])
    right = ("momentum", (_grad, x0, 0.1, 0.9, 6), {}, _momentum(x0, 0.1, 0.9, 6))
    wrong = ("momentum", (_grad, x0, 0.1, 0.7, 6), {}, _momentum(x0, 0.1, 0.7, 6, scale=0.0))
    # beta = 0 explains the second call, not the first (which beta = 0 would change)
    assert call_story(_trajectory_reference(), [right, wrong]) is None
    # a story about what the mistake is comes first: lr negated is "the step goes uphill"
    p, g = RNG.normal(size=6), RNG.normal(size=6)
    assert story([("sgd", (p, g, 0.1), {}, p + 0.1 * g)]) == "step-reversed"


def test_a_function_wrong_only_through_a_helper_names_the_helper():
    # gelu with sqrt(2 pi) for sqrt(2 / pi): mlp_forward, which uses it, is right otherwise
    result = _variant(
        "forward-propagation", "c = float(np.sqrt(2 / np.pi))", "c = float(np.sqrt(2 * np.pi))"
    )
    assert "through-gelu" in _names(result, "mlp_forward")
    assert not {n for n in _names(result, "gelu") if n.startswith("through-")}
    # a mistake in mlp_forward itself (the last layer activated) is not blamed on a helper
    result = _variant(
        "forward-propagation",
        "return dense_forward(h, W, b), hiddens",
        "return f(dense_forward(h, W, b)), hiddens",
    )
    assert not {n for n in _names(result, "mlp_forward") if n.startswith("through-")}


def _activation_reference():
    ref = types.ModuleType("reference_activations")
    code = (
        "import numpy as np\n"
        "def gelu(x):\n    return 0.5 * x * (1 + np.tanh(0.8 * (x + 0.044715 * x**3)))\n"
        "def decayed(param, grad, wd):\n    return grad + wd * param\n"
        "def double(x):\n    return 3.0 * x\n"
    )
    exec(code, ref.__dict__)
    return ref


def test_a_term_with_the_wrong_coefficient():
    ref = _activation_reference()
    x = RNG.normal(size=(4, 5))
    ours = ref.gelu(x)
    d = call_story(ref, [("gelu", (x,), {}, ours + 0.5 * x)])  # 2 + tanh for 1 + tanh
    assert d is not None and d.name == "term-x-coefficient"
    p, g = RNG.normal(size=6), RNG.normal(size=6)
    d = call_story(ref, [("decayed", (p, g, 0.3), {}, g)])  # the decay term left out
    assert d is not None and d.name in ("term-wd*param", "as-if-wd=0")
    # near misses: a coefficient that varies, and a result proportional to x (a factor fits)
    noisy = ours + 0.5 * x * (1 + RNG.normal(scale=1e-3, size=x.shape))
    assert call_story(ref, [("gelu", (x,), {}, noisy)]) is None
    d = call_story(ref, [("double", (x,), {}, 3.5 * x)])
    assert d is None or d.name != "term-x-coefficient"


def test_a_float_size_a_missing_axis_and_a_negative_window_are_named():
    """Three messages the Phase 3-4 mutants raise most often without a name."""
    for detail in (
        "'float' object cannot be interpreted as an integer",
        "slice indices must be integers or None or have an __index__ method",
    ):
        assert from_exception("TypeError", detail).name == "float-as-index"
    d = from_exception(
        "IndexError", "too many indices for array: array is 1-dimensional, but 2 were indexed"
    )
    assert d.name == "too-many-indices" and "1 dimension(s) where your indexing expects 2" in d.hint
    assert from_exception("ValueError", "`window_shape` cannot contain negative values").name == (
        "window-negative"
    )
    # near misses: another type with the same words, another index error
    assert (
        from_exception("ValueError", "'float' object cannot be interpreted as an integer") is None
    )
    assert from_exception("IndexError", "pop from empty list") is None


def test_numpy_index_and_axis_errors_are_named_from_their_own_messages():
    """The largest unnamed groups of the Phase 3 and 5 mutants (session 5's coverage runs):
    each message below comes from NumPy itself, raised by the call the story names."""
    cases = {
        (
            "IndexError",
            "arrays used as indices must be of integer (or boolean) type",
        ): "float-as-index",
        (
            "TypeError",
            "only integer scalar arrays can be converted to a scalar index",
        ): "array-as-index",
        ("ValueError", "repeated axis in transpose"): "repeated-axis",
        ("ValueError", "duplicate value in 'axis'"): "repeated-axis",
        ("ValueError", "duplicate axes are not allowed in tensordot"): "repeated-axis",
        ("ValueError", "shape-mismatch for sum"): "contracted-sizes",
        ("TypeError", "first operand must be array"): "add-at-order",
    }
    for (kind, detail), name in cases.items():
        d = from_exception(kind, detail)
        assert d is not None and d.name == name, (detail, d)
    # the messages are NumPy's own: provoke each one and check the story still fits
    provoke = [
        (lambda: np.zeros(3)[np.array([1.0])], "float-as-index"),
        (lambda: np.swapaxes(np.zeros((2, 3)), np.array([0, 1]), 1), "array-as-index"),
        (lambda: np.zeros((2, 3)).transpose(0, 0), "repeated-axis"),
        (lambda: np.zeros((2, 3)).sum(axis=(1, 1)), "repeated-axis"),
        (lambda: np.tensordot(np.zeros((2, 3)), np.zeros((4, 5)), axes=([1], [0])), "contracted-sizes"),
        (lambda: np.add.at([0, 1], 1, np.zeros(2)), "add-at-order"),
    ]  # fmt: skip
    for call, name in provoke:
        with pytest.raises(Exception) as e:
            call()
        d = from_exception(type(e.value).__name__, str(e.value))
        assert d is not None and d.name == name, (str(e.value), d)
    # near misses: the same words under another type, and a different index error
    assert from_exception("ValueError", "first operand must be array") is None
    assert (
        from_exception("IndexError", "index 3 is out of bounds for axis 0 with size 3").name
        != "float-as-index"
    )


def test_known_bug_evidence_compares_torch_tensors_that_require_grad():
    """A torch topic's reference or known bug may return a tensor with a graph: it is
    compared as the array the learner's answer arrives as, not silently never matched."""
    torch = pytest.importorskip("torch")
    from nnfs_cli.grading.plugin import _same

    t = torch.ones(3, dtype=torch.float64, requires_grad=True) * 2
    assert _same(t, np.full(3, 2.0)) and _same({"g": (t,)}, {"g": (np.full(3, 2.0),)})
    assert not _same(t, np.ones(3))


def test_zeros_and_ones_are_not_called_rounded():
    """A filter that kept one token returns a one-hot; probabilities whose largest is above
    0.5 round to the same one-hot, but an argmax or a threshold explains it as well."""
    expected = np.array([[0.62, 0.30, 0.08, 0.0], [0.05, 0.15, 0.55, 0.25]])
    one_hot = np.array([[1.0, 0, 0, 0], [0, 0, 1.0, 0]])
    assert name(one_hot, expected) != "rounded"
    assert name(np.round(expected * 10, 0) / 10, expected) == "rounded"  # k = 1 still named


def test_a_torch_reference_names_the_learners_helper_it_goes_through():
    """bert_forward's reference hands encoder_layer tensors: the learner's encoder_layer
    gets them as arrays in the sandbox and its answer goes back as tensors, so a wrong
    encoder_layer is named in bert_forward's tests instead of leaving them unexplained."""
    old = 'h = 0.5 * z * (1 + torch.erf(z / 2**0.5)) @ p["ffn_W2"] + p["ffn_b2"]'
    result = _variant("bert", old, old.replace('+ p["ffn_b2"]', '+ 2 * p["ffn_b2"]'))
    assert _names(result, "bert_forward") == {"through-encoder_layer"}


def _gpt_terms(V, n_ctx, d, L):
    return {"V·d": (V * d, "wte"), "n_ctx·d": (n_ctx * d, "wpe"), "n_layer·d²": (L * d * d, "a d x d matrix"),
            "n_layer·d": (L * d, "a d vector per block"), "d": (d, "ln_f's gamma or beta")}  # fmt: skip


def test_a_wrong_count_is_told_by_the_term_it_is_off_by():
    terms = _gpt_terms(50257, 1024, 768, 12)
    right = 124_439_808
    assert count_story(right + 50257 * 768, right, terms).name == "count-off-by-term"  # tied head counted
    d = count_story(right - 4 * 12 * 768 - 2 * 768, right, terms)  # layer norms forgotten
    assert "4·n_layer·d - 2·d" in d.hint and "fewer" in d.hint
    assert "3·n_layer·d²" in count_story(right - 3 * 12 * 768 * 768, right, terms).hint
    assert count_story(right, right, terms) is None
    assert count_story(right + 5, right, terms) is None  # no small combination of the terms


def test_a_count_with_two_readings_on_a_small_configuration_gets_no_name():
    # V 11, n_ctx 6, d 8, 2 layers: 3·n_layer·d = 48 = n_ctx·d; a wrong name is worse than none
    assert count_story(1000 - 48, 1000, _gpt_terms(11, 6, 8, 2)) is None


@pytest.mark.parametrize(
    ("exc", "detail", "story"),
    [
        # X[start:m] against y[start:start + m]; the logits reduced to the bias (C,)
        ("ValueError", "Expected input batch_size (0) to match target batch_size (4).", "batch-mismatch"),
        ("ValueError", "For 1D input, 1D target must have size 1, but got target size: 12", "logits-lost-batch-axis"),
        # a layer count that counted nothing: no parameter group built
        ("ValueError", "optimizer got an empty parameter list", "nothing-to-train"),
    ],
)  # fmt: skip
def test_torch_training_error_stories(exc, detail, story):
    d = from_exception(exc, detail)
    assert d.name == story and "{" not in d.hint
