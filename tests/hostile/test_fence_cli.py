"""Escapes through the real `nnfs check`, on a NumPy topic and on one whose grader imports
torch, and through the notebook path nbgrader uses: a submission that gets out scores.

Every submission here is a stub whose functions delegate to the reference solution, which
they try to obtain through one escape; a second family tries to forge or destroy the
progress store. The fence holds when every part fails (no forbidden pass), the store is
untouched (no progress lost), nothing hangs and nnfs prints no traceback.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import time
from pathlib import Path

import pytest

from nnfs_cli.catalog import content_root, load_catalog
from nnfs_cli.progress import ProgressStore
from nnfs_cli.sandbox.kernel import landlock_abi
from tests.cli_helpers import nnfs, write_learner_file

pytestmark = pytest.mark.skipif(landlock_abi() < 6, reason="needs Landlock ABI 6 (Linux 6.12+)")

ROOT = content_root()
TOPICS = [load_catalog().get("perceptron-theory"), load_catalog().get("forward-propagation")]
CALL_TIMEOUT = 5.0

# Each escape is the body of `_reference_source()`: it must return the reference's text.
ESCAPES = {
    "dir-fd": """
    fd = os.open({root!r}, os.O_RDONLY | os.O_DIRECTORY)
    return os.read(os.open({rel!r}, os.O_RDONLY, dir_fd=fd), 10**6).decode()
""",
    "proc-root": """
    return open("/proc/%d/root{solution}" % os.getppid()).read()
""",
    "symlink-toctou": """
    os.symlink({solution!r}, "innocent.txt")
    return open("innocent.txt").read()
""",
    "fork-exec": """
    import _posixsubprocess, subprocess
    return subprocess.run(["cat", {solution!r}], capture_output=True, text=True).stdout
""",
    "grader-memory": """
    cmd = open("/proc/%d/cmdline" % os.getppid()).read()
    return open("/proc/%d/mem" % os.getppid(), "rb").read(10) and cmd
""",
}

STORE_ATTACKS = {
    "remove-via-dir-fd": """
    d = os.open({state!r}, os.O_RDONLY | os.O_DIRECTORY)
    for name in ("progress.json", "progress.json.bak"):
        try:
            os.remove(name, dir_fd=d)
        except OSError:
            pass
""",
    "forge-via-dir-fd": """
    d = os.open({state!r}, os.O_RDONLY | os.O_DIRECTORY)
    fd = os.open("progress.json", os.O_WRONLY | os.O_TRUNC, dir_fd=d)
    os.write(fd, b'{{"version": 1, "topics": {{"backprop": {{"first_pass": 1.0, "attempt_count": 1}}}}}}')
""",
    "fifo-at-the-store": """
    d = os.open({state!r}, os.O_RDONLY | os.O_DIRECTORY)
    os.mkfifo("progress.json.tmp", dir_fd=d)
    os.rename("progress.json.tmp", "progress.json", src_dir_fd=d, dst_dir_fd=d)
""",
    "kill-the-grader": """
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.syscall(434, os.getppid(), 0)
    libc.syscall(424, fd, 9, None, 0)
    os.kill(os.getppid(), 9)
