"""Run a topic's grader against a submission in a child pytest process; return a Result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nnfs_cli.catalog import Topic
from nnfs_cli.errors import NnfsError
from nnfs_cli.grading import prestart
from nnfs_cli.grading.result import Result
from nnfs_cli.sandbox.source import read_submission

RUN_TIMEOUT = 300.0  # whole-run backstop; learner calls have their own, shorter limits

# pytest plugins a grading run never uses; each costs start-up or per-test time (the
# unraisable-exception one runs five full garbage collections at the end of a session)
_PLUGINS_OFF = [
    arg
    for name in (
        "cacheprovider", "faulthandler", "unraisableexception", "threadexception", "logging",
        "doctest", "junitxml", "pastebin", "stepwise", "legacypath", "capture",
    )
    for arg in ("-p", f"no:{name}")
]  # fmt: skip
# numpy's default error handling and print options: a kernel may have changed them before an
# in-process grading, and the grader's reference computations and messages assume these
_NUMPY_ERRSTATE = {"divide": "warn", "over": "warn", "under": "ignore", "invalid": "warn"}
_NUMPY_PRINT = {
    "precision": 8,
    "threshold": 1000,
    "edgeitems": 3,
    "linewidth": 75,
    "suppress": False,
}


def _run_child(args: list[str], cwd: str, timeout: float) -> tuple[int, str]:
    """pytest in a child process (its own session); raises TimeoutExpired after killing it."""
    cmd = [sys.executable, "-m", "pytest", *args, "-q", "--no-header", "--tb=no", "-rN"]
    env = os.environ | {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONHASHSEED": "0"}
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return proc.returncode, output.decode("utf-8", "replace")


def _run_in_process(args: list[str]) -> tuple[int, str]:
    """pytest.main here, silent: its output is kept, nothing reaches this process's streams."""
    import contextlib
    import io
    import warnings

    import numpy as np
    import pytest

    out = io.StringIO()
    saved = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # installed plugins cost start-up
    try:
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(out),
            warnings.catch_warnings(),
            np.errstate(**_NUMPY_ERRSTATE),
            np.printoptions(**_NUMPY_PRINT),
        ):
            warnings.resetwarnings()
            code = int(pytest.main([*args, "-p", "no:terminal"]))
    finally:
        if saved is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = saved
    return code, out.getvalue()


def grade(
    topic: Topic,
    target: Path,
    *,
    parts: tuple[str, ...] = (),
    protect: tuple[Path, ...] = (),
    call_timeout: float = 10.0,
    run_timeout: float = RUN_TIMEOUT,
    exit_first: bool = False,
    in_process: bool = False,
) -> Result:
    """Grade `target` (a .py or .ipynb) with `topic`'s grader. Never raises for learner faults.

    The grader (trusted) runs in a child pytest process, or with `in_process` in this one:
    the learner's code runs in its sandbox worker either way. In-process saves a Python
    start-up per grading (what a notebook kernel pays once per notebook under nbgrader);
    it has no whole-run timeout, so it is for callers with their own (nbgrader's per cell).
    """
    target = Path(target).resolve()
    if not target.is_file():
        raise NnfsError(f"no file to grade at {target}")
    started = time.perf_counter()
    try:
        read_submission(target)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        what = (
            "is not UTF-8 text"
            if isinstance(e, UnicodeDecodeError)
            else f"cannot be read ({type(e).__name__}: {e})"
        )
        if (
            target.suffix == ".ipynb"
            and isinstance(e, ValueError)
            and not isinstance(e, UnicodeDecodeError)
        ):
            what = (
                "is not a valid notebook (its JSON does not parse)"
                if isinstance(e, json.JSONDecodeError)
                else f"is not a valid notebook: {e}"
            )
        return Result(topic.id, str(target), [], 0.0, error=f"{target.name} {what}")
    with tempfile.TemporaryDirectory(prefix="nnfs-grade-") as tmp:
        ini = Path(tmp, "pytest.ini")
        ini.write_text("[pytest]\n", encoding="utf-8")
        result_path = Path(tmp, "result.json")
        args = [
            str(topic.grader_path), "-p", "nnfs_cli.grading.plugin", *_PLUGINS_OFF,
            "-c", str(ini), "--rootdir", tmp, "--import-mode=importlib",
            "-W", "ignore::DeprecationWarning",
            "--nnfs-topic", topic.id, "--nnfs-target", str(target), "--nnfs-result", str(result_path),
            "--nnfs-call-timeout", str(call_timeout),
        ]  # fmt: skip
        if parts:
            args += ["--nnfs-parts", ",".join(parts)]
        if exit_first:  # the audit only needs to know whether anything fails
            args.append("-x")
        for p in protect:
            args += ["--nnfs-protect", str(p)]
        if in_process:
            prestart.prestart(topic, target, tuple(str(p) for p in protect), float(call_timeout))
            try:
                code, output = _run_in_process(args)
            finally:
                prestart.discard()
        else:
            try:
                code, output = _run_child(args, tmp, run_timeout)
            except subprocess.TimeoutExpired:
                return Result(
                    topic.id,
                    str(target),
                    [],
                    time.perf_counter() - started,
                    error=f"grading did not finish within {run_timeout:g} s and was stopped",
                )
        if not result_path.exists() or code not in (0, 1, 5):  # 5: every test deselected
            tail = output.strip().splitlines()[-15:]
            raise NnfsError(
                f"the grader for {topic.id!r} failed to run (exit {code}): " + " | ".join(tail)
            )
        data = json.loads(result_path.read_text(encoding="utf-8"))
    if data["collect_errors"] or not data["tests"]:
        if not data["collect_errors"]:
            if parts:
                raise NnfsError(
                    f"{topic.id} has no checks for part {', '.join(parts)} (parts are the exercise's function names)"
                )
            raise NnfsError(f"the grader for {topic.id!r} ran no checks")
        raise NnfsError(
            f"the grader for {topic.id!r} is broken: {data['collect_errors'][0].strip().splitlines()[-1]}"
        )
    tests = Result.from_json({"topic": topic.id, "tests": data["tests"]}).tests
    return Result(
        topic.id, str(target), tests, time.perf_counter() - started, notes=data.get("notes", []),
        printed=data.get("printed", ""),
    )
