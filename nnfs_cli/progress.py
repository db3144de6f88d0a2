"""The progress store: `<workspace>/.nnfs/progress.json`, versioned, never lost.

Writes are atomic (temp file, fsync, rename) under a lock, so two `nnfs` runs at once
both land. The previous good version is kept as `progress.json.bak`; an unreadable store
is set aside and restored from it, with a message saying so.

Nothing in `.nnfs/` is trusted to be what its name says: every file is opened without
following a symlink and without blocking, and used only if it is a regular file, so a
FIFO, a folder or a device in its place is one clear error and never a hang. The lock
has a timeout, and temporary files get fresh random names (created exclusively).
"""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from nnfs_cli.errors import NnfsError

VERSION = 1
MAX_ATTEMPTS_KEPT = 100  # per topic; the count keeps going
MAX_STORE_BYTES = 16 << 20  # 100 attempts x 33 topics is ~1 MB
LOCK_TIMEOUT = 30.0
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_KINDS = {stat.S_IFDIR: "a folder", stat.S_IFIFO: "a FIFO", stat.S_IFLNK: "a symbolic link",
          stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a device", stat.S_IFBLK: "a device"}  # fmt: skip


def empty() -> dict:
    return {"version": VERSION, "topics": {}}


def _number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _valid_topic(rec: object) -> bool:
    return (
        isinstance(rec, dict)
        and isinstance(rec.get("attempts", []), list)
        and all(
            isinstance(a, dict) and all(_number(a.get(k, 0)) for k in ("time", "score", "max_score"))
            for a in rec.get("attempts", [])
        )
        and isinstance(rec.get("attempt_count", 0), int)
        and (rec.get("first_pass") is None or _number(rec.get("first_pass")))
        and isinstance(rec.get("hints_shown", 0), int)
    )


def _valid(data: object) -> bool:
    return (
        isinstance(data, dict)
        and data.get("version") == VERSION
        and isinstance(data.get("topics"), dict)
        and all(isinstance(k, str) and _valid_topic(v) for k, v in data["topics"].items())
    )


class BadStoreFile(NnfsError):
    pass


def _open_regular(path: Path, flags: int, mode: int = 0o600) -> int | None:
    """An fd on `path` if it is a regular file (None if absent); never follows, never blocks."""
    try:
        fd = os.open(path, flags | _NOFOLLOW, mode)
    except FileNotFoundError:
        return None
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO, errno.EMLINK):
            kind = "a symbolic link" if e.errno in (errno.ELOOP, errno.EMLINK) else "not a regular file"
            if e.errno == errno.EISDIR:
                kind = "a folder"
            raise BadStoreFile(f"{path} is {kind}, not nnfs's file: move it aside and run again") from None
        raise NnfsError(f"cannot open {path}: {e.strerror}") from None
    kind = stat.S_IFMT(os.fstat(fd).st_mode)
    if kind != stat.S_IFREG:
        os.close(fd)
        raise BadStoreFile(
            f"{path} is {_KINDS.get(kind, 'not a regular file')}, not nnfs's file: move it aside and run again"
        )
    return fd


def _read_bytes(path: Path) -> bytes | None:
    fd = _open_regular(path, os.O_RDONLY)
    if fd is None:
        return None
    try:
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            total += len(chunk)
            if total > MAX_STORE_BYTES:
                return b""  # far too large to be ours: treated as damaged
        return b"".join(chunks)
    finally:
        os.close(fd)


def _parse(raw: bytes | None) -> dict | None:
    if raw is None:
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return data if _valid(data) else None


class _Lock:
    """An exclusive lock on a regular file, waited for at most LOCK_TIMEOUT seconds."""

    def __init__(self, path: Path, timeout: float = LOCK_TIMEOUT) -> None:
        self.path, self.timeout, self.fd = path, timeout, None

    def __enter__(self) -> _Lock:
        try:
            import fcntl
        except ImportError:  # Windows: filelock's lock, with the same timeout
            from filelock import FileLock, Timeout

            self.fd = FileLock(str(self.path), timeout=self.timeout)
            try:
                self.fd.acquire()
            except Timeout:
                raise self._busy() from None
            return self
        fd = _open_regular(self.path, os.O_RDWR | os.O_CREAT)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise self._busy() from None
                time.sleep(0.02)
        self.fd = fd
        return self

    def _busy(self) -> NnfsError:
        return NnfsError(f"another nnfs is holding {self.path} for more than {self.timeout:g} s; try again")

    def __exit__(self, *exc) -> None:
        if isinstance(self.fd, int):
            os.close(self.fd)  # closing the descriptor releases the lock
        else:
            self.fd.release()
        self.fd = None


class ProgressStore:
    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.path = state_dir / "progress.json"
        self.backup = state_dir / "progress.json.bak"
        self.lock_path = state_dir / "progress.lock"
        self.notices: list[str] = []  # what recovery did, for the CLI to show

    def _read(self, path: Path) -> dict | None:
        return _parse(_read_bytes(path))

    def _write_file(self, path: Path, data: bytes) -> None:
        """`data` into `path` atomically: a fresh, exclusively created temp file, then rename."""
        fd, tmp = tempfile.mkstemp(prefix=".progress.", suffix=".tmp", dir=self.dir)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            kind = self._kind(path)
            if kind not in (None, stat.S_IFREG):
                raise BadStoreFile(
                    f"{path} is {_KINDS.get(kind, 'not a regular file')}, not nnfs's file: move it aside and run again"
                )
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @staticmethod
    def _kind(path: Path) -> int | None:
        try:
            return stat.S_IFMT(os.lstat(path).st_mode)
        except FileNotFoundError:
            return None

    def _write(self, data: dict, current: bytes | None) -> None:
        if _parse(current) is not None:  # keep the last good version
            self._write_file(self.backup, current)
        self._write_file(self.path, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))

    def _load_locked(self) -> tuple[dict, bytes | None]:
        raw = _read_bytes(self.path)
        if raw is None:
            restored = self._read(self.backup)
            return (restored if restored is not None else empty()), None
        data = _parse(raw)
        if data is not None:
            return data, raw
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.dir / f"progress.json.corrupt-{stamp}"
        self._write_file(aside, raw)
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
        self._write(restored, None)
        return restored, None

    @contextmanager
    def _locked(self):
        try:
            if not self.dir.is_dir() or self.dir.is_symlink():
                raise NnfsError(f"{self.dir} is not a folder: is this an nnfs workspace?")
            with _Lock(self.lock_path):
                yield
        except NnfsError:
            raise
        except OSError as e:
            raise NnfsError(
                f"cannot use the progress store in {self.dir}: {e.strerror or e}"
            ) from None

    def load(self) -> dict:
        with self._locked():
            return self._load_locked()[0]

    def update(self, change: Callable[[dict], None]) -> dict:
        """Read, change and write back under the lock: concurrent updates all land."""
        with self._locked():
            data, raw = self._load_locked()
            change(data)
            self._write(data, raw)
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
