"""The worker zygote: workers forked from it behave as workers started on their own."""

import os
import signal
import time

import numpy as np
import pytest

from nnfs_cli.sandbox import client
from nnfs_cli.sandbox.client import LearnerError, Sandbox, SandboxConfig
from nnfs_cli.sandbox.source import Submission

SOURCE = """
import os, ctypes, time
def double(x):
    return 2 * x
def leave(code):
    os._exit(code)
def segfault():
    ctypes.string_at(0)
def hang():
    while True:
        time.sleep(0.01)
"""


NUMPY = SandboxConfig(forbidden_imports=("torch",))  # a NumPy topic's: a zygote without torch


@pytest.fixture
def zygote():
    """A zygote of this test's own (the session's are hidden while it runs)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(client, "_zygotes", {})
        (zygote,) = client.keep_zygotes(NUMPY, wait=120)
        assert zygote.ready()
        yield zygote
        client.stop_zygotes()


def _sandbox(tmp_path, **config) -> Sandbox:
    return Sandbox(Submission(tmp_path / "s.py", SOURCE), "s",
                   SandboxConfig(call_timeout=5, forbidden_imports=("torch",), **config))  # fmt: skip


def test_a_forked_worker_answers_and_ends_as_a_spawned_one_does(zygote, tmp_path):
    sb = _sandbox(tmp_path)
    try:
        assert np.array_equal(sb.call("double", (np.arange(3.0),)), [0.0, 2.0, 4.0])
        assert type(sb.proc).__name__ == "_Forked"
        assert (
            int(open(f"/proc/{sb.proc.pid}/stat").read().split(") ")[1].split()[1])
            == zygote.proc.pid
        )
        with pytest.raises(LearnerError, match="exit code 3"):
            sb.call("leave", (3,))
        with pytest.raises(LearnerError, match="segmentation fault"):
            sb.call("segfault")
        assert sb.call("double", (2,)) == 4  # a fresh worker after each death
    finally:
        sb.close()


def test_a_zygote_that_died_leaves_gradings_to_workers_of_their_own(zygote, tmp_path):
    os.kill(zygote.proc.pid, signal.SIGKILL)
    zygote.proc.wait()
    sb = _sandbox(tmp_path)
    try:
        assert sb.call("double", (21,)) == 42
        assert type(sb.proc).__name__ == "Popen"
    finally:
        sb.close()


def test_a_worker_whose_grader_has_gone_is_stopped_by_the_zygote(zygote, tmp_path):
    worker = zygote.fork(NUMPY, client.temp_folder("scratch"))
    pid = worker.proc.pid
    os.close(worker.proc._fd)  # what the kernel does for a grader that died: its status pipe closes
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
        try:
            if open(f"/proc/{pid}/stat").read().split(") ")[1].startswith("Z"):
                break
        except OSError:
            break
        time.sleep(0.05)
    state = (
        open(f"/proc/{pid}/stat").read().split(") ")[1][0]
        if os.path.exists(f"/proc/{pid}")
        else "gone"
    )
    assert state in ("Z", "gone"), state
    worker.scratch.cleanup()
    for fd in (worker.to, worker.from_, worker.dump):
        os.close(fd)
