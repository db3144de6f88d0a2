"""The grader's side of the sandbox: start the worker, call learner functions, get data.

Every failure of learner code arrives as a `LearnerError` subclass carrying a sentence a
learner can act on; the grading plugin turns it into the test's message.
"""

from __future__ import annotations

import array
import contextlib
import os
import pickle
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nnfs_cli.sandbox.protocol import (
    MAX_FRAME,
    FrameRejected,
    FrameTimeout,
    ProtocolError,
    changed,
    decode,
    loads_untrusted,
    read_raw_frame,
    write_frame,
)
from nnfs_cli.sandbox.source import Submission

_SIGNALS = {signal.SIGSEGV: "a segmentation fault", signal.SIGKILL: "SIGKILL",
            signal.SIGABRT: "an abort", signal.SIGBUS: "a bus error", signal.SIGXCPU: "its CPU-time limit",
            signal.SIGSYS: "a system call the sandbox forbids"}  # fmt: skip


def clean(text: object, limit: int = 2000) -> str:
    """Learner text made safe for a terminal: control characters (ANSI escapes, carriage
    returns, bidi overrides) shown escaped, length capped."""
    text = str(text)[:limit]
    return "".join(
        c if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cf") else repr(c)[1:-1]
        for c in text
    )


def describe_call(name: str, args: tuple, kwargs: dict) -> str:
    """`relu(array (4, 3) float64, alpha=0.1)`: the call that hung, without its data."""

    def one(a: object) -> str:
        if hasattr(a, "shape") and hasattr(a, "dtype"):
            return f"array {tuple(a.shape)} {a.dtype}"
        if isinstance(a, list | tuple | dict):
            return f"{type(a).__name__} of {len(a)}"
        text = repr(a)
        return text if len(text) <= 20 else text[:17] + "..."

    inner = [one(a) for a in args] + [f"{k}={one(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(inner)})"


# Temporary folders are named with the owner's pid, so one killed by `kill -9` is swept
# by the next run (the owner is gone) and never by a run that is still going.
_TMP_NAME = re.compile(r"^nnfs-(scratch|grade)-(\d+)-")


def temp_folder(kind: str) -> tempfile.TemporaryDirectory:
    sweep_temp_folders()
    return tempfile.TemporaryDirectory(prefix=f"nnfs-{kind}-{os.getpid()}-")


def sweep_temp_folders() -> None:
    """Remove the temporary folders of nnfs runs that were killed."""
    try:
        entries = list(os.scandir(tempfile.gettempdir()))
    except OSError:
        return
    for entry in entries:
        m = _TMP_NAME.match(entry.name)
        if not m or int(m.group(2)) == os.getpid():
            continue
        try:
            os.kill(int(m.group(2)), 0)
            continue  # its owner is alive
        except ProcessLookupError:
            pass
        except OSError:
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)


def _trace(raw: object) -> dict | None:
    """The worker's run-time record, checked as the hostile input it may be."""
    if not isinstance(raw, dict):
        return None
    lines, called = raw.get("lines"), raw.get("called")
    if not isinstance(lines, int) or not isinstance(called, list):
        return None
    return {"lines": lines, "called": [clean(c, 200) for c in called[:200] if isinstance(c, str)]}


class LearnerError(Exception):
    """Learner code did not produce a usable result. `str()` is the learner-facing sentence."""

    not_implemented = False


class SubmissionLoadError(LearnerError):
    """The submission itself does not load (syntax error, import error, crash on import)."""


class MissingFunction(LearnerError):
    pass


class LearnerRaised(LearnerError):
    def __init__(
        self, message: str, exc_type: str, forbidden: bool = False, detail: str = ""
    ) -> None:
        super().__init__(message)
        self.exc_type = exc_type
        self.forbidden = forbidden
        self.detail = detail  # the exception's own message
        self.not_implemented = exc_type == "NotImplementedError"


class LearnerTimeout(LearnerError):
    hung = True


class LearnerCrashed(LearnerError):
    pass


def _mutable(obj: object) -> bool:
    """An input a call could change in place (a NumPy scalar has a shape but cannot be)."""
    return isinstance(obj, list | dict | tuple) or type(obj).__name__ == "ndarray"