""",
}


def _functions(topic) -> list[str]:
    tree = ast.parse(topic.exercise_path.read_text(encoding="utf-8"))
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")]


def _delegating_stub(topic, escape: str) -> str:
    """Every function hands its call to the reference, read through `escape`."""
    body = ESCAPES[escape].format(
        root=str(ROOT), rel=str(topic.solution_path.relative_to(ROOT)), solution=str(topic.solution_path)
    )
    lines = ["import os", "import numpy as np", "", "def _reference_source():" + body, "",
             "def _ref():", "    ns = {}", "    exec(_reference_source(), ns)", "    return ns", ""]  # fmt: skip
    for name in _functions(topic):
        lines += [f"def {name}(*args, **kwargs):", f"    return _ref()[{name!r}](*args, **kwargs)", ""]
    return "\n".join(lines)


def _store_attack(topic, attack: str, state: Path) -> str:
    source = topic.solution_path.read_text(encoding="utf-8")
    first = _functions(topic)[0]
    body = STORE_ATTACKS[attack].format(state=str(state))
    hook = f"def _attack():{body}\n\ntry:\n    _attack()\nexcept Exception:\n    pass\n"
    return source.replace(f"\ndef {first}(", f"\n{hook}\n\ndef {first}(", 1)


@pytest.fixture
def ws(tmp_path):
    root = tmp_path / "ws"
    assert nnfs("init", str(root)).exit_code == 0
    ProgressStore(root / ".nnfs").update(
        lambda d: d["topics"].__setitem__(
            "calculus", {"attempts": [], "attempt_count": 1, "first_pass": 1.0, "hints_shown": 0}
        )
    )
    return root


def _check(ws: Path, topic) -> tuple[dict, float, str]:
    started = time.monotonic()
    r = nnfs("check", topic.id, "-w", str(ws), "--json", "--timeout", str(CALL_TIMEOUT))
    wall = time.monotonic() - started
    assert "Traceback" not in r.stdout + r.stderr and "internal error" not in r.stderr
    return json.loads(r.stdout), wall, r.stderr


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.id)
@pytest.mark.parametrize("escape", sorted(ESCAPES))
def test_no_escape_reaches_the_reference(ws, topic, escape):
    write_learner_file(ws, topic, _delegating_stub(topic, escape))
    data, wall, _ = _check(ws, topic)
    passed = [t["name"] for t in data["tests"] if t["passed"]]
    assert not data["passed"] and data["score"] == 0, f"forbidden passes: {passed[:5]}"
    assert wall < 90


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.id)
@pytest.mark.parametrize("attack", sorted(STORE_ATTACKS))
def test_no_progress_is_lost_or_forged(ws, topic, attack):
    state = ws / ".nnfs"
    before = ProgressStore(state).load()["topics"]["calculus"]
    write_learner_file(ws, topic, _store_attack(topic, attack, state))
    data, wall, _ = _check(ws, topic)
    assert data["passed"], [t["message"] for t in data["tests"] if not t["passed"]][:2]
    store = ProgressStore(state)
    after = store.load()["topics"]
    assert store.notices == [] and after["calculus"] == before
    assert "backprop" not in after and after[topic.id]["attempt_count"] == 1
    assert all(p.is_file() for p in state.iterdir() if p.name.startswith("progress"))


def test_planted_grader_bytecode_is_never_loaded(ws):
    """A pytest assertion-rewrite .pyc beside the grader (valid source hash) that passes everything.

    (Checked to be loaded by the grading before this fix: 999 points for a stub.)"""
    from _pytest.assertion.rewrite import PYC_TAIL

    topic = TOPICS[0]
    grader = topic.grader_path
    forged = compile("import pytest\n\n@pytest.mark.part('step', 999)\ndef test_all():\n    pass\n",
                     str(grader), "exec")  # fmt: skip
    import importlib.util
    import marshal

    # pytest's own format: a checked-hash pyc (PEP 552) of the grader's current source
    header = importlib.util.MAGIC_NUMBER + b"\x03\0\0\0" + importlib.util.source_hash(grader.read_bytes())[:8]
    cache = grader.parent / "__pycache__"
    made_cache = not cache.exists()
    cache.mkdir(exist_ok=True)
    planted = cache / (grader.stem + PYC_TAIL)
    planted.write_bytes(header + marshal.dumps(forged))
    try:
        write_learner_file(ws, topic, topic.exercise_path.read_text(encoding="utf-8"))
        data, _, _ = _check(ws, topic)
    finally:
        planted.unlink()
        if made_cache:
            cache.rmdir()
    assert not data["passed"] and data["max_score"] < 999


@pytest.mark.parametrize("escape", ["dir-fd", "proc-root", "fork-exec"])
def test_notebook_path_holds_too(tmp_path, escape):
    """The same stubs as a notebook graded the way nbgrader's cells do (in the kernel)."""
    from nnfs_cli.course import kernel as nbgrade
    from nnfs_cli.notebooks import write_notebook

    topic = TOPICS[0]
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    student = course / "autograded" / "mallory" / topic.id
    student.mkdir(parents=True)
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "source": _delegating_stub(topic, escape),
                     "outputs": [], "execution_count": None}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}  # fmt: skip
    write_notebook(nb, student / f"{topic.id}.ipynb")
    old = Path.cwd()
    os.chdir(student)
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            nbgrade._cache.clear()
            points = [nbgrade.grade_part(topic.id, part) for part in _functions(topic)]
    finally:
        os.chdir(old)
    assert err.getvalue() == ""
    assert sum(points) == 0.0, points
