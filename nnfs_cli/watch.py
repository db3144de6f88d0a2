"""`nnfs watch`: re-grade on every save, rustlings-style (file events from watchfiles)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from watchfiles import watch

from nnfs_cli import app as core
from nnfs_cli import views
from nnfs_cli.catalog import Topic, load_catalog
from nnfs_cli.errors import NnfsError
from nnfs_cli.sandbox.client import keep_spare
from nnfs_cli.workspace import Workspace


def _topic_for(path: Path, ws: Workspace) -> Topic | None:
    for t in load_catalog().topics:
        if t.available and path in (ws.exercise(t), ws.notebook(t)):
            return t
    return None


def _latest(ws: Workspace) -> tuple[Topic, Path] | None:
    """The most recently saved exercise file in the workspace."""
    files = [(p.stat().st_mtime, t, p) for t in load_catalog().topics if t.available
             for p in (ws.exercise(t), ws.notebook(t)) if p.is_file()]  # fmt: skip
    return (max(files)[1], max(files)[2]) if files else None


class _Follow:
    """The topic being watched (None: whatever the learner saves); `n` moves it on."""

    def __init__(self, topic: Topic | None) -> None:
        self.topic = topic

    def wants(self, found: Topic) -> bool:
        return self.topic is None or found == self.topic


def _grade_and_show(ws: Workspace, topic: Topic, path: Path, call_timeout: float) -> bool:
    c = views.console()
    try:
        # in this long-lived process: no Python, pytest and grader start-up per save
        result = core.check(topic, path, ws, record=True, call_timeout=call_timeout, in_process=True)
    except NnfsError as e:
        views.error(str(e))
        return False
    finally:
        keep_spare()  # the next save's worker starts now, while the learner reads and edits
    c.clear() if c.is_terminal else c.rule()
    c.print(views.watch_status(result, str(path)))
    if result.passed:
        following = core.next_topic(load_catalog(), ws.store.load())
        c.print(f"✔ {topic.id} passed!", style="bold green")
        if following is not None:
            c.print(
                f"Type n and Enter to fetch the next exercise ({following.id}), or keep editing."
            )
    else:
        c.print("Waiting for your next save… (Ctrl-C to leave)", style="dim")
    return result.passed


def _keys(ws: Workspace, stop: threading.Event, follow: _Follow) -> None:
    """On a terminal, 'n' + Enter fetches the next exercise, and watch follows it."""
    for line in sys.stdin:
        if stop.is_set():
            return
        if line.strip().lower() == "n":
            following = core.next_topic(load_catalog(), ws.store.load())
            if following is None:
                views.console().print("Every available topic is passed.")
                continue
            ws.fetch(following)
            if follow.topic is not None:
                follow.topic = following
            views.console().print(
                f"Fetched {following.id}: {ws.current_file(following)} — edit and save it to grade; "
                "watching it now.", soft_wrap=True
            )


def watch_loop(ws: Workspace, topic: Topic | None, call_timeout: float = 10.0) -> None:
    c = views.console()
    current = (topic, ws.current_file(topic)) if topic else _latest(ws)
    if current is None or current[1] is None:
        raise NnfsError("no exercise in this workspace yet: run `nnfs next` first")
    graded_mtime = current[1].stat().st_mtime_ns
    _grade_and_show(ws, current[0], current[1], call_timeout)
    stop = threading.Event()
    follow = _Follow(topic)
    if sys.stdin.isatty():
        threading.Thread(target=_keys, args=(ws, stop, follow), daemon=True).start()
    try:
        for changes in watch(ws.root, watch_filter=lambda _c, p: p.endswith((".py", ".ipynb")) and "/.nnfs/" not in p,
                             debounce=300, step=100, rust_timeout=200, yield_on_timeout=True):  # fmt: skip
            if graded_mtime is not None:
                # the watcher runs from here on; a save made while the first grading ran
                # (before it started) would otherwise wait for the next one
                first, graded_mtime = graded_mtime, None
                seen = current[1] in {Path(p) for _, p in changes}
                if not seen and current[1].is_file() and current[1].stat().st_mtime_ns != first:
                    _grade_and_show(ws, current[0], current[1], call_timeout)
            for path in sorted({Path(p) for _, p in changes}):
                if not path.is_file():
                    continue  # mid-save: the editor removed and will recreate it
                found = _topic_for(path, ws)
                if found is not None and follow.wants(found):
                    _grade_and_show(ws, found, path, call_timeout)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
    c.print("Stopped watching. Your progress is saved.")
