"""Milestones: the learner's own code from several topics, working together on real data.

The registry is `milestones.toml` (one entry per milestone) and one module per milestone
with `run(code) -> Outcome`. `code["backprop"].mlp_backward(X, y, params)` calls the
learner's function in the same sandboxed worker as the graders, so a milestone trusts the
learner's code exactly as little as grading does.
"""

from __future__ import annotations

import importlib
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from nnfs_cli.catalog import Catalog, Topic
from nnfs_cli.errors import NnfsError


@dataclass(frozen=True)
class Milestone:
    id: str
    phase: int
    title: str
    topics: tuple[str, ...]
    module: str

    def runner(self):
        return importlib.import_module(f"nnfs_cli.milestones.{self.module}").run


@dataclass
class Outcome:
    passed: bool
    verdict: str  # one line, worth a screenshot
    figures: list[dict] = field(default_factory=list)  # specs for nnfs_cli.plots
    seconds: float = 0.0


@cache
def load_milestones() -> tuple[Milestone, ...]:
    data = tomllib.loads(Path(__file__).with_name("milestones.toml").read_text(encoding="utf-8"))
    return tuple(
        Milestone(m["id"], int(m["phase"]), m["title"], tuple(m["topics"]), m["module"])
        for m in data.get("milestone", [])
    )


def get_milestone(name: str) -> Milestone:
    for m in load_milestones():
        if m.id == name:
            return m
    known = ", ".join(m.id for m in load_milestones())
    raise NnfsError(f"no milestone {name!r} (known: {known})")


class _Functions:
    """One topic's learner functions, called in its sandbox."""

    def __init__(self, sandbox, timeout: float) -> None:
        self._sandbox, self._timeout = sandbox, timeout

    def with_timeout(self, seconds: float) -> _Functions:
        """The same functions with a longer limit per call (a training loop)."""
        return _Functions(self._sandbox, seconds)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self._sandbox.call(name, args, kwargs, self._timeout)


class Code:
    """The learner's files for a milestone's topics, each loaded in its own sandbox worker."""

    def __init__(self, files: dict[str, tuple[Topic, Path]], protect: tuple[str, ...], timeout: float) -> None:
        from nnfs_cli.grading import prestart

        self._sandboxes = {tid: prestart.start(t, path, protect, timeout) for tid, (t, path) in files.items()}
        self._timeout = timeout

    def __getitem__(self, topic_id: str) -> _Functions:
        return _Functions(self._sandboxes[topic_id], self._timeout)

    def close(self) -> None:
        for sandbox in self._sandboxes.values():
            sandbox.close()


def files_for(milestone: Milestone, catalog: Catalog, ws, solution: bool) -> dict[str, tuple[Topic, Path]]:
    """The file of each topic a milestone uses: the learner's own, or the references."""
    files = {}
    for tid in milestone.topics:
        topic = catalog.get_available(tid)
        path = topic.solution_path if solution else ws.current_file(topic)
        if path is None:
            raise NnfsError(f"milestone {milestone.id} uses your {tid}: fetch it with `nnfs start {tid}` and pass it first")
        files[tid] = (topic, path)
    return files


def run_milestone(milestone: Milestone, files: dict, protect: tuple[str, ...], timeout: float = 30.0) -> Outcome:
    """Run a milestone on the given files; a failure of the learner's code is a failed verdict."""
    import time

    from nnfs_cli.sandbox.client import LearnerError

    started = time.perf_counter()
    code = Code(files, protect, timeout)
    try:
        outcome = milestone.runner()(code)
    except LearnerError as e:
        outcome = Outcome(False, f"your code stopped the milestone: {e}")
    finally:
        code.close()
    outcome.seconds = time.perf_counter() - started
    return outcome
