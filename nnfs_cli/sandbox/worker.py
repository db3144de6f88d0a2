"""The worker: the only process that runs learner code.

Started by `nnfs_cli.sandbox.client.Sandbox` as `python -I -m nnfs_cli.sandbox.worker`
(isolated: no PYTHONPATH, no user site, not even the working folder on sys.path, so no
file beside the submission can shadow a module) with three pipe descriptors, or forked
from a zygote started the same way (`zygote.py`), which then calls `serve`. It reads one
trusted init frame, imports NumPy, asks the kernel to fence it in (`kernel.enforce`:
Landlock and seccomp), adds an audit hook as a second layer that also gives clear
messages, loads the submission and then answers call requests until closed.
"""

from __future__ import annotations

import copy
import os
import sys
import traceback

from nnfs_cli.sandbox.protocol import changed as _changed
from nnfs_cli.sandbox.protocol import encode, read_raw_frame, write_frame
from nnfs_cli.sandbox.source import run_source

_SPAWN_EVENTS = (
    "os.system", "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.exec",
    "subprocess.Popen", "pty.spawn", "os.mkfifo", "os.mknod", "os.pidfd_open",
)  # fmt: skip
_MUTATE_EVENTS = (
    "os.remove", "os.rename", "os.rmdir", "os.chmod", "os.chown", "os.truncate",
    "os.link", "os.symlink", "os.mkdir", "shutil.rmtree", "shutil.move", "os.utime",
)  # fmt: skip
_NET_EVENTS = (
    "socket.connect",
    "socket.bind",
    "socket.sendto",
    "socket.sendmsg",
    "socket.getaddrinfo",
    "socket.__new__",
)
# where each file-changing event carries its dir_fd arguments (a path relative to an open
# folder, which the hook cannot resolve: refused outright) and its paths
_DIR_FDS = {
    "os.remove": (1,),
    "os.rmdir": (1,),
    "os.rename": (2, 3),
    "os.link": (2, 3),
    "os.symlink": (2,),
    "os.mkdir": (2,),
    "os.chmod": (2,),
    "os.chown": (3,),
    "os.utime": (3,),
}
_PATHS = {"os.rename": (0, 1), "os.link": (0, 1), "os.symlink": (1,)}  # fmt: skip


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
                    f"nnfs: importing {top!r} is not allowed here: "
                    + (
                        "this exercise is from scratch (NumPy only)"
                        if "torch" in forbidden_imports
                        else "this exercise asks you to write what it would do"
                    )
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
            if any(
                i < len(args) and args[i] not in (None, -1, -100) for i in _DIR_FDS.get(event, ())
            ):
                raise Forbidden(
                    "nnfs: an exercise may not change files through a folder descriptor"
                )
            if not all(inside(args[i], (scratch,)) for i in _PATHS.get(event, (0,))):
                raise Forbidden("nnfs: an exercise may not change files")
        elif event in ("os.kill", "os.killpg"):
            if event == "os.killpg" or args[0] not in (me, 0):
                raise Forbidden("nnfs: an exercise may not signal other processes")
        elif event in _NET_EVENTS:
            raise Forbidden("nnfs: an exercise may not use the network")

    sys.addaudithook(hook)


def _block_calls(patterns: list[str]) -> None:
    """Replace each callable that would do the exercise's job with one that refuses.

    `patterns` are dotted names, a `*` allowed in the last part ("torch.nn.Transformer*").
    Every binding of the same object inside the package is replaced too, so an alias
    (`torch.nn.modules.activation.MultiheadAttention`) refuses as well. This keeps an
    honest learner on the exercise; it is not a security boundary (the kernel fence is):
    an operator reached through another object (`torch.ops.aten...`) is not stopped.
    Runs before the fence, because importing the package reads its files.
    """
    import fnmatch
    import importlib

    blocked: dict[int, str] = {}
    tops = set()
    for pattern in patterns:
        module_name, _, attr = pattern.rpartition(".")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue  # not installed: nothing to refuse
        tops.add(module_name.partition(".")[0])
        for name in fnmatch.filter(dir(module), attr):
            obj = getattr(module, name)
            if callable(obj):
                blocked[id(obj)] = f"{module_name}.{name}"
    if not blocked:
        return
    stand_ins: dict[int, object] = {}
    for mod_name, mod in list(sys.modules.items()):
        if mod is None or mod_name.partition(".")[0] not in tops:
            continue
        for name, obj in list(getattr(mod, "__dict__", {}).items()):
            if id(obj) in blocked:
                if id(obj) not in stand_ins:
                    stand_ins[id(obj)] = _refusing(obj, blocked[id(obj)])
                try:
                    setattr(mod, name, stand_ins[id(obj)])
                except (AttributeError, TypeError):
                    pass  # a read-only extension module: its name stays reachable


