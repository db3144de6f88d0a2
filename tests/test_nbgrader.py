"""Instructors: a course built from the catalog and graded with `nnfs course grade`.

The class is graded by the real command in a child process whose PATH holds only the
system's folders (as on a fresh machine where the venv is not activated), with real
nbgrader for generate_assignment, feedback and export, on SQLite and on a real PostgreSQL.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nnfs_cli.catalog import load_catalog
from nnfs_cli.course import build, gradebook, tools
from nnfs_cli.grading.bugs import load_bugs, variant_source
from nnfs_cli.grading.result import Diagnosis
from nnfs_cli.notebooks import chunks
from tests.cli_helpers import nnfs
from tests.nbgrader_helpers import add_cell, submit

pytestmark = [pytest.mark.slow]  # one worker for the file: tests/conftest.py WORKER_GROUPS
pytest.importorskip("nbgrader")
pytest.importorskip("distributed")

CATALOG = load_catalog()
TOPICS = [CATALOG.get(i) for i in ("perceptron-theory", "backprop")]
MAIN = CATALOG.get("perceptron-theory")
UNSUBMITTED = CATALOG.get("calculus")  # built, released to nobody
BIN = Path(sys.executable).parent
FRESH_PATH = "/usr/bin:/bin"  # nothing from the venv: nbgrader must find alembic itself

# A top-level cell that tries to forge its grade: every comparison made to say "equal",
# nnfs's own grading functions replaced by full marks.
FORGER = """
import numpy as np
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(a, b).shape, bool)
np.testing.assert_allclose = lambda *a, **k: None
try:
    import nnfs_cli.checks as _c, nnfs_cli.course.kernel as _k
    for _name in dir(_c):
        if _name.startswith(("assert", "check")):
            setattr(_c, _name, lambda *a, **k: None)
    _k.grade_part = lambda *a, **k: 1000.0
except Exception:
    pass
