"""Building an nbgrader course from the catalog.

`build` writes `nbgrader_config.py` (once; an instructor's edits are kept) and one source
notebook per topic under `source/<topic>/`. It never touches `submitted/`, `autograded/`,
`feedback/` or the gradebook.
"""

from __future__ import annotations

from pathlib import Path

from nnfs_cli.catalog import Catalog, Topic
from nnfs_cli.errors import NnfsError
from nnfs_cli.grading.runner import grade
from nnfs_cli.notebooks import cell, chunks, notebook, title, write_notebook

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


def course_notebook(topic: Topic, points: dict[str, float]) -> dict:
    """The nbgrader *source* notebook: lesson, solution cells, one autograded cell per part."""
    cells = []
    functions = []
    for i, ch in enumerate(chunks(topic.solution_path.read_text(encoding="utf-8"))):
        meta_locked = {"grade": False, "solution": False, "locked": True}
        if ch.kind == "lesson":
            cells.append(
                cell("markdown", title(topic) + ch.source, meta_locked | {"grade_id": "lesson"})
            )
        elif ch.kind == "setup":
            cells.append(cell("code", ch.source, meta_locked | {"grade_id": f"setup-{i}"}))
        else:
            functions.append(ch.name)
            cells.append(
                cell(
                    "markdown",
                    f"### `{ch.name}`\n\n{ch.doc}",
                    meta_locked | {"grade_id": f"about-{ch.name}"},
                )
            )
            cells.append(
                cell(
                    "code",
                    ch.source,
                    {"grade": False, "solution": True, "locked": False, "grade_id": f"{ch.name}"},
                )
            )
            if ch.name in points:
                cells.append(cell("code", _test_cell(topic, ch.name),
                                   {"grade": True, "solution": False, "locked": True, "grade_id": f"test-{ch.name}", "points": points[ch.name]}))  # fmt: skip
    missing = set(points) - set(functions)
    if missing:
        raise ValueError(f"{topic.id}: parts without a function cell: {sorted(missing)}")
    return notebook(cells)


def _test_cell(topic: Topic, part: str) -> str:
    return (
        f"# Checks for `{part}`: save the notebook, then run this cell to see how your function does.\n"
        "from nnfs_cli.course.kernel import quick_check\n"
        f"quick_check({topic.id!r}, {part!r})\n"
        "### BEGIN HIDDEN TESTS\n"
        "from nnfs_cli.course.kernel import grade_part\n"
        f"grade_part({topic.id!r}, {part!r})\n"
        "### END HIDDEN TESTS"
    )


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
