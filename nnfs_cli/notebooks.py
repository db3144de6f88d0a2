"""Learner notebooks made from a topic's single source (the nbgrader source notebooks are
made in `nnfs_cli.course.build` from the same chunks and cells).

Written as plain nbformat-4 JSON, so learners need no Jupyter package to get one.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

from nnfs_cli.catalog import Topic
from nnfs_cli.stubs import stub_for

SCHEMA = 3  # nbgrader cell-metadata schema version


@dataclass(frozen=True)
class Chunk:
    kind: str  # "lesson" | "setup" | "function"
    source: str
    name: str = ""
    doc: str = ""


def chunks(source: str) -> list[Chunk]:
    """Split a module into its lesson (docstring), setup code and one chunk per function."""
    tree = ast.parse(source)
    lines = source.splitlines()
    out: list[Chunk] = []
    body = tree.body
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(getattr(body[0], "value", None), ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        out.append(Chunk("lesson", ast.get_docstring(tree) or ""))
        body = body[1:]
    # Each statement owns its lines up to the next statement: trailing comments such as
    # "### END SOLUTION" stay with it, while a top-level "### BEGIN SOLUTION" goes with
    # the statement it opens, so markers never straddle two cells.
    starts = []
    for node in body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
        while first > 0 and lines[first - 1].strip() in ("### BEGIN SOLUTION", ""):
            first -= 1
        starts.append(first)
    pending: list[str] = []
    for i, node in enumerate(body):
        stop = starts[i + 1] if i + 1 < len(body) else len(lines)
        text = "\n".join(lines[starts[i] : stop]).strip("\n")
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            if pending:
                out.append(Chunk("setup", "\n\n".join(pending)))
                pending = []
            doc = (ast.get_docstring(node) or "").strip().splitlines()
            out.append(Chunk("function", text, node.name, doc[0] if doc else ""))
        else:
            pending.append(text)
    if pending:
        out.append(Chunk("setup", "\n\n".join(pending)))
    return out


def cell(cell_type: str, source: str, nbgrader: dict | None = None) -> dict:
    made = {"cell_type": cell_type, "metadata": {}, "source": source}
    if cell_type == "code":
        made |= {"execution_count": None, "outputs": []}
    if nbgrader is not None:
        made["metadata"]["nbgrader"] = {"schema_version": SCHEMA, "task": False} | nbgrader
    return made


def notebook(cells: list[dict]) -> dict:
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def title(topic: Topic) -> str:
    return f"**nnfs · {topic.id}** — phase {topic.phase}, {topic.section} {topic.section_title}: {topic.checkbox}\n\n"


def learner_notebook(topic: Topic) -> dict:
    """A learner's exercise as a notebook: the lesson, then one code cell per function to implement."""
    cells = []
    for ch in chunks(stub_for(topic)):
        if ch.kind == "lesson":
            cells.append(cell("markdown", title(topic) + ch.source))
        elif ch.kind == "setup":
            cells.append(cell("code", ch.source))
        else:
            cells.append(cell("markdown", f"### `{ch.name}`\n\n{ch.doc}"))
            cells.append(cell("code", ch.source))
    cells.append(
        cell(
            "markdown",
            f"When you are ready, grade this notebook from a terminal:\n\n    nnfs check {topic.id} --file {topic.id}.ipynb",
        )
    )
    return notebook(cells)


def write_notebook(nb: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
