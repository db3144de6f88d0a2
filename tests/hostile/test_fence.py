"""The kernel fence, one class of escape at a time, with the audit hook switched OFF.

Each probe is a learner function that tries one way out (the classes of issue 20: folder
descriptors, planted bytecode, processes and signals, other processes' memory, files
that are not files, the network). With only Landlock and seccomp in place every probe
must fail; the same probes with both layers on must fail too. The negative controls
(threads, scratch files, NumPy) prove the fence does not break honest code. We run as root
in CI: Landlock and seccomp hold for root, and these tests prove it there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nnfs_cli.catalog import content_root, load_catalog
from nnfs_cli.sandbox import client
from nnfs_cli.sandbox.client import LearnerError, Sandbox, SandboxConfig
from nnfs_cli.sandbox.kernel import landlock_abi, mechanisms
from nnfs_cli.sandbox.source import Submission

THEORY = load_catalog().get("perceptron-theory")
ROOT = content_root()

PROBES = r"""
import ctypes, os, numpy as np
libc = ctypes.CDLL(None, use_errno=True)

def dirfd_read(root, rel):
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    return os.read(os.open(rel, os.O_RDONLY, dir_fd=fd), 200)

def dirfd_remove(folder, name):
    os.remove(name, dir_fd=os.open(folder, os.O_RDONLY | os.O_DIRECTORY))

def dirfd_rewrite(folder, name):
    fd = os.open(name, os.O_WRONLY | os.O_TRUNC, dir_fd=os.open(folder, os.O_RDONLY | os.O_DIRECTORY))
    os.write(fd, b'{"version": 1, "topics": {}}')

def plant_bytecode(folder):
    os.makedirs(os.path.join(folder, "__pycache__"), exist_ok=True)
    with open(os.path.join(folder, "__pycache__", "planted.pyc"), "wb") as f:
        f.write(b"planted")

def fork_exec():
    import _posixsubprocess, subprocess
    return subprocess.run(["/bin/true"]).returncode

def raw_fork():
    pid = libc.syscall(57)  # fork
    if pid == 0:
        os._exit(0)
    if pid < 0:
        raise PermissionError(ctypes.get_errno(), "fork refused")
    return pid

def signal_parent():
    if libc.syscall(62, os.getppid(), 0) < 0:  # kill(ppid, 0)
        raise PermissionError(ctypes.get_errno(), "kill refused")

def pidfd_parent():
    fd = libc.syscall(434, os.getppid(), 0)  # pidfd_open
    if fd < 0:
        raise PermissionError(ctypes.get_errno(), "pidfd_open refused")
    return fd

def read_proc(pid, name):
    with open(f"/proc/{pid}/{name}", "rb") as f:
        return f.read(200)

def make_fifo(name):
    os.mkfifo(name)

def make_node(name):
    os.mknod(name, 0o600 | 0o010000)

def udp_send():
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendmsg([b"x"], [], 0, ("127.0.0.1", 9))

def resolve():
    import socket
    return socket.getaddrinfo("localhost", 80)

def symlink_read(target):
    os.symlink(target, "link")
    return open("link").read(200)

def write_outside(path):
    with open(path, "w") as f:
        f.write("x")

def open_fds():
    import fcntl
    found = []
    for fd in range(3, 1024):
        try:
            fcntl.fcntl(fd, fcntl.F_GETFD)
            found.append(fd)
        except OSError:
            pass
    return found

# negative controls: what honest code does must keep working
def threads_and_scratch():
    import threading
    out = []
    t = threading.Thread(target=lambda: out.append(np.ones(3).sum()))
    t.start(); t.join()
    np.save("a.npy", np.arange(3.0))
    return float(out[0]) + float(np.load("a.npy").sum())

def signal_self():
    import signal
    os.kill(os.getpid(), 0)
    return 1

def cpu_capability():
    import torch
    return torch.backends.cpu.get_cpu_capability()
