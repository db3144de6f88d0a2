"""What the commands do, as plain functions returning data (no printing, no Rich)."""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nnfs_cli.catalog import Catalog, Topic
from nnfs_cli.errors import NnfsError
from nnfs_cli.grading.result import Result
from nnfs_cli.grading.runner import grade
from nnfs_cli.progress import record_attempt, status_of, topic_record
from nnfs_cli.stubs import stub_for
from nnfs_cli.workspace import Workspace


@dataclass(frozen=True)
class Todo:
    name: str
    signature: str
    summary: str


def lesson(topic: Topic) -> str:
    """The stub's module docstring: the lesson, in Markdown."""
    return ast.get_docstring(ast.parse(stub_for(topic))) or ""


def todos(topic: Topic) -> list[Todo]:
    """The functions a learner implements, with their signatures and first docstring lines."""
    tree = ast.parse(stub_for(topic))
    out = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            sig = f"{node.name}({ast.unparse(node.args)})" + (
                f" -> {ast.unparse(node.returns)}" if node.returns else ""
            )
            doc = (ast.get_docstring(node) or "").strip().splitlines()
            out.append(Todo(node.name, sig, doc[0] if doc else ""))
    return out


def statuses(catalog: Catalog, data: dict) -> dict[str, str]:
    return {t.id: status_of(data, t.id, t.available) for t in catalog.topics}


def next_topic(catalog: Catalog, data: dict) -> Topic | None:
    """The first available topic, in roadmap order, that is not passed yet."""
    for t in catalog.topics:
        if t.available and status_of(data, t.id, True) != "passed":
            return t
    return None


def resolve_target(topic: Topic, ws: Workspace | None, file: Path | None, solution: bool) -> Path:
    if solution:
        return topic.solution_path
    if file is not None:
        path = file.expanduser()
        if path.is_dir():
            raise NnfsError(f"{file} is a folder; give the exercise file (.py or .ipynb)")
        if not path.is_file():
            raise NnfsError(f"no such file: {file}")
        if path.suffix not in (".py", ".ipynb"):
            raise NnfsError(f"{file} is neither a .py file nor a notebook (.ipynb)")
        _require_text(path)
        return path.resolve()
    assert ws is not None
    path = ws.current_file(topic)  # the .py copy, else the notebook
    if path is None:
        raise NnfsError(
            f"{topic.id} is not in this workspace yet: run `nnfs next` (or `nnfs start {topic.id}`) to fetch it"
        )
    return path


def _require_text(path: Path) -> None:
    """A binary file given as --file is a usage mistake (exit 2), not a failed exercise."""
    try:
        head = path.read_bytes()[:65536]
    except OSError as e:
        raise NnfsError(f"cannot read {path}: {e.strerror}") from None
    if b"\0" in head:
        raise NnfsError(f"{path} is a binary file, not Python source or a notebook")


def check(
    topic: Topic,
    target: Path,
    ws: Workspace | None,
    *,
    record: bool,
    parts: tuple[str, ...] = (),
    call_timeout: float = 10.0,
    in_process: bool = False,
    warm: bool = False,
    on_progress: Callable[[dict], None] | None = None,
) -> Result:
    """Grade `target`; record the attempt in the workspace's store when asked.

    `in_process` (for long-lived callers such as `nnfs watch`) runs the grader in this
    process; `warm` (for `nnfs check`) forks it from the warm grader. The learner's code
    runs in its sandbox worker either way.
    """
    protect = (ws.state_dir,) if ws else ()
    result = grade(topic, target, protect=protect, parts=parts, call_timeout=call_timeout,
                   in_process=in_process, warm=warm, on_progress=on_progress)  # fmt: skip
    if record and ws is not None and not parts:
        ws.store.update(
            lambda d: record_attempt(d, topic.id, result.score, result.max_score, result.passed)
        )
    return result


def next_hint(topic: Topic, ws: Workspace, part: str | None = None) -> tuple[int, int, str]:
    """The next hint (1-based number, how many, text) for the topic or one of its parts.

    After the last one, the last one again.
    """
    if part is None:
        hints, key = topic.hints, None
        if not hints:
            raise NnfsError(f"{topic.id} has no hints")
    else:
        hints, key = topic.hints_for(part), part
        if not hints:
            parts = ", ".join(p for p, _ in topic.part_hints) or "none"
            raise NnfsError(f"{topic.id} has no hints for {part!r} (parts with hints: {parts})")
    shown = {}

    def bump(d: dict) -> None:
        rec = topic_record(d, topic.id)
        if key is None:
            rec["hints_shown"] = shown["n"] = min(rec.get("hints_shown", 0) + 1, len(hints))
        else:
            per_part = rec.setdefault("part_hints_shown", {})
            per_part[key] = shown["n"] = min(per_part.get(key, 0) + 1, len(hints))

    ws.store.update(bump)
    return shown["n"], len(hints), hints[shown["n"] - 1]


def _without_markers(text: str) -> str:
    lines = text.splitlines(keepends=True)
    return "".join(x for x in lines if x.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def solution_text(topic: Topic) -> str:
    """The reference as a learner reads it: without the nbgrader solution markers."""
    return _without_markers(topic.solution_path.read_text(encoding="utf-8"))


def solution_diff(topic: Topic, learner_file: Path) -> str:
    ours = solution_text(topic).splitlines(keepends=True)
    theirs = _without_markers(learner_file.read_text(encoding="utf-8")).splitlines(keepends=True)
    return "".join(
        difflib.unified_diff(
            theirs,
            ours,
            fromfile=f"yours/{learner_file.name}",
            tofile=f"reference/{learner_file.name}",
        )
    )


def milestone_statuses(data: dict) -> dict[str, dict]:
    """Each milestone's record in the progress store: {"passed", "verdict", "time"}."""
    return data.get("milestones", {}) if isinstance(data.get("milestones"), dict) else {}


def run_milestone(catalog: Catalog, name: str, ws: Workspace | None, solution: bool):
    """Run a milestone on the learner's files (or the references); record it when it is theirs."""
    import time

    from nnfs_cli import milestones

    m = milestones.get_milestone(name)
    files = milestones.files_for(m, catalog, ws, solution)
    protect = (str(ws.state_dir),) if ws else ()
    outcome = milestones.run_milestone(m, files, protect)
    if ws is not None and not solution:

        def record(d: dict) -> None:
            rec = d.setdefault("milestones", {}).setdefault(m.id, {})
            rec.update(verdict=outcome.verdict, time=time.time(), passed=rec.get("passed", False) or outcome.passed)

        ws.store.update(record)
    return m, outcome


def stats(catalog: Catalog, data: dict) -> list[dict]:
    """Per topic with any activity: attempts, best score, time from first attempt to first pass, hints."""
    rows = []
    for t in catalog.topics:
        rec = data["topics"].get(t.id)
        if not rec:
            continue
        attempts = rec.get("attempts", [])
        first = attempts[0]["time"] if attempts else None
        passed = rec.get("first_pass")
        rows.append({
            "id": t.id,
            "attempts": rec.get("attempt_count", 0),
            "best": max((a["score"] for a in attempts), default=0.0),
            "max_score": max((a["max_score"] for a in attempts), default=0.0),
            "first_pass_after_s": (passed - first) if passed and first else None,
            "attempts_to_pass": next((i + 1 for i, a in enumerate(attempts) if a["passed"]), None),
            "hints_used": rec.get("hints_shown", 0),
            "hints_total": len(t.hints),
        })  # fmt: skip
    return rows
