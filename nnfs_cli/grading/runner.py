"""Run a topic's grader against a submission in a child pytest process; return a Result."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from nnfs_cli.catalog import Topic
from nnfs_cli.errors import NnfsError
from nnfs_cli.grading import prestart, server
from nnfs_cli.grading.result import Result
from nnfs_cli.sandbox.client import clean, temp_folder
from nnfs_cli.sandbox.source import BadNotebook, read_submission

RUN_TIMEOUT = 300.0  # whole-run backstop; learner calls have their own, shorter limits
# The grader's own address-space cap: it unpickles the worker's answers (each at most
# protocol.MAX_FRAME) and, for some topics, imports torch (~0.7 GB of address space).
GRADER_MEMORY_MB = 6144
# Time kept, at the end of the whole-run limit, for the grader to report what it has.
_REPORT_MARGIN = 5.0

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


def _grader_limits() -> None:  # in the grader child, between fork and exec
    cap = GRADER_MEMORY_MB << 20
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def pytest_args(
    topic: Topic, target: Path, tmp: str, *, parts: list[str], protect: list[str],
    call_timeout: float, deadline: float, progress: bool, exit_first: bool,
) -> list[str]:  # fmt: skip
    """pytest's arguments for one grading, run in the empty folder `tmp` (its pytest.ini is written)."""
    ini = Path(tmp, "pytest.ini")
    ini.write_text("[pytest]\n", encoding="utf-8")
    args = [
        str(topic.grader_path), "-p", "nnfs_cli.grading.plugin", *_PLUGINS_OFF,
        "-c", str(ini), "--rootdir", tmp, "--import-mode=importlib",
        "-W", "ignore::DeprecationWarning",
        "--nnfs-topic", topic.id, "--nnfs-target", str(target),
        "--nnfs-call-timeout", str(call_timeout), "--nnfs-deadline", repr(deadline),
    ]  # fmt: skip
    if parts:
        args += ["--nnfs-parts", ",".join(parts)]
    if progress:
        args.append("--nnfs-progress")
    if exit_first:  # the audit only needs to know whether anything fails
        args.append("-x")
    for p in protect:
        args += ["--nnfs-protect", p]
    return args


def child_args(result_fd: int) -> list[str]:
    """What a grading child adds: where its results go, and a quiet terminal."""
    return ["--nnfs-result-fd", str(result_fd), "-q", "--no-header", "--tb=no", "-rN"]


def _child_env() -> dict[str, str]:
    # one BLAS thread, as in the worker: a grader's small products gain nothing from more,
    # and on a busy machine a spinning OpenBLAS pool made a 0.9 s pretraining take 25 s
    threads = {
        k: os.environ.get(k, "1")
        for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    }
    return os.environ | threads | {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONHASHSEED": "0"}


def _run_child(
    args: list[str], cwd: str, timeout: float, on_event: Callable[[dict], None] | None,
    warm_request: dict | None = None,
) -> tuple[int, str, dict | None]:  # fmt: skip
    """pytest in a child process (its own session): (exit code, output, results).

    The results come over a pipe, never through a file a worker could find, as JSON lines:
    progress events while the tests run, then {"event": "result", ...}. Raises
    TimeoutExpired after killing the child. With `warm_request` the child is a fork of the
    warm grader when one is running (else one is started, after this grading, for the next).
    """
    read_end, write_end = os.pipe()
    cmd = [sys.executable, "-m", "pytest", *args, *child_args(write_end)]
    env = _child_env()
    warm_path = server.socket_path(env) if warm_request is not None else None
    try:
        proc = (
            server.submit(warm_path, warm_request | {"env": env}, write_end) if warm_path else None
        )
        if proc is None:
            proc = subprocess.Popen(
                cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, start_new_session=True, pass_fds=(write_end,),
                preexec_fn=_grader_limits,
            )  # fmt: skip
        else:
            warm_path = None  # a server took it: nothing to start afterwards
    finally:
        os.close(write_end)
    deadline = time.monotonic() + timeout
    output, lines, payload = [], b"", None
    streams = {proc.stdout.fileno(): output, read_end: None}
    try:
        while streams:
            left = deadline - time.monotonic()
            ready = select.select(list(streams), [], [], max(left, 0))[0] if left > 0 else []
            if not ready:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise subprocess.TimeoutExpired(cmd, timeout)
            for fd in ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    del streams[fd]
                elif fd != read_end:
                    output.append(chunk)
                else:
                    lines += chunk
                    *done, lines = lines.split(b"\n")
                    for line in done:
                        event = json.loads(line)
                        if event.get("event") == "result":
                            payload = event
                        elif on_event is not None:
                            on_event(event)
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 1))
        except ConnectionError as e:  # an infrastructure fault: never a learner's score
            raise NnfsError(f"{e}; run the check again") from None
    except BaseException:  # Ctrl-C, a timeout: the child (in its own session) goes too
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        raise
    finally:
        os.close(read_end)
        proc.stdout.close()
    if warm_path:
        server.spawn(warm_path, env)
    return proc.returncode, b"".join(output).decode("utf-8", "replace"), payload


def start_warm_grader() -> None:
    """Start the warm grader now if none is running (`nnfs next`: the learner's first check
    is then warm too). Quiet, and nothing changes where it cannot start."""
    if server.enabled():
        env = _child_env()
        path = server.socket_path(env)
        if path and not os.path.exists(path):
            server.spawn(path, env)


