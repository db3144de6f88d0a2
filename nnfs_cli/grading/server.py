"""A warm grader: one process that has imported pytest, NumPy and torch, and forks a child per grading.

A grading child started from scratch pays Python's, pytest's and (for most topics) torch's
start-up every time: 3 s of a 4 s `nnfs check` on a slow machine. The server pays them once;
each grading is a fork of it, so the grader still runs in a fresh process of its own
(nothing one grading leaves in memory reaches the next), only without the start-up.

- It listens on a Unix socket in nnfs's private cache (mode 0700), named by a stamp of the
  interpreter, nnfs's own files and the installed packages: a changed install or an edited
  nnfs never meets an old server. It exits after `IDLE` seconds without work.
- A request names a grading (topic, target, options), never pytest arguments or a folder:
  whatever reaches the socket can only ask for what `nnfs check` does. (Learner code cannot
  reach it anyway: its worker may not make sockets.)
- The client sends the write ends of its two pipes (the child's output, the result stream)
  with SCM_RIGHTS, so it reads a grading from the server exactly as from a child of its own,
  gets the child's pid to stop it, and its exit status when it ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import select
import signal
import socket
import sys
import sysconfig
import time
from pathlib import Path

# seconds without a grading before the server exits: longer than a learner usually edits
# between two checks (after it, the next check starts cold: ~0.5 s more on a NumPy topic)
IDLE = 1800.0
ENV_SWITCH = "NNFS_WARM_GRADER"  # "0" turns the warm grader off (the test suite does)
# variables read once at import (BLAS threads, hash seed, paths): part of the server's stamp
_ENV_AT_IMPORT = ("PYTHONHASHSEED", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                  "PYTHONPATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")  # fmt: skip


def enabled() -> bool:
    return os.environ.get(ENV_SWITCH, "1") != "0" and sys.platform == "linux"


def private_cache() -> str:
    """nnfs's own cache folder (mode 0700), which the fenced worker is granted nothing of."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(base, "nnfs", f"py{sys.version_info[0]}{sys.version_info[1]}")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def socket_path(env: dict[str, str]) -> str | None:
    """Where the server for this interpreter, this nnfs and these packages listens.

    None when the cache folder's path is too long for a Unix socket (about 107 bytes), or
    cannot be made: the grading then runs cold, as without the warm grader.
    """
    try:
        return _socket_path(env)
    except OSError:
        return None


def install_stamp(env: dict[str, str]) -> str:
    """A digest of this interpreter, nnfs's own files, the installed packages and the
    environment read at import: what a process forked or remembered from must share."""
    package = Path(__file__).resolve().parents[1]
    stamp = hashlib.sha256()
    stamp.update(sys.executable.encode())
    for path in sorted(package.rglob("*")):  # nnfs's code and catalog, as loaded by the server
        if path.suffix in (".py", ".toml"):
            st = path.stat()
            stamp.update(f"{path}:{st.st_mtime_ns}:{st.st_size}".encode())
    for key in ("purelib", "platlib"):  # an install or removal changes the folder's mtime
        stamp.update(str(os.stat(sysconfig.get_paths()[key]).st_mtime_ns).encode())
    stamp.update(json.dumps([env.get(k) for k in _ENV_AT_IMPORT]).encode())
    return stamp.hexdigest()[:16]


def _socket_path(env: dict[str, str]) -> str | None:
    path = os.path.join(private_cache(), f"grader-{install_stamp(env)}.sock")
    return path if len(path.encode()) < 100 else None


# -- client ----------------------------------------------------------------------------------


class Remote:
    """A grading child of the server, shaped like the parts of a Popen the runner uses."""

    def __init__(self, conn: socket.socket, pid: int, stdout_fd: int) -> None:
        self.conn, self.pid, self.returncode = conn, pid, None
        self.stdout = os.fdopen(stdout_fd, "rb", buffering=0)
        self._buffer = b""

    def wait(self, timeout: float | None = None) -> int:
        """The child's exit status (-N: killed by signal N); raises ConnectionError if the server is gone."""
        if self.returncode is not None:
            return self.returncode
        self.conn.settimeout(timeout)
        try:
            message = _read_line(self.conn, self._buffer)
        except OSError:  # a timeout or a reset: the server did not report in time
            message = None
        finally:
            self.conn.close()
        if message is None or "exit" not in message:
            raise ConnectionError("the warm grader ended before reporting the grading's end")
        self.returncode = int(message["exit"])
        return self.returncode


def _read_line(conn: socket.socket, buffer: bytes) -> dict | None:
    while b"\n" not in buffer:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        buffer += chunk
    return json.loads(buffer.split(b"\n", 1)[0])


