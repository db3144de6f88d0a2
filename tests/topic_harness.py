"""Grading helpers for the tests: grade the reference, the stub, a known bug, a file.

Gradings run in this (warm) process, as a notebook kernel or `nnfs watch` runs them: the
learner's code still runs in its sandbox worker, and the suite saves a Python start-up and
a torch import per grading (about 450 of them).
"""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

from nnfs_cli.catalog import Topic, load_catalog
from nnfs_cli.grading.bugs import KnownBug, load_bugs, variant_source
from nnfs_cli.grading.result import Result
from nnfs_cli.grading.runner import grade

ALTERNATIVES = Path(__file__).parent / "alternatives"


def available() -> list[Topic]:
    return [t for t in load_catalog().topics if t.available]


def all_bugs() -> list[tuple[Topic, KnownBug]]:
    return [(t, b) for t in available() for b in load_bugs(t)]


def alternatives() -> list[tuple[Topic, Path]]:
    """Correct implementations in another style: tests/alternatives/<module>__<style>.py."""
    out = []
    for t in available():
        out += [(t, p) for p in sorted(ALTERNATIVES.glob(f"{t.module_name}__*.py"))]
    return out


@cache
def grade_reference(topic: Topic) -> Result:
    return grade(topic, topic.solution_path, in_process=True)


@cache
def grade_stub(topic: Topic) -> Result:
    return grade(topic, topic.exercise_path, in_process=True)


def grade_reference_notebook(topic: Topic) -> tuple[Result, int]:
    """The learner's notebook with every function cell holding the reference's function,
    graded as `nnfs check --file X.ipynb` grades it; and how many cells were filled."""
    from nnfs_cli.notebooks import chunks, learner_notebook, write_notebook

    reference = {c.name: c.source for c in chunks(topic.solution_path.read_text(encoding="utf-8"))
                 if c.kind == "function"}  # fmt: skip
    nb, filled = learner_notebook(topic), 0
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        name = next((n for n in reference if source.startswith(f"def {n}(")), None)
        if cell["cell_type"] == "code" and name is not None:
            cell["source"], filled = reference[name], filled + 1
    with tempfile.TemporaryDirectory() as d:
        path = Path(d, f"{topic.id}.ipynb")
        write_notebook(nb, path)
        return grade(topic, path, in_process=True), filled


def grade_source(topic: Topic, source: str) -> Result:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d, topic.relpath.name)
        path.write_text(source, encoding="utf-8")
        return grade(topic, path, in_process=True)


@cache
def grade_bug(topic: Topic, bug: KnownBug) -> Result:
    return grade_source(topic, variant_source(topic, bug))


def failed_parts(result: Result) -> set[str]:
    return {t.part for t in result.tests if not t.passed}
