"""Catalog validation: what rustlings' `dev check` does, for nnfs."""

from __future__ import annotations

import ast
from pathlib import Path

from nnfs_cli.catalog import Catalog, content_root
from nnfs_cli.stubs import BEGIN, stub_for

EXPECTED_TOPICS = 33  # one per checkbox of the roadmap


def _exercised(solution: str) -> set[str]:
    """Top-level functions of a solution with a solution block: the learner writes those.

    The others are *given* (a later topic hands over an earlier topic's function so the
    learner can focus on the new idea): the stub keeps them as they are.
    """
    tree = ast.parse(solution)
    return {
        n.name
        for n in tree.body
        if isinstance(n, ast.FunctionDef) and BEGIN in (ast.get_source_segment(solution, n) or "")
    }


def _stub_problems(topic) -> list[str]:
    problems = []
    tree = ast.parse(stub_for(topic))
    exercised = _exercised(topic.solution_path.read_text(encoding="utf-8"))
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in exercised]
    if not funcs:
        problems.append(f"{topic.id}: the stub defines no function to implement")
    for fn in funcs:
        raises = [
            n for n in ast.walk(fn)
            if isinstance(n, ast.Raise) and isinstance(n.exc, ast.Call) and getattr(n.exc.func, "id", "") == "NotImplementedError"
        ]  # fmt: skip
        msg = (
            raises[0].exc.args[0].value
            if raises and raises[0].exc.args and isinstance(raises[0].exc.args[0], ast.Constant)
            else ""
        )
        if not raises:
            problems.append(
                f"{topic.id}: stub function {fn.name} does not raise NotImplementedError"
            )
        elif topic.id not in msg or fn.name not in msg:
            problems.append(
                f"{topic.id}: stub {fn.name} raises without naming the topic and the function"
            )
        if not ast.get_docstring(fn):
            problems.append(f"{topic.id}: {fn.name} has no docstring")
    if not ast.get_docstring(tree):
        problems.append(f"{topic.id}: the module has no lesson docstring")
    return problems


def validate(catalog: Catalog, grade: bool = False, curriculum: Path | None = None) -> list[str]:
    problems: list[str] = []
    ids = [t.id for t in catalog.topics]
    if len(ids) != len(set(ids)):
        problems.append(
            "duplicate topic ids: " + ", ".join(sorted({i for i in ids if ids.count(i) > 1}))
        )
    if len(ids) != EXPECTED_TOPICS:
        problems.append(
            f"{len(ids)} topics in the catalog, expected {EXPECTED_TOPICS} (one per roadmap checkbox)"
        )
    if curriculum is not None and curriculum.exists():
        listed = curriculum_ids(curriculum)
        if listed != ids:
            problems.append(
                f"catalog ids differ from {curriculum.name}: missing {sorted(set(listed) - set(ids))}, extra {sorted(set(ids) - set(listed))}"
            )
    expected_files: set[Path] = set()
    root = content_root()
    for t in catalog.topics:
        if not 2 <= len(t.hints) <= 4 or not all(h.strip() for h in t.hints):
            problems.append(f"{t.id}: needs 2-4 non-empty hints (has {len(t.hints)})")
        if not t.checkbox.strip():
            problems.append(f"{t.id}: empty checkbox text")
        if t.status not in ("available", "planned"):
            problems.append(f"{t.id}: status {t.status!r} is neither available nor planned")
        files = [t.solution_path, t.exercise_path, t.grader_path, t.bugs_path]
        if t.available:
            expected_files.update(files)
            missing = [str(f.relative_to(root)) for f in files if not f.exists()]
            if missing:
                problems.append(f"{t.id}: missing {', '.join(missing)}")
                continue
            if t.exercise_path.read_text(encoding="utf-8") != stub_for(t):
                problems.append(f"{t.id}: exercises/ stub is out of date (run `nnfs dev stubs`)")
            problems += _stub_problems(t)
    for folder in ("solutions", "exercises", "graders"):
        for f in sorted((root / folder).rglob("*.py")):
            if f not in expected_files and f.name != "__init__.py":
                problems.append(f"stray file {f.relative_to(root)}: no available topic owns it")
    if grade:
        problems += _grade_problems(catalog)
    return problems


def _grade_problems(catalog: Catalog) -> list[str]:
    from nnfs_cli.grading.runner import grade

    problems = []
    for t in catalog.topics:
        if not t.available:
            continue
        ref = grade(t, t.solution_path)
        if not ref.passed:
            problems.append(
                f"{t.id}: the reference does not pass its grader ({ref.score:g}/{ref.max_score:g})"
            )
        stub = grade(t, t.exercise_path)
        if stub.score != 0 or stub.passed:
            problems.append(f"{t.id}: the stub scores {stub.score:g}, not 0")
    return problems


def curriculum_ids(path: Path) -> list[str]:
    """Topic ids from the curriculum table: the second column of rows starting with '| <n> |'."""
    ids = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 2 and cells[0].isdigit():
            ids.append(cells[1].strip("`"))
    return ids
