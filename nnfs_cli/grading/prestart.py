"""The learner's sandbox worker for one grading, startable before pytest is imported.

An in-process grading (a notebook kernel under nbgrader) starts the worker first, so its
Python and NumPy start-up overlaps pytest's import and collection; the plugin then takes
that worker instead of starting its own. A child pytest process just starts one.
"""

from __future__ import annotations

from pathlib import Path

from nnfs_cli.catalog import Topic, content_root
from nnfs_cli.sandbox.client import Sandbox, SandboxConfig
from nnfs_cli.sandbox.source import read_submission

_waiting: tuple[tuple, Sandbox] | None = None


def start(topic: Topic, target: Path, protect: tuple[str, ...], call_timeout: float) -> Sandbox:
    """Start the worker for `target` without waiting for it to load."""
    root = content_root()
    sandbox = Sandbox(
        read_submission(target),
        topic.module_name,
        SandboxConfig(
            forbidden_imports=topic.forbid_imports,
            forbidden_calls=topic.forbid_calls,
            protected=(str(root / "solutions"), str(root / "graders"), *protect),
            call_timeout=call_timeout,
        ),
    )
    sandbox.start()
    return sandbox


def prestart(topic: Topic, target: Path, protect: tuple[str, ...], call_timeout: float) -> None:
    """Start the worker now for the next grading session with these arguments."""
    global _waiting
    discard()
    _waiting = (
        (topic.id, target, protect, call_timeout),
        start(topic, target, protect, call_timeout),
    )


def take(topic: Topic, target: Path, protect: tuple[str, ...], call_timeout: float) -> Sandbox:
    """The prestarted worker if it was started for exactly this grading, else a new one."""
    global _waiting
    if _waiting is not None and _waiting[0] == (topic.id, target, protect, call_timeout):
        sandbox, _waiting = _waiting[1], None
        return sandbox
    discard()
    return start(topic, target, protect, call_timeout)


def discard() -> None:
    """Stop a prestarted worker nobody took (the grading failed before pytest configured)."""
    global _waiting
    if _waiting is not None:
        _waiting[1].close()
        _waiting = None