class BadResult(LearnerError):
    pass


class InputMutated(LearnerError):
    pass


@dataclass
class SandboxConfig:
    forbidden_imports: tuple[str, ...] = ()
    forbidden_calls: tuple[str, ...] = ()  # dotted names that do the exercise's job (catalog)
    protected: tuple[str, ...] = ()  # folders the learner may not open (solutions, graders, .nnfs)
    memory_mb: int = 3072  # address-space cap; NumPy topics need well under 1 GiB
    cpu_seconds: int = 300  # backstop behind the wall-clock timeouts
    call_timeout: float = 10.0
    env: dict[str, str] = field(default_factory=dict)
    deadline: float | None = None  # time.time() by which every call must be answered
    kernel: bool = True  # ask the kernel to enforce the fence (Landlock, seccomp) when it can
    audit_hook: bool = True  # the second layer; tests turn one layer off to prove the other


class _Tail(threading.Thread):
    """Drains a pipe so a chatty learner never blocks, keeping only the last bytes."""

    def __init__(self, fd: int, keep: int = 4096) -> None:
        super().__init__(daemon=True)
        self.fd, self.keep, self.data, self.total = fd, keep, b"", 0
        self.start()

    def run(self) -> None:
        try:
            while chunk := os.read(self.fd, 65536):
                self.total += len(chunk)
                self.data = (self.data + chunk)[-self.keep :]
        except OSError:
            pass
        finally:
            os.close(self.fd)


def _limits(memory_mb: int, cpu_seconds: int):
    def apply() -> None:  # runs in the child between fork and exec
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        try:  # die with the grader, whatever happens to it (Linux only)
            import ctypes

            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except Exception:
            pass

    return apply


_ENV_KEPT = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "SYSTEMROOT")
_FRAME = re.compile(r'File "(?P<file>[^"]*)", line (?P<line>\d+) in (?P<name>\w+)')


@dataclass
class _Worker:
    """A started worker process, before it is given a submission."""

    key: tuple
    proc: subprocess.Popen
    to: int
    from_: int
    dump: int
    tails: tuple[_Tail, _Tail]
    scratch: tempfile.TemporaryDirectory

    def kill(self) -> None:
        for fd in (self.to, self.from_, self.dump):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.scratch.cleanup()


_spare: _Worker | None = None  # started ahead for the next grading (watch: the next save)


def _spawn_key(config: SandboxConfig) -> tuple:
    """What a worker process is started with; the rest comes in its init frame."""
    kept = tuple(sorted((k, v) for k, v in os.environ.items() if k in _ENV_KEPT))
    return config.memory_mb, config.cpu_seconds, tuple(sorted(config.env.items())), kept


def _worker_env(config: SandboxConfig, scratch: str) -> dict[str, str]:
    # a small environment: nothing of the grader's (its paths, NNFS_ or PYTEST_ variables)
    return {k: v for k, v in os.environ.items() if k in _ENV_KEPT} | {
        # one BLAS thread: deterministic sums, small address space, no oversubscription
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
        "HOME": scratch, "TMPDIR": scratch, "MPLCONFIGDIR": scratch,
    } | config.env  # fmt: skip


def _spawn(config: SandboxConfig, scratch_dir: tempfile.TemporaryDirectory) -> _Worker:
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    dump_r, dump_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    scratch = scratch_dir.name
    argv = [sys.executable, "-I", "-m", "nnfs_cli.sandbox.worker"]
    proc = subprocess.Popen(
        [*argv, str(to_child_r), str(from_child_w), str(dump_w)],
        stdin=subprocess.DEVNULL,
        stdout=out_w,
        stderr=err_w,
        pass_fds=(to_child_r, from_child_w, dump_w),
        start_new_session=True,
        preexec_fn=_limits(config.memory_mb, config.cpu_seconds),
        cwd=scratch,
        env=_worker_env(config, scratch),
    )
    for fd in (to_child_r, from_child_w, out_w, err_w, dump_w):
        os.close(fd)
    return _Worker(_spawn_key(config), proc, to_child_w, from_child_r, dump_r,
                   (_Tail(out_r), _Tail(err_r)), scratch_dir)  # fmt: skip