"""

needs_kernel = pytest.mark.skipif(landlock_abi() < 6, reason="needs Landlock ABI 6 (Linux 6.12+)")


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    """A workspace state folder to protect (.nnfs) with a store in it."""
    nnfs_dir = tmp_path_factory.mktemp("ws") / ".nnfs"
    nnfs_dir.mkdir()
    (nnfs_dir / "progress.json").write_text('{"version": 1, "topics": {"calculus": {}}}')
    return nnfs_dir


def _sandbox(state: Path, audit_hook: bool) -> Sandbox:
    protected = (str(ROOT / "solutions"), str(ROOT / "graders"), str(state))
    config = SandboxConfig(protected=protected, call_timeout=20, audit_hook=audit_hook)
    return Sandbox(Submission(state.parent / "probes.py", PROBES), "probes", config)


@pytest.fixture(
    scope="module",
    params=[(False, "spawned"), (True, "spawned"), (False, "forked"), (True, "forked")],
    ids=["kernel-only", "kernel+hook", "kernel-only-forked", "kernel+hook-forked"],
)
def sandbox(request, state):
    """Each layer alone and both, in a worker started on its own and in one a zygote forked."""
    audit_hook, start = request.param
    with pytest.MonkeyPatch.context() as mp:
        if start == "spawned":
            mp.setattr(client, "_zygotes", {})
        sb = _sandbox(state, audit_hook=audit_hook)
        if start == "forked":
            client.keep_zygotes(sb.config, wait=120)
        sb.started_as = start
        yield sb
        sb.close()


def _refused(sb: Sandbox, name: str, *args) -> str:
    with pytest.raises(LearnerError) as info:
        got = sb.call(name, args)
        pytest.fail(f"{name} got through: {got!r}"[:300])
    return str(info.value)


GRADER_DIR = THEORY.grader_path.parent


@needs_kernel
@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("dirfd_read", (str(ROOT), str(THEORY.solution_path.relative_to(ROOT)))),
        ("dirfd_read", (str(ROOT), str(THEORY.grader_path.relative_to(ROOT)))),
        ("dirfd_read", (str(ROOT), "tests/alternatives/backprop__loops.py")),
        ("plant_bytecode", (str(GRADER_DIR),)),
        ("fork_exec", ()),
        ("raw_fork", ()),
        ("signal_parent", ()),
        ("pidfd_parent", ()),
        ("read_proc", (os.getpid(), "mem")),
        ("read_proc", (os.getpid(), "cmdline")),
        ("read_proc", (1, "environ")),
        ("make_fifo", ("fifo",)),
        ("make_node", ("node",)),
        ("udp_send", ()),
        ("resolve", ()),
        ("symlink_read", (str(THEORY.solution_path),)),
        ("write_outside", ("/tmp/nnfs-fence-escape",)),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_every_escape_is_refused(sandbox, name, args):
    message = _refused(sandbox, name, *args)
    assert "raised" in message or "died" in message, message
    assert not Path("/tmp/nnfs-fence-escape").exists()
    assert not (GRADER_DIR / "__pycache__" / "planted.pyc").exists()


@needs_kernel
def test_the_workspace_store_is_out_of_reach(sandbox, state):
    for name in ("dirfd_remove", "dirfd_rewrite"):
        _refused(sandbox, name, str(state), "progress.json")
    _refused(sandbox, "dirfd_read", str(state), "progress.json")
    assert '"calculus"' in (state / "progress.json").read_text()


def test_honest_code_still_runs(sandbox):
    assert sandbox.call("threads_and_scratch") == 6.0
    assert (type(sandbox.proc).__name__ == "_Forked") == (sandbox.started_as == "forked")
    assert sandbox.call("signal_self") == 1
    assert sandbox.fence_missing == [] or landlock_abi() < 6


def test_torch_in_the_worker_uses_the_cpu_it_has(sandbox):
    """Reading what the CPU can do is allowed: without it torch runs its slowest kernels
    (DEFAULT instead of AVX2 here: a transformer's training 10-20% slower)."""
    import torch

    assert sandbox.call("cpu_capability") == torch.backends.cpu.get_cpu_capability()


def test_the_worker_holds_only_its_own_three_pipes(sandbox):
    """Nothing to reach the grader or the zygote with: no control socket, no other worker's pipe."""
    fds = sandbox.call("open_fds")
    assert len(fds) == 3, fds
    if sandbox.started_as == "forked":
        assert fds == [3, 4, 5]


def test_doctor_names_every_mechanism():
    found = mechanisms()
    assert len(found) >= 5 and all(m.why for m in found)
    if landlock_abi() >= 6:
        assert all(m.enforced for m in found)


def test_the_worker_runs_isolated_with_nothing_of_the_grader(state):
    """Started with -I: no PYTHONPATH, no cwd or submission folder on sys.path, a small env."""
    src = "import os, sys\ndef info():\n    return [sys.flags.isolated, list(sys.path), dict(os.environ), list(sys.argv)]\n"
    (state.parent / "numpy.py").write_text("raise SystemExit('shadowed')\n")
    sb = Sandbox(Submission(state.parent / "sub.py", src), "sub", SandboxConfig(
        protected=(str(state),), env={}))  # fmt: skip
    os.environ["NNFS_SECRET_PATH"] = str(THEORY.solution_path)
    try:
        isolated, path, env, argv = sb.call("info")
    finally:
        del os.environ["NNFS_SECRET_PATH"]
        sb.close()
    assert isolated == 1
    assert str(state.parent) not in path and "" not in path
    assert not any(str(ROOT / "solutions") in v or str(ROOT / "graders") in v for v in env.values())
    assert not any(str(ROOT / "solutions") in a or str(ROOT / "graders") in a for a in argv)


def test_without_the_kernel_the_audit_hook_still_fences_and_it_is_said_once(
    state, tmp_path, monkeypatch, capsys
):
    """Another OS or an old kernel: the fallback refuses what it can see, and says it is weaker."""
    from nnfs_cli.grading.runner import _say_once_fence_is_weaker

    protected = (str(ROOT / "solutions"), str(state))
    sb = Sandbox(Submission(state.parent / "probes.py", PROBES), "probes",
                 SandboxConfig(protected=protected, call_timeout=20, kernel=False))  # fmt: skip
    try:
        assert "may not open" in _refused(sb, "symlink_read", str(THEORY.solution_path))
        assert "may not start other processes" in _refused(sb, "fork_exec")
        assert sb.fence_missing == ["landlock", "seccomp"]
    finally:
        sb.close()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    _say_once_fence_is_weaker(["landlock", "seccomp"])
    _say_once_fence_is_weaker(["landlock", "seccomp"])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nnfs doctor" in err[0] and "audit hook only" in err[0]


def test_the_audit_hook_allows_file_changes_in_scratch(state):
    src = "import os\ndef tidy():\n    os.mkdir('d'); os.rename('d', 'e'); os.rmdir('e')\n    open('f', 'w').close(); os.remove('f')\n    return 1\n"
    sb = Sandbox(Submission(state.parent / "tidy.py", src), "tidy", SandboxConfig(kernel=False))
    try:
        assert sb.call("tidy") == 1
    finally:
        sb.close()
