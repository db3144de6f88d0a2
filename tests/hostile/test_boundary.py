"""The grader trusts nothing the worker sends, and no hang hides the rest of a check.

A submission can bypass the worker's own encoder and write raw bytes to the reply pipe
(its descriptor is in sys.argv), so these probes forge frames: crafted dtypes, sizes that
lie, half a header, a pickle that names a global. Each must end in one clear failed call,
within the call's deadline, with the grader's memory untouched, and the next call must
be answered by a fresh worker.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import numpy as np
import pytest

from nnfs_cli.sandbox.client import (
    BadResult,
    InputMutated,
    LearnerCrashed,
    LearnerRaised,
    LearnerTimeout,
    Sandbox,
    SandboxConfig,
)
from nnfs_cli.sandbox.protocol import MAX_FRAME
from nnfs_cli.sandbox.source import Submission

FORGERS = r'''
import os, pickle, struct, sys, time, threading
import numpy as np
OUT = int(sys.argv[2])

def _send(payload, size=None):
    os.write(OUT, struct.pack("!Q", len(payload) if size is None else size) + payload)

def ok(x):
    return x * 2

def huge_header():
    _send(b"", size=1 << 31)
    time.sleep(60)

def half_header():
    os.write(OUT, b"\x00\x00\x00")
    time.sleep(60)

def half_frame():
    os.write(OUT, struct.pack("!Q", 100) + b"x" * 10)
    time.sleep(60)

def structured_dtype():
    dt = np.dtype([("a", "<f8")])
    reply = {"status": "ok", "result": ("\x00nnfs:ndarray", "|V8", (2,), b"\x00" * 16), "after": []}
    _send(pickle.dumps(reply))
    time.sleep(60)

def pickled_global():
    reply = {"status": "ok", "result": np.zeros((2, 2), dtype=[("a", "<f8")]), "after": []}
    _send(pickle.dumps(reply))
    time.sleep(60)

def lying_size():
    reply = {"status": "ok", "result": ("\x00nnfs:ndarray", "<f8", (10**9,), b"\x00" * 8), "after": []}
    _send(pickle.dumps(reply))
    time.sleep(60)

def big_result():
    return np.zeros((MAX_FRAME_ELEMS,))

def ansi(x):
    raise ValueError("\x1b[2J\x1b[32m all checks passed \x1b[0m\r")

def dies_later(x):
    threading.Thread(target=lambda: (time.sleep(0.3), os._exit(0))).start()
    return x

def hides_mutation(x):
    import copy, sys
    for name in ("__main__", "nnfs_cli.sandbox.worker"):  # spawned, or forked by a zygote
        if name in sys.modules:
            sys.modules[name]._changed = lambda *a: False
    copy.deepcopy = lambda v, *a: v
    x[0] = 99.0
    return x.sum()

def loops():
    while True:
        pass
'''.replace("MAX_FRAME_ELEMS", str(MAX_FRAME // 8 + 1024))


@pytest.fixture
def sandbox(tmp_path):
    sb = Sandbox(
        Submission(tmp_path / "forgers.py", FORGERS), "forgers", SandboxConfig(call_timeout=4)
    )
    yield sb
    sb.close()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize(
    ("name", "error", "says"),
    [
        ("huge_header", BadResult, "larger than the 64 MiB allowed"),
        ("big_result", BadResult, "larger than the 64 MiB allowed"),
        ("half_header", LearnerTimeout, "no answer within"),
        ("half_frame", LearnerTimeout, "no answer within"),
        ("structured_dtype", BadResult, "is not a plain numeric or text dtype"),
        ("pickled_global", BadResult, "could not be read"),
        ("lying_size", BadResult, "does not match its shape"),
    ],
)
def test_forged_answers_fail_one_call_and_the_next_is_answered(sandbox, name, error, says):
    peak = _peak_mb()
    started = time.monotonic()
    with pytest.raises(error) as info:
        sandbox.call(name)
    assert says in str(info.value)
    assert time.monotonic() - started < 4 + 3
    assert _peak_mb() - peak < 200, "the grader buffered a forged frame"
    assert np.array_equal(sandbox.call("ok", (np.arange(3.0),)), [0.0, 2.0, 4.0])


def test_control_characters_are_escaped(sandbox):
    with pytest.raises(LearnerRaised) as info:
        sandbox.call("ansi", (1,))
    text = str(info.value)
    assert "\x1b" not in text and "\r" not in text and "\\x1b[2J" in text


def test_a_worker_that_dies_between_calls_is_restarted(sandbox):
    assert sandbox.call("dies_later", (1,)) == 1
    time.sleep(1.0)
    assert np.array_equal(sandbox.call("ok", (np.ones(2),)), [2.0, 2.0])


def test_in_place_change_is_seen_by_the_grader_even_when_the_worker_check_is_patched(sandbox):
    x = np.zeros(3)
    with pytest.raises(InputMutated, match="argument 1"):
        sandbox.call("hides_mutation", (x,))
    assert x[0] == 0.0, "the grader's own copy never changes"


def test_a_numpy_scalar_argument_is_not_an_input_changed_in_place(sandbox):
    """A NumPy scalar has a shape but cannot change: passing one is no mutation."""
    assert sandbox.call("ok", (np.float64(0.8),)) is not None


def test_a_hang_is_named_once_with_its_call_and_line(sandbox):
    with pytest.raises(LearnerTimeout) as first:
        sandbox.call("loops")
    text = str(first.value)
    body = FORGERS.splitlines().index("def loops():") + 1
    assert "no answer within 4 s from loops()" in text
    assert f"line {body + 1} in `loops`" in text or f"line {body + 2} in `loops`" in text, text
    started = time.monotonic()
    with pytest.raises(LearnerTimeout, match="hung earlier"):
        sandbox.call("loops")
    assert time.monotonic() - started < 1, "a function that hung is not waited for twice"
    assert sandbox.call("ok", (2,)) == 4


def test_the_whole_run_deadline_bounds_every_call(tmp_path):
    sb = Sandbox(
        Submission(tmp_path / "forgers.py", FORGERS),
        "forgers",
        SandboxConfig(call_timeout=30, deadline=time.time() + 3),
    )
    try:
        started = time.monotonic()
        with pytest.raises(LearnerTimeout):
            sb.call("loops")
        assert time.monotonic() - started < 5
        with pytest.raises(LearnerTimeout, match="used up the whole check's time"):
            sb.call("ok", (1,))
    finally:
        sb.close()


def test_a_crash_is_reported_and_followed_by_a_fresh_worker(tmp_path):
    src = "import os\ndef boom():\n    os._exit(3)\ndef ok():\n    return 1\n"
    sb = Sandbox(Submission(tmp_path / "s.py", src), "s", SandboxConfig(call_timeout=4))
    try:
        with pytest.raises(LearnerCrashed, match="exit code 3"):
            sb.call("boom")
        assert sb.call("ok") == 1
    finally:
        sb.close()


def test_killed_runs_leave_no_temporary_folders(tmp_path, monkeypatch):
    import tempfile

    from nnfs_cli.sandbox.client import sweep_temp_folders

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = tmp_path / "nnfs-scratch-999999999-abc"
    alive = tmp_path / f"nnfs-grade-{__import__('os').getpid()}-abc"
    dead.mkdir(), alive.mkdir()
    (dead / "x.npy").write_bytes(b"x")
    sweep_temp_folders()
    assert not dead.exists() and alive.exists()
    assert Path(tmp_path).exists()