class _Forked:
    """A worker a zygote forked, seen through the part of `Popen` a Sandbox uses.

    The zygote is its parent: it writes "pid N" on the status pipe, then "exit CODE" (a
    negative signal number for a signal, as `Popen.returncode`) once the worker has ended.
    """

    def __init__(self, status_fd: int) -> None:
        self._fd, self._buffer, self.returncode, self._pid = status_fd, b"", None, None

    @property
    def pid(self) -> int:
        """Read when first needed, so a zygote still importing never delays the grader.
        ProcessLookupError (as `os.kill` raises for a process gone) if it never started."""
        if self._pid is None and self.returncode is None:
            # a zygote answers within its own start-up (an `import torch`: seconds, tens
            # of seconds on a loaded machine); past that it is broken
            line = self._line(time.monotonic() + 120) or "exit -9"
            if line.startswith("pid "):
                self._pid = int(line[4:])
            else:
                self._end(line)
        if self._pid is None:
            raise ProcessLookupError("the zygote did not start this worker")
        return self._pid

    def _line(self, deadline: float | None) -> str | None:
        while b"\n" not in self._buffer:
            wait = None if deadline is None else max(deadline - time.monotonic(), 0)
            if not select.select([self._fd], [], [], wait)[0]:
                return None
            chunk = os.read(self._fd, 256)
            if not chunk:  # the zygote itself ended: the worker went with it
                self._buffer += b"\nexit -9\n"
                break
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def _end(self, line: str) -> None:
        self.returncode = int(line[5:]) if line.startswith("exit ") else -9
        os.close(self._fd)  # a worker not yet forked is killed by its zygote when this closes

    def _ended(self, deadline: float | None) -> bool:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.pid  # noqa: B018 - the first line is the pid
        if self.returncode is None:
            line = self._line(deadline)
            if line is None:
                return False
            self._end(line)
        return True

    def poll(self) -> int | None:
        self._ended(time.monotonic())
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended(None if timeout is None else time.monotonic() + timeout):
            raise subprocess.TimeoutExpired("nnfs worker", timeout)
        return self.returncode


