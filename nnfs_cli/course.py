"""Instructors: an nbgrader course built from the catalog, and a batch wrapper around nbgrader.

`build` writes `nbgrader_config.py` (once; an instructor's edits are kept) and one source
notebook per topic under `source/<topic>/`. It never touches `submitted/`, `autograded/`,
`feedback/` or the gradebook. `batch` runs nbgrader's own commands and summarises.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from nnfs_cli.catalog import Catalog, Topic
from nnfs_cli.errors import NnfsError
from nnfs_cli.grading.runner import grade
from nnfs_cli.notebooks import course_notebook, write_notebook

CONFIG = """\
# nbgrader configuration written by `nnfs course build`; edit freely, it is not overwritten.
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "nnfs"

# The stub a student sees in place of each solution.
c.ClearSolutions.code_stub = {"python": '# YOUR CODE HERE\\nraise NotImplementedError("not implemented yet")'}

# Grading runs the student's functions in a sandboxed process with 10 s per call; the
# whole notebook's grading happens in the first test cell, so give cells room.
c.Execute.timeout = 180
c.Execute.interrupt_on_timeout = True
# A kernel that ignores the interrupt must not abort the rest of the class.
c.Execute.raise_on_iopub_timeout = False

# Feedback must not reveal the hidden tests: strip them from the cells shown.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
"""


def part_points(topic: Topic) -> dict[str, float]:
    """Points per part, read off the grader by grading the reference (single source)."""
    result = grade(topic, topic.solution_path)
    if not result.passed:
        raise NnfsError(
            f"the reference of {topic.id} does not pass its grader; not building a course from it"
        )
    return {part: float(sum(t.max_points for t in tests)) for part, tests in result.parts().items()}


def build(course: Path, topics: list[Topic]) -> list[Path]:
    course.mkdir(parents=True, exist_ok=True)
    config = course / "nbgrader_config.py"
    if not config.exists():
        config.write_text(CONFIG, encoding="utf-8")
    written = []
    for topic in topics:
        path = course / "source" / topic.id / f"{topic.id}.ipynb"
        write_notebook(course_notebook(topic, part_points(topic)), path)
        written.append(path)
    return written


def select(catalog: Catalog, ids: list[str] | None) -> list[Topic]:
    return (
        [catalog.get_available(i) for i in ids]
        if ids
        else [t for t in catalog.topics if t.available]
    )


@dataclass
class BatchReport:
    rows: list[dict] = field(default_factory=list)  # student, topic, score, max_score
    seconds: dict[str, float] = field(default_factory=dict)  # per nbgrader step
    failures: list[str] = field(default_factory=list)  # a step that failed as a whole
    ungraded: list[str] = field(default_factory=list)  # "student/topic" nbgrader could not process


def nbgrader(course: Path, *args: str, timeout: float = 3600) -> subprocess.CompletedProcess:
    exe = shutil.which("nbgrader") or str(Path(sys.executable).with_name("nbgrader"))
    if not Path(exe).exists():
        raise NnfsError("nbgrader is not installed: pip install 'nnfs-lab[instructor]'")
    return subprocess.run([exe, *args], cwd=course, capture_output=True, text=True, timeout=timeout)


def batch(course: Path, topics: list[Topic], on_step=None) -> BatchReport:
    """autograde + generate_feedback + export with nbgrader itself, then read grades.csv."""
    if not (course / "nbgrader_config.py").exists():
        raise NnfsError(f"{course} is not a course folder: run `nnfs course build {course}` first")
    report = BatchReport()
    for topic in topics:
        for step in (["generate_assignment", topic.id, "--force"], ["autograde", topic.id, "--force"],
                     ["generate_feedback", topic.id, "--force"]):  # fmt: skip
            if on_step:
                on_step(f"{step[0]} {topic.id}")
            started = time.perf_counter()
            done = nbgrader(course, *step)
            report.seconds[f"{step[0]} {topic.id}"] = time.perf_counter() - started
            if done.returncode != 0:
                # nbgrader grades the rest of the class and names the students it could not
                # process (e.g. a notebook that kills its kernel)
                students = sorted({line.split("for student '")[1].split("'")[0]
                                   for line in done.stderr.splitlines() if "for student '" in line})  # fmt: skip
                if students:
                    report.ungraded += [f"{s}/{topic.id} ({step[0]})" for s in students]
                else:
                    report.failures.append(
                        f"nbgrader {' '.join(step)} failed: {' '.join(done.stderr.strip().splitlines()[-1:])}"
                    )
    if on_step:
        on_step("export")
    done = nbgrader(course, "export")
    if done.returncode != 0:
        raise NnfsError(f"nbgrader export failed: {done.stderr.strip()[-500:]}")
    with open(course / "grades.csv", newline="", encoding="utf-8") as f:
        wanted = {t.id for t in topics}
        for row in csv.DictReader(f):
            if row["assignment"] in wanted:
                report.rows.append({"student": row["student_id"], "topic": row["assignment"],
                                    "score": float(row["raw_score"] or 0), "max_score": float(row["max_score"] or 0)})  # fmt: skip
    return report
