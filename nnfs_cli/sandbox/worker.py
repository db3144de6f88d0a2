"""The worker: the only process that runs learner code.

Started by `nnfs_cli.sandbox.client.Sandbox` with two pipe descriptors. It reads one
trusted init frame, fences itself in with an audit hook (PEP 578 hooks cannot be removed
from Python code), loads the submission and then answers call requests until closed.
"""

from __future__ import annotations

import copy
import os
import sys
import traceback
from pathlib import Path

from nnfs_cli.sandbox.protocol import read_raw_frame, write_frame
from nnfs_cli.sandbox.source import run_source

_SPAWN_EVENTS = (
    "os.system", "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.exec",
    "subprocess.Popen", "pty.spawn",
)  # fmt: skip
_MUTATE_EVENTS = (
    "os.remove", "os.rename", "os.rmdir", "os.chmod", "os.chown", "os.truncate",
    "os.link", "os.symlink", "os.mkdir", "shutil.rmtree", "shutil.move", "os.utime",
)  # fmt: skip
_NET_EVENTS = ("socket.connect", "socket.bind", "socket.sendto")


class Forbidden(PermissionError):
    """Raised inside learner code when it tries something an exercise may not do."""


def _install_fence(forbidden_imports: frozenset[str], protected: tuple[str, ...], scratch: str):
    me = os.getpid()

    def inside(path: object, roots: tuple[str, ...]) -> bool:
        if isinstance(path, int):
            return False
        try:
            p = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return False
        return any(p == r or p.startswith(r + os.sep) for r in roots)

    def hook(event: str, args: tuple) -> None:
        if event == "import":
            top = args[0].partition(".")[0]
            if top in forbidden_imports:
                raise Forbidden(
                    f"nnfs: importing {top!r} is not allowed here: this exercise is "
                    "from scratch (NumPy only)"
                )
        elif event == "open":
            path, mode, flags = args
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
            )
            if inside(path, protected):
                raise Forbidden(f"nnfs: an exercise may not open {os.fsdecode(path)}")
            if writing and not inside(path, (scratch, "/dev/null")):
                raise Forbidden(f"nnfs: an exercise may not write files ({os.fsdecode(path)})")
        elif event in _SPAWN_EVENTS:
            raise Forbidden("nnfs: an exercise may not start other processes")
        elif event in _MUTATE_EVENTS:
            if not inside(args[0], (scratch,)):
                raise Forbidden("nnfs: an exercise may not change files")
        elif event in ("os.kill", "os.killpg"):
            if event == "os.killpg" or args[0] not in (me, 0):
                raise Forbidden("nnfs: an exercise may not signal other processes")
        elif event in _NET_EVENTS:
            raise Forbidden("nnfs: an exercise may not use the network")

    sys.addaudithook(hook)


def _describe(obj: object) -> str:
    return type(obj).__module__ + "." + type(obj).__qualname__


def _plain(obj: object, depth: int = 0) -> object:
    """The result as plain data; torch tensors become NumPy arrays. Raises TypeError otherwise."""
    import numpy as np

    if depth > 20:
        raise TypeError("a result nested more than 20 levels deep")
    if obj is None or isinstance(obj, bool | int | float | complex | str | bytes | np.generic):
        return obj
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            raise TypeError("a NumPy array of Python objects (dtype=object)")
        return obj
    if isinstance(obj, tuple | list):
        return type(obj)(_plain(x, depth + 1) for x in obj)
    if isinstance(obj, dict):
        return {_plain(k, depth + 1): _plain(v, depth + 1) for k, v in obj.items()}
    if type(obj).__module__.startswith("torch") and hasattr(obj, "detach"):
        return obj.detach().cpu().numpy()
    raise TypeError(f"an object of type {_describe(obj)}")


def _snapshot(fn: object, args: tuple, kwargs: dict) -> list[tuple[str, object, object]]:
    import inspect

    import numpy as np

    try:  # name arguments by the learner's own parameter names
        names = list(inspect.signature(fn).bind_partial(*args, **kwargs).arguments)[: len(args)]
    except (TypeError, ValueError):
        names = []
    names += [f"argument {i + 1}" for i in range(len(names), len(args))]
    named = list(zip(names, args)) + list(kwargs.items())
    return [
        (n, a, copy.deepcopy(a))
        for n, a in named
        if isinstance(a, np.ndarray | list | dict | tuple)
    ]


