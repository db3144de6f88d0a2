"""Faults of the infrastructure during `nnfs course grade`: nothing lost, nothing blamed on a student.

A Dask worker killed mid-batch (its task runs again), the command itself killed with
SIGKILL (the rerun finishes the class), the PostgreSQL server stopped mid-batch (the
failed submissions are named, exit 1, and a rerun completes them).
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
from tests.nbgrader_helpers import submit

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("nbgrader")]
pytest.importorskip("nbgrader")
psutil = pytest.importorskip("psutil")  # comes with dask.distributed

TOPIC = load_catalog().get("perceptron-theory")
STUDENTS = [f"s{i}" for i in range(4)]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    root = tmp_path_factory.mktemp("template")
    build.build(root, [TOPIC])
    tools.nbgrader(root, "generate_assignment", TOPIC.id, "--force")
    for s in STUDENTS:
        submit(root, s, TOPIC.id, TOPIC.solution_path.read_text(encoding="utf-8"))
    return root


@pytest.fixture
def course(template, tmp_path):
    root = tmp_path / "course"
    shutil.copytree(template, root)
    return root


def start(course: Path, *args: str) -> subprocess.Popen:
    cmd = [str(BIN / "nnfs"), "course", "grade", str(course), "--json", "--no-feedback", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=os.environ | {"NO_COLOR": "1"})  # fmt: skip


def wait_for(condition, timeout: float = 300, what: str = "") -> object:
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