class Zygote:
    """A process that has imported what a worker imports and forks one per request (`zygote.py`).

    A long-lived caller (the warm grader, the test suite) keeps one per kind of worker: a
    grading's worker then starts in milliseconds instead of a Python start-up and an
    `import torch`. Its children are fenced exactly as a spawned worker is.
    """

    def __init__(self, torch: bool, config: SandboxConfig) -> None:
        self._home = temp_folder("scratch")
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv = [sys.executable, "-I", "-m", "nnfs_cli.sandbox.zygote", str(theirs.fileno())]
        self.proc = subprocess.Popen(
            argv + (["torch"] if torch else []),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(theirs.fileno(),),
            start_new_session=True,
            cwd=self._home.name,
            env=_worker_env(config, self._home.name),
        )
        theirs.close()
        self._control, self._owner, self._ready = mine, os.getpid(), False

    def ready(self, timeout: float = 0.0) -> bool:
        """Whether its imports are done (it says "ready" once); until then workers are spawned.

        Only the process that started it listens: one forked from it (a warm grader's
        grading) inherits what it knew when it forked.
        """
        if not self._ready and os.getpid() == self._owner:
            if select.select([self._control], [], [], timeout)[0]:
                with contextlib.suppress(OSError):
                    self._ready = self._control.recv(16) == b"ready"
        return self._ready

    def alive(self) -> bool:
        # a process forked from the owner (the warm grader's gradings) shares the zygote
        # but is not its parent, so cannot poll it: a zygote gone shows as a refused request
        return os.getpid() != self._owner or self.proc.poll() is None

    def fork(self, config: SandboxConfig, scratch_dir: tempfile.TemporaryDirectory) -> _Worker:
        """A worker for `config`, or OSError when this zygote cannot give one."""
        from nnfs_cli.sandbox import zygote

        pipes = [os.pipe() for _ in zygote.FDS]
        (to_r, to_w), (from_r, from_w), (dump_r, dump_w), (out_r, out_w), (err_r, err_w), (
            status_r, status_w) = pipes  # fmt: skip
        scratch = scratch_dir.name
        request = {"memory_mb": config.memory_mb, "cpu_seconds": config.cpu_seconds,
                   "cwd": scratch, "env": _worker_env(config, scratch)}  # fmt: skip
        theirs = [to_r, from_w, dump_w, out_w, err_w, status_w]
        try:
            self._control.sendmsg(
                [pickle.dumps(request)],
                [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", theirs))],
            )
        except OSError:
            for fd in (to_w, from_r, dump_r, out_r, err_r, status_r):
                os.close(fd)
            raise
        finally:
            for fd in theirs:
                os.close(fd)
        proc = _Forked(status_r)
        return _Worker(_spawn_key(config), proc, to_w, from_r, dump_r, (_Tail(out_r), _Tail(err_r)),
                       scratch_dir)  # fmt: skip

    def close(self) -> None:
        self._control.close()  # the zygote ends, and with it any worker it still has
        if os.getpid() != self._owner:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._home.cleanup()


_zygotes: dict[tuple, Zygote] = {}


def _zygote_key(config: SandboxConfig) -> tuple:
    """What a zygote is started with: whether it preloads torch, and the environment its
    imports read. Limits and folders come with each request."""
    # torch is never preloaded where it is forbidden: a module already loaded is imported
    # without the import event the audit hook refuses
    kept = tuple(sorted((k, v) for k, v in os.environ.items() if k in _ENV_KEPT))
    return "torch" not in config.forbidden_imports, tuple(sorted(config.env.items())), kept


def keep_zygotes(*configs: SandboxConfig, wait: float = 0.0) -> list[Zygote]:
    """Start a zygote for each kind of worker these configurations need, if none is running;
    `wait` up to that many seconds for each to be ready.

    For a long-lived caller that grades many times. Every later Sandbox whose configuration
    matches a ready one forks its worker from it; the others start a worker as before.
    """
    kept = []
    for config in configs or (SandboxConfig(forbidden_imports=("torch",)), SandboxConfig()):
        key = _zygote_key(config)
        if key not in _zygotes or not _zygotes[key].alive():
            _zygotes[key] = Zygote(key[0], config)
        kept.append(_zygotes[key])
    for zygote in kept if wait else ():
        zygote.ready(timeout=wait)
    return kept


def stop_zygotes() -> None:
    while _zygotes:
        _zygotes.popitem()[1].close()


def _from_zygote(config: SandboxConfig, scratch_dir: tempfile.TemporaryDirectory) -> _Worker | None:
    zygote = _zygotes.get(_zygote_key(config))
    if zygote is None or not zygote.alive() or not zygote.ready():
        return None
    try:
        return zygote.fork(config, scratch_dir)
    except OSError:  # it ended, or would not answer: this worker starts on its own
        return None


def keep_spare(config: SandboxConfig | None = None) -> None:
    """Start a worker now for the next Sandbox with this configuration to take.

    For a long-lived caller between gradings (`nnfs watch` waiting for a save): the next
    grading skips the worker's Python and NumPy start-up. A spare nobody takes ends when
    this process does (its channel closes).
    """
    global _spare
    config = config or SandboxConfig()
    if _spare is not None and (_spare.proc.poll() is not None or _spare.key != _spawn_key(config)):
        _spare.kill()
        _spare = None
    if _spare is None:
        _spare = _spawn(config, temp_folder("scratch"))


class Sandbox:
    """One worker process at a time, restarted after a crash or a timeout."""

    def __init__(self, submission: Submission, module_name: str, config: SandboxConfig) -> None:
        self.submission = submission
        self.module_name = module_name
        self.config = config
        self.proc: subprocess.Popen | None = None
        self.functions: list[str] = []
        self.load_error: SubmissionLoadError | None = None
        self._loaded = False
        self._hung: dict[str, str] = {}  # function -> the message of its first timeout
        self._scratch = temp_folder("scratch")
        self.output_bytes = 0
        self.fence_missing: list[str] | None = None  # what the kernel could not enforce
        self.on_call: Callable[[str], None] | None = None  # told each call, e.g. for a spinner
        self.load_notes: list[str] = []  # notebook cells that raised, said once per grading
        self.printed_at_load = ""  # what the top level printed
        self.printed: list[tuple[str, str]] = []  # (function, what it printed) per call
        self.last_trace: dict | None = None  # what the last traced call did (see call)

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker without waiting for it (its start-up overlaps the grader's).

        A spare worker started ahead for this configuration (`keep_spare`) is taken instead:
        it has loaded Python and NumPy already and is waiting for its submission.
        """
        global _spare
        if self.proc is not None or self.load_error is not None:
            return
        spare, _spare = _spare, None
        if spare is not None and spare.key == _spawn_key(self.config) and spare.proc.poll() is None:
            self._scratch.cleanup()
            self._scratch = spare.scratch
            worker = spare
        else:
            if spare is not None:
                spare.kill()
            worker = _from_zygote(self.config, self._scratch) or _spawn(self.config, self._scratch)
        self.proc, self._tails = worker.proc, worker.tails
        self._to, self._from, self._dump = worker.to, worker.from_, worker.dump
        scratch = self._scratch.name
        self._loaded = False
        write_frame(
            self._to,
            {
                "source": self.submission.source,
                "filename": str(self.submission.path),
                "cells": list(self.submission.cells),
                "module_name": self.module_name,
                "forbidden_imports": list(self.config.forbidden_imports),
                "forbidden_calls": list(self.config.forbidden_calls),
                "protected": [str(p) for p in self.config.protected],
                "scratch": scratch,
                "kernel": self.config.kernel,
                "audit_hook": self.config.audit_hook,
            },
        )

    def stop(self) -> None:
        """Kill the worker and everything it started (its own process group)."""
        if self.proc is None:
            return
        for fd in (self._to, self._from, self._dump):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        for t in self._tails:
            t.join(timeout=1)
        self.output_bytes += sum(t.total for t in self._tails)
        self.proc = None
        # what the learner's code left in its scratch folder does not carry over
        for entry in Path(self._scratch.name).iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    def close(self) -> None:
        self.stop()
        self._scratch.cleanup()

    # -- receiving --------------------------------------------------------------------
    def _death(self, doing: str) -> LearnerError:
        """Explain why the worker is gone, then forget it."""
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        stderr = self._tails[1].data.decode("utf-8", "replace").strip().splitlines()
        self.stop()
        if code is not None and code < 0:
            what = _SIGNALS.get(-code, f"signal {-code}")
            if -code == signal.SIGKILL and stderr[-1:] == []:
                what += " (often: more memory than the exercise allows)"
            return LearnerCrashed(
                f"the Python process running your code died from {what} while {doing}"
            )
        if stderr and "MemoryError" in stderr[-1]:
            return LearnerCrashed(
                f"your code ran out of memory (limit {self.config.memory_mb} MiB) while {doing}"
            )
        return LearnerCrashed(
            f"your code ended the Python process (exit code {code}, e.g. os._exit) while {doing}"
        )

    def _stuck_at(self) -> str:
        """Where the learner's code is stuck, asked of the worker itself (a faulthandler dump)."""
        try:
            os.kill(self.proc.pid, signal.SIGUSR1)
        except OSError:
            return ""
        dump, deadline = b"", time.monotonic() + 0.5
        while time.monotonic() < deadline and b"\n\n" not in dump[-4:]:
            if not select.select([self._dump], [], [], max(deadline - time.monotonic(), 0))[0]:
                break
            chunk = os.read(self._dump, 65536)
            if not chunk:
                break
            dump += chunk
        mine = str(self.submission.path)
        frames = [
            m for m in _FRAME.finditer(dump.decode("utf-8", "replace")) if m.group("file") == mine
        ]  # innermost first
        if not frames:
            return ""
        line = int(frames[0].group("line"))
        chain = " <- ".join(f"`{m.group('name')}`" for m in frames[:4])
        return f": it was running {self.submission.where(line)} in {chain}"

    def _receive(self, timeout: float, doing: str, hang: str = "") -> dict:
        """The worker's next reply; `hang` is the call to name if none comes in time."""
        assert self.proc is not None
        try:
            raw = read_raw_frame(self._from, time.monotonic() + timeout, MAX_FRAME)
        except FrameTimeout:
            where = self._stuck_at()
            self.stop()
            what = f"from {hang}" if hang else f"while {doing}"
            raise LearnerTimeout(
                f"no answer within {timeout:g} s {what}{where} (an endless loop, or far too slow?)"
            ) from None
        except FrameRejected as e:
            self.stop()
            raise BadResult(f"{e} while {doing}") from None
        except ProtocolError:
            raise self._death(doing) from None
        try:
            reply = loads_untrusted(raw)
            if not isinstance(reply, dict) or "status" not in reply:
                raise FrameRejected("not a reply")
            if "result" in reply:
                reply["result"] = decode(reply["result"])
            if "after" in reply:
                reply["after"] = decode(reply["after"])
        except Exception as e:  # a forged or unreadable frame
            self.stop()
            detail = str(e) if isinstance(e, FrameRejected) else type(e).__name__
            raise BadResult(
                f"the answer from your code could not be read ({clean(detail)}) while {doing}"
            ) from None
        return reply

    def _ensure_loaded(self) -> None:
        if self.load_error is not None:
            raise self.load_error
        if self.proc is not None and self.proc.poll() is not None:
            self.stop()  # died between calls (a thread of the submission, a signal): restart
        if self.proc is None:
            self.start()
        if self._loaded:
            return
        where = self.submission.path.name
        # Python and NumPy start-up on a loaded machine, then the module's own top level
        load_timeout = max(10.0, self.config.call_timeout + 5.0)
        if self.config.forbidden_calls or "torch" not in self.config.forbidden_imports:
            # the worker (or the learner's code) imports torch before the first call: 2 s on
            # an idle machine, 15-35 s on a loaded one (a worker forked from a zygote has it)
            load_timeout += 30.0
        try:
            status = self._receive(load_timeout, f"importing {where}")
        except LearnerTimeout:
            self.load_error = SubmissionLoadError(
                f"{where} did not finish importing within {load_timeout:g} s: is there a loop at the top level?"
            )
            raise self.load_error from None
        except LearnerError as e:
            self.load_error = SubmissionLoadError(f"{where} does not import: {e}")
            raise self.load_error from None
        self.fence_missing = list(status.get("fence_missing") or [])
        if status["status"] == "ok":
            self.functions = [clean(f, 200) for f in status["functions"]]
            self.load_notes = [self._cell_failure(n) for n in status.get("notes") or []]
            self.printed_at_load = status.get("printed") or ""
            self._loaded = True
            return
        at = self.submission.where(status.get("line", 0))
        self.printed_at_load = status.get("printed") or ""
        if status["status"] == "syntax":
            msg = f"{where} has a syntax error at {at}: {clean(status['message'])}"
        else:
            msg = f"{where} does not import: {clean(status['type'], 200)} at {at}: {clean(status['message'])}"
        self.stop()
        self.load_error = SubmissionLoadError(msg)
        raise self.load_error

    def _budget(self, timeout: float, call: str) -> float:
        """The call's own limit, cut to what the whole run has left."""
        if self.config.deadline is None:
            return timeout
        left = self.config.deadline - time.time()
        if left < 1.0:
            raise LearnerTimeout(
                f"{call} was not run: earlier calls that hung used up the whole check's time"
            )
        return min(timeout, left)

    def _cell_failure(self, note: dict) -> str:
        """'cell 3 raised NameError at line 2: ...' for a notebook cell that did not run."""
        cell, _, line = self.submission.where(note.get("line", 0)).partition(", ")
        what = (
            "has a syntax error"
            if note.get("type") == "SyntaxError"
            else f"raised {note.get('type')}"
        )
        return f"{cell} {what} at {line}: {note.get('message')}; the other cells ran"

    # -- calling ----------------------------------------------------------------------
    def call(
        self,
        name: str,
        args: tuple = (),
        kwargs: dict | None = None,
        timeout: float | None = None,
        trace: bool = False,
    ):
        """Call learner function `name` on (pickled copies of) args; return its result.

        With `trace`, `self.last_trace` is then what the call did at run time: {"lines": lines
        of the submission it ran, "called": library routines it called directly}.
        """
        kwargs = kwargs or {}
        timeout = timeout or self.config.call_timeout
        if name in self._hung:
            # one strike: a hang costs one timeout, and its message is given once
            raise LearnerTimeout(
                f"`{name}` hung earlier in this check (see above), so it was not called again"
            )
        self._ensure_loaded()
        if name not in self.functions:
            # the cell that should have defined it may have stopped early
            stopped = f"; {self.load_notes[0]}" if self.load_notes else ""
            raise MissingFunction(
                f"your file has no function `{name}` (found: {', '.join(self.functions) or 'none'}){stopped}"
            )
        shown = describe_call(name, args, kwargs)
        timeout = self._budget(timeout, shown)
        if self.on_call is not None:
            self.on_call(shown)
        doing = f"running `{name}`"
        try:
            write_frame(self._to, {"name": name, "args": tuple(args), "kwargs": kwargs,
                                   **({"trace": True} if trace else {})})  # fmt: skip
        except OSError:  # the worker died while we were writing
            raise self._death(doing) from None
        started = time.perf_counter()
        try:
            reply = self._receive(timeout, doing, hang=shown)
        except LearnerTimeout as e:
            self._hung[name] = str(e)
            raise
        self.last_call_seconds = time.perf_counter() - started
        self.last_trace = _trace(reply.get("trace")) if trace else None
        if reply.get("printed"):
            self.printed.append((name, str(reply["printed"])))
        status = reply["status"]
        if status == "ok":
            mutated = self._mutated(args, kwargs, reply.get("after"))
            if mutated or reply.get("mutated"):
                # the verdict is the grader's own comparison; the worker's report only lends
                # the learner's parameter names ("z" rather than "argument 1") when it agrees
                named = [clean(m, 100) for m in reply.get("mutated") or []]
                what = named if named and (len(named) == len(mutated) or not mutated) else mutated
                raise InputMutated(
                    f"`{name}` modified its input in place ({', '.join(what)}); "
                    "work on a copy (e.g. x = x.copy()) or build a new array"
                )
            return reply["result"]
        if status == "missing":
            raise MissingFunction(f"your file has no function `{name}`")
        if status == "badresult":
            raise BadResult(f"`{name}` {clean(reply['message'])}")
        if status == "raised":
            return self._raised(name, reply)
        raise BadResult(f"unexpected answer from the worker while {doing}")

    @staticmethod
    def _mutated(args: tuple, kwargs: dict, after: object) -> list[str]:
        """The inputs the call changed, compared here where the submission cannot reach."""
        names = [f"argument {i + 1}" for i in range(len(args))] + list(kwargs)
        before = list(args) + list(kwargs.values())
        if not isinstance(after, list) or len(after) != len(before):
            return ["its inputs"] if any(_mutable(b) for b in before) else []
        return [n for n, b, a in zip(names, before, after) if _mutable(b) and changed(b, a)]

    def _raised(self, name: str, reply: dict):
        frames = reply.get("frames") or []
        kind = clean(reply.get("type"), 200)
        at = chain = ""
        if frames:
            line, _, code = frames[-1][:3]
            at = f" at {self.submission.where(int(line))} (`{clean(code, 300)}`)"
        if len(frames) > 1:  # the learner's own call chain, caller first
            chain = "\nyour calls, caller first:" + "".join(
                f"\n  {self.submission.where(int(f[0]))}, in {clean(f[1], 100)}: {clean(f[2], 300)}"
                for f in frames
            )
        if kind == "NotImplementedError":
            raise LearnerRaised(
                f"`{name}` is not implemented yet (it raises NotImplementedError)",
                "NotImplementedError",
            )
        if kind == "SystemExit":
            raise LearnerRaised(
                f"`{name}` called sys.exit(){at}: a function should return its result",
                "SystemExit",
            )
        if kind == "RecursionError":
            raise LearnerRaised(
                f"`{name}` recursed too deeply{at}: is there a missing base case?",
                "RecursionError",
            )
        if kind == "MemoryError":
            raise LearnerRaised(
                f"`{name}` used more memory than allowed ({self.config.memory_mb} MiB){at}",
                "MemoryError",
            )
        message = clean(reply.get("message"))
        raise LearnerRaised(
            f"`{name}` raised {kind}{at}: {message}{chain}",
            kind,
            bool(reply.get("forbidden")),
            message,
        )