class _Printed:
    """What learner code prints, kept up to a limit (a loop that prints must not flood)."""

    LIMIT = 4000

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = self.dropped = 0

    def write(self, text: str) -> int:
        text = str(text)
        room = self.LIMIT - self.size
        self.parts.append(text[:room] if room > 0 else "")
        self.size += min(len(text), max(room, 0))
        self.dropped += max(len(text) - max(room, 0), 0)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:  # progress bars ask before drawing
        return False

    def text(self) -> str:
        # control characters (a terminal's colours, bells, cursor moves) are shown, not run
        out = "".join(
            c if c in "\n\t" or " " <= c != "\x7f" else repr(c)[1:-1] for c in "".join(self.parts)
        )
        return out + (f"\n... ({self.dropped} more characters not kept)" if self.dropped else "")


def _changed(before: object, after: object) -> bool:
    import numpy as np

    try:
        if isinstance(before, np.ndarray):
            return (
                not isinstance(after, np.ndarray)
                or before.shape != after.shape
                or not np.array_equal(before, after, equal_nan=True)
            )
        if isinstance(before, list | tuple):
            return (
                type(before) is not type(after)
                or len(before) != len(after)
                or any(_changed(b, a) for b, a in zip(before, after))
            )
        if isinstance(before, dict):
            return (
                not isinstance(after, dict)
                or before.keys() != after.keys()
                or any(_changed(before[k], after[k]) for k in before)
            )
        return bool(before != after)
    except Exception:
        return True


def _learner_frames(tb, filename: str) -> list[tuple[int, str, str]]:
    return [
        (f.lineno or 0, f.name, (f.line or "").strip())
        for f in traceback.extract_tb(tb)
        if f.filename == filename
    ]


def _load(init: dict) -> tuple[object, dict]:
    import types

    source, filename = init["source"], init["filename"]
    module = types.ModuleType(init["module_name"])
    module.__file__ = filename
    sys.modules[init["module_name"]] = module
    import contextlib

    printed = _Printed()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        fatal, notes = run_source(source, init.get("cells") or [], filename, module.__dict__)
    if fatal is not None:
        fatal["printed"] = printed.text()
    if fatal is not None:
        return None, fatal
    functions = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
    return module, {"status": "ok", "functions": functions, "notes": notes, "printed": printed.text()}


def _call(module: object, request: dict, filename: str) -> dict:
    import contextlib

    fn = getattr(module, request["name"], None)
    if not callable(fn):
        return {"status": "missing"}
    args, kwargs = request["args"], request["kwargs"]
    snaps = _snapshot(fn, args, kwargs)
    printed = _Printed()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            result = fn(*args, **kwargs)
    except BaseException as e:  # noqa: BLE001 - SystemExit and KeyboardInterrupt included
        frames = _learner_frames(e.__traceback__, filename)
        return {
            "status": "raised",
            "type": type(e).__name__,
            "message": str(e)[:2000],
            "frames": frames[-6:],  # the learner's own calls, caller first
            "forbidden": isinstance(e, Forbidden),
            "printed": printed.text(),
        }
    mutated = [name for name, live, before in snaps if _changed(before, live)]
    try:
        return {"status": "ok", "result": _plain(result), "mutated": mutated, "printed": printed.text()}
    except TypeError as e:
        return {"status": "badresult", "message": f"returned {e}, which is not plain data",
                "printed": printed.text()}  # fmt: skip


def main() -> None:
    in_fd, out_fd = int(sys.argv[1]), int(sys.argv[2])
    import pickle

    init = pickle.loads(read_raw_frame(in_fd))
    scratch = os.path.realpath(init["scratch"])
    os.chdir(scratch)
    sys.path.insert(0, str(Path(init["filename"]).parent))
    import numpy  # noqa: F401 - loaded before the fence: numpy reads files while importing

    _install_fence(
        frozenset(init["forbidden_imports"]),
        tuple(os.path.realpath(p) for p in init["protected"]),
        scratch,
    )
    module, status = _load(init)
    write_frame(out_fd, status)
    if module is None:
        return
    while True:
        try:
            request = pickle.loads(read_raw_frame(in_fd))
        except Exception:
            return  # the grader closed the channel: we are done
        try:
            reply = _call(module, request, init["filename"])
            write_frame(out_fd, reply)
        except Exception as e:  # pickling the reply failed
            write_frame(
                out_fd,
                {
                    "status": "badresult",
                    "message": f"returned data nnfs could not send back ({type(e).__name__})",
                },
            )


if __name__ == "__main__":
    main()