def _refusing(original: object, dotted: str) -> object:
    """A stand-in for `original` that raises Forbidden when called or instantiated."""
    message = (
        f"nnfs: {dotted} does the job this exercise asks you to write; build it from "
        "tensors and autograd instead"
    )
    if isinstance(original, type):

        def __init__(self, *args, **kwargs):
            raise Forbidden(message)

        return type(original.__name__, (original,), {"__init__": __init__, "__doc__": message})

    def refuse(*args, **kwargs):
        raise Forbidden(message)

    refuse.__name__ = getattr(original, "__name__", "refused")
    refuse.__doc__ = message
    return refuse


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
    return module, {
        "status": "ok",
        "functions": functions,
        "notes": notes,
        "printed": printed.text(),
    }


class _Trace:
    """What a call did at run time: lines of the learner's file it ran, library routines it called.

    A from-scratch check by names alone is fooled by `getattr(np, "mat" + "mul")`; this
    record is not (a loop exercise's work shows up as lines run, a product as a call). It
    keeps an honest learner honest; like the call fence, it is not a security boundary.
    """

    def __init__(self, filename: str) -> None:
        self.filename, self.lines, self.called = filename, 0, set()

    def _local(self, frame, event, arg):
        if event == "line":
            self.lines += 1
        return self._local

    def _global(self, frame, event, arg):
        if frame.f_code.co_filename == self.filename:
            return self._local
        back = frame.f_back  # a Python routine the learner's code called directly
        if back is not None and back.f_code.co_filename == self.filename:
            self.called.add(f"{frame.f_globals.get('__name__')}.{frame.f_code.co_name}")
        return None

    def _profile(self, frame, event, arg):
        if event == "c_call" and frame.f_code.co_filename == self.filename:
            owner = (
                getattr(arg, "__module__", None) or type(getattr(arg, "__self__", None)).__name__
            )
            self.called.add(f"{owner}.{getattr(arg, '__qualname__', '?')}")

    def __enter__(self):
        sys.setprofile(self._profile)
        sys.settrace(self._global)
        return self

    def __exit__(self, *exc):
        sys.settrace(None)
        sys.setprofile(None)

    def record(self) -> dict:
        return {"lines": self.lines, "called": sorted(self.called)[:200]}


def _call(module: object, request: dict, filename: str) -> dict:
    import contextlib

    fn = getattr(module, request["name"], None)
    if not callable(fn):
        return {"status": "missing"}
    args, kwargs = request["args"], request["kwargs"]
    snaps = _snapshot(fn, args, kwargs)
    printed = _Printed()
    trace = _Trace(filename) if request.get("trace") else contextlib.nullcontext()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed), trace:
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
        return {
            "status": "ok",
            "result": _plain(result),
            "mutated": mutated,
            "printed": printed.text(),
            **({"trace": trace.record()} if isinstance(trace, _Trace) else {}),
        }
    except TypeError as e:
        return {"status": "badresult", "message": f"returned {e}, which is not plain data",
                "printed": printed.text()}  # fmt: skip


def _after(request: dict, plain) -> list:
    """Each mutable input as it is now (None for the others; "?" if no longer plain data)."""

    def now(a: object) -> object:
        if not isinstance(a, list | dict | tuple) and type(a).__name__ != "ndarray":
            return None
        try:
            return plain(a)
        except TypeError:
            return "\x00nnfs:not-plain"

    return [now(a) for a in request["args"]] + [now(v) for v in request["kwargs"].values()]