def submit(path: str, request: dict, result_fd: int) -> Remote | None:
    """Start a grading on the server at `path`; None if there is no server to take it."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.settimeout(2.0)
        conn.connect(path)
    except OSError:
        conn.close()
        return None
    out_r, out_w = os.pipe()
    try:
        socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], [out_w, result_fd])
        reply = _read_line(conn, b"")
    except (OSError, ValueError):
        reply = None
    finally:
        os.close(out_w)
    if not reply or "pid" not in reply:
        os.close(out_r)
        conn.close()
        return None
    return Remote(conn, int(reply["pid"]), out_r)


def spawn(path: str, env: dict[str, str]) -> None:
    """Start a server for `path` in the background (it exits at once if one is starting)."""
    import subprocess

    from nnfs_cli.grading.runner import _grader_limits

    with contextlib.suppress(OSError):  # no server: later checks run cold, nothing else changes
        subprocess.Popen(
            [sys.executable, "-m", "nnfs_cli.grading.server", path], env=env, cwd="/",
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True, preexec_fn=_grader_limits,
        )  # fmt: skip


def stop_all(cache_home: str) -> None:
    """Stop every warm grader whose cache is under `cache_home` (tests and benchmarks that
    gave it a cache folder of their own)."""
    for lock in Path(cache_home).rglob("grader-*.sock.lock"):
        with contextlib.suppress(ValueError, OSError):
            os.kill(int(lock.read_text().strip()), signal.SIGKILL)


# -- server ----------------------------------------------------------------------------------


def _warm_up() -> None:
    """Import what every grading imports, so a fork starts with it loaded."""
    import importlib

    import numpy  # noqa: F401
    import pytest  # noqa: F401
    from _pytest.config import default_plugins

    for name in default_plugins:
        try:
            importlib.import_module(f"_pytest.{name}")
        except ImportError:
            pass
    import nnfs_cli.checks  # noqa: F401
    import nnfs_cli.grading.plugin  # noqa: F401

    try:
        import torch  # noqa: F401

        # a grader's first optimizer (torch.optim.Adam, AdamW) imports torch._dynamo:
        # seconds on a small machine, paid here once instead of in every grading
        import torch._dynamo  # noqa: F401
        import torch.optim  # noqa: F401
    except ImportError:
        pass
    from nnfs_cli.sandbox import client

    # the learner's worker forks too: no Python start-up or torch import per grading; each
    # grading forked from here knows the zygotes are ready
    client.keep_zygotes(wait=120)
    from nnfs_cli.grading import memo

    memo._disk()  # the reference answers' folder: stamped once here, not in every fork


def _grade_in_child(request: dict, out_fd: int, result_fd: int) -> int:
    """In the forked child: run the grading the request names, as `python -m pytest` would."""
    os.setsid()  # its own group: the client stops it and its worker with killpg(pid)
    signal.signal(
        signal.SIGINT, signal.default_int_handler
    )  # the server ignores it; a grading does not
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.environ.clear()
    os.environ.update(request["env"])
    import pytest

    from nnfs_cli.catalog import load_catalog
    from nnfs_cli.grading import runner
    from nnfs_cli.sandbox.client import temp_folder

    runner._grader_limits()
    topic = load_catalog().get(request["topic"])
    with temp_folder("grade") as tmp:
        os.chdir(tmp)
        options = {
            k: request[k]
            for k in ("parts", "protect", "call_timeout", "deadline", "progress", "exit_first")
        }
        args = runner.pytest_args(topic, Path(request["target"]), tmp, **options)
        return int(pytest.main([*args, *runner.child_args(result_fd)]))


def _child(sockets: list[socket.socket], request: dict, fds: list[int]) -> None:
    code = 3
    try:
        for s in sockets:  # the listener and every client's connection are the parent's
            s.close()
        code = _grade_in_child(request, fds[0], fds[1])
    except BaseException as e:  # noqa: BLE001 - the client must hear of any failure
        print(f"warm grader: {type(e).__name__}: {e}", file=sys.stderr)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve(path: str) -> None:
    lock = open(path + ".lock", "w")  # noqa: SIM115 - held for the server's life
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another server for this stamp is starting or running
    lock.write(str(os.getpid()))  # who holds it (`nnfs doctor`, the tests stop it by this)
    lock.flush()
    _warm_up()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(8)
    inode = os.stat(path).st_ino
    children: dict[int, socket.socket] = {}
    last = time.monotonic()
    while children or time.monotonic() - last < IDLE:
        if select.select([listener], [], [], 0.05)[0]:
            conn, _ = listener.accept()
            last = time.monotonic()
            try:
                conn.settimeout(2.0)
                data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 2)
                request = json.loads(data.split(b"\n", 1)[0])
                if len(fds) != 2:
                    raise ValueError("a request carries two pipes")
            except (OSError, ValueError):
                conn.close()
                continue
            pid = os.fork()
            if pid == 0:
                _child([listener, conn, *children.values()], request, fds)
            for fd in fds:
                os.close(fd)
            try:
                conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
            except OSError:
                pass
            children[pid] = conn
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            conn = children.pop(pid, None)
            if conn is not None:
                try:
                    conn.sendall(
                        json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode() + b"\n"
                    )
                except OSError:
                    pass
                conn.close()
            last = time.monotonic()
        try:
            if os.stat(path).st_ino != inode:
                break  # replaced or removed: another server owns the name now
        except FileNotFoundError:
            break
    listener.close()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C in the terminal that started it
    serve(sys.argv[1])