"""


def vandal(course: Path) -> str:
    """A top-level cell that tries to delete all it can reach of the course folder (the
    sandbox refuses, and the refusal is named as this student's failure)."""
    targets = [course / "submitted", course / "source", course / "release", course / "gradebook.db",
               course / "autograded", course / "nnfs_results", course / "nbgrader_config.py"]  # fmt: skip
    return (
        "import os, shutil\n"
        f"for _p in {[str(t) for t in targets]!r}:\n"
        "    shutil.rmtree(_p) if os.path.isdir(_p) else os.remove(_p)\n"
    )


def grade_class(course: Path, *args: str) -> subprocess.CompletedProcess:
    """`nnfs course grade` as an instructor runs `.venv/bin/nnfs` without activating the venv."""
    return subprocess.run(
        [str(BIN / "nnfs"), "course", "grade", str(course), "--workers", "2", "--json", *args],
        capture_output=True, text=True, timeout=3600,  # a shared machine may be slow
        env=os.environ | {"PATH": FRESH_PATH, "NO_COLOR": "1"},
    )  # fmt: skip


def left_undone(ref: str, function) -> str:
    return ref.replace(
        function.source,
        function.source.split('"""')[0] + '"""Left undone."""\n    raise NotImplementedError\n',
    )


# The hostile five of the class (the list): their failure is named, the rest of the
# class is graded right, and the course folder is left intact.
HOSTILE = ("hangs", "crashes", "forger", "hog", "vandal")


def students_for(topic, course: Path) -> dict[str, tuple[str | None, str]]:
    """student -> (source or None for the untouched stub, an extra top-level cell).

    MAIN is a class of 30: the reference 8 times, the stub, each function left undone once,
    each known bug once, and the hostile five. The other topic has 4 students."""
    ref = topic.solution_path.read_text(encoding="utf-8")
    functions = [c for c in chunks(ref) if c.kind == "function"]
    bugs = load_bugs(topic)
    out = {
        "ref": (ref, ""),
        "stub": (None, ""),
        "partial": (left_undone(ref, functions[-1]), ""),
        "knownbug": (variant_source(topic, bugs[0]), ""),
    }
    if topic is not MAIN:
        return out
    out |= {f"ref-{i}": (ref, "") for i in range(1, 8)}
    out |= {f"undone-{f.name}": (left_undone(ref, f), "") for f in functions[:-1]}
    out |= {f"bug-{b.name}": (variant_source(topic, b), "") for b in bugs[1:]}
    out["hangs"] = (
        ref.replace("    return np.maximum(z, 0)\n", "    while True:\n        pass\n"),
        "",
    )
    # the student's process dies while its first solution cell runs (the kernel is killed)
    out["crashes"] = (ref.replace("def step(z: np.ndarray)", "def step(z: np.ndarray, _boom=__import__('os')._exit(1))", 1), "")  # fmt: skip
    out["forger"] = (None, FORGER)
    out["hog"] = (ref, "_hoard = bytearray(8 * 2**30)  # more than the sandbox allows\n")
    out["vandal"] = (ref, vandal(course))
    assert len(out) == 30, len(out)
    return out


def same_source(topic, course: Path) -> dict[str, list[str]]:
    """Students whose notebooks are the same (one `nnfs check` speaks for all of them)."""
    groups: dict[tuple, list[str]] = {}
    for student, key in students_for(topic, course).items():
        groups.setdefault(key, []).append(student)
    return {group[0]: group for group in groups.values()}


def course_files(root: Path) -> dict[str, str]:
    """Checksums of what no student may change: the sources, the submissions, the config."""
    files = [root / "nbgrader_config.py", *sorted((root / "source").rglob("*.ipynb")),
             *sorted((root / "submitted").rglob("*.ipynb"))]  # fmt: skip
    return {str(f.relative_to(root)): gradebook.checksum(f) for f in files}


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    build.build(root, [*TOPICS, UNSUBMITTED])
    for t in TOPICS:
        tools.nbgrader(root, "generate_assignment", t.id, "--force")
        for student, (source, extra) in students_for(t, root).items():
            path = submit(root, student, t.id, source)
            if extra:
                add_cell(path, extra)
    before = course_files(root)
    done = grade_class(root)
    return root, done, before


def test_source_notebooks_have_one_graded_cell_per_part_with_its_points(tmp_path):
    build.build(tmp_path, [MAIN])
    nb = json.loads((tmp_path / "source" / MAIN.id / f"{MAIN.id}.ipynb").read_text())
    graded = {c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"]["points"] for c in nb["cells"]
              if c["metadata"].get("nbgrader", {}).get("grade")}  # fmt: skip
    assert graded == {f"test-{p}": pts for p, pts in build.part_points(MAIN).items()}
    assert (tmp_path / "nbgrader_config.py").exists()


def test_rebuilding_keeps_config_edits_and_submissions(tmp_path):
    build.build(tmp_path, [MAIN])
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n# mine\n")
    sub = tmp_path / "submitted" / "zoe" / MAIN.id / "x.ipynb"
    sub.parent.mkdir(parents=True)
    sub.write_text("{}")
    (tmp_path / "gradebook.db").write_text("db")
    before = (tmp_path / "source" / MAIN.id / f"{MAIN.id}.ipynb").read_text()
    build.build(tmp_path, [MAIN])
    assert (tmp_path / "source" / MAIN.id / f"{MAIN.id}.ipynb").read_text() == before
    assert "# mine" in (tmp_path / "nbgrader_config.py").read_text()
    assert sub.read_text() == "{}" and (tmp_path / "gradebook.db").read_text() == "db"


def test_the_class_is_graded_on_a_fresh_path_and_only_what_was_submitted(graded_course):
    root, done, _ = graded_course
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    expected = {(s, t.id) for t in TOPICS for s in students_for(t, root)}
    assert {(g["student"], g["topic"]) for g in summary["graded"]} == expected
    assert summary["ungraded"] == []
    assert summary["skipped"] == [
        f"{UNSUBMITTED.id}: no submissions in submitted/*/{UNSUBMITTED.id}/"
    ]
    problems = {g["student"]: g["problem"] for g in summary["graded"] if g["topic"] == MAIN.id}
    # the hostile five are each named with what their code did; nobody else is
    assert "no answer within" in problems["hangs"]
    assert "ended the Python process" in problems["crashes"]
    assert "MemoryError" in problems["hog"] or "memory" in problems["hog"], problems["hog"]
    assert "may not change files" in problems["vandal"], problems["vandal"]
    assert {s for s, why in problems.items() if why} == set(HOSTILE) - {"forger"}
    # the forger's patches are inert (comparisons run in the grader): its stub fails every part
    forger = gradebook.read_record(root, MAIN.id, "forger")["result"]["tests"]
    assert not any(t["passed"] for t in forger)


def test_released_notebooks_hold_no_solution_and_no_hidden_tests(graded_course):
    root, _, _ = graded_course
    for t in TOPICS:
        text = (root / "release" / t.id / f"{t.id}.ipynb").read_text()
        assert (
            "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "grade_part" not in text
        )
        first = [c for c in chunks(t.solution_path.read_text()) if c.kind == "function"][0]
        body_line = first.source.split("### BEGIN SOLUTION\n")[1].splitlines()[0].strip()
        assert body_line not in text, body_line


def test_every_gradebook_score_equals_nnfs_check(graded_course):
    """grades.csv (nbgrader export of the gradebook) against `nnfs check` of each notebook."""
    root, _, _ = graded_course
    submitted = {(s, t.id) for t in TOPICS for s in students_for(t, root)}
    rows = list(csv.DictReader(open(root / "grades.csv", encoding="utf-8")))
    # nbgrader exports every student for every assignment; no submission scores 0
    assert {(r["student_id"], r["assignment"]) for r in rows} >= submitted
    assert all(
        float(r["raw_score"]) == 0
        for r in rows
        if (r["student_id"], r["assignment"]) not in submitted
    )
    raw = {(r["student_id"], r["assignment"]): float(r["raw_score"]) for r in rows}
    for t in TOPICS:
        for first, group in same_source(t, root).items():
            if first in HOSTILE:
                continue  # their own test below
            nb = root / "submitted" / first / t.id / f"{t.id}.ipynb"
            ours = json.loads(nnfs("check", t.id, "--file", str(nb), "--json").stdout)
            # the same notebook gets the same grade whoever submitted it
            assert {s: raw[s, t.id] for s in group} == {s: ours["score"] for s in group}
            if first == "ref":
                assert ours["passed"] and len(group) == (8 if t is MAIN else 1)
    assert raw["stub", MAIN.id] == raw["crashes", MAIN.id] == 0


def test_per_part_points_in_the_gradebook(graded_course):
    from nbgrader.api import Gradebook

    root, _, _ = graded_course
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id="nnfs") as gb:
        for student in ("partial", "knownbug", "hangs"):
            for t in TOPICS:
                if student not in students_for(t, root):
                    continue
                sub = gb.find_submission_notebook(t.id, t.id, student)
                record = gradebook.read_record(root, t.id, student)
                per_part: dict[str, float] = {}
                for test in record["result"]["tests"]:
                    per_part[test["part"]] = per_part.get(test["part"], 0) + test["points"]
                for grade in sub.grades:
                    assert grade.auto_score == pytest.approx(
                        per_part[grade.name.removeprefix("test-")]
                    )
                    assert not grade.needs_manual_grade
    hung = {t["part"] for t in gradebook.read_record(root, MAIN.id, "hangs")["result"]["tests"] if not t["passed"]}  # fmt: skip
    assert hung == {"relu", "neuron"}


