"""From-scratch checks at run time: the worker records what a loops exercise really did.

The name check reads the source, so `getattr(np, "mat" + "mul")` used to pass it. The
worker now counts the lines of the submission a call runs and the library routines it
calls directly; a loops exercise must do its scalar steps in its own lines and call no
product. Correct loops in another style (comprehensions, a generator in sum) still pass.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from nnfs_cli.catalog import load_catalog
from nnfs_cli.sandbox.client import Sandbox, SandboxConfig
from nnfs_cli.sandbox.source import Submission
from tests.topic_harness import grade_source

CATALOG = load_catalog()
LINALG = CATALOG.get("linear-algebra")
CONV = CATALOG.get("convolution")


def with_body(topic, function: str, body: str) -> str:
    """The reference with `function`'s solution block replaced by `body`."""
    source = topic.solution_path.read_text(encoding="utf-8")
    start = source.index("### BEGIN SOLUTION", source.index(f"def {function}("))
    end = source.index("### END SOLUTION", start)
    return (
        source[:start]
        + "### BEGIN SOLUTION\n"
        + textwrap.indent(textwrap.dedent(body), "    ")
        + "    "
        + source[end:]
    )


def part_failures(result, part: str) -> list[str]:
    return [t.message for t in result.tests if t.part == part and not t.passed]


CHECK = """
    A, B = np.asarray(A), np.asarray(B)
    if A.shape[1] != B.shape[0]:
        raise ValueError("inner dimensions differ")
"""

DODGES = {
    # a product by a computed name inside loops over i and j: only n*m steps are the learner's
    "computed-name-matmul": CHECK
    + """
    C = np.zeros((A.shape[0], B.shape[1]))
    for i in range(A.shape[0]):
        for j in range(B.shape[1]):
            C[i, j] = getattr(np, "mat" + "mul")(A[i], B[:, j])
    return C
""",
    # a loop that does nothing, then np.dot reached through getattr
    "loop-then-dot": CHECK
    + """
    for _ in range(1):
        pass
    return getattr(np, "d" + "ot")(A, B)
""",
}


@pytest.mark.parametrize("dodge", DODGES)
def test_a_product_reached_by_a_computed_name_fails_matmul_loops(dodge):
    result = grade_source(LINALG, with_body(LINALG, "matmul_loops", DODGES[dodge]))
    failures = part_failures(result, "matmul_loops")
    assert failures, f"{dodge} passed matmul_loops"
    assert any("lines of your code ran" in m or "called numpy" in m for m in failures), failures


def test_loops_in_another_style_still_pass():
    body = (
        CHECK
        + """
    n, k, m = A.shape[0], A.shape[1], B.shape[1]
    rows = [[sum(A[i, p] * B[p, j] for p in range(k)) for j in range(m)] for i in range(n)]
    return np.array(rows, dtype=np.result_type(A, B)).reshape(n, m)
"""
    )
    result = grade_source(LINALG, with_body(LINALG, "matmul_loops", body))
    assert part_failures(result, "matmul_loops") == []


def test_a_window_view_by_a_computed_name_fails_conv2d_naive():
    body = """
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    view = getattr(np.lib.stride_tricks, "sliding" + "_window_view")(xp, (kh, kw), axis=(2, 3))
    view = view[:, :, ::sh, ::sw]
    for _ in range(1):
        pass
    return (view[:, None] * w[None, :, :, None, None]).sum(axis=(2, 5, 6)) + b[None, :, None, None]
"""
    result = grade_source(CONV, with_body(CONV, "conv2d_naive", body))
    failures = part_failures(result, "conv2d_naive")
    assert any("sliding_window_view" in m for m in failures), failures


def test_the_record_counts_lines_and_direct_calls_only(tmp_path):
    source = """
import numpy as np

def helper(a):
    return [x * 2 for x in a]

def f(a):
    total = 0
    for x in helper(a):
        total += x
    return np.dot(a, a) + total
"""
    path = tmp_path / "f.py"
    path.write_text(source, encoding="utf-8")
    sandbox = Sandbox(Submission(path, source), "f", SandboxConfig())
    sandbox.start()
    try:
        sandbox.call("f", (np.arange(5.0),), trace=True)
        trace = sandbox.last_trace
        sandbox.call("f", (np.arange(5.0),))
        assert sandbox.last_trace is None, "an untraced call records nothing"
    finally:
        sandbox.close()
    assert trace["lines"] >= 5 * 2, trace
    assert any(c.endswith(".dot") for c in trace["called"]), trace
    assert not any(c.endswith("helper") for c in trace["called"]), (
        "the learner's own code is lines, not calls"
    )
