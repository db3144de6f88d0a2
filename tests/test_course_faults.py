"""The engine of `nnfs course grade` under faults and on an outside cluster.

A Dask worker killed mid-batch (its task runs again), the command itself killed with
SIGKILL (the rerun finishes the class), the PostgreSQL server stopped mid-batch (the
failed submissions are named, exit 1, and a rerun completes them): nothing lost, nothing
blamed on a student. And a Dask cluster started outside the command (`--scheduler`)
grades the class, with the progress bar drawn on a real terminal (a pty).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nnfs_cli.catalog import load_catalog
from nnfs_cli.course import build, gradebook, tools
from tests.nbgrader_helpers import make_class

pytestmark = [pytest.mark.slow]  # one worker for the file: tests/conftest.py WORKER_GROUPS
pytest.importorskip("nbgrader")
psutil = pytest.importorskip("psutil")  # comes with dask.distributed

TOPIC = load_catalog().get("perceptron-theory")
STUDENTS = [f"s{i}" for i in range(4)]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return make_class(tmp_path_factory.mktemp("template"), [TOPIC], STUDENTS)


@pytest.fixture
def course(template, tmp_path):
    root = tmp_path / "course"
    shutil.copytree(template, root)
    return root


def start(course: Path, *args: str, stderr=subprocess.PIPE) -> subprocess.Popen:
    cmd = [str(BIN / "nnfs"), "course", "grade", str(course), "--json", "--no-feedback", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True,
                            start_new_session=True, env=os.environ | {"NO_COLOR": "1"})  # fmt: skip


def wait_for(condition, timeout: float = 900, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def grader_of(proc: subprocess.Popen):
    """A process of the batch that is grading right now (a grader child of a Dask worker)."""
    try:
        for p in psutil.Process(proc.pid).children(recursive=True):
            if "--nnfs-target" in " ".join(p.cmdline()):
                return p
    except psutil.Error:
        return None
    return None


def finish(proc: subprocess.Popen) -> tuple[int, dict, str]:
    out, err = proc.communicate(timeout=900)
    return proc.returncode, json.loads(out) if out.strip() else {}, err


def graded_in_gradebook(course: Path, url: str | None = None) -> dict[str, float]:
    return gradebook.scores_in_gradebook(tools.settings(course, url), TOPIC.id)


FULL = None


def full() -> float:
    global FULL
    FULL = FULL or sum(build.part_points(TOPIC).values())
    return FULL


def test_a_dask_worker_killed_mid_batch_is_retried_and_the_class_completes(course):
    proc = start(course, "--workers", "2")
    grader = wait_for(lambda: grader_of(proc), what="a task to start grading")
    worker = grader.parent()
    worker.kill()  # the Dask worker process, not the student's code
    code, summary, err = finish(proc)
    assert code == 0, err[-3000:]
    assert sorted(g["student"] for g in summary["graded"]) == STUDENTS
    assert graded_in_gradebook(course) == {s: full() for s in STUDENTS}


def test_the_command_killed_with_sigkill_resumes_without_loss(course):
    proc = start(course, "--workers", "1")
    wait_for(lambda: len(gradebook.records(course, TOPIC.id)) >= 1, what="a first graded student")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    done_before = {
        r["student"] for r in gradebook.records(course, TOPIC.id) if r["status"] == "graded"
    }
    assert 1 <= len(done_before) < len(STUDENTS)
    code, summary, err = finish(start(course, "--workers", "2"))
    assert code == 0, err[-3000:]
    assert {u["student"] for u in summary["unchanged"]} == done_before
    assert {g["student"] for g in summary["graded"]} == set(STUDENTS) - done_before
    assert graded_in_gradebook(course) == {s: full() for s in STUDENTS}


def test_postgresql_stopped_mid_batch_names_the_failures_and_a_rerun_completes(course):
    from tests.pg_server import postgres_server

    pytest.importorskip("psycopg")
    with postgres_server() as server:
        proc = start(course, "--workers", "1", "--db", server.url)
        wait_for(lambda: any(r.get("db_url") == server.url for r in gradebook.records(course, TOPIC.id)),
                 what="a first student recorded in PostgreSQL")  # fmt: skip
        server.stop()
        code, summary, err = finish(proc)
        assert code == 1, err[-3000:]
        failed = {u["student"] for u in summary["ungraded"]}
        assert failed and all("gradebook write failed" in u["reason"] for u in summary["ungraded"])
        server.start()
        code, summary, err = finish(start(course, "--workers", "2", "--db", server.url))
        assert code == 0, err[-3000:]
        assert {g["student"] for g in summary["graded"]} >= failed
        assert graded_in_gradebook(course, server.url) == {s: full() for s in STUDENTS}


def read_all(fd: int, timeout: float = 900) -> str:
    """Everything written to a pty until its last writer closes it."""
    import select

    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not select.select([fd], [], [], 1.0)[0]:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: every writer closed the other side
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture(scope="module")
def outside_run(template, tmp_path_factory):
    """The class graded on a Dask cluster the command did not start, its stderr a terminal."""
    import fcntl
    import pty
    import struct
    import termios

    from dask.distributed import Client, LocalCluster

    root = tmp_path_factory.mktemp("outside") / "course"
    shutil.copytree(template, root)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0", scheduler_port=0) as cluster, Client(cluster) as client:  # fmt: skip
        pids = set(client.run(os.getpid).values())
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
        proc = start(root, "--scheduler", cluster.scheduler_address, stderr=slave)
        os.close(slave)
        terminal = read_all(master)
        code, summary, _ = finish(proc)
        os.close(master)
        still_there = set(client.run(os.getpid).values())
    return root, code, summary, terminal, pids, still_there


def test_an_outside_dask_cluster_grades_the_class_and_is_left_running(outside_run):
    root, code, summary, terminal, pids, still_there = outside_run
    assert code == 0, terminal[-3000:]
    assert sorted(g["student"] for g in summary["graded"]) == STUDENTS
    # every task ran in the outside cluster's workers, which the command did not stop
    assert {r["worker_pid"] for r in gradebook.records(root, TOPIC.id)} <= pids
    assert still_there == pids
    assert graded_in_gradebook(root) == {s: full() for s in STUDENTS}


def test_the_progress_bar_on_a_terminal_counts_and_shows_an_eta(outside_run):
    import re

    _, _, _, terminal, _, _ = outside_run
    n = len(STUDENTS)
    assert f"{n}/{n}" in terminal and f"done {n} failed 0" in terminal, terminal[-2000:]
    assert re.search(r"ETA\s+\d+:\d\d:\d\d", terminal), terminal[-2000:]
    assert "\x1b[" in terminal  # drawn in place with terminal escapes, not plain lines
    assert f"[{n}/{n}]" not in terminal


def test_the_bar_counts_failed_submissions_apart():
    import io

    from rich.console import Console

    from nnfs_cli.course import views

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160)
    graded = {"status": "graded", "score": 1.0, "max_score": 1.0, "topic": "t", "student": "a"}
    with views.batch_progress(3, console) as on_done:
        for o in (
            graded,
            graded | {"student": "b"},
            {"status": "ungraded", "topic": "t", "student": "c"},
        ):
            time.sleep(0.3)  # two samples apart in time: Rich's ETA needs a speed
            on_done(o)
    assert "done 2 failed 1" in out.getvalue() and "3/3" in out.getvalue()