def test_a_students_kernel_cannot_forge_its_grade_nor_touch_the_course(graded_course):
    root, _, before = graded_course
    scores = gradebook.scores_in_gradebook(tools.settings(root), MAIN.id)
    assert scores["forger"] == scores["stub"] == 0
    # the hog's functions are right: its cell that fills memory is reported once, and the
    # other cells are graded (a notebook runs cell by cell, as in Jupyter)
    full = sum(build.part_points(MAIN).values())
    assert scores["vandal"] == scores["ref"] == scores["hog"] == full
    # the gradebook holds the whole class, and no source or submission changed
    assert len(scores) == len(students_for(MAIN, root)) == 30
    assert course_files(root) == before


def test_feedback_shows_failures_but_not_hidden_tests(graded_course):
    root, _, _ = graded_course
    html = (root / "feedback" / "knownbug" / MAIN.id / f"{MAIN.id}.html").read_text()
    assert "BEGIN HIDDEN TESTS" not in html and "grade_part(" not in html
    bug = load_bugs(MAIN)[0]
    assert Diagnosis(bug.kind, bug.name, bug.hint).label in html and bug.name in html


def test_a_rerun_grades_only_what_changed(graded_course):
    root, _, _ = graded_course
    again = grade_class(root, "-t", MAIN.id, "--no-feedback")
    assert again.returncode == 0, again.stderr[-2000:]
    summary = json.loads(again.stdout)
    assert summary["graded"] == [] and len(summary["unchanged"]) == len(students_for(MAIN, root))
    submit(root, "stub", MAIN.id, MAIN.solution_path.read_text())  # the student resubmits
    again = grade_class(root, "-t", MAIN.id, "--no-feedback")
    assert [(g["student"], g["score"]) for g in json.loads(again.stdout)["graded"]] == [
        ("stub", sum(build.part_points(MAIN).values()))
    ]


def test_the_quick_check_says_it_only_looked_at_shapes(graded_course, monkeypatch, capsys):
    from nnfs_cli.course import kernel

    root, _, _ = graded_course
    backprop = TOPICS[1]
    monkeypatch.chdir(root / "submitted" / "knownbug" / backprop.id)
    kernel._cache.clear()
    kernel.quick_check(backprop.id, "dense_backward")
    out = capsys.readouterr().out
    assert "passed" not in out and "values are graded when you submit" in out, out


def test_nbgraders_own_autograde_of_the_test_cells_agrees(graded_course, tmp_path):
    """Instructors may still run `nbgrader autograde`: its kernel path gives the same score."""
    root, _, _ = graded_course
    copy = tmp_path / "course"
    shutil.copytree(root, copy)
    tools.nbgrader(copy, "autograde", MAIN.id, "--student", "knownbug", "--force")
    theirs = gradebook.scores_in_gradebook(tools.settings(copy), MAIN.id)["knownbug"]
    assert theirs == gradebook.scores_in_gradebook(tools.settings(root), MAIN.id)["knownbug"]


def test_postgresql_gradebook_holds_the_same_grades(graded_course):
    from tests.pg_server import postgres_server

    root, _, _ = graded_course
    pytest.importorskip("psycopg")
    with postgres_server() as server:
        done = grade_class(root, "-t", MAIN.id, "--db", server.url, "--no-feedback")
        assert done.returncode == 0, done.stderr[-3000:]
        assert len(json.loads(done.stdout)["graded"]) == len(students_for(MAIN, root))
        on_pg = gradebook.scores_in_gradebook(tools.settings(root, server.url), MAIN.id)
    on_sqlite = gradebook.scores_in_gradebook(tools.settings(root), MAIN.id)
    # the resubmitted stub (test above) is graded alike on both
    assert on_pg == on_sqlite and len(on_pg) == len(students_for(MAIN, root))
