"""In-process grading (what a notebook kernel does under nbgrader) gives the child's verdict.

The kernel has run the student's top-level cells before the hidden test cells grade, so
its NumPy and warnings state may be anything; the grading must not depend on it, must
print nothing, and must leave no worker behind.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from nnfs_cli.catalog import load_catalog
from nnfs_cli.grading import prestart
from nnfs_cli.grading.bugs import load_bugs, variant_source
from nnfs_cli.grading.runner import grade

TOPIC = "perceptron-theory"  # a fast NumPy topic


def verdicts(result):
    return [(t.name, t.passed, t.points, t.diagnosis and t.diagnosis.name) for t in result.tests]


@pytest.fixture
def hostile_kernel_state():
    """What a student's top-level cell might leave behind in the kernel."""
    saved_err, saved_print = np.geterr(), np.get_printoptions()
    np.seterr(all="raise")
    np.set_printoptions(precision=1, threshold=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
    np.seterr(**saved_err)
    np.set_printoptions(**saved_print)


def test_reference_full_marks_whatever_the_kernel_state(hostile_kernel_state, capfd):
    topic = load_catalog().get(TOPIC)
    result = grade(topic, topic.solution_path, in_process=True)
    assert result.tests and all(t.passed for t in result.tests), [
        t.message for t in result.tests if not t.passed
    ]
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    assert np.geterr()["over"] == "raise", "the kernel's own settings come back afterwards"
    assert prestart._waiting is None


def test_same_verdict_as_a_child_process_for_a_known_bug(tmp_path: Path):
    topic = load_catalog().get(TOPIC)
    bug = load_bugs(topic)[0]
    path = tmp_path / topic.relpath.name
    path.write_text(variant_source(topic, bug), encoding="utf-8")
    inside = grade(topic, path, in_process=True)
    child = grade(topic, path)
    assert verdicts(inside) == verdicts(child)
    assert any(not t.passed for t in inside.tests)
    assert any(t.diagnosis and t.diagnosis.name == bug.name for t in inside.tests)


def test_regrading_in_the_same_process_sees_the_new_file(tmp_path: Path):
    """A student who edits and re-runs the notebook: the second grading is of the new code."""
    topic = load_catalog().get(TOPIC)
    path = tmp_path / topic.relpath.name
    path.write_text(topic.exercise_path.read_text(encoding="utf-8"), encoding="utf-8")
    stub = grade(topic, path, in_process=True)
    path.write_text(topic.solution_path.read_text(encoding="utf-8"), encoding="utf-8")
    ref = grade(topic, path, in_process=True)
    assert sum(t.points for t in stub.tests) == 0
    assert sum(t.points for t in ref.tests) == sum(t.max_points for t in ref.tests) > 0


def test_a_prestarted_worker_for_another_grading_is_stopped_not_used(tmp_path: Path):
    """A waiting worker is taken only by the grading it was started for."""
    topic = load_catalog().get(TOPIC)
    stub = tmp_path / topic.relpath.name
    stub.write_text(topic.exercise_path.read_text(encoding="utf-8"), encoding="utf-8")
    prestart.prestart(topic, stub.resolve(), (), 10.0)
    waiting = prestart._waiting[1]
    taken = prestart.take(topic, topic.solution_path.resolve(), (), 10.0)
    try:
        assert taken is not waiting
        assert waiting.proc is None, "the unused worker was stopped"
        assert prestart._waiting is None
    finally:
        taken.close()
    prestart.prestart(topic, stub.resolve(), (), 10.0)
    again = prestart._waiting[1]
    assert prestart.take(topic, stub.resolve(), (), 10.0) is again
    again.close()


def test_ctrl_c_during_an_in_process_grading_is_an_interrupt_not_a_broken_grader():
    """`nnfs watch` stopped mid-grading must say 'Stopped watching', not 'failed to run'.

    pytest.main swallows KeyboardInterrupt and returns 2, the code it also gives for
    collection errors; a CI run showed the interrupt reported as a broken grader.
    """
    topic = load_catalog().get(TOPIC)

    def ctrl_c(_event):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        grade(topic, topic.solution_path, in_process=True, on_progress=ctrl_c)
    assert prestart._waiting is None
    again = grade(topic, topic.solution_path, in_process=True)
    assert again.tests and all(t.passed for t in again.tests)


def test_a_graders_module_state_does_not_outlive_its_grading(tmp_path: Path):
    """The optimizers grader caches the learner's convergence curves in a module global.

    Kept in sys.modules, a stub graded after the reference in one process (a watch session,
    a kernel) reused the reference's curves and scored 4.
    """
    import sys

    topic = load_catalog().get("optimizers")
    graders = topic.grader_path.resolve().parents[1]
    ref = grade(topic, topic.solution_path, in_process=True)
    assert sum(t.points for t in ref.tests) == sum(t.max_points for t in ref.tests)
    stub = grade(topic, topic.exercise_path, in_process=True)
    assert sum(t.points for t in stub.tests) == 0, [t.name for t in stub.tests if t.passed]
    left = [n for n, m in sys.modules.items()
            if getattr(m, "__file__", None) and Path(m.__file__).resolve().is_relative_to(graders)]  # fmt: skip
    assert left == []


def test_a_spare_worker_is_taken_by_the_next_grading_and_grades_the_same(tmp_path):
    """`nnfs watch` starts the next save's worker ahead; it must grade as a fresh one."""
    from nnfs_cli.sandbox import client

    topic = load_catalog().get(TOPIC)
    stub = tmp_path / "stub.py"
    stub.write_text(topic.exercise_path.read_text(encoding="utf-8"), encoding="utf-8")
    fresh = {p: verdicts(grade(topic, p, in_process=True)) for p in (topic.solution_path, stub)}
    for path in (topic.solution_path, stub):
        client.keep_spare()
        spare = client._spare
        assert verdicts(grade(topic, path, in_process=True)) == fresh[path]
        assert client._spare is None, "the grading did not take the spare worker"
        assert spare.proc.poll() is not None, "the spare worker outlived its grading"
    # a spare started with another configuration is not taken, and does not live on
    client.keep_spare(client.SandboxConfig(memory_mb=2048))
    other = client._spare
    assert verdicts(grade(topic, topic.solution_path, in_process=True)) == fresh[topic.solution_path]
    assert client._spare is None and other.proc.poll() is not None
