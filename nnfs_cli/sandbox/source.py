"""Reading a learner's submission as Python source: a .py file or a Jupyter notebook."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path


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


_HELP = re.compile(r"^\s*(\?\??[A-Za-z_][\w.]*|[A-Za-z_][\w.]*\?\??)\s*$")  # np.maximum?


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


def notebook_source(text: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Concatenate a notebook's code cells; IPython magics and nbgrader test cells are left out."""
    nb = json.loads(text)
    if not isinstance(nb, dict) or not isinstance(nb.get("cells", []), list):
        raise BadNotebook("it has no list of cells")
    lines: list[str] = []
    cells: list[tuple[int, int]] = []
    for number, cell in enumerate(nb.get("cells", []), start=1):
        src = _cell_source(number, cell)
        if src is None:
            continue
        cells.append((len(lines) + 1, number))
        for line in src.splitlines():
            # Magics, shell escapes and help (`np.maximum?`) are IPython syntax, not
            # Python: keep the line count.
            ipython = line.lstrip().startswith(("%", "!")) or _HELP.match(line)
            lines.append("pass  # ipython" if ipython else line)
        lines.append("")
    return "\n".join(lines) + "\n", tuple(cells)


def read_submission(path: Path) -> Submission:
    """Read a submission; raises OSError / UnicodeDecodeError / ValueError on unreadable input."""
    text = path.read_text(encoding="utf-8-sig")  # a BOM, as some editors write, is fine
    if path.suffix == ".ipynb":
        source, cells = notebook_source(text)
        return Submission(path, source, cells)
    return Submission(path, text)
