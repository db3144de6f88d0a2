"""Grading from inside a notebook kernel: what the test cells call when nbgrader itself autogrades.

`nnfs course grade` does not use this path (it grades outside the kernel, see batch.py);
it serves instructors who run `nbgrader autograde` themselves, and the quick check.

The notebook file on disk is graded by the same grader as `nnfs check --file X.ipynb`,
once per notebook, and each test cell takes its part's points. The grader runs inside the
kernel (no second Python start-up per notebook: nbgrader pays the kernel's already) and
the student's functions run in the sandboxed worker it starts, as with `nnfs check`;
nbgrader's per-cell timeout bounds the whole grading. Nothing is written to stderr
(nbgrader scores a cell that writes to stderr 0) and nothing raises (a traceback would
show in feedback): the cell's value is a plain float, which nbgrader takes as partial credit.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from nnfs_cli.catalog import load_catalog
from nnfs_cli.grading.result import Result

_cache: dict[tuple, Result] = {}


def _course_protect(start: Path) -> tuple[Path, ...]:
    """An instructor's course folder: the learner code may not read sources or the gradebook."""
    for folder in (start, *start.parents):
        if (folder / "nbgrader_config.py").exists():
            return (folder / "source", folder / "release", folder / "gradebook.db")
    return ()


def _result(topic_id: str) -> Result | str:
    from nnfs_cli.errors import NnfsError
    from nnfs_cli.grading.runner import grade

    topic = load_catalog().get_available(topic_id)
    here = Path.cwd()
    candidates = [here / f"{topic.id}.ipynb", *sorted(here.glob("*.ipynb"))]
    path = next((p for p in candidates if p.exists()), None)
    if path is None:
        return f"nnfs: no notebook found in {here} to grade"
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _cache:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _cache[key] = grade(topic, path, protect=_course_protect(here), in_process=True)
        except NnfsError as e:
            return f"nnfs: {e}"
    return _cache[key]


def part_feedback(result: Result, part: str) -> tuple[float, str]:
    """Points earned by `part` and what a student reads about it (the first failure, why)."""
    tests = result.parts().get(part, [])
    earned = float(sum(t.points for t in tests))
    total = float(sum(t.max_points for t in tests))
    lines = [result.error] if result.error else []
    lines.append(f"{part}: {earned:g} / {total:g} points")
    for t in tests:
        if not t.passed:
            lines.append("\n" + t.message)
            if t.diagnosis:
                lines.append(f"  {t.diagnosis.label}: {t.diagnosis.name}: {t.diagnosis.hint}")
            break
    return earned, "\n".join(lines)


def grade_part(topic_id: str, part: str) -> float:
    """Points earned by `part` (a plain float), printing what failed and why."""
    result = _result(topic_id)
    if isinstance(result, str):
        print(result)
        return 0.0
    earned, text = part_feedback(result, part)
    print(text)
    return earned


def quick_check(topic_id: str, part: str) -> None:
    """Visible quick check: does the function exist, and are its shapes right?

    Only the shape checks are shown before submission, so a pass says exactly that:
    a wrong value (e.g. a bias gradient averaged instead of summed) is found at grading.
    """
    result = _result(topic_id)
    if isinstance(result, str):
        print(result)
        return
    tests = result.parts().get(part, [])
    shape_tests = [t for t in tests if "shape" in t.name]
    shown = shape_tests or tests[:1]
    bad = [t for t in shown if not t.passed]
    if not tests:
        print(f"{part}: nothing to check")
    elif bad:
        print(f"{part}: quick check failed: {bad[0].message.splitlines()[0]}")
    elif shape_tests:
        n = len(shape_tests)
        print(f"{part}: shapes look right ({n} shape check{'s' * (n != 1)}); "
              "values are graded when you submit")  # fmt: skip
    else:
        print(f"{part}: it runs and its first check passes; values are graded when you submit")
