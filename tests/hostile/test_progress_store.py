"""The progress store under stress: concurrent runs, kill -9 at random points, damaged files."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time

import pytest

from nnfs_cli.catalog import load_catalog
from nnfs_cli.progress import ProgressStore, record_attempt
from tests.cli_helpers import nnfs, nnfs_process, write_learner_file

THEORY = load_catalog().get("perceptron-theory")


@pytest.fixture
def ws(tmp_path):
    root = tmp_path / "ws"
    assert nnfs("init", str(root)).exit_code == 0
    return root


def test_two_checks_at_once_both_recorded(ws):
    write_learner_file(ws, THEORY, THEORY.solution_path.read_text(encoding="utf-8"))
    procs = [subprocess.Popen([sys.executable, "-m", "nnfs_cli", "check", THEORY.id, "-w", str(ws), "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]  # fmt: skip
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
    data = json.loads((ws / ".nnfs" / "progress.json").read_text())
    assert data["topics"][THEORY.id]["attempt_count"] == 2


def test_many_concurrent_writers_lose_nothing(ws):
    """Eight processes each record 25 attempts at once: all 200 land."""
    script = (
        "import sys; from pathlib import Path; from nnfs_cli.progress import ProgressStore, record_attempt\n"
        "s = ProgressStore(Path(sys.argv[1]))\n"
        "for i in range(25): s.update(lambda d: record_attempt(d, 'calculus', 1.0, 2.0, False))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(ws / ".nnfs")]) for _ in range(8)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    data = ProgressStore(ws / ".nnfs").load()
    assert data["topics"]["calculus"]["attempt_count"] == 200


def test_kill_9_at_random_points_never_leaves_an_unreadable_store(ws):
    """100 runs of a real `nnfs` command killed at random moments; the store always loads."""
    ProgressStore(ws / ".nnfs").update(
        lambda d: record_attempt(d, "calculus", 9.0, 9.0, True, when=1.0)
    )
    rng = random.Random(1234)
    cmd = [sys.executable, "-m", "nnfs_cli", "hint", THEORY.id, "-w", str(ws)]
    for _ in range(100):
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, 0.6))
        p.send_signal(signal.SIGKILL)
        p.wait()
        store = ProgressStore(ws / ".nnfs")
        data = store.load()
        assert store.notices == [], store.notices
        assert data["topics"]["calculus"]["first_pass"] == 1.0
    leftovers = [p.name for p in (ws / ".nnfs").iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) <= 100  # stray temp files are harmless and never read


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "wrong-version", "not-a-dict"])
def test_damaged_store_is_restored_from_last_good_copy(ws, damage):
    store = ProgressStore(ws / ".nnfs")
    store.update(lambda d: record_attempt(d, "calculus", 9.0, 9.0, True, when=1.0))
    store.update(
        lambda d: record_attempt(d, "probability", 3.0, 9.0, False, when=2.0)
    )  # .bak now has calculus
    path = ws / ".nnfs" / "progress.json"
    good = path.read_text()
    path.write_text({"truncated": good[: len(good) // 2], "garbage": "\x00\xff<html>", "empty": "",
                     "wrong-version": json.dumps({"version": 99, "topics": {}}), "not-a-dict": "[1, 2]"}[damage],
                    encoding="utf-8", errors="surrogateescape")  # fmt: skip
    r = nnfs("progress", "--json", "-w", str(ws))
    assert r.exit_code == 0
    assert (
        "restored from the last good copy" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    )
    statuses = {t["id"]: t["status"] for p in json.loads(r.stdout)["phases"] for t in p["topics"]}
    assert statuses["calculus"] == "passed"
    assert list((ws / ".nnfs").glob("progress.json.corrupt-*")), (
        "the damaged file is kept for inspection"
    )
    assert json.loads(path.read_text())["version"] == 1


def test_no_good_copy_starts_fresh_and_keeps_the_damaged_file(ws):
    (ws / ".nnfs" / "progress.json").write_text("{{{", encoding="utf-8")
    r = nnfs("list", "--json", "-w", str(ws))
    assert r.exit_code == 0 and "no good copy" in r.stderr
    assert list((ws / ".nnfs").glob("progress.json.corrupt-*"))


COMMANDS_WITH_TOPIC = ["check", "start", "show", "hint", "solution", "reset"]
PLANNED = "<planned>"  # the `planned_topic` fixture's (every real topic is available)


@pytest.mark.parametrize("command", COMMANDS_WITH_TOPIC)
@pytest.mark.parametrize(("topic", "needle"), [("no-such-topic", "unknown topic"), ("", "no topic given"), ("percepton", "Did you mean"),
                                               (PLANNED, "planned")])  # fmt: skip
def test_bad_topic_to_every_command_is_one_line_exit_2(ws, command, topic, needle, request):
    if topic == PLANNED:
        topic = request.getfixturevalue("planned_topic")
    r = nnfs(command, topic, "-w", str(ws)) if command != "show" else nnfs(command, topic)
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.stdout + r.stderr


@pytest.mark.parametrize("command", ["next", "progress", "hint", "reset", "check", "start", "list"])
def test_missing_workspace_is_one_line_exit_2(tmp_path, command):
    args = [command] + ([THEORY.id] if command in ("hint", "reset", "check", "start") else [])
    r = nnfs(*args, "-w", str(tmp_path / "nowhere"))
    assert r.exit_code == 2 and "nnfs init" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_file_arguments_with_spaces_unicode_directories(ws, tmp_path):
    odd = tmp_path / "dossier à espaces ü" / "mon fichier é.py"
    odd.parent.mkdir()
    odd.write_text(THEORY.solution_path.read_text(encoding="utf-8"), encoding="utf-8")
    assert nnfs("check", THEORY.id, "--file", str(odd), "-w", str(ws)).exit_code == 0
    r = nnfs("check", THEORY.id, "--file", str(odd.parent), "-w", str(ws))
    assert r.exit_code == 2 and "is a folder" in r.stderr
    r = nnfs("check", THEORY.id, "--file", str(tmp_path / "notes.txt"), "-w", str(ws))
    assert r.exit_code == 2
    (tmp_path / "notes.txt").write_text("hello")
    r = nnfs("check", THEORY.id, "--file", str(tmp_path / "notes.txt"), "-w", str(ws))
    assert r.exit_code == 2 and "neither a .py file nor a notebook" in r.stderr
    r = nnfs("init", str(odd))
    assert r.exit_code == 2 and "not a folder" in r.stderr


def test_read_only_workspace_is_a_one_line_error(ws, monkeypatch):
    """Root ignores permission bits, so the read-only file system is simulated at os.replace."""
    import nnfs_cli.progress as progress

    def read_only(*_args, **_kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(progress.os, "replace", read_only)
    r = nnfs("hint", THEORY.id, "-w", str(ws))
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Read-only file system" in lines[0]


def test_installed_command_reports_bad_input_without_traceback(ws):
    r = nnfs_process("check", "", "-w", str(ws))
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.startswith("error:")
    r = nnfs_process("frobnicate")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def _make(kind: str, path):
    import os

    path.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "symlink":
        target = path.with_name("elsewhere.json")
        target.write_text(json.dumps({"version": 1, "topics": {}}))
        path.symlink_to(target)


@pytest.mark.parametrize("name", ["progress.json", "progress.lock"])
@pytest.mark.parametrize("kind", ["fifo", "folder", "symlink"])
def test_a_store_file_that_is_not_a_file_is_one_line_exit_2_never_a_hang(ws, name, kind):
    """A FIFO would block an open forever, a folder or a link is not ours: never followed."""
    _make(kind, ws / ".nnfs" / name)
    started = time.monotonic()
    r = nnfs_process("hint", THEORY.id, "-w", str(ws), timeout=60)
    assert time.monotonic() - started < 30
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "move it aside" in lines[0], lines


def test_fifos_at_temporary_names_are_never_opened(ws):
    import os

    for i in range(50):  # the old scheme used .progress.<pid>.tmp
        os.mkfifo(ws / ".nnfs" / f".progress.{i}.tmp")
    r = nnfs_process("hint", THEORY.id, "-w", str(ws), timeout=60)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize(
    "content",
    ["[" * 100_000 + "]" * 100_000,
     json.dumps({"version": 1, "topics": {"calculus": {"attempts": 5, "attempt_count": "x"}}}),
     json.dumps({"version": 1, "topics": {"calculus": {"first_pass": "yesterday"}}}),
     json.dumps({"version": 1, "topics": {"calculus": {"attempts": [{"score": "full"}]}}})],
    ids=["deeply-nested", "wrong-field-types", "first-pass-text", "score-text"],
)  # fmt: skip
def test_well_formed_json_of_the_wrong_shape_is_set_aside(ws, content):
    (ws / ".nnfs" / "progress.json").write_text(content, encoding="utf-8")
    r = nnfs_process("check", THEORY.id, "--solution", "-w", str(ws), timeout=120)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    r = nnfs_process("progress", "-w", str(ws), timeout=60)
    assert r.returncode == 0 and "Traceback" not in r.stderr
    assert list((ws / ".nnfs").glob("progress.json.corrupt-*"))
