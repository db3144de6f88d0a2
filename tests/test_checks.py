"""The layer-check helpers (`as_tuple`, `assert_backward`) and `reference_function`."""

import textwrap

import numpy as np
import pytest

from nnfs_cli.checks import GradeFailure, as_tuple, assert_backward, expected_gradients
from nnfs_cli.grading.bugs import edited, reference_function


def dense(seed=0):
    rng = np.random.default_rng(seed)
    X, W, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=5)
    return {"X": X, "W": W, "b": b}, rng.normal(size=(4, 5))


def forward_np(X, W, b):
    return X @ W + b


@pytest.mark.parametrize("oracle", ["numerical", "torch"])
def test_a_right_backward_passes_both_oracles(oracle):
    inputs, dout = dense()
    X, W = inputs["X"], inputs["W"]
    got = (dout @ W.T, X.T @ dout, dout.sum(axis=0))
    assert_backward(got, forward_np, inputs, dout, ("X", "W", "b"), "dense", oracle=oracle)
    # the two oracles agree with each other to central-difference precision
    num = expected_gradients(forward_np, inputs, dout, ("X", "W", "b"))
    tor = expected_gradients(forward_np, inputs, dout, ("X", "W", "b"), oracle="torch")
    for k in num:
        np.testing.assert_allclose(num[k], tor[k], rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("oracle", ["numerical", "torch"])
def test_a_wrong_gradient_fails_with_its_name_and_a_diagnosis(oracle):
    inputs, dout = dense(1)
    X, W = inputs["X"], inputs["W"]
    got = (dout @ W.T, X.T @ dout, dout.mean(axis=0))  # db averaged
    with pytest.raises(GradeFailure) as info:
        assert_backward(
            got, forward_np, inputs, dout, ("X", "W", "b"), "dense", oracle=oracle, batch=4
        )
    assert "dense: db" in str(info.value)
    assert info.value.diagnosis.name == "extra-1/N"  # averaged where the batch is summed


def test_shapes_are_checked_before_values():
    inputs, dout = dense(2)
    X, W = inputs["X"], inputs["W"]
    with pytest.raises(GradeFailure, match=r"dW \(shaped like W, \(3, 5\)\): wrong shape"):
        assert_backward((dout @ W.T, dout.T @ X, dout.sum(0)), forward_np, inputs, dout,
                        ("X", "W", "b"), "dense")  # fmt: skip


def test_a_result_of_the_wrong_arity_is_named():
    with pytest.raises(GradeFailure, match="expected a tuple of 3 values"):
        as_tuple((1, 2), 3, "f(x)")
    assert as_tuple([1, 2], 2, "f(x)") == (1, 2)


def test_reference_function_follows_the_solution_file(tmp_path):
    (tmp_path / "solutions" / "09_x").mkdir(parents=True)
    (tmp_path / "graders" / "09_x").mkdir(parents=True)
    (tmp_path / "solutions" / "09_x" / "topic.py").write_text(
        textwrap.dedent('''
        import numpy as np

        def f(x: np.ndarray) -> np.ndarray:
            """Twice x."""
            ### BEGIN SOLUTION
            return 2 * x
            ### END SOLUTION
    ''')
    )
    bugs = tmp_path / "graders" / "09_x" / "topic_bugs.py"
    code = reference_function(bugs, "f")
    assert "BEGIN SOLUTION" not in code and code.startswith("def f(")
    namespace = {"np": np}
    exec(edited(code, ("2 * x", "3 * x")), namespace)
    assert namespace["f"](1.0) == 3.0
    with pytest.raises(ValueError, match="no function 'g'"):
        reference_function(bugs, "g")


def test_assert_count_wants_the_exact_int_and_names_the_term_it_is_off_by():
    from nnfs_cli.checks import assert_count

    terms = {"n_layer·d": (12 * 768, "a vector per block"), "d": (768, "ln_f's gamma or beta")}
    assert_count(np.int64(1000), 1000, "count", terms=terms)
    with pytest.raises(GradeFailure, match="not an int"):
        assert_count(1000.0, 1000, "count", terms=terms)
    with pytest.raises(GradeFailure, match="wrong count") as e:
        assert_count(1000 - 12 * 768, 1000, "count", terms=terms)
    assert e.value.diagnosis.name == "count-off-by-term"
