"""The warm grader: a fork of it grades exactly as a fresh child does, and its faults are never scores."""

import json
import os
import shutil
import signal
import socket
import tempfile
import time
from pathlib import Path

import pytest

from nnfs_cli.catalog import load_catalog
from nnfs_cli.errors import NnfsError
from nnfs_cli.grading import runner, server
from nnfs_cli.grading.bugs import load_bugs, variant_source

TOPIC = "perceptron-theory"


@pytest.fixture
def warm(monkeypatch):
    """The warm grader on, with its own cache folder; whatever server started is stopped after."""
    cache = Path(tempfile.mkdtemp(prefix="nw"))  # short: a socket's path has a length limit
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv(server.ENV_SWITCH, "1")
    served = []
    submit = server.submit

    def spy(*args, **kwargs):
        remote = submit(*args, **kwargs)
        served.append(remote is not None)
        return remote

    monkeypatch.setattr(server, "submit", spy)
    yield served
    server.stop_all(str(cache))
    shutil.rmtree(cache, ignore_errors=True)


def socket_of(env=None) -> str:
    return server.socket_path(env or runner._child_env())


def wait_for_server(path: str, seconds: float = 60.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        probe = socket.socket(socket.AF_UNIX)
        try:
            probe.connect(path)
            return
        except OSError:
            time.sleep(0.1)
        finally:
            probe.close()
    raise AssertionError(f"no warm grader listened at {path} within {seconds} s")


def summary(result):
    return result.score, [(t.name, t.passed, t.diagnosis) for t in result.tests]


def grade_file(tmp_path, name, source, **kwargs):
    path = tmp_path / name
    path.write_text(source, encoding="utf-8")
    return runner.grade(load_catalog().get(TOPIC), path, **kwargs)


def test_a_warm_grading_scores_exactly_as_a_fresh_child(warm, tmp_path):
    topic = load_catalog().get(TOPIC)
    bug = load_bugs(topic)[0]
    sources = {
        "reference.py": topic.solution_path.read_text(encoding="utf-8"),
        "stub.py": topic.exercise_path.read_text(encoding="utf-8"),
        "bug.py": variant_source(topic, bug),
    }
    cold = {name: summary(grade_file(tmp_path, name, src)) for name, src in sources.items()}
    grade_file(tmp_path, "first.py", sources["reference.py"], warm=True)  # starts the server
    assert warm == [False]
    wait_for_server(socket_of())
    for name, src in sources.items():
        assert summary(grade_file(tmp_path, name, src, warm=True)) == cold[name], name
    assert warm[1:] == [True, True, True], "the warm grader did not take the gradings"
    assert cold["reference.py"][0] == topic_max(topic) and cold["stub.py"][0] == 0
    assert any(d for _, passed, d in cold["bug.py"][1] if not passed)  # the bug is named


def topic_max(topic):
    return runner.grade(topic, topic.solution_path).max_score


def test_a_hang_in_a_warm_grading_is_stopped_and_the_child_is_gone(warm, tmp_path, monkeypatch):
    """The whole-run limit kills the forked child's group (its worker too), as a child's."""
    topic = load_catalog().get(TOPIC)
    grade_file(tmp_path, "first.py", topic.solution_path.read_text(encoding="utf-8"), warm=True)
    wait_for_server(socket_of())
    hang = (
        topic.solution_path.read_text(encoding="utf-8")
        + "\n\ndef step(z):\n    while True:\n        pass\n"
    )
    pids = []
    submit = server.submit

    def remember(*args, **kwargs):
        remote = submit(*args, **kwargs)
        pids.append(remote.pid)
        return remote

    server.submit = remember
    try:
        # the grader's own deadline far away, its call limit long: only the run limit stops it
        monkeypatch.setattr(runner, "_REPORT_MARGIN", -60.0)
        result = grade_file(
            tmp_path, "hang.py", hang, warm=True, call_timeout=30.0, run_timeout=4.0
        )
    finally:
        server.submit = submit
    assert result.error and "within 4 s" in result.error, result.error
    time.sleep(0.3)
    with pytest.raises(ProcessLookupError):
        os.killpg(pids[0], 0)  # the forked child and its worker were stopped


def test_a_server_that_dies_mid_grading_is_an_error_never_a_score(warm, tmp_path):
    topic = load_catalog().get(TOPIC)
    grade_file(tmp_path, "first.py", topic.solution_path.read_text(encoding="utf-8"), warm=True)
    path = socket_of()
    wait_for_server(path)
    server_pid = int(Path(path + ".lock").read_text())
    slow = topic.solution_path.read_text(encoding="utf-8") + (
        "\n\n_step = step\ndef step(z):\n    import time\n    time.sleep(0.4)\n    return _step(z)\n"
    )
    submit = server.submit

    def kill_after_submit(*args, **kwargs):
        remote = submit(*args, **kwargs)
        os.kill(server_pid, signal.SIGKILL)
        return remote

    server.submit = kill_after_submit
    try:
        with pytest.raises(NnfsError, match="warm grader ended"):
            grade_file(tmp_path, "slow.py", slow, warm=True)
    finally:
        server.submit = submit
    # its socket is stale now: the next check grades cold and starts a new server
    again = grade_file(
        tmp_path, "again.py", topic.solution_path.read_text(encoding="utf-8"), warm=True
    )
    assert again.score == again.max_score and warm[-1] is False
    wait_for_server(path)


def test_the_server_takes_only_a_grading_request(warm, tmp_path):
    topic = load_catalog().get(TOPIC)
    grade_file(tmp_path, "first.py", topic.solution_path.read_text(encoding="utf-8"), warm=True)
    path = socket_of()
    wait_for_server(path)
    for junk in (b"not json\n", json.dumps({"topic": TOPIC}).encode() + b"\n"):  # no pipes
        probe = socket.socket(socket.AF_UNIX)
        probe.connect(path)
        probe.sendall(junk)
        probe.settimeout(5)
        assert probe.recv(100) == b"", "the server answered a request without its two pipes"
        probe.close()
    again = grade_file(
        tmp_path, "again.py", topic.solution_path.read_text(encoding="utf-8"), warm=True
    )
    assert again.score == again.max_score and warm[-1] is True  # still serving


def test_another_install_or_environment_never_meets_this_server(warm):
    env = runner._child_env()
    assert socket_of(env) == socket_of(dict(env))
    assert socket_of(env) != socket_of(env | {"OMP_NUM_THREADS": "2"})
    assert socket_of(env) != socket_of(env | {"PYTHONPATH": "/elsewhere"})


def test_nnfs_check_starts_a_warm_grader_and_scores_the_same_through_it(warm, tmp_path):
    """The CLI path, end to end: the first check starts a server, the second goes through it."""
    import subprocess
    import sys

    env = os.environ | {"NNFS_WARM_GRADER": "1"}
    cmd = [sys.executable, "-m", "nnfs_cli", "check", TOPIC, "--solution", "--json"]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    wait_for_server(socket_of())
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert a["score"] == b["score"] == a["max_score"]


def test_fetching_an_exercise_starts_the_warm_grader_for_the_first_check(warm, tmp_path):
    """`nnfs next` / `nnfs start`: by the time the lesson is read, the first check is warm."""
    import subprocess
    import sys

    env = os.environ | {"NNFS_WARM_GRADER": "1"}
    ws = tmp_path / "ws"
    for args in (["init", str(ws)], ["start", TOPIC, "-w", str(ws)]):
        r = subprocess.run(
            [sys.executable, "-m", "nnfs_cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
    wait_for_server(socket_of())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(server.ENV_SWITCH, "0")  # and nothing starts where the warm grader is off
        mp.setenv("XDG_CACHE_HOME", str(tmp_path / "off"))
        runner.start_warm_grader()
        assert not (tmp_path / "off").exists() or not list((tmp_path / "off").rglob("*.sock"))
