"""Instructors: a course built from the catalog, graded by real nbgrader, agrees with `nnfs check`."""

import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nnfs_cli import course
from nnfs_cli.catalog import load_catalog
from nnfs_cli.grading.bugs import load_bugs, variant_source
from tests.cli_helpers import nnfs
from tests.nbgrader_helpers import submit

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("nbgrader")]
pytest.importorskip("nbgrader")

CATALOG = load_catalog()
TOPICS = [
    CATALOG.get(i)
    for i in ("perceptron-theory", "probability", "backprop")
    if CATALOG.get(i).available
]
MAIN = CATALOG.get("perceptron-theory")
NBGRADER = shutil.which("nbgrader") or str(Path(sys.executable).with_name("nbgrader"))


def run_nbgrader(course_dir, *args, may_fail_for=()):
    """Run nbgrader; a student whose notebook kills the kernel makes it exit 1 after grading the rest."""
    done = subprocess.run(
        [NBGRADER, *args], cwd=course_dir, capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        failed = {
            line.split("for student '")[1].split("'")[0]
            for line in done.stderr.splitlines()
            if "for student '" in line
        }
        assert failed and failed <= set(may_fail_for), done.stderr[-3000:]
    return done


def students_for(topic):
    """student -> source (None: the released stub untouched)."""
    ref = topic.solution_path.read_text(encoding="utf-8")
    bug = load_bugs(topic)[0]
    chunks = [
        c
        for c in __import__("nnfs_cli.notebooks", fromlist=["chunks"]).chunks(ref)
        if c.kind == "function"
    ]
    first, last = chunks[0], chunks[-1]
    # partial: the last function is left as the stub
    partial = ref.replace(
        last.source,
        last.source.split('"""')[0] + '"""Left undone."""\n    raise NotImplementedError\n',
    )
    out = {"ref": ref, "stub": None, "partial": partial, "knownbug": variant_source(topic, bug)}
    if topic is MAIN:
        out["hangs"] = ref.replace(
            "    return np.maximum(z, 0)\n", "    while True:\n        pass\n"
        )
        # the kernel dies while running the student's first solution cell (a default
        # argument is evaluated when the `def` runs)
        out["crashes"] = ref.replace(
            "def step(z: np.ndarray)", "def step(z: np.ndarray, _boom=__import__('os')._exit(1))", 1
        )
    assert partial != ref and first.name
    return out


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    course.build(root, TOPICS)
    for t in TOPICS:
        run_nbgrader(root, "generate_assignment", t.id, "--force")
        for student, source in students_for(t).items():
            submit(root, student, t.id, source)
    started = time.perf_counter()
    for t in TOPICS:
        run_nbgrader(root, "autograde", t.id, "--force", may_fail_for={"crashes"})
        run_nbgrader(root, "generate_feedback", t.id, "--force", may_fail_for={"crashes"})
    elapsed = time.perf_counter() - started
    run_nbgrader(root, "export")
    return root, elapsed


def test_source_notebooks_have_one_graded_cell_per_part_with_its_points(tmp_path):
    course.build(tmp_path, [MAIN])
    nb = json.loads((tmp_path / "source" / MAIN.id / f"{MAIN.id}.ipynb").read_text())
    graded = {c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"]["points"] for c in nb["cells"]
              if c["metadata"].get("nbgrader", {}).get("grade")}  # fmt: skip
    assert graded == {f"test-{p}": pts for p, pts in course.part_points(MAIN).items()}
    assert (tmp_path / "nbgrader_config.py").exists()


def test_rebuilding_keeps_config_edits_and_submissions(tmp_path):
    course.build(tmp_path, [MAIN])
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n# mine\n")
    sub = tmp_path / "submitted" / "zoe" / MAIN.id / "x.ipynb"
    sub.parent.mkdir(parents=True)
    sub.write_text("{}")
    (tmp_path / "gradebook.db").write_text("db")
    before = (tmp_path / "source" / MAIN.id / f"{MAIN.id}.ipynb").read_text()
    course.build(tmp_path, [MAIN])
    assert (tmp_path / "source" / MAIN.id / f"{MAIN.id}.ipynb").read_text() == before
    assert "# mine" in (tmp_path / "nbgrader_config.py").read_text()
    assert sub.read_text() == "{}" and (tmp_path / "gradebook.db").read_text() == "db"


def test_released_notebooks_hold_no_solution_and_no_hidden_tests(graded_course):
    root, _ = graded_course
    for t in TOPICS:
        text = (root / "release" / t.id / f"{t.id}.ipynb").read_text()
        assert (
            "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "grade_part" not in text
        )
        reference_body = [
            c
            for c in __import__("nnfs_cli.notebooks", fromlist=["chunks"]).chunks(
                t.solution_path.read_text()
            )
            if c.kind == "function"
        ][0]
        body_line = reference_body.source.split("### BEGIN SOLUTION\n")[1].splitlines()[0].strip()
        assert body_line not in text, body_line


def test_every_nbgrader_score_equals_nnfs_check(graded_course):
    root, _ = graded_course
    rows = list(csv.DictReader(open(root / "grades.csv", encoding="utf-8")))
    expected_students = {s for t in TOPICS for s in students_for(t)}
    assert {r["student_id"] for r in rows} == expected_students
    for r in rows:
        nb = root / "submitted" / r["student_id"] / r["assignment"] / f"{r['assignment']}.ipynb"
        if not nb.exists():
            continue
        check = nnfs("check", r["assignment"], "--file", str(nb), "--json")
        ours = json.loads(check.stdout)
        assert float(r["raw_score"]) == ours["score"], (
            r["student_id"],
            r["assignment"],
            r["raw_score"],
            ours["score"],
        )
        if r["student_id"] == "ref":
            assert ours["passed"] and ours["score"] == float(r["max_score"])
        if r["student_id"] in ("stub", "crashes"):
            assert float(r["raw_score"]) == 0, (r["student_id"], r["assignment"])


def test_per_part_points_match(graded_course):
    from nbgrader.api import Gradebook

    root, _ = graded_course
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student in ("partial", "knownbug", "hangs"):
            for t in TOPICS:
                try:
                    sub = gb.find_submission_notebook(t.id, t.id, student)
                except Exception:
                    continue
                ours = json.loads(
                    nnfs(
                        "check",
                        t.id,
                        "--file",
                        str(root / "submitted" / student / t.id / f"{t.id}.ipynb"),
                        "--json",
                    ).stdout
                )
                per_part = {}
                for test in ours["tests"]:
                    per_part[test["part"]] = per_part.get(test["part"], 0) + test["points"]
                for grade in sub.grades:
                    assert grade.score == pytest.approx(
                        per_part[grade.name.removeprefix("test-")]
                    ), (student, grade.name)


def test_hanging_submission_zero_for_hung_parts_only(graded_course):
    root, elapsed = graded_course
    ours = json.loads(
        nnfs(
            "check",
            MAIN.id,
            "--file",
            str(root / "submitted" / "hangs" / MAIN.id / f"{MAIN.id}.ipynb"),
            "--json",
        ).stdout
    )
    failed = {t["part"] for t in ours["tests"] if not t["passed"]}
    assert failed == {"relu", "neuron"}
    assert elapsed < 600


def test_feedback_shows_failures_but_not_hidden_tests(graded_course):
    root, _ = graded_course
    html = (root / "feedback" / "knownbug" / MAIN.id / f"{MAIN.id}.html").read_text()
    assert "BEGIN HIDDEN TESTS" not in html and "grade_part(" not in html
    assert "known mistake" in html and load_bugs(MAIN)[0].name in html


def test_batch_wrapper_summarises_the_class(graded_course):
    root, _ = graded_course
    r = nnfs("course", "grade", str(root), "-t", MAIN.id, "--json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)["rows"]
    assert {row["student"] for row in rows} >= {
        "ref",
        "stub",
        "partial",
        "knownbug",
        "hangs",
        "crashes",
    }
