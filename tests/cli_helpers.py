"""Running the real CLI in tests: Typer's CliRunner in process, or the installed `nnfs`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from nnfs_cli.cli import app

runner = CliRunner()


def nnfs(*args: str, env: dict | None = None, cwd: Path | None = None):
    """Invoke the CLI in process; returns Typer's Result (exit_code, stdout, stderr)."""
    old = Path.cwd()
    if cwd:
        os.chdir(cwd)
    try:
        return runner.invoke(
            app,
            list(args),
            env={"NO_COLOR": "1", "COLUMNS": "120", **(env or {})},
            catch_exceptions=False,
        )
    finally:
        os.chdir(old)


def nnfs_process(
    *args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 120
):
    """Run the installed console script (or `python -m nnfs_cli`) in a real child process."""
    exe = shutil.which("nnfs")
    cmd = [exe, *args] if exe else [sys.executable, "-m", "nnfs_cli", *args]
    return subprocess.run(cmd, cwd=cwd, env=os.environ | {"NO_COLOR": "1", **(env or {})},
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def json_out(result) -> object:
    return json.loads(result.stdout)


def write_learner_file(ws: Path, topic, source: str) -> Path:
    path = ws / topic.relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    return path
