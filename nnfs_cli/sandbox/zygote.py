"""A worker zygote: a process that has imported NumPy (and torch) and forks a fresh worker per grading.

Started by the client (`client.Zygote`) as `python -I -m nnfs_cli.sandbox.zygote FD [torch]`
with the worker's fixed environment, it never runs learner code itself. For each request on
its control socket (the worker's pipes arrive with it by SCM_RIGHTS) it forks a child that
keeps only those pipes, takes the request's limits, folder and environment, and becomes an
ordinary worker (`worker.serve`): it reads its init frame and fences itself in exactly as a
worker started with `python -m nnfs_cli.sandbox.worker` does. The fork skips Python's start-up
and the imports (`import torch` is seconds); the child is single-threaded, so the kernel
fence covers all of it.

The zygote reports each child's pid, then its exit status (as `Popen.returncode` has it) on
the status pipe that came with the request, and ends when its control socket closes.
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import os
import pickle
import resource
import select
import signal
import socket
import sys
import traceback

FDS = ("to_worker", "from_worker", "dump", "stdout", "stderr", "status")
MAX_REQUEST = 65536


def _receive(control: socket.socket) -> tuple[dict, list[int]] | None:
    """One request and its descriptors; None when the client has gone."""
    fds = array.array("i")
    try:
        data, ancillary, _flags, _ = control.recvmsg(
            MAX_REQUEST, socket.CMSG_SPACE(len(FDS) * fds.itemsize)
        )
    except (ConnectionError, OSError):
        return None
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    if not data:
        for fd in fds:
            os.close(fd)
        return None
    if len(fds) != len(FDS):  # a malformed request: nothing to answer on
        for fd in fds:
            os.close(fd)
        return {}, []
    return pickle.loads(data), list(fds)


def _become_worker(request: dict, fds: list[int]) -> None:
    """In the forked child: keep only this worker's pipes, take its limits, serve."""
    from nnfs_cli.sandbox import worker

    to_worker, from_worker, dump, out, err, _status = fds
    os.setsid()
    null = os.open(os.devnull, os.O_RDONLY)
    for fd, target in ((null, 0), (out, 1), (err, 2)):
        os.dup2(fd, target)
    # the worker's own three descriptors at 3, 4 and 5; every other one closed (the control
    # socket, other workers' status pipes): learner code cannot ask this zygote for anything
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in (to_worker, from_worker, dump)]
    for fd, target in zip(high, (3, 4, 5), strict=True):
        os.dup2(fd, target)
    os.closerange(6, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    memory, cpu = request["memory_mb"] << 20, request["cpu_seconds"]
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    # a fresh process would draw NumPy's global seed from the OS (`random` reseeds at fork)
    import numpy

    numpy.random.seed()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    sys.argv = ["nnfs_cli.sandbox.worker", "3", "4", "5"]
    worker.serve(3, 4, 5)


def _report(fd: int, line: str) -> bool:
    try:
        os.write(fd, line.encode() + b"\n")
        return True
    except OSError:
        return False


def _reap(children: dict[int, int], poller) -> None:
    """Tell each ended child's client how it ended, and forget it."""
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        fd = children.pop(pid, None)
        if fd is not None:
            with contextlib.suppress(KeyError):
                poller.unregister(fd)
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            _report(fd, f"exit {code}")
            os.close(fd)


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    try:  # die with the client that started us (Linux)
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass
    import faulthandler  # noqa: F401  (what the worker imports first)

    import numpy  # noqa: F401

    if "torch" in sys.argv[2:]:
        import torch  # noqa: F401

        # a learner's first optimizer (torch.optim.Adam) imports torch._dynamo: 3 s here
        import torch._dynamo  # noqa: F401
        import torch.optim  # noqa: F401

        torch.backends.cpu.get_cpu_capability()  # reads the CPU's description once, for every fork
    import nnfs_cli.sandbox.worker  # noqa: F401

    wake_r, wake_w = os.pipe()
    for fd in (wake_r, wake_w):
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: dict[int, int] = {}  # pid -> its status pipe
    control.send(b"ready")
    poller = select.poll()
    poller.register(control, select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    while True:
        events = dict(poller.poll())
        if events.pop(wake_r, 0):
            with contextlib.suppress(BlockingIOError):
                while os.read(wake_r, 512):
                    pass
            _reap(children, poller)
        if events.pop(control.fileno(), 0):
            got = _receive(control)
            if got is None:
                break
            if got[1]:
                _fork(*got, children, poller)
        # a status pipe whose reader closed: its client has gone, so does the worker
        for fd in events:
            pid = next((p for p, f in children.items() if f == fd), None)
            if pid is not None:
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
                poller.unregister(fd)
    for pid in list(children):  # the client has gone: so do its workers
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)


def _fork(request: dict, fds: list[int], children: dict[int, int], poller) -> None:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            _become_worker(request, fds)
            code = 0
        except SystemExit as e:  # as a worker started on its own would end
            code = e.code if isinstance(e.code, int) else int(e.code is not None)
        except BaseException:
            traceback.print_exc()
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(code)
    status = fds[-1]
    for fd in fds[:-1]:
        os.close(fd)
    if _report(status, f"pid {pid}"):
        children[pid] = status
        poller.register(status, 0)  # POLLERR: the client closed its end
    else:
        os.close(status)
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
