"""The progress store: `<workspace>/.nnfs/progress.json`, versioned, never lost.

Writes are atomic (temp file, fsync, rename) under a lock, so two `nnfs` runs at once
both land. The previous good version is kept as `progress.json.bak`; an unreadable store
is set aside and restored from it, with a message saying so.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from nnfs_cli.errors import NnfsError

VERSION = 1
MAX_ATTEMPTS_KEPT = 100  # per topic; the count keeps going


def empty() -> dict:
    return {"version": VERSION, "topics": {}}


def _valid(data: object) -> bool:
    return (
        isinstance(data, dict)
        and data.get("version") == VERSION
        and isinstance(data.get("topics"), dict)
        and all(isinstance(v, dict) for v in data["topics"].values())
    )


class ProgressStore:
    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.path = state_dir / "progress.json"
        self.backup = state_dir / "progress.json.bak"
        self.lock = FileLock(str(state_dir / "progress.lock"), timeout=30)
        self.notices: list[str] = []  # what recovery did, for the CLI to show

    def _read(self, path: Path) -> dict | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        return data if _valid(data) else None

    def _write(self, data: dict) -> None:
        tmp = self.dir / f".progress.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        if self._read(self.path) is not None:  # keep the last good version
            bak_tmp = self.dir / f".progress.{os.getpid()}.bak.tmp"
            shutil.copyfile(self.path, bak_tmp)
            os.replace(bak_tmp, self.backup)
        os.replace(tmp, self.path)

    def _load_locked(self) -> dict:
        if not self.path.exists():
            restored = self._read(self.backup)
            return restored if restored is not None else empty()
        data = self._read(self.path)
        if data is not None:
            return data
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.dir / f"progress.json.corrupt-{stamp}"
        shutil.copyfile(self.path, aside)
        restored = self._read(self.backup)
        if restored is not None:
            self.notices.append(
                f"progress.json was unreadable; restored from the last good copy (the damaged file is kept as {aside.name})"
            )
        else:
            restored = empty()
            self.notices.append(
                f"progress.json was unreadable and no good copy exists; starting a fresh record (the damaged file is kept as {aside.name})"
            )
        self._write(restored)
        return restored

    @contextmanager
    def _locked(self):
        try:
            with self.lock:
                yield
        except Timeout:
            raise NnfsError(
                f"another nnfs is holding {self.lock.lock_file} for more than 30 s; try again"
            ) from None
        except PermissionError as e:
            raise NnfsError(
                f"cannot write the progress store in {self.dir}: {e.strerror}"
            ) from None

    def load(self) -> dict:
        with self._locked():
            return self._load_locked()

    def update(self, change: Callable[[dict], None]) -> dict:
        """Read, change and write back under the lock: concurrent updates all land."""
        with self._locked():
            data = self._load_locked()
            change(data)
            try:
                self._write(data)
            except OSError as e:
                raise NnfsError(
                    f"cannot write the progress store in {self.dir}: {e.strerror}"
                ) from None
            return data


def topic_record(data: dict, topic_id: str) -> dict:
    return data["topics"].setdefault(
        topic_id, {"attempts": [], "attempt_count": 0, "first_pass": None, "hints_shown": 0}
    )


def record_attempt(
    data: dict,
    topic_id: str,
    score: float,
    max_score: float,
    passed: bool,
    when: float | None = None,
) -> None:
    rec = topic_record(data, topic_id)
    when = when or time.time()
    rec["attempts"] = (
        rec.get("attempts", [])
        + [{"time": when, "score": score, "max_score": max_score, "passed": passed}]
    )[-MAX_ATTEMPTS_KEPT:]
    rec["attempt_count"] = rec.get("attempt_count", 0) + 1
    if passed and not rec.get("first_pass"):
        rec["first_pass"] = when


def status_of(data: dict, topic_id: str, available: bool) -> str:
    """planned | not-started | attempted | passed"""
    if not available:
        return "planned"
    rec = data["topics"].get(topic_id)
    if not rec or not rec.get("attempt_count"):
        return "not-started"
    return "passed" if rec.get("first_pass") else "attempted"
