"""A learner's workspace: a folder with `.nnfs/` (state) and their copies of the exercises."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from nnfs_cli.catalog import Topic
from nnfs_cli.errors import NnfsError
from nnfs_cli.progress import ProgressStore
from nnfs_cli.stubs import stub_for

STATE = ".nnfs"


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def state_dir(self) -> Path:
        return self.root / STATE

    @cached_property
    def store(self) -> ProgressStore:
        return ProgressStore(self.state_dir)

    def exercise(self, topic: Topic) -> Path:
        return self.root / topic.relpath

    def notebook(self, topic: Topic) -> Path:
        return self.root / topic.folder / f"{topic.id}.ipynb"

    def has_exercise(self, topic: Topic) -> bool:
        return self.exercise(topic).is_file()

    def current_file(self, topic: Topic) -> Path | None:
        """The file the learner works in: of the .py copy and the notebook, the one saved last."""
        files = [p for p in (self.exercise(topic), self.notebook(topic)) if p.is_file()]
        return max(files, key=lambda p: p.stat().st_mtime_ns) if files else None

    def fetch_notebook(self, topic: Topic) -> bool:
        """Write the exercise as a notebook if there is none yet; never overwrite."""
        from nnfs_cli.notebooks import learner_notebook, write_notebook

        path = self.notebook(topic)
        if path.exists():
            return False
        try:
            write_notebook(learner_notebook(topic), path)
        except OSError as e:
            raise NnfsError(f"cannot write {path}: {e.strerror}") from None
        return True

    def fetch(self, topic: Topic) -> bool:
        """Copy the stub in if the learner has no copy yet; never overwrite. True if copied."""
        path = self.exercise(topic)
        if path.exists():
            return False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(stub_for(topic), encoding="utf-8")
        except OSError as e:
            raise NnfsError(f"cannot write {path}: {e.strerror}") from None
        return True

    def reset(self, topic: Topic) -> Path | None:
        """Restore the stub; the learner's file is kept in .nnfs/backups/. Returns the backup."""
        path = self.exercise(topic)
        backup = None
        if path.exists():
            backups = self.state_dir / "backups"
            backups.mkdir(exist_ok=True)
            backup = backups / f"{path.stem}-{time.strftime('%Y%m%d-%H%M%S')}{path.suffix}"
            n = 1
            while backup.exists():
                backup = backups / f"{path.stem}-{time.strftime('%Y%m%d-%H%M%S')}-{n}{path.suffix}"
                n += 1
            shutil.copy2(path, backup)
            path.unlink()
        self.fetch(topic)
        return backup


def init_workspace(directory: Path) -> tuple[Workspace, bool]:
    """Create a workspace (idempotent). Returns it and whether it was new."""
    directory = directory.expanduser().resolve()
    if directory.exists() and not directory.is_dir():
        raise NnfsError(f"{directory} exists and is not a folder")
    created = not (directory / STATE).is_dir()
    try:
        (directory / STATE).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise NnfsError(f"cannot create a workspace in {directory}: {e.strerror}") from None
    ws = Workspace(directory)
    ws.store.load()  # creates nothing on disk until the first write, but checks access
    return ws, created


def find_workspace(explicit: Path | None = None, cwd: Path | None = None) -> Workspace:
    """--workspace, then NNFS_WORKSPACE, then the nearest folder upwards holding .nnfs/."""
    if explicit is None and os.environ.get("NNFS_WORKSPACE"):
        explicit = Path(os.environ["NNFS_WORKSPACE"])
    if explicit is not None:
        root = explicit.expanduser().resolve()
        if not (root / STATE).is_dir():
            raise NnfsError(
                f"{root} is not an nnfs workspace: create it with `nnfs init {explicit}`"
            )
        return Workspace(root)
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / STATE).is_dir():
            return Workspace(folder)
    raise NnfsError(
        "no nnfs workspace here or above: create one with `nnfs init [DIR]`, or pass --workspace DIR"
    )
