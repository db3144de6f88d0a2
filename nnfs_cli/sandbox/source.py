"""Reading a learner's submission as Python source (a .py file or a Jupyter notebook), and
running it into a module inside the worker.

A `.py` file is one module: an error at its top level stops it. A notebook runs cell by
cell, as Jupyter does: a cell that raises is reported once and the other cells still run,
so the functions defined elsewhere are still graded.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

# IPython help syntax (`np.maximum?`, `??f`), which Jupyter accepts and Python does not
_HELP = re.compile(r"^\s*(\?{1,2}[\w.]+|[\w.\[\]()]+\?{1,2})\s*$")
# cell magics whose body is Python: only their first line is IPython syntax
_PYTHON_CELL_MAGICS = ("%%time", "%%timeit", "%%capture", "%%prun")


@dataclass(frozen=True)
class Submission:
    path: Path
    source: str
    # For notebooks: (first line in `source`, cell number) per code cell, to name cells in errors.
    cells: tuple[tuple[int, int], ...] = ()

    def where(self, line: int) -> str:
        """Human location of a line of `source`: 'line 12' or 'cell 3, line 4'."""
        if not self.cells:
            return f"line {line}"
        start, cell = max((c for c in self.cells if c[0] <= line), default=(1, 1))
        return f"cell {cell}, line {line - start + 1}"


class BadNotebook(ValueError):
    """A notebook whose JSON parses but is not shaped like a notebook."""


def _is_test_cell(cell: dict) -> bool:
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return isinstance(meta, dict) and bool(meta.get("grade")) and not meta.get("solution")


def _cell_source(number: int, cell: object) -> str | None:
    """A code cell's text (None for other cells); BadNotebook when it is malformed."""
    if not isinstance(cell, dict):
        raise BadNotebook(f"cell {number} is not a cell")
    if cell.get("cell_type") != "code" or _is_test_cell(cell):
        return None
    src = cell.get("source", "")
    if isinstance(src, list) and all(isinstance(x, str) for x in src):
        return "".join(src)
    if not isinstance(src, str):
        raise BadNotebook(f"cell {number} has a source that is not text")
    return src


def _python_line(line: str) -> str:
    """The line, or `pass` at its indentation when it is IPython syntax (keeps line numbers)."""
    stripped = line.lstrip()
    if (
        stripped.startswith(("%", "!"))
        or _HELP.match(line)
        or re.match(r"^[\w.]+\s*=\s*[!%]", stripped)
    ):
        return line[: len(line) - len(stripped)] + "pass  # IPython syntax"
    return line


def _cell_lines(src: str) -> list[str]:
    lines = src.splitlines()
    if lines and lines[0].startswith("%%"):
        if lines[0].split()[0] not in _PYTHON_CELL_MAGICS:
            return ["pass  # a cell of another language (" + lines[0].split()[0] + ")"] + [
                "" for _ in lines[1:]
            ]
        lines[0] = "pass  # IPython cell magic"
    return [_python_line(line) for line in lines]


def notebook_source(text: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Concatenate a notebook's code cells; IPython syntax and nbgrader test cells are left out."""
    nb = json.loads(text)
    if not isinstance(nb, dict) or not isinstance(nb.get("cells", []), list):
        raise BadNotebook("it is not a Jupyter notebook (no list of cells)")
    lines: list[str] = []
    cells: list[tuple[int, int]] = []
    for number, cell in enumerate(nb.get("cells", []), start=1):
        src = _cell_source(number, cell)
        if src is None:
            continue
        cells.append((len(lines) + 1, number))
        lines += _cell_lines(src)  # IPython syntax becomes `pass`, keeping the line count
        lines.append("")
    return "\n".join(lines) + "\n", tuple(cells)


def read_submission(path: Path) -> Submission:
    """Read a submission; raises OSError / UnicodeDecodeError / ValueError on unreadable input."""
    text = path.read_text(encoding="utf-8-sig")  # a BOM, as some editors write, is fine
    if path.suffix == ".ipynb":
        source, cells = notebook_source(text)
        return Submission(path, source, cells)
    return Submission(path, text)


def _error_line(exc: BaseException, filename: str) -> int:
    import traceback

    lines = [
        f.lineno or 0 for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename
    ]
    return lines[-1] if lines else 0


def _units(source: str, cells: list) -> list[tuple[int, str]]:
    """(first line, code) of each unit to run: the whole file, or each notebook cell."""
    if not cells:
        return [(1, source)]
    lines = source.splitlines(keepends=True)
    starts = [start for start, _ in cells] + [len(lines) + 1]
    return [(s, "".join(lines[s - 1 : e - 1])) for s, e in zip(starts, starts[1:])]


def run_source(
    source: str, cells: list, filename: str, namespace: dict
) -> tuple[dict | None, list[dict]]:
    """Run a submission into `namespace` (in the worker, behind its fence).

    Returns (fatal, notes): `fatal` is the status that stops a `.py` (its syntax or
    top-level error), else None; `notes` lists each notebook cell that raised, as
    {"line", "type", "message"} with `line` a line of `source`.
    """
    notes = []
    for start, code in _units(source, cells):
        try:
            # blank lines in front keep line numbers those of the whole `source`
            compiled = compile("\n" * (start - 1) + code, filename, "exec")
        except SyntaxError as e:
            status = {
                "status": "syntax",
                "type": "SyntaxError",
                "message": e.msg,
                "line": e.lineno or 0,
            }
            if not cells:
                return status, []
            notes.append(status)
            continue
        try:
            exec(compiled, namespace)
        except BaseException as e:  # noqa: BLE001 - anything a cell does, SystemExit included
            status = {"status": "import", "type": type(e).__name__, "message": str(e)[:2000],
                      "line": _error_line(e, filename)}  # fmt: skip
            if not cells:
                return status, []
            notes.append(status)
    return None, notes