def _forget_graders(before: set[str], graders: Path) -> None:
    """Drop the grader modules this grading imported, so the next one imports them afresh.

    Every grader module goes, also one imported before this grading (its state would be
    reused too). A grader may keep module-level state (the optimizers grader caches the learner's
    convergence curves): kept in sys.modules, a second grading in the same process
    (`nnfs watch`, a notebook kernel) saw the first one's results, and a stub scored 4.
    """
    dropped = []
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None)
        # resolving every module's path cost 145 ms per grading with torch loaded (watch's
        # hot path): only paths that name the graders' folder are resolved
        if origin and graders.name in origin and Path(origin).resolve().is_relative_to(graders):
            dropped.append(name)
    for name in set(sys.modules) - before:  # the namespace packages pytest made above them
        if any(d.startswith(name + ".") for d in dropped):
            dropped.append(name)
    for name in dropped:
        sys.modules.pop(name, None)


class _CtrlC:
    """Remembers whether pytest.main swallowed a KeyboardInterrupt."""

    seen = False

    def pytest_keyboard_interrupt(self, excinfo) -> None:
        self.seen = True


def _run_in_process(
    args: list[str], on_event: Callable[[dict], None] | None
) -> tuple[int, str, dict | None]:
    """pytest.main here, silent: its output is kept, nothing reaches this process's streams."""
    import io
    import warnings

    import numpy as np
    import pytest

    from nnfs_cli.grading import plugin

    out = io.StringIO()
    ctrl_c = _CtrlC()
    before, graders = set(sys.modules), Path(args[0]).resolve().parents[1]
    saved = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # installed plugins cost start-up
    plugin.in_process_channel.clear()
    plugin.in_process_channel.update(on_event=on_event, result=None)
    try:
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(out),
            warnings.catch_warnings(),
            np.errstate(**_NUMPY_ERRSTATE),
            np.printoptions(**_NUMPY_PRINT),
        ):
            warnings.resetwarnings()
            code = int(pytest.main([*args, "-p", "no:terminal"], plugins=[ctrl_c]))
    finally:
        if saved is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = saved
        _forget_graders(before, graders)
    payload = plugin.in_process_channel.get("result")
    plugin.in_process_channel.clear()
    if ctrl_c.seen:
        # pytest swallows Ctrl-C (exit 2, as for collection errors); the caller (watch, a
        # kernel) must see the learner's interrupt, not a grader that failed to run
        raise KeyboardInterrupt
    return code, out.getvalue(), payload


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
    warm: bool = False,
    on_progress: Callable[[dict], None] | None = None,
) -> Result:
    """Grade `target` (a .py or .ipynb) with `topic`'s grader. Never raises for learner faults.

    The grader (trusted) runs in a child pytest process, or with `in_process` in this one:
    the learner's code runs in its sandbox worker either way. In-process saves a Python
    start-up per grading (what a notebook kernel pays once per notebook under nbgrader);
    it has no whole-run timeout, so it is for callers with their own (nbgrader's per cell).
    With `warm` the child is forked from the warm grader (`server`), started in the
    background after the first such grading: the same fresh child, without the start-up.

    Calls that hang cost one `call_timeout` each and the other parts are still graded,
    as long as the whole run stays within `run_timeout`. `on_progress` is told, while the
    tests run, {"event": "test", "part", "test", "index", "total"} as each test starts and
    {"event": "call", "call": "relu(array (4, 3) float64)"} as each learner call is made
    (e.g. for a spinner with the current test).
    """
    target = Path(target).resolve()
    if not target.is_file():
        raise NnfsError(f"no file to grade at {target}")
    started = time.perf_counter()
    try:
        read_submission(target)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
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
        if isinstance(e, BadNotebook | RecursionError):
            what = f"is not a valid notebook ({clean(e) if isinstance(e, BadNotebook) else 'nested too deeply'})"
        return Result(topic.id, str(target), [], 0.0, error=f"{target.name} {what}")
    deadline = time.time() + run_timeout - _REPORT_MARGIN
    with temp_folder("grade") as tmp:
        options = {
            "parts": list(parts), "protect": [str(p) for p in protect], "call_timeout": call_timeout,
            "deadline": deadline, "progress": on_progress is not None, "exit_first": exit_first,
        }  # fmt: skip
        args = pytest_args(topic, target, tmp, **options)
        if in_process:
            prestart.prestart(topic, target, tuple(str(p) for p in protect), float(call_timeout))
            try:
                code, output, data = _run_in_process(args, on_progress)
            finally:
                prestart.discard()
        else:
            try:
                warm_request = None
                if warm and server.enabled():
                    warm_request = {"topic": topic.id, "target": str(target), **options}
                code, output, data = _run_child(args, tmp, run_timeout, on_progress, warm_request)
            except subprocess.TimeoutExpired:
                return Result(
                    topic.id,
                    str(target),
                    [],
                    time.perf_counter() - started,
                    error=f"grading did not finish within {run_timeout:g} s and was stopped",
                )
        if data is None or code not in (0, 1, 5):  # 5: every test deselected
            tail = output.strip().splitlines()[-15:]
            raise NnfsError(
                f"the grader for {topic.id!r} failed to run (exit {code}): " + " | ".join(tail)
            )
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
    if data.get("fence_missing") and not in_process:
        _say_once_fence_is_weaker(data["fence_missing"])
    tests = Result.from_json({"topic": topic.id, "tests": data["tests"]}).tests
    return Result(
        topic.id,
        str(target),
        tests,
        time.perf_counter() - started,
        notes=data.get("notes", []),
        printed=data.get("printed", ""),
    )


def _say_once_fence_is_weaker(missing: list[str]) -> None:
    """One line, once per machine (and Python), when the kernel cannot enforce the fence."""
    marker = Path(server.private_cache(), "fence-notice-shown")
    if marker.exists():
        return
    print(
        f"nnfs: this system cannot enforce {', '.join(missing)}; learner code is fenced by a "
        "Python audit hook only, which a determined submission can get around "
        "(`nnfs doctor` shows what is enforced)",
        file=sys.stderr,
    )
    marker.touch()