def _readable_roots() -> list[str]:
    """What the worker may read once fenced: Python, its packages and nnfs_cli, nothing else.

    A checkout on sys.path (an editable install) holds tests/ with correct alternative
    solutions beside solutions/ and graders/: of it only the nnfs_cli package is granted.
    Protected folders inside what is granted (a wheel's content/) are cut out by `kernel`.
    """
    import nnfs_cli

    package = os.path.dirname(os.path.realpath(nnfs_cli.__file__))
    checkout = os.path.dirname(package)
    roots = [p for p in sys.path if p and os.path.realpath(p) != checkout]
    roots += [sys.prefix, sys.base_prefix, sys.exec_prefix, package]
    # shared libraries an extension module may load later, and what the loader reads
    roots += ["/lib", "/lib64", "/usr/lib", "/usr/lib64", "/etc/ld.so.cache", "/dev/urandom"]
    # what the CPU can do: without it torch falls back from AVX2 to its slowest kernels
    # (10-20% of a training run, measured); a description of the machine, nothing private
    roots += ["/proc/cpuinfo", "/sys/devices/system/cpu"]
    return roots


def _fence(init: dict, scratch: str) -> list[str]:
    """Kernel fence first (when the machine has one), then the audit hook; returns what is missing."""
    from nnfs_cli.sandbox import kernel

    protected = tuple(os.path.realpath(p) for p in init["protected"])
    missing = ["landlock", "seccomp"]
    if init.get("kernel", True):
        try:
            missing = kernel.enforce(_readable_roots(), protected, scratch)
        except OSError as e:  # a kernel that refuses: the audit hook still stands
            missing = [f"kernel fence failed: {e}"]
    if init.get("audit_hook", True):
        _install_fence(frozenset(init["forbidden_imports"]), protected, scratch)
    return missing


def main() -> None:
    serve(*(int(a) for a in sys.argv[1:4]))


def serve(in_fd: int, out_fd: int, dump_fd: int) -> None:
    """Read the init frame, fence, load the submission, answer calls until the channel closes."""
    import faulthandler
    import linecache
    import pickle
    import signal

    # on a timeout the grader asks where the learner's code is stuck before killing us
    faulthandler.register(signal.SIGUSR1, file=os.fdopen(dump_fd, "w"), all_threads=False)
    # loaded before the fence (numpy reads files while importing), and before the init
    # frame, so a spare worker started ahead of a save has it ready when its submission comes
    import numpy  # noqa: F401

    init = pickle.loads(read_raw_frame(in_fd))
    scratch = os.path.realpath(init["scratch"])
    os.chdir(scratch)

    # tracebacks show the learner's lines, which the fenced worker can no longer read
    source = init["source"]
    linecache.cache[init["filename"]] = (
        len(source),
        None,
        source.splitlines(True),
        init["filename"],
    )
    _block_calls(init.get("forbidden_calls", []))
    fence_missing = _fence(init, scratch)
    module, status = _load(init)
    status["fence_missing"] = fence_missing
    write_frame(out_fd, status)
    if module is None:
        return
    # bound here, so a submission that patches this module's globals changes nothing below
    call, plain, after, read, write = _call, _plain, _after, read_raw_frame, write_frame
    filename = init["filename"]
    while True:
        try:
            request = pickle.loads(read(in_fd))
        except Exception:
            return  # the grader closed the channel: we are done
        try:
            reply = call(module, request, filename)
            # the inputs as they are after the call: the grader compares them with what it
            # sent (a check the submission cannot patch); plain data only
            reply["after"] = encode(after(request, plain))
            if "result" in reply:
                reply["result"] = encode(reply["result"])
            write(out_fd, reply)
        except Exception as e:  # the reply is not plain data, or could not be pickled
            write(
                out_fd,
                {
                    "status": "badresult",
                    "message": f"returned data nnfs could not send back ({type(e).__name__})",
                },
            )


if __name__ == "__main__":
    main()
