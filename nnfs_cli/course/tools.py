"""nbgrader's programs and a course's settings, found without relying on the shell's PATH.

nbgrader runs `alembic` by name when it creates a gradebook; an instructor who calls
`.venv/bin/nnfs` without activating the venv has no `alembic` on PATH. Every nbgrader
call therefore gets this interpreter's own bin folder first on PATH, and a missing
program is a setup error (exit 2) that says so, never a student's score.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from nnfs_cli.errors import NnfsError

INSTALL = "pip install 'nnfs-lab[instructor]'"


def bin_folder() -> Path:
    # not resolved: a venv's python is a symlink to the base interpreter's
    return Path(sys.executable).parent


def env_with_bin() -> dict[str, str]:
    """This process's environment with the interpreter's bin folder first on PATH."""
    path = os.environ.get("PATH", "")
    return os.environ | {
        "PATH": os.pathsep.join([str(bin_folder()), path] if path else [str(bin_folder())])
    }


def put_bin_on_path() -> None:
    """For nbgrader's Python API in this process (its Gradebook runs `alembic` by name)."""
    os.environ["PATH"] = env_with_bin()["PATH"]


def program(name: str) -> Path:
    exe = bin_folder() / name
    if not exe.exists():
        raise NnfsError(f"setup error: {name} is not installed next to {sys.executable}: {INSTALL}")
    return exe


def nbgrader(course: Path, *args: str, timeout: float = 3600) -> subprocess.CompletedProcess:
    """Run one nbgrader command in the course folder; a failure is a setup error with its reason."""
    program("alembic")
    done = subprocess.run([str(program("nbgrader")), *args], cwd=course, env=env_with_bin(),
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise NnfsError(f"setup error: nbgrader {' '.join(args)} failed: {tail}")
    return done


@dataclass(frozen=True)
class Settings:
    db_url: str
    course_id: str


def _literal_settings(config: Path) -> dict[str, str] | None:
    """`c.CourseDirectory.db_url/course_id = "..."` read without running the file (running it
    imports nbconvert and nbgrader: seconds per command); None if set in any other way."""
    import ast

    found: dict[str, str] = {}
    for node in ast.walk(ast.parse(config.read_text(encoding="utf-8"))):
        targets = node.targets if isinstance(node, ast.Assign) else []
        for t in targets:
            name = ast.unparse(t)
            if name.startswith("c.CourseDirectory.") and name.endswith((".db_url", ".course_id")):
                if not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
                    return None
                found[name.rsplit(".", 1)[1]] = node.value.value
        if isinstance(node, ast.Call) and "CourseDirectory" in ast.unparse(node.func):
            return None  # e.g. c.CourseDirectory.update(...)
    return found


def settings(course: Path, db_url: str | None = None) -> Settings:
    """The gradebook URL (`--db`, else the course's nbgrader_config.py, else SQLite in the course)."""
    config = course / "nbgrader_config.py"
    if not config.exists():
        raise NnfsError(f"{course} is not a course folder: run `nnfs course build {course}` first")
    directory = _literal_settings(config)
    if directory is None:
        try:
            from traitlets.config.loader import PyFileConfigLoader
        except ImportError:
            raise NnfsError(f"setup error: nbgrader is not installed: {INSTALL}") from None
        directory = (
            PyFileConfigLoader(config.name, path=str(course))
            .load_config()
            .get("CourseDirectory", {})
        )
    url = db_url or directory.get("db_url") or f"sqlite:///{(course / 'gradebook.db').resolve()}"
    return Settings(url, directory.get("course_id") or "default_course")
