"""Grading from inside a notebook kernel (nbgrader's test cells call these).

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


def grade_part(topic_id: str, part: str) -> float:
    """Points earned by `part` (a plain float), printing what failed and why."""
    result = _result(topic_id)
    if isinstance(result, str):
        print(result)
        return 0.0
    tests = result.parts().get(part, [])
    if result.error:
        print(result.error)
    earned = float(sum(t.points for t in tests))
    total = float(sum(t.max_points for t in tests))
    print(f"{part}: {earned:g} / {total:g} points")
    for t in tests:
        if not t.passed:
            print("\n" + t.message)
            if t.diagnosis:
                print(
                    f"  {t.diagnosis.label}: {t.diagnosis.name}: {t.diagnosis.hint}"
                )
            break
    return earned


def quick_check(topic_id: str, part: str) -> None:
    """Visible quick check: does the function exist, and does it get past the shape checks?"""
    result = _result(topic_id)
    if isinstance(result, str):
        print(result)
        return
    tests = result.parts().get(part, [])
    shape_tests = [t for t in tests if "shape" in t.name] or tests[:1]
    bad = [t for t in shape_tests if not t.passed]
    if not tests:
        print(f"{part}: nothing to check")
    elif bad:
        print(f"{part}: quick check failed: {bad[0].message.splitlines()[0]}")
    else:
        print(f"{part}: quick check passed ({len(shape_tests)} basic checks)")
