"""The grader audit: the mutator's operators, and a fixed seeded sample per topic in CI."""

import pytest

from nnfs_cli.audit import audit, equivalents, mutants, solution_lines
from nnfs_cli.catalog import load_catalog
from tests.cli_helpers import json_out, nnfs

SAMPLE = 8  # mutants per topic in CI: enough to see a grader weaken, small enough to be quick


class FakeTopic:
    """Just enough of a Topic for `mutants()` on a toy source."""

    def __init__(self, tmp_path, source):
        self.solution_path = tmp_path / "toy.py"
        self.solution_path.write_text(source)
        self.bugs_path = tmp_path / "toy_bugs.py"
        self.id = "toy"


TOY = '''
import numpy as np

def untouched(x):
    return x + 1

def f(x, W, b, n):
    """Docstring."""
    ### BEGIN SOLUTION
    y = x @ W.T + b
    s = np.sum(y, axis=0, keepdims=True)
    if n > 0 and n <= 3:
        s += 1
    return np.maximum(s, 0.5) * 2
    ### END SOLUTION
'''


def test_mutants_only_inside_solution_blocks(tmp_path):
    ms = mutants(FakeTopic(tmp_path, TOY))
    assert ms and all(m.function == "f" for m in ms)
    assert len(solution_lines(TOY)) == 5


def test_every_required_operator_appears(tmp_path):
    ms = mutants(FakeTopic(tmp_path, TOY))
    descriptions = {(m.operator, m.description) for m in ms}
    operators = {m.operator for m in ms}
    assert {
        "arith",
        "compare",
        "boolean",
        "constant",
        "drop-term",
        "transpose",
        "axis",
        "swap-args",
        "sibling",
        "delete-update",
    } <= operators
    assert ("transpose", "remove .T") in descriptions
    assert ("axis", "axis=0->1") in descriptions and (
        "axis",
        "keepdims=True->False",
    ) in descriptions
    assert ("sibling", "sum->mean") in descriptions and (
        "sibling",
        "maximum->minimum",
    ) in descriptions
    assert (
        ("constant", "0->1") in descriptions
        and ("constant", "0.5->1.0") in descriptions
        and ("constant", "3->4") in descriptions
    )
    assert ("compare", "Gt->GtE") in descriptions and ("boolean", "And->Or") in descriptions


def test_mutants_compile_differ_and_have_stable_ids(tmp_path):
    first = mutants(FakeTopic(tmp_path, TOY))
    again = mutants(FakeTopic(tmp_path, TOY))
    assert [m.id for m in first] == [m.id for m in again]
    assert len({m.id for m in first}) == len(first)
    for m in first:
        compile(m.source, m.id, "exec")
        assert m.diff.count("\n-") >= 1 or m.diff.startswith("-")


AVAILABLE = [t for t in load_catalog().topics if t.available]


@pytest.mark.parametrize("topic", AVAILABLE, ids=lambda t: t.id)
def test_equivalents_are_declared_with_reasons_and_exist(topic):
    declared = equivalents(topic)
    ids = {m.id for m in mutants(topic)}
    for mutant_id, reason in declared.items():
        assert mutant_id in ids, f"{topic.id}: stale equivalent {mutant_id}"
        assert len(reason) > 15, f"{topic.id}: give a reason for {mutant_id}"


@pytest.mark.parametrize("topic", AVAILABLE, ids=lambda t: t.id)
def test_seeded_sample_of_mutants_is_killed(topic):
    report = audit(topic, sample=SAMPLE, seed=2026, workers=1)
    survivors = "\n".join(f"{m.id}\n{m.diff}" for m in report.survived)
    # one survivor in a sample of 8 is within a >= 95% kill rate's noise; two is a regression
    assert len(report.survived) <= 1, survivors


def test_audit_command_json(tmp_path):
    r = nnfs("audit", "perceptron-theory", "--sample", "3", "--json")
    assert r.exit_code == 0, r.stderr
    (row,) = json_out(r)
    assert {"topic", "mutants", "killed", "survived", "equivalent", "kill_rate"} <= row.keys()
    assert 0 <= row["kill_rate"] <= 1 and row["mutants"] == 3
    bad = nnfs("audit")
    assert bad.exit_code == 2


def test_a_grading_that_never_started_is_unjudged_not_killed(monkeypatch):
    """On an overloaded machine the worker may not finish importing in time: that says
    nothing of the grader, so the mutant is graded again, then left out of the kill rate."""
    from nnfs_cli import audit as module
    from nnfs_cli.grading.result import Result, TestResult

    topic = load_catalog().get("perceptron-theory")
    mutant = mutants(topic)[0]
    calls = []

    def slow_start(*args, **kwargs):
        calls.append(1)
        message = "perceptron_theory.py did not finish importing within 10 s: is there a loop at the top level?"
        return Result(topic.id, "x", [TestResult("t", "sigmoid", False, 0, 1, message, "error")])

    monkeypatch.setattr(module, "grade", slow_start)
    assert module._judge(topic, mutant) == "unjudged" and len(calls) == 2
    report = module.TopicAudit(topic.id, mutants=3, killed=2, unjudged=[mutant])
    assert report.kill_rate == 1.0 and report.to_json()["unjudged"] == [mutant.id]
