"""Fault injection: every broken or hostile submission gets a clear failed result, and nothing is lost.

Each case runs through the real `nnfs check` (the CLI, in a workspace with progress to lose)
and through the instructor's path (the notebook grading nbgrader's test cells call).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import time
from pathlib import Path

import pytest

from nnfs_cli.notebooks import write_notebook
from nnfs_cli.progress import ProgressStore
from tests.cli_helpers import nnfs
from tests.hostile.cases import ALL, CASES, TOPIC

CALL_TIMEOUT = 3.0
OTHER = "calculus"  # a record that must survive every case untouched


def _paths(ws: Path) -> dict:
    return {
        "progress": str(ws / ".nnfs" / "progress.json"),
        "grader": str(TOPIC.grader_path),
        "solution": str(TOPIC.solution_path),
        "learner_file": str(ws / TOPIC.relpath),
        "result": "/tmp/nnfs-grade-fake/result.json",
    }


@pytest.fixture
def workspace(tmp_path):
    ws = tmp_path / "ws"
    assert nnfs("init", str(ws)).exit_code == 0
    ProgressStore(ws / ".nnfs").update(
        lambda d: d["topics"].__setitem__(
            OTHER,
            {
                "attempts": [{"time": 1.0, "score": 9.0, "max_score": 9.0, "passed": True}],
                "attempt_count": 1,
                "first_pass": 1.0,
                "hints_shown": 2,
            },
        )  # fmt: skip
    )
    return ws


@functools.cache
def _full_points() -> dict[str, float]:
    from nnfs_cli.course.build import part_points

    return part_points(TOPIC)


def _limit(case) -> float:
    # a hang costs one call timeout per function that hangs (relu, and neuron through relu),
    # or one load timeout; the rest is start-up on a loaded 2-core machine
    return (2 * max(10.0, 2 * CALL_TIMEOUT) if case.slow else 0) + 25.0


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_nnfs_check_survives(case, workspace):
    source = case.make(TOPIC.solution_path.read_text(encoding="utf-8"), _paths(workspace))
    path = workspace / TOPIC.relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    before = json.loads((workspace / ".nnfs" / "progress.json").read_text())["topics"][OTHER]

    started = time.perf_counter()
    r = nnfs("check", TOPIC.id, "-w", str(workspace), "--json", "--timeout", str(CALL_TIMEOUT))
    wall = time.perf_counter() - started

    assert "Traceback" not in r.stdout + r.stderr
    assert r.exit_code == (1 if case.fails else 0), r.stdout[-2000:] + r.stderr
    data = json.loads(r.stdout)
    failed = {t["part"] for t in data["tests"] if not t["passed"]}
    assert failed == set(case.fails), f"{case.id}: failed {sorted(failed)}"
    if case.says:
        messages = [t["message"] for t in data["tests"] if not t["passed"]]
        assert any(case.says in m for m in messages), messages[:3]
    assert len(r.stdout) < 200_000, "learner output leaked into nnfs's output"
    assert wall < _limit(case), f"{case.id} took {wall:.1f}s"

    store = ProgressStore(workspace / ".nnfs")
    after = store.load()
    assert store.notices == []
    assert after["topics"][OTHER] == before
    assert after["topics"][TOPIC.id]["attempt_count"] == 1
    assert path.exists(), "the learner's file must survive"
    for protected in (TOPIC.grader_path, TOPIC.solution_path):
        assert "# pass" not in protected.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.fails != ALL or c.id == "torch-import"], ids=lambda c: c.id
)
def test_instructor_notebook_path_agrees(case, tmp_path, monkeypatch):
    """The same submission as a notebook in a course folder, graded the way nbgrader's cells do."""
    from nnfs_cli.course import kernel as nbgrade
    from nnfs_cli.grading import runner

    # the CLI cases' call limit, not the 10 s default: a hanging case costs a limit per call
    monkeypatch.setattr(runner, "grade", functools.partial(runner.grade, call_timeout=CALL_TIMEOUT))

    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    student = course / "autograded" / "mallory" / TOPIC.id
    student.mkdir(parents=True)
    source = case.make(TOPIC.solution_path.read_text(encoding="utf-8"), _paths(tmp_path))
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}  # fmt: skip
    write_notebook(nb, student / f"{TOPIC.id}.ipynb")
    old = Path.cwd()
    os.chdir(student)
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            nbgrade._cache.clear()
            points = {part: nbgrade.grade_part(TOPIC.id, part) for part in sorted(ALL)}
    finally:
        os.chdir(old)
    assert err.getvalue() == "", "nbgrader scores a cell that writes to stderr 0"
    assert all(type(p) is float for p in points.values()), "nbgrader needs plain floats"
    full = _full_points()
    failed = {p for p, v in points.items() if v < full[p]}
    assert failed == set(case.fails), f"{case.id}: parts short of full marks {sorted(failed)}"


def test_at_least_forty_cases_of_every_required_kind():
    assert len(CASES) >= 40
    assert {c.kind for c in CASES} >= {
        "broken",
        "output",
        "hang",
        "exit",
        "crash",
        "memory",
        "tamper",
        "from-scratch",
    }
