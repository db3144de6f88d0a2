"""Reading a learner's submission as Python source: a .py file or a Jupyter notebook."""

from __future__ import annotations

import json
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


def _is_test_cell(cell: dict) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def notebook_source(text: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Concatenate a notebook's code cells; IPython magics and nbgrader test cells are left out."""
    nb = json.loads(text)
    lines: list[str] = []
    cells: list[tuple[int, int]] = []
    for number, cell in enumerate(nb.get("cells", []), start=1):
        if cell.get("cell_type") != "code" or _is_test_cell(cell):
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        cells.append((len(lines) + 1, number))
        for line in src.splitlines():
            # Magics and shell escapes are IPython syntax, not Python: keep the line count.
            lines.append("pass  # ipython magic" if line.lstrip().startswith(("%", "!")) else line)
        lines.append("")
    return "\n".join(lines) + "\n", tuple(cells)


def read_submission(path: Path) -> Submission:
    """Read a submission; raises OSError / UnicodeDecodeError / ValueError on unreadable input."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        source, cells = notebook_source(text)
        return Submission(path, source, cells)
    return Submission(path, text)
