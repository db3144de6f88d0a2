"""The grader's side of the sandbox: start the worker, call learner functions, get data.

Every failure of learner code arrives as a `LearnerError` subclass carrying a sentence a
learner can act on; the grading plugin turns it into the test's message.
"""

from __future__ import annotations

import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

from nnfs_cli.sandbox.protocol import ProtocolError, loads_untrusted, read_raw_frame, write_frame
from nnfs_cli.sandbox.source import Submission

_SIGNALS = {signal.SIGSEGV: "a segmentation fault", signal.SIGKILL: "SIGKILL",
            signal.SIGABRT: "an abort", signal.SIGBUS: "a bus error", signal.SIGXCPU: "its CPU-time limit"}  # fmt: skip


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
    pass


class LearnerCrashed(LearnerError):
    pass


class BadResult(LearnerError):
    pass


class InputMutated(LearnerError):
    pass


@dataclass
class SandboxConfig:
    forbidden_imports: tuple[str, ...] = ()
    protected: tuple[str, ...] = ()  # folders the learner may not open (solutions, graders, .nnfs)
    memory_mb: int = 3072  # address-space cap; NumPy topics need well under 1 GiB
    cpu_seconds: int = 300  # backstop behind the wall-clock timeouts
    call_timeout: float = 10.0
    env: dict[str, str] = field(default_factory=dict)


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
        self._timeouts: dict[str, int] = {}
        self._scratch = tempfile.TemporaryDirectory(prefix="nnfs-scratch-")
        self.output_bytes = 0
        self.load_notes: list[str] = []  # notebook cells that raised, said once per grading
        self.printed_at_load = ""  # what the top level printed
        self.printed: list[tuple[str, str]] = []  # (function, what it printed) per call

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker without waiting for it (its start-up overlaps the grader's)."""
        if self.proc is not None or self.load_error is not None:
            return
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("NNFS_", "PYTEST_"))
        } | {
            # one BLAS thread: deterministic sums, small address space, no oversubscription
            "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
        } | self.config.env  # fmt: skip
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nnfs_cli.sandbox.worker", str(to_child_r), str(from_child_w)],
            stdin=subprocess.DEVNULL,
            stdout=out_w,
            stderr=err_w,
            pass_fds=(to_child_r, from_child_w),
            start_new_session=True,
            preexec_fn=_limits(self.config.memory_mb, self.config.cpu_seconds),
            cwd=self._scratch.name,
            env=env,
        )
        for fd in (to_child_r, from_child_w, out_w, err_w):
            os.close(fd)
        self._to, self._from = to_child_w, from_child_r
        self._tails = (_Tail(out_r), _Tail(err_r))
        self._loaded = False
        write_frame(
            self._to,
            {
                "source": self.submission.source,
                "filename": str(self.submission.path),
                "cells": list(self.submission.cells),
                "module_name": self.module_name,
                "forbidden_imports": list(self.config.forbidden_imports),
                "protected": [str(p) for p in self.config.protected],
                "scratch": self._scratch.name,
            },
        )

    def stop(self) -> None:
        """Kill the worker and everything it started (its own process group)."""
        if self.proc is None:
            return
        for fd in (self._to, self._from):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        self.output_bytes += sum(t.total for t in self._tails)
        self.proc = None

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

    def _receive(self, timeout: float, doing: str) -> dict:
        assert self.proc is not None
        ready, _, _ = select.select([self._from], [], [], timeout)
        if not ready:
            self.stop()
            raise LearnerTimeout(
                f"no answer within {timeout:g} s while {doing} (an endless loop, or far too slow?)"
            )
        try:
            reply = loads_untrusted(read_raw_frame(self._from))
        except ProtocolError:
            raise self._death(doing) from None
        except Exception as e:  # a forged or unreadable frame
            self.stop()
            raise BadResult(
                f"the answer from your code could not be read ({type(e).__name__}) while {doing}"
            ) from None
        if not isinstance(reply, dict) or "status" not in reply:
            self.stop()
            raise BadResult(f"the answer from your code could not be read while {doing}")
        return reply

    def _ensure_loaded(self) -> None:
        if self.load_error is not None:
            raise self.load_error
        if self.proc is None:
            self.start()
        if self._loaded:
            return
        where = self.submission.path.name
        # importing numpy (and torch, in later phases) under load takes a few seconds
        load_timeout = max(10.0, 2 * self.config.call_timeout)
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
        if status["status"] == "ok":
            self.functions = list(status["functions"])
            self.load_notes = [self._cell_failure(n) for n in status.get("notes") or []]
            self.printed_at_load = status.get("printed") or ""
            self._loaded = True
            return
        at = self.submission.where(status.get("line", 0))
        self.printed_at_load = status.get("printed") or ""
        if status["status"] == "syntax":
            msg = f"{where} has a syntax error at {at}: {status['message']}"
        else:
            msg = f"{where} does not import: {status['type']} at {at}: {status['message']}"
        self.stop()
        self.load_error = SubmissionLoadError(msg)
        raise self.load_error

    def _cell_failure(self, note: dict) -> str:
        """'cell 3 raised NameError at line 2: ...' for a notebook cell that did not run."""
        cell, _, line = self.submission.where(note.get("line", 0)).partition(", ")
        what = "has a syntax error" if note.get("type") == "SyntaxError" else f"raised {note.get('type')}"
        return f"{cell} {what} at {line}: {note.get('message')}; the other cells ran"

    # -- calling ----------------------------------------------------------------------
    def call(
        self, name: str, args: tuple = (), kwargs: dict | None = None, timeout: float | None = None
    ):
        """Call learner function `name` on (pickled copies of) args; return its result."""
        timeout = timeout or self.config.call_timeout
        if self._timeouts.get(name, 0) >= 1:
            # one strike: a hang costs one timeout, not one per test
            raise LearnerTimeout(
                f"`{name}` did not return in time earlier in this check, so nnfs no longer waits for it"
            )
        self._ensure_loaded()
        if name not in self.functions:
            # the cell that should have defined it may have stopped early
            stopped = f"; {self.load_notes[0]}" if self.load_notes else ""
            raise MissingFunction(
                f"your file has no function `{name}` (found: {', '.join(self.functions) or 'none'}){stopped}"
            )
        doing = f"running `{name}`"
        write_frame(self._to, {"name": name, "args": tuple(args), "kwargs": kwargs or {}})
        started = time.perf_counter()
        try:
            reply = self._receive(timeout, doing)
        except LearnerTimeout:
            self._timeouts[name] = self._timeouts.get(name, 0) + 1
            raise
        self.last_call_seconds = time.perf_counter() - started
        if reply.get("printed"):
            self.printed.append((name, str(reply["printed"])))
        status = reply["status"]
        if status == "ok":
            if reply.get("mutated"):
                raise InputMutated(
                    f"`{name}` modified its input in place ({', '.join(reply['mutated'])}); "
                    "work on a copy (e.g. x = x.copy()) or build a new array"
                )
            return reply["result"]
        if status == "missing":
            raise MissingFunction(f"your file has no function `{name}`")
        if status == "badresult":
            raise BadResult(f"`{name}` {reply['message']}")
        if status == "raised":
            frames = reply.get("frames") or []
            at = f" at {self.submission.where(frames[-1][0])} (`{frames[-1][2]}`)" if frames else ""
            chain = ""
            if len(frames) > 1:  # the learner's own call chain, caller first
                chain = "\nyour calls, caller first:" + "".join(
                    f"\n  {self.submission.where(line)}, in {fn}: {code}" for line, fn, code in frames
                )
            if reply["type"] == "NotImplementedError":
                raise LearnerRaised(
                    f"`{name}` is not implemented yet (it raises NotImplementedError)",
                    "NotImplementedError",
                )
            if reply["type"] == "SystemExit":
                raise LearnerRaised(
                    f"`{name}` called sys.exit(){at}: a function should return its result",
                    "SystemExit",
                )
            if reply["type"] == "RecursionError":
                raise LearnerRaised(
                    f"`{name}` recursed too deeply{at}: is there a missing base case?",
                    "RecursionError",
                )
            if reply["type"] == "MemoryError":
                raise LearnerRaised(
                    f"`{name}` used more memory than allowed ({self.config.memory_mb} MiB){at}",
                    "MemoryError",
                )
            raise LearnerRaised(
                f"`{name}` raised {reply['type']}{at}: {reply['message']}{chain}",
                reply["type"],
                reply.get("forbidden", False),
                str(reply["message"]),
            )
        raise BadResult(f"unexpected answer from the worker while {doing}")
