"""Generate an exercise stub from its solution: each solution block becomes a `raise`.

The lines between `### BEGIN SOLUTION` and `### END SOLUTION` are replaced by a
`raise NotImplementedError(...)` naming the topic and the function. Blocks live inside
functions only: nbgrader strips the same markers, and a top-level block would leave a bare
`raise` at the top of a student's notebook cell.
"""

from __future__ import annotations

import re

from nnfs_cli.catalog import Catalog, Topic
from nnfs_cli.errors import NnfsError

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+(\w+)\s*\(")


def make_stub(source: str, topic_id: str) -> str:
    out: list[str] = []
    inside = False
    lines = source.splitlines()
    for n, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise NnfsError(f"{topic_id}: nested {BEGIN} at line {n}")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            if not indent:
                # nbgrader would leave a bare top-level `raise` in the student's notebook
                raise NnfsError(f"{topic_id}: line {n}: a solution block must be inside a function")
            func = _enclosing_function(lines[: n - 1], len(indent))
            out.append(f"{indent}# YOUR CODE HERE")
            out.append(f'{indent}raise NotImplementedError("{topic_id}: implement {func}")')
            continue
        if stripped == END:
            if not inside:
                raise NnfsError(f"{topic_id}: {END} without {BEGIN} at line {n}")
            inside = False
            continue
        if not inside:
            out.append(line)
    if inside:
        raise NnfsError(f"{topic_id}: {BEGIN} is never closed")
    text = "\n".join(out).rstrip() + "\n"
    return re.sub(r"\n{4,}", "\n\n\n", text)


def _enclosing_function(before: list[str], indent: int) -> str:
    for line in reversed(before):
        m = _DEF.match(line)
        if m and len(m.group(1)) < indent:
            return m.group(2)
    return "this part"


def stub_for(topic: Topic) -> str:
    return make_stub(topic.solution_path.read_text(encoding="utf-8"), topic.id)


def outdated_stubs(catalog: Catalog) -> list[Topic]:
    """Available topics whose committed stub differs from the one generated now."""
    return [
        t for t in catalog.topics
        if t.available and t.solution_path.exists()
        and (not t.exercise_path.exists() or t.exercise_path.read_text(encoding="utf-8") != stub_for(t))
    ]  # fmt: skip


def write_stubs(catalog: Catalog) -> list[Topic]:
    written = outdated_stubs(catalog)
    for topic in written:
        topic.exercise_path.parent.mkdir(parents=True, exist_ok=True)
        topic.exercise_path.write_text(stub_for(topic), encoding="utf-8")
    return written
