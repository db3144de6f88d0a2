"""Making student submissions from a released nbgrader notebook, for the instructor tests."""

from __future__ import annotations

import json
from pathlib import Path

from nnfs_cli.notebooks import chunks


def fill(released: Path, source: str | None) -> dict:
    """The released notebook with each solution cell replaced by that function from `source`."""
    nb = json.loads(released.read_text(encoding="utf-8"))
    if source is None:
        return nb
    functions = {c.name: c.source for c in chunks(source) if c.kind == "function"}
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") in functions:
            cell["source"] = functions[meta["grade_id"]]
    return nb


def submit(course: Path, student: str, topic_id: str, source: str | None) -> Path:
    released = course / "release" / topic_id / f"{topic_id}.ipynb"
    path = course / "submitted" / student / topic_id / f"{topic_id}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fill(released, source)), encoding="utf-8")
    return path


def add_cell(path: Path, source: str) -> None:
    """Append a top-level code cell of the student's own to a submitted notebook."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["cells"].append({"cell_type": "code", "metadata": {}, "source": source,
                        "execution_count": None, "outputs": []})  # fmt: skip
    path.write_text(json.dumps(nb), encoding="utf-8")


def make_class(course: Path, topics, students: list[str]) -> Path:
    """A built course whose every student submitted the reference of every topic."""
    from nnfs_cli.course import build, tools

    build.build(course, topics)
    for t in topics:
        tools.nbgrader(course, "generate_assignment", t.id, "--force")
        for s in students:
            submit(course, s, t.id, t.solution_path.read_text(encoding="utf-8"))
    return course
