"""Recording a graded submission: nbgrader's gradebook, its autograded notebook, our record.

One submission is recorded in one database transaction (all its part scores or none), so
an interrupted batch never leaves a half-written grade. Then the autograded notebook
(what nbgrader's `generate_feedback` turns into the student's feedback) and our own
record, `nnfs_results/<topic>/<student>.json`, are each replaced atomically. The record
comes last: a submission with a record whose checksum and gradebook match is done, and
anything interrupted before it is graded again on the next run (recording is idempotent).
A manual score an instructor gave in formgrader is kept when a submission is regraded.
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path

from nnfs_cli.course import tools

RESULTS = "nnfs_results"


def checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record_path(course: Path, topic_id: str, student: str) -> Path:
    return course / RESULTS / topic_id / f"{student}.json"


def read_record(course: Path, topic_id: str, student: str) -> dict | None:
    try:
        return json.loads(record_path(course, topic_id, student).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def records(course: Path, topic_id: str) -> list[dict]:
    folder = course / RESULTS / topic_id
    found = (read_record(course, topic_id, p.stem) for p in sorted(folder.glob("*.json")))
    return [r for r in found if r]


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@contextmanager
def opened(settings: tools.Settings):
    """nbgrader's Gradebook on the course's database (SQLite waits up to 60 s for a lock)."""
    tools.put_bin_on_path()
    from nbgrader.api import Gradebook

    gb = Gradebook(settings.db_url, course_id=settings.course_id)
    if settings.db_url.startswith("sqlite"):
        # readers (formgrader, `nbgrader export`) may hold the lock for a moment
        gb.db.connection().exec_driver_sql("PRAGMA busy_timeout = 60000")
    try:
        yield gb
    finally:
        gb.close()


def has_assignment(settings: tools.Settings, topic_id: str) -> bool:
    from nbgrader.api import MissingEntry

    with opened(settings) as gb:
        try:
            return bool(gb.find_assignment(topic_id).notebooks)
        except MissingEntry:
            return False


def add_students(settings: tools.Settings, students: set[str]) -> None:
    """Before any task runs, so parallel writers never race to create the same student."""
    with opened(settings) as gb:
        for s in sorted(students):
            gb.update_or_create_student(s)


def _new_submission(gb, topic_id: str, student: str) -> dict:
    """What nbgrader's add_submission builds, without its intermediate commit: grade name -> Grade."""
    from nbgrader.api import Comment, Grade, SubmittedAssignment, SubmittedNotebook

    submission = SubmittedAssignment(
        assignment=gb.find_assignment(topic_id), student=gb.find_student(student)
    )
    made, grades = [submission], {}
    for notebook in submission.assignment.notebooks:
        nb = SubmittedNotebook(notebook=notebook, assignment=submission)
        made.append(nb)
        for cell in [*notebook.grade_cells, *notebook.task_cells]:
            grades[cell.name] = Grade(cell=cell, notebook=nb)
        made += [
            Comment(cell=c, notebook=nb) for c in [*notebook.solution_cells, *notebook.task_cells]
        ]
    gb.db.add_all(made + list(grades.values()))
    return grades


def _save_scores(gb, outcome: dict) -> None:
    from nbgrader.api import MissingEntry

    topic_id, student, scores = outcome["topic"], outcome["student"], outcome["scores"]
    try:
        with gb.db.no_autoflush:
            try:
                submission = gb.find_submission(topic_id, student)
                grades = {g.name: g for nb in submission.notebooks for g in nb.grades}
            except MissingEntry:
                grades = _new_submission(gb, topic_id, student)
            for name, grade in grades.items():
                if not name.startswith(
                    "test-"
                ):  # not ours: left to the instructor, as nbgrader does
                    grade.needs_manual_grade = True
                    continue
                # a part the grader never reached (e.g. the whole run timed out) earned nothing
                earned = min(max(float(scores.get(name, 0.0)), 0.0), float(grade.cell.max_score))
                grade.auto_score = earned
                grade.needs_manual_grade = grade.manual_score is not None
        gb.db.commit()
    except Exception:
        gb.db.rollback()
        raise


def record(course: Path, settings: tools.Settings, outcome: dict, gb=None) -> None:
    """Save one graded submission: gradebook transaction, autograded notebook, our record."""
    if gb is None:
        with opened(settings) as own:
            _save_scores(own, outcome)
    else:
        _save_scores(gb, outcome)
    topic_id, student = outcome["topic"], outcome["student"]
    autograded = course / "autograded" / student / topic_id / f"{topic_id}.ipynb"
    _write_atomically(autograded, json.dumps(outcome["autograded"], indent=1) + "\n")
    kept = {k: v for k, v in outcome.items() if k != "autograded"}
    _write_atomically(
        record_path(course, topic_id, student), json.dumps(kept | {"db_url": settings.db_url})
    )


def record_failure(course: Path, outcome: dict) -> None:
    """An ungraded submission's reason, for the report (never taken as done on a rerun)."""
    _write_atomically(
        record_path(course, outcome["topic"], outcome["student"]),
        json.dumps({k: v for k, v in outcome.items() if k != "autograded"}),
    )


def scores_in_gradebook(settings: tools.Settings, topic_id: str) -> dict[str, float]:
    """student -> total score nbgrader holds for `topic_id` (what `nbgrader export` writes)."""
    with opened(settings) as gb:
        return {s.student.id: float(s.score) for s in gb.assignment_submissions(topic_id)}
