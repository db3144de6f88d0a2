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
from nnfs_cli.grading.result import Result
from nnfs_cli.sandbox.source import read_submission

RUN_TIMEOUT = 300.0  # whole-run backstop; learner calls have their own, shorter limits


def grade(
    topic: Topic,
    target: Path,
    *,
    parts: tuple[str, ...] = (),
    protect: tuple[Path, ...] = (),
    call_timeout: float = 10.0,
    run_timeout: float = RUN_TIMEOUT,
    exit_first: bool = False,
) -> Result:
    """Grade `target` (a .py or .ipynb) with `topic`'s grader. Never raises for learner faults."""
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
            what = "is not a valid notebook (its JSON does not parse)"
        return Result(topic.id, str(target), [], 0.0, error=f"{target.name} {what}")
    with tempfile.TemporaryDirectory(prefix="nnfs-grade-") as tmp:
        ini = Path(tmp, "pytest.ini")
        ini.write_text("[pytest]\n", encoding="utf-8")
        result_path = Path(tmp, "result.json")
        cmd = [
            sys.executable, "-m", "pytest", str(topic.grader_path),
            "-p", "nnfs_cli.grading.plugin", "-p", "no:cacheprovider",
            "-c", str(ini), "--rootdir", tmp, "-q", "--no-header", "--tb=no", "-rN",
            "-W", "ignore::DeprecationWarning",
            "--nnfs-topic", topic.id, "--nnfs-target", str(target), "--nnfs-result", str(result_path),
            "--nnfs-call-timeout", str(call_timeout),
        ]  # fmt: skip
        if parts:
            cmd += ["--nnfs-parts", ",".join(parts)]
        if exit_first:  # the audit only needs to know whether anything fails
            cmd.append("-x")
        for p in protect:
            cmd += ["--nnfs-protect", str(p)]
        env = os.environ | {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONHASHSEED": "0"}
        proc = subprocess.Popen(
            cmd, cwd=tmp, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            output, _ = proc.communicate(timeout=run_timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return Result(
                topic.id,
                str(target),
                [],
                time.perf_counter() - started,
                error=f"grading did not finish within {run_timeout:g} s and was stopped",
            )
        if not result_path.exists() or proc.returncode not in (0, 1, 5):  # 5: every test deselected
            tail = output.decode("utf-8", "replace").strip().splitlines()[-15:]
            raise NnfsError(
                f"the grader for {topic.id!r} failed to run (exit {proc.returncode}): "
                + " | ".join(tail)
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
    return Result(topic.id, str(target), tests, time.perf_counter() - started)
